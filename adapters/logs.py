"""Logging set-up: one format, quiet libraries, and no secret in any line.

httpx logs every request URL at INFO, and the Bot API puts the token in the URL; a filter
on the root handlers replaces every configured secret, whichever library logged it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        text = message
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters print exc_text when it is set (another handler may have set it
            # already): make it the redacted traceback. exc_info stays for handlers that
            # look at the exception itself.
            formatted = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted, self._secrets)
        if text != message:
            record.msg, record.args = text, None
        return True


def configure(level: str, secrets: Iterable[str]) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    for noisy in ("httpx", "httpcore", "alembic", "apscheduler.executors.default", "tornado.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
