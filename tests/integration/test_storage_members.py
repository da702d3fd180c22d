"""Members, identities and roles through the unit of work."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, StatementError

from bot.members import Identity, Member, Role, RoleGrant
from bot.ports import IdentityTaken
from storage.models import IdentityRow, MemberRow
from storage.repositories import SqlMemberRepository

from .conftest import UowFactory
from .helpers import CONSENT, member


def _add(uow_factory: UowFactory, *members: Member) -> list[int]:
    ids = []
    with uow_factory() as uow:
        for m in members:
            uow.members.add(m)
            assert m.id is not None
            ids.append(m.id)
        uow.commit()
    return ids


def test_member_round_trip(uow_factory: UowFactory) -> None:
    anna = member(
        home_chapter="riga",
        languages=["lv", "en"],
        interests=["music", "cycling"],
        time_zone="Europe/Riga",
        bio="Hello",
        is_mentor=True,
        preferred_language="lv",
        detected_language="en",
    )
    with uow_factory() as uow:
        added = uow.members.add(anna)
        uow.commit()
    assert added is anna and isinstance(anna.id, int)

    with uow_factory() as uow:
        got = uow.members.get(anna.id)
        row = uow.session.get(MemberRow, anna.id)
        assert row is not None
        stamps = (row.created_at, row.updated_at)

    assert got == anna
    assert got is not None and got.consent_at.tzinfo is UTC
    assert got.consent_at == CONSENT and got.consent_at.hour == 9  # 12:30 at +03:00
    assert got.consent_at.microsecond == 123456
    assert all(stamp.tzinfo is UTC for stamp in stamps)


def test_defaults_round_trip(uow_factory: UowFactory) -> None:
    (member_id,) = _add(uow_factory, member())
    with uow_factory() as uow:
        assert uow.members.get(member_id) == member(id=member_id)


def test_save_writes_changes_including_lists_changed_in_place(uow_factory: UowFactory) -> None:
    (member_id,) = _add(uow_factory, member(languages=["lv"]))
    with uow_factory() as uow:
        anna = uow.members.get(member_id)
        assert anna is not None
        anna.languages.append("de")
        anna.interests.append("chess")
        anna.display_name = "Anna B."
        anna.home_chapter = "dresden"
        anna.is_mentee = True
        uow.members.save(anna)
        uow.commit()
    with uow_factory() as uow:
        got = uow.members.get(member_id)
    assert got is not None
    assert (got.languages, got.interests, got.display_name) == (["lv", "de"], ["chess"], "Anna B.")
    assert (got.home_chapter, got.is_mentee) == ("dresden", True)


def test_add_and_save_refuse_the_wrong_member(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        with pytest.raises(ValueError):
            uow.members.add(member(id=5))
        with pytest.raises(ValueError):
            uow.members.save(member())
        with pytest.raises(LookupError):
            uow.members.save(member(id=12345))
        assert uow.members.get(12345) is None


def test_naive_datetimes_are_refused(uow_factory: UowFactory) -> None:
    with uow_factory() as uow, pytest.raises(StatementError, match="naive datetime"):
        uow.members.add(member(consent_at=CONSENT.replace(tzinfo=None)))


def test_list_and_count(uow_factory: UowFactory) -> None:
    ids = _add(
        uow_factory,
        member(display_name="A", home_chapter="riga"),
        member(display_name="B", home_chapter="dresden"),
        member(display_name="C", home_chapter="riga"),
        member(display_name="D"),
    )
    with uow_factory() as uow:
        assert uow.members.count() == 4
        assert [m.id for m in uow.members.list()] == ids
        assert [m.display_name for m in uow.members.list("riga")] == ["A", "C"]
        assert uow.members.list("nowhere") == []


def test_identities_and_by_identity(uow_factory: UowFactory) -> None:
    anna_id, ben_id = _add(uow_factory, member(), member(display_name="Ben"))
    with uow_factory() as uow:
        uow.members.add_identity(anna_id, "telegram", "111")
        uow.members.add_identity(anna_id, "discord", "222")
        uow.members.add_identity(anna_id, "telegram", "111")  # hers already: nothing happens
        uow.commit()
    with uow_factory() as uow:
        assert uow.members.identities(anna_id) == [
            Identity("telegram", "111"),
            Identity("discord", "222"),
        ]
        assert uow.members.identities(ben_id) == []
        found = uow.members.by_identity("discord", "222")
        assert found is not None and found.id == anna_id
        assert uow.members.by_identity("discord", "111") is None


def test_an_identity_belongs_to_one_member(uow_factory: UowFactory) -> None:
    anna_id, ben_id = _add(uow_factory, member(), member(display_name="Ben"))
    with uow_factory() as uow:
        uow.members.add_identity(anna_id, "telegram", "111")
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(IdentityTaken):
            uow.members.add_identity(ben_id, "telegram", "111")
        # The transaction is still usable afterwards.
        uow.members.add_identity(ben_id, "telegram", "333")
        uow.commit()
    with uow_factory() as uow:
        assert [i.user_id for i in uow.members.identities(ben_id)] == ["333"]


def test_identity_taken_in_a_race(uow_factory: UowFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check before the insert saw nothing, yet the insert collides: still IdentityTaken,
    and only the failed insert is undone, not the rest of the transaction."""
    anna_id, ben_id = _add(uow_factory, member(), member(display_name="Ben"))
    with uow_factory() as uow:
        uow.members.add_identity(anna_id, "telegram", "111")
        uow.commit()
    with uow_factory() as uow:
        uow.members.add(member(display_name="Cleo"))
        repo = uow.members
        assert isinstance(repo, SqlMemberRepository)
        real_owner = repo._identity_owner
        calls: list[str] = []

        def owner_seen_late(platform: str, user_id: str) -> int | None:
            calls.append(user_id)
            return None if len(calls) == 1 else real_owner(platform, user_id)

        monkeypatch.setattr(repo, "_identity_owner", owner_seen_late)
        with pytest.raises(IdentityTaken):
            repo.add_identity(ben_id, "telegram", "111")
        assert len(calls) == 2
        uow.commit()
    with uow_factory() as uow:
        assert [m.display_name for m in uow.members.list()] == ["Anna", "Ben", "Cleo"]


def test_identity_for_a_missing_member_fails(uow_factory: UowFactory) -> None:
    with uow_factory() as uow, pytest.raises(IntegrityError):
        uow.members.add_identity(9999, "telegram", "1")


def test_deleting_a_member_deletes_their_identities(uow_factory: UowFactory) -> None:
    (anna_id,) = _add(uow_factory, member())
    with uow_factory() as uow:
        uow.members.add_identity(anna_id, "telegram", "111")
        uow.members.grant(anna_id, Role.COORDINATOR, "riga")
        uow.commit()
    with uow_factory() as uow:
        uow.session.execute(delete(MemberRow).where(MemberRow.id == anna_id))
        uow.commit()
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(IdentityRow)) == 0
        assert uow.members.roles(anna_id) == []


def test_roles_network_wide_and_per_chapter(uow_factory: UowFactory) -> None:
    anna_id, ben_id = _add(uow_factory, member(), member(display_name="Ben"))
    with uow_factory() as uow:
        assert uow.members.grant(anna_id, Role.ADMIN, None) is True
        assert uow.members.grant(anna_id, Role.ADMIN, None) is False
        assert uow.members.grant(anna_id, Role.COORDINATOR, "riga") is True
        assert uow.members.grant(anna_id, Role.COORDINATOR, "riga") is False
        assert uow.members.grant(anna_id, Role.COORDINATOR, "dresden") is True
        assert uow.members.grant(ben_id, Role.ADMIN, None) is True
        uow.commit()
    with uow_factory() as uow:
        assert uow.members.grant(anna_id, Role.ADMIN, None) is False
        assert uow.members.grant(anna_id, Role.ADMIN, "") is False  # '' is network-wide too
        grants = uow.members.roles(anna_id)
        assert uow.members.roles(12345) == []
    assert grants == [
        RoleGrant(Role.ADMIN, None),
        RoleGrant(Role.COORDINATOR, "riga"),
        RoleGrant(Role.COORDINATOR, "dresden"),
    ]
    assert all(type(grant.role) is Role for grant in grants)


def test_duplicate_grant_in_a_race(uow_factory: UowFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    (anna_id,) = _add(uow_factory, member())
    with uow_factory() as uow:
        uow.members.grant(anna_id, Role.COORDINATOR, None)
        uow.commit()
    with uow_factory() as uow:
        repo = uow.members
        assert isinstance(repo, SqlMemberRepository)
        real_has_grant = repo._has_grant
        calls: list[str] = []

        def seen_late(member_id: int, role: Role, chapter: str) -> bool:
            calls.append(chapter)
            return False if len(calls) == 1 else real_has_grant(member_id, role, chapter)

        monkeypatch.setattr(repo, "_has_grant", seen_late)
        assert repo.grant(anna_id, Role.COORDINATOR, None) is False
        assert repo.grant(anna_id, Role.MEMBER, None) is True
        uow.commit()
    with uow_factory() as uow:
        assert uow.members.roles(anna_id) == [
            RoleGrant(Role.COORDINATOR),
            RoleGrant(Role.MEMBER),
        ]


def test_find_for_the_operator(uow_factory: UowFactory) -> None:
    anna_id, zoe_id = _add(uow_factory, member(), member(display_name="Zoë Ōta"))
    (named_like_anna_id,) = _add(uow_factory, member(display_name=str(anna_id)))
    with uow_factory() as uow:
        uow.members.add_identity(zoe_id, "telegram", "777")
        uow.commit()
    with uow_factory() as uow:
        members = uow.members
        assert isinstance(members, SqlMemberRepository)

        def ids(query: str) -> list[int | None]:
            return [m.id for m in members.find(query)]

        assert ids(str(zoe_id)) == [zoe_id]
        assert ids("  anna ") == [anna_id]
        assert ids("ANNA") == [anna_id]
        assert ids("zoë ōta") == [zoe_id]
        assert ids("ZOË ŌTA") == [zoe_id]
        assert ids("telegram:777") == [zoe_id]
        assert ids("Telegram: 777") == [zoe_id]
        assert ids("telegram:778") == []
        assert ids("Ann") == []
        assert ids("") == []
        assert ids("424242") == []
        # An id and a name can both match.
        assert ids(str(anna_id)) == [anna_id, named_like_anna_id]
