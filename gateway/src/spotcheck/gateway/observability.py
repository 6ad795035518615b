"""Structured JSON logs (structlog) that never carry secrets, and Prometheus metrics."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics", "configure_logging", "redact"]

# Values that look like credentials are masked wherever they appear in a log event.
_SECRET_PATTERN = re.compile(r"(whsec_|whsk_|sct_)[A-Za-z0-9+/=_.-]+")
_SECRET_KEYS = frozenset({"authorization", "secret", "password", "token", "signing_key", "api_key", "app_secret"})


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor that masks secret-looking keys and values before anything is written."""
    for key, value in list(event.items()):
        if key.lower() in _SECRET_KEYS:
            event[key] = "[redacted]"
        elif isinstance(value, str) and _SECRET_PATTERN.search(value):
            event[key] = _SECRET_PATTERN.sub(lambda m: m.group(1) + "[redacted]", value)
    return event


def configure_logging(*, json: bool = True, level: str = "INFO") -> None:
    """Route structlog and the standard library through one JSON (or console) renderer on stderr."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    # Alembic logs each migration step at INFO in its own format; the gateway logs the migration itself.
    logging.getLogger("alembic").setLevel(max(numeric, logging.WARNING))
    # httpx logs every request at INFO, which would drown the gateway's own events (and print URLs).
    logging.getLogger("httpx").setLevel(max(numeric, logging.WARNING))
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        # Not cached: module-level loggers must follow a later configure_logging (a CLI, an embedding app).
        cache_logger_on_first_use=False,
    )


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now: loggers are cached, the stream may be swapped (tests, daemons)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class Metrics:
    """The gateway's Prometheus metrics, on a registry of its own so several apps can live in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "spotcheck_http_requests_total",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "spotcheck_http_request_seconds", "HTTP request latency", ["route"], registry=self.registry
        )
        self.notices = Gauge(
            "spotcheck_notices",
            "Outbound notices by type and delivery state",
            ["type", "state"],
            registry=self.registry,
        )
        self.deadlines = Gauge(
            "spotcheck_deadlines", "Open deadlines by kind and status", ["kind", "status"], registry=self.registry
        )
        self.replies = Counter(
            "spotcheck_replies_total", "Platform replies received", ["type", "outcome"], registry=self.registry
        )
        self.deliveries = Counter(
            "spotcheck_delivery_attempts_total", "Delivery attempts by outcome", ["outcome"], registry=self.registry
        )
        # How well the intake's group commit groups: replies per shared transaction.
        self.intake_batch = Histogram(
            "spotcheck_intake_batch_replies",
            "Platform replies stored per intake transaction (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
