"""Seats: who is going, who waits, and who moves up when a seat frees.

Every change to a meetup's answers runs with the meetup row locked (``get(lock=True)``), so
two presses on the same meetup take turns: the seats are counted, then taken, with nobody
else in between. The waitlist is served in arrival order (``position``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.meetups.model import Attendance, Meetup, Rsvp
from bot.ports import UnitOfWork


@dataclass(frozen=True)
class Change:
    attendance: Attendance
    changed: bool  # False when the press repeated the current answer
    full: bool = False  # wanted a seat, got the waitlist
    no_room_for_guests: bool = False


def seats_taken(attendances: list[Attendance], but: int | None = None) -> int:
    return sum(a.seats for a in attendances if a.status is Rsvp.GOING and a.member_id != but)


def _fits(meetup: Meetup, taken: int, seats: int) -> bool:
    return meetup.capacity is None or taken + seats <= meetup.capacity


def answer(uow: UnitOfWork, meetup: Meetup, member_id: int, choice: Rsvp) -> Change:
    """Record ``choice`` (GOING, MAYBE or NO) for a member; the meetup must be locked."""
    assert meetup.id is not None
    current = uow.meetups.attendance(meetup.id, member_id)
    if current is not None and (current.status is choice or (choice is Rsvp.GOING and current.status is Rsvp.WAITLIST)):
        return Change(current, changed=False)
    guests = current.guests if current else 0
    updated = Attendance(
        meetup_id=meetup.id,
        member_id=member_id,
        status=choice,
        guests=guests,
        position=uow.meetups.next_position(meetup.id),
        checked_in=current.checked_in if current else False,
    )
    full = False
    if choice is Rsvp.GOING and (
        uow.meetups.waitlist(meetup.id)  # others wait already: a free seat is theirs first
        or not _fits(meetup, uow.meetups.seats_taken(meetup.id, but=member_id), updated.seats)
    ):
        updated.status = Rsvp.WAITLIST
        full = True
    uow.meetups.put(updated)
    return Change(updated, changed=True, full=full)


def set_guests(uow: UnitOfWork, meetup: Meetup, member_id: int, guests: int) -> Change | None:
    """Bring ``guests`` more people; None if the member has not said they are going."""
    assert meetup.id is not None
    current = uow.meetups.attendance(meetup.id, member_id)
    if current is None or current.status not in (Rsvp.GOING, Rsvp.WAITLIST):
        return None
    if current.guests == guests:
        return Change(current, changed=False)
    more = guests > current.guests  # fewer guests always fit, even when the seats were cut
    if (
        more
        and current.status is Rsvp.GOING
        and (
            uow.meetups.waitlist(meetup.id)
            or not _fits(meetup, uow.meetups.seats_taken(meetup.id, but=member_id), 1 + guests)
        )
    ):
        return Change(current, changed=False, no_room_for_guests=True)
    current.guests = guests
    uow.meetups.put(current)
    return Change(current, changed=True)


def promote(uow: UnitOfWork, meetup: Meetup) -> list[Attendance]:
    """Move waiting members up, first come first served, while their seats fit; returns them."""
    assert meetup.id is not None
    taken = uow.meetups.seats_taken(meetup.id)
    promoted = []
    for waiting in uow.meetups.waitlist(meetup.id) if meetup.capacity is None or taken < meetup.capacity else []:
        if not _fits(meetup, taken, waiting.seats):
            break  # the first in line keeps their place: nobody jumps the queue
        waiting.status = Rsvp.GOING
        uow.meetups.put(waiting)
        taken += waiting.seats
        promoted.append(waiting)
    return promoted
