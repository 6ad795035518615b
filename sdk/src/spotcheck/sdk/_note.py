r"""Signed notes (C2SP ``signed-note``) and transparency-log checkpoints (C2SP ``tlog-checkpoint``), Ed25519 only.

A gateway publishes the head of its log (``spotcheck.sdk._merkle``) as a checkpoint body::

    <origin>\n                 the log's name, e.g. gateway.example.gov.cn/log
    <tree size>\n              decimal, no leading zeros
    <base64 root hash>\n       standard base64 of the 32-byte Merkle tree hash
    [<extension line>\n ...]   optional, opaque, never empty

and signs it as a note: the body, one blank line, then one line per signature::

    — <key name> <base64(4-byte key ID ‖ 64-byte Ed25519 signature of the body bytes)>\n

(an em dash U+2014 and a space first). The key ID is the first 4 bytes of
SHA-256(key name ‖ ``\n`` ‖ 0x01 ‖ 32-byte public key). A platform pins the verifier key, written as
``<key name>+<8 hex digits of the key ID>+<base64(0x01 ‖ 32-byte public key)>``, the form of Go's
``golang.org/x/mod/sumdb/note``.

Opening a note follows the specification: signatures by other keys are ignored (so the log can be cosigned by
witnesses or rotate its key), a signature by the pinned key must verify, and at least one must be there. Every
failure, including malformed or oversized input, raises :class:`~spotcheck.sdk.LogVerificationError` and nothing
else. The functions a log uses to produce notes (:func:`sign_note`, :func:`format_log_checkpoint`,
:func:`format_verifier_key`) raise ``ValueError`` for arguments they cannot write.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Final

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from spotcheck.sdk._errors import LogVerificationError
from spotcheck.sdk._merkle import HASH_SIZE

__all__ = [
    "LogCheckpoint",
    "NoteVerifierKey",
    "format_log_checkpoint",
    "format_verifier_key",
    "open_note",
    "parse_log_checkpoint",
    "parse_verifier_key",
    "sign_note",
    "verify_log_checkpoint",
]

SIGNATURE_PREFIX: Final = "\u2014 "
ED25519_TYPE: Final = b"\x01"
"""The signature type byte of Ed25519 in key IDs and verifier keys (C2SP signed-note)."""

_KEY_ID_BYTES: Final = 4
_KEY_BYTES: Final = 32
_SIGNATURE_BYTES: Final = 64
# The specification asks verifiers to accept at least 16 signatures, each up to ~5 kB for post-quantum schemes;
# Go's verifier stops at 100. A checkpoint body is three short lines.
_MAX_SIGNATURES: Final = 100
_MAX_NOTE_BYTES: Final = 1 << 20
_MAX_TREE_SIZE: Final = 2**64 - 1
_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX_KEY_ID: Final = re.compile(r"[0-9a-fA-F]{8}")
_SHOWN_CHARS: Final = 64
_SHOWN_SIGNERS: Final = 5


class NoteVerifierKey(msgspec.Struct, frozen=True, kw_only=True):
    """An Ed25519 verifier key: the key name, its 4-byte key ID and the 32-byte public key.

    Only :func:`parse_verifier_key` builds one, so the key ID always matches the name and the key.
    """

    name: str
    key_id: bytes
    public_key: bytes


class LogCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """The head of a transparency log at one size: its origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def format_verifier_key(name: str, public_key: Ed25519PublicKey | bytes) -> str:
    """The verifier key string ``<name>+<hex key ID>+<base64(0x01 ‖ public key)>`` of an Ed25519 public key.

    Raises:
        ValueError: ``name`` is not a valid key name (empty, or holding a space, a ``+`` or a control character),
            or ``public_key`` is not 32 bytes.
    """
    raw = public_key if isinstance(public_key, bytes) else public_key.public_bytes_raw()
    if len(raw) != _KEY_BYTES:
        raise ValueError(f"an Ed25519 public key is {_KEY_BYTES} bytes, got {len(raw)}")
    _check_name(name)
    return f"{name}+{_key_id(name, raw).hex()}+{_b64encode(ED25519_TYPE + raw)}"


def parse_verifier_key(text: str) -> NoteVerifierKey:
    """Read a verifier key string; the key ID must match the name and the public key.

    Raises:
        LogVerificationError: the text is not an Ed25519 verifier key, or its key ID does not match.
    """
    if not isinstance(text, str):
        raise LogVerificationError("a verifier key must be text")
    name, _, rest = text.partition("+")
    key_id_hex, _, key_b64 = rest.partition("+")
    if not _is_name(name) or not _HEX_KEY_ID.fullmatch(key_id_hex):
        raise LogVerificationError("malformed verifier key: expected <name>+<8 hex digits>+<base64 key>")
    encoded = _b64decode(key_b64)
    if encoded is None or len(encoded) != 1 + _KEY_BYTES or encoded[:1] != ED25519_TYPE:
        raise LogVerificationError("malformed verifier key: the key is not base64 of 0x01 and 32 Ed25519 bytes")
    public_key = encoded[1:]
    key_id = _key_id(name, public_key)
    if key_id != bytes.fromhex(key_id_hex):
        raise LogVerificationError(f"malformed verifier key: the key ID of {_show(name)} is {key_id.hex()}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise LogVerificationError("malformed verifier key: not an Ed25519 public key") from None
    return NoteVerifierKey(name=name, key_id=key_id, public_key=public_key)


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey | bytes) -> str:
    """The signed note of ``body``: the body, a blank line and one signature line by ``name``'s Ed25519 key.

    Args:
        body: the note text; it must end with a newline.
        name: the key name (for a checkpoint, usually the log's origin).
        private_key: the Ed25519 key, or its 32-byte RFC 8032 seed.

    Raises:
        ValueError: the body does not end with a newline, holds a control character other than newline or makes
            a note larger than verifiers accept; the name is not a valid key name; the seed is not 32 bytes.
    """
    if not body.endswith("\n") or _CONTROL.search(body):
        raise ValueError("a note body must end with a newline and hold no control character other than newline")
    _check_name(name)
    if isinstance(private_key, bytes):
        if len(private_key) != _KEY_BYTES:
            raise ValueError(f"an Ed25519 seed is {_KEY_BYTES} bytes, got {len(private_key)}")
        private_key = Ed25519PrivateKey.from_private_bytes(private_key)
    key_id = _key_id(name, private_key.public_key().public_bytes_raw())
    signature = private_key.sign(body.encode())
    note = f"{body}\n{SIGNATURE_PREFIX}{name} {_b64encode(key_id + signature)}\n"
    if len(note.encode()) > _MAX_NOTE_BYTES:
        raise ValueError(f"a signed note must not exceed {_MAX_NOTE_BYTES} bytes")
    return note


def open_note(note: str | bytes, verifier_key: str | NoteVerifierKey) -> str:
    """The body of ``note`` once a signature by ``verifier_key`` verifies over it.

    Signatures by other keys (another name or key ID) are ignored, as the specification requires. The note must
    be UTF-8 without control characters other than newline, at most 1 MiB and 100 signatures.

    Raises:
        LogVerificationError: the note is malformed or too large, a signature by the key does not verify, or no
            signature is by the key (the message names the keys that did sign).
    """
    key = verifier_key if isinstance(verifier_key, NoteVerifierKey) else parse_verifier_key(verifier_key)
    text = _note_text(note)
    split = text.rfind("\n\n")
    if split < 0:
        raise LogVerificationError("malformed note: no blank line before the signatures")
    body, signatures = text[: split + 1], text[split + 2 :]
    if not signatures.endswith("\n"):
        raise LogVerificationError("malformed note: the signature lines must each end with a newline")
    lines = signatures[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise LogVerificationError(f"malformed note: more than {_MAX_SIGNATURES} signatures")
    signed_by_key = False
    others: list[str] = []
    for number, line in enumerate(lines, start=1):
        name, key_id, signature = _parse_signature_line(line, number)
        if name != key.name or key_id != key.key_id:
            others.append(_label(name, key_id))
            continue
        if not _ed25519_verifies(key.public_key, signature, body.encode()):
            raise LogVerificationError(
                f"the signature by {_label(key.name, key.key_id)} does not verify: the note was altered"
            )
        signed_by_key = True
    if not signed_by_key:
        signers = ", ".join(others[:_SHOWN_SIGNERS]) + (", ..." if len(others) > _SHOWN_SIGNERS else "")
        raise LogVerificationError(f"no signature by {_label(key.name, key.key_id)}; signed only by {signers}")
    return body


def format_log_checkpoint(origin: str, size: int, root_hash: bytes, extensions: tuple[str, ...] = ()) -> str:
    """The checkpoint body of a log named ``origin`` holding ``size`` leaves whose Merkle tree hash is ``root_hash``.

    Raises:
        ValueError: the origin or an extension line is empty or holds a control character, the size is negative,
            or the root hash is not 32 bytes.
    """
    for what, line in (("origin", origin), *(("extension line", extension) for extension in extensions)):
        if not line or _CONTROL.search(line) or "\n" in line:
            raise ValueError(f"the {what} must be non-empty text without control characters")
    if isinstance(size, bool) or not 0 <= size <= _MAX_TREE_SIZE:
        raise ValueError(f"a tree size is an unsigned 64-bit integer, got {size!r}")
    if len(root_hash) != HASH_SIZE:
        raise ValueError(f"a root hash is {HASH_SIZE} bytes, got {len(root_hash)}")
    return "".join(f"{line}\n" for line in (origin, str(size), _b64encode(root_hash), *extensions))


def parse_log_checkpoint(body: str) -> LogCheckpoint:
    """Read a checkpoint body (the text of an opened note): origin, tree size, root hash and extension lines.

    Raises:
        LogVerificationError: the body is not a checkpoint (fewer than three lines, an empty line, a size that is
            not plain decimal, a root hash that is not base64 of 32 bytes).
    """
    if not isinstance(body, str) or not body.endswith("\n") or _CONTROL.search(body):
        raise LogVerificationError("malformed checkpoint: lines of text each ending with a newline expected")
    lines = body[:-1].split("\n")
    if len(lines) < 3:  # noqa: PLR2004 - origin, size and root hash
        raise LogVerificationError("malformed checkpoint: origin, tree size and root hash lines expected")
    origin, size_text, root_text, *extensions = lines
    if not origin or not all(extensions):
        raise LogVerificationError("malformed checkpoint: the origin and extension lines must not be empty")
    if not _DECIMAL.fullmatch(size_text) or int(size_text) > _MAX_TREE_SIZE:
        raise LogVerificationError(f"malformed checkpoint: the tree size {_show(size_text)!r} is not a decimal size")
    root_hash = _b64decode(root_text)
    if root_hash is None or len(root_hash) != HASH_SIZE:
        raise LogVerificationError("malformed checkpoint: the root hash is not base64 of 32 bytes")
    return LogCheckpoint(origin=origin, size=int(size_text), root_hash=root_hash, extensions=tuple(extensions))


def verify_log_checkpoint(
    note: str | bytes, verifier_key: str | NoteVerifierKey, *, origin: str | None = None
) -> LogCheckpoint:
    """The checkpoint in ``note`` once a signature by ``verifier_key`` verifies (see :func:`open_note`).

    Args:
        note: the signed checkpoint, as served.
        verifier_key: the pinned verifier key.
        origin: when given, the checkpoint must name this log.

    Raises:
        LogVerificationError: the note does not open with the key, its body is not a checkpoint, or it names
            another origin.
    """
    checkpoint = parse_log_checkpoint(open_note(note, verifier_key))
    if origin is not None and checkpoint.origin != origin:
        raise LogVerificationError(f"the checkpoint is of log {_show(checkpoint.origin)!r}, not of {_show(origin)!r}")
    return checkpoint


def _note_text(note: object) -> str:
    """The note as text once it is within size, valid UTF-8 and free of control characters other than newline."""
    if not isinstance(note, str | bytes):
        raise LogVerificationError("a note must be text or bytes")
    # A str is at most 4 UTF-8 bytes a character: refuse a huge one before encoding it.
    if len(note) > _MAX_NOTE_BYTES:
        raise LogVerificationError(f"malformed note: larger than {_MAX_NOTE_BYTES} bytes")
    try:
        raw = note.encode("utf-8") if isinstance(note, str) else note
        text = raw.decode("utf-8")
    except UnicodeError:
        raise LogVerificationError("malformed note: not UTF-8 text") from None
    if len(raw) > _MAX_NOTE_BYTES:
        raise LogVerificationError(f"malformed note: larger than {_MAX_NOTE_BYTES} bytes")
    if _CONTROL.search(text):
        raise LogVerificationError("malformed note: a control character other than newline")
    return text


def _ed25519_verifies(public_key: bytes, signature: bytes, message: bytes) -> bool:
    if len(signature) != _SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _parse_signature_line(line: str, number: int) -> tuple[str, bytes, bytes]:
    """The key name, key ID and signature of one signature line."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise LogVerificationError(f"malformed note: signature line {number} does not start with an em dash")
    name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    raw = _b64decode(encoded)
    if not _is_name(name) or raw is None or len(raw) <= _KEY_ID_BYTES:
        raise LogVerificationError(f"malformed note: signature line {number} is not '— <name> <base64>'")
    return name, raw[:_KEY_ID_BYTES], raw[_KEY_ID_BYTES:]


def _key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:_KEY_ID_BYTES]


def _is_name(name: str) -> bool:
    return bool(name) and "+" not in name and not _CONTROL.search(name) and not any(c.isspace() for c in name)


def _check_name(name: str) -> None:
    if not _is_name(name):
        raise ValueError("a key name must be non-empty, without spaces, '+' or control characters")


def _label(name: str, key_id: bytes) -> str:
    return f"{_show(name)}+{key_id.hex()}"


def _show(text: str) -> str:
    """Untrusted text cut short enough to log."""
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Standard padded base64, or None; only the canonical encoding is accepted, so each value has one spelling."""
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    return raw if text and _b64encode(raw) == text else None
