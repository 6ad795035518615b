"""``spotcheck-sdk verify``: a captured delivery is printed decoded (exit 0) or refused with its reason (exit 1)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from spotcheck.schemas import AuthorityRef, DelistingOrder, DelistingOrderData, encode_message
from spotcheck.sdk import Webhook, generate_keypair, generate_secret
from spotcheck.sdk._cli import main

SECRET = generate_secret()
SIGNER = Webhook(SECRET)
CST = timezone(timedelta(hours=8))
SENT_AT = 1_763_604_000  # 2025-11-20 10:00 +08:00
SCRIPT = Path(sys.executable).parent / "spotcheck-sdk"


def delisting_body() -> bytes:
    issued = datetime(2025, 11, 20, 10, tzinfo=CST)
    return encode_message(
        DelistingOrder(
            timestamp=issued,
            data=DelistingOrderData(
                case_id="ZJ-2025-0001",
                authority=AuthorityRef(code="330000", name="浙江省市场监督管理局", level="provincial"),
                issued_at=issued,
                sample_name="儿童羽绒服",
                trademark="暖暖",
                spec_model="110cm",
                hazardous=True,
                mandatory_standard="GB 31701-2015",
                list_published_at=issued,
            ),
        )
    )


BODY = delisting_body()


@pytest.fixture
def capture(tmp_path: Path) -> tuple[Path, Path]:
    """A body file and a JSON headers file of one delivery signed at ``SENT_AT``."""
    body = tmp_path / "body.json"
    body.write_bytes(BODY)
    headers = tmp_path / "headers.json"
    headers.write_text(json.dumps(SIGNER.headers("msg_1", BODY, timestamp=SENT_AT)))
    return body, headers


def run(*args: str | Path | int) -> int:
    return main([str(arg) for arg in args])


def test_a_valid_delivery_is_printed_decoded(capture: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    body, headers = capture

    status = run("verify", "--body", body, "--headers", headers, "--secret", SECRET, "--now", SENT_AT + 10)

    out = capsys.readouterr().out
    assert status == 0
    assert json.loads(out) == json.loads(BODY)
    assert out.startswith('{\n  "type": "delisting.order",')
    assert "暖暖" in out
    assert SECRET not in out


def test_headers_may_be_name_value_lines_from_a_capture(
    tmp_path: Path, capture: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    body, _ = capture
    signed = SIGNER.headers("msg_1", BODY, timestamp=SENT_AT)
    lines = tmp_path / "headers.txt"
    lines.write_text(
        "POST /webhooks/spotcheck HTTP/1.1\n"
        "Host: platform.example\n"
        "# captured by the platform's proxy\n"
        "Content-Type: application/json\n"
        f"Webhook-Id: {signed['webhook-id']}\n"
        f"Webhook-Timestamp: {signed['webhook-timestamp']}\n"
        f"Webhook-Signature: {signed['webhook-signature']}\n\n"
    )

    assert run("verify", "--body", body, "--headers", lines, "--secret", SECRET, "--now", SENT_AT) == 0
    assert '"trademark": "暖暖"' in capsys.readouterr().out


def test_a_timestamp_given_as_a_json_number_is_read(tmp_path: Path, capture: tuple[Path, Path]) -> None:
    body, _ = capture
    headers = tmp_path / "headers.json"
    signed = SIGNER.headers("msg_1", BODY, timestamp=SENT_AT)
    headers.write_text(json.dumps({**signed, "webhook-timestamp": SENT_AT}))

    assert run("verify", "--body", body, "--headers", headers, "--secret", SECRET, "--now", SENT_AT) == 0


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["--now", str(SENT_AT + 301)], "invalid: message timestamp too old"),
        (["--now", str(SENT_AT - 301)], "invalid: message timestamp too new"),
        (["--now", str(SENT_AT + 3600), "--tolerance", "3600"], None),
    ],
)
def test_freshness_is_judged_at_the_given_time(
    capture: tuple[Path, Path], capsys: pytest.CaptureFixture[str], extra: list[str], reason: str | None
) -> None:
    body, headers = capture

    status = run("verify", "--body", body, "--headers", headers, "--secret", SECRET, *extra)

    out = capsys.readouterr().out
    if reason is None:
        assert status == 0
    else:
        assert (status, out) == (1, reason + "\n")


def test_a_wrong_key_prints_the_exact_reason(capture: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    body, headers = capture
    other = generate_secret()

    assert run("verify", "--body", body, "--headers", headers, "--secret", other, "--now", SENT_AT) == 1
    assert capsys.readouterr().out == "invalid: no matching signature\n"


def test_a_missing_header_prints_the_exact_reason(
    tmp_path: Path, capture: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    body, _ = capture
    headers = tmp_path / "headers.txt"
    headers.write_text("webhook-id: msg_1\nwebhook-timestamp: 1763604000\n")

    assert run("verify", "--body", body, "--headers", headers, "--secret", SECRET, "--now", SENT_AT) == 1
    assert capsys.readouterr().out == "invalid: missing webhook-signature header\n"


def test_a_signed_body_that_breaks_the_contract_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(BODY)
    document["data"]["hazardous"] = False
    body = tmp_path / "body.json"
    body.write_bytes(json.dumps(document).encode())
    headers = tmp_path / "headers.json"
    headers.write_text(json.dumps(SIGNER.headers("msg_1", body.read_bytes(), timestamp=SENT_AT)))

    assert run("verify", "--body", body, "--headers", headers, "--secret", SECRET, "--now", SENT_AT) == 1
    assert capsys.readouterr().out == (
        "invalid: only hazardous products are put on the stop-sale list - at `$.data.hazardous`\n"
    )


def test_the_key_may_come_from_the_environment_and_rotation_takes_several(
    capture: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body, headers = capture
    _, public_key = generate_keypair()
    monkeypatch.setenv("SPOTCHECK_WEBHOOK_SECRET", f"{public_key} {SECRET}")

    assert run("verify", "--body", body, "--headers", headers, "--now", SENT_AT) == 0
    assert SECRET not in capsys.readouterr().out
    assert run("verify", "--body", body, "--headers", headers, "--secret", public_key, "--now", SENT_AT) == 1
    assert (
        run(
            "verify", "--body", body, "--headers", headers, "--secret", public_key, "--secret", SECRET, "--now", SENT_AT
        )
        == 0
    )


def test_the_body_may_come_from_stdin(
    capture: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, headers = capture
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BODY)))

    assert run("verify", "--body", "-", "--headers", headers, "--secret", SECRET, "--now", SENT_AT) == 0
    assert '"type": "delisting.order"' in capsys.readouterr().out


def usage_error(capsys: pytest.CaptureFixture[str], *args: str | Path | int) -> str:
    with pytest.raises(SystemExit) as exited:
        run(*args)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_no_key_is_a_usage_error(capture: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    body, headers = capture
    err = usage_error(capsys, "verify", "--body", body, "--headers", headers)
    assert "no key: pass --secret or set SPOTCHECK_WEBHOOK_SECRET" in err


def test_a_malformed_key_is_a_usage_error_that_never_echoes_it(
    capture: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    body, headers = capture
    bad = "whsec_dG9vLXNob3J0LWtleQ=="  # 14 bytes: too short
    err = usage_error(capsys, "verify", "--body", body, "--headers", headers, "--secret", SECRET, "--secret", bad)
    assert "key #2" in err
    assert bad not in err
    assert SECRET not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "headers file: not valid JSON"),
        ("[1, 2]", "headers file: expected a JSON object"),
        ('{"webhook-id": ["a"]}', "headers file: the value of 'webhook-id' must be a string"),
        ("webhook-id msg_1\n", "headers file, line 1: expected 'Name: value'"),
        ("webhook-id : msg_1\n", "headers file, line 1: expected 'Name: value'"),
    ],
)
def test_an_unreadable_headers_file_is_a_usage_error(
    tmp_path: Path, capture: tuple[Path, Path], capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    body, _ = capture
    headers = tmp_path / "bad-headers"
    headers.write_text(content)
    err = usage_error(capsys, "verify", "--body", body, "--headers", headers, "--secret", SECRET)
    assert message in err


def test_a_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = usage_error(capsys, "verify", "--body", tmp_path / "nope", "--headers", tmp_path / "nope", "--secret", SECRET)
    assert "cannot read the body file" in err


def test_repeated_header_lines_are_joined_and_so_refused(
    tmp_path: Path, capture: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    body, _ = capture
    signed = SIGNER.headers("msg_1", BODY, timestamp=SENT_AT)
    headers = tmp_path / "headers.txt"
    headers.write_text("".join(f"{name}: {value}\n" for name, value in signed.items()) + "Webhook-Id: msg_2\n")

    assert run("verify", "--body", body, "--headers", headers, "--secret", SECRET, "--now", SENT_AT) == 1
    assert capsys.readouterr().out == "invalid: webhook-id header must be printable ASCII without spaces or '.'\n"


def script(*args: str | Path, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "SPOTCHECK_WEBHOOK_SECRET"}
    if secret is not None:
        env["SPOTCHECK_WEBHOOK_SECRET"] = secret
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(  # noqa: S603 - the installed console script with fixed arguments
        [str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )


def test_the_console_script_verifies_and_refuses(capture: tuple[Path, Path]) -> None:
    body, headers = capture

    valid = script("verify", "--body", body, "--headers", headers, "--now", str(SENT_AT), secret=SECRET)
    stale = script("verify", "--body", body, "--headers", headers, "--now", str(SENT_AT + 999), secret=SECRET)
    usage = script("verify", "--body", body)

    assert (valid.returncode, json.loads(valid.stdout)["data"]["trademark"]) == (0, "暖暖")
    assert (stale.returncode, stale.stdout) == (1, "invalid: message timestamp too old\n")
    assert usage.returncode == 2
    assert "--headers" in usage.stderr
    assert SECRET not in valid.stdout + valid.stderr + stale.stdout + stale.stderr
