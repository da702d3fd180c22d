"""Survey results at scale: a generated database of 1,000,000 answer rows across 20 surveys
(20,000 members with identities over the configured chapters, 5-8 questions per survey mixing
rating, NPS, single and multiple choice and free text, invitations, responses, some of them
anonymous, most completed), created through the real migrations and filled with bulk Core
inserts. One survey (``CHOSEN``) holds exactly a twentieth of the answer rows: 50,000.

Measures ``bot.surveys.results.compute`` - everything ``/survey results`` shows: turnout per
chapter, tallies per question, chapter, value and language, the latest free-text samples - for
that survey, warm: the median of ``--runs`` runs, each in a fresh unit of work that also gets the
survey. Also every survey's results one after the other (``*_all_ms``) and the time of each query
(``*_queries_ms``). On SQLite (a temporary file, after ANALYZE) and on PostgreSQL (a database of
its own, created and dropped here, after VACUUM ANALYZE) when ``--postgres URL``,
TWINBOT_BENCH_POSTGRES_URL or TWINBOT_TEST_DATABASE_URL names a server, or else when one answers
at 127.0.0.1:5432 within 2 s; ``postgres_ms`` is null when none does.

Baseline: the same ``compute`` over a repository that does not read what answers and invitations
carry (their survey's chapter): answers are joined to their responses to filter by survey and
group by chapter, invitations to the members for their home chapter; grouping stays in SQL.
``ratio`` = baseline / ours. Goal: one survey's results <= 20 ms on SQLite, <= 10 ms on
PostgreSQL.

Prints one JSON line. Run from the repository root: ``.venv/bin/python bench/survey_report.py``
(``--answers 50000`` for a quick run).
"""

from __future__ import annotations

import argparse
import builtins
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pgtools import postgres_database, postgres_server
from sqlalchemy import Connection, Table, case, func, insert, select

from adapters.bootstrap import App, bootstrap
from bot.audience import Audience
from bot.surveys.model import Kind, Question, Survey, SurveyStatus
from bot.surveys.results import SurveyResults, Tally, Turnout, compute
from config import load_settings
from storage.models import (
    IdentityRow,
    MemberRow,
    SurveyAnswerRow,
    SurveyInviteRow,
    SurveyResponseRow,
)
from storage.repositories.surveys import SqlSurveyRepository

ANSWERS = 1_000_000
SURVEYS = 20
CHOSEN = 7  # the survey measured alone; it holds ANSWERS // SURVEYS answer rows
MEMBERS_PER_ANSWER = 0.02  # 20,000 members for a million answer rows
CHAPTER_SHARES = (0.45, 0.35, 0.20)  # of the members, by the configured chapters' order
INCOMPLETE = 0.12  # responses that stopped before the last question
ANONYMOUS = 0.25  # surveys
BATCH = 10_000
RUNS = 15
WARMUP = 3
ALL_RUNS = 3
BASELINE_RUNS = 5
SEED = 20261129
GOAL_SQLITE_MS = 20
GOAL_POSTGRES_MS = 10
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

_members: Table = MemberRow.__table__  # type: ignore[assignment]
_identities: Table = IdentityRow.__table__  # type: ignore[assignment]
_invites: Table = SurveyInviteRow.__table__  # type: ignore[assignment]
_responses: Table = SurveyResponseRow.__table__  # type: ignore[assignment]
_answers: Table = SurveyAnswerRow.__table__  # type: ignore[assignment]

# --- what members are called, are asked and write ------------------------------------------

NAMES = {
    "lyon": (
        ("Camille", "Louis", "Chloé", "Hugo", "Léa", "Mathis", "Manon", "Nathan", "Inès", "Jules"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"),
    ),
    "frankfurt": (
        ("Lukas", "Anna", "Leon", "Mia", "Finn", "Emma", "Jonas", "Lena", "Paul", "Hannah"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Schulz"),
    ),
    "yokohama": (
        ("Haruto", "Yui", "Sota", "Hina", "Riku", "Aoi", "Yuto", "Mei", "Kaito", "Sakura"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato"),
    ),
}
OTHER_NAMES = (("Alex", "Sam", "Kim", "Noa", "Robin"), ("Lee", "Costa", "Silva", "Novak", "Berg"))
INTERESTS = ("jazz", "cycling", "cooking", "football", "photography", "hiking", "theatre", "choir", "chess")

RATING_QUESTIONS = (
    {
        "en": "How would you rate the last exchange visit?",
        "fr": "Comment évaluez-vous la dernière visite d'échange ?",
        "de": "Wie bewerten Sie den letzten Austauschbesuch?",
        "ja": "前回の交流訪問はいかがでしたか？",
    },
    {
        "en": "How useful were the online meetups?",
        "fr": "Les rencontres en ligne vous ont-elles été utiles ?",
        "de": "Wie nützlich waren die Online-Treffen?",
        "ja": "オンライン交流会は役に立ちましたか？",
    },
    {
        "en": "How well were you welcomed by your host family?",
        "fr": "Comment avez-vous été accueilli par votre famille d'accueil ?",
        "de": "Wie wurden Sie von Ihrer Gastfamilie empfangen?",
        "ja": "ホストファミリーの歓迎はいかがでしたか？",
    },
)
NPS_QUESTIONS = (
    {
        "en": "How likely are you to recommend the twinning circle to a friend?",
        "fr": "Recommanderiez-vous le cercle de jumelage à un ami ?",
        "de": "Wie wahrscheinlich empfehlen Sie den Partnerschaftskreis weiter?",
        "ja": "この姉妹都市の会を友人に勧めたいですか？",
    },
)
SINGLE_QUESTIONS = (
    (
        {"en": "When should we meet?", "fr": "Quand devrions-nous nous retrouver ?", "de": "Wann treffen wir uns?"},
        ("Weekday evening", "Saturday", "Sunday", "Online"),
    ),
    (
        {
            "en": "How did you hear about us?",
            "fr": "Comment nous avez-vous connus ?",
            "de": "Wie haben Sie uns gefunden?",
        },
        ("Friends", "Social media", "Town hall", "School", "Newsletter"),
    ),
    (
        {
            "en": "How often should we write?",
            "fr": "À quelle fréquence vous écrire ?",
            "de": "Wie oft sollen wir schreiben?",
        },
        ("Weekly", "Monthly", "Only for events"),
    ),
)
MULTI_QUESTIONS = (
    (
        {"en": "Which activities would you join?", "fr": "À quelles activités participeriez-vous ?"},
        ("Language tandem", "Cooking evening", "City walk", "Hosting a visitor", "Choir", "Football"),
    ),
    (
        {"en": "Which topics interest you?", "fr": "Quels sujets vous intéressent ?"},
        ("Schools", "Sports", "Culture", "Business", "Environment"),
    ),
)
TEXT_QUESTIONS = (
    {"en": "What should we do differently?", "fr": "Que devrions-nous changer ?", "de": "Was sollten wir ändern?"},
    {"en": "Anything else you want to tell us?", "fr": "Autre chose à nous dire ?", "de": "Sonst noch etwas?"},
)
FREE_TEXTS = {
    "en": (
        "The {} was great, thank you!",
        "More {} next time, please.",
        "I could not come to the {}.",
        "{}: too short.",
    ),
    "fr": (
        "Le {} était super, merci !",
        "Plus de {} la prochaine fois.",
        "Je n'ai pas pu venir au {}.",
        "{} : trop court.",
    ),
    "de": (
        "Das {} war toll, danke!",
        "Bitte mehr {} beim nächsten Mal.",
        "Ich konnte nicht zum {} kommen.",
        "{}: zu kurz.",
    ),
    "ja": ("{}はとても良かったです。", "次回はもっと{}を。", "{}に参加できませんでした。", "{}は短すぎました。"),
    "es": ("¡El {} fue genial, gracias!", "Más {} la próxima vez.", "No pude ir al {}.", "{}: demasiado corto."),
}
TOPICS = {
    "en": ("exchange visit", "cooking evening", "city walk", "concert", "tandem"),
    "fr": ("voyage d'échange", "dîner", "tour de ville", "concert", "tandem"),
    "de": ("Austauschtreffen", "Kochabend", "Stadtrundgang", "Konzert", "Tandem"),
    "ja": ("交流訪問", "料理の夕べ", "街歩き", "コンサート", "タンデム"),
    "es": ("intercambio", "cena", "paseo", "concierto", "tándem"),
}
RATING_WEIGHTS = (3, 7, 18, 40, 32)
NPS_WEIGHTS = (2, 1, 1, 2, 2, 5, 6, 12, 20, 24, 25)


def _labels(label: str) -> dict[str, str]:
    return {"en": label}


# --- the plan: members, surveys and how many answer rows each holds ------------------------


@dataclass(frozen=True)
class MemberSpec:
    id: int
    chapter: str
    languages: tuple[str, ...]


@dataclass
class SurveySpec:
    survey: Survey
    invitees: list[MemberSpec]
    target: int  # answer rows
    # per (question, chapter): cumulative weights of the values, or per-option pick chances
    weights: dict[tuple[int, str], list[float]] = field(default_factory=dict)


@dataclass
class Loaded:
    members: int = 0
    identities: int = 0
    invites: int = 0
    responses: int = 0
    answers: int = 0
    survey_answers: int = 0
    survey_responses: int = 0
    survey_questions: int = 0


def _plan_members(rng: random.Random, app: App, count: int) -> list[MemberSpec]:
    chapters = app.network.chapters
    shares = [CHAPTER_SHARES[i] if i < len(CHAPTER_SHARES) else 0.1 for i in range(len(chapters))]
    members = []
    for member_id in range(1, count + 1):
        chapter = rng.choices(chapters, weights=shares)[0]
        own = chapter.languages or (app.network.default_language,)
        roll = rng.random()
        if roll < 0.3:
            languages = own[:1]
        elif roll < 0.9:
            languages = own
        else:
            languages = (*own, "es")
        members.append(MemberSpec(member_id, chapter.code, languages))
    return members


def _questions(rng: random.Random, kinds: Sequence[Kind]) -> tuple[Question, ...]:
    found = []
    for kind in kinds:
        if kind is Kind.RATING:
            found.append(Question(kind, rng.choice(RATING_QUESTIONS)))
        elif kind is Kind.NPS:
            found.append(Question(kind, rng.choice(NPS_QUESTIONS)))
        elif kind in (Kind.SINGLE, Kind.MULTI):
            texts, options = rng.choice(SINGLE_QUESTIONS if kind is Kind.SINGLE else MULTI_QUESTIONS)
            found.append(Question(kind, texts, tuple(_labels(o) for o in options)))
        else:
            found.append(Question(kind, rng.choice(TEXT_QUESTIONS), required=False))
    return tuple(found)


def _expected_rows(questions: Sequence[Question]) -> float:
    rows = {Kind.RATING: 1.0, Kind.NPS: 1.0, Kind.SINGLE: 1.0, Kind.TEXT: 0.65}
    return sum(rows.get(q.kind, 1 + 0.35 * len(q.options)) for q in questions)


def _plan_surveys(rng: random.Random, app: App, members: list[MemberSpec], answers: int) -> list[SurveySpec]:
    codes = [c.code for c in app.network.chapters]
    chosen_target = answers // SURVEYS
    specs: list[SurveySpec] = []
    weights: list[float] = []
    for number in range(1, SURVEYS + 1):
        if number == CHOSEN:
            kinds = [Kind.RATING, Kind.NPS, Kind.SINGLE, Kind.MULTI, Kind.RATING, Kind.TEXT, Kind.SINGLE, Kind.TEXT]
            chapters: tuple[str, ...] = ()
            anonymous = False
        else:
            extra = rng.choices(
                [Kind.RATING, Kind.NPS, Kind.SINGLE, Kind.MULTI, Kind.TEXT],
                weights=[3, 1, 2, 2, 1],
                k=rng.randint(3, 6),
            )
            kinds = [rng.choice([Kind.RATING, Kind.NPS]), *extra, Kind.TEXT]
            chapters = () if rng.random() < 0.7 else tuple(sorted(rng.sample(codes, rng.randint(1, 2))))
            anonymous = rng.random() < ANONYMOUS
        created = START + timedelta(days=17 * (number - 1))
        is_open = number > SURVEYS - 2
        survey = Survey(
            title={"en": f"Survey {number}: our twinning year", "fr": f"Enquête {number} : notre année de jumelage"},
            questions=_questions(rng, kinds),
            audience=Audience(chapters=chapters),
            created_at=created,
            status=SurveyStatus.OPEN if is_open else SurveyStatus.CLOSED,
            anonymous=anonymous,
            opens_at=created,
            closes_at=created + timedelta(days=14),
            reminders=(timedelta(days=2),),
            reminders_sent=0 if is_open else 1,
            author_id=rng.choice(members).id,
            salt=rng.randbytes(16).hex() if anonymous and is_open else None,
        )
        invitees = [m for m in members if not chapters or m.chapter in chapters]
        survey.invited = len(invitees)
        specs.append(SurveySpec(survey, invitees, chosen_target))
        weights.append(
            0.0 if number == CHOSEN else len(invitees) * _expected_rows(survey.questions) * rng.uniform(0.25, 0.6)
        )
    rest = answers - chosen_target
    others = [i for i in range(SURVEYS) if i != CHOSEN - 1]
    for i in others:
        specs[i].target = int(rest * weights[i] / sum(weights))
    specs[others[-1]].target += rest - sum(specs[i].target for i in others)
    return specs


# --- generating rows -------------------------------------------------------------------------

Row = tuple[int, int | None, str | None, str | None]  # question, value, text, language


def _cumulative(values: Sequence[float]) -> list[float]:
    total, found = 0.0, []
    for v in values:
        total += v
        found.append(total)
    return found


def _weights(rng: random.Random, spec: SurveySpec, question: int, chapter: str) -> list[float]:
    key = (question, chapter)
    if key not in spec.weights:
        q = spec.survey.questions[question]
        if q.kind is Kind.RATING:
            spec.weights[key] = _cumulative([w * rng.uniform(0.6, 1.4) for w in RATING_WEIGHTS])
        elif q.kind is Kind.NPS:
            spec.weights[key] = _cumulative([w * rng.uniform(0.6, 1.4) for w in NPS_WEIGHTS])
        elif q.kind is Kind.SINGLE:
            spec.weights[key] = _cumulative([rng.uniform(0.2, 1.2) for _ in q.options])
        else:  # multi: the chance each option is picked
            spec.weights[key] = [rng.uniform(0.1, 0.6) for _ in q.options]
    return spec.weights[key]


def _free_text(rng: random.Random, member: MemberSpec) -> tuple[str, str]:
    language = member.languages[0] if rng.random() < 0.7 else rng.choice(member.languages)
    language = language if language in FREE_TEXTS else "en"
    text = rng.choice(FREE_TEXTS[language]).format(rng.choice(TOPICS[language]))
    return (text if rng.random() < 0.6 else f"{text} ({rng.randint(1, 999)})"), language


def _response_rows(rng: random.Random, spec: SurveySpec, member: MemberSpec) -> list[list[Row]]:
    """Each question's rows for one member's response, as put_answer stores them."""
    found: list[list[Row]] = []
    for i, q in enumerate(spec.survey.questions):
        if q.kind is Kind.TEXT:
            if rng.random() < 0.35:  # optional, skipped
                found.append([])
                continue
            text, language = _free_text(rng, member)
            found.append([(i, None, text, language)])
            continue
        weights = _weights(rng, spec, i, member.chapter)
        if q.kind is Kind.MULTI:
            picks: list[Row] = [(i, o, None, None) for o, chance in enumerate(weights) if rng.random() < chance]
            found.append([*picks, (i, None, None, None)])  # the last row marks the answer itself
        else:
            found.append([(i, rng.choices(q.valid_values(), cum_weights=weights)[0], None, None)])
    return found


def _cut(per_question: list[list[Row]], room: int) -> tuple[list[Row], int]:
    """The first ``room`` rows of a response, cut at an answer's end or inside a multiple
    choice answer (its marker kept), and the position it stopped at."""
    rows: list[Row] = []
    for position, answer in enumerate(per_question):
        if len(rows) + len(answer) <= room:
            rows += answer
            continue
        left = room - len(rows)
        if not left:
            return rows, position
        rows += [*answer[: left - 1], answer[-1]]  # only multiple choice answers have several rows
        return rows, position + 1
    return rows, len(per_question)


def _survey_rows(
    rng: random.Random, spec: SurveySpec, first_response: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    survey = spec.survey
    assert survey.id is not None
    invites = [{"survey_id": survey.id, "member_id": m.id, "chapter": m.chapter} for m in spec.invitees]
    responses: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    order = list(spec.invitees)
    rng.shuffle(order)
    for member in order:
        room = spec.target - len(answers)
        if room <= 0:
            break
        per_question = _response_rows(rng, spec, member)
        count = len(per_question)
        if rng.random() < INCOMPLETE:
            per_question = per_question[: rng.randint(1, count - 1)]
        rows, position = _cut(per_question, room)
        response_id = first_response + len(responses)
        responses.append(
            {
                "id": response_id,
                "survey_id": survey.id,
                "token": rng.randbytes(32).hex() if survey.anonymous else f"m{member.id}",
                "member_id": None if survey.anonymous else member.id,
                "chapter": member.chapter,
                "position": position,
                "completed": position == count,
            }
        )
        common = {"survey_id": survey.id, "response_id": response_id, "chapter": member.chapter}
        answers += [{**common, "question": q, "value": v, "text": t, "language": lang} for q, v, t, lang in rows]
    if len(answers) != spec.target:
        raise RuntimeError(f"survey {survey.id}: {len(spec.invitees)} invitees gave too few answers")
    return invites, responses, answers


def _member_rows(
    rng: random.Random, app: App, members: list[MemberSpec]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, identities = [], []
    for m in members:
        first, last = NAMES.get(m.chapter, OTHER_NAMES)
        chapter = app.network.chapter(m.chapter)
        consent = START - timedelta(days=rng.randint(1, 700), minutes=rng.randint(0, 1439))
        rows.append(
            {
                "id": m.id,
                "display_name": f"{rng.choice(first)} {rng.choice(last)}",
                "home_chapter": m.chapter,
                "languages": list(m.languages),
                "interests": rng.sample(INTERESTS, rng.randint(0, 3)),
                "time_zone": chapter.time_zone if chapter else None,
                "bio": "",
                "is_mentor": rng.random() < 0.1,
                "is_mentee": rng.random() < 0.15,
                "preferred_language": m.languages[0] if rng.random() < 0.8 else None,
                "detected_language": None,
                "announcements_muted": rng.random() < 0.05,
                "quiet_start": None,
                "quiet_end": None,
                "announcement_dms": rng.random() < 0.3,
                "consent_at": consent,
                "created_at": consent,
                "updated_at": consent,
            }
        )
        platforms = [p for p, chance in (("telegram", 0.75), ("discord", 0.35)) if rng.random() < chance]
        for platform in platforms or ["telegram"]:
            user_id = str(5_000_000_000 + m.id * 37) if platform == "telegram" else str(10**17 + m.id * 7919)
            identities.append(
                {
                    "member_id": m.id,
                    "platform": platform,
                    "user_id": user_id,
                    "unreachable": False,
                    "created_at": consent,
                }
            )
    return rows, identities


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(table), rows[start : start + BATCH])


def load(app: App, answers: int, seed: int) -> tuple[Loaded, list[int]]:
    """Fill a freshly migrated database; the same seed gives the same rows on every backend."""
    rng = random.Random(seed)
    members = _plan_members(rng, app, max(150, round(answers * MEMBERS_PER_ANSWER)))
    specs = _plan_surveys(rng, app, members, answers)
    member_rows, identity_rows = _member_rows(rng, app, members)
    loaded = Loaded(members=len(member_rows), identities=len(identity_rows))
    with app.engine.begin() as connection:
        _insert(connection, _members, member_rows)
        _insert(connection, _identities, identity_rows)
    with app.uow_factory() as uow:
        ids = [uow.surveys.add(spec.survey).id or 0 for spec in specs]
        uow.commit()
    with app.engine.begin() as connection:
        for spec in specs:
            invites, responses, rows = _survey_rows(rng, spec, loaded.responses + 1)
            _insert(connection, _invites, invites)
            _insert(connection, _responses, responses)
            _insert(connection, _answers, rows)
            loaded.invites += len(invites)
            loaded.responses += len(responses)
            loaded.answers += len(rows)
            if spec.survey.id == ids[CHOSEN - 1]:
                loaded.survey_answers = len(rows)
                loaded.survey_responses = len(responses)
                loaded.survey_questions = len(spec.survey.questions)
        if connection.dialect.name == "postgresql":  # ids were given: move the sequences past them
            for table in ("members", "survey_responses"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with app.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return loaded, ids


# --- the baseline ----------------------------------------------------------------------------


class PlainJoinSurveys(SqlSurveyRepository):
    """The result queries without the columns answers and invitations carry: answers are
    found and grouped through their responses, invitations through their members."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._plain = session

    def turnout(self, survey_id: int) -> builtins.list[Turnout]:
        i, m, r = SurveyInviteRow, MemberRow, SurveyResponseRow
        invited = dict(
            self._plain.execute(
                select(m.home_chapter, func.count())
                .join(i, i.member_id == m.id)
                .where(i.survey_id == survey_id)
                .group_by(m.home_chapter)
            ).all()
        )
        started = {
            c: (int(n), int(done or 0))
            for c, n, done in self._plain.execute(
                select(r.chapter, func.count(), func.sum(case((r.completed.is_(True), 1), else_=0)))
                .where(r.survey_id == survey_id)
                .group_by(r.chapter)
            )
        }
        chapters = sorted(set(invited) | set(started), key=lambda c: c or "")
        return [Turnout(c, int(invited.get(c, 0)), *started.get(c, (0, 0))) for c in chapters]

    def tallies(self, survey_id: int) -> builtins.list[Tally]:
        a, r = SurveyAnswerRow, SurveyResponseRow
        rows = self._plain.execute(
            select(a.question, r.chapter, a.value, a.language, func.count())
            .join(r, r.id == a.response_id)
            .where(r.survey_id == survey_id)
            .group_by(a.question, r.chapter, a.value, a.language)
        )
        return [Tally(q, c, v, lang, int(n)) for q, c, v, lang, n in rows]

    def texts(
        self, survey_id: int, questions: builtins.list[int], per_question: int
    ) -> builtins.list[tuple[int, str, str | None]]:
        a, r = SurveyAnswerRow, SurveyResponseRow
        found: list[tuple[int, str, str | None]] = []
        for question in questions:
            rows = self._plain.execute(
                select(a.text, a.language)
                .join(r, r.id == a.response_id)
                .where(r.survey_id == survey_id, a.question == question)
                .order_by(a.id.desc())
                .limit(per_question)
            )
            found += [(question, text, lang) for text, lang in rows if text is not None]
        return found


# --- measuring -------------------------------------------------------------------------------


def _results(app: App, survey_id: int, plain: bool = False) -> SurveyResults:
    with app.uow_factory() as uow:
        if plain:
            uow.surveys = PlainJoinSurveys(uow.session)  # type: ignore[attr-defined]
        survey = uow.surveys.get(survey_id)
        assert survey is not None
        return compute(uow, survey, app.settings.network.survey_min_group)


def _median_ms(action: Callable[[], object], runs: int, warmup: int = WARMUP) -> float:
    for _ in range(warmup):
        action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _queries_ms(app: App, survey_id: int, runs: int) -> dict[str, float]:
    """Each repository call of compute() on its own, median of ``runs``."""
    times: dict[str, list[float]] = {"get": [], "turnout": [], "tallies": [], "texts": []}
    for _ in range(runs):
        with app.uow_factory() as uow:
            started = time.perf_counter()
            survey = uow.surveys.get(survey_id)
            assert survey is not None and survey.id is not None
            marks = [time.perf_counter()]
            uow.surveys.turnout(survey.id)
            marks.append(time.perf_counter())
            uow.surveys.tallies(survey.id)
            marks.append(time.perf_counter())
            uow.surveys.texts(survey.id, [i for i, q in enumerate(survey.questions) if q.kind is Kind.TEXT], 10)
            marks.append(time.perf_counter())
        for name, begin, end in zip(times, [started, *marks[:-1]], marks, strict=True):
            times[name].append((end - begin) * 1000)
    return {name: round(statistics.median(found), 2) for name, found in times.items()}


@dataclass
class Figures:
    ms: float
    all_ms: float
    queries_ms: dict[str, float]
    baseline_ms: float
    baseline_all_ms: float
    results: SurveyResults
    same_as_baseline: bool
    generate_s: float
    loaded: Loaded


def measure(app: App, answers: int, seed: int, runs: int) -> Figures:
    started = time.perf_counter()
    loaded, ids = load(app, answers, seed)
    generate_s = time.perf_counter() - started
    chosen = ids[CHOSEN - 1]
    ms = _median_ms(lambda: _results(app, chosen), runs)
    all_ms = _median_ms(lambda: [_results(app, s) for s in ids], ALL_RUNS, warmup=1)
    queries = _queries_ms(app, chosen, runs)
    baseline_ms = _median_ms(lambda: _results(app, chosen, plain=True), BASELINE_RUNS, warmup=1)
    baseline_all_ms = _median_ms(lambda: [_results(app, s, plain=True) for s in ids], 1, warmup=0)
    ours = _results(app, chosen)
    same = all(_results(app, s) == _results(app, s, plain=True) for s in ids)
    return Figures(ms, all_ms, queries, baseline_ms, baseline_all_ms, ours, same, generate_s, loaded)


def _run(url: str, answers: int, seed: int, runs: int) -> Figures:
    app = bootstrap(load_settings(database_url=url))
    try:
        return measure(app, answers, seed, runs)
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=ANSWERS, help="answer rows in all (default 1,000,000)")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to create the bench database on")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--runs", type=int, default=RUNS, help="timed runs of one survey's results")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        lite = _run(f"sqlite:///{directory}/survey_report.db", args.answers, args.seed, args.runs)
    server, skipped = (None, "--no-postgres") if args.no_postgres else postgres_server(args.postgres)
    pg: Figures | None = None
    if server:
        with postgres_database(server) as url:
            pg = _run(url, args.answers, args.seed, args.runs)

    def figure(value: float | None, digits: int = 1) -> float | None:
        return None if value is None else round(value, digits)

    loaded = lite.loaded
    print(
        json.dumps(
            {
                "bench": "survey_report",
                "answers": loaded.answers,
                "surveys": SURVEYS,
                "members": loaded.members,
                "identities": loaded.identities,
                "invites": loaded.invites,
                "responses": loaded.responses,
                "survey": CHOSEN,
                "survey_answers": loaded.survey_answers,
                "survey_responses": loaded.survey_responses,
                "survey_questions": loaded.survey_questions,
                "survey_completed": lite.results.completed,
                "sqlite_ms": figure(lite.ms),
                "postgres_ms": figure(pg.ms if pg else None),
                "sqlite_all_ms": figure(lite.all_ms),
                "postgres_all_ms": figure(pg.all_ms if pg else None),
                "sqlite_queries_ms": lite.queries_ms,
                "postgres_queries_ms": pg.queries_ms if pg else None,
                "baseline": "answers joined to responses (survey, chapter), invitations to members (chapter); "
                "grouped in SQL",
                "baseline_sqlite_ms": figure(lite.baseline_ms),
                "baseline_postgres_ms": figure(pg.baseline_ms if pg else None),
                "baseline_sqlite_all_ms": figure(lite.baseline_all_ms),
                "baseline_postgres_all_ms": figure(pg.baseline_all_ms if pg else None),
                "ratio_sqlite": figure(lite.baseline_ms / lite.ms),
                "ratio_postgres": figure(pg.baseline_ms / pg.ms if pg else None),
                "same_results": lite.same_as_baseline
                and (pg is None or (pg.same_as_baseline and pg.results == lite.results)),
                "goal_sqlite_ms": GOAL_SQLITE_MS,
                "goal_postgres_ms": GOAL_POSTGRES_MS,
                "sqlite_generate_s": figure(lite.generate_s),
                "postgres_generate_s": figure(pg.generate_s if pg else None),
                "postgres_skipped": skipped,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
