"""Checking a bureau's published draws: recompute every one, name the field that does not hold.

:func:`verify_draw` takes a record as decoded from JSON, whatever it holds, and never raises: a wrong type, a
missing field or bad hex is a failure naming the field. :func:`fetch_draws` and :func:`parse_draws` read the
document (``{"draws": [...]}``, or a bare list) from a URL or from bytes. The protocol is in
``spotcheck.sdk._draws``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec

from spotcheck.sdk._draws import (
    HEX64,
    INSPECTOR_DOMAIN,
    PROTOCOL,
    DrawRecord,
    checked_count,
    checked_ids,
    commitment_for,
    digest_of_sorted,
    draw_seed,
    is_text,
    pick_smallest,
)
from spotcheck.sdk._errors import APIError, ConnectionFailed, DecodeError

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx

__all__ = ["DrawCheck", "DrawProblem", "fetch_draws", "parse_draws", "verify_draw", "verify_draws"]

_SHOWN_IDS: Final = 10
_SHOWN_CHARS: Final = 80
_MSGSPEC_PATH: Final = re.compile(r"(?P<reason>.*?)(?: - at `(?P<path>[^`]*)`)?", re.DOTALL)
_MISSING: Final = re.compile(r"Object missing required field `(?P<name>[^`]*)`")


class DrawProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One thing in a draw that does not hold: ``field`` (``selected``, ``inspectors.count``…) and why.

    ``depends_on`` names the fields the expected value was recomputed from: when ``commitment`` is not SHA-256 of
    ``secret``, either of the two may be the one that was changed.
    """

    field: str
    reason: str
    depends_on: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """``field`` and the fields it was checked against."""
        return (self.field, *self.depends_on)

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class DrawCheck(msgspec.Struct, frozen=True, kw_only=True):
    """What checking one published draw found.

    ``status`` is ``"ok"`` (revealed, and every recomputation agrees), ``"not_revealed"`` (committed, not revealed
    yet, and what is published so far holds: not a failure) or ``"failed"`` (``problems`` says which fields do not
    hold and why). ``draw_id`` is the record's ``id`` when it is a string.
    """

    draw_id: str | None
    status: Literal["ok", "not_revealed", "failed"]
    problems: tuple[DrawProblem, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether the draw does not hold."""
        return self.status == "failed"

    @property
    def reason(self) -> str:
        """Every problem as ``field: reason``, joined by ``; `` (empty when nothing failed)."""
        return "; ".join(map(str, self.problems))


def verify_draws(records: Iterable[object]) -> list[DrawCheck]:
    """:func:`verify_draw` for each record, in order."""
    return [verify_draw(record) for record in records]


def verify_draw(record: object) -> DrawCheck:
    """Recompute everything one published draw claims; never raises, whatever ``record`` holds.

    Checked: the types of every field; ``protocol``; the candidates (valid ids, sorted, unique) and
    ``candidates_sha256``; ``count`` between 1 and the number of candidates and equal to the number selected;
    ``commitment`` = SHA-256(secret); ``seed``; ``selected``; the same for ``inspectors``; times with an offset
    and ``revealed_at`` not before ``committed_at``; and that a reveal is complete. ``id``, ``plan_number`` and
    ``scope`` are only checked for their type: the protocol does not bind them.

    Args:
        record: one record as published (a decoded JSON object); anything else is a failure of ``record``.
    """
    draw_id = record.get("id") if isinstance(record, Mapping) else None
    label = draw_id if isinstance(draw_id, str) else None
    if not isinstance(record, Mapping):
        return _failed(label, [DrawProblem(field="record", reason=f"expected an object, got {_kind(record)}")])
    draw, problems = _decode(record)
    if draw is None:
        return _failed(label, problems)
    if draw.protocol != PROTOCOL:
        reason = f"{_shown(draw.protocol)} is not {PROTOCOL!r}, the protocol this SDK checks"
        return _failed(label, [DrawProblem(field="protocol", reason=reason)])
    return _audit(draw)


def _failed(draw_id: str | None, problems: list[DrawProblem]) -> DrawCheck:
    return DrawCheck(draw_id=draw_id, status="failed", problems=tuple(problems))


def _decode(record: Mapping[Any, Any]) -> tuple[DrawRecord | None, list[DrawProblem]]:
    try:
        return msgspec.convert(dict(record), DrawRecord, strict=True), []
    except msgspec.ValidationError as exc:
        whole = _problem_of("record", exc)
    # Converting field by field names every field of the wrong type, not only the first msgspec meets.
    problems: list[DrawProblem] = []
    for info in msgspec.structs.fields(DrawRecord):
        if info.encode_name not in record:
            if info.required:
                problems.append(DrawProblem(field=info.encode_name, reason="missing"))
            continue
        try:
            msgspec.convert(record[info.encode_name], info.type, strict=True)
        except msgspec.ValidationError as exc:
            problems.append(_problem_of(info.encode_name, exc))
    return None, problems or [whole]


def _problem_of(field: str, exc: msgspec.ValidationError) -> DrawProblem:
    # msgspec says "<reason> - at `$.path[1]`"; a missing field is named in the reason instead.
    parsed = _MSGSPEC_PATH.fullmatch(str(exc))
    reason, path = (parsed["reason"], parsed["path"] or "$") if parsed else (str(exc), "$")
    name = field + path.removeprefix("$") if path.startswith("$") else field  # "at `key` in `$`": a non-string key
    missing = _MISSING.fullmatch(reason)
    if missing:
        return DrawProblem(field=f"{name}.{missing['name']}", reason="missing")
    return DrawProblem(field=name, reason=reason)


class _Audit:
    """The problems found in one decoded record, field by field."""

    def __init__(self) -> None:
        self.problems: list[DrawProblem] = []

    def fail(self, field: str, reason: str, *depends_on: str) -> None:
        self.problems.append(DrawProblem(field=field, reason=reason, depends_on=depends_on))

    def hex32(self, field: str, value: str | None) -> bytes | None:
        """The 32 bytes ``value`` spells, or None (a problem when it is not null)."""
        if value is None:
            return None
        if not HEX64.fullmatch(value):
            self.fail(field, f"expected 64 lowercase hex digits, got {_shown(value)}")
            return None
        return bytes.fromhex(value)

    def committed_list(self, prefix: str, ids: tuple[str, ...], digest: str, count: int) -> bool:
        """Check a committed list, its digest and its count; whether a selection can be recomputed from them."""
        try:
            checked_ids(ids, f"{prefix}candidates")
        except (TypeError, ValueError) as exc:
            field, _, reason = str(exc).partition(": ")
            self.fail(field, reason)
            return False
        # Unique ids (checked above) in strictly ascending order; the position is looked for only on failure.
        in_order = all(map(str.__lt__, ids, ids[1:]))
        if not in_order:
            at = next(i for i in range(len(ids) - 1) if ids[i] > ids[i + 1])
            pair = f"{_shown(ids[at])} comes before {_shown(ids[at + 1])}"
            self.fail(f"{prefix}candidates", f"not sorted by code point: {pair} at position {at}")
        if self.hex32(f"{prefix}candidates_sha256", digest) is not None and in_order:
            expected = digest_of_sorted([*ids])
            if digest != expected:
                got = f"expected {expected} (SHA-256 of the candidates) got {digest}"
                self.fail(f"{prefix}candidates_sha256", got, f"{prefix}candidates")
        try:
            checked_count(count, len(ids), f"{prefix}count")
        except ValueError as exc:
            self.fail(f"{prefix}count", str(exc).partition(": ")[2], f"{prefix}candidates")
            return False
        return in_order

    def selection(self, prefix: str, expected: list[str], selected: tuple[str, ...], count: int) -> None:
        """Compare a published selection with the recomputed one."""
        if len(selected) != count:
            self.fail(f"{prefix}count", f"{count}, but {len(selected)} ids are selected", f"{prefix}selected")
        if list(selected) != expected:
            inputs = ("secret", "beacon", f"{prefix}candidates", f"{prefix}count")
            self.fail(f"{prefix}selected", _difference(expected, list(selected)), *inputs)

    def result(self, draw_id: str, *, revealed: bool) -> DrawCheck:
        status: Literal["ok", "not_revealed", "failed"] = "ok" if revealed else "not_revealed"
        return DrawCheck(draw_id=draw_id, status="failed" if self.problems else status, problems=(*self.problems,))


def _audit(draw: DrawRecord) -> DrawCheck:
    audit = _Audit()
    for field, text in (("id", draw.draw_id), ("plan_number", draw.plan_number)):
        if not text:
            audit.fail(field, "empty")
    candidates_hold = audit.committed_list("", draw.candidates, draw.candidates_sha256, draw.count)
    staff = draw.inspectors
    staff_hold = staff is not None and audit.committed_list(
        "inspectors.", staff.candidates, staff.candidates_sha256, staff.count
    )
    audit.hex32("commitment", draw.commitment)
    for field, moment in (("committed_at", draw.committed_at), ("revealed_at", draw.revealed_at)):
        if moment is not None and moment.utcoffset() is None:
            audit.fail(field, "has no UTC offset")
    reveal: dict[str, object] = {
        "beacon": draw.beacon,
        "secret": draw.secret,
        "seed": draw.seed,
        "revealed_at": draw.revealed_at,
        "selected": draw.selected,
    }
    if staff is not None:
        reveal["inspectors.selected"] = staff.selected
    if all(value is None for value in reveal.values()):
        return audit.result(draw.draw_id, revealed=False)
    for field, value in reveal.items():
        if value is None:
            audit.fail(field, "null, but the rest of the reveal is published")
    seed = _audit_seed(audit, draw)
    # Selections are recomputed from the recomputed seed: a wrong published seed is reported once, by _audit_seed.
    if seed is not None and candidates_hold and draw.selected is not None:
        audit.selection("", pick_smallest(seed, b"", [*draw.candidates], draw.count), draw.selected, draw.count)
    if seed is not None and staff_hold and staff is not None and staff.selected is not None:
        picked = pick_smallest(seed, INSPECTOR_DOMAIN, [*staff.candidates], staff.count)
        audit.selection("inspectors.", picked, staff.selected, staff.count)
    revealed_at, committed_at = draw.revealed_at, draw.committed_at
    comparable = revealed_at is not None and None not in (revealed_at.utcoffset(), committed_at.utcoffset())
    if comparable and revealed_at is not None and revealed_at < committed_at:
        when = f"{revealed_at.isoformat()} is before committed_at {committed_at.isoformat()}"
        audit.fail("revealed_at", when, "committed_at")
    return audit.result(draw.draw_id, revealed=True)


def _audit_seed(audit: _Audit, draw: DrawRecord) -> bytes | None:
    """Check ``commitment`` and ``seed`` against the revealed secret; the seed they fix, when they are usable."""
    secret = audit.hex32("secret", draw.secret)
    if secret is not None and HEX64.fullmatch(draw.commitment) and commitment_for(secret) != draw.commitment:
        expected = f"expected {commitment_for(secret)} (SHA-256 of secret) got {draw.commitment}"
        audit.fail("commitment", expected, "secret")
    if draw.beacon is not None and not (draw.beacon and is_text(draw.beacon)):
        audit.fail("beacon", "expected non-empty Unicode text")
        return None
    published = audit.hex32("seed", draw.seed)
    if secret is None or draw.beacon is None:
        return None
    seed = draw_seed(secret, draw.beacon)
    if published is not None and seed != published:
        audit.fail("seed", f"expected {seed.hex()} (SHA-256 of secret ‖ beacon) got {draw.seed}", "secret", "beacon")
    return seed


def _difference(expected: list[str], got: list[str]) -> str:
    if max(len(expected), len(got)) <= _SHOWN_IDS:
        return f"expected {_json(expected)} got {_json(got)}"
    at = next((i for i, pair in enumerate(zip(expected, got, strict=False)) if pair[0] != pair[1]), None)
    at = min(len(expected), len(got)) if at is None else at
    first = f"expected {_shown(expected[at]) if at < len(expected) else 'nothing'}"
    return f"{len(got)} ids instead of {len(expected)}; from position {at}: {first} got " + (
        _shown(got[at]) if at < len(got) else "nothing"
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _shown(text: str) -> str:
    """``text`` as a JSON string, cut to 80 characters: published values may be long or hold control characters."""
    return _json(text[:_SHOWN_CHARS]) + ("…" if len(text) > _SHOWN_CHARS else "")


def _kind(value: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


# ---- Fetching a bureau's draws -------------------------------------------------------------------------------


def parse_draws(document: bytes | str) -> list[Any]:
    """The records of a draws document, unchecked (pass them to :func:`verify_draws`).

    The document is ``{"draws": [record, …]}`` (other keys are ignored) or a bare list of records.

    Raises:
        DecodeError: the document is not JSON, or has no list of draws.
    """
    if isinstance(document, bytes):
        # A file saved by a Windows editor may start with a byte order mark; it is not part of the JSON.
        document = document.removeprefix(b"\xef\xbb\xbf")
    try:
        data = msgspec.json.decode(document)
    except msgspec.DecodeError as exc:
        raise DecodeError(f"not JSON ({exc})") from None
    if isinstance(data, dict):
        if not isinstance(data.get("draws"), list):
            raise DecodeError('expected a list of draws under "draws"', path="$.draws")
        return list(data["draws"])
    if not isinstance(data, list):
        raise DecodeError('expected {"draws": [...]} or a list of draws', path="$")
    return data


def fetch_draws(url: str, *, client: httpx.Client | None = None, timeout: float = 30.0) -> list[Any]:
    """GET a bureau's draws document (``…/public/draws.json``) and return its records, unchecked.

    Args:
        url: the document's http(s) URL; redirects are followed.
        client: an :class:`httpx.Client` to send with (the caller keeps owning it); by default one is made.
        timeout: seconds for the request when this function makes the client.

    Raises:
        ConnectionFailed: no answer (name not found, refused, timed out).
        APIError: an answer other than 2xx; ``http_status`` says which.
        DecodeError: the body is not a draws document (see :func:`parse_draws`).
        ValueError: ``url`` is not an http(s) URL.
    """
    import httpx  # noqa: PLC0415 - `import spotcheck.sdk` must not load the HTTP stack

    http = client if client is not None else httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        response = http.get(url, headers={"accept": "application/json"})
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ValueError(f"url: {exc}") from None
    except httpx.TransportError as exc:
        raise ConnectionFailed(f"GET {url} failed: {str(exc) or type(exc).__name__}") from exc
    finally:
        if client is None:
            http.close()
    if not response.is_success:
        request_id = response.headers.get("x-request-id")
        message = f"GET {url} answered {response.status_code}"
        raise APIError(message, http_status=response.status_code, request_id=request_id)
    return parse_draws(response.content)
