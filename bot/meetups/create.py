"""``/meetup new``: title, chapter, who is invited, date and time (strict), duration, place,
seats, answer deadline, description; a preview; publish."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.audience import Audience
from bot.context import Context
from bot.dialogs.engine import Dialog, Outcome, Step, advance, button, finish, stay
from bot.dialogs.state import DialogState
from bot.i18n import N_
from bot.ids import parse_id
from bot.meetups.cards import card
from bot.meetups.model import Meetup
from bot.meetups.publish import announce
from bot.meetups.when import EXAMPLE, WhenProblem, parse_when
from bot.members import Role
from bot.replies import Text, rows

DIALOG = "meetup-new"
MAX_TITLE = 200
MAX_PLACE = 500
MAX_DESCRIPTION = 2000
MAX_CAPACITY = 10_000
DURATIONS = {"60": "1h", "90": "1h30", "120": "2h", "180": "3h", "240": "4h"}
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def chapters_run_by(ctx: Context) -> list[str]:
    """Chapters whose meetups this member may run."""
    return [c.code for c in ctx.network.chapters if ctx.has_role(Role.COORDINATOR, c.code)]


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def _text_step(key: str, limit: int, prompt: str, following: str) -> Step:
    def ask(ctx: Context, state: DialogState) -> Text:
        return Text(ctx._(prompt, limit=limit))

    def take(ctx: Context, state: DialogState, text: str) -> Outcome:
        body = text.strip()
        if not body or len(body) > limit:
            return stay(Text(ctx._("Please send 1 to {limit} characters.", limit=limit)))
        state.data[key] = body
        return advance(following)

    return Step(ask, on_text=take)


def _chapter_prompt(ctx: Context, state: DialogState) -> Text:
    names = {c.code: c.name for c in ctx.network.chapters}
    return Text(
        ctx._("Which chapter runs it? Its time zone is used for the date."),
        rows(*(button(state, names[code], code) for code in chapters_run_by(ctx))),
    )


def _chapter_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in chapters_run_by(ctx):
        return stay()
    state.data["chapter"] = value
    return advance("audience")


def _audience_prompt(ctx: Context, state: DialogState) -> Text:
    chapter = ctx.network.chapter(state.data.get("chapter"))
    name = chapter.name if chapter else "?"
    choices = [button(state, ctx._("Only {chapter}", chapter=name), "own")]
    if chapter is not None and ctx.network.partners_of(chapter.code):
        choices.append(button(state, ctx._("{chapter} and its partner cities", chapter=name), "partners"))
    if ctx.has_role(Role.ADMIN):
        choices.append(button(state, ctx._("Every chapter"), "all"))
    return Text(ctx._("Who is invited?"), rows(*choices, per_row=1))


def _audience_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in ("own", "partners", "all") or (value == "all" and not ctx.has_role(Role.ADMIN)):
        return stay()
    state.data["audience"] = value
    return advance("when")


def _zone(ctx: Context, state: DialogState) -> str:
    chapter = ctx.network.chapter(state.data.get("chapter"))
    return chapter.time_zone if chapter else "UTC"


def _when_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._(
            "When does it start? Write the date and time in {zone}, like {example}.",
            zone=_zone(ctx, state),
            example=EXAMPLE,
        )
    )


def _when_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    found = parse_when(text, _zone(ctx, state), ctx.now(), [ctx.lang])
    if isinstance(found, WhenProblem):
        return stay(Text(when_problem(ctx, found)))
    state.data["starts_at"] = found.isoformat()
    return advance("duration")


def when_problem(ctx: Context, problem: WhenProblem) -> str:
    reasons = {
        "ambiguous": ctx._("That date can be read two ways."),
        "past": ctx._("That time has passed."),
        "no_time": ctx._("Please give the time too."),
    }
    reason = reasons.get(problem.kind, ctx._("I could not read that date."))
    return ctx._("{reason} Please write it like {example}.", reason=reason, example=EXAMPLE)


def _duration_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(ctx._("How long is it?"), rows(*(button(state, label, m) for m, label in DURATIONS.items()), per_row=5))


def _duration_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in DURATIONS:
        return stay()
    state.data["minutes"] = int(value)
    return advance("place")


def _capacity_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("How many seats? Send a number, or:"),
        rows(button(state, ctx._("No limit"), "none")),
    )


def _capacity_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value != "none":
        return stay()
    state.data["capacity"] = None
    return advance("deadline")


def _capacity_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    number = parse_id(text)
    if number is None or not 1 <= number <= MAX_CAPACITY:
        return stay(Text(ctx._("Please send a number from 1 to {most}.", most=MAX_CAPACITY)))
    state.data["capacity"] = number
    return advance("deadline")


def _deadlines(ctx: Context, state: DialogState) -> list[str]:
    """The answer deadlines still in the future (days before the start; 0: the start)."""
    starts_at = datetime.fromisoformat(str(state.data.get("starts_at")))
    return ["0", *(str(d) for d in (1, 2) if starts_at - timedelta(days=d) > ctx.now())]


def _deadline_prompt(ctx: Context, state: DialogState) -> Text:
    labels = {"0": ctx._("Until it starts"), "1": ctx._("1 day before"), "2": ctx._("2 days before")}
    return Text(
        ctx._("Until when can members answer?"),
        rows(*(button(state, labels[value], value) for value in _deadlines(ctx, state))),
    )


def _deadline_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in _deadlines(ctx, state):
        return stay()
    state.data["deadline_days"] = int(value)
    return advance("description")


def _description_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("Send a description (up to {limit} characters), or:", limit=MAX_DESCRIPTION),
        rows(button(state, ctx._("No description"), "none")),
    )


def _description_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    body = text.strip()
    if len(body) > MAX_DESCRIPTION:
        return stay(Text(ctx._("Please send 1 to {limit} characters.", limit=MAX_DESCRIPTION)))
    state.data["description"] = body
    return advance("preview")


def _description_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value != "none":
        return stay()
    state.data["description"] = ""
    return advance("preview")


def draft(ctx: Context, state: DialogState) -> Meetup:
    chapter = str(state.data.get("chapter", ""))
    audience = {
        "own": (chapter,),
        "partners": (chapter, *(c.code for c in ctx.network.partners_of(chapter))),
        "all": (),
    }[str(state.data.get("audience", "own"))]
    starts_at = datetime.fromisoformat(str(state.data.get("starts_at")))
    days = int(state.data.get("deadline_days", 0))
    return Meetup(
        title=str(state.data.get("title", "")),
        description=str(state.data.get("description", "")),
        chapter=chapter,
        starts_at=starts_at,
        duration=timedelta(minutes=int(state.data.get("minutes", 60))),
        place=str(state.data.get("place", "")),
        audience=Audience(chapters=audience),
        created_at=ctx.now(),
        capacity=state.data.get("capacity"),
        rsvp_deadline=starts_at - timedelta(days=days) if days else None,
        author_id=ctx.member.id if ctx.member else None,
    )


def _preview_prompt(ctx: Context, state: DialogState) -> Text:
    meetup = draft(ctx, state)
    shown = card(ctx._, ctx.lang, ctx.network, meetup, ctx.member, None, going=0, personal=False)
    invited = ctx._("Invited: {audience}", audience=meetup.audience.describe(ctx._, ctx.network))
    return Text(
        "\n".join([ctx._("Preview:"), "", shown.text, "", invited]),
        rows(button(state, ctx._("Publish"), "publish"), button(state, ctx._("Cancel"), "cancel")),
    )


def _preview_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value == "cancel":
        return finish(Text(ctx._("Cancelled. Nothing was sent.")))
    if value != "publish":
        return stay()
    meetup = draft(ctx, state)
    every_chapter = state.data.get("audience") == "all"
    if meetup.chapter not in chapters_run_by(ctx) or (every_chapter and not ctx.has_role(Role.ADMIN)):
        return finish(Text(ctx._("This command is for coordinators.")))  # roles changed meanwhile
    if meetup.rsvp_deadline is not None and meetup.rsvp_deadline <= ctx.now():
        meetup.rsvp_deadline = None  # the preview waited past it: answers stay open until the start
    if meetup.starts_at <= ctx.now():  # the preview waited too long
        return Outcome(replies=(Text(ctx._("That time has passed.")),), advance=True, goto="when")
    meetup.checkin_code = new_code()
    meetup = ctx.uow.meetups.add(meetup)
    count = announce(ctx.uow, ctx.network, ctx.services.catalogs, meetup, ctx.now())
    details = {"meetup": meetup.id, "chapter": meetup.chapter, "audience": meetup.audience.to_json()}
    ctx.uow.audit.record(ctx.member.id if ctx.member else None, "meetup.create", details, count, ctx.now())
    return finish(
        Text(
            ctx._(
                "Meetup {id} is announced to {count} members. Its check-in code is {code}: show it at the "
                "meetup; members send /checkin {code}. /meetup attendees {id} shows the answers.",
                id=meetup.id,
                count=count,
                code=meetup.checkin_code,
            )
        )
    )


CREATE = Dialog(
    name=DIALOG,
    steps={
        "title": _text_step("title", MAX_TITLE, N_("What is the meetup called? (up to {limit} characters)"), "chapter"),
        "chapter": Step(_chapter_prompt, on_button=_chapter_button),
        "audience": Step(_audience_prompt, on_button=_audience_button),
        "when": Step(_when_prompt, on_text=_when_text),
        "duration": Step(_duration_prompt, on_button=_duration_button),
        "place": _text_step(
            "place", MAX_PLACE, N_("Where? An address or a link (up to {limit} characters)."), "capacity"
        ),
        "capacity": Step(_capacity_prompt, on_text=_capacity_text, on_button=_capacity_button),
        "deadline": Step(_deadline_prompt, on_button=_deadline_button),
        "description": Step(_description_prompt, on_text=_description_text, on_button=_description_button),
        "preview": Step(_preview_prompt, on_button=_preview_button),
    },
    order=(
        "title",
        "chapter",
        "audience",
        "when",
        "duration",
        "place",
        "capacity",
        "deadline",
        "description",
        "preview",
    ),
)
