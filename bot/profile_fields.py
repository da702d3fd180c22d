"""Dialog steps that ask for one profile field; onboarding and /profile share them."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.context import Context
from bot.dialogs.engine import Outcome, Step, advance, button, finish, stay
from bot.dialogs.state import DialogState
from bot.i18n import language_name
from bot.quiet_hours import parse_range
from bot.replies import Text, rows

MAX_NAME = 64
MAX_BIO = 500
MAX_INTERESTS = 10
MAX_INTEREST_LENGTH = 40


def _gone(ctx: Context) -> Outcome:
    return finish(Text(ctx._("I can't find your profile any more. Send /start to join.")))


def _saved(ctx: Context, **fields: object) -> Outcome:
    """Set ``fields`` on the member, save, and go on to the next step."""
    member = ctx.member
    if member is None:
        return _gone(ctx)
    for name, value in fields.items():
        setattr(member, name, value)
    ctx.uow.members.save(member)
    return advance()


# --- name -------------------------------------------------------------------------------


def _name_prompt(ctx: Context, state: DialogState) -> Text:
    current = ctx.member.display_name if ctx.member else ctx.event.display_name
    return Text(
        ctx._("What name should other members see? Send it, or keep the one you have."),
        rows(button(state, ctx._("Keep “{name}”", name=current), "keep"), per_row=1),
    )


def _name_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    name = " ".join(text.split())
    if not name or len(name) > MAX_NAME:
        return stay(Text(ctx._("A name has 1 to {limit} characters. Please try again.", limit=MAX_NAME)))
    return _saved(ctx, display_name=name)


def _name_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    return advance() if value == "keep" else stay()


# --- home chapter -----------------------------------------------------------------------


def _chapter_prompt(ctx: Context, state: DialogState) -> Text:
    buttons = [button(state, chapter.name, chapter.code) for chapter in ctx.network.chapters]
    return Text(ctx._("Which city is your home chapter?"), rows(*buttons))


def _chapter_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if ctx.network.chapter(value) is None:
        return stay(Text(ctx._("That chapter does not exist any more. Please choose again.")), reprompt=True)
    return _saved(ctx, home_chapter=value)


# --- spoken languages -------------------------------------------------------------------


def _languages_prompt(ctx: Context, state: DialogState) -> Text:
    if "languages" not in state.data:
        state.data["languages"] = list(ctx.member.languages) if ctx.member else []
    chosen = set(state.data["languages"])
    buttons = [
        button(state, ("✓ " if code in chosen else "") + language_name(code), f"t:{code}")
        for code in ctx.network.languages
    ]
    buttons.append(button(state, ctx._("Done"), "done"))
    return Text(ctx._("Which languages do you speak? Tap to select, then Done."), rows(*buttons))


def _languages_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    chosen: list[str] = list(state.data.get("languages", []))
    if value.startswith("t:"):
        code = value[2:]
        if code in ctx.network.languages:
            chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
        state.data["languages"] = chosen
        return stay(reprompt=True)
    if value == "done":
        if not chosen:
            return stay(Text(ctx._("Please choose at least one language.")))
        return _saved(ctx, languages=[code for code in chosen if code in ctx.network.languages])  # order chosen
    return stay()


# --- interests --------------------------------------------------------------------------


def _interests_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("What are your interests? Send them separated by commas, for example: jazz, urban gardening, start-ups."),
        rows(button(state, ctx._("Skip"), "skip"), per_row=1),
    )


def parse_interests(text: str) -> list[str] | None:
    """Split a comma-separated list; None if an item is too long or there are too many."""
    items: list[str] = []
    for raw in re.split(r"[,;、，\n]", text):
        item = " ".join(raw.split())
        if not item:
            continue
        if len(item) > MAX_INTEREST_LENGTH:
            return None
        if item.casefold() not in {i.casefold() for i in items}:
            items.append(item)
    return items if len(items) <= MAX_INTERESTS else None


def _interests_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    interests = parse_interests(text)
    if interests is None:
        return stay(
            Text(
                ctx._(
                    "Please send at most {count} interests of up to {limit} characters each.",
                    count=MAX_INTERESTS,
                    limit=MAX_INTEREST_LENGTH,
                )
            )
        )
    return _saved(ctx, interests=interests)


def _skip_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    return advance() if value == "skip" else stay()


# --- time zone --------------------------------------------------------------------------


def _chapter_zone(ctx: Context) -> str | None:
    chapter = ctx.network.chapter(ctx.member.home_chapter if ctx.member else None)
    return chapter.time_zone if chapter else None


def _timezone_prompt(ctx: Context, state: DialogState) -> Text:
    zone = _chapter_zone(ctx)
    buttons = rows(button(state, zone, "chapter"), per_row=1) if zone else ()
    return Text(
        ctx._("Which time zone are you in? Tap the button or send a name like America/New_York."),
        buttons,
    )


def find_zone(text: str) -> str | None:
    """The IANA zone named by ``text`` (case and spaces forgiven), or None."""
    wanted = text.strip().replace(" ", "_")
    if not wanted or len(wanted) > 64:
        return None
    try:
        ZoneInfo(wanted)
        return wanted
    except (ZoneInfoNotFoundError, ValueError):
        pass
    lowered = wanted.casefold()
    matches = [zone for zone in available_timezones() if zone.casefold() == lowered]
    return matches[0] if matches else None


def _timezone_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    zone = find_zone(text)
    if zone is None:
        return stay(Text(ctx._("I don't know the time zone “{zone}”. Try a name like Europe/Paris.", zone=text[:64])))
    return _saved(ctx, time_zone=zone)


def _timezone_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    zone = _chapter_zone(ctx)
    if value != "chapter" or zone is None:
        return stay()
    return _saved(ctx, time_zone=zone)


# --- bio --------------------------------------------------------------------------------


def _bio_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("Tell other members a little about yourself (up to {limit} characters).", limit=MAX_BIO),
        rows(button(state, ctx._("Clear"), "clear"), per_row=1),
    )


def _bio_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    if len(text.strip()) > MAX_BIO:
        return stay(Text(ctx._("That is longer than {limit} characters. Please shorten it.", limit=MAX_BIO)))
    return _saved(ctx, bio=text.strip())


def _bio_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    return _saved(ctx, bio="") if value == "clear" else stay()


# --- mentoring --------------------------------------------------------------------------

MENTORING = {"mentor": (True, False), "mentee": (False, True), "both": (True, True), "none": (False, False)}


def mentoring_label(ctx: Context, is_mentor: bool, is_mentee: bool) -> str:
    if is_mentor and is_mentee:
        return ctx._("Mentor and mentee")
    if is_mentor:
        return ctx._("Mentor")
    if is_mentee:
        return ctx._("Mentee")
    return ctx._("Not now")


def mentoring_prompt(ctx: Context, state: DialogState) -> Text:
    buttons = [button(state, mentoring_label(ctx, *flags), key) for key, flags in MENTORING.items()]
    return Text(
        ctx._("Would you like to mentor someone from a partner city, be mentored, both, or not now?"),
        rows(*buttons),
    )


def _mentoring_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in MENTORING:
        return stay()
    is_mentor, is_mentee = MENTORING[value]
    return _saved(ctx, is_mentor=is_mentor, is_mentee=is_mentee)


# --- quiet hours ------------------------------------------------------------------------


def quiet_label(ctx: Context, start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return ctx._("none")
    return f"{start:02d}:00–{end:02d}:00"


def _quiet_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._(
            "When should I not send you announcements and reminders? Send two hours like 22-7 "
            "(your time zone), or tap Off."
        ),
        rows(button(state, ctx._("Off"), "off"), per_row=1),
    )


def _quiet_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    hours = parse_range(text)
    if hours is None:
        return stay(Text(ctx._("Please send two different hours from 0 to 23, like 22-7.")))
    return _saved(ctx, quiet_start=hours[0], quiet_end=hours[1])


def _quiet_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    return _saved(ctx, quiet_start=None, quiet_end=None) if value == "off" else stay()


FIELD_STEPS: dict[str, Step] = {
    "name": Step(_name_prompt, on_text=_name_text, on_button=_name_button),
    "chapter": Step(_chapter_prompt, on_button=_chapter_button),
    "languages": Step(_languages_prompt, on_button=_languages_button),
    "interests": Step(_interests_prompt, on_text=_interests_text, on_button=_skip_button),
    "timezone": Step(_timezone_prompt, on_text=_timezone_text, on_button=_timezone_button),
    "bio": Step(_bio_prompt, on_text=_bio_text, on_button=_bio_button),
    "mentoring": Step(mentoring_prompt, on_button=_mentoring_button),
    "quiet": Step(_quiet_prompt, on_text=_quiet_text, on_button=_quiet_button),
}
