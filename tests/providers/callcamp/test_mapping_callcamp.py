"""CallCamp wire quirks, driven through the adapter over a fake network (hand-written JSON from
the API reference and the older docs revision)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from call_logs_mcp.cursors import encode_cursor
from call_logs_mcp.errors import InvalidArgumentError, MalformedResponseError, NotFoundError
from call_logs_mcp.models import Call, CallQuery, CallStatus
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.config import ProviderConfig

# The API reference's detail example, verbatim.
DETAIL: dict[str, Any] = {
    "uuid": "call_9z8y7x6w5v4u3t2s1r0q",
    "callOrderUuid": "order_12345",
    "status": "completed",
    "toPhoneNumber": "+1234567890",
    "fromPhoneNumber": "+16054440129",
    "callDurationSeconds": 145,
    "callStartTime": "2026-04-20T15:00:00Z",
    "price": 0.45,
    "currencyCode": "USD",
    "recordingUrl": "https://storage.callcamp.com/recordings/call_12345.mp3",
    "summary": "Customer expressed interest in the promotion.",
    "createdAt": "2026-04-20T15:00:00Z",
}

Routes = dict[str, Callable[[httpx2.Request], httpx2.Response]]


def answer(body: object, status: int = 200) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: httpx2.Response(status, json=body)


@asynccontextmanager
async def callcamp(routes: Routes, seen: list[httpx2.Request] | None = None) -> AsyncIterator[CallProvider]:
    """The CallCamp adapter over a fake network serving `routes` (anything else answers 404)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        route = routes.get(request.url.path)
        return route(request) if route else httpx2.Response(404, json={"error": "Not found"})

    provider = create_provider(
        ProviderConfig(name="callcamp", api_key=SecretStr("cc_tok_test"), max_retries=0),
        transport=httpx2.MockTransport(handler),
    )
    try:
        yield provider
    finally:
        await provider.aclose()


async def get(detail: dict[str, Any]) -> Call:
    async with callcamp({f"/api/calls/{detail['uuid']}": answer(detail)}) as provider:
        return await provider.get_call(detail["uuid"])


async def test_the_documented_detail_maps_to_a_call() -> None:
    call = await get(DETAIL)
    assert call.call_id == DETAIL["uuid"]
    assert call.status is CallStatus.COMPLETED and call.raw_status == DETAIL["status"]
    assert (call.to_number, call.from_number) == (DETAIL["toPhoneNumber"], DETAIL["fromPhoneNumber"])
    assert call.duration_seconds == DETAIL["callDurationSeconds"]
    assert call.started_at == datetime(2026, 4, 20, 15, 0, tzinfo=UTC)
    assert (call.cost, call.currency) == (DETAIL["price"], DETAIL["currencyCode"])
    assert call.recording_urls == [DETAIL["recordingUrl"]]
    assert call.summary == DETAIL["summary"]
    assert call.extra["callOrderUuid"] == DETAIL["callOrderUuid"]
    assert call.campaign_id is None and call.transcript == []


async def test_a_list_transcript_of_the_older_docs_maps_in_order() -> None:
    turns = [
        {"role": "assistant", "text": "Hi, this is Max from Lumen Telecom."},
        {"role": "user", "text": "Hello?"},
        {"speaker": "assistant", "message": "Do you have a minute?"},
        {"role": "user", "content": "Sure."},
    ]
    call = await get({**DETAIL, "transcript": turns})
    assert [(t.speaker, t.text) for t in call.transcript] == [
        ("agent", turns[0]["text"]),
        ("customer", turns[1]["text"]),
        ("agent", turns[2]["message"]),
        ("customer", turns[3]["content"]),
    ]


async def test_a_string_transcript_splits_on_speakers_and_keeps_continuation_lines() -> None:
    text = (
        "Agent: Hello, this is Ava.\n"
        "I'm calling about your order.\n"
        "\n"
        "User: Oh hi.\n"
        "Note: I was about to call you.\n"
        "AI: Great timing then! See https://example.com/x for details.\n"
    )
    call = await get({**DETAIL, "transcript": text})
    assert [(t.speaker, t.text) for t in call.transcript] == [
        ("agent", "Hello, this is Ava.\nI'm calling about your order."),
        ("customer", "Oh hi.\nNote: I was about to call you."),
        ("agent", "Great timing then! See https://example.com/x for details."),
    ]


async def test_a_string_transcript_with_names_splits_on_every_name() -> None:
    text = "Sarah: Hi John.\nJohn: Hi Sarah, how are you?\nstill John here\nSarah: Fine."
    call = await get({**DETAIL, "transcript": text})
    assert [t.text for t in call.transcript] == [
        "Hi John.",
        "Hi Sarah, how are you?\nstill John here",
        "Fine.",
    ]


async def test_text_before_any_speaker_is_a_system_turn() -> None:
    call = await get({**DETAIL, "transcript": "[call connected]\nAgent: Hello."})
    assert [(t.speaker, t.text) for t in call.transcript] == [
        ("system", "[call connected]"),
        ("agent", "Hello."),
    ]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("completed", CallStatus.COMPLETED),
        ("failed", CallStatus.FAILED),
        ("busy", CallStatus.BUSY),
        ("no-answer", CallStatus.NO_ANSWER),
        ("ringing", CallStatus.IN_PROGRESS),
        ("something-new", CallStatus.UNKNOWN),
    ],
)
async def test_statuses_are_normalised_and_the_raw_value_is_kept(raw: str, status: CallStatus) -> None:
    call = await get({**DETAIL, "status": raw})
    assert (call.status, call.raw_status) == (status, raw)


async def test_an_unknown_uuid_is_not_found_naming_the_id() -> None:
    async with callcamp({}) as provider:
        with pytest.raises(NotFoundError, match="call call_missing"):
            await provider.get_call("call_missing")


@pytest.mark.parametrize("bad_id", ["../x", "%2e%2e", "a/b", ""])
async def test_an_id_that_is_not_one_path_segment_never_reaches_the_network(bad_id: str) -> None:
    seen: list[httpx2.Request] = []
    async with callcamp({}, seen) as provider:
        with pytest.raises(InvalidArgumentError):
            await provider.get_call(bad_id)
    assert seen == []


async def test_the_token_is_sent_as_a_bearer_token() -> None:
    seen: list[httpx2.Request] = []
    async with callcamp({f"/api/calls/{DETAIL['uuid']}": answer(DETAIL)}, seen) as provider:
        await provider.get_call(DETAIL["uuid"])
    assert seen[0].headers["authorization"] == "Bearer cc_tok_test"


@pytest.mark.parametrize(
    "body",
    [
        [DETAIL],
        {"status": "completed", "summary": "SECRET-SUMMARY"},
        {**DETAIL, "summary": "SECRET-SUMMARY", "transcript": {"role": "user"}},
    ],
    ids=["list-not-object", "missing-uuid", "transcript-object"],
)
async def test_a_malformed_detail_is_a_typed_error_that_never_quotes_the_body(body: object) -> None:
    async with callcamp({"/api/calls/call_1": answer(body)}) as provider:
        with pytest.raises(MalformedResponseError) as caught:
            await provider.get_call("call_1")
    assert "SECRET" not in str(caught.value)


def listed(n: int, start: datetime, status: str = "completed", price: float = 0.5) -> dict[str, Any]:
    return {
        **DETAIL,
        "uuid": f"call_{n:04d}",
        "status": status,
        "price": price,
        "callStartTime": (start - timedelta(hours=n)).isoformat().replace("+00:00", "Z"),
        "toPhoneNumber": f"+1415555{n:04d}",
    }


def page_of(calls: list[dict[str, Any]], **totals: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"calls": calls, "total": len(calls), "page": 1, "limit": 100, "totalPages": 1}
    body["totalDuration"] = sum(c["callDurationSeconds"] for c in calls)
    body["totalPrice"] = sum(c["price"] for c in calls)
    return {**body, **totals}


async def test_listing_sends_the_documented_parameters_and_keeps_the_platform_totals() -> None:
    start = datetime(2026, 4, 20, 18, 0, tzinfo=UTC)
    calls = [listed(n, start, "no-answer") for n in range(3)]
    body = page_of(calls)
    seen: list[httpx2.Request] = []
    query = CallQuery(
        campaign_id="camp_1",
        status=CallStatus.NO_ANSWER,
        search="4155",
        from_date=datetime(2026, 4, 1, tzinfo=UTC),
        to_date=datetime(2026, 4, 20, 23, 59, 59, tzinfo=UTC),
    )
    async with callcamp({"/api/calls": answer(body)}, seen) as provider:
        page = await provider.list_calls(query, limit=40)
    assert dict(seen[0].url.params) == {
        "campaignUuid": "camp_1",
        "status": "no-answer",
        "search": "4155",
        "startDate": "2026-04-01",
        "endDate": "2026-04-20",
        "page": "1",
        "limit": "40",
    }
    assert [c.call_id for c in page.calls] == [c["uuid"] for c in calls]
    assert all(c.campaign_id == "camp_1" for c in page.calls)
    assert page.totals is not None
    assert page.totals.calls == body["total"]
    assert page.totals.duration_seconds == body["totalDuration"]
    assert page.totals.cost == body["totalPrice"]
    assert page.totals.currency == DETAIL["currencyCode"]


async def test_instants_inside_a_day_are_trimmed_client_side_and_totals_are_withheld() -> None:
    start = datetime(2026, 4, 20, 18, 0, tzinfo=UTC)
    calls = [listed(n, start) for n in range(8)]  # 18:00 down to 11:00
    seen: list[httpx2.Request] = []
    query = CallQuery(from_date=start - timedelta(hours=5, minutes=30), to_date=start - timedelta(hours=2))
    async with callcamp({"/api/calls": answer(page_of(calls))}, seen) as provider:
        page = await provider.list_calls(query)
    assert (seen[0].url.params["startDate"], seen[0].url.params["endDate"]) == ("2026-04-20", "2026-04-20")
    assert query.from_date is not None and query.to_date is not None
    inside = [
        c["uuid"]
        for c in calls
        if query.from_date <= datetime.fromisoformat(c["callStartTime"]) <= query.to_date
    ]
    assert [c.call_id for c in page.calls] == inside
    assert page.totals is None


async def test_a_status_callcamp_lacks_is_filtered_client_side_without_totals() -> None:
    start = datetime(2026, 4, 20, 18, 0, tzinfo=UTC)
    calls = [listed(0, start, "completed"), listed(1, start, "voicemail")]
    seen: list[httpx2.Request] = []
    async with callcamp({"/api/calls": answer(page_of(calls))}, seen) as provider:
        page = await provider.list_calls(CallQuery(status=CallStatus.VOICEMAIL))
    assert "status" not in seen[0].url.params
    assert [c.call_id for c in page.calls] == [calls[1]["uuid"]]
    assert page.totals is None


async def test_an_unreadable_list_item_is_one_record_without_an_id_and_its_content_is_dropped() -> None:
    body = {"calls": [DETAIL, "SECRET-ROW"], "total": 2}
    async with callcamp({"/api/calls": answer(body)}) as provider:
        page = await provider.list_calls(CallQuery())
    # In its place (page sizes and offsets stay the platform's); the listing skips and counts it.
    assert [c.call_id for c in page.calls] == [DETAIL["uuid"], ""]
    assert "SECRET" not in page.model_dump_json()


async def test_a_prosper_cursor_is_refused() -> None:
    foreign = encode_cursor("prosper.calls", {"p": 1, "o": 0, "v": "guide"})
    async with callcamp({}) as provider:
        with pytest.raises(InvalidArgumentError):
            await provider.list_calls(CallQuery(), cursor=foreign)
