"""Watching a gateway's transparency log from the platform's side (``spotcheck-sdk log watch``).

The gateway serves, under its base URL:

``GET /public/log/key``         the verifier key string (``text/plain``)
``GET /public/log/checkpoint``  the signed checkpoint note (``text/plain``)
``GET /public/log/proof?leaf_hash=<64 hex>&tree_size=N``
                                ``{"leaf_index": i, "tree_size": N, "leaf_hash": "<64 hex>", "inclusion": [h, ...]}``,
                                or 404 when the first N leaves do not hold that leaf
``GET /public/log/consistency?first=M&second=N``
                                ``{"first": M, "second": N, "proof": [h, ...]}``

where each ``h`` is a 32-byte hash in standard base64, in RFC 9162 order (see ``spotcheck.sdk._merkle``).

One check (:meth:`LogWatcher.check`) pins the key on first use, verifies the checkpoint's signature with the pinned
key, proves it consistent with the checkpoint kept from the last check, and asks for an inclusion proof of every
message still pending. A log that signs a smaller tree than before (rollback) or a tree that does not extend the
kept one (fork) raises :class:`~spotcheck.sdk.LogInconsistencyError`; a note or proof that does not verify raises
:class:`~spotcheck.sdk.LogVerificationError`; a gateway that does not answer raises
:class:`~spotcheck.sdk.ConnectionFailed`, one that answers with an unexpected status :class:`~spotcheck.sdk.APIError`.
Messages the log does not prove to hold come back in :attr:`WatchReport.missing`.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING, Final, Self

import httpx
import msgspec

from spotcheck.sdk._errors import APIError, ConnectionFailed, LogInconsistencyError, LogVerificationError
from spotcheck.sdk._logstate import KeptCheckpoint, PendingMessage, WatchState
from spotcheck.sdk._merkle import HASH_SIZE, verify_consistency, verify_inclusion
from spotcheck.sdk._note import LogCheckpoint, parse_verifier_key, verify_log_checkpoint

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["LogWatcher", "MissingMessage", "WatchReport"]

KEY_PATH: Final = "/public/log/key"
CHECKPOINT_PATH: Final = "/public/log/checkpoint"
PROOF_PATH: Final = "/public/log/proof"
CONSISTENCY_PATH: Final = "/public/log/consistency"
# A checkpoint note is a few hundred bytes and a proof at most 65 hashes; anything far larger is not an answer.
_MAX_ANSWER_BYTES: Final = 1 << 20
_HTTP_OK: Final = 200
_HTTP_NOT_FOUND: Final = 404


class MissingMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A pending message the log did not prove to hold, and why in words safe to log."""

    message: PendingMessage
    reason: str


class WatchReport(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one check that found the log consistent with what we kept.

    Attributes:
        checkpoint: the checkpoint that verified.
        note: its signed note, as served.
        verifier_key: the key it verified with.
        key_pinned: whether this check pinned the key (first use: trusted because it was the first seen).
        kept_size: the size of the checkpoint it was proven consistent with; None on the first check.
        proven: pending messages now proven included (no longer pending once the report is applied).
        waiting: pending messages not included yet but registered less than the grace period ago.
        missing: pending messages the log did not prove to hold.
    """

    checkpoint: LogCheckpoint
    note: str
    verifier_key: str
    key_pinned: bool
    kept_size: int | None
    proven: tuple[PendingMessage, ...] = ()
    waiting: tuple[PendingMessage, ...] = ()
    missing: tuple[MissingMessage, ...] = ()

    def apply(self, state: WatchState) -> WatchState:
        """``state`` after this check: the key pinned, the checkpoint kept and the proven messages dropped.

        Messages registered while the check ran stay pending; a larger checkpoint kept meanwhile is not replaced.
        """
        proven = {message.leaf_hash for message in self.proven}
        kept = state.checkpoint
        if kept is None or kept.size <= self.checkpoint.size:
            kept = KeptCheckpoint(
                origin=self.checkpoint.origin,
                size=self.checkpoint.size,
                root_hash=_b64encode(self.checkpoint.root_hash),
                note=self.note,
            )
        return msgspec.structs.replace(
            state,
            verifier_key=state.verifier_key or self.verifier_key,
            checkpoint=kept,
            pending=tuple(message for message in state.pending if message.leaf_hash not in proven),
        )


class _InclusionAnswer(msgspec.Struct, frozen=True):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    inclusion: list[str]


class _ConsistencyAnswer(msgspec.Struct, frozen=True):
    first: int
    second: int
    proof: list[str]


class LogWatcher:
    """Checks one gateway's transparency log against the state a platform kept (see the module documentation).

    Args:
        base_url: the gateway's base URL (``https://gateway.example``); the ``/public/log/...`` paths follow it.
        client: an ``httpx.Client`` to send requests with (tests pass one with a mock transport); by default the
            watcher opens its own and closes it in :meth:`close`.
        timeout: seconds to wait for each answer when the watcher opens its own client.
    """

    def __init__(self, base_url: str, *, client: httpx.Client | None = None, timeout: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self._client = httpx.Client(timeout=timeout) if client is None else client

    def close(self) -> None:
        """Close the HTTP client if the watcher opened it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def check(self, state: WatchState, *, grace: float = 0.0, now: float | None = None) -> WatchReport:
        """Verify the gateway's current checkpoint against ``state`` and prove each pending message included.

        Args:
            state: what the platform kept; it is not changed (apply the report to get the next state).
            grace: seconds after registration during which a message the log does not hold yet is waiting
                rather than missing (checkpoints are signed periodically, so a new message needs time).
            now: the current Unix time, for tests.

        Raises:
            LogInconsistencyError: the log forked or rolled back.
            LogVerificationError: the key, the checkpoint or the consistency proof is malformed or does not
                verify, or the checkpoint names another log.
            ConnectionFailed: the gateway did not answer.
            APIError: the gateway answered with an unexpected status.
        """
        verifier_key, key_pinned = self._verifier_key(state)
        kept = state.checkpoint
        note = self._fetch(CHECKPOINT_PATH)
        checkpoint = verify_log_checkpoint(note, verifier_key, origin=None if kept is None else kept.origin)
        note_text = note.decode("utf-8")  # valid UTF-8: the note verified
        if kept is not None:
            self._prove_consistent(kept, checkpoint, note_text)
        moment = time.time() if now is None else now
        proven: list[PendingMessage] = []
        waiting: list[PendingMessage] = []
        missing: list[MissingMessage] = []
        for message in state.pending:
            failure = self._inclusion_failure(message, checkpoint)
            if failure is None:
                proven.append(message)
            elif moment - message.added_at < grace:
                waiting.append(message)
            else:
                missing.append(MissingMessage(message=message, reason=failure))
        return WatchReport(
            checkpoint=checkpoint,
            note=note_text,
            verifier_key=verifier_key,
            key_pinned=key_pinned,
            kept_size=None if kept is None else kept.size,
            proven=tuple(proven),
            waiting=tuple(waiting),
            missing=tuple(missing),
        )

    def _verifier_key(self, state: WatchState) -> tuple[str, bool]:
        """The pinned key, or the key the gateway serves now (to be pinned: trust on first use)."""
        if state.verifier_key is not None:
            return state.verifier_key, False
        try:
            served = self._fetch(KEY_PATH).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise LogVerificationError("the gateway's verifier key is not text") from None
        parse_verifier_key(served)
        return served, True

    def _prove_consistent(self, kept: KeptCheckpoint, served: LogCheckpoint, served_note: str) -> None:
        kept_root = base64.b64decode(kept.root_hash)
        served_root = _b64encode(served.root_hash)
        if served.size < kept.size:
            raise LogInconsistencyError(
                f"rollback: the log now signs a tree of {served.size} leaves, "
                f"but it signed {kept.size} leaves (root {kept.root_hash}) before",
                kind="rollback",
                kept_size=kept.size,
                served_size=served.size,
                served_note=served_note,
            )
        if served.size == kept.size:
            if served.root_hash != kept_root:
                raise LogInconsistencyError(
                    f"fork: the log signed two different trees of {served.size} leaves: "
                    f"root {kept.root_hash} (kept) and root {served_root} (now)",
                    kind="fork",
                    kept_size=kept.size,
                    served_size=served.size,
                    served_note=served_note,
                )
            return
        proof: list[bytes] = []
        if kept.size > 0:
            status, body = self._get(CONSISTENCY_PATH, {"first": kept.size, "second": served.size})
            _expect(status, CONSISTENCY_PATH)
            try:
                answer = msgspec.json.decode(body, type=_ConsistencyAnswer)
            except msgspec.DecodeError:
                raise LogVerificationError("the gateway's consistency proof is not the expected JSON") from None
            decoded = _decode_hashes(answer.proof)
            if (answer.first, answer.second) != (kept.size, served.size) or decoded is None:
                raise LogVerificationError("the gateway's consistency proof is for other sizes or malformed")
            proof = decoded
        if not verify_consistency(kept.size, served.size, kept_root, served.root_hash, proof):
            raise LogInconsistencyError(
                f"fork: the tree of {served.size} leaves (root {served_root}) does not extend the tree of "
                f"{kept.size} leaves (root {kept.root_hash}) the log signed before: its consistency proof fails",
                kind="fork",
                kept_size=kept.size,
                served_size=served.size,
                served_note=served_note,
            )

    def _inclusion_failure(self, message: PendingMessage, checkpoint: LogCheckpoint) -> str | None:
        """None when the log proves it holds ``message`` at ``checkpoint``; otherwise why not."""
        size = checkpoint.size
        if size == 0:
            return "the log is empty"
        status, body = self._get(PROOF_PATH, {"leaf_hash": message.leaf_hash, "tree_size": size})
        if status == _HTTP_NOT_FOUND:
            return f"the log has no such leaf among its {size} leaves"
        _expect(status, PROOF_PATH)
        try:
            answer = msgspec.json.decode(body, type=_InclusionAnswer)
        except msgspec.DecodeError:
            return "the gateway's inclusion proof is not the expected JSON"
        proof = _decode_hashes(answer.inclusion)
        if answer.tree_size != size or answer.leaf_hash != message.leaf_hash or proof is None:
            return "the gateway's inclusion proof is for another leaf or tree size, or malformed"
        if not verify_inclusion(bytes.fromhex(message.leaf_hash), answer.leaf_index, size, proof, checkpoint.root_hash):
            return f"the inclusion proof at index {answer.leaf_index} does not verify against the checkpoint"
        return None

    def _fetch(self, path: str) -> bytes:
        status, body = self._get(path)
        _expect(status, path)
        return body

    def _get(self, path: str, params: dict[str, str | int] | None = None) -> tuple[int, bytes]:
        """The status and body of ``GET path``; the body is read only up to a bound, so a hostile answer is cut."""
        try:
            with self._client.stream("GET", self._base_url + path, params=params) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > _MAX_ANSWER_BYTES:
                        raise LogVerificationError(f"GET {path}: the answer exceeds {_MAX_ANSWER_BYTES} bytes")
                return response.status_code, bytes(body)
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"GET {path}: no answer from the gateway ({type(exc).__name__})") from exc


def _expect(status: int, path: str) -> None:
    if status != _HTTP_OK:
        raise APIError(f"GET {path}: the gateway answered {status}", http_status=status)


def _decode_hashes(values: list[str]) -> list[bytes] | None:
    """Each value as 32 bytes of standard base64, or None when one is not."""
    hashes: list[bytes] = []
    for value in values:
        try:
            raw = binascii.a2b_base64(value, strict_mode=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != HASH_SIZE:
            return None
        hashes.append(raw)
    return hashes


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
