"""The workers of a sync walk: counters and progress, detail fetches, the batch writer, second
chances, and keeping what a stopped walk listed. `sync` drives them; see its docstring."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream as ObjectReceiveStream
from anyio.streams.memory import MemoryObjectSendStream as ObjectSendStream

from call_logs_mcp.errors import (
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
)
from call_logs_mcp.index.protocol import IndexStoreProtocol
from call_logs_mcp.index.records import CallRecord, SyncState, UpsertCounts
from call_logs_mcp.index.walk import Job, Walk, as_call
from call_logs_mcp.models import CallSummary

if TYPE_CHECKING:
    from call_logs_mcp.index.sync import SyncProgress, SyncProvider, SyncSource

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
MAX_CONSECUTIVE_FAILURES = 8
# Failures of one detail request (after the HTTP layer's own retries) that do not stop a sync:
# the call is stored as listed, without details, retried at the end of the run and by the next.
TRANSIENT = (UnavailableError, RateLimitedError, MalformedResponseError)


@dataclass
class Counters:
    listed: int = 0
    fetched: int = 0
    total: int | None = None
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rechecked: int = 0
    unchanged_listed: int = 0
    incomplete: int = 0
    # Listed records whose id cannot address them (`ids.usable_id`): skipped, never indexed.
    skipped: int = 0
    # Detail requests that failed transiently in a row (any worker); MAX_CONSECUTIVE_FAILURES
    # of them is an outage, and the sync stops with that error.
    consecutive_failures: int = 0
    # Retried after the walk: call id -> (listed summary, or None for a detail owed from an
    # earlier run, list fingerprint).
    deferred: dict[str, tuple[CallSummary | None, str]] = field(default_factory=dict)
    walk: Walk | None = None
    complete: bool = False

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

    def done(self) -> int:
        """Calls of the walk handled, within the platform's total when it gave one (a listing
        that grows while it is walked lists more); a complete walk has handled them all."""
        done = self.walk.done if self.walk is not None else 0
        if self.total is None:
            return done
        return self.total if self.complete else min(done, self.total)


class Reporter:
    """Sums progress over providers and calls the user's callback (sync or async)."""

    def __init__(self, callback: SyncProgress | None) -> None:
        self.callback = callback
        self.parts: dict[str, Counters] = {}
        self.shown = 0

    async def report(self) -> None:
        if self.callback is None:
            return
        totals = [c.total for c in self.parts.values()]
        total = sum(t for t in totals if t is not None) if totals and None not in totals else None
        # Only grows (a walk that starts over from the top counts from 0 again), within the total.
        done = max(self.shown, sum(c.done() for c in self.parts.values()))
        if total is not None:
            done = min(done, total)
        self.shown = done
        result = self.callback(done, total)
        if inspect.isawaitable(result):
            await result


def unwrap(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error in a task group's exception group."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return unwrap(exc)
        if not isinstance(exc, anyio.get_cancelled_exc_class()):
            return exc
    return group


async def keep_unfinished(
    store: IndexStoreProtocol,
    account: str,
    name: str,
    walk: Walk,
    counters: Counters,
    state: Callable[[], SyncState],
) -> None:
    """Store the records a stopped walk has ready, and where it stands (with the details it still
    owes). Logs (does not raise) when the store fails too: the error that stopped the walk is
    the one to report."""
    records = walk.stop()
    try:
        if records:
            counters.add(await store.upsert(account, name, records))
            walk.committed(records)
        await store.save_sync_state(account, name, state())
    except Exception:
        logger.warning("%s: could not save where the interrupted sync stopped", name)


async def fetch_record(provider: SyncProvider, job: Job) -> CallRecord | None:
    """The call with its details; as listed when the platform has no detail record for it (yet),
    or None for a detail owed from an earlier run whose call the platform no longer has."""
    try:
        call = await provider.get_call(job.call_id)
    except NotFoundError:
        # Listed but gone (or not yet visible) in detail: keep what the listing said; the next
        # sync tries again because the record has no details.
        logger.info("%s: a listed call has no detail record yet", provider.info.name)
        if job.summary is None:
            return None
        return CallRecord(as_call(job.summary), has_details=False, list_hash=job.fingerprint)
    if call.call_id != job.call_id:
        # The id we asked by is the one that addresses the call; a detail naming another id
        # (or one that could not address it) is stored under the listed id.
        call = call.model_copy(update={"call_id": job.call_id})
    listed_campaign = job.summary.campaign_id if job.summary is not None else None
    if call.campaign_id is None and listed_campaign is not None:
        call = call.model_copy(update={"campaign_id": listed_campaign})
    return CallRecord(call, has_details=True, list_hash=job.fingerprint)


async def write_batches(
    store: IndexStoreProtocol,
    account: str,
    name: str,
    inbox: ObjectReceiveStream[CallRecord],
    counters: Counters,
    reporter: Reporter,
    batch_size: int,
    on_commit: Callable[[list[CallRecord]], Awaitable[None]] | None = None,
) -> None:
    batch: list[CallRecord] = []

    async def flush() -> None:
        if not batch:
            return
        counters.add(await store.upsert(account, name, batch))
        stored = list(batch)
        batch.clear()  # only once committed: a cancelled write is retried below
        if on_commit is not None:
            await on_commit(stored)
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


async def refetch(
    store: IndexStoreProtocol,
    name: str,
    source: SyncSource[SyncProvider],
    items: list[tuple[str, CallSummary | None, str | None]],
    counters: Counters,
    reporter: Reporter,
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
        tg.start_soon(write_batches, store, source.account, name, write_recv, counters, reporter, batch_size)
        for _ in range(workers):
            tg.start_soon(fetcher, ids_recv.clone(), write_send.clone())
        tg.start_soon(feed, ids_send)
        ids_recv.close()
        write_send.close()
