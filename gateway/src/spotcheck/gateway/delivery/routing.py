"""Which adapter and which keys serve a destination, and the sealing of adapter secrets at rest.

An adapter configuration may hold secrets (an open platform's app secret, an SMTP password). They are sealed
under the master key when a platform is registered and opened only here, when its route is built: the database
never holds them in clear and no other module handles them.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from spotcheck.gateway.access import MasterKey

__all__ = ["SEALED_KEY", "SECRET_FIELDS", "open_adapter_config", "seal_adapter_config"]

SEALED_KEY: Final = "__sealed__"
"""Key under which a stored adapter configuration keeps its sealed secret fields."""

_SEALED_JSON_KEY: Final = "__sealed_json__"  # names of sealed fields that were not strings (JSON-encoded)

SECRET_FIELDS: Final = frozenset({"secret", "app_secret", "session", "password", "signing_keys"})
"""Adapter configuration fields that are secrets wherever they appear."""


def _context(owner: str, name: str) -> str:
    # Binds each ciphertext to its owner and field: a sealed value copied elsewhere does not open.
    return f"{owner}:{name}"


def seal_adapter_config(config: dict[str, Any], master_key: MasterKey, owner: str) -> dict[str, Any]:
    """The configuration to store: secret fields sealed under the master key, the rest as given."""
    sealed: dict[str, str] = {}
    encoded: list[str] = []
    plain: dict[str, Any] = {}
    for name, value in config.items():
        if name not in SECRET_FIELDS:
            plain[name] = value
            continue
        text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
        if not isinstance(value, str):
            encoded.append(name)
        sealed[name] = master_key.encrypt(text, context=_context(owner, name)).hex()
    if sealed:
        plain[SEALED_KEY] = sealed
    if encoded:
        plain[_SEALED_JSON_KEY] = sorted(encoded)
    return plain


def open_adapter_config(stored: dict[str, Any], master_key: MasterKey, owner: str) -> dict[str, Any]:
    """The configuration an adapter is built with: sealed fields opened (and decoded when they were not text)."""
    sealed = stored.get(SEALED_KEY)
    encoded = set(stored.get(_SEALED_JSON_KEY) or ())
    opened = {name: value for name, value in stored.items() if name not in {SEALED_KEY, _SEALED_JSON_KEY}}
    if isinstance(sealed, dict):
        for name, blob in sealed.items():
            value: Any = master_key.decrypt(bytes.fromhex(blob), context=_context(owner, name))
            opened[name] = msgspec.json.decode(value) if name in encoded else value
    return opened
