"""Link codes work once, before they expire, even when several processes try at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta, timezone

from .conftest import UowFactory
from .helpers import NOW, member

HASH = "ab" * 32


def _member_with_code(uow_factory: UowFactory, expires_in: timedelta = timedelta(minutes=10)) -> int:
    with uow_factory() as uow:
        anna = uow.members.add(member())
        assert anna.id is not None
        uow.link_codes.add(HASH, anna.id, NOW + expires_in)
        uow.commit()
        return anna.id


def test_a_code_works_once(uow_factory: UowFactory) -> None:
    anna_id = _member_with_code(uow_factory)
    with uow_factory() as uow:
        assert uow.link_codes.take(HASH, NOW) == anna_id
        assert uow.link_codes.take(HASH, NOW) is None
        uow.commit()
    with uow_factory() as uow:
        assert uow.link_codes.take(HASH, NOW) is None


def test_a_code_taken_but_not_committed_stays_usable(uow_factory: UowFactory) -> None:
    anna_id = _member_with_code(uow_factory)
    with uow_factory() as uow:
        assert uow.link_codes.take(HASH, NOW) == anna_id
    with uow_factory() as uow:
        assert uow.link_codes.take(HASH, NOW) == anna_id


def test_expired_and_unknown_codes_do_not_work(uow_factory: UowFactory) -> None:
    _member_with_code(uow_factory, expires_in=timedelta(minutes=10))
    with uow_factory() as uow:
        assert uow.link_codes.take("cd" * 32, NOW) is None
        assert uow.link_codes.take(HASH, NOW + timedelta(minutes=10)) is None
        assert uow.link_codes.take(HASH, NOW + timedelta(hours=1)) is None


def test_expiry_compares_instants_not_wall_clocks(uow_factory: UowFactory) -> None:
    anna_id = _member_with_code(uow_factory, expires_in=timedelta(minutes=10))
    # 12:05 at +03:00 is 09:05 UTC: an hour before NOW, so well before expiry...
    early = (NOW - timedelta(minutes=55)).astimezone(timezone(timedelta(hours=3)))
    # ...while 10:15 at -01:00 is 11:15 UTC: past it.
    late = (NOW + timedelta(minutes=75)).astimezone(timezone(timedelta(hours=-1)))
    with uow_factory() as uow:
        assert uow.link_codes.take(HASH, late) is None
        assert uow.link_codes.take(HASH, early) == anna_id


def test_only_one_of_many_concurrent_takers_wins(uow_factory: UowFactory) -> None:
    anna_id = _member_with_code(uow_factory)
    takers = 8
    barrier = threading.Barrier(takers)

    def take() -> int | None:
        barrier.wait(timeout=10)
        with uow_factory() as uow:
            uow.members.count()  # read first, as a real handler would
            member_id = uow.link_codes.take(HASH, NOW)
            uow.commit()
            return member_id

    with ThreadPoolExecutor(max_workers=takers) as pool:
        results = list(pool.map(lambda _: take(), range(takers)))

    assert sorted(results, key=str) == [anna_id] + [None] * (takers - 1)
