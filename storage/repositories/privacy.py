"""A member's data: all of it as one document (``/mydata``), or erased (``/forget``, retention).

What ``forget`` does, table by table (the member row is deleted last; the foreign keys'
CASCADE / SET NULL would do part of it, but every step is explicit here):

- members, identities, roles, link_codes, reminders: deleted.
- dialog_states: the states of the given chats and of the private chats of their identities
  (on Telegram and the console a private chat's id is the user's id; a Discord DM channel is
  found only when the erasure is asked from it).
- outbox, addressed to them: not sent yet (queued, in flight) deleted; finished rows (sent,
  failed, unreachable, cancelled) stay for the delivery counts of their batch, with no
  member, no target, an empty payload and a random dedupe key. Addressed to others: the
  introductions and follow-ups of pairs and coffee groups, and their own announcements
  ("from NAME"), have their display name and user ids replaced (whole words); such a pair
  message not sent yet is cancelled. The rows of their mentorships get random dedupe keys,
  so that a mentorship that reuses the id (SQLite reuses the highest) is never taken as sent.
- survey_responses: kept, with no member and a random token (a named survey's token is
  ``m<id>``; an open anonymous survey's could be recomputed from the id and the salt). The
  answers hang off the response, so every count, mean and chapter figure stays as it was;
  their name (and its parts) is replaced in their own free-text answers.
  survey_invites: deleted. A named survey's turnout counts its member-less responses as
  invited (see SqlSurveyRepository.turnout), so its figures stay exact; an anonymous survey
  cannot tell (marking the response would single it out): its invited count loses them,
  but never drops below the number who started.
- meetup_attendance: deleted (the core frees their seats at upcoming meetups first, so the
  waitlist moves up). A past meetup's counts lose them: an anonymous count would need a
  counter column per meetup, which no statistic uses yet.
- mentorships: deleted (the core ends the active ones first and tells the other side).
- match_runs: their entries are taken out of every run's proposals and unmatched; their own
  previews that were never confirmed are deleted.
- coffee_rounds: their id is taken out of the groups and of ``met``.
- audit_log: entries they made stay with no actor; their name and user ids are replaced in
  the details.
- announcements, surveys, meetups they created: kept, with no author.
"""

from __future__ import annotations

import builtins
import json
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, Text, and_, cast, delete, false, or_, select, update
from sqlalchemy.orm import Session

from bot.delivery import Status
from bot.events import ChatRef
from bot.surveys.model import Kind
from storage.models import (
    NETWORK_WIDE,
    AnnouncementRow,
    AttendanceRow,
    AuditRow,
    CoffeeRoundRow,
    DialogStateRow,
    IdentityRow,
    LinkCodeRow,
    MatchRunRow,
    MeetupRow,
    MemberRow,
    MentorshipRow,
    OutboxRow,
    ReminderRow,
    RoleRow,
    SurveyAnswerRow,
    SurveyInviteRow,
    SurveyResponseRow,
    SurveyRow,
)
from storage.repositories.surveys import _survey

#: What stands where a forgotten member's name or user id was, in messages kept for others.
REDACTED = "[removed]"
#: The payload left on a finished delivery to a forgotten member.
EMPTY_PAYLOAD: dict[str, Any] = {"type": "text", "text": "", "buttons": []}
_PENDING = (Status.QUEUED.value, Status.SENDING.value)
#: The batch of introductions, follow-ups and notices about pairs (bot.mentoring.intros.send).
MENTORING_BATCH = "mentoring"


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _json(value: Any) -> Any:
    """Times as ISO strings, recursively; everything else as it is."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _random_key() -> str:
    return f"forgotten:{secrets.token_hex(12)}"


class _Redactor:
    """Replaces whole-word occurrences of a member's name and user ids in JSON values."""

    def __init__(self, needles: Iterable[str]) -> None:
        words = sorted({n for n in needles if n.strip()}, key=len, reverse=True)
        self.words = words
        self._pattern = re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in words)) if words else None

    def variants(self) -> set[str]:
        """How each word may look inside stored JSON text (SQLite keeps \\u escapes,
        PostgreSQL's jsonb prints the characters)."""
        found = set()
        for word in self.words:
            found |= {word, json.dumps(word)[1:-1], json.dumps(word, ensure_ascii=False)[1:-1]}
        return found

    def mentions(self, column: Any) -> ColumnElement[bool]:
        """A cheap SQL pre-filter: the column's JSON text contains a word (a superset)."""
        text = cast(column, Text)
        return or_(false(), *(text.contains(v, autoescape=True) for v in self.variants()))

    def redact(self, value: Any) -> Any:
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self._pattern.sub(REDACTED, value)
        if isinstance(value, dict):
            return {self.redact(k): self.redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v) for v in value]
        return value


class SqlPrivacyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # --- shared -------------------------------------------------------------------------

    def _identities(self, member_id: int) -> builtins.list[tuple[str, str]]:
        rows = self._session.execute(
            select(IdentityRow.platform, IdentityRow.user_id).where(IdentityRow.member_id == member_id)
        )
        return [(platform, user_id) for platform, user_id in rows]

    def _chats(self, member_id: int, chats: builtins.list[ChatRef]) -> set[tuple[str, str]]:
        """Their private chats: where they asked from, and each identity's own chat id."""
        return {(c.platform, c.chat_id) for c in chats if c.private} | set(self._identities(member_id))

    def _to_them(self, member_id: int, identities: builtins.list[tuple[str, str]]) -> ColumnElement[bool]:
        o = _t(OutboxRow).c
        direct = [
            and_(o.target_kind == "user", o.platform == platform, o.target_id == user_id)
            for platform, user_id in identities
        ]
        return or_(o.member_id == member_id, *direct)

    def _names(self, member_ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(member_ids))
        found: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            rows = self._session.execute(
                select(MemberRow.id, MemberRow.display_name).where(MemberRow.id.in_(ids[start : start + 500]))
            )
            found.update((i, name) for i, name in rows)
        return found

    # --- export -------------------------------------------------------------------------

    def export(self, member_id: int, chats: builtins.list[ChatRef]) -> dict[str, Any]:
        self._session.flush()
        member = self._session.execute(select(_t(MemberRow)).where(_t(MemberRow).c.id == member_id)).first()
        if member is None:
            raise LookupError(f"no member {member_id}")
        s = self._session
        document: dict[str, Any] = {"profile": _json(dict(member._mapping))}
        document["identities"] = [
            {
                "platform": r.platform,
                "user_id": r.user_id,
                "unreachable": r.unreachable,
                "linked_at": _json(r.created_at),
            }
            for r in s.scalars(select(IdentityRow).where(IdentityRow.member_id == member_id).order_by(IdentityRow.id))
        ]
        document["roles"] = [
            {"role": r.role, "chapter": None if r.chapter == NETWORK_WIDE else r.chapter, "source": r.source}
            for r in s.scalars(select(RoleRow).where(RoleRow.member_id == member_id).order_by(RoleRow.id))
        ]
        document["dialogs"] = self._export_dialogs(member_id, chats)
        document["meetups"] = [
            {
                "meetup": a.meetup_id,
                "title": title,
                "starts_at": _json(starts_at),
                "answer": a.status,
                "guests": a.guests,
                "checked_in": a.checked_in,
                "updated_at": _json(a.updated_at),
            }
            for a, title, starts_at in s.execute(
                select(AttendanceRow, MeetupRow.title, MeetupRow.starts_at)
                .join(MeetupRow, MeetupRow.id == AttendanceRow.meetup_id)
                .where(AttendanceRow.member_id == member_id)
                .order_by(MeetupRow.starts_at)
            )
        ]
        document["mentorships"] = self._export_mentorships(member_id)
        document["coffee_rounds"] = self._export_coffee(member_id)
        document["survey_invitations"] = [
            {"survey": survey_id, "title": title, "anonymous": anonymous, "chapter": chapter}
            for survey_id, title, anonymous, chapter in s.execute(
                select(SurveyInviteRow.survey_id, SurveyRow.title, SurveyRow.anonymous, SurveyInviteRow.chapter)
                .join(SurveyRow, SurveyRow.id == SurveyInviteRow.survey_id)
                .where(SurveyInviteRow.member_id == member_id)
                .order_by(SurveyInviteRow.survey_id)
            )
        ]
        document["survey_answers"] = self._export_answers(member_id)
        identities = self._identities(member_id)
        o = _t(OutboxRow).c
        document["deliveries"] = [
            {
                "platform": r.platform,
                "status": r.status,
                "batch": r.batch,
                "created_at": _json(r.created_at),
                "sent_at": _json(r.sent_at),
            }
            for r in s.execute(
                select(o.platform, o.status, o.batch, o.created_at, o.sent_at)
                .where(self._to_them(member_id, identities))
                .order_by(o.id)
            )
        ]
        document["reminders"] = [
            {"due_at": _json(due_at), "sent": sent}
            for due_at, sent in s.execute(
                select(ReminderRow.due_at, ReminderRow.sent).where(ReminderRow.member_id == member_id)
            )
        ]
        document["link_codes"] = [
            {"expires_at": _json(expires_at), "used_at": _json(used_at)}
            for expires_at, used_at in s.execute(
                select(LinkCodeRow.expires_at, LinkCodeRow.used_at).where(LinkCodeRow.member_id == member_id)
            )
        ]
        document["audit"] = [
            {"at": _json(r.at), "action": r.action, "details": _json(r.details), "audience_size": r.audience_size}
            for r in s.scalars(select(AuditRow).where(AuditRow.actor_id == member_id).order_by(AuditRow.id))
        ]
        document["created"] = self._export_created(member_id)
        return document

    def _export_dialogs(self, member_id: int, chats: builtins.list[ChatRef]) -> builtins.list[dict[str, Any]]:
        found = []
        for platform, chat_id in sorted(self._chats(member_id, chats)):
            row = self._session.get(DialogStateRow, (platform, chat_id))
            if row is not None:
                found.append(
                    {
                        "platform": platform,
                        "chat_id": chat_id,
                        "dialog": row.dialog,
                        "step": row.step,
                        "data": _json(row.data),
                        "updated_at": _json(row.updated_at),
                    }
                )
        return found

    def _export_mentorships(self, member_id: int) -> builtins.list[dict[str, Any]]:
        rows = list(
            self._session.scalars(
                select(MentorshipRow)
                .where((MentorshipRow.mentor_id == member_id) | (MentorshipRow.mentee_id == member_id))
                .order_by(MentorshipRow.id)
            )
        )
        names = self._names(r.mentee_id if r.mentor_id == member_id else r.mentor_id for r in rows)
        me = str(member_id)
        return [
            {
                "mentorship": r.id,
                "you_are": "mentor" if r.mentor_id == member_id else "mentee",
                "with": names.get(r.mentee_id if r.mentor_id == member_id else r.mentor_id),
                "status": r.status,
                "reasons": _json(r.reasons),
                "created_at": _json(r.created_at),
                "ended_at": _json(r.ended_at),
                "ended_by_you": r.ended_by == member_id if r.ended_by is not None else None,
                "end_reason": r.end_reason,
                # Only what they said themselves: the other side's answers are the other's.
                "you_met": (r.met or {}).get(me),
                "your_rating": (r.feedback or {}).get(me),
                "your_note": (r.notes or {}).get(me),
            }
            for r in rows
        ]

    def _export_coffee(self, member_id: int) -> builtins.list[dict[str, Any]]:
        rounds = []
        for r in self._coffee_rounds_with(member_id):
            group = next((g for g in r.groups if member_id in g), None)
            if group is None:
                continue
            rounds.append((r, [i for i in group if i != member_id]))
        names = self._names(i for _r, others in rounds for i in others)
        return [
            {
                "round": r.id,
                "scope": r.scope,
                "created_at": _json(r.created_at),
                "with": [names.get(i) for i in others],
                "you_met": (r.met or {}).get(str(member_id)),
            }
            for r, others in rounds
        ]

    def _coffee_rounds_with(self, member_id: int) -> builtins.list[CoffeeRoundRow]:
        # The LIKE only narrows the rows down; the groups are checked exactly.
        query = (
            select(CoffeeRoundRow)
            .where(cast(CoffeeRoundRow.groups, Text).contains(str(member_id)))
            .order_by(CoffeeRoundRow.id)
        )
        return [r for r in self._session.scalars(query) if any(member_id in g for g in r.groups)]

    def _export_answers(self, member_id: int) -> builtins.list[dict[str, Any]]:
        """Their answers to named surveys. An anonymous survey's response carries no member,
        so it is never found here."""
        found = []
        responses = self._session.execute(
            select(SurveyResponseRow, SurveyRow)
            .join(SurveyRow, SurveyRow.id == SurveyResponseRow.survey_id)
            .where(SurveyResponseRow.member_id == member_id, SurveyRow.anonymous.is_(False))
            .order_by(SurveyResponseRow.survey_id)
        )
        for response, survey_row in responses:
            survey = _survey(survey_row)
            answers: dict[int, dict[str, Any]] = {}
            for question, value, text, language in self._session.execute(
                select(SurveyAnswerRow.question, SurveyAnswerRow.value, SurveyAnswerRow.text, SurveyAnswerRow.language)
                .where(SurveyAnswerRow.response_id == response.id)
                .order_by(SurveyAnswerRow.question, SurveyAnswerRow.id)
            ):
                if question >= len(survey.questions):
                    continue
                q = survey.questions[question]
                entry = answers.setdefault(question, {"question": question + 1, "question_text": dict(q.texts)})
                if text is not None:
                    entry["answer"] = text
                    entry["language"] = language
                elif value is None:
                    entry.setdefault("answer", [])  # a multiple choice answer that picked nothing
                elif q.kind in (Kind.SINGLE, Kind.MULTI):
                    label = dict(q.options[value]) if 0 <= value < len(q.options) else value
                    if q.kind is Kind.MULTI:
                        entry.setdefault("answer", []).append(label)
                    else:
                        entry["answer"] = label
                else:
                    entry["answer"] = value
            found.append(
                {
                    "survey": survey.id,
                    "title": dict(survey.title),
                    "completed": response.completed,
                    "answers": [answers[q] for q in sorted(answers)],
                }
            )
        return found

    def _export_created(self, member_id: int) -> dict[str, Any]:
        s = self._session
        return {
            "announcements": [
                {"announcement": r.id, "status": r.status, "texts": dict(r.texts), "created_at": _json(r.created_at)}
                for r in s.scalars(
                    select(AnnouncementRow).where(AnnouncementRow.author_id == member_id).order_by(AnnouncementRow.id)
                )
            ],
            "meetups": [
                {"meetup": i, "title": title, "starts_at": _json(starts_at)}
                for i, title, starts_at in s.execute(
                    select(MeetupRow.id, MeetupRow.title, MeetupRow.starts_at)
                    .where(MeetupRow.author_id == member_id)
                    .order_by(MeetupRow.id)
                )
            ],
            "surveys": [
                {"survey": i, "title": title, "status": status}
                for i, title, status in s.execute(
                    select(SurveyRow.id, SurveyRow.title, SurveyRow.status)
                    .where(SurveyRow.author_id == member_id)
                    .order_by(SurveyRow.id)
                )
            ],
            "match_previews": [
                {"run": i, "created_at": _json(created_at), "confirmed": confirmed}
                for i, created_at, confirmed in s.execute(
                    select(MatchRunRow.id, MatchRunRow.created_at, MatchRunRow.confirmed)
                    .where(MatchRunRow.author_id == member_id)
                    .order_by(MatchRunRow.id)
                )
            ],
        }

    # --- forget -------------------------------------------------------------------------

    def forget(self, member_id: int, chats: builtins.list[ChatRef]) -> None:
        s = self._session
        s.flush()  # what the core changed through the ORM goes first
        name = s.scalar(select(MemberRow.display_name).where(MemberRow.id == member_id))
        if name is None:
            return
        identities = self._identities(member_id)
        redactor = _Redactor([name, *(user_id for _platform, user_id in identities)])
        private = self._chats(member_id, chats)

        d = _t(DialogStateRow).c
        for platform, chat_id in private:
            s.execute(delete(_t(DialogStateRow)).where(d.platform == platform, d.chat_id == chat_id))

        self._forget_deliveries(member_id, identities, redactor)
        # In their own free-text answers, which stay, even a part of their name goes.
        parts = [part for part in name.split() if len(part) >= 3]
        self._forget_survey_responses(member_id, _Redactor([*redactor.words, *parts]))

        mentorships = list(
            s.scalars(
                select(MentorshipRow.id).where(
                    (MentorshipRow.mentor_id == member_id) | (MentorshipRow.mentee_id == member_id)
                )
            )
        )
        o = _t(OutboxRow).c
        for mentorship_id in mentorships:
            prefix = f"mentorship:{mentorship_id}:"
            for row_id in s.scalars(select(o.id).where(o.dedupe_key.startswith(prefix, autoescape=True))).all():
                s.execute(update(_t(OutboxRow)).where(o.id == row_id).values(dedupe_key=_random_key()))
        s.execute(delete(_t(MentorshipRow)).where(_t(MentorshipRow).c.id.in_(mentorships)))

        self._forget_match_runs(member_id)
        for r in self._coffee_rounds_with(member_id):
            s.execute(
                update(_t(CoffeeRoundRow))
                .where(_t(CoffeeRoundRow).c.id == r.id)
                .values(
                    groups=[[i for i in g if i != member_id] for g in r.groups],
                    met={k: v for k, v in (r.met or {}).items() if k != str(member_id)},
                )
            )

        a = _t(AuditRow).c
        s.execute(update(_t(AuditRow)).where(a.actor_id == member_id).values(actor_id=None))
        for row_id, details in s.execute(select(a.id, a.details).where(redactor.mentions(a.details))).all():
            cleaned = redactor.redact(details)
            if cleaned != details:
                s.execute(update(_t(AuditRow)).where(a.id == row_id).values(details=cleaned))

        for authored in (AnnouncementRow, SurveyRow, MeetupRow, MatchRunRow):
            table = _t(authored)
            s.execute(update(table).where(table.c.author_id == member_id).values(author_id=None))
        for theirs in (SurveyInviteRow, AttendanceRow, ReminderRow, LinkCodeRow, RoleRow, IdentityRow):
            table = _t(theirs)
            s.execute(delete(table).where(table.c.member_id == member_id))
        s.execute(delete(_t(MemberRow)).where(_t(MemberRow).c.id == member_id))
        # Nothing in the session may still hold (or write back) what was just erased.
        s.expunge_all()

    def _forget_deliveries(
        self, member_id: int, identities: builtins.list[tuple[str, str]], redactor: _Redactor
    ) -> None:
        s = self._session
        table = _t(OutboxRow)
        o = table.c
        to_them = self._to_them(member_id, identities)
        s.execute(delete(table).where(to_them, o.status.in_(_PENDING)))
        # Finished deliveries stay for their batch's counts, with nothing that leads to them.
        for row_id in list(s.scalars(select(o.id).where(to_them))):
            s.execute(
                update(table)
                .where(o.id == row_id)
                .values(
                    dedupe_key=_random_key(),
                    member_id=None,
                    target_id="",
                    payload=EMPTY_PAYLOAD,
                    last_error=None,
                    claimed_by=None,
                    claimed_at=None,
                )
            )
        # Messages to others that name them: introductions and follow-ups of pairs (about
        # them: not sent if not sent yet) and their own announcements (still sent, from
        # nobody). Others' free words (an announcement's text) are theirs and stay as written.
        authored = [
            f"announce:{i}" for i in s.scalars(select(AnnouncementRow.id).where(AnnouncementRow.author_id == member_id))
        ]
        about = or_(o.batch == MENTORING_BATCH, o.batch.in_(authored)) if authored else o.batch == MENTORING_BATCH
        for row_id, status, batch, payload in s.execute(
            select(o.id, o.status, o.batch, o.payload).where(about, redactor.mentions(o.payload))
        ).all():
            cleaned = redactor.redact(payload)
            if cleaned == payload:
                continue
            values: dict[str, Any] = {"payload": cleaned}
            if status == Status.QUEUED.value and batch == MENTORING_BATCH:
                values["status"] = Status.CANCELLED.value
            s.execute(update(table).where(o.id == row_id).values(**values))

    def _forget_survey_responses(self, member_id: int, redactor: _Redactor) -> None:
        """Responses stay (the results count them) but can no longer be traced to them."""
        s = self._session
        r = _t(SurveyResponseRow).c
        responses = list(s.scalars(select(r.id).where(r.member_id == member_id)))
        # An open anonymous survey's token is a hash of its salt and the member id: replaced too.
        open_anonymous = s.scalars(
            select(SurveyRow)
            .join(SurveyInviteRow, SurveyInviteRow.survey_id == SurveyRow.id)
            .where(SurveyInviteRow.member_id == member_id, SurveyRow.anonymous.is_(True), SurveyRow.salt.is_not(None))
        ).all()
        for survey_row in open_anonymous:
            token = _survey(survey_row).token(member_id)
            responses += s.scalars(select(r.id).where(r.survey_id == survey_row.id, r.token == token)).all()
        for response_id in responses:
            s.execute(
                update(_t(SurveyResponseRow))
                .where(r.id == response_id)
                .values(member_id=None, token=secrets.token_hex(16))
            )
        a = _t(SurveyAnswerRow).c
        if not responses:
            return
        for answer_id, text in s.execute(
            select(a.id, a.text).where(a.response_id.in_(responses), a.text.is_not(None))
        ).all():
            cleaned = redactor.redact(text)
            if cleaned != text:
                s.execute(update(_t(SurveyAnswerRow)).where(a.id == answer_id).values(text=cleaned))

    def _forget_match_runs(self, member_id: int) -> None:
        s = self._session
        m = _t(MatchRunRow).c
        s.execute(delete(_t(MatchRunRow)).where(m.author_id == member_id, m.confirmed.is_(False)))
        needle = str(member_id)
        candidates = s.execute(
            select(m.id, m.proposals, m.unmatched).where(
                or_(cast(m.proposals, Text).contains(needle), cast(m.unmatched, Text).contains(needle))
            )
        ).all()

        def theirs(entry: Any) -> bool:
            return isinstance(entry, dict) and member_id in (entry.get("mentee"), entry.get("mentor"))

        for run_id, proposals, unmatched in candidates:
            kept = [p for p in proposals if not theirs(p)]
            left = [u for u in unmatched if not theirs(u)]
            if len(kept) != len(proposals) or len(left) != len(unmatched):
                s.execute(update(_t(MatchRunRow)).where(m.id == run_id).values(proposals=kept, unmatched=left))

    # --- retention ----------------------------------------------------------------------

    def inactive(self, before: datetime, limit: int) -> builtins.list[int]:
        query = (
            select(MemberRow.id)
            .where(MemberRow.updated_at < before)
            .order_by(MemberRow.updated_at, MemberRow.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def last_seen(self, member_id: int, *, lock: bool = False) -> datetime | None:
        query = select(MemberRow.updated_at).where(MemberRow.id == member_id)
        if lock:
            query = query.with_for_update()
        return self._session.scalar(query)
