r"""The request bodies of the operations that read their body themselves, which Litestar cannot see.

Three handlers take the raw request instead of a decoded body: the platform intake (a Standard Webhooks signed
JSON reply, verified over its exact bytes), the evidence upload (a file streamed to the evidence store) and the
object directory's CSV import. Each is described here as the handler reads it: the media types it accepts, the
shape of the body and the headers it needs.

The evidence media types and the CSV columns are written out because ``web`` sits below the capabilities that own
them; ``tests/gateway/test_openapi.py`` holds them equal to ``evidence.store.ACCEPTED_MEDIA_TYPES`` and
``plans.directory.COLUMNS``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import msgspec
from litestar.openapi.spec import (
    Components,
    Discriminator,
    Example,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from spotcheck.schemas import Reply

__all__ = [
    "CSV_COLUMNS",
    "CSV_MEDIA_TYPES",
    "EVIDENCE_MEDIA_TYPES",
    "RAW_BODY_OPERATIONS",
    "WEBHOOK_HEADERS",
    "document_raw_bodies",
    "schema_from_json",
]

INTAKE: Final = ("post", "/v1/intake/{platform_id}")
EVIDENCE_UPLOAD: Final = ("post", "/v1/cases/{case_id}/evidence")
MERCHANT_IMPORT: Final = ("post", "/v1/directory/merchants/import")
PLATFORM_FETCH: Final = ("get", "/v1/platforms/{platform_id}/documents/{document_id}")
RAW_BODY_OPERATIONS: Final = frozenset({INTAKE, EVIDENCE_UPLOAD, MERCHANT_IMPORT})
"""The operations whose handler reads the body itself: their 400, 413 and 415 are their own."""

EVIDENCE_MEDIA_TYPES: Final = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "video/mp4",
    "video/webm",
    "video/quicktime",
    "application/pdf",
)
"""What an evidence file may be, as detected from its first bytes (``evidence.store.ACCEPTED_MEDIA_TYPES``)."""

CSV_COLUMNS: Final[tuple[tuple[str, bool, str], ...]] = (
    ("platform_id", True, "a registered platform's id"),
    ("shop_id", True, "the shop's id on the platform: letters, digits and . _ : - (at most 128)"),
    ("shop_name", True, "the shop's name"),
    ("kind", True, "natural_person, registered_entity or platform_self_operated"),
    ("legal_name", False, "the operator's registered name"),
    ("uscc", False, "unified social credit code, check character verified (GB 32100-2015)"),
    ("division_code", True, "six-digit division code (GB/T 2260) inside the authority's area"),
    ("categories", False, "product categories separated by ';' or '；'"),
)
"""The CSV import's header, in order: name, required, meaning (``plans.directory.COLUMNS``)."""

CSV_MEDIA_TYPES: Final = ("text/csv", "text/plain", "application/octet-stream")
"""What the CSV import may be declared as (a missing content-type counts as text/csv)."""

_ID_PATTERN: Final = "^[A-Za-z0-9._:-]+$"
WEBHOOK_HEADERS: Final[tuple[tuple[str, str, Schema], ...]] = (
    (
        "webhook-id",
        "the message id: the idempotency key (the same id with the same body answers as the first time)",
        Schema(type=OpenAPIType.STRING, min_length=1, max_length=128, pattern=_ID_PATTERN),
    ),
    (
        "webhook-timestamp",
        "Unix time in seconds of the signature; refused when too far from the gateway's clock",
        Schema(type=OpenAPIType.STRING, pattern="^[0-9]{1,12}$"),
    ),
    (
        "webhook-signature",
        (
            "space-separated `v1,<base64>` (HMAC-SHA256, whsec_) or `v1a,<base64>` (Ed25519, whpk_) signatures of "
            "`{webhook-id}.{webhook-timestamp}.{signed}`; one verifying with a registered key is enough"
        ),
        Schema(type=OpenAPIType.STRING, pattern="^v1a?,[A-Za-z0-9+/]+={0,2}( v1a?,[A-Za-z0-9+/]+={0,2})*$"),
    ),
)
"""The Standard Webhooks headers a platform signs its replies (and its document fetches) with."""

_REPLY_PREFIX: Final = "Reply."


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _key_to_field() -> dict[str, str]:
    """JSON Schema keyword -> the field of Litestar's :class:`Schema` that holds it."""
    return {str(f.metadata.get("alias", _camel(f.name))): f.name for f in dataclasses.fields(Schema)}


_FIELDS: Final = _key_to_field()
_FORMATS: Final = frozenset(f.value for f in OpenAPIFormat)
_SCHEMA_VALUED: Final = frozenset({"items", "additional_properties", "schema_not", "contains", "property_names"})
_SCHEMA_LISTS: Final = frozenset({"all_of", "any_of", "one_of", "prefix_items"})
_SCHEMA_MAPS: Final = frozenset({"properties", "pattern_properties", "dependent_schemas"})


def schema_from_json(node: dict[str, Any]) -> Schema | Reference:
    r"""A JSON Schema (as msgspec writes it) as Litestar's spec objects, with ECMA-262 end anchors (``\Z`` -> ``$``)."""
    if "$ref" in node:
        return Reference(ref=str(node["$ref"]))
    values: dict[str, Any] = {}
    for key, value in node.items():
        name = _FIELDS.get(key)
        if name is None:
            continue  # $schema, $id, $defs: not part of an OpenAPI schema object
        if name in _SCHEMA_VALUED and isinstance(value, dict):
            values[name] = schema_from_json(value)
        elif name in _SCHEMA_LISTS:
            values[name] = [schema_from_json(item) for item in value]
        elif name in _SCHEMA_MAPS:
            values[name] = {prop: schema_from_json(spec) for prop, spec in value.items()}
        elif name == "discriminator":
            values[name] = Discriminator(property_name=value["propertyName"], mapping=value.get("mapping"))
        elif name == "pattern" and isinstance(value, str) and value.endswith("\\Z"):
            values[name] = value[:-2] + "$"
        elif name == "type":
            values[name] = [OpenAPIType(v) for v in value] if isinstance(value, list) else OpenAPIType(value)
        elif name == "format" and value in _FORMATS:
            values[name] = OpenAPIFormat(value)
        else:
            values[name] = value
    return Schema(**values)


def _reply_body(openapi: OpenAPI) -> RequestBody:
    """The intake's body: any reply message of the wire contract, told apart by ``type`` (schemas/json-schema)."""
    (union,), components = msgspec.json.schema_components(
        [Reply], ref_template="#/components/schemas/" + _REPLY_PREFIX + "{name}"
    )
    openapi.components = openapi.components or Components()
    schemas = openapi.components.schemas if openapi.components.schemas is not None else {}
    for name, spec in sorted(components.items()):
        component = schema_from_json(spec)
        if isinstance(component, Schema):  # msgspec names every struct by its own schema, never by a $ref
            schemas[_REPLY_PREFIX + name] = component
    openapi.components.schemas = schemas
    body = schema_from_json(union)
    if isinstance(body, Schema):
        body.description = "a platform reply; the published JSON Schema of each type is schemas/generated/json-schema"
    return RequestBody(
        required=True,
        description=(
            "The reply exactly as signed (the signature covers these bytes), UTF-8 JSON. Each `type` has its "
            "published JSON Schema (`urn:spotcheck:schema:v1:<type>`, schemas/generated/json-schema)."
        ),
        content={"application/json": OpenAPIMediaType(schema=body)},
    )


def _evidence_body() -> RequestBody:
    binary = Schema(type=OpenAPIType.STRING, description="the file's bytes, unencoded")
    declared = ("application/octet-stream", *EVIDENCE_MEDIA_TYPES)
    return RequestBody(
        required=True,
        description=(
            "The evidence file's bytes as the body, streamed. The declared content-type may be "
            "application/octet-stream (also when absent) or any accepted type; what counts is the type detected "
            f"from the bytes, one of {', '.join(EVIDENCE_MEDIA_TYPES)}. A Content-Length above "
            "`store.max_evidence_bytes` (2 GiB by default) is refused before reading, and a longer body while "
            "streaming. An empty body is refused."
        ),
        content={media: OpenAPIMediaType(schema=binary) for media in declared},
    )


def _csv_body() -> RequestBody:
    header = ",".join(name for name, _, _ in CSV_COLUMNS)
    columns = "; ".join(
        f"`{name}` ({'required' if required else 'optional'}): {meaning}" for name, required, meaning in CSV_COLUMNS
    )
    row = "demo-mall,shop-1001,某某电器旗舰店,registered_entity,杭州某某电器有限公司,91330100799655058B,330106"
    example = f"{header}\n{row},电热水壶;小家电\n"
    sample = Example(summary="one shop in two categories", value=example)
    text = Schema(
        type=OpenAPIType.STRING,
        min_length=1,
        description=f"CSV, UTF-8 (a BOM allowed), a header row naming the columns: {columns}.",
    )
    return RequestBody(
        required=True,
        description=(
            f"The object directory as CSV with the header `{header}` (columns may come in any order; unknown "
            "columns are ignored). Every row is imported or none; at most 200,000 rows and "
            "`http.max_request_bytes` bytes."
        ),
        content={media: OpenAPIMediaType(schema=text, examples={"directory": sample}) for media in CSV_MEDIA_TYPES},
    )


def _webhook_parameters(signed: str) -> list[Parameter]:
    """The Standard Webhooks headers of a request whose signature covers ``signed``."""
    return [
        Parameter(
            name=name,
            param_in="header",
            required=True,
            description=description.replace("{signed}", signed),
            schema=schema,
        )
        for name, description, schema in WEBHOOK_HEADERS
    ]


def _operation(openapi: OpenAPI, key: tuple[str, str]) -> Operation | None:
    item = (openapi.paths or {}).get(key[1])
    operation: Operation | None = getattr(item, key[0], None) if item is not None else None
    return operation


def document_raw_bodies(openapi: OpenAPI) -> None:
    """Give the raw-body operations their request bodies, and the signed ones their Standard Webhooks headers."""
    intake = _operation(openapi, INTAKE)
    if intake is not None:
        intake.request_body = _reply_body(openapi)
        intake.parameters = [*(intake.parameters or []), *_webhook_parameters("{body}")]
    upload = _operation(openapi, EVIDENCE_UPLOAD)
    if upload is not None:
        upload.request_body = _evidence_body()
    csv_import = _operation(openapi, MERCHANT_IMPORT)
    if csv_import is not None:
        csv_import.request_body = _csv_body()
    fetch = _operation(openapi, PLATFORM_FETCH)
    if fetch is not None:
        signed = "GET /v1/platforms/{platform_id}/documents/{document_id}"
        fetch.parameters = [*(fetch.parameters or []), *_webhook_parameters(signed)]
