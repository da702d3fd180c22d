"""Survey definition files: the examples, every mistake reported at once, where each one is."""

from __future__ import annotations

import pathlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.audience import Audience
from bot.network import Chapter, Network
from bot.surveys.definition import Problem, SurveyFileError, load_survey_file, parse_survey
from bot.surveys.model import Kind, SurveyStatus

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "config" / "surveys"
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
NETWORK = Network(
    name="Lyon · Frankfurt · Yokohama",
    default_language="en",
    languages=("en", "fr", "de", "es", "ja"),
    chapters=(
        Chapter("lyon", "Lyon", "Europe/Paris", ("fr", "en")),
        Chapter("frankfurt", "Frankfurt am Main", "Europe/Berlin", ("de", "en")),
        Chapter("yokohama", "Yokohama", "Asia/Tokyo", ("ja", "en")),
    ),
)
MINIMAL = 'title = "Autumn exchange"\n[[questions]]\nkind = "rating"\ntext = "How was it?"\n'

# Eight mistakes, one of each sort; the line of each is in the comment after it.
MISTAKES_YAML = """\
intro: A few questions about the exchange.
opens_at: 2026-12-10T09:00:00          # 2: no UTC offset
closes_at: 2026-12-05T18:00:00+01:00   # 3: before opens_at
reminders: [2d, 3 weeks]               # 4: not a duration
audience:
  chapters: [lyon, paris]              # 6: no such chapter
questions:
  - kind: rating
    text: How was the food?
    options: [Good, Bad]               # 10: a rating has no options
  - kind: stars                        # 11: no such kind
    text: How was the weather?
  - kind: text
    text:
      en: Anything else?
      it: Qualcos'altro?               # 16: not a language of the network
"""
MISTAKES_TOML = """\
intro = "A few questions about the exchange."
opens_at = 2026-12-10T09:00:00
closes_at = 2026-12-05T18:00:00+01:00
reminders = ["2d", "3 weeks"]

[audience]
chapters = ["lyon", "paris"]

[[questions]]
kind = "rating"
text = "How was the food?"
options = ["Good", "Bad"]

[[questions]]
kind = "stars"
text = "How was the weather?"

[[questions]]
kind = "text"
text = { en = "Anything else?", it = "Qualcos'altro?" }
"""
MISTAKES = {  # where -> part of the reason
    "title": "is required",
    "opens_at": "give a UTC offset, e.g. +01:00",
    "closes_at": "must be after opens_at",
    "reminders[1]": 'write a duration such as "2d"',
    "audience.chapters[1]": "unknown chapter 'paris'; the chapters are lyon, frankfurt, yokohama",
    "questions[0].options": "a rating question takes no options",
    "questions[1].kind": "'rating', 'nps', 'single', 'multi' or 'text'",
    "questions[2].text.it": "unknown language 'it'; this network supports en, fr, de, es, ja",
}


def problems(text: str, fmt: str = "toml") -> list[Problem]:
    with pytest.raises(SurveyFileError) as caught:
        parse_survey(text, fmt, NETWORK, NOW)
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]
    return caught.value.problems


def only_problem(text: str, fmt: str = "toml") -> Problem:
    found = problems(text, fmt)
    assert len(found) == 1, found
    return found[0]


def test_both_examples_load_into_the_same_scheduled_survey() -> None:
    from_toml = load_survey_file(EXAMPLES / "example.toml", NETWORK, NOW)
    from_yaml = load_survey_file(EXAMPLES / "example.yaml", NETWORK, NOW)

    assert from_toml == from_yaml
    survey = from_toml
    assert (survey.status, survey.id, survey.created_at, survey.anonymous) == (SurveyStatus.SCHEDULED, None, NOW, True)
    assert set(survey.title) == set(survey.intro) == {"en", "fr", "de", "ja"}
    # The examples leave their times commented out, so they load whatever the date.
    assert (survey.opens_at, survey.closes_at, survey.reminders) == (None, None, ())
    assert survey.audience == Audience(chapters=("lyon", "frankfurt", "yokohama"), filter="all")
    assert {q.kind for q in survey.questions} == set(Kind)
    single, multi = survey.questions[2], survey.questions[3]
    assert single.options[3] == {
        "en": "The language café",
        "fr": "Le café des langues",
        "de": "Das Sprachcafé",
        "ja": "ランゲージカフェ",
    }
    # A plain string is a text in the network's default language.
    assert multi.texts == {"en": "What should we improve next time? Choose any."}
    assert multi.options[0] == {"en": "Travel and transfers"}
    assert [q.required for q in survey.questions] == [True] * 5 + [False]


def test_the_examples_fit_the_shipped_network(network: Network) -> None:
    for name in ("example.toml", "example.yaml"):
        assert load_survey_file(EXAMPLES / name, network, NOW).questions


def test_every_mistake_in_a_yaml_file_is_reported_at_its_line() -> None:
    found = problems(MISTAKES_YAML, "yaml")

    assert len(found) == len(MISTAKES)
    by_path = {p.where.partition(", ")[2]: p for p in found}
    assert set(by_path) == set(MISTAKES)
    for path, reason in MISTAKES.items():
        assert reason in by_path[path].reason, by_path[path]
    assert by_path["opens_at"].where == "line 2, opens_at"
    assert by_path["closes_at"].where == "line 3, closes_at"
    assert by_path["audience.chapters[1]"].where == "line 6, audience.chapters[1]"
    assert by_path["questions[0].options"].where == "line 10, questions[0].options"
    assert by_path["questions[1].kind"].where == "line 11, questions[1].kind"
    assert by_path["questions[2].text.it"].where == "line 16, questions[2].text.it"
    assert by_path["title"].where == "line 1, title"  # missing: the start of the document
    assert [p.where for p in found] == sorted((p.where for p in found), key=lambda w: int(w.split()[1].rstrip(",")))


def test_the_same_mistakes_in_toml_are_reported_by_path() -> None:
    found = problems(MISTAKES_TOML)

    assert {p.where for p in found} == set(MISTAKES)
    for problem in found:
        assert MISTAKES[problem.where] in problem.reason


def test_syntax_errors_give_their_line() -> None:
    toml = only_problem('title = "Autumn"\n[[questions]]\nkind = "rating\ntext = "x"\n')
    assert toml.where == "line 3" and "column" in toml.reason

    unfinished = only_problem('title = "Autumn"\nreminders = ["2d",\n')
    assert unfinished.where == "line 2"

    yaml = only_problem("title: Autumn\nquestions:\n  - kind: rating\n   text: oops\n", "yaml")
    assert yaml.where == "line 4" and "column" in yaml.reason

    two_documents = only_problem("title: Autumn\n---\ntitle: Spring\n", "yaml")
    assert two_documents.where == "line 2" and "single document" in two_documents.reason


def test_a_file_that_is_not_utf8_is_a_problem_at_its_line(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "survey.toml"
    path.write_bytes(b'title = "Autumn"\nintro = "Caf\xe9"\n')

    with pytest.raises(SurveyFileError) as caught:
        load_survey_file(path, NETWORK, NOW)
    assert caught.value.problems == [Problem("line 2", "not valid UTF-8 (byte 0xe9); save it as UTF-8")]


def test_unknown_suffix_and_unreadable_files_are_problems(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "survey.json"
    path.write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(SurveyFileError) as caught:
        load_survey_file(path, NETWORK, NOW)
    assert caught.value.problems == [Problem("survey.json", "unknown file type; name it *.toml, *.yaml or *.yml")]

    with pytest.raises(SurveyFileError, match=r"missing\.yaml: cannot be read"):
        load_survey_file(tmp_path / "missing.yaml", NETWORK, NOW)

    with pytest.raises(SurveyFileError, match="unknown format 'json'"):
        parse_survey("{}", "json", NETWORK, NOW)


def test_yml_suffix_iso_strings_and_a_byte_order_mark(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "short.yml"
    path.write_bytes(
        "\ufefftitle: Short one\nopens_at: '2026-12-01T09:00:00+09:00'\ncloses_at: '2026-12-02T09:00:00Z'\n"
        "reminders: [90m]\naudience: {filter: 'lang:ja'}\nquestions: [{kind: nps, text: 'Again?'}]\n".encode()
    )

    survey = load_survey_file(path, NETWORK, NOW)
    assert survey.opens_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert survey.closes_at == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert survey.reminders == (timedelta(minutes=90),)
    assert survey.audience == Audience(filter="lang:ja")
    assert survey.title == {"en": "Short one"} and survey.intro == {}


@pytest.mark.parametrize(
    ("extra", "where", "reason"),
    [
        ('colour = "red"', "colour", "unknown key; expected one of title, intro, anonymous,"),
        ('reminders = ["1d"]', "reminders", "reminders count back from closes_at, which is not set"),
        (
            'closes_at = 2026-12-15T18:00:00+01:00\nreminders = ["1d", "2d", "3d", "4d", "5d", "6d"]',
            "reminders",
            "at most 5",
        ),
        ('closes_at = 2026-12-15T18:00:00+01:00\nreminders = ["0h"]', "reminders[0]", "must be more than zero"),
        ("closes_at = 2026-11-28T18:00:00+01:00", "closes_at", "is already past"),
        ("opens_at = 2026-12-01", "opens_at", "give a UTC offset"),
        ('[audience]\nfilter = "lang:it"', "audience.filter", "unknown language in 'lang:it'"),
        (
            '[audience]\nfilter = "volunteers"',
            "audience.filter",
            "use one of all, mentors, mentees, coordinators, admins, lang:xx",
        ),
        ('[audience]\nregion = "south"', "audience.region", "expected one of chapters, filter"),
    ],
)
def test_one_mistake_at_the_top(extra: str, where: str, reason: str) -> None:
    top, _, questions = MINIMAL.partition("[[questions]]")
    if extra.startswith("["):
        problem = only_problem(f"{MINIMAL}{extra}\n")
    else:
        problem = only_problem(f"{top}{extra}\n[[questions]]{questions}")
    assert problem.where == where
    assert reason in problem.reason


@pytest.mark.parametrize(
    ("question", "where", "reason"),
    [
        ('kind = "single"\ntext = "Which?"', "questions[0].options", "a single question needs 2 to 10 options"),
        ('kind = "multi"\ntext = "Which?"\noptions = ["Only"]', "questions[0].options", "needs 2 to 10"),
        (
            'kind = "multi"\ntext = "Which?"\noptions = ' + str([f"o{i}" for i in range(11)]),
            "questions[0].options",
            "2 to 10",
        ),
        (
            'kind = "single"\ntext = "Which?"\noptions = ["A", "' + "b" * 61 + '"]',
            "questions[0].options[1]",
            "at most 60",
        ),
        ('kind = "single"\ntext = "Which?"\noptions = ["A", {}]', "questions[0].options[1]", "a table of language"),
        ('kind = "text"\ntext = "' + "x" * 501 + '"', "questions[0].text", "is 501 characters long; at most 500"),
        ('kind = "text"\ntext = { fr = "  " }', "questions[0].text.fr", "must not be empty"),
        ('kind = "text"\ntext = 42', "questions[0].text", "give a text, or a table of language -> text"),
        ('kind = "text"', "questions[0].text", "is required"),
        (
            'kind = "text"\ntext = "Why?"\nhint = "be honest"',
            "questions[0].hint",
            "expected one of kind, text, required",
        ),
    ],
)
def test_one_mistake_in_a_question(question: str, where: str, reason: str) -> None:
    problem = only_problem(f'title = "Autumn"\n[[questions]]\n{question}\n')
    assert problem.where == where
    assert reason in problem.reason


def test_titles_and_question_counts_are_bounded() -> None:
    assert only_problem(MINIMAL.replace("Autumn exchange", "x" * 201)).reason == (
        "is 201 characters long; at most 200 are allowed"
    )
    assert only_problem('title = "Autumn"\nquestions = []\n') == Problem("questions", "give 1 to 30 questions")
    many = 'title = "Autumn"\n' + '[[questions]]\nkind = "nps"\ntext = "Again?"\n' * 31
    assert only_problem(many) == Problem("questions", "give 1 to 30 questions")
    assert only_problem("- just a list\n", "yaml") == Problem("line 1, file", "should be a table of keys and values")


def test_a_naive_time_alone_is_not_also_reported_as_out_of_order() -> None:
    # 20:00 without an offset may be before or after 09:00+01:00: only the offset is reported.
    text = MINIMAL.replace(
        'title = "Autumn exchange"',
        'title = "x"\nopens_at = 2026-12-01T09:00:00+01:00\ncloses_at = 2026-12-01T20:00:00',
    )
    assert only_problem(text) == Problem("closes_at", "give a UTC offset, e.g. +01:00")


def test_a_yaml_language_code_read_as_a_boolean_is_explained() -> None:
    problem = only_problem("title: {en: Autumn, no: Høst}\nquestions: [{kind: text, text: Why}]\n", "yaml")
    assert problem.where.startswith("line 1, title")
    assert "quote it" in problem.reason
