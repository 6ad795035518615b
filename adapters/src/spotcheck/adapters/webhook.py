"""The default adapter: a Standard Webhooks push (signed JSON POST) to the destination's registered URL."""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING, Any, ClassVar, Final

import msgspec

from spotcheck.adapters._base import MAX_EXCERPT_BYTES, AdapterContext, DeliveryOutcome, OutgoingMessage
from spotcheck.adapters._config import InvalidField, Secret, check_http_url, parse_config
from spotcheck.adapters._errors import AdapterConfigError
from spotcheck.adapters._http import ClientHolder, elapsed_ms, outcome_for_exception, post_bounded
from spotcheck.sdk import Webhook

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["WebhookAdapter", "WebhookConfig"]

MAX_TIMEOUT_S: Final = 300.0
# Headers the adapter owns: the signature covers id, timestamp and body, and the transport owns framing.
_RESERVED_HEADERS: Final = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "host",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
    }
)
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name
_FIELD_VALUE: Final = re.compile(r"[\x20-\x7e\t]*")  # printable ASCII: no CR/LF injection, no encoding doubts


class WebhookConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Configuration of one webhook destination.

    Attributes:
        url: the endpoint the platform registered (checked again by the SSRF guard before each attempt).
        secret: one signing key (``whsec_…`` or ``whsk_…``), if the configuration carries the key.
        signing_keys: several signing keys during rotation; every one signs. Give ``secret`` or this, or
            neither when the gateway passes :attr:`AdapterContext.signing_keys`.
        timeout_s: the whole attempt's budget in seconds (connect, send, first bytes of the answer).
        headers: extra request headers, e.g. a platform's routing header. Signature, framing and
            ``content-type`` headers cannot be overridden.
    """

    url: str
    secret: Secret | None = None
    signing_keys: list[Secret] | None = None
    timeout_s: float = 10.0
    headers: dict[str, str] = {}

    def __post_init__(self) -> None:
        check_http_url(self.url)
        if self.secret is not None and self.signing_keys is not None:
            raise InvalidField("signing_keys", "give either `secret` or `signing_keys`, not both")
        if self.signing_keys is not None and not self.signing_keys:
            raise InvalidField("signing_keys", "must list at least one key")
        if not (math.isfinite(self.timeout_s) and 0 < self.timeout_s <= MAX_TIMEOUT_S):
            raise InvalidField("timeout_s", f"must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds")
        for name, value in self.headers.items():
            if not _TOKEN.fullmatch(name):
                raise InvalidField("headers", f"{name!r} is not a valid header name")
            if name.lower() in _RESERVED_HEADERS:
                raise InvalidField("headers", f"{name!r} is set by the adapter and cannot be overridden")
            if not _FIELD_VALUE.fullmatch(value):
                raise InvalidField("headers", f"the value of {name!r} must be printable ASCII on one line")

    def configured_keys(self) -> tuple[str, ...]:
        """The signing keys the configuration carries (revealed), empty when it carries none."""
        if self.secret is not None:
            return (self.secret.reveal(),)
        return tuple(key.reveal() for key in self.signing_keys or ())


def _signer(keys: Sequence[str], field: str) -> Webhook:
    try:
        webhook = Webhook(list(keys))
    except (ValueError, TypeError) as exc:
        # The SDK names a bad key by its position and never repeats it.
        raise AdapterConfigError(WebhookAdapter.name, field, f"not a usable signing key: {exc}") from None
    if not webhook.can_sign:
        raise AdapterConfigError(WebhookAdapter.name, field, "whpk_ keys only verify: give a whsec_ or whsk_ key")
    return webhook


class WebhookAdapter:
    """Delivers a message as a Standard Webhooks POST and classifies the answer.

    The body is sent byte for byte with ``content-type: application/json`` and the ``webhook-id`` (the message
    id, stable across attempts), ``webhook-timestamp`` (this attempt's time) and ``webhook-signature`` headers.
    Redirects are never followed. See :func:`spotcheck.adapters.classify_http_status` for the status table;
    timeouts, refused or reset connections, DNS failures and unparseable answers are ``retry``; an endpoint that
    the SSRF guard now refuses is ``gone``; a message id the signature scheme cannot carry is ``rejected``.
    """

    name: ClassVar[str] = "webhook"

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> WebhookConfig:
        """Parse and check ``config``, including that its keys can sign.

        Raises:
            AdapterConfigError: names the field and the reason.
        """
        parsed = parse_config(cls.name, config, WebhookConfig)
        if parsed.configured_keys():
            _signer(parsed.configured_keys(), "secret" if parsed.secret is not None else "signing_keys")
        return parsed

    def __init__(self, config: Mapping[str, Any], *, context: AdapterContext) -> None:
        self._config = self.validate_config(config)
        self._context = context
        configured = self._config.configured_keys()
        if configured and context.signing_keys:
            raise AdapterConfigError(
                self.name, "secret", "signing keys come both from the configuration and from the gateway; keep one"
            )
        if not configured and not context.signing_keys:
            reason = "no signing key: set `secret` or `signing_keys`, or pass AdapterContext.signing_keys"
            raise AdapterConfigError(self.name, "secret", reason)
        self._webhook = _signer(
            configured or context.signing_keys, "secret" if configured else "AdapterContext.signing_keys"
        )
        self._headers = {**self._config.headers, "content-type": "application/json"}
        self._http = ClientHolder(context)

    @property
    def config(self) -> WebhookConfig:
        """The validated configuration (secrets stay hidden in its ``repr``)."""
        return self._config

    async def deliver(self, message: OutgoingMessage) -> DeliveryOutcome:
        """POST the signed message once and classify the result; never raises for a failed delivery."""
        started = time.perf_counter()
        try:
            signed = self._webhook.headers(message.message_id, message.body, timestamp=int(self._context.clock()))
        except (ValueError, TypeError) as exc:
            return DeliveryOutcome(
                status="rejected", latency_ms=elapsed_ms(started), error=f"cannot sign the message: {exc}"
            )
        timeout_s = self._config.timeout_s
        try:
            await self._http.check(self._config.url)
            answer = await post_bounded(
                self._http.get(),
                self._config.url,
                content=message.body,
                headers={**self._headers, **signed},
                timeout_s=timeout_s,
                max_body=MAX_EXCERPT_BYTES,
            )
        except Exception as exc:  # noqa: BLE001 - by contract every failure to deliver becomes an outcome
            return outcome_for_exception(exc, latency_ms=elapsed_ms(started), timeout_s=timeout_s)
        return answer.outcome(latency_ms=elapsed_ms(started), now=self._context.clock())

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter built it."""
        await self._http.aclose()
