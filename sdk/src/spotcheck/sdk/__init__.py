"""spotcheck.sdk: what a marketplace platform embeds to exchange signed messages with a Spotcheck gateway.

The public names live here; the modules behind them are private. Errors form one tree under
:class:`SpotcheckError` (see ``spotcheck.sdk._errors``); signing follows Standard Webhooks (:class:`Webhook`).
"""

import importlib as _importlib
import importlib.metadata as _metadata
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
    LogInconsistencyError,
    LogVerificationError,
    RateLimitError,
    ServerError,
    SpotcheckError,
    VerificationError,
)
from spotcheck.sdk._logstate import KeptCheckpoint, PendingMessage, WatchState, update_watch_state
from spotcheck.sdk._matcher import (
    ListingMatch,
    ListingMatcher,
    ListingRecord,
    MatchRule,
    normalise_brand,
    normalise_model,
)
from spotcheck.sdk._merkle import (
    consistency_proof,
    consistency_proof_ranges,
    inclusion_proof,
    inclusion_proof_ranges,
    leaf_for_message,
    leaf_hash,
    node_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from spotcheck.sdk._mount import ReceiverResponse
from spotcheck.sdk._note import (
    LogCheckpoint,
    NoteVerifierKey,
    format_log_checkpoint,
    format_verifier_key,
    open_note,
    parse_log_checkpoint,
    parse_verifier_key,
    sign_note,
    verify_log_checkpoint,
)
from spotcheck.sdk._receiver import Delivery, Receiver
from spotcheck.sdk._retry_after import parse_retry_after
from spotcheck.sdk._signing import Webhook, generate_keypair, generate_secret, new_message_id, public_key_of

try:
    __version__ = _metadata.version("spotcheck-sdk")
    """The installed distribution's version: one source, ``sdk/pyproject.toml``."""
except _metadata.PackageNotFoundError:  # pragma: no cover - imported from a source tree that was never installed
    __version__ = "0+unknown"

if _typing.TYPE_CHECKING:
    from spotcheck.sdk._answers import ReplyReceipt, UploadReceipt
    from spotcheck.sdk._client import AsyncGatewayClient, GatewayClient
    from spotcheck.sdk._documents import document_request_headers, fetch_document, fetch_document_async
    from spotcheck.sdk._draw_checks import DrawCheck, DrawProblem, fetch_draws, parse_draws, verify_draw, verify_draws
    from spotcheck.sdk._draws import (
        DrawRecord,
        FrozenCandidates,
        InspectorDraw,
        candidates_digest,
        commit_draw,
        commitment_for,
        draw_seed,
        freeze_candidates,
        reveal_draw,
        select,
        select_inspectors,
    )
    from spotcheck.sdk._logwatch import LogWatcher, MissingMessage, WatchReport

# The reply client pulls in httpx and tenacity; a platform that only receives notices should not import them.
_LAZY: _typing.Final = {
    "AsyncGatewayClient": "spotcheck.sdk._client",
    "GatewayClient": "spotcheck.sdk._client",
    "ReplyReceipt": "spotcheck.sdk._answers",
    "UploadReceipt": "spotcheck.sdk._answers",
    # Fetching a notice's documents (文书) with a signed request, next to the reply client.
    "document_request_headers": "spotcheck.sdk._documents",
    "fetch_document": "spotcheck.sdk._documents",
    "fetch_document_async": "spotcheck.sdk._documents",
    # Checking a bureau's random draws is occasional work: its modules load on first use.
    "DrawCheck": "spotcheck.sdk._draw_checks",
    "DrawProblem": "spotcheck.sdk._draw_checks",
    "fetch_draws": "spotcheck.sdk._draw_checks",
    "parse_draws": "spotcheck.sdk._draw_checks",
    "verify_draw": "spotcheck.sdk._draw_checks",
    "verify_draws": "spotcheck.sdk._draw_checks",
    "DrawRecord": "spotcheck.sdk._draws",
    "InspectorDraw": "spotcheck.sdk._draws",
    "candidates_digest": "spotcheck.sdk._draws",
    "FrozenCandidates": "spotcheck.sdk._draws",
    "freeze_candidates": "spotcheck.sdk._draws",
    "commit_draw": "spotcheck.sdk._draws",
    "commitment_for": "spotcheck.sdk._draws",
    "draw_seed": "spotcheck.sdk._draws",
    "reveal_draw": "spotcheck.sdk._draws",
    "select": "spotcheck.sdk._draws",
    "select_inspectors": "spotcheck.sdk._draws",
    "LogWatcher": "spotcheck.sdk._logwatch",
    "MissingMessage": "spotcheck.sdk._logwatch",
    "WatchReport": "spotcheck.sdk._logwatch",
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
    "DrawCheck",
    "DrawProblem",
    "DrawRecord",
    "FrozenCandidates",
    "GatewayClient",
    "InspectorDraw",
    "InvalidRequestError",
    "KeptCheckpoint",
    "ListingMatch",
    "ListingMatcher",
    "ListingRecord",
    "LogCheckpoint",
    "LogInconsistencyError",
    "LogVerificationError",
    "LogWatcher",
    "MatchRule",
    "MemoryDedupeStore",
    "MissingMessage",
    "NoteVerifierKey",
    "PendingMessage",
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
    "WatchReport",
    "WatchState",
    "Webhook",
    "candidates_digest",
    "canonical_checkpoint",
    "commit_draw",
    "commitment_for",
    "consistency_proof",
    "consistency_proof_ranges",
    "document_request_headers",
    "draw_seed",
    "fetch_document",
    "fetch_document_async",
    "fetch_draws",
    "format_log_checkpoint",
    "format_verifier_key",
    "freeze_candidates",
    "generate_keypair",
    "generate_secret",
    "inclusion_proof",
    "inclusion_proof_ranges",
    "leaf_for_message",
    "leaf_hash",
    "new_message_id",
    "node_hash",
    "normalise_brand",
    "normalise_model",
    "open_note",
    "parse_draws",
    "parse_log_checkpoint",
    "parse_retry_after",
    "parse_verifier_key",
    "public_key_of",
    "reveal_draw",
    "root_from_leaves",
    "select",
    "select_inspectors",
    "sign_note",
    "update_watch_state",
    "verify_checkpoint",
    "verify_consistency",
    "verify_draw",
    "verify_draws",
    "verify_inclusion",
    "verify_log_checkpoint",
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
