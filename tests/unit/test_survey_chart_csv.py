"""The results chart (PNG) and the CSV export, from hand-built objects (no database)."""

from __future__ import annotations

import csv
import io
import warnings
from datetime import datetime
from typing import cast

import pytest
from matplotlib.image import imread

from bot.audience import Audience
from bot.i18n import Translator
from bot.surveys.chart import render_chart, wrap
from bot.surveys.export_csv import to_csv
from bot.surveys.model import Answer, Kind, Question, Response, Survey, SurveyStatus
from bot.surveys.results import ChapterResult, QuestionResult, SurveyResults

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _translate(msgid: str, /, **values: object) -> str:
    return msgid.format(**values)


TRANSLATE = cast(Translator, _translate)

RATING = Question(Kind.RATING, {"en": "How was the welcome?", "ja": "歓迎はいかがでしたか？"})
NPS = Question(Kind.NPS, {"en": "Would you recommend the exchange to a friend?", "ja": "友人に勧めますか？"})
SINGLE = Question(
    Kind.SINGLE,
    {"en": "Which city did you visit?", "fr": "Quelle ville avez-vous visitée ?"},
    options=({"en": "Lyon", "fr": "Lyon"}, {"en": "Osaka", "fr": "Osaka"}),
)
MULTI = Question(
    Kind.MULTI,
    {"en": "What did you enjoy?", "fr": "Qu'avez-vous aimé ?"},
    options=({"en": "Food", "fr": "Cuisine"}, {"en": "Museums", "fr": "Musées"}, {"en": "People", "fr": "Les gens"}),
)
TEXT = Question(Kind.TEXT, {"en": "Anything else?", "fr": "Autre chose ?"}, required=False)


def _survey(questions: tuple[Question, ...], anonymous: bool = False, title: str = "Exchange 2024") -> Survey:
    return Survey(
        title={"en": title, "ja": "交流プログラム二〇二四年度の満足度調査"},
        questions=questions,
        audience=Audience(),
        created_at=datetime(2024, 5, 1, 9, 0),
        status=SurveyStatus.CLOSED,
        anonymous=anonymous,
        invited=12,
        id=7,
    )


def _results(survey: Survey, empty: frozenset[int] = frozenset()) -> SurveyResults:
    """Results with plausible counts for every question, none for those in ``empty``."""
    samples: dict[Kind, dict[int, int]] = {
        Kind.RATING: {1: 0, 2: 1, 3: 2, 4: 4, 5: 3},
        Kind.NPS: {0: 1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 1, 7: 2, 8: 1, 9: 3, 10: 2},
        Kind.SINGLE: {0: 6, 1: 4},
        Kind.MULTI: {0: 5, 1: 2, 2: 8},
        Kind.TEXT: {},
    }
    questions = []
    for i, q in enumerate(survey.questions):
        counts = {v: 0 for v in q.valid_values()} if i in empty else samples[q.kind]
        answered = 0 if i in empty else 10
        texts = (("Great trip", "en"),) if q.kind is Kind.TEXT and i not in empty else ()
        questions.append(QuestionResult(index=i, question=q, answered=answered, counts=counts, texts=texts))
    chapters = (
        ChapterResult("lyon", invited=7, started=7, completed=6, suppressed=False, means={0: 3.9}),
        ChapterResult("osaka", invited=5, started=4, completed=4, suppressed=True),
    )
    return SurveyResults(
        survey=survey, invited=12, started=11, completed=10, questions=tuple(questions), chapters=chapters
    )


def _image_size(png: bytes) -> tuple[int, int]:
    pixels = imread(io.BytesIO(png), format="png")
    height, width = pixels.shape[:2]
    return width, height


# --- chart -------------------------------------------------------------------------------


def test_chart_is_a_phone_sized_png() -> None:
    png = render_chart(_results(_survey((RATING, NPS, SINGLE, MULTI, TEXT))), TRANSLATE, "en", "en")
    assert png.startswith(PNG_SIGNATURE)
    width, height = _image_size(png)
    assert 800 <= width <= 1000
    assert height > width  # four panels stacked


def test_chart_is_deterministic() -> None:
    survey = _survey((RATING, NPS, SINGLE, MULTI, TEXT))
    first = render_chart(_results(survey), TRANSLATE, "en", "en")
    second = render_chart(_results(survey), TRANSLATE, "en", "en")
    assert first == second
    assert b"Software" not in first and b"matplotlib" not in first.lower()


def test_chart_of_a_text_only_survey_has_the_header() -> None:
    png = render_chart(_results(_survey((TEXT,))), TRANSLATE, "en", "en")
    assert png.startswith(PNG_SIGNATURE)
    width, height = _image_size(png)
    assert width >= 800 and height > 0


def test_chart_labels_go_through_the_translator() -> None:
    seen: list[str] = []

    def spy(msgid: str, /, **values: object) -> str:
        seen.append(msgid)
        return msgid.format(**values)

    survey = _survey((RATING, NPS, SINGLE, MULTI))
    render_chart(_results(survey, empty=frozenset({2})), cast(Translator, spy), "en", "en")
    assert {"Mean {mean}", "NPS {score}", "no answers yet", "{completed} of {invited} completed ({rate}%)"} <= set(seen)


def test_chart_with_unanswered_questions() -> None:
    survey = _survey((RATING, NPS, SINGLE, MULTI))
    png = render_chart(_results(survey, empty=frozenset({0, 1, 2, 3})), TRANSLATE, "en", "en")
    assert png.startswith(PNG_SIGNATURE)


def test_japanese_chart_does_not_raise_or_warn() -> None:
    survey = _survey((RATING, NPS, TEXT))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_chart(_results(survey), TRANSLATE, "ja", "en")
    assert png.startswith(PNG_SIGNATURE)
    assert _image_size(png)[0] >= 800


def test_chart_of_an_empty_survey() -> None:
    survey = _survey((RATING,))
    results = SurveyResults(survey=survey, invited=0, started=0, completed=0, questions=(), chapters=())
    assert render_chart(results, TRANSLATE, "en", "en").startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("short", 40, "short"),
        ("one two three four", 9, "one two\nthree\nfour"),
        ("歓迎はいかがでしたか", 8, "歓迎はい\nかがでし\nたか"),
    ],
)
def test_wrap_counts_wide_characters_twice(text: str, width: int, expected: str) -> None:
    assert wrap(text, width) == expected


# --- CSV ---------------------------------------------------------------------------------


def _parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_named_export_lists_members_and_answers() -> None:
    survey = _survey((RATING, SINGLE, MULTI, TEXT))
    rows = [
        (
            Response(7, "m2", "lyon", position=4, member_id=2, completed=True, id=1),
            {
                0: Answer((4,)),
                1: Answer((1,)),
                2: Answer((0, 2)),
                3: Answer(text="Très bien", language="fr"),
            },
        ),
        (Response(7, "m3", "osaka", position=1, member_id=3, completed=False, id=2), {0: Answer((2,))}),
    ]
    names = {2: "Marie", 3: "Kenji"}
    assert _parse(to_csv(survey, rows, names, "fr", "en", min_group=5)) == [
        [
            "member_id",
            "name",
            "chapter",
            "completed",
            "Q1 How was the welcome?",
            "Q2 Quelle ville avez-vous visitée ?",
            "Q3 Qu'avez-vous aimé ?",
            "Q4 Autre chose ?",
            "Q4 language",
        ],
        ["2", "Marie", "lyon", "yes", "4", "Osaka", "Cuisine; Les gens", "Très bien", "fr"],
        ["3", "Kenji", "osaka", "no", "2", "", "", "", ""],
    ]


def test_anonymous_export_hides_identities_and_small_chapters() -> None:
    survey = _survey((NPS, TEXT), anonymous=True)
    rows = []
    # Three completed in "lyon", one in "osaka" (and one unfinished there); min_group 3. Osaka is
    # too small, and blanking it alone would single it out: Lyon is blanked too.
    for rid, (token, chapter, done, score) in enumerate(
        [
            ("d4", "lyon", True, 9),
            ("a1", "osaka", True, 3),
            ("c3", "lyon", True, 10),
            ("e5", "osaka", False, 7),
            ("b2", "lyon", True, 6),
        ],
        start=1,
    ):
        response = Response(7, token, chapter, completed=done, id=rid)
        rows.append((response, {0: Answer((score,)), 1: Answer(text=f"note {token}", language="en")}))
    data = to_csv(survey, rows, {1: "Secret Name"}, "en", "en", min_group=3)
    parsed = _parse(data)
    assert parsed == [
        [
            "chapter",
            "completed",
            "Q1 Would you recommend the exchange to a friend?",
            "Q2 Anything else?",
            "Q2 language",
        ],
        ["", "yes", "3", "note a1", "en"],
        ["", "yes", "6", "note b2", "en"],
        ["", "yes", "10", "note c3", "en"],
        ["", "yes", "9", "note d4", "en"],
        ["", "no", "7", "note e5", "en"],
    ]
    text = data.decode("utf-8-sig")
    assert "Secret Name" not in text and "member_id" not in text


def test_formula_injection_is_neutralised() -> None:
    survey = _survey(
        (
            Question(Kind.SINGLE, {"en": "=cmd|'/C calc'!A0"}, options=({"en": "+1"}, {"en": "@SUM(A1)"})),
            TEXT,
        )
    )
    rows = [
        (
            Response(7, "m1", "-chapter", member_id=1, completed=True, id=1),
            {0: Answer((1,)), 1: Answer(text='=HYPERLINK("http://x")', language="en")},
        ),
        (
            Response(7, "m2", "lyon", member_id=2, completed=True, id=2),
            {0: Answer((0,)), 1: Answer(text="\tfoo", language="en")},
        ),
        (
            Response(7, "m3", "lyon", member_id=3, completed=True, id=3),
            {1: Answer(text="\rbar", language="en")},
        ),
    ]
    parsed = _parse(to_csv(survey, rows, {1: "-Bob", 2: "Ann", 3: "Zoe"}, "en", "en", min_group=1))
    assert parsed[0][4] == "Q1 =cmd|'/C calc'!A0"  # starts with "Q": inert
    assert parsed[1] == ["1", "'-Bob", "'-chapter", "yes", "'@SUM(A1)", '\'=HYPERLINK("http://x")', "en"]
    assert parsed[2] == ["2", "Ann", "lyon", "yes", "'+1", "'\tfoo", "en"]
    assert parsed[3] == ["3", "Zoe", "lyon", "yes", "", "'\rbar", "en"]


def test_option_labels_fall_back_to_the_default_language() -> None:
    survey = _survey((SINGLE,))
    rows = [(Response(7, "m1", None, member_id=1, completed=True, id=1), {0: Answer((0,))})]
    parsed = _parse(to_csv(survey, rows, {}, "ja", "en", min_group=5))
    assert parsed == [
        ["member_id", "name", "chapter", "completed", "Q1 Which city did you visit?"],
        ["1", "", "", "yes", "Lyon"],
    ]
