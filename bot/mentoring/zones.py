"""Waking hours two time zones share: 08:00–22:00 local in each, compared at one fixed instant.

The offsets are read at ``REFERENCE`` (a winter instant, so standard time north of the equator)
rather than "now", so a score never changes with the season or the day it is computed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WAKE, SLEEP = 8, 22
WAKING_HOURS = SLEEP - WAKE
REFERENCE = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
_DAY = 24 * 60


def utc_offset_minutes(zone: str) -> int:
    """The zone's offset from UTC at ``REFERENCE``, in minutes; 0 for a zone name that is not known."""
    try:
        offset = REFERENCE.astimezone(ZoneInfo(zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return 0 if offset is None else int(offset.total_seconds()) // 60


@lru_cache(maxsize=4096)
def waking_overlap_hours(zone_a: str, zone_b: str) -> float:
    """Hours (0–14) when it is between 08:00 and 22:00 in both zones, on the 24-hour circle."""
    length = WAKING_HOURS * 60
    start_a = (WAKE * 60 - utc_offset_minutes(zone_a)) % _DAY  # in UTC minutes of the day
    start_b = (WAKE * 60 - utc_offset_minutes(zone_b)) % _DAY
    overlap = 0
    for shift in (-_DAY, 0, _DAY):  # the windows wrap around midnight UTC
        overlap += max(0, min(start_a + length, start_b + shift + length) - max(start_a, start_b + shift))
    return overlap / 60
