"""Surveys end to end on real storage (SQLite, and PostgreSQL when configured): a coordinator
writes one in chat, members get invitations through the outbox, answer one question at a
time, resume, get reminded; results, chart and CSV respect anonymity and group sizes."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from adapters.bootstrap import App
from adapters.console.session import ConsoleSession
from bot.audience import Audience
from bot.due import run_due
from bot.events import ButtonPressed, ChatRef
from bot.members import Member, Role
from bot.replies import File, Image, Reply, Text
from bot.surveys.dispatch import open_survey
from bot.surveys.model import Kind, Question, Survey
from storage.models import SurveyResponseRow
from storage.uow import SqlUnitOfWork
from tests.conftest import Clock
from tests.e2e.helpers import outbox, texts


def _member(app: App, name: str, chapter: str = "lyon", lang: str = "en", *, role: Role | None = None) -> int:
    with app.uow_factory() as uow:
        member = uow.members.add(
            Member(
                display_name=name.capitalize(),
                consent_at=app.core.services.clock(),
                home_chapter=chapter,
                languages=[lang],
                preferred_language=lang,
            )
        )
        assert member.id is not None
        uow.members.add_identity(member.id, "console", name)
        if role is not None:
            uow.members.grant(member.id, role, None if role is Role.ADMIN else chapter)
        uow.commit()
        return member.id


QUESTIONS = (
    Question(Kind.RATING, {"en": "How was the exchange?", "fr": "Comment était l’échange ?"}),
    Question(Kind.NPS, {"en": "Would you recommend it?"}),
    Question(Kind.MULTI, {"en": "What did you enjoy?"}, options=({"en": "Food", "fr": "Cuisine"}, {"en": "Music"})),
    Question(Kind.TEXT, {"en": "Anything else?"}, required=False),
    Question(Kind.SINGLE, {"en": "Come again?"}, options=({"en": "Yes"}, {"en": "No"})),
)


def _survey(app: App, *, anonymous: bool = False, days: int = 7, chapters: tuple[str, ...] = ("lyon",)) -> int:
    now = app.core.services.clock()
    with app.uow_factory() as uow:
        survey = uow.surveys.add(
            Survey(
                title={"en": "Autumn exchange", "fr": "Échange d’automne"},
                questions=QUESTIONS,
                audience=Audience(chapters=chapters),
                created_at=now,
                anonymous=anonymous,
                closes_at=now + timedelta(days=days),
                reminders=(timedelta(days=2),),
            )
        )
        open_survey(uow, app.network, app.core.services.catalogs, survey, now)
        uow.commit()
        assert survey.id is not None
        return survey.id



def _open_invitation(chat: ConsoleSession, app: App, user: str, survey_id: int, member_id: int) -> list[Reply]:
    """What pressing [Start] on the invitation the relay delivered does."""
    invitation = outbox(app, f"survey:{survey_id}:invite:m{member_id}")[f"survey:{survey_id}:invite:m{member_id}"]
    (start,) = invitation.all_buttons
    event = ButtonPressed(chat=ChatRef("console", user, True), user_id=user, display_name=user, action=start.action)
    return chat.send(user, event)


def _answer_all(chat: ConsoleSession, user: str, rating: str = "4", nps: str = "9") -> None:
    chat.push(user, f"[{rating}]")
    chat.push(user, f"[{nps}]")
    chat.push(user, "[◻️ Food]")
    chat.push(user, "[Done]")
    chat.push(user, "[Skip ▶]")
    replies = chat.push(user, "[Yes]")
    assert "Thank you! Your answers are saved." in texts(replies)


def test_invitations_go_to_the_audience_in_their_language(app: App) -> None:
    alice = _member(app, "alice")
    marie = _member(app, "marie", lang="fr")
    _member(app, "hans", chapter="frankfurt", lang="de")
    survey_id = _survey(app)
    invitations = outbox(app, f"survey:{survey_id}:invite")
    assert set(invitations) == {f"survey:{survey_id}:invite:m{alice}", f"survey:{survey_id}:invite:m{marie}"}
    english = invitations[f"survey:{survey_id}:invite:m{alice}"]
    assert "📋 New survey: Autumn exchange" in english.text
    assert "5 questions" in english.text
    assert [b.label for b in english.all_buttons] == ["Start"]
    french = invitations[f"survey:{survey_id}:invite:m{marie}"]
    assert "Échange d’automne" in french.text
    assert [b.label for b in french.all_buttons] == ["Commencer"]


def test_one_question_at_a_time_with_back_skip_and_progress(app: App) -> None:
    alice = _member(app, "alice")
    survey_id = _survey(app)
    chat = ConsoleSession(app.core)
    first = texts(_open_invitation(chat, app, "alice", survey_id, alice))
    assert "Autumn exchange — 5 questions." in first
    assert "Autumn exchange · 1/5" in first
    assert "2/5" in texts(chat.push("alice", "[3]"))
    back = texts(chat.push("alice", "[◀ Back]"))
    assert "1/5" in back and "Your answer so far: 3" in back
    chat.push("alice", "[5]")
    chat.push("alice", "10")  # a number typed for a scale counts too
    toggled = chat.push("alice", "[◻️ Music]")
    assert isinstance(toggled[-1], Text) and toggled[-1].replace
    assert "[✅ Music]" in " ".join(f"[{b.label}]" for b in toggled[-1].all_buttons)
    assert "4/5" in texts(chat.push("alice", "[Done]"))
    assert "5/5" in texts(chat.push("alice", "Great hosts, merci beaucoup pour tout !"))
    assert "needs an answer" not in texts(chat.push("alice", "[No]"))
    with app.uow_factory() as uow:
        survey = uow.surveys.get(survey_id)
        assert survey is not None
        response = uow.surveys.response(survey_id, survey.token(alice))
        assert response is not None and response.completed and response.id is not None
        answers = uow.surveys.answers(response.id)
    assert answers[0].values == (5,)
    assert answers[1].values == (10,)
    assert answers[2].values == (1,) and answers[2].multiple
    assert answers[3].text == "Great hosts, merci beaucoup pour tout !"
    assert answers[4].values == (1,)


def test_required_questions_cannot_be_skipped_and_stale_buttons_say_so(app: App) -> None:
    alice = _member(app, "alice")
    survey_id = _survey(app)
    chat = ConsoleSession(app.core)
    _open_invitation(chat, app, "alice", survey_id, alice)
    chat.push("alice", "[4]")
    chat.push("alice", "[9]")
    assert "Choose at least one, then press Done." in texts(chat.push("alice", "[Done]"))
    assert "(optional)" not in texts(chat.push("alice", "[◻️ Food]"))
    assert "(optional)" in texts(chat.push("alice", "[Done]"))
    last = chat.push("alice", "[Skip ▶]")
    assert "5/5" in texts(last)
    assert [b.label for b in last[-1].all_buttons] == ["Yes", "No", "◀ Back"]  # required: no Skip
    stale = chat.press("alice", "4", message=0)
    assert "no longer current" in texts(stale)


def test_a_member_who_stops_resumes_where_they_left_off(app: App) -> None:
    alice = _member(app, "alice")
    survey_id = _survey(app)
    chat = ConsoleSession(app.core)
    _open_invitation(chat, app, "alice", survey_id, alice)
    chat.push("alice", "[4]")
    chat.push("alice", "[8]")
    chat.push("alice", "/profile")  # another dialog takes over the chat
    listing = chat.push("alice", "/surveys")
    assert "Autumn exchange (started)" in texts(listing)
    resumed = texts(chat.press("alice", "Autumn exchange"))
    assert "Welcome back! We continue at question 3." in resumed
    assert "3/5" in resumed


def test_one_response_per_member_and_no_answers_after_the_close(app: App, clock: Clock) -> None:
    alice = _member(app, "alice")
    bob = _member(app, "bob")
    survey_id = _survey(app, days=3)
    chat = ConsoleSession(app.core)
    _open_invitation(chat, app, "alice", survey_id, alice)
    _answer_all(chat, "alice")
    again = texts(_open_invitation(chat, app, "alice", survey_id, alice))
    assert "You have already answered this survey" in again
    _open_invitation(chat, app, "bob", survey_id, bob)
    chat.push("bob", "[2]")
    clock.advance(days=3, seconds=1)
    late = texts(chat.push("bob", "[7]"))
    assert "This survey is closed" in late
    run_due(app.core.services, clock())
    with app.uow_factory() as uow:
        survey = uow.surveys.get(survey_id)
        assert survey is not None and survey.status.value == "closed"
    assert "closed" in texts(_open_invitation(chat, app, "bob", survey_id, bob))


def test_reminders_go_only_to_those_who_have_not_finished_and_never_twice(app: App, clock: Clock) -> None:
    alice = _member(app, "alice")
    bob = _member(app, "bob")
    carol = _member(app, "carol")
    survey_id = _survey(app, days=7)
    chat = ConsoleSession(app.core)
    _open_invitation(chat, app, "alice", survey_id, alice)
    _answer_all(chat, "alice")
    _open_invitation(chat, app, "bob", survey_id, bob)
    chat.push("bob", "[3]")  # started, not finished
    clock.advance(days=4)
    assert run_due(app.core.services, clock()).surveys.reminded == 0  # not yet: 2 days before the close
    clock.advance(days=1, minutes=1)
    assert run_due(app.core.services, clock()).surveys.reminded == 2
    assert run_due(app.core.services, clock()).surveys.reminded == 0
    clock.advance(hours=12)
    assert run_due(app.core.services, clock()).surveys.reminded == 0
    reminders = outbox(app, f"survey:{survey_id}:remind")
    assert set(reminders) == {f"survey:{survey_id}:remind1:m{bob}", f"survey:{survey_id}:remind1:m{carol}"}
    assert "⏰ Reminder" in reminders[f"survey:{survey_id}:remind1:m{bob}"].text


def _coordinated_results(app: App, chat: ConsoleSession, survey_id: int) -> list[Reply]:
    return chat.push("coord", f"/survey results {survey_id}")


def test_results_with_chart_csv_and_chapter_breakdown(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    lyon = [(f"l{i}", _member(app, f"l{i}")) for i in range(6)]
    frankfurt = [(f"f{i}", _member(app, f"f{i}", chapter="frankfurt")) for i in range(2)]
    admin = _member(app, "admin", chapter="frankfurt")
    with app.uow_factory() as uow:
        uow.members.grant(admin, Role.ADMIN, None)
        uow.commit()
    survey_id = _survey(app, chapters=("lyon", "frankfurt"))
    chat = ConsoleSession(app.core)
    for index, (user, member_id) in enumerate(lyon + frankfurt):
        _open_invitation(chat, app, user, survey_id, member_id)
        _answer_all(chat, user, rating=str(1 + index % 5), nps=str(index + 2))
    # The Lyon coordinator does not coordinate Frankfurt, which is in the audience.
    refused = texts(_coordinated_results(app, chat, survey_id))
    assert f"There is no survey {survey_id} that you can see." in refused
    replies = chat.push("admin", f"/survey results {survey_id}")
    text = texts(replies)
    assert "Invited 10 · started 8 · completed 8 · response rate 80%" in text  # the coordinators were invited too
    assert "mean 2.62 (8 answers)" in text  # ratings 1,2,3,4,5,1,2,3
    # NPS answers 2..9: promoters 9 (1), passives 7, 8 (2), detractors 2..6 (5): 12% - 62% = -50
    assert "NPS -50: 1 promoters, 2 passives, 5 detractors" in text
    assert "• Food: 8" in text and "• Music: 0" in text
    assert "Lyon: 7 invited, 6 completed · Q1 2.67 · Q2 NPS -83" in text
    assert "Frankfurt am Main: 3 invited; no figures, so that no group of fewer than 5 stands out" in text
    images = [r for r in replies if isinstance(r, Image)]
    assert len(images) == 1 and images[0].data.startswith(b"\x89PNG")
    (export,) = [r for r in replies if isinstance(r, File)]
    table = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert table[0][:4] == ["member_id", "name", "chapter", "completed"]
    assert len(table) == 1 + 8
    assert {row[1] for row in table[1:]} >= {"L0", "F1"}


def test_anonymous_survey_links_no_answer_to_a_member(app: App, clock: Clock) -> None:
    _member(app, "admin", role=Role.ADMIN)
    people = [(f"m{i}", _member(app, f"m{i}")) for i in range(5)]
    survey_id = _survey(app, anonymous=True)
    chat = ConsoleSession(app.core)
    for user, member_id in people:
        _open_invitation(chat, app, user, survey_id, member_id)
        _answer_all(chat, user)
    with app.uow_factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        rows = uow.session.scalars(select(SurveyResponseRow).where(SurveyResponseRow.survey_id == survey_id)).all()
        assert len(rows) == 5
        assert all(row.member_id is None for row in rows)
        assert all(len(row.token) == 64 and not row.token.startswith("m") for row in rows)
    export = chat.push("admin", f"/survey export {survey_id}")
    (file,) = [r for r in export if isinstance(r, File)]
    table = list(csv.reader(io.StringIO(file.data.decode("utf-8-sig"))))
    assert table[0][:2] == ["chapter", "completed"]
    names = {f"M{i}" for i in range(5)}
    assert not any(cell in names for row in table for cell in row)
    text = texts(chat.push("admin", f"/survey results {survey_id}"))
    assert "Anonymous: answers are not linked to members." in text
    clock.advance(days=8)
    run_due(app.core.services, clock())
    with app.uow_factory() as uow:
        survey = uow.surveys.get(survey_id)
        assert survey is not None and survey.salt is None  # no token can be traced back any more


def test_members_cannot_see_results_or_create_surveys(app: App) -> None:
    _member(app, "alice")
    survey_id = _survey(app)
    chat = ConsoleSession(app.core)
    assert "This command is for coordinators." in texts(chat.push("alice", f"/survey results {survey_id}"))
    assert "This command is for coordinators." in texts(chat.push("alice", "/survey new"))
    chat_ref = ChatRef("console", "alice", True)
    forged = ButtonPressed(chat=chat_ref, user_id="alice", display_name="a", action="sv:start:999")
    assert "There is no survey 999 for you." in texts(chat.send("alice", forged))


def test_guided_survey_in_chat(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    alice = _member(app, "alice")
    chat = ConsoleSession(app.core)
    for line in [
        "/survey new",
        "Spring picnic",
        "[Rating 1–5]",
        "How was the picnic?",
        "[Required]",
        "[Add a question]",
        "[Several choices]",
        "What should we bring next time?",
        "Games\nMusic\nMore food",
        "[Optional]",
        "[Continue]",
        "[Linked to members]",
        "[Lyon]",
        "[in 7 days]",
    ]:
        chat.push("coord", line)
    sent = texts(chat.push("coord", "[Send]"))
    assert "is on its way to 2 members" in sent
    with app.uow_factory() as uow:
        (survey,) = uow.surveys.recent(1)
        assert survey.id is not None
        assert [q.kind for q in survey.questions] == [Kind.RATING, Kind.MULTI]
        assert survey.questions[1].options[2] == {"en": "More food"}
        assert survey.closes_at == app.core.services.clock() + timedelta(days=7)
        assert uow.surveys.is_invited(survey.id, alice)


def test_anonymous_results_never_single_out_a_small_chapter(app: App) -> None:
    _member(app, "admin", chapter="yokohama", role=Role.ADMIN)
    lyon = [(f"l{i}", _member(app, f"l{i}")) for i in range(5)]
    (frank,) = [("f0", _member(app, "f0", chapter="frankfurt"))]
    survey_id = _survey(app, anonymous=True, chapters=("lyon", "frankfurt"))
    chat = ConsoleSession(app.core)
    _open_invitation(chat, app, "f0", survey_id, frank[1])
    _answer_all(chat, "f0", rating="1")
    early = texts(chat.push("admin", f"/survey results {survey_id}"))
    assert "The answers show once at least 5 members have completed this anonymous survey." in early
    assert "mean" not in early
    assert "answers show once" in texts(chat.push("admin", f"/survey export {survey_id}"))
    for user, member_id in lyon:
        _open_invitation(chat, app, user, survey_id, member_id)
        _answer_all(chat, user, rating="5")
    replies = chat.push("admin", f"/survey results {survey_id}")
    text = texts(replies)
    assert "mean 4.33 (6 answers)" in text
    # Frankfurt (1) is too small; showing Lyon's mean would give Frankfurt's away: both are hidden.
    assert "Frankfurt am Main: 1 invited; no figures, so that no group of fewer than 5 stands out" in text
    assert "Lyon: 5 invited; no figures, so that no group of fewer than 5 stands out" in text
    assert "Q1 5.00" not in text
    (export,) = [r for r in replies if isinstance(r, File)]
    table = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert {row[0] for row in table[1:]} == {""}


def test_forged_numbers_and_control_characters_get_clear_answers(app: App) -> None:
    alice = _member(app, "alice")
    survey_id = _survey(app)
    chat = ConsoleSession(app.core)
    ref = ChatRef("console", "alice", True)
    for action in ("sv:start:99999999999999999999", "sv:start:²", "d:²:v:1", "d:99999999999999999999:v:1"):
        answer = texts(chat.send("alice", ButtonPressed(chat=ref, user_id="alice", display_name="a", action=action)))
        assert "no longer current" in answer, action
    for command in ("/surveys 99999999999999999999", "/surveys ²"):
        assert "Sorry" not in texts(chat.push("alice", command)), command
    _open_invitation(chat, app, "alice", survey_id, alice)
    assert "Please choose one of the buttons above" in texts(chat.push("alice", "²"))  # no apology
    chat.push("alice", "[4]")
    chat.push("alice", "[9]")
    chat.push("alice", "[◻️ Food]")
    chat.push("alice", "[Done]")
    assert "5/5" in texts(chat.push("alice", "fine\x00 thanks\x07"))
    with app.uow_factory() as uow:
        survey = uow.surveys.get(survey_id)
        assert survey is not None
        response = uow.surveys.response(survey_id, survey.token(alice))
        assert response is not None and response.id is not None
        assert uow.surveys.answers(response.id)[3].text == "fine thanks"


def test_a_survey_whose_close_passed_before_it_opened_closes_without_inviting(app: App, clock: Clock) -> None:
    _member(app, "alice")
    now = clock()
    with app.uow_factory() as uow:
        survey = uow.surveys.add(
            Survey(
                title={"en": "Missed"},
                questions=QUESTIONS,
                audience=Audience(),
                created_at=now,
                opens_at=now + timedelta(hours=1),
                closes_at=now + timedelta(hours=2),
            )
        )
        uow.commit()
    clock.advance(hours=3)  # the bot was down the whole time
    report = run_due(app.core.services, clock())
    assert (report.surveys.opened, report.surveys.closed) == (0, 1)
    assert outbox(app, f"survey:{survey.id}:") == {}
