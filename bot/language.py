"""Which language to talk to a member in.

Resolution order (see :meth:`LanguageResolver.resolve`):

1. the member's explicit choice (their preferred language),
2. what the member writes, detected with langdetect — seeded so the answer is
   reproducible, restricted to the network's supported languages, weighted by
   the languages the member declared, and skipped for very short text,
3. the platform's locale hint (``"fr-CA"`` -> ``"fr"``),
4. the network default.

langdetect's language profiles take about half a second to load, so they are
loaded once, lazily, on the first detection, and shared by every resolver of
the process. Each detection builds its own ``Detector``; the shared factory is
only read after loading, so detection is thread-safe.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from langdetect.detector_factory import (
    PROFILES_DIRECTORY,
    DetectorFactory,
)
from langdetect.lang_detect_exception import (
    LangDetectException,
)

__all__ = ["LanguageResolver", "clean_text", "normalize_tag"]

# --- Tuning -------------------------------------------------------------------

#: Fewest words (tokens with a letter and no digit) for space-separated text.
MIN_WORDS = 3
#: Fewest letters of scripts written without spaces (kana, kanji, Thai).
MIN_UNSPACED_CHARS = 4
#: Weight, in langdetect's prior map, of a language the member declared; the others weigh 1.
DECLARED_WEIGHT = 3.0
#: Below this top probability the detection is ambiguous: a declared candidate is preferred.
AMBIGUOUS_BELOW = 0.9
#: ... if that candidate has at least this probability.
DECLARED_MIN_PROBABILITY = 0.1
#: Below this top probability (and with no declared candidate) the text is unclear: None.
UNCLEAR_BELOW = 0.5
#: Text is foreign (in no supported language) when, detected among all langdetect
#: languages, the supported ones together get less than this probability ...
FOREIGN_MAX_SUPPORTED = 0.1
#: ... and, for Latin-script text, the text has at least this many words: short Latin
#: text is easily taken for a close language (es/pt, fr/ca, de/nl/af), so rejecting it
#: needs more evidence than choosing among the supported languages does.
FOREIGN_MIN_LATIN_WORDS = 7

# --- Shared langdetect profiles ----------------------------------------------

_factory_lock = threading.Lock()
_factory: DetectorFactory | None = None


def _shared_factory() -> DetectorFactory:
    """The process-wide langdetect factory, loading every profile on first use.

    Profiles are read in sorted file-name order (``load_profile`` follows the
    file system's order), so languages have the same indices on every machine
    and the floating-point sums run in the same order: same input, same answer.
    """
    global _factory
    factory = _factory
    if factory is not None:
        return factory
    with _factory_lock:
        if _factory is None:
            names = sorted(
                name
                for name in os.listdir(PROFILES_DIRECTORY)
                if not name.startswith(".") and os.path.isfile(os.path.join(PROFILES_DIRECTORY, name))
            )
            profiles = []
            for name in names:
                with open(os.path.join(PROFILES_DIRECTORY, name), encoding="utf-8") as handle:
                    profiles.append(handle.read())
            loaded = DetectorFactory()
            loaded.load_json_profile(profiles)
            _factory = loaded
        return _factory


# --- Language tags ------------------------------------------------------------

_NOT_A_LANGUAGE = frozenset({"", "c", "posix", "und", "mul", "zxx", "*", "i-default"})


def normalize_tag(tag: str | None) -> str | None:
    """Lower-case BCP 47 / POSIX-like tag with ``-`` separators, or None if it names no language.

    ``"fr_CA.UTF-8"`` -> ``"fr-ca"``, ``"de_DE@euro"`` -> ``"de-de"``, ``"C"`` -> None.
    """
    if tag is None:
        return None
    text = tag.strip().split(".", 1)[0].split("@", 1)[0].replace("_", "-").lower()
    text = "-".join(part for part in text.split("-") if part)
    if text in _NOT_A_LANGUAGE or not text[:1].isalpha():
        return None
    return text


def _candidate_tags(tag: str) -> list[str]:
    """``"zh-hant-tw"`` -> ``["zh-hant-tw", "zh-hant", "zh"]``: the tag, then ever shorter prefixes."""
    parts = tag.split("-")
    return ["-".join(parts[:end]) for end in range(len(parts), 0, -1)]


# --- Text cleaning ------------------------------------------------------------

_NOISE_RE = re.compile(
    r"""
      (?:https?|ftp)://\S+                      # URLs
    | \bwww\.\S+
    | [\w.+-]+@[\w-]+(?:\.[\w-]+)+              # e-mail addresses
    | <a?:\w+:\d+>                              # Discord custom emoji
    | <(?:@[!&]?|\#)\d+>                        # Discord user/role/channel mentions
    | (?<![\w@])@\w+                            # @mentions
    | (?<![\w&])\#\w+                           # #hashtags
    | (?:^|(?<=\s))/\w+(?:@\w+)?                # /commands (Telegram, slash commands)
    | ^\s*!\w+                                  # !commands at the start (Discord bots)
    | :[a-z0-9_+-]+:                            # :shortcode: emoji
    | (?<!\w)[:;=8xX][-'^]?[()\[\]DPpOo3/\\|*]+(?!\w)   # ASCII emoticons
    | (?<!\w)<3+                                # <3
    """,
    re.VERBOSE,
)
_SPACES_RE = re.compile(r"\s+")


def _script(char: str) -> str:
    """Rough script of a letter: ``kana``, ``han``, ``hangul``, ``thai``, ``latin`` or ``other``."""
    code = ord(char)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9D:
        return "kana"
    if 0x3400 <= code <= 0x4DBF or 0x4E00 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if 0x0E00 <= code <= 0x0E7F:
        return "thai"
    if char.isascii() or unicodedata.name(char, "").startswith("LATIN"):
        return "latin"
    return "other"


#: Scripts written without spaces between words: their letters are counted, not words.
_UNSPACED_SCRIPTS = frozenset({"kana", "han", "thai"})


def clean_text(text: str) -> str:
    """Text with URLs, e-mails, mentions, hashtags, commands and emoji removed, spaces collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = _NOISE_RE.sub(" ", text)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("So", "Sk", "Cf", "Co", "Cs") or char in "\ufe0e\ufe0f":
            kept.append(" ")  # emoji, skin tones, joiners, variation selectors, private use
        else:
            kept.append(char)
    return _SPACES_RE.sub(" ", "".join(kept)).strip()


@dataclass(frozen=True)
class _TextStats:
    words: int  # space-separated tokens with a letter, no digit and no unspaced-script letter
    scripts: dict[str, int]  # letters per script

    @property
    def unspaced(self) -> int:
        return sum(self.scripts.get(script, 0) for script in _UNSPACED_SCRIPTS)

    @property
    def long_enough(self) -> bool:
        return self.words >= MIN_WORDS or self.unspaced >= MIN_UNSPACED_CHARS

    @property
    def mostly_latin(self) -> bool:
        return self.scripts.get("latin", 0) * 2 >= sum(self.scripts.values())

    @property
    def han_only(self) -> bool:
        """Chinese characters with neither kana nor hangul: Chinese, or Japanese/Korean written in kanji/hanja."""
        return self.scripts.get("han", 0) > 0 and not self.scripts.get("kana") and not self.scripts.get("hangul")


def _stats(cleaned: str) -> _TextStats:
    words = 0
    scripts: dict[str, int] = {}
    for token in cleaned.split(" "):
        token_scripts = [_script(char) for char in token if char.isalpha()]
        for script in token_scripts:
            scripts[script] = scripts.get(script, 0) + 1
        if token_scripts and _UNSPACED_SCRIPTS.isdisjoint(token_scripts) and not any(char.isdigit() for char in token):
            words += 1
    return _TextStats(words=words, scripts=scripts)


# --- Resolver -----------------------------------------------------------------


class LanguageResolver:
    """Picks the language to use with a member among the network's supported languages.

    ``supported`` are language tags (``"en"``, ``"fr"``, ``"pt-BR"``, ...) in any
    order; results are always one of them, spelled as given. ``default`` must be
    one of them. ``seed`` seeds langdetect's random sampling so that detection is
    deterministic; two resolvers with the same arguments give the same answers.
    """

    def __init__(self, supported: Sequence[str], default: str, *, seed: int = 0) -> None:
        if isinstance(supported, str):
            raise TypeError("supported must be a sequence of language tags, not a string")
        self._by_tag: dict[str, str] = {}
        for code in supported:
            tag = normalize_tag(code)
            if tag is None:
                raise ValueError(f"not a language tag: {code!r}")
            self._by_tag.setdefault(tag, code)
        if not self._by_tag:
            raise ValueError("at least one supported language is required")
        default_tag = normalize_tag(default)
        if default_tag is None or default_tag not in self._by_tag:
            raise ValueError(f"default language {default!r} is not among the supported {list(supported)!r}")
        self._supported: tuple[str, ...] = tuple(self._by_tag.values())
        self._default = self._by_tag[default_tag]
        self._seed = seed
        # langdetect profile index -> supported code; computed once the profiles are loaded.
        self._profile_codes: list[str | None] | None = None

    @property
    def supported(self) -> tuple[str, ...]:
        """The supported languages, as given, without duplicates."""
        return self._supported

    @property
    def default(self) -> str:
        """The network default language."""
        return self._default

    # -- tags ------------------------------------------------------------------

    def _match(self, tag: str | None) -> str | None:
        """The supported code a tag designates.

        The exact tag first, then its shorter prefixes (``fr-CA`` -> ``fr``), then
        a supported variant of the same language (``pt-PT`` -> ``pt-BR``).
        """
        normalized = normalize_tag(tag)
        if normalized is None:
            return None
        for candidate in _candidate_tags(normalized):
            if candidate in self._by_tag:
                return self._by_tag[candidate]
        primary = normalized.split("-", 1)[0]
        for supported_tag, code in self._by_tag.items():
            if supported_tag.split("-", 1)[0] == primary:
                return code
        return None

    def from_locale(self, locale: str | None) -> str | None:
        """Supported language named by a platform locale hint, or None.

        ``"fr-CA"``, ``"fr_CA.UTF-8"`` -> ``"fr"``; ``"pt-BR"`` -> None unless
        ``pt`` (or ``pt-BR``) is supported; ``None``, ``""``, ``"C"`` -> None.
        """
        return self._match(locale)

    # -- detection -------------------------------------------------------------

    def _codes_by_profile(self, factory: DetectorFactory) -> list[str | None]:
        """For each langdetect profile, the supported code it counts for (or None).

        A profile counts for the supported code equal to its name (``zh-tw``),
        else for a supported code with no profile of its own that has the same
        primary language (``zh`` for ``zh-cn`` and ``zh-tw``, ``fr-CA`` for ``fr``).
        """
        if self._profile_codes is None:
            names = [str(profile).lower() for profile in factory.get_lang_list()]
            primaries: dict[str, str] = {}
            for tag, code in self._by_tag.items():
                if tag not in names:
                    primaries.setdefault(tag.split("-", 1)[0], code)
            self._profile_codes = [self._by_tag.get(name) or primaries.get(name.split("-", 1)[0]) for name in names]
        return self._profile_codes

    def _probabilities(self, factory: DetectorFactory, text: str, weights: Sequence[float]) -> list[float] | None:
        """langdetect's probability for each profile, with ``weights`` as prior map."""
        detector = factory.create()
        detector.seed = self._seed  # the shared factory stays unseeded; the seed is ours
        profiles = factory.get_lang_list()
        detector.set_prior_map({lang: weight for lang, weight in zip(profiles, weights, strict=True) if weight > 0})
        detector.append(text)
        try:
            detector.get_probabilities()
        except LangDetectException:
            return None
        return [float(p) for p in detector.langprob]

    @staticmethod
    def _declared_profiles(priors: Iterable[str], profiles: Sequence[str]) -> set[int]:
        """Indices of the profiles of the declared languages (supported or not)."""
        declared: set[int] = set()
        for prior in priors:
            tag = normalize_tag(prior)
            if tag is None:
                continue
            primary = tag.split("-", 1)[0]
            for index, profile in enumerate(profiles):
                if str(profile).lower().split("-", 1)[0] == primary:
                    declared.add(index)
        return declared

    def detect(self, text: str, priors: Sequence[str] = ()) -> str | None:
        """Language of text among supported ones, or None when text is too short/unclear.

        ``priors`` are languages the member declared (spoken languages, their
        chapter's languages): they weigh more in langdetect's prior map, and
        win when the detection hesitates between them and another language.
        Clear evidence still beats them. None is also returned for text that is
        clearly in a language the network does not support.
        """
        cleaned = clean_text(text)
        stats = _stats(cleaned)
        if not stats.long_enough:
            return None

        factory = _shared_factory()
        codes = self._codes_by_profile(factory)
        if all(code is None for code in codes):
            return None  # langdetect knows none of the supported languages
        declared = self._declared_profiles(priors, factory.get_lang_list())
        weights = [DECLARED_WEIGHT if index in declared else 1.0 for index in range(len(codes))]

        # Detection restricted to the supported languages: the others get a zero prior.
        restricted = self._probabilities(
            factory, cleaned, [w if code is not None else 0.0 for w, code in zip(weights, codes, strict=True)]
        )
        if restricted is None:
            return None
        scores = dict.fromkeys(self._supported, 0.0)
        declared_codes: set[str] = set()
        for index, (code, probability) in enumerate(zip(codes, restricted, strict=True)):
            if code is not None:
                scores[code] += probability
                if index in declared:
                    declared_codes.add(code)
        # Stable sort: ties go to the order of ``supported``.
        ranked = sorted(self._supported, key=scores.__getitem__, reverse=True)
        best = ranked[0]
        if scores[best] < AMBIGUOUS_BELOW and best not in declared_codes:
            for code in ranked[1:]:
                if code in declared_codes and scores[code] >= DECLARED_MIN_PROBABILITY:
                    best = code
                    break
        runner_up = max((scores[code] for code in self._supported if code != best), default=0.0)
        if best not in declared_codes and (scores[best] < UNCLEAR_BELOW or scores[best] <= runner_up):
            return None  # unclear: no majority, or a tie (text with no n-gram of any supported language)

        if self._is_foreign(factory, cleaned, stats, codes, weights):
            return None
        return best

    def _is_foreign(
        self,
        factory: DetectorFactory,
        cleaned: str,
        stats: _TextStats,
        codes: Sequence[str | None],
        weights: Sequence[float],
    ) -> bool:
        """True if, among all langdetect languages, the text is clearly in an unsupported one.

        The restricted detection always names a supported language (Italian
        comes out as Spanish, Russian even as Japanese); this second pass over
        every language, with the same declared-language weights, catches that.
        Profiles of a supported language's variants count as supported (``zh-cn``
        when ``zh-TW`` is supported). It is not trusted everywhere:

        - short Latin-script text: close languages (es/pt, fr/ca, de/nl/af) are
          too easily mistaken for one another;
        - text in Chinese characters only: langdetect tells Chinese, Japanese
          kanji and Korean hanja apart badly (``"京都駅集合"`` comes out as ``ko``).
        """
        if stats.mostly_latin and stats.words < FOREIGN_MIN_LATIN_WORDS:
            return False
        if stats.han_only:
            return False
        primaries = {tag.split("-", 1)[0] for tag in self._by_tag}
        related = [
            code is not None or str(profile).lower().split("-", 1)[0] in primaries
            for profile, code in zip(factory.get_lang_list(), codes, strict=True)
        ]
        if all(related):
            return False
        probabilities = self._probabilities(factory, cleaned, weights)
        if probabilities is None:
            return False
        supported_mass = sum(p for is_related, p in zip(related, probabilities, strict=True) if is_related)
        return supported_mass < FOREIGN_MAX_SUPPORTED

    # -- resolution ------------------------------------------------------------

    def resolve(
        self,
        *,
        chosen: str | None = None,
        text: str | None = None,
        priors: Sequence[str] = (),
        locale: str | None = None,
    ) -> str:
        """The language to use: explicit choice > detected from text > locale hint > default.

        ``chosen`` is the member's preferred language; it is ignored if the
        network does not support it (``"fr-CA"`` counts as ``"fr"``). ``text``
        is what the member wrote, detected with :meth:`detect` using
        ``priors``; ``locale`` is the platform's locale hint.
        """
        choice = self._match(chosen)
        if choice is not None:
            return choice
        if text:
            detected = self.detect(text, priors)
            if detected is not None:
                return detected
        hinted = self.from_locale(locale)
        if hinted is not None:
            return hinted
        return self._default
