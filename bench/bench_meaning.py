"""Search by meaning and calls by outcome, end to end over stdio, at two index sizes.

    python bench/bench_meaning.py                     # 30,000 and 300,000 calls (the big build takes long)
    python bench/bench_meaning.py --sizes 3000 30000  # quick

For each size, an index is built once from the simulators' generator (reused afterwards), its
account marked as synced just now, and `call-logs-mcp` started on it over stdio (Prosper
configured, its platform never asked: the scope is fresh). Each query of three kinds runs
--repeat times as an MCP tool call from a real client:

- keyword: `search_transcripts` with words, a phrase, a prefix and filters;
- sentence: `search_transcripts` with questions as people type them;
- outcome: `find_calls` with status, dates, duration and extracted-field conditions.

Before timing, each tool answers one request that is not measured (the client's one-time
output-schema compile). The baseline is the same request answered in-process by the index
(`IndexStore.search` / `find_calls`), in the same run. Also printed: the whole-account campaign
summary in-process (`IndexStore.campaign_summary`; no tool asks for a whole account:
summarize_campaign takes a campaign), and the index size per 1,000 calls. Targets (issue: search
and outcomes): at 300k, keyword p95 <= 50 ms, sentence p95 <= 100 ms, outcome p95 <= 100 ms,
whole-account summary <= 150 ms; each p95 at 300k <= 2x its p95 at 30k.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).parent))

from _common import PROVIDER, build_index, default_db, file_bytes, percentile, reproduce

from call_logs_mcp.core.outcomes import parse_predicate
from call_logs_mcp.index import IndexStore
from call_logs_mcp.index.outcomes import OutcomeRequest
from call_logs_mcp.index.records import scope_key, ts
from call_logs_mcp.models import CallStatus
from call_logs_mcp.providers.config import ProviderConfig, account_id

KEY = "bench-meaning-key"
BASE_URL = "http://127.0.0.1:9"  # never asked: the scope is fresh

KEYWORD = [
    {"query": "refund"},
    {"query": "insurance"},
    {"query": '"late fee"'},
    {"query": "resched*"},
    {"query": "refund", "status": "completed"},
    {"query": "appointment", "speaker": "customer"},
]
SENTENCE = [
    {"query": "customer asked for a refund"},
    {"query": "calls where someone wanted a call back"},
    {"query": "which customers were angry about the late fee"},
    {"query": "the caller asked to reschedule the appointment"},
]


def outcome_queries(newest: datetime) -> list[dict[str, Any]]:
    week = {
        "from_date": (newest - timedelta(days=7)).date().isoformat(),
        "to_date": newest.date().isoformat(),
    }
    return [
        {"where": ["appointment_scheduled=true"], **week},
        {"where": ["refund_amount>100", "resolution=approved"]},
        {"where": ["callback_requested"]},
        {"status": "completed", "min_duration_seconds": 120, "max_duration_seconds": 300},
        {"min_qa_score": 90},
    ]


def mark_synced(store: IndexStore, account: str) -> None:
    now = ts(datetime.now(UTC))

    def write(conn: Any) -> None:
        (source,) = conn.execute(
            "SELECT id FROM sources WHERE account = ? AND provider = ?", (account, PROVIDER)
        ).fetchone()
        # A whole-account sync of a platform whose records name their campaign: every campaign
        # scope is as fresh as the account.
        conn.execute(
            "INSERT OR REPLACE INTO sync_state (source, scope, watermark, last_synced_at, last_attempt_at, "
            "names_campaigns) VALUES (?, ?, ?, ?, ?, 1)",
            (source, scope_key(None, None, None), now, now, now),
        )

    store.db.write_sync(write)


def request_of(account: str, arguments: dict[str, Any]) -> OutcomeRequest:
    def date(key: str, end: bool) -> datetime | None:
        if key not in arguments:
            return None
        day = datetime.fromisoformat(arguments[key]).replace(tzinfo=UTC)
        return day + timedelta(days=1) - timedelta(microseconds=1) if end else day

    return OutcomeRequest(
        scope={PROVIDER: account},
        provider=PROVIDER,
        campaign_id=None,
        status=CallStatus(arguments["status"]) if "status" in arguments else None,
        from_date=date("from_date", False),
        to_date=date("to_date", True),
        min_duration=arguments.get("min_duration_seconds"),
        max_duration=arguments.get("max_duration_seconds"),
        min_qa_score=arguments.get("min_qa_score"),
        max_qa_score=None,
        ended_reason=None,
        fields=[parse_predicate(w) for w in arguments.get("where", [])],
        limit=20,
        cursor=None,
    )


async def measure(size: int, args: argparse.Namespace) -> dict[str, Any]:
    from mcp import StdioServerParameters
    from mcp.client.session import ClientSession
    from mcp.client.stdio import stdio_client

    account = account_id(ProviderConfig(name=PROVIDER, api_key=SecretStr(KEY), base_url=BASE_URL))
    path = default_db(f"meaning-{size}-{args.seed}.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    store = build_index(path, calls=size, seed=args.seed, campaigns=args.campaigns, account=account)
    mark_synced(store, account)
    newest = datetime.fromisoformat(
        store.db.read_sync(lambda c: c.execute("SELECT max(started_at) FROM calls").fetchone()[0])
    )
    outcome = outcome_queries(newest)
    scope = {PROVIDER: account}
    figures: dict[str, Any] = {"size": size, "mb_per_1000": file_bytes(path) / size * 1000 / 1e6}

    # In-process baseline: the index alone.
    base: dict[str, list[float]] = {"keyword": [], "sentence": [], "outcome": []}
    for _ in range(args.repeat):
        for kind, queries in (("keyword", KEYWORD), ("sentence", SENTENCE)):
            for q in queries:
                started = time.perf_counter()
                filters = {k: v for k, v in q.items() if k != "query"}
                if "status" in filters:
                    filters["status"] = CallStatus(filters["status"])
                await store.search(scope, q["query"], provider=PROVIDER, limit=20, **filters)
                base[kind].append(time.perf_counter() - started)
        for q in outcome:
            started = time.perf_counter()
            await store.find_calls(request_of(account, q))
            base["outcome"].append(time.perf_counter() - started)
    summary = []
    for _ in range(max(3, args.repeat // 4)):
        started = time.perf_counter()
        await store.campaign_summary(scope, PROVIDER, None)
        summary.append(time.perf_counter() - started)
    store.close()

    env = {
        **os.environ,
        "PROSPER_API_KEY": KEY,
        "PROSPER_BASE_URL": BASE_URL,
        "CALL_LOGS_DB": str(path),
        "CALL_LOGS_FRESHNESS_SECONDS": "100000000",
        "CALL_LOGS_LOG_LEVEL": "WARNING",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "call_logs_mcp"], env=env)
    wire: dict[str, list[float]] = {"keyword": [], "sentence": [], "outcome": []}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        # One unmeasured call of each tool, with a request not measured below: the client
        # compiles a tool's output schema on its first result (about 45 ms in the Python SDK's
        # jsonschema, once per tool and session), which is not the server's time.
        await session.call_tool("search_transcripts", {"query": "warmup"})
        await session.call_tool("find_calls", {"status": "failed", "limit": 1})
        for _ in range(args.repeat):
            for kind, queries, tool in (
                ("keyword", KEYWORD, "search_transcripts"),
                ("sentence", SENTENCE, "search_transcripts"),
                ("outcome", outcome, "find_calls"),
            ):
                for q in queries:
                    started = time.perf_counter()
                    result = await session.call_tool(tool, q)
                    wire[kind].append(time.perf_counter() - started)
                    if result.is_error:
                        raise SystemExit(f"{tool} {q} failed: {result.content}")
    for kind in wire:
        figures[kind] = (percentile(wire[kind], 0.95) * 1000, percentile(base[kind], 0.95) * 1000)
    figures["summary"] = percentile(summary, 0.95) * 1000
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[30_000, 300_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--campaigns", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    results = [anyio.run(measure, size, args) for size in args.sizes]
    head = "| calls | keyword p95 (stdio / in-process) | sentence p95 | outcome p95 "
    print(head + "| whole-account summary p95 | index MB per 1,000 calls |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        cells = [f"{r[k][0]:.1f} / {r[k][1]:.1f} ms" for k in ("keyword", "sentence", "outcome")]
        print(
            f"| {r['size']:,} | " + " | ".join(cells) + f" | {r['summary']:.0f} ms | {r['mb_per_1000']:.2f} |"
        )
    if len(results) > 1:
        small, big = results[0], results[-1]
        growth = ", ".join(f"{k} {big[k][0] / small[k][0]:.2f}x" for k in ("keyword", "sentence", "outcome"))
        summary = big["summary"] / small["summary"]
        print(f"p95 at {big['size']:,} / p95 at {small['size']:,} (stdio): {growth}; summary {summary:.2f}x")
    print(f"reproduce: {reproduce()}")


if __name__ == "__main__":
    main()
