"""Moments in the regulator API: RFC 3339 strings with an offset, and nothing else.

Litestar converts parameters and request bodies with msgspec's lenient rules, which read a number as a Unix time
(``until=0.5`` would mean 1970). The API's contract says RFC 3339 strings, so its moments are typed
:class:`RequestTimestamp`, which msgspec does not know: Litestar hands such values to
:func:`decode_timestamp` (registered on the app as a type decoder), which refuses anything but a string with a
date, a time and an offset, and the OpenAPI document shows it as ``string``/``date-time`` through
:class:`RequestTimestampSchemaPlugin`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

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
    "is_request_timestamp",
    "json_schema_hook",
]

_AWARE: Final = Annotated[datetime, msgspec.Meta(tz=True)]
_REASON: Final = "must be an RFC 3339 date-time string with an offset, e.g. 2026-12-14T23:59:00+08:00"


class RequestTimestamp(datetime):
    """A moment given as an RFC 3339 string with an offset (``2026-12-14T23:59:00+08:00``); numbers are refused.

    msgspec encodes only exact :class:`datetime` objects, so a field of this type is for values the handler hands
    to a query (time ranges), not for bodies the services store as they are.
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
    if isinstance(value, RequestTimestamp):  # Litestar converts a decoded body a second time
        return value
    if not isinstance(value, str):
        raise TypeError(_REASON)
    try:
        moment = msgspec.convert(value, _AWARE)
    except msgspec.ValidationError as exc:
        raise ValueError(_REASON) from exc
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
