"""One client attacks the HTTP server; another keeps working (issue 11).

The server runs as `call-logs-mcp --demo --transport http` in its own process with a soft limit of
1,024 file descriptors. The victim (source address 127.0.0.1) makes the same tool calls twice:
once with no attack (the baseline), then while the attacker (127.0.0.2) holds 1,100 idle
sockets (re-opening any the server closes), keeps 300 request bodies trickling one byte at a
time, and floods `initialize` from 8 concurrent connections. Reported: the victim's p50/p95/max
per phase, the ratio attack ÷ baseline, how the attacker's requests were answered, and the
server's peak RSS in each phase (sampled from /proc every 50 ms).

Targets (issue 11): p95 ≤ 1 s and RSS ≤ 300 MB under attack.

    python bench/bench_http_attack.py                    # ~1 min
    python bench/bench_http_attack.py --calls 40 --idle 1100 --slow 300 --flooders 8
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import percentile, reproduce

ATTACKER, VICTIM = "127.0.0.2", "127.0.0.1"
SERVER_FD_LIMIT = 1024
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "x", "version": "0"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CALL_LOGS_") and not k.endswith("_API_KEY")
    }
    log = workdir / "server.log"

    def limit_fds() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (SERVER_FD_LIMIT, SERVER_FD_LIMIT))

    command = [sys.executable, "-m", "call_logs_mcp", "--demo", "--transport", "http", "--port", "0"]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"), preexec_fn=limit_fds
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"http://127\.0\.0\.1:\d+/mcp", log.read_text(errors="replace"))
        if found:
            return proc, found.group(0), log
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the server did not start:\n{log.read_text()[-2000:]}")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def sample_rss(pid: int, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


async def victim(url: str, calls: int) -> list[float]:
    """`calls` tool calls, one after the other, each timed from send to answer."""
    transport = httpx2.AsyncHTTPTransport(local_address=VICTIM)
    latencies: list[float] = []
    plan = [
        ("list_calls", {"limit": 20}),
        ("search_transcripts", {"query": "refund"}),
        ("list_campaigns", {}),
    ]
    async with (
        httpx2.AsyncClient(transport=transport, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        listed = await client.call_tool("list_calls", {"limit": 5})
        first = (listed.structured_content or {}).get("calls", [{}])[0]
        plan.append(("get_call", {"call_id": first.get("call_id", "1"), "provider": first.get("provider")}))
        for i in range(calls):
            name, args = plan[i % len(plan)]
            started = time.perf_counter()
            result = await client.call_tool(name, args)
            latencies.append(time.perf_counter() - started)
            if result.is_error:
                print(f"  victim: {name} answered with an error", file=sys.stderr)
    return latencies


def attacker_socket(host: str, port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.bind((ATTACKER, 0))
        sock.connect_ex((host, port))
    except OSError:
        sock.close()
        return None
    return sock


async def hold_idle(
    host: str, port: int, count: int, stop: asyncio.Event, stats: collections.Counter[str]
) -> None:
    """Keep `count` idle connections open, re-opening those the server closes."""
    held = [s for s in (attacker_socket(host, port) for _ in range(count)) if s is not None]
    stats["idle opened"] += len(held)
    while not stop.is_set():
        await asyncio.sleep(1.0)
        for i, sock in enumerate(held):
            try:
                data = sock.recv(1)
                closed = data == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            if closed:
                sock.close()
                stats["idle closed by server"] += 1
                fresh = attacker_socket(host, port)
                if fresh is not None:
                    held[i] = fresh
                    stats["idle opened"] += 1
    for sock in held:
        sock.close()


async def slow_body(host: str, port: int, stop: asyncio.Event, stats: collections.Counter[str]) -> None:
    """A request whose 100 kB body arrives one byte per second; re-sent when the server drops it."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=(ATTACKER, 0))
        except OSError:
            stats["slow connect failed"] += 1
            await asyncio.sleep(1.0)
            continue
        stats["slow bodies started"] += 1
        try:
            writer.write(
                f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                "Accept: application/json, text/event-stream\r\nContent-Length: 100000\r\n\r\n".encode()
            )
            while not stop.is_set():
                writer.write(b" ")
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    if await asyncio.wait_for(reader.read(1), 1.0) == b"":
                        stats["slow bodies dropped by server"] += 1
                        break
        except OSError:
            stats["slow bodies dropped by server"] += 1
        finally:
            writer.close()
        await asyncio.sleep(1.0)  # then try again, as a patient attacker would


async def flood(url: str, stop: asyncio.Event, stats: collections.Counter[str]) -> None:
    transport = httpx2.AsyncHTTPTransport(local_address=ATTACKER)
    async with httpx2.AsyncClient(transport=transport, timeout=10) as http:
        while not stop.is_set():
            try:
                response = await http.post(url, json=INITIALIZE, headers=HEADERS)
                stats[f"initialize → {response.status_code}"] += 1
            except httpx2.HTTPError:
                stats["initialize → connection refused or closed"] += 1
                await asyncio.sleep(0.05)


async def run(args: argparse.Namespace) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the attacker needs > 1,100 sockets
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        proc, url, log = start_server(Path(tmp))
        host, port = url.split("/")[2].rsplit(":", 1)
        try:
            await asyncio.sleep(args.warmup)  # the demo's start-up sync
            await victim(url, 8)  # warm: every scope synced once, caches filled
            stop_rss = asyncio.Event()
            base_peak = [0.0]
            sampler = asyncio.create_task(sample_rss(proc.pid, base_peak, stop_rss))
            baseline = await victim(url, args.calls)
            stop_rss.set()
            await sampler

            stats: collections.Counter[str] = collections.Counter()
            stop = asyncio.Event()
            attack_peak = [0.0]
            stop_attack_rss = asyncio.Event()
            tasks = [asyncio.create_task(sample_rss(proc.pid, attack_peak, stop_attack_rss))]
            tasks.append(asyncio.create_task(hold_idle(host, int(port), args.idle, stop, stats)))
            tasks += [asyncio.create_task(slow_body(host, int(port), stop, stats)) for _ in range(args.slow)]
            tasks += [asyncio.create_task(flood(url, stop, stats)) for _ in range(args.flooders)]
            await asyncio.sleep(args.ramp)
            attacked = await victim(url, args.calls)
            stop.set()
            stop_attack_rss.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            alive = proc.poll() is None
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
        log_bytes = log.stat().st_size
        if args.keep_log:
            await asyncio.to_thread(Path(args.keep_log).write_bytes, log.read_bytes())
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def line(name: str, values: list[float], peak: float) -> str:
        p50, p95 = percentile(values, 0.5) * 1000, percentile(values, 0.95) * 1000
        return (
            f"{name:<9} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {max(values) * 1000:7.1f} ms"
            f"  server peak RSS {peak:6.1f} MB"
        )

    tools = "list_calls, search_transcripts, list_campaigns, get_call"
    print(f"victim: {args.calls} tool calls per phase ({tools})")
    print(line("baseline", baseline, base_peak[0]))
    print(line("attack", attacked, attack_peak[0]))
    p50_ratio = percentile(attacked, 0.5) / percentile(baseline, 0.5)
    p95_ratio = percentile(attacked, 0.95) / percentile(baseline, 0.95)
    print(f"ratio attack ÷ baseline: p50 {p50_ratio:.2f}×, p95 {p95_ratio:.2f}×")
    print(
        f"attacker ({args.idle} idle sockets, {args.slow} slow bodies, {args.flooders} initialize flooders): "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.items()))
    )
    print(f"server alive after the attack: {alive}; its log: {log_bytes:,} bytes")
    p95_ok = percentile(attacked, 0.95) <= 1.0
    rss_ok = attack_peak[0] <= 300
    print(f"targets: p95 ≤ 1 s {'met' if p95_ok else 'MISSED'}; RSS ≤ 300 MB {'met' if rss_ok else 'MISSED'}")
    print(f"reproduce: {reproduce()}")
    return 0 if (p95_ok and rss_ok and alive) else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=40, help="victim tool calls per phase (default 40)")
    parser.add_argument(
        "--idle", type=int, default=1_100, help="idle sockets the attacker holds (default 1100)"
    )
    parser.add_argument("--slow", type=int, default=300, help="slow request bodies (default 300)")
    parser.add_argument("--flooders", type=int, default=8, help="concurrent initialize flooders (default 8)")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds for the demo's start-up sync")
    parser.add_argument("--keep-log", metavar="PATH", help="copy the server's log here")
    parser.add_argument("--ramp", type=float, default=3.0, help="seconds of attack before the victim starts")
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
