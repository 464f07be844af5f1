"""Keeping the index fresh without making anyone wait: syncs run in the background, one per scope
at a time, and a tool waits a few seconds at most before it answers from what is indexed.

A scope (platform × campaign × dates) is stale when its last covering sync is older than the
freshness window. `Freshness.sync_if_stale` starts a sync of each stale scope unless one is
already running, waits up to `wait_seconds` for them, and reports what is done, what failed and
what is still running (with its progress, in calls, and the platform's total when it reports
one). While the server runs (`Freshness.running()`, entered by its lifespan) the syncs go on
after the answer; without it (a `CallLogService` used on its own) they run inside the call and
stop at `wait_seconds`, keeping what they committed for the next call to continue.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio
from anyio.abc import TaskGroup

from call_logs_mcp.core.local_index import LocalIndex
from call_logs_mcp.errors import ConfigurationError, ProviderError, StoreError
from call_logs_mcp.providers.base import CallProvider

logger = logging.getLogger(__name__)

# (done, total | None, message) -> awaitable; the MCP layer forwards it as progress notifications.
Progress = Callable[[float, float | None, str], Awaitable[None]]


@dataclass
class SyncJob:
    """One sync of one scope on one platform: how far it got, and how it ended."""

    provider: str
    campaign_id: str | None
    since: datetime | None
    until: datetime | None
    done: anyio.Event = field(default_factory=anyio.Event)
    calls_done: int = 0
    total: int | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return not self.done.is_set()


@dataclass
class SyncReport:
    """What `sync_if_stale` found: providers whose sync failed (with the reason), those still
    syncing (their job), and when each scope last completed a sync."""

    errors: dict[str, str] = field(default_factory=dict)
    running: dict[str, SyncJob] = field(default_factory=dict)
    last_synced: dict[str, datetime | None] = field(default_factory=dict)

    @property
    def syncing(self) -> dict[str, str]:
        """Per provider still syncing, how far that sync got, in words. It counts the calls the
        sync went through (stored, or found unchanged), not the calls indexed: a campaign's
        sync that starts after the account's stored its calls has gone through few of them
        while every one is indexed, and the answer's coverage says so."""
        return {
            name: (
                f"this sync has checked {job.calls_done:,} of {job.total:,} calls so far"
                if job.total is not None
                else f"this sync has checked {job.calls_done:,} calls so far"
            )
            for name, job in self.running.items()
        }


@dataclass(frozen=True)
class ScopeCoverage:
    """How much of a scope the index holds: `indexed_calls` of the `platform_calls` the platform
    reports (None: it reports no total), whether a sync of it is running, and its last sync."""

    provider: str
    indexed_calls: int
    last_synced_at: datetime | None
    sync_error: str | None = None
    platform_calls: int | None = None
    syncing: bool = False
    skipped_calls: int = 0
    # A request's dates (from, to) whose own sync has completed: every call the platform lists
    # in them is indexed, as of `last_synced_at`, while the counts above are the whole scope's.
    dates_indexed: tuple[datetime | None, datetime | None] | None = None


JobKey = tuple[str, str | None, datetime | None, datetime | None]


class Freshness:
    """The index of `providers`, synced in the background when older than `freshness_seconds`."""

    def __init__(
        self,
        index: LocalIndex,
        providers: Mapping[str, CallProvider],
        *,
        freshness_seconds: float = 300.0,
        wait_seconds: float = 3.0,
        concurrency: Mapping[str, int] | None = None,
        on_indexed: Callable[[], Awaitable[None]] | None = None,
        declared: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.index = index
        self.providers = providers
        self.freshness_seconds = freshness_seconds
        self.wait_seconds = wait_seconds
        self.concurrency = dict(concurrency or {})
        self.on_indexed = on_indexed
        self.declared = {name: list(ids) for name, ids in (declared or {}).items()}
        self._jobs: dict[JobKey, SyncJob] = {}
        self._last_errors: dict[JobKey, str] = {}
        # Per provider, the most records one sync skipped for an unusable id (never indexed).
        self.skipped: dict[str, int] = {}
        self._group: TaskGroup | None = None
        self._changed = anyio.Event()
        # Set by a server whose background is about to start: the first sync then waits for it
        # (briefly) instead of running inside the call.
        self.background_coming = False
        self._started = anyio.Event()
        # One look at a scope's freshness at a time: two callers must not both find no job and
        # each start one (the look awaits the index).
        self._ensuring = anyio.Lock()

    @asynccontextmanager
    async def running(self, *, sync_all: bool = True) -> AsyncIterator[None]:
        """Run syncs in the background while inside; with `sync_all`, start by syncing every
        configured account (newest calls first), side by side, and every campaign the campaigns
        file declares (a platform whose records do not name their campaign tells a call's
        campaign only to a listing filtered by it)."""
        async with anyio.create_task_group() as group:
            self._group = group
            self._started.set()
            try:
                if sync_all and self.index.store is not None:
                    for name in self.providers:
                        await self._ensure(name, None, None, None)
                    for name, campaigns in self.declared.items():
                        for campaign_id in campaigns:
                            await self._ensure(name, campaign_id, None, None)
                yield
            finally:
                self._group = None
                group.cancel_scope.cancel()

    async def sync_if_stale(
        self,
        names: Sequence[str],
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Progress | None = None,
        every_scope: bool = False,
    ) -> SyncReport:
        """Start a sync of the scope on every provider whose last covering sync is older than the
        freshness window (unless one is running), wait up to `wait_seconds` for them, and report.
        With `every_scope`, the running syncs of the providers' other scopes (declared campaigns)
        are waited for and reported too. A provider that fails to sync is reported, not raised:
        the index still answers.

        Raises StoreError when there is no index."""
        store = self.index.require()
        if self._group is None and self.background_coming:
            with anyio.move_on_after(self.wait_seconds):
                await self._started.wait()
        jobs: dict[str, SyncJob] = {}
        seen: dict[str, datetime] = {}  # the last covering sync of a scope found fresh
        for name in names:
            job = await self._ensure(name, campaign_id, since, until, seen)
            if job is not None:
                jobs[name] = job
        others = [job for job in self._jobs.values() if every_scope and job.running and job.provider in names]
        if jobs or others:
            seen.clear()  # a sync ran meanwhile: read again
            if self._group is None:
                await self._run_here(list(jobs.values()), progress)
            else:
                await self._wait([*jobs.values(), *(j for j in others if j not in jobs.values())], progress)
        report = SyncReport()
        for name in names:
            report.last_synced[name] = seen.get(name) or await store.last_synced(
                self.index.accounts, name, campaign_id=campaign_id, since=since, until=until
            )
            job = jobs.get(name)
            key = (name, campaign_id, since, until)
            if job is None:
                job = next((j for j in others if j.provider == name and j.running), None)
            if job is None:
                continue
            if job.running:
                report.running[name] = job
                if key in self._last_errors:  # the last attempt failed; this one may too
                    report.errors[name] = self._last_errors[key]
            elif job.error is not None:
                report.errors[name] = job.error
        return report

    async def coverage(
        self,
        names: Sequence[str],
        campaign_id: str | None,
        report: SyncReport,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ScopeCoverage]:
        """Per provider: how many calls the index holds (in `campaign_id`, if given), of how many
        the platform reports, whether a sync adding to them is running, and the sync state of
        the request's scope from `report` (for dates `since`/`until`: whether every call in them
        is indexed, though the scope's other calls may still be syncing). Raises StoreError."""
        store = self.index.require()
        out: list[ScopeCoverage] = []
        for name in names:
            indexed = await store.indexed_calls(self.index.accounts, name, campaign_id=campaign_id)
            # The scope without dates: its sync's total is what `indexed` is a share of (a sync
            # of the request's dates reports the platform's total for those dates only).
            wider = self._jobs.get((name, campaign_id, None, None))
            dated = since is not None or until is not None
            # A completed sync covering the dates held every call in them (as of its time).
            dates_done = dated and report.last_synced.get(name) is not None
            total = wider.total if wider is not None else None
            if total is None:
                total = await store.platform_calls(self.index.accounts, name, campaign_id=campaign_id)
            out.append(
                ScopeCoverage(
                    provider=name,
                    indexed_calls=indexed,
                    last_synced_at=report.last_synced.get(name),
                    sync_error=report.errors.get(name),
                    platform_calls=total,
                    syncing=name in report.running or (dated and self._adding(name, campaign_id)),
                    skipped_calls=self.skipped.get(name, 0),
                    dates_indexed=(since, until) if dates_done else None,
                )
            )
        return out

    def _adding(self, name: str, campaign_id: str | None) -> bool:
        """Whether a sync that adds calls to the scope beyond some dates is running: the scope's
        own without dates, or the whole account's (it stores every campaign's calls)."""
        keys = {(name, campaign_id, None, None), (name, None, None, None)}
        return any((job := self._jobs.get(key)) is not None and job.running for key in keys)

    # -- the jobs ------------------------------------------------------------------------------

    async def _ensure(
        self,
        name: str,
        campaign_id: str | None,
        since: datetime | None,
        until: datetime | None,
        seen: dict[str, datetime] | None = None,
    ) -> SyncJob | None:
        """The running sync of this scope, or a new one when the scope is stale (None: fresh,
        and its last covering sync goes into `seen[name]`)."""
        async with self._ensuring:
            return await self._ensure_locked(name, campaign_id, since, until, seen)

    async def _ensure_locked(
        self,
        name: str,
        campaign_id: str | None,
        since: datetime | None,
        until: datetime | None,
        seen: dict[str, datetime] | None,
    ) -> SyncJob | None:
        key = (name, campaign_id, since, until)
        job = self._jobs.get(key)
        if job is not None and job.running:
            return job
        last = await self._fresh(name, campaign_id, since, until)
        if last is not None:
            if seen is not None:
                seen[name] = last
            return None
        job = self._jobs[key] = SyncJob(name, campaign_id, since, until)
        if self._group is not None:
            self._group.start_soon(self._run, job)
        return job

    async def _fresh(
        self, name: str, campaign_id: str | None, since: datetime | None, until: datetime | None
    ) -> datetime | None:
        """When the last sync covering the scope completed, if within the freshness window
        (None: stale, or never synced)."""
        last = await self.index.require().last_synced(
            self.index.accounts, name, campaign_id=campaign_id, since=since, until=until
        )
        fresh = last is not None and (datetime.now(UTC) - last).total_seconds() <= self.freshness_seconds
        return last if fresh else None

    async def _run(self, job: SyncJob) -> None:
        """Sync the job's scope; never raises (the outcome is on the job). Replicas on one index
        take turns (`run_sync` holds the scope's lock): a replica that waited for another's sync
        of the scope finds it fresh and makes no request."""
        from call_logs_mcp.index import SyncScope, SyncSource, run_sync

        key = (job.provider, job.campaign_id, job.since, job.until)
        source = SyncSource(
            provider=self.providers[job.provider],
            account=self.index.accounts[job.provider],
            max_concurrency=self.concurrency.get(job.provider, 4),
        )
        scope = SyncScope(
            provider=job.provider, campaign_id=job.campaign_id, since=job.since, until=job.until
        )

        async def progress(done: int, total: int | None) -> None:
            grew = done > job.calls_done
            job.calls_done, job.total = max(job.calls_done, done), total
            self._notify()
            if grew and self.on_indexed is not None:
                await self.on_indexed()  # the runtime keeps these notices at most every 2 s

        try:
            result = await run_sync(
                self.index.require(),
                {job.provider: source},
                scope,
                progress=progress,
                still_wanted=lambda name: self._stale(name, job),
            )
        except (ProviderError, ConfigurationError, StoreError) as err:
            logger.warning("sync of %s failed: %s", job.provider, err)
            job.error = self._last_errors[key] = str(err)
        else:
            self._last_errors.pop(key, None)
            if result.skipped:
                self.skipped[job.provider] = max(self.skipped.get(job.provider, 0), result.skipped)
            if self.on_indexed is not None:
                await self.on_indexed()
        finally:
            job.done.set()
            self._notify()

    async def _stale(self, name: str, job: SyncJob) -> bool:
        return await self._fresh(name, job.campaign_id, job.since, job.until) is None

    async def _run_here(self, jobs: list[SyncJob], progress: Progress | None) -> None:
        """Without a background: run the jobs inside this call, for `wait_seconds` at most."""
        with anyio.move_on_after(self.wait_seconds):
            async with anyio.create_task_group() as group:
                group.start_soon(self._wait, jobs, progress)
                for job in jobs:
                    group.start_soon(self._run, job)
        for job in jobs:
            if job.running:  # stopped by the time limit: what it committed stays
                job.done.set()
                key = (job.provider, job.campaign_id, job.since, job.until)
                self._jobs.pop(key, None)
                job.error = (
                    f"it did not finish within {self.wait_seconds:g} s; the index holds what was "
                    "synced so far (newest calls first). Call again to continue, or run "
                    "`call-logs-mcp sync` ahead of time."
                )

    async def _wait(self, jobs: list[SyncJob], progress: Progress | None) -> None:
        """Wait until `jobs` are done, `wait_seconds` at most, forwarding their progress."""
        shown = -1
        with anyio.move_on_after(self.wait_seconds):
            while True:
                changed = self._changed
                done = sum(job.calls_done for job in jobs)
                totals = [job.total for job in jobs]
                total = sum(t for t in totals if t is not None) if None not in totals else None
                if progress is not None and done > shown:
                    shown = done
                    of = f" of {total:,}" if total is not None else ""
                    await progress(
                        float(done), float(total) if total else None, f"indexing calls: {done:,}{of}"
                    )
                if not any(job.running for job in jobs):
                    return
                await changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()
