"""The regulation Spotcheck implements, named once.

工商消字〔2015〕189号, 《工商总局关于加强和规范网络交易商品质量抽查检验的意见》 ("the
opinion"): every legal basis the gateway records or states cites a clause of it through :func:`basis`.
"""

from __future__ import annotations

from typing import Final

__all__ = ["OPINION", "basis"]

OPINION: Final = "工商消字〔2015〕189号"
"""The document number of the opinion on online product quality sampling inspection."""


def basis(clause: str) -> str:
    """A legal basis citing one clause of the opinion, e.g. ``basis("三(三)")`` → ``工商消字〔2015〕189号 三(三)``."""
    return f"{OPINION} {clause}"
