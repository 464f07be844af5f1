"""The ElevenLabs simulator serves the documented API over its dataset: auth by `xi-api-key`,
the documented paths, envelopes, paging, filters and units, and list items without the
detail-only fields (checked here directly over HTTP, against the dataset's truth)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from call_logs_mcp.providers.elevenlabs import simulator
from call_logs_mcp.providers.simulated import simulated_dataset
from call_logs_mcp.simulators.dataset import SimDataset

AUTH = {"xi-api-key": simulator.DEFAULT_API_KEY}
LIST = "/v1/convai/conversations"


@pytest.fixture(scope="module")
def dataset() -> SimDataset:
    return simulated_dataset("elevenlabs", calls=150, campaigns=3, days=10, long_calls=0, seed=5)


@asynccontextmanager
async def client(app: Starlette, headers: dict[str, str] | None = None) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://sim.test", headers=headers or {}
    ) as http:
        yield http


async def walk(http: httpx2.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every conversation of a listing, following `next_cursor`."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1_000):
        body = (await http.get(LIST, params={**params, **({"cursor": cursor} if cursor else {})})).json()
        assert set(body) == {"conversations", "next_cursor", "has_more"}
        items += body["conversations"]
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return items
        cursor = body["next_cursor"]
    raise AssertionError("the cursor chain did not end")


async def test_only_the_xi_api_key_header_is_accepted(dataset: SimDataset) -> None:
    app = simulator.create_app(dataset)
    async with client(app) as http:
        missing = await http.get(LIST)
        bearer = await http.get(LIST, headers={"Authorization": f"Bearer {simulator.DEFAULT_API_KEY}"})
        wrong = await http.get(LIST, headers={"xi-api-key": "sk_wrong"})
        right = await http.get(LIST, headers=AUTH)
    assert [r.status_code for r in (missing, bearer, wrong, right)] == [401, 401, 401, 200]
    assert wrong.json()["detail"]["status"] == "invalid_api_key"


@pytest.mark.parametrize("size", [7, 30, 100])
async def test_paging_yields_every_conversation_once_newest_first_in_unix_seconds(
    dataset: SimDataset, size: int
) -> None:
    async with client(simulator.create_app(dataset), AUTH) as http:
        items = await walk(http, page_size=size)
        first = (await http.get(LIST)).json()
    assert [i["conversation_id"] for i in items] == [c.id for c in dataset]
    assert all(
        i["start_time_unix_secs"] == int(c.started_at.timestamp())
        for i, c in zip(items, dataset, strict=True)
    )
    assert len(first["conversations"]) == simulator.DEFAULT_PAGE_SIZE


async def test_list_items_leave_out_the_detail_only_fields_and_the_summary_unless_asked(
    dataset: SimDataset,
) -> None:
    async with client(simulator.create_app(dataset), AUTH) as http:
        plain = (await http.get(LIST, params={"page_size": 100})).json()["conversations"]
        summaries = (await http.get(LIST, params={"page_size": 100, "summary_mode": "include"})).json()
    for item in plain:
        assert not {"transcript", "metadata", "analysis", "transcript_summary"} & set(item)
    by_id = {c.id: c for c in dataset}
    assert all(
        i["transcript_summary"] == by_id[i["conversation_id"]].summary for i in summaries["conversations"]
    )


@pytest.mark.parametrize(
    "params",
    [{"page_size": 0}, {"page_size": 101}, {"page_size": "ten"}, {"summary_mode": "all"}, {"cursor": "%%%"}],
)
async def test_bad_parameters_are_422_with_the_validation_detail(
    dataset: SimDataset, params: dict[str, Any]
) -> None:
    async with client(simulator.create_app(dataset), AUTH) as http:
        response = await http.get(LIST, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


async def test_a_walk_started_before_new_calls_arrive_neither_repeats_nor_skips() -> None:
    dataset = simulated_dataset("elevenlabs", calls=80, campaigns=2, days=5, long_calls=0, seed=9)
    before = [c.id for c in dataset]
    async with client(simulator.create_app(dataset), AUTH) as http:
        body = (await http.get(LIST, params={"page_size": 25})).json()
        dataset.add_calls(5)
        rest = await walk(http, page_size=25, cursor=body["next_cursor"])
    assert [i["conversation_id"] for i in body["conversations"] + rest] == before


async def test_time_bounds_agent_and_search_filter_the_listing(dataset: SimDataset) -> None:
    calls = dataset.calls
    after, before = int(calls[100].started_at.timestamp()), int(calls[20].started_at.timestamp())
    scenario = calls[0].scenario
    turn = next(t for c in calls[40:] for t in c.turns() if t.speaker == "customer" and len(t.text) > 30)
    needle = turn.text[5:25]
    async with client(simulator.create_app(dataset), AUTH) as http:
        timed = await walk(http, call_start_after_unix=after, call_start_before_unix=before)
        agent = await walk(http, agent_id=simulator.agent_id(scenario))
        found = await walk(http, search=needle.upper())
    assert [i["conversation_id"] for i in timed] == [
        c.id for c in calls if after < int(c.started_at.timestamp()) < before
    ]
    assert [i["conversation_id"] for i in agent] == [c.id for c in calls if c.scenario == scenario]
    assert [i["conversation_id"] for i in found] == [
        c.id for c in calls if any(needle.casefold() in t.text.casefold() for t in c.turns())
    ]


async def test_the_detail_carries_seconds_usd_numbers_batch_and_transcript(dataset: SimDataset) -> None:
    call = next(c for c in dataset if c.status == "completed" and c.qa_score is not None)
    async with client(simulator.create_app(dataset), AUTH) as http:
        body = (await http.get(f"{LIST}/{call.id}")).json()
        missing = await http.get(f"{LIST}/conv_missing")
    metadata = body["metadata"]
    assert metadata["start_time_unix_secs"] == int(call.started_at.timestamp())
    assert metadata["call_duration_secs"] == call.duration_seconds and metadata["cost_fiat"] == call.price
    assert isinstance(metadata["cost"], int)
    assert metadata["phone_call"]["external_number"] == call.to_number
    assert metadata["batch_call"]["batch_call_id"] == call.campaign_id
    assert metadata["termination_reason"] == call.ended_reason
    turns = [t for t in body["transcript"] if t["message"] is not None]
    assert [t["message"] for t in turns] == [t.text for t in call.turns()]
    assert all(isinstance(t["time_in_call_secs"], int) for t in body["transcript"])
    assert body["analysis"]["call_success_score"] == call.qa_score
    assert body["analysis"]["transcript_summary"] == call.summary
    assert "recording_url" not in str(body) and body["has_audio"] is True
    assert missing.status_code == 404


async def test_batches_page_with_last_doc_and_list_exactly_their_conversations(dataset: SimDataset) -> None:
    async with client(simulator.create_app(dataset), AUTH) as http:
        pages = [(await http.get("/v1/convai/batch-calling/workspace", params={"limit": 2})).json()]
        while pages[-1]["has_more"]:
            last = pages[-1]["next_doc"]
            pages.append(
                (
                    await http.get(
                        "/v1/convai/batch-calling/workspace", params={"limit": 2, "last_doc": last}
                    )
                ).json()
            )
        batches = [b for page in pages for b in page["batch_calls"]]
        details = [(await http.get(f"/v1/convai/batch-calling/{b['id']}")).json() for b in batches]
        unknown = await http.get("/v1/convai/batch-calling/btcal_missing")
    assert sorted(b["id"] for b in batches) == sorted(c.id for c in dataset.campaigns)
    assert {b["name"] for b in batches} == {c.name for c in dataset.campaigns}
    for detail in details:
        recipients = detail["recipients"]
        assert sorted(r["conversation_id"] for r in recipients) == sorted(
            c.id for c in dataset if c.campaign_id == detail["id"]
        )
        assert all(r["phone_number"] == dataset[r["conversation_id"]].to_number for r in recipients)
    assert unknown.status_code == 404


async def test_unknown_paths_and_other_methods_are_refused(dataset: SimDataset) -> None:
    async with client(simulator.create_app(dataset), AUTH) as http:
        post = await http.post(LIST)
        other = await http.get("/v1/convai/calls")
    assert post.status_code == 405 and other.status_code == 404


async def test_the_time_bounds_are_exclusive_in_the_simulator(dataset: SimDataset) -> None:
    newest = dataset.calls[0]
    moment = int(newest.started_at.timestamp())
    async with client(simulator.create_app(dataset), AUTH) as http:
        # Exclusive bounds: a call exactly at the bound is outside.
        at = await walk(http, call_start_after_unix=moment)
        before = await walk(http, call_start_after_unix=moment - 1)
    assert newest.id not in {i["conversation_id"] for i in at}
    assert before[0]["conversation_id"] == newest.id
