"""`call-logs-mcp [serve]`: the MCP server over stdio or HTTP (in demo mode over the simulators)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING

from call_logs_mcp.cli import EXIT_OK, Transports
from call_logs_mcp.cli.config import no_provider_hint

if TYPE_CHECKING:
    from call_logs_mcp.settings import Settings


def _terminate_like_interrupt() -> None:
    """Make SIGTERM unwind like Ctrl-C, so context managers (the demo's temporary index) clean up.

    uvicorn handles SIGTERM itself and re-raises it once it has shut down gracefully; this is the
    handler it re-raises into.
    """
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Outside the main thread (embedded use) signals cannot be set: leave them alone.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, interrupt)


def serve(args: argparse.Namespace, settings: Settings, transports: Transports | None) -> int:
    _terminate_like_interrupt()
    try:
        return _serve_configured(args, settings, transports)
    except KeyboardInterrupt:
        if args.transport != "stdio":
            raise
        # Everything is cleaned up by now, but the SDK reads stdin in a worker thread that
        # cannot be interrupted: a normal interpreter exit would wait for it forever.
        import os

        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(130)


def _serve_configured(args: argparse.Namespace, settings: Settings, transports: Transports | None) -> int:
    if args.transport == "http":
        from call_logs_mcp.server.http import ensure_safe_bind

        ensure_safe_bind(args.host, settings.http_token)  # before any slow work
    if settings.demo:
        from call_logs_mcp.demo import demo_environment

        with demo_environment(settings) as demo:
            return _serve_with(args, demo.settings, demo.transports)
    return _serve_with(args, settings, transports)


def _serve_with(args: argparse.Namespace, settings: Settings, transports: Transports | None) -> int:
    from call_logs_mcp.server.app import build_server

    server = build_server(settings, transports=transports)
    if args.transport == "stdio":
        _banner(settings, "stdio")
        server.run("stdio")
        return EXIT_OK

    from call_logs_mcp.server.http import (
        bind_socket,
        connection_limits,
        create_http_app,
        local_url,
        serve_http,
    )

    app = create_http_app(
        server,
        settings,
        host=args.host,
        allowed_hosts=args.allowed_host,
        allowed_origins=args.allowed_origin,
    )
    sock = bind_socket(args.host, args.port)
    _banner(settings, f"http {local_url(sock)}" + (" (bearer token required)" if settings.http_token else ""))
    from functools import partial

    import anyio

    anyio.run(partial(serve_http, app, sock, limits=connection_limits(settings)))
    return EXIT_OK


def index_location(settings: Settings) -> str:
    """Where the index is, for people: the SQLite path, or PostgreSQL's host and database (never
    the URL, which holds a password)."""
    if settings.database_url is None:
        return str(settings.db_path())
    from call_logs_mcp.index.choose import describe_url

    return describe_url(settings.database_url)


def _banner(settings: Settings, transport: str) -> None:
    import logging

    from call_logs_mcp import __version__

    log = logging.getLogger("call_logs_mcp")
    names = ", ".join(sorted(settings.providers)) or "none"
    log.info(
        "call-logs-mcp %s | providers: %s | transport: %s | index: %s",
        __version__,
        names,
        transport,
        index_location(settings),
    )
    if settings.demo:
        from call_logs_mcp.providers import PLATFORMS, join_names, platform

        simulated = join_names([platform(name).info.display_name for name in PLATFORMS], "and")
        log.warning(
            "DEMO MODE: simulated %s with generated calls; the index is a temporary "
            "file deleted on exit. No real platform is contacted.",
            simulated,
        )
    elif not settings.providers:
        log.warning("No platform configured: %s", no_provider_hint())
