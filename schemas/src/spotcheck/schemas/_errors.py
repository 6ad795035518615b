"""The one error type of ``spotcheck-schemas`` and the field-level error its validators raise."""

from __future__ import annotations


class ContractError(ValueError):
    """A body is not a valid Spotcheck message.

    Every decode failure becomes this one error: malformed JSON, an unknown ``type`` tag, a missing field,
    a value outside its bounds, a failed checksum or an inconsistent combination of fields.

    Attributes:
        reason: human-readable text saying what is wrong, safe to log and to return to the sender.
        path: where it is wrong, as a JSONPath-like string (``$.data.merchant.uscc``), or ``None`` when the
            failure concerns the body as a whole (malformed JSON).
    """

    def __init__(self, reason: str, path: str | None = None) -> None:
        super().__init__(reason if path is None else f"{reason} - at `{path}`")
        self.reason = reason
        self.path = path


class FieldValueError(ValueError):
    """A validator rejected one field of a Struct; ``field`` names it relative to the Struct.

    Raised from ``__post_init__``: msgspec reports the path of the Struct only, so the codec appends ``field``
    to name the exact member. ``str()`` names the field too, for errors raised while constructing in Python.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"`{field}`: {reason}")
        self.field = field
        self.reason = reason
