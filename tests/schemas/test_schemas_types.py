"""Value types: USCC checksum, division codes, bounded strings, timestamps, each failing with its field path."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from spotcheck.schemas import (
    USCC,
    ContractError,
    DivisionCode,
    Fen,
    HttpsUrl,
    Identifier,
    MerchantRef,
    PlatformRef,
    Sha256Hex,
    ShortText,
    Timestamp,
    decode_message,
    encode_message,
    is_valid_uscc,
    province_of,
    uscc_check_character,
)

# Codes published in business registries, so the algorithm is checked against the world, not against itself.
ALIBABA_USCC = "91330100799655058B"
BAIDU_USCC = "91110000802100433B"
TENCENT_USCC = "9144030071526726XG"
PUBLISHED_USCCS = [ALIBABA_USCC, BAIDU_USCC, TENCENT_USCC, "91440300708461136T"]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@pytest.mark.parametrize("code", PUBLISHED_USCCS)
def test_published_uscc_is_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", PUBLISHED_USCCS)
def test_every_single_character_substitution_is_caught(code: str) -> None:
    for position in range(18):
        for char in USCC_ALPHABET:
            if char != code[position]:
                mutated = code[:position] + char + code[position + 1 :]
                assert not is_valid_uscc(mutated), mutated


@pytest.mark.parametrize("code", PUBLISHED_USCCS)
def test_every_adjacent_transposition_is_caught(code: str) -> None:
    for position in range(17):
        if code[position] != code[position + 1]:
            swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
            assert not is_valid_uscc(swapped), swapped


@pytest.mark.parametrize(
    "code",
    [
        "",
        "91330100799655058",  # 17 characters
        "91330100799655058BB",  # 19 characters
        "91330100799655058b",  # lower case
        "9133010079965505OB",  # O is not in the alphabet
        "91330100799655058I",  # neither is I
        "９1330100799655058B",  # full-width digit
    ],
)
def test_malformed_uscc_is_invalid(code: str) -> None:
    assert not is_valid_uscc(code)


@pytest.mark.parametrize("first17", ["9133010079965505", "913301007996550581", "9133010079965505S"])
def test_check_character_needs_17_alphabet_characters(first17: str) -> None:
    with pytest.raises(ValueError, match="17 characters"):
        uscc_check_character(first17)


def test_check_character_zero_when_sum_is_a_multiple_of_31() -> None:
    # Finds a prefix whose weighted sum is 0 mod 31: the check character must then be '0', not index 31.
    prefix = next(
        f"9133010079965{n:04d}" for n in range(10_000) if uscc_check_character(f"9133010079965{n:04d}") == "0"
    )
    assert is_valid_uscc(prefix + "0")


def test_province_of() -> None:
    assert province_of("330106") == "330000"
    assert province_of("110000") == "110000"
    with pytest.raises(ValueError, match="6-digit"):
        province_of("33010")
    with pytest.raises(ValueError, match="6-digit"):
        province_of("330100\n")


def test_constructing_a_struct_checks_the_uscc_and_names_the_field() -> None:
    with pytest.raises(ValueError, match="`uscc`: USCC check character is 'C'"):
        PlatformRef(platform_id="tmall", name="浙江天猫网络有限公司", uscc=ALIBABA_USCC[:17] + "C")


def _decode_as(type_: Any, value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value), type=type_)


@pytest.mark.parametrize(
    ("type_", "good", "bad"),
    [
        (DivisionCode, ["330100", "110000"], ["030100", "33010", "3301000", "33010a", "330100\n", "３３０１００"]),
        (USCC, [ALIBABA_USCC], ["91330100799655058b", ALIBABA_USCC + "\n", "9133010079965505"]),
        (Identifier, ["ZJ-2025-0001", "msg_2KWP:x.y"], ["", "a b", "订单1", "a\n", "x" * 129]),
        (ShortText, ["浙江天猫网络有限公司", "x" * 200], ["", "x" * 201]),
        (Sha256Hex, ["0" * 64], ["0" * 63, "A" * 64, "0" * 64 + "\n"]),
        (Fen, [0, 39800], [-1, 10**13, 1.5]),
        (HttpsUrl, ["https://zjamr.zj.gov.cn/a"], ["http://zjamr.zj.gov.cn/a", "https://a b", "https://a\n"]),
        (Timestamp, ["2025-11-05T10:00:00+08:00", "2025-11-05T02:00:00Z"], ["2025-11-05T10:00:00", "2025-11-05"]),
    ],
)
def test_value_type_bounds(type_: Any, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        _decode_as(type_, value)
    for value in bad:
        with pytest.raises(msgspec.ValidationError):
            _decode_as(type_, value)


def _mutated(body: bytes, edit: Any) -> bytes:
    raw = msgspec.json.decode(body)
    edit(raw)
    return msgspec.json.encode(raw)


@pytest.mark.parametrize(
    ("type_name", "path", "value", "reason"),
    [
        ("sampling.notice", "$.data.merchant.uscc", ALIBABA_USCC[:17] + "C", "check character"),
        ("sampling.notice", "$.data.merchant.uscc", "91330100799655058", "regex"),
        ("sampling.notice", "$.data.platform.uscc", TENCENT_USCC[:17] + "H", "check character"),
        ("sampling.notice", "$.data.merchant.registration_division", "33078", "regex"),
        ("sampling.notice", "$.data.authority.code", "030000", "regex"),
        ("sampling.notice", "$.data.case_id", "ZJ 2025", "regex"),
        ("sampling.notice", "$.data.orders[0].amount_fen", -1, ">= 0"),
        ("sampling.notice", "$.data.orders[0].ordered_at", "2025-11-01T09:00:00", "timezone"),
        ("sampling.notice", "$.data.evidence[1].sha256", "Z" * 64, "regex"),
        ("sampling.notice", "$.data.product.trademark", "", "length >= 1"),
        ("sampling.notice", "$.timestamp", "2025-11-05T10:00:00", "timezone"),
        ("result.notice", "$.data.manufacturer.division", "4419000", "regex"),
        ("result.notice", "$.data.report_sha256", "abc", "regex"),
        ("results.published", "$.data.published_url", "ftp://zjamr.zj.gov.cn/", "regex"),
        ("merchant.identity", "$.data.uscc", ALIBABA_USCC[:17] + "0", "check character"),
        ("reinspection.applied", "$.data.applicant_uscc", BAIDU_USCC[:17] + "C", "check character"),
        ("records.provided", "$.data.records[0].created_at", "2025-11-01 09:00", "datetime"),
        ("takedown.reported", "$.data.evidence_sha256[0]", "0" * 65, "regex"),
    ],
)
def test_value_type_error_names_its_path(
    samples: dict[str, Any], type_name: str, path: str, value: Any, reason: str
) -> None:
    keys = [part.rstrip("]").split("[") for part in path.removeprefix("$.").split(".")]

    def edit(raw: Any) -> None:
        node = raw
        flat: list[str | int] = [int(k) if k.isdigit() else k for group in keys for k in group]
        for key in flat[:-1]:
            node = node[key]
        node[flat[-1]] = value

    body = _mutated(encode_message(samples[type_name]), edit)
    with pytest.raises(ContractError) as caught:
        decode_message(body)
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert str(caught.value) == f"{caught.value.reason} - at `{path}`"


def test_naive_timestamp_is_rejected_on_encode(samples: dict[str, Any]) -> None:
    notice = samples["notice.acknowledged"]
    naive = msgspec.structs.replace(notice, timestamp=notice.timestamp.replace(tzinfo=None))
    with pytest.raises(ContractError) as caught:
        encode_message(naive)
    assert caught.value.path == "$.timestamp"


def test_merchant_ref_checks_its_uscc_on_construction() -> None:
    with pytest.raises(ValueError, match="`uscc`"):
        MerchantRef(shop_id="s1", shop_name="店", kind="registered_entity", uscc=BAIDU_USCC[:17] + "C")
