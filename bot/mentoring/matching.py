"""Cross-border mentorship matching: the best total score under mentor capacities.

Hard constraints: a shared language, never oneself, never a previous pair (unless
``Rules.allow_rematch``), the mentor's remaining capacity and, with ``Rules.partner_city_required``,
a mentor from a partner city of the mentee's chapter.

Score (``score_pair``), a sum of:
- interests: ``weights.interests`` × the share of the mentee's goals the mentor has as expertise
  (|goals ∩ expertise| / |goals|: count-based, so a broad mentor is not penalised as Jaccard would);
- partner_city: ``weights.partner_city`` when the mentor's chapter is a partner of the mentee's
  chapter, and preferred_city: half of it more when it is the mentee's ``preferred_chapter``;
- waking_hours: ``weights.waking_hours`` × the waking hours the two zones share / 14 (see zones.py);
- language_exchange: ``weights.language_exchange`` when each speaks a language the other is learning.

``match`` maximises the total score as a min-cost flow (OR-tools, see flow.py): mentee → mentor
(cost −(round(score × 1000) + 1)), mentor → sink (its remaining capacity), mentee → sink (cost 0,
"unmatched"). The +1 (a thousandth of a point) makes every allowed pair, even one scoring 0, worth
more than leaving the mentee out; no pair is ever forced. For scale each mentee brings only a few
candidates to the flow, found by scoring every allowed pair with numpy (see scoring.py), in two steps:
1. its ``candidates // 4`` best mentors by score. Solved, this gives each mentor a price (the LP
   dual: what a slot of it is worth to the mentees who want it; 0 while it has room). All prices 0
   proves this solution optimal over every allowed pair, and it is returned.
2. Otherwise its ``candidates`` best by score − price × ``PRICE_SHARE``, plus the pairs of step 1,
   solved again. Plain top scores crowd mentees onto the same popular mentors (one solve of the best
   50 by score reaches 98.1 % of the optimum on the benchmark's 20,000 × 8,000 network); prices steer
   candidates towards mentors with room, and step 2 reaches 99.96 % (see bench/matching.py).
Among equal scores a mentee prefers mentors in id order, from a starting point set by its own id,
so that equal mentees do not all list the same lowest-id mentors. Input order never matters.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from bot.mentoring import flow
from bot.mentoring.scoring import PREFERRED_SHARE, Floats, Ints, Network, city_part, exchange_part, waking_part
from bot.mentoring.zones import waking_overlap_hours

# Share of the step-1 prices charged when choosing step-2 candidates: tuned on the benchmark (20,000 × 8,000:
# 0.15 → 99.93 %, 0.2 → 99.95 %, 0.25 → 99.96 %, 0.3 → 99.93 %, 0.4 → 99.76 % of the optimum).
PRICE_SHARE = 0.25


@dataclass(frozen=True)
class MentorCandidate:
    id: int
    chapter: str | None
    languages: frozenset[str]
    learning: frozenset[str]
    expertise: frozenset[str]
    time_zone: str
    capacity: int  # remaining slots


@dataclass(frozen=True)
class MenteeCandidate:
    id: int
    chapter: str | None
    languages: frozenset[str]
    learning: frozenset[str]
    goals: frozenset[str]
    time_zone: str
    partner_chapters: frozenset[str]
    preferred_chapter: str | None = None


@dataclass(frozen=True)
class Weights:
    interests: float = 3.0
    partner_city: float = 2.0
    waking_hours: float = 1.0
    language_exchange: float = 1.0


@dataclass(frozen=True)
class Rules:
    partner_city_required: bool = False
    allow_rematch: bool = False
    candidates: int = 50


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str = ""


@dataclass(frozen=True)
class Proposal:
    mentee_id: int
    mentor_id: int
    score: float
    reasons: tuple[Reason, ...]  # biggest contribution first


@dataclass(frozen=True)
class Unmatched:
    mentee_id: int
    reason: str  # no_shared_language | no_partner_city | only_previous | no_capacity


@dataclass(frozen=True)
class MatchResult:
    proposals: tuple[Proposal, ...]
    unmatched: tuple[Unmatched, ...]
    total_score: float


def score_pair(mentee: MenteeCandidate, mentor: MentorCandidate, weights: Weights) -> tuple[float, tuple[Reason, ...]]:
    """The pair's score and its reasons, biggest contribution first (hard constraints are not checked)."""
    city = city_part(weights, mentee.partner_chapters, mentee.preferred_chapter, mentor.chapter)
    waking = waking_part(weights, mentee.time_zone, mentor.time_zone)
    exchange = exchange_part(weights, mentee.languages, mentee.learning, mentor.languages, mentor.learning)
    tags = mentee.goals & mentor.expertise
    interests = len(tags) * (weights.interests / len(mentee.goals)) if mentee.goals else 0.0
    parts = [(interests, Reason("interests", ", ".join(sorted(tags))))]
    if mentor.chapter is not None and mentor.chapter in mentee.partner_chapters:
        parts.append((weights.partner_city, Reason("partner_city", mentor.chapter)))
    if mentor.chapter is not None and mentor.chapter == mentee.preferred_chapter:
        parts.append((weights.partner_city * PREFERRED_SHARE, Reason("preferred_city", mentor.chapter)))
    hours = waking_overlap_hours(mentee.time_zone, mentor.time_zone)
    parts.append((waking, Reason("waking_hours", str(math.floor(hours + 0.5)))))
    teach, learn = mentee.languages & mentor.learning, mentor.languages & mentee.learning
    parts.append((exchange, Reason("language_exchange", f"{','.join(sorted(teach))}↔{','.join(sorted(learn))}")))
    reasons = [reason for value, reason in sorted(parts, key=lambda part: -part[0]) if value > 0]
    if shared := mentee.languages & mentor.languages:
        reasons.append(Reason("shared_language", ", ".join(sorted(shared))))
    return ((city + waking) + exchange) + interests, tuple(reasons)


def _result(network: Network, rows: Ints, cols: Ints, weights: Weights) -> MatchResult:
    proposals = []
    for row, col in sorted(zip(rows.tolist(), cols.tolist(), strict=True)):
        score, reasons = score_pair(network.mentees[row], network.mentors[col], weights)
        proposals.append(Proposal(network.mentees[row].id, network.mentors[col].id, score, reasons))
    matched = set(rows.tolist())
    unmatched = [
        Unmatched(m.id, network.unmatched_reason(row)) for row, m in enumerate(network.mentees) if row not in matched
    ]
    return MatchResult(tuple(proposals), tuple(unmatched), math.fsum(p.score for p in proposals))


def match(
    mentees: Sequence[MenteeCandidate],
    mentors: Sequence[MentorCandidate],
    previous: Collection[tuple[int, int]],
    weights: Weights = Weights(),
    rules: Rules = Rules(),
) -> MatchResult:
    """The proposals with the best total score; ``previous`` holds (mentee_id, mentor_id) pairs."""
    network = Network(mentees, mentors, previous, weights, rules)
    cols, capacity = network.available()
    rows, picked, values = network.candidates(cols, max(1, rules.candidates // 4))
    taken = flow.assign(rows, picked, values, capacity)
    price = flow.prices(rows, picked, values, taken, capacity)
    if price.any():  # some mentors are contested: choose again, steered by their prices
        again = network.candidates(cols, rules.candidates, np.rint(price[cols] * PRICE_SHARE).astype(np.int64))
        kept = (rows[taken], picked[taken], values[taken])
        rows, picked, values = (np.concatenate(two) for two in zip(again, kept, strict=True))
        _, first = np.unique(rows * len(network.mentors) + picked, return_index=True)
        rows, picked, values = rows[first], picked[first], values[first]
        taken = flow.assign(rows, picked, values, capacity)
    return _result(network, rows[taken], picked[taken], weights)


def greedy(
    mentees: Sequence[MenteeCandidate],
    mentors: Sequence[MentorCandidate],
    previous: Collection[tuple[int, int]],
    weights: Weights = Weights(),
    rules: Rules = Rules(),
) -> MatchResult:
    """A baseline: each mentee's ``candidates`` best by score, taken by descending score (then ids) while room lasts."""
    network = Network(mentees, mentors, previous, weights, rules)
    cols, left = network.available()
    rows, picked, values = network.candidates(cols, rules.candidates)
    room, row_of, col_of = left.tolist(), rows.tolist(), picked.tolist()
    taken, matched = np.zeros(len(rows), dtype=bool), set()
    for n in np.lexsort((picked, rows, -values)).tolist():
        if row_of[n] not in matched and room[col_of[n]] > 0:
            taken[n] = True
            matched.add(row_of[n])
            room[col_of[n]] -= 1
    return _result(network, rows[taken], picked[taken], weights)


def allowed_scores(
    mentees: Sequence[MenteeCandidate],
    mentors: Sequence[MentorCandidate],
    previous: Collection[tuple[int, int]],
    weights: Weights = Weights(),
    rules: Rules = Rules(),
) -> Floats:
    """Every pair's score as ``match`` computes it (rows and columns in the order given; -inf where not allowed).

    Dense, so for small networks only: the tests and the benchmark's optimum.
    """
    network = Network(mentees, mentors, previous, weights, rules)
    scores = network.scores(0, len(network.mentees), np.arange(len(network.mentors), dtype=np.int64))
    rows = np.array([network.row[m.id] for m in mentees], dtype=np.int64)
    return scores[rows][:, np.array([network.col[m.id] for m in mentors], dtype=np.int64)]
