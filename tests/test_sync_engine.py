"""The sync engine under interruption, side by side and against busy connections, driven like a
user drives it (`run_sync`, the adapters) with only the network faked by the simulators."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import anyio
import pytest
from starlette.applications import Starlette

from call_logs_mcp.core.sources import sync_source
from call_logs_mcp.errors import AuthError
from call_logs_mcp.index import IndexStore, SyncSource, run_sync, scope_key
from call_logs_mcp.models import CallQuery
from call_logs_mcp.providers import create_provider, platform
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.config import accounts_for
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.simulators.faults import Faults, SimRequest
from conftest import PLATFORM_NAMES


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[IndexStore]:
    index = IndexStore.open(tmp_path / "calls.db")
    yield index
    index.close()


def is_listing(request: SimRequest, ids: set[str]) -> bool:
    """List requests end with a word (`/api/calls`), detail requests with a call id."""
    return request.path.rsplit("/", 1)[-1] not in ids


def requests_of(app: Starlette) -> list[SimRequest]:
    requests: list[SimRequest] = app.state.requests
    return requests


async def test_a_listing_page_takes_the_next_free_connection_before_queued_detail_requests(
    platform_name: str,
) -> None:
    dataset = simulated_dataset(platform_name, calls=40, long_calls=0)
    ids = {c.id for c in dataset}
    details = sorted(ids)[:8]
    app = simulated_app(platform_name, dataset, faults=Faults(latency_seconds=0.25))
    config = simulated_provider_config(platform_name, max_concurrency=2)
    provider = create_provider(config, transport=simulated_transport(platform_name, app))
    try:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for call_id in details:
                    group.start_soon(provider.get_call, call_id)
                await anyio.wait_all_tasks_blocked()
                # The connections are busy with detail requests, and more wait for one.
                sent_before = len(requests_of(app))
                assert sent_before < len(details)
                group.start_soon(provider.list_calls, CallQuery())
    finally:
        await provider.aclose()
    order = ["list" if is_listing(r, ids) else "detail" for r in requests_of(app)]
    assert Counter(order) == {"detail": len(details), "list": 1}
    # The listing went out on the first connection freed, before the detail requests queued
    # ahead of it.
    assert order.index("list") == sent_before


# -- resuming an interrupted walk ----------------------------------------------------------------


def detail_ids(app: Starlette, ids: set[str]) -> Counter[str]:
    return Counter(r.path.rsplit("/", 1)[-1] for r in requests_of(app) if not is_listing(r, ids))


def page_of(request: SimRequest) -> str:
    """The page a listing asked for: its `page` parameter, what a simulator that pages in the
    request body recorded, or its platform cursor (none: the first page)."""
    if request.page is not None:
        return request.page
    return request.params.get("page") or request.params.get("cursor") or request.params.get("from") or ""


def list_pages(app: Starlette, ids: set[str]) -> Counter[tuple[str, str]]:
    """How often each listing page was asked for (a page is its path and query: a page number, or
    a keyset position for Vapi, a body position for Retell)."""
    return Counter((r.path, page_of(r) or r.query) for r in requests_of(app) if is_listing(r, ids))


def lists_details(name: str) -> bool:
    """Whether the platform's listing carries whole calls (no detail request while syncing)."""
    return platform(name).info.capabilities.list_includes_details


async def reports_total(name: str, app: Starlette) -> bool:
    """Whether the platform's listing says how many calls there are (else a walk learns its end
    from a short page, which costs one more request when the count fills the last page)."""
    provider = create_provider(simulated_provider_config(name), transport=simulated_transport(name, app))
    try:
        page = await provider.list_calls(CallQuery(), limit=1)
    finally:
        await provider.aclose()
    requests_of(app).pop()
    return page.totals is not None and page.totals.calls is not None


async def stored_ids(store: IndexStore, name: str, scope: dict[str, str]) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = await store.recent_calls(scope, provider=name, limit=200, cursor=cursor)
        ids += [c.call_id for c in page.calls]
        cursor = page.next_cursor
        if cursor is None:
            return ids


def cancel_after(
    seen: list[int], budget: anyio.CancelScope, calls: int, done: int, total: int | None
) -> None:
    """A progress callback that cancels `budget` once `calls` more calls are handled."""
    seen.append(done)
    if done - seen[0] >= calls:
        budget.cancel()


async def sync_in_slices(
    store: IndexStore, name: str, app: Starlette, *, calls_per_run: int, max_runs: int
) -> list[list[int]]:
    """Sync until a run completes (at most `max_runs`), each run cancelled once it has handled
    `calls_per_run` more calls, each with a new adapter (as a new process would); the progress
    each run reported."""
    config = simulated_provider_config(name)
    reported: list[list[int]] = []
    for _ in range(max_runs):
        source = sync_source(config, transport=simulated_transport(name, app))
        seen: list[int] = []
        reported.append(seen)
        with anyio.CancelScope() as budget:
            try:
                await run_sync(store, [source], progress=partial(cancel_after, seen, budget, calls_per_run))
                return reported
            finally:
                await source.provider.aclose()
    return reported


async def test_a_sync_cancelled_every_300_calls_completes_listing_each_page_and_fetching_each_call_once(
    platform_name: str, store: IndexStore
) -> None:
    dataset = simulated_dataset(platform_name, calls=2_500, long_calls=0)
    ids = {c.id for c in dataset}
    # With latency, each cancellation finds requests under way.
    app = simulated_app(platform_name, dataset, faults=Faults(latency_seconds=0.002))
    scope = accounts_for({platform_name: simulated_provider_config(platform_name)})
    with anyio.fail_after(240):
        reported = await sync_in_slices(store, platform_name, app, calls_per_run=300, max_runs=40)
    stored = await stored_ids(store, platform_name, scope)
    assert await store.last_synced(scope, platform_name) is not None
    unfinished = set(await store.calls_to_recheck(scope[platform_name], platform_name))
    # It was interrupted, again and again (a listing of whole calls is asked up to a few pages
    # per worker at a time past its second page, so each of its runs reaches further).
    assert len(reported) >= (3 if platform(platform_name).info.capabilities.list_includes_details else 5)
    assert sorted(stored) == sorted(ids)
    # Every call has its details (only calls still in progress are left to re-check) ...
    assert unfinished == {c.id for c in dataset if c.status == "in_progress"}
    # ... fetched once over all runs (or listed with them), and no page was listed twice.
    fetched = detail_ids(app, ids)
    if lists_details(platform_name):
        assert fetched == Counter()
    else:
        assert set(fetched) == ids and set(fetched.values()) == {1}
    pages = list_pages(app, ids)
    assert set(pages.values()) == {1}
    whole_pages = -(-len(ids) // 100)
    # Without a total, a platform that marks its last page (has_more) needs no more requests; one
    # that does not (a bare array) needs one more, which comes back empty.
    extra = (0,) if await reports_total(platform_name, app) else (0, 1)
    if lists_details(platform_name):
        # A listing of whole calls is walked in time windows asked side by side: past the oldest
        # call, the windows already asked (one per connection and one more) come back empty, and
        # each run that stops inside a window asks the rest of it again.
        ahead = simulated_provider_config(platform_name).max_concurrency + 1
        extra = tuple(range(max(extra) + ahead + len(reported) + 1))
    assert len(pages) - whole_pages in extra
    # Progress counted on from where the previous run stopped, up to every call.
    for before, after in itertools.pairwise(reported):
        assert after[0] >= before[-1]
    assert reported[-1][-1] == len(ids)


async def test_a_stored_position_the_platform_refuses_starts_the_walk_from_the_top(
    platform_name: str, store: IndexStore
) -> None:
    dataset = simulated_dataset(platform_name, calls=1_500, long_calls=0)
    ids = {c.id for c in dataset}
    app = simulated_app(platform_name, dataset)
    config = simulated_provider_config(platform_name)
    account = accounts_for({platform_name: config})[platform_name]
    with anyio.fail_after(120):
        await sync_in_slices(store, platform_name, app, calls_per_run=100, max_runs=1)
    top = next(r for r in requests_of(app) if is_listing(r, ids))
    key = scope_key(None, None, None)
    state = await store.load_sync_state(account, platform_name, key)
    assert state is not None and state.resume is not None and state.resume.cursor is not None
    # The platform no longer honours the cursor (say, its cursors expired).
    refused = state.resume.model_copy(update={"cursor": "expired"})
    await store.save_sync_state(account, platform_name, state.model_copy(update={"resume": refused}))
    requests_of(app).clear()
    source = sync_source(config, transport=simulated_transport(platform_name, app))
    try:
        with anyio.fail_after(120):
            await run_sync(store, [source])
    finally:
        await source.provider.aclose()
    stored = await stored_ids(store, platform_name, {platform_name: account})
    final = await store.load_sync_state(account, platform_name, key)
    assert sorted(stored) == sorted(ids)
    assert final is not None and final.resume is None and final.last_synced_at is not None
    first_list = next(r for r in requests_of(app) if is_listing(r, ids))
    assert (first_list.params, page_of(first_list)) == (top.params, page_of(top))  # the first page again


# -- platforms side by side ------------------------------------------------------------------------


class TaggedLog(list[SimRequest]):
    """A simulator's request log that also notes, in one log shared by every simulator, which
    platform each request reached, in arrival order."""

    def __init__(self, name: str, shared: list[str]) -> None:
        super().__init__()
        self.name = name
        self.shared = shared

    def append(self, request: SimRequest) -> None:
        super().append(request)
        self.shared.append(self.name)


def simulated_sources(
    names: list[str], *, calls: int, faults: Faults | None = None
) -> tuple[dict[str, SyncSource[CallProvider]], dict[str, Starlette], list[str]]:
    arrivals: list[str] = []
    sources: dict[str, SyncSource[CallProvider]] = {}
    apps: dict[str, Starlette] = {}
    for name in names:
        app = simulated_app(name, simulated_dataset(name, calls=calls, long_calls=0), faults=faults)
        app.state.requests = TaggedLog(name, arrivals)
        apps[name] = app
        sources[name] = sync_source(simulated_provider_config(name), transport=simulated_transport(name, app))
    return sources, apps, arrivals


async def test_every_platform_syncs_side_by_side(store: IndexStore) -> None:
    sources, apps, arrivals = simulated_sources(
        PLATFORM_NAMES, calls=150, faults=Faults(latency_seconds=0.01)
    )
    with anyio.fail_after(60):
        result = await run_sync(store, sources)
    assert result.added == 150 * len(PLATFORM_NAMES)
    assert {name: arrivals.count(name) for name in PLATFORM_NAMES} == {
        name: len(requests_of(app)) for name, app in apps.items()
    }
    # Each platform's requests began before every other platform's ended: their syncs overlapped
    # (one after the other, the first platform's last request would precede the second's first).
    for a, b in itertools.permutations(PLATFORM_NAMES, 2):
        first_a = arrivals.index(a)
        last_b = len(arrivals) - 1 - arrivals[::-1].index(b)
        assert first_a < last_b


async def test_a_platform_that_fails_lets_the_others_finish_and_then_its_error_is_raised(
    store: IndexStore,
) -> None:
    # The one that would have synced first, one after the other.
    failing, *others = sorted(PLATFORM_NAMES)
    sources, apps, _ = simulated_sources(PLATFORM_NAMES, calls=150, faults=Faults(latency_seconds=0.002))
    # The failing platform answers its first page, then nothing but 401s.
    apps[failing].state.faults = Faults(script=("ok", *[401] * 400))
    with anyio.fail_after(60), pytest.raises(AuthError) as raised:
        await run_sync(store, sources)
    assert raised.value.provider == failing
    for name in others:
        scope = accounts_for({name: simulated_provider_config(name)})
        assert len(await stored_ids(store, name, scope)) == 150
        assert await store.last_synced(scope, name) is not None


# -- progress ------------------------------------------------------------------------------------


async def reports_a_total(source: SyncSource[CallProvider]) -> bool:
    page = await source.provider.list_calls(CallQuery(), limit=1)
    return page.totals is not None and page.totals.calls is not None


async def test_progress_counts_calls_never_past_the_total_and_reaches_it(store: IndexStore) -> None:
    calls = 240
    everyone, apps, _ = simulated_sources(PLATFORM_NAMES, calls=calls, faults=Faults(latency_seconds=0.002))
    # The total is the platforms' own: side by side, the platforms that report one.
    sources = {name: source for name, source in everyone.items() if await reports_a_total(source)}
    assert len(sources) >= 2
    seen: list[tuple[int, int | None]] = []

    def progress(done: int, total: int | None) -> None:
        seen.append((done, total))

    with anyio.fail_after(60):
        result = await run_sync(store, sources, progress=progress, batch_size=20)
    everything = calls * len(sources)
    assert len(seen) > 5
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert all(total is None or done <= total for done, total in seen)
    assert seen[-1] == (everything, everything)
    # Calls, not listings plus detail requests (which add up to twice as many).
    with_details = sum(1 for name in sources if not lists_details(name))
    assert result.listed + result.fetched == everything + calls * with_details

    # A later sync that stops at the watermark still ends at the platforms' (new) total.
    for name in sources:
        apps[name].state.dataset.add_calls(5)
    seen.clear()
    with anyio.fail_after(60):
        again = await run_sync(store, sources, progress=progress)
    assert all(p.reached_watermark for p in again.providers)
    assert all(total is None or done <= total for done, total in seen)
    assert seen[-1] == (everything + 5 * len(sources),) * 2
