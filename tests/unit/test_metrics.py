"""PrometheusTelemetry: what the port's calls add up to, on a registry of the test's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.ops.metrics import MATCHING_BUCKETS, PrometheusTelemetry
from bot.telemetry import Telemetry


def telemetry(role: str = "all") -> tuple[PrometheusTelemetry, CollectorRegistry]:
    registry = CollectorRegistry()
    return PrometheusTelemetry(registry, role=role, process_metrics=False), registry


def test_it_is_a_telemetry() -> None:
    port: Telemetry = PrometheusTelemetry(CollectorRegistry(), process_metrics=False)
    port.update_handled("console", "ok")


def test_updates_and_messages_are_counted_per_platform_and_outcome() -> None:
    t, registry = telemetry()
    for _ in range(3):
        t.update_handled("telegram", "ok")
    t.update_handled("telegram", "error")
    t.update_handled("discord", "flood")
    t.message_outcome("telegram", "sent")
    t.message_outcome("telegram", "sent")
    t.message_outcome("discord", "retry_after")

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("twinbot_updates_handled_total", platform="telegram", outcome="ok") == 3
    assert value("twinbot_updates_handled_total", platform="telegram", outcome="error") == 1
    assert value("twinbot_updates_handled_total", platform="discord", outcome="flood") == 1
    assert value("twinbot_updates_handled_total", platform="discord", outcome="ok") is None
    assert value("twinbot_messages_total", platform="telegram", outcome="sent") == 2
    assert value("twinbot_messages_total", platform="discord", outcome="retry_after") == 1


def test_job_runs_and_their_durations() -> None:
    t, registry = telemetry()
    t.job_run("due_scan", "ok", 0.02)
    t.job_run("due_scan", "ok", 4.0)
    t.job_run("due_scan", "error", 0.5)
    t.job_run("coffee_round", "missed", None)  # a missed run took no time: counted, not timed

    assert registry.get_sample_value("twinbot_job_runs_total", {"job": "due_scan", "outcome": "ok"}) == 2
    assert registry.get_sample_value("twinbot_job_runs_total", {"job": "due_scan", "outcome": "error"}) == 1
    assert registry.get_sample_value("twinbot_job_runs_total", {"job": "coffee_round", "outcome": "missed"}) == 1
    assert registry.get_sample_value("twinbot_job_duration_seconds_count", {"job": "due_scan"}) == 3
    assert registry.get_sample_value("twinbot_job_duration_seconds_sum", {"job": "due_scan"}) == 4.52
    assert registry.get_sample_value("twinbot_job_duration_seconds_bucket", {"job": "due_scan", "le": "1.0"}) == 2
    assert registry.get_sample_value("twinbot_job_duration_seconds_count", {"job": "coffee_round"}) is None


def test_matching_duration_and_pairs() -> None:
    t, registry = telemetry()
    t.matching_finished(0.03, mentees=10, pairs=8)
    t.matching_finished(95.0, mentees=400, pairs=390)

    assert MATCHING_BUCKETS[0] <= 0.01 and MATCHING_BUCKETS[-1] >= 120
    assert registry.get_sample_value("twinbot_matching_duration_seconds_count") == 2
    assert registry.get_sample_value("twinbot_matching_duration_seconds_bucket", {"le": "0.05"}) == 1
    assert registry.get_sample_value("twinbot_matching_duration_seconds_bucket", {"le": "90.0"}) == 1
    assert registry.get_sample_value("twinbot_matching_duration_seconds_bucket", {"le": "120.0"}) == 2
    assert registry.get_sample_value("twinbot_matching_pairs_total") == 398
    assert registry.get_sample_value("twinbot_matching_last_mentees") == 400
    assert registry.get_sample_value("twinbot_matching_last_pairs") == 390


def test_leader_gauge_and_info() -> None:
    t, registry = telemetry(role="scheduler")
    assert registry.get_sample_value("twinbot_scheduler_leader") == 0
    t.set_leader(True)
    assert registry.get_sample_value("twinbot_scheduler_leader") == 1
    t.set_leader(False)
    assert registry.get_sample_value("twinbot_scheduler_leader") == 0
    info = [s for f in text_string_to_metric_families(generate_latest(registry).decode()) for s in f.samples]
    (sample,) = [s for s in info if s.name == "twinbot_info"]
    assert sample.labels["role"] == "scheduler" and sample.labels["version"]


def test_registries_are_separate() -> None:
    first, first_registry = telemetry()
    _second, second_registry = telemetry()  # the same names again: no "Duplicated timeseries"
    first.update_handled("console", "ok")
    assert first_registry.get_sample_value("twinbot_updates_handled_total", {"platform": "console", "outcome": "ok"})
    assert (
        second_registry.get_sample_value("twinbot_updates_handled_total", {"platform": "console", "outcome": "ok"})
        is None
    )


def test_process_metrics_come_with_it_by_default() -> None:
    registry = CollectorRegistry()
    PrometheusTelemetry(registry)
    names = {f.name for f in text_string_to_metric_families(generate_latest(registry).decode())}
    assert "python_info" in names


def test_methods_never_raise() -> None:
    t, registry = telemetry()
    bad: object = object()
    t.update_handled(bad, None)  # type: ignore[arg-type]
    t.job_run("due_scan", "ok", "slow")  # type: ignore[arg-type]
    t.matching_finished(None, None, None)  # type: ignore[arg-type]
    t.set_leader(True)
    t.close()
    assert registry.get_sample_value("twinbot_scheduler_leader") == 1
