"""Which adapter and which keys serve a destination, and the sealing of adapter secrets at rest.

An adapter configuration may hold secrets (an open platform's app secret, an SMTP password). They are sealed
under the master key when a platform is registered and opened only here, when its route is built: the database
never holds them in clear and no other module handles them.

No adapter is known here by name: every one is found through the ``spotcheck.adapters`` entry points.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx
import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spotcheck.adapters import (
    DEFAULT_LIMITS,
    Adapter,
    AdapterContext,
    AdapterError,
    AdapterLoadError,
    AdapterNotFoundError,
    AnnouncementSink,
    UrlConfigurable,
    load_adapter,
    make_http_client,
)
from spotcheck.gateway.access import MasterKey
from spotcheck.gateway.delivery.queue import ClaimedMessage
from spotcheck.gateway.documents.store import document_reader
from spotcheck.gateway.settings import Settings, adapter_url_variable
from spotcheck.gateway.store.models import OutboundMessage, Platform, PlatformKey
from spotcheck.gateway.store.statuses import MessageStatus, RecipientKind
from spotcheck.gateway.store.types import utcnow

__all__ = [
    "ROUTE_TTL_S",
    "SEALED_KEY",
    "SECRET_FIELDS",
    "Held",
    "Routed",
    "Router",
    "open_adapter_config",
    "seal_adapter_config",
]

SEALED_KEY: Final = "__sealed__"
"""Key under which a stored adapter configuration keeps its sealed secret fields."""

_SEALED_JSON_KEY: Final = "__sealed_json__"  # names of sealed fields that were not strings (JSON-encoded)

SECRET_FIELDS: Final = frozenset({"secret", "app_secret", "session", "password", "signing_keys"})
"""Adapter configuration fields that are secrets wherever they appear."""

ROUTE_TTL_S: Final = 2.0
"""How long a platform's route is reused: a key rotation or a disabling by another worker is seen within this."""


def _context(owner: str, name: str) -> str:
    # Binds each ciphertext to its owner and field: a sealed value copied elsewhere does not open.
    return f"{owner}:{name}"


def seal_adapter_config(config: dict[str, Any], master_key: MasterKey, owner: str) -> dict[str, Any]:
    """The configuration to store: secret fields sealed under the master key, the rest as given."""
    sealed: dict[str, str] = {}
    encoded: list[str] = []
    plain: dict[str, Any] = {}
    for name, value in config.items():
        if name not in SECRET_FIELDS:
            plain[name] = value
            continue
        text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
        if not isinstance(value, str):
            encoded.append(name)
        sealed[name] = master_key.encrypt(text, context=_context(owner, name)).hex()
    if sealed:
        plain[SEALED_KEY] = sealed
    if encoded:
        plain[_SEALED_JSON_KEY] = sorted(encoded)
    return plain


def open_adapter_config(stored: dict[str, Any], master_key: MasterKey, owner: str) -> dict[str, Any]:
    """The configuration an adapter is built with: sealed fields opened (and decoded when they were not text)."""
    sealed = stored.get(SEALED_KEY)
    encoded = set(stored.get(_SEALED_JSON_KEY) or ())
    opened = {name: value for name, value in stored.items() if name not in {SEALED_KEY, _SEALED_JSON_KEY}}
    if isinstance(sealed, dict):
        for name, blob in sealed.items():
            value: Any = master_key.decrypt(bytes.fromhex(blob), context=_context(owner, name))
            opened[name] = msgspec.json.decode(value) if name in encoded else value
    return opened


def _pool_limits(concurrency: int) -> httpx.Limits:
    """The shared client's pool: at least one kept-alive connection per delivery in flight.

    With fewer, the deliveries beyond the kept-alive count would close their connection after each answer and
    open a new one (TCP and TLS handshakes) for the next.
    """
    return httpx.Limits(
        max_connections=max(DEFAULT_LIMITS.max_connections or 0, concurrency),
        max_keepalive_connections=max(DEFAULT_LIMITS.max_keepalive_connections or 0, concurrency),
        keepalive_expiry=DEFAULT_LIMITS.keepalive_expiry,
    )


@dataclass(frozen=True, slots=True)
class Routed:
    """The adapter instance, built with the destination's configuration and keys, that delivers the message."""

    adapter: Adapter


@dataclass(frozen=True, slots=True)
class Held:
    """No route now, for a reason an operator can fix (disabled endpoint, adapter not configured): wait, never drop."""

    reason: str


class Router:
    """Which adapter instance, with which configuration and keys, serves a claimed message's recipient.

    A platform is served by the adapter it registered, with its sealed configuration opened and its valid
    outbound keys; its route is reused for :data:`ROUTE_TTL_S`, so a key rotation or a disabling by another
    worker is seen within that time (and a ``410`` here drops it at once, :meth:`forget`). Any other party (a
    manufacturer, a merchant) is served by the adapter its message names, configured from the message's
    destination, through the adapter's URL setting when it takes one (:class:`~spotcheck.adapters.UrlConfigurable`).
    Adapters are found by name in the ``spotcheck.adapters`` entry points only, and built once per destination.
    """

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        master_key: MasterKey,
        settings: Settings,
        announcement_sink: AnnouncementSink,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._master_key = master_key
        self._settings = settings
        self._announcements = announcement_sink
        self._clock = clock
        self._transport = settings.delivery.http_transport
        self._http = make_http_client(
            transport=self._transport,
            allow_private=settings.delivery.allow_private_endpoints,
            limits=_pool_limits(settings.worker.concurrency),
        )
        self._adapters: dict[tuple[Any, ...], Adapter] = {}
        self._platform_routes: dict[str, tuple[float, Adapter]] = {}
        self._route_lookups: dict[str, asyncio.Future[Routed | Held]] = {}

    async def check_installed(self) -> None:
        """Load every adapter that registered platforms and undelivered messages name; fail loudly if one is missing.

        Raises:
            AdapterNotFoundError: an adapter is not installed ("not found: misspelled or not installed"), with
                what refers to it.
            AdapterLoadError: an adapter is installed but cannot be imported.
        """
        async with self._sessions() as session:
            platforms = (await session.execute(select(Platform.adapter, Platform.id).order_by(Platform.id))).all()
            undelivered = (
                await session.scalars(
                    select(OutboundMessage.adapter)
                    .where(OutboundMessage.status.in_([MessageStatus.PENDING, MessageStatus.DELIVERING]))
                    .distinct()
                )
            ).all()
        users: dict[str, list[str]] = {}
        for name, platform_id in platforms:
            users.setdefault(name, []).append(f"platform {platform_id}")
        for name in undelivered:
            users.setdefault(name, []).append("undelivered messages")
        for name in sorted(users):
            try:
                load_adapter(name)
            except (AdapterNotFoundError, AdapterLoadError) as exc:
                used_by = ", ".join(users[name])
                raise type(exc)(f"{exc}; it is used by {used_by}") from exc

    async def route(self, item: ClaimedMessage) -> Routed | Held:
        """The adapter for ``item``'s recipient, or why it must wait."""
        if item.recipient_kind == RecipientKind.PLATFORM:
            return await self._platform_route(item.recipient_id)
        return self._party_route(item.adapter, item.destination, item.recipient_id)

    def forget(self, platform_id: str) -> None:
        """Drop a platform's cached route at once (its endpoint was just disabled)."""
        self._platform_routes.pop(platform_id, None)
        self._route_lookups.pop(platform_id, None)  # the next delivery reads it afresh, not from a lookup under way

    async def aclose(self) -> None:
        """Close every adapter built, then the shared HTTP client."""
        for adapter in self._adapters.values():
            with contextlib.suppress(Exception):
                await adapter.aclose()
        self._adapters.clear()
        self._platform_routes.clear()
        await self._http.aclose()

    async def _platform_route(self, platform_id: str) -> Routed | Held:
        cached = self._platform_routes.get(platform_id)
        if cached is not None and cached[0] > self._clock():
            return Routed(cached[1])
        # One lookup per platform at a time, shared by every delivery that needs it meanwhile: when the route
        # expires (or at start) a whole batch to the platform would otherwise read the store at once.
        lookup = self._route_lookups.get(platform_id)
        if lookup is None:
            lookup = asyncio.ensure_future(self._look_up_platform_route(platform_id))
            self._route_lookups[platform_id] = lookup
            lookup.add_done_callback(lambda done: self._looked_up(platform_id, done))
        return await asyncio.shield(lookup)

    def _looked_up(self, platform_id: str, lookup: asyncio.Future[Routed | Held]) -> None:
        if self._route_lookups.get(platform_id) is lookup:
            del self._route_lookups[platform_id]
        if not lookup.cancelled():
            lookup.exception()  # retrieved here too: every waiter may have gone (each re-raises it otherwise)

    async def _look_up_platform_route(self, platform_id: str) -> Routed | Held:
        async with self._sessions() as session:
            platform = await session.get(Platform, platform_id)
            if platform is None:
                return Held(f"platform {platform_id} is not registered")
            if platform.disabled_at is not None:
                return Held(f"platform {platform.id} endpoint is disabled: {platform.disabled_reason}")
            keys = (
                await session.scalars(
                    select(PlatformKey)
                    .where(PlatformKey.platform_id == platform.id, PlatformKey.direction == "outbound")
                    .order_by(PlatformKey.created_at.desc())
                )
            ).all()
        now = utcnow()
        valid = [k for k in keys if k.valid_until is None or k.valid_until > now]
        cache_key = (RecipientKind.PLATFORM, platform.id, platform.adapter, tuple(k.id for k in valid))
        adapter = self._adapters.get(cache_key)
        if adapter is None:
            secrets = tuple(
                self._master_key.decrypt(k.secret_ciphertext, context=k.id) for k in valid if k.secret_ciphertext
            )
            config = open_adapter_config(platform.adapter_config, self._master_key, platform.id)
            built = self._build(cache_key, platform.adapter, config, signing_keys=secrets)
            if isinstance(built, Held):
                return built
            adapter = built.adapter
        self._platform_routes[platform.id] = (self._clock() + ROUTE_TTL_S, adapter)
        return Routed(adapter)

    def _party_route(self, name: str, destination: dict[str, Any], owner: str) -> Routed | Held:
        try:
            adapter_class = load_adapter(name)
        except AdapterError as exc:
            return Held(str(exc))
        url: str | None = None
        # An authority's webhook carries its signing secret sealed to that authority (registry channels).
        config = (
            open_adapter_config(destination, self._master_key, owner)
            if SEALED_KEY in destination
            else dict(destination)
        )
        if issubclass(adapter_class, UrlConfigurable):
            url = self._settings.delivery.adapter_urls.get(name)
            if url is None:
                return Held(f"{name} notices wait: {adapter_url_variable(name)} is not configured")
            try:
                config = adapter_class.config_from_url(url, destination)
            except ValueError as exc:
                return Held(f"adapter {name!r} cannot be built: {exc}")
        cache_key = ("party", name, url, msgspec.json.encode(destination, order="sorted"))
        adapter = self._adapters.get(cache_key)
        if adapter is not None:
            return Routed(adapter)
        return self._build(cache_key, name, config, signing_keys=())

    def _build(
        self, cache_key: tuple[Any, ...], name: str, config: dict[str, Any], *, signing_keys: tuple[str, ...]
    ) -> Routed | Held:
        context = AdapterContext(
            http_client=self._http,
            http_transport=self._transport,
            signing_keys=signing_keys,
            allow_private_targets=self._settings.delivery.allow_private_endpoints,
            announcement_sink=self._announcements,
            document_reader=document_reader(self._settings.store.data_dir),
        )
        try:
            adapter = load_adapter(name)(config, context=context)
        except AdapterError as exc:
            return Held(f"adapter {name!r} cannot be built: {exc}")
        self._adapters[cache_key] = adapter
        return Routed(adapter)
