"""Questions the index answers, after syncing the requested scope when it is stale: transcript
search (re-queried until its page fits the caller's budget), campaign summaries and listings,
recent calls and id completion."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from call_logs_mcp.core.campaigns import CampaignProbe, campaign_absent_note, no_calls_message, probe_campaign
from call_logs_mcp.core.directory import CampaignDirectory
from call_logs_mcp.core.freshness import Freshness, Progress, ScopeCoverage, SyncReport
from call_logs_mcp.core.local_index import LocalIndex
from call_logs_mcp.core.outcomes import OutcomeFilters
from call_logs_mcp.errors import (
    CallLogsError,
    InvalidArgumentError,
    NotFoundError,
    StoreError,
    UnknownFieldError,
)
from call_logs_mcp.models import CallQuery, CallSummary, Campaign, Speaker
from call_logs_mcp.providers.base import CallProvider

if TYPE_CHECKING:
    from call_logs_mcp.analytics import CampaignSummary
    from call_logs_mcp.index import AgentListing, CampaignListing, SearchResult
    from call_logs_mcp.index.outcomes import OutcomeResult

Fitted = TypeVar("Fitted")

# How often a search is asked again for fewer hits when its page does not fit: each retry asks for
# exactly the number shown, which normally fits at once.
_REFITS = 3


@dataclass(frozen=True)
class SearchOutcome:
    """One page of search hits and what the index covers for the searched scope."""

    result: SearchResult
    coverage: list[ScopeCoverage]
    notes: list[str] = field(default_factory=list)


@dataclass
class CampaignOutcome:
    summary: CampaignSummary
    report: SyncReport
    notes: list[str] = field(default_factory=list)


@dataclass
class CampaignsOutcome:
    campaigns: list[CampaignListing]
    report: SyncReport
    # The platforms' agents (assistants) of the indexed calls: the second grouping.
    agents: list[AgentListing] = field(default_factory=list)


@dataclass
class RecentPage:
    calls: list[CallSummary]
    next_cursor: str | None


async def search(
    fresh: Freshness,
    names: Sequence[str],
    query: str,
    *,
    filters: CallQuery,
    speaker: Speaker | None,
    limit: int,
    cursor: str | None,
    progress: Progress | None,
    fit: Callable[[SearchOutcome], tuple[int, Fitted]],
    notes: Sequence[str] = (),
    absent_hint: str | None = None,
) -> Fitted:
    """Transcript search over the index of `names`, after syncing a stale scope, as `fit` renders it.

    `fit` renders an outcome and says how many of its hits the rendering shows. When it shows
    fewer than were found, the search runs again for exactly that many, so the page's cursor
    resumes right after the last hit shown. Raises InvalidArgumentError (empty query, bad cursor),
    StoreError.
    """
    from call_logs_mcp.index import parse_query

    store = fresh.index.require()
    parse_query(query)  # a query with nothing to search fails before any sync
    report = await fresh.sync_if_stale(
        names,
        campaign_id=filters.campaign_id,
        since=filters.from_date,
        until=filters.to_date,
        progress=progress,
    )

    async def run(page_limit: int) -> SearchResult:
        return await store.search(
            fresh.index.scope(names),
            query,
            provider=names[0] if len(names) == 1 else None,
            campaign_id=filters.campaign_id,
            status=filters.status,
            from_date=filters.from_date,
            to_date=filters.to_date,
            speaker=speaker,
            limit=page_limit,
            cursor=cursor,
        )

    coverage = await fresh.coverage(
        names, filters.campaign_id, report, since=filters.from_date, until=filters.to_date
    )
    outcome = SearchOutcome(result=await run(limit), coverage=coverage, notes=list(notes))
    if filters.campaign_id is not None and cursor is None and not outcome.result.total_hits:
        note = await campaign_absent_note(fresh.providers, names, filters.campaign_id, absent_hint)
        outcome.notes.extend([note] if note else [])
    return await _fitted(outcome, lambda o: len(o.result.hits), run, fit)


@dataclass(frozen=True)
class FindOutcome:
    """One page of calls found by outcome, what the index covers, and notes on the request."""

    result: OutcomeResult
    coverage: list[ScopeCoverage]
    filters: list[str]
    notes: list[str] = field(default_factory=list)


Outcome = TypeVar("Outcome", SearchOutcome, FindOutcome)


async def _fitted(
    outcome: Outcome,
    rows: Callable[[Outcome], int],
    run: Callable[[int], Awaitable[Any]],
    fit: Callable[[Outcome], tuple[int, Fitted]],
) -> Fitted:
    """`fit(outcome)`; when it shows fewer rows than the page holds, the page is asked again for
    exactly that many (so its cursor resumes right after the last row shown) and rendered again."""
    shown, fitted = fit(outcome)
    for _ in range(_REFITS):
        if shown == rows(outcome):
            break
        outcome = replace(outcome, result=await run(max(1, shown)))
        shown, fitted = fit(outcome)
    return fitted


def _while_incomplete(exc: UnknownFieldError, coverage: Sequence[ScopeCoverage]) -> UnknownFieldError:
    """`exc`, saying so when the index does not hold every call of the scope yet: a field the
    platform's calls have appears once calls carrying it (with their details) are indexed."""
    partial = []
    for c in coverage:
        short = c.platform_calls is not None and c.indexed_calls < c.platform_calls
        if not (c.syncing or c.sync_error or short):
            continue
        held = (
            f"{c.indexed_calls:,} of {c.platform_calls:,}"
            if c.platform_calls is not None
            else f"{c.indexed_calls:,}"
        )
        state = "sync running" if c.syncing else "sync not finished"
        partial.append(f"{c.provider}: {held} calls indexed, {state}")
    if not partial:
        return exc
    return UnknownFieldError(
        f"{exc} The index does not hold every call yet ({'; '.join(partial)}), and a call's extracted "
        "data arrives with its details: the field may appear as the sync goes on. Ask again when it "
        "has finished (list_campaigns shows its progress)."
    )


async def find_calls(
    fresh: Freshness,
    names: Sequence[str],
    wanted: OutcomeFilters,
    *,
    limit: int,
    cursor: str | None,
    progress: Progress | None,
    fit: Callable[[FindOutcome], tuple[int, Fitted]],
    notes: Sequence[str] = (),
    absent_hint: str | None = None,
) -> Fitted:
    """Calls of `names` matching `wanted`, from the index after syncing a stale scope, as `fit`
    renders them (re-asked for exactly the rows it shows, as `search`). Raises
    InvalidArgumentError (bad cursor, a field no call in scope has), StoreError."""
    from call_logs_mcp.index.outcomes import OutcomeRequest

    store = fresh.index.require()
    report = await fresh.sync_if_stale(
        names,
        campaign_id=wanted.campaign_id,
        since=wanted.from_date,
        until=wanted.to_date,
        progress=progress,
    )

    async def run(page_limit: int) -> OutcomeResult:
        return await store.find_calls(
            OutcomeRequest(
                scope=fresh.index.scope(names),
                provider=names[0] if len(names) == 1 else None,
                campaign_id=wanted.campaign_id,
                status=wanted.status,
                from_date=wanted.from_date,
                to_date=wanted.to_date,
                min_duration=wanted.min_duration,
                max_duration=wanted.max_duration,
                min_qa_score=wanted.min_qa_score,
                max_qa_score=wanted.max_qa_score,
                ended_reason=wanted.ended_reason,
                fields=wanted.fields,
                limit=page_limit,
                cursor=cursor,
            )
        )

    coverage = await fresh.coverage(
        names, wanted.campaign_id, report, since=wanted.from_date, until=wanted.to_date
    )
    described = describe_filters(wanted)
    try:
        first = await run(limit)
    except UnknownFieldError as exc:
        raise _while_incomplete(exc, coverage) from None
    outcome = FindOutcome(result=first, coverage=coverage, filters=described, notes=list(notes))
    if wanted.campaign_id is not None and cursor is None and not outcome.result.total:
        note = await campaign_absent_note(fresh.providers, names, wanted.campaign_id, absent_hint)
        outcome.notes.extend([note] if note else [])
    return await _fitted(outcome, lambda o: len(o.result.calls), run, fit)


def describe_filters(wanted: OutcomeFilters) -> list[str]:
    """The filters of a find_calls request as short phrases, in a fixed order."""
    out: list[str] = []
    if wanted.campaign_id is not None:
        out.append(f"campaign {wanted.campaign_id}")
    if wanted.status is not None:
        out.append(f"status {wanted.status.value}")
    if wanted.from_date is not None:
        out.append(f"started on or after {wanted.from_date.isoformat()}")
    if wanted.to_date is not None:
        out.append(f"started on or before {wanted.to_date.isoformat()}")
    for name, low, high, unit in (
        ("duration", wanted.min_duration, wanted.max_duration, " s"),
        ("QA score", wanted.min_qa_score, wanted.max_qa_score, ""),
    ):
        if low is not None:
            out.append(f"{name} ≥ {low:g}{unit}")
        if high is not None:
            out.append(f"{name} ≤ {high:g}{unit}")
    if wanted.ended_reason is not None:
        out.append(f"ended reason {wanted.ended_reason}")
    out += [predicate.describe() for predicate in wanted.fields]
    return out


async def summarize_campaign(
    fresh: Freshness,
    names: Sequence[str],
    campaign: str,
    *,
    from_date: datetime | None,
    to_date: datetime | None,
    progress: Progress | None,
    absent_hint: str | None = None,
) -> CampaignOutcome:
    """The campaign summary from the index, after syncing the campaign's scope when stale.

    The platforms are asked too (one request each, beside the sync): a campaign that every
    addressed platform reports no calls for is an error, not a summary of nothing, and a platform
    that reports none is not a candidate holder.

    Raises InvalidArgumentError (a campaign no platform knows, or one on several providers),
    NotFoundError (no provider has indexed calls in it), StoreError.
    """
    store = fresh.index.require()
    probes: dict[str, CampaignProbe] = {}
    report = SyncReport()

    async def ask() -> None:
        probes.update(await probe_campaign(fresh.providers, names, campaign))

    async def sync() -> None:
        nonlocal report
        report = await fresh.sync_if_stale(
            names, campaign_id=campaign, since=from_date, until=to_date, progress=progress
        )

    # Side by side: a platform that hangs costs one request deadline, not two.
    async with anyio.create_task_group() as group:
        group.start_soon(ask)
        group.start_soon(sync)
    if all(probes[n].has_calls is False for n in names):
        shown = [fresh.providers[n].info.display_name for n in names]
        raise InvalidArgumentError(no_calls_message(shown, campaign, absent_hint))
    names = [n for n in names if probes[n].has_calls is not False]
    if len(names) > 1:
        holders = [n for n in names if probes[n].has_calls or await fresh.index.holds_campaign(n, campaign)]
        if len(holders) > 1:
            raise InvalidArgumentError(
                f"Campaign {campaign} exists on several providers ({', '.join(holders)}); "
                "pass provider= to choose one."
            )
        if not holders:
            if report.errors and len(report.errors) == len(names):
                raise StoreError(
                    f"No indexed calls for campaign {campaign}, and syncing failed: "
                    + " ".join(report.errors.values())
                )
            raise NotFoundError(" or ".join(names), f"indexed calls in campaign {campaign}")
        names = holders
    # The probe asked for the whole campaign: its totals are this scope's only without dates.
    live = probes[names[0]].totals if from_date is None and to_date is None else None
    summary = await store.campaign_summary(
        fresh.index.scope(names), names[0], campaign, from_date=from_date, to_date=to_date, live=live
    )
    return CampaignOutcome(summary=summary, report=report)


async def list_campaigns(
    fresh: Freshness, names: Sequence[str], *, progress: Progress | None, directory: CampaignDirectory
) -> CampaignsOutcome:
    """Campaigns per provider from the index (synced first when stale), each with what tells a
    person which it is: its name (the campaigns file's, else the platform's) or its calls by
    status and usual opening line; campaigns the file declares are listed even before any of
    their calls is indexed. A platform that lists its campaigns (`Capabilities.campaign_listing`)
    gives their names and call counts, and when its call records do not name their campaign, each
    listed campaign's scope is synced too (as a declared one is). Raises StoreError."""
    from call_logs_mcp.index import CampaignListing

    store = fresh.index.require()
    listed_by: dict[str, list[Campaign] | str] = {}

    async def ask() -> None:
        listed_by.update(await _platform_campaigns(fresh.providers, names))

    # The platforms are asked while the sync is waited for: an outage costs one wait, not two.
    async with anyio.create_task_group() as group:
        group.start_soon(ask)
        report = await fresh.sync_if_stale(names, progress=progress, every_scope=True)
    await _sync_listed_campaigns(fresh, listed_by, report)
    listings = await store.list_campaigns(fresh.index.scope(names), describe=True)
    platform = {
        (name, c.campaign_id): c
        for name, found in listed_by.items()
        if isinstance(found, list)
        for c in found
    }
    campaigns = []
    for c in listings:
        if c.provider not in names:
            continue
        own = platform.get((c.provider, c.campaign_id)) if c.campaign_id is not None else None
        platform_calls = c.platform_calls
        if platform_calls is None and own is not None:
            platform_calls = own.call_count
        name = directory.name_of(c.provider, c.campaign_id) or c.name or (own.name if own else None)
        campaigns.append(c.model_copy(update={"name": name, "platform_calls": platform_calls}))
    listed = {(c.provider, c.campaign_id) for c in campaigns}
    for name in names:
        for campaign_id in directory.declared(name):
            if (name, campaign_id) not in listed:
                campaigns.append(
                    CampaignListing(
                        provider=name,
                        campaign_id=campaign_id,
                        name=directory.name_of(name, campaign_id),
                        indexed_calls=0,
                    )
                )
    for name, found in listed_by.items():
        if isinstance(found, str):
            report.errors.setdefault(name, found)
    agents = [
        a.model_copy(update={"word": fresh.providers[a.provider].info.agent_word})
        for a in await store.list_agents(fresh.index.scope(names))
        if a.provider in names
    ]
    return CampaignsOutcome(campaigns=campaigns, report=report, agents=agents)


async def _platform_campaigns(
    providers: Mapping[str, CallProvider], names: Sequence[str]
) -> dict[str, list[Campaign] | str]:
    """Per provider that lists its campaigns: the list, or why it could not be read (asked side
    by side: one platform that hangs costs one request deadline)."""
    found: dict[str, list[Campaign] | str] = {}

    async def one(name: str) -> None:
        try:
            found[name] = await providers[name].list_campaigns()
        except CallLogsError as err:
            found[name] = f"its campaign list could not be read: {err}"

    async with anyio.create_task_group() as group:
        for name in names:
            if providers[name].info.capabilities.campaign_listing:
                group.start_soon(one, name)
    return found


async def _sync_listed_campaigns(
    fresh: Freshness, listed_by: Mapping[str, list[Campaign] | str], report: SyncReport
) -> None:
    """Sync (when stale) each campaign a platform lists whose call records do not name their
    campaign, side by side; what is still running or failed joins `report`."""
    scopes = [
        (name, campaign.campaign_id)
        for name, found in listed_by.items()
        if isinstance(found, list) and not fresh.providers[name].info.capabilities.records_name_campaign
        for campaign in found
    ]

    async def one(name: str, campaign_id: str) -> None:
        scoped = await fresh.sync_if_stale([name], campaign_id=campaign_id)
        for key, error in scoped.errors.items():
            report.errors.setdefault(key, error)
        for key, job in scoped.running.items():
            report.running.setdefault(key, job)

    async with anyio.create_task_group() as group:
        for name, campaign_id in scopes:
            group.start_soon(one, name, campaign_id)


async def recent_calls(
    index: LocalIndex, names: Sequence[str], *, limit: int, cursor: str | None
) -> RecentPage:
    """Indexed calls of `names`, newest first (none without an index or a provider).

    Raises InvalidArgumentError (bad cursor or limit), StoreError.
    """
    if index.store is None or not names:
        return RecentPage(calls=[], next_cursor=None)
    page = await index.store.recent_calls(index.scope(names), limit=limit, cursor=cursor)
    return RecentPage(calls=list(page.calls), next_cursor=page.next_cursor)


async def complete_call_ids(
    index: LocalIndex, names: Sequence[str], prefix: str, *, limit: int
) -> tuple[list[str], bool]:
    """Indexed call ids of `names` starting with `prefix` (the most recent calls first), and
    whether there are more than `limit`. Raises StoreError."""
    if index.store is None or not names:
        return [], False
    values: list[str] = []
    cursor: str | None = None
    for _ in range(10):  # look through the 2,000 most recent calls at most
        page = await index.store.recent_calls(index.scope(names), limit=200, cursor=cursor)
        for call in page.calls:
            if call.call_id.startswith(prefix) and call.call_id not in values:
                values.append(call.call_id)
                if len(values) > limit:
                    return values[:limit], True
        cursor = page.next_cursor
        if cursor is None:
            break
    return values, False


async def complete_campaign_ids(
    index: LocalIndex, names: Sequence[str], prefix: str, *, limit: int
) -> tuple[list[str], bool]:
    """Indexed campaign ids of `names` starting with `prefix`, and whether there are more than
    `limit`. Raises StoreError."""
    if index.store is None or not names:
        return [], False
    listings = await index.store.list_campaigns(index.scope(names))
    values = sorted({c.campaign_id for c in listings if c.campaign_id and c.campaign_id.startswith(prefix)})
    return values[:limit], len(values) > limit
