"""The command table: what each command does and who may use it.

Adapters read it to register commands with each platform (names and descriptions per
language); the core checks every rule here again, whatever the platform showed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import announce, audit_view, coordination, language_menu, linking, onboarding, privacy, profile
from bot.context import Context
from bot.i18n import N_
from bot.meetups import commands as meetups
from bot.members import Role
from bot.mentoring import coffee, followups, matchmaking
from bot.mentoring import commands as mentoring
from bot.replies import Reply, Text
from bot.surveys import commands as surveys

Handler = Callable[[Context, str], list[Reply]]


@dataclass(frozen=True)
class Param:
    """One argument of a command, for platforms with typed options (Discord). The core
    still receives the arguments as one string, joined by spaces in this order."""

    name: str
    description: str  # an untranslated message id
    kind: str = "text"  # "text", "int", "chapter" (a chapter code), "choice"
    choices: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # an untranslated message id
    handler: Handler
    needs_member: bool = False
    role: Role | None = None
    private_only: bool = False
    params: tuple[Param, ...] = ()
    #: What a deep link (which anyone can post in a group) may ask of this command: None for
    #: any arguments, else the first words allowed; others open the command without arguments.
    link_verbs: frozenset[str] | None = None


def _start(ctx: Context, args: str) -> list[Reply]:
    return onboarding.start(ctx)


def _profile(ctx: Context, args: str) -> list[Reply]:
    return profile.show_profile(ctx)


def _language(ctx: Context, args: str) -> list[Reply]:
    code = args.strip().lower()
    return language_menu.on_button(ctx, code) if code in ctx.network.languages else language_menu.menu(ctx)


def _cancel(ctx: Context, args: str) -> list[Reply]:
    state = ctx.dialogs.active(ctx.uow.dialogs.get(ctx.chat))
    if state is None:
        return [Text(ctx._("There is nothing to cancel."))]
    ctx.dialogs.end(ctx, state)
    return [Text(ctx._("Cancelled. What you already saved is kept; send /help to see what you can do."))]


def _help(ctx: Context, args: str) -> list[Reply]:
    lines = [ctx._("Here is what you can do:")]
    lines += [f"/{c.name} — {ctx._(c.description)}" for c in available(ctx) if c.role is None]
    coordinator = [c for c in available(ctx) if c.role is not None]
    if coordinator:
        lines += ["", ctx._("As a coordinator:")]
        lines += [f"/{c.name} — {ctx._(c.description)}" for c in coordinator]
    return [Text("\n".join(lines))]


COMMANDS: tuple[Command, ...] = (
    Command("start", N_("join the network"), _start, private_only=True),
    Command("profile", N_("see and edit your profile"), _profile, needs_member=True, private_only=True),
    Command("language", N_("choose the language I use with you"), _language),
    Command(
        "link",
        N_("link your account on another platform"),
        linking.link,
        private_only=True,
        params=(Param("code", N_("the code you got on your other platform")),),
    ),
    Command("help", N_("what you can do here"), _help),
    Command("cancel", N_("stop what we are doing"), _cancel),
    Command(
        "members",
        N_("list the members of your chapters"),
        coordination.list_members,
        needs_member=True,
        role=Role.COORDINATOR,
        private_only=True,
        params=(Param("chapter", N_("only this chapter"), kind="chapter"),),
    ),
    Command(
        "announce",
        N_("send an announcement; /announce list, status ID, cancel ID"),
        announce.command,
        needs_member=True,
        role=Role.COORDINATOR,
        private_only=True,
        params=(
            Param(
                "action",
                N_("what to do: a new announcement if empty"),
                kind="choice",
                choices=("list", "status", "cancel"),
            ),
            Param("id", N_("the announcement's number"), kind="int"),
        ),
        link_verbs=frozenset({"status", "list"}),
    ),
    Command(
        "surveys",
        N_("answer the surveys you were invited to"),
        surveys.member_command,
        needs_member=True,
        private_only=True,
        params=(Param("id", N_("the survey's number"), kind="int"),),
    ),
    Command(
        "survey",
        N_("surveys: new, list, results ID, export ID, close ID"),
        surveys.coordinator_command,
        needs_member=True,
        role=Role.COORDINATOR,
        private_only=True,
        params=(
            Param(
                "action",
                N_("what to do: the list if empty"),
                kind="choice",
                choices=("new", "list", "results", "export", "close"),
            ),
            Param("id", N_("the survey's number"), kind="int"),
        ),
        link_verbs=frozenset({"list", "results", "export"}),
    ),
    Command(
        "meetups", N_("the meetups coming up for your chapter"), meetups.upcoming, needs_member=True, private_only=True
    ),
    Command(
        "meetup",
        N_("a meetup: info ID; for coordinators new, edit, cancel, attendees, checkin"),
        meetups.meetup,
        needs_member=True,
        private_only=True,
        params=(
            Param(
                "action",
                N_("what to do"),
                kind="choice",
                choices=("info", "new", "edit", "cancel", "attendees", "checkin"),
                required=True,
            ),
            Param("id", N_("the meetup's number"), kind="int"),
        ),
        link_verbs=frozenset({"info", "attendees", "checkin"}),
    ),
    Command(
        "checkin",
        N_("check in at a meetup with the code shown there"),
        meetups.checkin,
        needs_member=True,
        params=(Param("code", N_("the code shown at the meetup"), required=True),),
    ),
    Command(
        "mentor",
        N_("mentor someone: on, off, pause DATE, resume"),
        mentoring.mentor,
        needs_member=True,
        private_only=True,
        params=(
            Param("action", N_("what to do"), kind="choice", choices=("on", "off", "pause", "resume"), required=True),
            Param("date", N_("until when, like 2027-01-31")),
        ),
        link_verbs=frozenset(),
    ),
    Command(
        "mentee",
        N_("be mentored: on, off"),
        mentoring.mentee,
        needs_member=True,
        private_only=True,
        params=(Param("action", N_("what to do"), kind="choice", choices=("on", "off"), required=True),),
        link_verbs=frozenset(),
    ),
    Command(
        "mentorship",
        N_("your mentorship: end it or ask for a new match"),
        followups.listing,
        needs_member=True,
        private_only=True,
    ),
    Command(
        "coffee",
        N_("coffee rounds: on, off; coordinators: round, schedule"),
        coffee.command,
        needs_member=True,
        private_only=True,
        params=(
            Param("action", N_("what to do"), kind="choice", choices=("on", "off", "round", "schedule")),
            Param("chapter", N_("the chapter, or all"), kind="chapter"),
            Param("schedule", N_("when, like 0 9 * * mon, or off")),
        ),
        link_verbs=frozenset(),
    ),
    Command(
        "match",
        N_("mentor matching: preview, confirm, run, status"),
        matchmaking.command,
        needs_member=True,
        role=Role.COORDINATOR,
        private_only=True,
        params=(
            Param(
                "action",
                N_("what to do"),
                kind="choice",
                choices=("preview", "confirm", "run", "status", "schedule"),
                required=True,
            ),
            Param("chapter", N_("the chapter, or all"), kind="chapter"),
            Param("schedule", N_("when, like 0 9 1 * *, or off")),
        ),
        link_verbs=frozenset({"preview", "status"}),
    ),
    Command(
        "audit",
        N_("the log of coordinator actions (admins); /audit export"),
        audit_view.command,
        needs_member=True,
        role=Role.ADMIN,
        private_only=True,
        params=(Param("action", N_("what to do"), kind="choice", choices=("export",)),),
        link_verbs=frozenset(),
    ),
    Command(
        "mydata",
        N_("get a copy of everything stored about you"),
        privacy.mydata,
        needs_member=True,
        private_only=True,
        link_verbs=frozenset(),
    ),
    Command(
        "forget",
        N_("erase everything stored about you"),
        privacy.forget_command,
        needs_member=True,
        private_only=True,
        link_verbs=frozenset(),
    ),
)

BY_NAME = {c.name: c for c in COMMANDS}


def allowed(ctx: Context, command: Command) -> bool:
    if command.needs_member and ctx.member is None:
        return False
    return command.role is None or ctx.has_role(command.role)


def available(ctx: Context) -> list[Command]:
    """The commands this person may use now: a non-member sees fewer, a coordinator more."""
    if ctx.member is None:
        return [c for c in COMMANDS if not c.needs_member]
    return [c for c in COMMANDS if allowed(ctx, c)]
