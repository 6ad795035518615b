"""Building reply messages: pure functions, no I/O, shared by both gateway clients.

A message's bounds and patterns are checked when it is encoded (``encode_message`` raises a
:class:`~spotcheck.schemas.ContractError`); its rules across fields (``none_found`` with ids, an order listed
twice, an identity without ``uscc`` or ``id_type``) run while it is built. :func:`checked` makes the second kind
fail like the first, so a caller sees one error naming ``$.data.<field>`` whatever rule broke.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeVar

from spotcheck.schemas import ContractError, RecordsProvided, RecordsProvidedData
from spotcheck.sdk._chunks import UploadState, new_upload_id

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from spotcheck.sdk._chunks import RecordChunk

__all__ = ["DEFAULT_CHUNK_SIZE", "checked", "chunk_message", "upload_state"]

DEFAULT_CHUNK_SIZE: Final = 1_000

_T = TypeVar("_T")


def checked(build: Callable[[], _T]) -> _T:
    """Return ``build()``, raising a rule it breaks as the :class:`ContractError` encoding would raise.

    Raises:
        ContractError: a ``__post_init__`` rule of the message's ``data`` failed; ``path`` is ``$.data.<field>``.
    """
    try:
        return build()
    except ContractError:
        raise
    except ValueError as error:
        # The schemas' rules raise FieldValueError (private to spotcheck.schemas): a ValueError that carries the
        # failing member in ``field`` and the text in ``reason``. Any other ValueError is not a rule: let it be.
        field, reason = getattr(error, "field", None), getattr(error, "reason", None)
        if not isinstance(field, str) or not isinstance(reason, str):
            raise
        raise ContractError(reason, f"$.data.{field}") from error


def upload_state(
    case_id: str,
    in_reply_to: str,
    chunk_size: int | None,
    upload_id: str | None,
    state: UploadState | None,
) -> UploadState:
    """Return the state to upload with: ``state`` checked against the call, or a new one.

    Raises:
        ValueError: ``state`` was made for another case, notice, upload or chunk size.
    """
    if state is None:
        return UploadState(
            upload_id=upload_id or new_upload_id(),
            case_id=case_id,
            in_reply_to=in_reply_to,
            chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
        )
    state.check_consistent()
    mismatches = [
        name
        for name, given, held in (
            ("upload_id", upload_id, state.upload_id),
            ("case_id", case_id, state.case_id),
            ("in_reply_to", in_reply_to, state.in_reply_to),
            ("chunk_size", chunk_size, state.chunk_size),
        )
        if given is not None and given != held
    ]
    if mismatches:
        raise ValueError(f"the upload state was made for another {', '.join(mismatches)}")
    return state


def chunk_message(platform_id: str, now: datetime, state: UploadState, chunk: RecordChunk) -> RecordsProvided:
    """The ``records.provided`` message of one chunk of a planned upload."""
    assert state.set_sha256 is not None  # noqa: S101 - planned before any chunk is built
    data = RecordsProvidedData(
        case_id=state.case_id,
        in_reply_to=state.in_reply_to,
        platform_id=platform_id,
        upload_id=state.upload_id,
        chunk_index=chunk.index,
        chunk_count=state.chunk_count,
        chunk_sha256=chunk.sha256,
        set_sha256=state.set_sha256,
        records=chunk.records,
        logs=chunk.logs,
    )
    return RecordsProvided(timestamp=now, data=data)
