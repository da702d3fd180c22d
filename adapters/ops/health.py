"""Is the deployment healthy? Checks of the parts every process shares (database, schema,
outbox, scheduler), and ``twinbot health``, which prints them or asks a running process's
``/healthz``.

Each check answers with a ``Check``; none raises. The checks only read.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TextIO, TypeVar

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.delivery import Status
from jobs.leader import LOCK_KEY
from jobs.scheduler import DUE_SCAN, JOB_TABLE
from storage.db import make_engine
from storage.migrate import alembic_config
from storage.models import OutboxRow

if TYPE_CHECKING:
    from config import Settings

#: A queued message due for longer than this means no relay is draining its platform.
OUTBOX_STUCK_AFTER = timedelta(minutes=10)
#: The due scan runs every 30 s; this late means no scheduler is running it.
SCHEDULER_LATE_AFTER = timedelta(minutes=3)
#: How long ``twinbot health URL`` waits for the answer.
HTTP_TIMEOUT_S = 5.0

T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """``ok   database: reachable`` or ``FAIL outbox: ...``"""
        return f"{'ok' if self.ok else 'FAIL':<4} {self.name}: {self.detail}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def describe_error(exc: BaseException) -> str:
    """One short line: the driver's error if SQLAlchemy wrapped one (no SQL, no parameters)."""
    original = getattr(exc, "orig", None)
    source = original if isinstance(original, BaseException) else exc
    lines = str(source).strip().splitlines()
    name = type(source).__name__
    return f"{name}: {lines[0].strip()}"[:300] if lines else name


class SharedCall(Generic[T]):
    """Runs ``call`` in a daemon thread of its own; whoever asks while it runs shares that run.

    A call that hangs (a database that does not answer) thus ties up one thread, not one per
    request, and never holds up the process's exit (daemon threads are not joined).
    """

    def __init__(self, call: Callable[[], T], name: str) -> None:
        self._call = call
        self._name = name
        self._lock = threading.Lock()
        self._future: concurrent.futures.Future[T] | None = None

    def submit(self) -> concurrent.futures.Future[T]:
        with self._lock:
            if self._future is not None and not self._future.done():
                return self._future
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            self._future = future
        threading.Thread(target=self._run, args=(future,), name=self._name, daemon=True).start()
        return future

    def result(self, timeout: float) -> T:
        """The call's result; TimeoutError if it takes longer than ``timeout`` seconds."""
        return self.submit().result(timeout)

    def _run(self, future: concurrent.futures.Future[T]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(self._call())
        except BaseException as exc:
            future.set_exception(exc)


def reading_engine(engine: Engine) -> Engine:
    """An engine for health and metrics reads of ``engine``'s database.

    On a SQLite file it is a sibling engine whose transactions begin with a plain BEGIN: the
    application's engine begins each one with BEGIN IMMEDIATE, a write lock that a read should
    neither wait for nor hold. Elsewhere it is ``engine`` itself. The caller disposes of a
    sibling (``result is not engine``).
    """
    if engine.dialect.name != "sqlite":
        return engine
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return engine
    return make_engine(engine.url, sqlite_immediate=False)


def ping(engine: Engine) -> Check:
    """``SELECT 1``: the database answers."""
    started = time.monotonic()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return Check("database", False, f"unreachable: {describe_error(exc)}")
    return Check("database", True, f"reachable ({(time.monotonic() - started) * 1000:.0f} ms)")


def deployment_checks(
    engine: Engine,
    url: str,
    *,
    now: datetime | None = None,
    outbox_stuck_after: timedelta = OUTBOX_STUCK_AFTER,
    scheduler_late_after: timedelta = SCHEDULER_LATE_AFTER,
) -> list[Check]:
    """Database reachable, schema at the latest migration, outbox not stuck, a scheduler
    running. When the database does not answer, that is the only check returned."""
    database = ping(engine)
    if not database.ok:
        return [database]
    at = now or datetime.now(UTC)
    return [
        database,
        _guarded("schema", lambda: schema_check(engine, url)),
        _guarded("outbox", lambda: outbox_check(engine, at, outbox_stuck_after)),
        _guarded("scheduler", lambda: scheduler_check(engine, at, scheduler_late_after)),
    ]


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:
        return Check(name, False, f"could not check: {describe_error(exc)}")


def schema_check(engine: Engine, url: str) -> Check:
    script = ScriptDirectory.from_config(alembic_config(url))
    latest = set(script.get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == latest:
        return Check("schema", True, f"at the latest migration ({_revisions(current)})")
    if not current:
        return Check("schema", False, "not migrated: run `twinbot db upgrade`")
    unknown = set()
    for revision in current:
        try:
            if script.get_revision(revision) is None:
                unknown.add(revision)
        except CommandError:  # alembic's ResolutionError is one
            unknown.add(revision)
    if unknown:
        return Check(
            "schema", False, f"at {_revisions(unknown)}, which this version does not know (migrated by a newer one?)"
        )
    return Check(
        "schema", False, f"at {_revisions(current)}, the latest is {_revisions(latest)}: run `twinbot db upgrade`"
    )


def _revisions(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions))


def outbox_check(engine: Engine, now: datetime, stuck_after: timedelta = OUTBOX_STUCK_AFTER) -> Check:
    """Stuck when a queued message has been due for longer than ``stuck_after``."""
    wanted = (Status.QUEUED.value, Status.FAILED.value)
    with engine.connect() as connection:
        counts: dict[str, int] = {
            status: int(count)
            for status, count in connection.execute(
                select(OutboxRow.status, func.count()).where(OutboxRow.status.in_(wanted)).group_by(OutboxRow.status)
            )
        }
        oldest = connection.execute(
            select(func.min(OutboxRow.next_attempt_at)).where(
                OutboxRow.status == Status.QUEUED.value, OutboxRow.next_attempt_at <= now
            )
        ).scalar()
    summary = f"{counts.get(Status.QUEUED.value, 0)} queued, {counts.get(Status.FAILED.value, 0)} failed"
    if oldest is None:
        return Check("outbox", True, f"{summary}; none overdue")
    waited = now - _aware(oldest)
    if waited > stuck_after:
        return Check(
            "outbox",
            False,
            f"stuck: a message has been due for {duration(waited)} (more than {duration(stuck_after)}); {summary}",
        )
    return Check("outbox", True, f"{summary}; the oldest due message has waited {duration(waited)}")


_LEADERS = text(
    "SELECT l.pid, a.application_name, a.client_addr, a.backend_start"
    " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.classid = :high AND l.objid = :low"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

_NO_SCHEDULER = "no scheduler has run yet"


def scheduler_check(engine: Engine, now: datetime, late_after: timedelta = SCHEDULER_LATE_AFTER) -> Check:
    """On PostgreSQL, a process holds the leader lock; everywhere, the due scan (if a scheduler
    has installed it) is not late by more than ``late_after``."""
    with engine.connect() as connection:
        installed, next_run = _due_scan(connection)
        leaders = (
            connection.execute(_LEADERS, {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFFFFFF}).all()
            if engine.dialect.name == "postgresql"
            else None
        )
    late = now - next_run if next_run is not None else None
    if leaders is not None:
        if not leaders:
            detail = "no process holds the scheduler leader lock"
            return Check("scheduler", False, f"{_NO_SCHEDULER} ({detail})" if not installed else detail)
        who = _describe_leader(leaders[0])
        if late is not None and late > late_after:
            return Check("scheduler", False, f"{who} holds the leader lock, but the due scan is {duration(late)} late")
        return Check("scheduler", True, f"led by {who}")
    if not installed:
        return Check("scheduler", False, f"{_NO_SCHEDULER} (no due-scan job in the database)")
    if next_run is None or late is None:
        return Check("scheduler", False, "the due scan is paused")
    if late > late_after:
        return Check("scheduler", False, f"the due scan is {duration(late)} late: is `twinbot run` running?")
    if late > timedelta(0):
        return Check("scheduler", True, f"the due scan is due ({duration(late)} ago)")
    return Check("scheduler", True, f"the due scan runs next at {next_run:%H:%M:%S} UTC")


def _due_scan(connection: Connection) -> tuple[bool, datetime | None]:
    """(is the job in the database, its next run time: None while paused)."""
    if not inspect(connection).has_table(JOB_TABLE):
        return False, None
    row = connection.execute(text(f"SELECT next_run_time FROM {JOB_TABLE} WHERE id = :id"), {"id": DUE_SCAN}).first()
    if row is None:
        return False, None
    value = row[0]
    return True, None if value is None else datetime.fromtimestamp(float(value), UTC)


def _describe_leader(row: Any) -> str:
    name = row.application_name or "a session"
    extra = [f"pid {row.pid}"]
    if row.client_addr:
        extra.append(f"from {row.client_addr}")
    if row.backend_start is not None:
        extra.append(f"since {_aware(row.backend_start):%Y-%m-%d %H:%M} UTC")
    return f"{name} ({', '.join(extra)})"


def _aware(value: datetime) -> datetime:
    """min() over a UTC column may come back naive on SQLite: it is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def duration(delta: timedelta) -> str:
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 120 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# --- twinbot health ---------------------------------------------------------------------------


def health_command(settings: Settings, url: str | None, out: TextIO) -> int:
    """Print one line per check; 0 when all are ok, 1 otherwise (never a traceback).

    Without ``url`` it checks the configured database; with one (``http://host:port``) it asks
    that process's ``/healthz`` and succeeds on a 200.
    """
    try:
        ok, checks = _remote(url) if url else _local(settings.database_url)
    except Exception as exc:  # the last resort: a health command must answer
        ok, checks = False, [Check("health", False, describe_error(exc))]
    for check in checks:
        print(check.line(), file=out)
    return 0 if ok else 1


def _local(database_url: str) -> tuple[bool, list[Check]]:
    parsed = make_url(database_url)
    backend = parsed.get_backend_name()
    database = parsed.database
    if backend == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        if not path.is_file():  # connecting would create an empty database
            return False, [Check("database", False, f"no database file at {path}: run `twinbot db upgrade`")]
    options: dict[str, Any] = {"poolclass": NullPool}
    if backend == "postgresql":
        options["connect_args"] = {"connect_timeout": 5, "application_name": "twinbot health"}
    engine = make_engine(database_url, sqlite_immediate=False, **options)
    try:
        checks = deployment_checks(engine, database_url)
    finally:
        engine.dispose()
    return all(c.ok for c in checks), checks


def _remote(url: str, timeout: float = HTTP_TIMEOUT_S) -> tuple[bool, list[Check]]:
    base = url if "://" in url else f"http://{url}"
    target = base.rstrip("/") + "/healthz"
    # A health endpoint is reached directly: no proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(target, headers={"Accept": "application/json"})
    try:
        with opener.open(request, timeout=timeout) as response:
            status, body = int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except urllib.error.URLError as exc:
        return False, [Check("http", False, f"no answer from {target}: {exc.reason}")]
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return False, [Check("http", False, f"no answer from {target}: {describe_error(exc)}")]
    checks = _parse_checks(body)
    if checks is None:
        return False, [Check("http", False, f"{target} answered {status} without a health report")]
    if status != 200 and all(c.ok for c in checks):
        checks.append(Check("http", False, f"{target} answered {status}"))
    return status == 200, checks


def _parse_checks(body: bytes) -> list[Check] | None:
    try:
        report = json.loads(body)
        return [Check(str(c["name"]), bool(c["ok"]), str(c.get("detail", ""))) for c in report["checks"]]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
