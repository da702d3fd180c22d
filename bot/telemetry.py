"""What the running bot reports about itself (a port: the wiring plugs in Prometheus).

The core and the jobs call these methods; they must be cheap and never raise. The default,
``NO_TELEMETRY``, records nothing, so the core and its tests need no metrics library.
"""

from __future__ import annotations

from typing import Protocol


class Telemetry(Protocol):
    def update_handled(self, platform: str, outcome: str) -> None:
        """One event handled by the core: ``outcome`` is "ok", "error" or "flood"."""

    def message_outcome(self, platform: str, outcome: str) -> None:
        """One outbox row tried by a relay: "sent", "failed", "unreachable", "retry", "retry_after"."""

    def job_run(self, job: str, outcome: str, seconds: float | None) -> None:
        """One scheduled job run: ``job`` is the job's function name, ``outcome`` "ok",
        "error" or "missed"."""

    def matching_finished(self, seconds: float, mentees: int, pairs: int) -> None:
        """One run of the mentor matcher (a preview, a confirmation or a scheduled run)."""

    def set_leader(self, leading: bool) -> None:
        """This process started (True) or stopped (False) leading the scheduler."""


class NoTelemetry:
    def update_handled(self, platform: str, outcome: str) -> None:
        pass

    def message_outcome(self, platform: str, outcome: str) -> None:
        pass

    def job_run(self, job: str, outcome: str, seconds: float | None) -> None:
        pass

    def matching_finished(self, seconds: float, mentees: int, pairs: int) -> None:
        pass

    def set_leader(self, leading: bool) -> None:
        pass


NO_TELEMETRY: Telemetry = NoTelemetry()
