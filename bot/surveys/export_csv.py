"""A survey's answers as a CSV file for a spreadsheet: UTF-8 with a byte order mark (so
Excel reads it as UTF-8), one row per response, one column per question.

Anonymous surveys export no member ids, names or tokens; their rows are ordered by token
(a hash, so the order says nothing about who answered when) and the chapter is left blank
where too few of its members completed for it not to identify them. Cells that a
spreadsheet would take for a formula are neutralised with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

from bot.surveys.model import Answer, Kind, Question, Response, Survey, pick
from bot.surveys.results import hidden_groups

#: A cell starting with one of these is a formula (or becomes one) in common spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHOICE_SEPARATOR = "; "

Cell = str | int


def neutralise(text: str) -> str:
    """``text`` with a leading apostrophe if a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _header(survey: Survey, lang: str, default_language: str) -> list[Cell]:
    header: list[Cell] = ["chapter", "completed"] if survey.anonymous else ["member_id", "name", "chapter", "completed"]
    for number, question in enumerate(survey.questions, start=1):
        header.append(neutralise(f"Q{number} {pick(question.texts, [lang], default_language)}"))
        if question.kind is Kind.TEXT:
            header.append(f"Q{number} language")
    return header


def _answer_cells(question: Question, answer: Answer | None, lang: str, default_language: str) -> list[Cell]:
    if question.kind is Kind.TEXT:
        if answer is None:
            return ["", ""]
        return [neutralise(answer.text or ""), neutralise(answer.language or "")]
    if answer is None or not answer.values:
        return [""]
    if question.kind in (Kind.RATING, Kind.NPS):
        return [answer.values[0]]
    labels = [
        pick(question.options[v], [lang], default_language) if 0 <= v < len(question.options) else str(v)
        for v in answer.values
    ]
    return [neutralise(CHOICE_SEPARATOR.join(labels))]


def to_csv(
    survey: Survey,
    rows: list[tuple[Response, dict[int, Answer]]],
    names: dict[int, str],
    lang: str,
    default_language: str,
    min_group: int,
) -> bytes:
    """The responses in ``rows`` (each with its answers by question index) as CSV bytes.

    ``names`` maps member ids to display names (named surveys only); question texts and
    option labels are in ``lang``. For anonymous surveys a chapter with fewer than
    ``min_group`` completed responses is written blank."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_header(survey, lang, default_language))
    hidden: set[str | None] = set()
    if survey.anonymous:
        completed = Counter(response.chapter for response, _ in rows if response.completed)
        everyone = dict.fromkeys((response.chapter for response, _ in rows), 0) | dict(completed)
        hidden = hidden_groups(everyone, min_group, complementary=True)
        ordered = sorted(rows, key=lambda row: row[0].token)
    else:
        ordered = list(rows)
    for response, answers in ordered:
        chapter = "" if response.chapter in hidden else (response.chapter or "")
        cells: list[Cell] = [neutralise(chapter), "yes" if response.completed else "no"]
        if not survey.anonymous:
            member = response.member_id
            name = names.get(member, "") if member is not None else ""
            cells = ["" if member is None else member, neutralise(name), *cells]
        for index, question in enumerate(survey.questions):
            cells.extend(_answer_cells(question, answers.get(index), lang, default_language))
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8-sig")
