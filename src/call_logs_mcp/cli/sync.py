"""`call-logs-mcp sync`: fill or refresh the local index from the platforms, with a progress bar."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, TextIO

from call_logs_mcp.cli import EXIT_FAILED, EXIT_OK, Transports
from call_logs_mcp.cli.scope import Scope, addressed, parse_dates, resolve_scope

if TYPE_CHECKING:
    from call_logs_mcp.index import IndexStoreProtocol, SyncResult
    from call_logs_mcp.settings import Settings


class ProgressBar:
    """A progress bar on stderr for `run_sync`'s `(done, total)` callback: calls synced, out of
    the platforms' total when they report one (`export` draws one for the calls written).

    Drawn only when stderr is a terminal (tqdm's `disable=None`), so logs and pipes stay clean.
    """

    def __init__(
        self, stream: TextIO | None = None, *, disable: bool | None = None, desc: str = "sync"
    ) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=None,
            unit=" calls",
            desc=desc,
            file=stream if stream is not None else sys.stderr,
            disable=disable,
            dynamic_ncols=True,
            leave=False,
        )
        self._drawn = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        if self._bar.disable:
            return
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
        # At most ten redraws a second (an export reports every call), and always the last one.
        now = time.monotonic()
        if done == total or now - self._drawn >= 0.1:
            self._drawn = now
            self._bar.refresh()

    def close(self) -> None:
        if not self._bar.disable:
            self._bar.refresh()  # the last count, which the redraw limit may have skipped
        self._bar.close()


async def sync_scope(
    settings: Settings,
    store: IndexStoreProtocol,
    scope: Scope,
    progress: ProgressBar,
    transports: Transports | None = None,
) -> SyncResult:
    """Sync `scope` into `store` from its platforms, `progress` drawn meanwhile (and closed).

    Raises the platforms' ProviderError (what was committed before it stays)."""
    from call_logs_mcp.core.sources import sync_source
    from call_logs_mcp.index import run_sync

    sources = {
        name: sync_source(settings.providers[name], transport=(transports or {}).get(name))
        for name in scope.names
    }
    try:
        return await run_sync(store, sources, scope.sync_scope(), progress)
    finally:
        progress.close()
        for source in sources.values():
            await source.provider.aclose()


async def sync_command(
    settings: Settings,
    *,
    provider: str | None = None,
    campaign_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    transports: Transports | None = None,
    out: TextIO | None = None,
    progress: ProgressBar | None = None,
) -> int:
    """`call-logs-mcp sync`: fill or refresh the index for the scope (`campaign_id`: an id or a
    campaign name, see `cli.scope`); one result line on `out`.

    Returns 0 on success, 1 when a platform failed (what was committed stays), 2 for a usage or
    configuration error (raised as ConfigurationError / InvalidArgumentError).
    """
    from call_logs_mcp.errors import ProviderError
    from call_logs_mcp.index.choose import open_store

    stream = sys.stdout if out is None else out
    names = addressed(settings, provider)
    start, end = parse_dates(since, until)
    store = await open_store(settings.db_path(), settings.database_url)
    try:
        scope = await resolve_scope(settings, store, names, campaign=campaign_id, since=start, until=end)
        if scope.note:
            print(scope.note, file=stream)
        try:
            result = await sync_scope(settings, store, scope, progress or ProgressBar(), transports)
        except ProviderError as exc:
            print(f"Sync failed: {exc} Calls synced before the failure are kept.", file=stream)
            return EXIT_FAILED
    finally:
        await store.aclose()
    print(f"Synced {', '.join(scope.names)}: {result.line()}. Index: {store.describe()}", file=stream)
    return EXIT_OK


async def sync_from_args(args: argparse.Namespace, settings: Settings, transports: Transports | None) -> int:
    return await sync_command(
        settings,
        provider=args.provider,
        campaign_id=args.campaign,
        since=args.since,
        until=args.until,
        transports=transports,
    )
