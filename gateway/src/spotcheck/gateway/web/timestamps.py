"""Moments in the regulator API: RFC 3339 strings with an offset, and nothing else.

JSON request bodies are decoded strictly (:class:`~spotcheck.gateway.web.bodies.JsonBodyRequest`), so a body's
``Timestamp`` field (an aware :class:`datetime`) takes only such a string; :func:`moment_reason` puts msgspec's
refusal into the words the problem document gives. Query parameters are strings that Litestar converts with
msgspec's lenient rules, which would read ``until=0.5`` as 1970: a query moment is typed :class:`RequestTimestamp`,
which msgspec does not know, so Litestar hands it to :func:`decode_timestamp` (registered on the app as a type
decoder), which refuses anything but a date, a time and an offset. The OpenAPI document shows it as
``string``/``date-time`` through :class:`RequestTimestampSchemaPlugin`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, Final

import msgspec
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

__all__ = [
    "TIMESTAMP_DECODERS",
    "RequestTimestamp",
    "RequestTimestampSchemaPlugin",
    "decode_timestamp",
    "first_moment_out_of_range",
    "is_request_timestamp",
    "json_schema_hook",
    "moment_reason",
]

_FORMAT: Final = "须为带时区偏移的 RFC 3339 日期时间字符串，如 2026-12-14T23:59:00+08:00 或 2026-12-14T15:59:00Z"
_NUMBER: Final = f"不接受数字（Unix 时间）；{_FORMAT}"
_NOT_STRING: Final = f"不是字符串；{_FORMAT}"
_NOT_RFC3339: Final = f"不是完整的日期时间（只写日期不算）；{_FORMAT}"
_NAIVE: Final = f"缺少时区偏移（Z 或 +08:00）；{_FORMAT}"
FIRST_YEAR: Final = 1970
LAST_YEAR: Final = 2999
_OUT_OF_RANGE: Final = f"超出可处理的年份范围（{FIRST_YEAR}–{LAST_YEAR} 年）；{_FORMAT}"
# msgspec's words for a moment it refuses; `| null` when the field is optional.
_EXPECTED_MOMENT: Final = re.compile(r"^Expected `datetime(?: \| null)?`, got `(\w+)`$")


class RequestTimestamp(datetime):
    """A moment given as an RFC 3339 string with an offset (``2026-12-14T23:59:00+08:00``); numbers are refused.

    For query parameters only: msgspec encodes only exact :class:`datetime` objects, and a JSON body's moments are
    plain aware datetimes (``spotcheck.schemas.Timestamp``) that strict decoding already holds to this form.
    """


def is_request_timestamp(annotation: Any) -> bool:
    """Whether Litestar should decode ``annotation`` with :func:`decode_timestamp`."""
    return annotation is RequestTimestamp


def decode_timestamp(annotation: Any, value: Any) -> RequestTimestamp:
    """Read an RFC 3339 string with an offset into a :class:`RequestTimestamp`; anything else raises with the reason.

    Raises:
        TypeError: ``value`` is not a string.
        ValueError: the string is not an RFC 3339 date-time with an offset.
    """
    if isinstance(value, RequestTimestamp):  # already decoded (Litestar may convert a value twice)
        return value
    if not isinstance(value, str):
        raise TypeError(_NUMBER if isinstance(value, int | float) and not isinstance(value, bool) else _NOT_STRING)
    try:
        moment = msgspec.convert(value, datetime)
    except msgspec.ValidationError as exc:
        raise ValueError(_NUMBER if _is_number(value) else _NOT_RFC3339) from exc
    if moment.tzinfo is None:
        raise ValueError(_NAIVE)
    if not _in_range(moment):
        raise ValueError(_OUT_OF_RANGE)
    return RequestTimestamp(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=moment.tzinfo,
    )


def _in_range(moment: date) -> bool:
    # Python's datetimes end at years 1 and 9999: a moment near either end overflows once converted to UTC or
    # Beijing time (a 500 where the sender deserves a 400); no record of the regulator lies outside these years.
    return FIRST_YEAR <= moment.year <= LAST_YEAR


def first_moment_out_of_range(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first date or moment of a decoded body outside the years the gateway keeps: its path and why, or None.

    The path reads like ``orders[0].ordered_at``; msgspec Structs, lists, tuples and dicts are walked.
    """
    for where, found in _moments(value, path):
        if not _in_range(found):
            return where, _OUT_OF_RANGE
    return None


def _moments(value: Any, path: str) -> Iterator[tuple[str, date]]:
    if isinstance(value, date):  # a datetime is a date too
        yield path, value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _moments(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _moments(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _moments(item, f"{path}.{key}" if path else str(key))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def moment_reason(message: str) -> str | None:
    """The problem's reason for msgspec's refusal of a moment (``message`` without its path), else ``None``."""
    if message == "Invalid RFC3339 encoded datetime":
        return _NOT_RFC3339
    if message == "Expected `datetime` with a timezone component":
        return _NAIVE
    if got := _EXPECTED_MOMENT.match(message):
        return _NUMBER if got.group(1) in {"int", "float"} else _NOT_STRING
    return None


def json_schema_hook(annotation: Any) -> dict[str, Any]:
    """Msgspec's ``schema_hook``: the JSON Schema of :class:`RequestTimestamp` (an RFC 3339 date-time string).

    Raises:
        NotImplementedError: any other type (msgspec then reports it as unsupported).
    """
    if annotation is RequestTimestamp:
        return {"type": "string", "format": "date-time"}
    raise NotImplementedError(f"no JSON Schema for {annotation!r}")


TIMESTAMP_DECODERS: Final = [(is_request_timestamp, decode_timestamp)]
"""The app's ``type_decoders`` entry for :class:`RequestTimestamp`."""


class RequestTimestampSchemaPlugin(OpenAPISchemaPlugin):
    """Documents :class:`RequestTimestamp` as what it is on the wire: ``{"type": "string", "format": "date-time"}``."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        """Only :class:`RequestTimestamp`."""
        return value is RequestTimestamp

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        """An RFC 3339 date-time string."""
        return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME)
