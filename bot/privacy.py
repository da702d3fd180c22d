"""A member's own data: ``/mydata`` sends all of it as a JSON file, ``/forget`` erases it
(after a confirmation button), and the retention rule erases members not seen for months.

What is erased and what stays, anonymously, for the statistics is described table by table
in storage/repositories/privacy.py. Here: the confirmation, and what needs the core's rules
first: the other side of a mentorship is told (without a name), and a seat at an upcoming
meetup is given back so that the waitlist moves up.
"""

from __future__ import annotations

import calendar
import hmac
import json
import logging
import secrets
from datetime import datetime, timedelta

from bot.broadcast import member_language
from bot.context import Context, Services
from bot.dialogs.engine import Dialog, Step
from bot.dialogs.state import DialogState
from bot.events import ChatRef
from bot.i18n import Catalogs
from bot.meetups import seats
from bot.meetups.model import Rsvp
from bot.meetups.rsvp import notify_promoted
from bot.members import Member
from bot.mentoring.intros import send
from bot.mentoring.model import MentorshipStatus
from bot.network import Network
from bot.ports import UnitOfWork
from bot.replies import Button, File, Reply, Text

log = logging.getLogger(__name__)

ACTION_PREFIX = "fg"
DIALOG = "forget"
#: A confirmation button older than this is refused: /forget asks again.
CONFIRM_WITHIN = timedelta(minutes=15)
#: Upcoming meetups looked at for seats to give back.
MEETUPS_AHEAD = 1000
#: Members the retention rule erases per due scan (each in its own transaction).
RETENTION_BATCH = 200


# --- /mydata ----------------------------------------------------------------------------------


def mydata(ctx: Context, args: str) -> list[Reply]:
    assert ctx.member is not None and ctx.member.id is not None
    document = {
        "network": ctx.network.name,
        "exported_at": ctx.now().isoformat(),
        **ctx.uow.privacy.export(ctx.member.id, [ctx.chat]),
    }
    data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    caption = ctx._("Everything stored about you, as a JSON file. /forget erases it.")
    return [File("mydata.json", data, "application/json", caption)]


# --- /forget ----------------------------------------------------------------------------------


def forget_command(ctx: Context, args: str) -> list[Reply]:
    assert ctx.member is not None and ctx.member.id is not None
    data = {"member": ctx.member.id, "nonce": secrets.token_hex(8), "asked_at": ctx.now().isoformat()}
    return ctx.dialogs.start(ctx, DIALOG, data=data)


def _confirm_prompt(ctx: Context, state: DialogState) -> Text:
    nonce = state.data["nonce"]
    warning = "\n\n".join(
        [
            ctx._("⚠️ Erase everything about you?"),
            ctx._(
                "Your profile, your linked accounts, your roles, your meetup answers, your "
                "mentorships and coffee rounds are deleted; the other side of a mentorship is "
                "told it has ended. Your answers to surveys stay in the results, but anonymous: "
                "nothing links them to you any more."
            ),
            ctx._("This cannot be undone. /mydata first gives you a copy of your data."),
        ]
    )
    buttons = (
        (Button(ctx._("Yes, erase everything"), f"{ACTION_PREFIX}:yes:{nonce}"),),
        (Button(ctx._("No, keep my data"), f"{ACTION_PREFIX}:no:{nonce}"),),
    )
    return Text(warning, buttons)


FORGET = Dialog(name=DIALOG, steps={"confirm": Step(_confirm_prompt)}, order=("confirm",))


def _pending(ctx: Context, nonce: str) -> DialogState | None:
    """The confirmation this button answers: asked in this chat, by this member, recently,
    and not answered yet. Anything else (a forged or copied action, another member, a second
    press, an old button) finds none."""
    member = ctx.member
    if member is None or member.id is None or not ctx.chat.private or not nonce:
        return None
    state = ctx.dialogs.active(ctx.uow.dialogs.get(ctx.chat))
    if state is None or state.dialog != DIALOG or state.data.get("member") != member.id:
        return None
    if not hmac.compare_digest(str(state.data.get("nonce", "")), nonce):
        return None
    try:
        asked_at = datetime.fromisoformat(str(state.data.get("asked_at")))
    except ValueError:
        return None
    if not asked_at <= ctx.now() <= asked_at + CONFIRM_WITHIN:
        return None
    return state


def on_button(ctx: Context, value: str) -> list[Reply]:
    verb, _, nonce = value.partition(":")
    state = _pending(ctx, nonce) if verb in ("yes", "no") else None
    if state is None or ctx.member is None:
        return [Text(ctx._("This button is no longer current."))]
    if verb == "no":
        ctx.dialogs.end(ctx, state)
        return [Text(ctx._("Nothing was erased. Your data stays as it is."), replace=True)]
    forget(ctx.uow, ctx.network, ctx.services.catalogs, ctx.member, ctx.now(), [ctx.chat], "request")
    ctx.member = None
    done = ctx._(
        "Done: everything about you has been erased. Thank you for having been part of the "
        "network! If you ever want to come back, send /start."
    )
    return [Text(done, replace=True)]


# --- erasing ----------------------------------------------------------------------------------


def forget(
    uow: UnitOfWork,
    network: Network,
    catalogs: Catalogs,
    member: Member,
    now: datetime,
    chats: list[ChatRef],
    reason: str,
) -> None:
    """Erase ``member`` in this unit of work (the caller commits)."""
    assert member.id is not None
    _end_mentorships(uow, network, catalogs, member.id, now)
    _give_seats_back(uow, network, catalogs, member.id, now)
    uow.privacy.forget(member.id, chats)
    # Accountability without identity: that an erasure happened, when, and why.
    uow.audit.record(None, "privacy.forget", {"reason": reason}, None, now)


def _end_mentorships(uow: UnitOfWork, network: Network, catalogs: Catalogs, member_id: int, now: datetime) -> None:
    for found in uow.mentoring.of_member(member_id):
        if found.status is not MentorshipStatus.ACTIVE or found.id is None:
            continue
        mentorship = uow.mentoring.get(found.id, lock=True)
        if mentorship is None or mentorship.status is not MentorshipStatus.ACTIVE:
            continue
        uow.outbox.withdraw(f"mentorship:{mentorship.id}:")  # nothing more about this pair goes out
        other = uow.members.get(mentorship.other(member_id))
        if other is None:
            continue
        _ = catalogs.translator(member_language(other, network))
        # Neutral, and without the name: the notice must not keep what is being erased.
        notice = _("One of your mentorships has ended: the other member left the network. Thank you for taking part!")
        send(uow, network, other, f"mentorship:{mentorship.id}:ended:m{other.id}", notice, now)


def _give_seats_back(uow: UnitOfWork, network: Network, catalogs: Catalogs, member_id: int, now: datetime) -> None:
    """Like answering "can't go" to every upcoming meetup: the first waiting move up."""
    upcoming = [m.id for m in uow.meetups.upcoming(now, MEETUPS_AHEAD) if m.id is not None]
    answered = uow.meetups.of_member(member_id, upcoming)
    for meetup_id, attendance in sorted(answered.items()):
        if attendance.status not in (Rsvp.GOING, Rsvp.WAITLIST):
            continue
        meetup = uow.meetups.get(meetup_id, lock=True)  # answers to one meetup take turns
        if meetup is None:
            continue
        before = uow.meetups.attendance(meetup_id, member_id)
        seats.answer(uow, meetup, member_id, Rsvp.NO)
        if before is not None and before.status is Rsvp.GOING:
            notify_promoted(uow, network, catalogs, meetup, seats.promote(uow, meetup), now)


# --- retention --------------------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day if
    that month is shorter)."""
    years, month_index = divmod(moment.month - 1 - months, 12)
    year, month = moment.year + years, month_index + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def run_retention(services: Services, now: datetime) -> int:
    """Erase the members not seen for ``services.retention_months`` (0: never): no event
    from them and no change to their profile in that time. A member whose every account
    refuses our messages (blocked the bot, deleted the account) can send no event either,
    so they fall under this rule too. Returns how many were erased."""
    months = services.retention_months
    if months <= 0:
        return 0
    cutoff = months_before(now, months)
    with services.uow_factory() as uow:
        candidates = uow.privacy.inactive(cutoff, RETENTION_BATCH)
    erased = 0
    for member_id in candidates:
        try:
            with services.uow_factory() as uow:
                seen = uow.privacy.last_seen(member_id, lock=True)
                member = uow.members.get(member_id)
                if seen is None or seen >= cutoff or member is None:
                    continue  # seen meanwhile, or erased already
                forget(uow, services.network, services.catalogs, member, now, [], "retention")
                uow.commit()
                erased += 1
        except Exception:  # one member must not hold up the others
            log.exception("the retention rule could not erase member %s", member_id)
    return erased
