"""Mentorship matching: hard constraints, scores and reasons, optimality, unmatched reasons, determinism."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from bot.mentoring import scoring
from bot.mentoring.matching import (
    MatchResult,
    MenteeCandidate,
    MentorCandidate,
    Reason,
    Rules,
    Unmatched,
    Weights,
    allowed_scores,
    greedy,
    match,
    score_pair,
)
from bot.mentoring.zones import waking_overlap_hours

PARIS, TOKYO, NEW_YORK = "Europe/Paris", "Asia/Tokyo", "America/New_York"


def mentee(
    id: int,
    languages: str = "fr",
    goals: str = "",
    *,
    chapter: str | None = "lyon",
    learning: str = "",
    zone: str = PARIS,
    partners: str = "",
    preferred: str | None = None,
) -> MenteeCandidate:
    return MenteeCandidate(id, chapter, _set(languages), _set(learning), _set(goals), zone, _set(partners), preferred)


def mentor(
    id: int,
    languages: str = "fr",
    expertise: str = "",
    *,
    chapter: str | None = "lyon",
    learning: str = "",
    zone: str = PARIS,
    capacity: int = 1,
) -> MentorCandidate:
    return MentorCandidate(id, chapter, _set(languages), _set(learning), _set(expertise), zone, capacity)


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


def pairs(result: MatchResult) -> set[tuple[int, int]]:
    return {(p.mentee_id, p.mentor_id) for p in result.proposals}


def reasons(result: MatchResult) -> dict[int, str]:
    return {u.mentee_id: u.reason for u in result.unmatched}


CHAPTERS = {"lyon": PARIS, "frankfurt": "Europe/Berlin", "yokohama": TOKYO, "philadelphia": NEW_YORK}
PARTNERS = {"lyon": "frankfurt yokohama", "frankfurt": "lyon philadelphia", "yokohama": "lyon", "philadelphia": ""}


def network(
    seed: int, mentees: int, mentors: int, *, capacity: tuple[int, int] = (1, 3), tags: int = 8
) -> tuple[list[MenteeCandidate], list[MentorCandidate], list[tuple[int, int]]]:
    """A random small network: some people are mentee and mentor, some pairs existed before."""
    rng = random.Random(seed)
    topics = [f"t{n}" for n in range(tags)]

    def person() -> tuple[str, str, str, str]:
        chapter = rng.choice(sorted(CHAPTERS))
        speaks = " ".join(rng.sample(["en", "fr", "de", "ja"], rng.choice([1, 1, 2])))
        return chapter, speaks, rng.choice(["", "fr", "ja", "de"]), CHAPTERS[chapter]

    people = []
    for n in range(1, mentees + 1):
        chapter, speaks, learning, zone = person()
        goals = " ".join(rng.sample(topics, rng.randint(0, 3)))
        preferred = rng.choice([None, *PARTNERS[chapter].split()])
        people.append(
            mentee(
                n,
                speaks,
                goals,
                chapter=chapter,
                learning=learning,
                zone=zone,
                partners=PARTNERS[chapter],
                preferred=preferred,
            )
        )
    guides = []
    for n in range(mentors):
        chapter, speaks, learning, zone = person()
        expertise = " ".join(rng.sample(topics, rng.randint(0, 4)))
        ident = rng.randint(1, mentees) if rng.random() < 0.2 else 100 + n
        guides.append(
            mentor(
                ident, speaks, expertise, chapter=chapter, learning=learning, zone=zone, capacity=rng.randint(*capacity)
            )
        )
    guides = list({m.id: m for m in guides}.values())
    previous = [(rng.randint(1, mentees), rng.choice(guides).id) for _ in range(mentees // 4)]
    return people, guides, previous


def check_constraints(
    result: MatchResult,
    mentees: list[MenteeCandidate],
    mentors: list[MentorCandidate],
    previous: list[tuple[int, int]],
    rules: Rules,
) -> None:
    by_id = {m.id: m for m in mentors}
    who = {m.id: m for m in mentees}
    load = Counter(p.mentor_id for p in result.proposals)
    assert all(load[m] <= by_id[m].capacity for m in load)
    assert len({p.mentee_id for p in result.proposals}) == len(result.proposals)
    assert {p.mentee_id for p in result.proposals} | {u.mentee_id for u in result.unmatched} == set(who)
    for p in result.proposals:
        e, r = who[p.mentee_id], by_id[p.mentor_id]
        assert e.languages & r.languages and e.id != r.id
        assert rules.allow_rematch or (e.id, r.id) not in set(previous)
        assert not rules.partner_city_required or r.chapter in e.partner_chapters


# --- hard constraints and unmatched reasons ---


def test_a_shared_language_is_required() -> None:
    result = match([mentee(1, "ja")], [mentor(10, "fr de")], [])
    assert result.proposals == () and reasons(result) == {1: "no_shared_language"}
    assert pairs(match([mentee(1, "ja en")], [mentor(10, "fr"), mentor(11, "en")], [])) == {(1, 11)}


def test_never_oneself() -> None:
    me = [mentor(5, "fr", "a", capacity=3)]
    assert reasons(match([mentee(5, "fr", "a")], me, [])) == {5: "no_shared_language"}
    assert pairs(match([mentee(5, "fr", "a")], [*me, mentor(6, "fr")], [])) == {(5, 6)}


def test_previous_pairs_are_excluded_unless_a_rematch_is_allowed() -> None:
    people, guides = [mentee(1, "fr", "a")], [mentor(10, "fr", "a"), mentor(11, "de", "a")]
    result = match(people, guides, [(1, 10)])
    assert result.proposals == () and reasons(result) == {1: "only_previous"}
    assert pairs(match(people, guides, [(1, 10)], rules=Rules(allow_rematch=True))) == {(1, 10)}
    assert pairs(match(people, [*guides, mentor(12, "fr")], [(1, 10)])) == {(1, 12)}


def test_partner_city_rule() -> None:
    people = [mentee(1, "en", "a b", partners="frankfurt")]
    far = mentor(10, "en", "a b", chapter="yokohama", zone=TOKYO)
    rule = Rules(partner_city_required=True)
    assert reasons(match(people, [far], [], rules=rule)) == {1: "no_partner_city"}
    assert pairs(match(people, [far], [])) == {(1, 10)}
    partner = mentor(11, "en", chapter="frankfurt", zone="Europe/Berlin")
    assert pairs(match(people, [far, partner], [], Weights(partner_city=0.1), rule)) == {(1, 11)}
    assert pairs(match(people, [far, partner], [], Weights(partner_city=0.1))) == {(1, 10)}


def test_reason_codes_are_checked_in_order() -> None:
    rule = Rules(partner_city_required=True)
    people = [
        mentee(1, "ja"),
        mentee(2, "fr", partners="frankfurt"),
        mentee(3, "fr", partners="lyon"),
        mentee(4, "fr", partners="lyon"),
        mentee(5, "fr", partners="lyon"),
    ]
    guides = [mentor(10, "fr", chapter="lyon", capacity=1), mentor(11, "fr", chapter="lyon", capacity=0)]
    result = match(people, guides, [(3, 10), (3, 11)], rules=rule)
    assert {n: reasons(result)[n] for n in (1, 2, 3)} == {
        1: "no_shared_language",
        2: "no_partner_city",
        3: "only_previous",
    }
    assert len(result.proposals) == 1 and {result.proposals[0].mentee_id, *reasons(result)} == {1, 2, 3, 4, 5}
    assert list(reasons(result).values()).count("no_capacity") == 1


def test_capacity_is_respected_and_full_mentors_give_no_capacity() -> None:
    people = [mentee(n, "fr", "a") for n in range(1, 6)]
    result = match(people, [mentor(10, "fr", "a", capacity=2)], [])
    assert len(result.proposals) == 2 and set(reasons(result).values()) == {"no_capacity"}
    assert reasons(match(people[:1], [mentor(10, "fr", "a", capacity=0)], [])) == {1: "no_capacity"}


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_keep_every_hard_constraint(seed: int) -> None:
    people, guides, previous = network(seed, 60, 20, capacity=(0, 3))
    for rules in (Rules(candidates=3), Rules(partner_city_required=True), Rules(allow_rematch=True)):
        for run in (match, greedy):
            check_constraints(run(people, guides, previous, Weights(), rules), people, guides, previous, rules)


def test_a_pair_scoring_zero_is_still_matched() -> None:
    weights = Weights(interests=0, partner_city=0, waking_hours=0, language_exchange=0)
    result = match([mentee(1, "fr")], [mentor(10, "fr")], [], weights)
    assert pairs(result) == {(1, 10)} and result.total_score == 0


def test_incremental_runs_fill_remaining_capacity_only() -> None:
    first = match([mentee(1, "fr", "a")], [mentor(10, "fr", "a", capacity=1), mentor(11, "fr", capacity=1)], [])
    assert pairs(first) == {(1, 10)}
    remaining = [mentor(10, "fr", "a", capacity=0), mentor(11, "fr", capacity=1)]
    second = match([mentee(2, "fr", "a"), mentee(3, "fr", "a")], remaining, list(pairs(first)))
    assert pairs(second) in ({(2, 11)}, {(3, 11)}) and set(reasons(second).values()) == {"no_capacity"}


# --- scores and reasons ---


def test_reasons_are_sorted_by_contribution_with_details() -> None:
    person = mentee(1, "fr en", "a b", learning="ja", partners="yokohama", preferred="yokohama")
    guide = mentor(10, "ja en", "a c", chapter="yokohama", learning="fr", zone=TOKYO)
    score, why = score_pair(person, guide, Weights(language_exchange=0.8))
    assert why == (
        Reason("partner_city", "yokohama"),
        Reason("interests", "a"),
        Reason("preferred_city", "yokohama"),
        Reason("language_exchange", "fr↔ja"),
        Reason("waking_hours", "6"),
        Reason("shared_language", "en"),
    )
    assert score == pytest.approx(2.0 + 1.5 + 1.0 + 0.8 + 6 / 14)
    result = match([person], [guide], [], Weights(language_exchange=0.8))
    assert result.proposals[0].reasons == why and result.total_score == score


def test_parts_that_give_nothing_are_left_out() -> None:
    score, why = score_pair(mentee(1, "fr", "a"), mentor(10, "fr", "b", chapter="philadelphia"), Weights())
    assert why == (Reason("waking_hours", "14"), Reason("shared_language", "fr")) and score == 1.0


def test_waking_hours_overlap() -> None:
    assert waking_overlap_hours(PARIS, TOKYO) == waking_overlap_hours(TOKYO, PARIS) == 6.0  # 07–13 UTC in January
    assert waking_overlap_hours(PARIS, PARIS) == waking_overlap_hours(TOKYO, TOKYO) == 14.0
    assert waking_overlap_hours(PARIS, NEW_YORK) == 8.0
    assert waking_overlap_hours(TOKYO, NEW_YORK) == 4.0  # both ends of the day
    assert waking_overlap_hours("Asia/Kolkata", "UTC") == 8.5
    assert waking_overlap_hours("Not/AZone", "UTC") == 14.0  # read as UTC


@pytest.mark.parametrize("tags", [8, 100])  # 100: the tag bitmasks take two words
def test_numpy_scores_equal_score_pair(tags: int) -> None:
    people, guides, previous = network(3, 40, 25, tags=tags)
    matrix = allowed_scores(people, guides, previous)
    for i, person in enumerate(people):
        for j, guide in enumerate(guides):
            allowed = person.languages & guide.languages and person.id != guide.id
            if allowed and (person.id, guide.id) not in set(previous):
                assert matrix[i, j] == score_pair(person, guide, Weights())[0]
            else:
                assert matrix[i, j] == -np.inf


def test_popcount_without_numpy_2(monkeypatch: pytest.MonkeyPatch) -> None:
    words = np.array([[0, 1, 2**64 - 1, 0b1011 << 40]], dtype=np.uint64)
    expected = scoring._popcount(words)
    monkeypatch.delattr(np, "bitwise_count")
    assert scoring._popcount(words).tolist() == expected.tolist() == [[0, 1, 64, 3]]


# --- the best total, determinism ---


def flow_value(result: MatchResult) -> int:
    """What the flow maximises: each pair's score in thousandths, plus one."""
    return sum(round(p.score * 1000) + 1 for p in result.proposals)


def optimum(
    people: list[MenteeCandidate],
    guides: list[MentorCandidate],
    previous: list[tuple[int, int]],
    rules: Rules | None = None,
) -> int:
    """SciPy's assignment on the slot-expanded matrix of every allowed pair (0 where not allowed)."""
    optimize = pytest.importorskip("scipy.optimize")
    scores = allowed_scores(people, guides, previous, Weights(), rules or Rules())
    value = np.where(np.isfinite(scores), np.rint(scores * 1000) + 1, 0)
    slots = np.repeat(value, [max(0, m.capacity) for m in guides], axis=1)
    rows, cols = optimize.linear_sum_assignment(slots, maximize=True)
    return int(slots[rows, cols].sum())


@pytest.mark.parametrize("seed", range(12))
def test_the_total_is_optimal_on_small_networks(seed: int) -> None:
    people, guides, previous = network(seed, 30, 10)
    rules = Rules(candidates=len(guides), partner_city_required=seed % 3 == 0)
    assert flow_value(match(people, guides, previous, Weights(), rules)) == optimum(people, guides, previous, rules)


@pytest.mark.parametrize("seed", range(4))
def test_few_candidates_still_come_close(seed: int) -> None:
    people, guides, previous = network(100 + seed, 200, 40)
    best = optimum(people, guides, previous)
    ours = flow_value(match(people, guides, previous, rules=Rules(candidates=6)))
    assert 0.99 * best <= ours <= best
    assert flow_value(greedy(people, guides, previous, rules=Rules(candidates=6))) <= ours


def test_greedy_can_be_worse_than_the_solver() -> None:
    people = [mentee(1, "fr", "a b"), mentee(2, "de", "a c")]
    guides = [mentor(10, "fr de", "a b"), mentor(11, "fr", "a")]
    assert pairs(greedy(people, guides, [])) == {(1, 10)}
    best = match(people, guides, [])
    assert pairs(best) == {(1, 11), (2, 10)} and best.total_score == 5.0 > greedy(people, guides, []).total_score


def test_same_input_in_any_order_gives_the_same_result() -> None:
    people, guides, previous = network(7, 80, 25)
    first = match(people, guides, previous, rules=Rules(candidates=4))
    rng = random.Random(1)
    for _ in range(3):
        rng.shuffle(people)
        rng.shuffle(guides)
        rng.shuffle(previous)
        assert match(people, guides, set(previous), rules=Rules(candidates=4)) == first


def test_equal_mentees_spread_over_equal_mentors() -> None:
    people = [mentee(n, "fr", "a") for n in range(1, 41)]
    guides = [mentor(100 + n, "fr", "a") for n in range(40)]
    assert len(match(people, guides, [], rules=Rules(candidates=2)).proposals) == 40


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        match([mentee(1)], [mentor(10)], [], rules=Rules(candidates=0))
    with pytest.raises(ValueError):
        match([mentee(1), mentee(1)], [mentor(10)], [])


def test_nobody_to_match() -> None:
    assert match([], [mentor(10)], []) == MatchResult((), (), 0.0)
    assert match([mentee(1)], [], []) == MatchResult((), (Unmatched(1, "no_shared_language"),), 0.0)
