"""The console's pages against the JSON API: the case detail page, and the dashboard over a large store.

Run: ``python bench/bench_console.py [--smoke | --quick | --full] [--db postgres|sqlite] [--pg-admin DSN]``.

The gateway app runs in this process behind Litestar's test client (no network: the time of a request is the
server's time), on a fresh PostgreSQL database by default. One real case is opened and driven through the API to
published, so its detail has a timeline, notices and clocks; then the store is filled in bulk (SQLAlchemy Core
inserts) with cases, their platform-answer clocks (met, met late, open, overdue) and notices (mostly delivered, some
pending, some dead), a tenth of them in another province. On PostgreSQL the store is then vacuumed and analysed, as
autovacuum would have done to a store in service (its threshold for inserts trips after a few thousand rows): until
then the visibility map is empty and no index can answer alone. A console officer logs in through the login form.

Two figures, each measured in paired rounds (the two sides alternate which goes first) and compared by medians:

* ``console-detail``: ``GET /console/cases/{id}`` (the case detail page) against ``GET /v1/cases/{id}`` for the
  same case. Goal <= 1.5x. When the page is not served (it is built separately) the figure is "not available".
* ``console``: ``GET /console/`` (the dashboard, 10,000 cases and 100,000 notices at the default size) against the
  case detail page (the JSON API's case when the page is not available). Goal <= 3x: the dashboard must not scan.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import (
    AUTHORITY_CODE,
    BenchError,
    Goal,
    Row,
    add_postgres_option,
    admin_token,
    api_client,
    bench_settings,
    call,
    finish,
    fresh_postgres,
    open_case,
    ratio_line,
    register_platform,
    size_parser,
)
from sqlalchemy import insert, select, text

from spotcheck.gateway.store.engine import create_engine, session_factory
from spotcheck.gateway.store.models import Authority, Case, Deadline, Merchant, OutboundMessage
from spotcheck.gateway.store.types import new_id

# Opening the timed case renders its documents; their PDF library logs every step at INFO.
logging.getLogger("weasyprint").setLevel(logging.WARNING)

NAME = "console"
DETAIL_NAME = "console-detail"
DETAIL_GOAL = Goal("<=", 1.5)
GOAL = Goal("<=", 3.0)
# cases, notices, paired rounds
SIZES = {"smoke": (200, 2_000, 5), "quick": (10_000, 100_000, 30), "full": (10_000, 100_000, 100)}
WARM_UP = 3
BATCH = 2_000
USERNAME = "bench.officer"
PASSWORD = "Bench-console-2026-mima"  # noqa: S105 - a throwaway officer of a throwaway database
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_STATES = ("planned", "purchased", "sealed", "sampling_notified", "result_notified", "published", "closed")


# ---- the store -------------------------------------------------------------------------------------------------------


async def seed(database_url: str, *, cases: int, notices: int, platforms: list[str]) -> dict[str, int]:
    """Fill the store in bulk: ``cases`` cases (a tenth in Guangdong), two answer clocks each, ``notices`` notices."""
    rng = random.Random(2026)
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            ours = await session.scalar(select(Authority.id).where(Authority.division_code == AUTHORITY_CODE))
            theirs = new_id("auth")
            await session.execute(
                insert(Authority),
                [{"id": theirs, "name": "广东省市场监督管理局", "level": "provincial", "division_code": "440000"}],
            )
            merchant_rows = [
                {
                    "id": new_id("mer"),
                    "platform_id": platforms[i % len(platforms)],
                    "shop_id": f"bench-shop-{i}",
                    "shop_name": f"批量店铺{i}",
                    "kind": "registered_entity",
                    "legal_name": f"杭州某某{i}有限公司",
                    "registration_division": "330106",
                }
                for i in range(200)
            ]
            await session.execute(insert(Merchant), merchant_rows)
            case_rows, clock_rows = [], []
            for i in range(cases):
                foreign = i % 10 == 9
                # Two years of sampling: a province opening about 5,000 cases a year.
                created = now - timedelta(days=rng.uniform(0, 730))
                merchant = merchant_rows[i % len(merchant_rows)]
                case_rows.append(
                    {
                        "id": new_id("case"),
                        "authority_id": theirs if foreign else ours,
                        "jurisdiction_division": "440000" if foreign else rng.choice(("330000", "330100", "330200")),
                        "jurisdiction_basis": "二",
                        "state": rng.choice(_STATES),
                        "platform_id": merchant["platform_id"],
                        "merchant_id": merchant["id"],
                        "plan_reference": f"浙市监抽〔2026〕{i % 40}号",
                        "sample_name": rng.choice(("电热水壶", "插座", "儿童玩具", "电吹风", "充电宝")),
                        "trademark": rng.choice(("美的", "公牛", "小米", "飞科")),
                        "spec_model": f"M-{i}",
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                for _ in range(2):
                    issued = created + timedelta(days=rng.uniform(0, 5))
                    due = issued + timedelta(days=2)
                    answered = issued + timedelta(hours=rng.uniform(1, 96))
                    done = answered < now and rng.random() < 0.97  # a few requests are never answered
                    status = (
                        ("met" if answered <= due else "met_late") if done else ("escalated" if due < now else "open")
                    )
                    clock_rows.append(
                        {
                            "id": new_id("dl"),
                            "case_id": case_rows[-1]["id"],
                            # The case's scope, as the gateway copies it onto its clocks and notices (Case.scope).
                            "authority_id": case_rows[-1]["authority_id"],
                            "jurisdiction_division": case_rows[-1]["jurisdiction_division"],
                            "kind": "platform_answer",
                            "party": f"platform:{merchant['platform_id']}",
                            "due_at": due,
                            "provisional": False,
                            "rule": "2 working days",
                            "basis": "工商消字〔2015〕189号 五(三); platform answer SLA",
                            "status": status,
                            "met_at": answered if done else None,
                            "created_at": issued,
                        }
                    )
            for rows, table in ((case_rows, Case), (clock_rows, Deadline)):
                for start in range(0, len(rows), BATCH):
                    await session.execute(insert(table), rows[start : start + BATCH])
            batch: list[dict[str, Any]] = []
            for i in range(notices):
                case = case_rows[i % len(case_rows)]
                roll = rng.random()
                batch.append(
                    {
                        "id": new_id("msg"),
                        "case_id": case["id"],
                        "authority_id": case["authority_id"],
                        "jurisdiction_division": case["jurisdiction_division"],
                        "message_type": "sampling.notice",
                        "recipient_kind": "platform",
                        "recipient_id": case["platform_id"],
                        "recipient_name": f"{case['platform_id']} 网络有限公司",
                        "adapter": "webhook",
                        "destination": {"platform_id": case["platform_id"]},
                        "body": b'{"type":"sampling.notice"}',
                        "timestamp": int(case["created_at"].timestamp()),
                        "status": "dead" if roll < 0.01 else "pending" if roll < 0.03 else "delivered",
                        "created_at": case["created_at"],
                        "next_attempt_at": case["created_at"],
                    }
                )
                if len(batch) == BATCH:
                    await session.execute(insert(OutboundMessage), batch)
                    batch = []
            if batch:
                await session.execute(insert(OutboundMessage), batch)
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE"))  # VACUUM runs outside a transaction only
    finally:
        await engine.dispose()
    return {"cases": cases, "clocks": len(clock_rows), "notices": notices}


# ---- the officer -----------------------------------------------------------------------------------------------------


async def log_in(client: Any, settings: Any) -> None:
    """Create the bench officer and log in through ``/console/login`` (the client keeps the session cookie)."""
    from spotcheck.gateway.console.accounts import AccountService

    engine = create_engine(settings.store.url)
    try:
        async with session_factory(engine)() as session:
            await AccountService(session, settings.console).create(
                USERNAME, authority_code=AUTHORITY_CODE, role="officer", password=PASSWORD, display_name="压测执法人员"
            )
    finally:
        await engine.dispose()
    form = await client.get("/console/login")
    found = _CSRF.search(form.text)
    if form.status_code != 200 or found is None:
        raise BenchError(f"the login page did not answer with a form: {form.status_code}")
    answer = await client.post(
        "/console/login",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": found.group(1)},
        follow_redirects=False,
    )
    if answer.status_code != 303:
        raise BenchError(f"the officer could not log in: {answer.status_code} {answer.text[:300]}")


async def detail_case(client: Any, token: str) -> tuple[str, str]:
    """The case whose detail is timed: driven through the API to published, or only opened if that fails."""
    try:
        return await open_case(client, token, "bench-mall", shop="bench-detail", until="published"), "published"
    except BenchError as exc:
        # The lifecycle's request bodies change with other work; a case that is only opened still times the page.
        print(f"  (driving the case to published failed, timing an opened case instead: {str(exc)[:200]})")
    merchant = await call(
        client,
        "/v1/merchants",
        token,
        {
            "platform_id": "bench-mall",
            "shop_id": "bench-opened",
            "shop_name": "bench-opened 旗舰店",
            "kind": "registered_entity",
            "legal_name": "杭州某某电器有限公司",
            "registration_division": "330106",
        },
    )
    product = {"sample_name": "电热水壶", "trademark": "美的", "spec_model": "MK-HJ1705"}
    body = {"merchant_id": merchant["id"], "product": product, "plan_reference": "浙市监抽〔2026〕12号"}
    return (await call(client, "/v1/cases", token, body))["id"], "planned"


# ---- timing ----------------------------------------------------------------------------------------------------------


Call = Callable[[], Awaitable[Any]]


def getter(client: Any, path: str, headers: dict[str, str] | None = None) -> Call:
    """A timed GET of ``path`` that must answer 200."""

    async def call() -> None:
        response = await client.get(path, headers=headers or {})
        if response.status_code != 200:
            raise BenchError(f"GET {path}: {response.status_code} {response.text[:300]}")

    return call


async def paired(ours: Call, baseline: Call, rounds: int) -> tuple[list[float], list[float]]:
    """Seconds per call of each side over ``rounds`` rounds, alternating which side goes first."""
    for _ in range(WARM_UP):
        await ours()
        await baseline()
    ours_t: list[float] = []
    base_t: list[float] = []
    for round_no in range(rounds):
        pair = [(ours_t, ours), (base_t, baseline)]
        for into, side in pair if round_no % 2 == 0 else reversed(pair):
            started = time.perf_counter()
            await side()
            into.append(time.perf_counter() - started)
    return ours_t, base_t


def ms(values: list[float]) -> float:
    """The median in milliseconds."""
    return statistics.median(values) * 1e3


# ---- the run ---------------------------------------------------------------------------------------------------------


async def run(size: str, database_url: str, data_dir: Path) -> int:
    """Set up, seed, log in, measure, report."""
    cases, notices, rounds = SIZES[size]
    settings = bench_settings(data_dir, database_url)
    async with api_client(settings) as client:
        token = await admin_token(settings)
        platforms = ["bench-mall", "bench-shop", "bench-bazaar"]
        for platform_id in platforms:
            await register_platform(client, token, platform_id, f"http://127.0.0.1:9/{platform_id}")
        case_id, driven = await detail_case(client, token)
        started = time.perf_counter()
        seeded = await seed(settings.store.url, cases=cases, notices=notices, platforms=platforms)
        seeding_s = time.perf_counter() - started
        await log_in(client, settings)

        api = getter(client, f"/v1/cases/{case_id}", {"authorization": f"Bearer {token}"})
        detail = getter(client, f"/console/cases/{case_id}")
        dashboard = getter(client, "/console/")
        probe = await client.get(f"/console/cases/{case_id}")
        detail_available = probe.status_code == 200 and "<html" in probe.text

        rows: list[Row] = []
        notes = [
            (
                f"{seeded['cases']:,} cases ({seeded['clocks']:,} answer clocks), {seeded['notices']:,} notices on "
                f"{engine_name(database_url)}; {rounds} paired rounds, medians; seeded in {seeding_s:.1f} s"
            )
        ]
        notes.append(f"the timed case is {driven}")
        if database_url.startswith("postgresql"):
            notes.append("the seeded store vacuumed and analysed, as autovacuum would have")
        details: dict[str, Any] = {"seeded": seeded, "detail_page_available": detail_available, "case": driven}
        print(notes[0])
        if detail_available:
            page_t, api_t = await paired(detail, api, rounds)
            detail_row = Row("case detail page vs GET /v1/cases/{id}", "ms", ms(api_t), ms(page_t), DETAIL_GOAL)
            rows.append(detail_row)
            print(f"  GET /v1/cases/{{id}} (JSON API):       {ms(api_t):8.2f} ms")
            print(f"  GET /console/cases/{{id}} (page):      {ms(page_t):8.2f} ms")
            print(ratio_line(DETAIL_NAME, detail_row.ratio, DETAIL_GOAL))
            board_t, base_t = await paired(dashboard, detail, rounds)
            baseline_what = "the case detail page"
        else:
            print(f"  GET /console/cases/{{id}}: not available ({probe.status_code}); the dashboard is compared "
                  "with the JSON API's case instead")  # fmt: skip
            notes.append("case detail page not available: console-detail not measured; dashboard vs the JSON API")
            board_t, base_t = await paired(dashboard, api, rounds)
            baseline_what = "GET /v1/cases/{id}"
        board_row = Row(f"dashboard vs {baseline_what}", "ms", ms(base_t), ms(board_t), GOAL)
        rows.append(board_row)
        print(f"  baseline ({baseline_what}): {ms(base_t):8.2f} ms")
        print(f"  GET /console/ (dashboard):            {ms(board_t):8.2f} ms")
        details["dashboard_ms"] = [round(t * 1e3, 3) for t in board_t]
        return finish(NAME, size=size, rows=rows, primary=board_row, notes=notes, details=details)


def engine_name(url: str) -> str:
    """``PostgreSQL`` or ``SQLite``, for the notes."""
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


async def amain(size: str, db: str, pg_admin: str) -> int:
    """Run on a fresh PostgreSQL database (dropped afterwards) or a SQLite file in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="bench-console-") as folder:
        async with AsyncExitStack() as stack:
            if db == "postgres":
                url = await stack.enter_async_context(fresh_postgres(pg_admin))
            else:
                url = f"sqlite+aiosqlite:///{Path(folder) / 'gateway.db'}"
            return await run(size, url, Path(folder))


def main(argv: list[str] | None = None) -> int:
    """Parse the switches and run."""
    parser = size_parser(__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    add_postgres_option(parser)
    args = parser.parse_args(argv)
    try:
        return asyncio.run(amain(args.size, args.db, args.pg_admin))
    except BenchError as exc:
        print(f"{NAME}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
