"""Generate the language-neutral contract: one JSON Schema (2020-12) per message and one AsyncAPI 3.0.0 document.

Run ``python -m spotcheck.schemas.generate schemas/generated`` (``make schemas``) after changing a message; add
``--check`` to only report whether the committed files are current. Output is deterministic: keys sorted,
2-space indentation, UTF-8 without escapes, a trailing newline.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec

from spotcheck.schemas._codec import MESSAGE_TYPES, NOTICE_TYPES, REPLY_TYPES

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "JSON_SCHEMA_DIALECT",
    "asyncapi_document",
    "generated_files",
    "json_schemas",
    "main",
    "render",
    "write",
]

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
"""The ``$schema`` of every generated JSON Schema."""

_ID_PREFIX: Final = "urn:spotcheck:schema:v1:"
_JSON_SCHEMA_DIR: Final = "json-schema"
_ASYNCAPI_FILE: Final = "asyncapi.json"
# Sent to other authorities by e-mail and similar adapters, never to a platform's endpoint.
_AUTHORITY_NOTICES: Final = frozenset({"hazard.notification", "referral.notice", "case.transfer"})

_SIGNATURE_DESCRIPTION: Final = (
    "签名 — Space-separated signatures of the signed content `{webhook-id}.{webhook-timestamp}.{body}` "
    "(the raw body bytes). `v1,<base64>`: HMAC-SHA256 keyed with the base64-decoded part of a `whsec_` secret. "
    "`v1a,<base64>`: Ed25519 signature by a `whsk_` secret key, verified with the matching `whpk_` public key. "
    "Several may be present during key rotation; a receiver accepts the message when any one verifies."
)
_HEADERS_SCHEMA: Final[dict[str, Any]] = {
    "title": "WebhookHeaders",
    "description": "Standard Webhooks 请求头 — the Standard Webhooks headers every message is sent with.",
    "type": "object",
    "properties": {
        "webhook-id": {
            "description": "消息编号 — message id; the idempotency key, stable across retries of one message.",
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[A-Za-z0-9._:-]+$",
        },
        "webhook-timestamp": {
            "description": "签名时间 — Unix time in seconds when the message was signed; receivers reject times "
            "too far from their clock (Standard Webhooks suggests 5 minutes).",
            "type": "string",
            "pattern": "^[0-9]{1,12}$",
        },
        "webhook-signature": {
            "description": _SIGNATURE_DESCRIPTION,
            "type": "string",
            "pattern": "^v1a?,[A-Za-z0-9+/]+={0,2}( v1a?,[A-Za-z0-9+/]+={0,2})*$",
        },
    },
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
}


def _ecma_patterns(node: Any) -> Any:
    r"""Return a schema with every Python ``\Z`` pattern anchor written as ECMA-262 ``$`` (the same meaning)."""
    if isinstance(node, dict):
        return {
            key: value[:-2] + "$"
            if key == "pattern" and isinstance(value, str) and value.endswith("\\Z")
            else _ecma_patterns(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ecma_patterns(item) for item in node]
    return node


def _summary(cls: type[Any]) -> str:
    """Return the first line of a class's docstring."""
    return (inspect.getdoc(cls) or cls.__name__).splitlines()[0]


def json_schemas() -> dict[str, dict[str, Any]]:
    """Return one self-contained JSON Schema 2020-12 document per message, keyed by ``type`` string.

    The message's own schema is the root; every Struct it uses is under ``$defs``.
    """
    documents: dict[str, dict[str, Any]] = {}
    for type_name, cls in MESSAGE_TYPES.items():
        _, components = msgspec.json.schema_components([cls], ref_template="#/$defs/{name}")
        components = _ecma_patterns(components)
        root = components.pop(cls.__name__)
        documents[type_name] = {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"{_ID_PREFIX}{type_name}",
            **root,
            "$defs": components,
        }
    return documents


def _message_components(types: Iterable[tuple[str, type[Any]]]) -> dict[str, dict[str, Any]]:
    """Describe each message class as an AsyncAPI Message Object."""
    return {
        cls.__name__: {
            "name": type_name,
            "title": cls.__name__,
            "summary": _summary(cls),
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/WebhookHeaders"},
            "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
        }
        for type_name, cls in types
    }


def _channel_messages(names: Iterable[str]) -> dict[str, dict[str, str]]:
    return {name: {"$ref": f"#/components/messages/{name}"} for name in names}


def _operation_messages(channel: str, names: Iterable[str]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names]


def asyncapi_document() -> dict[str, Any]:
    """Return the AsyncAPI 3.0.0 document of both directions, seen from the gateway.

    Channels: ``notices`` (the gateway POSTs to each platform's registered endpoint), ``authorityNotices``
    (sent to other authorities by e-mail and other adapters) and ``replies`` (platforms POST to
    ``/v1/intake/{platform_id}``). Every message has its payload schema and the Standard Webhooks headers.
    """
    _, schemas = msgspec.json.schema_components(
        list(MESSAGE_TYPES.values()), ref_template="#/components/schemas/{name}"
    )
    schemas = _ecma_patterns(schemas)
    schemas["WebhookHeaders"] = _HEADERS_SCHEMA
    platform = [cls.__name__ for name, cls in NOTICE_TYPES.items() if name not in _AUTHORITY_NOTICES]
    authority = [cls.__name__ for name, cls in NOTICE_TYPES.items() if name in _AUTHORITY_NOTICES]
    replies = [cls.__name__ for cls in REPLY_TYPES.values()]
    return {
        "asyncapi": "3.0.0",
        "id": "urn:spotcheck:asyncapi:v1",
        "info": {
            "title": "Spotcheck",
            "version": version("spotcheck-schemas"),
            "description": (
                "网络商品质量抽检 — Online product quality sampling inspection between market regulators and "
                "e-commerce platforms (工商消字〔2015〕189号). Every message is a Standard Webhooks body "
                '`{"type", "timestamp", "data"}` sent as an HTTP POST and signed in the `webhook-signature` '
                "header. Receivers deduplicate by `webhook-id`, ignore unknown fields and answer 2xx once the "
                "message is stored. Every digest over JSON (`chunk_sha256` of `records.provided`, a JSON listing "
                "snapshot) is the lower-case hex SHA-256 of the RFC 8785 JSON Canonicalization Scheme (JCS) form "
                "of exactly the JSON the sender put in the message, so any JCS library computes it."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {
            "notices": {
                "address": None,
                "title": "Notices and orders to a platform",
                "description": (
                    "通知与责令 — The gateway POSTs each notice to the HTTPS endpoint the platform registered; "
                    "the address is per platform. Delivery is at least once with a stable `webhook-id`."
                ),
                "messages": _channel_messages(platform),
            },
            "authorityNotices": {
                "address": None,
                "title": "Notifications to other authorities",
                "description": (
                    "部门间通报 — Sent to another authority (the manufacturer's locality, the communications "
                    "administration, the platform's locality) by e-mail or another adapter."
                ),
                "messages": _channel_messages(authority),
            },
            "replies": {
                "address": "/v1/intake/{platform_id}",
                "title": "Replies from a platform",
                "description": (
                    "平台答复 — A platform POSTs its replies to the gateway, signed with its own key; "
                    "`data.platform_id` must equal the address's `platform_id`."
                ),
                "parameters": {
                    "platform_id": {"description": "平台编号 — the platform id registered with the gateway."}
                },
                "messages": _channel_messages(replies),
            },
        },
        "operations": {
            "sendNotice": {
                "action": "send",
                "channel": {"$ref": "#/channels/notices"},
                "summary": "The gateway sends notices and orders to a platform.",
                "messages": _operation_messages("notices", platform),
            },
            "sendAuthorityNotice": {
                "action": "send",
                "channel": {"$ref": "#/channels/authorityNotices"},
                "summary": "The gateway notifies another authority.",
                "messages": _operation_messages("authorityNotices", authority),
            },
            "receiveReply": {
                "action": "receive",
                "channel": {"$ref": "#/channels/replies"},
                "summary": "The gateway receives a platform's replies.",
                "messages": _operation_messages("replies", replies),
            },
        },
        "components": {
            "messages": _message_components(MESSAGE_TYPES.items()),
            "schemas": schemas,
        },
    }


def render(document: dict[str, Any]) -> str:
    """Serialise a document deterministically: sorted keys, 2-space indent, UTF-8 text, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generated_files() -> dict[str, str]:
    """Return every generated file's text by its path relative to the output directory (``/`` separated)."""
    files = {f"{_JSON_SCHEMA_DIR}/{name}.json": render(doc) for name, doc in json_schemas().items()}
    files[_ASYNCAPI_FILE] = render(asyncapi_document())
    return files


def write(out_dir: Path) -> list[Path]:
    """Write every generated file under ``out_dir`` and remove JSON Schemas of messages that no longer exist.

    Returns:
        The paths written or removed, sorted.
    """
    files = generated_files()
    touched: list[Path] = []
    for relative, text in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        touched.append(path)
    for stale in (out_dir / _JSON_SCHEMA_DIR).glob("*.json"):
        if stale.relative_to(out_dir).as_posix() not in files:
            stale.unlink()
            touched.append(stale)
    return sorted(touched)


def _outdated(out_dir: Path) -> list[str]:
    """Name the files under ``out_dir`` that differ from what would be generated, or should not exist."""
    files = generated_files()
    differing = [
        relative
        for relative, text in files.items()
        if not (out_dir / relative).is_file() or (out_dir / relative).read_text(encoding="utf-8") != text
    ]
    extra = [
        path.relative_to(out_dir).as_posix()
        for path in (out_dir / _JSON_SCHEMA_DIR).glob("*.json")
        if path.relative_to(out_dir).as_posix() not in files
    ]
    return sorted(differing + extra)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: write (or with ``--check`` verify) the generated files; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m spotcheck.schemas.generate", description=__doc__)
    parser.add_argument("out_dir", type=Path, help="output directory, normally schemas/generated")
    parser.add_argument("--check", action="store_true", help="only report files that are not current")
    args = parser.parse_args(argv)
    out_dir: Path = args.out_dir
    if args.check:
        outdated = _outdated(out_dir)
        for relative in outdated:
            sys.stderr.write(f"not current: {out_dir / relative} (run `make schemas`)\n")
        return 1 if outdated else 0
    written = write(out_dir)
    sys.stdout.write(f"wrote {len(written)} files under {out_dir}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
