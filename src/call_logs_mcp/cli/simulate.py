"""`call-logs-mcp simulate PLATFORM`: serve one platform simulator on loopback.

    call-logs-mcp simulate prosper --calls 500 --latency 0.1 --faults error_rate=0.1,rate_429=0.05

Before serving it prints (stdout: this is not the MCP server) the environment that points the
server at it, e.g. `PROSPER_API_KEY=sim-prosper-key PROSPER_BASE_URL=http://127.0.0.1:8101`. The
generated calls end at the current time, like `--demo`'s.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from call_logs_mcp.cli import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from starlette.applications import Starlette


@dataclass(frozen=True)
class Simulation:
    """What `simulate` serves: the platform's app over its generated calls, and where."""

    platform: str
    app: Starlette
    host: str
    port: int | None  # None: the platform's own default port


def simulation_from_args(args: argparse.Namespace, *, now: datetime | None = None) -> Simulation:
    """The simulator `simulate`'s arguments describe, its calls ending just before `now`
    (default: the current time).

    Raises ValueError, with a message meant for the user, for an unknown platform, a non-loopback
    host, a negative `--calls` or `--latency`, or a bad `--faults` spec (naming the accepted keys).
    """
    from call_logs_mcp.providers.simulated import check_loopback, simulated_app, simulated_dataset
    from call_logs_mcp.simulators.faults import parse_faults

    check_loopback(args.platform, args.host)
    if args.calls < 0:
        raise ValueError(f"--calls must be 0 or more, not {args.calls}")
    if args.latency < 0:
        raise ValueError(f"--latency must be 0 or more seconds, not {args.latency}")
    try:
        faults = parse_faults(args.faults or "", latency_seconds=args.latency)
    except ValueError as exc:
        raise ValueError(f"--faults: {exc}") from None
    dataset = simulated_dataset(args.platform, calls=args.calls, end=now or datetime.now(UTC))
    app = simulated_app(args.platform, dataset, faults=faults)
    return Simulation(platform=args.platform, app=app, host=args.host, port=args.port)


def simulate(args: argparse.Namespace) -> int:
    """Serve the simulator until interrupted; returns the exit code (2 for a usage error).

    Raises ConfigurationError when the port cannot be bound (reported by `__main__`).
    """
    from call_logs_mcp.logging_setup import configure_logging
    from call_logs_mcp.providers.simulated import serve_app, simulator_environment

    configure_logging(args.log_level or "INFO")

    def announce(base_url: str) -> None:
        environment = simulator_environment(args.platform, base_url)
        print(" ".join(f"{name}={value}" for name, value in environment.items()), flush=True)

    try:
        simulation = simulation_from_args(args)
        serve_app(simulation.platform, simulation.app, simulation.host, simulation.port, on_ready=announce)
    except ValueError as exc:  # our own messages: unknown simulator, host, counts, faults
        print(f"call-logs-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
