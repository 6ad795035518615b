"""The README's regulator walk runs as written, against a served gateway and a platform that is not ours.

The ```sh blocks of README.md's section "## A case, as a regulator" are joined and run with bash
(``set -euo pipefail``) against ``spotcheck serve`` on a free port and a fresh SQLite directory. The platform
is a small receiver written here only on the PyPI ``standardwebhooks`` package and ``http.server``. It verifies
every notice with the ``whsec_`` secret the walk prints, and it acknowledges the delisting order with the
README's own ``notice.acknowledged`` example, signed with the ``whsec_`` reply key the walk registered. When the
README drifts from the product, a step fails (curl ``--fail-with-body``) or an assertion below does.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## A case, as a regulator"
PLATFORM = "demo-mall"
MUST_RECEIVE = {"sampling.notice", "result.notice", "delisting.order"}
BASH = shutil.which("bash") or "/bin/bash"

pytestmark = pytest.mark.slow


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    body = text.split(SECTION, 1)[1]
    following = re.search(r"^## ", body, re.MULTILINE)
    return body[: following.start()] if following else body


def _blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", section, re.MULTILINE | re.DOTALL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Platform:
    """A marketplace that verifies every notice and acknowledges the delisting order through the intake."""

    def __init__(self, gateway: str, reply_key: str, ack_template: dict[str, Any]) -> None:
        self.gateway = gateway
        self.reply = Webhook(reply_key)
        self.ack_template = ack_template
        self.notice_secret: str | None = None
        self.secret_known = threading.Event()
        self.received: list[dict[str, Any]] = []  # verified notices: the payload plus its webhook-id
        self.refused: list[str] = []  # why a notice failed verification
        self.acks: list[tuple[int, dict[str, Any]]] = []  # the intake's answers to our acknowledgements
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def take(self, body: bytes, headers: dict[str, str]) -> int:
        if not self.secret_known.wait(15) or self.notice_secret is None:
            with self.lock:
                self.refused.append("the walk never printed the notice secret")
            return 503
        try:
            payload: dict[str, Any] = Webhook(self.notice_secret).verify(body, headers)
        except Exception as exc:  # any verification failure is recorded and refused
            with self.lock:
                self.refused.append(f"{headers.get('webhook-id')}: {exc!r}")
            return 401
        with self.lock:
            self.received.append({**payload, "webhook_id": headers["webhook-id"]})
        if payload["type"] == "delisting.order":
            # A real platform queues the work and answers 2xx at once; the acknowledgement follows.
            thread = threading.Thread(target=self.acknowledge, args=(payload, headers["webhook-id"]), daemon=True)
            self.threads.append(thread)
            thread.start()
        return 204

    def acknowledge(self, order: dict[str, Any], notice_id: str) -> None:
        now = datetime.now(UTC).isoformat()
        # Only the README example's own fields get this notice's values, so the gateway judges its shape.
        fills = {"case_id": order["data"]["case_id"], "in_reply_to": notice_id, "received_at": now}
        template = self.ack_template
        data = {key: fills.get(key, value) for key, value in template["data"].items()}
        message = {**template, **({"timestamp": now} if "timestamp" in template else {}), "data": data}
        body = json.dumps(message, ensure_ascii=False)
        webhook_id = "msg_ack_" + secrets.token_hex(8)
        at = datetime.now(UTC)
        request = urllib.request.Request(  # noqa: S310 - a loopback http URL the test built
            f"{self.gateway}/v1/intake/{PLATFORM}",
            data=body.encode(),
            method="POST",
            headers={
                "content-type": "application/json",
                "webhook-id": webhook_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": self.reply.sign(webhook_id, at, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                answer = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            answer = (exc.code, {"problem": exc.read().decode(errors="replace")})
            exc.close()
        with self.lock:
            self.acks.append(answer)

    def server(self, port: int) -> ThreadingHTTPServer:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = platform.take(body, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

        return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def _ready(base: str, gateway: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert gateway.poll() is None, "the gateway exited:\n" + log.read_text(errors="replace")[-4000:]
        try:
            with urllib.request.urlopen(f"{base}/ready", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    pytest.fail("the gateway did not become ready in 30 s:\n" + log.read_text(errors="replace")[-4000:])


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """``spotcheck serve`` on a free port and a fresh SQLite directory; always stopped, by its own pid."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    env = {
        **os.environ,
        "SPOTCHECK_DATA_DIR": str(data),
        "SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS": "true",
        "SPOTCHECK_PUBLIC_BASE_URL": base,
    }
    env.pop("SPOTCHECK_DATABASE_URL", None)
    log = tmp_path / "gateway.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - the project's console script with fixed arguments
            [str(ROOT / ".venv" / "bin" / "spotcheck"), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _ready(base, process, log)
        yield base, log, env
    finally:
        _stop(process)


def test_the_readme_walk_runs_as_written(gateway: tuple[str, Path, dict[str, str]], tmp_path: Path) -> None:
    base, log, env = gateway
    section = _section()
    walk = "\n".join(_blocks(section, "sh"))
    assert "PLATFORM_URL" in walk and "PLATFORM_REPLY_KEY" in walk and "${API:-" in walk, "the walk's variables"
    (ack_example,) = _blocks(section, "json")
    ack_template = json.loads(ack_example)
    assert ack_template["type"] == "notice.acknowledged"
    claimed = re.search(r"\| field state\s+# → (\w+)", walk)
    assert claimed is not None, "the walk no longer says which state the case ends in"

    reply_key = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    platform = Platform(base, reply_key, ack_template)
    platform_port = _free_port()
    receiver = platform.server(platform_port)
    serving = threading.Thread(target=receiver.serve_forever, daemon=True)
    serving.start()
    handoff = tmp_path / "handoff"
    script = f'set -euo pipefail\n{walk}\nprintf "%s\\n%s\\n" "$SPOTCHECK_TOKEN" "$CASE" > "{handoff}"\n'
    walk_env = {
        **env,
        "API": f"{base}/v1",
        "PLATFORM_URL": f"http://127.0.0.1:{platform_port}/spotcheck",
        "PLATFORM_REPLY_KEY": reply_key,
    }
    output: list[str] = []
    try:
        started = time.monotonic()
        bash = subprocess.Popen(  # noqa: S603 - the README's own blocks are what this test runs
            [BASH, "-c", script],
            cwd=ROOT,
            env=walk_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            assert bash.stdout is not None
            for raw in bash.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                output.append(line)
                found = re.search(r"notice secret \(shown once\): (whsec_\S+)", line)
                if found and platform.notice_secret is None:
                    platform.notice_secret = found.group(1)
                    platform.secret_known.set()
            code = bash.wait(timeout=60)
        finally:
            if bash.stdout is not None:
                bash.stdout.close()
            _stop(bash)
        shown = "\n".join(line[:400] for line in output)
        assert code == 0, (
            f"the README walk failed (exit {code}):\n{shown}\n--- gateway log tail:\n"
            + (log.read_text(errors="replace")[-3000:])
        )
        assert platform.notice_secret is not None, f"the walk never printed the notice secret:\n{shown}"
        assert claimed.group(1) in output, f"the walk claims the case ends {claimed.group(1)!r}:\n{shown}"
        token, case_id = handoff.read_text().split()
        case = _get(f"{base}/v1/cases/{case_id}", token)
        assert case["state"] == claimed.group(1)

        def settled() -> bool:
            with platform.lock:
                kinds = {notice["type"] for notice in platform.received}
                acked = bool(platform.acks)
            if not (kinds >= MUST_RECEIVE and acked):
                return False
            messages = _get(f"{base}/v1/cases/{case_id}/messages", token)
            return any(m["message_type"] == "delisting.order" and m["acknowledged_at"] for m in messages)

        deadline = time.monotonic() + 20
        while not settled() and time.monotonic() < deadline:
            time.sleep(0.1)
        with platform.lock:
            kinds = {notice["type"] for notice in platform.received}
            assert not platform.refused, f"notices failed verification: {platform.refused}"
            assert kinds >= MUST_RECEIVE, f"the platform received and verified only {sorted(kinds)}"
            assert all(n["data"]["case_id"] == case_id for n in platform.received)
            assert platform.acks, "the delisting order was never acknowledged"
            status, answer = platform.acks[0]
        assert status in {200, 201, 202}, f"the intake refused the acknowledgement: {status} {answer}"
        assert answer.get("status") == "accepted", answer
        assert answer.get("leaf_hash"), answer
        assert settled(), "the gateway did not record the acknowledgement of the delisting order"
        assert time.monotonic() - started < 60
    finally:
        receiver.shutdown()
        receiver.server_close()
        serving.join(timeout=5)
        for thread in platform.threads:
            thread.join(timeout=10)
