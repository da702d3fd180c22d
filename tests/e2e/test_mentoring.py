"""Mentorship matching and coffee rounds end to end on real storage (SQLite, and PostgreSQL
when configured): profiles, /match preview and confirm, introductions, follow-ups, ending a
mentorship, coffee rounds and their schedule."""

from __future__ import annotations

from datetime import timedelta

from adapters.bootstrap import App
from adapters.console.session import ConsoleSession
from bot.audience import Audience
from bot.due import run_due
from bot.members import Member, Role
from tests.conftest import Clock
from tests.e2e.helpers import outbox, press, texts


def _member(app: App, name: str, chapter: str = "lyon", languages: tuple[str, ...] = ("en",), **fields: object) -> int:
    role = fields.pop("role", None)
    with app.uow_factory() as uow:
        member = uow.members.add(
            Member(
                display_name=name.capitalize(),
                consent_at=app.core.services.clock(),
                home_chapter=chapter,
                languages=list(languages),
                preferred_language="en",
                **fields,  # type: ignore[arg-type]
            )
        )
        assert member.id is not None
        uow.members.add_identity(member.id, "console", name)
        if isinstance(role, Role):
            uow.members.grant(member.id, role, None if role is Role.ADMIN else chapter)
        uow.commit()
        return member.id




def _network(app: App) -> dict[str, int]:
    return {
        "coord": _member(app, "coord", role=Role.COORDINATOR),
        "lea": _member(app, "lea", languages=("fr", "en"), is_mentee=True, interests=["design", "jazz"]),
        "tom": _member(app, "tom", languages=("fr",), is_mentee=True, interests=["law"], learning=["de"]),
        "ana": _member(app, "ana", languages=("es",), is_mentee=True),
        "max": _member(
            app,
            "max",
            "frankfurt",
            ("de", "fr"),
            is_mentor=True,
            expertise=["law"],
            mentor_capacity=1,
            learning=["fr"],
        ),
        "yui": _member(app, "yui", "yokohama", ("ja", "en"), is_mentor=True, expertise=["design"], mentor_capacity=2),
    }


def test_mentor_and_mentee_opt_in_with_their_details(app: App) -> None:
    _member(app, "zoe", languages=("fr", "en"))
    chat = ConsoleSession(app.core)
    assert "Which topics can you help with" in texts(chat.push("zoe", "/mentor on"))
    chat.push("zoe", "urban planning, translation")
    chat.push("zoe", "[3]")
    chat.push("zoe", "[Deutsch]")
    assert "Saved." in texts(chat.push("zoe", "[Done]"))
    profile = texts(chat.push("zoe", "/profile"))
    assert "Can help with: urban planning, translation" in profile and "Mentees at a time: 3" in profile
    assert "Learning: Deutsch" in profile
    assert "partner city" in texts(chat.push("zoe", "/mentee on"))
    chat.push("zoe", "[Frankfurt am Main]")
    chat.push("zoe", "[Done]")
    assert "Paused until" in texts(chat.push("zoe", "/mentor pause 2027-01-31"))
    assert "like 2027-01-31" in texts(chat.push("zoe", "/mentor pause soon"))
    with app.uow_factory() as uow:
        zoe = uow.members.by_identity("console", "zoe")
    assert zoe is not None and zoe.is_mentor and zoe.is_mentee and zoe.preferred_chapter == "frankfurt"
    assert zoe.paused_until is not None and zoe.mentor_capacity == 3


def test_preview_confirm_and_introductions(app: App) -> None:
    ids = _network(app)
    chat = ConsoleSession(app.core)
    preview = texts(chat.push("coord", "/match preview"))
    assert "Proposed pairs (2):" in preview
    assert "Tom (Lyon) ← Max (Frankfurt am Main)" in preview  # the only mentor who speaks French
    assert "Lea (Lyon) ← Yui (Yokohama)" in preview
    assert "shared interests: design" in preview
    assert "Ana (Lyon): no mentor speaks one of their languages" in preview
    assert outbox(app, "mentorship:") == {}  # a preview changes nothing
    done = texts(chat.push("coord", "/match confirm"))
    assert "2 mentorships created" in done
    assert "no preview to confirm" in texts(chat.push("coord", "/match confirm"))  # pressed twice
    intros = outbox(app, ":intro:")
    assert len(intros) == 4
    to_tom = next(t for k, t in intros.items() if k.endswith(f":m{ids['tom']}"))
    assert "Meet your mentor: Max from Frankfurt am Main" in to_tom.text
    assert "shared interests: law" in to_tom.text and "Reach them: console: Max" in to_tom.text
    with app.uow_factory() as uow:
        (pair,) = uow.mentoring.of_member(ids["tom"])
    assert any(code == "language_exchange" for code, _detail in pair.reasons)
    to_max = next(t for k, t in intros.items() if k.endswith(f":m{ids['max']}"))
    assert "Meet your new mentee: Tom from Lyon" in to_max.text
    # Max has no room left and Tom has a mentor: nothing more to propose for them.
    again = texts(chat.push("coord", "/match preview"))
    assert "Proposed pairs (0):" in again


def test_members_cannot_match_and_pairs_never_repeat(app: App) -> None:
    ids = _network(app)
    chat = ConsoleSession(app.core)
    assert "This command is for coordinators." in texts(chat.push("lea", "/match preview"))
    chat.push("coord", "/match run")
    with app.uow_factory() as uow:
        (lea_pair,) = [m for m in uow.mentoring.of_member(ids["lea"])]
    forged = texts(press(chat, "tom", f"mn:end:{lea_pair.id}:yes"))  # not Tom's mentorship
    assert "no longer current" in forged
    assert "Ask for a new match" in str(chat.push("lea", "/mentorship"))
    press(chat, "lea", f"mn:rematch:{lea_pair.id}")
    assert "matched with someone new" in texts(press(chat, "lea", f"mn:rematch:{lea_pair.id}:yes"))
    notice = outbox(app, f"mentorship:{lea_pair.id}:ended")
    assert next(iter(notice.values())).text.startswith("Your mentorship with Lea has ended.")
    # Lea is a mentee again, but never with Yui twice; no other mentor speaks her languages.
    repeat = texts(chat.push("coord", "/match preview"))
    assert "Lea (Lyon): their only possible mentors were their mentors before" in repeat


def test_follow_ups_after_two_and_six_weeks(app: App, clock: Clock) -> None:
    ids = _network(app)
    chat = ConsoleSession(app.core)
    chat.push("coord", "/match run")
    clock.advance(days=13)
    assert run_due(app.core.services, clock()).mentoring.checkins == 0
    clock.advance(days=1, minutes=1)
    assert run_due(app.core.services, clock()).mentoring.checkins == 4
    assert run_due(app.core.services, clock()).mentoring.checkins == 0
    asked = outbox(app, ":met:")
    question = next(t for k, t in asked.items() if k.endswith(f":m{ids['tom']}"))
    assert question.text == "Did you meet Max yet?"
    yes = next(b.action for b in question.all_buttons if b.label == "Yes, we met")
    assert "Wonderful" in texts(press(chat, "tom", yes))
    status = texts(chat.push("coord", "/match status"))
    assert "Active mentorships: 2" in status and "nobody said yes: 1" in status
    clock.advance(days=28)
    assert run_due(app.core.services, clock()).mentoring.feedback == 4
    rating = next(t for k, t in outbox(app, ":feedback:").items() if k.endswith(f":m{ids['lea']}"))
    four = next(b.action for b in rating.all_buttons if b.label == "4")
    assert "Anything you would like to add" in texts(press(chat, "lea", four))
    assert "noted" in texts(chat.push("lea", "Great calls every other week."))
    with app.uow_factory() as uow:
        (pair,) = uow.mentoring.of_member(ids["lea"])
    assert pair.feedback == {str(ids["lea"]): 4} and pair.notes == {str(ids["lea"]): "Great calls every other week."}
    with app.uow_factory() as uow:
        both = {m.id for m in Audience(filter="pairs").members(uow)}
    assert both == {ids["lea"], ids["yui"], ids["tom"], ids["max"]}


def test_coffee_rounds_pair_across_chapters_with_a_trio_and_no_repeats(app: App, clock: Clock) -> None:
    _member(app, "admin", role=Role.ADMIN)
    people = {
        name: _member(app, name, chapter, ("en",), coffee=True)
        for name, chapter in [
            ("a1", "lyon"),
            ("a2", "lyon"),
            ("b1", "frankfurt"),
            ("b2", "frankfurt"),
            ("c1", "yokohama"),
        ]
    }
    _member(app, "solo", "lyon", ("es",), coffee=True)  # nobody shares a language with them
    _member(app, "rest", "lyon", ("en",), coffee=True, paused_until=clock() + timedelta(days=30))
    chat = ConsoleSession(app.core)
    assert "This command is for coordinators." in texts(chat.push("a1", "/coffee round all"))
    assert "2 groups are introduced" in texts(chat.push("admin", "/coffee round all"))
    with app.uow_factory() as uow:
        (first,) = uow.mentoring.recent_rounds("*", 5)
    sizes = sorted(len(g) for g in first.groups)
    assert sizes == [2, 3]  # five people: a pair and a trio, nobody left out
    placed = {i for g in first.groups for i in g}
    assert placed == set(people.values())  # not the paused one, not the one without a shared language
    chapters = {name: c for name, c in [("a1", "lyon"), ("a2", "lyon"), ("b1", "f"), ("b2", "f"), ("c1", "y")]}
    by_id = {v: chapters[k] for k, v in people.items()}
    for group in first.groups:
        assert len({by_id[i] for i in group}) > 1  # cross-chapter whenever possible
    assert len(outbox(app, f"coffee:{first.id}:intro")) == 5
    clock.advance(days=7, minutes=1)
    assert run_due(app.core.services, clock()).coffee_followups == 5
    question = next(iter(outbox(app, f"coffee:{first.id}:met").values()))
    assert question.text == "Did you meet for the coffee round?"


def test_coffee_opt_in_and_schedule(app: App) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    _member(app, "ines")
    chat = ConsoleSession(app.core)
    status = chat.push("ines", "/coffee")
    assert "you do not take part" in texts(status)
    assert "you take part" in texts(chat.press("ines", "Join the coffee rounds"))
    assert "out of the coffee rounds" in texts(chat.push("ines", "/coffee off"))
    assert "This command is for coordinators." in texts(chat.push("coord", "/coffee schedule frankfurt 0 9 * * mon"))
    bad = texts(chat.push("coord", "/coffee schedule lyon every monday"))
    assert "That schedule does not work" in bad
    good = texts(chat.push("coord", "/coffee schedule lyon 0 9 * * mon"))
    assert "now run at “0 9 * * mon” (Europe/Paris)" in good
    with app.uow_factory() as uow:
        assert uow.mentoring.schedules() == [("lyon", "0 9 * * mon", "Europe/Paris")]
    chat.push("coord", "/coffee schedule lyon off")
    with app.uow_factory() as uow:
        assert uow.mentoring.schedules() == []


def test_coffee_pairs_do_not_repeat_within_the_last_rounds(app: App, clock: Clock) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    for name in ("p1", "p2", "p3", "p4"):
        _member(app, name, coffee=True)
    chat = ConsoleSession(app.core)
    seen: set[frozenset[int]] = set()
    for _ in range(3):  # four people have exactly three rounds of new pairs
        clock.advance(days=7)
        assert "2 groups are introduced" in texts(chat.push("coord", "/coffee round lyon"))
        with app.uow_factory() as uow:
            latest = uow.mentoring.recent_rounds("lyon", 1)[0]
        pairs = {frozenset(g) for g in latest.groups}
        assert not pairs & seen, (pairs, seen)
        seen |= pairs
    assert len(seen) == 6


def test_two_members_meet_again_rather_than_never_and_trios_share_a_language(app: App, clock: Clock) -> None:
    _member(app, "coord", role=Role.COORDINATOR)
    _member(app, "duo1", coffee=True)
    _member(app, "duo2", coffee=True)
    chat = ConsoleSession(app.core)
    assert "1 groups are introduced" in texts(chat.push("coord", "/coffee round lyon"))
    assert "less than an hour ago" in texts(chat.push("coord", "/coffee round lyon"))  # a double press
    clock.advance(days=7)
    assert "1 groups are introduced" in texts(chat.push("coord", "/coffee round lyon"))  # a repeat beats none

    from bot.mentoring.coffee import pair_up

    speakers = [
        Member("En", clock(), "lyon", ["en"], id=1),
        Member("EnDe", clock(), "lyon", ["en", "de"], id=2),
        Member("De", clock(), "frankfurt", ["de"], id=3),
    ]
    groups, left = pair_up(speakers, set(), seed=1)
    for group in groups:  # whoever is in a group can talk with everyone in it
        assert all(set(speakers[a - 1].languages) & set(speakers[b - 1].languages) for a in group for b in group)
    assert len(left) == 1


def test_a_mentee_who_ends_is_not_matched_again_unasked_and_pairs_audience_by_chapter(app: App) -> None:
    ids = _network(app)
    _member(app, "kai", "frankfurt", ("de", "en"), is_mentee=True, interests=["design"])
    chat = ConsoleSession(app.core)
    chat.push("coord", "/match run")  # Lyon's mentees only: Kai (Frankfurt) waits for Frankfurt
    with app.uow_factory() as uow:
        lyon_pairs = {m.id for m in Audience(chapters=("lyon",), filter="pairs").members(uow)}
        (tom_pair,) = uow.mentoring.of_member(ids["tom"])
    assert lyon_pairs == {ids["lea"], ids["yui"], ids["tom"], ids["max"]}
    press(chat, "tom", f"mn:end:{tom_pair.id}")
    done = texts(press(chat, "tom", f"mn:end:{tom_pair.id}:yes"))
    assert "Send /mentee on to be matched again" in done
    with app.uow_factory() as uow:
        tom = uow.members.get(ids["tom"])
    assert tom is not None and not tom.is_mentee
    assert "Tom" not in texts(chat.push("coord", "/match preview"))


def test_matching_can_run_on_a_schedule(app: App, clock: Clock) -> None:
    ids = _network(app)
    chat = ConsoleSession(app.core)
    assert "This command is for coordinators." in texts(chat.push("coord", "/match schedule frankfurt 0 9 1 * *"))
    assert "does not work" in texts(chat.push("coord", "/match schedule lyon monthly"))
    assert "runs on its own at “0 9 1 * *” (Europe/Paris)" in texts(
        chat.push("coord", "/match schedule lyon 0 9 1 * *")
    )
    with app.uow_factory() as uow:
        assert uow.mentoring.schedules() == [("match:lyon", "0 9 1 * *", "Europe/Paris")]
    from bot.mentoring.matchmaking import scheduled_match

    assert scheduled_match(app.core.services, "lyon", clock()) == 2  # what the scheduler's job runs
    assert len(outbox(app, ":intro:")) == 4
    with app.uow_factory() as uow:
        assert {m.mentee_id for m in uow.mentoring.active()} == {ids["lea"], ids["tom"]}
    assert scheduled_match(app.core.services, "lyon", clock()) == 0  # nothing left to match
    chat.push("coord", "/match schedule lyon off")
    with app.uow_factory() as uow:
        assert uow.mentoring.schedules() == []
