"""The core: one event in, replies out, inside one unit of work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from bot import announce, language_menu, log_context, onboarding, privacy, profile
from bot.clean_text import clean_event
from bot.commands import BY_NAME, COMMANDS, Command, allowed
from bot.context import Context, Services
from bot.dialogs.engine import DialogEngine, parse_action
from bot.dialogs.state import DialogState
from bot.events import AnyEvent, ButtonPressed, CommandReceived, TextReceived
from bot.flood import FloodGate, Verdict
from bot.i18n import N_
from bot.meetups import cards as meetup_cards
from bot.meetups import create as meetup_create
from bot.meetups import manage as meetup_manage
from bot.meetups import rsvp
from bot.members import Member, Role
from bot.mentoring import coffee, followups
from bot.notices import SORRY
from bot.ports import UnitOfWork
from bot.private_chat import continue_in_private, start_payload
from bot.replies import Reply, Text
from bot.surveys import answering, builder

log = logging.getLogger(__name__)

ButtonHandler = Callable[[Context, str], list[Reply]]
#: How an event ended, for the telemetry.
Outcome = Literal["ok", "error", "flood"]

FLOOD = N_("You are sending a lot very quickly. Please wait a few seconds, then try again.")


def _profile_button(ctx: Context, value: str) -> list[Reply]:
    replies = profile.edit_field(ctx, value)
    return replies if replies is not None else _stale(ctx)


def _stale(ctx: Context) -> list[Reply]:
    return [Text(ctx._("This button is no longer current."))]


class Core:
    """Handles every event from every adapter the same way."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.flood = FloodGate(services.flood_limit, services.flood_seconds)
        self._telemetry_failed = False
        self.dialogs = DialogEngine(
            [
                onboarding.ONBOARDING,
                profile.EDIT_DIALOG,
                announce.ANNOUNCE,
                answering.ANSWERING,
                builder.BUILDER,
                meetup_create.CREATE,
                meetup_manage.EDIT,
                followups.NOTE,
                privacy.FORGET,
            ]
        )
        self.buttons: dict[str, ButtonHandler] = {
            profile.ACTION_PREFIX: _profile_button,
            language_menu.ACTION_PREFIX: language_menu.on_button,
            answering.ACTION_PREFIX: answering.on_button,
            meetup_cards.RSVP_PREFIX: rsvp.on_button,
            meetup_cards.ACTION_PREFIX: rsvp.on_action,
            followups.ACTION_PREFIX: followups.on_button,
            coffee.ACTION_PREFIX: coffee.on_button,
            privacy.ACTION_PREFIX: privacy.on_button,
        }

    def handle(self, event: AnyEvent) -> list[Reply]:
        """Handle one event; never raises: a failure rolls back and says sorry.

        While it runs, log lines carry the sender's member id (bot/log_context.py); once it is
        done, the telemetry counts the event as "ok", "flood" or "error"."""
        event = clean_event(event)
        with log_context.serving():
            replies, outcome = self._handle(event)
        try:
            self.services.telemetry.update_handled(event.chat.platform, outcome)
        except Exception:  # telemetry must never cost a member their reply
            if not self._telemetry_failed:
                self._telemetry_failed = True
                log.warning("telemetry failed; the bot goes on without it (logged once)", exc_info=True)
        return replies

    def _handle(self, event: AnyEvent) -> tuple[list[Reply], Outcome]:
        """The replies to ``event`` and the outcome for the telemetry."""
        verdict = self.flood.check((event.chat.platform, event.user_id), self.services.clock())
        if verdict is Verdict.DROP:
            return [], "flood"
        if verdict is Verdict.WARN:
            try:
                return [Text(self.translate_for(event, FLOOD))], "flood"
            except Exception:
                return [Text(FLOOD)], "flood"
        lang = self.services.network.default_language
        try:
            with self.services.uow_factory() as uow:
                member = uow.members.by_identity(event.chat.platform, event.user_id)
                if member is not None and member.id is not None:
                    log_context.bind(member.id)
                    uow.members.touch(member.id, self.services.clock())  # "last seen", for retention
                state = uow.dialogs.get(event.chat)
                lang = self._language(uow, event, member, state)
                ctx = Context(
                    event=event,
                    uow=uow,
                    services=self.services,
                    dialogs=self.dialogs,
                    member=member,
                    lang=lang,
                    _=self.services.catalogs.translator(lang),
                )
                replies = self._dispatch(ctx, self.dialogs.active(state))
                uow.commit()
                return replies, "ok"
        except Exception:
            log.exception(
                "failed to handle %s from %s user %s in chat %s",
                type(event).__name__,
                event.chat.platform,
                event.user_id,
                event.chat.chat_id,
            )
            return [Text(self.services.catalogs.translator(lang)(SORRY))], "error"

    # --- language -----------------------------------------------------------------------

    def _language(self, uow: UnitOfWork, event: AnyEvent, member: Member | None, state: DialogState | None) -> str:
        """Chosen language > detected in what they write > remembered detection > locale > default."""
        supported = self.services.network.languages
        chosen = member.preferred_language if member else (state.data.get("lang") if state else None)
        if chosen in supported:
            return str(chosen)
        text = event.text if isinstance(event, TextReceived) else None
        limit = self.services.max_text_length
        detected = self.services.resolver.detect(text[:limit], self._priors(member)) if text else None
        if detected:
            self._remember(uow, event, member, state, detected)
            return detected
        remembered = member.detected_language if member else (state.data.get("detected") if state else None)
        if remembered in supported:
            return str(remembered)
        return self.services.resolver.from_locale(event.locale) or self.services.network.default_language

    def _priors(self, member: Member | None) -> list[str]:
        if member is None:
            return []
        chapter = self.services.network.chapter(member.home_chapter)
        return list(dict.fromkeys([*member.languages, *(chapter.languages if chapter else ())]))

    def _remember(
        self, uow: UnitOfWork, event: AnyEvent, member: Member | None, state: DialogState | None, lang: str
    ) -> None:
        if member is not None:
            if member.detected_language != lang:
                member.detected_language = lang
                uow.members.save(member)
        elif state is None or not state.dialog:
            idle = state or DialogState(dialog="", step="")
            idle.data["detected"] = lang
            uow.dialogs.put(event.chat, idle)

    # --- dispatch -----------------------------------------------------------------------

    def _dispatch(self, ctx: Context, state: DialogState | None) -> list[Reply]:
        event = ctx.event
        if isinstance(event, CommandReceived):
            return self._command(ctx, event)
        if isinstance(event, ButtonPressed):
            return self._button(ctx, state, event.action)
        return self._text(ctx, state, event.text)

    def _command(self, ctx: Context, event: CommandReceived) -> list[Reply]:
        name = event.command.lstrip("/").split("@", 1)[0].lower()
        command: Command | None = BY_NAME.get(name)
        if command is None:
            hint = ctx._("I don't know the command /{command}. Send /help to see what you can do.", command=name[:32])
            return [Text(hint)]
        if len(event.args) > self.services.max_text_length:
            return [self._too_long(ctx, len(event.args))]
        if command.needs_member and ctx.member is None:
            return [Text(ctx._("You are not a member yet. Send /start to join."))]
        if not allowed(ctx, command):
            if command.role is Role.ADMIN:
                return [Text(ctx._("This command is for admins."))]
            return [Text(ctx._("This command is for coordinators."))]
        if command.private_only and not ctx.chat.private:
            return continue_in_private(ctx, start_payload(name, event.args))
        if name == "start" and event.args and ctx.chat.private:
            return self._deep_link(ctx, event)
        return command.handler(ctx, event.args)

    def _deep_link(self, ctx: Context, event: CommandReceived) -> list[Reply]:
        """``/start profile`` or ``/start announce-status-3``: continue what was asked in a
        group; onboarding first for someone who is not a member yet."""
        name, _, rest = event.args.strip().partition("-")
        command = BY_NAME.get(name.lower())
        if command is None or command.name == "start" or (command.needs_member and ctx.member is None):
            return BY_NAME["start"].handler(ctx, "")
        args = rest.replace("-", " ")
        if command.link_verbs is not None and args.split(" ", 1)[0] not in command.link_verbs:
            args = ""  # a link anyone can post must not change anything: it opens the command instead
        follow = CommandReceived(
            chat=event.chat,
            user_id=event.user_id,
            display_name=event.display_name,
            locale=event.locale,
            command=command.name,
            args=args,
        )
        return self._command(ctx, follow)

    def _button(self, ctx: Context, state: DialogState | None, action: str) -> list[Reply]:
        parsed = parse_action(action)
        if parsed is not None:
            if state is None:
                return _stale(ctx)
            replies = self.dialogs.on_button(ctx, state, *parsed)
            return replies if replies is not None else _stale(ctx)
        prefix, _, value = action.partition(":")
        handler = self.buttons.get(prefix)
        return handler(ctx, value) if handler else _stale(ctx)

    def _text(self, ctx: Context, state: DialogState | None, text: str) -> list[Reply]:
        if not ctx.chat.private:
            return []  # members talk among themselves in groups; the bot answers commands only
        if not text.strip():
            return [Text(ctx._("That message was empty."))]
        if len(text) > self.services.max_text_length:
            return [self._too_long(ctx, len(text))]
        if state is not None:
            return self.dialogs.on_text(ctx, state, text)
        if ctx.member is None:
            hello = ctx._("Hello! I am the assistant of {network}. Send /start to join.", network=ctx.network.name)
            return [Text(hello)]
        return [Text(ctx._("I did not understand that. Send /help to see what you can do."))]

    def translate_for(self, event: AnyEvent, msgid: str, **values: object) -> str:
        """A message in the language the core would answer ``event`` in (for adapter
        notices such as "check your direct messages")."""
        with self.services.uow_factory() as uow:
            member = uow.members.by_identity(event.chat.platform, event.user_id)
            lang = self._language(uow, event, member, uow.dialogs.get(event.chat))
        return self.services.catalogs.translator(lang)(msgid, **values)

    def sync_platform_roles(self, platform: str, user_id: str, chapters: set[str]) -> None:
        """Make the coordinator grants that come from ``platform`` (e.g. a Discord role
        mapped to a chapter) match ``chapters``; grants made by an operator stay as they are.
        The core checks these grants like any other."""
        known = {c.code for c in self.services.network.chapters}
        wanted = chapters & known
        with self.services.uow_factory() as uow:
            member = uow.members.by_identity(platform, user_id)
            if member is None or member.id is None:
                return
            grants = [g for g in uow.members.roles(member.id) if g.role is Role.COORDINATOR]
            synced = {g.chapter for g in grants if g.source == platform and g.chapter}
            manual = {g.chapter for g in grants if g.source != platform}
            added = [
                c
                for c in sorted(wanted - synced - manual)
                if uow.members.grant(member.id, Role.COORDINATOR, c, platform)
            ]
            removed = [
                c for c in sorted(synced - wanted) if uow.members.revoke(member.id, Role.COORDINATOR, c, platform)
            ]
            if not added and not removed:
                return
            details: dict[str, object] = {"platform": platform, "granted": added, "revoked": removed}
            uow.audit.record(member.id, "roles.sync", details, None, self.services.clock())
            uow.commit()

    def coordinators_on(self, platform: str) -> list[tuple[str, str]]:
        """(user id on ``platform``, language) of every coordinator and admin there."""
        found = []
        with self.services.uow_factory() as uow:
            for member in uow.members.list():
                if member.id is None:
                    continue
                grants = uow.members.roles(member.id)
                if not member.has_role(grants, Role.COORDINATOR):
                    continue
                lang = member.preferred_language or self.services.network.default_language
                found += [(i.user_id, lang) for i in uow.members.identities(member.id) if i.platform == platform]
        return found

    def command_menu(self, lang: str, *, coordinator: bool) -> list[tuple[str, str]]:
        """(name, description) of the commands a member (or a coordinator) sees, in ``lang``;
        adapters register these with their platform."""
        _ = self.services.catalogs.translator(lang)
        return [(c.name, _(c.description)) for c in COMMANDS if c.role is None or (coordinator and c.role is not None)]

    def _too_long(self, ctx: Context, length: int) -> Text:
        return Text(
            ctx._(
                "That message is too long ({length} characters; the limit is {limit}). Nothing was saved.",
                length=length,
                limit=self.services.max_text_length,
            )
        )
