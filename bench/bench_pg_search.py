"""Transcript search on PostgreSQL against SQLite: the same calls, the same queries, the same run.

    python bench/bench_pg_search.py --calls 20000      # an embedded server (tuned: see _pg.py)
    python bench/bench_pg_search.py --url postgresql://user:pw@host/db   # an existing server, as it is
    python bench/bench_pg_search.py --calls 300000 --url ... --keep      # bench_pg_outcomes.py's database

Both stores index the same generated calls: the SQLite index and the PostgreSQL database are
`_pg`'s, shared with bench_pg_outcomes.py (built once; with --keep the PostgreSQL database is
kept and reused too). Each query of a mix of words, phrases, prefixes, filtered searches,
sentences and misspellings (whose answer explains the zero hits and suggests terms) runs
--repeat times on each store; the figure is PostgreSQL's p50/p95 as a ratio of SQLite's, per
kind and per family (keyword: every kind but sentences; sentence), target p95 <= 2x. Both stores
must give the same counts.

Also measured, same run: the suggestion vocabulary (a range of `search_words`, against the same
range read with `ts_stat` over every turn), and what the vocabulary trigger costs a write (the
first --sample calls stored into an empty database with the trigger, and again without it).
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _common import SCOPE, build_index, index_arguments, percentile, reproduce
from _pg import database, fill, filled, kept_name, server, settings, sqlite_path
from bench_meaning import SENTENCE
from bench_search import Query, query_mix

from call_logs_mcp.index import IndexStore
from call_logs_mcp.index.postgres import PostgresStore


def extra_queries() -> list[Query]:
    return [
        Query("sentence", "calls where someone asked for a refund", {}),
        Query("sentence", "customer wanted a call back later", {}),
        Query("sentence", "angry about the late fee on the credit card", {}),
        *(Query("sentence", asked["query"], {}) for asked in SENTENCE),
        Query("zero-hit", "refnd", {}),
        Query("zero-hit", "insurence", {}),
    ]


async def write_cost(url: str, sample: int, seed: int, campaigns: int) -> tuple[float, float]:
    """Seconds to store the first `sample` calls into an empty database with the vocabulary
    trigger and without it."""
    times = []
    for trigger in (True, False):
        with database(url) as conninfo:
            store = await PostgresStore.open(conninfo)
            try:
                if not trigger:
                    async with store.db.transaction("bench") as conn:
                        await conn.execute("ALTER TABLE turns DISABLE TRIGGER turns_search_words")
                times.append(await fill(store, sample, seed, campaigns))
            finally:
                await store.close()
    return times[0], times[1]


async def vocabulary(store: PostgresStore, low: str, high: str) -> tuple[float, float, int, int]:
    """(seconds for the range of `search_words`, seconds for the same range by ts_stat, terms, terms)."""
    async with store.db.transaction("bench") as conn:
        started = time.perf_counter()
        kept = await (
            await conn.execute(
                "SELECT DISTINCT word FROM search_words WHERE word >= %s AND word < %s "
                "ORDER BY word LIMIT 400",
                (low, high),
            )
        ).fetchall()
        table = time.perf_counter() - started
        started = time.perf_counter()
        stat = await (
            await conn.execute(
                "SELECT word FROM ts_stat('SELECT words FROM turns') WHERE word COLLATE \"C\" >= %s "
                'AND word COLLATE "C" < %s ORDER BY word COLLATE "C" LIMIT 400',
                (low, high),
            )
        ).fetchall()
        scanned = time.perf_counter() - started
    return table, scanned, len(kept), len(stat)


async def run_queries(
    store: Any, queries: list[Query], repeat: int
) -> tuple[dict[str, list[float]], list[Any]]:
    by_kind: dict[str, list[float]] = {}
    answers = [await store.search(SCOPE, q.text, limit=10, **q.filters) for q in queries]  # warm once
    for _ in range(repeat):
        for query in queries:
            started = time.perf_counter()
            await store.search(SCOPE, query.text, limit=10, **query.filters)
            by_kind.setdefault(query.kind, []).append(time.perf_counter() - started)
    return by_kind, answers


def main() -> None:
    parser = index_arguments(__doc__, repeat=5)
    parser.set_defaults(calls=20_000)
    parser.add_argument("--url", default=None, help="an existing server (its user needs CREATEDB)")
    parser.add_argument("--keep", action="store_true", help="keep the filled database for the next run")
    parser.add_argument("--sample", type=int, default=2_000)
    args = parser.parse_args()
    path = args.db or sqlite_path(args.calls, args.seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite = build_index(
        path, calls=args.calls, seed=args.seed, campaigns=args.campaigns, rebuild=args.rebuild
    )
    try:
        asyncio.run(measure(args, sqlite))
    finally:
        sqlite.close()


async def measure(args: Any, sqlite: IndexStore) -> None:
    newest = sqlite.db.read_sync(lambda conn: conn.execute("SELECT max(started_at) FROM calls").fetchone()[0])
    refund = (await sqlite.search(SCOPE, "refund", limit=1)).hits[0].campaign_id
    billing = (await sqlite.search(SCOPE, '"late fee"', limit=1)).hits[0].campaign_id
    assert refund is not None and billing is not None
    queries = (
        query_mix(refund, billing, datetime.fromisoformat(newest.replace("Z", "+00:00"))) + extra_queries()
    )
    kept = kept_name(args.calls, args.seed, args.campaigns) if args.keep else None
    with server(args.url) as url:
        with database(url, kept) as conninfo:
            postgres = await PostgresStore.open(conninfo)
            try:
                done = await filled(postgres, args.calls, args.seed, args.campaigns)
                if done:
                    print(done)
                print(settings(conninfo))
                lite_times, lite_answers = await run_queries(sqlite, queries, args.repeat)
                pg_times, pg_answers = await run_queries(postgres, queries, args.repeat)
                vocab = await vocabulary(postgres, "ref", "reg")
            finally:
                await postgres.close()
        with_trigger, without = await write_cost(url, args.sample, args.seed, args.campaigns)

    print(f"{args.calls:,} calls; {args.repeat} runs of each query on each store")
    print(f"{'kind':<10} {'SQLite p50':>10} {'p95':>8} {'PG p50':>8} {'p95':>8} {'p95 ratio':>9}")
    for kind in lite_times:
        l50, l95 = percentile(lite_times[kind], 0.5) * 1e3, percentile(lite_times[kind], 0.95) * 1e3
        p50, p95 = percentile(pg_times[kind], 0.5) * 1e3, percentile(pg_times[kind], 0.95) * 1e3
        print(f"{kind:<10} {l50:10.1f} {l95:8.1f} {p50:8.1f} {p95:8.1f} {p95 / l95:8.2f}x")
    families = {
        "keyword": [kind for kind in lite_times if kind != "sentence"],
        "sentence": ["sentence"],
        "all": list(lite_times),
    }
    for family, kinds in families.items():
        lite = [t for kind in kinds for t in lite_times[kind]]
        post = [t for kind in kinds for t in pg_times[kind]]
        l50, l95 = percentile(lite, 0.5) * 1e3, percentile(lite, 0.95) * 1e3
        p50, p95 = percentile(post, 0.5) * 1e3, percentile(post, 0.95) * 1e3
        print(f"{family:<10} {l50:10.1f} {l95:8.1f} {p50:8.1f} {p95:8.1f} {p95 / l95:8.2f}x  (target <= 2x)")
    same = [
        (q.text, a.total_hits, b.total_hits)
        for q, a, b in zip(queries, lite_answers, pg_answers, strict=True)
        if (a.total_hits, a.calls_matched) != (b.total_hits, b.calls_matched)
    ]
    print(f"same counts on both stores: {same or 'yes'}")
    table, scanned, kept, stat = vocab
    print(f"suggestion vocabulary 'ref'..'reg': search_words {table * 1e3:.1f} ms ({kept} terms), "
          f"ts_stat over every turn {scanned * 1e3:.0f} ms ({stat} terms): "
          f"{scanned / table:.0f}x")  # fmt: skip
    print(f"storing the first {args.sample:,} calls: {with_trigger:.1f} s with the vocabulary trigger, "
          f"{without:.1f} s without ({with_trigger / without:.2f}x)")  # fmt: skip
    print(f"reproduce: {reproduce()}")


if __name__ == "__main__":
    main()
