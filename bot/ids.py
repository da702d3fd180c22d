"""Numbers typed or forged by users: ASCII digits only, within a database integer."""

from __future__ import annotations

#: The largest id a 32-bit INTEGER column (PostgreSQL's integer) holds.
MAX_ID = 2**31 - 1


def parse_id(text: str) -> int | None:
    """``"42"`` -> 42; None for anything else: signs, spaces, non-ASCII digits (``"²"``),
    or a number no row can have."""
    text = text.strip()
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def parse_small(text: str) -> int | None:
    """A small non-negative number typed as an answer (a rating, a score)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else None
