"""A survey's results, computed from grouped counts the database returns (never from
every answer row): turnout, per question mean / distribution / NPS / choice counts, free
texts with their language, and a per-chapter breakdown that hides groups that are too small."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.surveys.model import Kind, Question, Survey

if TYPE_CHECKING:
    from bot.ports import UnitOfWork

#: A chapter's figures are shown only when at least this many of its members completed.
MIN_GROUP = 5
#: Free-text answers listed per question in chat (the CSV has them all).
TEXT_SAMPLES = 10


@dataclass(frozen=True)
class Tally:
    """How many answers to ``question`` from ``chapter`` had ``value`` (and, for text,
    were in ``language``)."""

    question: int
    chapter: str | None
    value: int | None
    language: str | None
    count: int


@dataclass(frozen=True)
class Turnout:
    chapter: str | None
    invited: int
    started: int
    completed: int


@dataclass(frozen=True)
class Nps:
    promoters: int  # 9-10
    passives: int  # 7-8
    detractors: int  # 0-6

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> int:
        """% promoters - % detractors, rounded; 0 with no answers."""
        if not self.total:
            return 0
        return round(100 * (self.promoters - self.detractors) / self.total)


def nps_of(counts: dict[int, int]) -> Nps:
    return Nps(
        promoters=sum(n for v, n in counts.items() if v >= 9),
        passives=sum(n for v, n in counts.items() if 7 <= v <= 8),
        detractors=sum(n for v, n in counts.items() if v <= 6),
    )


def mean_of(counts: dict[int, int]) -> float | None:
    total = sum(counts.values())
    return sum(v * n for v, n in counts.items()) / total if total else None


@dataclass(frozen=True)
class QuestionResult:
    index: int
    question: Question
    answered: int  # responses that answered it (for multi: that picked at least one option)
    counts: dict[int, int] = field(default_factory=dict)  # scale value or option index -> answers
    texts: tuple[tuple[str, str | None], ...] = ()  # (text, language) samples, latest first
    languages: dict[str, int] = field(default_factory=dict)  # text answers per detected language

    @property
    def mean(self) -> float | None:
        return mean_of(self.counts) if self.question.kind in (Kind.RATING, Kind.NPS) else None

    @property
    def nps(self) -> Nps | None:
        return nps_of(self.counts) if self.question.kind is Kind.NPS else None


@dataclass(frozen=True)
class ChapterResult:
    chapter: str | None
    invited: int
    started: int
    completed: int
    suppressed: bool  # fewer than MIN_GROUP completed: no figures shown
    means: dict[int, float] = field(default_factory=dict)  # question index -> mean (rating)
    nps: dict[int, int] = field(default_factory=dict)  # question index -> NPS score


@dataclass(frozen=True)
class SurveyResults:
    survey: Survey
    invited: int
    started: int
    completed: int
    questions: tuple[QuestionResult, ...]
    chapters: tuple[ChapterResult, ...]

    @property
    def response_rate(self) -> float:
        return self.completed / self.invited if self.invited else 0.0

    def too_few(self, min_group: int) -> bool:
        """An anonymous survey shows no answers until ``min_group`` members completed it."""
        return self.survey.anonymous and self.completed < min_group


def hidden_groups(completed: dict[str | None, int], min_group: int, *, complementary: bool) -> set[str | None]:
    """The chapters whose figures are not shown: those with fewer than ``min_group``
    completed responses. With ``complementary`` (anonymous surveys), more are hidden until the
    hidden ones together reach ``min_group`` (or all are hidden): otherwise the total minus
    the shown chapters would give away a small chapter's answers."""
    hidden = {chapter for chapter, n in completed.items() if n < min_group}
    if not complementary:
        return hidden
    shown = sorted((n, chapter or "") for chapter, n in completed.items() if chapter not in hidden)
    by_name = {chapter or "": chapter for chapter in completed}
    while shown and 0 < sum(completed[c] for c in hidden) < min_group:
        _n, smallest = shown.pop(0)
        hidden.add(by_name[smallest])
    return hidden


def compute(uow: UnitOfWork, survey: Survey, min_group: int = MIN_GROUP, samples: int = TEXT_SAMPLES) -> SurveyResults:
    assert survey.id is not None
    turnout = uow.surveys.turnout(survey.id)
    tallies = uow.surveys.tallies(survey.id)
    free = [i for i, q in enumerate(survey.questions) if q.kind is Kind.TEXT]
    texts = uow.surveys.texts(survey.id, free, samples) if free else []
    answered: Counter[int] = Counter()
    by_question: dict[int, Counter[int]] = {}
    by_chapter: dict[tuple[str | None, int], Counter[int]] = {}
    languages: dict[int, Counter[str]] = {}
    for t in tallies:
        if t.question >= len(survey.questions):
            continue
        kind = survey.questions[t.question].kind
        if t.value is not None:
            by_question.setdefault(t.question, Counter())[t.value] += t.count
            by_chapter.setdefault((t.chapter, t.question), Counter())[t.value] += t.count
        elif kind is Kind.TEXT:
            languages.setdefault(t.question, Counter())[t.language or "?"] += t.count
        # A multiple choice answer is one row per option picked plus one row without a value,
        # which counts the answer itself; every other answer is exactly one row.
        if kind is not Kind.MULTI or t.value is None:
            answered[t.question] += t.count
    questions = tuple(
        QuestionResult(
            index=i,
            question=q,
            answered=answered[i],
            counts={v: by_question.get(i, Counter())[v] for v in q.valid_values()},
            # Anonymous answers are listed in a neutral order, not in the order people answered.
            texts=tuple(
                sorted(((t, lang) for qi, t, lang in texts if qi == i), key=lambda x: x[0])
                if survey.anonymous
                else ((t, lang) for qi, t, lang in texts if qi == i)
            ),
            languages=dict(languages.get(i, Counter()).most_common()),
        )
        for i, q in enumerate(survey.questions)
    )
    hidden = hidden_groups({t.chapter: t.completed for t in turnout}, min_group, complementary=survey.anonymous)
    chapters = tuple(_chapter(survey, t, by_chapter, t.chapter in hidden) for t in turnout)
    return SurveyResults(
        survey=survey,
        invited=sum(t.invited for t in turnout),
        started=sum(t.started for t in turnout),
        completed=sum(t.completed for t in turnout),
        questions=questions,
        chapters=tuple(sorted(chapters, key=lambda c: c.chapter or "")),
    )


def _chapter(
    survey: Survey, turnout: Turnout, by_chapter: dict[tuple[str | None, int], Counter[int]], suppressed: bool
) -> ChapterResult:
    means: dict[int, float] = {}
    scores: dict[int, int] = {}
    if not suppressed:
        for i, q in enumerate(survey.questions):
            counts = dict(by_chapter.get((turnout.chapter, i), Counter()))
            if q.kind is Kind.RATING and (mean := mean_of(counts)) is not None:
                means[i] = mean
            elif q.kind is Kind.NPS and counts:
                scores[i] = nps_of(counts).score
    return ChapterResult(
        chapter=turnout.chapter,
        invited=turnout.invited,
        started=turnout.started,
        completed=turnout.completed,
        suppressed=suppressed,
        means=means,
        nps=scores,
    )
