"""Commands for coordinators: the members of the chapters they coordinate."""

from __future__ import annotations

from bot.context import Context
from bot.members import Role
from bot.replies import Reply, Text

MAX_LISTED = 50


def coordinated_chapters(ctx: Context) -> list[str]:
    """Codes of the chapters this member coordinates (all of them for an admin)."""
    codes = [c.code for c in ctx.network.chapters]
    return [code for code in codes if ctx.has_role(Role.COORDINATOR, code)]


def list_members(ctx: Context, args: str) -> list[Reply]:
    chapters = coordinated_chapters(ctx)
    if not chapters:
        return [Text(ctx._("This command is for coordinators."))]
    wanted = args.strip().lower()
    if wanted:
        if wanted not in chapters:
            return [Text(ctx._("You do not coordinate a chapter called “{chapter}”.", chapter=args.strip()[:40]))]
        chapters = [wanted]
    replies: list[Reply] = []
    for code in chapters:
        chapter = ctx.network.chapter(code)
        members = ctx.uow.members.list(chapter=code)
        lines = [ctx._("{chapter}: {count} members", chapter=chapter.name if chapter else code, count=len(members))]
        for member in members[:MAX_LISTED]:
            roles = [ctx._("mentor")] if member.is_mentor else []
            roles += [ctx._("mentee")] if member.is_mentee else []
            details = ", ".join([*member.languages, *roles])
            lines.append(f"• {member.display_name}" + (f" ({details})" if details else ""))
        if len(members) > MAX_LISTED:
            lines.append(ctx._("… and {count} more", count=len(members) - MAX_LISTED))
        replies.append(Text("\n".join(lines)))
    return replies
