"""Who is being served, for the log lines written meanwhile (standard library only).

The core binds the member id while it handles an event; the logging set-up (adapters/logs.py)
copies it onto every record. A ContextVar follows the work: ``asyncio.to_thread`` copies the
context into the worker thread, and each thread or task sees only its own value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_member_id: ContextVar[int | None] = ContextVar("twinbot_member_id", default=None)


def member_id() -> int | None:
    """The member being served here, or None (nobody, or not a member yet)."""
    return _member_id.get()


@contextmanager
def serving(member: int | None = None) -> Iterator[None]:
    """Bind ``member`` (None: nobody yet) until the block ends; the value from before comes back
    afterwards, even if ``bind`` changed it inside the block."""
    token = _member_id.set(member)
    try:
        yield
    finally:
        _member_id.reset(token)


def bind(member: int | None) -> None:
    """Set the member being served for the rest of the enclosing ``serving`` block (e.g. once the
    core has looked the sender up)."""
    _member_id.set(member)
