"""CPU per call of a sync whose listing carries whole calls (Vapi), by stage, without the network.

    python bench/bench_sync_cpu.py                       # Vapi, 1,000 calls, best of 7
    python bench/bench_sync_cpu.py --calls 500 --repeat 5

Stages, each timed on its own (best of --repeat runs; process CPU time, so other processes on the
machine do not count, but a loaded machine still slows caches and frequency):

- list: the adapter's `list_calls` answering one page of --calls whole calls, served by a canned
  transport that returns the simulator's own answer at once (HTTP client, JSON decoding, wire
  models, mapping to domain calls; no simulator work, no waiting);
- fingerprint: the sync's `list_fingerprint` of each listed call (how it is recognised unchanged);
- store: the index's `upsert` of the listed calls, 100 per transaction (as the sync's writer does),
  into a fresh index.

The baseline is the CPU time per call a sync may spend to keep up with the rate limit at each
page size: at --limit requests/s and page size p, a request brings p calls every 1/limit s, so
1 / (limit * p) s per call. A page size whose budget is above the total is bound by the limit; one
whose budget is below it is bound by CPU (on one core; the store runs in a worker thread, partly
outside the GIL).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2

sys.path.insert(0, str(Path(__file__).parent))

from _common import reproduce

from call_logs_mcp.index import CallRecord, IndexStore
from call_logs_mcp.index.sync import list_fingerprint
from call_logs_mcp.models import Call, CallQuery
from call_logs_mcp.providers import PLATFORMS, create_provider, platform
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)


class Canned(httpx2.AsyncBaseTransport):
    """Answers every request with one recorded response body, at once."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=self.body, headers={"content-type": "application/json"})


async def recorded_page(name: str, calls: int) -> bytes:
    """The simulator's answer to the adapter's first listing request for `calls` calls."""
    app = simulated_app(name, simulated_dataset(name, calls=calls, long_calls=0))
    bodies: list[bytes] = []

    class Recording(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            response = await simulated_transport(name, app).handle_async_request(request)
            body = await response.aread()
            bodies.append(body)
            return httpx2.Response(response.status_code, content=body, headers=response.headers)

    await list_page(name, calls, Recording())
    return bodies[0]


async def list_page(name: str, calls: int, transport: httpx2.AsyncBaseTransport) -> list[Call]:
    provider = create_provider(simulated_provider_config(name), transport=transport)
    provider.info = dataclasses.replace(platform(name).info, max_page_size=calls)
    try:
        page = await provider.list_calls(CallQuery(), limit=calls)
    finally:
        await provider.aclose()
    listed = [call for call in page.calls if isinstance(call, Call)]
    if len(listed) != calls:
        raise SystemExit(f"{name}: the listing did not answer {calls} whole calls in one page")
    return listed


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The least process CPU time of `repeat` runs, and the last result."""
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        started = time.process_time()
        result = run()
        times.append(time.process_time() - started)
    return min(times), result


def store(name: str, records: list[CallRecord]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        index = IndexStore.open(Path(tmp) / "calls.db")
        try:
            for start in range(0, len(records), 100):
                batch = records[start : start + 100]
                index.db.write_sync(lambda conn, batch=batch: index.upsert_sync(conn, "bench", name, batch))
        finally:
            index.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--provider", choices=PLATFORMS, default="vapi")
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--limit", type=float, default=20.0)
    args = parser.parse_args()
    if not platform(args.provider).info.capabilities.list_includes_details:
        raise SystemExit(f"{args.provider}'s listing does not carry whole calls")
    body = anyio.run(recorded_page, args.provider, args.calls)
    canned = Canned(body)
    seconds: dict[str, float] = {}
    seconds["list"], calls = best(
        args.repeat, lambda: anyio.run(list_page, args.provider, args.calls, canned)
    )
    seconds["fingerprint"], hashes = best(args.repeat, lambda: [list_fingerprint(c) for c in calls])
    records = [CallRecord(call, has_details=True, list_hash=h) for call, h in zip(calls, hashes, strict=True)]
    seconds["store"], _ = best(args.repeat, lambda: store(args.provider, records))
    per_call = {stage: value / args.calls * 1e6 for stage, value in seconds.items()}
    total = sum(per_call.values())
    print(f"{args.provider}: {args.calls:,} whole calls ({len(body) / args.calls:,.0f} bytes each as listed)")
    for stage, micros in per_call.items():
        print(f"  {stage:<12} {micros:7.0f} us/call")
    print(f"  {'total':<12} {total:7.0f} us/call = {1e6 / total:,.0f} calls/s on one core")
    for page in (10, 25, 50, 100, 200):
        budget = 1e6 / (args.limit * page)
        bound = "the limit" if budget >= total else "CPU"
        print(
            f"  page {page:>3}: {args.limit:g} req/s bring {args.limit * page:,.0f} calls/s, "
            f"{budget:5.0f} us each: the total is {total / budget:.2f} of that, bound by {bound}"
        )
    print(f"reproduce: {reproduce()}")


if __name__ == "__main__":
    main()
