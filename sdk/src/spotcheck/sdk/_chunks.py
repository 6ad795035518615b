"""Chunked, resumable uploads of transaction records and logs (``records.provided``).

A record set is cut into chunks; chunk *i* holds records ``[i*size, (i+1)*size)`` and logs
``[i*size, (i+1)*size)``, so the number of chunks is set by the longer of the two (at least one, possibly
empty, chunk). Every chunk carries ``set_sha256``, which depends on every chunk's digest, so the set is
read twice (each digest is :func:`spotcheck.schemas.chunk_digest`: SHA-256 of the RFC 8785 canonical JSON of
the chunk exactly as :func:`~spotcheck.schemas.encode_message` sends it, which any JCS library reproduces):

1. the first pass hashes each chunk and keeps only the 64-character digests;
2. the second pass reads the chunks again, checks each still hashes as in pass 1, and sends it.

A re-iterable source (a ``list``, a ``tuple``, any object whose ``iter()`` starts over) is simply iterated
twice, and memory holds one chunk at a time. A one-shot iterator (a generator, a database cursor: anything
with ``__next__``) cannot be read twice, so pass 1 writes each chunk as one JSON line to an anonymous
temporary file (deleted when the upload ends) and pass 2 reads it back: memory still holds one chunk, the
disk holds the set once.

:class:`UploadState` records the plan (upload id, digests) and which chunks the gateway accepted; it
serialises with msgspec, so a caller that persists it after each chunk can resume after a crash without
sending accepted chunks again.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Final, Self, TypeVar

import msgspec

from spotcheck.schemas import LogEntry, TransactionRecord, chunk_digest, set_digest
from spotcheck.sdk._errors import ChunkError
from spotcheck.sdk._signing import new_message_id

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

__all__ = ["MAX_CHUNK_COUNT", "MAX_CHUNK_SIZE", "RecordChunk", "RecordChunks", "UploadState", "new_upload_id"]

_T = TypeVar("_T")

MAX_CHUNK_SIZE: Final = 5_000
"""The most records (and logs) one chunk may hold: the contract caps ``records`` at 5,000 per chunk."""

MAX_CHUNK_COUNT: Final = 100_000
"""The most chunks one record set may have (the contract's bound on ``chunk_count``)."""


def new_upload_id() -> str:
    """Return a fresh ``upload_id``: ``upl_`` and a ULID, so ids sort by creation time."""
    return "upl_" + new_message_id().removeprefix("msg_")


class UploadState(msgspec.Struct, kw_only=True):
    """Progress of one chunked upload, to persist (``to_json``) and pass back to resume it.

    A new state holds only its identity; the first :meth:`~spotcheck.sdk.GatewayClient.provide_records` call
    fills in the plan (``chunk_count``, ``chunk_digests``, ``set_sha256``), and each chunk the gateway answers
    200 (accepted, already had, or duplicate) is added to ``accepted``. Resuming with a state whose plan
    does not match the records given raises :class:`~spotcheck.sdk.ChunkError` instead of mixing two sets.

    Attributes:
        upload_id: the id every chunk of the set carries.
        case_id: the case the records answer.
        in_reply_to: the ``records.request`` notice answered.
        chunk_size: records (and logs) per chunk.
        chunk_count: number of chunks, ``0`` until planned.
        chunk_digests: every chunk's ``chunk_sha256`` in order, empty until planned.
        set_sha256: the set digest, ``None`` until planned.
        accepted: indexes of the chunks the gateway has accepted.
    """

    upload_id: str
    case_id: str
    in_reply_to: str
    chunk_size: int
    chunk_count: int = 0
    chunk_digests: list[str] = msgspec.field(default_factory=list)
    set_sha256: str | None = None
    accepted: set[int] = msgspec.field(default_factory=set)

    @property
    def planned(self) -> bool:
        """Whether the digests of the set are known."""
        return self.set_sha256 is not None

    @property
    def complete(self) -> bool:
        """Whether every chunk of a planned set has been accepted."""
        return self.planned and len(self.accepted) == self.chunk_count

    def to_json(self) -> bytes:
        """Serialise as JSON (accepted indexes sorted), for :meth:`from_json`."""
        return msgspec.json.encode(self, order="deterministic")

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        """Read a state written by :meth:`to_json`.

        Raises:
            ChunkError: the data is not a valid upload state.
        """
        try:
            state = msgspec.json.decode(data, type=cls)
        except msgspec.DecodeError as exc:
            raise ChunkError(f"not a valid upload state: {exc}") from exc
        state.check_consistent()
        return state

    def check_consistent(self) -> None:
        """Check the plan adds up: digest count, set digest, accepted indexes in range.

        Raises:
            ChunkError: naming what is inconsistent.
        """
        if not 1 <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise ChunkError(f"chunk_size must be 1 to {MAX_CHUNK_SIZE}, got {self.chunk_size}")
        if self.set_sha256 is None:
            if self.chunk_digests or self.chunk_count or self.accepted:
                raise ChunkError("an unplanned upload state has no digests, count or accepted chunks")
            return
        if len(self.chunk_digests) != self.chunk_count:
            raise ChunkError(f"chunk_count is {self.chunk_count} but {len(self.chunk_digests)} digests are listed")
        try:
            expected = set_digest(self.chunk_digests)
        except ValueError as exc:
            raise ChunkError(str(exc)) from exc
        if expected != self.set_sha256:
            raise ChunkError("set_sha256 does not match the listed chunk digests")
        outside = sorted(i for i in self.accepted if not 0 <= i < self.chunk_count)
        if outside:
            raise ChunkError(f"accepted chunk index {outside[0]} is outside 0..{self.chunk_count - 1}")

    def adopt(self, chunk_digests: list[str]) -> None:
        """Take the plan computed from the records, or check it equals the plan already held.

        Raises:
            ChunkError: the state was planned for a different record set.
        """
        if not self.planned:
            self.chunk_digests = list(chunk_digests)
            self.chunk_count = len(chunk_digests)
            self.set_sha256 = set_digest(chunk_digests)
            return
        if len(chunk_digests) != self.chunk_count:
            raise ChunkError(
                f"upload {self.upload_id} was planned with {self.chunk_count} chunks, the records give "
                f"{len(chunk_digests)}"
            )
        for index, (held, computed) in enumerate(zip(self.chunk_digests, chunk_digests, strict=True)):
            if held != computed:
                raise ChunkError(f"upload {self.upload_id}: chunk {index} differs from the one planned")


class RecordChunk(msgspec.Struct, frozen=True, kw_only=True):
    """One chunk ready to send: its index, records, logs and digest."""

    index: int
    records: list[TransactionRecord]
    logs: list[LogEntry]
    sha256: str


class _Spooled(msgspec.Struct):
    """One chunk as spooled to the temporary file in pass 1."""

    records: list[TransactionRecord]
    logs: list[LogEntry]


_SPOOL_ENCODER: Final = msgspec.json.Encoder()
_SPOOL_DECODER: Final = msgspec.json.Decoder(_Spooled)


def _batches(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _chunk_pairs(
    records: Iterable[TransactionRecord], logs: Iterable[LogEntry], size: int
) -> Iterator[tuple[list[TransactionRecord], list[LogEntry]]]:
    """Yield ``(records, logs)`` of every chunk; an empty set still yields one empty chunk."""
    empty = True
    for record_batch, log_batch in itertools.zip_longest(_batches(records, size), _batches(logs, size)):
        empty = False
        yield record_batch or [], log_batch or []
    if empty:
        yield [], []


def _is_one_shot(source: Iterable[object]) -> bool:
    """An iterator (it has ``__next__``) would be spent after one pass; asked without starting a pass."""
    return isinstance(source, Iterator)


class RecordChunks:
    """The two passes over one record set; use as a context manager so a spool file is always removed.

    Args:
        records: the transaction records, re-iterable or one-shot (see the module docs).
        logs: the log entries, re-iterable or one-shot.
        chunk_size: records (and logs) per chunk, 1 to :data:`MAX_CHUNK_SIZE`.

    Raises:
        ValueError: ``chunk_size`` is out of range.
    """

    def __init__(self, records: Iterable[TransactionRecord], logs: Iterable[LogEntry], *, chunk_size: int) -> None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be an integer from 1 to {MAX_CHUNK_SIZE}")
        self._records = records
        self._logs = logs
        self._size = chunk_size
        self._spool: IO[bytes] | None = None
        self._digests: list[str] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the spool file, if pass 1 wrote one."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def digests(self) -> list[str]:
        """Run pass 1 (once) and return every chunk's digest in order.

        Raises:
            ChunkError: the set has more than :data:`MAX_CHUNK_COUNT` chunks.
        """
        if self._digests is not None:
            return self._digests
        spool = None
        if _is_one_shot(self._records) or _is_one_shot(self._logs):
            # Auto-deleted on close; never named on disk where the platform's records could linger.
            spool = tempfile.TemporaryFile(prefix="spotcheck-records-")  # noqa: SIM115 - closed by close()
            self._spool = spool
        digests: list[str] = []
        for records, logs in _chunk_pairs(self._records, self._logs, self._size):
            if len(digests) == MAX_CHUNK_COUNT:
                raise ChunkError(f"more than {MAX_CHUNK_COUNT} chunks: raise chunk_size (now {self._size})")
            digests.append(chunk_digest(records, logs))
            if spool is not None:
                spool.write(_SPOOL_ENCODER.encode(_Spooled(records, logs)))
                spool.write(b"\n")
        self._digests = digests
        return digests

    def chunks(self, *, skip: set[int] | frozenset[int] = frozenset()) -> Iterator[RecordChunk]:
        """Run pass 2: yield each chunk not in ``skip``, checked against its pass-1 digest.

        Raises:
            ChunkError: a chunk no longer hashes as in pass 1 (the source changed between passes).
        """
        digests = self.digests()
        for index, (records, logs) in enumerate(self._second_pass()):
            if index >= len(digests):
                raise ChunkError(f"the records now give more than the {len(digests)} chunks counted in pass 1")
            if index in skip:
                continue
            digest = chunk_digest(records, logs)
            if digest != digests[index]:
                raise ChunkError(f"chunk {index} changed between the two passes over the records")
            yield RecordChunk(index=index, records=records, logs=logs, sha256=digest)

    def _second_pass(self) -> Iterator[tuple[list[TransactionRecord], list[LogEntry]]]:
        if self._spool is None:
            yield from _chunk_pairs(self._records, self._logs, self._size)
            return
        self._spool.seek(0)
        for line in self._spool:
            spooled = _SPOOL_DECODER.decode(line)
            yield spooled.records, spooled.logs
