"""`twinbot db upgrade` started by several processes at once: they take turns (an advisory
lock on PostgreSQL), one migrates, the others find nothing to do."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from storage import migrate


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_concurrent_upgrades_take_turns(empty_db_url: str) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: migrate.upgrade(empty_db_url), range(4)))
    assert results == [None] * 4  # none failed
    assert migrate.current(empty_db_url) == migrate.head()
    migrate.check(empty_db_url)  # and the schema is whole


def test_workers_refuse_a_schema_that_is_not_the_latest(empty_db_url: str) -> None:
    with pytest.raises(migrate.SchemaOutOfDate, match="twinbot db upgrade"):
        migrate.require_head(empty_db_url)
    migrate.upgrade(empty_db_url, "0006")
    with pytest.raises(migrate.SchemaOutOfDate, match="is at 0006"):
        migrate.require_head(empty_db_url)
    migrate.upgrade(empty_db_url)
    migrate.require_head(empty_db_url)
