"""``spotcheck audit verify``: recompute the log from the stored records and check every checkpoint against it.

The check trusts nothing stored but the records' content and the signatures: it recomputes every leaf from its
record (:mod:`spotcheck.gateway.audit.leaves`), every complete subtree from the leaves, compares them with the
stored leaf hashes and nodes, and checks each signed note (its signature, and its root against the recomputed
tree) and each checkpoint of the old hash chain. A deleted, altered or reordered leaf or node is named by the
first leaf index it affects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.chain import ChainBreak, verify_chain
from spotcheck.gateway.audit.checkpoints import chain_checkpoint_failures
from spotcheck.gateway.audit.leaves import record_leaf_hash
from spotcheck.gateway.audit.sequencer import LogSigner
from spotcheck.gateway.audit.tree import perfect_pieces
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_log import LogNode, SignedTreeHead
from spotcheck.sdk import LogVerificationError, node_hash, verify_log_checkpoint
from spotcheck.sdk._merkle import EMPTY_ROOT

__all__ = ["AuditReport", "LogBreak", "audit_report", "verify_log"]

_BATCH = 5000


@dataclass(frozen=True)
class LogBreak:
    """The first leaf index at which the stored log differs from the one recomputed from the records, and why."""

    index: int
    reason: str


@dataclass
class AuditReport:
    """What a full audit check found: records and leaves verified, the first breaks, checkpoints that do not hold."""

    records: int
    broken: ChainBreak | None
    leaves: int
    log_break: LogBreak | None
    checkpoints: int
    checkpoint_failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the records, the log and every checkpoint hold."""
        return self.broken is None and self.log_break is None and not self.checkpoint_failures

    def describe(self) -> str:
        """One line per finding, for the ``spotcheck audit verify`` command."""
        lines: list[str] = []
        if self.log_break is not None:
            lines.append(
                f"audit log BROKEN at leaf index {self.log_break.index}: {self.log_break.reason} "
                f"({self.log_break.index} leaves verified before it)"
            )
        if self.broken is not None:
            lines.append(
                f"audit record BROKEN at seq {self.broken.seq}: {self.broken.reason} "
                f"({self.records} records verified before it)"
            )
        lines.extend(self.checkpoint_failures)
        if not lines:
            lines.append(
                f"audit log intact: {self.records} records and {self.leaves} leaves verified; "
                f"{self.checkpoints} signed checkpoints verified"
            )
        return "\n".join(lines)


async def _recomputed_leaves(session: AsyncSession) -> tuple[list[bytes], LogBreak | None]:
    """Every integrated record's leaf recomputed from its content, in index order, up to the first break."""
    leaves: list[bytes] = []
    columns = (
        AuditRecord.leaf_index,
        AuditRecord.at,
        AuditRecord.actor,
        AuditRecord.action,
        AuditRecord.subject,
        AuditRecord.detail,
        AuditRecord.leaf_hash,
    )
    last = -1
    while True:
        rows = (
            await session.execute(
                select(*columns).where(AuditRecord.leaf_index > last).order_by(AuditRecord.leaf_index).limit(_BATCH)
            )
        ).all()
        if not rows:
            return leaves, None
        for index, at, actor, action, subject, detail, stored in rows:
            if index != len(leaves):
                return leaves, LogBreak(len(leaves), f"no record holds this leaf (the next one is {index})")
            digest = record_leaf_hash(at, actor, action, subject, detail)
            if digest != stored:
                return leaves, LogBreak(index, "the record's content does not match its leaf hash (record altered)")
            leaves.append(digest)
        last = rows[-1][0]


async def _stored_level(session: AsyncSession, level: int) -> list[tuple[int, bytes]]:
    rows: list[tuple[int, bytes]] = []
    last = -1
    while True:
        batch = (
            await session.execute(
                select(LogNode.index, LogNode.hash)
                .where(LogNode.level == level, LogNode.index > last)
                .order_by(LogNode.index)
                .limit(_BATCH)
            )
        ).all()
        if not batch:
            return rows
        rows.extend((index, digest) for index, digest in batch)
        last = batch[-1][0]


async def _check_nodes(session: AsyncSession, levels: list[list[bytes]], *, whole: bool) -> LogBreak | None:
    """The first leaf index covered by a stored node that is missing, extra or differs from the recomputed one.

    Levels are checked from the leaves up and the first level with a difference answers: a changed leaf also
    changes every node above it, which must not hide which leaf it was. With ``whole`` False (the records broke
    off early) nodes beyond the recomputed leaves are not judged.
    """
    verified = len(levels[0])
    for level, computed in enumerate(levels):
        stored = await _stored_level(session, level)
        for position, (index, digest) in enumerate(stored):
            beyond = (index + 1) << level > verified
            if beyond and not whole:
                break
            if index != position or beyond or digest != computed[index]:
                first = min(index, position)
                what = "leaf" if level == 0 else f"node (level {level}, index {first})"
                return LogBreak(first << level, f"the stored {what} is missing, extra or differs from the records")
        if len(stored) < len(computed):
            return LogBreak(
                len(stored) << level, f"the stored tree lacks its node (level {level}, index {len(stored)})"
            )
    return None


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every complete subtree of the tree over ``leaves``, level by level (level 0: the leaves)."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def _root(levels: list[list[bytes]], size: int) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    pieces = [levels[level][index] for level, index in perfect_pieces(0, size)]
    result = pieces[-1]
    for piece in reversed(pieces[:-1]):
        result = node_hash(piece, result)
    return result


async def verify_log(session: AsyncSession, signer: LogSigner) -> tuple[int, LogBreak | None, int, list[str]]:
    """Recompute the log and check its stored nodes and signed notes.

    Returns (leaves verified, first break or None, signed notes checked, one line per note that does not hold).
    """
    leaves, broken = await _recomputed_leaves(session)
    levels = _levels(leaves)
    node_break = await _check_nodes(session, levels, whole=broken is None)
    if node_break is not None and (broken is None or node_break.index < broken.index):
        broken = node_break
    verified = len(leaves) if broken is None else broken.index
    heads = (await session.scalars(select(SignedTreeHead).order_by(SignedTreeHead.tree_size))).all()
    failures: list[str] = []
    for head in heads:
        name = f"log checkpoint of {head.tree_size} leaves"
        try:
            opened = verify_log_checkpoint(head.note, signer.verifier_key, origin=signer.origin)
        except LogVerificationError as exc:
            failures.append(f"{name}: its signed note does not verify ({exc})")
            continue
        if (opened.size, opened.root_hash) != (head.tree_size, head.root_hash):
            failures.append(f"{name}: the stored size or root differs from its signed note")
        elif head.tree_size > len(leaves):
            failures.append(f"{name}: the log holds only {len(leaves)} verified leaves")
        elif _root(levels, head.tree_size) != head.root_hash:
            failures.append(f"{name}: the signed root does not match the tree recomputed from the records")
    return verified, broken, len(heads), failures


async def audit_report(session: AsyncSession, signer: LogSigner) -> AuditReport:
    """Check every record, the whole log, every signed note and every checkpoint of the old chain."""
    records, broken = await verify_chain(session)
    leaves, log_break, notes, failures = await verify_log(session, signer)
    chained, chain_failures = await chain_checkpoint_failures(session, signer.key)
    return AuditReport(
        records=records,
        broken=broken,
        leaves=leaves,
        log_break=log_break,
        checkpoints=notes + chained,
        checkpoint_failures=failures + chain_failures,
    )
