"""Finding adapters by name through the ``spotcheck.adapters`` entry-point group."""

from __future__ import annotations

import functools
import importlib.metadata
from typing import TYPE_CHECKING, Final, cast

from spotcheck.adapters._errors import AdapterLoadError, AdapterNotFoundError

if TYPE_CHECKING:
    from spotcheck.adapters._base import Adapter

__all__ = ["ENTRY_POINT_GROUP", "available_adapters", "load_adapter"]

ENTRY_POINT_GROUP: Final = "spotcheck.adapters"
"""The entry-point group third-party distributions register adapters in."""

_REQUIRED_ATTRIBUTES: Final = ("name", "validate_config", "deliver", "aclose")


def available_adapters() -> list[str]:
    """The names of every installed adapter, sorted."""
    return sorted({entry.name for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)})


@functools.cache
def load_adapter(name: str) -> type[Adapter]:
    """The adapter class registered as ``name`` (loaded once, then cached).

    Raises:
        AdapterNotFoundError: no installed distribution registers ``name``.
        AdapterLoadError: the entry point is ambiguous, fails to import, or does not name an adapter class.
    """
    entries = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=name))
    if not entries:
        installed = ", ".join(available_adapters()) or "none"
        raise AdapterNotFoundError(f"adapter {name!r} not found: misspelled or not installed (installed: {installed})")
    targets = sorted({entry.value for entry in entries})
    if len(targets) > 1:
        raise AdapterLoadError(f"adapter {name!r} is registered more than once: {', '.join(targets)}")
    try:
        loaded = entries[0].load()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise AdapterLoadError(f"adapter {name!r} ({targets[0]}) failed to import: {reason}") from exc
    missing = [attribute for attribute in _REQUIRED_ATTRIBUTES if not hasattr(loaded, attribute)]
    if not isinstance(loaded, type) or missing:
        raise AdapterLoadError(
            f"adapter {name!r} ({targets[0]}) is not an adapter class"
            + (f": it lacks {', '.join(missing)}" if missing else "")
        )
    return cast("type[Adapter]", loaded)
