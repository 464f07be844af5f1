"""The Vapi simulator serves exactly the documented API: auth, paths, parameters, envelopes, units
and time formats (checked over HTTP, as a client sees it)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from call_logs_mcp.providers.simulated import simulated_app, simulated_dataset
from call_logs_mcp.simulators.dataset import SimDataset

KEY = "sim-vapi-private-key"
ENUMS = json.loads((Path(__file__).parent / "fixtures" / "call_enums.json").read_text())
MS_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def dataset() -> SimDataset:
    return simulated_dataset("vapi", calls=120, long_calls=0, seed=5)


@pytest.fixture
async def http(dataset: SimDataset) -> AsyncIterator[httpx2.AsyncClient]:
    app = simulated_app("vapi", dataset)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app),
        base_url="http://vapi.simulator",
        headers={"Authorization": f"Bearer {KEY}"},
    ) as client:
        yield client


async def test_a_missing_or_wrong_key_is_a_401_in_vapis_error_shape(http: httpx2.AsyncClient) -> None:
    for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        answer = await http.get("/call", headers=headers)
        assert answer.status_code == 401
        assert answer.json() | {"message": ""} == {"message": "", "error": "Unauthorized", "statusCode": 401}


async def test_the_call_list_is_a_bare_array_of_whole_calls_newest_first(
    http: httpx2.AsyncClient, dataset: SimDataset
) -> None:
    body = (await http.get("/call")).json()
    assert isinstance(body, list) and len(body) == 100  # the documented default limit
    assert [call["id"] for call in body] == [call.id for call in dataset.calls[:100]]
    for call in body:
        assert {"id", "orgId", "createdAt", "updatedAt"} <= set(call)  # the schema's required
        assert call["status"] in ENUMS["status"] and call["type"] in ENUMS["type"]
        assert "duration" not in call and "durationSeconds" not in call  # no duration field
        assert all(MS_INSTANT.fullmatch(call[k]) for k in ("createdAt", "updatedAt", "startedAt"))
        truth = dataset[call["id"]]
        assert call["cost"] == truth.price and call["customer"]["number"] == truth.to_number
        assert [m["message"] for m in call["artifact"]["messages"]] == [t.text for t in truth.turns()]
        assert ("endedAt" in call) is (truth.ended_at is not None)
    created = [datetime.fromisoformat(call["createdAt"]) for call in body]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        "limit=1001",
        "limit=-1",
        "limit=ten",
        "createdAtLe=yesterday",
        "status=ended",  # not a documented filter of GET /call
        "campaignId=abc",
        "page=2",
        "sortOrder=DESC",
    ],
)
async def test_a_bad_or_undocumented_parameter_is_a_400(http: httpx2.AsyncClient, query: str) -> None:
    answer = await http.get(f"/call?{query}")
    assert answer.status_code == 400 and answer.json()["statusCode"] == 400


async def test_created_at_bounds_and_limit_select_as_documented(
    http: httpx2.AsyncClient, dataset: SimDataset
) -> None:
    calls = dataset.calls
    le = datetime.fromisoformat((await http.get(f"/call/{calls[10].id}")).json()["createdAt"])
    body = (await http.get("/call", params={"createdAtLe": le.isoformat(), "limit": 5})).json()
    assert [c["id"] for c in body] == [c.id for c in calls[10:15]]
    body = (await http.get("/call", params={"createdAtLt": le.isoformat(), "limit": 5})).json()
    assert [c["id"] for c in body] == [c.id for c in calls[11:16]]
    ge = le - timedelta(seconds=1)
    body = (
        await http.get("/call", params={"createdAtLe": le.isoformat(), "createdAtGe": ge.isoformat()})
    ).json()
    assert [c["id"] for c in body] == [calls[10].id]
    assert (await http.get("/call", params={"limit": 0})).json() == []


async def test_a_call_by_id_and_the_not_found_and_not_a_uuid_answers(
    http: httpx2.AsyncClient, dataset: SimDataset
) -> None:
    call = dataset.calls[3]
    assert (await http.get(f"/call/{call.id}")).json()["id"] == call.id
    assert (await http.get("/call/00000000-0000-4000-8000-000000000000")).status_code == 404
    assert (await http.get("/call/4711")).status_code == 400


async def test_campaigns_are_paginated_with_names_calls_and_counters(
    http: httpx2.AsyncClient, dataset: SimDataset
) -> None:
    first = (await http.get("/campaign", params={"limit": 4, "page": 1})).json()
    second = (await http.get("/campaign", params={"limit": 4, "page": 2})).json()
    assert first["metadata"] == {"itemsPerPage": 4, "totalItems": len(dataset.campaigns), "currentPage": 1}
    listed = first["results"] + second["results"]
    assert sorted(c["id"] for c in listed) == sorted(c.id for c in dataset.campaigns)
    for campaign in listed:
        calls = [c for c in dataset if c.campaign_id == campaign["id"]]
        assert campaign["name"] == dataset.campaign(campaign["id"]).name  # type: ignore[union-attr]
        assert sorted(campaign["calls"]) == sorted(c.id for c in calls)
        running = campaign["callsCounterQueued"] + campaign["callsCounterInProgress"]
        assert running + campaign["callsCounterEnded"] == len(calls)
    one = listed[0]["id"]
    assert (await http.get(f"/campaign/{one}")).json()["name"] == listed[0]["name"]
    assert (await http.get("/campaign/spring")).status_code == 400
