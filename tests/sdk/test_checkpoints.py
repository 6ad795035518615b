"""``verify_checkpoint``: a platform checks a gateway's signed audit checkpoint with the SDK alone."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from spotcheck.sdk import canonical_checkpoint, generate_keypair, verify_checkpoint

HEAD = "9f" * 32


def signed(secret_key: str, **fields: Any) -> dict[str, Any]:
    """A checkpoint document as a gateway publishes it, signed with ``secret_key`` (``whsk_…``)."""
    document: dict[str, Any] = {"seq": 1240, "head_hash": HEAD, "count": 1234, "at": "2026-03-02T08:15:00.123456Z"}
    document.update(fields)
    seed = base64.b64decode(secret_key.removeprefix("whsk_"))
    payload = canonical_checkpoint(
        seq=document["seq"], head_hash=document["head_hash"], count=document["count"], at=document["at"]
    )
    document["signature"] = base64.b64encode(Ed25519PrivateKey.from_private_bytes(seed).sign(payload)).decode()
    return document


def test_the_signed_form_is_sorted_compact_ascii_json_with_the_type() -> None:
    payload = canonical_checkpoint(seq=7, head_hash=HEAD, count=6, at="2026-03-02T08:15:00.000001Z")
    assert payload == (
        b'{"at":"2026-03-02T08:15:00.000001Z","count":6,"head_hash":"' + HEAD.encode() + b'","seq":7,'
        b'"type":"spotcheck.audit.checkpoint.v1"}'
    )


def test_a_genuine_checkpoint_verifies_with_its_key_only() -> None:
    secret, public = generate_keypair()
    document = signed(secret)
    assert verify_checkpoint(document, public)
    assert not verify_checkpoint(document, generate_keypair()[1])


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", 1241), ("count", 1233), ("head_hash", "0" * 64), ("at", "2026-03-02T08:15:00.123457Z")],
)
def test_any_changed_field_breaks_the_signature(field: str, value: Any) -> None:
    secret, public = generate_keypair()
    document = signed(secret)
    document[field] = value
    assert not verify_checkpoint(document, public)


@pytest.mark.parametrize(
    "change",
    [
        {"seq": True},
        {"seq": "1240"},
        {"count": 12.0},
        {"head_hash": "9F" * 32},
        {"head_hash": "9f" * 31},
        {"at": None},
        {"signature": "not base64!"},
        {"signature": ""},
        {"signature": 5},
    ],
)
def test_malformed_fields_answer_false(change: dict[str, Any]) -> None:
    secret, public = generate_keypair()
    document = {**signed(secret), **change}
    assert verify_checkpoint(document, public) is False


@pytest.mark.parametrize("key", ["", "whsk_" + "A" * 43, "whpk_garbage", "whpk_" + "A" * 10, 42, None])
def test_malformed_keys_answer_false(key: Any) -> None:
    assert verify_checkpoint(signed(generate_keypair()[0]), key) is False


def test_a_missing_field_answers_false() -> None:
    secret, public = generate_keypair()
    for name in ("seq", "count", "head_hash", "at", "signature"):
        document = signed(secret)
        del document[name]
        assert verify_checkpoint(document, public) is False


@given(st.dictionaries(st.sampled_from(["seq", "count", "head_hash", "at", "signature", "x"]), st.from_type(object)))
def test_arbitrary_input_never_raises(document: dict[str, Any]) -> None:
    assert verify_checkpoint(document, "whpk_" + "A" * 43) in {True, False}
