"""Two presses of one button handled at the same time (a double click on Discord, two
workers): the second is stale, on SQLite and on PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from adapters.bootstrap import bootstrap
from adapters.console.session import ConsoleSession
from bot.events import ButtonPressed, ChatRef
from bot.member_admin import import_members
from config import load_settings
from tests.conftest import Clock

MEMBERS = (
    "display_name,home_chapter,languages,consent_at,identities,roles,preferred_language\n"
    "Claire,lyon,fr;en,2026-01-01T00:00:00+00:00,console:claire,coordinator@lyon,en\n"
    "Marie,lyon,fr,2026-01-01T00:00:00+00:00,console:marie,,fr\n"
)


def test_a_double_click_on_send_publishes_once(empty_db_url: str, clock: Clock) -> None:
    app = bootstrap(load_settings(database_url=empty_db_url), clock=clock)
    try:
        with app.uow_factory() as uow:
            import_members(uow, MEMBERS, app.network)
        chat = ConsoleSession(app.core)
        for line in ["/announce", "[English]", "Picnic!", "[Continue]", "[Lyon]", "[all members]", "[Now]"]:
            chat.push("claire", line)
        send = next(b for b in chat.user("claire").menus[-1].all_buttons if b.label == "Send")
        press = ButtonPressed(chat=ChatRef("console", "claire"), user_id="claire", display_name="C", action=send.action)
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(app.core.handle, [press, press]))
        texts = sorted(r.text for replies in answers for r in replies if hasattr(r, "text"))
        assert sum("on its way" in t for t in texts) == 1, texts
        assert sum("no longer current" in t for t in texts) == 1, texts
        with app.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM announcements").scalar() == 1
            assert connection.exec_driver_sql("SELECT count(*) FROM outbox").scalar() == 2
    finally:
        app.close()
