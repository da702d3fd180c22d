"""Every privileged command and button action, with the role it needs and its scope.

The rules themselves are checked where the action is handled (the command table's ``role``,
then each handler again on the object's chapter); this table states them in one place, for
the README and for the test that tries each one as a plain member, a coordinator of another
chapter and a member whose role was revoked (tests/e2e/test_permissions.py). ``ID`` stands
for the number of an object of the Lyon chapter in that test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Privilege:
    kind: str  # "command" or "button"
    action: str  # what is sent: a command line, or a button's action string
    needs: str  # the role and its scope


MEMBER_SELF = "the member themself"
COORDINATOR_ANY = "coordinator of a chapter, or admin"
COORDINATOR_OF = "coordinator of the object's chapter (of every chapter of its audience), or admin"
ADMIN = "admin"

PRIVILEGES: tuple[Privilege, ...] = (
    Privilege("command", "/members lyon", "coordinator of that chapter, or admin"),
    Privilege("command", "/announce", COORDINATOR_ANY),
    Privilege("command", "/announce status {announcement}", "the author, or " + COORDINATOR_OF),
    Privilege("command", "/announce cancel {announcement}", "the author, or " + COORDINATOR_OF),
    Privilege("command", "/survey new", COORDINATOR_ANY),
    Privilege("command", "/survey results {survey}", "the author, or " + COORDINATOR_OF),
    Privilege("command", "/survey export {survey}", "the author, or " + COORDINATOR_OF),
    Privilege("command", "/survey close {survey}", "the author, or " + COORDINATOR_OF),
    Privilege("command", "/meetup new", COORDINATOR_ANY),
    Privilege("command", "/meetup edit {meetup}", COORDINATOR_OF),
    Privilege("command", "/meetup cancel {meetup}", COORDINATOR_OF),
    Privilege("command", "/meetup attendees {meetup}", COORDINATOR_OF),
    Privilege("command", "/meetup checkin {meetup}", COORDINATOR_OF),
    Privilege("command", "/match preview", COORDINATOR_ANY + " (mentees of their chapters)"),
    Privilege("command", "/match confirm", COORDINATOR_ANY + " (their own preview)"),
    Privilege("command", "/match run", COORDINATOR_ANY),
    Privilege("command", "/coffee round lyon", "coordinator of that chapter; 'all' for admins"),
    Privilege("command", "/coffee schedule lyon 0 9 * * mon", "coordinator of that chapter; 'all' for admins"),
    Privilege("command", "/audit", ADMIN),
    Privilege("command", "/audit export", ADMIN),
    Privilege("button", "rsvp:{meetup}:going", "members of the meetup's audience chapters"),
    Privilege("button", "mt:ics:{meetup}", "members of the meetup's audience, or " + COORDINATOR_OF),
    Privilege("button", "sv:start:{survey}", "invited members"),
    Privilege("button", "mn:end:{mentorship}:yes", "either side of the mentorship"),
    Privilege("button", "mn:met:{mentorship}:yes", "either side of the mentorship"),
    Privilege("button", "cf:met:{coffee}:yes", "members of the coffee round"),
    Privilege("button", "d:1:send", "the chat whose dialog it is (dialog buttons carry the chat's sequence)"),
)
