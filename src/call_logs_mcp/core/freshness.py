"""Keeping the index fresh enough to answer: sync a scope when its last covering sync is older than
the freshness window, within a time budget, and report what the index covers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio

from call_logs_mcp.core.local_index import LocalIndex
from call_logs_mcp.errors import ConfigurationError, ProviderError
from call_logs_mcp.providers.base import CallProvider

logger = logging.getLogger(__name__)

# (done, total | None, message) -> awaitable; the MCP layer forwards it as progress notifications.
Progress = Callable[[float, float | None, str], Awaitable[None]]


@dataclass
class SyncReport:
    """What `sync_if_stale` did: providers synced, their errors, their last sync time."""

    synced: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    last_synced: dict[str, datetime | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ScopeCoverage:
    provider: str
    indexed_calls: int
    last_synced_at: datetime | None
    sync_error: str | None = None


@dataclass(frozen=True)
class Freshness:
    """The index of `providers`, synced when older than `freshness_seconds`; a sync answers
    within `budget_seconds`."""

    index: LocalIndex
    providers: Mapping[str, CallProvider]
    freshness_seconds: float = 300.0
    budget_seconds: float = 25.0

    async def sync_if_stale(
        self,
        names: Sequence[str],
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Sync the scope on every provider whose last covering sync is older than the freshness
        window. A provider that fails to sync is reported, not raised: the index still answers.

        All of it fits in `budget_seconds`: a sync still running then stops (what it committed
        stays, newest calls first) and is reported as unfinished; the next call continues it.
        Raises StoreError when there is no index."""
        from call_logs_mcp.index import SyncScope, SyncSource, run_sync

        store = self.index.require()
        accounts = self.index.accounts
        report = SyncReport()
        stale: list[str] = []
        for name in names:
            last = await store.last_synced(accounts, name, campaign_id=campaign_id, since=since, until=until)
            report.last_synced[name] = last
            if last is None or (datetime.now(UTC) - last).total_seconds() > self.freshness_seconds:
                stale.append(name)
        if not stale:
            return report
        counts: dict[str, int] = {}
        shown = 0

        def forward_for(name: str) -> Callable[[int, int | None], Awaitable[None]]:
            async def forward(synced: int, total: int | None) -> None:
                # Providers sync side by side: progress is the sum over them, and only grows.
                nonlocal shown
                counts[name] = synced
                done = sum(counts.values())
                if progress is None or done <= shown:
                    return
                shown = done
                await progress(float(done), None, f"syncing the local index: {done} calls synced")

            return forward

        async def sync_one(name: str) -> None:
            source = SyncSource(provider=self.providers[name], account=accounts[name])
            scope = SyncScope(provider=name, campaign_id=campaign_id, since=since, until=until)
            try:
                await run_sync(store, {name: source}, scope, progress=forward_for(name))
            except (ProviderError, ConfigurationError) as err:
                logger.warning("sync of %s failed: %s", name, err)
                report.errors[name] = str(err)
                return
            report.synced.append(name)

        if progress is not None:
            await progress(0.0, None, f"syncing the local index from {', '.join(stale)}")
        with anyio.move_on_after(self.budget_seconds):
            async with anyio.create_task_group() as group:
                for name in stale:
                    group.start_soon(sync_one, name)
        for name in stale:
            if name in report.synced:
                report.last_synced[name] = await store.last_synced(
                    accounts, name, campaign_id=campaign_id, since=since, until=until
                )
            elif name not in report.errors:
                logger.info("sync of %s stopped at the %.0f s budget", name, self.budget_seconds)
                report.errors[name] = (
                    f"it ran out of its {self.budget_seconds:g} s time budget; the index holds "
                    "what was synced so far (newest calls first). Call again to continue, or run "
                    "`call-logs-mcp sync` ahead of time for full coverage."
                )
        return report

    async def coverage(
        self, names: Sequence[str], campaign_id: str | None, report: SyncReport
    ) -> list[ScopeCoverage]:
        """Per provider: how many calls the index holds (in `campaign_id`, if given) and the
        sync state from `report`. Raises StoreError."""
        listings = await self.index.require().list_campaigns(self.index.scope(names))
        out: list[ScopeCoverage] = []
        for name in names:
            rows = [c for c in listings if c.provider == name]
            if campaign_id is not None:
                rows = [c for c in rows if c.campaign_id == campaign_id]
            out.append(
                ScopeCoverage(
                    provider=name,
                    indexed_calls=sum(c.indexed_calls for c in rows),
                    last_synced_at=report.last_synced.get(name),
                    sync_error=report.errors.get(name),
                )
            )
        return out
