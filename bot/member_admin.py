"""Operator actions on members: import, export, grant. Used by the CLI and the demo seed."""

from __future__ import annotations

from bot import member_csv
from bot.members import Member, Role
from bot.network import Network
from bot.ports import UnitOfWork


class MemberNotFound(Exception):
    pass


def import_members(uow: UnitOfWork, text: str, network: Network) -> int:
    """Import every row or none: raises CsvProblems (nothing written) on any bad row."""
    rows = member_csv.parse(text, network)
    taken = [
        (row.line, f"identity {i.platform}:{i.user_id} already belongs to a member")
        for row in rows
        for i in row.identities
        if uow.members.by_identity(i.platform, i.user_id) is not None
    ]
    if taken:
        raise member_csv.CsvProblems(taken)
    for row in rows:
        member = uow.members.add(row.member)
        assert member.id is not None
        for identity in row.identities:
            uow.members.add_identity(member.id, identity.platform, identity.user_id)
        for grant in row.roles:
            uow.members.grant(member.id, grant.role, grant.chapter)
    uow.commit()
    return len(rows)


def export_members(uow: UnitOfWork) -> str:
    entries = []
    for member in uow.members.list():
        assert member.id is not None
        entries.append((member, uow.members.identities(member.id), uow.members.roles(member.id)))
    return member_csv.dump(entries)


def find_member(uow: UnitOfWork, query: str) -> Member:
    """A member by id, platform:user_id, or exact display name; exactly one must match."""
    if query.isdigit():
        found = uow.members.get(int(query))
        if found is not None:
            return found
    platform, _, user_id = query.partition(":")
    if user_id:
        found = uow.members.by_identity(platform, user_id)
        if found is not None:
            return found
    matches = [m for m in uow.members.list() if m.display_name.casefold() == query.casefold()]
    if len(matches) != 1:
        reason = "no member" if not matches else f"{len(matches)} members"
        raise MemberNotFound(f"{reason} matching {query!r}; use the id or platform:user_id")
    return matches[0]


def grant(uow: UnitOfWork, role: Role, query: str, chapter: str | None, network: Network) -> tuple[Member, bool]:
    if role is Role.ADMIN and chapter is not None:
        raise MemberNotFound("admin is a network-wide role; for one chapter grant coordinator")
    if chapter is not None and network.chapter(chapter) is None:
        raise MemberNotFound(f"no chapter {chapter!r}; chapters: {', '.join(c.code for c in network.chapters)}")
    member = find_member(uow, query)
    assert member.id is not None
    added = uow.members.grant(member.id, role, chapter)
    uow.commit()
    return member, added
