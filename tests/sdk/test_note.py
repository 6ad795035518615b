"""Signed notes and log checkpoints: Go's sumdb/note known answers, real sum.golang.org checkpoints, the C2SP
examples, and every malformed note refused with the one SDK error."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from spotcheck.sdk import (
    LogCheckpoint,
    LogVerificationError,
    SpotcheckError,
    format_log_checkpoint,
    format_verifier_key,
    open_note,
    parse_log_checkpoint,
    parse_verifier_key,
    sign_note,
    verify_log_checkpoint,
)

# ---- Known answers: golang.org/x/mod sumdb/note/note_test.go (TestNewVerifier, TestSign, TestOpen) -------------

PETER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_SEED = base64.b64decode(PETER_SIGNER.split("+", 4)[4])[1:]  # the 0x01 type byte, then the Ed25519 seed
ENOCH_KEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

# Real signed tree heads of sum.golang.org (quoted on public pages), and the verifier key built into cmd/go.
SUMDB_KEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTES = [
    (
        "go.sum database tree\n63512409\nF7eHRPqN/cqPtqti14NKdGGaI1Giw8coWP3KxihFZbg=\n\n"
        "— sum.golang.org "
        "Az3gri1OBHKT87Xj8UXU8zjoHGy/X+7Nl94f8TZkELVaasolmGApUsWqwVG9vE6hgqYb/ph/w2vdkLIVRH7bMB/FPQ4=\n"
    ),
    (
        "go.sum database tree\n15368405\n/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=\n\n"
        "— sum.golang.org "
        "Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=\n"
    ),
]

# C2SP tlog-checkpoint.md's example (the spec publishes no key for it).
C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)


def test_go_verifier_key_parses_to_its_parts() -> None:
    key = parse_verifier_key(PETER_KEY)
    assert key.name == "PeterNeumann"
    assert key.key_id.hex() == "c74f20a3"
    assert format_verifier_key(key.name, key.public_key) == PETER_KEY
    public = Ed25519PrivateKey.from_private_bytes(PETER_SEED).public_key()
    assert key.public_key == public.public_bytes_raw()
    assert format_verifier_key("PeterNeumann", public) == PETER_KEY
    assert parse_verifier_key(ENOCH_KEY).key_id.hex() == "af0cfe78"


def test_signing_reproduces_go_signed_note_byte_for_byte() -> None:
    assert sign_note(TEXT, "PeterNeumann", PETER_SEED) == TEXT + "\n" + PETER_SIG
    assert sign_note(TEXT, "PeterNeumann", Ed25519PrivateKey.from_private_bytes(PETER_SEED)) == TEXT + "\n" + PETER_SIG


def test_go_notes_open_with_either_signer_and_ignore_the_other() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, PETER_KEY) == TEXT
    assert open_note(note, ENOCH_KEY) == TEXT
    assert open_note(note.encode(), parse_verifier_key(PETER_KEY)) == TEXT
    # Repeated good signatures, and a corrupted signature by a key we do not hold, change nothing.
    noisy = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    assert open_note(noisy, PETER_KEY) == TEXT


def test_the_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes_raw()
    key = parse_verifier_key(format_verifier_key("gateway.example/log", raw))
    assert key.key_id == hashlib.sha256(b"gateway.example/log\n\x01" + raw).digest()[:4]
    line = sign_note("hello\n", "gateway.example/log", private).splitlines()[-1]
    assert base64.b64decode(line.split(" ")[2])[:4] == key.key_id


@pytest.mark.parametrize("note", SUMDB_NOTES)
def test_real_sum_golang_org_checkpoints_verify(note: str) -> None:
    checkpoint = verify_log_checkpoint(note, SUMDB_KEY, origin="go.sum database tree")
    assert checkpoint.origin == "go.sum database tree"
    assert checkpoint.size == int(note.split("\n")[1])
    assert base64.b64encode(checkpoint.root_hash).decode() == note.split("\n")[2]
    altered = note.replace(str(checkpoint.size), str(checkpoint.size + 1), 1)
    with pytest.raises(LogVerificationError, match="does not verify"):
        verify_log_checkpoint(altered, SUMDB_KEY)


def test_the_c2sp_example_checkpoint_parses_and_names_its_unknown_signer() -> None:
    body = C2SP_CHECKPOINT[: C2SP_CHECKPOINT.index("\n\n") + 1]
    assert parse_log_checkpoint(body) == LogCheckpoint(
        origin="example.com/behind-the-sofa",
        size=20852163,
        root_hash=base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
    )
    ours = format_verifier_key("example.com/behind-the-sofa", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(LogVerificationError, match=r"signed only by example\.com/behind-the-sofa\+033de0ae"):
        open_note(C2SP_CHECKPOINT, ours)


# ---- Round trips and refusals ----------------------------------------------------------------------------------

LOG = "gateway.example.gov.cn/log"
GATEWAY = Ed25519PrivateKey.generate()
GATEWAY_KEY = format_verifier_key(LOG, GATEWAY.public_key())
ROOT = hashlib.sha256(b"some tree").digest()
BODY = format_log_checkpoint(LOG, 42, ROOT)
NOTE = sign_note(BODY, LOG, GATEWAY)


def test_a_checkpoint_round_trips() -> None:
    assert BODY.split("\n") == [LOG, "42", base64.b64encode(ROOT).decode(), ""]
    assert verify_log_checkpoint(NOTE, GATEWAY_KEY) == LogCheckpoint(origin=LOG, size=42, root_hash=ROOT)
    with_extensions = format_log_checkpoint(LOG, 0, ROOT, ("ext one", "ext two"))
    assert parse_log_checkpoint(with_extensions).extensions == ("ext one", "ext two")


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    impostor = Ed25519PrivateKey.generate()
    # Same name, another key: a different key ID, so the signature is not by the pinned key at all.
    with pytest.raises(LogVerificationError, match=r"no signature by gateway\.example\.gov\.cn/log\+"):
        verify_log_checkpoint(sign_note(BODY, LOG, impostor), GATEWAY_KEY)
    with pytest.raises(LogVerificationError, match="no signature by"):
        verify_log_checkpoint(NOTE, format_verifier_key(LOG, impostor.public_key()))


def test_a_signature_line_claiming_the_pinned_key_but_made_by_another_fails() -> None:
    ours = NOTE.splitlines()[-1].split(" ")
    forged = sign_note(BODY, LOG, Ed25519PrivateKey.generate()).splitlines()[-1].split(" ")
    key_id = base64.b64decode(ours[2])[:4]
    forged_line = f"— {LOG} {base64.b64encode(key_id + base64.b64decode(forged[2])[4:]).decode()}\n"
    with pytest.raises(LogVerificationError, match="does not verify"):
        open_note(BODY + "\n" + forged_line, GATEWAY_KEY)
    # A failing signature by the pinned key rejects the note even beside a good one (C2SP: SHOULD reject).
    with pytest.raises(LogVerificationError, match="does not verify"):
        open_note(NOTE + forged_line, GATEWAY_KEY)


def test_a_modified_body_is_refused() -> None:
    for tampered in (NOTE.replace("\n42\n", "\n43\n"), NOTE.replace(LOG, LOG.upper(), 1), "x" + NOTE):
        with pytest.raises(LogVerificationError, match="does not verify"):
            verify_log_checkpoint(tampered, GATEWAY_KEY)


def test_a_checkpoint_of_another_origin_is_refused_when_the_origin_is_pinned() -> None:
    with pytest.raises(LogVerificationError, match="not of 'other/log'"):
        verify_log_checkpoint(NOTE, GATEWAY_KEY, origin="other/log")


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        (b"\xff" + (TEXT + "\n" + PETER_SIG).encode()),
        TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"),
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
        TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:],
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "CarmenSandiego"),
        TEXT + "\n" + PETER_SIG.replace("x08g", "xxxx"),
        TEXT + "\n" + "-- PeterNeumann x08go/ZJkuBS9UG==\n",
        TEXT + "\n" + "— PeterNeumann x08g\n",
        TEXT + "\n" + "— PeterNeumann \n",
        TEXT + "\n" + "— PeterNeumann x08go/ZJ kuBS9UG=\n",
        TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),  # non-canonical base64 (unused bits set)
        TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG,
        "\ud800" + TEXT + "\n" + PETER_SIG,
        "x" * (1 << 20) + "\n\n" + PETER_SIG,
        "",
        b"",
    ],
)
def test_malformed_notes_raise_the_sdk_error(note: str | bytes) -> None:
    with pytest.raises(LogVerificationError) as raised:
        open_note(note, PETER_KEY)
    assert isinstance(raised.value, SpotcheckError)
    assert raised.value.reason


def test_go_verifier_key_manglings_are_refused() -> None:
    # TestNewVerifier: every proper substring and every single-byte increment is not a key.
    refused = 0
    for start in range(len(PETER_KEY) + 1):
        for end in range(start + 1, len(PETER_KEY) + 1):
            if (start, end) != (0, len(PETER_KEY)):
                with pytest.raises(LogVerificationError):
                    parse_verifier_key(PETER_KEY[start:end])
                refused += 1
    for position in range(len(PETER_KEY)):
        mangled = PETER_KEY[:position] + chr(ord(PETER_KEY[position]) + 1) + PETER_KEY[position + 1 :]
        with pytest.raises(LogVerificationError):
            parse_verifier_key(mangled)
    assert refused > 2000
    for bad in (
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong length, adjusted ID
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm, adjusted ID
        "",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ):
        with pytest.raises(LogVerificationError):
            parse_verifier_key(bad)
    with pytest.raises(LogVerificationError):
        parse_verifier_key(cast("Any", None))
    with pytest.raises(LogVerificationError):
        open_note(NOTE, cast("Any", 42))


@pytest.mark.parametrize(
    "body",
    [
        f"{LOG}\n42\n",
        f"{LOG}\n42\n{base64.b64encode(ROOT).decode()}",
        f"\n42\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n042\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n-1\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n+1\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n4 2\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n١٢\n{base64.b64encode(ROOT).decode()}\n",  # Arabic-Indic digits pass int(), not the format
        f"{LOG}\n{2**64}\n{base64.b64encode(ROOT).decode()}\n",
        f"{LOG}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{LOG}\n42\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",
        f"{LOG}\n42\n{ROOT.hex()}\n",
        f"{LOG}\n42\n{base64.b64encode(ROOT).decode()}\n\nextension after a blank line\n",
        f"{LOG}\n42\n{base64.b64encode(ROOT).decode()}\n\x00\n",
    ],
)
def test_malformed_checkpoints_raise_the_sdk_error(body: str) -> None:
    with pytest.raises(LogVerificationError, match="malformed checkpoint"):
        parse_log_checkpoint(body)


def test_a_signed_note_that_is_not_a_checkpoint_is_refused() -> None:
    with pytest.raises(LogVerificationError, match="malformed checkpoint"):
        verify_log_checkpoint(sign_note("just a note\n", LOG, GATEWAY), GATEWAY_KEY)


@given(st.binary(max_size=400))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    with contextlib.suppress(LogVerificationError):
        open_note(data, GATEWAY_KEY)


@given(st.data())
def test_mutated_notes_never_raise_anything_else(data: st.DataObject) -> None:
    note = NOTE.encode()
    position = data.draw(st.integers(min_value=0, max_value=len(note) - 1))
    replacement = data.draw(st.binary(max_size=3))
    mutated = note[:position] + replacement + note[position + data.draw(st.integers(0, 3)) :]
    try:
        body = open_note(mutated, GATEWAY_KEY)
    except LogVerificationError:
        return
    assert body == BODY  # only the signature block may change harmlessly (say, an added unknown signer)


# ---- What a log may write --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sign_note("no newline", LOG, GATEWAY), "must end with a newline"),
        (lambda: sign_note("tab\there\n", LOG, GATEWAY), "control character"),
        (lambda: sign_note("x\n", "two words", GATEWAY), "key name"),
        (lambda: sign_note("x\n", "a+b", GATEWAY), "key name"),
        (lambda: sign_note("x\n", "", GATEWAY), "key name"),
        (lambda: sign_note("x\n", LOG, b"short seed"), "32 bytes"),
        (lambda: sign_note("x" * (1 << 20) + "\n", LOG, GATEWAY), "must not exceed"),
        (lambda: format_verifier_key("a b", GATEWAY.public_key()), "key name"),
        (lambda: format_verifier_key(LOG, b"\x00" * 31), "32 bytes"),
        (lambda: format_log_checkpoint("", 1, ROOT), "origin"),
        (lambda: format_log_checkpoint("a\nb", 1, ROOT), "origin"),
        (lambda: format_log_checkpoint(LOG, -1, ROOT), "unsigned 64-bit"),
        (lambda: format_log_checkpoint(LOG, 2**64, ROOT), "unsigned 64-bit"),
        (lambda: format_log_checkpoint(LOG, 1, ROOT[:31]), "32 bytes"),
        (lambda: format_log_checkpoint(LOG, 1, ROOT, ("",)), "extension line"),
    ],
)
def test_a_log_cannot_write_what_no_verifier_would_read(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
