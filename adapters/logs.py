"""Logging set-up: one format (text, or JSON lines), quiet libraries, and no secret in any line.

httpx logs every request URL at INFO, and the Bot API puts the token in the URL; a filter
on the root handlers replaces every configured secret, whichever library logged it.

Every line written while the core serves a member carries that member's id (bot/log_context.py);
a caller may also pass ``extra={"member_id": ...}``. In JSON mode each line is one object:
``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``process``, the static fields
(e.g. ``"role": "relay"``), ``member_id`` when known, any other ``extra`` fields and ``exc_info``
(the redacted traceback).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from bot import log_context

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The name of the one handler ``configure`` installs on the root logger (and replaces when called again).
HANDLER_NAME = "twinbot"
NOISY = ("httpx", "httpcore", "alembic", "apscheduler.executors.default", "tornado.access")


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
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets)
        if text != message:
            record.msg, record.args = text, None
        return True


class MemberId(logging.Filter):
    """Copies the member being served (bot/log_context.py) onto the record as ``member_id``,
    unless the caller passed one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "member_id", None) is None:
            member = log_context.member_id()
            if member is not None:
                record.member_id = member
        return True


class TextFormatter(logging.Formatter):
    """Today's text line, with `` member=<id>`` after the message when it is known."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        member = getattr(record, "member_id", None)
        return line if member is None else f"{line} member={member}"


class JsonLinesFormatter(JsonFormatter):
    """One JSON object per record (python-json-logger does the encoding).

    python-json-logger formats ``record.exc_info`` afresh, which would bypass the redacted
    traceback that ``RedactSecrets`` left in ``record.exc_text``: the record's ``exc_text``
    wins here. ``extra`` fields, which the text format never prints, are redacted here too,
    value by value and once more on the encoded line."""

    def __init__(self, secrets: Iterable[str] = (), fields: Mapping[str, str] | None = None) -> None:
        super().__init__(
            ["levelname", "name", "message", "process"],
            rename_fields={"levelname": "level", "name": "logger"},
            static_fields=dict(fields or {}),
        )
        self._secrets = [s for s in secrets if s]

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")
        super().add_fields(log_data, record, message_dict)
        if record.exc_text and "exc_info" in log_data:
            log_data["exc_info"] = record.exc_text

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: self._redacted(value) for key, value in log_data.items()} if self._secrets else log_data

    def serialize_log_record(self, log_data: dict[str, Any]) -> str:
        return redact(super().serialize_log_record(log_data), self._secrets)

    def _redacted(self, value: object) -> object:
        if isinstance(value, str):
            return redact(value, self._secrets)
        if isinstance(value, Mapping):
            return {key: self._redacted(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._redacted(item) for item in value]
        return value


def make_handler(
    secrets: Iterable[str], fmt: str = "text", fields: Mapping[str, str] | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """A handler writing to ``stream`` (default: stderr) in ``fmt`` ("text" or "json"), with the
    member id and secret filters. ``fields`` (static fields) appear in JSON lines only."""
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}: use 'text' or 'json'")
    secrets = [s for s in secrets if s]
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.addFilter(MemberId())
    handler.addFilter(RedactSecrets(secrets))
    handler.setFormatter(JsonLinesFormatter(secrets, fields) if fmt == "json" else TextFormatter())
    return handler


def configure(level: str, secrets: Iterable[str], fmt: str = "text", fields: Mapping[str, str] | None = None) -> None:
    """Log to stderr at ``level`` in ``fmt`` ("text" or "json"; ``fields`` are added to every
    JSON line). Calling it again replaces the handler it installed; root handlers that someone
    else installed (a test runner's) get the same filters, replaced rather than added again."""
    secrets = [s for s in secrets if s]
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.name == HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
    root.addHandler(make_handler(secrets, fmt, fields))
    root.setLevel(level)
    for handler in root.handlers:
        if handler.name == HANDLER_NAME:
            continue
        for old in [f for f in handler.filters if isinstance(f, RedactSecrets | MemberId)]:
            handler.removeFilter(old)
        handler.addFilter(MemberId())
        handler.addFilter(RedactSecrets(secrets))
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
