"""Campaign summary latency over a large index, against the pure-Python path over the same calls.

    python bench/bench_summary.py                # 100,000 calls (shares the index bench_search builds)
    python bench/bench_summary.py --calls 5000   # quick

Times `IndexStore.campaign_summary` (the SQL path: counts, sorted durations and QA scores,
extracted-data aggregates, notable calls) for the whole provider (every indexed call), for the
largest campaign and for that campaign over the last 30 days. The baseline is
`analytics.summarize_calls` over the same calls already in memory as `Call` objects (loading them
is not timed). Both give identical summaries (tests/test_analytics.py checks this). Target: the
100,000-call summary in <= 300 ms.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).parent))

from _common import PROVIDER, SCOPE, index_arguments, open_index, percentile, reproduce, to_call

from call_logs_mcp.analytics import summarize_calls
from call_logs_mcp.index import IndexStore
from call_logs_mcp.simulators.generate import iter_calls


async def time_summary(
    store: IndexStore, campaign: str | None, repeat: int, **dates: object
) -> tuple[list[float], int]:
    await store.campaign_summary(SCOPE, PROVIDER, campaign, **dates)  # type: ignore[arg-type]  # warm-up
    times = []
    calls = 0
    for _ in range(repeat):
        started = time.perf_counter()
        summary = await store.campaign_summary(SCOPE, PROVIDER, campaign, **dates)  # type: ignore[arg-type]
        times.append(time.perf_counter() - started)
        calls = summary.coverage.indexed_calls
    return times, calls


def main() -> None:
    parser = index_arguments(__doc__, repeat=7)
    args = parser.parse_args()
    store, _ = open_index(args)
    try:
        campaign, newest = store.db.read_sync(
            lambda conn: conn.execute(
                "SELECT p.campaign_id, max(c.started_at) FROM calls c JOIN campaigns p ON p.id = c.campaign "
                "GROUP BY p.campaign_id ORDER BY count(*) DESC LIMIT 1"
            ).fetchone()
        )
        from call_logs_mcp.index.records import parse_ts

        last = parse_ts(newest)
        assert last is not None
        cases = {
            "whole provider": anyio.run(time_summary, store, None, args.repeat),
            "largest campaign": anyio.run(time_summary, store, campaign, args.repeat),
            "campaign, last 30 days": anyio.run(
                lambda: time_summary(store, campaign, args.repeat, from_date=last - timedelta(days=30))
            ),
        }
    finally:
        store.close()

    # Baseline: the pure functions over the same calls, in memory (one turn each is enough).
    calls = []
    for sim in iter_calls(seed=args.seed, calls=args.calls, campaigns=args.campaigns, long_calls=3):
        call = to_call(sim)
        calls.append(call.model_copy(update={"transcript": call.transcript[:1]}))
    baseline = []
    for _ in range(3):
        started = time.perf_counter()
        summarize_calls(calls, provider=PROVIDER, campaign_id=None)
        baseline.append(time.perf_counter() - started)
    base = percentile(baseline, 0.5)

    print(f"{'summary':<24} {'calls':>8} {'p50 ms':>8} {'max ms':>8}")
    for name, (times, count) in cases.items():
        print(f"{name:<24} {count:8,} {percentile(times, 0.5) * 1e3:8.1f} {max(times) * 1e3:8.1f}")
    whole = percentile(cases["whole provider"][0], 0.5)
    print(f"pure-Python summarize_calls over {len(calls):,} in-memory calls: {base * 1e3:.0f} ms")
    print(f"index vs pure Python (whole provider): {base / whole:.1f}x faster; "
          f"{whole * 1e3:.0f} ms (target <= 300 ms)")  # fmt: skip
    print(f"reproduce: {reproduce()}")


if __name__ == "__main__":
    main()
