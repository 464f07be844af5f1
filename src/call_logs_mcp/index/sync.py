"""The sync engine: bring the local index up to date with the platforms, incrementally.

A scope is provider × optional campaign × optional date range. For each provider in scope:

1. List pages newest first. For each listed call compare a fingerprint of how it was listed with
   what is stored: new calls, changed calls, calls stored without details and calls still in
   progress need their details; the rest are unchanged. When the platform's listing already
   carries full calls (Prosper's OpenAPI variant) they are stored as listed, without a detail
   request.
2. Details are fetched by a bounded pool of workers (`max_concurrency`; the HTTP layer enforces
   the platform rate limit and retries 429/5xx) and written by one writer in batches, each batch
   one transaction. A crash loses at most the batch in flight; the next run converges because
   stored calls are recognised as unchanged.
3. Each scope keeps a watermark: the newest start time seen by the last *complete* walk. The next
   walk stops at the first page whose calls all started before `watermark - overlap` and are
   unchanged. The overlap absorbs calls the platform lists late (in-progress calls, clock skew
   between its servers); stored calls that are still in progress (or lack details) and were not
   listed are re-fetched one by one after the walk, until they are final.

Errors: a detail request that still fails after the HTTP layer's retries (5xx, 429, bad JSON)
does not stop the sync: the call is stored as listed, without details, retried once at the end
of the run and again by the next sync (`SyncResult.incomplete` counts what is still missing).
MAX_CONSECUTIVE_FAILURES such failures in a row, a failing listing, or any other error (auth,
the store) stops the sync: what is committed stays committed, the error propagates as the typed
`ProviderError` (not an exception group), and the watermark only advances after a complete walk.
Cancellation (e.g. a time budget) also keeps what was committed, including fetched calls still
queued for the writer.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream as ObjectReceiveStream
from anyio.streams.memory import MemoryObjectSendStream as ObjectSendStream

from call_logs_mcp.errors import (
    ConfigurationError,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
)
from call_logs_mcp.index.records import CallRecord, FrozenModel, SyncState, UpsertCounts, scope_key
from call_logs_mcp.index.store import IndexStore
from call_logs_mcp.models import Call, CallPage, CallQuery, CallStatus, CallSummary, PlatformTotals

logger = logging.getLogger(__name__)

DEFAULT_OVERLAP = timedelta(hours=6)
DEFAULT_BATCH = 100
FLUSH_SECONDS = 1.0
MAX_CONSECUTIVE_FAILURES = 8
# Failures of one detail request (after the HTTP layer's own retries) that do not stop a sync:
# the call is stored as listed, without details, retried at the end of the run and by the next.
TRANSIENT = (UnavailableError, RateLimitedError, MalformedResponseError)

SyncProgress = Callable[[int, int, int | None], Awaitable[None] | None]
"""`progress(listed, fetched, total)`: calls listed so far, details fetched so far, and the
number of calls the walk will list when the platform said so (else None)."""


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
    seconds: float

    def line(self) -> str:
        """One line for the CLI."""
        missing = f", {self.incomplete} without details (retried next sync)" if self.incomplete else ""
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged{missing} "
            f"({self.listed} listed, {self.fetched} details fetched) in {self.seconds:.1f} s"
        )


def list_fingerprint(call: CallSummary) -> str:
    """How a call looked in a listing. The campaign is left out: some platforms only know it
    when the listing was filtered by campaign."""
    data = call.model_dump(mode="json", exclude={"campaign_id"})
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _as_call(summary: CallSummary) -> Call:
    if isinstance(summary, Call):
        return summary
    return Call.model_validate(summary.model_dump())


@dataclass
class _Counters:
    listed: int = 0
    fetched: int = 0
    total: int | None = None
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rechecked: int = 0
    unchanged_listed: int = 0
    incomplete: int = 0
    # Detail requests that failed transiently in a row (any worker); MAX_CONSECUTIVE_FAILURES
    # of them is an outage, and the sync stops with that error.
    consecutive_failures: int = 0
    deferred: dict[str, tuple[CallSummary, str]] = field(default_factory=dict)

    def failed(self, error: ProviderError) -> None:
        self.consecutive_failures += 1
        if self.consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
            raise error

    def add(self, counts: UpsertCounts) -> None:
        self.counts = UpsertCounts(
            added=self.counts.added + counts.added,
            updated=self.counts.updated + counts.updated,
            unchanged=self.counts.unchanged + counts.unchanged,
        )


class _Reporter:
    """Sums progress over providers and calls the user's callback (sync or async)."""

    def __init__(self, callback: SyncProgress | None) -> None:
        self.callback = callback
        self.parts: dict[str, _Counters] = {}

    async def report(self) -> None:
        if self.callback is None:
            return
        listed = sum(c.listed for c in self.parts.values())
        fetched = sum(c.fetched for c in self.parts.values())
        totals = [c.total for c in self.parts.values()]
        total = sum(t for t in totals if t is not None) if totals and None not in totals else None
        result = self.callback(listed, fetched, total)
        if inspect.isawaitable(result):
            await result


def _unwrap(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error in a task group's exception group."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _unwrap(exc)
        if not isinstance(exc, anyio.get_cancelled_exc_class()):
            return exc
    return group


async def run_sync(
    store: IndexStore,
    providers: Mapping[str, SyncSource[SyncProvider]] | Sequence[SyncSource[SyncProvider]],
    scope: SyncScope | None = None,
    progress: SyncProgress | None = None,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    batch_size: int = DEFAULT_BATCH,
    full: bool = False,
) -> SyncResult:
    """Sync `scope` from `providers` into `store`, one provider after the other.

    `full=True` ignores the watermark and walks the whole listing (still fetching details only
    for what changed). Raises ConfigurationError for a provider not in `providers`, the
    ProviderError subclasses of the adapters, and StoreError.
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
    reporter = _Reporter(progress)
    results: list[ProviderSyncResult] = []
    for name, source in sorted(sources.items()):
        counters = reporter.parts[name] = _Counters()
        try:
            result = await _sync_provider(
                store, name, source, scope, counters, reporter, overlap, batch_size, full
            )
        except BaseExceptionGroup as group:
            raise _unwrap(group) from None
        results.append(result)
    await reporter.report()
    return SyncResult(
        providers=results,
        listed=sum(r.listed for r in results),
        fetched=sum(r.fetched for r in results),
        added=sum(r.added for r in results),
        updated=sum(r.updated for r in results),
        unchanged=sum(r.unchanged for r in results),
        incomplete=sum(r.incomplete for r in results),
        seconds=round(time.perf_counter() - started, 3),
    )


async def _sync_provider(
    store: IndexStore,
    name: str,
    source: SyncSource[SyncProvider],
    scope: SyncScope,
    counters: _Counters,
    reporter: _Reporter,
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

    listed_ids: set[str] = set()
    newest: datetime | None = None
    platform: PlatformTotals | None = None
    reached_watermark = False

    fetch_send, fetch_recv = anyio.create_memory_object_stream[tuple[CallSummary, str]](page_size)
    write_send, write_recv = anyio.create_memory_object_stream[CallRecord](page_size * 2)

    async def lister(
        fetch_out: ObjectSendStream[tuple[CallSummary, str]], write_out: ObjectSendStream[CallRecord]
    ) -> None:
        nonlocal newest, platform, reached_watermark
        async with fetch_out, write_out:
            cursor: str | None = None
            first = True
            while True:
                page = await provider.list_calls(query, limit=page_size, cursor=cursor)
                if first:
                    first = False
                    platform = page.totals
                    if stop_before is None and page.totals is not None:
                        counters.total = page.totals.calls
                counters.listed += len(page.calls)
                states = await store.stored_states(account, name, [c.call_id for c in page.calls])
                carries_details = provider.info.capabilities.list_includes_details
                all_old_and_unchanged = bool(page.calls)
                for summary in page.calls:
                    listed_ids.add(summary.call_id)
                    if summary.started_at is not None and (newest is None or summary.started_at > newest):
                        newest = summary.started_at
                    fingerprint = list_fingerprint(summary)
                    stored = states.get(summary.call_id)
                    changed = (
                        stored is None
                        or stored.list_hash != fingerprint
                        or not stored.has_details
                        or stored.status is CallStatus.IN_PROGRESS
                    )
                    old = (
                        stop_before is not None
                        and summary.started_at is not None
                        and summary.started_at < stop_before
                    )
                    if changed or not old:
                        all_old_and_unchanged = False
                    if (
                        not changed
                        and scope.campaign_id is not None
                        and stored is not None
                        and (stored.campaign_id != scope.campaign_id)
                    ):
                        # Listed under this campaign, stored without it (a whole-account listing
                        # of a platform whose records do not name their campaign): file it here.
                        await write_out.send(
                            CallRecord(_as_call(summary), has_details=False, list_hash=fingerprint)
                        )
                    elif not changed:
                        counters.unchanged_listed += 1
                    elif carries_details and isinstance(summary, Call):
                        await write_out.send(CallRecord(summary, True, fingerprint))
                    else:
                        await fetch_out.send((summary, fingerprint))
                await reporter.report()
                if all_old_and_unchanged:
                    reached_watermark = True
                    return
                cursor = page.next_cursor
                if cursor is None:
                    return

    async def fetcher(
        inbox: ObjectReceiveStream[tuple[CallSummary, str]], write_out: ObjectSendStream[CallRecord]
    ) -> None:
        async with inbox, write_out:
            async for summary, fingerprint in inbox:
                try:
                    record = await _fetch_record(provider, summary, fingerprint)
                except TRANSIENT as error:
                    counters.failed(error)
                    counters.deferred[summary.call_id] = (summary, fingerprint)
                    record = CallRecord(_as_call(summary), has_details=False, list_hash=fingerprint)
                else:
                    counters.consecutive_failures = 0
                    counters.fetched += 1
                await write_out.send(record)

    async def writer(inbox: ObjectReceiveStream[CallRecord]) -> None:
        await _write_batches(store, account, name, inbox, counters, reporter, batch_size)

    async with anyio.create_task_group() as tg:
        tg.start_soon(writer, write_recv)
        for _ in range(workers):
            tg.start_soon(fetcher, fetch_recv.clone(), write_send.clone())
        tg.start_soon(lister, fetch_send, write_send.clone())
        fetch_recv.close()
        write_send.close()

    # Second chances: details that failed during the walk, then (when the walk stopped at the
    # watermark) stored calls still in progress or without details that were not listed.
    retry: list[tuple[str, CallSummary | None, str | None]] = [
        (call_id, summary, fingerprint) for call_id, (summary, fingerprint) in counters.deferred.items()
    ]
    if reached_watermark:
        pending = await store.calls_to_recheck(
            account, name, campaign_id=scope.campaign_id, since=scope.since, until=scope.until
        )
        retry += [(call_id, None, None) for call_id in pending if call_id not in listed_ids]
    if retry:
        await _refetch(store, name, source, retry, counters, reporter, batch_size, workers)

    new_watermark = max((w for w in (watermark, newest) if w is not None), default=None)
    if previous is not None and previous.watermark is not None and new_watermark is not None:
        new_watermark = max(new_watermark, previous.watermark)
    await store.save_sync_state(
        account,
        name,
        SyncState(
            scope=key,
            campaign_id=scope.campaign_id,
            since=scope.since,
            until=scope.until,
            watermark=new_watermark,
            last_synced_at=attempt_at,
            last_attempt_at=attempt_at,
            # Totals describe the whole scope only when the walk started from the top, which it
            # always does; keep the previous ones if this platform reports none.
            platform=platform if platform is not None else (previous.platform if previous else None),
            status_totals=previous.status_totals if previous else None,
            names_campaigns=provider.info.capabilities.records_name_campaign,
        ),
    )
    return ProviderSyncResult(
        provider=name,
        listed=counters.listed,
        fetched=counters.fetched,
        added=counters.counts.added,
        updated=counters.counts.updated,
        unchanged=counters.counts.unchanged + counters.unchanged_listed,
        rechecked=counters.rechecked,
        incomplete=counters.incomplete,
        reached_watermark=reached_watermark,
        platform_calls=platform.calls if platform else None,
    )


async def _fetch_record(provider: SyncProvider, summary: CallSummary, fingerprint: str) -> CallRecord:
    try:
        call = await provider.get_call(summary.call_id)
    except NotFoundError:
        # Listed but gone (or not yet visible) in detail: keep what the listing said; the next
        # sync tries again because the record has no details.
        logger.info("%s: a listed call has no detail record yet", provider.info.name)
        return CallRecord(_as_call(summary), has_details=False, list_hash=fingerprint)
    if call.campaign_id is None and summary.campaign_id is not None:
        call = call.model_copy(update={"campaign_id": summary.campaign_id})
    return CallRecord(call, has_details=True, list_hash=fingerprint)


async def _write_batches(
    store: IndexStore,
    account: str,
    name: str,
    inbox: ObjectReceiveStream[CallRecord],
    counters: _Counters,
    reporter: _Reporter,
    batch_size: int,
) -> None:
    batch: list[CallRecord] = []

    async def flush() -> None:
        if not batch:
            return
        counters.add(await store.upsert(account, name, batch))
        batch.clear()  # only once committed: a cancelled write is retried below
        await reporter.report()

    async with inbox:
        try:
            deadline = time.monotonic() + FLUSH_SECONDS
            while True:
                record: CallRecord | None = None
                with anyio.move_on_after(max(0.0, deadline - time.monotonic())):
                    try:
                        record = await inbox.receive()
                    except anyio.EndOfStream:
                        break
                if record is not None:
                    batch.append(record)
                if len(batch) >= batch_size or time.monotonic() >= deadline:
                    await flush()
                    deadline = time.monotonic() + FLUSH_SECONDS
            await flush()
        except BaseException:
            # Another task failed (or we were cancelled): keep what was already fetched,
            # including records still queued for us.
            while True:
                try:
                    batch.append(inbox.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                    break
            with anyio.CancelScope(shield=True):
                try:
                    await flush()
                except Exception:
                    logger.warning("could not save the last batch of an interrupted sync")
            raise


async def _refetch(
    store: IndexStore,
    name: str,
    source: SyncSource[SyncProvider],
    items: list[tuple[str, CallSummary | None, str | None]],
    counters: _Counters,
    reporter: _Reporter,
    batch_size: int,
    workers: int,
) -> None:
    """Fetch these calls' details once more: (id, listed summary or None, list fingerprint)."""
    ids_send, ids_recv = anyio.create_memory_object_stream[tuple[str, CallSummary | None, str | None]](
        workers
    )
    write_send, write_recv = anyio.create_memory_object_stream[CallRecord](batch_size)

    async def feed(out: ObjectSendStream[tuple[str, CallSummary | None, str | None]]) -> None:
        async with out:
            for item in items:
                await out.send(item)

    async def fetcher(
        inbox: ObjectReceiveStream[tuple[str, CallSummary | None, str | None]],
        write_out: ObjectSendStream[CallRecord],
    ) -> None:
        async with inbox, write_out:
            async for call_id, summary, fingerprint in inbox:
                try:
                    call = await source.provider.get_call(call_id)
                except NotFoundError:
                    continue
                except TRANSIENT as error:
                    counters.failed(error)
                    counters.incomplete += 1
                    continue
                counters.consecutive_failures = 0
                counters.fetched += 1
                if summary is None:
                    counters.rechecked += 1
                elif call.campaign_id is None and summary.campaign_id is not None:
                    call = call.model_copy(update={"campaign_id": summary.campaign_id})
                await write_out.send(CallRecord(call, True, fingerprint))

    async with anyio.create_task_group() as tg:
        tg.start_soon(_write_batches, store, source.account, name, write_recv, counters, reporter, batch_size)
        for _ in range(workers):
            tg.start_soon(fetcher, ids_recv.clone(), write_send.clone())
        tg.start_soon(feed, ids_send)
        ids_recv.close()
        write_send.close()
