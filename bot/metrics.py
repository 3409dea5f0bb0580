"""Prometheus metrics: one registry per bot, served over HTTP when ``METRICS_PORT`` is set.

What an operator watches: interactions by command and outcome (``ok``, ``refused`` for a
refusal the user can act on, ``error`` for a bug) with their latency, the outbox backlog
and its oldest row's age, the sweep's duration and due contracts, DMs that could not be
delivered, money held in escrow and owed to users per currency, the gateway latency.

Labels never carry a user, guild, job or contract id: a command is its qualified name
(``job list``), a button or modal its custom id without the numbers (``cw:job:apply``).
Each bot has its own :class:`CollectorRegistry` rather than the process-wide default, so
tests that build many bots do not collide. The HTTP server is prometheus_client's own
(a thread); the database-backed gauges are refreshed after each sweep, since collectors
are synchronous and the database is not.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import discord
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

from bot.services.stats import Stats

log = logging.getLogger(__name__)

STARTED = "metrics_started"
OUTCOMES = ("ok", "refused", "error")
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def interaction_labels(interaction: discord.Interaction[Any]) -> tuple[str, str]:
    """``(kind, name)`` for an interaction: ``("command", "job list")``,
    ``("component", "cw:job:apply")``, ``("modal", "job_apply")``. Numbers are dropped from
    custom ids (they are ids of jobs, contracts, users) to keep labels few and anonymous."""
    if interaction.type is discord.InteractionType.application_command:
        command = interaction.command
        return "command", command.qualified_name if command is not None else "unknown"
    data: Any = interaction.data or {}
    custom_id = str(data.get("custom_id", ""))
    name = ":".join(part for part in custom_id.split(":") if part and not part.isdigit()) or "unknown"
    kind = "modal" if interaction.type is discord.InteractionType.modal_submit else "component"
    return kind, name


def count_failed_dm(client: object, reason: str) -> None:
    """Count a DM that could not be delivered (the dispatcher's client is the bot)."""
    metrics = getattr(client, "metrics", None)
    if isinstance(metrics, Metrics):
        metrics.dms_failed.labels(reason).inc()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.interactions = Counter(
            "crowdwork_interactions", "Interactions handled, by kind, command and outcome",
            ["kind", "command", "outcome"], registry=r,
        )  # fmt: skip
        self.interaction_seconds = Histogram(
            "crowdwork_interaction_seconds", "Time from receiving an interaction to its handler's end",
            ["kind", "command"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.outbox_backlog = Gauge("crowdwork_outbox_backlog", "Outbox rows waiting to be sent", registry=r)
        self.outbox_oldest = Gauge(
            "crowdwork_outbox_oldest_pending_seconds", "Age of the oldest waiting outbox row", registry=r
        )
        self.sweep_seconds = Histogram("crowdwork_sweep_seconds", "Duration of the timer sweep", registry=r)
        self.sweep_due = Gauge("crowdwork_sweep_due_contracts", "Contracts due in the last sweep", registry=r)
        self.sweep_failed = Counter("crowdwork_sweep_failures", "Sweeps or contracts in a sweep that failed",
                                    registry=r)  # fmt: skip
        self.dms_failed = Counter("crowdwork_dms_failed", "DMs that could not be delivered, by reason", ["reason"],
                                  registry=r)  # fmt: skip
        self.escrow = Gauge("crowdwork_escrow_minor_units", "Money held in escrow, in minor units", ["currency"],
                            registry=r)  # fmt: skip
        self.owed = Gauge("crowdwork_owed_minor_units", "Money owed to users (payouts, refunds), in minor units",
                          ["currency"], registry=r)  # fmt: skip
        self.gateway_latency = Gauge("crowdwork_gateway_latency_seconds", "Discord gateway heartbeat latency",
                                     registry=r)  # fmt: skip
        self._server: Any = None

    # -- interactions -------------------------------------------------------------

    def started(self, interaction: discord.Interaction[Any]) -> None:
        interaction.extras.setdefault(STARTED, time.perf_counter())

    def finished(self, interaction: discord.Interaction[Any], outcome: str) -> None:
        """Count the interaction once (a second report of the same one is ignored) and
        observe its latency when its start was seen."""
        if interaction.extras.get("metrics_counted"):
            return
        interaction.extras["metrics_counted"] = True
        kind, name = interaction_labels(interaction)
        self.interactions.labels(kind, name, outcome).inc()
        started = interaction.extras.get(STARTED)
        if isinstance(started, float):
            self.interaction_seconds.labels(kind, name).observe(time.perf_counter() - started)

    # -- the rest -----------------------------------------------------------------

    def swept(self, seconds: float, due: int, failed: int) -> None:
        self.sweep_seconds.observe(seconds)
        self.sweep_due.set(due)
        if failed:
            self.sweep_failed.inc(failed)

    def refresh(self, stats: Stats) -> None:
        self.outbox_backlog.set(stats.outbox_backlog)
        self.outbox_oldest.set(stats.outbox_oldest_age)
        for gauge, totals in ((self.escrow, stats.escrow), (self.owed, stats.owed)):
            for code, amount in totals.items():
                gauge.labels(code).set(amount)

    def watch_latency(self, latency: Callable[[], float]) -> None:
        """The gateway latency, read at scrape time (NaN until the first heartbeat)."""

        def read() -> float:
            value = latency()
            return value if math.isfinite(value) else math.nan

        self.gateway_latency.set_function(read)

    def text(self) -> bytes:
        """The metrics in Prometheus' text format, as a scrape returns them."""
        return generate_latest(self.registry)

    # -- the HTTP server ----------------------------------------------------------

    def serve(self, port: int, host: str) -> int:
        """Serve ``/metrics`` on ``host:port`` from a thread; returns the bound port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        bound = int(server.server_port)
        log.info("metrics served on http://%s:%s/metrics", host, bound)
        return bound

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
