"""Fuzzing ``Webhook.verify``: whatever arrives, the only exception is ``VerificationError``.

Hypothesis runs derandomized and without its example database, so every run checks the same inputs.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from spotcheck.sdk import VerificationError, Webhook

NOW = 1_700_000_000
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
SIGNING_KEY = "whsk_" + base64.b64encode(bytes(range(100, 132))).decode()
SIGNER = Webhook([SECRET, SIGNING_KEY])
VERIFIERS = [Webhook(SECRET), Webhook(SIGNING_KEY), Webhook([SECRET, SIGNING_KEY], tolerance=0)]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAMES = ["webhook-id", "webhook-timestamp", "webhook-signature"]
name_variants = st.sampled_from(NAMES).flatmap(
    lambda name: st.sampled_from([name, name.upper(), name.title(), name.replace("k", "\u212a")])
)
header_names = st.one_of(name_variants, st.text(max_size=24), st.sampled_from(["content-type", "host"]))

valid_ids = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="."), min_size=1)
huge = st.integers(min_value=257, max_value=50_000)
ids = st.one_of(valid_ids, st.text(), huge.map(lambda size: "m" * size))
timestamps = st.one_of(
    st.integers(min_value=NOW - 600, max_value=NOW + 600).map(str),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=30),
    huge.map(lambda size: "1" * size),
)
base64_values = st.binary(max_size=96).map(lambda raw: base64.b64encode(raw).decode())
entries = st.tuples(
    st.sampled_from(["v1", "v1a", "v2", "V1", "", "v1 ", "v1a,v1"]),
    st.one_of(base64_values, st.text(max_size=100), st.just("")),
).map(lambda pair: f"{pair[0]},{pair[1]}")
signatures = st.one_of(
    st.lists(entries, max_size=24).map(" ".join),
    st.lists(entries, max_size=4).map("  ".join),
    st.text(),
    huge.map(lambda size: "v1," + "A" * size),
    huge.map(lambda size: "v2,x " * (size // 5)),
)
values = st.one_of(ids, timestamps, signatures, st.binary(max_size=16), st.none(), st.integers())
bodies = st.one_of(
    st.binary(max_size=4096),
    st.text(max_size=64),
    st.none(),
    st.integers(min_value=0, max_value=6).map(lambda power: b"x" * 10**power),
)


class MultiHeaders(Mapping[str, object]):
    """Like an ASGI header list: ``items()`` lists every pair, repeats included."""

    def __init__(self, pairs: list[tuple[object, object]]) -> None:
        self._pairs = pairs

    def __getitem__(self, key: str) -> object:
        for name, value in self._pairs:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([str(name) for name, _ in self._pairs])

    def __len__(self) -> int:
        return len(self._pairs)

    def items(self) -> list[tuple[object, object]]:  # type: ignore[override]
        return list(self._pairs)


def verify_or_refuse(verifier: Webhook, body: object, headers: object, now: float = NOW) -> bool:
    """Return whether ``verify`` accepted; any exception but ``VerificationError`` propagates and fails the test."""
    refusal: VerificationError | None = None
    try:
        verifier.verify(body, headers, now=now)  # type: ignore[arg-type]
    except VerificationError as error:
        refusal = error
    if refusal is None:
        return True
    assert isinstance(refusal.reason, str)
    assert refusal.reason
    return False


@FUZZ
@given(headers=st.dictionaries(header_names, values, max_size=8), body=bodies, verifier=st.sampled_from(VERIFIERS))
def test_arbitrary_dict_headers_only_ever_raise_verification_error(
    headers: dict[str, object], body: object, verifier: Webhook
) -> None:
    assert not verify_or_refuse(verifier, body, headers)


@FUZZ
@given(pairs=st.lists(st.tuples(header_names, values), max_size=8), body=bodies)
def test_arbitrary_multi_mapping_headers_only_ever_raise_verification_error(
    pairs: list[tuple[object, object]], body: object
) -> None:
    assert not verify_or_refuse(VERIFIERS[2], body, MultiHeaders(pairs))


@st.composite
def mutated_messages(draw: st.DrawFn) -> tuple[bytes, dict[str, object], bool]:
    """A validly signed message, then zero or more random edits; the flag says whether it is still intact."""
    body = draw(st.binary(max_size=512))
    msg_id = draw(valid_ids)
    headers: dict[str, object] = dict(SIGNER.headers(msg_id, body, timestamp=NOW))
    intact = True
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        edit = draw(st.sampled_from(["drop", "replace", "add", "recase", "body", "append"]))
        name = draw(st.sampled_from(NAMES))
        if edit == "drop":
            headers.pop(name, None)
        elif edit == "replace":
            headers[name] = draw(values)
        elif edit == "add":
            headers[draw(header_names)] = draw(values)
        elif edit == "recase" and name in headers:
            headers[name.title()] = headers[name]
        elif edit == "body":
            body = draw(st.binary(max_size=512))
        elif edit == "append" and isinstance(headers.get("webhook-signature"), str):
            headers["webhook-signature"] = f"{headers['webhook-signature']} {draw(entries)}"
        intact = False
    return body, headers, intact


@FUZZ
@given(message=mutated_messages(), verifier=st.sampled_from(VERIFIERS))
def test_edited_signed_messages_only_ever_raise_verification_error(
    message: tuple[bytes, dict[str, object], bool], verifier: Webhook
) -> None:
    body, headers, intact = message
    accepted = verify_or_refuse(verifier, body, headers)
    if intact:
        assert accepted


@FUZZ
@given(msg_id=valid_ids, body=st.binary(max_size=512), other=st.binary(max_size=512))
def test_a_changed_body_is_never_accepted(msg_id: str, body: bytes, other: bytes) -> None:
    assume(other != body)
    headers = SIGNER.headers(msg_id, body, timestamp=NOW)
    for verifier in VERIFIERS:
        assert not verify_or_refuse(verifier, other, headers)


@FUZZ
@given(
    msg_id=valid_ids.filter(lambda text: len(text) <= 256),
    timestamp=st.integers(min_value=0, max_value=10**12 - 1),
    body=st.binary(max_size=2048),
    skew=st.integers(min_value=-300, max_value=300),
)
def test_every_signed_message_verifies_within_the_tolerance(
    msg_id: str, timestamp: int, body: bytes, skew: int
) -> None:
    headers = SIGNER.headers(msg_id, body, timestamp=timestamp)
    for verifier in VERIFIERS[:2]:
        assert verify_or_refuse(verifier, body, headers, now=timestamp + skew)
