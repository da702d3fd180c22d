"""Message catalogs: every string a member sees goes through here.

Catalogs are gettext ``.po`` files under ``bot/locale/<lang>/LC_MESSAGES/twinbot.po``, read
with Babel at first use (no compile step). Code marks strings with ``_("...")`` where a
translator named ``_`` is in scope, or ``N_("...")`` where the text is translated later, so
``pybabel extract`` finds them all. Placeholders use ``str.format`` names: ``{name}``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "twinbot"
SOURCE_LANGUAGE = "en"


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it now."""
    return msgid


class Translator:
    """Translates message ids into one language, falling back to the English source."""

    def __init__(self, lang: str, messages: dict[str, str]) -> None:
        self.lang = lang
        self._messages = messages

    def __call__(self, msgid: str, /, **values: object) -> str:
        text = self._messages.get(msgid) or msgid
        return text.format(**values) if values else text


class Catalogs:
    """Loads each language's catalog once, on first use; thread-safe."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._dir = locale_dir
        self._loaded: dict[str, Translator] = {}
        self._lock = threading.Lock()

    def available(self) -> set[str]:
        """Languages with a catalog, plus the source language."""
        found = {p.parent.parent.name for p in self._dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
        return found | {SOURCE_LANGUAGE}

    def translator(self, lang: str) -> Translator:
        cached = self._loaded.get(lang)
        if cached is not None:
            return cached
        with self._lock:
            if lang not in self._loaded:
                self._loaded[lang] = Translator(lang, self._read(lang))
            return self._loaded[lang]

    def _read(self, lang: str) -> dict[str, str]:
        path = self._dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if lang == SOURCE_LANGUAGE or not path.is_file():
            return {}
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        return {
            str(message.id): str(message.string)
            for message in catalog
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy
        }


def language_name(code: str) -> str:
    """A language's name in that language, e.g. ``fr`` -> ``Français``."""
    try:
        name = Locale.parse(code).get_display_name(code)
    except (ValueError, TypeError):
        return code
    return name[:1].upper() + name[1:] if name else code
