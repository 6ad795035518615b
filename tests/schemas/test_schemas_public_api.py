"""The public surface of spotcheck.schemas is exactly what __all__ says, and every Struct follows the rules."""

from __future__ import annotations

import inspect
from pathlib import Path

import msgspec

import spotcheck.schemas
from spotcheck.schemas import MESSAGE_TYPES

EXPECTED = {
    # codec
    "ContractError", "decode_message", "decode_notice", "decode_reply", "encode_message", "message_type_of",
    "MESSAGE_TYPES", "NOTICE_TYPES", "REPLY_TYPES",
    # value types and helpers
    "USCC", "DivisionCode", "Fen", "HttpsUrl", "Identifier", "LongText", "Sha256Hex", "ShortText", "Timestamp",
    "WebUrl", "is_valid_uscc", "province_of", "uscc_check_character",
    # shared parts
    "AuthorityLevel", "AuthorityRef", "DocumentKind", "DocumentRef", "EvidenceRef", "FailingItem", "LogEntry",
    "ManufacturerRef", "MerchantKind",
    "MerchantRef", "OrderRef", "PlatformRef", "ProductRef", "TransactionRecord", "NoticeData", "ReplyData",
    "Conclusion", "RecordsNeeded", "ReportedMeasure", "TakedownMeasure",
    # unions and digests
    "Message", "Notice", "Reply", "canonical_digest", "canonical_json", "chunk_digest", "set_digest",
    # messages and their data
    *(name for cls in MESSAGE_TYPES.values() for name in (cls.__name__, f"{cls.__name__}Data")),
}  # fmt: skip


def _structs() -> list[type[msgspec.Struct]]:
    return [
        obj
        for name in spotcheck.schemas.__all__
        if isinstance(obj := getattr(spotcheck.schemas, name), type) and issubclass(obj, msgspec.Struct)
    ]


def test_all_is_exactly_the_public_surface() -> None:
    assert set(spotcheck.schemas.__all__) == EXPECTED
    assert len(spotcheck.schemas.__all__) == len(EXPECTED)
    for name in spotcheck.schemas.__all__:
        assert hasattr(spotcheck.schemas, name), name
    public = {name for name in vars(spotcheck.schemas) if not name.startswith("_")}
    assert public - set(spotcheck.schemas.__all__) <= {"annotations", "generate"}


def test_namespace_package_has_no_init() -> None:
    package_dir = Path(spotcheck.schemas.__file__).parent
    assert not (package_dir.parent / "__init__.py").exists()
    assert (package_dir / "py.typed").exists()


def test_public_classes_and_functions_say_what_they_promise() -> None:
    for name in spotcheck.schemas.__all__:
        obj = getattr(spotcheck.schemas, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name


def test_message_catalog_is_complete() -> None:
    assert list(MESSAGE_TYPES) == [
        "sampling.notice", "records.request", "merchant.identity_request", "result.notice", "reinspection.decision",
        "results.published", "stop_sale.order", "delisting.order", "takedown.order", "deadline.reminder",
        "hazard.notification", "referral.notice", "case.transfer", "notice.acknowledged", "order.confirmed",
        "records.provided", "records.unavailable", "merchant.identity", "takedown.reported", "reinspection.applied",
    ]  # fmt: skip
    for type_name, cls in MESSAGE_TYPES.items():
        config = cls.__struct_config__
        assert (config.tag_field, config.tag) == ("type", type_name)
        assert cls.__struct_fields__ == ("timestamp", "data")
        data_type = msgspec.inspect.type_info(cls).fields[1].type
        assert isinstance(data_type, msgspec.inspect.Metadata)
        assert isinstance(data_type.type, msgspec.inspect.StructType)
        assert data_type.type.cls.__name__ == f"{cls.__name__}Data"


def test_every_struct_is_frozen_keyword_only_and_tolerant() -> None:
    for cls in _structs():
        config = cls.__struct_config__
        assert config.frozen, cls
        assert not config.forbid_unknown_fields, cls
        kinds = {parameter.kind for parameter in inspect.signature(cls).parameters.values()}
        assert kinds == {inspect.Parameter.KEYWORD_ONLY}, cls
        info = msgspec.inspect.type_info(cls)
        assert isinstance(info, msgspec.inspect.StructType)
        for field in info.fields:
            assert isinstance(field.type, msgspec.inspect.Metadata), f"{cls.__name__}.{field.name}"
            description = (field.type.extra_json_schema or {}).get("description", "")
            zh, _, en = description.partition(" — ")
            assert zh, f"{cls.__name__}.{field.name}: 中文 — English"
            assert en, f"{cls.__name__}.{field.name}: 中文 — English"


def test_notice_and_reply_data_start_with_the_common_fields() -> None:
    for cls in _structs():
        fields = cls.__struct_fields__
        if issubclass(cls, spotcheck.schemas.NoticeData):
            assert fields[:4] == ("case_id", "authority", "issued_at", "respond_by"), cls
        if issubclass(cls, spotcheck.schemas.ReplyData):
            assert fields[:3] == ("case_id", "in_reply_to", "platform_id"), cls
