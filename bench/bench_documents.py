"""Official documents rendered and signed per second on one core, against WeasyPrint rendering the same HTML unsigned.

Run: ``python bench/bench_documents.py [--smoke | --quick | --full]``.

Ours is what the gateway does for each document of a notice (:func:`spotcheck.gateway.documents.service.produce_pdf`):
fill the Jinja2 template of a 检验结果通知书 (GB/T 9704 layout, tables, CJK text), render it with WeasyPrint and
add the authority's PAdES signature with pyHanko (ECDSA P-256 development key). The baseline is WeasyPrint
rendering that very HTML to an unsigned PDF, in the same process. The process is pinned to one core; each round
times one side right after the other (which goes first alternates) in CPU seconds, and the ratio is the median
of the per-round ratios of documents per second (ours / baseline). The goal (≥ 0.7) is printed, never asserted.
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from _common import Goal, Row, cores, finish, pin_current_process, size_parser

from spotcheck.gateway.documents.kinds import KINDS
from spotcheck.gateway.documents.profile import AuthorityProfile, write_profile
from spotcheck.gateway.documents.render import render_pdf
from spotcheck.gateway.documents.service import produce_pdf
from spotcheck.gateway.documents.templates import DocumentPage, document_html, notice_fields
from spotcheck.schemas import AuthorityRef, FailingItem, ManufacturerRef, MerchantRef, ProductRef, ResultNoticeData

if TYPE_CHECKING:
    from collections.abc import Callable

NAME = "documents"
GOAL = Goal(">=", 0.7)
SIZES = {"smoke": (2, 2), "quick": (10, 5), "full": (40, 7)}
"""Documents per side per round, and rounds."""


def result_notice() -> ResultNoticeData:
    """A failing result's notice to the merchant, as the gateway sends it."""
    issued = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
    return ResultNoticeData(
        case_id="case_bench_0001",
        authority=AuthorityRef(code="330000", name="浙江省市场监督管理局", level="provincial"),
        issued_at=issued,
        addressee_role="merchant",
        merchant=MerchantRef(
            shop_id="shop-1", shop_name="某某电器旗舰店", kind="registered_entity", legal_name="杭州某某电器有限公司"
        ),
        product=ProductRef(sample_name="电热水壶", trademark="美的", spec_model="MK-HJ1705"),
        conclusion="fail",
        report_no="ZJ-2026-0456",
        testing_institution="浙江省质检院",
        result_received_at=issued - timedelta(days=1),
        failing_items=[
            FailingItem(item="泄漏电流", standard="GB 4706.1-2005", required="≤0.75 mA", measured="2.1 mA"),
            FailingItem(item="标志和说明", standard="GB 4706.1-2005", required="符合7.1", measured="不符合"),
        ],
        manufacturer=ManufacturerRef(name="佛山某某电器制造有限公司"),
        reinspection_deadline=issued + timedelta(days=15),
    )


def timed(work: Callable[[], object], count: int) -> float:
    """CPU seconds for ``count`` runs of ``work``, with the collector off between them."""
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        for _ in range(count):
            work()
        return time.process_time() - started
    finally:
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures and the ratio line."""
    args = size_parser(__doc__.splitlines()[0]).parse_args(argv)
    per_round, rounds = SIZES[args.size]
    pin_current_process(cores()[:1])
    with tempfile.TemporaryDirectory(prefix="spotcheck-bench-documents-") as folder:
        write_profile(Path(folder), "auth_bench", authority_name="浙江省市场监督管理局", prefix="浙市监")
        profile = AuthorityProfile.for_authority(Path(folder), "auth_bench", "浙江省市场监督管理局")
        page = DocumentPage(
            spec=KINDS["result_notice"],
            authority="浙江省市场监督管理局",
            number="浙市监检结〔2026〕1号",
            addressee="杭州某某电器有限公司",
            case_id="case_bench_0001",
            message_type="result.notice",
            issued_at=datetime(2026, 12, 7, 2, 30, tzinfo=UTC),
        )
        fields = notice_fields(result_notice())
        html = document_html(page, fields)
        ours_pdf = produce_pdf(page, fields, profile).pdf  # warm-up: fonts, templates, key
        base_pdf = render_pdf(html)

        def ours() -> object:
            return produce_pdf(page, fields, profile)

        def baseline() -> object:
            return render_pdf(html)

        ratios, ours_rates, base_rates = [], [], []
        for index in range(rounds):
            sides = [(ours, ours_rates), (baseline, base_rates)]
            for work, rates in sides if index % 2 == 0 else reversed(sides):
                rates.append(per_round / timed(work, per_round))
            ratios.append(ours_rates[-1] / base_rates[-1])
    ours_rate, base_rate = statistics.median(ours_rates), statistics.median(base_rates)
    print(
        f"{per_round} documents x {rounds} rounds on one core: WeasyPrint unsigned {base_rate:.1f}/s "
        f"({len(base_pdf):,} bytes), rendered and signed {ours_rate:.1f}/s ({len(ours_pdf):,} bytes)",
        flush=True,
    )
    ratio = statistics.median(ratios)
    primary = Row("documents rendered and signed per second", "documents/s", base_rate, base_rate * ratio, GOAL)
    return finish(
        NAME,
        size=args.size,
        rows=[primary],
        primary=primary,
        notes=["ratio: median of per-round ratios; CPU time of one process pinned to one core"],
        details={"ratios": ratios, "ours_per_s": ours_rates, "baseline_per_s": base_rates},
    )


if __name__ == "__main__":
    sys.exit(main())
