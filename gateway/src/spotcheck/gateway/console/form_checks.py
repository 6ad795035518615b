"""Checking an assembled form against its request body, field by field, and filing each refusal where it belongs.

Every field is converted on its own first (so all bad fields are named at once, not only msgspec's first), then
:func:`~spotcheck.gateway.console.forms.parse_form` converts the whole body, which also runs its cross-field rules.
A refusal names a place in the JSON (``$.orders[0].order_no``); it is filed under the form's own name for that
place, with the list positions of the JSON turned back into the form's row numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Annotated, Any, Final, Union, get_args, get_origin

import msgspec

from spotcheck.gateway.console.form_words import REQUIRED, reason_zh
from spotcheck.gateway.web.timestamps import decode_timestamp

if TYPE_CHECKING:
    from spotcheck.gateway.console.forms import Form

__all__ = ["check_body", "file_refusal", "form_path"]

_AT: Final = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.DOTALL)
_NAMED: Final = re.compile(r"^`(?P<field>[^`]+)`: (?P<reason>.+)$", re.DOTALL)


def check_body(data: dict[str, Any], body: type[msgspec.Struct], form: Form, rows: Mapping[str, str]) -> bool:
    """Convert ``data`` as ``body`` field by field, filing the first reason per field; True when all pass."""
    return _check(data, body, "", form, rows)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _check(value: Any, annotation: Any, path: str, form: Form, rows: Mapping[str, str]) -> bool:
    """Convert ``value`` as ``annotation`` field by field, filing the first reason per field; True when all pass."""
    target = _struct_of(annotation, value)
    ok = True
    if target is not None and isinstance(value, dict):
        for f in msgspec.structs.fields(target):
            where = _join(path, f.encode_name)
            if f.encode_name in value:
                ok = _check(value[f.encode_name], f.type, where, form, rows) and ok
            elif f.required:
                form.file(form_path(where, rows), REQUIRED)
                ok = False
    elif isinstance(value, list) and (item_type := _list_item(annotation)) is not None:
        for index, item in enumerate(value):
            ok = _check(item, item_type, f"{path}[{index}]", form, rows) and ok
    if not ok:
        return False
    try:
        msgspec.convert(value, type=annotation, strict=False, str_keys=True, dec_hook=decode_timestamp)
    except msgspec.ValidationError as exc:
        file_refusal(form, str(exc), path, rows)
        return False
    return True


def _strip(annotation: Any) -> Any:
    """``annotation`` without ``Annotated`` metadata and without ``None`` in a union of it and one other type."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in {Union, UnionType}:
        rest = [a for a in get_args(annotation) if a is not NoneType]
        if len(rest) == 1:
            return _strip(rest[0])
    return annotation


def _struct_of(annotation: Any, value: Any) -> type[msgspec.Struct] | None:
    """The Struct class ``value`` is decoded as: the annotation's, or the union member its tag names."""
    bare = _strip(annotation)
    if isinstance(bare, type) and issubclass(bare, msgspec.Struct):
        return bare
    if get_origin(bare) in {Union, UnionType} and isinstance(value, dict):
        for member in get_args(bare):
            config = getattr(member, "__struct_config__", None)
            if config is not None and config.tag_field and value.get(config.tag_field) == config.tag:
                return member  # type: ignore[no-any-return]
    return None


def _list_item(annotation: Any) -> Any:
    bare = _strip(annotation)
    return get_args(bare)[0] if get_origin(bare) is list else None


def file_refusal(form: Form, message: str, path: str, rows: Mapping[str, str]) -> None:
    """File a msgspec refusal (``reason - at `$.a.b` ``) under the form's own name for that place, in Chinese."""
    matched = _AT.match(message)
    reason = matched.group("message") if matched else message
    at = (matched.group("path") if matched else None) or "$"
    where = _join(path, at[2:]) if at.startswith("$.") else (path + at[1:])
    named = _NAMED.match(reason)
    if named:  # a body's own rule: "`field`: reason"
        where, reason = _join(where, named.group("field")), named.group("reason")
    missing = re.match(r"^Object missing required field `([^`]+)`$", reason)
    if missing:
        where, reason = _join(where, missing.group(1)), REQUIRED
    form.file(form_path(where, rows), reason_zh(reason))


def form_path(path: str, rows: Mapping[str, str]) -> str:
    """Translate list positions of the assembled JSON back to the form's row numbers."""
    for data_row, form_row in rows.items():
        if path == data_row or path.startswith((f"{data_row}.", f"{data_row}[")):
            return form_row + path[len(data_row) :]
    return path
