"""Bland wire quirks, driven through the adapter over a fake network, on the docs' own example
payloads (`fixtures/`, see its README for the source and the only edits made)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx2
import pytest
from pydantic import SecretStr

from call_logs_mcp.errors import UnavailableError
from call_logs_mcp.models import Call, CallQuery, CallStatus
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.config import ProviderConfig

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "sk-bland-test"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


DETAIL = fixture("get_call.json")
LISTING = fixture("list_calls.json")
CAMPAIGNS = fixture("list_campaigns.json")
BATCHES = fixture("list_batches.json")
BATCH = fixture("get_batch.json")

Routes = dict[str, Callable[[httpx2.Request], httpx2.Response]]


def answer(body: object, status: int = 200) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: httpx2.Response(status, json=body)


@asynccontextmanager
async def bland(routes: Routes, seen: list[httpx2.Request] | None = None) -> AsyncIterator[CallProvider]:
    """The Bland adapter over a fake network serving `routes` (anything else answers 404)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        route = routes.get(request.url.path)
        return (
            route(request)
            if route
            else httpx2.Response(404, json={"status": "error", "message": "Not found"})
        )

    provider = create_provider(
        ProviderConfig(name="bland", api_key=SecretStr(KEY), max_retries=0),
        transport=httpx2.MockTransport(handler),
    )
    try:
        yield provider
    finally:
        await provider.aclose()


async def get(detail: dict[str, Any]) -> Call:
    async with bland({f"/v1/calls/{detail['call_id']}": answer(detail)}) as provider:
        return await provider.get_call(str(detail["call_id"]))


def params(request: httpx2.Request) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(request.url.query.decode()).items()}


# --- the call detail ------------------------------------------------------------------------------


async def test_the_documented_detail_maps_to_a_call_in_seconds_utc_and_usd() -> None:
    call = await get(DETAIL)
    assert call.call_id == DETAIL["call_id"]
    assert (call.status, call.raw_status) == (CallStatus.COMPLETED, "completed")
    # created_at (when the call was placed) is the start; the connection time anchors the rest.
    assert call.started_at == datetime(2024, 4, 27, 23, 51, 18, 25251, tzinfo=UTC)
    assert call.duration_seconds == 45  # corrected_duration "45" (seconds), not call_length 0.75 (minutes)
    assert call.ended_at == datetime(2024, 4, 27, 23, 51, 25, tzinfo=UTC) + timedelta(seconds=45)
    assert (call.to_number, call.from_number) == (DETAIL["to"], DETAIL["from"])
    assert (call.cost, call.currency) == (0.068, "USD")
    assert call.summary == DETAIL["summary"]
    assert call.extracted_data == DETAIL["variables"]
    assert call.qa == {} and call.qa_score is None  # "analysis": null
    assert call.recording_urls == []
    assert call.ended_reason is None and call.extra["call_ended_by"] == "ASSISTANT"
    assert call.campaign_id is None  # "batch_id": null
    for leftover in ("c_id", "request_data", "warm_transfer_call", "pathway_id", "end_at", "voice_id"):
        assert call.extra[leftover] == DETAIL[leftover]


async def test_transcript_turns_keep_their_order_speakers_and_offsets_from_the_connection() -> None:
    call = await get(DETAIL)
    assert [(t.speaker, t.text) for t in call.transcript] == [
        ("customer", DETAIL["transcripts"][0]["text"]),
        ("agent", DETAIL["transcripts"][1]["text"]),
    ]
    assert [t.offset_seconds for t in call.transcript] == [3.568, 5.69]


async def test_robot_and_agent_action_lines_are_system_turns_and_unknown_speakers_stay_readable() -> None:
    lines = [
        ("robot", "Call transferred."),
        ("agent-action", "Booked a slot."),
        ("Agent", "Bye!"),
        (None, "…"),
    ]
    detail = DETAIL | {
        "transcripts": [{"id": i, "text": text, "user": who} for i, (who, text) in enumerate(lines)]
    }
    call = await get(detail)
    assert [(t.speaker, t.text) for t in call.transcript] == [
        ("system", "Call transferred."),
        ("system", "Booked a slot."),
        ("agent", "Bye!"),
        ("system", "…"),
    ]
    assert all(t.offset_seconds is None for t in call.transcript)  # no created_at on these lines


async def test_without_a_transcripts_array_the_concatenated_transcript_is_read() -> None:
    detail = {key: value for key, value in DETAIL.items() if key != "transcripts"}
    call = await get(detail)
    assert [t.speaker for t in call.transcript] == ["customer", "agent", "customer"]
    assert call.transcript[0].text == "Hello?"
    assert call.transcript[2].text.startswith("Hopefully, tomorrow")


async def test_call_length_in_minutes_is_converted_when_there_is_no_corrected_duration() -> None:
    call = await get(DETAIL | {"corrected_duration": None, "call_length": 0.834})
    assert call.duration_seconds == pytest.approx(50.04)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"status": "completed", "answered_by": "voicemail"}, CallStatus.VOICEMAIL),
        ({"status": "no-answer", "answered_by": "no-answer"}, CallStatus.NO_ANSWER),
        ({"status": "busy", "answered_by": None}, CallStatus.BUSY),
        ({"status": "failed", "queue_status": "call_error"}, CallStatus.FAILED),
        ({"status": "canceled", "answered_by": None}, CallStatus.FAILED),
        ({"status": None, "queue_status": "started", "completed": False}, CallStatus.IN_PROGRESS),
        ({"status": "unknown", "queue_status": "complete", "answered_by": None}, CallStatus.UNKNOWN),
        ({"status": "transferred-elsewhere", "answered_by": None}, CallStatus.UNKNOWN),
    ],
)
async def test_statuses_follow_the_docs_and_keep_the_raw_value(
    fields: dict[str, Any], status: CallStatus
) -> None:
    call = await get(DETAIL | fields)
    assert call.status is status
    raw = fields.get("status") or fields.get("queue_status")
    assert call.raw_status == raw


@pytest.mark.parametrize(
    "bad",
    [
        {"transcripts": "Hello?"},
        {"transcripts": {"0": "Hello?"}},
        {"analysis": ["booked"]},
        {"variables": "appointment_time=9am"},
        {"price": "a lot"},
        {"summary": {"text": "..."}},
    ],
    ids=lambda bad: next(iter(bad)),
)
async def test_a_field_in_an_unexpected_shape_is_a_counted_logged_skip_not_a_failed_call(
    bad: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    (name,) = bad
    with caplog.at_level(logging.WARNING):
        call = await get(DETAIL | bad)
    assert call.call_id == DETAIL["call_id"] and call.status is CallStatus.COMPLETED
    assert call.extra["skipped_fields"] == [name]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(name in message for message in warnings)
    assert not any(str(bad[name])[:12] in message for message in warnings)


async def test_the_key_is_sent_bare_in_the_authorization_header() -> None:
    seen: list[httpx2.Request] = []
    async with bland({f"/v1/calls/{DETAIL['call_id']}": answer(DETAIL)}, seen) as provider:
        await provider.get_call(DETAIL["call_id"])
    assert seen[0].headers["authorization"] == KEY


# --- the list -------------------------------------------------------------------------------------


async def test_the_documented_list_item_maps_to_a_summary_from_the_list_fields_only() -> None:
    item = LISTING["calls"][0]
    # A price or status word in a list item is not documented there: it is not used.
    listing = LISTING | {"calls": [item | {"price": 9.99, "status": "busy", "summary": "x"}]}
    async with bland({"/v1/calls": answer(listing)}) as provider:
        page = await provider.list_calls(CallQuery(), limit=20)
    (call,) = page.calls
    assert not isinstance(call, Call)
    assert call.call_id == item["call_id"]
    assert call.status is CallStatus.COMPLETED  # answered_by "human" on a complete call
    assert call.duration_seconds == pytest.approx(50.04)  # 0.834 minutes
    assert call.started_at == datetime(2023, 12, 21, 23, 25, 14, 801193, tzinfo=UTC)
    assert call.campaign_id == item["batch_id"]
    assert (call.cost, call.summary) == (None, None)
    # The example's `count` (784) is not the number of calls it holds, and it has no
    # `total_count`: the one listed call is the whole listing, and no total is claimed.
    assert page.next_cursor is None and page.totals is None


def paged_server(total: int, served: int, seen: list[httpx2.Request]) -> Routes:
    """A list that answers at most `served` calls per request, whatever `limit` asks for."""
    start = datetime(2026, 5, 1, 12, tzinfo=UTC)
    calls = [
        LISTING["calls"][0]
        | {"call_id": f"call-{i:03d}", "created_at": (start - timedelta(minutes=i)).isoformat()}
        for i in range(total)
    ]

    def route(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        first = int(params(request).get("from", "0"))
        window = calls[first : first + served]
        return httpx2.Response(200, json={"total_count": total, "count": len(window), "calls": window})

    return {"/v1/calls": route}


@pytest.mark.parametrize(("total", "served", "limit"), [(7, 3, 10), (25, 10, 7), (12, 5, 5), (1, 1, 1)])
async def test_index_paging_advances_by_what_was_returned_and_stops_at_total_count(
    total: int, served: int, limit: int
) -> None:
    seen: list[httpx2.Request] = []
    ids: list[str] = []
    async with bland(paged_server(total, served, seen)) as provider:
        cursor: str | None = None
        for _ in range(3 * total):
            page = await provider.list_calls(CallQuery(), limit=limit, cursor=cursor)
            ids += [call.call_id for call in page.calls]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert ids == [f"call-{i:03d}" for i in range(total)]
    starts = [int(params(request)["from"]) for request in seen]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(params(request)["sort_by"] == "created_at" for request in seen)
    assert all(params(request)["ascending"] == "false" for request in seen)


async def test_continuations_are_pinned_to_the_newest_call_of_the_first_page() -> None:
    seen: list[httpx2.Request] = []
    async with bland(paged_server(30, 10, seen)) as provider:
        first = await provider.list_calls(CallQuery(), limit=10)
        await provider.list_calls(CallQuery(), limit=10, cursor=first.next_cursor)
    assert "end_date" not in params(seen[0])
    assert params(seen[-1])["end_date"] == "2026-05-01T12:00:00+00:00"


async def test_dates_go_upstream_as_instants_with_an_offset() -> None:
    seen: list[httpx2.Request] = []
    since = datetime(2026, 2, 19, 5, 0, 30, tzinfo=UTC)
    async with bland(paged_server(3, 3, seen)) as provider:
        await provider.list_calls(CallQuery(from_date=since), limit=5)
    assert params(seen[0])["start_date"] == "2026-02-19T05:00:30+00:00"


# --- campaigns and batches ------------------------------------------------------------------------


def campaign_routes(seen: list[httpx2.Request]) -> Routes:
    batch_id = BATCH["data"]["id"]

    def calls(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"total_count": 0, "count": 0, "calls": []})

    return {
        "/v1/calls": calls,
        "/v1/campaigns": answer(CAMPAIGNS),
        "/v2/batches/list": answer(BATCHES),
        f"/v2/batches/{batch_id}": answer(BATCH),
    }


async def test_list_campaigns_names_campaigns_with_their_totals_and_labels_batches() -> None:
    async with bland(campaign_routes([])) as provider:
        campaigns = await provider.list_campaigns()
    campaign = CAMPAIGNS["campaigns"][0]
    batch = BATCHES["data"][0]
    assert [(c.campaign_id, c.name, c.call_count) for c in campaigns] == [
        (campaign["campaign_id"], campaign["campaign_name"], campaign["count"]),
        (batch["id"], f"batch: {batch['description']}", None),
    ]


@pytest.mark.parametrize(
    ("campaign_id", "parameter"),
    [
        (CAMPAIGNS["campaigns"][0]["campaign_id"], "campaign_id"),
        (BATCH["data"]["id"], "batch_id"),
        ("11111111-2222-3333-4444-555555555555", "campaign_id"),
    ],
    ids=["campaign", "batch", "neither"],
)
async def test_a_campaign_id_is_sent_as_a_campaign_or_as_the_batch_it_names(
    campaign_id: str, parameter: str
) -> None:
    seen: list[httpx2.Request] = []
    async with bland(campaign_routes(seen)) as provider:
        page = await provider.list_calls(CallQuery(campaign_id=campaign_id), limit=5)
    assert page.totals is not None and page.totals.calls == 0
    (request,) = seen
    assert params(request)[parameter] == campaign_id
    assert {"campaign_id", "batch_id"} - {parameter} <= set(params(request)) ^ {"campaign_id", "batch_id"}


async def test_a_failed_status_lookup_is_the_platform_error_and_a_vanished_call_matches_nothing() -> None:
    open_item = LISTING["calls"][0] | {"answered_by": None}
    listing = {"total_count": 2, "count": 2, "calls": [open_item, open_item | {"call_id": "gone"}]}
    routes: Routes = {
        "/v1/calls": answer(listing),
        f"/v1/calls/{open_item['call_id']}": answer({"status": "error", "message": "down"}, 503),
    }
    async with bland(routes) as provider:
        with pytest.raises(UnavailableError):
            await provider.list_calls(CallQuery(status=CallStatus.BUSY), limit=5)
    routes[f"/v1/calls/{open_item['call_id']}"] = answer(
        DETAIL | {"call_id": open_item["call_id"], "status": "busy"}
    )
    async with bland(routes) as provider:
        page = await provider.list_calls(CallQuery(status=CallStatus.BUSY), limit=5)
    assert [(c.call_id, c.status) for c in page.calls] == [(open_item["call_id"], CallStatus.BUSY)]
