"""What a platform keeps between two checks of a gateway's transparency log: one JSON file.

The file holds the gateway's verifier key (pinned the first time), the last checkpoint that verified (its signed
note too, as evidence), and the messages the platform sent or received that the log has yet to be proven to
hold::

    {"version": 1,
     "verifier_key": "gateway.example/log+1a2b3c4d+AV...",
     "checkpoint": {"origin": "gateway.example/log", "size": 1234, "root_hash": "<base64>", "note": "<signed note>"},
     "pending": [{"leaf_hash": "<64 hex>", "direction": "in", "webhook_id": "msg_...", "timestamp": "1763604000",
                  "added_at": 1763604001}]}

Each change re-reads the file, applies itself and replaces the file atomically under an exclusive lock (POSIX
``flock`` on ``<file>.lock``), so a webhook handler that registers a message while a check runs loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, Literal

import msgspec

from spotcheck.sdk._merkle import leaf_for_message, leaf_hash

if sys.platform != "win32":
    import fcntl

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["KeptCheckpoint", "PendingMessage", "WatchState", "update_watch_state"]

STATE_VERSION: Final = 1

_HexHash = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
_Base64Hash = Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9+/]{43}=$")]
_Size = Annotated[int, msgspec.Meta(ge=0)]


class PendingMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message this platform sent or received whose inclusion in the gateway's log is still to be proven.

    ``leaf_hash`` is the hex RFC 9162 hash of :func:`~spotcheck.sdk.leaf_for_message` of the message; the other
    fields say which message it is; ``added_at`` is when it was registered (Unix seconds).
    """

    leaf_hash: _HexHash
    direction: Literal["out", "in"]
    webhook_id: str
    timestamp: str
    added_at: int


class KeptCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """The last checkpoint that verified: its origin, size, base64 root hash and the signed note itself."""

    origin: str
    size: _Size
    root_hash: _Base64Hash
    note: str


class WatchState(msgspec.Struct, frozen=True, kw_only=True):
    """The pinned verifier key, the last verified checkpoint and the messages still to be proven (see the module)."""

    version: int = STATE_VERSION
    verifier_key: str | None = None
    checkpoint: KeptCheckpoint | None = None
    pending: tuple[PendingMessage, ...] = ()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WatchState:
        """The state kept at ``path``; an empty state when the file does not exist yet.

        Raises:
            ValueError: the file exists but is not a state file of this version (the message names the path).
        """
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            return cls()
        try:
            state = msgspec.json.decode(raw, type=cls)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValueError(f"{os.fspath(path)}: not a log watch state file ({exc})") from None
        if state.version != STATE_VERSION:
            raise ValueError(f"{os.fspath(path)}: state version {state.version}, expected {STATE_VERSION}")
        return state

    def save(self, path: str | os.PathLike[str]) -> None:
        """Replace the file at ``path`` with this state atomically: a crash leaves the old file or the new one."""
        target = Path(path)
        data = msgspec.json.format(msgspec.json.encode(self), indent=2) + b"\n"
        descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        temporary = Path(name)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def with_message(
        self,
        direction: Literal["out", "in"],
        webhook_id: str,
        timestamp: str | int,
        body: bytes,
        *,
        now: float | None = None,
    ) -> tuple[WatchState, PendingMessage]:
        """This state with one more message to prove, and that message; a message already pending is kept once.

        Raises:
            ValueError: as :func:`~spotcheck.sdk.leaf_for_message` does for an unusable direction, id or timestamp.
        """
        hashed = leaf_hash(leaf_for_message(direction, webhook_id, timestamp, body)).hex()
        for message in self.pending:
            if message.leaf_hash == hashed:
                return self, message
        message = PendingMessage(
            leaf_hash=hashed,
            direction=direction,
            webhook_id=webhook_id,
            timestamp=str(timestamp),
            added_at=int(time.time() if now is None else now),
        )
        return msgspec.structs.replace(self, pending=(*self.pending, message)), message


def update_watch_state(path: str | os.PathLike[str], change: Callable[[WatchState], WatchState]) -> WatchState:
    """Apply ``change`` to the state at ``path`` and save the result, holding the file's lock throughout.

    Raises:
        ValueError: the file is not a state file.
    """
    with _locked(Path(path)):
        state = change(WatchState.load(path))
        state.save(path)
        return state


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (a no-op on Windows, where ``fcntl`` does not exist)."""
    if sys.platform == "win32":
        yield
        return
    with Path(f"{path}.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
