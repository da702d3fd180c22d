"""The demo network's members, seeded into an empty database for `make run`."""

from __future__ import annotations

from pathlib import Path

from bot.member_admin import import_members
from bot.network import Network
from bot.ports import UnitOfWork


def seed_demo(uow: UnitOfWork, network: Network, csv_path: Path) -> int:
    """Import the demo members if there are no members yet; returns how many were added."""
    if uow.members.count() > 0:
        return 0
    return import_members(uow, csv_path.read_text(encoding="utf-8"), network)
