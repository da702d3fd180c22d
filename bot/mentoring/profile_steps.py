"""The mentoring part of a profile, asked right after "mentor or mentee?" in onboarding and
in ``/profile``: a mentor's expertise and capacity, a mentee's preferred partner city, and the
languages either is learning. Each step goes to the next that applies."""

from __future__ import annotations

from bot.context import Context
from bot.dialogs.engine import Outcome, Step, advance, button, finish, stay
from bot.dialogs.state import DialogState
from bot.i18n import language_name
from bot.profile_fields import (
    FIELD_STEPS,
    MAX_INTEREST_LENGTH,
    MAX_INTERESTS,
    MENTORING,
    mentoring_prompt,
    parse_interests,
)
from bot.replies import Text, rows

MAX_CAPACITY = 5


def _save_then(ctx: Context, goto: str | None, **fields: object) -> Outcome:
    member = ctx.member
    if member is None:
        return finish(Text(ctx._("I can't find your profile any more. Send /start to join.")))
    for name, value in fields.items():
        setattr(member, name, value)
    ctx.uow.members.save(member)
    return advance(goto)


def _after_mentor_details(ctx: Context) -> str:
    return "partner" if ctx.member is not None and ctx.member.is_mentee else "learning"


def _mentoring_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in MENTORING:
        return stay()
    is_mentor, is_mentee = MENTORING[value]
    goto = "expertise" if is_mentor else "partner" if is_mentee else None
    return _save_then(ctx, goto, is_mentor=is_mentor, is_mentee=is_mentee)


def _expertise_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("Which topics can you help with as a mentor? Send them separated by commas, for example: design, law."),
        rows(button(state, ctx._("Skip"), "skip"), per_row=1),
    )


def _expertise_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    tags = parse_interests(text)
    if tags is None:
        return stay(
            Text(
                ctx._(
                    "Please send at most {count} topics of up to {limit} characters each.",
                    count=MAX_INTERESTS,
                    limit=MAX_INTEREST_LENGTH,
                )
            )
        )
    return _save_then(ctx, "capacity", expertise=tags)


def _expertise_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    return advance("capacity") if value == "skip" else stay()


def _capacity_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("How many mentees can you take at the same time?"),
        rows(*(button(state, str(n), str(n)) for n in range(1, MAX_CAPACITY + 1)), per_row=5),
    )


def _capacity_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in {str(n) for n in range(1, MAX_CAPACITY + 1)}:
        return stay()
    return _save_then(ctx, _after_mentor_details(ctx), mentor_capacity=int(value))


def _partner_prompt(ctx: Context, state: DialogState) -> Text:
    home = ctx.member.home_chapter if ctx.member else None
    partners = ctx.network.partners_of(home) if home else ctx.network.chapters
    buttons = [button(state, chapter.name, chapter.code) for chapter in partners]
    buttons.append(button(state, ctx._("No preference"), "none"))
    return Text(ctx._("Would you like a mentor from a particular partner city?"), rows(*buttons))


def _partner_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value != "none" and ctx.network.chapter(value) is None:
        return stay()
    return _save_then(ctx, "learning", preferred_chapter=None if value == "none" else value)


def _learning_prompt(ctx: Context, state: DialogState) -> Text:
    spoken = set(ctx.member.languages) if ctx.member else set()
    if "learning" not in state.data:
        state.data["learning"] = list(ctx.member.learning) if ctx.member else []
    chosen = set(state.data["learning"])
    buttons = [
        button(state, ("✓ " if code in chosen else "") + language_name(code), f"t:{code}")
        for code in ctx.network.languages
        if code not in spoken
    ]
    buttons.append(button(state, ctx._("Done"), "done"))
    return Text(ctx._("Are you learning any of these languages? Tap to select, then Done."), rows(*buttons))


def _learning_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    chosen: list[str] = list(state.data.get("learning", []))
    if value.startswith("t:") and value[2:] in ctx.network.languages:
        code = value[2:]
        state.data["learning"] = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
        return stay(reprompt=True)
    if value == "done":
        return _save_then(ctx, None, learning=chosen)
    return stay()


MENTORING_STEPS: dict[str, Step] = {
    "mentoring": Step(mentoring_prompt, on_button=_mentoring_button),
    "expertise": Step(_expertise_prompt, on_text=_expertise_text, on_button=_expertise_button),
    "capacity": Step(_capacity_prompt, on_button=_capacity_button),
    "partner": Step(_partner_prompt, on_button=_partner_button),
    "learning": Step(_learning_prompt, on_button=_learning_button),
}

#: Every profile field step, the mentoring chain included.
PROFILE_STEPS: dict[str, Step] = {**FIELD_STEPS, **MENTORING_STEPS}
