"""`call-logs-mcp export` of 100,000 indexed calls as CSV and as Parquet: calls per second and peak
RSS, each against a baseline measured in the same run: reading the same calls from the index
(one snapshot, in batches, as the export reads them) without building or writing rows.

Every scenario runs in a process of its own, so each peak RSS is that scenario's high-water mark
(ru_maxrss), next to the RSS the process had before it started. Scenarios:

- read: the baseline, the calls only;
- rows: the calls and their rows (redacted as tool output is), nothing written;
- csv, parquet: the whole export into a file (rows of calls, redacted: the defaults);
- csv.no-redact: the same CSV with --no-redact (what redaction costs);
- csv+transcript: CSV with the transcript column (every turn is read and redacted too);
- turns.parquet: Parquet, one row per transcript turn (~1.7 M rows).

Needs the parquet extra (pip install -e '.[parquet]'). Builds the same index as
bench_search.py (BENCH_DIR, default /tmp/call-logs-bench) on first use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import SCOPE, current_rss_mb, index_arguments, open_index, peak_rss_mb, reproduce

from call_logs_mcp.cli.export import ExportRequest, write_export
from call_logs_mcp.index import ExportFilter, IndexStore
from call_logs_mcp.output.export import CallTable
from call_logs_mcp.output.scrub import Scrubber

SCENARIOS = ("read", "rows", "csv", "parquet", "csv.no-redact", "csv+transcript", "turns.parquet")


class Quiet:
    def __call__(self, done: int, total: int | None) -> None:
        pass

    def close(self) -> None:
        pass


def run_scenario(name: str, db: Path, out_dir: Path) -> dict[str, Any]:
    before = current_rss_mb()
    store = IndexStore.open(db)
    started = time.perf_counter()
    calls = rows = 0
    written = 0
    if name in ("read", "rows"):
        with store.export(SCOPE, ExportFilter()) as snapshot:
            table = CallTable(snapshot.fields(), scrub=Scrubber()) if name == "rows" else None
            for exported in snapshot.calls(with_turns=False):
                calls += 1
                if table is not None:
                    table.row(exported)
                    rows += 1
    else:
        fmt = "parquet" if name.endswith("parquet") else "csv"
        path = out_dir / f"export-{name}.{fmt}"
        request = ExportRequest(
            fmt=fmt,
            path=path,
            rows="turns" if name.startswith("turns") else "calls",
            with_transcript=name == "csv+transcript",
            redact=name != "csv.no-redact",
        )
        calls, rows = write_export(store, SCOPE, ExportFilter(), request, progress=Quiet())
        written = path.stat().st_size
        path.unlink()
    seconds = time.perf_counter() - started
    store.close()
    return {
        "scenario": name,
        "calls": calls,
        "rows": rows,
        "seconds": seconds,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "file_bytes": written,
    }


def main() -> None:
    parser = index_arguments(__doc__, repeat=1)
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--child", choices=SCENARIOS, help=argparse_hidden())
    args = parser.parse_args()
    if args.child:
        out_dir = Path(args.db).parent
        print(json.dumps(run_scenario(args.child, Path(args.db), out_dir)))
        return
    store, path = open_index(args)  # builds the index on first use
    store.close()
    results: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        for name in args.only or SCENARIOS:
            child = [sys.executable, __file__, "--child", name, "--db", str(path)]
            done = subprocess.run(child, capture_output=True, text=True, check=True, env=dict(os.environ))
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            print(
                f"  {name:<15} {result['calls']:>7,} calls {result['rows']:>9,} rows  "
                f"{result['seconds']:6.1f} s  peak RSS {result['peak_rss_mb']:5.0f} MB "
                f"(before {result['rss_before_mb']:.0f} MB)"
                + (f"  file {result['file_bytes'] / 1e6:.1f} MB" if result["file_bytes"] else ""),
                file=sys.stderr,
            )
    baseline = [r for r in results if r["scenario"] == "read"]
    print(f"\nExport of {args.calls:,} indexed calls (one provider, {args.campaigns} campaigns):")
    base_rate = max(r["calls"] / r["seconds"] for r in baseline) if baseline else None
    for name in args.only or SCENARIOS:
        runs = [r for r in results if r["scenario"] == name]
        best = min(runs, key=lambda r: r["seconds"])
        rate = best["calls"] / best["seconds"]
        ratio = f"  {rate / base_rate:.2f}× the read baseline" if base_rate and name != "read" else ""
        peak = max(r["peak_rss_mb"] for r in runs)
        print(f"  {name:<15} {rate:8,.0f} calls/s{ratio}; peak RSS {peak:.0f} MB")
    print(f"\nReproduce: {reproduce()}")


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
