"""The sync engine: bring the local index up to date with the platforms, incrementally.

A scope is provider × optional campaign × optional date range. The providers of a run sync side
by side (one task each). For each provider in scope:

1. List pages newest first. For each listed call compare a fingerprint of how it was listed with
   what is stored: new calls, changed calls, calls stored without details and calls still in
   progress need their details; the rest are unchanged. When the platform's listing already
   carries full calls (Prosper's OpenAPI variant) they are stored as listed, without a
   detail request; an adapter that lists several pages side by side (`PagedSyncProvider`) hands
   each page over as soon as it is walked, so it is stored while the next ones are listed. List
   requests are urgent for the HTTP layer: they take the next free connection before the detail
   requests waiting for one.
2. Details are fetched by a bounded pool of workers (`max_concurrency`; the HTTP layer enforces
   the platform rate limit and retries 429/5xx) and written by one writer in batches, each batch
   one transaction. A crash loses at most the batch in flight; the next run converges because
   stored calls are recognised as unchanged.
3. Each scope keeps a watermark: the newest start time seen by the last *complete* walk. The next
   walk stops at the first page whose calls all started before `watermark - overlap` and are
   unchanged. The overlap absorbs calls the platform lists late (in-progress calls, clock skew
   between its servers); stored calls that are still in progress (or lack details) and were not
   listed are re-fetched one by one after the walk, until they are final.
4. A walk that does not finish in one run resumes in the next (`walk.Walk`): the scope's state
   keeps the platform's cursor after the last page whose calls are all stored, advanced as
   batches commit. A run that is cancelled (a time budget, Ctrl-C) or fails lets the requests
   it has under way finish (for `walk.CANCEL_GRACE_SECONDS` at most), stores every call it
   listed, as listed where details are missing, and saves the cursor after its last page and
   the details it still owes: the next run lists no page again and fetches no detail twice.
   A cursor the platform refuses starts the walk from the top again. Completing the walk sets
   the watermark (covering the newest call the walk listed, in whichever run) and clears it.

Errors: a detail request that still fails after the HTTP layer's retries (5xx, 429, bad JSON)
does not stop the sync: the call is stored as listed, without details, retried once at the end
of the run and again by the next sync (`SyncResult.incomplete` counts what is still missing).
MAX_CONSECUTIVE_FAILURES such failures in a row, a failing listing, or any other error (auth,
the store) stops that provider's sync: what is committed stays committed, and the watermark only
advances after a complete walk. A `ProviderError` lets the other providers finish, then
propagates as the typed error (not an exception group); any other error stops them all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Generic, Protocol, TypeVar, runtime_checkable

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream as ObjectReceiveStream
from anyio.streams.memory import MemoryObjectSendStream as ObjectSendStream

from call_logs_mcp.errors import (
    ConfigurationError,
    InvalidArgumentError,
    ProviderError,
)
from call_logs_mcp.ids import skipped_line, usable_calls
from call_logs_mcp.index.pipeline import (
    TRANSIENT,
    Counters,
    Reporter,
    fetch_record,
    keep_unfinished,
    refetch,
    unwrap,
    write_batches,
)
from call_logs_mcp.index.protocol import IndexStoreProtocol
from call_logs_mcp.index.records import (
    CallRecord,
    FrozenModel,
    StoredState,
    SyncState,
    scope_key,
)
from call_logs_mcp.index.walk import Grace, Job, Walk, as_call
from call_logs_mcp.models import Call, CallPage, CallQuery, CallStatus, CallSummary, PlatformTotals

logger = logging.getLogger(__name__)

DEFAULT_OVERLAP = timedelta(hours=6)
DEFAULT_BATCH = 100
# Calls one listing answer is asked for at most, past its first pages, on a platform whose
# listing carries whole calls (no detail requests to keep the workers busy): the adapter may list
# the pages of one answer side by side, and the writer stores one answer while the next is listed.
WIDE_ANSWER_CALLS = 2000

SyncProgress = Callable[[int, int | None], Awaitable[None] | None]
"""`progress(done, total)`: calls of the walks handled so far (stored as listed, fetched and
stored, or found unchanged; a resumed walk counts from where it stopped), summed over the
providers, and the platforms' total for the scope when each reports one (else None). `done` only
grows, never exceeds a known total, and reaches it when the walks complete."""


# What the engine needs from a platform adapter, structurally: the index knows no platforms.
class ListingCapabilities(Protocol):
    @property
    def list_includes_details(self) -> bool: ...

    @property
    def records_name_campaign(self) -> bool: ...


class SyncProviderInfo(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def max_page_size(self) -> int: ...

    @property
    def capabilities(self) -> ListingCapabilities: ...


class SyncProvider(Protocol):
    """A platform's call logs as the sync engine reads them: pages newest first, then details.

    Raises `ProviderError` subclasses; `get_call` raises `NotFoundError` for an unknown id."""

    @property
    def info(self) -> SyncProviderInfo: ...

    async def list_calls(
        self, query: CallQuery, *, limit: int = 50, cursor: str | None = None
    ) -> CallPage: ...

    async def get_call(self, call_id: str) -> Call: ...


PageHandler = Callable[[CallPage], Awaitable[bool]]


@runtime_checkable
class PagedSyncProvider(SyncProvider, Protocol):
    """A platform whose listing can hand over its calls page by page while one answer goes on
    (pages listed side by side): the engine stores each page while the rest is listed, and
    answers whether it wants more (not once the walk reached its end or is being stopped)."""

    async def list_call_pages(
        self, query: CallQuery, *, limit: int, cursor: str | None = None, on_page: PageHandler | None = None
    ) -> CallPage: ...


# Covariant: a source built around a full adapter is a source for the engine, and whoever built
# it keeps the adapter's own type (to close it, which the engine never does).
ProviderT = TypeVar("ProviderT", bound=SyncProvider, covariant=True)


@dataclass(frozen=True)
class SyncScope:
    """What to sync. `provider=None`: every configured provider. Dates bound `started_at`."""

    provider: str | None = None
    campaign_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class SyncSource(Generic[ProviderT]):
    """One provider account to sync from."""

    provider: ProviderT
    account: str
    max_concurrency: int = 4


class ProviderSyncResult(FrozenModel):
    provider: str
    listed: int
    fetched: int
    added: int
    updated: int
    unchanged: int
    rechecked: int
    incomplete: int = 0  # stored without details: their detail requests kept failing (next sync retries)
    skipped: int = 0  # listed records with an id that cannot address them (never indexed)
    reached_watermark: bool
    platform_calls: int | None


class SyncResult(FrozenModel):
    """What a sync did. `added + updated + unchanged` counts calls looked at."""

    providers: list[ProviderSyncResult]
    listed: int
    fetched: int
    added: int
    updated: int
    unchanged: int
    incomplete: int = 0
    skipped: int = 0
    seconds: float

    def line(self) -> str:
        """One line for the CLI."""
        missing = f", {self.incomplete} without details (retried next sync)" if self.incomplete else ""
        if self.skipped:
            missing += f", {skipped_line(self.skipped)}"
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged{missing} "
            f"({self.listed} listed, {self.fetched} details fetched) in {self.seconds:.1f} s"
        )


def list_fingerprint(call: CallSummary) -> str:
    """How a call looked in a listing. The campaign is left out: some platforms only know it
    when the listing was filtered by campaign. So are signed recording URLs and their expiry:
    a platform that lists full calls may sign them anew for every answer. And the agent: a
    call's agent never changes, and calls listed before the agent was recorded (index version
    4) must not all look changed."""
    data = call.model_dump(
        mode="json", exclude={"campaign_id", "agent", "recording_urls", "recording_urls_expire_at"}
    )
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


async def run_sync(
    store: IndexStoreProtocol,
    providers: Mapping[str, SyncSource[SyncProvider]] | Sequence[SyncSource[SyncProvider]],
    scope: SyncScope | None = None,
    progress: SyncProgress | None = None,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    batch_size: int = DEFAULT_BATCH,
    full: bool = False,
    still_wanted: Callable[[str], Awaitable[bool]] | None = None,
) -> SyncResult:
    """Sync `scope` from `providers` into `store`, the providers side by side.

    Each provider's scope is synced under the store's `sync_lock`: processes sharing the index
    (replicas on one PostgreSQL database, or the CLI beside them) sync a scope one at a time, a
    process waiting while another holds it. Once the lock is held, `still_wanted(provider)`
    (when given) decides whether the sync is still needed (a scheduler's freshness check: the
    process that held the lock may have just synced it); a provider not wanted is left out of
    the result.

    `full=True` ignores the watermark and walks the whole listing (still fetching details only
    for what changed). A provider that fails with a ProviderError does not stop the others;
    once they are done the first such error is raised. Raises ConfigurationError for a provider
    not in `providers`, the ProviderError subclasses of the adapters, and StoreError (which
    stops every provider). Cancelled, each provider keeps what it committed and where its walk
    stands, for the next run to continue.
    """
    scope = scope or SyncScope()
    sources = (
        {source.provider.info.name: source for source in providers}
        if not isinstance(providers, Mapping)
        else dict(providers)
    )
    if scope.provider is not None:
        if scope.provider not in sources:
            known = ", ".join(sorted(sources)) or "none"
            raise ConfigurationError(f"Provider {scope.provider!r} is not configured (configured: {known}).")
        sources = {scope.provider: sources[scope.provider]}
    started = time.perf_counter()
    reporter = Reporter(progress)
    results: dict[str, ProviderSyncResult] = {}
    failures: list[ProviderError] = []

    async def sync_one(name: str, source: SyncSource[SyncProvider], counters: Counters) -> None:
        key = scope_key(scope.campaign_id, scope.since, scope.until)
        try:
            async with store.sync_lock(source.account, name, key):
                if still_wanted is not None and not await still_wanted(name):
                    return
                results[name] = await _sync_provider(
                    store, name, source, scope, counters, reporter, overlap, batch_size, full
                )
        except ProviderError as error:
            failures.append(error)

    try:
        async with anyio.create_task_group() as group:
            for name, source in sorted(sources.items()):
                counters = reporter.parts[name] = Counters()
                group.start_soon(sync_one, name, source, counters)
    except BaseExceptionGroup as group_error:
        raise unwrap(group_error) from None
    if failures:
        raise failures[0]
    await reporter.report()
    ordered = [results[name] for name in sorted(results)]
    return SyncResult(
        providers=ordered,
        listed=sum(r.listed for r in ordered),
        fetched=sum(r.fetched for r in ordered),
        added=sum(r.added for r in ordered),
        updated=sum(r.updated for r in ordered),
        unchanged=sum(r.unchanged for r in ordered),
        incomplete=sum(r.incomplete for r in ordered),
        skipped=sum(r.skipped for r in ordered),
        seconds=round(time.perf_counter() - started, 3),
    )


def _classify(
    calls: Sequence[CallSummary],
    states: Mapping[str, StoredState],
    campaign_id: str | None,
    stop_before: datetime | None,
    carries_details: bool,
    counters: Counters,
) -> tuple[list[Job], bool]:
    """The jobs a listed page gives (its other calls are unchanged), and whether every call on
    it is old and unchanged (the walk has reached the previous one's watermark)."""
    jobs: list[Job] = []
    all_old_and_unchanged = bool(calls)
    for summary in calls:
        fingerprint = list_fingerprint(summary)
        stored = states.get(summary.call_id)
        changed = (
            stored is None
            or stored.list_hash != fingerprint
            or not stored.has_details
            or stored.status is CallStatus.IN_PROGRESS
        )
        old = stop_before is not None and summary.started_at is not None and summary.started_at < stop_before
        if changed or not old:
            all_old_and_unchanged = False
        if (
            not changed
            and campaign_id is not None
            and stored is not None
            and stored.campaign_id != campaign_id
        ):
            # Listed under this campaign, stored without it (a whole-account listing of a
            # platform whose records do not name their campaign): file it here.
            record = CallRecord(as_call(summary), has_details=False, list_hash=fingerprint)
            jobs.append(Job(summary.call_id, fingerprint, summary, needs_details=False, record=record))
        elif not changed:
            counters.unchanged_listed += 1
        elif carries_details and isinstance(summary, Call):
            record = CallRecord(summary, has_details=True, list_hash=fingerprint)
            jobs.append(Job(summary.call_id, fingerprint, summary, needs_details=False, record=record))
        else:
            jobs.append(Job(summary.call_id, fingerprint, summary, needs_details=True))
    return jobs, all_old_and_unchanged


async def _sync_provider(
    store: IndexStoreProtocol,
    name: str,
    source: SyncSource[SyncProvider],
    scope: SyncScope,
    counters: Counters,
    reporter: Reporter,
    overlap: timedelta,
    batch_size: int,
    full: bool,
) -> ProviderSyncResult:
    provider = source.provider
    account = source.account
    key = scope_key(scope.campaign_id, scope.since, scope.until)
    previous = await store.load_sync_state(account, name, key)
    attempt_at = datetime.now(UTC)
    watermark = previous.watermark if previous and previous.last_synced_at and not full else None
    stop_before = watermark - overlap if watermark is not None else None
    query = CallQuery(campaign_id=scope.campaign_id, from_date=scope.since, to_date=scope.until)
    page_size = max(1, provider.info.max_page_size)
    workers = max(1, source.max_concurrency)
    walk = counters.walk = Walk.start(previous.resume if previous else None, attempt_at)
    grace = Grace()

    platform: PlatformTotals | None = None
    reached_watermark = False

    def state(*, complete: bool) -> SyncState:
        names_campaigns = provider.info.capabilities.records_name_campaign
        if complete:
            marks = [w for w in (previous.watermark if previous else None, walk.newest) if w is not None]
            return SyncState(
                scope=key,
                campaign_id=scope.campaign_id,
                since=scope.since,
                until=scope.until,
                watermark=max(marks, default=None),
                # The walk covers the platform as it was when it listed its first page.
                last_synced_at=walk.began,
                last_attempt_at=attempt_at,
                # Totals describe the whole scope from whichever page they came; keep the
                # previous ones if this platform reports none.
                platform=platform if platform is not None else (previous.platform if previous else None),
                status_totals=previous.status_totals if previous else None,
                names_campaigns=names_campaigns,
            )
        return SyncState(
            scope=key,
            campaign_id=scope.campaign_id,
            since=scope.since,
            until=scope.until,
            watermark=previous.watermark if previous else None,
            last_synced_at=previous.last_synced_at if previous else None,
            last_attempt_at=attempt_at,
            platform=platform if platform is not None else (previous.platform if previous else None),
            status_totals=previous.status_totals if previous else None,
            names_campaigns=previous.names_campaigns if previous else names_campaigns,
            resume=walk.resume_point(),
        )

    # A listing of whole calls leaves the fetchers idle: past its first page, a walk with no
    # watermark asks WIDE_ANSWER_CALLS per answer; an incremental one (which usually reaches its
    # watermark in its first two pages) asks twice as many pages as the answer before, up to
    # that, so the adapter can list them side by side (e.g. as
    # adjacent time windows asked at once); the writer's queue holds a whole answer, so the next
    # one is listed while it is stored.
    carries = provider.info.capabilities.list_includes_details
    widest = max(1, WIDE_ANSWER_CALLS // page_size) if carries else 1
    answers = 0

    fetch_send, fetch_recv = anyio.create_memory_object_stream[Job](page_size)
    write_send, write_recv = anyio.create_memory_object_stream[CallRecord](page_size * 2)

    async def list_page(cursor: str | None, on_page: PageHandler) -> CallPage:
        nonlocal answers
        if cursor is None:
            pages = 1
        elif stop_before is None:
            pages = widest  # a whole walk: nothing to stop at early
        else:
            pages = min(widest, 2 ** max(0, answers - 1))
        answers += 1
        limit = page_size * pages
        if isinstance(provider, PagedSyncProvider):
            return await provider.list_call_pages(query, limit=limit, cursor=cursor, on_page=on_page)
        return await provider.list_calls(query, limit=limit, cursor=cursor)

    async def lister(fetch_out: ObjectSendStream[Job], write_out: ObjectSendStream[CallRecord]) -> None:
        nonlocal platform, reached_watermark
        first = True

        async def take(page: CallPage) -> bool:
            """Register a listed page and pass its jobs on; whether the walk wants more. Also
            called by an adapter that hands pages over while its answer goes on (shielded like
            its requests): once the sync is stopping it asks for nothing more, and once the writer
            is gone the page stays registered and its records are kept as the walk stops."""
            nonlocal first, platform, reached_watermark
            if walk.listed_all:
                return False  # the walk reached its end (the watermark) earlier in this answer
            if first:
                first = False
                platform = page.totals
                counters.total = page.totals.calls if page.totals is not None else None
            calls, skipped = usable_calls(name, page.calls)
            counters.skipped += skipped
            counters.listed += len(calls)
            with anyio.CancelScope(shield=True):
                # A short local read, shielded so that a page listed is always registered.
                states = await store.stored_states(account, name, [c.call_id for c in calls])
            jobs, reached = _classify(
                calls,
                states,
                scope.campaign_id,
                stop_before,
                provider.info.capabilities.list_includes_details,
                counters,
            )
            reached_watermark = reached_watermark or reached
            try:
                for job in walk.take_page(calls, jobs, page.next_cursor, last=reached):
                    if job.record is not None:
                        await write_out.send(job.record)
                    else:
                        await fetch_out.send(job)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return False
            await reporter.report()
            return not walk.listed_all and not grace.stopping

        async with fetch_out, write_out:
            stored_cursor = walk.resumed
            while not walk.listed_all:
                try:
                    page = await grace.run(partial(list_page, walk.cursor, take))
                except InvalidArgumentError:
                    if not stored_cursor:
                        raise
                    logger.info("%s: the stored listing position was refused; walking from the top", name)
                    stored_cursor = False
                    walk.restart(datetime.now(UTC))
                    continue
                stored_cursor = False
                await take(page)

    # Registered before the lister starts, so a page that lists one of these calls again
    # leaves it to this job.
    owed = walk.owed_jobs()

    async def feed_owed(fetch_out: ObjectSendStream[Job]) -> None:
        async with fetch_out:
            for job in owed:
                await fetch_out.send(job)

    async def fetcher(inbox: ObjectReceiveStream[Job], write_out: ObjectSendStream[CallRecord]) -> None:
        async with inbox, write_out:
            async for job in inbox:
                record: CallRecord | None
                try:
                    record = await grace.run(partial(fetch_record, provider, job))
                except TRANSIENT as error:
                    counters.failed(error)
                    counters.deferred[job.call_id] = (job.summary, job.fingerprint)
                    if job.summary is None:
                        walk.drop(job)  # still stored as listed, still owed
                        continue
                    record = CallRecord(as_call(job.summary), has_details=False, list_hash=job.fingerprint)
                else:
                    counters.consecutive_failures = 0
                    counters.fetched += 1
                    if record is None:
                        walk.drop(job, gone=True)
                        continue
                job.record = record
                await write_out.send(record)

    async def committed(records: list[CallRecord]) -> None:
        if walk.committed(records):
            await store.save_sync_state(account, name, state(complete=False))

    async def writer(inbox: ObjectReceiveStream[CallRecord]) -> None:
        await write_batches(store, account, name, inbox, counters, reporter, batch_size, committed)
        grace.stop()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(grace.watch)
            tg.start_soon(writer, write_recv)
            for _ in range(workers):
                tg.start_soon(fetcher, fetch_recv.clone(), write_send.clone())
            tg.start_soon(feed_owed, fetch_send.clone())
            tg.start_soon(lister, fetch_send, write_send.clone())
            fetch_recv.close()
            write_send.close()
    except BaseException as stopped:
        with anyio.CancelScope(shield=True):
            await keep_unfinished(store, account, name, walk, counters, partial(state, complete=False))
        if isinstance(stopped, BaseExceptionGroup):
            raise unwrap(stopped) from None
        raise

    await store.save_sync_state(account, name, state(complete=True))
    counters.complete = True

    # Second chances: details that failed during the walk, then (when the walk stopped at the
    # watermark) stored calls still in progress or without details that were not listed.
    retry: list[tuple[str, CallSummary | None, str | None]] = [
        (call_id, summary, fingerprint) for call_id, (summary, fingerprint) in counters.deferred.items()
    ]
    if reached_watermark:
        pending = await store.calls_to_recheck(
            account, name, campaign_id=scope.campaign_id, since=scope.since, until=scope.until
        )
        listed = set(walk.seen)
        retry += [(call_id, None, None) for call_id in pending if call_id not in listed]
    if retry:
        try:
            await refetch(store, name, source, retry, counters, reporter, batch_size, workers)
        except BaseExceptionGroup as group:
            raise unwrap(group) from None
    return ProviderSyncResult(
        provider=name,
        listed=counters.listed,
        fetched=counters.fetched,
        added=counters.counts.added,
        updated=counters.counts.updated,
        unchanged=counters.counts.unchanged + counters.unchanged_listed,
        rechecked=counters.rechecked,
        incomplete=counters.incomplete,
        skipped=counters.skipped,
        reached_watermark=reached_watermark,
        platform_calls=platform.calls if platform else None,
    )
