"""The console adapter: chat with the core in a terminal, or replay a script."""

from adapters.console.session import ConsoleSession, UnknownButton

__all__ = ["ConsoleSession", "UnknownButton"]
