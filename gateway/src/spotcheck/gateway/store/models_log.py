"""Tables of the transparency log: its stored tree nodes and its signed checkpoints (migration ``0004``).

The leaves themselves are the audit records (:class:`~spotcheck.gateway.store.models.AuditRecord`: ``leaf_hash``,
``leaf_index``); these tables hold what the sequencer derives from them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from spotcheck.gateway.store.models import Base

__all__ = ["LogNode", "SignedTreeHead"]


class LogNode(Base):
    """One complete subtree of the log: the RFC 9162 hash of leaves ``[index·2^level, (index+1)·2^level)``.

    Level 0 holds the leaf hashes. Only complete subtrees are stored, each once, when its last leaf is integrated;
    the hash of any other range is folded from at most one stored node per level, so an inclusion or consistency
    proof on a log of ``n`` leaves reads ``O(log n)`` rows by primary key.
    """

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(
        "idx", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class SignedTreeHead(Base):
    """A checkpoint the log signed: the tree of ``tree_size`` leaves has ``root_hash``, as the C2SP note says.

    ``tree_size`` is the key: the log never signs two trees of one size, and the newest checkpoint is the largest.
    """

    __tablename__ = "log_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime]
