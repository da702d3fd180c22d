"""Members to and from CSV, for operators: all-or-nothing import, full export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.members import Identity, Member, Role, RoleGrant
from bot.network import Network
from bot.profile_fields import MAX_BIO, MAX_NAME, parse_interests

COLUMNS = (
    "id",
    "display_name",
    "home_chapter",
    "languages",
    "interests",
    "time_zone",
    "bio",
    "mentor",
    "mentee",
    "preferred_language",
    "consent_at",
    "identities",
    "roles",
)
REQUIRED = ("display_name", "home_chapter", "consent_at")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"", "0", "false", "no", "n"}


@dataclass(frozen=True)
class ImportRow:
    line: int
    member: Member
    identities: tuple[Identity, ...]
    roles: tuple[RoleGrant, ...]


class CsvProblems(Exception):
    """Every problem found in a file, each as (line, reason); nothing was imported."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(f"line {line}: {reason}" for line, reason in problems))
        self.problems = problems


def parse(text: str, network: Network) -> list[ImportRow]:
    """Read and check every row; raise CsvProblems listing all that is wrong."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        reasons = [f"missing column {c!r}" for c in missing] + [f"unknown column {c!r}" for c in unknown]
        raise CsvProblems([(1, "; ".join(reasons))])
    rows: list[ImportRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for record in reader:
        line = reader.line_num
        try:
            row = _row(line, record, network)
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        for identity in row.identities:
            key = (identity.platform, identity.user_id)
            if key in seen:
                problems.append((line, f"identity {key[0]}:{key[1]} also on line {seen[key]}"))
            seen[key] = line
        rows.append(row)
    if problems:
        raise CsvProblems(problems)
    return rows


def _row(line: int, record: dict[str, str | None], network: Network) -> ImportRow:
    if None in record:
        raise ValueError("more fields than columns")
    get = {k: (v or "").strip() for k, v in record.items() if k is not None}
    reasons: list[str] = []
    name = " ".join(get.get("display_name", "").split())
    if not name or len(name) > MAX_NAME:
        reasons.append(f"display_name must have 1 to {MAX_NAME} characters")
    chapter = get.get("home_chapter", "")
    if network.chapter(chapter) is None:
        reasons.append(f"home_chapter {chapter!r} is not one of {', '.join(c.code for c in network.chapters)}")
    languages = _split(get.get("languages", ""))
    bad = [code for code in languages if code not in network.languages]
    if bad:
        reasons.append(f"languages {bad} not supported by the network")
    interests = parse_interests(get.get("interests", "").replace(";", ","))
    if interests is None:
        reasons.append("too many or too long interests")
    zone = get.get("time_zone", "")
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            reasons.append(f"unknown time_zone {zone!r}")
    bio = get.get("bio", "")
    if len(bio) > MAX_BIO:
        reasons.append(f"bio longer than {MAX_BIO} characters")
    mentor, mentee = _flag(get.get("mentor", ""), "mentor", reasons), _flag(get.get("mentee", ""), "mentee", reasons)
    preferred = get.get("preferred_language", "") or None
    if preferred and preferred not in network.languages:
        reasons.append(f"preferred_language {preferred!r} not supported by the network")
    consent = _time(get.get("consent_at", ""), reasons)
    identities = _identities(get.get("identities", ""), reasons)
    roles = _roles(get.get("roles", ""), network, reasons)
    if reasons or consent is None:
        raise ValueError("; ".join(reasons))
    member = Member(
        display_name=name,
        consent_at=consent,
        home_chapter=chapter,
        languages=languages,
        interests=interests or [],
        time_zone=zone or None,
        bio=bio,
        is_mentor=mentor,
        is_mentee=mentee,
        preferred_language=preferred,
    )
    return ImportRow(line=line, member=member, identities=identities, roles=roles)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _flag(value: str, column: str, reasons: list[str]) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered not in _FALSE:
        reasons.append(f"{column} must be yes or no, not {value!r}")
    return False


def _time(value: str, reasons: list[str]) -> datetime | None:
    if not value:
        reasons.append("consent_at is required: twinbot keeps no member without consent")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        reasons.append(f"consent_at {value!r} is not an ISO date such as 2026-05-01T10:00:00+00:00")
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _identities(value: str, reasons: list[str]) -> tuple[Identity, ...]:
    found = []
    for part in _split(value):
        platform, _, user_id = part.partition(":")
        if not platform or not user_id:
            reasons.append(f"identity {part!r} is not platform:user_id")
            continue
        found.append(Identity(platform=platform, user_id=user_id))
    return tuple(found)


def _roles(value: str, network: Network, reasons: list[str]) -> tuple[RoleGrant, ...]:
    found = []
    for part in _split(value):
        name, _, chapter = part.partition("@")
        try:
            role = Role(name)
        except ValueError:
            reasons.append(f"role {name!r} is not one of {', '.join(r.value for r in Role)}")
            continue
        if chapter and network.chapter(chapter) is None:
            reasons.append(f"role chapter {chapter!r} does not exist")
            continue
        if role is Role.ADMIN and chapter:
            reasons.append("admin is network-wide: write 'admin', or 'coordinator@chapter' for one chapter")
            continue
        found.append(RoleGrant(role=role, chapter=chapter or None))
    return tuple(found)


def dump(entries: list[tuple[Member, list[Identity], list[RoleGrant]]]) -> str:
    """Members with their identities and roles as CSV text that ``parse`` reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for member, identities, roles in entries:
        writer.writerow(
            [
                member.id,
                member.display_name,
                member.home_chapter or "",
                ";".join(member.languages),
                ";".join(member.interests),
                member.time_zone or "",
                member.bio,
                "yes" if member.is_mentor else "no",
                "yes" if member.is_mentee else "no",
                member.preferred_language or "",
                member.consent_at.isoformat(),
                ";".join(f"{i.platform}:{i.user_id}" for i in identities),
                ";".join(r.role.value + (f"@{r.chapter}" if r.chapter else "") for r in roles),
            ]
        )
    return out.getvalue()
