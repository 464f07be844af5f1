"""The `call-logs-mcp` command: argument parsing and dispatch to `call_logs_mcp.cli`.

    call-logs-mcp [serve] [--transport stdio|http] [--host H] [--port N] [--demo] [--log-level L]
    call-logs-mcp check [--demo]
    call-logs-mcp sync [--provider P] [--campaign C] [--since YYYY-MM-DD] [--until YYYY-MM-DD]
    call-logs-mcp export [scope as sync] [--status S] [--format csv|jsonl|parquet] [--output PATH]
                         [--rows calls|turns] [--with-transcript] [--with-recordings] [--no-redact]
                         [--no-sync]
    call-logs-mcp purge [--older-than DAYS]
    call-logs-mcp simulate PLATFORM [--port N] [--calls N] [--latency SECONDS] [--faults SPEC]

Start-up time matters (a client launches the server for each session and waits for its
`initialize` answer), so this module imports only argparse at the top and everything else
inside the command that needs it. Settings are built once, here. Nothing is printed to stdout in
serve mode: in stdio mode stdout is the wire (`export --output -` writes its file there). Exit
codes: 0 success, 1 a check/sync/export failed, 2 a usage or configuration error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from call_logs_mcp.cli import Transports


def _add_common(parser: argparse.ArgumentParser, *, root: bool) -> None:
    # Options accepted before and after the subcommand; the subcommand's copy must not reset
    # what was given before it, hence SUPPRESS there.
    default: Any = None if root else argparse.SUPPRESS
    parser.add_argument(
        "--log-level",
        default=default,
        metavar="LEVEL",
        help="DEBUG, INFO (default), WARNING or ERROR; logs go to stderr (env CALL_LOGS_LOG_LEVEL)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=False if root else argparse.SUPPRESS,
        help="use the platform simulators with generated data and a temporary index (env CALL_LOGS_DEMO=1)",
    )


def _add_serve(parser: argparse.ArgumentParser, *, root: bool) -> None:
    def default(value: object) -> Any:
        return value if root else argparse.SUPPRESS

    parser.add_argument("--transport", choices=("stdio", "http"), default=default("stdio"))
    parser.add_argument("--host", default=default("127.0.0.1"), help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default(8000), help="HTTP port (default 8000; 0 = any)")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=default([]),
        metavar="HOST[:PORT]",
        help="extra Host header value to accept over HTTP (repeatable)",
    )
    parser.add_argument(
        "--allowed-origin",
        action="append",
        default=default([]),
        metavar="ORIGIN",
        help="browser Origin to accept over HTTP, e.g. https://tools.example.com (repeatable)",
    )


def _add_scope(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", help="only this platform")
    parser.add_argument("--campaign", help="only this campaign: its id, or its name in the campaigns file")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="only calls started on or after this date")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="only calls started on or before this date")


def build_parser() -> argparse.ArgumentParser:
    from call_logs_mcp import __version__
    from call_logs_mcp.providers import PLATFORMS, platform

    shown = ", ".join(platform(name).info.display_name for name in PLATFORMS)
    parser = argparse.ArgumentParser(
        prog="call-logs-mcp",
        description=f"MCP server for the call logs of AI voice-calling platforms ({shown}).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_common(parser, root=True)
    _add_serve(parser, root=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the MCP server (the default)")
    _add_common(serve, root=False)
    _add_serve(serve, root=False)

    check = sub.add_parser("check", help="probe each configured platform: key, reachability, first page")
    _add_common(check, root=False)

    sync = sub.add_parser("sync", help="fill or refresh the local index from the platforms")
    _add_common(sync, root=False)
    _add_scope(sync)

    export = sub.add_parser(
        "export",
        help="write indexed calls to a CSV, JSON Lines or Parquet file (syncing them first)",
        description="Write the calls of a scope (synced first, unless --no-sync) to a file: one row "
        "per call, or per transcript turn. Redacted as tool output is, unless --no-redact.",
    )
    _add_common(export, root=False)
    _add_scope(export)
    export.add_argument("--status", help="only calls in this status (completed, failed, no_answer, ...)")
    export.add_argument(
        "--format",
        choices=("csv", "jsonl", "parquet"),
        help="default: from the --output file's extension, else csv (parquet needs the parquet extra)",
    )
    export.add_argument(
        "--output", "-o", default="-", metavar="PATH", help="the file to write (default -: stdout)"
    )
    export.add_argument(
        "--rows",
        choices=("calls", "turns"),
        default="calls",
        help="one row per call (default) or per transcript turn",
    )
    export.add_argument(
        "--with-transcript", action="store_true", help="rows of calls: add the transcript as one column"
    )
    export.add_argument("--with-recordings", action="store_true", help="rows of calls: add recording URLs")
    export.add_argument(
        "--no-redact",
        dest="redact",
        action="store_false",
        help="write phone numbers, e-mails, card numbers and names as the platforms returned them",
    )
    export.add_argument(
        "--no-sync", dest="sync", action="store_false", help="export what the index holds, without syncing"
    )

    purge = sub.add_parser("purge", help="delete indexed calls (all, or older than N days)")
    _add_common(purge, root=False)
    purge.add_argument("--older-than", type=int, metavar="DAYS", help="only calls older than DAYS days")

    simulate = sub.add_parser("simulate", help="serve a platform simulator over HTTP for experiments")
    simulate.add_argument("platform", choices=PLATFORMS)
    simulate.add_argument("--host", default="127.0.0.1")
    ports = ", ".join(f"{name} {platform(name).sim.port}" for name in PLATFORMS)
    simulate.add_argument(
        "--port", type=int, default=None, help=f"default: the platform's own ({ports}); 0 = any free port"
    )
    simulate.add_argument(
        "--calls", type=int, default=2_000, metavar="N", help="generated calls, ending now (default 2000)"
    )
    simulate.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="delay of each response (default 0)",
    )
    simulate.add_argument(
        "--faults",
        metavar="SPEC",
        help="injected trouble, e.g. error_rate=0.1,rate_429=0.05,reset_rate=0.01 (also malformed_rate, "
        "rate_limit_per_second, seed)",
    )
    simulate.add_argument("--log-level", default=None, metavar="LEVEL")
    return parser


def main(argv: Sequence[str] | None = None, *, transports: Transports | None = None) -> int:
    """Run the CLI; returns the exit code.

    `transports` injects a fake network per provider name (tests drive `check` and `sync`
    against the simulators this way).
    """
    args = build_parser().parse_args(argv)
    command = args.command or "serve"
    from call_logs_mcp.cli import EXIT_USAGE
    from call_logs_mcp.cli.config import run, settings_from_args, with_demo
    from call_logs_mcp.errors import CallLogsError

    try:
        if command == "simulate":
            from call_logs_mcp.cli.simulate import simulate

            return simulate(args)
        settings = settings_from_args(args)
        from call_logs_mcp.logging_setup import configure_logging

        configure_logging(settings.log_level)
        from call_logs_mcp.cli.config import mask_secrets_in_logs

        mask_secrets_in_logs(settings)
        if command == "serve":
            from call_logs_mcp.cli.serve import serve

            return serve(args, settings, transports)
        if command == "check":
            from call_logs_mcp.cli.check import check_providers

            return with_demo(settings, transports, lambda s, t: run(check_providers(s, transports=t)))
        if command == "sync":
            from call_logs_mcp.cli.sync import sync_from_args

            return with_demo(settings, transports, lambda s, t: run(sync_from_args(args, s, t)))
        if command == "export":
            from call_logs_mcp.cli.export import export_from_args

            return with_demo(settings, transports, lambda s, t: run(export_from_args(args, s, t)))
        if command == "purge":
            from call_logs_mcp.cli.purge import purge_from_args

            return with_demo(settings, transports, lambda s, _: run(purge_from_args(args, s)))
    except CallLogsError as exc:
        print(f"call-logs-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {command}")  # argparse only yields the commands above


if __name__ == "__main__":
    sys.exit(main())
