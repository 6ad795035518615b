"""spotcheck.sdk: what a marketplace platform embeds to exchange signed messages with a Spotcheck gateway.

The public names live here; the modules behind them are private. Errors form one tree under
:class:`SpotcheckError` (see ``spotcheck.sdk._errors``); signing follows Standard Webhooks (:class:`Webhook`).
"""

import importlib as _importlib
import typing as _typing

from spotcheck.sdk._checkpoints import canonical_checkpoint, verify_checkpoint
from spotcheck.sdk._chunks import UploadState
from spotcheck.sdk._dedupe import DedupeStore, MemoryDedupeStore, SqliteDedupeStore
from spotcheck.sdk._errors import (
    APIError,
    AuthenticationError,
    ChunkError,
    ConnectionFailed,
    DecodeError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    SpotcheckError,
    VerificationError,
)
from spotcheck.sdk._matcher import (
    ListingMatch,
    ListingMatcher,
    ListingRecord,
    MatchRule,
    normalise_brand,
    normalise_model,
)
from spotcheck.sdk._mount import ReceiverResponse
from spotcheck.sdk._receiver import Delivery, Receiver
from spotcheck.sdk._signing import Webhook, generate_keypair, generate_secret, new_message_id, public_key_of

if _typing.TYPE_CHECKING:
    from spotcheck.sdk._client import AsyncGatewayClient, GatewayClient, ReplyReceipt, UploadReceipt

# The reply client pulls in httpx and tenacity; a platform that only receives notices should not import them.
_LAZY: _typing.Final = {
    "AsyncGatewayClient": "spotcheck.sdk._client",
    "GatewayClient": "spotcheck.sdk._client",
    "ReplyReceipt": "spotcheck.sdk._client",
    "UploadReceipt": "spotcheck.sdk._client",
}

__all__ = [
    "APIError",
    "AsyncGatewayClient",
    "AuthenticationError",
    "ChunkError",
    "ConnectionFailed",
    "DecodeError",
    "DedupeStore",
    "Delivery",
    "GatewayClient",
    "InvalidRequestError",
    "ListingMatch",
    "ListingMatcher",
    "ListingRecord",
    "MatchRule",
    "MemoryDedupeStore",
    "RateLimitError",
    "Receiver",
    "ReceiverResponse",
    "ReplyReceipt",
    "ServerError",
    "SpotcheckError",
    "SqliteDedupeStore",
    "UploadReceipt",
    "UploadState",
    "VerificationError",
    "Webhook",
    "canonical_checkpoint",
    "generate_keypair",
    "generate_secret",
    "new_message_id",
    "normalise_brand",
    "normalise_model",
    "public_key_of",
    "verify_checkpoint",
]


def __getattr__(name: str) -> _typing.Any:
    """Import a lazily exported name on first use and keep it, so later lookups are plain attribute reads."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
