"""Resuming an interrupted sync: requests made by a sync cancelled every few seconds until it
completes, against the requests of one uninterrupted sync of the same account (same run).

    python bench/bench_resume.py                          # 20,000 Prosper calls: ~2 min
    python bench/bench_resume.py --platform callcamp
    python bench/bench_resume.py --calls 2000 --every 1   # quick

The simulator runs in-process (httpx ASGI transport) with --latency seconds per response. The
baseline is one `run_sync` into a fresh index. Then another fresh index is synced by runs of
`run_sync`, each cancelled after --every seconds (as a tool's wait, or a restart of the server,
cuts a sync short; each run gets a new adapter, as after a restart) and started again, until
one completes. The figure is requests made ÷ the baseline's requests (target ≤ 1.01: at most 1%
repeated), with the number of runs; both indexes must end up holding every call. Requests the
simulator saw more than once (same path and query) are counted per kind (list pages, details).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).parent))

from _common import reproduce

from call_logs_mcp.core.sources import sync_source
from call_logs_mcp.index import IndexStore, SyncResult, run_sync
from call_logs_mcp.index.records import scope_key
from call_logs_mcp.providers import PLATFORMS
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.simulators.faults import Faults


def repeated(requests: list[Any], first: int = 0) -> dict[str, int]:
    """Requests from index `first` on whose (path, query) the simulator had already seen in that
    stretch, by kind: a path ending in a digit or uuid is a detail, else a list page."""
    seen = Counter((r.path, r.query) for r in requests[first:])
    out = {"list": 0, "detail": 0}
    for (path, _query), times in seen.items():
        if times > 1:
            kind = "list" if path.rstrip("/").rsplit("/", 1)[-1] in ("calls", "call-logs") else "detail"
            out[kind] += times - 1
    return out


async def indexed(store: IndexStore, platform: str) -> tuple[int, bool]:
    """Calls in the index, and whether the whole-account scope's sync is complete."""

    def read(conn: Any) -> tuple[int, bool]:
        calls = conn.execute("SELECT count(*) FROM calls").fetchone()[0]
        row = conn.execute(
            "SELECT t.last_synced_at FROM sync_state t JOIN sources s ON s.id = t.source "
            "WHERE s.provider = ? AND t.scope = ?",
            (platform, scope_key(None, None, None)),
        ).fetchone()
        return calls, bool(row and row[0])

    return await store.db.read(read)


async def bench(args: argparse.Namespace) -> None:
    started_all = time.perf_counter()
    dataset = simulated_dataset(args.platform, calls=args.calls)
    app = simulated_app(args.platform, dataset, faults=Faults(latency_seconds=args.latency))
    config = simulated_provider_config(args.platform, max_concurrency=args.concurrency)
    requests: list[Any] = app.state.requests
    print(f"generated {len(dataset):,} calls in {time.perf_counter() - started_all:.0f} s", file=sys.stderr)

    async def one_run(store: IndexStore, budget: float | None) -> SyncResult | None:
        source = sync_source(config, transport=simulated_transport(args.platform, app))
        try:
            if budget is None:
                return await run_sync(store, [source])
            with anyio.move_on_after(budget):
                return await run_sync(store, [source])
            return None
        finally:
            await source.provider.aclose()

    with tempfile.TemporaryDirectory() as tmp:
        # The baseline: one sync, never interrupted.
        store = IndexStore.open(Path(tmp) / "whole.db")
        started = time.perf_counter()
        whole = await one_run(store, None)
        whole_seconds = time.perf_counter() - started
        whole_calls, whole_complete = await indexed(store, args.platform)
        store.close()
        whole_requests = len(requests)
        whole_repeated = repeated(requests)
        assert whole is not None
        print(
            f"uninterrupted: {whole_requests:,} requests in {whole_seconds:.1f} s ({whole.line()})",
            file=sys.stderr,
        )

        # Interrupted every `args.every` seconds until a run completes.
        first = len(requests)
        store = IndexStore.open(Path(tmp) / "resumed.db")
        started = time.perf_counter()
        runs = 0
        result: SyncResult | None = None
        while result is None:
            runs += 1
            before = len(requests)
            run_started = time.perf_counter()
            result = await one_run(store, args.every)
            calls, _ = await indexed(store, args.platform)
            print(
                f"  run {runs:3}: {len(requests) - before:5,} requests in "
                f"{time.perf_counter() - run_started:4.1f} s, {calls:,} calls in the index"
                + (" (complete)" if result is not None else ""),
                file=sys.stderr,
            )
            if runs > args.max_runs:
                raise SystemExit(f"no run completed in {args.max_runs} runs")
        resumed_seconds = time.perf_counter() - started
        resumed_calls, resumed_complete = await indexed(store, args.platform)
        store.close()
        resumed_requests = len(requests) - first
        resumed_repeated = repeated(requests, first)

    ratio = resumed_requests / whole_requests
    print(
        f"{args.platform}, {len(dataset):,} calls, {args.latency * 1000:g} ms latency, "
        f"concurrency {args.concurrency}, cancelled every {args.every:g} s"
    )
    print(
        f"uninterrupted sync: {whole_requests:,} requests in {whole_seconds:.1f} s "
        f"(repeated: {whole_repeated['list']} list, {whole_repeated['detail']} detail); "
        f"{whole_calls:,} calls indexed, complete: {whole_complete}"
    )
    print(
        f"interrupted sync  : {resumed_requests:,} requests in {runs} runs, {resumed_seconds:.1f} s "
        f"(repeated: {resumed_repeated['list']} list, {resumed_repeated['detail']} detail); "
        f"{resumed_calls:,} calls indexed, complete: {resumed_complete}"
    )
    print(f"ratio {ratio:.4f} = {(ratio - 1) * 100:+.2f}% requests (target <= 1.01)")
    print(f"wall time {time.perf_counter() - started_all:.0f} s")
    print(f"reproduce: {reproduce()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--platform", choices=PLATFORMS, default="prosper")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.005, help="seconds per simulated response")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--every", type=float, default=3.0, help="seconds before each run is cancelled")
    parser.add_argument("--max-runs", type=int, default=1_000)
    anyio.run(bench, parser.parse_args())


if __name__ == "__main__":
    main()
