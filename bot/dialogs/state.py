"""The stored state of one chat's running dialog."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DialogState:
    """Which dialog runs in a chat, at which step, and what it collected so far.

    ``seq`` grows with every prompt; buttons carry it, so a button from an older prompt is
    recognised as stale and a repeated press changes nothing.
    """

    dialog: str
    step: str
    seq: int = 0
    data: dict[str, Any] = field(default_factory=dict)
