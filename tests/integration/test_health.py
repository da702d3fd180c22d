"""Health checks, /healthz and /metrics on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text
from sqlalchemy.pool import NullPool

from adapters.ops.health import Check, deployment_checks, health_command
from adapters.ops.http import OpsServer
from adapters.ops.metrics import PrometheusTelemetry
from bot.delivery import OutboxItem, Target, TargetKind
from bot.replies import Text
from config import load_settings
from jobs.leader import LOCK_KEY
from jobs.scheduler import install_due_scan, make_scheduler
from storage.db import make_engine
from storage.outbox_store import OutboxStore

from .conftest import UowFactory

REFUSED_URL = "postgresql+psycopg://postgres@127.0.0.1:1/x"  # nothing listens on port 1


def queue(uow_factory: UowFactory, key: str, platform: str, due: datetime) -> None:
    item = OutboxItem(
        dedupe_key=key, target=Target(platform, TargetKind.USER, f"u-{key}"), reply=Text(key), not_before=due
    )
    with uow_factory() as uow:
        assert uow.outbox.add(item)
        uow.commit()


def get(url: str) -> tuple[int, str, str]:
    """(status, content type, body), without any proxy from the environment."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=20) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


def fine() -> list[Check]:
    return [Check("relays", True, "telegram running")]


@contextlib.asynccontextmanager
async def serving(
    engine: Engine,
    registry: CollectorRegistry | None = None,
    checks: Callable[[], list[Check]] = fine,
    **options: float,
) -> AsyncIterator[OpsServer]:
    server = OpsServer("127.0.0.1:0", registry or CollectorRegistry(), checks, engine, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word: a database that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()  # the connections waiting in its backlog are reset


@contextlib.contextmanager
def leader_lock(db_url: str, name: str = "twinbot-scheduler box:42") -> Iterator[None]:
    """Hold the scheduler leader's advisory lock on a connection of its own."""
    engine = make_engine(db_url, poolclass=NullPool, connect_args={"application_name": name})
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
            connection.commit()
            yield
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    finally:
        engine.dispose()


async def install_scheduler(engine: Engine) -> None:
    """What a running scheduler leaves in the database: the due-scan job, due in 30 s."""
    scheduler = make_scheduler(engine)
    install_due_scan(scheduler)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# --- /metrics ---------------------------------------------------------------------------------


async def test_metrics_show_counts_and_the_outbox(engine: Engine, uow_factory: UowFactory) -> None:
    now = datetime.now(UTC)
    for n in range(3):
        queue(uow_factory, f"t{n}", "telegram", now - timedelta(minutes=20 - n))
    queue(uow_factory, "later", "telegram", now + timedelta(hours=1))  # queued, not due yet
    queue(uow_factory, "d0", "discord", now + timedelta(hours=1))
    claimed = OutboxStore(engine, "test-relay").claim("telegram", now, 1)  # the oldest: now sending
    assert [c.dedupe_key for c in claimed] == ["t0"]
    telemetry = PrometheusTelemetry(engine=engine, role="all")
    telemetry.update_handled("telegram", "ok")
    telemetry.update_handled("telegram", "ok")
    telemetry.message_outcome("telegram", "sent")
    telemetry.message_outcome("discord", "failed")
    telemetry.job_run("due_scan", "ok", 0.2)
    telemetry.matching_finished(1.5, 20, 18)
    telemetry.set_leader(True)
    try:
        async with serving(engine, telemetry.registry) as server:
            status, content_type, body = await asyncio.to_thread(get, f"{server.url}/metrics")
    finally:
        telemetry.close()

    assert status == 200 and content_type.startswith("text/plain")
    values = samples(body)
    assert values["twinbot_updates_handled_total", (("outcome", "ok"), ("platform", "telegram"))] == 2
    assert values["twinbot_messages_total", (("outcome", "sent"), ("platform", "telegram"))] == 1
    assert values["twinbot_messages_total", (("outcome", "failed"), ("platform", "discord"))] == 1
    assert values["twinbot_job_runs_total", (("job", "due_scan"), ("outcome", "ok"))] == 1
    assert values["twinbot_job_duration_seconds_count", (("job", "due_scan"),)] == 1
    assert values["twinbot_matching_duration_seconds_count", ()] == 1
    assert values["twinbot_scheduler_leader", ()] == 1
    assert values["twinbot_outbox_query_success", ()] == 1
    assert values["twinbot_outbox_depth", (("platform", "telegram"), ("status", "queued"))] == 3
    assert values["twinbot_outbox_depth", (("platform", "telegram"), ("status", "sending"))] == 1
    assert values["twinbot_outbox_depth", (("platform", "discord"), ("status", "queued"))] == 1
    assert values["twinbot_outbox_depth", (("platform", "discord"), ("status", "sending"))] == 0
    oldest = values["twinbot_outbox_oldest_due_seconds", (("platform", "telegram"),)]
    assert 19 * 60 - 5 <= oldest <= 19 * 60 + 60  # t1, due 19 minutes ago (t0 is being sent)
    assert values["twinbot_outbox_oldest_due_seconds", (("platform", "discord"),)] == 0


async def test_metrics_without_the_database_still_answer() -> None:
    engine = make_engine(REFUSED_URL)
    telemetry = PrometheusTelemetry(engine=engine)
    telemetry.update_handled("console", "ok")
    try:
        async with serving(engine, telemetry.registry) as server:
            status, _, body = await asyncio.to_thread(get, f"{server.url}/metrics")
    finally:
        telemetry.close()
        engine.dispose()
    assert status == 200
    values = samples(body)
    assert values["twinbot_updates_handled_total", (("outcome", "ok"), ("platform", "console"))] == 1
    assert values["twinbot_outbox_query_success", ()] == 0
    assert not [name for name, _ in values if name.startswith("twinbot_outbox_depth")]


async def test_metrics_with_a_hung_database_answer_in_time() -> None:
    with silent_server() as port:
        engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/x")
        telemetry = PrometheusTelemetry(engine=engine, outbox_timeout=0.5)
        try:
            async with serving(engine, telemetry.registry) as server:
                started = time.monotonic()
                status, _, body = await asyncio.to_thread(get, f"{server.url}/metrics")
                elapsed = time.monotonic() - started
        finally:
            telemetry.close()
            engine.dispose()
    assert status == 200 and elapsed < 3
    assert samples(body)["twinbot_outbox_query_success", ()] == 0


# --- /healthz ---------------------------------------------------------------------------------


async def test_healthz_ok(engine: Engine) -> None:
    async with serving(engine) as server:
        status, content_type, body = await asyncio.to_thread(get, f"{server.url}/healthz")
        missing, _, _ = await asyncio.to_thread(get, f"{server.url}/nothing")
    assert status == 200 and content_type.startswith("application/json")
    report = json.loads(body)
    assert report["ok"] is True
    assert [(c["name"], c["ok"]) for c in report["checks"]] == [("database", True), ("relays", True)]
    assert report["checks"][0]["detail"].startswith("reachable")
    assert report["checks"][1]["detail"] == "telegram running"
    assert missing == 404


async def test_healthz_fails_with_a_process_check(engine: Engine) -> None:
    def adapter_down() -> list[Check]:
        return [*fine(), Check("telegram", False, "not connected")]

    def broken() -> list[Check]:
        raise RuntimeError("no idea")

    async with serving(engine, checks=adapter_down) as server:
        status, _, body = await asyncio.to_thread(get, f"{server.url}/healthz")
    assert status == 503
    report = json.loads(body)
    assert report["ok"] is False
    assert {"name": "telegram", "ok": False, "detail": "not connected"} in report["checks"]

    async with serving(engine, checks=broken) as server:
        status, _, body = await asyncio.to_thread(get, f"{server.url}/healthz")
    assert status == 503
    assert json.loads(body)["checks"][-1] == {
        "name": "process",
        "ok": False,
        "detail": "checks failed: RuntimeError: no idea",
    }


async def test_healthz_fails_when_the_database_refuses() -> None:
    engine = make_engine(REFUSED_URL)
    try:
        async with serving(engine) as server:
            status, _, body = await asyncio.to_thread(get, f"{server.url}/healthz")
    finally:
        engine.dispose()
    assert status == 503
    database = json.loads(body)["checks"][0]
    assert database["name"] == "database" and not database["ok"]
    assert database["detail"].startswith("unreachable: OperationalError")


async def test_healthz_fails_quickly_when_the_database_hangs() -> None:
    with silent_server() as port:
        engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/x")
        try:
            async with serving(engine, ping_timeout=0.5) as server:
                for _ in range(2):  # the second request shares the ping still in flight
                    started = time.monotonic()
                    status, _, body = await asyncio.to_thread(get, f"{server.url}/healthz")
                    assert status == 503 and time.monotonic() - started < 3
                    assert json.loads(body)["checks"][0] == {
                        "name": "database",
                        "ok": False,
                        "detail": "no answer within 0.5 s",
                    }
        finally:
            engine.dispose()


# --- deployment checks ------------------------------------------------------------------------


def test_a_fresh_database_has_no_scheduler(engine: Engine, db_url: str) -> None:
    checks = by_name(deployment_checks(engine, db_url))
    assert list(checks) == ["database", "schema", "outbox", "scheduler"]
    assert checks["database"].ok and checks["schema"].ok and checks["outbox"].ok
    assert checks["schema"].detail.startswith("at the latest migration")
    assert checks["outbox"].detail == "0 queued, 0 failed; none overdue"
    assert not checks["scheduler"].ok
    assert "no scheduler has run yet" in checks["scheduler"].detail


def test_an_unmigrated_database(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        checks = by_name(deployment_checks(engine, empty_db_url))
    finally:
        engine.dispose()
    assert checks["database"].ok
    assert checks["schema"] == Check("schema", False, "not migrated: run `twinbot db upgrade`")
    assert not checks["outbox"].ok and checks["outbox"].detail.startswith("could not check")


async def test_a_running_scheduler(engine: Engine, db_url: str) -> None:
    await install_scheduler(engine)
    with contextlib.ExitStack() as stack:
        if engine.dialect.name == "postgresql":
            stack.enter_context(leader_lock(db_url))
        scheduler = by_name(deployment_checks(engine, db_url))["scheduler"]
        assert scheduler.ok, scheduler.detail
        if engine.dialect.name == "postgresql":
            assert scheduler.detail.startswith("led by twinbot-scheduler box:42 (pid ")
        # Ten minutes on, nothing has run the due scan.
        later = datetime.now(UTC) + timedelta(minutes=10)
        late = by_name(deployment_checks(engine, db_url, now=later))["scheduler"]
        assert not late.ok and "the due scan is 10 min late" in late.detail


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_the_leader_lock_is_enough_on_postgresql(engine: Engine, db_url: str) -> None:
    assert not by_name(deployment_checks(engine, db_url))["scheduler"].ok
    with leader_lock(db_url, name="standby-or-leader"):
        scheduler = by_name(deployment_checks(engine, db_url))["scheduler"]
    assert scheduler.ok and scheduler.detail.startswith("led by standby-or-leader (pid ")
    after = by_name(deployment_checks(engine, db_url))["scheduler"]
    assert after == Check("scheduler", False, "no scheduler has run yet (no process holds the scheduler leader lock)")


def test_a_stuck_outbox(engine: Engine, db_url: str, uow_factory: UowFactory) -> None:
    now = datetime.now(UTC)
    queue(uow_factory, "recent", "telegram", now - timedelta(minutes=5))
    checks = by_name(deployment_checks(engine, db_url, now=now))
    assert checks["outbox"] == Check("outbox", True, "1 queued, 0 failed; the oldest due message has waited 5 min")

    queue(uow_factory, "old", "telegram", now - timedelta(minutes=15))
    queue(uow_factory, "gone", "discord", now - timedelta(minutes=30))
    store = OutboxStore(engine, "test-relay")
    (gone,) = store.claim("discord", now, 10)
    store.give_up(gone.id, "blocked")
    outbox = by_name(deployment_checks(engine, db_url, now=now))["outbox"]
    assert outbox == Check(
        "outbox", False, "stuck: a message has been due for 15 min (more than 10 min); 2 queued, 1 failed"
    )


# --- twinbot health ---------------------------------------------------------------------------


async def test_health_command_against_the_database(engine: Engine, db_url: str) -> None:
    settings = load_settings(database_url=db_url)
    out = io.StringIO()
    assert health_command(settings, None, out) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ok   database: reachable")
    assert lines[1].startswith("ok   schema: at the latest migration")
    assert lines[2] == "ok   outbox: 0 queued, 0 failed; none overdue"
    assert lines[3].startswith("FAIL scheduler: no scheduler has run yet")

    await install_scheduler(engine)
    with contextlib.ExitStack() as stack:
        if engine.dialect.name == "postgresql":
            stack.enter_context(leader_lock(db_url))
        out = io.StringIO()
        assert health_command(settings, None, out) == 0, out.getvalue()
    assert len(out.getvalue().splitlines()) == 4
    assert "FAIL" not in out.getvalue()


def test_health_command_when_the_database_is_unreachable() -> None:
    out = io.StringIO()
    assert health_command(load_settings(database_url=REFUSED_URL), None, out) == 1
    (line,) = out.getvalue().splitlines()
    assert line.startswith("FAIL database: unreachable: OperationalError: connection failed")
    assert "Traceback" not in out.getvalue()


def test_health_command_does_not_create_a_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "nothing" / "twinbot.db"
    out = io.StringIO()
    assert health_command(load_settings(database_url=f"sqlite:///{path}"), None, out) == 1
    assert out.getvalue() == f"FAIL database: no database file at {path}: run `twinbot db upgrade`\n"
    assert not path.parent.exists()


async def test_health_command_asks_a_running_process(engine: Engine) -> None:
    settings = load_settings()
    down = [Check("discord", False, "gateway closed")]
    async with serving(engine) as healthy, serving(engine, checks=lambda: down) as unhealthy:
        url = healthy.url
        out = io.StringIO()
        assert await asyncio.to_thread(health_command, settings, url, out) == 0
        lines = out.getvalue().splitlines()
        assert lines[0].startswith("ok   database: reachable") and lines[1] == "ok   relays: telegram running"

        out = io.StringIO()
        address = unhealthy.url.removeprefix("http://")  # the scheme may be left out
        assert await asyncio.to_thread(health_command, settings, address, out) == 1
        assert out.getvalue().splitlines()[-1] == "FAIL discord: gateway closed"

    out = io.StringIO()  # both servers have stopped
    assert await asyncio.to_thread(health_command, settings, url, out) == 1
    assert out.getvalue().startswith(f"FAIL http: no answer from {url}/healthz")
