"""Start-up benchmark: process start → `initialize` response over stdio.

Measures `python -m call_logs_mcp` against a bare `MCPServer` with one tool, interleaved in the
same run so machine noise hits both alike, and prints the medians and their ratio (target
≤ 1.3×). Not part of CI.

    python bench/startup.py               # 15 rounds, server without platform keys
    python bench/startup.py --rounds 30 --demo --keys
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = """
from mcp.server.mcpserver import MCPServer

server = MCPServer("baseline")


@server.tool()
def ping() -> str:
    \"\"\"Answer pong.\"\"\"
    return "pong"


server.run("stdio")
"""

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "bench-startup", "version": "0"},
    },
}


def time_to_initialize(command: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning `command` to reading its initialize response on stdout."""
    payload = (json.dumps(INITIALIZE) + "\n").encode()
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        pipe = subprocess.PIPE
        proc = subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=errors, env=env)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(payload)
        proc.stdin.flush()
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - start
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    try:
        reply = json.loads(line)
    except ValueError:
        reply = {}
    if reply.get("id") != 1 or "result" not in reply:
        raise SystemExit(f"{' '.join(command)}: no initialize response; stderr:\n{stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--demo", action="store_true", help="measure `--demo` (simulators + generated data)")
    parser.add_argument(
        "--keys", action="store_true", help="configure both platforms with (unused) keys, as a real install"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    baseline_script = workdir / "baseline.py"
    baseline_script.write_text(BASELINE)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env = {k: v for k, v in env.items() if not k.startswith("CALL_LOGS_")}
    env["CALL_LOGS_DB"] = str(workdir / "calls.db")
    if args.keys:
        env["PROSPER_API_KEY"] = "bench-prosper-key"
        env["CALLCAMP_API_KEY"] = "cc_tok_bench"
    ours = [sys.executable, "-m", "call_logs_mcp", *(["--demo"] if args.demo else [])]
    theirs = [sys.executable, str(baseline_script)]

    # One warm-up each: the first run pays for cold .pyc compilation and the page cache.
    time_to_initialize(theirs, env)
    time_to_initialize(ours, env)
    base_times: list[float] = []
    our_times: list[float] = []
    for _ in range(args.rounds):
        base_times.append(time_to_initialize(theirs, env))
        our_times.append(time_to_initialize(ours, env))

    base, our = statistics.median(base_times), statistics.median(our_times)
    label = "call-logs-mcp" + (" --demo" if args.demo else "") + (" (keys set)" if args.keys else "")
    print(f"bare MCPServer, one tool : median {base * 1000:7.1f} ms  (min {min(base_times) * 1000:.1f})")
    print(f"{label:<25}: median {our * 1000:7.1f} ms  (min {min(our_times) * 1000:.1f})")
    print(f"ratio {our / base:.2f}x  (target <= 1.30x), {args.rounds} interleaved rounds")
    flags = " ".join(f for f, on in (("--demo", args.demo), ("--keys", args.keys)) if on)
    print(f"reproduce: python bench/startup.py --rounds {args.rounds} {flags}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
