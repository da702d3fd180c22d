from __future__ import annotations

from adapters.console.session import ConsoleSession
from bot.replies import Reply, Text


def texts(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies if isinstance(r, Text))


def onboard_english(chat: ConsoleSession, user: str = "alice", chapter: str = "Lyon") -> None:
    """Run the whole onboarding in English with plain answers."""
    for line in [
        "/start",
        "[English]",
        "[I agree]",
        f"{user.capitalize()} Example",
        f"[{chapter}]",
        "[English]",
        "[Done]",
        "jazz, cycling",
        "Europe/Paris",
        "[Mentor]",
        "[Skip]",  # topics they can help with
        "[1]",  # mentees at a time
        "[Done]",  # languages they are learning
    ]:
        chat.push(user, line)
