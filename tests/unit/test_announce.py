"""/announce through the core with fakes: permissions, audience, languages, scheduling."""

from __future__ import annotations

from adapters.console.session import ConsoleSession
from bot.announcements import AnnouncementStatus
from bot.context import Services
from bot.due import run_due
from bot.members import Role
from bot.replies import Text
from tests.conftest import Clock
from tests.unit.fakes import FakeDatabase
from tests.unit.helpers import onboard_english, texts


def _setup(chat: ConsoleSession, db: FakeDatabase) -> None:
    """claire coordinates Lyon; alice (Lyon, English), bob (Lyon, French), carl (Frankfurt)."""
    onboard_english(chat, "claire")
    onboard_english(chat, "alice")
    onboard_english(chat, "bob")
    onboard_english(chat, "carl", chapter="Frankfurt am Main")
    chat.push("bob", "/language")
    chat.push("bob", "[Français]")
    claire = db.identities[("console", "claire")]
    db.roles.add((claire, Role.COORDINATOR, "lyon"))


def _write(chat: ConsoleSession, *, scope: str = "Lyon", who: str = "[all members]", when: str = "[Now]") -> str:
    for line in ["/announce", "[English]", "Picnic on Sunday at the Parc de la Tête d'Or!",
                 "[Add a translation]", "[Français]", "Pique-nique dimanche au parc de la Tête d'Or !",
                 "[Continue]", f"[{scope}]", who, when]:
        replies = chat.push("claire", line)
    return texts(replies)


def test_members_cannot_announce(chat: ConsoleSession, db: FakeDatabase) -> None:
    _setup(chat, db)
    assert "for coordinators" in texts(chat.push("alice", "/announce"))
    assert db.outbox == {}


def test_announcement_reaches_the_chapter_in_each_language(chat: ConsoleSession, db: FakeDatabase) -> None:
    _setup(chat, db)
    preview = _write(chat)
    assert "Picnic on Sunday" in preview
    assert "Lyon · all members — 3 members (0 muted)" in preview
    assert "When: now" in preview
    done = texts(chat.push("claire", "[Send]"))
    assert "on its way to 3 members" in done
    by_target = {item.target.target_id: item for item in db.outbox.values()}
    assert set(by_target) == {"claire", "alice", "bob"}  # not carl, in Frankfurt
    alice_text = by_target["alice"].reply
    bob_text = by_target["bob"].reply
    assert isinstance(alice_text, Text) and isinstance(bob_text, Text)
    assert "Picnic on Sunday" in alice_text.text and "Claire Example" in alice_text.text
    assert "Pique-nique dimanche" in bob_text.text
    [(_actor, action, details, size, _)] = db.audit
    assert action == "announce.send" and size == 3 and details["languages"] == ["en", "fr"]


def test_coordinator_cannot_pick_another_chapter(chat: ConsoleSession, db: FakeDatabase) -> None:
    _setup(chat, db)
    for line in ["/announce", "[English]", "Hello", "[Continue]"]:
        chat.push("claire", line)
    labels = [b.label for b in chat.user("claire").menus[-1].all_buttons]
    assert labels == ["Lyon"]  # no "Every chapter", no Frankfurt
    # a forged button for every chapter is refused in the core
    from bot.events import ButtonPressed, ChatRef

    state = db.dialogs[("console", "claire")]
    forged = ButtonPressed(
        chat=ChatRef("console", "claire"), user_id="claire", display_name="C", action=f"d:{state.seq}:*"
    )
    assert "cannot announce to that audience" in texts(chat.send("claire", forged))


def test_revoked_role_is_checked_again_at_send(chat: ConsoleSession, db: FakeDatabase) -> None:
    _setup(chat, db)
    _write(chat)
    db.roles.clear()
    assert "cannot announce" in texts(chat.push("claire", "[Send]"))
    assert db.outbox == {}


def test_muted_members_and_filters(chat: ConsoleSession, db: FakeDatabase) -> None:
    _setup(chat, db)
    chat.push("alice", "/profile")
    chat.push("alice", "[🔕 Mute announcements]")
    preview = _write(chat, who="[mentors]")
    # everyone onboarded as a mentor; alice muted
    assert "2 members (1 muted)" in preview
    chat.push("claire", "[Send]")
    assert {i.target.target_id for i in db.outbox.values()} == {"claire", "bob"}


def test_schedule_then_due_scan_publishes_once(
    chat: ConsoleSession, db: FakeDatabase, clock: Clock, core_services: Services
) -> None:
    _setup(chat, db)
    _write(chat, when="[Later]")
    assert "time has passed" in texts(chat.push("claire", "2020-01-01 10:00"))
    assert "like 2026-12-24 18:00" in texts(chat.push("claire", "next tuesday"))
    preview = texts(chat.push("claire", "2026-11-30 18:00"))
    assert "When: Nov 30, 2026, 6:00:00\u202fPM (Europe/Paris)" in preview
    assert "scheduled" in texts(chat.push("claire", "[Send]"))
    assert db.outbox == {}
    clock.advance(hours=12)
    assert run_due(core_services, clock()).announcements == 0
    clock.advance(days=1)
    assert run_due(core_services, clock()).announcements == 1
    assert len(db.outbox) == 3
    assert run_due(core_services, clock()).announcements == 0
    assert len(db.outbox) == 3
    [announcement] = db.announcements.values()
    assert announcement.status is AnnouncementStatus.SENT and announcement.recipients == 3
    status = texts(chat.push("claire", f"/announce status {announcement.id}"))
    assert "sent to 3 members" in status and "console: queued 3" in status


def test_cancel_a_scheduled_announcement(
    chat: ConsoleSession, db: FakeDatabase, clock: Clock, core_services: Services
) -> None:
    _setup(chat, db)
    _write(chat, when="[Later]")
    chat.push("claire", "2026-12-24 18:00")
    chat.push("claire", "[Send]")
    [announcement] = db.announcements.values()
    assert "is cancelled" in texts(chat.push("claire", f"/announce cancel {announcement.id}"))
    assert "already sent or cancelled" in texts(chat.push("claire", f"/announce cancel {announcement.id}"))
    clock.advance(days=40)
    assert run_due(core_services, clock()).announcements == 0
    assert db.outbox == {}
    assert [a for _, a, _, _, _ in db.audit] == ["announce.schedule", "announce.cancel"]
    assert "no announcement 99" in texts(chat.push("claire", "/announce status 99"))
    assert "#1" in texts(chat.push("claire", "/announce list"))


def test_quiet_hours_delay_delivery(chat: ConsoleSession, db: FakeDatabase, clock: Clock) -> None:
    _setup(chat, db)
    chat.push("alice", "/profile")
    chat.push("alice", "[✏️ Quiet hours]")
    assert "Saved." in texts(chat.push("alice", "9-12"))  # clock is 09:00 UTC = 10:00 in Paris
    _write(chat)
    chat.push("claire", "[Send]")
    by_target = {item.target.target_id: item for item in db.outbox.values()}
    assert by_target["bob"].not_before == clock()
    assert by_target["alice"].not_before.isoformat() == "2026-11-29T11:00:00+00:00"  # 12:00 in Paris
