from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters import logs
from adapters.console.session import PLATFORM, ConsoleSession
from adapters.logs import RedactSecrets
from bot import log_context
from bot.context import Context
from bot.core import Core
from bot.events import ButtonPressed, ChatRef
from bot.replies import Reply
from bot.telemetry import Telemetry
from tests.unit.fakes import FakeDatabase
from tests.unit.helpers import onboard_english, texts

TOKEN = "123456:AAE-secret-token"


def test_secrets_are_redacted_in_messages_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactSecrets([TOKEN]))
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
        try:
            raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("send failed")
    assert TOKEN not in caplog.text
    assert "bot[redacted]/getUpdates" in caplog.text
    assert "RuntimeError: failed calling /bot[redacted]/sendMessage" in caplog.text


# ------------------------------------------------------------------------------------ JSON lines, member ids


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The real JSON handler on the root logger, writing to memory; yields a function that returns
    every line written so far, each parsed (json.loads fails the test on a line that is not JSON)."""
    stream = io.StringIO()
    handler = logs.make_handler([TOKEN], "json", {"role": "relay"}, stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_json_lines_carry_time_level_logger_message_process_fields_and_member(
    json_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    logger = logging.getLogger("test.json")
    logger.info("nobody %s", "yet")
    with log_context.serving(7):
        logger.warning("serving %d members", 1)
        logger.warning("about someone else", extra={"member_id": 12})  # the caller's wins
    first, served, other = json_lines()
    assert {k: first[k] for k in ("level", "logger", "message", "process", "role")} == {
        "level": "INFO",
        "logger": "test.json",
        "message": "nobody yet",
        "process": os.getpid(),
        "role": "relay",
    }
    assert "member_id" not in first and "exc_info" not in first
    time = datetime.fromisoformat(first["time"])
    assert time.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - time) < timedelta(minutes=1)
    assert (served["level"], served["message"], served["member_id"]) == ("WARNING", "serving 1 members", 7)
    assert other["member_id"] == 12


def test_text_lines_keep_their_format_and_name_the_member() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test.text")
    logger.addHandler(logs.make_handler([TOKEN], "text", {"role": "relay"}, stream))
    logger.propagate = False
    try:
        logger.warning("token %s", TOKEN)
        with log_context.serving(7):
            logger.warning("hello")
    finally:
        logger.handlers.clear()
        logger.propagate = True
    first, second = stream.getvalue().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING test\.text: token \[redacted\]", first)
    assert second.endswith(" WARNING test.text: hello member=7")


def test_no_secret_in_json_lines_from_message_args_traceback_or_extra(
    json_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    logger = logging.getLogger("test.json.secret")
    logger.warning(f"token in the message: {TOKEN}")
    logger.warning("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
    except RuntimeError:
        logger.exception("send failed", extra={"url": f"https://api.telegram.org/bot{TOKEN}/x", "n": [TOKEN]})
    lines = json_lines()
    assert TOKEN not in json.dumps(lines)
    message, args, failed = lines
    assert message["message"] == "token in the message: [redacted]"
    assert args["message"] == "HTTP Request: POST https://api.telegram.org/bot[redacted]/getUpdates"
    assert failed["exc_info"].startswith("Traceback (most recent call last):")
    assert failed["exc_info"].endswith("RuntimeError: failed calling /bot[redacted]/sendMessage")
    assert (failed["url"], failed["n"]) == ("https://api.telegram.org/bot[redacted]/x", ["[redacted]"])


def test_json_lines_print_the_traceback_the_redaction_filter_left() -> None:
    """python-json-logger formats ``exc_info`` afresh; ours takes ``exc_text``, which RedactSecrets sets."""
    try:
        raise RuntimeError(f"failed with {TOKEN}")
    except RuntimeError:
        record = logging.LogRecord("test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    record.exc_text = "the redacted traceback"
    line = json.loads(logs.JsonLinesFormatter().format(record))  # no secrets: only exc_text can hide it
    assert line["exc_info"] == "the redacted traceback"


def test_configure_twice_keeps_one_handler_and_one_set_of_filters() -> None:
    root = logging.getLogger()
    level = root.level
    foreign = [h for h in root.handlers if h.name != logs.HANDLER_NAME]  # pytest's own
    try:
        logs.configure("DEBUG", [TOKEN], fmt="json", fields={"role": "relay"})
        logs.configure("INFO", [TOKEN, "webhook-secret"], fmt="text")
        ours = [h for h in root.handlers if h.name == logs.HANDLER_NAME]
        assert len(ours) == 1 and isinstance(ours[0].formatter, logs.TextFormatter)
        assert root.level == logging.INFO
        for handler in foreign:
            kinds = [type(f) for f in handler.filters if isinstance(f, logs.RedactSecrets | logs.MemberId)]
            assert sorted(k.__name__ for k in kinds) == ["MemberId", "RedactSecrets"]
        with pytest.raises(ValueError, match="unknown log format"):
            logs.configure("INFO", [], fmt="yaml")
    finally:
        for handler in [h for h in root.handlers if h.name == logs.HANDLER_NAME]:
            root.removeHandler(handler)
        for handler in foreign:
            for f in [f for f in handler.filters if isinstance(f, logs.RedactSecrets | logs.MemberId)]:
                handler.removeFilter(f)
        root.setLevel(level)
        for noisy in logs.NOISY:
            logging.getLogger(noisy).setLevel(logging.NOTSET)


# ------------------------------------------------------------------------------------ the core: member ids, telemetry


def press(action: str, user: str) -> ButtonPressed:
    return ButtonPressed(chat=ChatRef(PLATFORM, user), user_id=user, display_name=user.capitalize(), action=action)


def member_id(db: FakeDatabase, user: str) -> int:
    return db.identities[(PLATFORM, user)]


def test_lines_logged_while_the_core_serves_a_member_carry_their_id(
    core: Core, chat: ConsoleSession, db: FakeDatabase, json_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    onboard_english(chat, "alice")
    alice = member_id(db, "alice")

    def probe(ctx: Context, value: str) -> list[Reply]:
        logging.getLogger("bot.probe").info("probing %s", value)
        if value == "fail":
            raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
        return []

    core.buttons["probe"] = probe
    logging.getLogger("test.core").info("before")
    asyncio.run(asyncio.to_thread(core.handle, press("probe:ok", "alice")))  # as the adapters call it
    core.handle(press("probe:fail", "alice"))
    core.handle(press("probe:newcomer", "bob"))  # not a member: no id
    logging.getLogger("test.core").info("after")
    lines = [line for line in json_lines() if line["logger"] in ("bot.probe", "bot.core", "test.core")]
    assert [(line["message"], line.get("member_id")) for line in lines] == [
        ("before", None),
        ("probing ok", alice),
        ("probing fail", alice),
        (f"failed to handle ButtonPressed from {PLATFORM} user alice in chat alice", alice),
        ("probing newcomer", None),
        ("after", None),
    ]
    assert lines[3]["exc_info"].endswith("RuntimeError: failed calling /bot[redacted]/sendMessage")
    assert log_context.member_id() is None


@dataclasses.dataclass
class RecordingTelemetry:
    handled: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    fail: bool = False

    def update_handled(self, platform: str, outcome: str) -> None:
        if self.fail:
            raise RuntimeError("the metrics backend is down")
        self.handled.append((platform, outcome))

    def message_outcome(self, platform: str, outcome: str) -> None:
        pass

    def job_run(self, job: str, outcome: str, seconds: float | None) -> None:
        pass

    def matching_finished(self, seconds: float, mentees: int, pairs: int) -> None:
        pass

    def set_leader(self, leading: bool) -> None:
        pass


def test_the_core_reports_each_event_once_as_ok_flood_or_error(core: Core) -> None:
    telemetry = RecordingTelemetry()
    counted = Core(dataclasses.replace(core.services, telemetry=telemetry, flood_limit=2, flood_seconds=60))

    def boom(ctx: Context, value: str) -> list[Reply]:
        raise RuntimeError("boom")

    counted.buttons["boom"] = boom
    chat = ConsoleSession(counted)
    for _ in range(4):  # two served, then warned, then dropped
        chat.push("marie", "/help")
    assert "went wrong" in texts(counted.handle(press("boom:1", "paul")))
    assert telemetry.handled == [(PLATFORM, o) for o in ("ok", "ok", "flood", "flood", "error")]


def test_a_failing_telemetry_costs_no_reply_and_is_logged_once(
    core: Core, json_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    counted = Core(dataclasses.replace(core.services, telemetry=RecordingTelemetry(fail=True)))
    chat = ConsoleSession(counted)
    assert "/help" in texts(chat.push("marie", "/help"))
    assert "/help" in texts(chat.push("marie", "/help"))
    warnings = [line for line in json_lines() if line["logger"] == "bot.core"]
    assert [w["message"] for w in warnings] == ["telemetry failed; the bot goes on without it (logged once)"]
    assert warnings[0]["exc_info"].endswith("RuntimeError: the metrics backend is down")


def test_telemetry_is_a_protocol_the_recorder_satisfies() -> None:
    telemetry: Telemetry = RecordingTelemetry()  # mypy checks the fake against the port
    telemetry.update_handled("console", "ok")
