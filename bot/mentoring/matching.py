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

``match`` maximises the total score as a min-cost flow (OR-tools): source → mentee (capacity 1),
mentee → mentor (capacity 1, cost −(round(score × 1000) + 1)), mentor → sink (remaining capacity),
mentee → sink (cost 0, "unmatched"). The +1 (a thousandth of a point) makes every allowed pair,
even one scoring 0, worth more than leaving the mentee out; no pair is ever forced. Each mentee
only considers its ``Rules.candidates`` best mentors (ties to the lower mentor id), scored with
numpy by blocks: everything but interests depends on a few (chapter, zone, languages) contexts,
so a pair costs one table lookup and a popcount of tag bitmasks. Input order never matters.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from bot.mentoring.zones import WAKING_HOURS, waking_overlap_hours

SCALE = 1000  # flow costs are in thousandths of a point
PREFERRED_SHARE = 0.5  # the preferred-city bonus, as a share of the partner-city weight
_BLOCK = 1 << 18  # pairs scored at once
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]
_Key = TypeVar("_Key")


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


# The parts of a score; score_pair and the numpy scorer share them, and add them in the same order.
def _city(weights: Weights, partners: frozenset[str], preferred: str | None, chapter: str | None) -> float:
    partner = weights.partner_city if chapter is not None and chapter in partners else 0.0
    return partner + (weights.partner_city * PREFERRED_SHARE if chapter is not None and chapter == preferred else 0.0)


def _waking(weights: Weights, zone_a: str, zone_b: str) -> float:
    return weights.waking_hours * waking_overlap_hours(zone_a, zone_b) / WAKING_HOURS


def _exchange(
    weights: Weights,
    speaks: frozenset[str],
    learns: frozenset[str],
    other_speaks: frozenset[str],
    other_learns: frozenset[str],
) -> float:
    return weights.language_exchange if speaks & other_learns and other_speaks & learns else 0.0


def score_pair(mentee: MenteeCandidate, mentor: MentorCandidate, weights: Weights) -> tuple[float, tuple[Reason, ...]]:
    """The pair's score and its reasons, biggest contribution first (hard constraints are not checked)."""
    city = _city(weights, mentee.partner_chapters, mentee.preferred_chapter, mentor.chapter)
    waking = _waking(weights, mentee.time_zone, mentor.time_zone)
    exchange = _exchange(weights, mentee.languages, mentee.learning, mentor.languages, mentor.learning)
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


_BITS = np.array([bin(byte).count("1") for byte in range(256)], dtype=np.uint8)


def _popcount(words: Words) -> npt.NDArray[np.uint8]:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    counts: npt.NDArray[np.uint8] = _BITS[words.view(np.uint8)].reshape(*words.shape, 8).sum(axis=-1, dtype=np.uint8)
    return counts  # numpy < 2


def _index(values: list[_Key]) -> tuple[Ints, list[_Key]]:
    """Each value's position among the distinct values (in first-seen order), and those values."""
    seen: dict[_Key, int] = {}
    return np.array([seen.setdefault(value, len(seen)) for value in values], dtype=np.int64), list(seen)


def _bitmasks(sets: Sequence[frozenset[str]], bit: dict[str, int], words: int) -> Words:
    masks = np.zeros((len(sets), words), dtype=np.uint64)
    for row, tags in enumerate(sets):
        mask = sum(1 << bit[tag] for tag in tags)
        for word in range(words):
            masks[row, word] = (mask >> (64 * word)) & 0xFFFF_FFFF_FFFF_FFFF
    return masks


class _Network:
    """Mentees and mentors (sorted by id) as arrays, and the tables the numpy scorer reads."""

    def __init__(
        self,
        mentees: Sequence[MenteeCandidate],
        mentors: Sequence[MentorCandidate],
        previous: Collection[tuple[int, int]],
        weights: Weights,
        rules: Rules,
    ) -> None:
        if rules.candidates < 1:
            raise ValueError("rules.candidates must be at least 1")
        self.mentees, self.mentors = sorted(mentees, key=lambda m: m.id), sorted(mentors, key=lambda m: m.id)
        self.row = {m.id: row for row, m in enumerate(self.mentees)}
        self.col = {m.id: col for col, m in enumerate(self.mentors)}
        if len(self.row) < len(mentees) or len(self.col) < len(mentors):
            raise ValueError("mentee and mentor ids must be unique")
        self.rules, es, rs = rules, self.mentees, self.mentors
        tags = sorted({tag for m in es for tag in m.goals} | {tag for m in rs for tag in m.expertise})
        bit, words = {tag: n for n, tag in enumerate(tags)}, max(1, -(-len(tags) // 64))
        self.goals = _bitmasks([m.goals for m in es], bit, words)
        self.expertise = _bitmasks([m.expertise for m in rs], bit, words)
        self.factor = np.array([weights.interests / len(m.goals) if m.goals else 0.0 for m in es])
        self.la, la_keys = _index([(m.languages, m.learning) for m in es])
        self.ca, ca_keys = _index([(m.partner_chapters, m.preferred_chapter) for m in es])
        self.za, za_keys = _index([m.time_zone for m in es])
        self.key, keys = _index([(m.languages, m.learning, m.chapter, m.time_zone) for m in rs])
        self.language_ok = np.array([[bool(a[0] & b[0]) for b in keys] for a in la_keys], dtype=bool)
        self.partner_ok = np.array([[b[2] is not None and b[2] in a[0] for b in keys] for a in ca_keys], dtype=bool)
        self.lang_val = np.array([[_exchange(weights, *a, b[0], b[1]) for b in keys] for a in la_keys])
        self.city_val = np.array([[_city(weights, *a, b[2]) for b in keys] for a in ca_keys])
        self.zone_val = np.array([[_waking(weights, a, b[3]) for b in keys] for a in za_keys])
        self.key_count = np.bincount(self.key, minlength=len(keys))
        self.previous: dict[int, set[int]] = {}
        for mentee_id, mentor_id in () if rules.allow_rematch else previous:
            if mentee_id in self.row and mentor_id in self.col:
                self.previous.setdefault(self.row[mentee_id], set()).add(self.col[mentor_id])
        excluded = {(row, col) for row, cols in self.previous.items() for col in cols}
        excluded |= {(row, self.col[m.id]) for row, m in enumerate(es) if m.id in self.col}  # never oneself
        self.excluded = np.array(sorted(excluded), dtype=np.int64).reshape(-1, 2)

    def scores(self, lo: int, hi: int, cols: Ints, position: Ints | None = None) -> Floats:
        """Scores of mentees lo:hi (rows) with the mentors ``cols``; -inf where a hard constraint forbids.

        ``position`` maps a mentor to its place in ``cols`` (-1: absent); pass it when calling often.
        """
        la, ca = self.la[lo:hi], self.ca[lo:hi]
        allowed = self.language_ok[la]
        if self.rules.partner_city_required:
            allowed &= self.partner_ok[ca]
        base = (self.city_val[ca] + self.zone_val[self.za[lo:hi]]) + self.lang_val[la]
        base[~allowed] = -np.inf
        scores = np.take(base, self.key[cols], axis=1)
        counts = _popcount(self.goals[lo:hi, 0, None] & self.expertise[cols, 0])
        for word in range(1, self.goals.shape[1]):
            counts += _popcount(self.goals[lo:hi, word, None] & self.expertise[cols, word])
        scores += counts * self.factor[lo:hi, None]
        if position is None:
            position = np.full(len(self.mentors), -1, dtype=np.int64)
            position[cols] = np.arange(len(cols))
        start, stop = np.searchsorted(self.excluded[:, 0], [lo, hi])
        rows, places = self.excluded[start:stop, 0] - lo, position[self.excluded[start:stop, 1]]
        scores[rows[places >= 0], places[places >= 0]] = -np.inf
        return scores

    def candidates(self, cols: Ints) -> tuple[Ints, Ints, Ints]:
        """Each mentee's best allowed mentors among ``cols``: (rows, cols, integer scores) of those pairs."""
        keep = min(self.rules.candidates, len(cols))
        step, found = max(1, _BLOCK // max(1, len(cols))), []
        tie = np.arange(len(cols), dtype=np.float64)  # cols are in id order: the lower id wins a tie
        position = np.full(len(self.mentors), -1, dtype=np.int64)
        position[cols] = np.arange(len(cols))
        for lo in range(0, len(self.mentees), step):
            value = np.rint(self.scores(lo, min(lo + step, len(self.mentees)), cols, position) * SCALE)
            ranked = value * (len(cols) + 1) - tie
            best = np.argpartition(ranked, len(cols) - keep, axis=1)[:, len(cols) - keep :]
            best_value = np.take_along_axis(value, best, axis=1)
            rows, picks = np.nonzero(np.isfinite(best_value))
            found.append((rows + lo, cols[best[rows, picks]], best_value[rows, picks].astype(np.int64)))
        if not found:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        rows, picked, values = (np.concatenate(parts) for parts in zip(*found, strict=True))
        return rows, picked, values

    def unmatched_reason(self, row: int) -> str:
        lang = self.language_ok[self.la[row]]
        city = lang & self.partner_ok[self.ca[row]] if self.rules.partner_city_required else lang
        me = self.col.get(self.mentees[row].id)
        speaking = int(self.key_count @ lang) - (me is not None and bool(lang[self.key[me]]))
        in_city = int(self.key_count @ city) - (me is not None and bool(city[self.key[me]]))
        new = in_city - sum(bool(city[self.key[col]]) for col in self.previous.get(row, ()) if col != me)
        if speaking == 0:
            return "no_shared_language"
        return "no_partner_city" if in_city == 0 else "only_previous" if new == 0 else "no_capacity"

    def result(self, pairs: list[tuple[int, int]], weights: Weights) -> MatchResult:
        proposals = []
        for row, col in sorted(pairs):
            score, reasons = score_pair(self.mentees[row], self.mentors[col], weights)
            proposals.append(Proposal(self.mentees[row].id, self.mentors[col].id, score, reasons))
        matched = {row for row, _ in pairs}
        unmatched = tuple(
            Unmatched(m.id, self.unmatched_reason(row)) for row, m in enumerate(self.mentees) if row not in matched
        )
        return MatchResult(tuple(proposals), unmatched, math.fsum(p.score for p in proposals))


def _available(network: _Network) -> Ints:
    return np.array([col for col, m in enumerate(network.mentors) if m.capacity > 0], dtype=np.int64)


def match(
    mentees: Sequence[MenteeCandidate],
    mentors: Sequence[MentorCandidate],
    previous: Collection[tuple[int, int]],
    weights: Weights = Weights(),
    rules: Rules = Rules(),
) -> MatchResult:
    """The proposals with the best total score; ``previous`` holds (mentee_id, mentor_id) pairs."""
    network = _Network(mentees, mentors, previous, weights, rules)
    rows, cols, values = network.candidates(_available(network))
    if len(rows) == 0:
        return network.result([], weights)
    mentee_nodes, row_of = np.unique(rows, return_inverse=True)  # node 0 is the source, then mentees
    mentor_nodes, col_of = np.unique(cols, return_inverse=True)  # then mentors, then the sink
    first_mentor, sink = 1 + len(mentee_nodes), 1 + len(mentee_nodes) + len(mentor_nodes)
    people = np.arange(1, first_mentor, dtype=np.int32)
    capacity = np.array([network.mentors[col].capacity for col in mentor_nodes.tolist()], dtype=np.int64)
    flow = SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.zeros(len(people), np.int32), people, np.ones(len(people), np.int64), np.zeros(len(people), np.int64)
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        people, np.full(len(people), sink, np.int32), np.ones(len(people), np.int64), np.zeros(len(people), np.int64)
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(first_mentor, sink, dtype=np.int32),
        np.full(len(mentor_nodes), sink, np.int32),
        capacity,
        np.zeros(len(mentor_nodes), np.int64),
    )
    pair_arcs = np.asarray(
        flow.add_arcs_with_capacity_and_unit_cost(
            (1 + row_of).astype(np.int32),
            (first_mentor + col_of).astype(np.int32),
            np.ones(len(rows), np.int64),
            -(values + 1),
        ),
        dtype=np.int32,
    )
    flow.set_nodes_supplies(np.array([0, sink], np.int32), np.array([len(people), -len(people)], np.int64))
    status = flow.solve()
    if status != SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    chosen = np.asarray(flow.flows(pair_arcs)) > 0
    return network.result(list(zip(rows[chosen].tolist(), cols[chosen].tolist(), strict=True)), weights)


def greedy(
    mentees: Sequence[MenteeCandidate],
    mentors: Sequence[MentorCandidate],
    previous: Collection[tuple[int, int]],
    weights: Weights = Weights(),
    rules: Rules = Rules(),
) -> MatchResult:
    """A baseline: the same candidates, taken by descending score (then ids) while capacity lasts."""
    network = _Network(mentees, mentors, previous, weights, rules)
    rows, cols, values = network.candidates(_available(network))
    left = {col: m.capacity for col, m in enumerate(network.mentors)}
    pairs, matched = [], set()
    for n in np.lexsort((cols, rows, -values)).tolist():
        row, col = int(rows[n]), int(cols[n])
        if row not in matched and left[col] > 0:
            pairs.append((row, col))
            matched.add(row)
            left[col] -= 1
    return network.result(pairs, weights)


def allowed_scores(
    mentees: Sequence[MenteeCandidate],
    mentors: Sequence[MentorCandidate],
    previous: Collection[tuple[int, int]],
    weights: Weights = Weights(),
    rules: Rules = Rules(),
) -> Floats:
    """Every pair's score as ``match`` computes it (rows and columns in the order given; -inf where not allowed).

    Dense, so only for small networks: tests and the benchmark's optimum.
    """
    network = _Network(mentees, mentors, previous, weights, rules)
    every = np.arange(len(network.mentors), dtype=np.int64)
    scores = network.scores(0, len(network.mentees), every) if network.mentees else np.zeros((0, len(mentors)))
    return scores[np.array([network.row[m.id] for m in mentees], dtype=np.int64)][
        :, np.array([network.col[m.id] for m in mentors], dtype=np.int64)
    ]
