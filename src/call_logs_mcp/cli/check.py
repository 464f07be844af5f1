"""`call-logs-mcp check`: probe each configured platform (key, reachability, first page), and the
PostgreSQL index when `CALL_LOGS_DATABASE_URL` names one."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TextIO

from call_logs_mcp.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Transports
from call_logs_mcp.cli.config import no_provider_hint

if TYPE_CHECKING:
    from call_logs_mcp.settings import Settings


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
    width = max(9, *(len(name) for name in settings.providers))
    for name, config in sorted(settings.providers.items()):
        where = _display_url(config.base_url) if config.base_url else "default URL"
        label = f"{name:<{width}} key {mask_secret(config.api_key.get_secret_value())}  {where}"
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
    if settings.database_url is not None:
        failures += not await check_index(settings, stream, width)
    return EXIT_FAILED if failures else EXIT_OK


async def check_index(settings: Settings, stream: TextIO, width: int) -> bool:
    """One report line for the PostgreSQL index of `CALL_LOGS_DATABASE_URL`: reachable, schema
    current (what `GET /healthz` checks). Names the database and host, never the URL."""
    from call_logs_mcp.errors import CallLogsError
    from call_logs_mcp.index.choose import describe_url, open_store

    assert settings.database_url is not None
    label = f"{'index':<{width}} {describe_url(settings.database_url)}"
    try:
        store = await open_store(settings.db_path(), settings.database_url)
        try:
            await store.check_health()
        finally:
            await store.aclose()
    except CallLogsError as exc:
        print(f"FAIL  {label}: {exc}", file=stream)
        return False
    print(f"ok    {label}: reachable, schema current.", file=stream)
    return True


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
