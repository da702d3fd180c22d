"""Benchmark language detection on the labelled chat messages.

Runs ``tests/data/language_samples.tsv`` through :class:`bot.language.LanguageResolver`
(``detect``), without priors and with each sender's declared languages as
priors, and compares with raw, unseeded, unrestricted ``langdetect.detect``.
Prints one JSON line::

    .venv/bin/python bench/language.py

``deterministic`` is true when a second pass of the same resolver, a fresh
resolver and a fresh Python process (with another hash seed) all give the
same answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.language import LanguageResolver  # noqa: E402

SAMPLES = ROOT / "tests" / "data" / "language_samples.tsv"
SUPPORTED = ("en", "fr", "de", "es", "ja")
DEFAULT = "en"


@dataclass(frozen=True)
class Sample:
    lang: str
    declared: tuple[str, ...]
    text: str


def load_samples(path: Path = SAMPLES) -> list[Sample]:
    """The labelled messages: tab-separated ``lang``, ``declared`` (comma-separated), ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    if header != ["lang", "declared", "text"]:
        raise ValueError(f"unexpected header in {path}: {header}")
    samples = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{path}:{number}: expected 3 tab-separated fields, got {len(fields)}")
        lang, declared, text = fields
        samples.append(Sample(lang, tuple(code for code in declared.split(",") if code), text))
    return samples


def answers(resolver: LanguageResolver, samples: list[Sample]) -> dict[str, list[str | None]]:
    """Detected languages without priors (``plain``) and with the declared ones (``priors``)."""
    return {
        "plain": [resolver.detect(sample.text) for sample in samples],
        "priors": [resolver.detect(sample.text, sample.declared) for sample in samples],
    }


def accuracy(samples: list[Sample], detected: list[str | None]) -> float:
    return sum(sample.lang == found for sample, found in zip(samples, detected, strict=True)) / len(samples)


def baseline(samples: list[Sample]) -> list[str | None]:
    """Raw ``langdetect.detect``: module-global factory, unseeded, all 55 languages."""
    from langdetect import detect
    from langdetect.lang_detect_exception import LangDetectException

    found: list[str | None] = []
    for sample in samples:
        try:
            found.append(str(detect(sample.text)))
        except LangDetectException:
            found.append(None)
    return found


def answers_in_subprocess() -> dict[str, list[str | None]]:
    """The same answers computed by a fresh interpreter with a different hash seed."""
    env = dict(os.environ, PYTHONHASHSEED="4242")
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--answers"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, list[str | None]] = json.loads(completed.stdout)
    return result


def main(argv: list[str]) -> int:
    samples = load_samples()
    if "--answers" in argv:
        print(json.dumps(answers(LanguageResolver(SUPPORTED, DEFAULT), samples)))
        return 0

    resolver = LanguageResolver(SUPPORTED, DEFAULT)
    started = time.perf_counter()
    resolver.detect("warm-up: load the language profiles once")
    load_seconds = time.perf_counter() - started

    started = time.perf_counter()
    first = answers(resolver, samples)
    detect_seconds = time.perf_counter() - started

    again = answers(resolver, samples)
    fresh = answers(LanguageResolver(list(SUPPORTED), DEFAULT), samples)
    other_process = answers_in_subprocess()
    deterministic = first == again == fresh == other_process

    raw = baseline(samples)
    raw_again = baseline(samples)
    plain = accuracy(samples, first["plain"])
    with_priors = accuracy(samples, first["priors"])
    raw_accuracy = accuracy(samples, raw)

    by_language = {}
    for lang in SUPPORTED:
        pairs = [(s, found) for s, found in zip(samples, first["priors"], strict=True) if s.lang == lang]
        if pairs:
            by_language[lang] = round(accuracy([s for s, _ in pairs], [found for _, found in pairs]), 4)
    report = {
        "messages": len(samples),
        "accuracy_plain": round(plain, 4),
        "accuracy_with_priors": round(with_priors, 4),
        "deterministic": deterministic,
        "baseline_accuracy": round(raw_accuracy, 4),
        "ratio": round(with_priors / raw_accuracy, 4) if raw_accuracy else None,
        "ms_per_message": round(detect_seconds * 1000 / (2 * len(samples)), 3),
        "profile_load_ms": round(load_seconds * 1000, 1),
        "baseline_repeat_agreement": round(sum(a == b for a, b in zip(raw, raw_again, strict=True)) / len(samples), 4),
        "accuracy_with_priors_by_language": by_language,
        "errors_with_priors": [
            [s.lang, ",".join(s.declared), s.text, found]
            for s, found in zip(samples, first["priors"], strict=True)
            if found != s.lang
        ],
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
