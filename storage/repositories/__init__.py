"""The repositories behind ``bot.ports``: ORM rows in, domain dataclasses out."""

from storage.repositories.dialogs import SqlDialogRepository
from storage.repositories.link_codes import SqlLinkCodeRepository
from storage.repositories.members import SqlMemberRepository

__all__ = ["SqlDialogRepository", "SqlLinkCodeRepository", "SqlMemberRepository"]
