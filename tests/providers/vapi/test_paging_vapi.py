"""Vapi's keyset paging and campaigns, against its simulator: calls sharing one `createdAt` across
a page boundary (in whatever order Vapi serves them), cursors, undocumented parameters, and the
campaign listing."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.models import CallQuery, CallStatus, CallSummary
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.simulators.dataset import SimDataset

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
