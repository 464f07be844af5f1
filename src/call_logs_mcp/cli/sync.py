"""`call-logs-mcp sync`: fill or refresh the local index from the platforms, with a progress bar."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from call_logs_mcp.cli import EXIT_FAILED, EXIT_OK, Transports
from call_logs_mcp.cli.config import no_provider_hint

if TYPE_CHECKING:
    from call_logs_mcp.settings import Settings


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


class ProgressBar:
    """A progress bar on stderr for `run_sync`'s `(done, total)` callback: calls synced, out of
    the platforms' total when they report one.

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

    def __call__(self, done: int, total: int | None) -> None:
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
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
    progress: ProgressBar | None = None,
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
    bar = progress if progress is not None else ProgressBar()
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


async def sync_from_args(args: argparse.Namespace, settings: Settings, transports: Transports | None) -> int:
    return await sync_command(
        settings,
        provider=args.provider,
        campaign_id=args.campaign,
        since=args.since,
        transports=transports,
    )
