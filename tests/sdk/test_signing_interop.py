"""Interoperability: the reference libraries' own test vectors, and the ``standardwebhooks`` PyPI package.

Vectors come from standard-webhooks/standard-webhooks: ``libraries/python/tests/test_webhooks.py`` and
``libraries/javascript/src/webhook.test.ts`` (HMAC), ``libraries/go/webhook_asymmetric_test.go`` (Ed25519, whose
secret is the 32-byte seed), and the example headers of ``spec/standard-webhooks.md``. The ``standardwebhooks``
package (1.1.0) implements only ``v1``; Ed25519 interop is checked against the Go vector and against signatures
made directly with ``cryptography``.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import standardwebhooks
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotcheck.sdk import VerificationError, Webhook, generate_keypair, generate_secret, new_message_id, public_key_of

REFERENCE_SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REFERENCE_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
REFERENCE_TIMESTAMP = 1614265330
REFERENCE_PAYLOAD = b'{"test": 2432232314}'
REFERENCE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
REFERENCE_DECOY = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
GO_ASYMMETRIC_SEED = "VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
GO_ASYMMETRIC_SIGNATURE = "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="


def reference_headers(signature: str = REFERENCE_SIGNATURE) -> dict[str, str]:
    return {
        "webhook-id": REFERENCE_MSG_ID,
        "webhook-timestamp": str(REFERENCE_TIMESTAMP),
        "webhook-signature": signature,
    }


def reason_of(verifier: Webhook, body: bytes, headers: dict[str, str], now: float) -> str:
    with pytest.raises(VerificationError) as caught:
        verifier.verify(body, headers, now=now)
    return caught.value.reason


# --- the reference libraries' vectors ---------------------------------------------------------------------------------


def test_reference_hmac_vector_signs_identically() -> None:
    webhook = Webhook("whsec_" + REFERENCE_SECRET)
    assert webhook.sign(REFERENCE_MSG_ID, REFERENCE_TIMESTAMP, REFERENCE_PAYLOAD) == REFERENCE_SIGNATURE


def test_reference_hmac_vector_verifies() -> None:
    Webhook("whsec_" + REFERENCE_SECRET).verify(REFERENCE_PAYLOAD, reference_headers(), now=REFERENCE_TIMESTAMP)


def test_reference_unbranded_headers_in_any_case_verify() -> None:
    headers = {name.replace("webhook", "Webhook"): value for name, value in reference_headers().items()}
    Webhook("whsec_" + REFERENCE_SECRET).verify(REFERENCE_PAYLOAD, headers, now=REFERENCE_TIMESTAMP)


def test_reference_multi_signature_header_verifies() -> None:
    value = " ".join([f"v1,{REFERENCE_DECOY}", f"v2,{REFERENCE_DECOY}", REFERENCE_SIGNATURE, f"v1,{REFERENCE_DECOY}"])
    webhook = Webhook("whsec_" + REFERENCE_SECRET)
    webhook.verify(REFERENCE_PAYLOAD, reference_headers(value), now=REFERENCE_TIMESTAMP)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", "no matching signature"),
        ("v1,dawfeoifkpqwoekfpqoekf", "bad base64 in a v1 signature"),
        (REFERENCE_SIGNATURE[:8], "bad base64 in a v1 signature"),
        ("v1,", "malformed webhook-signature entry: expected '<version>,<base64>'"),
    ],
)
def test_reference_invalid_signatures_are_rejected(signature: str, reason: str) -> None:
    webhook = Webhook("whsec_" + REFERENCE_SECRET)
    assert reason_of(webhook, REFERENCE_PAYLOAD, reference_headers(signature), REFERENCE_TIMESTAMP) == reason


@pytest.mark.parametrize(
    ("offset", "reason"), [(-301, "message timestamp too new"), (301, "message timestamp too old")]
)
def test_reference_tolerance_of_five_minutes(offset: int, reason: str) -> None:
    webhook = Webhook("whsec_" + REFERENCE_SECRET)
    assert reason_of(webhook, REFERENCE_PAYLOAD, reference_headers(), REFERENCE_TIMESTAMP + offset) == reason


def test_reference_ed25519_vector_signs_identically() -> None:
    webhook = Webhook("whsk_" + GO_ASYMMETRIC_SEED)
    assert webhook.sign(REFERENCE_MSG_ID, REFERENCE_TIMESTAMP, REFERENCE_PAYLOAD) == GO_ASYMMETRIC_SIGNATURE


def test_reference_ed25519_vector_verifies_with_the_public_key() -> None:
    public_key = public_key_of("whsk_" + GO_ASYMMETRIC_SEED)
    headers = reference_headers(GO_ASYMMETRIC_SIGNATURE)
    Webhook(public_key).verify(REFERENCE_PAYLOAD, headers, now=REFERENCE_TIMESTAMP)
    Webhook("whsk_" + GO_ASYMMETRIC_SEED).verify(REFERENCE_PAYLOAD, headers, now=REFERENCE_TIMESTAMP)


def test_reference_ed25519_multi_signature_header_verifies() -> None:
    decoys = [f"v1,{REFERENCE_DECOY}", f"v2,{REFERENCE_DECOY}"]
    value = " ".join([*decoys, GO_ASYMMETRIC_SIGNATURE, f"v1,{REFERENCE_DECOY}"])
    webhook = Webhook(public_key_of("whsk_" + GO_ASYMMETRIC_SEED))
    webhook.verify(REFERENCE_PAYLOAD, reference_headers(value), now=REFERENCE_TIMESTAMP)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (f"v1a,{REFERENCE_DECOY}", "a v1a signature must be 64 bytes, got 32"),
        ("v1a,", "malformed webhook-signature entry: expected '<version>,<base64>'"),
        (GO_ASYMMETRIC_SIGNATURE[:-6] + "AAAA==", "no matching signature"),
    ],
)
def test_reference_ed25519_invalid_signatures_are_rejected(signature: str, reason: str) -> None:
    webhook = Webhook(public_key_of("whsk_" + GO_ASYMMETRIC_SEED))
    assert reason_of(webhook, REFERENCE_PAYLOAD, reference_headers(signature), REFERENCE_TIMESTAMP) == reason


def test_spec_example_signature_header_is_well_formed() -> None:
    """The spec's example pairs a v1 and a v1a entry; with unrelated keys it fails on the match, not the format."""
    headers = {
        "webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "webhook-timestamp": "1674087231",
        "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= "
        "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
    }
    webhook = Webhook([generate_secret(), generate_keypair()[1]])
    assert reason_of(webhook, b"{}", headers, 1674087231) == "no matching signature"


def test_an_ed25519_signature_made_without_our_code_verifies() -> None:
    private = Ed25519PrivateKey.generate()
    public_key = "whpk_" + base64.b64encode(private.public_key().public_bytes_raw()).decode()
    content = f"{REFERENCE_MSG_ID}.{REFERENCE_TIMESTAMP}.".encode() + REFERENCE_PAYLOAD
    signature = "v1a," + base64.b64encode(private.sign(content)).decode()
    Webhook(public_key).verify(REFERENCE_PAYLOAD, reference_headers(signature), now=REFERENCE_TIMESTAMP)


def test_a_svix_style_64_byte_whsk_interoperates_with_the_32_byte_seed() -> None:
    seed = base64.b64decode(GO_ASYMMETRIC_SEED)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    long_form = "whsk_" + base64.b64encode(seed + public).decode()
    assert Webhook(long_form).sign(REFERENCE_MSG_ID, REFERENCE_TIMESTAMP, REFERENCE_PAYLOAD) == GO_ASYMMETRIC_SIGNATURE


# --- the standardwebhooks package ------------------------------------------------------------------------------------


def theirs_headers(secret: str, msg_id: str, body: str) -> dict[str, str]:
    now = datetime.now(tz=UTC).replace(microsecond=0)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": standardwebhooks.Webhook(secret).sign(msg_id, now, body),
    }


def test_their_signature_verifies_with_ours() -> None:
    secret = generate_secret()
    body = json.dumps({"type": "takedown.order", "data": {"listing": "商品-1"}}, ensure_ascii=False)
    headers = theirs_headers(secret, new_message_id(), body)
    Webhook(secret).verify(body.encode(), headers)


def test_their_unprefixed_secret_is_our_whsec_secret() -> None:
    body = REFERENCE_PAYLOAD.decode()
    headers = theirs_headers(REFERENCE_SECRET, REFERENCE_MSG_ID, body)
    Webhook("whsec_" + REFERENCE_SECRET).verify(body.encode(), headers)


def test_our_signature_verifies_with_theirs() -> None:
    secret = generate_secret()
    body = b'{"type": "sampling.notice", "data": {"case_id": "C-2024-0001"}}'
    headers = Webhook(secret).headers(new_message_id(), body)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == json.loads(body)


def test_our_rotation_header_with_ed25519_entries_verifies_with_theirs() -> None:
    old, new = generate_secret(), generate_secret()
    body = b'{"type": "results.published"}'
    headers = Webhook([old, generate_keypair()[0], new]).headers(new_message_id(), body)
    assert len(headers["webhook-signature"].split(" ")) == 3
    for secret in (old, new):
        assert standardwebhooks.Webhook(secret).verify(body, headers) == {"type": "results.published"}


def test_theirs_ignores_v1a_so_an_ed25519_only_header_is_refused_by_it() -> None:
    body = b"{}"
    headers = Webhook(generate_keypair()[0]).headers(new_message_id(), body)
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="No matching signature"):
        standardwebhooks.Webhook(generate_secret()).verify(body, headers)


def test_both_refuse_a_signature_by_another_key() -> None:
    body = b"{}"
    headers = Webhook(generate_secret()).headers(new_message_id(), body)
    other = generate_secret()
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other).verify(body, headers)
    with pytest.raises(VerificationError, match="no matching signature"):
        Webhook(other).verify(body, headers)


ids = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="."), min_size=1)
bodies = st.text(max_size=2000)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(msg_id=ids, body=bodies)
def test_both_libraries_accept_each_others_messages(msg_id: str, body: str) -> None:
    secret = "whsec_" + REFERENCE_SECRET
    raw = body.encode()
    ours = Webhook(secret).headers(msg_id, raw)
    assert standardwebhooks.Webhook(secret).verify(raw, ours, json_parse=False) is None
    Webhook(secret).verify(raw, theirs_headers(secret, msg_id, body))
