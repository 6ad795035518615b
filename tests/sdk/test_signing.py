"""Standard Webhooks signing: keys, signing, verification, rotation and every rejection path."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterator, Mapping

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.datastructures import Headers as LitestarHeaders

from spotcheck.sdk import (
    VerificationError,
    Webhook,
    _signing,
    generate_keypair,
    generate_secret,
    new_message_id,
    public_key_of,
)

NOW = 1_700_000_000
MSG_ID = "msg_01HGW2N5ZQ8M3J0V6R7T9X4K2B"
BODY = b'{"type":"sampling.notice","timestamp":"2023-11-14T22:13:20Z","data":{"case_id":"C-1"}}'
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(32, 64))).decode()
SEED = bytes(range(100, 132))
SIGNING_KEY = "whsk_" + base64.b64encode(SEED).decode()
PUBLIC_RAW = Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw()
PUBLIC_KEY = "whpk_" + base64.b64encode(PUBLIC_RAW).decode()


def signed(key: str | list[str], *, msg_id: str = MSG_ID, timestamp: int = NOW, body: bytes = BODY) -> dict[str, str]:
    return Webhook(key).headers(msg_id, body, timestamp=timestamp)


def reason_of(verifier: Webhook, body: object, headers: object, *, now: float = NOW) -> str:
    with pytest.raises(VerificationError) as caught:
        verifier.verify(body, headers, now=now)  # type: ignore[arg-type]
    return caught.value.reason


class MultiHeaders(Mapping[str, str]):
    """A read-only multi-mapping like an ASGI header list: ``items()`` lists every pair, repeats included."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def __getitem__(self, key: str) -> str:
        for name, value in self._pairs:
            if name.lower() == key.lower():
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, _ in self._pairs])

    def __len__(self) -> int:
        return len(self._pairs)

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return list(self._pairs)


# --- keys -----------------------------------------------------------------------------------------------------------


def test_a_single_key_or_a_list_of_keys_is_accepted() -> None:
    assert Webhook(SECRET).can_sign
    assert Webhook([SECRET, SIGNING_KEY, PUBLIC_KEY]).can_sign
    assert Webhook((SECRET,)).can_sign
    assert not Webhook(PUBLIC_KEY).can_sign


def test_unpadded_base64_and_surrounding_whitespace_are_tolerated_in_keys() -> None:
    unpadded = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"[:-4]  # 28 chars: 21 bytes, too short
    with pytest.raises(ValueError, match="24 to 64 bytes"):
        Webhook(unpadded)
    key = "whsec_" + base64.b64encode(bytes(range(25))).decode().rstrip("=")
    padded = "whsec_" + base64.b64encode(bytes(range(25))).decode()
    assert Webhook(key).sign(MSG_ID, NOW, BODY) == Webhook(padded).sign(MSG_ID, NOW, BODY)
    assert Webhook(f"  {SECRET}\n").sign(MSG_ID, NOW, BODY) == Webhook(SECRET).sign(MSG_ID, NOW, BODY)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "unknown key type"),
        ("sk_live_abcdef", "unknown key type"),
        ("", "unknown key type"),
        ("whsec_not base64!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"x" * 16).decode(), "24 to 64 bytes, got 16"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "24 to 64 bytes, got 65"),
        ("whsk_" + base64.b64encode(b"x" * 31).decode(), "got 31"),
        ("whsk_" + base64.b64encode(SEED + bytes(32)).decode(), "does not match its seed"),
        ("whsk_%%%", "not valid base64"),
        ("whpk_" + base64.b64encode(b"x" * 33).decode(), "32 bytes, got 33"),
        ("whpk_é", "not valid base64"),
    ],
)
def test_bad_key_material_raises_value_error_without_echoing_the_key(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Webhook([SECRET, key])
    assert "key #2" in str(caught.value)
    material = key.partition("_")[2]
    if len(material) > 3:
        assert material not in str(caught.value)


def test_no_key_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        Webhook([])


def test_a_key_that_is_not_text_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="key #1: expected a str, got bytes"):
        Webhook([SECRET.encode()])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not bytes"):
        Webhook(SECRET.encode())  # type: ignore[arg-type]


@pytest.mark.parametrize("tolerance", [-1, True, 1.5])
def test_tolerance_must_be_a_non_negative_integer(tolerance: object) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        Webhook(SECRET, tolerance=tolerance)  # type: ignore[arg-type]


def test_the_64_byte_seed_and_public_key_form_of_whsk_signs_like_the_seed() -> None:
    long_form = "whsk_" + base64.b64encode(SEED + PUBLIC_RAW).decode()
    assert Webhook(long_form).sign(MSG_ID, NOW, BODY) == Webhook(SIGNING_KEY).sign(MSG_ID, NOW, BODY)
    assert public_key_of(long_form) == PUBLIC_KEY


def test_repr_shows_counts_and_never_key_material() -> None:
    text = repr(Webhook([SECRET, SIGNING_KEY]))
    assert "v1 keys=1" in text
    assert "v1a signing keys=1" in text
    assert SECRET[6:20] not in text
    assert SIGNING_KEY[5:20] not in text


def test_generate_secret_makes_a_fresh_32_byte_whsec() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first[6:], validate=True)) == 32
    assert first != second
    verifier = Webhook(first)
    verifier.verify(BODY, verifier.headers(MSG_ID, BODY, timestamp=NOW), now=NOW)


def test_generate_keypair_makes_a_matching_ed25519_pair() -> None:
    secret_key, public_key = generate_keypair()
    assert secret_key.startswith("whsk_")
    assert public_key.startswith("whpk_")
    assert len(base64.b64decode(secret_key[5:], validate=True)) == 32
    assert len(base64.b64decode(public_key[5:], validate=True)) == 32
    assert public_key_of(secret_key) == public_key
    assert generate_keypair() != (secret_key, public_key)
    Webhook(public_key).verify(BODY, signed(secret_key), now=NOW)


def test_public_key_of_derives_the_whpk() -> None:
    assert public_key_of(SIGNING_KEY) == PUBLIC_KEY


@pytest.mark.parametrize(
    ("key", "message"), [(SECRET, "expected a whsk_ key"), (PUBLIC_KEY, "expected a whsk_ key"), ("whsk_AAAA", "got 3")]
)
def test_public_key_of_refuses_what_is_not_a_whsk(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        public_key_of(key)
    assert key[6:] not in str(caught.value)


def test_public_key_of_refuses_a_non_str() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        public_key_of(b"whsk_")  # type: ignore[arg-type]


# --- signing ----------------------------------------------------------------------------------------------------------


def test_sign_is_hmac_sha256_over_id_timestamp_and_body() -> None:
    content = f"{MSG_ID}.{NOW}.".encode() + BODY
    expected = base64.b64encode(hmac.new(bytes(range(32)), content, hashlib.sha256).digest()).decode()
    assert Webhook(SECRET).sign(MSG_ID, NOW, BODY) == f"v1,{expected}"


def test_sign_with_ed25519_is_verifiable_by_the_public_key() -> None:
    value = Webhook(SIGNING_KEY).sign(MSG_ID, NOW, BODY)
    assert value.startswith("v1a,")
    signature = base64.b64decode(value[4:], validate=True)
    public = Ed25519PrivateKey.from_private_bytes(SEED).public_key()
    public.verify(signature, f"{MSG_ID}.{NOW}.".encode() + BODY)


def test_sign_emits_one_entry_per_signing_key_hmac_first() -> None:
    value = Webhook([SIGNING_KEY, SECRET, OTHER_SECRET, PUBLIC_KEY]).sign(MSG_ID, NOW, BODY)
    versions = [entry.split(",")[0] for entry in value.split(" ")]
    assert versions == ["v1", "v1", "v1a"]


def test_repeated_keys_sign_once() -> None:
    assert len(Webhook([SECRET, SECRET, f" {SECRET}"]).sign(MSG_ID, NOW, BODY).split(" ")) == 1
    assert len(Webhook([SIGNING_KEY, SIGNING_KEY]).sign(MSG_ID, NOW, BODY).split(" ")) == 1


def test_headers_carries_all_three_and_defaults_to_now() -> None:
    webhook = Webhook(SECRET)
    explicit = webhook.headers(MSG_ID, BODY, timestamp=NOW)
    assert explicit == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(NOW),
        "webhook-signature": webhook.sign(MSG_ID, NOW, BODY),
    }
    before = int(time.time())
    current = webhook.headers(MSG_ID, BODY)
    assert before <= int(current["webhook-timestamp"]) <= int(time.time())
    webhook.verify(BODY, current)


def test_bytearray_and_memoryview_bodies_sign_and_verify_like_bytes() -> None:
    webhook = Webhook([SECRET, SIGNING_KEY])
    headers = webhook.headers(MSG_ID, BODY, timestamp=NOW)
    # The API is typed as bytes; other buffers are accepted at runtime as a courtesy.
    assert webhook.sign(MSG_ID, NOW, bytearray(BODY)) == headers["webhook-signature"]  # type: ignore[arg-type]
    webhook.verify(bytearray(BODY), headers, now=NOW)  # type: ignore[arg-type]
    webhook.verify(memoryview(BODY), headers, now=NOW)  # type: ignore[arg-type]
    interleaved = bytes(byte for pair in zip(BODY, bytes(len(BODY)), strict=True) for byte in pair)
    strided = memoryview(interleaved)[::2]  # not contiguous: must still be hashed as its bytes
    assert not strided.contiguous
    webhook.verify(strided, headers, now=NOW)  # type: ignore[arg-type]


def test_a_verify_only_webhook_cannot_sign() -> None:
    with pytest.raises(ValueError, match="no signing key"):
        Webhook(PUBLIC_KEY).sign(MSG_ID, NOW, BODY)


@pytest.mark.parametrize("msg_id", ["", "msg.1", "msg 1", "msg_é", "msg\n1", "m" * 257])
def test_sign_refuses_ids_a_verifier_would_refuse(msg_id: str) -> None:
    with pytest.raises(ValueError, match="msg_id"):
        Webhook(SECRET).sign(msg_id, NOW, BODY)


@pytest.mark.parametrize("timestamp", [-1, True, 10**12, 1.5])
def test_sign_refuses_bad_timestamps(timestamp: object) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        Webhook(SECRET).sign(MSG_ID, timestamp, BODY)  # type: ignore[arg-type]


def test_sign_refuses_a_text_body() -> None:
    with pytest.raises(TypeError, match="body must be bytes"):
        Webhook(SECRET).sign(MSG_ID, NOW, BODY.decode())  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [b"", b"k" * 24, b"k" * 64, b"k" * 65, b"k" * 200])
def test_precomputed_hmac_matches_the_standard_library(key: bytes) -> None:
    computed = _signing._HmacKey(key).digest(b"prefix.", BODY)
    assert computed == hmac.new(key, b"prefix." + BODY, hashlib.sha256).digest()


# --- verification: accepted -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [SECRET, SIGNING_KEY, [SECRET, SIGNING_KEY]])
def test_a_message_signed_by_our_key_verifies(key: str | list[str]) -> None:
    Webhook(key).verify(BODY, signed(key), now=NOW)


def test_the_tolerance_window_is_inclusive_on_both_sides() -> None:
    webhook = Webhook(SECRET, tolerance=60)
    headers = signed(SECRET)
    webhook.verify(BODY, headers, now=NOW + 60)
    webhook.verify(BODY, headers, now=NOW - 60)
    webhook.verify(BODY, headers, now=NOW + 59.999)


def test_a_zero_tolerance_accepts_only_the_exact_second() -> None:
    webhook = Webhook(SECRET, tolerance=0)
    webhook.verify(BODY, signed(SECRET), now=NOW)
    assert reason_of(webhook, BODY, signed(SECRET), now=NOW + 0.5) == "message timestamp too old"


def test_timestamp_zero_is_a_valid_integer() -> None:
    Webhook(SECRET).verify(BODY, signed(SECRET, timestamp=0), now=0)


def test_header_names_match_case_insensitively_in_a_plain_dict() -> None:
    headers = {name.title(): value for name, value in signed(SECRET).items()}
    headers["Content-Type"] = "application/json"
    assert "Webhook-Signature" in headers
    Webhook(SECRET).verify(BODY, headers, now=NOW)
    shouted = {name.upper(): value for name, value in signed(SECRET).items()}
    Webhook(SECRET).verify(BODY, shouted, now=NOW)


def test_httpx_headers_are_accepted() -> None:
    headers = httpx.Headers({"Webhook-Id": MSG_ID, **{k: v for k, v in signed(SECRET).items() if k != "webhook-id"}})
    Webhook(SECRET).verify(BODY, headers, now=NOW)


def test_litestar_headers_are_accepted() -> None:
    raw = [(name.title().encode(), value.encode()) for name, value in signed(SECRET).items()]
    Webhook(SECRET).verify(BODY, LitestarHeaders(raw), now=NOW)


def test_a_generic_mapping_is_accepted() -> None:
    Webhook(SECRET).verify(BODY, MultiHeaders(list(signed(SECRET).items())), now=NOW)


def test_unknown_versions_are_ignored_when_one_known_signature_verifies() -> None:
    headers = signed(SECRET)
    headers["webhook-signature"] = f"v2,AAAA v9,!!not-base64!! {headers['webhook-signature']} v1b,x"
    Webhook(SECRET).verify(BODY, headers, now=NOW)


def test_the_body_is_verified_as_raw_bytes_not_reparsed() -> None:
    body = b'{"b": 1,   "a": "\\u00e9"}\n'
    Webhook(SECRET).verify(body, signed(SECRET, body=body), now=NOW)
    assert reason_of(Webhook(SECRET), b'{"b":1,"a":"\xc3\xa9"}', signed(SECRET, body=body)) == "no matching signature"


def test_empty_body_and_non_utf8_body_verify() -> None:
    for body in (b"", b"\xff\xfe\x00binary"):
        Webhook(SECRET).verify(body, signed(SECRET, body=body), now=NOW)


# --- rotation -----------------------------------------------------------------------------------------------------


def test_a_header_with_several_signatures_verifies_when_one_is_ours() -> None:
    headers = signed(SECRET)
    foreign = signed(OTHER_SECRET)["webhook-signature"]
    headers["webhook-signature"] = f"{foreign} {headers['webhook-signature']} {foreign}"
    Webhook(SECRET).verify(BODY, headers, now=NOW)


def test_a_sender_with_old_and_new_keys_satisfies_receivers_on_either_key() -> None:
    headers = signed([SECRET, OTHER_SECRET])
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(SECRET).verify(BODY, headers, now=NOW)
    Webhook(OTHER_SECRET).verify(BODY, headers, now=NOW)


def test_a_receiver_with_old_and_new_keys_accepts_a_sender_on_either_key() -> None:
    receiver = Webhook([OTHER_SECRET, SECRET])
    receiver.verify(BODY, signed(SECRET), now=NOW)
    receiver.verify(BODY, signed(OTHER_SECRET), now=NOW)


def test_rotating_from_symmetric_to_asymmetric() -> None:
    headers = signed([SECRET, SIGNING_KEY])
    Webhook(SECRET).verify(BODY, headers, now=NOW)
    Webhook(PUBLIC_KEY).verify(BODY, headers, now=NOW)
    Webhook([OTHER_SECRET, PUBLIC_KEY]).verify(BODY, headers, now=NOW)


def test_a_whpk_only_verifier_accepts_the_whsk_signer() -> None:
    Webhook(PUBLIC_KEY).verify(BODY, signed(SIGNING_KEY), now=NOW)
    other_public = generate_keypair()[1]
    Webhook([other_public, PUBLIC_KEY]).verify(BODY, signed(SIGNING_KEY), now=NOW)


def test_a_whsk_verifies_with_its_public_half() -> None:
    Webhook(SIGNING_KEY).verify(BODY, signed(SIGNING_KEY), now=NOW)


# --- verification: every rejection, with its reason -----------------------------------------------------------------


def with_header(name: str, value: str | None) -> dict[str, str]:
    headers = signed(SECRET)
    if value is None:
        del headers[name]
    else:
        headers[name] = value
    return headers


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_rejected(name: str) -> None:
    assert reason_of(Webhook(SECRET), BODY, with_header(name, None)) == f"missing {name} header"


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_an_empty_header_is_rejected(name: str) -> None:
    assert reason_of(Webhook(SECRET), BODY, with_header(name, "")) == f"empty {name} header"


def test_a_header_value_that_is_not_text_is_rejected() -> None:
    headers: dict[str, object] = dict(signed(SECRET))
    headers["webhook-id"] = MSG_ID.encode()
    assert reason_of(Webhook(SECRET), BODY, headers) == "webhook-id header is not text"


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_case_variants_of_one_header_in_a_dict_are_a_duplicate(name: str) -> None:
    headers = signed(SECRET)
    headers[name.title()] = headers[name]
    assert reason_of(Webhook(SECRET), BODY, headers) == f"duplicate {name} header"


def test_a_repeated_header_in_a_multi_mapping_is_a_duplicate() -> None:
    pairs = [*signed(SECRET).items(), ("Webhook-Timestamp", str(NOW + 1))]
    assert reason_of(Webhook(SECRET), BODY, MultiHeaders(pairs)) == "duplicate webhook-timestamp header"
    raw = [(name.encode(), value.encode()) for name, value in pairs]
    assert reason_of(Webhook(SECRET), BODY, LitestarHeaders(raw)) == "duplicate webhook-timestamp header"


def test_a_repeated_header_merged_by_httpx_is_rejected() -> None:
    headers = httpx.Headers([*signed(SECRET).items(), ("webhook-id", "msg_other")])
    reason = reason_of(Webhook(SECRET), BODY, headers)
    assert reason == "webhook-id header must be printable ASCII without spaces or '.'"
    headers = httpx.Headers([*signed(SECRET).items(), ("webhook-signature", signed(SECRET)["webhook-signature"])])
    assert reason_of(Webhook(SECRET), BODY, headers) == "bad base64 in a v1 signature"


def test_the_kelvin_sign_does_not_stand_in_for_k() -> None:
    headers = signed(SECRET)
    headers["Webhoo\u212a-Id"] = headers.pop("webhook-id")
    assert reason_of(Webhook(SECRET), BODY, headers) == "missing webhook-id header"


def test_non_text_header_names_are_skipped() -> None:
    for names in (str.title, str.lower):
        headers: dict[object, str] = {1: "x"}
        headers.update({names(name): value for name, value in signed(SECRET).items()})
        Webhook(SECRET).verify(BODY, headers, now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("headers", [None, [("webhook-id", MSG_ID)], "webhook-id"])
def test_headers_that_are_not_a_mapping_are_rejected(headers: object) -> None:
    assert reason_of(Webhook(SECRET), BODY, headers) == "headers must be a mapping"


def test_a_mapping_that_cannot_be_walked_is_rejected() -> None:
    class Broken(MultiHeaders):
        def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
            raise TypeError("broken")

    class Odd(MultiHeaders):
        def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
            return [("webhook-id",)]  # type: ignore[list-item]

    assert reason_of(Webhook(SECRET), BODY, Broken([])) == "headers cannot be read as a mapping"
    assert reason_of(Webhook(SECRET), BODY, Odd([])) == "headers cannot be read as a mapping"


@pytest.mark.parametrize("body", [BODY.decode(), None, 12])
def test_a_body_that_is_not_bytes_is_rejected(body: object) -> None:
    assert reason_of(Webhook(SECRET), body, signed(SECRET)) == "body must be bytes"


def test_an_id_longer_than_256_characters_is_rejected() -> None:
    long_id = "m" * 257
    reason = reason_of(Webhook(SECRET), BODY, with_header("webhook-id", long_id))
    assert reason == "webhook-id header is longer than 256 characters"
    Webhook(SECRET).verify(BODY, signed(SECRET, msg_id="m" * 256), now=NOW)


@pytest.mark.parametrize("msg_id", ["msg.1", "msg 1", "msg_é", "msg\t1", "msg\x7f", "\u212a"])
def test_an_id_outside_printable_ascii_or_with_a_dot_is_rejected(msg_id: str) -> None:
    reason = reason_of(Webhook(SECRET), BODY, with_header("webhook-id", msg_id))
    assert reason == "webhook-id header must be printable ASCII without spaces or '.'"


@pytest.mark.parametrize(
    "timestamp",
    [
        "hello",
        f"{NOW}.5",
        f"-{NOW}",
        f"+{NOW}",
        f" {NOW}",
        f"{NOW} ",
        f"0{NOW}",
        "00",
        "1_700_000_000",
        "١٧٠٠٠٠٠٠٠٠",
        "1e9",
        "9" * 13,
        "1" * 10_000,
    ],
)
def test_a_timestamp_that_is_not_a_plain_integer_is_rejected(timestamp: str) -> None:
    reason = reason_of(Webhook(SECRET), BODY, with_header("webhook-timestamp", timestamp))
    assert reason == "webhook-timestamp header is not an integer of Unix seconds"


def test_a_timestamp_older_than_the_tolerance_is_rejected() -> None:
    reason = reason_of(Webhook(SECRET, tolerance=300), BODY, signed(SECRET), now=NOW + 301)
    assert reason == "message timestamp too old"


def test_a_timestamp_further_ahead_than_the_tolerance_is_rejected() -> None:
    reason = reason_of(Webhook(SECRET, tolerance=300), BODY, signed(SECRET), now=NOW - 301)
    assert reason == "message timestamp too new"


def test_the_default_clock_is_used_when_now_is_not_given() -> None:
    with pytest.raises(VerificationError, match="too old"):
        Webhook(SECRET).verify(BODY, signed(SECRET, timestamp=1))


@pytest.mark.parametrize("now", [float("nan"), float("inf"), "1700000000"])
def test_an_unusable_clock_reading_is_rejected(now: object) -> None:
    reason = reason_of(Webhook(SECRET), BODY, signed(SECRET), now=now)  # type: ignore[arg-type]
    assert reason == "the verifier's clock reading is not a finite number"


def test_an_oversize_signature_header_is_rejected() -> None:
    valid = signed(SECRET)["webhook-signature"]
    padding = "v2," + "A" * (8192 - len(valid) - 4)
    Webhook(SECRET).verify(BODY, with_header("webhook-signature", f"{padding} {valid}"), now=NOW)
    reason = reason_of(Webhook(SECRET), BODY, with_header("webhook-signature", f"{padding}A {valid}"))
    assert reason == "webhook-signature header is longer than 8192 characters"


def test_more_than_twenty_signature_entries_are_rejected() -> None:
    valid = signed(SECRET)["webhook-signature"]
    Webhook(SECRET).verify(BODY, with_header("webhook-signature", " ".join(["v2,x"] * 19 + [valid])), now=NOW)
    reason = reason_of(Webhook(SECRET), BODY, with_header("webhook-signature", " ".join(["v2,x"] * 20 + [valid])))
    assert reason == "webhook-signature header has more than 20 entries"


def test_a_non_ascii_signature_header_is_rejected() -> None:
    valid = signed(SECRET)["webhook-signature"]
    reason = reason_of(Webhook(SECRET), BODY, with_header("webhook-signature", f"v2,é {valid}"))
    assert reason == "webhook-signature header is not ASCII"


@pytest.mark.parametrize("entry", ["v1", ",AAAA", "v1,", "", "v1;AAAA"])
def test_a_malformed_signature_entry_is_rejected(entry: str) -> None:
    valid = signed(SECRET)["webhook-signature"]
    for value in (f"{entry} {valid}", f"{valid} {entry}"):
        reason = reason_of(Webhook(SECRET), BODY, with_header("webhook-signature", value))
        assert reason == "malformed webhook-signature entry: expected '<version>,<base64>'"


def test_doubled_spaces_between_entries_are_malformed() -> None:
    valid = signed(SECRET)["webhook-signature"]
    reason = reason_of(Webhook(SECRET), BODY, with_header("webhook-signature", f"{valid}  {valid}"))
    assert reason.startswith("malformed webhook-signature entry")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("v1,!!!!", "bad base64 in a v1 signature"),
        ("v1,dawfeoifkpqwoekfpqoekf", "bad base64 in a v1 signature"),
        ("v1,g0hM9", "bad base64 in a v1 signature"),
        ("v1,AAAA=AAA", "bad base64 in a v1 signature"),
        ("v1,AA AA", "bad base64 in a v1 signature"),
        ("v1a,@@@@", "bad base64 in a v1a signature"),
        ("v1," + base64.b64encode(bytes(16)).decode(), "a v1 signature must be 32 bytes, got 16"),
        ("v1a," + base64.b64encode(bytes(32)).decode(), "a v1a signature must be 64 bytes, got 32"),
    ],
)
def test_bad_signature_encodings_are_rejected(value: str, reason: str) -> None:
    assert reason_of(Webhook(SECRET), BODY, with_header("webhook-signature", value)) == reason


def test_only_unknown_versions_leave_nothing_to_check() -> None:
    reason = reason_of(Webhook(SECRET), BODY, with_header("webhook-signature", "v2,AAAA v0,BBBB"))
    assert reason == "no signature of a version this verifier holds keys for (v1)"


def test_a_v1a_signature_cannot_satisfy_a_symmetric_only_verifier() -> None:
    reason = reason_of(Webhook(SECRET), BODY, signed(SIGNING_KEY))
    assert reason == "no signature of a version this verifier holds keys for (v1)"
    reason = reason_of(Webhook(PUBLIC_KEY), BODY, signed(SECRET))
    assert reason == "no signature of a version this verifier holds keys for (v1a)"
    reason = reason_of(Webhook([SECRET, PUBLIC_KEY]), BODY, with_header("webhook-signature", "v3,AAAA"))
    assert reason == "no signature of a version this verifier holds keys for (v1 or v1a)"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda headers, body: (headers, body + b" "),
        lambda headers, body: ({**headers, "webhook-id": MSG_ID + "X"}, body),
        lambda headers, body: ({**headers, "webhook-timestamp": str(NOW + 1)}, body),
        lambda headers, body: (headers, b""),
    ],
    ids=["body", "id", "timestamp", "empty body"],
)
@pytest.mark.parametrize("key", [SECRET, SIGNING_KEY])
def test_tampering_with_any_signed_part_is_rejected(key: str, tamper: object) -> None:
    headers, body = tamper(signed(key), BODY)  # type: ignore[operator]
    assert reason_of(Webhook(key), body, headers) == "no matching signature"


@pytest.mark.parametrize(
    ("signer", "verifier"),
    [(OTHER_SECRET, SECRET), (generate_keypair()[0], PUBLIC_KEY)],
    ids=["hmac", "ed25519"],  # a fresh key in the id would differ between xdist workers
)
def test_a_signature_by_another_key_is_rejected(signer: str, verifier: str) -> None:
    assert reason_of(Webhook(verifier), BODY, signed(signer)) == "no matching signature"


def test_reasons_never_contain_key_material_or_signatures() -> None:
    headers = signed(OTHER_SECRET)
    reason = reason_of(Webhook(SECRET), BODY, headers)
    assert SECRET[6:] not in reason
    assert headers["webhook-signature"][3:] not in reason


# --- message ids --------------------------------------------------------------------------------------------------


def crockford(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(char)
    return value


def test_new_message_id_is_msg_and_a_26_character_ulid() -> None:
    assert re.fullmatch(r"msg_[0-7][0-9A-HJKMNP-TV-Z]{25}", new_message_id())


def test_new_message_ids_are_unique_and_strictly_increasing() -> None:
    ids = [new_message_id() for _ in range(2000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_the_id_encodes_its_creation_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    msg_id = new_message_id()
    after = time.time_ns() // 1_000_000
    assert before <= crockford(msg_id[4:14]) <= after


def test_within_one_millisecond_the_random_part_counts_up(monkeypatch: pytest.MonkeyPatch) -> None:
    source = _signing._MonotonicUlid()
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_123_000_000)
    first, second = source.next(), source.next()
    assert crockford(first[:10]) == crockford(second[:10]) == 1_700_000_000_123
    assert crockford(second[10:]) == crockford(first[10:]) + 1
    source._last_random = 2**80 - 1
    carried = source.next()
    assert carried > second
    assert carried[:10] != second[:10]


def test_a_clock_step_back_keeps_ids_ordered(monkeypatch: pytest.MonkeyPatch) -> None:
    source = _signing._MonotonicUlid()
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_123_000_000)
    later = source.next()
    monkeypatch.setattr(time, "time_ns", lambda: 1_600_000_000_000_000_000)
    assert source.next() > later


def test_reset_forgets_the_sequence() -> None:
    source = _signing._MonotonicUlid()
    source.next()
    source.reset()
    assert source._last_ms == 0
    assert source._last_random == 0


def test_generated_ids_are_accepted_by_verify() -> None:
    msg_id = new_message_id()
    Webhook(SECRET).verify(BODY, signed(SECRET, msg_id=msg_id), now=NOW)
