"""Peak memory (RSS) of a large sync, and the index size on disk per 1,000 calls.

    python bench/bench_rss.py                                  # 100,000 calls, Prosper (lists full calls)
    python bench/bench_rss.py --provider callcamp --calls 20000  # one detail request per call
    python bench/bench_rss.py --provider retell --calls 20000    # the same, over Retell's POST listing
    python bench/bench_rss.py --provider vapi --calls 20000      # lists whole calls, keyset paging
    python bench/bench_rss.py --provider bland --calls 20000     # the same, with index paging
    python bench/bench_rss.py --calls 5000                     # quick

The simulator runs in a separate process (uvicorn on a loopback port) so that only the syncing
process is measured; the sync talks to it over real HTTP. The baseline is this process's RSS
right before the sync starts (interpreter, imports, open index): the figure is the peak during
the sync, and the growth over the baseline. Target: peak <= 300 MB (the sync streams pages and
batches; it never holds the whole account in memory).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).parent))

from _common import current_rss_mb, file_bytes, peak_rss_mb, reproduce

from call_logs_mcp.core.sources import sync_source
from call_logs_mcp.index import IndexStats, IndexStore, SyncResult, run_sync
from call_logs_mcp.providers import PLATFORMS
from call_logs_mcp.providers.simulated import simulated_provider_config

SERVER = """
import sys
from call_logs_mcp.providers.simulated import serve
knobs = {"variant": "openapi"} if sys.argv[1] == "prosper" else {}
serve(sys.argv[1], "127.0.0.1", int(sys.argv[2]), calls=int(sys.argv[3]), seed=7, log_requests=False, **knobs)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the simulator did not start listening on port {port}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--provider", choices=PLATFORMS, default="prosper")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, args.provider, str(port), str(args.calls)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(current_rss_mb())
            stop.wait(0.25)

    try:
        wait_for(port, timeout=600)
        config = simulated_provider_config(
            args.provider,
            base_url=f"http://127.0.0.1:{port}",
            max_concurrency=args.concurrency,
            timeout_seconds=120,
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "calls.db"
            store = IndexStore.open(path)
            source = sync_source(config)
            baseline = current_rss_mb()
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()

            async def sync() -> tuple[SyncResult, IndexStats]:
                try:
                    return await run_sync(store, [source]), await store.stats()
                finally:
                    await source.provider.aclose()

            try:
                result, stats = anyio.run(sync)
            finally:
                stop.set()
                sampler.join()
            elapsed = time.perf_counter() - started
            store.db.checkpoint()
            store.close()
            size = file_bytes(path)
    finally:
        server.terminate()
        server.wait(timeout=30)

    indexed = sum(stats.calls.values())
    peak = max(peak_rss_mb(), *samples)
    print(
        f"synced {indexed:,} {args.provider} calls ({stats.turns:,} turns; {result.listed:,} listed, "
        f"{result.fetched:,} details fetched) in {elapsed:.0f} s"
    )
    print(
        f"RSS: baseline {baseline:.0f} MB, peak {peak:.0f} MB, growth {peak - baseline:.0f} MB "
        f"(target: peak <= 300 MB)"
    )
    print(f"index on disk: {size / 1e6:.0f} MB = {size / max(1, indexed) / 1e3:.2f} MB per 1,000 calls")
    print(f"reproduce: {reproduce()}")


if __name__ == "__main__":
    main()
