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
the process. Each detection runs on its own state; the shared factory is only
read after loading, and the shared projections of it (see below) only gain
entries, each always the same value, so detection is thread-safe.

Detection gives the answers langdetect's own ``Detector`` gives over all the
profiles (same seed, same draws, same floating-point operations) at a fraction
of the cost: the restricted pass only computes the profiles of the supported
languages, and trials that can no longer change the answer are skipped.
"""

from __future__ import annotations

import os
import random
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import add, mul, truediv
from typing import Any

from langdetect.detector_factory import (
    PROFILES_DIRECTORY,
    DetectorFactory,
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


# --- langdetect's sampling over a chosen set of profiles ---------------------
#
# langdetect's ``Detector`` multiplies, for every sampled n-gram, the probability
# of *every* loaded profile, even of those whose prior is zero. Detection among
# the supported languages therefore runs over a projection of the shared
# profiles onto the ones that count (one per distinct set, shared by every
# resolver), and the sampling loop below reproduces ``Detector._detect_block``
# operation for operation (same random draws, same floating-point operations in
# the same order). The projection keeps every n-gram of the shared factory
# (zeros where no kept profile has it), so the n-grams drawn are those drawn over
# all profiles: the probabilities are bit for bit the ones langdetect computes
# over all 55 profiles with zero priors for the others. (A factory loaded with
# only the supported profiles knows fewer n-grams, so it draws others and
# answers differently.)

#: More than any rounding error of a sum of langdetect probabilities (a few dozen, at most 1 each).
_SUM_MARGIN = 1e-9


@dataclass(frozen=True, eq=False)
class _ProfileSet:
    """Some langdetect profiles: their names and, per n-gram, the probability in each."""

    names: tuple[str, ...]
    word_probs: Mapping[str, Sequence[float]]


_views_lock = threading.Lock()
_views_factory: DetectorFactory | None = None
_views: dict[tuple[int, ...], _ProfileSet] = {}


def _all_profiles(factory: DetectorFactory) -> _ProfileSet:
    """Every profile of the factory, as loaded (no copy)."""
    return _ProfileSet(names=tuple(str(name) for name in factory.langlist), word_probs=factory.word_lang_prob_map)


class _Projection(dict[str, Sequence[float]]):
    """Per n-gram, the probabilities of some of the factory's profiles, projected on first use.

    Every n-gram of the factory can be looked up, so that text gives the same
    n-grams as with the whole factory; those no kept profile has share one zero
    vector. Threads may project the same n-gram at once: they store equal values.
    """

    def __init__(self, factory: DetectorFactory, indices: tuple[int, ...]) -> None:
        super().__init__()
        self._full: Mapping[str, Sequence[float]] = factory.word_lang_prob_map
        self._indices = indices
        self._zero = (0.0,) * len(indices)

    def __missing__(self, word: str) -> Sequence[float]:
        probs = self._full[word]
        projected = tuple(probs[index] for index in self._indices)
        value = projected if any(projected) else self._zero
        self[word] = value
        return value


def _profile_subset(factory: DetectorFactory, indices: tuple[int, ...]) -> _ProfileSet:
    """The factory's profiles at ``indices`` (ascending), shared per factory and set of indices."""
    global _views_factory
    with _views_lock:
        if _views_factory is not factory:  # profiles reloaded (tests): forget projections of the old ones
            _views.clear()
            _views_factory = factory
        view = _views.get(indices)
        if view is None:
            names = tuple(str(factory.langlist[index]) for index in indices)
            view = _ProfileSet(names=names, word_probs=_Projection(factory, indices))
            _views[indices] = view
        return view


def _normalized(weights: Sequence[float]) -> tuple[float, ...]:
    """Weights divided by their sum, as ``Detector.set_prior_map`` does."""
    total = 0.0
    for weight in weights:
        if weight > 0:
            total += weight
    return tuple(weight / total for weight in weights)


def _ngrams(factory: DetectorFactory, text: str) -> tuple[list[str], Any]:
    """The n-grams langdetect samples from ``text``, and the detector that extracted them."""
    detector = factory.create()
    detector.append(text)
    detector.cleaning_text()
    ngrams: list[str] = detector._extract_ngrams()
    return ngrams, detector


def _trials(
    ngrams: Sequence[str],
    profiles: _ProfileSet,
    prior: Sequence[float],
    seed: int,
    detector: Any,
) -> Iterator[list[float]]:
    """``Detector._detect_block``, trial by trial: after each, the probability of each profile so far.

    ``prior`` is normalized; ``detector`` supplies langdetect's parameters
    (trials, smoothing, convergence). After the last trial the result is, to the
    last bit, what langdetect computes with the same seed, n-grams and prior;
    before it, each probability is at most its final value.
    """
    n_trial: int = detector.n_trial
    alpha_default: float = detector.alpha
    alpha_width: float = detector.ALPHA_WIDTH
    base_freq: int = detector.BASE_FREQ
    converged: float = detector.CONV_THRESHOLD
    limit: int = detector.ITERATION_LIMIT

    vectors = [profiles.word_probs[ngram] for ngram in ngrams]
    rng = random.Random(seed)
    # ``rng.choice(ngrams)``, inlined: ``Random.choice`` draws ``_randbelow(len(seq))``,
    # which draws ``getrandbits(len(seq).bit_length())`` until the value is in range.
    getrandbits = rng.getrandbits
    count = len(vectors)
    bits = count.bit_length()
    result = [0.0] * len(prior)
    for _ in range(n_trial):
        prob = list(prior)
        weight = (alpha_default + rng.gauss(0.0, 1.0) * alpha_width) / base_freq
        # ``weight + probability`` of each profile, per drawn n-gram, computed on first draw.
        factors: list[tuple[float, ...] | None] = [None] * count
        # langdetect updates with one n-gram (iteration 0), then normalizes and checks
        # convergence, then does so again every 5 iterations.
        iteration, steps = 0, 1
        while True:
            for _ in range(steps):
                drawn = getrandbits(bits)
                while drawn >= count:
                    drawn = getrandbits(bits)
                factor = factors[drawn]
                if factor is None:
                    factor = factors[drawn] = tuple(map(add, repeat(weight), vectors[drawn]))
                prob = list(map(mul, prob, factor))
            total = sum(prob)
            prob = list(map(truediv, prob, repeat(total)))
            if max(prob) > converged or iteration >= limit:
                break
            iteration, steps = iteration + 5, 5
        result = [r + p / n_trial for r, p in zip(result, prob, strict=True)]
        yield result


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

#: Distinct sets of declared languages whose prior maps a resolver keeps.
_PRIORS_CACHE_SIZE = 256


@dataclass(frozen=True, eq=False)
class _Priors:
    """langdetect prior maps for one set of declared profiles."""

    restricted: tuple[float, ...]  # over the restricted profiles
    full: tuple[float, ...]  # over every profile
    declared_codes: frozenset[str]  # supported codes with a declared profile


@dataclass(frozen=True, eq=False)
class _Tables:
    """What a resolver needs to know about the loaded profiles, computed once per resolver."""

    factory: DetectorFactory
    #: For each profile, the supported code it counts for (or None).
    codes: tuple[str | None, ...]
    #: For each profile, whether it is a supported language or a variant of one.
    related: tuple[bool, ...]
    #: Every profile, for the foreign-text check.
    everything: _ProfileSet
    #: The profiles that count for a supported language (None if there are none) ...
    restricted: _ProfileSet | None
    #: ... their indices among all profiles ...
    restricted_indices: tuple[int, ...]
    #: ... and the supported code each counts for.
    restricted_codes: tuple[str, ...]
    #: Primary language (``zh``) -> indices of its profiles (``zh-cn``, ``zh-tw``).
    by_primary: Mapping[str, tuple[int, ...]]
    #: Prior maps already computed, per set of declared profiles.
    priors_cache: dict[frozenset[int], _Priors] = field(default_factory=dict)

    @classmethod
    def build(cls, factory: DetectorFactory, by_tag: Mapping[str, str]) -> _Tables:
        """A profile counts for the supported code equal to its name (``zh-tw``),
        else for a supported code with no profile of its own that has the same
        primary language (``zh`` for ``zh-cn`` and ``zh-tw``, ``fr-CA`` for ``fr``).
        """
        everything = _all_profiles(factory)
        names = [name.lower() for name in everything.names]
        primaries: dict[str, str] = {}
        for tag, code in by_tag.items():
            if tag not in names:
                primaries.setdefault(tag.split("-", 1)[0], code)
        codes = tuple(by_tag.get(name) or primaries.get(name.split("-", 1)[0]) for name in names)
        supported_primaries = {tag.split("-", 1)[0] for tag in by_tag}
        related = tuple(
            code is not None or name.split("-", 1)[0] in supported_primaries
            for name, code in zip(names, codes, strict=True)
        )
        by_primary: dict[str, list[int]] = {}
        for index, name in enumerate(names):
            by_primary.setdefault(name.split("-", 1)[0], []).append(index)
        restricted_indices = tuple(index for index, code in enumerate(codes) if code is not None)
        return cls(
            factory=factory,
            codes=codes,
            related=related,
            everything=everything,
            restricted=_profile_subset(factory, restricted_indices) if restricted_indices else None,
            restricted_indices=restricted_indices,
            restricted_codes=tuple(code for code in codes if code is not None),
            by_primary={primary: tuple(indices) for primary, indices in by_primary.items()},
        )

    def priors(self, declared_languages: Iterable[str]) -> _Priors:
        """Prior maps for the languages a member declared."""
        declared: set[int] = set()
        for language in declared_languages:
            tag = normalize_tag(language)
            if tag is not None:
                declared.update(self.by_primary.get(tag.split("-", 1)[0], ()))
        key = frozenset(declared)
        priors = self.priors_cache.get(key)
        if priors is None:
            weights = [DECLARED_WEIGHT if index in declared else 1.0 for index in range(len(self.codes))]
            priors = _Priors(
                restricted=_normalized([weights[index] for index in self.restricted_indices]),
                full=_normalized(weights),
                declared_codes=frozenset(
                    code
                    for index, code in zip(self.restricted_indices, self.restricted_codes, strict=True)
                    if index in declared
                ),
            )
            if len(self.priors_cache) >= _PRIORS_CACHE_SIZE:
                self.priors_cache.clear()  # many distinct sets: start over rather than grow
            self.priors_cache[key] = priors
        return priors


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
        # Computed on the first detection, once the profiles are loaded.
        self._tables: _Tables | None = None

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

    def _tables_for(self, factory: DetectorFactory) -> _Tables:
        """This resolver's view of the loaded profiles, computed once."""
        tables = self._tables
        if tables is None or tables.factory is not factory:
            tables = _Tables.build(factory, self._by_tag)
            self._tables = tables  # a race computes the same tables twice: harmless
        return tables

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
        tables = self._tables_for(factory)
        if tables.restricted is None:
            return None  # langdetect knows none of the supported languages
        ngrams, detector = _ngrams(factory, cleaned)
        if not ngrams:
            return None  # no n-gram langdetect knows
        weights = tables.priors(priors)
        declared_codes = weights.declared_codes

        # Detection restricted to the supported languages (the others would get a zero prior).
        # Scores only grow from one trial to the next and end up summing to 1: a language
        # past one half (and UNCLEAR_BELOW) is already the certain winner and clear, and
        # if no declared language can take its place (it is declared, or none is), the
        # rules below give it whatever the remaining trials give: they are skipped.
        scores: dict[str, float] = {}
        for probabilities in _trials(ngrams, tables.restricted, weights.restricted, self._seed, detector):
            scores = dict.fromkeys(self._supported, 0.0)
            for code, probability in zip(tables.restricted_codes, probabilities, strict=True):
                scores[code] += probability
            leader = max(scores, key=scores.__getitem__)
            if scores[leader] >= max(0.5, UNCLEAR_BELOW) + _SUM_MARGIN and (
                leader in declared_codes or not declared_codes
            ):
                break
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

        if self._is_foreign(tables, ngrams, detector, stats, weights.full):
            return None
        return best

    def _is_foreign(
        self,
        tables: _Tables,
        ngrams: Sequence[str],
        detector: Any,
        stats: _TextStats,
        prior: Sequence[float],
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
        if all(tables.related):
            return False
        # The probabilities only grow from one trial to the next: once the supported
        # languages have enough, the text is not foreign whatever the remaining trials
        # give, and they are skipped (the margin covers any rounding of the sum).
        supported_mass = 0.0
        for probabilities in _trials(ngrams, tables.everything, prior, self._seed, detector):
            supported_mass = sum(p for is_related, p in zip(tables.related, probabilities, strict=True) if is_related)
            if supported_mass >= FOREIGN_MAX_SUPPORTED + _SUM_MARGIN:
                return False
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
