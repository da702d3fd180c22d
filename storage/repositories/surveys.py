"""Surveys, invitations, responses and answers; results are counted in the database."""

from __future__ import annotations

import builtins
from datetime import timedelta
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from bot.audience import Audience
from bot.surveys.model import Answer, Question, Response, Survey, SurveyStatus
from bot.surveys.results import Tally, Turnout
from storage.models import SurveyAnswerRow, SurveyInviteRow, SurveyResponseRow, SurveyRow
from storage.repositories.delivery import _insert

_ACTIVE = (SurveyStatus.SCHEDULED.value, SurveyStatus.OPEN.value)


class SqlSurveyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # --- surveys ---------------------------------------------------------------------------

    def add(self, survey: Survey) -> Survey:
        row = SurveyRow()
        _copy(survey, row)
        self._session.add(row)
        self._session.flush()
        survey.id = row.id
        return survey

    def get(self, survey_id: int, *, lock: bool = False) -> Survey | None:
        row = self._session.get(SurveyRow, survey_id, with_for_update=lock or None, populate_existing=lock)
        return None if row is None else _survey(row)

    def save(self, survey: Survey) -> None:
        row = self._session.get(SurveyRow, survey.id)
        if row is None:
            raise LookupError(f"no survey {survey.id}")
        _copy(survey, row)
        self._session.flush()

    def recent(self, limit: int) -> builtins.list[Survey]:
        rows = self._session.scalars(select(SurveyRow).order_by(SurveyRow.id.desc()).limit(limit))
        return [_survey(row) for row in rows]

    def active(self) -> builtins.list[Survey]:
        rows = self._session.scalars(select(SurveyRow).where(SurveyRow.status.in_(_ACTIVE)).order_by(SurveyRow.id))
        return [_survey(row) for row in rows]

    def template(self) -> Survey | None:
        row = self._session.scalars(
            select(SurveyRow).where(SurveyRow.status == SurveyStatus.TEMPLATE.value).order_by(SurveyRow.id.desc())
        ).first()
        return None if row is None else _survey(row)

    # --- invitations -----------------------------------------------------------------------

    def invite(self, survey_id: int, member_id: int, chapter: str | None) -> bool:
        statement = (
            _insert(self._session, SurveyInviteRow)
            .values(survey_id=survey_id, member_id=member_id, chapter=chapter)
            .on_conflict_do_nothing(index_elements=["survey_id", "member_id"])
            .returning(SurveyInviteRow.member_id)
        )
        return self._session.execute(statement).first() is not None

    def invitees(self, survey_id: int) -> builtins.list[int]:
        query = select(SurveyInviteRow.member_id).where(SurveyInviteRow.survey_id == survey_id)
        return list(self._session.scalars(query.order_by(SurveyInviteRow.member_id)))

    def is_invited(self, survey_id: int, member_id: int) -> bool:
        return self._session.get(SurveyInviteRow, (survey_id, member_id)) is not None

    def invited_surveys(self, member_id: int) -> builtins.list[int]:
        query = select(SurveyInviteRow.survey_id).where(SurveyInviteRow.member_id == member_id)
        return list(self._session.scalars(query.order_by(SurveyInviteRow.survey_id.desc())))

    # --- responses and answers -------------------------------------------------------------

    def response(self, survey_id: int, token: str, *, lock: bool = False) -> Response | None:
        query = select(SurveyResponseRow).where(
            SurveyResponseRow.survey_id == survey_id, SurveyResponseRow.token == token
        )
        if lock:
            query = query.with_for_update()
        row = self._session.scalars(query).first()
        return None if row is None else _response(row)

    def start(self, response: Response) -> Response:
        statement = (
            _insert(self._session, SurveyResponseRow)
            .values(
                survey_id=response.survey_id,
                token=response.token,
                member_id=response.member_id,
                chapter=response.chapter,
                position=response.position,
                completed=response.completed,
            )
            .on_conflict_do_nothing(index_elements=["survey_id", "token"])
        )
        self._session.execute(statement)
        existing = self.response(response.survey_id, response.token, lock=True)
        assert existing is not None
        return existing

    def save_response(self, response: Response) -> None:
        self._session.execute(
            update(SurveyResponseRow)
            .where(SurveyResponseRow.id == response.id)
            .values(position=response.position, completed=response.completed)
        )

    def answers(self, response_id: int) -> dict[int, Answer]:
        rows = self._session.execute(
            select(SurveyAnswerRow.question, SurveyAnswerRow.value, SurveyAnswerRow.text, SurveyAnswerRow.language)
            .where(SurveyAnswerRow.response_id == response_id)
            .order_by(SurveyAnswerRow.question, SurveyAnswerRow.id)
        )
        return _group_answers(rows)

    def put_answer(self, survey_id: int, response: Response, question: int, answer: Answer | None) -> None:
        assert response.id is not None
        self._session.execute(
            delete(SurveyAnswerRow).where(
                SurveyAnswerRow.response_id == response.id, SurveyAnswerRow.question == question
            )
        )
        if answer is None:
            return
        common = {"survey_id": survey_id, "response_id": response.id, "question": question, "chapter": response.chapter}
        rows: list[dict[str, Any]]
        if answer.text is not None:
            rows = [{**common, "value": None, "text": answer.text, "language": answer.language}]
        else:
            rows = [{**common, "value": v, "text": None, "language": None} for v in answer.values]
            if answer.multiple:  # one more row that counts the answer itself, whatever was picked
                rows.append({**common, "value": None, "text": None, "language": None})
        self._session.execute(_insert(self._session, SurveyAnswerRow), rows)

    def finished_tokens(self, survey_id: int) -> set[str]:
        query = select(SurveyResponseRow.token).where(
            SurveyResponseRow.survey_id == survey_id, SurveyResponseRow.completed.is_(True)
        )
        return set(self._session.scalars(query))

    # --- results ---------------------------------------------------------------------------

    def turnout(self, survey_id: int) -> builtins.list[Turnout]:
        invited: dict[str | None, int] = {
            chapter: int(n)
            for chapter, n in self._session.execute(
                select(SurveyInviteRow.chapter, func.count())
                .where(SurveyInviteRow.survey_id == survey_id)
                .group_by(SurveyInviteRow.chapter)
            )
        }
        started: dict[str | None, tuple[int, int]] = {
            chapter: (int(n), int(done or 0))
            for chapter, n, done in self._session.execute(
                select(
                    SurveyResponseRow.chapter,
                    func.count(),
                    func.sum(case((SurveyResponseRow.completed.is_(True), 1), else_=0)),
                )
                .where(SurveyResponseRow.survey_id == survey_id)
                .group_by(SurveyResponseRow.chapter)
            )
        }
        # A forgotten member's invitation is deleted with them, but their response stays
        # (without them). In a named survey such a response has no member: it counts as
        # invited again. In an anonymous one nothing tells; nobody started uninvited, though.
        if self._session.scalar(select(SurveyRow.anonymous).where(SurveyRow.id == survey_id)) is False:
            for chapter, n in self._session.execute(
                select(SurveyResponseRow.chapter, func.count())
                .where(SurveyResponseRow.survey_id == survey_id, SurveyResponseRow.member_id.is_(None))
                .group_by(SurveyResponseRow.chapter)
            ):
                invited[chapter] = invited.get(chapter, 0) + int(n)
        chapters = sorted(set(invited) | set(started), key=lambda c: c or "")
        return [
            Turnout(
                c,
                max(int(invited.get(c, 0)), started.get(c, (0, 0))[0]),
                started.get(c, (0, 0))[0],
                started.get(c, (0, 0))[1],
            )
            for c in chapters
        ]

    def tallies(self, survey_id: int) -> builtins.list[Tally]:
        a = SurveyAnswerRow
        rows = self._session.execute(
            select(a.question, a.chapter, a.value, a.language, func.count())
            .where(a.survey_id == survey_id)
            .group_by(a.question, a.chapter, a.value, a.language)
        )
        return [Tally(q, c, v, lang, int(n)) for q, c, v, lang, n in rows]

    def texts(
        self, survey_id: int, questions: builtins.list[int], per_question: int
    ) -> builtins.list[tuple[int, str, str | None]]:
        found: list[tuple[int, str, str | None]] = []
        a = SurveyAnswerRow
        for question in questions:
            rows = self._session.execute(
                select(a.text, a.language)
                .where(a.survey_id == survey_id, a.question == question)
                .order_by(a.id.desc())
                .limit(per_question)
            )
            found += [(question, text, lang) for text, lang in rows if text is not None]
        return found

    def export(self, survey_id: int) -> builtins.list[tuple[Response, dict[int, Answer]]]:
        responses = [
            _response(row)
            for row in self._session.scalars(
                select(SurveyResponseRow).where(SurveyResponseRow.survey_id == survey_id).order_by(SurveyResponseRow.id)
            )
        ]
        by_response: dict[int, list[tuple[int, int | None, str | None, str | None]]] = {}
        a = SurveyAnswerRow
        for response_id, question, value, text, lang in self._session.execute(
            select(a.response_id, a.question, a.value, a.text, a.language)
            .where(a.survey_id == survey_id)
            .order_by(a.response_id, a.question, a.id)
        ):
            by_response.setdefault(response_id, []).append((question, value, text, lang))
        return [(r, _group_answers(by_response.get(r.id or 0, []))) for r in responses]


def _group_answers(rows: Any) -> dict[int, Answer]:
    values: dict[int, list[int]] = {}
    multiple: set[int] = set()
    texts: dict[int, Answer] = {}
    for question, value, text, lang in rows:
        if text is not None:
            texts[question] = Answer(text=text, language=lang)
        elif value is None:
            multiple.add(question)
            values.setdefault(question, [])
        else:
            values.setdefault(question, []).append(value)
    found = {q: Answer(values=tuple(v), multiple=q in multiple) for q, v in values.items()}
    return found | texts


def _copy(survey: Survey, row: SurveyRow) -> None:
    row.author_id = survey.author_id
    row.title = dict(survey.title)
    row.intro = dict(survey.intro)
    row.questions = [q.to_json() for q in survey.questions]
    row.audience = survey.audience.to_json()
    row.anonymous = survey.anonymous
    row.status = survey.status.value
    row.opens_at = survey.opens_at
    row.closes_at = survey.closes_at
    row.reminders = [int(r.total_seconds()) for r in survey.reminders]
    row.reminders_sent = survey.reminders_sent
    row.salt = survey.salt
    row.invited = survey.invited
    row.created_at = survey.created_at


def _survey(row: SurveyRow) -> Survey:
    return Survey(
        id=row.id,
        author_id=row.author_id,
        title=dict(row.title),
        intro=dict(row.intro or {}),
        questions=tuple(Question.from_json(q) for q in row.questions),
        audience=Audience.from_json(row.audience),
        anonymous=row.anonymous,
        status=SurveyStatus(row.status),
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        reminders=tuple(timedelta(seconds=s) for s in row.reminders or ()),
        reminders_sent=row.reminders_sent,
        salt=row.salt,
        invited=row.invited,
        created_at=row.created_at,
    )


def _response(row: SurveyResponseRow) -> Response:
    return Response(
        id=row.id,
        survey_id=row.survey_id,
        token=row.token,
        member_id=row.member_id,
        chapter=row.chapter,
        position=row.position,
        completed=row.completed,
    )
