"""Typed destination configuration: conversion with field-naming errors, and a secret wrapper that never prints."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import msgspec

from spotcheck.adapters._errors import AdapterConfigError

__all__ = ["InvalidField", "Secret", "check_http_url", "parse_config"]

_ConfigT = TypeVar("_ConfigT", bound=msgspec.Struct)

# msgspec ends a located error with "- at `$.field...`"; the top-level key is what the operator wrote.
_AT_PATH: Final = re.compile(r"^(?P<reason>.*) - at `\$(?P<path>.*)`$", re.DOTALL)
_NAMED_FIELD: Final = re.compile(r"(?:missing required|contains unknown) field `(?P<field>[^`]*)`")
_INDEX: Final = re.compile(r"\[[^\]]*\]")


class InvalidField(Exception):  # noqa: N818 - raised inside configuration structs, never seen by callers
    """Raised by a configuration struct's checks; :func:`parse_config` turns it into :class:`AdapterConfigError`.

    It is deliberately not a ``ValueError``, so msgspec lets it through with the field name intact.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Secret:
    """A configuration secret (password, app secret, signing key) that never shows in ``repr``, ``str`` or logs.

    Call :meth:`reveal` at the one place the value is used.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a secret must be a string")
        self._value = value

    def reveal(self) -> str:
        """Return the secret value."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, len(self._value)))


def _decode_hook(type_: type[Any], obj: object) -> object:
    if type_ is Secret:
        if isinstance(obj, Secret):
            return obj
        if isinstance(obj, str):
            if not obj:
                raise ValueError("must not be empty")
            return Secret(obj)
        raise TypeError(f"Expected `str`, got `{type(obj).__name__}`")
    raise TypeError(f"unsupported type {type_!r}")


def parse_config(adapter: str, config: Mapping[str, Any], type_: type[_ConfigT]) -> _ConfigT:
    """Convert a raw configuration mapping into ``type_``, raising :class:`AdapterConfigError` naming the field.

    Unknown keys are refused (``type_`` should forbid them) so that a misspelt option is an error, not a default.
    """
    if not isinstance(config, Mapping):
        raise AdapterConfigError(adapter, "<config>", f"expected a mapping, got {type(config).__name__}")
    try:
        return msgspec.convert(dict(config), type_, dec_hook=_decode_hook)
    except msgspec.ValidationError as exc:
        raise _config_error(adapter, str(exc)) from None
    except InvalidField as exc:
        raise AdapterConfigError(adapter, exc.field, exc.reason) from None


def _config_error(adapter: str, message: str) -> AdapterConfigError:
    located = _AT_PATH.match(message)
    reason, path = (located["reason"], located["path"].lstrip(".")) if located else (message, "")
    named = _NAMED_FIELD.search(reason)
    if named:
        return AdapterConfigError(adapter, f"{path}.{named['field']}" if path else named["field"], reason)
    if not path:
        return AdapterConfigError(adapter, "<config>", reason)
    field = _INDEX.sub("", path)
    return AdapterConfigError(adapter, field, reason if field == path else f"{reason} (at `{path}`)")


def check_http_url(url: str, *, field: str = "url") -> None:
    """Check the shape of an endpoint URL (http/https, a host, no credentials); raise :class:`InvalidField`.

    Whether the target address is allowed is the SSRF guard's business at delivery time, when the gateway's
    policy is known.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError:
        raise InvalidField(field, "not a valid URL") from None
    if parts.scheme not in {"http", "https"}:
        raise InvalidField(field, "must be an http:// or https:// URL")
    if not parts.hostname:
        raise InvalidField(field, "the URL has no host")
    if "@" in parts.netloc:
        raise InvalidField(field, "the URL must not carry credentials (user:password@)")
