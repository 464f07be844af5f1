"""Vapi's keyset paging and campaigns, against its simulator: calls sharing one `createdAt` across
a page boundary (in whatever order Vapi serves them), cursors, undocumented parameters, and the
campaign listing."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from call_logs_mcp.errors import InvalidArgumentError, UnavailableError
from call_logs_mcp.models import CallPage, CallQuery, CallStatus, CallSummary
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.normalize import parse_datetime
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.providers.vapi.adapter import VapiProvider
from call_logs_mcp.simulators.dataset import SimDataset
from call_logs_mcp.simulators.faults import Faults

DOCUMENTED = set(
    json.loads((Path(__file__).parent / "fixtures" / "call_enums.json").read_text())["listParameters"]
)


def tied(calls: int, first: int, count: int, *, seed: int = 3) -> SimDataset:
    """A Vapi dataset whose calls `first` .. `first + count - 1` (newest first) share one start,
    hence one `createdAt`."""
    base = simulated_dataset("vapi", calls=calls, long_calls=0, seed=seed)
    chosen = base.calls
    instant = chosen[first].started_at
    for call in chosen[first : first + count]:
        call.started_at = instant
    return SimDataset(seed=base.seed, campaigns=base.campaigns, calls=chosen, id_style="uuid")


@asynccontextmanager
async def vapi(app: Starlette) -> AsyncIterator[CallProvider]:
    provider = create_provider(simulated_provider_config("vapi"), transport=simulated_transport("vapi", app))
    try:
        yield provider
    finally:
        await provider.aclose()


async def list_all(provider: CallProvider, query: CallQuery, limit: int) -> list[CallSummary]:
    calls: list[CallSummary] = []
    cursor: str | None = None
    with anyio.fail_after(30):
        while True:
            page = await provider.list_calls(query, limit=limit, cursor=cursor)
            assert len(page.calls) <= limit
            calls += page.calls
            if page.next_cursor is None:
                return calls
            cursor = page.next_cursor


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.integers(min_value=0, max_value=50),
    count=st.integers(min_value=2, max_value=25),
    limit=st.sampled_from([1, 3, 7, 10, 11, 37]),
)
async def test_calls_sharing_one_created_at_across_page_boundaries_come_exactly_once(
    first: int, count: int, limit: int
) -> None:
    dataset = tied(80, first, count)
    app = simulated_app("vapi", dataset, tie_order="shuffled")  # Vapi documents no order
    async with vapi(app) as provider:
        listed = await list_all(provider, CallQuery(), limit)
    ids = [call.call_id for call in listed]
    assert len(ids) == len(set(ids)) == len(dataset)
    assert set(ids) == {call.id for call in dataset}
    starts = [call.started_at for call in listed]
    assert all(a is not None and b is not None and a >= b for a, b in itertools.pairwise(starts))
    # Every request asked only what the OpenAPI documents.
    assert all(set(request.params) <= DOCUMENTED for request in app.state.requests)


async def test_a_tie_larger_than_the_page_is_read_in_pages_that_grow_with_it() -> None:
    dataset = tied(60, 5, 30)  # 30 calls on one instant; pages of 10
    app = simulated_app("vapi", dataset, tie_order="shuffled")
    async with vapi(app) as provider:
        listed = await list_all(provider, CallQuery(), 10)
    assert sorted(call.call_id for call in listed) == sorted(call.id for call in dataset)
    # The ids already returned at the boundary come back, so they are asked for on top.
    limits = [int(request.params["limit"]) for request in app.state.requests]
    assert max(limits) >= 30 and all(n <= 10 + 30 for n in limits)


async def test_client_side_filters_keep_the_keyset_exact() -> None:
    dataset = tied(120, 30, 12)
    app = simulated_app("vapi", dataset, tie_order="shuffled")
    campaign = dataset.campaigns[2].id
    query = CallQuery(campaign_id=campaign, status=CallStatus.COMPLETED)
    async with vapi(app) as provider:
        listed = await list_all(provider, query, 4)
    expected = {c.id for c in dataset if c.campaign_id == campaign and c.status == "completed"}
    assert expected and [c.call_id for c in listed if c.call_id in expected] == [c.call_id for c in listed]
    assert sorted(c.call_id for c in listed) == sorted(expected)


async def test_a_cursor_is_only_good_for_its_own_listing() -> None:
    app = simulated_app("vapi", simulated_dataset("vapi", calls=40, long_calls=0))
    async with vapi(app) as provider:
        page = await provider.list_calls(CallQuery(), limit=5)
        assert page.next_cursor is not None
        with pytest.raises(InvalidArgumentError, match="different filters"):
            await provider.list_calls(CallQuery(status=CallStatus.BUSY), cursor=page.next_cursor)
        with pytest.raises(InvalidArgumentError, match="not issued"):
            await provider.list_calls(CallQuery(), cursor=page.next_cursor[:-4] + "AAAA")


async def test_an_unknown_campaign_answers_at_once_without_walking_the_account() -> None:
    app = simulated_app("vapi", simulated_dataset("vapi", calls=300, long_calls=0))
    async with vapi(app) as provider:
        unknown = await provider.list_calls(CallQuery(campaign_id="0" * 8 + "-0000-4000-8000-" + "0" * 12))
        not_a_uuid = await provider.list_calls(CallQuery(campaign_id="spring"))
    for page in (unknown, not_a_uuid):
        assert (page.calls, page.next_cursor, page.totals and page.totals.calls) == ([], None, 0)
    # One request for the UUID (Vapi has no such campaign), none for an id that is not a UUID.
    assert [request.path.split("/")[1] for request in app.state.requests] == ["campaign"]


async def test_a_campaign_listing_counts_the_campaigns_calls_as_vapi_does() -> None:
    dataset = simulated_dataset("vapi", calls=200, long_calls=0)
    app = simulated_app("vapi", dataset)
    campaign = dataset.campaigns[1].id
    async with vapi(app) as provider:
        page = await provider.list_calls(CallQuery(campaign_id=campaign), limit=5)
        dated = await provider.list_calls(
            CallQuery(campaign_id=campaign, status=CallStatus.COMPLETED), limit=5
        )
    expected = [c.id for c in dataset if c.campaign_id == campaign]
    assert [c.call_id for c in page.calls] == expected[:5]
    assert page.totals is not None and page.totals.calls == len(expected)
    assert dated.totals is None  # a status filter Vapi does not apply: no count is exact


async def test_campaigns_are_listed_with_their_names_and_call_counts() -> None:
    dataset = simulated_dataset("vapi", calls=150, campaigns=5, long_calls=0)
    app = simulated_app("vapi", dataset)
    async with vapi(app) as provider:
        campaigns = await provider.list_campaigns()
    counts: dict[str, Any] = {
        c.id: sum(1 for call in dataset if call.campaign_id == c.id) for c in dataset.campaigns
    }
    assert {c.campaign_id: (c.name, c.call_count) for c in campaigns} == {
        c.id: (c.name, counts[c.id]) for c in dataset.campaigns
    }


class Jittered(httpx2.AsyncBaseTransport):
    """The simulator behind a network whose answers take a random few milliseconds, so requests
    asked side by side answer in any order; counts how many were in flight at once."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, seed: int) -> None:
        self.inner, self.rng = inner, random.Random(seed)
        self.in_flight = self.most_in_flight = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await anyio.sleep(self.rng.random() * 0.004)
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


def spaced(gaps: list[int], *, seed: int) -> SimDataset:
    """A Vapi dataset whose consecutive calls (newest first) start `gaps` milliseconds apart:
    0 is a tie on one `createdAt`; the mix makes dense bursts, sparse stretches and gaps."""
    base = simulated_dataset("vapi", calls=len(gaps) + 1, long_calls=0, seed=seed)
    chosen = base.calls
    instant = chosen[0].started_at.replace(microsecond=0)
    for call, gap in zip(chosen, [0, *gaps], strict=True):
        instant -= timedelta(milliseconds=gap)
        call.started_at = instant
    return SimDataset(seed=base.seed, campaigns=base.campaigns, calls=chosen, id_style="uuid")


GAPS = st.sampled_from([0, 0, 0, 1, 7, 1_000, 60_000, 3_600_000, 3 * 86_400_000])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gaps=st.lists(GAPS, min_size=3, max_size=140),
    page=st.sampled_from([3, 5, 10, 25]),
    limit=st.sampled_from([7, 40, 100, 1000]),
    concurrency=st.integers(min_value=1, max_value=6),
    resume=st.booleans(),
    dated=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**16),
)
async def test_windows_listed_side_by_side_give_every_call_once_in_order(
    gaps: list[int], page: int, limit: int, concurrency: int, resume: bool, dated: bool, seed: int
) -> None:
    dataset = spaced(gaps, seed=seed)
    app = simulated_app("vapi", dataset, tie_order="shuffled")
    rng = random.Random(seed)
    query, expected = CallQuery(), [c.id for c in dataset]
    if dated:
        ends = sorted(
            rng.sample([c.started_at for c in dataset], 2)
            if len(dataset) > 1
            else [dataset.calls[0].started_at] * 2
        )
        query = CallQuery(from_date=ends[0], to_date=ends[1])
        expected = [c.id for c in dataset if ends[0] <= c.started_at <= ends[1]]
    networks: list[Jittered] = []

    def adapter() -> CallProvider:
        network = Jittered(simulated_transport("vapi", app), rng.randrange(2**16))
        networks.append(network)
        provider = create_provider(
            simulated_provider_config("vapi", max_concurrency=concurrency), transport=network
        )
        provider.info = dataclasses.replace(provider.info, max_page_size=page)  # type: ignore[misc]
        return provider

    listed: list[CallSummary] = []
    cursor: str | None = None
    provider = adapter()
    try:
        with anyio.fail_after(60):
            while True:
                answer = await provider.list_calls(query, limit=limit, cursor=cursor)
                assert len(answer.calls) <= limit
                listed += answer.calls
                cursor = answer.next_cursor
                if cursor is None:
                    break
                if resume:  # a fresh adapter continues from the cursor alone
                    await provider.aclose()
                    provider = adapter()
    finally:
        await provider.aclose()
    ids = [call.call_id for call in listed]
    assert len(ids) == len(set(ids)), "a call was listed twice"
    assert set(ids) == set(expected), "a call was lost"
    starts = [call.started_at for call in listed]
    assert all(a is not None and b is not None and a >= b for a, b in itertools.pairwise(starts))
    assert all(n.most_in_flight <= concurrency for n in networks)
    assert all(set(request.params) <= DOCUMENTED for request in app.state.requests)


async def test_a_long_listing_asks_its_time_windows_side_by_side() -> None:
    dataset = simulated_dataset("vapi", calls=400, long_calls=0, seed=5)
    app = simulated_app("vapi", dataset)
    network = Jittered(simulated_transport("vapi", app), 1)
    provider = create_provider(simulated_provider_config("vapi", max_concurrency=4), transport=network)
    try:
        first = await provider.list_calls(CallQuery(), limit=100)
        assert first.next_cursor is not None and len(app.state.requests) == 1  # one page: the top
        rest = await provider.list_calls(CallQuery(), limit=400, cursor=first.next_cursor)
    finally:
        await provider.aclose()
    assert [c.call_id for c in [*first.calls, *rest.calls]] == [c.id for c in dataset]
    windows = [r for r in app.state.requests[1:] if "createdAtGt" in r.params]
    assert windows and 2 <= network.most_in_flight <= 4


async def test_a_campaign_listing_walks_only_the_campaigns_lifetime() -> None:
    base = simulated_dataset("vapi", calls=600, campaigns=6, long_calls=0)
    # A campaign created late in the account's history (its older calls go to another campaign).
    late, other = base.campaigns[0], base.campaigns[1]
    campaign = dataclasses.replace(late, created_at=base.calls[150].started_at)
    for call in base.calls[150:]:
        if call.campaign_id == late.id:
            call.campaign_id, call.campaign_name = other.id, other.name
    campaigns = [campaign, *base.campaigns[1:]]
    dataset = SimDataset(seed=base.seed, campaigns=campaigns, calls=base.calls, id_style="uuid")
    app = simulated_app("vapi", dataset)
    async with vapi(app) as provider:
        listed = await list_all(provider, CallQuery(campaign_id=campaign.id), 100)
    assert [c.call_id for c in listed] == [c.id for c in dataset if c.campaign_id == campaign.id]
    walks = [r for r in app.state.requests if r.path == "/call"]
    # Every page asks from the campaign's creation on (its calls cannot be older) ...
    assert walks and all(
        "createdAtGt" in r.params or parse_datetime(r.params["createdAtGe"]) == campaign.created_at
        for r in walks
    )
    # ... so the walk reads the calls made since, not the whole account.
    since = sum(1 for c in dataset if c.started_at >= campaign.created_at)
    assert since < len(dataset) and len(walks) <= 2 * (since // 100 + 2)


class Stopped(Exception):
    """The caller stops taking pages (as a sync does when it is cancelled)."""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gaps=st.lists(GAPS, min_size=3, max_size=140),
    page=st.sampled_from([3, 5, 10, 25]),
    limits=st.lists(st.sampled_from([1, 7, 40, 100, 1000]), min_size=1, max_size=4),
    concurrency=st.integers(min_value=1, max_value=6),
    error_rate=st.sampled_from([0.0, 0.1, 0.3]),
    stop_after=st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
    decline=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**16),
)
async def test_pages_handed_over_while_windows_are_walked_resume_exactly_after_faults_and_stops(
    gaps: list[int],
    page: int,
    limits: list[int],
    concurrency: int,
    error_rate: float,
    stop_after: int | None,
    decline: bool,
    seed: int,
) -> None:
    # A sync takes each window's calls as soon as they are walked, with the cursor after them;
    # a request that fails (no retries here) or a caller that stops (raising, or declining more)
    # ends the answer, and the walk goes on, with a fresh adapter, from the last cursor taken.
    dataset = spaced(gaps, seed=seed)
    faults = Faults(error_rate=error_rate, seed=seed)
    app = simulated_app("vapi", dataset, tie_order="shuffled", faults=faults)
    rng = random.Random(seed)
    listed: list[CallSummary] = []
    cursor: str | None = None
    networks: list[Jittered] = []
    answers = failures = stops = 0

    async def take(answer: CallPage) -> bool:
        nonlocal cursor, stops
        assert answer.calls and answer.next_cursor is not None  # a handed page is never the end
        listed.extend(answer.calls)
        cursor = answer.next_cursor
        if stop_after is not None and len(listed) > stop_after and stops < 3:
            stops += 1
            if decline:
                return False  # wants no more: the answer ends with what it has, and a cursor
            raise Stopped
        return True

    with anyio.fail_after(60):
        while True:
            network = Jittered(simulated_transport("vapi", app), rng.randrange(2**16))
            networks.append(network)
            config = simulated_provider_config("vapi", max_concurrency=concurrency, max_retries=0)
            provider = create_provider(config, transport=network)
            provider.info = dataclasses.replace(provider.info, max_page_size=page)  # type: ignore[misc]
            assert isinstance(provider, VapiProvider)
            limit = limits[answers % len(limits)]
            answers += 1
            try:
                rest = await provider.list_call_pages(CallQuery(), limit=limit, cursor=cursor, on_page=take)
            except (UnavailableError, Stopped):
                failures += 1
                assert failures < 400
                continue
            finally:
                await provider.aclose()
            listed += rest.calls
            cursor = rest.next_cursor
            if cursor is None:
                break
    ids = [call.call_id for call in listed]
    assert len(ids) == len(set(ids)), "a call was listed twice"
    assert set(ids) == {c.id for c in dataset}, "a call was lost"
    starts = [call.started_at for call in listed]
    assert all(a is not None and b is not None and a >= b for a, b in itertools.pairwise(starts))
    assert all(n.most_in_flight <= concurrency for n in networks)
    assert all(set(request.params) <= DOCUMENTED for request in app.state.requests)
