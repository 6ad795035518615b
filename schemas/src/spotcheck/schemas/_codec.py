"""Decode and encode message bodies; every decode failure is one :class:`ContractError` naming the field."""

from __future__ import annotations

import re
import types
import typing
from typing import TYPE_CHECKING, Any, Final, TypeVar

import msgspec

from spotcheck.schemas._digest import canonical_digest
from spotcheck.schemas._errors import ContractError, FieldValueError
from spotcheck.schemas._messages import Message, Notice, RecordsProvided, Reply

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MESSAGE_TYPES",
    "NOTICE_TYPES",
    "REPLY_TYPES",
    "decode_message",
    "decode_notice",
    "decode_reply",
    "encode_message",
    "message_type_of",
]

_T = TypeVar("_T")

# msgspec formats a ValidationError as "<reason> - at `<path>`"; a failure at the root carries no path.
_AT_PATH: Final = re.compile(r"^(?P<reason>.*) - at `(?P<path>\$[^`]*)`$", re.DOTALL)
_MISSING_FIELD: Final = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")


def _types_of(union: Any) -> Mapping[str, type[Any]]:
    """Map each member of a tagged union to its ``type`` tag, read-only, in declaration order."""
    members: tuple[type[Any], ...] = typing.get_args(union)
    return types.MappingProxyType({str(member.__struct_config__.tag): member for member in members})


MESSAGE_TYPES: Final[Mapping[str, type[Message]]] = _types_of(Message)
"""Every message class by its ``type`` string, notices first."""

NOTICE_TYPES: Final[Mapping[str, type[Notice]]] = _types_of(Notice)
"""The classes the gateway sends, by ``type`` string."""

REPLY_TYPES: Final[Mapping[str, type[Reply]]] = _types_of(Reply)
"""The classes platforms send, by ``type`` string."""

_MESSAGE_DECODER: Final[msgspec.json.Decoder[Message]] = msgspec.json.Decoder(Message)
_NOTICE_DECODER: Final[msgspec.json.Decoder[Notice]] = msgspec.json.Decoder(Notice)
_REPLY_DECODER: Final[msgspec.json.Decoder[Reply]] = msgspec.json.Decoder(Reply)
_ENCODER: Final = msgspec.json.Encoder()


class _ChunkContent(msgspec.Struct):
    """The records and logs of a ``records.provided`` body as the sender wrote them, for hashing.

    Untyped on purpose: the digest covers the JSON sent, so no omitted field is added as ``null``, no timestamp
    is re-formatted and unknown members are kept.
    """

    records: list[Any] = []
    logs: list[Any] = []


class _ChunkBody(msgspec.Struct):
    """Just the ``data`` of a ``records.provided`` body."""

    data: _ChunkContent


_CHUNK_DECODER: Final = msgspec.json.Decoder(_ChunkBody)


def _contract_error(error: msgspec.MsgspecError) -> ContractError:
    """Translate a msgspec error into a ContractError whose path names the failing field."""
    if isinstance(error, msgspec.DecodeError) and not isinstance(error, msgspec.ValidationError):
        return ContractError(f"malformed JSON: {str(error).removeprefix('JSON is malformed: ')}")
    match = _AT_PATH.match(str(error))
    reason, path = (match["reason"], match["path"]) if match else (str(error), "$")
    cause = error.__cause__
    if isinstance(cause, FieldValueError):
        # __post_init__ failures are reported at the Struct; the validator names the member.
        reason, path = cause.reason, _join(path, cause.field)
    elif missing := _MISSING_FIELD.match(reason):
        path = _join(path, missing["field"])
    return ContractError(reason, path)


def _join(path: str, member: str) -> str:
    """Append a member (``uscc`` or ``items[2]``) to a JSONPath-like path."""
    return f"{path}.{member}"


def _decode(decoder: msgspec.json.Decoder[_T], body: bytes) -> _T:
    try:
        message = decoder.decode(body)
    except msgspec.MsgspecError as error:
        raise _contract_error(error) from error
    except UnicodeDecodeError as error:
        # msgspec reports invalid UTF-8 inside strings this way rather than as a DecodeError.
        raise ContractError(f"body is not valid UTF-8: {error.reason} at byte {error.start}") from error
    except RecursionError as error:
        raise ContractError("body nests too deeply to be a message") from error
    if isinstance(message, RecordsProvided):
        _verify_chunk(message, body)
    return message


def _verify_chunk(message: RecordsProvided, body: bytes) -> None:
    """Check ``chunk_sha256``: the JCS SHA-256 of the records and logs exactly as they were sent (see ``_digest``)."""
    try:
        content = _CHUNK_DECODER.decode(body).data
    except (UnicodeDecodeError, RecursionError) as error:
        raise ContractError(f"body cannot be decoded: {error}") from error
    except msgspec.MsgspecError as error:
        # Unknown members the typed decoder skipped are hashed too, so they must be representable.
        raise _contract_error(error) from error
    try:
        actual = canonical_digest({"records": content.records, "logs": content.logs})
    except ValueError as error:
        raise ContractError(f"records or logs cannot be hashed: {error}", "$.data") from error
    if actual != message.data.chunk_sha256:
        raise ContractError(f"chunk digest mismatch: the records and logs sent hash to {actual}", "$.data.chunk_sha256")


def decode_message(body: bytes) -> Message:
    """Decode a body of any message type, in either direction.

    Raises:
        ContractError: the body is not a valid message; ``path`` names the field when there is one.
    """
    return _decode(_MESSAGE_DECODER, body)


def decode_notice(body: bytes) -> Notice:
    """Decode a body the gateway sent (what a platform receives); a reply type is rejected at ``$.type``.

    Raises:
        ContractError: the body is not a valid notice.
    """
    return _decode(_NOTICE_DECODER, body)


def decode_reply(body: bytes) -> Reply:
    """Decode a body a platform sent (what the gateway receives); a notice type is rejected at ``$.type``.

    For ``records.provided`` the ``chunk_sha256`` is verified against the records and logs as sent.

    Raises:
        ContractError: the body is not a valid reply.
    """
    return _decode(_REPLY_DECODER, body)


def encode_message(message: Message, *, validate: bool = True) -> bytes:
    """Encode a message as compact UTF-8 JSON: ``type`` first, then fields in declaration order.

    With ``validate`` (the default) the bytes are decoded again before they are returned, so what is sent is
    exactly what a receiver accepts: bounds and patterns are only checked at decode time in msgspec, and a
    naive ``datetime`` would otherwise go out without an offset.

    Raises:
        ContractError: ``validate`` is set and the message breaks the contract.
    """
    body = _ENCODER.encode(message)
    if validate:
        _decode(_MESSAGE_DECODER, body)
    return body


def message_type_of(message: Message) -> str:
    """Return the ``type`` string of a message (``"sampling.notice"`` for a :class:`SamplingNotice`)."""
    return str(message.__struct_config__.tag)
