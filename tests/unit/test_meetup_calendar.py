"""The meetup's calendar file (.ics), parsed back with icalendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from bot.audience import Audience
from bot.meetups.calendar import ics_filename, meetup_ics
from bot.meetups.model import Meetup, MeetupStatus

PARIS = ZoneInfo("Europe/Paris")
STAMP = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

MEETUP = Meetup(
    title="Apéro franco-japonais — 日仏交流会 au café de la Gare, avec une très longue ligne à plier",
    description="Venez nombreux !\nみなさん、ぜひ来てください。",
    chapter="paris",
    starts_at=datetime(2026, 12, 24, 17, 30, tzinfo=UTC),  # 18:30 in Paris
    duration=timedelta(hours=2),
    place="https://meet.example.org/apero",
    audience=Audience(),
    created_at=datetime(2026, 11, 1, tzinfo=UTC),
    revision=3,
    id=42,
)


def _event(meetup: Meetup = MEETUP, time_zone: str = "Europe/Paris") -> tuple[Calendar, Any]:
    calendar = Calendar.from_ical(meetup_ics(meetup, time_zone, "Twin Cities", STAMP))
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_calendar_header() -> None:
    calendar, _ = _event()
    assert str(calendar["PRODID"]) == "-//twinbot//Twin Cities//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"


def test_event_uid_stamp_and_sequence() -> None:
    _, event = _event()
    assert str(event["UID"]) == "meetup-42.twin-cities@twinbot"  # stable, and per network
    assert event.decoded("DTSTAMP") == STAMP
    assert int(event["SEQUENCE"]) == 3
    assert str(event["STATUS"]) == "CONFIRMED"
    assert ics_filename(MEETUP) == "meetup-42.ics"


def test_times_are_local_with_tzid() -> None:
    _, event = _event()
    start, length = event.decoded("DTSTART"), event.decoded("DURATION")
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert start.replace(tzinfo=None) == datetime(2026, 12, 24, 18, 30)
    assert start == MEETUP.starts_at and start + length == MEETUP.ends_at
    assert b"DTSTART;TZID=Europe/Paris:20261224T183000" in meetup_ics(MEETUP, "Europe/Paris", "N", STAMP)


def test_a_duration_not_an_end_so_the_repeated_hour_cannot_shorten_it() -> None:
    # 01:30 on the night clocks go back, 2 hours: a local end of 02:30 would be read as the
    # first 02:30 (one hour). A duration keeps it two hours.
    overnight = replace(MEETUP, starts_at=datetime(2027, 10, 30, 23, 30, tzinfo=UTC), duration=timedelta(hours=2))
    _, event = _event(overnight)
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 10, 31, 1, 30)
    assert "DTEND" not in event and event.decoded("DURATION") == timedelta(hours=2)


def test_vtimezone_present_for_the_zone() -> None:
    calendar, _ = _event()
    zones = calendar.walk("VTIMEZONE")
    assert [str(zone["TZID"]) for zone in zones] == ["Europe/Paris"]
    assert calendar.subcomponents[0].name == "VTIMEZONE"  # defined before it is used
    tokyo, _ = _event(time_zone="Asia/Tokyo")
    assert [str(zone["TZID"]) for zone in tokyo.walk("VTIMEZONE")] == ["Asia/Tokyo"]


def test_utc_zone_writes_utc_times() -> None:
    _, event = _event(time_zone="UTC")
    assert event.decoded("DTSTART") == MEETUP.starts_at
    assert b"DTSTART:20261224T173000Z" in meetup_ics(MEETUP, "UTC", "N", STAMP)


def test_non_ascii_text_round_trips() -> None:
    _, event = _event()
    assert str(event["SUMMARY"]) == MEETUP.title
    assert str(event["DESCRIPTION"]) == MEETUP.description
    assert str(event["LOCATION"]) == MEETUP.place


def test_url_only_for_web_links() -> None:
    _, event = _event()
    assert str(event["URL"]) == "https://meet.example.org/apero"
    _, street = _event(replace(MEETUP, place="12 rue de la Paix, 75002 Paris"))
    assert str(street["LOCATION"]) == "12 rue de la Paix, 75002 Paris"
    assert "URL" not in street


def test_cancelled_status() -> None:
    _, event = _event(replace(MEETUP, status=MeetupStatus.CANCELLED, revision=4))
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 4


def test_lines_are_folded_to_75_octets_with_crlf() -> None:
    ics = meetup_ics(MEETUP, "Europe/Paris", "Twin Cities", STAMP)
    assert ics.endswith(b"\r\n")
    lines = ics.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)  # the long title was folded
    for line in lines:
        line.decode("utf-8")  # never folded inside a multi-byte character


def test_deterministic() -> None:
    assert meetup_ics(MEETUP, "Europe/Paris", "Twin Cities", STAMP) == meetup_ics(
        MEETUP, "Europe/Paris", "Twin Cities", STAMP
    )
