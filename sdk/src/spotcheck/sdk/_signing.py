"""Standard Webhooks signing and verification (https://www.standardwebhooks.com).

Every Spotcheck message, in either direction, carries three headers:

* ``webhook-id``: the message id, also the receiver's idempotency key (stable across retries);
* ``webhook-timestamp``: the attempt time in integer Unix seconds;
* ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` and/or ``v1a,<base64 Ed25519>`` entries,
  several at once while keys rotate.

The signed content is ``"{id}.{timestamp}.{body}"`` over the raw body bytes. Keys are serialised as in the
specification: ``whsec_<base64>`` (symmetric, 24 to 64 random bytes), ``whsk_<base64>`` (Ed25519 secret key) and
``whpk_<base64>`` (Ed25519 public key, 32 bytes). A ``whsk_`` key is written as the 32-byte RFC 8032 seed, which
is what the reference Go library reads; the 64-byte ``seed || public key`` form that libsodium-style tools write
(Svix) is read as well.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from spotcheck.sdk._errors import VerificationError

__all__ = ["Webhook", "generate_keypair", "generate_secret", "new_message_id", "public_key_of"]

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the serialisation prefix, not a secret
SIGNING_KEY_PREFIX: Final = "whsk_"
PUBLIC_KEY_PREFIX: Final = "whpk_"

HEADER_ID: Final = "webhook-id"
HEADER_TIMESTAMP: Final = "webhook-timestamp"
HEADER_SIGNATURE: Final = "webhook-signature"

MAX_ID_LENGTH: Final = 256
MAX_SIGNATURE_HEADER_LENGTH: Final = 8192
# Rotation needs two or three entries; the cap bounds the Ed25519 work an attacker can make us do.
MAX_SIGNATURE_ENTRIES: Final = 20

_SYMMETRIC_MIN_BYTES: Final = 24
_SYMMETRIC_MAX_BYTES: Final = 64
_SHA256_BLOCK: Final = 64
_ED25519_KEY_BYTES: Final = 32
_HMAC_BYTES: Final = 32
_ED25519_SIGNATURE_BYTES: Final = 64

_MAX_TIMESTAMP_DIGITS: Final = 12

_WANTED_HEADERS: Final = frozenset({HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE})
_WANTED_LENGTHS: Final = frozenset(len(name) for name in _WANTED_HEADERS)

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_RANDOM_BITS: Final = 80


def _b64decode(text: str) -> bytes:
    """Decode standard base64, tolerating missing padding; raise ``ValueError`` on anything else."""
    padded = text + "=" * (-len(text) % 4)
    return binascii.a2b_base64(padded, strict_mode=True)


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key_material(key: str, index: int, prefix: str) -> bytes:
    """Decode the base64 after ``prefix``; the error names the key by position, never by value."""
    try:
        return _b64decode(key.strip()[len(prefix) :])
    except ValueError:
        raise ValueError(f"key #{index}: the {prefix} key is not valid base64") from None


def _ed25519_private_key(raw: bytes, index: int) -> Ed25519PrivateKey:
    """Build the signing key from a 32-byte seed or a 64-byte ``seed || public key``."""
    if len(raw) not in (_ED25519_KEY_BYTES, 2 * _ED25519_KEY_BYTES):
        raise ValueError(
            f"key #{index}: a {SIGNING_KEY_PREFIX} key must decode to 32 bytes (Ed25519 seed) "
            f"or 64 bytes (seed and public key), got {len(raw)}"
        )
    private = Ed25519PrivateKey.from_private_bytes(raw[:_ED25519_KEY_BYTES])
    if len(raw) == 2 * _ED25519_KEY_BYTES and not hmac.compare_digest(
        private.public_key().public_bytes_raw(), raw[_ED25519_KEY_BYTES:]
    ):
        raise ValueError(f"key #{index}: the public half of the {SIGNING_KEY_PREFIX} key does not match its seed")
    return private


def _ed25519_public_key(raw: bytes, index: int) -> Ed25519PublicKey:
    if len(raw) != _ED25519_KEY_BYTES:
        raise ValueError(f"key #{index}: a {PUBLIC_KEY_PREFIX} key must decode to 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


class _HmacKey:
    """HMAC-SHA256 (RFC 2104) with the padded-key hash states computed once.

    Each message then costs two state copies and no key schedule; tests check it against :mod:`hmac`.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))

    def digest(self, prefix: bytes, body: bytes) -> bytes:
        """Return the HMAC of ``prefix + body`` without joining them."""
        inner = self._inner.copy()
        inner.update(prefix)
        inner.update(body)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _is_valid_id(msg_id: str) -> bool:
    """Printable ASCII without space or '.': the spec forbids '.', which would make the signed content ambiguous."""
    return msg_id.isascii() and msg_id.isprintable() and " " not in msg_id and "." not in msg_id


def _check_msg_id(msg_id: str) -> None:
    if not isinstance(msg_id, str) or not 0 < len(msg_id) <= MAX_ID_LENGTH or not _is_valid_id(msg_id):
        raise ValueError(f"msg_id must be 1 to {MAX_ID_LENGTH} printable ASCII characters without spaces or '.'")


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp < 10**_MAX_TIMESTAMP_DIGITS:
        raise ValueError("timestamp must be a non-negative integer of Unix seconds")


def _check_body(body: object) -> None:
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"body must be bytes, got {type(body).__name__}")


class Webhook:
    """Signs and verifies Standard Webhooks messages with one or more keys.

    Args:
        key: one serialised key or several (during rotation). ``whsec_`` keys sign (``v1``) and verify ``v1``;
            ``whsk_`` keys sign (``v1a``) and verify ``v1a`` with their public half; ``whpk_`` keys only verify.
            Repeated keys are used once.
        tolerance: how far, in seconds, a message's ``webhook-timestamp`` may lie from now, either way.

    Raises:
        ValueError: no key was given, a key has an unknown prefix or bad material, or ``tolerance`` is negative.
            The message names the key by its position and never repeats the key.
        TypeError: ``key`` is bytes, or one of the keys is not a ``str``.
    """

    __slots__ = ("_hmac_keys", "_private_keys", "_public_keys", "_tolerance")

    def __init__(self, key: str | Sequence[str], *, tolerance: int = 300) -> None:
        given: object = key  # untyped callers may pass bytes, which would otherwise iterate as integers
        if isinstance(given, bytes | bytearray):
            raise TypeError("key must be a str or a sequence of str, not bytes")
        keys: Sequence[object] = [key] if isinstance(key, str) else key
        if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
            raise ValueError("tolerance must be a non-negative integer of seconds")
        if not keys:
            raise ValueError("at least one key is required")
        self._tolerance = tolerance
        self._hmac_keys: list[_HmacKey] = []
        self._private_keys: list[Ed25519PrivateKey] = []
        self._public_keys: list[Ed25519PublicKey] = []
        seen: set[tuple[str, bytes]] = set()
        for index, item in enumerate(keys, start=1):
            self._add_key(item, index, seen)

    def _add_key(self, item: object, index: int, seen: set[tuple[str, bytes]]) -> None:
        """Decode one serialised key into the lists it serves; ``seen`` drops repeats."""
        if not isinstance(item, str):
            raise TypeError(f"key #{index}: expected a str, got {type(item).__name__}")
        prefix = item.lstrip()[:6]
        if prefix.startswith(SECRET_PREFIX):
            raw = _key_material(item, index, SECRET_PREFIX)
            if not _SYMMETRIC_MIN_BYTES <= len(raw) <= _SYMMETRIC_MAX_BYTES:
                raise ValueError(
                    f"key #{index}: a {SECRET_PREFIX} secret must decode to {_SYMMETRIC_MIN_BYTES} to "
                    f"{_SYMMETRIC_MAX_BYTES} bytes, got {len(raw)}"
                )
            if ("v1", raw) not in seen:
                seen.add(("v1", raw))
                self._hmac_keys.append(_HmacKey(raw))
        elif prefix.startswith(SIGNING_KEY_PREFIX):
            private = _ed25519_private_key(_key_material(item, index, SIGNING_KEY_PREFIX), index)
            public_raw = private.public_key().public_bytes_raw()
            if ("sk", public_raw) not in seen:
                seen.add(("sk", public_raw))
                self._private_keys.append(private)
            if ("pk", public_raw) not in seen:
                seen.add(("pk", public_raw))
                self._public_keys.append(private.public_key())
        elif prefix.startswith(PUBLIC_KEY_PREFIX):
            raw = _key_material(item, index, PUBLIC_KEY_PREFIX)
            public = _ed25519_public_key(raw, index)
            if ("pk", raw) not in seen:
                seen.add(("pk", raw))
                self._public_keys.append(public)
        else:
            raise ValueError(
                f"key #{index}: unknown key type, expected a {SECRET_PREFIX}, {SIGNING_KEY_PREFIX} "
                f"or {PUBLIC_KEY_PREFIX} prefix"
            )

    def __repr__(self) -> str:
        return (
            f"<Webhook v1 keys={len(self._hmac_keys)} v1a signing keys={len(self._private_keys)} "
            f"v1a verifying keys={len(self._public_keys)} tolerance={self._tolerance}s>"
        )

    @property
    def can_sign(self) -> bool:
        """Whether this instance holds a ``whsec_`` or ``whsk_`` key, so that :meth:`sign` works."""
        return bool(self._hmac_keys or self._private_keys)

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """Return the ``webhook-signature`` header value: one entry per signing key, ``v1`` entries first.

        Args:
            msg_id: the ``webhook-id``: 1 to 256 printable ASCII characters, no spaces, no ``.``.
            timestamp: the ``webhook-timestamp`` in Unix seconds.
            body: the exact bytes that will be sent.

        Raises:
            ValueError: ``msg_id`` or ``timestamp`` is malformed, or this instance holds only ``whpk_`` keys.
            TypeError: ``body`` is not bytes-like.
        """
        _check_msg_id(msg_id)
        _check_timestamp(timestamp)
        _check_body(body)
        body = bytes(body)
        if not self.can_sign:
            raise ValueError(f"no signing key: {PUBLIC_KEY_PREFIX} keys can only verify")
        prefix = f"{msg_id}.{timestamp}.".encode("ascii")
        entries = ["v1," + _b64encode(keyed.digest(prefix, body)) for keyed in self._hmac_keys]
        if self._private_keys:
            content = prefix + body
            entries.extend("v1a," + _b64encode(private.sign(content)) for private in self._private_keys)
        return " ".join(entries)

    def headers(self, msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """Return the three Standard Webhooks headers for ``body``, timestamped now unless ``timestamp`` is given.

        Raises:
            ValueError: as :meth:`sign`.
            TypeError: as :meth:`sign`.
        """
        when = int(time.time()) if timestamp is None else timestamp
        signature = self.sign(msg_id, when, body)
        return {HEADER_ID: msg_id, HEADER_TIMESTAMP: str(when), HEADER_SIGNATURE: signature}

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> None:
        """Check that ``body`` and ``headers`` form a message signed by one of our keys, within the tolerance.

        Works on the raw body bytes, before any parsing. Header names match case-insensitively in any mapping
        (a ``dict``, ``httpx.Headers``, a multi-dict). Entries of unknown signature versions are ignored, but at
        least one ``v1`` or ``v1a`` entry must verify.

        Args:
            body: the raw request body.
            headers: the request headers.
            now: the current time in Unix seconds; defaults to :func:`time.time`.

        Raises:
            VerificationError: on every failure, with a ``reason`` that is safe to log.
        """
        # The exact-type test first: it is the common case and much cheaper than a union isinstance.
        given: object = body  # callers are untyped at runtime; the check below guards them
        if type(given) is not bytes:
            if not isinstance(given, bytes | bytearray | memoryview):
                raise VerificationError("body must be bytes")
            body = bytes(given)  # one contiguous copy that both hashlib and Ed25519 accept
        msg_id, timestamp, signature = _find_headers(headers)
        # _is_valid_id and the timestamp checks written out here: every request would pay for the calls.
        if len(msg_id) > MAX_ID_LENGTH:
            raise VerificationError(f"{HEADER_ID} header is longer than {MAX_ID_LENGTH} characters")
        if not (msg_id.isascii() and msg_id.isprintable() and " " not in msg_id and "." not in msg_id):
            raise VerificationError(f"{HEADER_ID} header must be printable ASCII without spaces or '.'")
        # Plain decimal digits without a sign or leading zeros, so every library rebuilds the same signed content.
        if not (
            len(timestamp) <= _MAX_TIMESTAMP_DIGITS
            and timestamp.isascii()
            and timestamp.isdigit()
            and (timestamp[0] != "0" or timestamp == "0")
        ):
            raise VerificationError(f"{HEADER_TIMESTAMP} header is not an integer of Unix seconds")
        if now is None:
            now = time.time()
        elif not isinstance(now, int | float) or not math.isfinite(now):
            raise VerificationError("the verifier's clock reading is not a finite number")
        sent_at = int(timestamp)
        if sent_at < now - self._tolerance:
            raise VerificationError("message timestamp too old")
        if sent_at > now + self._tolerance:
            raise VerificationError("message timestamp too new")
        hmac_signatures, ed25519_signatures = _parse_signatures(signature)
        self._match(f"{msg_id}.{timestamp}.".encode("ascii"), body, hmac_signatures, ed25519_signatures)

    def _match(self, prefix: bytes, body: bytes, hmac_signatures: list[bytes], ed25519_signatures: list[bytes]) -> None:
        """Return when one signature verifies; the cheap HMAC checks run before any Ed25519 one."""
        if hmac_signatures and self._hmac_keys:
            for keyed in self._hmac_keys:
                expected = keyed.digest(prefix, body)
                for candidate in hmac_signatures:
                    if hmac.compare_digest(expected, candidate):
                        return
        if ed25519_signatures and self._public_keys:
            content = prefix + body
            for public in self._public_keys:
                for candidate in ed25519_signatures:
                    try:
                        public.verify(candidate, content)
                    except InvalidSignature:
                        continue
                    return
        if (hmac_signatures and self._hmac_keys) or (ed25519_signatures and self._public_keys):
            raise VerificationError("no matching signature")
        raise VerificationError(f"no signature of a version this verifier holds keys for ({self._versions()})")

    def _versions(self) -> str:
        versions = (["v1"] if self._hmac_keys else []) + (["v1a"] if self._public_keys else [])
        return " or ".join(versions)


def _find_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """Pick the three headers out of ``headers``, case-insensitively, refusing any that appears twice."""
    if type(headers) is dict:
        try:
            names: str | None = "".join(headers)
        except TypeError:
            names = None
        # Keys all ASCII lowercase: a dict cannot hold one name twice, so three lookups suffice.
        if names is not None and names.isascii() and names == names.lower():
            msg_id = headers.get(HEADER_ID)
            timestamp = headers.get(HEADER_TIMESTAMP)
            signature = headers.get(HEADER_SIGNATURE)
            # _checked_values' accepting test, inlined for the common case; it still explains any failure.
            if (
                type(msg_id) is str
                and type(timestamp) is str
                and type(signature) is str
                and msg_id
                and timestamp
                and signature
            ):
                return msg_id, timestamp, signature
            return _checked_values(msg_id, timestamp, signature)
        pairs: Iterable[tuple[object, object]] = headers.items()
    else:
        pairs = _header_pairs(headers)
    found: dict[str, object] = {}
    # One pass over every entry: multi-dicts list repeats and plain dicts may hold case variants of one name.
    for name, value in pairs:
        # ASCII only: HTTP names are ASCII, and str.lower() maps e.g. the Kelvin sign onto 'k'.
        if isinstance(name, str) and len(name) in _WANTED_LENGTHS and name.isascii():
            lowered = name.lower()
            if lowered in _WANTED_HEADERS:
                if lowered in found:
                    raise VerificationError(f"duplicate {lowered} header")
                found[lowered] = value
    return _checked_values(found.get(HEADER_ID), found.get(HEADER_TIMESTAMP), found.get(HEADER_SIGNATURE))


def _checked_values(msg_id: object, timestamp: object, signature: object) -> tuple[str, str, str]:
    """Return the three values once each is known to be a non-empty ``str``."""
    if (
        isinstance(msg_id, str)
        and isinstance(timestamp, str)
        and isinstance(signature, str)
        and msg_id
        and timestamp
        and signature
    ):
        return msg_id, timestamp, signature
    for wanted, value in ((HEADER_ID, msg_id), (HEADER_TIMESTAMP, timestamp), (HEADER_SIGNATURE, signature)):
        if value is None:
            raise VerificationError(f"missing {wanted} header")
        if not isinstance(value, str):
            raise VerificationError(f"{wanted} header is not text")
        if not value:
            raise VerificationError(f"empty {wanted} header")
    raise AssertionError("unreachable: one of the values failed the checks above")


def _header_pairs(headers: object) -> list[tuple[object, object]]:
    """Return the pairs of any mapping; one that cannot be walked is a verification failure, not a crash."""
    if not isinstance(headers, Mapping):
        raise VerificationError("headers must be a mapping")
    try:
        pairs = list(headers.items())
    except (TypeError, ValueError, AttributeError, UnicodeError, LookupError) as exc:
        raise VerificationError("headers cannot be read as a mapping") from exc
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:  # noqa: PLR2004 - a (name, value) pair
            raise VerificationError("headers cannot be read as a mapping")
    return pairs


def _parse_signatures(header: str) -> tuple[list[bytes], list[bytes]]:
    """Split ``webhook-signature`` into decoded ``v1`` and ``v1a`` signatures, skipping unknown versions."""
    if len(header) > MAX_SIGNATURE_HEADER_LENGTH:
        raise VerificationError(f"{HEADER_SIGNATURE} header is longer than {MAX_SIGNATURE_HEADER_LENGTH} characters")
    if not header.isascii():
        raise VerificationError(f"{HEADER_SIGNATURE} header is not ASCII")
    entries = header.split(" ")
    if len(entries) > MAX_SIGNATURE_ENTRIES:
        raise VerificationError(f"{HEADER_SIGNATURE} header has more than {MAX_SIGNATURE_ENTRIES} entries")
    hmac_signatures: list[bytes] = []
    ed25519_signatures: list[bytes] = []
    for entry in entries:
        version, comma, encoded = entry.partition(",")
        if not comma or not version or not encoded:
            raise VerificationError(f"malformed {HEADER_SIGNATURE} entry: expected '<version>,<base64>'")
        if version == "v1":
            try:  # _decode_signature inlined for the common entry
                raw = binascii.a2b_base64(encoded, strict_mode=True)
            except ValueError:
                raise VerificationError("bad base64 in a v1 signature") from None
            if len(raw) != _HMAC_BYTES:
                raise VerificationError(f"a v1 signature must be {_HMAC_BYTES} bytes, got {len(raw)}")
            hmac_signatures.append(raw)
        elif version == "v1a":
            ed25519_signatures.append(_decode_signature(encoded, version, _ED25519_SIGNATURE_BYTES))
    return hmac_signatures, ed25519_signatures


def _decode_signature(encoded: str, version: str, size: int) -> bytes:
    try:
        raw = binascii.a2b_base64(encoded, strict_mode=True)
    except ValueError:
        raise VerificationError(f"bad base64 in a {version} signature") from None
    if len(raw) != size:
        raise VerificationError(f"a {version} signature must be {size} bytes, got {len(raw)}")
    return raw


def generate_secret() -> str:
    """Return a new symmetric ``whsec_`` secret of 32 random bytes."""
    return SECRET_PREFIX + _b64encode(os.urandom(32))


def generate_keypair() -> tuple[str, str]:
    """Return a new Ed25519 key pair as ``(whsk_<base64 32-byte seed>, whpk_<base64 32-byte public key>)``."""
    private = Ed25519PrivateKey.generate()
    return (
        SIGNING_KEY_PREFIX + _b64encode(private.private_bytes_raw()),
        PUBLIC_KEY_PREFIX + _b64encode(private.public_key().public_bytes_raw()),
    )


def public_key_of(secret_key: str) -> str:
    """Return the ``whpk_`` public key that verifies what the ``whsk_`` ``secret_key`` signs.

    Raises:
        ValueError: ``secret_key`` is not a valid ``whsk_`` key (the message never repeats it).
        TypeError: ``secret_key`` is not a ``str``.
    """
    if not isinstance(secret_key, str):
        raise TypeError(f"secret_key must be a str, got {type(secret_key).__name__}")
    if not secret_key.lstrip().startswith(SIGNING_KEY_PREFIX):
        raise ValueError(f"key #1: expected a {SIGNING_KEY_PREFIX} key")
    private = _ed25519_private_key(_key_material(secret_key, 1, SIGNING_KEY_PREFIX), 1)
    return PUBLIC_KEY_PREFIX + _b64encode(private.public_key().public_bytes_raw())


class _MonotonicUlid:
    """ULID source whose values strictly increase within a process, even inside one millisecond."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._last_random = 0

    def reset(self) -> None:
        """Forget the last value, so a forked child does not continue its parent's sequence."""
        self._lock = threading.Lock()
        self._last_ms = 0
        self._last_random = 0

    def next(self) -> str:
        """Return the next 26-character Crockford base32 ULID (48-bit milliseconds, 80 random bits)."""
        now_ms = time.time_ns() // 1_000_000
        with self._lock:
            if now_ms > self._last_ms:
                random_part = int.from_bytes(os.urandom(_ULID_RANDOM_BITS // 8), "big")
            else:
                # Same millisecond, or the clock stepped back: continue from the last value to keep ids ordered.
                now_ms = self._last_ms
                random_part = self._last_random + 1
                if random_part >> _ULID_RANDOM_BITS:
                    now_ms += 1
                    random_part = int.from_bytes(os.urandom(_ULID_RANDOM_BITS // 8), "big")
            self._last_ms = now_ms
            self._last_random = random_part
        value = (now_ms << _ULID_RANDOM_BITS) | random_part
        chars = [""] * 26
        for position in range(25, -1, -1):
            chars[position] = _CROCKFORD[value & 31]
            value >>= 5
        return "".join(chars)


_ULIDS: Final = _MonotonicUlid()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ULIDS.reset)


def new_message_id() -> str:
    """Return a new ``webhook-id``: ``msg_`` and a 26-character ULID, so ids sort by creation time.

    Ids made by one process strictly increase; ids from different processes sort by millisecond.
    """
    return "msg_" + _ULIDS.next()
