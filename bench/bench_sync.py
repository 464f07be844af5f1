"""Sync throughput against a slow, rate-limited platform, with and without injected faults.

    python bench/bench_sync.py                 # 5,000 calls: about 4 minutes per scenario
    python bench/bench_sync.py --calls 300     # quick
    python bench/bench_sync.py --provider retell --calls 2000 --latency 0.1 --only clean
    python bench/bench_sync.py --provider bland --calls 2000 --latency 0.1
    python bench/bench_sync.py --provider vapi --calls 2000 --latency 0.1 --only clean \
        --page-sizes 50,100,200,500,1000       # a platform listing whole calls, by page size

The simulator of --provider (CallCamp by default: list + one detail request per call; Vapi lists
whole calls, so no detail request at all) answers after --latency seconds and enforces --limit
requests/second (HTTP 429 beyond it); the adapter is configured with the same limit, as a user
would set CALLCAMP_RATE_LIMIT. --page-sizes runs the scenario once per platform page size (the
listing's `limit`), reporting calls/second against the platform's own page size in the same run.
A keyset listing (Vapi) cannot ask for a page before the previous one answered, so its request
rate is also bounded by 1 / latency: that bound is printed beside the limit. The baseline is the
limit itself: a sync can at best make `limit` requests per second, so the figure is achieved
rate / limit (target >= 0.9).
--separate serves the simulator from another process (`call-logs-mcp simulate`, real loopback
HTTP), so that the simulator's own work (generating and serialising whole calls) does not share
the syncing process's CPU; requests are then counted on the client side (the fault scenario and
--page-sizes work the same; lost and duplicated calls are counted against --calls).
The fault scenario adds 10% 5xx and 5% 429 (without Retry-After, as a flaky gateway sends them)
and checks that no call is lost or duplicated (target rate >= 0.75 of the limit).
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2

sys.path.insert(0, str(Path(__file__).parent))

from _common import reproduce

from call_logs_mcp.core.sources import sync_source
from call_logs_mcp.index import IndexStore, run_sync
from call_logs_mcp.providers import PLATFORMS, platform
from call_logs_mcp.providers.config import accounts_for
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.simulators.faults import Faults


async def scenario(
    provider: str, calls: int, faults: Faults, limit: float, concurrency: int, page_size: int | None
) -> dict[str, float]:
    dataset = simulated_dataset(provider, calls=calls, long_calls=0)
    app = simulated_app(provider, dataset, faults=faults, log_requests=True)
    config = simulated_provider_config(
        provider, requests_per_second=limit, max_concurrency=concurrency, max_retries=10
    )
    source = sync_source(config, transport=simulated_transport(provider, app))
    if page_size is not None:
        # The listing's page size is the platform's; a benchmark may try others.
        source.provider.info = dataclasses.replace(source.provider.info, max_page_size=page_size)
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore.open(Path(tmp) / "calls.db")
        try:
            started = time.perf_counter()
            result = await run_sync(store, [source])
            elapsed = time.perf_counter() - started
            stored: list[str] = []
            cursor = None
            while True:
                page = await store.recent_calls(accounts_for({provider: config}), limit=200, cursor=cursor)
                stored += [c.call_id for c in page.calls]
                cursor = page.next_cursor
                if cursor is None:
                    break
        finally:
            store.close()
            await source.provider.aclose()
    requests = len(app.state.requests)
    counts = app.state.fault_counts
    expected = {c.id for c in dataset}
    # A detail request's path ends with a call id; a listing's with a word.
    details = sum(1 for r in app.state.requests if r.path.rsplit("/", 1)[-1] in expected)
    return {
        "details": details,
        "calls_per_second": len(dataset) / elapsed,
        "calls": len(dataset),
        "seconds": elapsed,
        "requests": requests,
        "ok": counts["ok"],
        "429": counts["429"],
        "5xx": sum(v for k, v in counts.items() if k.startswith("5")),
        "rate": requests / elapsed,
        "fraction": requests / elapsed / limit,
        "lost": len(expected - set(stored)),
        "duplicated": len(stored) - len(set(stored)),
        "added": result.added,
    }


class Counting(httpx2.AsyncBaseTransport):
    """Loopback HTTP that counts requests by path and by answer."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.paths: list[str] = []
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.paths.append(request.url.path)
        response = await self.inner.handle_async_request(request)
        self.statuses.append(response.status_code)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def separate_scenario(
    provider: str, calls: int, faults: Faults, limit: float, concurrency: int, page_size: int | None
) -> dict[str, float]:
    """`scenario` with the simulator in another process (see --separate)."""
    port = free_port()
    spec = f"rate_limit_per_second={limit},error_rate={faults.error_rate},rate_429={faults.rate_429}"
    command = [sys.executable, "-m", "call_logs_mcp", "simulate", provider, "--port", str(port)]
    command += ["--calls", str(calls), "--latency", str(faults.latency_seconds), "--faults", spec]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the simulator did not start") from None
                time.sleep(0.2)
        return anyio.run(_separate_sync, provider, port, calls, limit, concurrency, page_size)
    finally:
        server.terminate()
        server.wait(timeout=30)


async def _separate_sync(
    provider: str, port: int, calls: int, limit: float, concurrency: int, page_size: int | None
) -> dict[str, float]:
    config = simulated_provider_config(
        provider,
        base_url=f"http://127.0.0.1:{port}",
        requests_per_second=limit,
        max_concurrency=concurrency,
        max_retries=10,
    )
    network = Counting()
    source = sync_source(config, transport=network)
    if page_size is not None:
        source.provider.info = dataclasses.replace(source.provider.info, max_page_size=page_size)
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore.open(Path(tmp) / "calls.db")
        try:
            started = time.perf_counter()
            result = await run_sync(store, [source])
            elapsed = time.perf_counter() - started
            stored: list[str] = []
            cursor = None
            while True:
                page = await store.recent_calls(accounts_for({provider: config}), limit=200, cursor=cursor)
                stored += [c.call_id for c in page.calls]
                cursor = page.next_cursor
                if cursor is None:
                    break
        finally:
            store.close()
            await source.provider.aclose()
    requests = len(network.paths)
    listing = network.paths[0] if network.paths else ""
    return {
        "details": sum(1 for path in network.paths if path != listing and path.startswith(listing)),
        "calls_per_second": calls / elapsed,
        "calls": calls,
        "seconds": elapsed,
        "requests": requests,
        "ok": sum(1 for status in network.statuses if status < 400),
        "429": network.statuses.count(429),
        "5xx": sum(1 for status in network.statuses if status >= 500),
        "rate": requests / elapsed,
        "fraction": requests / elapsed / limit,
        "lost": calls - len(set(stored)),
        "duplicated": len(stored) - len(set(stored)),
        "added": result.added,
    }


def useful(provider: str, size: int | None, limit: float, calls_per_second: float, details: int) -> str:
    """For a listing of whole calls: calls/s against what the limit allows at this page size
    (every request a full page), which requests that come back short or empty do not reach."""
    if details:
        return ""
    page = size or platform(provider).info.max_page_size
    allowed = limit * page
    return f" = {calls_per_second / allowed:.2f} of the {allowed:g} calls/s the limit allows at page {page}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--platform", choices=PLATFORMS, default="callcamp")
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--latency", type=float, default=0.030)
    parser.add_argument("--limit", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--only", choices=["clean", "faults"], default=None)
    parser.add_argument("--provider", choices=PLATFORMS, default="callcamp")
    parser.add_argument("--separate", action="store_true", help="serve the simulator from another process")
    parser.add_argument(
        "--page-sizes", default="", help="comma-separated platform page sizes to compare (default: its own)"
    )
    args = parser.parse_args()
    sizes: list[int | None] = [int(n) for n in args.page_sizes.split(",") if n.strip()] or [None]
    scenarios = {
        "clean": Faults(latency_seconds=args.latency, rate_limit_per_second=args.limit),
        "faults": Faults(
            latency_seconds=args.latency,
            rate_limit_per_second=args.limit,
            error_rate=0.10,
            rate_429=0.05,
            retry_after=False,
            seed=3,
        ),
    }
    targets = {"clean": 0.9, "faults": 0.75}
    for name, faults in scenarios.items():
        if args.only and name != args.only:
            continue
        baseline: float | None = None
        bound = f"{1 / args.latency:.1f} req/s" if args.latency > 0 else "any rate"
        for size in sizes:
            values = (args.provider, args.calls, faults, args.limit, args.concurrency, size)
            r = separate_scenario(*values) if args.separate else anyio.run(scenario, *values)
            label = f"{name:<7}" + (f" page {size:>4}" if size is not None else "")
            print(
                f"{label} {args.provider}: {int(r['calls']):,} calls in {r['seconds']:.1f} s: "
                f"{int(r['requests']):,} requests ({int(r['ok']):,} ok, {int(r['5xx'])} 5xx, "
                f"{int(r['429'])} 429, "
                f"{int(r['details']):,} for one call's details) = {r['rate']:.2f} req/s = "
                f"{r['fraction']:.2f} of the {args.limit:g} req/s limit (target >= {targets[name]}; "
                f"successful requests alone: {r['ok'] / r['seconds'] / args.limit:.2f}; "
                f"one listing request at a time after {args.latency:g} s latency allows {bound}); "
                f"{r['calls_per_second']:.0f} calls/s"
                f"{useful(args.provider, size, args.limit, r['calls_per_second'], int(r['details']))}; "
                f"lost {int(r['lost'])}, duplicated {int(r['duplicated'])}"
            )
            if len(sizes) > 1:
                baseline = baseline or r["calls_per_second"]
                print(f"        calls/s = {r['calls_per_second'] / baseline:.2f}x the first page size's")
    print(f"reproduce: {reproduce()}")


if __name__ == "__main__":
    main()
