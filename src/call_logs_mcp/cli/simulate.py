"""`call-logs-mcp simulate PLATFORM`: serve one platform simulator on loopback."""

from __future__ import annotations

import argparse
import sys

from call_logs_mcp.cli import EXIT_OK, EXIT_USAGE


def simulate(args: argparse.Namespace) -> int:
    from call_logs_mcp.logging_setup import configure_logging
    from call_logs_mcp.providers.simulated import serve

    configure_logging(args.log_level or "INFO")
    try:
        serve(args.platform, host=args.host, port=args.port)
    except ValueError as exc:  # unknown simulator or a non-loopback host: the message is ours
        print(f"call-logs-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
