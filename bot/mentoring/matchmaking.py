"""``/match``: coordinators preview the proposed mentor–mentee pairs with their scores and
reasons, then confirm them; the pairs are created and both sides get an introduction."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from bot.context import Context, Services
from bot.i18n import N_, Catalogs
from bot.ids import parse_id
from bot.members import Member, Role
from bot.mentoring import schedules
from bot.mentoring.intros import introduce, reason_text
from bot.mentoring.matching import MatchResult, MenteeCandidate, MentorCandidate, Proposal, Rules, Weights, match
from bot.mentoring.model import MatchRun, Mentorship
from bot.network import Network
from bot.ports import UnitOfWork
from bot.replies import Reply, Text
from bot.telemetry import NO_TELEMETRY, Telemetry

#: A preview older than this must be made again before it is confirmed.
PREVIEW_FRESH = timedelta(hours=24)
SHOWN = 30  # pairs listed in chat; the rest are counted


def _zone(member: Member, network: Network) -> str:
    chapter = network.chapter(member.home_chapter)
    return member.time_zone or (chapter.time_zone if chapter else "UTC")


def _tags(values: list[str]) -> frozenset[str]:
    return frozenset(v.casefold() for v in values)


def _paused(member: Member, now: datetime) -> bool:
    return member.paused_until is not None and member.paused_until > now


def candidates(
    uow: UnitOfWork, network: Network, now: datetime, chapters: set[str] | None
) -> tuple[list[MenteeCandidate], list[MentorCandidate]]:
    """Mentees of ``chapters`` (None: every chapter) without a mentor, and mentors anywhere
    with room left; paused members are left out."""
    members = uow.members.list()
    active = uow.mentoring.active()
    mentored = {m.mentee_id for m in active}
    load = uow.mentoring.load_by_mentor()
    mentees = [
        MenteeCandidate(
            id=m.id,
            chapter=m.home_chapter,
            languages=frozenset(m.languages),
            learning=frozenset(m.learning),
            goals=_tags(m.interests),
            time_zone=_zone(m, network),
            partner_chapters=frozenset(c.code for c in network.partners_of(m.home_chapter or "")),
            preferred_chapter=m.preferred_chapter,
        )
        for m in members
        if m.id is not None
        and m.is_mentee
        and m.id not in mentored
        and not _paused(m, now)
        and (chapters is None or m.home_chapter in chapters)
    ]
    mentors = [
        MentorCandidate(
            id=m.id,
            chapter=m.home_chapter,
            languages=frozenset(m.languages),
            learning=frozenset(m.learning),
            expertise=_tags(m.expertise or m.interests),
            time_zone=_zone(m, network),
            capacity=m.mentor_capacity - load.get(m.id, 0),
        )
        for m in members
        if m.id is not None and m.is_mentor and not _paused(m, now) and m.mentor_capacity > load.get(m.id, 0)
    ]
    return mentees, mentors


def scope(ctx: Context) -> set[str] | None:
    """The chapters whose mentees this coordinator matches (None: all, for admins)."""
    if ctx.has_role(Role.ADMIN):
        return None
    return {c.code for c in ctx.network.chapters if ctx.has_role(Role.COORDINATOR, c.code)}


def compute(ctx: Context, *, rematch: bool = False) -> MatchResult:
    mentees, mentors = candidates(ctx.uow, ctx.network, ctx.now(), scope(ctx))
    rules = Rules(partner_city_required=ctx.services.mentoring_partner_city, allow_rematch=rematch)
    return timed_match(ctx.services.telemetry, mentees, mentors, ctx.uow.mentoring.pairs_ever(), rules)


def timed_match(
    telemetry: Telemetry,
    mentees: Sequence[MenteeCandidate],
    mentors: Sequence[MentorCandidate],
    pairs_ever: Collection[tuple[int, int]],
    rules: Rules,
) -> MatchResult:
    """The matcher, its duration reported to ``telemetry``."""
    started = time.perf_counter()
    result = match(mentees, mentors, pairs_ever, Weights(), rules)
    telemetry.matching_finished(time.perf_counter() - started, len(mentees), len(result.proposals))
    return result


def _proposal_json(p: Proposal) -> dict[str, object]:
    return {
        "mentee": p.mentee_id,
        "mentor": p.mentor_id,
        "score": round(p.score, 3),
        "reasons": [[r.code, r.detail] for r in p.reasons],
    }


UNMATCHED = {
    "no_shared_language": N_("no mentor speaks one of their languages"),
    "only_previous": N_("their only possible mentors were their mentors before"),
    "no_partner_city": N_("no mentor lives in a partner city"),
    "no_capacity": N_("the mentors who would fit have no room left"),
}


def preview(ctx: Context, *, rematch: bool = False) -> list[Reply]:
    result = compute(ctx, rematch=rematch)
    run = ctx.uow.mentoring.add_run(
        MatchRun(
            author_id=ctx.member.id if ctx.member else None,
            created_at=ctx.now(),
            proposals=[_proposal_json(p) | {"rematch": rematch} for p in result.proposals],
            unmatched=[{"mentee": u.mentee_id, "reason": u.reason} for u in result.unmatched],
        )
    )
    ids = [p.mentee_id for p in result.proposals] + [p.mentor_id for p in result.proposals]
    ids += [u.mentee_id for u in result.unmatched]
    people = ctx.uow.members.get_many(list(dict.fromkeys(ids)))
    lines = [ctx._("Proposed pairs ({count}):", count=len(result.proposals))]
    for n, p in enumerate(result.proposals[:SHOWN], start=1):
        mentee, mentor = people.get(p.mentee_id), people.get(p.mentor_id)
        why = "; ".join(reason_text(ctx._, ctx.network, (r.code, r.detail)) for r in p.reasons[:3])
        lines.append(f"{n}. {_who(ctx, mentee)} ← {_who(ctx, mentor)} · {p.score:.1f} · {why}")
    if len(result.proposals) > SHOWN:
        lines.append(ctx._("… and {count} more.", count=len(result.proposals) - SHOWN))
    if result.unmatched:
        lines += ["", ctx._("Not matched ({count}):", count=len(result.unmatched))]
        for u in result.unmatched[:SHOWN]:
            lines.append(f"• {_who(ctx, people.get(u.mentee_id))}: {ctx._(UNMATCHED.get(u.reason, u.reason))}")
    lines += ["", ctx._("/match confirm creates these pairs and introduces them.")]
    assert run.id is not None
    return [Text("\n".join(lines))]


def _who(ctx: Context, member: Member | None) -> str:
    if member is None:
        return "?"
    chapter = ctx.network.chapter(member.home_chapter)
    return f"{member.display_name} ({chapter.name if chapter else '—'})"


def confirm(ctx: Context) -> list[Reply]:
    author = ctx.member.id if ctx.member else None
    run = ctx.uow.mentoring.latest_run(author, lock=True)
    if run is None or run.id is None or run.confirmed:
        return [Text(ctx._("There is no preview to confirm. /match preview makes one."))]
    if ctx.now() - run.created_at > PREVIEW_FRESH:
        return [Text(ctx._("That preview is more than a day old. /match preview makes a fresh one."))]
    if not ctx.uow.mentoring.confirm_run(run.id):
        return [Text(ctx._("There is no preview to confirm. /match preview makes one."))]
    created, skipped = create_pairs(ctx, run)
    details = {"run": run.id, "created": created, "skipped": skipped}
    ctx.uow.audit.record(author, "match.confirm", details, created, ctx.now())
    text = ctx._("{count} mentorships created; both sides are introduced.", count=created)
    if skipped:
        text += "\n" + ctx._("{count} pairs were left out: something changed since the preview.", count=skipped)
    return [Text(text)]


def create_pairs(ctx: Context, run: MatchRun) -> tuple[int, int]:
    """Create the previewed pairs that still hold (roles, capacity, no pair twice). Confirmations
    take turns, so two coordinators confirming at once cannot overfill a mentor."""
    ctx.uow.mentoring.serialize("matching")
    allowed = scope(ctx)
    mentees, mentors = candidates(ctx.uow, ctx.network, ctx.now(), allowed)
    open_mentees = {m.id for m in mentees}
    room = {m.id: m.capacity for m in mentors}
    before = ctx.uow.mentoring.pairs_ever()
    created = skipped = 0
    for proposal in run.proposals:
        mentee_id, mentor_id = parse_id(str(proposal.get("mentee"))), parse_id(str(proposal.get("mentor")))
        if mentee_id is None or mentor_id is None:
            skipped += 1
            continue
        repeat = (mentee_id, mentor_id) in before and proposal.get("rematch") is not True
        if mentee_id not in open_mentees or room.get(mentor_id, 0) < 1 or repeat:
            skipped += 1
            continue
        raw_reasons = proposal.get("reasons")
        reasons = [(str(r[0]), str(r[1])) for r in raw_reasons] if isinstance(raw_reasons, list) else []
        score = proposal.get("score")
        mentorship = ctx.uow.mentoring.add(
            Mentorship(
                mentor_id=mentor_id,
                mentee_id=mentee_id,
                created_at=ctx.now(),
                score=float(score) if isinstance(score, int | float) else 0.0,
                reasons=reasons,
            )
        )
        introduce(ctx.uow, ctx.network, ctx.services.catalogs, mentorship, ctx.now())
        open_mentees.discard(mentee_id)
        room[mentor_id] -= 1
        created += 1
    return created, skipped


def status(ctx: Context) -> list[Reply]:
    """Active pairs in the coordinator's chapters, and those that never met."""
    allowed = scope(ctx)
    active = ctx.uow.mentoring.active()
    people = ctx.uow.members.get_many(list({i for m in active for i in (m.mentor_id, m.mentee_id)}))

    def mine(m: Mentorship) -> bool:
        mentee = people.get(m.mentee_id)
        return allowed is None or (mentee is not None and mentee.home_chapter in allowed)

    pairs = [m for m in active if mine(m)]
    never = [m for m in pairs if m.checkin_sent and not any(m.met.values())]
    lines = [ctx._("Active mentorships: {count}", count=len(pairs))]
    lines.append(ctx._("Asked whether they met and nobody said yes: {count}", count=len(never)))
    for m in never[:SHOWN]:
        lines.append(f"• {_who(ctx, people.get(m.mentee_id))} ← {_who(ctx, people.get(m.mentor_id))}")
    return [Text("\n".join(lines))]


def auto_match(
    uow: UnitOfWork,
    network: Network,
    catalogs: Catalogs,
    chapters: set[str] | None,
    now: datetime,
    partner_rule: bool,
    telemetry: Telemetry = NO_TELEMETRY,
) -> int:
    """Match and introduce at once, without a preview (a scheduled run); returns pairs made."""
    uow.mentoring.serialize("matching")
    mentees, mentors = candidates(uow, network, now, chapters)
    rules = Rules(partner_city_required=partner_rule)
    result = timed_match(telemetry, mentees, mentors, uow.mentoring.pairs_ever(), rules)
    for p in result.proposals:
        mentorship = uow.mentoring.add(
            Mentorship(
                mentor_id=p.mentor_id,
                mentee_id=p.mentee_id,
                created_at=now,
                score=round(p.score, 3),
                reasons=[(r.code, r.detail) for r in p.reasons],
            )
        )
        introduce(uow, network, catalogs, mentorship, now)
    details = {"chapters": sorted(chapters) if chapters is not None else "*", "created": len(result.proposals)}
    uow.audit.record(None, "match.scheduled", details, len(result.proposals), now)
    return len(result.proposals)


def scheduled_match(services: Services, scope: str, now: datetime) -> int:
    """What the scheduler's matching job for ``scope`` (a chapter, or "*") runs."""
    chapters = None if scope == "*" else {scope}
    with services.uow_factory() as uow:
        created = auto_match(
            uow, services.network, services.catalogs, chapters, now, services.mentoring_partner_city, services.telemetry
        )
        uow.commit()
    return created


def _schedule(ctx: Context, rest: str) -> list[Reply]:
    """``/match schedule CHAPTER CRON`` (or ``off``): matching runs on their own."""
    word, _, spec = rest.strip().partition(" ")
    scope = schedules.scope_of(word)
    if not schedules.may_schedule(ctx, scope):
        return [Text(ctx._("This command is for coordinators."))]
    change = schedules.set_or_clear(
        ctx, f"match:{scope}", scope, spec, action="match", example="0 9 1 * *", default_zone="UTC"
    )
    if isinstance(change, Text):
        return [change]
    if change.cleared:
        return [Text(ctx._("Matching runs are no longer scheduled."))]
    done = ctx._(
        "Matching now runs on its own at “{cron}” ({zone}); new pairs are introduced at once.",
        cron=change.cron,
        zone=change.zone,
    )
    return [Text(done)]


def command(ctx: Context, args: str) -> list[Reply]:
    """``/match preview [rematch]``, ``/match confirm``, ``/match run``, ``/match status``,
    ``/match schedule CHAPTER CRON|off``; with ``rematch`` former pairs may be proposed again."""
    verb, _, option = args.strip().lower().partition(" ")
    if verb == "schedule":
        return _schedule(ctx, args.strip()[len("schedule") :])
    if verb == "preview":
        return preview(ctx, rematch=option.strip() == "rematch")
    if verb == "confirm":
        return confirm(ctx)
    if verb == "run":
        return preview(ctx) + confirm(ctx)
    if verb in ("", "status"):
        return status(ctx)
    usage = "/match preview, /match confirm, /match run, /match status, /match schedule CHAPTER 0 9 1 * *"
    return [Text(ctx._("Use {usage}.", usage=usage))]
