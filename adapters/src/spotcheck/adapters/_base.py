"""The delivery contract between the gateway's worker and an adapter: message, outcome, context, protocol.

The worker owns retries, schedules, leases, circuit breaking and persistence. An adapter makes exactly one attempt
to deliver one :class:`OutgoingMessage` to one destination and classifies what happened as a
:class:`DeliveryOutcome`; it never raises for a failed delivery.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Protocol, get_args, runtime_checkable

import msgspec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    import httpx

    from spotcheck.adapters._announcements import AnnouncementSink

__all__ = [
    "MAX_EXCERPT_BYTES",
    "Adapter",
    "AdapterContext",
    "DeliveryOutcome",
    "DeliveryStatus",
    "HttpTransportName",
    "OutgoingMessage",
    "UrlConfigurable",
]

DeliveryStatus = Literal["delivered", "retry", "throttled", "gone", "rejected"]
"""What the worker should do next.

* ``delivered``: the destination accepted the message; stop.
* ``retry``: a transient failure (5xx, timeout, reset, DNS); retry on the schedule.
* ``throttled``: the destination asks us to slow down (429, 502/503/504); wait ``retry_after`` if given.
* ``gone``: the destination is permanently gone (410, a mailbox that does not exist, an endpoint that now
  resolves to a forbidden address); disable the endpoint.
* ``rejected``: the destination refused this message in a way that retrying the same bytes cannot fix.
"""

HttpTransportName = Literal["aiohttp", "httpx"]
"""Which connection pool sits under the httpx API: aiohttp's (faster under concurrency) or httpx's own."""

MAX_EXCERPT_BYTES: Final = 512
"""At most this many bytes of a response body are kept in :attr:`DeliveryOutcome.response_excerpt`."""

_STATUSES: Final = frozenset(get_args(DeliveryStatus))


class OutgoingMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One notice or order from the regulator's gateway, ready to deliver.

    Attributes:
        message_id: the stable ``webhook-id``: identical on every attempt, so receivers can deduplicate.
        message_type: the event type, e.g. ``"takedown.order"``.
        body: the exact JSON body, already encoded; adapters send these bytes unchanged.
        timestamp: Unix seconds when the gateway created the message. Signatures carry the attempt's own time.
        case_id: the sampling case this message belongs to.
        attempt: 1 for the first attempt, counted by the worker.
        recipient_name: the addressee's display name (platform, shop or manufacturer), for human-readable forms.
        authority: the issuing regulator's name, for human-readable forms.
    """

    message_id: str
    message_type: str
    body: bytes
    timestamp: int
    case_id: str
    attempt: int = 1
    recipient_name: str = ""
    authority: str = ""


class DeliveryOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What one delivery attempt achieved.

    Attributes:
        status: the classification; see :data:`DeliveryStatus`.
        http_status: the HTTP status of the answer, when there was one (``None`` for non-HTTP adapters).
        retry_after: seconds the destination asked us to wait (``Retry-After`` as seconds or HTTP-date).
        latency_ms: wall time of the attempt in milliseconds.
        response_excerpt: at most :data:`MAX_EXCERPT_BYTES` bytes of the answer, decoded and stripped of control
            characters, so it is safe to store and log.
        remote_reference: the destination's reference for the delivery (request id, SMTP Message-ID,
            announcement id), when known.
        error: a short description of a failure, safe to log: never a secret.
    """

    status: DeliveryStatus
    http_status: int | None = None
    retry_after: float | None = None
    latency_ms: float = 0.0
    response_excerpt: str = ""
    remote_reference: str | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}, got {self.status!r}")

    @property
    def delivered(self) -> bool:
        """Whether the destination accepted the message."""
        return self.status == "delivered"


def _default_clock() -> float:
    return time.time()


@dataclass(frozen=True, kw_only=True)
class AdapterContext:
    """What the gateway lends an adapter for the destination it delivers to.

    Attributes:
        http_client: a shared client; the adapter uses it and never closes it. When ``None`` the adapter builds
            its own with :func:`spotcheck.adapters.make_http_client` (``http_transport``, SSRF guard per
            ``allow_private_targets``) and closes it in ``aclose``.
        http_transport: the pool under the adapter's own client when ``http_client`` is ``None``.
        signing_keys: the gateway's Standard Webhooks keys for this destination (``whsec_`` / ``whsk_``),
            several during rotation. Hidden from ``repr``.
        allow_private_targets: development only: allow ``http://`` and private, loopback or link-local targets.
        clock: the wall clock in Unix seconds, for signature timestamps and ``Retry-After`` dates.
        announcement_sink: where the ``announcement`` adapter publishes; the gateway plugs its database in.
        document_reader: the bytes of a document (文书) a notice refers to in ``data.documents``, by SHA-256,
            checked against it; adapters that carry files (e-mail) attach them. ``None``: nothing attached.
    """

    http_client: httpx.AsyncClient | None = None
    http_transport: HttpTransportName = "aiohttp"
    signing_keys: tuple[str, ...] = field(default=(), repr=False)
    allow_private_targets: bool = False
    clock: Callable[[], float] = _default_clock
    announcement_sink: AnnouncementSink | None = None
    document_reader: Callable[[str], Awaitable[bytes]] | None = None


@runtime_checkable
class Adapter(Protocol):
    """A delivery adapter: one attempt, one message, one destination, a classified outcome.

    Implementations are registered in the ``spotcheck.adapters`` entry-point group and built by the gateway as
    ``AdapterClass(config, context=context)``, one instance per destination, reused for many deliveries. A
    platform's ``config`` is what it registered; for a party without an integration of its own (a manufacturer, a
    merchant) it is the message's destination, or what :meth:`UrlConfigurable.config_from_url` makes of it.
    """

    name: ClassVar[str]
    """The entry-point name the adapter is registered under."""

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> object:
        """Return the typed configuration, or raise :class:`AdapterConfigError` naming the field and reason."""
        ...

    def __init__(self, config: Mapping[str, Any], *, context: AdapterContext) -> None:
        """Validate ``config`` (raising :class:`AdapterConfigError`) and keep ``context``; no I/O happens here."""
        ...

    async def deliver(self, message: OutgoingMessage) -> DeliveryOutcome:
        """Make one attempt; every failure to deliver (timeouts, resets, DNS, garbage answers) is an outcome."""
        ...

    async def aclose(self) -> None:
        """Release what the adapter owns (never the shared client it was lent); safe to call twice."""
        ...


@runtime_checkable
class UrlConfigurable(Protocol):
    """An adapter class whose shared set-up (a mail relay, a service account) comes from one URL the operator sets.

    Optional: an adapter offers it by defining the class method. To deliver to a party without an integration of
    its own, the gateway then builds the adapter with ``config_from_url(url, destination)``, ``url`` being its
    setting named after the adapter (``SPOTCHECK_<NAME>_URL``), and holds the party's messages, never dropping
    them, while that setting is absent.
    """

    @classmethod
    def config_from_url(cls, url: str, destination: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration for ``destination`` (the addressee, as the message names it) through ``url``.

        Raises:
            ValueError: ``url`` is malformed (the message names the setting and the expected form).
        """
        ...
