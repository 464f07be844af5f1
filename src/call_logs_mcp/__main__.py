"""The `call-logs-mcp` command.

    call-logs-mcp [serve] [--transport stdio|http] [--host H] [--port N] [--demo] [--log-level L]
    call-logs-mcp check [--demo]
    call-logs-mcp sync [--provider P] [--campaign C] [--since YYYY-MM-DD]
    call-logs-mcp purge [--older-than DAYS]
    call-logs-mcp simulate PLATFORM [--port N]

Start-up time matters (a client launches the server for each session and waits for its
`initialize` answer), so this module imports only argparse at the top and everything else
inside the command that needs it. Settings are built once, here. Nothing is printed to stdout in
serve mode: in stdio mode stdout is the wire. Exit codes: 0 success, 1 a check/sync failed,
2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import httpx2

    from call_logs_mcp.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Transports = Mapping[str, "httpx2.AsyncBaseTransport"]


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
    sync.add_argument("--provider", help="only this platform")
    sync.add_argument("--campaign", help="only this campaign id")
    sync.add_argument("--since", metavar="YYYY-MM-DD", help="only calls started on or after this date")

    purge = sub.add_parser("purge", help="delete indexed calls (all, or older than N days)")
    _add_common(purge, root=False)
    purge.add_argument("--older-than", type=int, metavar="DAYS", help="only calls older than DAYS days")

    simulate = sub.add_parser("simulate", help="serve a platform simulator over HTTP for experiments")
    simulate.add_argument("platform", choices=PLATFORMS)
    simulate.add_argument("--host", default="127.0.0.1")
    ports = ", ".join(f"{name} {platform(name).sim.port}" for name in PLATFORMS)
    simulate.add_argument("--port", type=int, default=None, help=f"default: the platform's own ({ports})")
    simulate.add_argument("--log-level", default=None, metavar="LEVEL")
    return parser


def main(argv: Sequence[str] | None = None, *, transports: Transports | None = None) -> int:
    """Run the CLI; returns the exit code.

    `transports` injects a fake network per provider name (tests drive `check` and `sync`
    against the simulators this way).
    """
    args = build_parser().parse_args(argv)
    command = args.command or "serve"
    from call_logs_mcp.errors import CallLogsError

    try:
        if command == "simulate":
            return _simulate(args)
        settings = _settings(args)
        from call_logs_mcp.logging_setup import configure_logging

        configure_logging(settings.log_level)
        if command == "serve":
            return _serve(args, settings, transports)
        if command == "check":
            return _with_demo(settings, transports, lambda s, t: _run(check_providers(s, transports=t)))
        if command == "sync":
            return _with_demo(settings, transports, lambda s, t: _run(_sync(args, s, t)))
        if command == "purge":
            return _with_demo(settings, transports, lambda s, _: _purge(args, s))
    except CallLogsError as exc:
        print(f"call-logs-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {command}")  # argparse only yields the commands above


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment (the CLI's one call), with explicit overrides on top.

    Raises ConfigurationError naming the variable when a platform setting is not a number, and
    pydantic's ValidationError for an invalid `CALL_LOGS_*` value or override.
    """
    import os

    from call_logs_mcp.providers.config import provider_configs_from_env
    from call_logs_mcp.settings import Settings

    env = os.environ if environ is None else environ
    values: dict[str, object] = {"providers": provider_configs_from_env(env)}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if args.demo:
        overrides["demo"] = True
    if args.log_level:
        overrides["log_level"] = args.log_level
    try:
        return load_settings(None, **overrides)
    except Exception as exc:  # pydantic ValidationError: name the fields, never the values
        from pydantic import ValidationError

        from call_logs_mcp.errors import ConfigurationError

        if isinstance(exc, ValidationError):
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            names = ", ".join(f"CALL_LOGS_{f.upper()}" for f in fields)
            raise ConfigurationError(f"Invalid setting: {names}.") from None
        raise


def _run(coro: Any) -> int:
    import anyio

    async def runner() -> int:
        result: int = await coro
        return result

    return anyio.run(runner)


def _with_demo(settings: Settings, transports: Transports | None, body: Any) -> int:
    """Run `body(settings, transports)`, inside a demo environment when settings.demo."""
    if not settings.demo:
        result: int = body(settings, transports)
        return result
    from call_logs_mcp.demo import demo_environment

    with demo_environment(settings) as demo:
        result = body(demo.settings, demo.transports)
        return result


# --- serve -------------------------------------------------------------------------------------


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


def _serve(args: argparse.Namespace, settings: Settings, transports: Transports | None) -> int:
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

    from call_logs_mcp.server.http import bind_socket, create_http_app, local_url, serve_http

    app = create_http_app(
        server,
        settings,
        host=args.host,
        allowed_hosts=args.allowed_host,
        allowed_origins=args.allowed_origin,
    )
    sock = bind_socket(args.host, args.port)
    _banner(settings, f"http {local_url(sock)}" + (" (bearer token required)" if settings.http_token else ""))
    import anyio

    anyio.run(serve_http, app, sock)
    return EXIT_OK


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
        settings.db_path(),
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


def no_provider_hint() -> str:
    from call_logs_mcp.providers import PLATFORMS, platform

    names = " and/or ".join(platform(name).info.key_env_var for name in PLATFORMS)
    return f"set {names}, or run with --demo to try simulated platforms."


# --- check -------------------------------------------------------------------------------------


def mask_secret(secret: str) -> str:
    """A key as it may be shown: its last 4 characters only, e.g. `…a1b2`."""
    secret = secret.strip()
    if len(secret) < 12:
        return "…" + "*" * 4
    return "…" + secret[-4:]


async def check_providers(
    settings: Settings,
    *,
    transports: Transports | None = None,
    out: TextIO | None = None,
    timeout_seconds: float = 30.0,
) -> int:
    """Probe every configured provider (key accepted, platform reachable, first page readable).

    Writes one report line per provider to `out` (stdout by default). Returns 0 when every probe
    passed, 1 when one failed, 2 when no provider is configured.
    """
    import anyio

    from call_logs_mcp.errors import AuthError, CallLogsError, RateLimitedError, UnavailableError
    from call_logs_mcp.models import CallQuery
    from call_logs_mcp.providers import create_provider

    stream = sys.stdout if out is None else out
    if not settings.providers:
        print(f"No platform configured: {no_provider_hint()}", file=stream)
        return EXIT_USAGE
    failures = 0
    for name, config in sorted(settings.providers.items()):
        where = _display_url(config.base_url) if config.base_url else "default URL"
        label = f"{name:<9} key {mask_secret(config.api_key.get_secret_value())}  {where}"
        transport = (transports or {}).get(name)
        try:
            provider = create_provider(config, transport=transport)
        except CallLogsError as exc:
            print(f"FAIL  {label}: {exc}", file=stream)
            failures += 1
            continue
        try:
            with anyio.fail_after(timeout_seconds):
                page = await provider.list_calls(CallQuery(), limit=1)
        except AuthError as exc:
            print(f"FAIL  {label}: key rejected. {exc}", file=stream)
            failures += 1
        except RateLimitedError as exc:
            print(f"FAIL  {label}: reachable but rate limited. {exc}", file=stream)
            failures += 1
        except UnavailableError as exc:
            print(f"FAIL  {label}: not reachable. {exc}", file=stream)
            failures += 1
        except CallLogsError as exc:
            print(f"FAIL  {label}: {exc}", file=stream)
            failures += 1
        except TimeoutError:
            print(f"FAIL  {label}: no answer within {timeout_seconds:g} s.", file=stream)
            failures += 1
        except Exception as exc:  # a probe must report, not crash; the type is ours to show
            print(f"FAIL  {label}: unexpected error ({type(exc).__name__}).", file=stream)
            failures += 1
        else:
            print(f"ok    {label}: key accepted, reachable, {_first_page(page)}", file=stream)
        finally:
            await provider.aclose()
    return EXIT_FAILED if failures else EXIT_OK


def _display_url(url: str) -> str:
    """Scheme, host and port only: a base URL could carry credentials or tokens."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable base URL)"
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def _first_page(page: Any) -> str:
    if not page.calls:
        return "first page read (no calls yet)."
    latest = page.calls[0].started_at
    total = page.totals.calls if page.totals is not None else None
    parts = ["first page read"]
    if total is not None:
        parts.append(f"{total:,} calls in total")
    if latest is not None:
        parts.append(f"latest call {latest:%Y-%m-%d %H:%M} UTC")
    return ", ".join(parts) + "."


# --- sync / purge ------------------------------------------------------------------------------


def _parse_since(text: str | None) -> Any:
    """`--since YYYY-MM-DD` as the start of that day, UTC. Raises InvalidArgumentError."""
    if text is None:
        return None
    from datetime import UTC, datetime

    from call_logs_mcp.errors import InvalidArgumentError

    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidArgumentError(f"--since takes a date as YYYY-MM-DD, not {text[:40]!r}.") from None


class SyncProgress:
    """A progress bar on stderr for `run_sync`'s `(listed, fetched, total)` callback.

    Drawn only when stderr is a terminal (tqdm's `disable=None`), so logs and pipes stay clean.
    """

    def __init__(self, stream: TextIO | None = None, *, disable: bool | None = None) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=None,
            unit=" calls",
            desc="sync",
            file=stream if stream is not None else sys.stderr,
            disable=disable,
            dynamic_ncols=True,
            leave=False,
        )

    def __call__(self, listed: int, fetched: int, total: int | None) -> None:
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.n = listed
        self._bar.set_postfix(details=fetched, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


async def sync_command(
    settings: Settings,
    *,
    provider: str | None = None,
    campaign_id: str | None = None,
    since: str | None = None,
    transports: Transports | None = None,
    out: TextIO | None = None,
    progress: SyncProgress | None = None,
) -> int:
    """`call-logs-mcp sync`: fill or refresh the index for the scope; one result line on `out`.

    Returns 0 on success, 1 when a platform failed (what was committed stays), 2 for a usage or
    configuration error (raised as ConfigurationError / InvalidArgumentError).
    """
    from call_logs_mcp.core.sources import sync_source
    from call_logs_mcp.errors import ConfigurationError, ProviderError
    from call_logs_mcp.index import IndexStore, SyncScope, run_sync

    stream = sys.stdout if out is None else out
    if not settings.providers:
        raise ConfigurationError(f"No platform configured: {no_provider_hint()}")
    if provider is not None and provider not in settings.providers:
        known = ", ".join(sorted(settings.providers))
        raise ConfigurationError(f"Provider {provider!r} is not configured (configured: {known}).")
    scope = SyncScope(provider=provider, campaign_id=campaign_id, since=_parse_since(since))
    names = [provider] if provider is not None else sorted(settings.providers)
    sources = {
        name: sync_source(settings.providers[name], transport=(transports or {}).get(name)) for name in names
    }
    bar = progress if progress is not None else SyncProgress()
    store = IndexStore.open(settings.db_path())
    try:
        result = await run_sync(store, sources, scope, bar)
    except ProviderError as exc:
        print(f"Sync failed: {exc} Calls synced before the failure are kept.", file=stream)
        return EXIT_FAILED
    finally:
        bar.close()
        store.close()
        for source in sources.values():
            await source.provider.aclose()
    print(f"Synced {', '.join(names)}: {result.line()}. Index: {store.path}", file=stream)
    return EXIT_OK


async def _sync(args: argparse.Namespace, settings: Settings, transports: Transports | None) -> int:
    return await sync_command(
        settings,
        provider=args.provider,
        campaign_id=args.campaign,
        since=args.since,
        transports=transports,
    )


def purge_command(settings: Settings, older_than_days: int | None, *, out: TextIO | None = None) -> int:
    """`call-logs-mcp purge`: delete indexed calls (all, or older than N days); one line on `out`.

    Raises InvalidArgumentError for a negative age and StoreError when the file cannot be purged.
    """
    from call_logs_mcp.errors import InvalidArgumentError
    from call_logs_mcp.index import IndexStore, purge

    stream = sys.stdout if out is None else out
    if older_than_days is not None and older_than_days < 0:
        raise InvalidArgumentError("--older-than takes a number of days, 0 or more.")
    path = settings.db_path()
    if not path.exists():
        print(f"No index at {path}; nothing to purge.", file=stream)
        return EXIT_OK
    store = IndexStore.open(path)
    try:
        deleted = purge(store, older_than_days)
    finally:
        store.close()
    scope = "" if older_than_days is None else f" older than {older_than_days} days"
    print(f"Purged {deleted} calls{scope} from {path}.", file=stream)
    return EXIT_OK


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    return purge_command(settings, args.older_than)


# --- simulate ----------------------------------------------------------------------------------


def _simulate(args: argparse.Namespace) -> int:
    from call_logs_mcp.logging_setup import configure_logging
    from call_logs_mcp.simulators import serve

    configure_logging(args.log_level or "INFO")
    try:
        serve(args.platform, host=args.host, port=args.port)
    except ValueError as exc:  # unknown simulator or a non-loopback host: the message is ours
        print(f"call-logs-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
