"""The interfaces the core needs from the outside world; storage/ implements them."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from bot.dialogs.state import DialogState
from bot.events import ChatRef
from bot.members import Identity, Member, Role, RoleGrant


class MemberRepository(Protocol):
    def get(self, member_id: int) -> Member | None: ...

    def by_identity(self, platform: str, user_id: str) -> Member | None: ...

    def add(self, member: Member) -> Member:
        """Insert a new member; sets and returns it with ``id`` filled in."""
        ...

    def save(self, member: Member) -> None:
        """Write the member's changed fields back."""
        ...

    def list(self, chapter: str | None = None) -> list[Member]:
        """Every member, or those whose home chapter is ``chapter``; ordered by id."""
        ...

    def count(self) -> int: ...

    def identities(self, member_id: int) -> builtins.list[Identity]: ...

    def add_identity(self, member_id: int, platform: str, user_id: str) -> None:
        """Attach a platform account; raises ``IdentityTaken`` if it belongs to someone else."""
        ...

    def roles(self, member_id: int) -> builtins.list[RoleGrant]: ...

    def grant(self, member_id: int, role: Role, chapter: str | None) -> bool:
        """Give a role; returns False if the member had it already."""
        ...


class DialogRepository(Protocol):
    """The state of the multi-step dialog running in each chat."""

    def get(self, chat: ChatRef) -> DialogState | None: ...

    def put(self, chat: ChatRef, state: DialogState) -> None: ...

    def delete(self, chat: ChatRef) -> None: ...


class LinkCodeRepository(Protocol):
    """One-time codes that join a second platform account to a member."""

    def add(self, code_hash: str, member_id: int, expires_at: datetime) -> None: ...

    def take(self, code_hash: str, now: datetime) -> int | None:
        """Use a code once: returns its member id if it exists, is unused and not expired."""
        ...


class UnitOfWork(Protocol):
    """One transaction: repositories inside, commit or roll back at the end."""

    @property
    def members(self) -> MemberRepository: ...

    @property
    def dialogs(self) -> DialogRepository: ...

    @property
    def link_codes(self) -> LinkCodeRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
Clock = Callable[[], datetime]
JSONDict = dict[str, Any]


class IdentityTaken(Exception):
    """The platform account already belongs to another member."""
