"""What the operator's ``twinbot surveys`` command does: load a survey file, list, export."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import Catalogs
from bot.network import Network
from bot.ports import UnitOfWork
from bot.surveys.dispatch import open_survey
from bot.surveys.export_csv import to_csv
from bot.surveys.model import Survey, SurveyStatus
from bot.surveys.results import MIN_GROUP


class SurveyNotFound(LookupError):
    pass


class TooFewResponses(Exception):
    """An anonymous survey's answers are not exported before enough members completed it."""


def load(uow: UnitOfWork, network: Network, catalogs: Catalogs, survey: Survey, now: datetime) -> tuple[Survey, int]:
    """Store a parsed survey; one without an opening time (or with one passed) opens now.
    Returns the survey and how many members were invited (0 if it opens later)."""
    survey = uow.surveys.add(survey)
    invited = 0
    if survey.opens_at is None or survey.opens_at <= now:
        invited = open_survey(uow, network, catalogs, survey, now)
    details = {"survey": survey.id, "audience": survey.audience.to_json(), "questions": len(survey.questions)}
    uow.audit.record(None, "survey.load", details, invited, now)
    return survey, invited


def export(uow: UnitOfWork, network: Network, survey_id: int, lang: str, min_group: int = MIN_GROUP) -> bytes:
    """Every response as CSV, question texts and option labels in ``lang``."""
    survey = uow.surveys.get(survey_id)
    if survey is None:
        raise SurveyNotFound(f"there is no survey {survey_id}")
    rows = uow.surveys.export(survey_id)
    if survey.anonymous and sum(1 for response, _ in rows if response.completed) < min_group:
        reason = f"survey {survey_id} is anonymous: its answers show once {min_group} members completed it"
        raise TooFewResponses(reason)
    member_ids = [r.member_id for r, _ in rows if r.member_id is not None]
    names = {i: m.display_name for i, m in uow.members.get_many(member_ids).items()} if member_ids else {}
    return to_csv(survey, rows, names, lang, network.default_language, min_group)


def listing(uow: UnitOfWork, network: Network, limit: int = 50) -> list[str]:
    lines = []
    for survey in uow.surveys.recent(limit):
        title = survey.title.get(network.default_language) or next(iter(survey.title.values()), "")
        closes = survey.closes_at.isoformat(timespec="minutes") if survey.closes_at else "-"
        extra = " (anonymous)" if survey.anonymous else ""
        state = survey.status.value if survey.status is not SurveyStatus.OPEN else f"open until {closes}"
        lines.append(f"#{survey.id}\t{state}\t{survey.invited} invited\t{title}{extra}")
    return lines
