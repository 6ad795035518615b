"""Schema evolution: older and newer peers understand each other through defaults and ignored unknown fields."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec

from spotcheck.schemas import (
    Message,
    OrderConfirmed,
    OrderConfirmedData,
    SamplingNotice,
    Timestamp,
    decode_notice,
    decode_reply,
    encode_message,
)


class OrderConfirmedDataV0(msgspec.Struct, kw_only=True, frozen=True):
    """order.confirmed data as a first release might have had it: no listing_id, no discrepancy."""

    case_id: str
    in_reply_to: str
    platform_id: str
    order_no: str
    buyer_account: str
    amount_fen: int
    paid_at: Timestamp
    shipped_at: Timestamp | None
    shop_id: str
    listing_snapshot_sha256: str


class OrderConfirmedV0(msgspec.Struct, tag_field="type", tag="order.confirmed", kw_only=True, frozen=True):
    timestamp: Timestamp
    data: OrderConfirmedDataV0


SHA = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
CASE_ID = "ZJ-2025-0001"
NOTICE_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
CST = timezone(timedelta(hours=8))


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 11, day, hour, tzinfo=CST)


def _current() -> OrderConfirmed:
    return OrderConfirmed(
        timestamp=at(6),
        data=OrderConfirmedData(
            case_id=CASE_ID,
            in_reply_to=NOTICE_ID,
            platform_id="jd",
            order_no="JD-300000001",
            buyer_account="jd_买样人",
            amount_fen=12900,
            paid_at=at(1, 20),
            shipped_at=None,
            shop_id="jd-shop-77",
            listing_snapshot_sha256=SHA,
            listing_id="100012345678",
            discrepancy="订单实付金额含运费10元。",
        ),
    )


def test_older_decoder_accepts_a_newer_message() -> None:
    body = encode_message(_current())
    older = msgspec.json.Decoder(OrderConfirmedV0).decode(body)
    assert older.data.order_no == "JD-300000001"
    assert older.data.amount_fen == 12900
    assert older.data.paid_at == at(1, 20)
    assert not hasattr(older.data, "discrepancy")


def test_current_decoder_accepts_an_older_message() -> None:
    older = OrderConfirmedV0(
        timestamp=at(6),
        data=OrderConfirmedDataV0(
            case_id=CASE_ID,
            in_reply_to=NOTICE_ID,
            platform_id="jd",
            order_no="JD-300000001",
            buyer_account="jd_买样人",
            amount_fen=12900,
            paid_at=at(1, 20),
            shipped_at=at(2, 9),
            shop_id="jd-shop-77",
            listing_snapshot_sha256=SHA,
        ),
    )
    message = decode_reply(msgspec.json.encode(older))
    assert isinstance(message, OrderConfirmed)
    assert message.data.listing_id is None
    assert message.data.discrepancy is None
    assert message.data.shipped_at == at(2, 9)


def test_nested_parts_of_an_older_message_take_their_defaults(samples: dict[str, Message]) -> None:
    raw = msgspec.json.decode(encode_message(samples["sampling.notice"]))
    for dropped in ("contact", "address", "registration_division"):
        del raw["data"]["merchant"][dropped]
    del raw["data"]["product"]["listing_url"]
    del raw["data"]["evidence"]
    del raw["data"]["testing_institution"]
    message = decode_notice(msgspec.json.encode(raw))
    assert isinstance(message, SamplingNotice)
    assert message.data.merchant.contact is None
    assert message.data.product.listing_url is None
    assert message.data.evidence == []
    assert message.data.orders == samples["sampling.notice"].data.orders  # type: ignore[union-attr]


def test_newer_nested_fields_are_ignored(samples: dict[str, Message]) -> None:
    raw = msgspec.json.decode(encode_message(samples["sampling.notice"]))
    raw["data"]["merchant"]["credit_rating"] = "A"
    raw["data"]["orders"][0]["coupon_fen"] = 500
    raw["data"]["future_field"] = {"nested": [1, 2, 3]}
    assert decode_notice(msgspec.json.encode(raw)) == samples["sampling.notice"]
