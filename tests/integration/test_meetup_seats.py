"""200 members press "Going" on a meetup with 50 seats at the same moment: exactly 50 go
and 150 wait, in the order their presses were served; pressing again changes nothing. On
PostgreSQL the meetup row lock makes the presses take turns; on SQLite, BEGIN IMMEDIATE."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from adapters.bootstrap import bootstrap
from bot.audience import Audience
from bot.events import ButtonPressed, ChatRef
from bot.meetups.model import Meetup, Rsvp
from bot.member_admin import import_members
from config import load_settings
from tests.conftest import Clock

PRESSES = 200
SEATS = 50


def test_concurrent_going_presses_fill_the_seats_then_the_waitlist(empty_db_url: str, clock: Clock) -> None:
    app = bootstrap(load_settings(database_url=empty_db_url), clock=clock)
    try:
        rows = ["display_name,home_chapter,languages,consent_at,identities"]
        rows += [f"M{n},lyon,en,2026-01-01T00:00:00+00:00,console:m{n}" for n in range(PRESSES)]
        with app.uow_factory() as uow:
            import_members(uow, "\n".join(rows) + "\n", app.network)
        with app.uow_factory() as uow:
            meetup = uow.meetups.add(
                Meetup(
                    title="Rooftop dinner",
                    description="",
                    chapter="lyon",
                    starts_at=clock() + timedelta(days=3),
                    duration=timedelta(hours=2),
                    place="Lyon",
                    audience=Audience(chapters=("lyon",)),
                    created_at=clock(),
                    capacity=SEATS,
                    checkin_code="ROOF42",
                )
            )
            uow.commit()
        barrier = threading.Barrier(16)

        def press(n: int) -> str:
            if n < 16:
                barrier.wait()  # the first presses really start together
            event = ButtonPressed(
                chat=ChatRef("console", f"m{n}", True),
                user_id=f"m{n}",
                display_name=f"M{n}",
                action=f"rsvp:{meetup.id}:going",
            )
            return "\n".join(getattr(r, "text", "") for r in app.core.handle(event))

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(press, range(PRESSES)))
        assert not [a for a in answers if "Sorry" in a]
        assert sum("Your answer: going" in a for a in answers) == SEATS
        assert sum("Your answer: on the waitlist" in a for a in answers) == PRESSES - SEATS

        assert meetup.id is not None
        with app.uow_factory() as uow:
            everyone = uow.meetups.attendances(meetup.id)
        assert len(everyone) == PRESSES
        positions = [a.position for a in everyone]
        assert sorted(positions) == list(range(1, PRESSES + 1))  # one place in line each, no ties
        going = [a for a in everyone if a.status is Rsvp.GOING]
        waiting = [a for a in everyone if a.status is Rsvp.WAITLIST]
        assert len(going) == SEATS and len(waiting) == PRESSES - SEATS
        # Arrival order: every seat went to someone served before anyone who waits.
        assert max(a.position for a in going) < min(a.position for a in waiting)

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(press, range(PRESSES)))  # everyone presses again: nothing moves
        with app.uow_factory() as uow:
            assert uow.meetups.attendances(meetup.id) == everyone
    finally:
        app.close()
