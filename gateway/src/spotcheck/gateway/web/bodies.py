"""What every request body of the regulator API shares, and how a JSON body is read.

Requests reject unknown fields by name (``forbid_unknown_fields``) and reuse the wire contract's value types,
so a bad division code or USCC is refused at the edge with the field's path.

Litestar reads a JSON body into Python values and then converts them, with the handler's other parameters, by
msgspec's lenient rules (``strict=False``), which exist for query strings and forms where every value is text: a
number becomes a Unix time, ``"2"`` an integer, ``"true"`` a boolean. JSON has its own types, so
:class:`JsonBodyRequest` converts a handler's ``data`` into its declared type by the strict rules, with the one
allowance JSON Schema makes (a whole number written ``16.0`` is an integer); Litestar then takes the converted
body as it is. A refusal names the field, in the same shape as the other validation errors.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Final

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, ValidationException
from litestar.serialization import default_deserializer
from litestar.types import Empty
from msgspec import Meta

from spotcheck.gateway.web.timestamps import first_moment_out_of_range, moment_reason
from spotcheck.schemas import (
    is_valid_uscc,
)

__all__ = ["Email", "JsonBodyRequest", "RequestBody", "Url", "WorkingDays", "check_uscc_field"]

Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
WorkingDays = Annotated[int, Meta(ge=1, le=30, description="platform answer SLA in working days")]
Url = Annotated[str, Meta(max_length=1000, pattern=r"^https?://")]


def check_uscc_field(field: str, value: str | None) -> None:
    """Refuse a USCC whose GB 32100-2015 check character is wrong, naming the field."""
    if value is not None and not is_valid_uscc(value):
        raise ValueError(f"`{field}`: not a valid unified social credit code (GB 32100-2015 check character)")


class RequestBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Base of request bodies: keyword-only, immutable, unknown fields refused."""


_AT: Final = " - at `"
_EXACT_FLOAT_INTEGERS: Final = 2.0**53  # beyond this a float no longer holds every integer exactly


def _whole_number(literal: str) -> float | int:
    """A JSON number with a fraction or exponent: an ``int`` when it is a whole number, as JSON Schema counts it."""
    value = float(literal)
    return int(value) if value.is_integer() and abs(value) <= _EXACT_FLOAT_INTEGERS else value


_untyped: Final = msgspec.json.Decoder(float_hook=_whole_number)


class JsonBodyRequest(Request[Any, Any, Any]):
    """The app's request: :meth:`json` converts the body into the handler's ``data`` type by msgspec's strict rules."""

    __slots__ = ()

    async def json(self) -> Any:
        """The body converted into the handler's ``data`` type (Litestar's untyped JSON where there is none).

        Raises:
            ValidationException: the body does not fit the type; the error names the field, as Litestar's do.
            SerializationException: the body is not JSON (Litestar answers 400, as for its own decoding).
        """
        handler = self.route_handler
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is None or data.annotation is Any:
            return await super().json()
        if self._json is Empty:
            try:
                value = _untyped.decode(await self.body() or b"null")
            except msgspec.DecodeError as exc:
                raise SerializationException(str(exc)) from exc
            hook = partial(default_deserializer, type_decoders=handler.resolve_type_decoders())
            try:
                converted = msgspec.convert(value, data.annotation, strict=True, dec_hook=hook)
            except msgspec.ValidationError as exc:
                raise self._invalid(str(exc)) from exc
            if (outside := first_moment_out_of_range(converted)) is not None:
                raise self._refusal(*outside)
            self._json = converted
        return self._json

    def _invalid(self, error: str) -> ValidationException:
        # msgspec says "<message> - at `$.purchased_at`"; Litestar's key is the path below the body ("" for it all).
        message, at, where = error.rpartition(_AT)
        if not at:
            message, where = error, "$`"
        key = where.removesuffix("`").removeprefix("$").removeprefix(".")
        return self._refusal(key, moment_reason(message) or message)

    def _refusal(self, key: str, reason: str) -> ValidationException:
        """A refusal of the body's ``key`` (``orders[0].ordered_at``; "" for the whole body), in Litestar's shape."""
        detail = f"Validation failed for {self.method} {self.url}"
        return ValidationException(detail=detail, extra=[{"key": key, "message": reason, "source": "body"}])
