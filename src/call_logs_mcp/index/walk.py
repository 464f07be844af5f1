"""The bookkeeping of one walk of a sync scope: which listed calls are still owed to the index,
where a later run can resume, and how requests already sent finish when the walk is cancelled.

A walk lists pages newest first. Each listed call is handled (found unchanged) or becomes a job:
a record to store (the listing carried it) or a detail to fetch and then store. A page is
*committed* once every job of it is stored; the resume point is the cursor after the last page
of the committed prefix, so a run that stops (crash included) leaves a point from which nothing
is lost. A run that is cancelled or fails first stores the records it has ready and moves the
calls still waiting for details, with their listing, to `pending`: then every page it listed is
committed, and the next run lists no page again and fetches only the details still owed. (Calls
are not stored as listed at that point, so the index never counts as indexed a call whose
transcript is merely on its way.)
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import anyio
import anyio.lowlevel

from call_logs_mcp.index.records import CallRecord, PendingDetail, WalkResume
from call_logs_mcp.models import Call, CallSummary

logger = logging.getLogger(__name__)

# How long requests already sent may still finish once a walk is cancelled (or failed): their
# answers are stored instead of being asked for again by the next run. Bounded, so a
# cancellation takes effect within this time even when the platform stalls.
CANCEL_GRACE_SECONDS = 1.0

T = TypeVar("T")


def as_call(summary: CallSummary) -> Call:
    """A listed call as a `Call` record (no transcript unless the listing carried one)."""
    if isinstance(summary, Call):
        return summary
    return Call.model_validate(summary.model_dump())


@dataclass(eq=False)
class Page:
    """A listed page: how many calls it had, how many of its jobs are not stored yet, and the
    cursor of the page after it (`last`: the walk lists nothing after it)."""

    calls: int
    next_cursor: str | None
    last: bool
    open: int = 0


@dataclass(eq=False)
class Job:
    """A listed call the index is owed. `record` is set once it is ready to store; a job
    `needs_details` when it waits for a detail request. `summary` is how it was listed, None for
    a detail owed since an earlier run for a call stored as listed. `page`: the page of this run
    that listed it (None for details owed since an earlier run)."""

    call_id: str
    fingerprint: str
    summary: CallSummary | None
    needs_details: bool
    record: CallRecord | None = None
    page: Page | None = None


@dataclass
class Walk:
    """One walk of one scope, over as many runs as it takes (see the module docstring)."""

    began: datetime
    cursor: str | None = None  # the next page to list (None: the top)
    listed_all: bool = False
    newest: datetime | None = None
    base_done: int = 0  # calls handled by the runs before this one
    resumed: bool = False  # started from a stored cursor, which the platform may refuse
    owed: dict[str, PendingDetail] = field(default_factory=dict)  # details still owed
    jobs: dict[str, Job] = field(default_factory=dict)
    pages: deque[Page] = field(default_factory=deque)
    # The committed prefix: where the next run starts, and the calls handled up to there.
    committed_cursor: str | None = None
    committed_all: bool = False
    committed_done: int = 0
    listed: int = 0  # calls listed by this run
    open_jobs: int = 0  # jobs of this run's pages not stored yet
    owed_stored: int = 0  # calls owed by an earlier run, not stored then, stored by this one
    put_off: int = 0  # calls of this run's pages moved to `owed` unstored when it stopped
    seen: set[str] = field(default_factory=set)  # ids listed by this run

    @classmethod
    def start(cls, resume: WalkResume | None, now: datetime) -> Walk:
        if resume is None:
            return cls(began=now)
        return cls(
            began=resume.began,
            cursor=resume.cursor,
            listed_all=resume.listed_all,
            newest=resume.newest,
            base_done=resume.done,
            resumed=resume.cursor is not None,
            owed=dict(resume.pending),
            committed_cursor=resume.cursor,
            committed_all=resume.listed_all,
            committed_done=resume.done,
        )

    def restart(self, now: datetime) -> None:
        """Walk from the top again (the platform refused the stored cursor); details owed stay."""
        self.began = now
        self.cursor = self.committed_cursor = None
        self.listed_all = self.committed_all = self.resumed = False
        self.base_done = self.committed_done = 0

    @property
    def done(self) -> int:
        """Calls of the walk handled so far: stored (or found unchanged) by an earlier run, or
        listed by this one and not waiting for a store."""
        return self.base_done + self.listed - self.open_jobs + self.owed_stored

    def owed_jobs(self) -> list[Job]:
        """Jobs for the details owed since an earlier run."""
        owed = [Job(call_id, p.fingerprint, p.listed, True) for call_id, p in self.owed.items()]
        for job in owed:
            self.jobs[job.call_id] = job
        return owed

    def take_page(
        self, calls: list[CallSummary], jobs: Iterable[Job], next_cursor: str | None, last: bool
    ) -> list[Job]:
        """Register a listed page and its jobs (calls not among them were unchanged); the jobs
        this walk did not already have, to hand to the fetchers or the writer."""
        page = Page(calls=len(calls), next_cursor=next_cursor, last=last or next_cursor is None)
        self.listed += len(calls)
        for call in calls:
            self.seen.add(call.call_id)
            if call.started_at is not None and (self.newest is None or call.started_at > self.newest):
                self.newest = call.started_at
        fresh: list[Job] = []
        for job in jobs:
            if job.call_id in self.jobs:
                continue  # listed again (the listing shifted): the job already open covers it
            job.page = page
            page.open += 1
            self.open_jobs += 1
            self.jobs[job.call_id] = job
            fresh.append(job)
        self.pages.append(page)
        self.cursor, self.listed_all = page.next_cursor, page.last
        self._advance()
        return fresh

    def drop(self, job: Job, *, gone: bool = False) -> None:
        """Forget a job this run will not store: a detail owed from an earlier run that failed
        again (it stays owed) or whose call the platform no longer has (`gone`)."""
        if gone:
            self.owed.pop(job.call_id, None)
        if self.jobs.get(job.call_id) is job:
            del self.jobs[job.call_id]
            self._close(job)

    def committed(self, records: Iterable[CallRecord]) -> bool:
        """Records stored (one transaction); whether the resume point moved."""
        for record in records:
            job = self.jobs.pop(record.call.call_id, None)
            if job is None:
                continue
            if job.page is None and job.summary is not None:
                self.owed_stored += 1
            if job.needs_details:
                if record.has_details:
                    self.owed.pop(job.call_id, None)
                else:
                    self.owed[job.call_id] = PendingDetail(fingerprint=job.fingerprint)
            self._close(job)
        return self._advance()

    def stop(self) -> list[CallRecord]:
        """The run stops early: the records ready to store (to store, then pass to `committed`);
        the calls still waiting for details move to `owed` with their listing. After that every
        page this run listed is committed."""
        ready: list[CallRecord] = []
        for job in list(self.jobs.values()):
            if job.record is not None:
                ready.append(job.record)
                continue
            if job.summary is not None:
                listed = job.summary.summary_only() if isinstance(job.summary, Call) else job.summary
                self.owed[job.call_id] = PendingDetail(fingerprint=job.fingerprint, listed=listed)
                if job.page is not None:
                    self.put_off += 1
            del self.jobs[job.call_id]
            self._close(job)
        self._advance()
        return ready

    def resume_point(self) -> WalkResume:
        """Where the next run continues (the committed prefix)."""
        return WalkResume(
            began=self.began,
            cursor=self.committed_cursor,
            listed_all=self.committed_all,
            newest=self.newest,
            done=self.committed_done + self.owed_stored - self.put_off,
            pending=dict(self.owed),
        )

    def _close(self, job: Job) -> None:
        if job.page is not None:
            job.page.open -= 1
            self.open_jobs -= 1
            job.page = None

    def _advance(self) -> bool:
        moved = False
        while self.pages and self.pages[0].open == 0:
            page = self.pages.popleft()
            self.committed_cursor, self.committed_all = page.next_cursor, page.last
            self.committed_done += page.calls
            moved = True
        return moved


class Grace:
    """Lets requests already under way finish when the walk is cancelled or fails, for at most
    CANCEL_GRACE_SECONDS. `watch` runs beside the walk's tasks and is cancelled with them (or
    by `stop` when the walk ends); from then on `run` starts nothing new."""

    def __init__(self, seconds: float = CANCEL_GRACE_SECONDS) -> None:
        self.seconds = seconds
        self.expires_at = math.inf
        self._shields: set[anyio.CancelScope] = set()
        self._watch = anyio.CancelScope()

    async def watch(self) -> None:
        with self._watch:
            try:
                await anyio.sleep_forever()
            finally:
                self.expires_at = anyio.current_time() + self.seconds
                for shield in self._shields:
                    shield.deadline = min(shield.deadline, self.expires_at)

    def stop(self) -> None:
        self._watch.cancel()

    @property
    def stopping(self) -> bool:
        """Whether the walk was cancelled (or failed): requests under way may finish, no new
        ones should start."""
        return self.expires_at != math.inf

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """`await call()`, shielded from cancellation until the grace ends. Raises what `call`
        raises, and the cancellation when the grace ran out first."""
        await anyio.lowlevel.checkpoint_if_cancelled()
        shield = anyio.CancelScope(shield=True, deadline=self.expires_at)
        self._shields.add(shield)
        try:
            with shield:
                return await call()
        finally:
            self._shields.discard(shield)
            if shield.cancelled_caught:
                logger.debug("a request was still under way when the sync's grace ran out")
        # Only reached when the grace ran out, which only follows a cancellation of our tasks:
        # this checkpoint delivers it.
        await anyio.lowlevel.checkpoint()
        raise AssertionError("a sync request's grace ran out without a cancellation")
