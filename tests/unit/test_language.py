"""Language resolution: explicit choice > detection > locale > default, and detection quality."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from langdetect.detector_factory import DetectorFactory

from bot import language
from bot.language import LanguageResolver, clean_text, normalize_tag

NETWORK = ("en", "fr", "de", "es", "ja")
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "language_samples.tsv"
ROOT = Path(__file__).resolve().parents[2]

SPANISH = "Hola a todos, ¿alguien sabe a qué hora empieza la cena del viernes?"
FRENCH = "Merci à tous pour la soirée, on se retrouve samedi au café"
GERMAN = "Wir treffen uns morgen um acht Uhr vor dem Rathaus"
JAPANESE = "明日の交流会は何時から始まりますか？"


@pytest.fixture(scope="module")
def resolver() -> LanguageResolver:
    return LanguageResolver(NETWORK, "en")


def load_samples() -> list[tuple[str, list[str], str]]:
    lines = SAMPLES.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["lang", "declared", "text"]
    rows = []
    for line in lines[1:]:
        lang, declared, text = line.split("\t")
        rows.append((lang, [code for code in declared.split(",") if code], text))
    return rows


# --- resolution order -----------------------------------------------------------


def test_explicit_choice_beats_everything(resolver: LanguageResolver) -> None:
    assert resolver.resolve(chosen="ja", text=SPANISH, priors=["es"], locale="de-DE") == "ja"


def test_detection_beats_locale_and_default(resolver: LanguageResolver) -> None:
    assert resolver.resolve(text=SPANISH, locale="de-DE") == "es"
    assert resolver.resolve(chosen=None, text=FRENCH, priors=["de"], locale="ja-JP") == "fr"


def test_locale_beats_default_when_text_is_missing_or_short(resolver: LanguageResolver) -> None:
    assert resolver.resolve(locale="de-AT") == "de"
    assert resolver.resolve(text="ok 👍", locale="fr-CA") == "fr"
    assert resolver.resolve(text="", locale="es_MX.UTF-8") == "es"


def test_default_is_the_last_resort(resolver: LanguageResolver) -> None:
    assert resolver.resolve() == "en"
    assert resolver.resolve(chosen="pt", text="merci", locale="pt-BR") == "en"
    assert LanguageResolver(NETWORK, "fr").resolve(text="ok", locale=None) == "fr"


def test_unsupported_choice_is_ignored_and_regional_choice_is_matched(resolver: LanguageResolver) -> None:
    assert resolver.resolve(chosen="it", text=GERMAN) == "de"
    assert resolver.resolve(chosen="fr-CA", text=GERMAN) == "fr"


def test_constructor_validates_languages() -> None:
    with pytest.raises(ValueError):
        LanguageResolver(NETWORK, "it")
    with pytest.raises(ValueError):
        LanguageResolver([], "en")
    with pytest.raises(ValueError):
        LanguageResolver(["en", ""], "en")
    with pytest.raises(TypeError):
        LanguageResolver("en", "en")
    assert LanguageResolver(["EN", "fr", "en"], "en").supported == ("EN", "fr")


# --- locale hints ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr-CA", "fr"),
        ("fr_CA.UTF-8", "fr"),
        ("de_DE@euro", "de"),
        ("DE", "de"),
        ("ja-JP", "ja"),
        ("es-419", "es"),
        ("en-Latn-GB", "en"),
        (" en-us ", "en"),
        ("pt-BR", None),
        ("it", None),
        ("C", None),
        ("POSIX", None),
        ("", None),
        (None, None),
    ],
)
def test_from_locale(resolver: LanguageResolver, locale: str | None, expected: str | None) -> None:
    assert resolver.from_locale(locale) == expected


def test_from_locale_with_regional_supported_codes() -> None:
    regional = LanguageResolver(["pt-BR", "en"], "en")
    assert regional.from_locale("pt_BR") == "pt-BR"
    assert regional.from_locale("pt-PT") == "pt-BR"  # closest supported variant
    assert regional.from_locale("en-GB") == "en"
    assert regional.from_locale("fr-FR") is None


def test_normalize_tag() -> None:
    assert normalize_tag("zh_Hant_TW.UTF-8") == "zh-hant-tw"
    assert normalize_tag("und") is None
    assert normalize_tag("1234") is None


# --- short text -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ok",
        "merci !",
        "danke schön",
        "👍👍 🎉",
        "@marie_l thanks",
        "/start hello there",
        "https://example.org/meetup?id=12 see you",
        "<@1234567> <:party:998877> :tada: gracias",
        "18h30 ok 2x",
        "了解",
        "はい！",
    ],
)
def test_short_or_empty_text_is_ignored(resolver: LanguageResolver, text: str) -> None:
    assert resolver.detect(text) is None
    assert resolver.detect(text, priors=["fr"]) is None


def test_short_japanese_with_enough_characters_is_detected(resolver: LanguageResolver) -> None:
    assert resolver.detect("ありがとう") == "ja"
    assert resolver.detect("了解しました") == "ja"


def test_noise_is_stripped_before_detection(resolver: LanguageResolver) -> None:
    assert clean_text("@yuki_t see https://t.me/x 👍🏽 <@123> /rsvp") == "see"
    noisy = "@paul_b merci pour le lien https://exemple.fr/inscription 🙏 on se voit demain #jumelage"
    assert resolver.detect(noisy) == "fr"


# --- restriction to the supported languages ---------------------------------------


def test_detection_only_answers_supported_languages() -> None:
    pair = LanguageResolver(["de", "ja"], "de")
    assert pair.detect(JAPANESE) == "ja"
    assert pair.detect(GERMAN) == "de"
    # Clearly English (long enough to be sure): not forced into German.
    assert pair.detect("Thanks everyone for coming, see you all at the next meetup") is None


@pytest.mark.parametrize(
    "text",
    [
        "Grazie mille per l'organizzazione, ci vediamo domani sera",  # Italian
        "Alguém vai ao jantar de sexta na praça perto da estação?",  # Portuguese
        "Спасибо всем за встречу, до завтра",  # Russian
        "내일 모임에 참석하겠습니다 감사합니다",  # Korean
    ],
)
def test_text_in_an_unsupported_language_is_ignored(resolver: LanguageResolver, text: str) -> None:
    assert resolver.detect(text) is None
    assert resolver.resolve(text=text, locale="fr-FR") == "fr"


def test_supported_language_unknown_to_langdetect_is_never_detected() -> None:
    klingon = LanguageResolver(["tlh"], "tlh")
    assert klingon.detect(FRENCH) is None
    assert klingon.resolve(text=FRENCH, locale="fr") == "tlh"


def test_variants_count_for_their_supported_language() -> None:
    chinese = LanguageResolver(["zh-TW", "en"], "en")
    assert chinese.detect("明天的活動在哪裡舉行？我們幾點見面") == "zh-TW"
    assert chinese.detect("明天的活动在哪里举行？我们几点见面") == "zh-TW"  # simplified, still Chinese


# --- priors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        ("me parece bien", ["es", "en"], "es"),
        ("menu available tonight", ["en"], "en"),
    ],
)
def test_priors_decide_an_ambiguous_message(
    resolver: LanguageResolver, text: str, declared: list[str], expected: str
) -> None:
    assert resolver.detect(text) != expected  # on its own, langdetect gets these wrong
    assert resolver.detect(text, priors=declared) == expected


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        (SPANISH, ["de"], "es"),
        ("Can someone send me the address of the venue for tonight?", ["fr", "de"], "en"),
        (JAPANESE, ["fr", "de", "en"], "ja"),
        ("Je ne trouve pas le formulaire d'inscription pour la sortie", ["es", "de"], "fr"),
    ],
)
def test_a_clearly_different_language_beats_priors(
    resolver: LanguageResolver, text: str, declared: list[str], expected: str
) -> None:
    assert resolver.detect(text, priors=declared) == expected


def test_unsupported_or_malformed_priors_are_harmless(resolver: LanguageResolver) -> None:
    assert resolver.detect(FRENCH, priors=["pt-BR", "", "xx", "C"]) == "fr"


# --- determinism ------------------------------------------------------------------


def test_detection_is_deterministic(resolver: LanguageResolver) -> None:
    rows = load_samples()
    first = [resolver.detect(text, declared) for _, declared, text in rows]
    assert first == [resolver.detect(text, declared) for _, declared, text in rows]
    fresh = LanguageResolver(list(NETWORK), "en")
    assert first == [fresh.detect(text, declared) for _, declared, text in rows]


def test_detection_is_the_same_in_another_process(resolver: LanguageResolver) -> None:
    texts = [text for _, _, text in load_samples()[::7]]
    script = (
        "import json, sys\n"
        "from bot.language import LanguageResolver\n"
        "r = LanguageResolver(['en', 'fr', 'de', 'es', 'ja'], 'en')\n"
        "print(json.dumps([r.detect(t) for t in json.load(sys.stdin)]))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="987")
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    assert json.loads(done.stdout) == [resolver.detect(text) for text in texts]


def test_profiles_are_loaded_lazily_and_no_platform_library_is_imported() -> None:
    script = (
        "import sys\n"
        "import bot.language as language\n"
        "assert language._factory is None, 'profiles loaded at import time'\n"
        "language.LanguageResolver(['en', 'fr'], 'en')\n"
        "assert language._factory is None, 'profiles loaded by the constructor'\n"
        "bad = {'telegram', 'discord', 'sqlalchemy', 'apscheduler'} & {m.split('.')[0] for m in sys.modules}\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)


def test_profiles_load_once_when_threads_race(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[int] = []

    class CountingFactory(DetectorFactory):  # type: ignore[misc]
        def load_json_profile(self, json_profiles: list[str]) -> None:
            loads.append(len(json_profiles))
            super().load_json_profile(json_profiles)

    monkeypatch.setattr(language, "_factory", None)
    monkeypatch.setattr(language, "DetectorFactory", CountingFactory)
    resolvers = [LanguageResolver(NETWORK, "en") for _ in range(6)]
    start = threading.Barrier(len(resolvers))
    results: list[str | None] = []

    def work(r: LanguageResolver) -> None:
        start.wait()
        results.append(r.detect(FRENCH))

    threads = [threading.Thread(target=work, args=(r,)) for r in resolvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    assert results == ["fr"] * len(resolvers)


# --- quality gate on the labelled chat messages ------------------------------------


def test_labelled_set_is_well_formed() -> None:
    rows = load_samples()
    for lang in NETWORK:
        assert sum(1 for row in rows if row[0] == lang) >= 24, lang
    for lang, declared, text in rows:
        assert declared and set(declared) <= set(NETWORK), (lang, declared)
        if lang != "ja":
            assert 3 <= len(text.split()) <= 12, text
    undeclared = sum(1 for lang, declared, _ in rows if lang not in declared)
    assert undeclared / len(rows) >= 0.15


def test_accuracy_on_labelled_chat_messages(resolver: LanguageResolver) -> None:
    rows = load_samples()
    plain = sum(resolver.detect(text) == lang for lang, _, text in rows) / len(rows)
    with_priors = sum(resolver.detect(text, declared) == lang for lang, declared, text in rows) / len(rows)
    assert plain >= 0.9, plain
    assert with_priors >= 0.97, with_priors
    assert with_priors >= plain


# --- fast sampling: same answers as langdetect's own loop ------------------------


@pytest.mark.parametrize("seed", [0, 11])
@pytest.mark.parametrize(
    "text",
    [FRENCH, GERMAN, JAPANESE, "Grazie mille per l'organizzazione, ci vediamo domani sera", "trop cool merci"],
)
def test_sampling_matches_langdetect_bit_for_bit(text: str, seed: int) -> None:
    factory = language._shared_factory()
    names = factory.get_lang_list()
    restricted = tuple(index for index, name in enumerate(names) if name in NETWORK)
    weights = [3.0 if name in ("fr", "it") else 1.0 for name in names]
    cleaned = clean_text(text)
    ngrams, detector = language._ngrams(factory, cleaned)
    for indices, profiles in [
        (tuple(range(len(names))), language._all_profiles(factory)),
        (restricted, language._profile_subset(factory, restricted)),
    ]:
        reference = factory.create()
        reference.seed = seed
        reference.set_prior_map({names[index]: weights[index] for index in indices})
        reference.append(cleaned)
        reference.get_probabilities()
        prior = language._normalized([weights[index] for index in indices])
        *_, probabilities = language._trials(ngrams, profiles, prior, seed, detector)
        assert probabilities == [reference.langprob[index] for index in indices]  # exactly, not approximately
        assert not any(p for index, p in enumerate(reference.langprob) if index not in indices)


def test_skipped_trials_change_no_answer(resolver: LanguageResolver, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = load_samples()
    cases: list[tuple[str, list[str]]] = [(text, []) for _, _, text in rows]
    cases += [(text, declared) for _, declared, text in rows]
    cases += [
        ("Grazie mille per l'organizzazione, ci vediamo domani sera", ["es"]),
        ("Спасибо всем за встречу, до завтра", ["ja"]),
        ("내일 모임에 참석하겠습니다 감사합니다", []),
    ]
    fast = [resolver.detect(text, declared) for text, declared in cases]
    monkeypatch.setattr(language, "_SUM_MARGIN", 2.0)  # no early decision: every trial runs
    every_trial = LanguageResolver(NETWORK, "en")
    assert fast == [every_trial.detect(text, declared) for text, declared in cases]


def test_projections_are_shared_between_resolvers() -> None:
    first, second = LanguageResolver(NETWORK, "en"), LanguageResolver(list(reversed(NETWORK)), "fr")
    assert first.detect(FRENCH) == second.detect(FRENCH) == "fr"
    assert first._tables is not None and second._tables is not None
    assert first._tables.restricted is second._tables.restricted
