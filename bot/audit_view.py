"""``/audit``: the log of coordinator actions, for admins: the latest entries in chat, and
``/audit export`` as a CSV file."""

from __future__ import annotations

import csv
import io
import json
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.context import Context
from bot.ports import AuditEntry
from bot.replies import File, Reply, Text

SHOWN = 25
EXPORT_LIMIT = 100_000


def _names(ctx: Context, entries: list[AuditEntry]) -> dict[int, str]:
    ids = sorted({e.actor_id for e in entries if e.actor_id is not None})
    return {i: m.display_name for i, m in ctx.uow.members.get_many(ids).items()} if ids else {}


def command(ctx: Context, args: str) -> list[Reply]:
    if args.strip().lower() == "export":
        return [export(ctx)]
    entries = ctx.uow.audit.recent(SHOWN)
    if not entries:
        return [Text(ctx._("The audit log is empty."))]
    names = _names(ctx, entries)
    zone = ctx.member.time_zone if ctx.member and ctx.member.time_zone else "UTC"
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    lines = [ctx._("Latest coordinator actions ({zone}):", zone=tz.key)]
    for e in entries:
        when = format_datetime(e.at.astimezone(tz), "short", locale=ctx.lang)
        who = names.get(e.actor_id, "—") if e.actor_id is not None else ctx._("the system")
        size = f" · {e.audience_size}" if e.audience_size is not None else ""
        lines.append(f"{when} · {who} · {e.action}{size}")
    lines.append(ctx._("/audit export gives the whole log as a file."))
    return [Text("\n".join(lines))]


def export(ctx: Context) -> File:
    entries: list[AuditEntry] = []
    before: int | None = None
    while len(entries) < EXPORT_LIMIT:
        page = ctx.uow.audit.recent(1000, before)
        if not page:
            break
        entries += page
        before = page[-1].id
    names = _names(ctx, entries)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at", "actor_id", "actor", "action", "audience_size", "details"])
    for e in entries:
        actor = names.get(e.actor_id, "") if e.actor_id is not None else ""
        safe = "'" + actor if actor.startswith(("=", "+", "-", "@", "\t", "\r")) else actor
        writer.writerow(
            [
                e.id,
                e.at.isoformat(),
                e.actor_id or "",
                safe,
                e.action,
                e.audience_size if e.audience_size is not None else "",
                json.dumps(e.details, ensure_ascii=False, sort_keys=True),
            ]
        )
    caption = ctx._("The audit log: {count} entries", count=len(entries))
    return File("audit-log.csv", out.getvalue().encode("utf-8-sig"), "text/csv", caption)
