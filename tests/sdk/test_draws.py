"""Verifiable random draws: the protocol against fixed vectors and an independent implementation, the checks of
published records (every tampered field is named, malformed input never raises), fetching, and the CLI."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from spotcheck.sdk import (
    APIError,
    ConnectionFailed,
    DecodeError,
    DrawCheck,
    DrawRecord,
    candidates_digest,
    commit_draw,
    commitment_for,
    draw_seed,
    fetch_draws,
    parse_draws,
    reveal_draw,
    select,
    select_inspectors,
    verify_draw,
    verify_draws,
)
from spotcheck.sdk._cli import main

CST = timezone(timedelta(hours=8))

# ---- Fixed vectors: computed once with this SDK, checked below against plain hashlib as well ------------------

CANDIDATES = [f"m-{n:03d}" for n in range(1, 11)]
SECRET = bytes(range(32))
BEACON = "2026-12-07 上证指数收盘 3412.56"
COUNT = 3
CANDIDATES_SHA256 = "89b7dc3448cd720de854b15df624d090bbb72ad4f25173c63d0ffd8f763c5e26"
COMMITMENT = "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
SEED = "0901e83bfdff4ab582671326d48fe34d4fd65f010704b2f67ea926d90e8cc97f"
SELECTED = ["m-001", "m-002", "m-004"]
# All ten, ranked: the first three are SELECTED.
RANKED = ["m-001", "m-002", "m-004", "m-003", "m-006", "m-005", "m-010", "m-009", "m-008", "m-007"]

INSPECTORS = ["赵六", "张三", "钱七", "李四", "王五"]
INSPECTOR_COUNT = 2
INSPECTORS_SORTED = ["张三", "李四", "王五", "赵六", "钱七"]  # U+5F20 < U+674E < U+738B < U+8D75 < U+94B1
INSPECTORS_SHA256 = "87c55213e276bf9cdfa13fff64a6d090b0ca9964c16f23ecb088e66ba0878af1"
INSPECTORS_SELECTED = ["钱七", "赵六"]

# Code-point order puts U+FF5E before U+1F600; JavaScript's default (UTF-16) sort would not.
ASTRAL = ["😀", "～", "a"]
ASTRAL_SORTED = ["a", "～", "😀"]
ASTRAL_SHA256 = "0a7a70dc3a11754244fe568ef8714786ef1bbac6542e12056482ec813f376abd"

COMMITTED_AT = datetime(2026, 12, 7, 9, tzinfo=CST)
REVEALED_AT = datetime(2026, 12, 7, 15, 5, tzinfo=CST)


# ---- An independent implementation: plain hashlib, no SDK code ------------------------------------------------


def ref_digest(ids: list[str]) -> str:
    # Sorting the UTF-8 bytes is the same order as sorting by code point: two definitions that must agree.
    return hashlib.sha256(b"\n".join(sorted(item.encode("utf-8") for item in ids))).hexdigest()


def ref_seed(secret: bytes, beacon: str) -> bytes:
    return hashlib.sha256(secret + beacon.encode("utf-8")).digest()


def ref_select(seed: bytes, ids: list[str], count: int, domain: bytes = b"") -> list[str]:
    return sorted(ids, key=lambda item: hashlib.sha256(seed + domain + item.encode("utf-8")).digest())[:count]


def committed() -> DrawRecord:
    return commit_draw(
        draw_id="ZJ-2026-017",
        plan_number="浙市监抽〔2026〕17号",
        scope={"products": "儿童服装", "region": "330000"},
        candidates=reversed(CANDIDATES),
        count=COUNT,
        secret=SECRET,
        committed_at=COMMITTED_AT,
        inspectors=INSPECTORS,
        inspector_count=INSPECTOR_COUNT,
    )


def revealed() -> DrawRecord:
    return reveal_draw(committed(), secret=SECRET, beacon=BEACON, revealed_at=REVEALED_AT)


def published(record: DrawRecord) -> dict[str, Any]:
    """The record as a platform gets it: encoded to JSON by the gateway, decoded by the platform."""
    decoded: dict[str, Any] = json.loads(msgspec.json.encode(record))
    return decoded


REVEALED = published(revealed())
COMMITTED = published(committed())


# ---- The protocol ----------------------------------------------------------------------------------------------


def test_the_fixed_vectors_hold() -> None:
    seed = draw_seed(SECRET, BEACON)

    assert candidates_digest(CANDIDATES) == CANDIDATES_SHA256
    assert commitment_for(SECRET) == COMMITMENT
    assert seed.hex() == SEED
    assert select(seed, CANDIDATES, COUNT) == SELECTED
    assert select(seed, CANDIDATES, len(CANDIDATES)) == RANKED
    assert candidates_digest(INSPECTORS) == INSPECTORS_SHA256
    assert select_inspectors(seed, INSPECTORS, INSPECTOR_COUNT) == INSPECTORS_SELECTED
    assert sorted(ASTRAL) == ASTRAL_SORTED
    assert candidates_digest(ASTRAL) == ASTRAL_SHA256


def test_the_fixed_vectors_agree_with_plain_hashlib() -> None:
    seed = ref_seed(SECRET, BEACON)

    assert ref_digest(CANDIDATES) == CANDIDATES_SHA256
    assert hashlib.sha256(SECRET).hexdigest() == COMMITMENT
    assert seed.hex() == SEED
    assert ref_select(seed, CANDIDATES, COUNT) == SELECTED
    assert ref_select(seed, INSPECTORS, INSPECTOR_COUNT, b"inspector\x00") == INSPECTORS_SELECTED
    assert ref_digest(ASTRAL) == ASTRAL_SHA256
    assert hashlib.sha256("\n".join(ASTRAL_SORTED).encode()).hexdigest() == ASTRAL_SHA256


def test_the_published_record_has_the_documented_form() -> None:
    record = REVEALED

    assert list(record) == [
        "protocol", "id", "plan_number", "scope", "count", "candidates_sha256", "commitment", "committed_at",
        "beacon", "secret", "seed", "revealed_at", "selected", "inspectors", "candidates",
    ]  # fmt: skip
    assert record["protocol"] == "spotcheck.draw.v1"
    assert (record["id"], record["count"], record["candidates"]) == ("ZJ-2026-017", COUNT, CANDIDATES)
    assert (record["candidates_sha256"], record["commitment"]) == (CANDIDATES_SHA256, COMMITMENT)
    assert (record["secret"], record["seed"], record["selected"]) == (SECRET.hex(), SEED, SELECTED)
    assert (record["committed_at"], record["revealed_at"]) == ("2026-12-07T09:00:00+08:00", "2026-12-07T15:05:00+08:00")
    assert record["beacon"] == BEACON
    assert record["inspectors"] == {
        "count": INSPECTOR_COUNT,
        "candidates_sha256": INSPECTORS_SHA256,
        "selected": INSPECTORS_SELECTED,
        "candidates": INSPECTORS_SORTED,
    }
    unrevealed = [key for key, value in COMMITTED.items() if value is None]
    assert unrevealed == ["beacon", "secret", "seed", "revealed_at", "selected"]
    assert COMMITTED["inspectors"]["selected"] is None


id_text = st.text(st.characters(codec="utf-8", min_codepoint=0x20), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(id_text, min_size=1, max_size=40, unique=True),
    secret=st.binary(min_size=32, max_size=32),
    beacon=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    data=st.data(),
)
def test_the_sdk_agrees_with_an_independent_implementation(
    ids: list[str], secret: bytes, beacon: str, data: st.DataObject
) -> None:
    count = data.draw(st.integers(1, len(ids)))
    seed = draw_seed(secret, beacon)

    assert candidates_digest(ids) == ref_digest(ids)
    assert commitment_for(secret) == hashlib.sha256(secret).hexdigest()
    assert seed == ref_seed(secret, beacon)
    assert select(seed, ids, count) == ref_select(seed, ids, count)
    assert select(seed, list(reversed(ids)), count) == ref_select(seed, ids, count)
    assert select_inspectors(seed, ids, count) == ref_select(seed, ids, count, b"inspector\x00")


def test_a_draw_of_1000_from_100000_candidates() -> None:
    ids = [f"91330100MA{n:08d}" for n in range(100_000)]
    record = commit_draw(
        draw_id="ZJ-2026-100",
        plan_number="P",
        scope="all",
        candidates=ids,
        count=1000,
        secret=SECRET,
        committed_at=COMMITTED_AT,
    )
    record = reveal_draw(record, secret=SECRET, beacon=BEACON, revealed_at=REVEALED_AT)

    assert record.selected is not None
    assert list(record.selected) == ref_select(draw_seed(SECRET, BEACON), ids, 1000)
    assert verify_draw(published(record)) == DrawCheck(draw_id="ZJ-2026-100", status="ok")
    tampered = published(record)
    tampered["selected"][500], tampered["selected"][501] = tampered["selected"][501], tampered["selected"][500]
    (problem,) = verify_draw(tampered).problems
    assert problem.field == "selected"
    assert problem.reason.startswith("1000 ids instead of 1000; from position 500: expected ")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: select(bytes(32), CANDIDATES, 0), "count: must be at least 1, got 0"),
        (lambda: select(bytes(32), CANDIDATES, 11), "count: 11 is more than the 10 candidates"),
        (lambda: select(bytes(32), ["a", "b", "a"], 1), "candidates: 'a' appears more than once"),
        (lambda: select(bytes(32), ["a", ""], 1), "candidates: an id is empty"),
        (lambda: select(bytes(32), ["a", "b\nc"], 1), "candidates: 'b\\nc' holds a control character"),
        (lambda: select(bytes(32), ["a", "\ud800"], 1), "candidates: '\\ud800' is not valid Unicode text"),
        (lambda: select(bytes(31), CANDIDATES, 1), "seed: expected 32 bytes"),
        (lambda: select_inspectors(bytes(32), ["x", "x"], 1), "inspectors: 'x' appears more than once"),
        (lambda: candidates_digest(["a", "a"]), "candidates: 'a' appears more than once"),
        (lambda: commitment_for(b"short"), "secret: expected 32 bytes"),
        (lambda: draw_seed(SECRET, ""), "beacon: expected a non-empty string"),
    ],
)
def test_bad_input_is_refused_naming_the_field(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        call()
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: select(bytes(32), "m-001", 1), "candidates: expected a list of ids, got a single string"),
        (lambda: select(bytes(32), ["a", 3], 1), "candidates: every id must be a string"),  # type: ignore[list-item]
        (lambda: select(bytes(32), CANDIDATES, True), "count: expected an integer, got bool"),
        (lambda: candidates_digest(7), "candidates: expected a list of ids, got int"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_are_refused_naming_the_field(call: Callable[[], object], message: str) -> None:
    with pytest.raises(TypeError) as refused:
        call()
    assert str(refused.value) == message


NAIVE = datetime(2026, 12, 8)  # noqa: DTZ001 - the mistake under test
COMMON: dict[str, Any] = {"draw_id": "x", "scope": "s", "candidates": CANDIDATES, "count": 1, "secret": SECRET}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: reveal_draw(committed(), secret=bytes(32), beacon=BEACON, revealed_at=REVEALED_AT),
            "secret: does not match the commitment",
        ),
        (
            lambda: reveal_draw(committed(), secret=SECRET, beacon=BEACON, revealed_at=COMMITTED_AT - timedelta(1)),
            "revealed_at: before committed_at",
        ),
        (
            lambda: reveal_draw(committed(), secret=SECRET, beacon=BEACON, revealed_at=NAIVE),
            "revealed_at: expected a datetime with a UTC offset",
        ),
        (
            lambda: reveal_draw(revealed(), secret=SECRET, beacon=BEACON, revealed_at=REVEALED_AT),
            "secret: draw 'ZJ-2026-017' is already revealed",
        ),
        (
            lambda: commit_draw(**COMMON, plan_number="p", committed_at=COMMITTED_AT, inspectors=INSPECTORS),
            "inspector_count: give it together with inspectors, or neither",
        ),
        (
            lambda: commit_draw(**COMMON, plan_number="", committed_at=COMMITTED_AT),
            "plan_number: expected a non-empty string",
        ),
        (
            lambda: commit_draw(**COMMON, plan_number="p", committed_at=NAIVE),
            "committed_at: expected a datetime with a UTC offset",
        ),
    ],
)
def test_commit_and_reveal_refuse_what_would_publish_a_broken_draw(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        call()
    assert str(refused.value) == message


# ---- Checking published draws ------------------------------------------------------------------------------------


def test_a_revealed_draw_holds() -> None:
    assert verify_draw(REVEALED) == DrawCheck(draw_id="ZJ-2026-017", status="ok")


def test_a_draw_never_revealed_is_reported_as_such_not_as_a_failure() -> None:
    check = verify_draw(COMMITTED)

    assert check == DrawCheck(draw_id="ZJ-2026-017", status="not_revealed")
    assert not check.failed


def test_a_committed_draw_is_checked_as_far_as_it_goes() -> None:
    record = copy.deepcopy(COMMITTED)
    record["candidates_sha256"] = CANDIDATES_SHA256.replace("8", "9", 1)

    assert verify_draw(record).failed
    assert [problem.field for problem in verify_draw(record).problems] == ["candidates_sha256"]


def flip(hex_digits: str) -> str:
    return hex_digits[:-1] + ("0" if hex_digits[-1] != "0" else "1")


def replaced(ids: list[str], old: str, new: str) -> list[str]:
    return [new if item == old else item for item in ids]


TAMPERING: list[tuple[str, Callable[[Any], Any], str]] = [
    ("protocol", lambda _: "spotcheck.draw.v2", "protocol"),
    ("id", lambda _: "", "id"),
    ("id", lambda _: 17, "id"),
    ("plan_number", lambda _: None, "plan_number"),
    ("scope", lambda _: ["儿童服装"], "scope"),
    ("candidates", lambda ids: replaced(ids, "m-005", "m-0045"), "candidates_sha256"),  # still sorted
    ("candidates", lambda ids: [ids[1], ids[0], *ids[2:]], "candidates"),
    ("candidates", lambda ids: [*ids, ids[-1]], "candidates"),
    ("candidates", lambda ids: ids[:-1], "candidates_sha256"),
    ("candidates", lambda ids: [*ids[:-1], 10], "candidates[9]"),
    ("candidates_sha256", flip, "candidates_sha256"),
    ("candidates_sha256", str.upper, "candidates_sha256"),
    ("count", lambda _: 2, "count"),
    ("count", lambda _: 11, "count"),
    ("count", lambda _: 0, "count"),
    ("count", lambda _: "3", "count"),
    ("commitment", flip, "commitment"),
    ("commitment", lambda _: "", "commitment"),
    ("committed_at", lambda _: "2026-12-07T16:00:00+08:00", "revealed_at"),
    ("committed_at", lambda _: "2026-12-07T09:00:00", "committed_at"),
    ("committed_at", lambda _: "yesterday", "committed_at"),
    ("beacon", lambda _: BEACON.replace("3412.56", "3412.57"), "seed"),
    ("beacon", lambda _: "", "beacon"),
    ("secret", flip, "commitment"),
    ("secret", lambda _: "00" * 31, "secret"),
    ("secret", lambda _: None, "secret"),
    ("seed", flip, "seed"),
    ("seed", lambda _: "zz" * 32, "seed"),
    ("selected", lambda ids: [ids[1], ids[0], ids[2]], "selected"),
    ("selected", lambda ids: replaced(ids, "m-004", "m-003"), "selected"),
    ("selected", lambda ids: ids[:2], "count"),
    ("selected", lambda _: None, "selected"),
    ("revealed_at", lambda _: "2026-12-07T08:59:59+08:00", "revealed_at"),
    ("revealed_at", lambda _: None, "revealed_at"),
    ("inspectors.candidates", lambda ids: replaced(ids, "王五", "王六"), "inspectors.candidates_sha256"),
    ("inspectors.candidates", lambda ids: ids[::-1], "inspectors.candidates"),
    ("inspectors.candidates_sha256", flip, "inspectors.candidates_sha256"),
    ("inspectors.count", lambda _: 3, "inspectors.count"),
    ("inspectors.count", lambda _: 6, "inspectors.count"),
    ("inspectors.selected", lambda ids: ids[::-1], "inspectors.selected"),
    ("inspectors.selected", lambda _: None, "inspectors.selected"),
]


@pytest.mark.parametrize(("path", "change", "reported"), TAMPERING)
def test_tampering_with_a_field_fails_and_names_it(path: str, change: Callable[[Any], Any], reported: str) -> None:
    record = copy.deepcopy(REVEALED)
    *parents, name = path.split(".")
    target = record
    for parent in parents:
        target = target[parent]
    target[name] = change(target[name])

    check = verify_draw(record)

    assert check.failed, check
    assert check.draw_id == (record["id"] if isinstance(record["id"], str) else None)
    # The field reported, and the tampered one among the fields that problem was checked against.
    named = [problem for problem in check.problems if problem.field == reported]
    assert named, check.problems
    assert path in named[0].fields or reported.startswith(f"{path}["), named[0]


def test_a_wrong_selection_reads_expected_against_got() -> None:
    record = copy.deepcopy(REVEALED)
    record["selected"] = ["m-001", "m-003", "m-004"]

    (problem,) = verify_draw(record).problems

    assert str(problem) == 'selected: expected ["m-001", "m-002", "m-004"] got ["m-001", "m-003", "m-004"]'
    assert problem.depends_on == ("secret", "beacon", "candidates", "count")


def test_a_secret_that_does_not_open_the_commitment_names_both() -> None:
    record = copy.deepcopy(REVEALED)
    record["secret"] = flip(record["secret"])

    problems = verify_draw(record).problems

    assert [problem.field for problem in problems] == ["commitment", "seed", "selected", "inspectors.selected"]
    assert problems[0].fields == ("commitment", "secret")
    assert problems[0].reason.endswith(f"(SHA-256 of secret) got {COMMITMENT}")


def test_a_wrong_published_seed_is_reported_once() -> None:
    record = copy.deepcopy(REVEALED)
    record["seed"] = flip(SEED)

    assert verify_draw(record).reason == f"seed: expected {SEED} (SHA-256 of secret ‖ beacon) got {flip(SEED)}"


malformed_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(value=malformed_json)
def test_anything_at_all_is_a_failure_never_an_exception(value: object) -> None:
    check = verify_draw(value)

    assert check.failed
    assert check.problems


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(REVEALED)), value=malformed_json, inspector_field=st.booleans())
def test_any_field_of_a_real_record_may_hold_anything(field: str, value: object, inspector_field: bool) -> None:
    record = copy.deepcopy(REVEALED)
    if inspector_field:
        record["inspectors"][field if field in record["inspectors"] else "count"] = value
    else:
        record[field] = value

    assert isinstance(verify_draw(record), DrawCheck)
    del record[field]
    assert isinstance(verify_draw(record), DrawCheck)


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        ({"candidates": [*CANDIDATES[:9], "\ud800"]}, "candidates"),  # a lone surrogate, as Python's json reads it
        ({"candidates": [*CANDIDATES[:9], "m-\x1b[31m"]}, "candidates"),
        ({"candidates": ["", *CANDIDATES[1:]]}, "candidates"),
        ({"candidates": []}, "count"),
        ({"count": 10**30}, "count"),
        ({"beacon": "\ud800"}, "beacon"),
        ({"inspectors": "王五"}, "inspectors"),
        ({"inspectors": {"count": 1}}, "inspectors.candidates_sha256"),
        ({"scope": None}, "scope"),
    ],
)
def test_malformed_values_are_failures_naming_the_field(change: dict[str, Any], reported: str) -> None:
    check = verify_draw({**REVEALED, **change})

    assert check.failed
    assert reported in [problem.field for problem in check.problems], check.problems


def test_a_record_that_is_not_an_object_fails_as_record() -> None:
    assert str(verify_draw([1, 2]).problems[0]) == "record: expected an object, got an array"
    assert str(verify_draw(None).problems[0]) == "record: expected an object, got null"
    assert verify_draw({}).reason.startswith("id: missing; plan_number: missing; scope: missing")
    assert verify_draw({1: "x"}).failed


def test_every_wrong_type_is_named_not_only_the_first() -> None:
    record = {**REVEALED, "count": "3", "secret": 3, "committed_at": 1}
    del record["plan_number"]

    fields = [problem.field for problem in verify_draw(record).problems]

    assert fields == ["plan_number", "count", "committed_at", "secret"]


def test_verify_draws_keeps_the_order() -> None:
    checks = verify_draws([REVEALED, COMMITTED, 5])

    assert [check.status for check in checks] == ["ok", "not_revealed", "failed"]


def test_importing_the_sdk_loads_the_draws_only_when_used_and_checking_needs_no_http_stack() -> None:
    code = (
        "import sys, spotcheck.sdk as sdk\n"
        "assert 'spotcheck.sdk._draws' not in sys.modules, 'eager'\n"
        "sdk.verify_draws([{}])\n"
        "assert 'spotcheck.sdk._draws' in sys.modules and 'httpx' not in sys.modules\n"
    )
    completed = subprocess.run(  # noqa: S603 - our own interpreter, a fixed program
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert completed.returncode == 0, completed.stderr


# ---- Reading the document ----------------------------------------------------------------------------------------


def test_a_document_is_an_object_with_draws_or_a_bare_list() -> None:
    assert parse_draws(json.dumps({"draws": [REVEALED], "generated_at": "x"}).encode()) == [REVEALED]
    assert parse_draws(json.dumps([REVEALED])) == [REVEALED]
    assert parse_draws(b"\xef\xbb\xbf[]") == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html>", "not JSON"),
        (b'{"draw": []}', 'expected a list of draws under "draws" - at `$.draws`'),
        (b'"draws"', 'expected {"draws": [...]} or a list of draws - at `$`'),
    ],
)
def test_a_document_without_draws_is_a_decode_error(document: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as refused:
        parse_draws(document)
    assert str(refused.value).startswith(message)


URL = "https://bureau.example/public/draws.json"


def test_fetch_draws_uses_the_callers_client_and_leaves_it_open() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"draws": [REVEALED]})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        assert fetch_draws(URL, client=client) == [REVEALED]
        assert not client.is_closed
    assert seen[0].headers["accept"] == "application/json"


def test_fetch_draws_failures_are_sdk_errors() -> None:
    with respx.mock:
        respx.get(URL).mock(return_value=httpx.Response(503, headers={"x-request-id": "req_1"}))
        with pytest.raises(APIError) as answered:
            fetch_draws(URL)
        respx.get(URL).mock(side_effect=httpx.ConnectError("connection refused"))
        with pytest.raises(ConnectionFailed, match="connection refused"):
            fetch_draws(URL)
    assert (answered.value.http_status, answered.value.request_id) == (503, "req_1")
    with pytest.raises(ValueError) as refused:
        fetch_draws("ftp://bureau.example/draws.json")
    assert str(refused.value).startswith("url: ")


# ---- spotcheck-sdk draws verify ----------------------------------------------------------------------------------


def run(*args: str | Path) -> int:
    return main([str(arg) for arg in args])


def usage_error(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    with pytest.raises(SystemExit) as exited:
        run(*args)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "draws.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_a_local_file_that_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    second = {**COMMITTED, "id": "ZJ-2026-018"}

    assert run("draws", "verify", write(tmp_path, {"draws": [REVEALED, second]})) == 0
    assert capsys.readouterr().out == "ok: ZJ-2026-017\nnot revealed: ZJ-2026-018 (committed, not revealed yet)\n"


def test_cli_a_failed_draw_exits_1_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = {**REVEALED, "id": "ZJ-2026-019", "selected": ["m-001", "m-003", "m-004"]}

    assert run("draws", "verify", write(tmp_path, [REVEALED, bad, {"id": "bad\nid"}, 7])) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "ok: ZJ-2026-017",
        'FAILED: ZJ-2026-019: selected: expected ["m-001", "m-002", "m-004"] got ["m-001", "m-003", "m-004"]',
    ]
    assert lines[2].startswith('FAILED: "bad\\nid": plan_number: missing;')
    assert lines[3] == "FAILED: draw #4: record: expected an object, got a number"


def test_cli_an_empty_document_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("draws", "verify", write(tmp_path, {"draws": []})) == 0
    assert capsys.readouterr().out == "no draws published\n"


def test_cli_unusable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_json = tmp_path / "page.html"
    not_json.write_text("<html>")

    assert "draws: not JSON" in usage_error(capsys, "draws", "verify", not_json)
    assert "cannot read the draws file" in usage_error(capsys, "draws", "verify", tmp_path / "missing.json")
    assert 'expected a list of draws under "draws"' in usage_error(capsys, "draws", "verify", write(tmp_path, {}))


def test_cli_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    tampered = {**REVEALED, "beacon": "another beacon"}
    with respx.mock:
        respx.get(URL).mock(return_value=httpx.Response(200, json={"draws": [REVEALED]}))
        assert run("draws", "verify", URL) == 0
        assert capsys.readouterr().out == "ok: ZJ-2026-017\n"

        respx.get(URL).mock(return_value=httpx.Response(200, json={"draws": [tampered]}))
        assert run("draws", "verify", URL) == 1
        assert capsys.readouterr().out.startswith("FAILED: ZJ-2026-017: seed: expected ")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.ConnectError("connection refused"), f"draws: GET {URL} failed: connection refused"),
        (httpx.Response(404), f"draws: GET {URL} answered 404"),
        (httpx.Response(200, text="<html>"), "draws: not JSON"),
    ],
)
def test_cli_an_unusable_url_exits_2(
    capsys: pytest.CaptureFixture[str], answer: httpx.Response | Exception, message: str
) -> None:
    with respx.mock:
        route = respx.get(URL)
        if isinstance(answer, Exception):
            route.mock(side_effect=answer)
        else:
            route.mock(return_value=answer)
        assert message in usage_error(capsys, "draws", "verify", URL)


def test_a_frozen_list_is_checked_once_and_draws_as_the_raw_list_does() -> None:
    from spotcheck.sdk import freeze_candidates

    ids = [f"m-{n:03d}" for n in range(50, 0, -1)]
    frozen = freeze_candidates(ids)
    assert list(frozen.ids) == sorted(ids)
    assert frozen.sha256 == candidates_digest(ids)
    seed = draw_seed(bytes(range(32)), "beacon")
    assert select(seed, frozen, 5) == select(seed, ids, 5)
    with pytest.raises(ValueError, match="candidates"):
        freeze_candidates(["a", "a"])
