"""Shared by the benchmarks: build an index from the simulators' data generator, time things.

Not part of the package and not run in CI. Every script prints the command that reproduces it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from call_logs_mcp.index import CallRecord, IndexStore, rowids
from call_logs_mcp.index.migrations import MIGRATIONS
from call_logs_mcp.models import Call, CallStatus, Turn
from call_logs_mcp.simulators.dataset import SimCall
from call_logs_mcp.simulators.generate import iter_calls

T = TypeVar("T")

ACCOUNT = "bench-account-00"
PROVIDER = "prosper"
SCOPE = {PROVIDER: ACCOUNT}


def reproduce() -> str:
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def to_call(sim: SimCall, provider: str = PROVIDER) -> Call:
    """The domain call a correct adapter would produce for this simulated call."""
    return Call(
        provider=provider,
        call_id=sim.id,
        campaign_id=sim.campaign_id,
        status=CallStatus(sim.status),
        raw_status=sim.status,
        started_at=sim.started_at,
        ended_at=sim.ended_at,
        duration_seconds=float(sim.duration_seconds),
        to_number=sim.to_number,
        from_number=sim.from_number,
        cost=sim.price,
        currency=sim.currency,
        summary=sim.summary,
        transcript=[
            Turn(speaker=t.speaker, text=t.text, offset_seconds=t.offset_seconds) for t in sim.turns()
        ],
        extracted_data=sim.extracted_data,
        qa=({"overall_score": sim.qa_score, "criteria": sim.qa_criteria} if sim.qa_score is not None else {}),
        qa_score=None if sim.qa_score is None else float(sim.qa_score),
        recording_urls=[sim.recording_url] if sim.recording_url else [],
        ended_reason=sim.ended_reason,
    )


def generated_calls(calls: int, seed: int, campaigns: int) -> Iterator[Call]:
    for sim in iter_calls(seed=seed, calls=calls, campaigns=campaigns, long_calls=3):
        yield to_call(sim)


def build_index(
    path: Path, *, calls: int, seed: int, campaigns: int, rebuild: bool = False, account: str = ACCOUNT
) -> IndexStore:
    """Open the index at `path`, building it from the generator unless a build with the same
    parameters is already there (builds of 100,000 calls take minutes)."""
    stamp = path.with_suffix(".json")
    layout = (rowids.CALL_SHIFT, rowids.SEQ_BITS, rowids.LAST_MINUTE, account)
    schema = hashlib.sha256(repr(layout).encode()).hexdigest()[:12]
    steps = [
        hashlib.sha256(repr([s if isinstance(s, str) else s.__qualname__ for s in m]).encode()).hexdigest()[
            :12
        ]
        for m in MIGRATIONS
    ]
    wanted = {"calls": calls, "seed": seed, "campaigns": campaigns, "schema": schema, "migrations": steps}
    if not rebuild and path.exists() and stamp.exists():
        built = json.loads(stamp.read_text())
        done_steps = built.pop("migrations", None)
        same = built == {k: v for k, v in wanted.items() if k != "migrations"}
        if same and isinstance(done_steps, list) and done_steps == steps[: len(done_steps)]:
            # Built with the migrations so far: opening it runs the newer ones, as for a user.
            store = IndexStore.open(path)
            stamp.write_text(json.dumps(wanted))
            return store
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), stamp):
        leftover.unlink(missing_ok=True)
    store = IndexStore.open(path)
    started = time.perf_counter()
    batch: list[CallRecord] = []
    done = 0

    def flush() -> None:
        store.db.write_sync(lambda conn: store.upsert_sync(conn, account, PROVIDER, batch))
        batch.clear()

    for call in generated_calls(calls, seed, campaigns):
        batch.append(CallRecord(call))
        if len(batch) >= 500:
            done += len(batch)
            flush()
            if done % 10_000 == 0:
                print(f"  built {done:,} calls ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    done += len(batch)
    flush()
    store.db.checkpoint()
    print(f"  built {done:,} calls in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    stamp.write_text(json.dumps(wanted))
    return store


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def default_db(name: str) -> Path:
    return Path(os.environ.get("BENCH_DIR", "/tmp/call-logs-bench")) / name


def index_arguments(doc: str | None, *, repeat: int) -> argparse.ArgumentParser:
    """The options of a benchmark over a built index: data size and seed, runs, where the index is."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--campaigns", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true")
    return parser


def open_index(args: argparse.Namespace) -> tuple[IndexStore, Path]:
    """The benchmark index named by `index_arguments` options (built on first use, or --rebuild)
    and its file."""
    path: Path = args.db or default_db(f"search-{args.calls}-{args.seed}.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    store = build_index(
        path, calls=args.calls, seed=args.seed, campaigns=args.campaigns, rebuild=args.rebuild
    )
    return store, path
