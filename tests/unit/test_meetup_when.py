"""Strict reading of a meetup's date and time as typed in chat, in a chapter's time zone."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bot.meetups.when import EXAMPLE, WhenProblem, parse_when

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
PARIS = "Europe/Paris"
TOKYO = "Asia/Tokyo"


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "languages", "expected"),
    [
        ("2026-12-24 18:00", ["fr"], _utc(2026, 12, 24, 17, 0)),  # CET is UTC+1
        ("2026-12-24T18:00", ["fr"], _utc(2026, 12, 24, 17, 0)),
        ("24 December 2026 18:00", ["fr"], _utc(2026, 12, 24, 17, 0)),  # English is always understood
        ("24 décembre 2026 18h30", ["fr"], _utc(2026, 12, 24, 17, 30)),
        ("24. Dezember 2026 18:00", ["de"], _utc(2026, 12, 24, 17, 0)),
        ("2026年12月24日 18:00", ["ja"], _utc(2026, 12, 24, 17, 0)),
        ("Dec 24 2026 6pm", ["fr"], _utc(2026, 12, 24, 17, 0)),
        ("  2026-12-24   18:00 ", ["fr"], _utc(2026, 12, 24, 17, 0)),
        ("13/04/2027 18:00", ["fr"], _utc(2027, 4, 13, 16, 0)),  # CEST is UTC+2
        ("04/13/2027 18:00", ["en"], _utc(2027, 4, 13, 16, 0)),  # only one reading
        ("05/05/2027 18:00", ["fr"], _utc(2027, 5, 5, 16, 0)),  # both readings agree
        ("2027-03-04 18:00", ["fr"], _utc(2027, 3, 4, 17, 0)),  # ISO: never ambiguous
        ("2027/03/04 18:00", ["fr"], _utc(2027, 3, 4, 17, 0)),
        ("24 December 2026 18:00", ["pt-BR", "xx"], _utc(2026, 12, 24, 17, 0)),  # unknown languages skipped
    ],
)
def test_accepted_in_paris(text: str, languages: list[str], expected: datetime) -> None:
    result = parse_when(text, PARIS, NOW, languages)
    assert result == expected
    assert isinstance(result, datetime) and result.tzinfo is UTC


def test_tokyo_converts_to_utc() -> None:
    assert parse_when("2026-12-24 18:00", TOKYO, NOW, ["ja"]) == _utc(2026, 12, 24, 9, 0)
    assert parse_when("2026年12月24日 18時30分", TOKYO, NOW, ["ja"]) == _utc(2026, 12, 24, 9, 30)
    assert parse_when("2026-11-29 18:30", TOKYO, NOW, ["ja"]) == _utc(2026, 11, 29, 9, 30)


def test_example_is_accepted() -> None:
    assert isinstance(parse_when(EXAMPLE, PARIS, NOW, ["en"]), datetime)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("24 December 2026", "no_time"),
        ("24 décembre 2026", "no_time"),
        ("2026-12-24", "no_time"),
        ("24 December 2026 evening", "no_time"),  # a part of the day is not a time
        ("03/04/2027 18:00", "ambiguous"),
        ("3.4.2027 18:00", "ambiguous"),
        ("3-4-2027 18:00", "ambiguous"),
        ("24/12/26 18:00", "ambiguous"),  # a two-digit year could come first
        ("tomorrow 18:00", "unreadable"),
        ("next friday 18:00", "unreadable"),
        ("demain 18h", "unreadable"),
        ("in 3 days", "unreadable"),
        ("24 December 18:00", "unreadable"),  # no year
        ("18:00", "unreadable"),
        ("2026-12-24 25:00", "unreadable"),
        ("31/02/2027 18:00", "unreadable"),
        ("1766599200", "unreadable"),  # a timestamp
        ("", "unreadable"),
        ("   ", "unreadable"),
        ("2026-12-24 18:00" + " " * 90 + "x", "unreadable"),  # too long before parsing
        ("2026-11-28 18:00", "past"),
        ("2026-11-29 10:00", "past"),  # exactly now (10:00 in Paris is 09:00 UTC)
        ("2025-12-24 18:00", "past"),
    ],
)
def test_refused(text: str, kind: str) -> None:
    assert parse_when(text, PARIS, NOW, ["fr", "en"]) == WhenProblem(kind)


def test_just_after_now_is_accepted() -> None:
    assert parse_when("2026-11-29 10:01", PARIS, NOW, ["fr"]) == _utc(2026, 11, 29, 9, 1)


def test_dst_gap_and_fold_do_not_raise() -> None:
    gap = parse_when("2027-03-28 02:30", PARIS, NOW, ["fr"])  # clocks jump 02:00 -> 03:00
    assert gap == _utc(2027, 3, 28, 1, 30)  # fold=0: the offset before the change (CET)
    fold = parse_when("2027-10-31 02:30", PARIS, NOW, ["fr"])  # 02:00-03:00 happens twice
    assert fold == _utc(2027, 10, 31, 0, 30)  # fold=0: the first one (CEST)


def test_deterministic() -> None:
    results = {parse_when("24 décembre 2026 18h30", PARIS, NOW, ["fr"]) for _ in range(5)}
    assert results == {_utc(2026, 12, 24, 17, 30)}


def _odd_strings() -> list[str]:
    rng = random.Random(20261129)
    alphabet = "0123456789/.-: ²³¹½年月日時分午後hH\x00\x07\x1b\u200b\u202e\ufeff😀🎉𝟚٣\n\t" + "décembreDezemberpm"
    fixed = [
        "😀" * 10,
        "x" * 10_000,
        "2026-12-24 18:00" * 1000,
        "\x00\x01\x02",
        "²",
        "2026-12-24 18:00²",
        "٢٠٢٦-١٢-٢٤ ١٨:٠٠",  # Arabic-Indic digits
        "𝟚𝟘𝟚𝟞-𝟙𝟚-𝟚𝟜 𝟙𝟠:𝟘𝟘",
        "9" * 99,
        "9999-12-31 23:59",
        "0001-01-01 00:00",
        "31 December 9999 23:59",
        "%s %d {} \\",
        "\u202e2026-12-24 18:00",
    ]
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(200 - len(fixed))]
    return fixed + randoms


def test_odd_strings_never_raise() -> None:
    strings = _odd_strings()
    assert len(strings) == 200
    for text in strings:
        for zone in (PARIS, TOKYO, "America/New_York"):
            result = parse_when(text, zone, NOW, ["fr", "ja", "de"])
            assert isinstance(result, WhenProblem | datetime)
            if isinstance(result, datetime):
                assert result.tzinfo is UTC and result > NOW
