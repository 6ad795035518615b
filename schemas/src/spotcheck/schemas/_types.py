"""Value types of the wire contract: each one validates when a message is decoded.

The ``Annotated`` aliases carry their bounds as :class:`msgspec.Meta`, so msgspec rejects a bad value at decode
time with the field's path, and the generated JSON Schema states the same bounds. What a regular expression
cannot say (the USCC check character) is checked by :func:`check_uscc_field` from the ``__post_init__`` of each
Struct that holds such a field.
"""

from __future__ import annotations

import re
from datetime import datetime
from operator import getitem
from typing import Annotated, Final

from msgspec import Meta

from spotcheck.schemas._errors import FieldValueError

__all__ = [
    "USCC",
    "DivisionCode",
    "Fen",
    "HttpsUrl",
    "Identifier",
    "LongText",
    "Sha256Hex",
    "ShortText",
    "Timestamp",
    "WebUrl",
    "check_uscc_field",
    "describe",
    "is_valid_uscc",
    "province_of",
    "uscc_check_character",
]

# Patterns end in \Z since re.search lets $ match before a final newline; generate.py writes $ (ECMA-262) instead.
_DIVISION_PATTERN: Final = r"^[1-9][0-9]{5}\Z"
# GB 32100-2015 table: the ten digits and the upper-case letters without I, O, Z, S and V (31 characters).
_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_PATTERN: Final = r"^[0-9ABCDEFGHJKLMNPQRTUWXY]{18}\Z"
# Weight of position i (1-based) is 3^(i-1) mod 31, GB 32100-2015 §5.
_USCC_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
_USCC_VALUES: Final = {char: value for value, char in enumerate(_USCC_ALPHABET)}
# Value times weight of every character at each of the 17 positions: the checksum is then 17 dict lookups.
_USCC_WEIGHTED: Final = tuple(
    {char: value * weight for char, value in _USCC_VALUES.items()} for weight in _USCC_WEIGHTS
)
# Codes that passed check_uscc_field: the same merchants and platforms recur, so most checks are a set lookup.
_VALID_USCCS: Final[set[str]] = set()
_VALID_USCCS_MAX: Final = 4096

DivisionCode = Annotated[str, Meta(pattern=_DIVISION_PATTERN, examples=["330100"])]
"""A 6-digit administrative division code in the GB/T 2260 layout (``330100`` is 杭州市)."""

USCC = Annotated[str, Meta(pattern=_USCC_PATTERN, examples=["91330100799655058B"])]
"""A unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters; the last is a check character.

The pattern is checked by msgspec; the check character by the holding Struct's ``__post_init__``.
"""

Timestamp = Annotated[datetime, Meta(tz=True)]
"""An RFC 3339 date-time with an explicit UTC offset; a naive time is rejected."""

Identifier = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+\Z")]
"""An opaque identifier (case id, order number, webhook id): 1-128 of ``A-Z a-z 0-9 . _ : -``."""

ShortText = Annotated[str, Meta(min_length=1, max_length=200)]
"""A non-empty single value of human text (a name, an address), at most 200 characters."""

LongText = Annotated[str, Meta(min_length=1, max_length=4000)]
"""A non-empty free text (a reason, a description), at most 4000 characters."""

_EMPTY_SHA256: Final = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

Sha256Hex = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}\Z", examples=[_EMPTY_SHA256])]
"""A SHA-256 digest as 64 lower-case hexadecimal characters."""

Fen = Annotated[int, Meta(ge=0, le=1_000_000_000_000)]
"""An amount of money in fen (分, 1/100 yuan) as an integer, 0 to 10 billion yuan."""

HttpsUrl = Annotated[str, Meta(min_length=9, max_length=2048, pattern=r"^https://[^\s]+\Z")]
"""An absolute ``https://`` URL without white space, at most 2048 characters."""

WebUrl = Annotated[str, Meta(min_length=8, max_length=2048, pattern=r"^https?://[^\s]+\Z")]
"""An absolute ``http://`` or ``https://`` URL (a website that may not offer TLS), at most 2048 characters."""

_DIVISION_RE: Final = re.compile(_DIVISION_PATTERN)
_USCC_RE: Final = re.compile(_USCC_PATTERN)


def describe(zh: str, en: str) -> Meta:
    """Return the field annotation ``Meta(description="<zh> — <en>")``: every field says what it is, Chinese first."""
    return Meta(description=f"{zh} — {en}")


def province_of(code: str) -> str:
    """Return the province-level division code that contains ``code`` (``330106`` → ``330000``).

    Raises:
        ValueError: ``code`` is not a 6-digit division code.
    """
    if not _DIVISION_RE.fullmatch(code):
        raise ValueError(f"not a 6-digit administrative division code: {code!r}")
    return code[:2] + "0000"


def uscc_check_character(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a USCC.

    Raises:
        ValueError: ``first17`` is not 17 characters of the USCC alphabet.
    """
    if len(first17) == len(_USCC_WEIGHTS):
        try:
            total = sum(map(getitem, _USCC_WEIGHTED, first17))
        except KeyError:
            pass  # a character outside the alphabet
        else:
            return _USCC_ALPHABET[(31 - total % 31) % 31]
    raise ValueError(f"expected 17 characters of the USCC alphabet, got {first17!r}")


def is_valid_uscc(code: str) -> bool:
    """Return whether ``code`` is 18 characters of the USCC alphabet ending in the right check character."""
    if type(code) is str and code in _VALID_USCCS:
        return True
    return bool(_USCC_RE.fullmatch(code)) and uscc_check_character(code[:17]) == code[17]


def check_uscc_field(field: str, code: str | None) -> None:
    """Raise :class:`FieldValueError` naming ``field`` unless ``code`` is ``None`` or a valid USCC.

    Used by the ``__post_init__`` of every Struct holding a :data:`USCC`, so a bad code fails at decode time
    (and at construction in Python) with the exact field path.
    """
    if code is None or (type(code) is str and code in _VALID_USCCS):
        return
    if not _USCC_RE.fullmatch(code):
        raise FieldValueError(field, f"not 18 characters of the GB 32100-2015 alphabet: {code!r}")
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise FieldValueError(
            field, f"USCC check character is {code[17]!r}, GB 32100-2015 requires {expected!r} for {code!r}"
        )
    if type(code) is str:  # only plain str, here and above: a subclass may redefine equality and hashing
        if len(_VALID_USCCS) >= _VALID_USCCS_MAX:
            _VALID_USCCS.clear()  # bounded: a flood of distinct codes costs a re-check, never memory
        _VALID_USCCS.add(code)
