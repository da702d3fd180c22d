"""Mentorship matching on generated sister-city networks: time, memory and quality.

    .venv/bin/python bench/matching.py [--sizes 1000x500,5000x2000] [--optimum-max 5000] [--repeat 3]

Networks (the same for a given size and seed): 6 chapters twinned with 2–4 partners each,
5 languages (most people speak their local one and English; some learn one more), 48 interest
tags drawn with a skewed (Zipf-like) popularity, time zones from the chapters (Europe/Paris,
Europe/Berlin, Europe/Madrid, Asia/Tokyo, America/New_York, America/Toronto) with a few expats,
mentor capacity 1–3, some people both mentee and mentor, and a few previous pairs.

Each measurement runs in a fresh Python process (``--child``), so ``peak_mb`` is that process's
ru_maxrss: the interpreter, the generated network (``input_mb``, before the call) and the matcher.
``seconds`` is the median of ``--repeat`` runs of the matcher (``seconds_min`` the best); the
machine's load average is printed too, as other work on it slows every run.
The optimum is SciPy's linear_sum_assignment on the slot-expanded matrix of *all* allowed pairs,
scored by the matcher's own scorer (bot.mentoring.matching.allowed_scores), in a process of its
own, for sizes up to ``--optimum-max`` mentees (20,000 × 8,000 takes about 5 minutes and 7.5 GB).
The greedy baseline takes pairs by descending score.
Prints one JSON line per size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.mentoring.matching import (  # noqa: E402
    MenteeCandidate,
    MentorCandidate,
    allowed_scores,
    greedy,
    match,
)

CHAPTERS = {  # chapter: (time zone, local language, weight)
    "lyon": ("Europe/Paris", "fr", 5),
    "frankfurt": ("Europe/Berlin", "de", 4),
    "barcelona": ("Europe/Madrid", "es", 3),
    "yokohama": ("Asia/Tokyo", "ja", 3),
    "philadelphia": ("America/New_York", "en", 4),
    "montreal": ("America/Toronto", "fr", 2),
}
TWINS = [
    ("lyon", "frankfurt"),
    ("lyon", "yokohama"),
    ("lyon", "barcelona"),
    ("lyon", "montreal"),
    ("frankfurt", "philadelphia"),
    ("frankfurt", "barcelona"),
    ("yokohama", "philadelphia"),
    ("barcelona", "montreal"),
    ("philadelphia", "montreal"),
]
LANGUAGES = ("en", "fr", "de", "es", "ja")
TAGS = [f"tag{n:02d}" for n in range(48)]
TAG_WEIGHTS = [1 / (rank + 1) ** 1.1 for rank in range(len(TAGS))]
DEFAULT_SIZES = "1000x500,5000x2000,20000x8000"


def partners(chapter: str) -> frozenset[str]:
    return frozenset(b if a == chapter else a for a, b in TWINS if chapter in (a, b))


def _person(rng: random.Random) -> tuple[str, str, frozenset[str], frozenset[str]]:
    chapter = rng.choices(list(CHAPTERS), [c[2] for c in CHAPTERS.values()])[0]
    zone, local, _ = CHAPTERS[chapter]
    if rng.random() < 0.05:  # an expat: lives elsewhere
        zone = rng.choice([c[0] for c in CHAPTERS.values()])
    speaks = {local}
    if rng.random() < 0.8:  # most speak two: their own and English (or, for English speakers, another)
        speaks.add("en" if local != "en" else rng.choice(LANGUAGES[1:]))
    if rng.random() < 0.1:
        speaks.add(rng.choice(LANGUAGES))
    learning = {rng.choice([code for code in LANGUAGES if code not in speaks])} if rng.random() < 0.6 else set()
    return chapter, zone, frozenset(speaks), frozenset(learning)


def _tags(rng: random.Random, low: int, high: int) -> frozenset[str]:
    return frozenset(rng.choices(TAGS, TAG_WEIGHTS, k=rng.randint(low, high)))


def network(
    mentees: int, mentors: int, seed: int = 7
) -> tuple[list[MenteeCandidate], list[MentorCandidate], list[tuple[int, int]]]:
    rng = random.Random(f"{seed}:{mentees}x{mentors}")
    people = []
    for number in range(1, mentees + 1):
        chapter, zone, speaks, learning = _person(rng)
        twins = partners(chapter)
        preferred = rng.choice(sorted(twins)) if rng.random() < 0.3 else None
        people.append(MenteeCandidate(number, chapter, speaks, learning, _tags(rng, 1, 4), zone, twins, preferred))
    guides = []
    for number in range(mentors):
        chapter, zone, speaks, learning = _person(rng)
        mentor_id = rng.randint(1, mentees) if rng.random() < 0.05 else 10 * mentees + number  # some are mentees too
        guides.append(MentorCandidate(mentor_id, chapter, speaks, learning, _tags(rng, 2, 6), zone, rng.randint(1, 3)))
    guides = list({m.id: m for m in guides}.values())
    previous = [(rng.randint(1, mentees), rng.choice(guides).id) for _ in range(mentees // 50)]
    return people, guides, previous


def _child(kind: str, mentees: int, mentors: int) -> dict[str, Any]:
    people, guides, previous = network(mentees, mentors)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    if kind == "optimum":
        import numpy as np
        from scipy.optimize import linear_sum_assignment

        scores = allowed_scores(people, guides, previous)
        slots = np.repeat(scores, [m.capacity for m in guides], axis=1)
        del scores
        profit = np.where(np.isfinite(slots), slots, 0.0)
        rows, cols = linear_sum_assignment(profit, maximize=True)
        allowed = np.isfinite(slots[rows, cols])
        total, matched = float(profit[rows, cols][allowed].sum()), int(allowed.sum())
    else:
        result = (match if kind == "match" else greedy)(people, guides, previous)
        total, matched = result.total_score, len(result.proposals)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "input_mb": before, "matched": matched, "total": total}


def measure(kind: str, mentees: int, mentors: int) -> dict[str, Any]:
    """One run of ``kind`` in a fresh Python process (so ru_maxrss is its own)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--sizes", f"{mentees}x{mentors}"],
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="mentees x mentors, comma-separated")
    parser.add_argument("--optimum-max", type=int, default=5000, help="largest mentee count for the optimum")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the matcher (each its own process)")
    parser.add_argument("--child", choices=["match", "greedy", "optimum"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    if args.child:
        print(json.dumps(_child(args.child, *sizes[0])))
        return
    for mentees, mentors in sizes:
        runs = [measure("match", mentees, mentors) for _ in range(max(1, args.repeat))]
        ours, base = runs[0], measure("greedy", mentees, mentors)
        best = measure("optimum", mentees, mentors) if mentees <= args.optimum_max else None
        seconds = sorted(run["seconds"] for run in runs)
        print(
            json.dumps(
                {
                    "mentees": mentees,
                    "mentors": mentors,
                    "seconds": round(statistics.median(seconds), 3),
                    "seconds_min": round(seconds[0], 3),
                    "peak_mb": round(max(run["peak_mb"] for run in runs), 1),
                    "input_mb": round(ours["input_mb"], 1),
                    "matched": ours["matched"],
                    "total_score": round(ours["total"], 3),
                    "score_vs_optimum": round(ours["total"] / best["total"], 6) if best and best["total"] else None,
                    "score_vs_greedy": round(ours["total"] / base["total"], 6) if base["total"] else None,
                    "optimum_score": round(best["total"], 3) if best else None,
                    "optimum_seconds": round(best["seconds"], 2) if best else None,
                    "greedy_matched": base["matched"],
                    "greedy_seconds": round(base["seconds"], 3),
                    "load_avg": round(os.getloadavg()[0], 2),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
