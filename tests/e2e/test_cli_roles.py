"""``twinbot run --role``, ``twinbot db upgrade`` and ``twinbot health`` as an operator runs
them: real subprocesses on a real SQLite file."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from tests.e2e.test_cli import ROOT, twinbot


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_worker_refuses_an_unmigrated_database_and_touches_nothing(env: dict[str, str]) -> None:
    for role in ("relay", "scheduler"):
        result = twinbot(env, "run", "--role", role)
        assert result.returncode == 2
        assert "run `twinbot db upgrade` once" in result.stderr and "Traceback" not in result.stderr
    health = twinbot(env, "health")
    assert health.returncode == 1
    assert "FAIL schema" in health.stdout or "FAIL database" in health.stdout
    upgraded = twinbot(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    adapters = twinbot(env, "run", "--role", "adapters")
    assert adapters.returncode == 2
    assert "needs TWINBOT_TELEGRAM_TOKEN or TWINBOT_DISCORD_TOKEN" in adapters.stderr
    relay = twinbot(env, "run", "--role", "relay")  # a relay with nothing to send on
    assert relay.returncode == 2 and "--role relay needs" in relay.stderr


def test_run_all_without_migrating_on_start_refuses_an_old_schema(env: dict[str, str]) -> None:
    result = twinbot(env | {"TWINBOT_MIGRATE_ON_START": "false"}, "run", stdin="")
    assert result.returncode == 2
    assert "twinbot db upgrade" in result.stderr


def test_scheduler_process_serves_healthz_and_metrics_and_health_reports(env: dict[str, str]) -> None:
    assert twinbot(env, "db", "upgrade").returncode == 0
    before = twinbot(env, "health")
    assert before.returncode == 1  # nothing has scheduled the due scan yet
    assert "FAIL scheduler" in before.stdout and "ok   database" in before.stdout

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "run", "--role", "scheduler"],
        cwd=ROOT,
        env=env | {"TWINBOT_HEALTH_LISTEN": f"127.0.0.1:{port}", "TWINBOT_LOG_FORMAT": "json"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        body: dict[str, object] = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = json.loads(response.read())
                    if {"name": "scheduler", "ok": True, "detail": "leading"} in body["checks"]:  # type: ignore[operator]
                        break
            except OSError:
                pass
            time.sleep(0.2)
        assert body.get("ok") is True, body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert "twinbot_scheduler_leader 1.0" in metrics
        assert 'twinbot_info{role="scheduler"' in metrics
        assert "twinbot_outbox_depth" in metrics or "twinbot_outbox_query_success 1.0" in metrics
        asked = twinbot(env, "health", "--url", f"http://127.0.0.1:{port}")
        assert asked.returncode == 0, asked.stdout + asked.stderr
        after = twinbot(env, "health")  # the due scan is now in the job store, due within 30 s
        assert after.returncode == 0, after.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(line["message"] == "this process leads the scheduler" for line in lines)
    gone = twinbot(env, "health", "--url", f"http://127.0.0.1:{port}")
    assert gone.returncode == 1 and "Traceback" not in gone.stderr + gone.stdout


def test_health_of_an_unreachable_database_is_a_failure_not_a_traceback(env: dict[str, str]) -> None:
    result = twinbot(env | {"TWINBOT_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"}, "health")
    assert result.returncode == 1
    assert "FAIL database" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
