"""Prosper wire quirks, driven through the adapter over a fake network (hand-written JSON from the
export guide and the published OpenAPI)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from call_logs_mcp.errors import (
    InvalidArgumentError,
    MalformedResponseError,
    NotFoundError,
    RequestRejectedError,
)
from call_logs_mcp.models import Call, CallQuery, CallStatus
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.config import ProviderConfig

GUIDE_LIST = "/api/v1/campaigns/call-logs"
OPENAPI_LIST = "/api/v1/call-logs"

# The export guide's detail example, verbatim apart from `criteria`.
GUIDE_DETAIL: dict[str, Any] = {
    "call_log_id": 12345,
    "target_id": "3ef78020-1e89-4496-9538-695f257ee001",
    "campaign_id": "abc123",
    "status": "completed",
    "duration": 180,
    "transcript": [
        {"speaker": "agent", "text": "Hello, this is the AI assistant...", "timestamp": 0},
        {"speaker": "user", "text": "Hi, I'm interested in...", "timestamp": 3.5},
    ],
    "extracted_data": {"appointment_scheduled": True, "customer_interest_level": "high"},
    "qa_results": {"overall_score": 92, "criteria": {"greeting": 10}},
    "created_at": "2024-01-15T10:30:00Z",
    "completed_at": "2024-01-15T10:33:00Z",
}

# The published OpenAPI's CallLogExportInformation, filled in.
OPENAPI_DETAIL: dict[str, Any] = {
    "id": "777",
    "to": "+15550100",
    "from_": "+15550199",
    "created_at": "2026-03-02T09:15:00+01:00",
    "call_length": "3:05",
    "call_ended_reason": "customer-ended-call",
    "call_categorization": {"category": "booked"},
    "recording_urls": ["https://rec.example/777.mp3", None],
    "agent_data": {"agent_name": "Ava"},
    "campaign_target_id": "target-9",
    "post_call_data": {"appointment_date": "2026-03-09"},
    "qa": {"score": "88"},
    "transcripts": [
        {"role": "assistant", "content": "Good morning, this is Ava from the clinic."},
        {"user": "Morning! Is this about my appointment?"},
        {"role": "assistant", "content": "Yes — can we move it to Monday?"},
    ],
    "sentiment": "positive",
}

Routes = dict[str, Callable[[httpx2.Request], httpx2.Response]]


def answer(body: object, status: int = 200) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: httpx2.Response(status, json=body)


@asynccontextmanager
async def prosper(
    routes: Routes, seen: list[httpx2.Request] | None = None, **config: Any
) -> AsyncIterator[CallProvider]:
    """The Prosper adapter over a fake network serving `routes` (anything else answers 404)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        route = routes.get(request.url.path)
        return route(request) if route else httpx2.Response(404, json={"detail": "Not Found"})

    provider = create_provider(
        ProviderConfig(name="prosper", api_key=SecretStr("pk_test_key"), max_retries=0, **config),
        transport=httpx2.MockTransport(handler),
    )
    try:
        yield provider
    finally:
        await provider.aclose()


async def get(detail: dict[str, Any], call_id: str = "1") -> Call:
    async with prosper({f"/api/v1/call-logs/{call_id}": answer(detail)}) as provider:
        return await provider.get_call(call_id)


async def test_the_export_guide_detail_maps_to_a_full_call() -> None:
    call = await get(GUIDE_DETAIL, "12345")
    assert call.call_id == str(GUIDE_DETAIL["call_log_id"])
    assert call.campaign_id == GUIDE_DETAIL["campaign_id"]
    assert call.status is CallStatus.COMPLETED and call.raw_status == GUIDE_DETAIL["status"]
    assert call.duration_seconds == GUIDE_DETAIL["duration"]
    assert call.started_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert call.ended_at == datetime(2024, 1, 15, 10, 33, tzinfo=UTC)
    assert [(t.speaker, t.text, t.offset_seconds) for t in call.transcript] == [
        ("agent", GUIDE_DETAIL["transcript"][0]["text"], 0),
        ("customer", GUIDE_DETAIL["transcript"][1]["text"], 3.5),
    ]
    assert call.extracted_data == GUIDE_DETAIL["extracted_data"]
    assert call.qa == GUIDE_DETAIL["qa_results"]
    assert call.qa_score == GUIDE_DETAIL["qa_results"]["overall_score"]
    assert call.extra["target_id"] == GUIDE_DETAIL["target_id"]
    assert call.cost is None


async def test_the_openapi_detail_shape_maps_to_the_same_fields() -> None:
    call = await get(OPENAPI_DETAIL, "777")
    assert call.call_id == OPENAPI_DETAIL["id"]
    assert (call.to_number, call.from_number) == (OPENAPI_DETAIL["to"], OPENAPI_DETAIL["from_"])
    assert call.started_at == datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert call.duration_seconds == 3 * 60 + 5
    assert call.status is CallStatus.COMPLETED
    assert call.raw_status == call.ended_reason == OPENAPI_DETAIL["call_ended_reason"]
    assert call.extracted_data == OPENAPI_DETAIL["post_call_data"]
    assert call.qa_score == float(OPENAPI_DETAIL["qa"]["score"])
    assert call.recording_urls == [url for url in OPENAPI_DETAIL["recording_urls"] if url]
    expected = [("agent", OPENAPI_DETAIL["transcripts"][0]["content"])]
    expected.append(("customer", OPENAPI_DETAIL["transcripts"][1]["user"]))
    expected.append(("agent", OPENAPI_DETAIL["transcripts"][2]["content"]))
    assert [(t.speaker, t.text) for t in call.transcript] == expected


async def test_provider_leftovers_go_to_extra_not_to_the_domain_fields() -> None:
    call = await get(OPENAPI_DETAIL, "777")
    assert call.extra["sentiment"] == OPENAPI_DETAIL["sentiment"]
    assert call.extra["call_categorization"] == OPENAPI_DETAIL["call_categorization"]
    assert call.extra["agent_data"] == OPENAPI_DETAIL["agent_data"]
    assert call.extra["target_id"] == OPENAPI_DETAIL["campaign_target_id"]


@pytest.mark.parametrize(
    ("wire", "seconds"),
    [(180, 180), ("180", 180), ("3:00", 180), ("1:02:03", 3723), ("00:00:59.5", 59.5), (None, None)],
)
async def test_call_lengths_in_every_spelling_become_seconds(wire: object, seconds: float | None) -> None:
    call = await get({"id": "1", "call_length": wire})
    assert call.duration_seconds == seconds


@pytest.mark.parametrize(
    ("role", "speaker"),
    [
        ("agent", "agent"),
        ("assistant", "agent"),
        ("AI", "agent"),
        ("bot", "agent"),
        ("user", "customer"),
        ("Customer", "customer"),
        ("human", "customer"),
        ("callee", "customer"),
        ("patient", "customer"),
        ("narrator", "system"),
    ],
)
async def test_speakers_are_normalised_in_every_transcript_spelling(role: str, speaker: str) -> None:
    spellings = [
        {"speaker": role, "text": "one"},
        {"role": role, "message": "two"},
        {"role": role, "content": "three"},
        {role: "four"},
    ]
    call = await get({"id": "1", "transcripts": spellings})
    assert [(t.speaker, t.text) for t in call.transcript] == [
        (speaker, "one"),
        (speaker, "two"),
        (speaker, "three"),
        (speaker, "four"),
    ]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"status": "completed"}, CallStatus.COMPLETED),
        ({"status": "failed"}, CallStatus.FAILED),
        ({"status": "in_progress"}, CallStatus.IN_PROGRESS),
        ({"status": "in-progress"}, CallStatus.IN_PROGRESS),
        ({"status": "no_answer"}, CallStatus.NO_ANSWER),
        ({"status": "teleported"}, CallStatus.UNKNOWN),
        ({"call_ended_reason": "customer-did-not-answer"}, CallStatus.NO_ANSWER),
        ({"call_ended_reason": "customer-busy"}, CallStatus.BUSY),
        ({"call_ended_reason": "voicemail"}, CallStatus.VOICEMAIL),
        ({"call_ended_reason": "pipeline-error-openai-llm-failed"}, CallStatus.FAILED),
        ({"call_ended_reason": "assistant-ended-call"}, CallStatus.COMPLETED),
    ],
)
async def test_statuses_are_normalised_and_the_raw_value_is_kept(
    fields: dict[str, str], status: CallStatus
) -> None:
    call = await get({"id": "1", **fields})
    assert call.status is status
    assert call.raw_status == next(iter(fields.values()))


async def test_dates_without_a_zone_are_utc_and_offsets_are_converted() -> None:
    naive = await get({"id": "1", "created_at": "2026-01-05T08:00:00"})
    offset = await get({"id": "1", "created_at": "2026-01-05T08:00:00-05:00"})
    assert naive.started_at == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert offset.started_at == datetime(2026, 1, 5, 8, 0, tzinfo=UTC) + timedelta(hours=5)


async def test_a_detail_missing_from_the_first_path_is_fetched_from_the_campaigns_path() -> None:
    seen: list[httpx2.Request] = []
    routes = {"/api/v1/campaigns/call-logs/12345": answer(GUIDE_DETAIL)}
    async with prosper(routes, seen) as provider:
        call = await provider.get_call("12345")
    assert call.call_id == "12345"
    assert [r.url.path for r in seen] == ["/api/v1/call-logs/12345", "/api/v1/campaigns/call-logs/12345"]


async def test_an_id_neither_path_knows_is_not_found_naming_the_id() -> None:
    async with prosper({}) as provider:
        with pytest.raises(NotFoundError, match="call 424242"):
            await provider.get_call("424242")


@pytest.mark.parametrize("bad_id", ["../x", "%2e%2e", "a/b", "", " "])
async def test_an_id_that_is_not_one_path_segment_never_reaches_the_network(bad_id: str) -> None:
    seen: list[httpx2.Request] = []
    async with prosper({}, seen) as provider:
        with pytest.raises(InvalidArgumentError):
            await provider.get_call(bad_id)
    assert seen == []


@pytest.mark.parametrize(
    "body",
    [
        [GUIDE_DETAIL],
        {"status": "completed", "transcript": [{"speaker": "agent", "text": "SECRET-TRANSCRIPT"}]},
        {"id": "1", "transcript": ["SECRET-TRANSCRIPT"]},
        {"id": "1", "qa": ["SECRET-TRANSCRIPT"]},
    ],
    ids=["list-not-object", "missing-id", "turn-not-object", "qa-not-object"],
)
async def test_a_malformed_detail_is_a_typed_error_that_never_quotes_the_body(body: object) -> None:
    async with prosper({"/api/v1/call-logs/1": answer(body)}) as provider:
        with pytest.raises(MalformedResponseError) as caught:
            await provider.get_call("1")
    assert "SECRET" not in str(caught.value) and "completed" not in str(caught.value)


async def test_an_unreadable_list_item_is_one_record_without_an_id_and_its_content_is_dropped() -> None:
    body = {"items": [{"call_log_id": 1}, ["SECRET-TRANSCRIPT"]], "total": 2, "page": 1, "page_size": 100}
    async with prosper({GUIDE_LIST: answer(body)}) as provider:
        page = await provider.list_calls(CallQuery())
    # In its place (page sizes and offsets stay the platform's); the listing skips and counts it.
    assert [c.call_id for c in page.calls] == ["1", ""]
    assert "SECRET" not in page.model_dump_json()


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, ("authorization", "Bearer pk_test_key")), ("X-API-Key", ("x-api-key", "pk_test_key"))],
)
async def test_the_key_is_sent_as_bearer_or_bare_in_a_configured_header(
    header: str | None, expected: tuple[str, str]
) -> None:
    seen: list[httpx2.Request] = []
    async with prosper({"/api/v1/call-logs/1": answer({"id": "1"})}, seen, auth_header=header) as provider:
        await provider.get_call("1")
    name, value = expected
    assert seen[0].headers[name] == value
    if header is not None:
        assert "authorization" not in seen[0].headers


def guide_page(calls: list[dict[str, Any]], page: int, page_size: int, total: int) -> dict[str, Any]:
    return {"items": calls, "total": total, "page": page, "page_size": page_size}


def guide_item(number: int, start: datetime, status: str = "completed") -> dict[str, Any]:
    return {
        "call_log_id": number,
        "target_id": f"t-{number}",
        "status": status,
        "duration": 60,
        "created_at": start.isoformat().replace("+00:00", "Z"),
        "phone_number": f"+1555010{number:04d}",
    }


async def test_the_guide_list_sends_its_documented_parameters_and_maps_summaries() -> None:
    start = datetime(2026, 4, 20, 15, 0, tzinfo=UTC)
    items = [guide_item(n, start - timedelta(minutes=n)) for n in range(3)]
    seen: list[httpx2.Request] = []
    routes = {GUIDE_LIST: answer(guide_page(items, 1, 100, len(items)))}
    query = CallQuery(campaign_id="abc123", status=CallStatus.COMPLETED)
    async with prosper(routes, seen) as provider:
        page = await provider.list_calls(query, limit=25)
    params = dict(seen[0].url.params)
    assert params == {"campaign_id": "abc123", "page": "1", "page_size": "25", "status": "completed"}
    assert [c.call_id for c in page.calls] == [str(i["call_log_id"]) for i in items]
    assert all(type(c).__name__ == "CallSummary" and c.campaign_id == "abc123" for c in page.calls)
    assert page.calls[0].to_number == items[0]["phone_number"]
    assert page.next_cursor is None
    assert page.totals is not None and page.totals.calls == len(items)


async def test_an_undocumented_status_is_filtered_client_side_and_totals_are_withheld() -> None:
    start = datetime(2026, 4, 20, 15, 0, tzinfo=UTC)
    statuses = ["completed", "voicemail", "failed", "voicemail"]
    items = [guide_item(n, start - timedelta(minutes=n), s) for n, s in enumerate(statuses)]
    seen: list[httpx2.Request] = []
    routes = {GUIDE_LIST: answer(guide_page(items, 1, 100, len(items)))}
    async with prosper(routes, seen) as provider:
        page = await provider.list_calls(CallQuery(status=CallStatus.VOICEMAIL))
    assert "status" not in seen[0].url.params
    assert [c.call_id for c in page.calls] == [str(n) for n, s in enumerate(statuses) if s == "voicemail"]
    assert page.totals is None


async def test_search_is_applied_client_side_on_phone_digits() -> None:
    start = datetime(2026, 4, 20, 15, 0, tzinfo=UTC)
    items = [guide_item(n, start - timedelta(minutes=n)) for n in range(5)]
    wanted = items[3]["phone_number"]
    needle = f"({wanted[2:5]}) {wanted[5:8]}-{wanted[8:]}"
    routes = {GUIDE_LIST: answer(guide_page(items, 1, 100, len(items)))}
    async with prosper(routes) as provider:
        page = await provider.list_calls(CallQuery(search=needle))
    assert [c.call_id for c in page.calls] == [str(items[3]["call_log_id"])]
    assert page.totals is None and page.unsupported_filters == []


async def test_a_small_limit_pages_through_platform_pages_exactly_once_newest_first() -> None:
    start = datetime(2026, 4, 20, 15, 0, tzinfo=UTC)
    everything = [guide_item(n, start - timedelta(minutes=n)) for n in range(250)]

    def serve(request: httpx2.Request) -> httpx2.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["page_size"])
        chunk = everything[(page - 1) * size : page * size]
        return httpx2.Response(200, json=guide_page(chunk, page, size, len(everything)))

    seen_ids: list[str] = []
    async with prosper({GUIDE_LIST: serve}) as provider:
        cursor: str | None = None
        while True:
            page = await provider.list_calls(CallQuery(), limit=7, cursor=cursor)
            seen_ids += [c.call_id for c in page.calls]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert seen_ids == [str(i["call_log_id"]) for i in everything]


async def test_the_openapi_list_is_used_when_the_guide_list_is_missing_and_is_remembered() -> None:
    listing = {"call_logs": [OPENAPI_DETAIL], "page_count": 1, "next_page": None}
    seen: list[httpx2.Request] = []
    async with prosper({OPENAPI_LIST: answer(listing)}, seen) as provider:
        assert provider.info.capabilities.list_includes_details is False
        first = await provider.list_calls(CallQuery(campaign_id="c-1"), limit=30)
        await provider.list_calls(CallQuery())
        assert provider.info.capabilities.list_includes_details is True
    assert [r.url.path for r in seen] == [GUIDE_LIST, OPENAPI_LIST, OPENAPI_LIST]
    assert dict(seen[1].url.params) == {"campaign_id": "c-1", "page": "0", "limit": "30"}
    [call] = first.calls
    assert isinstance(call, Call) and call.campaign_id == "c-1"
    assert len(call.transcript) == len(OPENAPI_DETAIL["transcripts"])


async def test_the_openapi_variant_applies_status_client_side_across_pages() -> None:
    start = datetime(2026, 4, 20, 15, 0, tzinfo=UTC)
    reasons = ["customer-ended-call", "voicemail", "customer-busy"] * 4
    logs = [
        {"id": str(n), "created_at": (start - timedelta(minutes=n)).isoformat(), "call_ended_reason": r}
        for n, r in enumerate(reasons)
    ]

    def serve(request: httpx2.Request) -> httpx2.Response:
        assert "status" not in request.url.params
        page = int(request.url.params["page"])
        chunk = logs[page * 5 : page * 5 + 5]
        more = (page + 1) * 5 < len(logs)
        return httpx2.Response(
            200, json={"call_logs": chunk, "page_count": 3, "next_page": page + 1 if more else None}
        )

    found: list[str] = []
    async with prosper({OPENAPI_LIST: serve}) as provider:
        cursor: str | None = None
        query = CallQuery(status=CallStatus.VOICEMAIL)
        while True:
            page = await provider.list_calls(query, limit=2, cursor=cursor)
            found += [c.call_id for c in page.calls]
            if (cursor := page.next_cursor) is None:
                break
    assert found == [log["id"] for log in logs if log["call_ended_reason"] == "voicemail"]


async def test_a_date_range_is_sent_as_instants_and_trimmed_to_them() -> None:
    start = datetime(2026, 4, 20, 15, 0, tzinfo=UTC)
    items = [guide_item(n, start - timedelta(hours=n)) for n in range(6)]
    seen: list[httpx2.Request] = []
    routes = {GUIDE_LIST: answer(guide_page(items, 1, 100, len(items)))}
    query = CallQuery(from_date=start - timedelta(hours=4), to_date=start - timedelta(hours=1, minutes=30))
    async with prosper(routes, seen) as provider:
        page = await provider.list_calls(query)
    assert seen[0].url.params["from_date"] == "2026-04-20T11:00:00Z"
    assert seen[0].url.params["to_date"] == "2026-04-20T13:30:00Z"
    assert [c.call_id for c in page.calls] == ["2", "3", "4"]
    assert page.totals is None


async def test_a_cursor_is_tied_to_its_query_and_its_adapter() -> None:
    start = datetime(2026, 4, 20, 15, 0, tzinfo=UTC)
    items = [guide_item(n, start - timedelta(minutes=n)) for n in range(3)]
    routes = {GUIDE_LIST: answer(guide_page(items, 1, 100, len(items)))}
    async with prosper(routes) as provider:
        page = await provider.list_calls(CallQuery(), limit=1)
        assert page.next_cursor is not None
        with pytest.raises(InvalidArgumentError, match="different filters"):
            await provider.list_calls(CallQuery(search="x"), cursor=page.next_cursor)
        with pytest.raises(InvalidArgumentError, match="not issued"):
            await provider.list_calls(CallQuery(), cursor=page.next_cursor[:-4] + "AAAA")


@pytest.mark.parametrize(
    ("fields", "status", "raw"),
    [
        (
            {"call_ended_reason": "silence-timeout", "call_categorization": {"category": "DISCONNECTED"}},
            CallStatus.FAILED,
            "silence-timeout",
        ),
        (
            {"call_ended_reason": "customer-busy", "call_categorization": {"category": "NO_RESPONSE"}},
            CallStatus.BUSY,
            "customer-busy",
        ),
        (
            {"call_ended_reason": "", "call_categorization": {"category": "VOICEMAIL"}},
            CallStatus.VOICEMAIL,
            "VOICEMAIL",
        ),
        ({"call_ended_reason": "", "call_categorization": None}, CallStatus.IN_PROGRESS, None),
        ({}, CallStatus.UNKNOWN, None),
    ],
)
async def test_the_openapi_shape_derives_status_from_end_reason_then_categorization(
    fields: dict[str, Any], status: CallStatus, raw: str | None
) -> None:
    call = await get({"id": "1", **fields})
    assert (call.status, call.raw_status) == (status, raw)


async def test_an_id_prosper_rejects_as_not_an_integer_is_not_found() -> None:
    rejected = {"detail": [{"type": "int_parsing", "loc": ["path", "call_log_id"], "msg": "not an int"}]}
    routes = {
        "/api/v1/call-logs/call_abc": answer(rejected, 422),
        "/api/v1/campaigns/call-logs/call_abc": answer(rejected, 422),
    }
    async with prosper(routes) as provider:
        with pytest.raises(NotFoundError, match="call call_abc"):
            await provider.get_call("call_abc")


async def test_a_numeric_id_prosper_rejects_stays_a_rejected_request() -> None:
    async with prosper({"/api/v1/call-logs/5": answer({"detail": "bad"}, 400)}) as provider:
        with pytest.raises(RequestRejectedError) as caught:
            await provider.get_call("5")
    assert caught.value.status == 400
