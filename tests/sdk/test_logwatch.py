"""``spotcheck-sdk log add`` and ``log watch`` against a fake gateway: honest, forking, rolling back, dropping a
message, re-keying, unreachable. Exit codes, what is printed, and what is (not) saved."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spotcheck.sdk import (
    LogInconsistencyError,
    LogWatcher,
    WatchState,
    consistency_proof,
    format_log_checkpoint,
    format_verifier_key,
    inclusion_proof,
    leaf_for_message,
    leaf_hash,
    root_from_leaves,
    sign_note,
    update_watch_state,
)
from spotcheck.sdk._cli import main

URL = "https://gateway.test"
ORIGIN = "gateway.test/log"
NOTICE = b'{"type":"delisting.order","data":{"case_id":"ZJ-2025-0001"}}'
REPLY = b'{"type":"notice.acknowledged","data":{"case_id":"ZJ-2025-0001"}}'


class FakeGateway:
    """An in-memory log behind the four ``/public/log`` endpoints; tests rewrite its history to make it lie."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.leaves: list[bytes] = []
        self.served_size: int | None = None  # None: the whole log
        self.bad_inclusion = False

    @property
    def verifier_key(self) -> str:
        return format_verifier_key(ORIGIN, self.key.public_key())

    def append(self, direction: Literal["out", "in"], webhook_id: str, timestamp: str, body: bytes) -> None:
        self.leaves.append(leaf_hash(leaf_for_message(direction, webhook_id, timestamp, body)))

    def fill(self, count: int, tag: str = "other") -> None:
        self.leaves.extend(leaf_hash(f"{tag} {len(self.leaves) + i}".encode()) for i in range(count))

    def handle(self, request: httpx.Request) -> httpx.Response:
        size = len(self.leaves) if self.served_size is None else self.served_size
        params = request.url.params
        match request.url.path:
            case "/public/log/key":
                return httpx.Response(200, text=self.verifier_key + "\n")
            case "/public/log/checkpoint":
                body = format_log_checkpoint(ORIGIN, size, root_from_leaves(self.leaves[:size]))
                return httpx.Response(200, text=sign_note(body, ORIGIN, self.key))
            case "/public/log/proof":
                wanted, tree_size = bytes.fromhex(params["leaf_hash"]), int(params["tree_size"])
                tree = self.leaves[:tree_size]
                if wanted not in tree:
                    return httpx.Response(404, json={"title": "no such leaf"})
                index = tree.index(wanted)
                proof = inclusion_proof(tree, index)
                if self.bad_inclusion:
                    proof = inclusion_proof(tree, (index + 1) % len(tree)) or [wanted]
                return httpx.Response(
                    200,
                    json={
                        "leaf_index": index,
                        "tree_size": tree_size,
                        "leaf_hash": wanted.hex(),
                        "inclusion": [base64.b64encode(h).decode() for h in proof],
                    },
                )
            case "/public/log/consistency":
                first, second = int(params["first"]), int(params["second"])
                proof = consistency_proof(self.leaves[:second], first)
                return httpx.Response(
                    200,
                    json={"first": first, "second": second, "proof": [base64.b64encode(h).decode() for h in proof]},
                )
        return httpx.Response(404)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def mocked(gateway: FakeGateway) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=URL, assert_all_called=False) as router:
        router.route().mock(side_effect=gateway.handle)
        yield router


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "log-state.json"


def run(*args: str | Path) -> int:
    return main([str(arg) for arg in args])


def add(state: Path, direction: str, webhook_id: str, timestamp: str, body: bytes) -> int:
    body_file = state.parent / f"{webhook_id}.body"
    body_file.write_bytes(body)
    return run(
        "log", "add", "--state", state, "--direction", direction, "--webhook-id", webhook_id,
        "--timestamp", timestamp, "--body-file", body_file,
    )  # fmt: skip


def watch(state: Path, *extra: str) -> int:
    return run("log", "watch", URL, "--state", state, *extra)


def saved(state: Path) -> Any:
    return json.loads(state.read_text())


def test_an_honest_log_proves_every_message_and_then_grows_consistently(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fill(3)
    gateway.append("out", "msg_notice", "1763604000", NOTICE)
    gateway.fill(2)
    gateway.append("in", "msg_reply", "1763604100", REPLY)
    assert add(state, "out", "msg_notice", "1763604000", NOTICE) == 0
    assert add(state, "in", "msg_reply", "1763604100", REPLY) == 0
    capsys.readouterr()

    assert watch(state) == 0

    out = capsys.readouterr().out
    assert f"pinned: {gateway.verifier_key}" in out
    assert f"ok: {ORIGIN} at 7 leaves" in out
    assert "(first checkpoint kept)" in out
    assert "included: webhook-id msg_notice (out, timestamp 1763604000)" in out
    assert "included: webhook-id msg_reply (in, timestamp 1763604100)" in out
    kept = saved(state)
    assert kept["verifier_key"] == gateway.verifier_key
    assert kept["pending"] == []
    checkpoint = kept["checkpoint"]
    assert checkpoint["size"] == 7
    assert checkpoint["root_hash"] == base64.b64encode(root_from_leaves(gateway.leaves)).decode()
    assert checkpoint["note"].startswith(f"{ORIGIN}\n7\n")

    gateway.fill(10)
    assert watch(state) == 0
    out = capsys.readouterr().out
    assert "pinned:" not in out
    assert f"ok: {ORIGIN} at 17 leaves" in out
    assert "consistent with the 7 leaves kept" in out
    assert any(call.request.url.path == "/public/log/consistency" for call in mocked.calls)
    assert sum(call.request.url.path == "/public/log/key" for call in mocked.calls) == 1


def test_a_message_the_log_dropped_is_missing_by_its_webhook_id(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fill(4)
    gateway.append("out", "msg_kept", "1763604000", NOTICE)
    add(state, "out", "msg_kept", "1763604000", NOTICE)
    add(state, "in", "msg_dropped", "1763604100", REPLY)
    capsys.readouterr()

    assert watch(state) == 1

    out = capsys.readouterr().out
    assert "included: webhook-id msg_kept" in out
    assert (
        "missing: webhook-id msg_dropped (in, timestamp 1763604100): the log has no such leaf among its 5 leaves" in out
    )
    kept = saved(state)
    assert [message["webhook_id"] for message in kept["pending"]] == ["msg_dropped"]
    assert kept["checkpoint"]["size"] == 5

    # Within the grace period a message not yet in a signed checkpoint is waiting, not missing.
    assert watch(state, "--grace", "3600") == 0
    assert "waiting: webhook-id msg_dropped (in, timestamp 1763604100)" in capsys.readouterr().out


def test_an_inclusion_proof_that_does_not_verify_is_missing(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fill(6)
    gateway.append("out", "msg_1", "1763604000", NOTICE)
    gateway.bad_inclusion = True
    add(state, "out", "msg_1", "1763604000", NOTICE)

    assert watch(state) == 1
    assert "missing: webhook-id msg_1 (out, timestamp 1763604000): the inclusion proof at index 6 does not verify" in (
        capsys.readouterr().out
    )


def test_a_different_tree_at_a_size_already_seen_is_a_fork(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fill(8)
    assert watch(state) == 0
    before = state.read_bytes()
    capsys.readouterr()

    gateway.leaves[3] = leaf_hash(b"history rewritten")
    assert watch(state) == 1

    out = capsys.readouterr().out
    assert out.startswith("fork: the log signed two different trees of 8 leaves: root ")
    served = sign_note(format_log_checkpoint(ORIGIN, 8, root_from_leaves(gateway.leaves)), ORIGIN, gateway.key)
    assert "the contradicting checkpoint, as signed and served:\n" + textwrap.indent(served, "    ") in out
    assert state.read_bytes() == before, "a forked checkpoint must not replace the one kept"


def test_a_larger_tree_that_does_not_extend_the_kept_one_is_a_fork(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fill(5)
    assert watch(state) == 0
    before = state.read_bytes()
    capsys.readouterr()

    gateway.leaves[1] = leaf_hash(b"history rewritten")
    gateway.fill(6)
    assert watch(state) == 1

    out = capsys.readouterr().out
    assert out.startswith("fork: the tree of 11 leaves (root ")
    assert "does not extend the tree of 5 leaves" in out
    assert state.read_bytes() == before


def test_a_smaller_tree_than_one_signed_before_is_a_rollback(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fill(9)
    assert watch(state) == 0
    before = state.read_bytes()
    capsys.readouterr()

    gateway.served_size = 6
    assert watch(state) == 1

    assert capsys.readouterr().out.startswith(
        "rollback: the log now signs a tree of 6 leaves, but it signed 9 leaves (root "
    )
    assert state.read_bytes() == before


def test_the_watcher_names_the_kind_of_inconsistency(gateway: FakeGateway, mocked: respx.MockRouter) -> None:
    gateway.fill(4)
    with LogWatcher(URL) as watcher:
        first = watcher.check(WatchState())
        kept = first.apply(WatchState())
        gateway.served_size = 2
        with pytest.raises(LogInconsistencyError) as raised:
            watcher.check(kept)
    assert (raised.value.kind, raised.value.kept_size, raised.value.served_size) == ("rollback", 4, 2)


def test_a_checkpoint_the_pinned_key_did_not_sign_is_invalid(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fill(3)
    assert watch(state) == 0
    before = state.read_bytes()
    capsys.readouterr()

    gateway.key = Ed25519PrivateKey.generate()  # the gateway re-keys, or someone else signs
    assert watch(state) == 1

    assert capsys.readouterr().out.startswith(f"invalid: no signature by {ORIGIN}+")
    assert state.read_bytes() == before


def test_a_key_given_on_the_command_line_is_pinned_instead_of_the_served_one(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fill(2)
    assert watch(state, "--key", gateway.verifier_key) == 0
    assert "pinned:" not in capsys.readouterr().out
    assert not any(call.request.url.path == "/public/log/key" for call in mocked.calls)
    assert saved(state)["verifier_key"] == gateway.verifier_key

    other = format_verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    assert watch(state, "--key", other) == 2
    assert "--key differs from the key pinned in" in capsys.readouterr().err
    assert watch(state, "--key", "not a key") == 2


def test_a_regulator_key_the_gateway_does_not_sign_with_is_refused(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fill(2)
    other = format_verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    assert watch(state, "--key", other) == 1
    assert capsys.readouterr().out.startswith("invalid: no signature by")
    assert not state.exists()


def test_an_empty_log_is_kept_and_any_growth_is_consistent_with_it(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert watch(state) == 0
    assert f"ok: {ORIGIN} at 0 leaves" in capsys.readouterr().out
    gateway.fill(3)
    assert watch(state) == 0
    assert "consistent with the 0 leaves kept" in capsys.readouterr().out


def test_a_gateway_that_does_not_answer_is_exit_2_and_changes_nothing(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(state, "out", "msg_1", "1763604000", NOTICE)
    before = state.read_bytes()
    with respx.mock(base_url=URL) as router:
        router.route().mock(side_effect=httpx.ConnectError("connection refused"))
        assert watch(state) == 2
    err = capsys.readouterr().err
    assert "could not check the log: GET /public/log/key: no answer from the gateway (ConnectError)" in err
    assert state.read_bytes() == before


def test_an_unexpected_status_is_exit_2(gateway: FakeGateway, state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock(base_url=URL) as router:
        router.get("/public/log/key").mock(return_value=httpx.Response(200, text=gateway.verifier_key))
        router.get("/public/log/checkpoint").mock(return_value=httpx.Response(503))
        assert watch(state) == 2
    assert "the gateway answered 503" in capsys.readouterr().err
    assert not state.exists()


def test_an_oversized_answer_is_cut_off(gateway: FakeGateway, state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock(base_url=URL) as router:
        router.get("/public/log/key").mock(return_value=httpx.Response(200, text=gateway.verifier_key))
        router.get("/public/log/checkpoint").mock(return_value=httpx.Response(200, content=b"x" * (2 << 20)))
        assert watch(state) == 1
    assert "invalid: GET /public/log/checkpoint: the answer exceeds" in capsys.readouterr().out


def test_log_add_registers_a_message_once(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(state, "in", "msg_1", "1763604000", REPLY) == 0
    assert add(state, "in", "msg_1", "1763604000", REPLY) == 0
    expected = leaf_hash(leaf_for_message("in", "msg_1", "1763604000", REPLY)).hex()
    assert f"pending: webhook-id msg_1 (in, timestamp 1763604000), leaf {expected}" in capsys.readouterr().out
    assert [message["leaf_hash"] for message in saved(state)["pending"]] == [expected]


def test_log_add_refuses_what_has_no_leaf(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(state, "in", "msg_1\nout", "1763604000", REPLY) == 2
    assert "webhook_id must be non-empty text without a newline" in capsys.readouterr().err
    missing = state.parent / "nowhere.body"
    assert run("log", "add", "--state", state, "--direction", "in", "--webhook-id", "m", "--timestamp", "1",
               "--body-file", missing) == 2  # fmt: skip
    assert "cannot read the body file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        add(state, "sideways", "msg_1", "1763604000", REPLY)
    assert exited.value.code == 2
    assert not state.exists()


def test_a_corrupt_state_file_is_a_usage_error(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state.write_text('{"version": 1, "pending": [{"leaf_hash": "not hex"}]}')
    assert watch(state) == 2
    assert "not a log watch state file" in capsys.readouterr().err
    assert add(state, "in", "msg_1", "1", REPLY) == 2
    assert watch(state.parent, "--grace", "1") == 2
    assert run("log", "watch", "gateway.test", "--state", state) == 2


def test_a_message_registered_while_a_check_runs_is_not_lost(
    gateway: FakeGateway, mocked: respx.MockRouter, state: Path
) -> None:
    gateway.fill(2)
    gateway.append("out", "msg_1", "1", NOTICE)
    update_watch_state(state, lambda kept: kept.with_message("out", "msg_1", "1", NOTICE)[0])
    with LogWatcher(URL) as watcher:
        report = watcher.check(WatchState.load(state))
    update_watch_state(state, lambda kept: kept.with_message("in", "msg_2", "2", REPLY)[0])

    after = update_watch_state(state, report.apply)

    assert [message.webhook_id for message in after.pending] == ["msg_2"]
    assert after.checkpoint is not None
    assert after.checkpoint.size == 3
    assert WatchState.load(state) == after


def test_the_state_file_is_replaced_whole(gateway: FakeGateway, mocked: respx.MockRouter, state: Path) -> None:
    gateway.fill(1)
    assert watch(state) == 0
    assert sorted(path.name for path in state.parent.iterdir()) == [state.name, f"{state.name}.lock"]


def test_the_cli_loads_httpx_only_to_watch(tmp_path: Path) -> None:
    body = tmp_path / "body"
    body.write_bytes(NOTICE)
    code = (
        "import sys\n"
        "from spotcheck.sdk._cli import main\n"
        f"status = main(['log', 'add', '--state', {str(tmp_path / 's.json')!r}, '--direction', 'out',"
        f" '--webhook-id', 'm', '--timestamp', '1', '--body-file', {str(body)!r}])\n"
        "assert status == 0 and 'httpx' not in sys.modules, 'eager'\n"
    )
    completed = subprocess.run(  # noqa: S603 - our own interpreter, a fixed program
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
