"""Coffee rounds: members who opt in (``/coffee on``) are paired each round, on a schedule a
coordinator sets (cron and time zone, run by the scheduler). Pairs share a language, were not
paired in the last rounds, and cross chapters when they can; an odd member makes a trio.
A week later each is asked whether they met."""

from __future__ import annotations

import logging
import random
import zlib
from datetime import datetime, timedelta

from bot.broadcast import member_language
from bot.context import Context, Services
from bot.i18n import Catalogs, language_name
from bot.ids import parse_id
from bot.members import Member
from bot.mentoring import schedules
from bot.mentoring.intros import contact, send
from bot.mentoring.model import CoffeeRound
from bot.network import Network
from bot.ports import UnitOfWork
from bot.replies import Button, Reply, Text, rows

log = logging.getLogger(__name__)

ACTION_PREFIX = "cf"
ALL = schedules.ALL
#: Nobody meets the same person again within this many rounds of the same scope.
NO_REPEAT_ROUNDS = 4
FOLLOW_UP_AFTER = timedelta(days=7)
#: A round right after another in the same scope is not run (a double press, a schedule and a
#: coordinator at the same time).
MIN_GAP = timedelta(hours=1)


def pair_up(members: list[Member], recent: set[frozenset[int]], seed: int) -> tuple[list[list[int]], list[int]]:
    """Groups of two (one of three when the count is odd) and who could not be placed:
    a shared language is required, a recent pair is avoided, another chapter is preferred.
    The hardest to place go first; ties are broken by a seeded shuffle."""
    by_id = {m.id: m for m in members if m.id is not None}
    order = sorted(by_id)
    random.Random(seed).shuffle(order)
    rank = {member_id: n for n, member_id in enumerate(order)}

    def talk(a: int, b: int) -> bool:
        return bool(set(by_id[a].languages) & set(by_id[b].languages))

    def fresh(a: int, b: int) -> bool:
        return talk(a, b) and frozenset((a, b)) not in recent

    free = set(order)
    groups: list[list[int]] = []
    # New pairs first; then, for whoever is left, a repeat beats sitting the round out.
    for fits in (fresh, talk):
        options = {a: [b for b in order if b != a and fits(a, b)] for a in free}
        for a in sorted(free, key=lambda x: (len(options[x]), rank[x])):
            if a not in free:
                continue
            choices = [b for b in options[a] if b in free]
            if not choices:
                continue
            cross = [b for b in choices if by_id[b].home_chapter != by_id[a].home_chapter]
            b = min(cross or choices, key=lambda x: (len(options[x]), rank[x]))
            groups.append([a, b])
            free -= {a, b}
    left: list[int] = []
    for a in sorted(free, key=lambda x: rank[x]):
        # A trio only where the third can talk with both (a new face preferred).
        trio = next((g for g in groups if len(g) == 2 and all(fresh(a, b) for b in g)), None)
        trio = trio or next((g for g in groups if len(g) == 2 and all(talk(a, b) for b in g)), None)
        if trio is None:
            left.append(a)
        else:
            trio.append(a)
    return groups, left


def _members_of(uow: UnitOfWork, scope: str, now: datetime) -> list[Member]:
    pool = uow.members.list() if scope == ALL else uow.members.list(chapter=scope)
    return [m for m in pool if m.coffee and not (m.paused_until is not None and m.paused_until > now)]


def run_round(uow: UnitOfWork, network: Network, catalogs: Catalogs, scope: str, now: datetime) -> CoffeeRound | None:
    """Pair the scope's opted-in members, store the round and introduce each group. Two runs
    at once (a schedule and a coordinator) take turns, and the second finds it just ran."""
    uow.mentoring.serialize(f"coffee:{scope}")
    previous = uow.mentoring.recent_rounds(scope, NO_REPEAT_ROUNDS)
    if previous and now - previous[0].created_at < MIN_GAP:
        return None
    members = _members_of(uow, scope, now)
    recent = {frozenset((a, b)) for r in previous for g in r.groups for a in g for b in g if a != b}
    seed = zlib.crc32(scope.encode()) + len(previous) + int(now.timestamp() // 86400)
    groups, left = pair_up(members, recent, seed)
    if not groups:
        return None
    coffee = uow.mentoring.add_round(CoffeeRound(scope=scope, created_at=now, groups=groups))
    by_id = {m.id: m for m in members}
    for group in groups:
        for member_id in group:
            _introduce(uow, network, catalogs, coffee, by_id, member_id, group, now)
    if left:
        log.info("coffee round %s in %s: %s members could not be paired", coffee.id, scope, len(left))
    return coffee


def _introduce(
    uow: UnitOfWork,
    network: Network,
    catalogs: Catalogs,
    coffee: CoffeeRound,
    by_id: dict[int | None, Member],
    me_id: int,
    group: list[int],
    now: datetime,
) -> None:
    me = by_id[me_id]
    others = [by_id[i] for i in group if i != me_id]
    _ = catalogs.translator(member_language(me, network))
    names = ", ".join(
        f"{o.display_name} ({c.name})" if (c := network.chapter(o.home_chapter)) else o.display_name for o in others
    )
    shared = set(me.languages).intersection(*(o.languages for o in others))
    lines = [_("☕ Coffee round! This time you meet {names}.", names=names)]
    if shared:
        lines.append(_("You can talk in {languages}.", languages=", ".join(language_name(c) for c in sorted(shared))))
    for other in others:
        assert other.id is not None
        lines.append(
            _(
                "Reach {name}: {contact}",
                name=other.display_name,
                contact=contact(uow.members.identities(other.id), other),
            )
        )
    lines.append(_("Suggest a 20-minute call or a coffee this week!"))
    send(uow, network, me, f"coffee:{coffee.id}:intro:m{me_id}", "\n".join(lines), now)


def follow_up(uow: UnitOfWork, network: Network, catalogs: Catalogs, now: datetime) -> int:
    """Ask the members of rounds a week old whether they met."""
    asked = 0
    for coffee in uow.mentoring.rounds_to_follow_up(now - FOLLOW_UP_AFTER):
        people = uow.members.get_many([i for g in coffee.groups for i in g])
        for member in people.values():
            _ = catalogs.translator(member_language(member, network))
            buttons = rows(
                Button(_("Yes, we met"), f"{ACTION_PREFIX}:met:{coffee.id}:yes"),
                Button(_("Not this time"), f"{ACTION_PREFIX}:met:{coffee.id}:no"),
            )
            text = _("Did you meet for the coffee round?")
            asked += send(uow, network, member, f"coffee:{coffee.id}:met:m{member.id}", text, now, buttons)
        coffee.followup_sent = True
        uow.mentoring.save_round(coffee)
    return asked


def _status(ctx: Context, *, replace: bool = False) -> Text:
    assert ctx.member is not None
    switch = "off" if ctx.member.coffee else "on"
    label = ctx._("Leave the coffee rounds") if ctx.member.coffee else ctx._("Join the coffee rounds")
    text = (
        ctx._("Coffee rounds: you take part.") if ctx.member.coffee else ctx._("Coffee rounds: you do not take part.")
    )
    return Text(text, ((Button(label, f"{ACTION_PREFIX}:set:{switch}"),),), replace=replace)


def on_button(ctx: Context, value: str) -> list[Reply]:
    if value in ("set:on", "set:off") and ctx.member is not None:
        ctx.member.coffee = value == "set:on"  # the button carries the value: a second press changes nothing
        ctx.uow.members.save(ctx.member)
        return [_status(ctx, replace=True)]
    verb, _, rest = value.partition(":")
    ident, _, answer = rest.partition(":")
    number = parse_id(ident)
    coffee = ctx.uow.mentoring.get_round(number, lock=True) if number is not None else None
    member_id = ctx.member.id if ctx.member else None
    if coffee is None or member_id is None or verb != "met" or answer not in ("yes", "no"):
        return [Text(ctx._("This button is no longer current."))]
    if not any(member_id in group for group in coffee.groups):
        return [Text(ctx._("This button is no longer current."))]
    coffee.met[str(member_id)] = answer == "yes"
    ctx.uow.mentoring.save_round(coffee)
    return [Text(ctx._("Thank you for telling us!"))]


# --- commands ---------------------------------------------------------------------------------


USAGE = "/coffee on, /coffee off; /coffee round CHAPTER, /coffee schedule CHAPTER CRON, /coffee schedule CHAPTER off"


def command(ctx: Context, args: str) -> list[Reply]:
    assert ctx.member is not None
    verb, _, rest = args.strip().partition(" ")
    verb = verb.lower()
    if verb in ("on", "off"):
        ctx.member.coffee = verb == "on"
        ctx.uow.members.save(ctx.member)
        if ctx.member.coffee:
            return [Text(ctx._("You are in the coffee rounds. You will hear who you meet at the next round."))]
        return [Text(ctx._("You are out of the coffee rounds."))]
    if verb == "":
        return [_status(ctx)]
    if verb not in ("round", "schedule"):
        return [Text(ctx._("Use {usage}.", usage=USAGE))]
    scope_word, _, spec = rest.strip().partition(" ")
    scope = schedules.scope_of(scope_word)
    if not schedules.may_schedule(ctx, scope):
        return [Text(ctx._("This command is for coordinators."))]
    if verb == "round":
        latest = ctx.uow.mentoring.recent_rounds(scope, 1)
        if latest and ctx.now() - latest[0].created_at < MIN_GAP:
            return [Text(ctx._("A coffee round ran less than an hour ago; the next can wait a little."))]
        coffee = run_round(ctx.uow, ctx.network, ctx.services.catalogs, scope, ctx.now())
        if coffee is None:
            return [Text(ctx._("Not enough members to pair this time."))]
        details = {"round": coffee.id, "scope": scope, "groups": len(coffee.groups)}
        ctx.uow.audit.record(ctx.member.id, "coffee.round", details, sum(len(g) for g in coffee.groups), ctx.now())
        return [Text(ctx._("Coffee round done: {count} groups are introduced.", count=len(coffee.groups)))]
    return _schedule(ctx, scope, spec.strip())


def _scope_name(ctx: Context, scope: str) -> str:
    chapter = ctx.network.chapter(scope)
    return chapter.name if chapter else ctx._("every chapter")


def _schedule(ctx: Context, scope: str, spec: str) -> list[Reply]:
    zone = ctx.member.time_zone if ctx.member and ctx.member.time_zone else "UTC"
    change = schedules.set_or_clear(ctx, scope, scope, spec, action="coffee", example="0 9 * * mon", default_zone=zone)
    if isinstance(change, Text):
        return [change]
    name = _scope_name(ctx, scope)
    if change.cleared:
        return [Text(ctx._("The coffee rounds of {scope} are no longer scheduled.", scope=name))]
    done = ctx._(
        "Coffee rounds of {scope} now run at “{cron}” ({zone}).", scope=name, cron=change.cron, zone=change.zone
    )
    return [Text(done)]


def scheduled_round(services: Services, scope: str, now: datetime) -> int:
    """What the scheduler's job for ``scope`` runs; returns how many groups were made."""
    with services.uow_factory() as uow:
        coffee = run_round(uow, services.network, services.catalogs, scope, now)
        uow.commit()
    return len(coffee.groups) if coffee else 0
