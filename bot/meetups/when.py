"""A meetup's date and time as a coordinator types it in chat, read strictly in a chapter's time zone.

Strict, because a misread date sends members to a meetup on the wrong day: the text must give a
day, a month, a year and a time; relative words ("tomorrow") are refused, and so are all-numeric
dates that read differently day-first and month-first ("03/04/2027"): ISO forms or month names
("2027-04-03 18:00", "3 April 2027 18:00") say it unambiguously.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dateparser import DateDataParser
from dateparser.data.languages_info import language_order

EXAMPLE = "2026-12-24 18:30"
MAX_LENGTH = 100

#: The first three numbers of an all-numeric date, e.g. "24.12.2026", "2026-12-24", "3/4/27".
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d+)[\s./-]+(\d+)[\s./-]+(\d+)(?!\d)")
_KNOWN_LANGUAGES = frozenset(language_order)


@dataclass(frozen=True)
class WhenProblem:
    """Why the text was refused; ``kind`` is one of "unreadable", "ambiguous", "past", "no_time"."""

    kind: str


def _date_order(text: str) -> str | None:
    """The order of an all-numeric date in ``text`` (DMY by default); None if it is ambiguous."""
    match = _NUMERIC_DATE.search(text)
    if match is None:
        return "DMY"
    first, second, third = match.groups()
    if len(first) == 4:  # ISO-like, year first
        return "YMD"
    if len(first) > 2 or len(second) > 2 or len(third) not in (2, 4):
        return "DMY"  # not a day-month-year date: let the parser judge
    if len(third) == 2:  # "24/12/26" may be 2024-12-26 too
        return None
    day, month = int(first), int(second)
    if day > 12:
        return "DMY"
    if month > 12:
        return "MDY"
    return "DMY" if day == month else None


def _languages(languages: Sequence[str]) -> list[str]:
    """The languages dateparser knows among ``languages`` (or their base language), then English."""
    known: list[str] = []
    for code in (*languages, "en"):
        for candidate in (code, code.split("-")[0]):
            if candidate in _KNOWN_LANGUAGES and candidate not in known:
                known.append(candidate)
                break
    return known


def _parse(text: str, order: str, now: datetime, languages: Sequence[str]) -> Any:
    settings = {
        "STRICT_PARSING": True,
        "REQUIRE_PARTS": ["day", "month", "year"],
        "PARSERS": ["absolute-time"],  # no relative words, timestamps or digit runs
        "DATE_ORDER": order,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.astimezone(UTC).replace(tzinfo=None),  # for determinism only
        "RETURN_TIME_AS_PERIOD": True,  # period "part_of_day" for "evening" without a time
        "USE_GIVEN_LANGUAGE_ORDER": True,
        # RETURN_AS_TIMEZONE_AWARE is left unset: an offset typed in the text ("18:00 UTC") then
        # gives an aware result that is honoured, where False would silently drop it.
    }
    return DateDataParser(languages=_languages(languages), settings=settings).get_date_data(text)


def parse_when(text: str, time_zone: str, now: datetime, languages: Sequence[str]) -> datetime | WhenProblem:
    """The start time typed in ``text``, in UTC; local times are in ``time_zone``.

    In a DST gap or fold, the local time takes the offset before the change (zoneinfo's fold=0).
    Never raises on any text.
    """
    zone = ZoneInfo(time_zone)  # a wrong zone is a configuration error: it raises
    text = " ".join(text.split())
    if not text or len(text) > MAX_LENGTH:
        return WhenProblem("unreadable")
    order = _date_order(text)
    if order is None:
        return WhenProblem("ambiguous")
    try:
        data = _parse(text, order, now, languages)
        parsed = data.date_obj
        if parsed is None or not {"year", "month", "day"} <= set(data.parts):
            return WhenProblem("unreadable")
        if "time" not in data.parts or data.period == "part_of_day":
            return WhenProblem("no_time")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone, fold=0)
        when: datetime = parsed.astimezone(UTC)
    except Exception:  # the parser on odd input, or a date at the edge of datetime's range
        return WhenProblem("unreadable")
    if when <= now:
        return WhenProblem("past")
    return when
