"""The numpy side of mentorship matching: every allowed pair scored by blocks, and each mentee's best few.

Everything in a score but interests depends on a few contexts (the mentee's languages, chapter
partners and zone; the mentor's languages, chapter and zone), so those parts come from small
tables, and a pair costs one table lookup plus a popcount of the two tag bitmasks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from bot.mentoring.zones import WAKING_HOURS, waking_overlap_hours

if TYPE_CHECKING:
    from bot.mentoring.matching import MenteeCandidate, MentorCandidate, Rules, Weights

SCALE = 1000  # flow values are in thousandths of a point
PREFERRED_SHARE = 0.5  # the preferred-city bonus, as a share of the partner-city weight
_BLOCK = 1 << 17  # pairs scored at once (a block stays in the CPU caches)
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Keys = npt.NDArray[np.signedinteger[Any]]
Words = npt.NDArray[np.uint64]
_NONE = (np.zeros(0, np.int64), np.zeros(0, np.int64))
_Key = TypeVar("_Key")
_Col = TypeVar("_Col")


# The parts of a score: score_pair and the tables here share them, and add them in the same order.
def city_part(weights: Weights, partners: frozenset[str], preferred: str | None, chapter: str | None) -> float:
    partner = weights.partner_city if chapter is not None and chapter in partners else 0.0
    return partner + (weights.partner_city * PREFERRED_SHARE if chapter is not None and chapter == preferred else 0.0)


def waking_part(weights: Weights, zone_a: str, zone_b: str) -> float:
    return weights.waking_hours * waking_overlap_hours(zone_a, zone_b) / WAKING_HOURS


def exchange_part(
    weights: Weights,
    speaks: frozenset[str],
    learns: frozenset[str],
    other_speaks: frozenset[str],
    other_learns: frozenset[str],
) -> float:
    return weights.language_exchange if speaks & other_learns and other_speaks & learns else 0.0


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


def _table(
    rows: list[_Key], cols: list[_Col], cell: Callable[[_Key, _Col], Any], kind: type = float
) -> npt.NDArray[Any]:
    """``cell`` for each (row, col) as a len(rows) × len(cols) array."""
    return np.array([[cell(a, b) for b in cols] for a in rows], dtype=kind).reshape(len(rows), len(cols))


def _bitmasks(sets: Sequence[frozenset[str]], bit: dict[str, int], words: int) -> Words:
    masks = np.zeros((len(sets), words), dtype=np.uint64)
    for row, tags in enumerate(sets):
        mask = sum(1 << bit[tag] for tag in tags)
        for word in range(words):
            masks[row, word] = (mask >> (64 * word)) & 0xFFFF_FFFF_FFFF_FFFF
    return masks


class Network:
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
        self.ids = np.array([m.id for m in es], dtype=np.int64)
        tags = sorted({tag for m in es for tag in m.goals} | {tag for m in rs for tag in m.expertise})
        bit, words = {tag: n for n, tag in enumerate(tags)}, max(1, -(-len(tags) // 64))
        self.goals = _bitmasks([m.goals for m in es], bit, words)
        self.expertise = _bitmasks([m.expertise for m in rs], bit, words)
        self.factor = np.array([weights.interests / len(m.goals) if m.goals else 0.0 for m in es])
        self.la, la_keys = _index([(m.languages, m.learning) for m in es])
        self.ca, ca_keys = _index([(m.partner_chapters, m.preferred_chapter) for m in es])
        self.za, za_keys = _index([m.time_zone for m in es])
        self.key, keys = _index([(m.languages, m.learning, m.chapter, m.time_zone) for m in rs])
        self.language_ok = _table(la_keys, keys, lambda a, b: bool(a[0] & b[0]), bool)
        self.partner_ok = _table(ca_keys, keys, lambda a, b: b[2] in a[0], bool)
        self.city_val = _table(ca_keys, keys, lambda a, b: city_part(weights, *a, b[2]))
        self.zone_val = _table(za_keys, keys, lambda a, b: waking_part(weights, a, b[3]))
        self.lang_val = _table(la_keys, keys, lambda a, b: exchange_part(weights, *a, b[0], b[1]))
        self.key_count = np.bincount(self.key, minlength=len(keys))
        parts = (weights.interests, weights.partner_city * (1 + PREFERRED_SHARE), weights.waking_hours)
        self.reach = math.ceil(SCALE * sum(abs(w) for w in (*parts, weights.language_exchange))) + 1  # > any |score|
        self.previous: dict[int, set[int]] = {}
        for mentee_id, mentor_id in () if rules.allow_rematch else previous:
            if mentee_id in self.row and mentor_id in self.col:
                self.previous.setdefault(self.row[mentee_id], set()).add(self.col[mentor_id])
        excluded = {(row, col) for row, cols in self.previous.items() for col in cols}
        excluded |= {(row, self.col[m.id]) for row, m in enumerate(es) if m.id in self.col}  # never oneself
        self.excluded = np.array(sorted(excluded), dtype=np.int64).reshape(-1, 2)

    def scores(self, lo: int, hi: int, cols: Ints, unit: float = 1.0, kind: type = np.float64) -> Floats:
        """Scores of mentees lo:hi (rows) with the mentors ``cols`` in ``unit``s of a point; -inf where not allowed.

        Adds the same parts in the same order as ``score_pair``, so float64 results are equal to its own.
        """
        la, ca = self.la[lo:hi], self.ca[lo:hi]
        allowed = self.language_ok[la] & (self.partner_ok[ca] | (not self.rules.partner_city_required))
        base = ((self.city_val[ca] + self.zone_val[self.za[lo:hi]]) + self.lang_val[la]) * unit
        base[~allowed] = -np.inf
        scores: Floats = np.take(base.astype(kind), self.key[cols], axis=1)
        counts = _popcount(self.goals[lo:hi, 0, None] & self.expertise[cols, 0])
        for word in range(1, self.goals.shape[1]):
            counts += _popcount(self.goals[lo:hi, word, None] & self.expertise[cols, word])
        scores += counts * (self.factor[lo:hi, None] * unit).astype(kind)
        start, stop = np.searchsorted(self.excluded[:, 0], [lo, hi])
        place = np.searchsorted(cols, self.excluded[start:stop, 1])  # cols are sorted
        hit = (place < len(cols)) & (cols[np.minimum(place, len(cols) - 1)] == self.excluded[start:stop, 1])
        scores[self.excluded[start:stop, 0][hit] - lo, place[hit]] = -np.inf
        return scores

    def exact(self, rows: Ints, cols: Ints) -> Floats:
        """The float64 scores of the allowed pairs (rows[k], cols[k]), as ``scores`` computes them."""
        keys, ca, la = self.key[cols], self.ca[rows], self.la[rows]
        base = (self.city_val[ca, keys] + self.zone_val[self.za[rows], keys]) + self.lang_val[la, keys]
        counts = _popcount(self.goals[rows] & self.expertise[cols]).sum(axis=1, dtype=np.uint8)
        exact: Floats = base + counts * self.factor[rows]
        return exact

    def candidates(self, cols: Ints, keep: int, penalty: Ints | None = None) -> tuple[Ints, Ints, Ints]:
        """Each mentee's ``keep`` best allowed mentors among ``cols`` (sorted) by score − ``penalty`` (per col).

        Ranked on float32 thousandths (fast, and within a thousandth); among equal ones the mentee's id order
        wins. Returns the pairs as (rows, cols, exact scores in thousandths of a point).
        """
        width, found, keep = len(cols), [_NONE], min(keep, len(cols))
        if keep == 0:
            return _NONE[0], _NONE[1], np.zeros(0, np.int64)
        step = max(1, _BLOCK // width)
        penalty = np.zeros(width, np.int64) if penalty is None else penalty
        floor = self.reach + int(penalty.max(initial=0)) + 1  # -floor is below every allowed score − penalty
        kind = np.int32 if (2 * floor + 2) * width < 2**31 else np.int64
        start = self.ids % (1 << 31) * 2654435761 % width  # the mentor (a hash of the mentee's id) to try first
        order: Keys = sliding_window_view(np.tile(np.arange(width - 1, -1, -1, dtype=kind), 2), width)
        shift = (width - start) % width  # order[shift[i]] ranks cols from start[i] on, in id order, round to it
        cost = penalty.astype(np.float32) if penalty.any() else None  # whole thousandths: exact in float32
        for lo in range(0, len(self.mentees), step):
            scores = self.scores(lo, lo + step, cols, SCALE, np.float32)
            np.rint(np.maximum(scores, -floor, out=scores), out=scores)
            ranked: Keys = (scores if cost is None else scores - cost).astype(kind)
            ranked *= width
            ranked += order[shift[lo : lo + step]]
            best = np.argpartition(ranked, width - keep, axis=1)[:, width - keep :]
            rows, picks = np.nonzero(np.take_along_axis(scores, best, axis=1) > -floor)
            found.append((rows + lo, cols[best[rows, picks]]))
        rows, picked = (np.concatenate(parts) for parts in zip(*found, strict=True))
        return rows, picked, np.rint(self.exact(rows, picked) * SCALE).astype(np.int64)

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

    def available(self) -> tuple[Ints, Ints]:
        """The mentors with room (columns, sorted), and every mentor's capacity."""
        capacity = np.array([max(0, m.capacity) for m in self.mentors], dtype=np.int64)
        return np.flatnonzero(capacity > 0).astype(np.int64), capacity
