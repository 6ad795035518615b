"""spotcheck.adapters: how the gateway delivers a notice or order to one destination.

An adapter makes one attempt and classifies it as a :class:`DeliveryOutcome` (``delivered``, ``retry``,
``throttled``, ``gone`` or ``rejected``); the gateway's worker owns retries, schedules and persistence. Built-in
adapters, registered in the ``spotcheck.adapters`` entry-point group and found with :func:`load_adapter`:

* ``webhook``: Standard Webhooks push (the default);
* ``open-platform``: a platform's own signed open API (TOP / JD / PDD style);
* ``smtp``: e-mail for parties without an integration (its relay from one URL: :func:`smtp_config_from_url`);
* ``announcement``: public announcement when a party cannot be reached;
* ``memory``: records deliveries, with scripted outcomes, for tests.

Endpoint URLs pass the SSRF guard (:func:`check_endpoint_url`) at registration and again before each connection.
Errors form one tree under :class:`AdapterError` (see ``spotcheck.adapters._errors``).
"""

from spotcheck.adapters._announcements import Announcement, AnnouncementSink, InMemoryAnnouncementSink
from spotcheck.adapters._base import (
    MAX_EXCERPT_BYTES,
    Adapter,
    AdapterContext,
    DeliveryOutcome,
    DeliveryStatus,
    HttpTransportName,
    OutgoingMessage,
    UrlConfigurable,
)
from spotcheck.adapters._config import Secret
from spotcheck.adapters._errors import (
    AdapterConfigError,
    AdapterError,
    AdapterLoadError,
    AdapterNotFoundError,
    EndpointResolutionError,
    UnsafeEndpointError,
)
from spotcheck.adapters._http import DEFAULT_LIMITS, classify_http_status, make_http_client
from spotcheck.adapters._registry import ENTRY_POINT_GROUP, available_adapters, load_adapter
from spotcheck.adapters._ssrf import check_endpoint_url, check_endpoint_url_async
from spotcheck.adapters.announcement import AnnouncementAdapter, AnnouncementConfig
from spotcheck.adapters.memory import (
    MemoryAdapter,
    MemoryConfig,
    MemoryMailbox,
    ScriptedOutcome,
    memory_mailbox,
    reset_memory_mailboxes,
)
from spotcheck.adapters.open_platform import (
    OpenPlatformAdapter,
    OpenPlatformConfig,
    OpenPlatformResponseRules,
    top_signature,
)
from spotcheck.adapters.smtp import SmtpAdapter, SmtpConfig, build_email, smtp_config_from_url
from spotcheck.adapters.webhook import WebhookAdapter, WebhookConfig
from spotcheck.sdk import parse_retry_after  # the one Retry-After parser, re-exported where adapters look

__all__ = [
    "DEFAULT_LIMITS",
    "ENTRY_POINT_GROUP",
    "MAX_EXCERPT_BYTES",
    "Adapter",
    "AdapterConfigError",
    "AdapterContext",
    "AdapterError",
    "AdapterLoadError",
    "AdapterNotFoundError",
    "Announcement",
    "AnnouncementAdapter",
    "AnnouncementConfig",
    "AnnouncementSink",
    "DeliveryOutcome",
    "DeliveryStatus",
    "EndpointResolutionError",
    "HttpTransportName",
    "InMemoryAnnouncementSink",
    "MemoryAdapter",
    "MemoryConfig",
    "MemoryMailbox",
    "OpenPlatformAdapter",
    "OpenPlatformConfig",
    "OpenPlatformResponseRules",
    "OutgoingMessage",
    "ScriptedOutcome",
    "Secret",
    "SmtpAdapter",
    "SmtpConfig",
    "UnsafeEndpointError",
    "UrlConfigurable",
    "WebhookAdapter",
    "WebhookConfig",
    "available_adapters",
    "build_email",
    "check_endpoint_url",
    "check_endpoint_url_async",
    "classify_http_status",
    "load_adapter",
    "make_http_client",
    "memory_mailbox",
    "parse_retry_after",
    "reset_memory_mailboxes",
    "smtp_config_from_url",
    "top_signature",
]
