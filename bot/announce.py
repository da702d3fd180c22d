"""/announce: coordinators write an announcement (one or more languages), pick an audience,
preview it, and send it now or at a set time. Also: status, cancel, list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.announcements import Announcement, AnnouncementStatus, may_announce
from bot.audience import FILTERS, Audience
from bot.broadcast import publish
from bot.context import Context
from bot.dialogs.engine import Dialog, Outcome, Step, advance, button, finish, stay
from bot.dialogs.state import DialogState
from bot.i18n import language_name
from bot.ids import parse_id
from bot.members import Role
from bot.replies import Reply, Text, rows

DIALOG = "announce"
MAX_TEXT = 3000
TIME_FORMAT = "%Y-%m-%d %H:%M"


# --- who may announce to whom -------------------------------------------------------------


def allowed_scopes(ctx: Context) -> list[str]:
    """Chapter codes this member may announce to; "*" (everyone) for admins."""
    if ctx.has_role(Role.ADMIN):
        return ["*", *(c.code for c in ctx.network.chapters)]
    return [c.code for c in ctx.network.chapters if ctx.has_role(Role.COORDINATOR, c.code)]


def _may_send(ctx: Context, audience: Audience) -> bool:
    return ctx.member is not None and may_announce(ctx.member, ctx.grants, audience)


def _zone(ctx: Context) -> str:
    if ctx.member and ctx.member.time_zone:
        return ctx.member.time_zone
    chapter = ctx.network.chapter(ctx.member.home_chapter if ctx.member else None)
    return chapter.time_zone if chapter else "UTC"


def _when(ctx: Context, moment: datetime | None) -> str:
    if moment is None:
        return ctx._("now")
    zone = _zone(ctx)
    local = format_datetime(moment.astimezone(ZoneInfo(zone)), "medium", locale=ctx.lang)
    return f"{local} ({zone})"


def _audience(state: DialogState) -> Audience:
    scope = state.data.get("scope", "*")
    return Audience(chapters=() if scope == "*" else (scope,), filter=state.data.get("filter", "all"))


# --- the dialog's steps ---------------------------------------------------------------------


def _lang_prompt(ctx: Context, state: DialogState) -> Text:
    given = state.data.get("texts", {})
    buttons = [button(state, language_name(c), c) for c in ctx.network.languages if c not in given]
    question = (
        ctx._("In which language will you write the announcement?")
        if not given
        else ctx._("Which language is the translation in?")
    )
    return Text(question, rows(*buttons, per_row=3))


def _lang_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in ctx.network.languages or value in state.data.get("texts", {}):
        return stay()
    state.data["next_lang"] = value
    return advance("text")


def _text_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._(
            "Send the text in {language} (up to {limit} characters).",
            language=language_name(state.data.get("next_lang", ctx.lang)),
            limit=MAX_TEXT,
        )
    )


def _text_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    body = text.strip()
    if len(body) > MAX_TEXT:
        return stay(Text(ctx._("That is longer than {limit} characters. Please shorten it.", limit=MAX_TEXT)))
    texts = dict(state.data.get("texts", {}))
    texts[state.data.get("next_lang", ctx.lang)] = body
    state.data["texts"] = texts
    return advance("more")


def _more_prompt(ctx: Context, state: DialogState) -> Text:
    given = ", ".join(language_name(c) for c in state.data.get("texts", {}))
    buttons = [button(state, ctx._("Continue"), "continue")]
    if len(state.data.get("texts", {})) < len(ctx.network.languages):
        buttons.insert(0, button(state, ctx._("Add a translation"), "more"))
    return Text(ctx._("Texts so far: {languages}.", languages=given), rows(*buttons))


def _more_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value == "more":
        return advance("lang")
    return advance("scope") if value == "continue" else stay()


def _scope_prompt(ctx: Context, state: DialogState) -> Text:
    labels = {"*": ctx._("Every chapter")} | {c.code: c.name for c in ctx.network.chapters}
    buttons = [button(state, labels[code], code) for code in allowed_scopes(ctx)]
    return Text(ctx._("Who should receive it?"), rows(*buttons))


def scope_step(following: str) -> Step:
    """The step that asks which chapter (or every chapter, for admins) a message goes to;
    shared by announcements and surveys."""

    def chosen(ctx: Context, state: DialogState, value: str) -> Outcome:
        if value not in allowed_scopes(ctx):
            return stay(Text(ctx._("You cannot announce to that audience.")))
        state.data["scope"] = value
        return advance(following)

    return Step(_scope_prompt, on_button=chosen)


def _filter_prompt(ctx: Context, state: DialogState) -> Text:
    buttons = [button(state, ctx._(FILTERS[name][0]), name) for name in ("all", "mentors", "mentees", "coordinators")]
    buttons += [
        button(state, ctx._(FILTERS["lang"][0], language=language_name(code)), f"lang:{code}")
        for code in ctx.network.languages
    ]
    return Text(ctx._("Which of their members?"), rows(*buttons))


def _filter_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if not Audience(filter=value).is_valid(ctx.network):
        return stay()
    state.data["filter"] = value
    return advance("when")


def _when_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("Send it now, or at a time you choose?"),
        rows(button(state, ctx._("Now"), "now"), button(state, ctx._("Later"), "later")),
    )


def _when_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value == "now":
        state.data.pop("send_at", None)
        return advance("preview")
    return advance("time") if value == "later" else stay()


def _time_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._(
            "Send the date and time in your time zone ({zone}), like {example}.",
            zone=_zone(ctx),
            example="2026-12-24 18:00",
        )
    )


def _time_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    try:
        local = datetime.strptime(text.strip(), TIME_FORMAT)
    except ValueError:
        return stay(Text(ctx._("I could not read that. Please write it like {example}.", example="2026-12-24 18:00")))
    moment = local.replace(tzinfo=ZoneInfo(_zone(ctx))).astimezone(UTC)
    if moment <= ctx.now():
        return stay(Text(ctx._("That time has passed. Please choose a time in the future.")))
    state.data["send_at"] = moment.isoformat()
    return advance("preview")


def _preview_prompt(ctx: Context, state: DialogState) -> Text:
    audience = _audience(state)
    members = audience.members(ctx.uow)
    reachable = sum(1 for m in members if not m.announcements_muted)
    texts: dict[str, str] = state.data.get("texts", {})
    sample = texts.get(ctx.lang) or next(iter(texts.values()), "")
    send_at = state.data.get("send_at")
    lines = [
        ctx._("Preview:"),
        "",
        sample,
        "",
        ctx._("Languages: {value}", value=", ".join(language_name(c) for c in texts)),
        ctx._(
            "Audience: {audience} — {count} members ({muted} muted)",
            audience=audience.describe(ctx._, ctx.network),
            count=reachable,
            muted=len(members) - reachable,
        ),
        ctx._("When: {value}", value=_when(ctx, datetime.fromisoformat(send_at) if send_at else None)),
    ]
    return Text(
        "\n".join(lines),
        rows(button(state, ctx._("Send"), "send"), button(state, ctx._("Cancel"), "cancel")),
    )


def _preview_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value == "cancel":
        return finish(Text(ctx._("Cancelled. Nothing was sent.")))
    if value != "send":
        return stay()
    audience = _audience(state)
    if ctx.member is None or not _may_send(ctx, audience):  # roles may have changed meanwhile
        return finish(Text(ctx._("You cannot announce to that audience.")))
    refusal = over_daily_limit(ctx)
    if refusal is not None:
        return finish(refusal)
    send_at = state.data.get("send_at")
    now = ctx.now()
    announcement = ctx.uow.announcements.add(
        Announcement(
            author_id=ctx.member.id,
            texts=dict(state.data.get("texts", {})),
            audience=audience,
            status=AnnouncementStatus.SCHEDULED,
            created_at=now,
            send_at=datetime.fromisoformat(send_at) if send_at else now,
        )
    )
    if send_at:
        size = len(audience.members(ctx.uow))
        ctx.uow.audit.record(ctx.member.id, "announce.schedule", _details(announcement), size, now)
        return finish(
            Text(
                ctx._(
                    "Announcement {id} is scheduled for {when}. /announce cancel {id} cancels it.",
                    id=announcement.id,
                    when=_when(ctx, announcement.send_at),
                )
            )
        )
    result = publish(ctx.uow, ctx.network, ctx.services.catalogs, announcement, now)
    ctx.uow.audit.record(ctx.member.id, "announce.send", _details(announcement), result.queued, now)
    return finish(
        Text(
            ctx._(
                "Announcement {id} is on its way to {count} members. /announce status {id} shows the delivery.",
                id=announcement.id,
                count=result.queued,
            )
        )
    )


def over_daily_limit(ctx: Context) -> Text | None:
    """The refusal when this coordinator has sent (or scheduled) the most allowed within 24 h."""
    if ctx.member is None or ctx.member.id is None:
        return None
    limit = ctx.services.announcements_per_day
    since = ctx.now() - timedelta(hours=24)
    made = [a for a in ctx.uow.announcements.recent(ctx.member.id, limit + 1) if a.created_at >= since]
    if len(made) < limit:
        return None
    return Text(
        ctx._(
            "You have made {count} announcements in the last 24 hours, the most allowed. Please try again later.",
            count=len(made),
        )
    )


def _details(announcement: Announcement) -> dict[str, object]:
    return {
        "announcement": announcement.id,
        "languages": list(announcement.texts),
        "audience": announcement.audience.to_json(),
        "send_at": announcement.send_at.isoformat() if announcement.send_at else None,
    }


ANNOUNCE = Dialog(
    name=DIALOG,
    steps={
        "lang": Step(_lang_prompt, on_button=_lang_button),
        "text": Step(_text_prompt, on_text=_text_text),
        "more": Step(_more_prompt, on_button=_more_button),
        "scope": scope_step("filter"),
        "filter": Step(_filter_prompt, on_button=_filter_button),
        "when": Step(_when_prompt, on_button=_when_button),
        "time": Step(_time_prompt, on_text=_time_text),
        "preview": Step(_preview_prompt, on_button=_preview_button),
    },
    order=("lang", "text", "more", "scope", "filter", "when", "preview"),
)


# --- the command ----------------------------------------------------------------------------


def command(ctx: Context, args: str) -> list[Reply]:
    """/announce, /announce status ID, /announce cancel ID, /announce list."""
    if not allowed_scopes(ctx):
        return [Text(ctx._("This command is for coordinators."))]
    verb, _, rest = args.strip().partition(" ")
    if not verb:
        refusal = over_daily_limit(ctx)
        return [refusal] if refusal is not None else ctx.dialogs.start(ctx, DIALOG)
    if verb == "list":
        return _list(ctx)
    if verb in ("status", "cancel"):
        announcement = _own(ctx, rest.strip())
        if announcement is None:
            return [Text(ctx._("There is no announcement {id} of yours.", id=rest.strip()[:12] or "?"))]
        return _status(ctx, announcement) if verb == "status" else _cancel(ctx, announcement)
    return [Text(ctx._("Use /announce, /announce list, /announce status ID or /announce cancel ID."))]


def _own(ctx: Context, ident: str) -> Announcement | None:
    number = parse_id(ident)
    if number is None:
        return None
    announcement = ctx.uow.announcements.get(number)
    if announcement is None or ctx.member is None:
        return None
    if announcement.author_id != ctx.member.id and not _may_send(ctx, announcement.audience):
        return None
    return announcement


def _status(ctx: Context, announcement: Announcement) -> list[Reply]:
    counts = ctx.uow.outbox.report(announcement.batch)
    labels = {
        "queued": ctx._("queued"),
        "sending": ctx._("sending"),
        "sent": ctx._("sent"),
        "failed": ctx._("failed"),
        "unreachable": ctx._("unreachable"),
        "cancelled": ctx._("cancelled"),
    }
    lines = [ctx._("Announcement {id}: {state}", id=announcement.id, state=_state(ctx, announcement))]
    for platform in sorted({p for p, _ in counts}):
        parts = [f"{labels.get(s, s)} {n}" for (p, s), n in sorted(counts.items()) if p == platform]
        lines.append(f"• {platform}: " + ", ".join(parts))
    return [Text("\n".join(lines))]


def _state(ctx: Context, announcement: Announcement) -> str:
    if announcement.status is AnnouncementStatus.SCHEDULED:
        return ctx._("scheduled for {when}", when=_when(ctx, announcement.send_at))
    if announcement.status is AnnouncementStatus.SENT:
        return ctx._("sent to {count} members", count=announcement.recipients or 0)
    return ctx._("cancelled")


def _cancel(ctx: Context, announcement: Announcement) -> list[Reply]:
    assert announcement.id is not None
    if not ctx.uow.announcements.cancel(announcement.id):
        return [Text(ctx._("Announcement {id} was already sent or cancelled.", id=announcement.id))]
    author = ctx.member.id if ctx.member else None
    ctx.uow.audit.record(author, "announce.cancel", _details(announcement), None, ctx.now())
    return [Text(ctx._("Announcement {id} is cancelled; nothing was sent.", id=announcement.id))]


def _list(ctx: Context) -> list[Reply]:
    mine = ctx.uow.announcements.recent(ctx.member.id if ctx.member else None, 10)
    if not mine:
        return [Text(ctx._("You have not made any announcements yet."))]
    lines = []
    for a in mine:
        first = next(iter(a.texts.values()), "").splitlines()[0][:60] if a.texts else ""
        lines.append(f"#{a.id} · {_state(ctx, a)} · {first}")
    return [Text("\n".join(lines))]
