"""Every member-facing string is translated in every catalog, with the same placeholders."""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.extract import extract_from_dir

from bot.i18n import LOCALE_DIR, Catalogs, language_name
from config import load_settings

LANGUAGES = ["fr", "de", "es", "ja"]


def _source_messages() -> set[str]:
    found = extract_from_dir(
        str(LOCALE_DIR.parent),
        method_map=[("**.py", "python")],
        keywords={"_": None, "N_": None},
    )
    return {str(message) for _, _, message, _, _ in found}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


SOURCE = sorted(_source_messages())


def test_the_source_has_messages() -> None:
    assert len(SOURCE) > 50
    assert "This button is no longer current." in SOURCE


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_is_complete(lang: str) -> None:
    translate = Catalogs().translator(lang)
    missing = [msgid for msgid in SOURCE if translate(msgid) == msgid and re.search(r"[A-Za-z]{4}", msgid)]
    # A few words are the same in some languages (e.g. "Mentor" in German); the catalog must
    # still list them, so check presence rather than difference.
    messages = translate._messages
    absent = [msgid for msgid in SOURCE if msgid not in messages]
    assert absent == [], f"{lang}: untranslated {absent}"
    assert len(missing) < 5, f"{lang}: translations identical to English: {missing}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_survive_translation(lang: str) -> None:
    messages = Catalogs().translator(lang)._messages
    wrong = {m: t for m, t in messages.items() if _fields(m) != _fields(t)}
    assert wrong == {}


def test_every_network_language_has_a_catalog() -> None:
    network = load_settings().network_model()
    assert set(network.languages) <= Catalogs().available()


def test_translation_fills_placeholders() -> None:
    fr = Catalogs().translator("fr")
    assert "Marie" in fr("Welcome aboard, {name}! Send /help to see what you can do.", name="Marie")
    assert fr("unknown message id") == "unknown message id"


def test_language_names_are_native() -> None:
    assert [language_name(c) for c in ["en", "fr", "de", "es", "ja"]] == [
        "English",
        "Français",
        "Deutsch",
        "Español",
        "日本語",
    ]
