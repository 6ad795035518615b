"""The public transparency log: its signed checkpoint and verifier key, leaf hashes and RFC 9162 proofs.

The paths and answers are those the SDK's ``spotcheck-sdk log watch`` reads (``spotcheck.sdk._logwatch``); hashes
in proofs are standard base64, leaf hashes in lists lowercase hex. Every bad parameter is a 400 problem naming it.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Final

from litestar import Controller, Response, get
from litestar.di import Provide
from litestar.params import FromQuery

from spotcheck.gateway.audit.service import MAX_LEAVES_PER_CALL, InclusionProof, LogService, LogSigner
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime
from spotcheck.gateway.web.problems import field_error

__all__ = ["PublicLogController"]

_TEXT: Final = "text/plain; charset=utf-8"
_NO_CACHE: Final = {"cache-control": "no-cache"}
_HEX_HASH: Final = re.compile(r"[0-9a-f]{64}")
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,18}")
_MAX_SIZE: Final = 2**63 - 1


def _size(name: str, raw: str | None, *, required: bool = True) -> int | None:
    """A tree size or index from the query: decimal digits only, so each value has one spelling."""
    if raw is None or raw == "":
        if required:
            raise field_error(400, name, "required", code="invalid-query")
        return None
    if not _DECIMAL.fullmatch(raw):
        raise field_error(400, name, "must be a non-negative decimal integer", code="invalid-query")
    value = int(raw)
    if value > _MAX_SIZE:
        # A database integer (64 bits) holds no more; compared with a stored index it would fail, not miss.
        raise field_error(400, name, f"must be at most {_MAX_SIZE}", code="invalid-query")
    return value


def _required(name: str, raw: str | None) -> int:
    value = _size(name, raw)
    assert value is not None  # noqa: S101 - required
    return value


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _proof_json(proof: InclusionProof) -> dict[str, Any]:
    return {
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "leaf_hash": proof.leaf_hash.hex(),
        "inclusion": [_b64(h) for h in proof.inclusion],
    }


class PublicLogController(Controller):
    """The log anyone may read and check (no token): what ``spotcheck-sdk log watch`` and witnesses fetch."""

    path = "/public/log"
    tags = ["public"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012

    @get("/checkpoint", summary="The newest signed checkpoint (C2SP tlog-checkpoint signed note)", media_type=_TEXT)
    async def checkpoint(self, session: Session) -> Response[str]:
        """The origin, tree size and base64 root, a blank line and the Ed25519 signature line."""
        head = await LogService(session).checkpoint()
        return Response(head.note, media_type=_TEXT, headers=_NO_CACHE)

    @get("/key", summary="The verifier key of the log's checkpoints (name+keyid+base64)", media_type=_TEXT)
    async def key(self, runtime: RuntimeDep) -> Response[str]:
        """The C2SP verifier key to pin: ``<origin>+<hex key ID>+<base64(0x01 ‖ Ed25519 public key)>``."""
        return Response(LogSigner.for_settings(runtime.settings).verifier_key + "\n", media_type=_TEXT)

    @get("/leaves", summary="Leaf hashes [start, end) of the signed tree, hex, at most 1,000")
    async def leaves(
        self, session: Session, start: FromQuery[str | None] = None, end: FromQuery[str | None] = None
    ) -> Response[dict[str, Any]]:
        """The RFC 9162 leaf hashes of leaves ``start`` to ``end - 1`` (cut at the signed tree's size)."""
        first, stop = _required("start", start), _required("end", end)
        if stop <= first:
            raise field_error(400, "end", "must be larger than start", code="invalid-query")
        if stop - first > MAX_LEAVES_PER_CALL:
            raise field_error(400, "end", f"at most {MAX_LEAVES_PER_CALL} leaves per call", code="invalid-query")
        hashes = await LogService(session).leaves(first, stop)
        return Response({"start": first, "leaf_hashes": [h.hex() for h in hashes]}, headers=_NO_CACHE)

    @get("/proof", summary="Inclusion proof of a leaf (by index or by leaf hash) in a signed tree")
    async def proof(
        self,
        session: Session,
        tree_size: FromQuery[str | None] = None,
        index: FromQuery[str | None] = None,
        leaf_hash: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """``?index=I&tree_size=N`` or ``?leaf_hash=<64 hex>&tree_size=N``; 404 when the tree lacks that leaf."""
        size = _required("tree_size", tree_size)
        service = LogService(session)
        if leaf_hash is not None:
            if not _HEX_HASH.fullmatch(leaf_hash):
                raise field_error(400, "leaf_hash", "must be 64 lowercase hex digits", code="invalid-query")
            return _proof_json(await service.inclusion_by_hash(bytes.fromhex(leaf_hash), size))
        position = _size("index", index, required=False)
        if position is None:
            raise field_error(400, "index", "give index or leaf_hash", code="invalid-query")
        return _proof_json(await service.inclusion_by_index(position, size))

    @get("/consistency", summary="Consistency proof between two signed trees")
    async def consistency(
        self, session: Session, first: FromQuery[str | None] = None, second: FromQuery[str | None] = None
    ) -> dict[str, Any]:
        """RFC 9162 PROOF(first, second): the tree of ``first`` leaves is a prefix of that of ``second``."""
        old, new = _required("first", first), _required("second", second)
        proof = await LogService(session).consistency(old, new)
        return {"first": old, "second": new, "proof": [_b64(h) for h in proof]}
