"""/link: join accounts from two platforms into one member with a one-time code."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from bot.context import Context
from bot.ports import IdentityTaken
from bot.replies import Reply, Text

# No 0/O, 1/I/L: a code is read on one screen and typed on another.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def code_hash(code: str) -> str:
    """Codes are stored hashed; spaces, dashes and case are forgiven."""
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def link(ctx: Context, args: str) -> list[Reply]:
    code = args.strip()
    return _use_code(ctx, code) if code else _issue_code(ctx)


def _issue_code(ctx: Context) -> list[Reply]:
    member = ctx.member
    if member is None or member.id is None:
        return [
            Text(
                ctx._(
                    "To link this account to your profile, send /link on the platform where you are "
                    "already a member, then send /link CODE here. To join, send /start."
                )
            )
        ]
    code = new_code()
    minutes = ctx.services.link_code_minutes
    ctx.uow.link_codes.add(code_hash(code), member.id, ctx.now() + timedelta(minutes=minutes))
    return [
        Text(
            ctx._(
                "Your link code is {code}. On your other platform, send /link {code} within "
                "{minutes} minutes. The code works once.",
                code=code,
                minutes=minutes,
            )
        )
    ]


def _use_code(ctx: Context, code: str) -> list[Reply]:
    if ctx.member is not None:
        return [
            Text(
                ctx._(
                    "This account already belongs to the profile of {name}. Send /link without a "
                    "code here to get a code for your other account.",
                    name=ctx.member.display_name,
                )
            )
        ]
    member_id = ctx.uow.link_codes.take(code_hash(code), ctx.now())
    member = ctx.uow.members.get(member_id) if member_id is not None else None
    if member is None or member.id is None:
        return [Text(ctx._("That code is wrong, used or expired. Send /link on your other account for a new one."))]
    try:
        ctx.uow.members.add_identity(member.id, ctx.chat.platform, ctx.event.user_id)
    except IdentityTaken:
        return [Text(ctx._("This account is already linked to another profile."))]
    ctx.member = member
    if member.preferred_language:
        ctx.set_language(member.preferred_language)
    return [Text(ctx._("Linked! This account now belongs to the profile of {name}.", name=member.display_name))]
