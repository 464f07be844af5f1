"""The Bland simulator serves exactly the documented API, and the adapter reads it whole: checked
over HTTP (in-process) against the simulator's own dataset, never against adapter output."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from call_logs_mcp.models import CallQuery, CallStatus
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.bland.simulator import is_batch
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.simulators.dataset import SimDataset

KEY = "sk-bland-sim"
LIST_FIELDS = {
    "call_id", "created_at", "call_length", "to", "from", "completed",
    "queue_status", "error_message", "answered_by", "batch_id",
}  # fmt: skip


def dataset(calls: int = 120) -> SimDataset:
    return simulated_dataset("bland", calls=calls, campaigns=4, days=10, long_calls=0, seed=5)


@asynccontextmanager
async def client(ds: SimDataset, **knobs: Any) -> AsyncIterator[httpx2.AsyncClient]:
    app = simulated_app("bland", ds, **knobs)
    async with httpx2.AsyncClient(
        transport=simulated_transport("bland", app),
        base_url="http://bland.simulator",
        headers={"authorization": KEY},
    ) as http:
        yield http


@asynccontextmanager
async def adapter(ds: SimDataset, **knobs: Any) -> AsyncIterator[CallProvider]:
    app = simulated_app("bland", ds, **knobs)
    provider = create_provider(
        simulated_provider_config("bland"), transport=simulated_transport("bland", app)
    )
    try:
        yield provider
    finally:
        await provider.aclose()


async def test_the_list_envelope_and_items_are_exactly_the_documented_ones() -> None:
    ds = dataset()
    async with client(ds) as http:
        body = (await http.get("/v1/calls", params={"limit": 25})).json()
    assert set(body) == {"total_count", "count", "calls"}
    assert (body["total_count"], body["count"]) == (len(ds), 25)
    assert all(set(item) == LIST_FIELDS for item in body["calls"])
    assert [item["call_id"] for item in body["calls"]] == [c.id for c in ds.calls[:25]]
    first = ds.calls[0]
    assert body["calls"][0]["call_length"] * 60 == pytest.approx(first.duration_seconds)


@pytest.mark.parametrize(
    ("start", "stop", "limit"), [(0, None, 10), (5, 12, 100), (30, 90, 15), (118, None, 50)]
)
async def test_from_to_and_limit_cut_one_window_of_the_newest_first_list(
    start: int, stop: int | None, limit: int
) -> None:
    ds = dataset()
    params: dict[str, Any] = {"from": start, "limit": limit}
    if stop is not None:
        params["to"] = stop
    async with client(ds) as http:
        body = (await http.get("/v1/calls", params=params)).json()
    end = start + limit if stop is None else min(stop, start + limit)
    assert [item["call_id"] for item in body["calls"]] == [c.id for c in ds.calls[start:end]]
    assert body["count"] == len(body["calls"])


async def test_the_key_is_accepted_bare_and_refused_with_bearer_or_missing() -> None:
    ds = dataset(10)
    async with client(ds) as http:
        assert (await http.get("/v1/calls")).status_code == 200
        bearer = await http.get("/v1/calls", headers={"authorization": f"Bearer {KEY}"})
        assert bearer.status_code == 401 and bearer.json()["status"] == "error"
        assert KEY not in bearer.text


@pytest.mark.parametrize(
    "params",
    [
        {"from": "-1"}, {"limit": "0"}, {"to": "ten"}, {"completed": "yes"}, {"duration_gt": "long"},
        {"start_date": "yesterday"}, {"end_date": "2026-02-19T10:00:00"}, {"timezone": "Mars/Olympus"},
        {"created_at": "2026-01-06", "start_date": "2026-01-05"}, {"sort_by": "price"},
    ],
)  # fmt: skip
async def test_malformed_parameters_are_400(params: dict[str, str]) -> None:
    async with client(dataset(10)) as http:
        answer = await http.get("/v1/calls", params=params)
    assert answer.status_code == 400 and answer.json()["status"] == "error"


async def test_date_filters_take_days_in_a_time_zone_or_instants_with_an_offset() -> None:
    ds = dataset()
    middle = ds.calls[60].started_at
    day = middle.astimezone(UTC).date().isoformat()
    async with client(ds) as http:
        by_instant = (await http.get("/v1/calls", params={"end_date": middle.isoformat()})).json()
        by_day = (await http.get("/v1/calls", params={"created_at": day})).json()
        local = (await http.get("/v1/calls", params={"created_at": day, "timezone": "Asia/Tokyo"})).json()
    assert by_instant["total_count"] == sum(1 for c in ds if c.started_at <= middle)
    assert by_day["total_count"] == sum(1 for c in ds if c.started_at.date().isoformat() == day)
    tokyo = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(hours=9)
    assert local["total_count"] == sum(1 for c in ds if tokyo <= c.started_at < tokyo + timedelta(days=1))


async def test_campaigns_list_their_totals_and_batches_page_with_take_and_skip() -> None:
    ds = dataset()
    async with client(ds) as http:
        campaigns = (await http.get("/v1/campaigns")).json()
        first = (await http.get("/v2/batches/list", params={"take": 1})).json()
        rest = (await http.get("/v2/batches/list", params={"take": 1, "skip": 1})).json()
        missing = await http.get(f"/v2/batches/{ds.campaigns[0].id}")
    plain = [c for c in ds.campaigns if not is_batch(ds, c.id)]
    batches = [c for c in ds.campaigns if is_batch(ds, c.id)]
    assert [(c["campaign_id"], c["campaign_name"], c["count"]) for c in campaigns["campaigns"]] == [
        (c.id, c.name, sum(1 for call in ds if call.campaign_id == c.id)) for c in plain
    ]
    assert [b["id"] for b in first["data"] + rest["data"]] == [b.id for b in batches]
    assert missing.status_code == 404  # a campaign is not a batch


async def test_the_adapter_lists_campaigns_and_batches_with_the_platform_counts() -> None:
    ds = dataset()
    async with adapter(ds) as provider:
        listed = await provider.list_campaigns()
    assert {c.campaign_id for c in listed} == {c.id for c in ds.campaigns}
    for campaign in listed:
        truth = ds.campaign(campaign.campaign_id)
        assert truth is not None
        if is_batch(ds, truth.id):
            assert campaign.name == f"batch: {truth.name}" and campaign.call_count is None
        else:
            assert campaign.name == truth.name
            assert campaign.call_count == sum(1 for call in ds if call.campaign_id == truth.id)


async def test_a_listing_continued_after_new_calls_arrive_skips_and_repeats_nothing() -> None:
    ds = dataset()
    expected = [c.id for c in ds.calls]
    async with adapter(ds) as provider:
        first = await provider.list_calls(CallQuery(), limit=30)
        ds.add_calls(7)  # index paging would shift every later page by 7 without the pin
        ids = [c.call_id for c in first.calls]
        cursor = first.next_cursor
        while cursor is not None:
            page = await provider.list_calls(CallQuery(), limit=30, cursor=cursor)
            ids += [c.call_id for c in page.calls]
            cursor = page.next_cursor
    assert ids == expected


async def test_the_concatenated_transcript_alone_recovers_the_spoken_turns() -> None:
    ds = dataset()
    spoken = [c for c in ds if c.turn_count and all(t.speaker != "system" for t in c.turns())][:5]
    assert spoken
    async with adapter(ds, transcript_style="concatenated") as provider:
        for truth in spoken:
            call = await provider.get_call(truth.id)
            assert [(t.speaker, t.text) for t in call.transcript] == [
                (t.speaker, t.text) for t in truth.turns()
            ]


async def test_a_status_the_list_leaves_open_is_read_once_from_the_detail_which_get_call_then_reuses() -> (
    None
):
    ds = dataset()
    # 40% of completed calls listed before answering-machine detection finished (answered_by null).
    app = simulated_app("bland", ds, pending_answered_by=0.4)
    provider = create_provider(
        simulated_provider_config("bland"), transport=simulated_transport("bland", app)
    )
    try:
        listed = await provider.list_calls(CallQuery(), limit=len(ds))
        first = [request.path for request in app.state.requests]
        completed = await provider.list_calls(CallQuery(status=CallStatus.COMPLETED), limit=len(ds))
        again = [request.path for request in app.state.requests][len(first) :]
        looked_up = [p.rsplit("/", 1)[1] for p in first if p.startswith("/v1/calls/")]
        fetched = [await provider.get_call(call_id) for call_id in looked_up]
        after = [request.path for request in app.state.requests][len(first) + len(again) :]
    finally:
        await provider.aclose()
    truth = {c.id: c.status for c in ds}
    assert [(c.call_id, c.status.value) for c in listed.calls] == [(c.id, c.status) for c in ds.calls]
    # Only the completed calls listed without answered_by needed their detail, each once.
    assert looked_up and {truth[i] for i in looked_up} == {"completed"}
    assert len(set(looked_up)) == len(looked_up)
    assert [c.call_id for c in completed.calls] == [c.id for c in ds if c.status == "completed"]
    assert all(not p.startswith("/v1/calls/") for p in again)  # learned once, not asked again
    assert after == []  # each get_call used the detail fetched for the listing
    assert all(c.status.value == truth[c.call_id] for c in fetched)
