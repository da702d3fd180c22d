"""Quiet hours: a message due while a member sleeps waits until their morning."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.members import Member

_RANGE = re.compile(r"^\s*(\d{1,2})(?::00)?\s*[-–—~〜to ]+\s*(\d{1,2})(?::00)?\s*$")


def parse_range(text: str) -> tuple[int, int] | None:
    """``22-7`` -> (22, 7); None unless both are hours 0-23 and differ."""
    match = _RANGE.match(text)
    if not match:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    if not (0 <= start <= 23 and 0 <= end <= 23) or start == end:
        return None
    return start, end


def next_allowed(now: datetime, member: Member, default_zone: str) -> datetime:
    """``now``, or the end of the member's quiet hours if ``now`` falls inside them."""
    start, end = member.quiet_start, member.quiet_end
    if start is None or end is None or start == end:
        return now
    try:
        zone = ZoneInfo(member.time_zone or default_zone)
    except (KeyError, ValueError):  # a zone name that no longer exists: the chapter's
        zone = ZoneInfo(default_zone)
    local = now.astimezone(zone)
    hour = local.hour
    quiet = start <= hour < end if start < end else (hour >= start or hour < end)
    if not quiet:
        return now
    wake = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if wake <= local:
        wake = (local + timedelta(days=1)).replace(hour=end, minute=0, second=0, microsecond=0)
    return wake.astimezone(UTC)
