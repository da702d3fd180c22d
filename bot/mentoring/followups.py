"""After a match: "did you meet?" after two weeks, a short feedback after six, and either
side can end the mentorship or ask for a new match; the other side gets a neutral notice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.broadcast import member_language
from bot.context import Context
from bot.dialogs.engine import Dialog, Outcome, Step, button, finish, stay
from bot.dialogs.state import DialogState
from bot.i18n import Catalogs
from bot.ids import parse_id
from bot.mentoring.intros import send
from bot.mentoring.model import Mentorship, MentorshipStatus
from bot.network import Network
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.replies import Button, Reply, Text, rows

log = logging.getLogger(__name__)

ACTION_PREFIX = "mn"
NOTE_DIALOG = "mentorship-note"
CHECKIN_AFTER = timedelta(days=14)
FEEDBACK_AFTER = timedelta(days=42)
MAX_NOTE = 1000


@dataclass(frozen=True)
class FollowUps:
    checkins: int = 0
    feedback: int = 0


def _ask(uow: UnitOfWork, network: Network, catalogs: Catalogs, m: Mentorship, kind: str, now: datetime) -> int:
    people = uow.members.get_many([m.mentor_id, m.mentee_id])
    sent = 0
    for me_id in (m.mentor_id, m.mentee_id):
        me, other = people.get(me_id), people.get(m.other(me_id))
        if me is None or other is None:
            continue
        _ = catalogs.translator(member_language(me, network))
        if kind == "met":
            text = _("Did you meet {name} yet?", name=other.display_name)
            buttons = rows(
                Button(_("Yes, we met"), f"{ACTION_PREFIX}:met:{m.id}:yes"),
                Button(_("Not yet"), f"{ACTION_PREFIX}:met:{m.id}:no"),
            )
        else:
            text = _("How is your mentorship with {name} going? 1 = not well, 5 = very well.", name=other.display_name)
            buttons = (tuple(Button(str(n), f"{ACTION_PREFIX}:fb:{m.id}:{n}") for n in range(1, 6)),)
        sent += send(uow, network, me, f"mentorship:{m.id}:{kind}:m{me_id}", text, now, buttons)
    return sent


def run_due_followups(uow_factory: UnitOfWorkFactory, network: Network, catalogs: Catalogs, now: datetime) -> FollowUps:
    checkins = feedback = 0
    with uow_factory() as uow:
        due = [
            m.id
            for m in uow.mentoring.active()
            if m.id is not None
            and (
                (not m.checkin_sent and m.created_at + CHECKIN_AFTER <= now)
                or (not m.feedback_sent and m.created_at + FEEDBACK_AFTER <= now)
            )
        ]
    for mentorship_id in due:
        try:
            with uow_factory() as uow:
                m = uow.mentoring.get(mentorship_id, lock=True)
                if m is None or m.status is not MentorshipStatus.ACTIVE:
                    continue
                if not m.checkin_sent and m.created_at + CHECKIN_AFTER <= now:
                    m.checkin_sent = True
                    checkins += _ask(uow, network, catalogs, m, "met", now)
                if not m.feedback_sent and m.created_at + FEEDBACK_AFTER <= now:
                    m.feedback_sent = True
                    feedback += _ask(uow, network, catalogs, m, "feedback", now)
                uow.mentoring.save(m)
                uow.commit()
        except Exception:  # one broken pair must not hold up the others
            log.exception("the due scan could not follow up mentorship %s", mentorship_id)
    return FollowUps(checkins=checkins, feedback=feedback)


# --- the buttons ----------------------------------------------------------------------------


def _own(ctx: Context, ident: str) -> Mentorship | None:
    number = parse_id(ident)
    found = ctx.uow.mentoring.get(number, lock=True) if number is not None else None
    if found is None or ctx.member is None or ctx.member.id is None or not found.involves(ctx.member.id):
        return None
    return found


def on_button(ctx: Context, value: str) -> list[Reply]:
    verb, _, rest = value.partition(":")
    ident, _, arg = rest.partition(":")
    mentorship = _own(ctx, ident)
    stale: list[Reply] = [Text(ctx._("This button is no longer current."))]
    if mentorship is None or ctx.member is None or ctx.member.id is None:
        return stale
    me = str(ctx.member.id)
    if mentorship.status is not MentorshipStatus.ACTIVE:
        return [Text(ctx._("This mentorship has ended."))]
    if verb == "met" and arg in ("yes", "no"):
        mentorship.met[me] = arg == "yes"
        ctx.uow.mentoring.save(mentorship)
        if arg == "yes":
            return [Text(ctx._("Wonderful! Thank you for telling us."))]
        return [Text(ctx._("Thanks for telling us. A short message to say hello is often all it takes."))]
    if verb == "fb" and arg in {"1", "2", "3", "4", "5"}:
        mentorship.feedback[me] = int(arg)
        ctx.uow.mentoring.save(mentorship)
        return ctx.dialogs.start(ctx, NOTE_DIALOG, data={"mentorship": mentorship.id})
    if verb in ("end", "rematch") and not arg:
        question = (
            ctx._("End this mentorship? The other side gets a short, neutral notice.")
            if verb == "end"
            else ctx._("End this mentorship and be matched with someone else at the next round?")
        )
        yes = Button(ctx._("Yes"), f"{ACTION_PREFIX}:{verb}:{mentorship.id}:yes")
        return [Text(question, ((yes,),))]
    if verb in ("end", "rematch") and arg == "yes":
        return end(ctx, mentorship, verb)
    return stale


def end(ctx: Context, mentorship: Mentorship, reason: str) -> list[Reply]:
    assert ctx.member is not None and ctx.member.id is not None
    mentorship.status = MentorshipStatus.ENDED
    mentorship.ended_at = ctx.now()
    mentorship.ended_by = ctx.member.id
    mentorship.end_reason = "rematch" if reason == "rematch" and ctx.member.id == mentorship.mentee_id else "ended"
    ctx.uow.mentoring.save(mentorship)
    for kind in ("met", "feedback"):  # questions not sent yet are not worth sending now
        ctx.uow.outbox.withdraw(f"mentorship:{mentorship.id}:{kind}:")
    if mentorship.end_reason == "ended" and ctx.member.id == mentorship.mentee_id:
        ctx.member.is_mentee = False  # ended, not "a new match please": not matched again unasked
        ctx.uow.members.save(ctx.member)
    other = ctx.uow.members.get(mentorship.other(ctx.member.id))
    if other is not None:
        _ = ctx.services.catalogs.translator(member_language(other, ctx.network))
        notice = _("Your mentorship with {name} has ended. Thank you for taking part!", name=ctx.member.display_name)
        send(ctx.uow, ctx.network, other, f"mentorship:{mentorship.id}:ended:m{other.id}", notice, ctx.now())
    if mentorship.end_reason == "rematch":
        return [Text(ctx._("Done. You will be matched with someone new at the next round."))]
    if ctx.member.id == mentorship.mentee_id:
        return [Text(ctx._("Done. Your mentorship has ended. Send /mentee on to be matched again."))]
    return [Text(ctx._("Done. Your mentorship has ended."))]


def listing(ctx: Context, args: str) -> list[Reply]:
    """``/mentorship``: your current mentorships, with buttons to end one or ask for a rematch."""
    assert ctx.member is not None and ctx.member.id is not None
    mine = [m for m in ctx.uow.mentoring.of_member(ctx.member.id) if m.status is MentorshipStatus.ACTIVE]
    if not mine:
        return [Text(ctx._("You have no mentorship right now."))]
    people = ctx.uow.members.get_many([m.other(ctx.member.id) for m in mine])
    replies: list[Reply] = []
    for m in mine:
        other = people.get(m.other(ctx.member.id))
        name = other.display_name if other else "?"
        is_mentee = m.mentee_id == ctx.member.id
        text = ctx._("Your mentor: {name}", name=name) if is_mentee else ctx._("Your mentee: {name}", name=name)
        buttons = [Button(ctx._("End it"), f"{ACTION_PREFIX}:end:{m.id}")]
        if is_mentee:
            buttons.append(Button(ctx._("Ask for a new match"), f"{ACTION_PREFIX}:rematch:{m.id}"))
        replies.append(Text(text, rows(*buttons)))
    return replies


# --- the optional words after a rating -----------------------------------------------------------


def _note_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("Thank you! Anything you would like to add, in a few words?"),
        rows(button(state, ctx._("Skip"), "skip")),
    )


def _note_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    body = text.strip()
    if len(body) > MAX_NOTE:
        return stay(Text(ctx._("That is longer than {limit} characters. Please shorten it.", limit=MAX_NOTE)))
    mentorship = _own(ctx, str(state.data.get("mentorship", "")))
    if mentorship is None or ctx.member is None:
        return finish(Text(ctx._("This mentorship has ended.")))
    mentorship.notes[str(ctx.member.id)] = body
    ctx.uow.mentoring.save(mentorship)
    return finish(Text(ctx._("Thank you, noted.")))


def _note_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    return finish(Text(ctx._("Thank you!"))) if value == "skip" else stay()


NOTE = Dialog(
    name=NOTE_DIALOG,
    steps={"note": Step(_note_prompt, on_text=_note_text, on_button=_note_button)},
    order=("note",),
)
