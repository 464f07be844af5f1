"""No answer waits long: tool answers over stdio while the start-up sync runs, and how long that
sync takes, against the ideal `calls ÷ (concurrency ÷ latency)`.

    python bench/bench_first_answer.py                    # 2 platforms × 2,000 calls, 100 ms: ~4 min
    python bench/bench_first_answer.py --calls 300        # quick
    python bench/bench_first_answer.py --only answers     # one scenario (answers, idle, cli, floor)

Both platform simulators run as `call-logs-mcp simulate PLATFORM --port 0 --calls N --latency S`
subprocesses (real HTTP on loopback, every response delayed by S); each scenario starts from a
fresh index (`CALL_LOGS_DB` in a new directory). Scenarios:

- answers: `python -m call_logs_mcp` as a subprocess over stdio (JSON-RPC, as a client speaks
  it): initialize, then `search_transcripts` at once (the first answer), then a tool call every
  ~2 s (list_campaigns, summarize_campaign, search_transcripts in turn) until the background sync
  is complete. Each answer's time is from writing the request to reading its response. After the
  sync, the same calls once more: the baseline (an idle server over a full index).
- idle: the same server, initialize and no tool call; the time from spawning it until every
  platform's whole-account sync is complete (read from the index file: `sync_state`).
- cli: `call-logs-mcp sync` against the same simulators, fresh index, spawn to exit.
- floor: the platform adapters alone (no index, no engine), one lister and `concurrency` detail
  workers per platform, platforms side by side: the requests a sync makes, made as fast as the
  adapters and simulators allow on this machine in this run.

The figures are ratios to the ideal bound (per platform, the platforms side by side:
`calls ÷ (concurrency ÷ latency)`, 50 s for 2,000 calls at 4 and 100 ms; target ≤ 1.15) and to
the floor measured in the same run. Answer targets: first ≤ 5 s, every later one ≤ 5 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

import anyio

sys.path.insert(0, str(Path(__file__).parent))

from _common import percentile, reproduce

from call_logs_mcp.index.records import scope_key

PLATFORMS = ("callcamp", "prosper")
WHOLE_ACCOUNT = scope_key(None, None, None)
QUERIES = ("refund", '"call me back"', "appointment", "cancel*")


# -- simulators -----------------------------------------------------------------------------------


class Simulators:
    """`call-logs-mcp simulate` subprocesses, one per platform, on free loopback ports."""

    def __init__(self, calls: int, latency: float, workdir: Path) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env: dict[str, str] = {}
        for name in PLATFORMS:
            log = open(workdir / f"simulate-{name}.log", "wb")  # noqa: SIM115 (closed with the process)
            command = [sys.executable, "-m", "call_logs_mcp", "simulate", name, "--port", "0"]
            command += ["--calls", str(calls), "--latency", str(latency), "--log-level", "WARNING"]
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)
            self.procs.append(proc)
            assert proc.stdout is not None
            line = proc.stdout.readline().decode().strip()  # NAME_API_KEY=… NAME_BASE_URL=…
            if not line:
                raise SystemExit(f"simulate {name} printed nothing; see {log.name}")
            self.env.update(dict(item.split("=", 1) for item in line.split()))

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def server_env(sims: Simulators, db: Path, concurrency: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALL_LOGS_")}
    env = {k: v for k, v in env.items() if not any(k.startswith(p.upper() + "_") for p in PLATFORMS)}
    env.update(sims.env)
    env["CALL_LOGS_DB"] = str(db)
    env["CALL_LOGS_LOG_LEVEL"] = "WARNING"
    for name in PLATFORMS:
        env[f"{name.upper()}_MAX_CONCURRENCY"] = str(concurrency)
    return env


# -- the index file -------------------------------------------------------------------------------


def sync_progress(db: Path) -> tuple[int, bool]:
    """(calls indexed, whether every platform's whole-account sync is complete), read from the
    index file without disturbing the server (a read-only connection per look)."""
    if not db.exists():
        return 0, False
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
        try:
            calls = conn.execute("SELECT count(*) FROM calls").fetchone()[0]
            rows = conn.execute(
                "SELECT s.provider FROM sync_state t JOIN sources s ON s.id = t.source "
                "WHERE t.scope = ? AND t.last_synced_at IS NOT NULL",
                (WHOLE_ACCOUNT,),
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet, or mid-migration
        return 0, False
    return calls, {r[0] for r in rows} >= set(PLATFORMS)


# -- a minimal MCP client over stdio ----------------------------------------------------------------


class StdioClient:
    """JSON-RPC over a server subprocess's stdin/stdout; a reader thread files each response by
    id with the time it was read. Notifications are counted and otherwise ignored."""

    def __init__(self, command: list[str], env: dict[str, str], stderr: IO[bytes]) -> None:
        self.spawned = time.perf_counter()
        pipe = subprocess.PIPE
        self.proc = subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=stderr, env=env)
        self.replies: dict[int, queue.Queue[tuple[float, dict[str, Any]]]] = {}
        self.notifications = 0
        self.next_id = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            at = time.perf_counter()
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "id" in message and ("result" in message or "error" in message):
                with self.lock:
                    box = self.replies.get(message["id"])
                if box is not None:
                    box.put((at, message))
            else:
                self.notifications += 1

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def request(
        self, method: str, params: dict[str, Any], timeout: float = 120.0
    ) -> tuple[float, dict[str, Any]]:
        """(seconds from writing the request to reading its response, the response)."""
        with self.lock:
            self.next_id += 1
            ident = self.next_id
            box = self.replies[ident] = queue.Queue()
        started = time.perf_counter()
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        try:
            at, reply = box.get(timeout=timeout)
        except queue.Empty:
            raise SystemExit(f"no answer to {method} within {timeout:g} s") from None
        if "error" in reply:
            raise SystemExit(f"{method}: {reply['error']}")
        return at - started, reply["result"]

    def initialize(self) -> float:
        elapsed, _ = self.request(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench-first-answer", "version": "0"},
            },
        )
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return elapsed

    def tool(self, name: str, arguments: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        return self.request("tools/call", {"name": name, "arguments": arguments})

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def server_command() -> list[str]:
    return [sys.executable, "-m", "call_logs_mcp"]


def text_of(result: dict[str, Any]) -> str:
    return " ".join(str(c.get("text", "")) for c in result.get("content", []))


def coverage_note(text: str) -> str:
    found = re.findall(r"[\d,]+ of [\d,]+ calls indexed[^;.)\n]*", text)
    return found[0] if found else ""


def campaign_ids(result: dict[str, Any]) -> dict[str, str]:
    """platform -> one campaign id from a list_campaigns answer (its structured content)."""
    out: dict[str, str] = {}
    structured = result.get("structuredContent") or {}
    for campaign in structured.get("campaigns", []):
        provider, ident = campaign.get("provider"), campaign.get("campaign_id")
        if provider and ident and provider not in out:
            out[provider] = ident
    return out


# -- scenarios ------------------------------------------------------------------------------------


class Rotation:
    """The later calls, in turn: list_campaigns, summarize_campaign (one campaign per platform,
    taken from the last list_campaigns answer), search_transcripts."""

    def __init__(self) -> None:
        self.step = 0
        self.campaigns: dict[str, str] = {}

    def next_call(self) -> tuple[str, dict[str, Any]]:
        kinds = ["list_campaigns", "summarize_campaign", "search_transcripts"]
        kind = kinds[self.step % 3]
        query = QUERIES[(self.step // 3) % len(QUERIES)]
        self.step += 1
        if kind == "summarize_campaign" and self.campaigns:
            provider = PLATFORMS[(self.step // 3) % len(PLATFORMS)]
            provider = provider if provider in self.campaigns else next(iter(self.campaigns))
            return kind, {"campaign_id": self.campaigns[provider], "provider": provider}
        if kind == "list_campaigns":
            return kind, {}
        return "search_transcripts", {"query": query}

    def answered(self, name: str, result: dict[str, Any]) -> None:
        if name == "list_campaigns":
            self.campaigns.update(campaign_ids(result))


def answers_scenario(sims: Simulators, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    db = workdir / "answers" / "calls.db"
    db.parent.mkdir()
    with open(workdir / "answers-server.log", "wb") as errors:
        client = StdioClient(server_command(), server_env(sims, db, args.concurrency), errors)
        try:
            init = client.initialize()
            first, result = client.tool("search_transcripts", {"query": QUERIES[0]})
            first_from_spawn = time.perf_counter() - client.spawned
            print(
                f"  first answer {first:.2f} s ({first_from_spawn:.2f} s after spawn): "
                f"{coverage_note(text_of(result)) or text_of(result)[:120]!r}",
                file=sys.stderr,
            )
            rotation = Rotation()
            later: list[tuple[str, float, int]] = []
            sync_done_at: float | None = None
            issued = time.perf_counter()
            while True:
                calls, done = sync_progress(db)
                if done:
                    sync_done_at = time.perf_counter()
                    break
                time.sleep(max(0.0, issued + args.every - time.perf_counter()))
                name, arguments = rotation.next_call()
                issued = time.perf_counter()
                elapsed, result = client.tool(name, arguments)
                rotation.answered(name, result)
                later.append((name, elapsed, calls))
                note = coverage_note(text_of(result))
                print(f"  {name:<19} {elapsed:5.2f} s  ({calls:,} in the index file) {note}", file=sys.stderr)
                if len(later) > 2_000:
                    raise SystemExit("the sync never completed")
            sync_seconds = sync_done_at - client.spawned
            # The baseline: the same calls once the index is full and no sync runs.
            idle: list[float] = []
            for _ in range(2 * 3):
                name, arguments = rotation.next_call()
                elapsed, result = client.tool(name, arguments)
                rotation.answered(name, result)
                idle.append(elapsed)
        finally:
            client.close()
    return {
        "initialize": init,
        "first": first,
        "first_from_spawn": first_from_spawn,
        "later": later,
        "idle": idle,
        "sync_seconds": sync_seconds,
        "notifications": client.notifications,
    }


def idle_scenario(sims: Simulators, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    db = workdir / "idle" / "calls.db"
    db.parent.mkdir()
    with open(workdir / "idle-server.log", "wb") as errors:
        client = StdioClient(server_command(), server_env(sims, db, args.concurrency), errors)
        try:
            init = client.initialize()
            first_row: float | None = None
            while True:
                calls, done = sync_progress(db)
                now = time.perf_counter()
                if calls and first_row is None:
                    first_row = now
                if done:
                    break
                if now - client.spawned > 20 * args.bound:
                    raise SystemExit("the start-up sync never completed")
                time.sleep(0.1)
            seconds = now - client.spawned
        finally:
            client.close()
    return {
        "initialize": init,
        "seconds": seconds,
        "first_row": (first_row or now) - client.spawned,
        "calls": calls,
    }


def cli_scenario(sims: Simulators, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    db = workdir / "cli" / "calls.db"
    db.parent.mkdir()
    started = time.perf_counter()
    done = subprocess.run(
        [*server_command(), "sync"],
        env=server_env(sims, db, args.concurrency),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"call-logs-mcp sync failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    line = done.stdout.strip().splitlines()[-1]
    inner = re.search(r"in ([\d.]+) s\.", line)
    return {
        "seconds": seconds,
        "engine_seconds": float(inner.group(1)) if inner else float("nan"),
        "line": line,
    }


async def floor_sync(sims: Simulators, concurrency: int) -> dict[str, Any]:
    """The platforms' requests made by the adapters alone: a lister and `concurrency` detail
    workers per platform (sharing the adapter's `concurrency` connection slots), side by side."""
    from call_logs_mcp.models import CallQuery
    from call_logs_mcp.providers import create_provider
    from call_logs_mcp.providers.config import provider_configs_from_env

    configs = provider_configs_from_env(
        {**sims.env, **{f"{p.upper()}_MAX_CONCURRENCY": str(concurrency) for p in PLATFORMS}}
    )
    counts: dict[str, int] = {}

    async def one(name: str) -> None:
        provider = create_provider(configs[name])
        send, receive = anyio.create_memory_object_stream[str](1_000)
        fetched = 0

        async def lister() -> None:
            cursor: str | None = None
            async with send:
                while True:
                    page = await provider.list_calls(
                        CallQuery(), limit=provider.info.max_page_size, cursor=cursor
                    )
                    for call in page.calls:
                        await send.send(call.call_id)
                    cursor = page.next_cursor
                    if cursor is None:
                        return

        async def worker(inbox: Any) -> None:
            nonlocal fetched
            async with inbox:
                async for call_id in inbox:
                    await provider.get_call(call_id)
                    fetched += 1

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(lister)
                for _ in range(concurrency):
                    group.start_soon(worker, receive.clone())
                receive.close()
        finally:
            await provider.aclose()
        counts[name] = fetched

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for name in PLATFORMS:
            group.start_soon(one, name)
    return {"seconds": time.perf_counter() - started, "fetched": counts}


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2_000, help="calls per platform")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per simulated response")
    parser.add_argument("--concurrency", type=int, default=4, help="{PLATFORM}_MAX_CONCURRENCY")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between later tool calls")
    parser.add_argument("--only", choices=["answers", "idle", "cli", "floor"], action="append")
    args = parser.parse_args()
    args.bound = args.calls / (args.concurrency / args.latency)
    wanted = args.only or ["floor", "idle", "cli", "answers"]
    run_started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="bench-first-answer-"))
    print(f"work dir {workdir}; ideal bound {args.bound:.1f} s per platform (side by side)", file=sys.stderr)
    sims = Simulators(args.calls, args.latency, workdir)
    results: dict[str, dict[str, Any]] = {}
    try:
        for name in wanted:
            print(f"{name}:", file=sys.stderr)
            started = time.perf_counter()
            if name == "floor":
                results[name] = anyio.run(floor_sync, sims, args.concurrency)
            elif name == "idle":
                results[name] = idle_scenario(sims, workdir, args)
            elif name == "cli":
                results[name] = cli_scenario(sims, workdir, args)
            else:
                results[name] = answers_scenario(sims, workdir, args)
            print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    finally:
        sims.close()

    bound = args.bound
    floor = results.get("floor", {}).get("seconds")

    def versus(seconds: float) -> str:
        text = f"{seconds / bound:.2f}x the ideal {bound:.0f} s (target <= 1.15)"
        if floor:
            text += f", {seconds / floor:.2f}x the adapters-alone floor"
        return text

    print(
        f"2 platforms x {args.calls:,} calls, {args.latency * 1000:g} ms latency, "
        f"concurrency {args.concurrency}; ideal per platform {args.calls:,} / ({args.concurrency} / "
        f"{args.latency:g}) = {bound:.1f} s"
    )
    if floor:
        f = results["floor"]
        print(
            f"floor (adapters alone, no index): {f['seconds']:.1f} s = {f['seconds'] / bound:.2f}x the ideal"
        )
    if "idle" in results:
        r = results["idle"]
        print(
            f"start-up sync, no tool calls: {r['seconds']:.1f} s from spawn = {versus(r['seconds'])}; "
            f"initialize answered in {r['initialize']:.2f} s, first call indexed at {r['first_row']:.1f} s"
        )
    if "cli" in results:
        r = results["cli"]
        engine = r["engine_seconds"]
        print(
            f"call-logs-mcp sync (CLI): {r['seconds']:.1f} s from spawn = {versus(r['seconds'])} "
            f"(its own timing {engine:.1f} s = {engine / bound:.2f}x)"
        )
    if "answers" in results:
        r = results["answers"]
        times = [t for _, t, _ in r["later"]]
        worst = max(r["later"], key=lambda x: x[1])[0] if r["later"] else "-"
        idle = r["idle"]
        first, spawn = r["first"], r["first_from_spawn"]
        print(f"first answer (search_transcripts): {first:.2f} s ({spawn:.2f} s after spawn; target <= 5 s)")
        print(
            f"later answers, one every ~{args.every:g} s while the sync runs ({len(times)}): "
            f"max {max(times, default=math.nan):.2f} s ({worst}), p95 {percentile(times, 0.95):.2f} s, "
            f"p50 {percentile(times, 0.5):.2f} s (target <= 5 s); baseline, the same calls after the "
            f"sync: max {max(idle):.2f} s, p50 {percentile(idle, 0.5):.2f} s"
        )
        sync = r["sync_seconds"]
        print(f"start-up sync with those calls made: {sync:.1f} s from spawn = {versus(sync)}")
    print(f"wall time {time.perf_counter() - run_started:.0f} s")
    print(f"reproduce: {reproduce()}")


if __name__ == "__main__":
    main()
