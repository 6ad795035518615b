"""The generated JSON Schemas and AsyncAPI document: fresh, well-formed, and agreeing with the codec."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from spotcheck.schemas import MESSAGE_TYPES, NOTICE_TYPES, REPLY_TYPES, Message, encode_message
from spotcheck.schemas.generate import JSON_SCHEMA_DIALECT, asyncapi_document, generated_files, json_schemas, main

COMMITTED = Path(__file__).resolve().parents[2] / "schemas" / "generated"
CJK = re.compile(r"[\u4e00-\u9fff]")

# Keywords of the JSON Schema 2020-12 core, applicator, validation and meta-data vocabularies that may appear.
KEYWORDS_2020_12 = {
    "$schema", "$id", "$ref", "$defs", "title", "description", "default", "examples",
    "type", "enum", "const", "properties", "required", "items", "anyOf", "oneOf", "allOf",
    "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "format",
    "additionalProperties",
}  # fmt: skip
JSON_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every object nested anywhere in a JSON value."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_walk(item))
    return found


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _subschemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schemas directly below a schema (not the keyword maps themselves)."""
    subs: list[dict[str, Any]] = list(schema.get("properties", {}).values())
    subs += list(schema.get("$defs", {}).values())
    subs += schema.get("anyOf", [])
    if isinstance(schema.get("items"), dict):
        subs.append(schema["items"])
    return subs


def _check_schema(document: dict[str, Any], schema: dict[str, Any]) -> None:
    unknown = set(schema) - KEYWORDS_2020_12
    assert not unknown, f"not 2020-12 keywords: {unknown}"
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        assert set(types) <= JSON_TYPES
    if "$ref" in schema:
        _resolve(document, schema["$ref"])
    if "pattern" in schema:
        assert "\\Z" not in schema["pattern"]  # ECMA-262 has no \Z
        re.compile(schema["pattern"])
    if "required" in schema:
        assert set(schema["required"]) <= set(schema["properties"])
    if "enum" in schema:
        assert schema["enum"]
    if "minLength" in schema and "maxLength" in schema:
        assert schema["minLength"] <= schema["maxLength"]
    for sub in _subschemas(schema):
        _check_schema(document, sub)


_TYPE_CHECKS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _string_ok(schema: dict[str, Any], value: str) -> bool:
    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
        return False
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return False
    if schema.get("format") == "date-time":
        return datetime.fromisoformat(value).tzinfo is not None
    if schema.get("format") == "date":
        date.fromisoformat(value)
    return True


def _scalar_ok(schema: dict[str, Any], value: Any) -> bool:
    if "type" in schema and not _TYPE_CHECKS[schema["type"]](value):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, str):
        return _string_ok(schema, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return bool(schema.get("minimum", value) <= value <= schema.get("maximum", value))
    if isinstance(value, list):
        return bool(schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)))
    return True


def _validate(document: dict[str, Any], schema: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    """A small validator for the keywords the generator emits; returns the failing paths."""
    if "$ref" in schema:
        return _validate(document, _resolve(document, schema["$ref"]), value, path)
    if "anyOf" in schema:
        return [] if any(not _validate(document, s, value, path) for s in schema["anyOf"]) else [path]
    if not _scalar_ok(schema, value):
        return [path]
    errors: list[str] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            errors += _validate(document, schema.get("items", {}), item, f"{path}[{index}]")
    if isinstance(value, dict):
        errors += [f"{path}.{name}" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name in schema.get("properties", {}):
                errors += _validate(document, schema["properties"][name], item, f"{path}.{name}")
    return errors


def test_committed_files_are_fresh(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.json")}
    committed = {p.relative_to(COMMITTED).as_posix(): p.read_text(encoding="utf-8") for p in COMMITTED.rglob("*.json")}
    stale = sorted(name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))
    assert not stale, f"schemas/generated is not current ({', '.join(stale)}): run `make schemas`"


def test_check_mode_reports_stale_and_extra_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main([str(tmp_path)])
    assert main(["--check", str(tmp_path)]) == 0
    (tmp_path / "json-schema" / "sampling.notice.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "json-schema" / "sampling.revoked.json").write_text("{}\n", encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "sampling.notice.json" in err
    assert "sampling.revoked.json" in err
    assert "make schemas" in err
    main([str(tmp_path)])
    assert not (tmp_path / "json-schema" / "sampling.revoked.json").exists()
    assert main(["--check", str(tmp_path)]) == 0


def test_rendering_is_sorted_indented_and_newline_terminated() -> None:
    for name, text in generated_files().items():
        assert text.endswith("}\n"), name
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert generated_files() == generated_files()


def test_one_json_schema_per_message() -> None:
    documents = json_schemas()
    assert set(documents) == set(MESSAGE_TYPES)
    assert len({doc["$id"] for doc in documents.values()}) == len(documents)


@pytest.mark.parametrize("type_name", list(MESSAGE_TYPES))
def test_json_schema_is_a_2020_12_document(type_name: str) -> None:
    document = json_schemas()[type_name]
    assert document["$schema"] == JSON_SCHEMA_DIALECT
    assert document["$id"].startswith("urn:spotcheck:schema:v1:")
    assert document["title"] == MESSAGE_TYPES[type_name].__name__
    assert CJK.search(document["description"])
    assert document["properties"]["type"] == {"enum": [type_name]}
    assert document["required"] == ["type", "timestamp", "data"]
    _check_schema(document, document)
    for ref in (node["$ref"] for node in _walk(document) if "$ref" in node):
        assert ref.startswith("#/$defs/")


@pytest.mark.parametrize("type_name", list(MESSAGE_TYPES))
def test_every_property_is_described_in_both_languages(type_name: str) -> None:
    document = json_schemas()[type_name]
    for schema in [document, *document["$defs"].values()]:
        for name, prop in schema["properties"].items():
            if name == "type" and schema is document:
                continue  # the tag, described by the message title
            description = prop.get("description", "")
            assert " — " in description, f"{schema['title']}.{name}"
            zh, en = description.split(" — ", 1)
            assert CJK.search(zh), f"{schema['title']}.{name}: Chinese first"
            assert en.strip(), f"{schema['title']}.{name}: English second"


@pytest.mark.parametrize("type_name", list(MESSAGE_TYPES))
def test_json_schema_accepts_what_the_codec_writes(samples: dict[str, Message], type_name: str) -> None:
    document = json_schemas()[type_name]
    instance = json.loads(encode_message(samples[type_name]))
    assert _validate(document, document, instance) == []
    instance["data"]["case_id"] = "ZJ 2025\n"
    assert "$.data.case_id" in _validate(document, document, instance)
    del instance["timestamp"]
    assert "$.timestamp" in _validate(document, document, instance)


def test_asyncapi_document_is_complete() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"]
    assert document["info"]["version"]
    for ref in (node["$ref"] for node in _walk(document) if "$ref" in node):
        _resolve(document, ref)
    components = document["components"]
    assert set(components["messages"]) == {cls.__name__ for cls in MESSAGE_TYPES.values()}
    for name, message in components["messages"].items():
        assert message["payload"] == {"$ref": f"#/components/schemas/{name}"}
        assert message["headers"] == {"$ref": "#/components/schemas/WebhookHeaders"}
        assert MESSAGE_TYPES[message["name"]].__name__ == name
    for schema in components["schemas"].values():
        _check_schema(document, schema)


def test_asyncapi_channels_and_operations_cover_both_directions() -> None:
    document = asyncapi_document()
    channels, operations = document["channels"], document["operations"]
    assert channels["replies"]["address"] == "/v1/intake/{platform_id}"
    assert "platform_id" in channels["replies"]["parameters"]
    assert channels["notices"]["address"] is None  # each platform registers its own endpoint
    sent = set(channels["notices"]["messages"]) | set(channels["authorityNotices"]["messages"])
    assert sent == {cls.__name__ for cls in NOTICE_TYPES.values()}
    assert set(channels["replies"]["messages"]) == {cls.__name__ for cls in REPLY_TYPES.values()}
    actions = {name: (op["action"], op["channel"]["$ref"]) for name, op in operations.items()}
    assert actions == {
        "sendNotice": ("send", "#/channels/notices"),
        "sendAuthorityNotice": ("send", "#/channels/authorityNotices"),
        "receiveReply": ("receive", "#/channels/replies"),
    }
    for operation in operations.values():
        channel = operation["channel"]["$ref"].removeprefix("#/channels/")
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"#/channels/{channel}/messages/")


def test_asyncapi_headers_describe_both_signature_schemes() -> None:
    headers = asyncapi_document()["components"]["schemas"]["WebhookHeaders"]
    assert headers["required"] == ["webhook-id", "webhook-timestamp", "webhook-signature"]
    signature = headers["properties"]["webhook-signature"]
    for phrase in ("v1,", "HMAC-SHA256", "v1a,", "Ed25519", "{webhook-id}.{webhook-timestamp}.{body}", "whsec_"):
        assert phrase in signature["description"]
    pattern = re.compile(signature["pattern"])
    assert pattern.search("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=")
    assert pattern.search("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw==")
    assert not pattern.search("v2,abc")
