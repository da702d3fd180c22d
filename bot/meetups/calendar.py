"""A meetup as an RFC 5545 calendar file (.ics) that members add to their calendar app.

The UID is stable and SEQUENCE is the meetup's revision, so downloading the file again after
an edit or a cancellation updates the event already in the calendar instead of adding a copy.
"""

from __future__ import annotations

from datetime import MAXYEAR, MINYEAR, UTC, date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.meetups.model import Meetup, MeetupStatus


def ics_filename(meetup: Meetup) -> str:
    return f"meetup-{meetup.id}.ics"


def meetup_uid(meetup: Meetup, network_name: str) -> str:
    """Stable per meetup and distinct between networks (two networks' meetup 1 differ)."""
    slug = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in network_name.lower()).strip("-")
    slug = "-".join(part for part in slug.split("-") if part)[:60] or "network"
    return f"meetup-{meetup.id}.{slug}@twinbot"


def meetup_ics(meetup: Meetup, time_zone: str, network_name: str, stamp: datetime) -> bytes:
    """The meetup as a calendar with one event, its times given in ``time_zone`` (an IANA name)."""
    assert meetup.id is not None, "a stored meetup: its id makes the UID"
    zone = ZoneInfo(time_zone)
    starts_at = meetup.starts_at.astimezone(zone)
    ends_at = meetup.ends_at.astimezone(zone)

    event = Event()
    event.add("uid", meetup_uid(meetup, network_name))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at)
    # A duration, not an end time: a local end inside the hour that repeats when clocks go
    # back would be read as its first occurrence.
    event.add("duration", meetup.duration)
    event.add("summary", meetup.title)
    if meetup.description:
        event.add("description", meetup.description)
    if meetup.place:
        event.add("location", meetup.place)
        if meetup.place.startswith(("https://", "http://")) and not any(c.isspace() for c in meetup.place):
            event.add("url", meetup.place)
    event.add("sequence", meetup.revision)
    event.add("status", "CANCELLED" if meetup.status is MeetupStatus.CANCELLED else "CONFIRMED")

    calendar = Calendar()
    calendar.add("prodid", f"-//twinbot//{network_name}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    # VTIMEZONE definitions for the TZIDs used (none for UTC), covering the years around the
    # meetup only: the library's default span (1970-2038) is long and misses later meetups.
    first, last = max(starts_at.year - 1, MINYEAR), min(ends_at.year + 2, MAXYEAR)
    calendar.add_missing_timezones(first_date=date(first, 1, 1), last_date=date(last, 1, 1))
    calendar.subcomponents.sort(key=lambda component: component.name != "VTIMEZONE")  # stable
    ics: bytes = calendar.to_ical()
    return ics
