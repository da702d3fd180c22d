"""Prometheus metrics: the ``Telemetry`` port on a registry of its own, and the outbox, read
from the database at each scrape.

The registry is not prometheus_client's global one, so each process (and each test) builds
its own; ``/metrics`` (adapters.ops.http) exposes it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, and_, func, select, text

from adapters.ops.health import SharedCall, reading_engine
from bot.delivery import Status
from storage.models import OutboxRow

log = logging.getLogger(__name__)

#: A scheduled job: from a few milliseconds (a due scan with nothing due) to minutes.
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
#: The mentor matcher: from a handful of mentees (10 ms) to the solver's time limit (120 s).
MATCHING_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0)
#: The outbox query at scrape time gives up after this long (the scrape goes on without it).
OUTBOX_QUERY_TIMEOUT_S = 3.0


def _version() -> str:
    try:
        return importlib.metadata.version("twinbot")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class PrometheusTelemetry:
    """``bot.telemetry.Telemetry`` in Prometheus counters and histograms. No method raises.

    ``engine``: when given, ``twinbot_outbox_*`` gauges are read from its database at each
    scrape (given up after ``outbox_timeout`` seconds). ``role``: what this process runs
    ("all", "adapters", "relay", "scheduler"...), shown in ``twinbot_info``. Call ``close()``
    when done: it frees the outbox reader.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        engine: Engine | None = None,
        role: str = "all",
        process_metrics: bool = True,
        outbox_timeout: float = OUTBOX_QUERY_TIMEOUT_S,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._updates = Counter(
            "twinbot_updates_handled", "Events handled by the core.", ["platform", "outcome"], registry=r
        )
        self._messages = Counter(
            "twinbot_messages", "Outbox messages tried by a relay, by outcome.", ["platform", "outcome"], registry=r
        )
        self._job_runs = Counter("twinbot_job_runs", "Scheduled job runs.", ["job", "outcome"], registry=r)
        self._job_seconds = Histogram(
            "twinbot_job_duration_seconds", "Time a scheduled job ran.", ["job"], buckets=JOB_BUCKETS, registry=r
        )
        self._matching_seconds = Histogram(
            "twinbot_matching_duration_seconds", "Time one run of the mentor matcher took.",
            buckets=MATCHING_BUCKETS, registry=r,
        )  # fmt: skip
        self._matched_pairs = Counter(
            "twinbot_matching_pairs", "Mentor-mentee pairs proposed by the matcher (all runs).", registry=r
        )
        self._last_mentees = Gauge(
            "twinbot_matching_last_mentees", "Mentees waiting in the matcher's last run.", registry=r
        )
        self._last_pairs = Gauge("twinbot_matching_last_pairs", "Pairs found in the matcher's last run.", registry=r)
        self._leader = Gauge(
            "twinbot_scheduler_leader", "1 while this process leads the scheduler, else 0.", registry=r
        )
        self._info = Info("twinbot", "This process: its role and version.", registry=r)
        self._info.info({"role": role, "version": _version()})
        if process_metrics:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self._outbox: OutboxCollector | None = None
        self._outbox_timeout = outbox_timeout
        if engine is not None:
            self.watch_outbox(engine)

    def watch_outbox(self, engine: Engine) -> None:
        """Read the outbox gauges from ``engine``'s database at each scrape (once only)."""
        if self._outbox is None:
            self._outbox = OutboxCollector(engine, self._outbox_timeout)
            self.registry.register(self._outbox)

    # --- the Telemetry port -------------------------------------------------------------------

    def update_handled(self, platform: str, outcome: str) -> None:
        try:
            self._updates.labels(platform=platform, outcome=outcome).inc()
        except Exception:
            log.debug("metrics: update_handled failed", exc_info=True)

    def message_outcome(self, platform: str, outcome: str) -> None:
        try:
            self._messages.labels(platform=platform, outcome=outcome).inc()
        except Exception:
            log.debug("metrics: message_outcome failed", exc_info=True)

    def job_run(self, job: str, outcome: str, seconds: float | None) -> None:
        try:
            self._job_runs.labels(job=job, outcome=outcome).inc()
            if seconds is not None:
                self._job_seconds.labels(job=job).observe(max(float(seconds), 0.0))
        except Exception:
            log.debug("metrics: job_run failed", exc_info=True)

    def matching_finished(self, seconds: float, mentees: int, pairs: int) -> None:
        try:
            self._matching_seconds.observe(max(float(seconds), 0.0))
            self._matched_pairs.inc(max(int(pairs), 0))
            self._last_mentees.set(mentees)
            self._last_pairs.set(pairs)
        except Exception:
            log.debug("metrics: matching_finished failed", exc_info=True)

    # --- the rest of the process --------------------------------------------------------------

    def set_leader(self, leading: bool) -> None:
        """Fits ``jobs.leader.Election(on_change=...)``."""
        try:
            self._leader.set(1 if leading else 0)
        except Exception:
            log.debug("metrics: set_leader failed", exc_info=True)

    def close(self) -> None:
        if self._outbox is not None:
            try:
                self.registry.unregister(self._outbox)
            except Exception:
                log.debug("metrics: unregister failed", exc_info=True)
            self._outbox.close()
            self._outbox = None


_Depth = dict[tuple[str, str], int]
_Oldest = dict[str, datetime]


class OutboxCollector(Collector):
    """``twinbot_outbox_depth{platform,status}`` (queued and sending rows) and
    ``twinbot_outbox_oldest_due_seconds{platform}`` (how long the oldest due queued row has
    waited; 0 with none due), read at each scrape. If the database fails or takes longer
    than ``timeout`` seconds, the scrape goes on without them (and
    ``twinbot_outbox_query_success`` is 0)."""

    STATUSES = (Status.QUEUED.value, Status.SENDING.value)

    def __init__(self, engine: Engine, timeout: float = OUTBOX_QUERY_TIMEOUT_S) -> None:
        self._engine = reading_engine(engine)
        self._owned = self._engine is not engine
        self._timeout = timeout
        self._query = SharedCall(self._read, "twinbot-metrics-outbox")

    def describe(self) -> Iterable[Metric]:
        # Names only: registering must not query the database.
        return [self._depth_family(), self._oldest_family(), self._success_family()]

    def collect(self) -> Iterator[Metric]:
        success = self._success_family()
        try:
            now, depth, oldest = self._query.result(self._timeout)
        except TimeoutError:
            log.warning("metrics: the outbox query took more than %.0f s; scraped without it", self._timeout)
            success.add_metric([], 0)
            yield success
            return
        except Exception as exc:
            log.warning("metrics: the outbox query failed (%s: %s); scraped without it", type(exc).__name__, exc)
            success.add_metric([], 0)
            yield success
            return
        success.add_metric([], 1)
        yield success
        platforms = sorted({platform for platform, _ in depth} | set(oldest))
        depth_family = self._depth_family()
        oldest_family = self._oldest_family()
        for platform in platforms:
            for status in self.STATUSES:
                depth_family.add_metric([platform, status], depth.get((platform, status), 0))
            due = oldest.get(platform)
            oldest_family.add_metric([platform], max((now - due).total_seconds(), 0.0) if due else 0.0)
        yield depth_family
        yield oldest_family

    def close(self) -> None:
        if self._owned:
            self._engine.dispose()

    @staticmethod
    def _depth_family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "twinbot_outbox_depth",
            "Outbox rows waiting (queued) or being sent (sending).",
            labels=["platform", "status"],
        )

    @staticmethod
    def _oldest_family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "twinbot_outbox_oldest_due_seconds",
            "How long the oldest due queued outbox row has waited, per platform.",
            labels=["platform"],
        )

    @staticmethod
    def _success_family() -> GaugeMetricFamily:
        return GaugeMetricFamily("twinbot_outbox_query_success", "1 if the outbox could be read at this scrape.")

    def _read(self) -> tuple[datetime, _Depth, _Oldest]:
        started = time.monotonic()
        now = datetime.now(UTC)
        with self._engine.connect() as connection:
            if connection.dialect.name == "postgresql":  # a query stuck in the server ends too
                ms = int(self._timeout * 1000)
                connection.execute(text(f"SET LOCAL statement_timeout = {ms}"))
            depth: _Depth = {
                (platform, status): int(count)
                for platform, status, count in connection.execute(
                    select(OutboxRow.platform, OutboxRow.status, func.count())
                    .where(OutboxRow.status.in_(self.STATUSES))
                    .group_by(OutboxRow.platform, OutboxRow.status)
                )
            }
            oldest: _Oldest = {
                platform: _aware(due)
                for platform, due in connection.execute(
                    select(OutboxRow.platform, func.min(OutboxRow.next_attempt_at))
                    .where(and_(OutboxRow.status == Status.QUEUED.value, OutboxRow.next_attempt_at <= now))
                    .group_by(OutboxRow.platform)
                )
                if due is not None
            }
        log.debug("metrics: outbox read in %.0f ms", (time.monotonic() - started) * 1000)
        return now, depth, oldest


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
