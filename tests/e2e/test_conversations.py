"""Whole conversations through the console adapter, on real storage."""

from __future__ import annotations

from adapters.bootstrap import bootstrap
from adapters.console.session import ConsoleSession, render
from bot.replies import Reply
from config import load_settings
from tests.conftest import Clock
from tests.e2e.helpers import texts

FRENCH_ONBOARDING = [
    "/start",
    "[Français]",
    "[J’accepte]",
    "Marie Dubois",
    "[Lyon]",
    "[Français]",
    "[English]",
    "[Terminé]",
    "jazz, jardinage urbain",
    "[Europe/Paris]",
    "[Mentoré(e)]",
    "[Pas de préférence]",
    "[Terminé]",
]



def test_french_member_sees_her_profile_in_french(app: object) -> None:
    from adapters.bootstrap import App

    assert isinstance(app, App)
    chat = ConsoleSession(app.core)
    replies: list[Reply] = []
    for line in FRENCH_ONBOARDING:
        replies = chat.push("marie", line)
    welcome = texts(replies)
    assert "Bienvenue à bord, Marie Dubois" in welcome
    profile = texts(chat.push("marie", "/profile"))
    assert "Antenne de rattachement\u00a0: Lyon" in profile
    assert "Langues\u00a0: Français, English" in profile
    assert "Centres d’intérêt\u00a0: jazz, jardinage urbain" in profile
    assert "Mentoré(e)" in profile
    with app.uow_factory() as uow:
        marie = uow.members.by_identity("console", "marie")
    assert marie is not None and marie.preferred_language == "fr" and marie.languages == ["fr", "en"]


def test_stale_button_and_cancel_mid_dialog(app: object) -> None:
    from adapters.bootstrap import App

    assert isinstance(app, App)
    chat = ConsoleSession(app.core)
    chat.push("jonas", "/start")
    chat.push("jonas", "[Deutsch]")
    stale = texts(chat.press("jonas", "English", message=0))
    assert "nicht mehr aktuell" in stale
    assert "Schaltfläche" in stale
    cancelled = texts(chat.push("jonas", "/cancel"))
    assert "Abgebrochen" in cancelled
    assert "nicht mehr aktuell" in texts(chat.press("jonas", "Einverstanden"))
    with app.uow_factory() as uow:
        assert uow.members.count() == 0


def test_restart_mid_onboarding_continues(empty_db_url: str, clock: Clock) -> None:
    settings = load_settings(database_url=empty_db_url)
    first = bootstrap(settings, clock=clock)
    chat = ConsoleSession(first.core)
    for line in ["/start", "[English]", "[I agree]", "Yuki T."]:
        chat.push("yuki", line)
    menu = chat.user("yuki").menus[-1]
    first.close()

    second = bootstrap(settings, clock=clock)
    try:
        resumed = ConsoleSession(second.core)
        resumed.user("yuki").menus.append(menu)  # the message is still on her screen
        replies = resumed.push("yuki", "[Yokohama]")
        assert "Which languages do you speak?" in texts(replies)
        with second.uow_factory() as uow:
            yuki = uow.members.by_identity("console", "yuki")
        assert yuki is not None and yuki.display_name == "Yuki T." and yuki.home_chapter == "yokohama"
    finally:
        second.close()


def test_language_detected_from_what_a_visitor_writes(app: object) -> None:
    from adapters.bootstrap import App

    assert isinstance(app, App)
    chat = ConsoleSession(app.core)
    reply = texts(chat.push("lucia", "Hola, me gustaría unirme a la red de ciudades hermanas"))
    assert "/start" in reply and "¡Hola!" in reply
    # /start then greets her in Spanish too: the detection is remembered for the chat
    assert "idioma" in texts(chat.push("lucia", "/start"))


def test_render_matches_the_console_format(app: object) -> None:
    from adapters.bootstrap import App

    assert isinstance(app, App)
    chat = ConsoleSession(app.core)
    [reply] = chat.push("ana", "/start")
    shown = render("ana", reply)
    assert shown.startswith("→ ana: Welcome to ")
    assert shown.splitlines()[-1] == "[English] [Français] [Deutsch] [Español] [日本語]"
