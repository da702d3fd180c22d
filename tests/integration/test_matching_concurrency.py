"""Two coordinators confirm their previews at the same moment, both counting on the same
mentor's one free place: confirmations take turns, so the mentor gets one mentee, not two."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from adapters.bootstrap import bootstrap
from adapters.console.session import ConsoleSession
from bot.member_admin import import_members
from config import load_settings
from tests.conftest import Clock

MEMBERS = (
    "display_name,home_chapter,languages,consent_at,identities,roles,mentor,mentee\n"
    "Claire,lyon,fr;en,2026-01-01T00:00:00+00:00,console:claire,coordinator@lyon,no,no\n"
    "Jonas,frankfurt,de;en,2026-01-01T00:00:00+00:00,console:jonas,coordinator@frankfurt,no,no\n"
    "Lea,lyon,en,2026-01-01T00:00:00+00:00,console:lea,,no,yes\n"
    "Kai,frankfurt,en,2026-01-01T00:00:00+00:00,console:kai,,no,yes\n"
    "Yui,yokohama,en,2026-01-01T00:00:00+00:00,console:yui,,yes,no\n"
)


def test_concurrent_confirmations_never_overfill_a_mentor(empty_db_url: str, clock: Clock) -> None:
    app = bootstrap(load_settings(database_url=empty_db_url), clock=clock)
    try:
        with app.uow_factory() as uow:
            import_members(uow, MEMBERS, app.network)
        chat = ConsoleSession(app.core)
        for coordinator in ("claire", "jonas"):
            assert "Proposed pairs (1):" in "\n".join(
                getattr(r, "text", "") for r in chat.push(coordinator, "/match preview")
            )
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda who: chat.push(who, "/match confirm"), ["claire", "jonas"]))
        texts = ["\n".join(getattr(r, "text", "") for r in replies) for replies in answers]
        assert sum("1 mentorships created" in t for t in texts) == 1, texts
        assert sum("1 pairs were left out" in t for t in texts) == 1, texts
        with app.uow_factory() as uow:
            assert len(uow.mentoring.active()) == 1
    finally:
        app.close()
