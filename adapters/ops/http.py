"""``/healthz`` and ``/metrics`` over HTTP, served by tornado on the process's asyncio loop.

Being on that loop is the point: a loop that is stuck cannot answer, so the health check
fails. Anything that may block (the database ping, the outbox query behind a scrape) runs in
a thread, bounded in time, so a database that hangs gives a quick 503 rather than a hang.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import tornado.httpserver
import tornado.netutil
import tornado.web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import Engine

from adapters.ops.health import Check, SharedCall, describe_error, ping, reading_engine

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long /healthz waits for the database to answer ``SELECT 1``.
PING_TIMEOUT_S = 3.0
#: How long /metrics may take (Prometheus's own scrape timeout is 10 s by default).
METRICS_TIMEOUT_S = 8.0


def parse_listen(listen: str) -> tuple[str, int]:
    """``"host:port"`` (``"[::1]:9100"`` for IPv6; an empty host or ``*`` for every interface)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen address {listen!r} is not host:port")
    host = host.strip("[]")
    return ("" if host in ("", "*") else host), int(port)


class OpsServer:
    """GET /healthz: ``{"ok": bool, "checks": [{"name", "ok", "detail"}]}``, 200 or 503: a
    database ping and ``checks()`` (this process's own parts). GET /metrics: ``registry`` in
    Prometheus's text format. Anything else: 404.

    ``checks`` runs on the loop: keep it quick and free of I/O (read flags the process keeps).
    """

    def __init__(
        self,
        listen: str,
        registry: CollectorRegistry,
        checks: Callable[[], list[Check]],
        engine: Engine,
        *,
        ping_timeout: float = PING_TIMEOUT_S,
        metrics_timeout: float = METRICS_TIMEOUT_S,
    ) -> None:
        self.host, self._wanted_port = parse_listen(listen)
        self.registry = registry
        self.checks = checks
        self.ping_timeout = ping_timeout
        self.metrics_timeout = metrics_timeout
        self._engine = engine
        self._reader: Engine | None = None
        self._ping: SharedCall[Check] | None = None
        self._scrape = SharedCall(lambda: generate_latest(self.registry), "twinbot-ops-metrics")
        self._server: tornado.httpserver.HTTPServer | None = None
        self._sockets: list[socket.socket] = []

    @property
    def port(self) -> int:
        """The port bound (the one chosen by the system when asked for port 0)."""
        if not self._sockets:
            raise RuntimeError("the ops server is not started")
        return int(self._sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        host = self.host or "127.0.0.1"
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def start(self) -> None:
        if self._server is not None:
            return
        reader = reading_engine(self._engine)
        self._reader = reader
        self._ping = SharedCall(lambda: ping(reader), "twinbot-ops-ping")
        application = tornado.web.Application(
            [
                (r"/healthz", _HealthHandler, {"server": self}),
                (r"/metrics", _MetricsHandler, {"server": self}),
            ],
            log_function=_log_request,
        )
        sockets = tornado.netutil.bind_sockets(self._wanted_port, self.host or None)
        server = tornado.httpserver.HTTPServer(application)
        server.add_sockets(sockets)
        self._server, self._sockets = server, sockets
        log.info("health and metrics on %s (/healthz, /metrics)", self.url)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            try:
                await asyncio.wait_for(server.close_all_connections(), 5.0)
            except TimeoutError:
                log.warning("ops server: connections still open at stop")
        self._sockets = []
        reader, self._reader = self._reader, None
        if reader is not None and reader is not self._engine:
            reader.dispose()

    async def health(self) -> tuple[bool, list[Check]]:
        """The report /healthz gives."""
        checks = [await self._database()]
        try:
            checks.extend(self.checks())
        except Exception as exc:
            log.warning("ops server: the process checks raised", exc_info=True)
            checks.append(Check("process", False, f"checks failed: {describe_error(exc)}"))
        return all(c.ok for c in checks), checks

    async def _database(self) -> Check:
        if self._ping is None:
            return Check("database", False, "the ops server is not started")
        try:
            return await _bounded(self._ping, self.ping_timeout)
        except TimeoutError:
            return Check("database", False, f"no answer within {self.ping_timeout:g} s")
        except Exception as exc:
            return Check("database", False, f"unreachable: {describe_error(exc)}")

    async def metrics(self) -> bytes:
        """The exposition /metrics gives; TimeoutError if it takes too long."""
        return await _bounded(self._scrape, self.metrics_timeout)


async def _bounded(call: SharedCall[T], timeout: float) -> T:
    """The shared call's result, waited for at most ``timeout`` seconds. Shielded: a waiter
    that gives up must not cancel a run that others share."""
    return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(call.submit())), timeout)


class _OpsHandler(tornado.web.RequestHandler):
    ops: OpsServer

    def initialize(self, server: OpsServer) -> None:
        self.ops = server

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")


class _HealthHandler(_OpsHandler):
    async def get(self) -> None:
        ok, checks = await self.ops.health()
        self.set_status(200 if ok else 503)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"ok": ok, "checks": [c.as_json() for c in checks]}))


class _MetricsHandler(_OpsHandler):
    async def get(self) -> None:
        try:
            body = await self.ops.metrics()
        except Exception as exc:
            log.warning("ops server: /metrics failed: %s", describe_error(exc))
            self.set_status(503)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"metrics unavailable: {describe_error(exc)}\n")
            return
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(body)


def _log_request(handler: Any) -> None:
    """Scrapes and probes come every few seconds: log them at debug level, errors at info."""
    status = handler.get_status()
    request = handler.request
    level = logging.DEBUG if status < 400 else logging.INFO
    log.log(level, "%s %s %s %.0f ms", status, request.method, request.uri, 1000 * request.request_time())
