"""Coordinators' recurring schedules (coffee rounds, matching runs): who may set one for a
scope, and setting or clearing it. The scheduler's jobs follow what is stored here."""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import Context
from bot.members import Role
from bot.replies import Text

ALL = "*"
MAX_CRON = 100


def scope_of(word: str) -> str:
    """A chapter code, or ``*`` for ``all``."""
    return ALL if word.lower() == "all" else word.lower()


def may_schedule(ctx: Context, scope: str) -> bool:
    """Coordinators for their chapters; admins for ``*`` (the whole network)."""
    if scope == ALL:
        return ctx.has_role(Role.ADMIN)
    return ctx.network.chapter(scope) is not None and ctx.has_role(Role.COORDINATOR, scope)


@dataclass(frozen=True)
class Change:
    cleared: bool
    cron: str = ""
    zone: str = ""


def set_or_clear(
    ctx: Context, key: str, scope: str, spec: str, *, action: str, example: str, default_zone: str
) -> Change | Text:
    """Store ``spec`` (a cron line, in the chapter's time zone) under ``key``, or clear it with
    ``off``; audited as ``action``. Returns what changed, or why the schedule will not do."""
    actor = ctx.member.id if ctx.member else None
    spec = spec.strip()
    if spec.lower() == "off":
        ctx.uow.mentoring.clear_schedule(key)
        ctx.uow.audit.record(actor, f"{action}.unschedule", {"scope": scope}, None, ctx.now())
        return Change(cleared=True)
    chapter = ctx.network.chapter(scope)
    zone = chapter.time_zone if chapter else default_zone
    if not spec or len(spec) > MAX_CRON or ctx.services.check_cron(spec, zone) is not None:
        return Text(
            ctx._(
                "That schedule does not work. Write it like {example} (minute hour day month weekday).", example=example
            )
        )
    ctx.uow.mentoring.set_schedule(key, spec, zone)
    details = {"scope": scope, "cron": spec, "time_zone": zone}
    ctx.uow.audit.record(actor, f"{action}.schedule", details, None, ctx.now())
    return Change(cleared=False, cron=spec, zone=zone)
