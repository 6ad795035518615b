"""Console forms: urlencoded form data parsed into the same msgspec request bodies the JSON API decodes.

A form is derived from its body's Struct type (``msgspec.inspect``): a text, number, date-time, checkbox or select
input per field, a fieldset per nested Struct, repeated rows for a list of Structs, a chooser for a tagged union.
What the officer typed is assembled into the JSON the API would have received and converted exactly as Litestar
converts a request body (``msgspec.convert(..., strict=False)``), so a value the API refuses is refused here by the
same rule. Each refusal is pinned to the input that caused it and said in Chinese; what was typed is kept.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

import msgspec
from msgspec import inspect as mi

from spotcheck.gateway.console.form_checks import check_body, file_refusal, form_path
from spotcheck.gateway.console.form_words import CHOICE_LABELS, FIELD_LABELS, REQUIRED
from spotcheck.gateway.web.timestamps import decode_timestamp, first_moment_out_of_range
from spotcheck.schemas import EvidenceRef

__all__ = [
    "EvidenceChoice",
    "Form",
    "FormContext",
    "Group",
    "Input",
    "Node",
    "Repeat",
    "Variants",
    "build_form",
    "parse_form",
]

Widget = Literal[
    "text", "textarea", "number", "checkbox", "datetime", "date", "select", "multi", "lines", "evidence", "digests"
]

_LOCAL_DATETIME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")
_INTEGER: Final = re.compile(r"^[+-]?\d+$")
_INDEX: Final = re.compile(r"\[(\d+)\]$")
_BEIJING_OFFSET: Final = "+08:00"
_MISSING: Final = msgspec.UNSET


# ---- the form as data ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One input: ``name`` is both the form field's name and where its errors are filed (``orders[0].order_no``)."""

    name: str
    label: str
    widget: Widget
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Group:
    """A nested Struct shown as a fieldset; ``optional`` groups left blank are omitted."""

    name: str
    label: str
    children: tuple[Node, ...]
    optional: bool = False


@dataclass(frozen=True)
class Repeat:
    """A list of Structs: one row (a tuple of inputs) per item; blank rows are skipped."""

    name: str
    label: str
    rows: tuple[tuple[Node, ...], ...]
    required: bool = False
    min_rows: int = 0


@dataclass(frozen=True)
class Variants:
    """A tagged union: a select of the tag and, per tag, the fields of that variant."""

    name: str
    label: str
    selector: Input
    options: tuple[tuple[str, Group], ...]


Node = Input | Group | Repeat | Variants


@dataclass(frozen=True)
class EvidenceChoice:
    """An evidence file of the case an officer may cite: its id, how it is described, and its ``EvidenceRef``."""

    id: str
    label: str
    ref: dict[str, Any]


@dataclass(frozen=True)
class FormContext:
    """What a form needs from the page: choices for identifier fields (by field name) and the case's evidence."""

    choices: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    evidence: Sequence[EvidenceChoice] = ()


@dataclass
class Form:
    """A form to render: its inputs, what was typed (or the defaults) and the errors filed against the inputs."""

    body: type[msgspec.Struct] | None
    nodes: tuple[Node, ...]
    values: dict[str, list[str]]
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    parsed: Any = None
    """The decoded body once :func:`parse_form` accepted it (None for a form without a body)."""

    def value(self, name: str) -> str:
        """The first value typed into ``name`` ("" when none)."""
        got = self.values.get(name)
        return got[0] if got else ""

    def selected(self, name: str, choice: str) -> bool:
        """Whether ``choice`` is among the values of ``name`` (selects, checkboxes)."""
        return choice in self.values.get(name, [])

    def lines(self, name: str) -> str:
        """The values of a one-per-line field as the textarea shows them."""
        return "\n".join(self.values.get(name, []))

    @property
    def ok(self) -> bool:
        """Whether nothing was refused."""
        return not self.errors and not self.general

    def names(self) -> set[str]:
        """Every input name and group name of the form (errors are filed against these)."""
        found: set[str] = set()

        def walk(nodes: Iterable[Node]) -> None:
            for node in nodes:
                found.add(node.name)
                if isinstance(node, Group):
                    walk(node.children)
                elif isinstance(node, Repeat):
                    for row in node.rows:
                        walk(row)
                elif isinstance(node, Variants):
                    found.add(node.selector.name)
                    walk(group for _, group in node.options)

        walk(self.nodes)
        return found

    def file(self, path: str, reason: str) -> None:
        """File ``reason`` against the input at ``path``, or the nearest enclosing one, or the form as a whole."""
        names = self.names()
        key = path
        while key and key not in names:
            key = _parent(key)
        if not key:
            self.general.append(f"{path}：{reason}" if path else reason)
        elif key not in self.errors:
            row = _INDEX.search(path[len(key) :]) if path != key else None
            self.errors[key] = f"第 {int(row.group(1)) + 1} 项{reason}" if row else reason


def _parent(path: str) -> str:
    if path.endswith("]"):
        return path[: path.rindex("[")]
    return path.rsplit(".", 1)[0] if "." in path else ""


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# ---- building a form from a Struct type ---------------------------------------------------------------------------


def _unwrap(info: mi.Type) -> tuple[mi.Type, str | None, bool]:
    """The type inside metadata and an optional union, its description, and whether None is allowed."""
    description: str | None = None
    optional = False
    while True:
        if isinstance(info, mi.Metadata):
            described = (info.extra_json_schema or {}).get("description")
            description = description or (described if isinstance(described, str) else None)
            info = info.type
        elif isinstance(info, mi.UnionType) and any(isinstance(t, mi.NoneType) for t in info.types):
            optional = True
            rest = tuple(t for t in info.types if not isinstance(t, mi.NoneType))
            info = rest[0] if len(rest) == 1 else mi.UnionType(types=rest)
        else:
            return info, description, optional


def _label(name: str, key: str, description: str | None) -> str:
    """The Chinese label: by the field's place (``screenshots.product``), its name, or its description."""
    place = re.sub(r"\[\d+\]", "", name)
    for candidate in (place, key):
        if candidate in FIELD_LABELS:
            return FIELD_LABELS[candidate]
    if description:
        return description.split(" — ", 1)[0]
    return name


def _choices(values: Iterable[Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(v), CHOICE_LABELS.get(str(v), str(v))) for v in values)


def _scalar(  # noqa: PLR0911 - one return per kind of value
    name: str, key: str, label: str, info: mi.Type, required: bool, ctx: FormContext
) -> Input:
    """The input for a field of a single value."""
    if key in ctx.choices:
        return Input(name, label, "select", required, tuple(ctx.choices[key]))
    if isinstance(info, mi.StrType) and _is_digest(info) and ctx.evidence:
        return Input(name, label, "select", required, _digest_choices(ctx))
    if isinstance(info, mi.StrType):
        long_text = (info.max_length or 0) > 200 and info.pattern is None  # noqa: PLR2004 - ShortText's limit
        widget: Widget = "textarea" if long_text else "text"
        return Input(name, label, widget, required, max_length=info.max_length)
    if isinstance(info, mi.IntType):
        return Input(name, label, "number", required, minimum=info.ge, maximum=info.le)
    if isinstance(info, mi.BoolType):
        return Input(name, label, "checkbox")
    if isinstance(info, mi.DateTimeType) or (isinstance(info, mi.CustomType) and issubclass(info.cls, datetime)):
        return Input(name, label, "datetime", required)
    if isinstance(info, mi.DateType):
        return Input(name, label, "date", required)
    if isinstance(info, mi.LiteralType | mi.EnumType):
        values = info.values if isinstance(info, mi.LiteralType) else [m.value for m in info.cls]
        return Input(name, label, "select", required, _choices(values))
    return Input(name, label, "text", required)


@dataclass(frozen=True)
class _Field:
    """A body field as its form needs it: names, the type inside metadata and optionality, and its description."""

    encode_name: str
    name: str
    info: mi.Type
    description: str | None
    optional: bool
    required: bool


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> tuple[_Field, ...]:
    """The fields of a Struct type, inspected once per type (``msgspec.inspect`` costs more than building a form)."""
    fields = []
    for f in msgspec.structs.fields(cls):
        info, description, optional = _unwrap(mi.type_info(f.type))
        fields.append(_Field(f.encode_name, f.name, info, description, optional, f.required))
    return tuple(fields)


def _node(  # noqa: PLR0911 - one return per shape of field
    name: str, spec: _Field, ctx: FormContext, values: Mapping[str, list[str]]
) -> Node:
    key, info, required, optional = spec.name, spec.info, spec.required, spec.optional
    label = _label(name, key, spec.description)
    if isinstance(info, mi.StructType):
        return Group(name, label, _struct_nodes(info.cls, name, ctx, values), optional=optional or not required)
    if isinstance(info, mi.UnionType) and all(isinstance(t, mi.StructType) and t.tag for t in info.types):
        variants = [t for t in info.types if isinstance(t, mi.StructType)]
        tag_field = variants[0].tag_field or "kind"
        selector = Input(_join(name, tag_field), label, "select", required, _choices(v.tag for v in variants))
        options = tuple(
            (
                str(v.tag),
                Group(name, CHOICE_LABELS.get(str(v.tag), str(v.tag)), _struct_nodes(v.cls, name, ctx, values)),
            )
            for v in variants
        )
        return Variants(name, label, selector, options)
    if isinstance(info, mi.ListType):
        item, _, _ = _unwrap(info.item_type)
        if isinstance(item, mi.StructType) and item.cls is EvidenceRef:
            choices = tuple((e.id, e.label) for e in ctx.evidence)
            return Input(name, label, "evidence", required, choices)
        if isinstance(item, mi.StructType):
            filled = _rows_typed(name, values)
            count = min(max(info.min_length or 0, filled + 1, 2), info.max_length or 50)
            rows = tuple(_struct_nodes(item.cls, f"{name}[{i}]", ctx, values) for i in range(count))
            return Repeat(name, label, rows, required, info.min_length or 0)
        if isinstance(item, mi.LiteralType):
            return Input(name, label, "multi", required, _choices(item.values))
        if isinstance(item, mi.StrType) and _is_digest(item):
            return Input(name, label, "digests", required, _digest_choices(ctx))
        return Input(name, label, "lines", required)
    return _scalar(name, key, label, info, required, ctx)


def _is_digest(info: mi.StrType) -> bool:
    """A SHA-256 field: in the console it names one of the case's evidence files."""
    return info.pattern is not None and "[0-9a-f]{64}" in info.pattern


def _digest_choices(ctx: FormContext) -> tuple[tuple[str, str], ...]:
    by_digest = {e.ref["sha256"]: e.label for e in ctx.evidence}
    return tuple(by_digest.items())


def _rows_typed(name: str, values: Mapping[str, list[str]]) -> int:
    """How many rows of the repeated group ``name`` the submitted values reach into."""
    pattern = re.compile(re.escape(name) + r"\[(\d+)\]\.")
    rows = [int(m.group(1)) + 1 for key, got in values.items() if (m := pattern.match(key)) and any(got)]
    return max(rows, default=0)


def _struct_nodes(
    cls: type[msgspec.Struct], prefix: str, ctx: FormContext, values: Mapping[str, list[str]]
) -> tuple[Node, ...]:
    return tuple(_node(_join(prefix, f.encode_name), f, ctx, values) for f in _fields(cls))


def _defaults(cls: type[msgspec.Struct]) -> dict[str, list[str]]:
    """The values a fresh form starts with: the body's defaults, as the inputs show them (a new dict each time)."""
    return {name: list(shown) for name, shown in _default_values(cls)}


@functools.cache
def _default_values(cls: type[msgspec.Struct]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """:func:`_defaults` worked out once per body type: its defaults are constants and constant factories."""
    return tuple((name, tuple(shown)) for name, shown in _read_defaults(cls).items())


def _read_defaults(cls: type[msgspec.Struct]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in msgspec.structs.fields(cls):
        default = f.default_factory() if f.default_factory is not msgspec.NODEFAULT else f.default
        if default is msgspec.NODEFAULT or default is None:
            continue
        name = f.encode_name
        if isinstance(default, bool):
            out[name] = ["on"] if default else []
        elif isinstance(default, list):
            if all(isinstance(v, str | int) for v in default):
                out[name] = [str(v) for v in default]
        elif isinstance(default, str | int):
            out[name] = [str(default)]
    return out


def build_form(
    body: type[msgspec.Struct] | None,
    ctx: FormContext | None = None,
    values: Mapping[str, list[str]] | None = None,
    *,
    extra: Sequence[Input] = (),
) -> Form:
    """The form of ``body`` (None: a form with no fields), filled with ``values`` or, when None, the defaults.

    ``extra`` inputs (e.g. a path parameter such as ``application_id``) come first and are not part of the body.
    """
    context = ctx or FormContext()
    typed = dict(values) if values is not None else (_defaults(body) if body is not None else {})
    nodes = _struct_nodes(body, "", context, typed) if body is not None else ()
    return Form(body=body, nodes=(*extra, *nodes), values=typed)


# ---- parsing what was typed into the body ---------------------------------------------------------------------------


def _text(values: Mapping[str, list[str]], name: str) -> str:
    got = values.get(name)
    return got[0].strip() if got else ""


def _many(values: Mapping[str, list[str]], name: str) -> list[str]:
    return [v.strip() for v in values.get(name, []) for v in v.splitlines() if v.strip()]


def _leaf(node: Input, values: Mapping[str, list[str]], ctx: FormContext) -> Any:  # noqa: PLR0911
    """The JSON value of one input, or ``_MISSING`` when nothing was given."""
    if node.widget == "checkbox":
        return _text(values, node.name) not in {"", "off", "false", "0"}
    if node.widget in {"multi", "lines", "digests"}:
        items = _many(values, node.name)
        return items if items or node.required else _MISSING
    if node.widget == "evidence":
        by_id = {e.id: e.ref for e in ctx.evidence}
        chosen = [by_id[i] for i in _many(values, node.name) if i in by_id]
        return chosen if chosen or node.required else _MISSING
    raw = _text(values, node.name)
    if not raw:
        return _MISSING
    if node.widget == "number" and _INTEGER.match(raw):
        return int(raw)
    if node.widget == "datetime" and _LOCAL_DATETIME.match(raw):
        # The officer types Beijing time (the page says so); the API takes RFC 3339 with an offset.
        local = raw.replace(" ", "T")
        return f"{local}{':00' if local.count(':') == 1 else ''}{_BEIJING_OFFSET}"
    return raw


def _is_blank(value: Any) -> bool:
    return value is _MISSING or value is False or value in ([], {})


def _assemble(
    nodes: Iterable[Node], values: Mapping[str, list[str]], ctx: FormContext, rows: dict[str, str]
) -> dict[str, Any]:
    """The JSON object the nodes' inputs make; ``rows`` learns which form row each list item came from."""
    out: dict[str, Any] = {}
    for node in nodes:
        key = node.name.rsplit(".", 1)[-1]
        value: Any
        if isinstance(node, Input):
            value = _leaf(node, values, ctx)
        elif isinstance(node, Group):
            inner = _assemble(node.children, values, ctx, rows)
            value = _MISSING if node.optional and all(_is_blank(v) for v in inner.values()) else inner
        elif isinstance(node, Repeat):
            items: list[dict[str, Any]] = []
            for index, row in enumerate(node.rows):
                item = _assemble(row, values, ctx, rows)
                if not all(_is_blank(v) for v in item.values()):
                    rows[f"{node.name}[{len(items)}]"] = f"{node.name}[{index}]"
                    items.append(item)
            value = items if items or node.required else _MISSING
        else:
            tag = _text(values, node.selector.name)
            chosen = dict(node.options).get(tag)
            tag_key = node.selector.name.rsplit(".", 1)[-1]
            value = {tag_key: tag, **_assemble(chosen.children, values, ctx, rows)} if chosen else _MISSING
            if tag and chosen is None:
                value = {tag_key: tag}  # an unknown tag: let the decoder name it
        if value is not _MISSING:
            out[key] = value
    return out


def parse_form(
    body: type[msgspec.Struct] | None,
    values: Mapping[str, list[str]],
    ctx: FormContext | None = None,
    *,
    extra: Sequence[Input] = (),
) -> Form:
    """Decode the submitted ``values`` into ``body`` as the API would: ``form.parsed`` holds it when ``form.ok``.

    The form keeps what was typed and carries one Chinese reason per refused input. Every field is checked on its
    own first, so all bad fields are named at once; then the whole body is converted, which also runs its
    cross-field rules.
    """
    context = ctx or FormContext()
    form = build_form(body, context, values, extra=extra)
    for node in extra:
        if node.required and not _text(values, node.name):
            form.file(node.name, REQUIRED)
    if body is None:
        return form
    rows: dict[str, str] = {}
    data = _assemble(form.nodes[len(extra) :], values, context, rows)
    if not check_body(data, body, form, rows) or not form.ok:
        return form
    try:
        parsed = msgspec.convert(data, type=body, strict=False, str_keys=True, dec_hook=decode_timestamp)
    except msgspec.ValidationError as exc:
        file_refusal(form, str(exc), "", rows)
        return form
    # As for the API's JSON bodies: a moment at either end of Python's range would overflow once stored.
    if (outside := first_moment_out_of_range(parsed)) is not None:
        where, reason = outside
        form.file(form_path(where, rows), reason)
        return form
    form.parsed = parsed
    return form
