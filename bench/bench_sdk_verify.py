"""SDK verify + typed decode against ``standardwebhooks`` verify + ``json.loads``, in the same process.

Run: ``python bench/bench_sdk_verify.py [--quick] [--ops N] [--rounds R]``.

Both sides get the same realistic signed ``sampling.notice`` body (two orders, four evidence files, Chinese
text, about 2.5 KB) with the headers an ASGI server hands over (lower-case, a dozen of them), signed with one
``whsec_`` secret at the current time. Ours checks the ``v1`` HMAC and decodes into the typed, validated
:class:`~spotcheck.schemas.SamplingNotice`; the baseline (the reference library) checks the same signature and
returns an untyped ``dict`` from :func:`json.loads`. Each round times ``N`` operations of one side right after
``N`` of the other (which goes first alternates), so both see the same spell of a shared machine's load; the
ratio is the median of the per-round ratios, and each side's time the median of its rounds (the best round of
each is printed too). The goal (``docs``: ≤ 0.5× the baseline's time) is printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import standardwebhooks

from spotcheck.schemas import (
    AuthorityRef,
    EvidenceRef,
    MerchantRef,
    OrderRef,
    PlatformRef,
    ProductRef,
    SamplingNotice,
    SamplingNoticeData,
    decode_notice,
    encode_message,
)
from spotcheck.sdk import Webhook, generate_secret, new_message_id

if TYPE_CHECKING:
    from collections.abc import Callable

GOAL = 0.5
CST = timezone(timedelta(hours=8))


def realistic_notice() -> bytes:
    """A sampling notice as the gateway sends it: orders, sealed samples, evidence, Chinese text."""
    issued = datetime.now(CST).replace(microsecond=0)
    evidence = [
        EvidenceRef(
            sha256=hashlib.sha256(f"evidence-{step}".encode()).hexdigest(),
            media_type=media,
            size_bytes=size,
            step=step,  # type: ignore[arg-type]
            description=text,
        )
        for step, media, size, text in [
            ("purchase", "image/png", 204_800, "下单页面截图"),
            ("listing", "image/png", 512_000, "商品详情页截图"),
            ("unpacking", "video/mp4", 52_428_800, "拆包查验全程录像"),
            ("sealing", "video/mp4", 31_457_280, "封样全程录像"),
        ]
    ]
    notice = SamplingNotice(
        timestamp=issued,
        data=SamplingNoticeData(
            case_id="case_01JD2Z6Q5X8W3R7T9V4N0M1K2P",
            authority=AuthorityRef(code="330000", name="浙江省市场监督管理局", level="provincial"),
            issued_at=issued,
            respond_by=issued + timedelta(days=2),
            platform=PlatformRef(platform_id="tmall", name="浙江天猫网络有限公司"),
            merchant=MerchantRef(
                shop_id="shop-10086",
                shop_name="某某电器旗舰店",
                kind="registered_entity",
                legal_name="杭州某某电器有限公司",
                uscc="91330100799655058B",
                registration_division="330106",
                address="浙江省杭州市西湖区某某路1号",
                contact="0571-88888888",
            ),
            product=ProductRef(
                sample_name="电热水壶",
                trademark="美的",
                spec_model="MK-HJ1705 1.7L 1800W",
                batch_no="20251018A",
                listing_id="item-620000001",
                listing_url="https://detail.tmall.com/item.htm?id=620000001",
            ),
            orders=[
                OrderRef(
                    order_no=f"T2025110{i}-00{i}",
                    ordered_at=issued - timedelta(days=20),
                    amount_fen=19900,
                    buyer_account="buyer_zj01",
                )
                for i in (1, 2)
            ],
            sample_seal_no="ZJ-SEAL-2025-0001",
            backup_seal_no="ZJ-SEAL-2025-0002",
            sealed_at=issued - timedelta(days=15),
            backup_return_duty=(
                "被抽样经营者应当接受备份样品的退货，并在检验结论作出后按约定办理退款；"
                "备份样品由承检机构妥善保存，复检时使用。"
            ),
            testing_institution="浙江省质量检测科学研究院",
            evidence=evidence,
        ),
    )
    return encode_message(notice)


def asgi_headers(signed: dict[str, str], body: bytes) -> dict[str, str]:
    """The lower-case headers an ASGI server would hand a receiver for this delivery."""
    return {
        "host": "platform.example.com",
        "user-agent": "spotcheck-gateway/0.1.0",
        "content-type": "application/json",
        "content-length": str(len(body)),
        "accept": "*/*",
        "accept-encoding": "gzip, deflate",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-proto": "https",
        "x-request-id": "req_01JD2Z6Q5X8W3R7T9V4N0M1K2P",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        **signed,
    }


def paired_rounds(rounds: int, ops: int, sides: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Seconds per operation of each side in each of ``rounds`` rounds of ``ops`` calls per side.

    Within a round the sides run back to back, the first one alternating between rounds, so entry ``i`` of
    every list was measured under the same load and their quotient is a fair per-round ratio.
    """
    timings: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides.items())
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for round_no in range(rounds):
            for name, operation in order if round_no % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                for _ in range(ops):
                    operation()
                timings[name].append((time.perf_counter() - started) / ops)
    finally:
        if gc_was_enabled:
            gc.enable()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 operations per round, 21 rounds")
    parser.add_argument("--ops", type=int, default=2_000, help="operations per side per round")
    parser.add_argument("--rounds", type=int, default=51, help="rounds; the median per-round ratio counts")
    args = parser.parse_args(argv)
    ops, rounds = (1_000, 21) if args.quick else (args.ops, args.rounds)

    secret = generate_secret()
    body = realistic_notice()
    headers = asgi_headers(Webhook(secret).headers(new_message_id(), body), body)
    ours = Webhook(secret)
    reference = standardwebhooks.Webhook(secret)

    def sdk_verify_decode() -> object:
        ours.verify(body, headers)
        return decode_notice(body)

    def baseline_verify_loads() -> object:
        reference.verify(body, headers, json_parse=False)
        return json.loads(body)

    # Both sides must accept the message and see the same content before anything is timed.
    typed = sdk_verify_decode()
    assert isinstance(typed, SamplingNotice)
    baseline_verify_loads()
    assert json.loads(body)["data"]["case_id"] == typed.data.case_id

    timings = paired_rounds(rounds, ops, {"sdk": sdk_verify_decode, "baseline": baseline_verify_loads})
    ours_t, base_t = timings["sdk"], timings["baseline"]
    ratio = statistics.median(o / b for o, b in zip(ours_t, base_t, strict=True))
    print(f"body {len(body):,} bytes, {len(headers)} headers; {ops:,} ops x {rounds} paired rounds, median round")
    print(
        f"  standardwebhooks verify + json.loads:  {statistics.median(base_t) * 1e6:8.2f} us/op"
        f" (best round {min(base_t) * 1e6:.2f})"
    )
    print(
        f"  spotcheck Webhook.verify + decode_notice: {statistics.median(ours_t) * 1e6:8.2f} us/op (typed, validated;"
        f" best round {min(ours_t) * 1e6:.2f})"
    )
    print(f"  ratio of the best rounds: {min(ours_t) / min(base_t):.2f}")
    print(f"sdk verify+decode ratio: {ratio:.2f} (goal <= {GOAL})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
