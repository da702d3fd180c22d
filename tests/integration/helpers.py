"""Small builders shared by the storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from bot.members import Member

# An aware time outside UTC, to see it come back converted.
RIGA_SUMMER = timezone(timedelta(hours=3))
CONSENT = datetime(2026, 6, 1, 12, 30, 15, 123456, tzinfo=RIGA_SUMMER)
NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def member(**fields: Any) -> Member:
    values: dict[str, Any] = {"display_name": "Anna", "consent_at": CONSENT}
    values.update(fields)
    return Member(**values)
