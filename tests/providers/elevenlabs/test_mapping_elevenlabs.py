"""ElevenLabs Agents wire quirks, driven through the adapter over a fake network serving the API
reference's own example payloads (`fixtures/`, sources in `fixtures/README.md`) and variations of
them."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from call_logs_mcp.errors import InvalidArgumentError, MalformedResponseError, NotFoundError
from call_logs_mcp.models import Agent, Call, CallQuery, CallStatus
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.config import ProviderConfig
from call_logs_mcp.providers.elevenlabs.mapping import status_of

FIXTURES = Path(__file__).parent / "fixtures"
LIST = "/v1/convai/conversations"


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return body


Routes = dict[str, Callable[[httpx2.Request], httpx2.Response]]


def answer(body: object, status: int = 200) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: httpx2.Response(status, json=body)


@asynccontextmanager
async def elevenlabs(routes: Routes, seen: list[httpx2.Request] | None = None) -> AsyncIterator[CallProvider]:
    """The ElevenLabs adapter over a fake network serving `routes` (anything else answers 404)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        route = routes.get(request.url.path)
        if route is None:
            return httpx2.Response(404, json={"detail": {"status": "not_found", "message": "Not found"}})
        return route(request)

    provider = create_provider(
        ProviderConfig(name="elevenlabs", api_key=SecretStr("sk_test_key"), max_retries=0),
        transport=httpx2.MockTransport(handler),
    )
    try:
        yield provider
    finally:
        await provider.aclose()


# --- the docs' examples ---------------------------------------------------------------------------


async def test_the_docs_detail_example_maps_times_in_seconds_and_the_user_as_the_customer() -> None:
    seen: list[httpx2.Request] = []
    async with elevenlabs({f"{LIST}/123": answer(fixture("get_conversation.docs.json"))}, seen) as provider:
        call = await provider.get_call("123")
    assert seen[0].headers["xi-api-key"] == "sk_test_key" and "authorization" not in seen[0].headers
    assert call.status is CallStatus.IN_PROGRESS and call.raw_status == "processing"
    assert call.started_at == datetime(2024, 4, 29, 20, 40, 32, tzinfo=UTC)
    assert call.duration_seconds == 10 and call.ended_at is None  # still processing: not ended yet
    assert [(t.speaker, t.text, t.offset_seconds) for t in call.transcript] == [
        ("customer", "Hello, how are you?", 10.0)
    ]
    assert call.cost is None and call.currency is None and call.summary is None
    assert call.recording_urls == [] and call.extra["has_audio"] is True
    assert call.campaign_id is None and call.agent == Agent(agent_id="123")


async def test_the_docs_list_example_is_one_summary_with_a_cursor_to_follow() -> None:
    seen: list[httpx2.Request] = []

    def listing(request: httpx2.Request) -> httpx2.Response:
        if "cursor" in request.url.params:  # the page after the example: the end
            return httpx2.Response(200, json={"conversations": [], "next_cursor": None, "has_more": False})
        return httpx2.Response(200, json=fixture("list_conversations.docs.json"))

    async with elevenlabs({LIST: listing}, seen) as provider:
        page = await provider.list_calls(CallQuery(), limit=10)
    [call] = page.calls
    assert call.call_id == "<string>" and call.status is CallStatus.IN_PROGRESS
    assert call.started_at == datetime.fromtimestamp(123, UTC) and call.duration_seconds == 123
    assert not isinstance(call, Call)  # no transcript in list items
    assert page.next_cursor is None and page.totals is None
    assert seen[0].url.params["summary_mode"] == "include" and seen[0].url.params["page_size"] == "10"
    assert seen[1].url.params["cursor"] == "<string>"  # `has_more` with `next_cursor`: followed


async def test_the_docs_batch_list_example_is_a_campaign() -> None:
    async with elevenlabs(
        {"/v1/convai/batch-calling/workspace": answer(fixture("list_batch_calls.docs.json"))}
    ) as provider:
        campaigns = await provider.list_campaigns()
    assert [(c.campaign_id, c.name) for c in campaigns] == [("string", "string")]
    assert campaigns[0].first_call_at == datetime.fromtimestamp(1, UTC)


async def test_a_full_detail_maps_cost_in_usd_numbers_batch_summary_qa_and_extracted_data() -> None:
    body = fixture("get_conversation.sdk-types.json")
    async with elevenlabs({f"{LIST}/{body['conversation_id']}": answer(body)}) as provider:
        call = await provider.get_call(body["conversation_id"])
    assert call.status is CallStatus.COMPLETED and call.campaign_id == "btcal_5601k3ttb2fnfx0"
    assert call.ended_at == call.started_at + timedelta(seconds=145)  # type: ignore[operator]
    assert (call.to_number, call.from_number) == ("+14155550134", "+16054440129")
    assert (call.cost, call.currency) == (0.29, "USD")
    assert call.extra["cost_credits"] == 1450  # credits: kept, never shown as money
    assert call.summary == "Der Kunde hat den Termin am Dienstag bestätigt."
    assert call.ended_reason == "end_call tool was called."
    assert call.qa_score == 0.9  # as reported, not rescaled
    assert call.qa["confirmed_slot"] == {
        "result": "success",
        "score": 8,
        "max_score": 10,
        "rationale": "The customer confirmed Tuesday 10:00.",
    }
    assert call.qa["call_successful"] == "success"
    assert call.extracted_data == {"preferred_time": "morning"}
    # The tool-only turn has nothing to show; it is counted, not silently lost.
    assert [t.speaker for t in call.transcript] == ["agent", "customer"]
    assert call.extra["turns_without_text"] == 1 and "skipped_fields" not in call.extra


# --- tolerance ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "skipped"),
    [
        (("transcript",), "Agent: hi", "transcript"),
        (("transcript", 1), ["not", "a", "turn"], "transcript turn 1"),
        (("transcript", 0, "message"), {"text": "hi"}, "transcript turn 0"),
        (("metadata", "phone_call"), ["+14155550134"], "metadata.phone_call"),
        (("metadata", "cost_fiat"), "twenty cents", "metadata.cost_fiat"),
        (("analysis",), "great call", "analysis"),
        (("analysis", "evaluation_criteria_results"), ["x"], "analysis.evaluation_criteria_results"),
        (("analysis", "data_collection_results", "preferred_time"), 5, "analysis.data_collection_results"),
    ],
)
async def test_a_field_in_an_unexpected_shape_is_skipped_and_named_not_a_failed_call(
    path: tuple[str | int, ...], value: object, skipped: str
) -> None:
    body = copy.deepcopy(fixture("get_conversation.sdk-types.json"))
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    async with elevenlabs({f"{LIST}/c1": answer(body)}) as provider:
        call = await provider.get_call("c1")
    assert skipped in call.extra["skipped_fields"]
    assert call.call_id == body["conversation_id"] and call.duration_seconds == 145


async def test_an_unknown_role_is_kept_as_a_system_turn() -> None:
    body = copy.deepcopy(fixture("get_conversation.docs.json"))
    body["transcript"].append(
        {"role": "supervisor", "message": "Whisper: offer the discount.", "time_in_call_secs": 9}
    )
    async with elevenlabs({f"{LIST}/123": answer(body)}) as provider:
        call = await provider.get_call("123")
    assert [(t.speaker, t.text) for t in call.transcript][-1] == ("system", "Whisper: offer the discount.")


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("initiated", None, CallStatus.IN_PROGRESS),
        ("in-progress", None, CallStatus.IN_PROGRESS),
        ("processing", "Call ended by remote party", CallStatus.IN_PROGRESS),
        ("done", "Call ended by remote party", CallStatus.COMPLETED),
        ("done", "voicemail_detection tool was called.", CallStatus.VOICEMAIL),
        ("done", "voicemail", CallStatus.VOICEMAIL),
        ("failed", None, CallStatus.FAILED),
        ("failed", "customer-busy", CallStatus.BUSY),
        ("failed", "Line busy", CallStatus.BUSY),
        ("failed", "no-answer", CallStatus.NO_ANSWER),
        ("failed", "Call was not answered", CallStatus.NO_ANSWER),
        ("done", "Client disconnected: 1000", CallStatus.COMPLETED),
        ("archived", None, CallStatus.UNKNOWN),
        (None, "voicemail", CallStatus.UNKNOWN),
    ],
)
def test_status_comes_from_the_status_refined_by_the_termination_reason(
    status: str | None, reason: str | None, expected: CallStatus
) -> None:
    assert status_of(status, reason) is expected


async def test_a_body_that_is_not_a_conversation_is_a_typed_error_that_never_quotes_it() -> None:
    async with elevenlabs({f"{LIST}/c1": answer({"transcript": ["+14155550134"]})}) as provider:
        with pytest.raises(MalformedResponseError) as caught:
            await provider.get_call("c1")
    assert "+1415" not in str(caught.value)


async def test_an_unknown_conversation_is_not_found() -> None:
    async with elevenlabs({}) as provider:
        with pytest.raises(NotFoundError, match="conv_missing"):
            await provider.get_call("conv_missing")


# --- listing --------------------------------------------------------------------------------------


def item(conversation_id: str, start: int, **fields: Any) -> dict[str, Any]:
    return {
        "agent_id": "agent_1",
        "conversation_id": conversation_id,
        "start_time_unix_secs": start,
        "call_duration_secs": 30,
        "message_count": 4,
        "status": "done",
        "call_successful": "success",
        **fields,
    }


async def test_dates_are_sent_with_a_margin_and_trimmed_exactly() -> None:
    start, end = datetime(2026, 4, 20, 10, 0, 0, 500_000, tzinfo=UTC), datetime(2026, 4, 20, 11, tzinfo=UTC)
    low, high = int(start.timestamp()), int(end.timestamp())
    # The platform's bounds may be inclusive or not: it returns the edges, we keep what is inside.
    body = {
        "conversations": [
            item("after", high + 1),
            item("at-end", high),
            item("inside", low + 1),
            item("before", low),
        ],
        "next_cursor": None,
        "has_more": False,
    }
    seen: list[httpx2.Request] = []
    async with elevenlabs({LIST: answer(body)}, seen) as provider:
        page = await provider.list_calls(CallQuery(from_date=start, to_date=end))
    assert [c.call_id for c in page.calls] == ["at-end", "inside"]
    params = seen[0].url.params
    assert (params["call_start_after_unix"], params["call_start_before_unix"]) == (
        str(low - 1),
        str(high + 1),
    )


async def test_status_is_filtered_here_from_status_and_termination_reason() -> None:
    body = {
        "conversations": [
            item("vm", 300, termination_reason="voicemail_detection tool was called."),
            item("ok", 200, termination_reason="Call ended by remote party"),
            item("busy", 100, status="failed", termination_reason="customer-busy"),
        ],
        "has_more": False,
    }
    seen: list[httpx2.Request] = []
    async with elevenlabs({LIST: answer(body)}, seen) as provider:
        voicemail = await provider.list_calls(CallQuery(status=CallStatus.VOICEMAIL))
        busy = await provider.list_calls(CallQuery(status=CallStatus.BUSY))
    assert [c.call_id for c in voicemail.calls] == ["vm"] and [c.call_id for c in busy.calls] == ["busy"]
    assert voicemail.unsupported_filters == [] and "status" not in seen[0].url.params


async def test_text_search_is_the_platforms_and_a_phone_number_is_matched_on_recipients_and_details() -> None:
    batches = {
        "batch_calls": [{"id": "b1", "name": "March reminders", "agent_id": "agent_1"}],
        "has_more": False,
    }
    batch = {
        "id": "b1",
        "name": "March reminders",
        "agent_id": "agent_1",
        "recipients": [
            {
                "id": "r1",
                "phone_number": "+14155550134",
                "status": "completed",
                "conversation_id": "in-batch",
            },
            {"id": "r2", "phone_number": "+14155559999", "status": "completed", "conversation_id": "other"},
        ],
    }
    inbound = copy.deepcopy(fixture("get_conversation.sdk-types.json"))
    inbound["conversation_id"] = "inbound"
    inbound["metadata"]["batch_call"] = None
    inbound["metadata"]["phone_call"].update(direction="inbound", external_number="+14155550134")
    listing = {
        # "gone" is in no batch and its detail is 404 (deleted since listed): it cannot match.
        "conversations": [item("inbound", 300), item("gone", 250), item("other", 200), item("in-batch", 100)],
        "has_more": False,
    }
    seen: list[httpx2.Request] = []
    routes = {
        LIST: answer(listing),
        "/v1/convai/batch-calling/workspace": answer(batches),
        "/v1/convai/batch-calling/b1": answer(batch),
        f"{LIST}/inbound": answer(inbound),
    }
    async with elevenlabs(routes, seen) as provider:
        text = await provider.list_calls(CallQuery(search="refund please"))
        phone = await provider.list_calls(CallQuery(search="(415) 555-0134"))
    assert seen[0].url.params["search"] == "refund please" and len(text.calls) == 4
    assert [c.call_id for c in phone.calls] == ["inbound", "in-batch"]
    # Inbound, the customer's number is the caller's.
    assert [(c.to_number, c.from_number) for c in phone.calls] == [
        ("+16054440129", "+14155550134"),
        ("+14155550134", None),
    ]
    assert all("search" not in r.url.params for r in seen[1:])


async def test_a_campaign_is_a_batch_listed_through_its_agent_and_recipients() -> None:
    batch = {
        "id": "b1",
        "name": "March reminders",
        "agent_id": "agent_1",
        "recipients": [
            {"id": "r1", "status": "completed", "conversation_id": "mine"},
            {"id": "r2", "status": "pending"},
        ],
    }
    listing = {"conversations": [item("other", 200), item("mine", 100)], "has_more": False}
    seen: list[httpx2.Request] = []
    routes = {LIST: answer(listing), "/v1/convai/batch-calling/b1": answer(batch)}
    async with elevenlabs(routes, seen) as provider:
        page = await provider.list_calls(CallQuery(campaign_id="b1"))
        unknown = await provider.list_calls(CallQuery(campaign_id="b2"))
        # An id no batch can have is not sent anywhere: it names no calls either.
        for impossible in ("a/b", "..", "\ud7fc", "b 1\n"):
            assert (await provider.list_calls(CallQuery(campaign_id=impossible))).calls == []
    assert [(c.call_id, c.campaign_id) for c in page.calls] == [("mine", "b1")]
    assert page.totals is not None and page.totals.calls == 1  # recipients with a conversation
    assert seen[1].url.params["agent_id"] == "agent_1"
    assert unknown.calls == [] and unknown.next_cursor is None
    assert [r.url.path for r in seen] == [
        "/v1/convai/batch-calling/b1",
        LIST,
        "/v1/convai/batch-calling/b2",
    ]


async def test_the_platform_cursor_is_followed_and_a_refused_one_is_an_invalid_argument() -> None:
    first = {"conversations": [item("c3", 300), item("c2", 200)], "next_cursor": "abc", "has_more": True}
    second = {"conversations": [item("c1", 100)], "next_cursor": None, "has_more": False}
    refuse = False

    def listing(request: httpx2.Request) -> httpx2.Response:
        cursor = request.url.params.get("cursor")
        if cursor is None:
            return httpx2.Response(200, json=first)
        if refuse:
            return httpx2.Response(422, json={"detail": [{"loc": ["query", "cursor"], "msg": "invalid"}]})
        return httpx2.Response(200, json=second)

    async with elevenlabs({LIST: listing}) as provider:
        page = await provider.list_calls(CallQuery(), limit=2)
        assert page.next_cursor is not None
        rest = await provider.list_calls(CallQuery(), limit=2, cursor=page.next_cursor)
        refuse = True
        with pytest.raises(InvalidArgumentError, match="omit the cursor"):
            await provider.list_calls(CallQuery(), limit=2, cursor=page.next_cursor)
    assert [c.call_id for c in page.calls + rest.calls] == ["c3", "c2", "c1"] and rest.next_cursor is None


async def test_more_pages_without_a_cursor_is_an_error_not_a_short_listing() -> None:
    body = {"conversations": [item("c1", 100)], "next_cursor": None, "has_more": True}
    async with elevenlabs({LIST: answer(body)}) as provider:
        with pytest.raises(MalformedResponseError, match="no cursor"):
            await provider.list_calls(CallQuery())
