"""/start: join the network. Language first, then consent: nothing personal is stored before it."""

from __future__ import annotations

from bot.context import Context
from bot.dialogs.engine import Dialog, Outcome, Step, advance, button, finish, stay
from bot.dialogs.state import DialogState
from bot.i18n import language_name
from bot.members import Member
from bot.mentoring.profile_steps import PROFILE_STEPS
from bot.ports import IdentityTaken
from bot.private_chat import continue_in_private
from bot.profile import profile_card
from bot.replies import Reply, Text, rows

DIALOG = "onboarding"
MAX_NAME = 64


def _language_prompt(ctx: Context, state: DialogState) -> Text:
    buttons = [button(state, language_name(code), code) for code in ctx.network.languages]
    return Text(
        ctx._("Welcome to {network}! Which language should I use with you?", network=ctx.network.name),
        rows(*buttons, per_row=3),
    )


def _language_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in ctx.network.languages:
        return stay(reprompt=True)
    state.data["lang"] = value
    ctx.set_language(value)
    return advance()


def _consent_prompt(ctx: Context, state: DialogState) -> Text:
    text = ctx._(
        "To take part, I keep the profile you give me: your name, home chapter, languages, "
        "interests, time zone, a short bio and whether you want to mentor or be mentored. "
        "Members and coordinators of {network} can see it so that you can meet. "
        "You can view and change it with /profile at any time. Do you agree?",
        network=ctx.network.name,
    )
    return Text(text, rows(button(state, ctx._("I agree"), "yes"), button(state, ctx._("No, thanks"), "no")))


def _consent_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value == "no":
        return finish(
            Text(ctx._("Understood: nothing about you was stored. Send /start whenever you change your mind."))
        )
    if value != "yes":
        return stay()
    event = ctx.event
    if ctx.member is not None or ctx.uow.members.by_identity(ctx.chat.platform, event.user_id) is not None:
        return finish(Text(ctx._("You are already a member. Send /profile to see your profile.")))
    name = " ".join(event.display_name.split())[:MAX_NAME] or ctx._("Member")
    member = ctx.uow.members.add(
        Member(display_name=name, consent_at=ctx.now(), preferred_language=state.data.get("lang", ctx.lang))
    )
    assert member.id is not None
    try:
        ctx.uow.members.add_identity(member.id, ctx.chat.platform, event.user_id)
    except IdentityTaken:
        return finish(Text(ctx._("You are already a member. Send /profile to see your profile.")))
    ctx.member = member
    return advance()


def _welcome(ctx: Context, state: DialogState) -> list[Reply]:
    if ctx.member is None:
        return []
    return [
        Text(ctx._("Welcome aboard, {name}! Send /help to see what you can do.", name=ctx.member.display_name)),
        profile_card(ctx, ctx.member),
    ]


ONBOARDING = Dialog(
    name=DIALOG,
    steps={
        "language": Step(_language_prompt, on_button=_language_button),
        "consent": Step(_consent_prompt, on_button=_consent_button),
        **PROFILE_STEPS,
    },
    order=("language", "consent", "name", "chapter", "languages", "interests", "timezone", "mentoring"),
    on_finish=_welcome,
)


def start(ctx: Context, language: str | None = None) -> list[Reply]:
    """Begin onboarding, or greet a member who already joined."""
    if ctx.member is not None:
        return [
            Text(ctx._("You are already a member, {name}. Here is your profile:", name=ctx.member.display_name)),
            profile_card(ctx, ctx.member),
        ]
    if not ctx.chat.private:  # a dialog with personal data never runs in a shared chat
        return continue_in_private(ctx, "start")
    if language is not None:
        ctx.set_language(language)
        return ctx.dialogs.start(ctx, DIALOG, step="consent", data={"lang": language})
    return ctx.dialogs.start(ctx, DIALOG)
