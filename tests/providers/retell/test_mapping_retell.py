"""Retell wire quirks, driven through the adapter over a fake network: the docs' own example
payloads (`fixtures/`, see its README), then hostile shapes generated from the call's fields, the
status rules over every documented (call_status, disconnection_reason) pair, and the filters the
adapter sends, checked against the simulator."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.models import Agent, Call, CallQuery, CallStatus
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.config import ProviderConfig
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)

FIXTURES = Path(__file__).parent / "fixtures"
DETAIL: dict[str, Any] = json.loads((FIXTURES / "get-call-phone.json").read_text(encoding="utf-8"))
LISTING: dict[str, Any] = json.loads((FIXTURES / "list-calls-v3.json").read_text(encoding="utf-8"))

Handler = Callable[[httpx2.Request], httpx2.Response]


def answer(body: object, status: int = 200) -> Handler:
    return lambda request: httpx2.Response(status, json=body)


@asynccontextmanager
async def retell(
    routes: dict[str, Handler], seen: list[httpx2.Request] | None = None
) -> AsyncIterator[CallProvider]:
    """The Retell adapter over a fake network serving `routes` (anything else answers 404)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        route = routes.get(request.url.path)
        return (
            route(request)
            if route
            else httpx2.Response(404, json={"status": "error", "message": "Not Found"})
        )

    provider = create_provider(
        ProviderConfig(name="retell", api_key=SecretStr("key_test"), max_retries=0),
        transport=httpx2.MockTransport(handler),
    )
    try:
        yield provider
    finally:
        await provider.aclose()


async def get(detail: dict[str, Any]) -> Call:
    async with retell({f"/v2/get-call/{detail['call_id']}": answer(detail)}) as provider:
        return await provider.get_call(detail["call_id"])


def ms(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)


# --- the docs' examples ---------------------------------------------------------------------------


async def test_the_documented_phone_call_maps_to_a_call_in_our_units() -> None:
    call = await get(DETAIL)
    assert call.call_id == DETAIL["call_id"]
    # The example says `registered` (then it has an end, analysis and cost): the status follows
    # `call_status`, and the reason is kept beside it.
    assert (call.status, call.raw_status, call.ended_reason) == (
        CallStatus.IN_PROGRESS,
        "registered",
        "agent_hangup",
    )
    assert call.started_at == ms(DETAIL["start_timestamp"]) and call.ended_at == ms(DETAIL["end_timestamp"])
    # The duration is what Retell reports (`duration_ms`), not end minus start (21.522 s here).
    assert call.duration_seconds == DETAIL["duration_ms"] / 1000 == 10.0
    assert (call.cost, call.currency) == (0.70, "USD")  # 70 cents
    assert (call.to_number, call.from_number) == (DETAIL["to_number"], DETAIL["from_number"])
    assert call.summary == DETAIL["call_analysis"]["call_summary"]
    assert call.qa == {"call_successful": True, "user_sentiment": "Positive"}
    assert call.extracted_data == {"call_successful": True, "user_sentiment": "Positive"}
    assert call.recording_urls == [DETAIL["recording_url"]]
    assert call.extra["recording_urls_expire_after_hours"] == 24  # opt_in_signed_url
    assert call.agent == Agent(agent_id=DETAIL["agent_id"], name=DETAIL.get("agent_name"))
    assert call.extra["telephony_identifier"] == DETAIL["telephony_identifier"]
    assert "skipped_fields" not in call.extra
    # The structured transcript wins over the string (the example's disagree: one utterance
    # against seven lines); the offset is the first word's start.
    assert [(t.speaker, t.text, t.offset_seconds) for t in call.transcript] == [
        ("agent", "hi how are you doing?", 0.7)
    ]


async def test_the_string_transcript_is_read_when_no_structured_one_is_sent() -> None:
    bare = {k: v for k, v in DETAIL.items() if k not in ("transcript_object", "transcript_with_tool_calls")}
    call = await get(bare)
    lines = DETAIL["transcript"].split("\n")
    assert [(t.speaker, t.text) for t in call.transcript] == [
        ("agent" if line.startswith("Agent: ") else "customer", line.partition(": ")[2]) for line in lines
    ]


async def test_the_documented_v3_listing_is_one_page_of_summaries_sent_as_a_post() -> None:
    seen: list[httpx2.Request] = []
    async with retell({"/v3/list-calls": answer(LISTING)}, seen) as provider:
        page = await provider.list_calls(CallQuery(), limit=1)
    (item,) = LISTING["items"]
    (call,) = page.calls
    assert type(call).__name__ == "CallSummary"  # a v3 item never carries the transcript
    assert (call.call_id, call.status, call.started_at) == (
        item["call_id"],
        CallStatus.IN_PROGRESS,
        ms(item["start_timestamp"]),
    )
    assert page.next_cursor is not None  # has_more with a pagination_key
    (request,) = seen
    assert (request.method, request.url.path) == ("POST", "/v3/list-calls")
    assert request.headers["authorization"] == "Bearer key_test"
    body = json.loads(request.content)
    assert body == {"sort_order": "descending", "limit": 10, "include_total": True}


async def test_the_next_page_is_asked_with_retells_own_pagination_key() -> None:
    seen: list[httpx2.Request] = []
    last = {"items": [], "has_more": False}

    def pages(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        return httpx2.Response(200, json=LISTING if "pagination_key" not in body else last)

    async with retell({"/v3/list-calls": pages}, seen) as provider:
        first = await provider.list_calls(CallQuery(), limit=1)
        second = await provider.list_calls(CallQuery(), limit=1, cursor=first.next_cursor)
    assert second.calls == [] and second.next_cursor is None
    assert json.loads(seen[1].content)["pagination_key"] == LISTING["pagination_key"]
    assert "include_total" not in json.loads(seen[1].content)


# --- statuses -------------------------------------------------------------------------------------

REASONS = [
    "user_hangup", "agent_hangup", "call_transfer", "voicemail_reached", "inactivity", "dial_busy",
    "dial_failed", "dial_no_answer", "error_llm_websocket_runtime", "error_unknown", "call_take_over",
    "a_reason_added_next_year", None,
]  # fmt: skip


def expected_status(call_status: str, reason: str | None, in_voicemail: bool | None) -> CallStatus:
    """The reference's mapping notes (shared/reference/platforms/retell.md 3.7), restated."""
    if call_status in ("registered", "ongoing"):
        return CallStatus.IN_PROGRESS
    if call_status in ("not_connected", "error"):
        return {"dial_no_answer": CallStatus.NO_ANSWER, "dial_busy": CallStatus.BUSY}.get(
            reason or "", CallStatus.FAILED
        )
    if call_status == "ended":
        voicemail = reason == "voicemail_reached" or in_voicemail is True
        return CallStatus.VOICEMAIL if voicemail else CallStatus.COMPLETED
    return CallStatus.UNKNOWN


@pytest.mark.parametrize(
    "call_status", ["registered", "ongoing", "ended", "not_connected", "error", "paused"]
)
@pytest.mark.parametrize("in_voicemail", [True, False, None])
async def test_every_status_and_reason_pair_maps_as_the_reference_says(
    call_status: str, in_voicemail: bool | None
) -> None:
    for reason in REASONS:
        body = {**DETAIL, "call_status": call_status, "call_analysis": {"in_voicemail": in_voicemail}}
        if reason is None:
            body.pop("disconnection_reason")
        else:
            body["disconnection_reason"] = reason
        call = await get(body)
        assert call.status is expected_status(call_status, reason, in_voicemail), (call_status, reason)
        assert (call.raw_status, call.ended_reason) == (call_status, reason)


# --- tolerant parsing -----------------------------------------------------------------------------

# Values of every JSON shape, for fields that expect another one.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
FIELDS = [
    "start_timestamp", "end_timestamp", "duration_ms", "call_analysis", "call_cost", "transcript",
    "transcript_object", "transcript_with_tool_calls", "recording_url", "to_number", "from_number",
    "call_status", "disconnection_reason", "data_storage_setting", "agent_name", "agent_id",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=json_values)
async def test_a_field_in_any_shape_never_fails_the_call(field: str, value: Any) -> None:
    call = await get({**DETAIL, field: value})
    assert call.call_id == DETAIL["call_id"]
    skipped = call.extra.get("skipped_fields", [])
    assert all(isinstance(name, str) for name in skipped)
    # A field that could not be read is named, unless reading it gave nothing (an empty list).
    if field in ("duration_ms",) and call.duration_seconds is None and value is not None:
        assert "duration_ms" in skipped
    # An agent id of another shape is named, never a made-up agent.
    if field == "agent_id" and not isinstance(value, str) and value is not None:
        assert "agent_id" in skipped and call.agent is None


async def test_a_skipped_field_is_named_and_logged_by_name_only(caplog: pytest.LogCaptureFixture) -> None:
    canary = "sk-canary-9f3e"
    body = {
        **DETAIL,
        "duration_ms": f"ten {canary}",
        "call_cost": [canary],
        "transcript_with_tool_calls": {"oops": canary},
    }
    with caplog.at_level(logging.WARNING, logger="call_logs_mcp.providers.retell.mapping"):
        call = await get(body)
    assert call.extra["skipped_fields"] == ["call_cost", "transcript_with_tool_calls", "duration_ms"]
    # The rest of the call is kept: the transcript falls back to transcript_object.
    assert call.duration_seconds is None and call.cost is None
    assert [t.text for t in call.transcript] == ["hi how are you doing?"]
    assert call.summary == DETAIL["call_analysis"]["call_summary"]
    assert len(caplog.records) == 3 and canary not in caplog.text


async def test_events_of_the_tool_call_transcript_become_system_turns_in_order() -> None:
    woven = [
        {"role": "agent", "content": "Let me check.", "words": [{"word": "Let", "start": 1.5, "end": 1.7}]},
        {"role": "tool_call_invocation", "tool_call_id": "t1", "name": "lookup_order", "arguments": "{}"},
        {"role": "tool_call_result", "tool_call_id": "t1", "content": "shipped", "successful": True},
        {"role": "node_transition", "former_node_id": "a", "former_node_name": "Greet",
         "new_node_id": "b", "new_node_name": "Order status"},
        {"role": "dtmf", "digit": "5"},
        {"role": "sms", "content": "my order is 78542", "time_sec": 9.5},
        {"role": "injected", "content": "Customer is a VIP.", "time_sec": 10.0},
        {"role": "transfer_target", "content": "Hi, billing here.", "words": []},
        {"role": "user", "content": "Thanks!", "words": [{"word": "Thanks!", "start": 20.25, "end": 20.5}]},
        {"role": "tool_call_result"},
    ]  # fmt: skip
    call = await get({**DETAIL, "transcript_with_tool_calls": woven})
    assert [(t.speaker, t.text, t.offset_seconds) for t in call.transcript] == [
        ("agent", "Let me check.", 1.5),
        ("system", "Tool call: lookup_order", None),
        ("system", "Tool result: shipped", None),
        ("system", "Moved from node Greet to node Order status", None),
        ("system", "Keypad: 5", None),
        ("system", "SMS from the caller: my order is 78542", 9.5),
        ("system", "Customer is a VIP.", 10.0),
        ("agent", "Hi, billing here.", None),
        ("customer", "Thanks!", 20.25),
    ]
    assert call.extra["transfer_target_turns"] == [7]
    assert call.extra["skipped_fields"] == ["transcript_with_tool_calls entry"]


# --- against the simulator ------------------------------------------------------------------------


@asynccontextmanager
async def simulated(**knobs: Any) -> AsyncIterator[tuple[CallProvider, Any]]:
    dataset = simulated_dataset("retell", calls=120, campaigns=3, days=20, long_calls=0, seed=5)
    app = simulated_app("retell", dataset, **knobs)
    provider = create_provider(
        simulated_provider_config("retell"), transport=simulated_transport("retell", app)
    )
    try:
        yield provider, app
    finally:
        await provider.aclose()


async def test_a_call_stored_with_basic_attributes_only_says_it_has_no_transcript() -> None:
    dataset = simulated_dataset("retell", calls=120, campaigns=3, days=20, long_calls=0, seed=5)
    truth = next(c for c in dataset if c.status == "completed" and c.turn_count)
    async with simulated(basic_attributes_only=[truth.id]) as (provider, _app):
        call = await provider.get_call(truth.id)
    assert (call.status, call.duration_seconds, call.summary) == (
        CallStatus.COMPLETED,
        truth.duration_seconds,
        None,
    )
    assert [(t.speaker, "basic attributes only" in t.text) for t in call.transcript] == [("system", True)]


async def test_status_and_dates_go_to_retell_as_typed_filters_and_the_total_only_when_exact() -> None:
    async with simulated() as (provider, app):
        dataset = app.state.dataset
        busy = await provider.list_calls(CallQuery(status=CallStatus.BUSY), limit=200)
        start, end = dataset.calls[80].started_at, dataset.calls[20].started_at
        dated = await provider.list_calls(CallQuery(from_date=start, to_date=end), limit=200)
    busy_body, dated_body = app.state.bodies
    assert busy_body["filter_criteria"] == {
        "call_status": {"type": "enum", "op": "in", "value": ["not_connected", "error"]},
        "disconnection_reason": {"type": "enum", "op": "in", "value": ["dial_busy"]},
    }
    expected_busy = [c.id for c in dataset if c.status == "busy"]
    assert [c.call_id for c in busy.calls] == expected_busy
    assert busy.totals is not None and busy.totals.calls == len(expected_busy)
    low, high = int(start.timestamp() * 1000) - 1, int(end.timestamp() * 1000) + 1
    assert dated_body["filter_criteria"] == {
        "start_timestamp": {"type": "range", "op": "bt", "value": [low, high]}
    }
    assert "include_total" not in dated_body  # dates are trimmed here too: Retell's count is not ours
    assert [c.call_id for c in dated.calls] == [c.id for c in dataset if start <= c.started_at <= end]
    assert dated.totals is None


async def test_a_refused_status_filter_is_applied_here_and_a_refused_batch_filter_is_reported() -> None:
    async with simulated(reject_filters=["call_status", "batch_call_id"]) as (provider, app):
        dataset = app.state.dataset
        completed = await provider.list_calls(CallQuery(status=CallStatus.COMPLETED), limit=200)
        campaign = dataset.campaigns[0].id
        batch = await provider.list_calls(CallQuery(campaign_id=campaign), limit=50)
    assert [c.call_id for c in completed.calls] == [c.id for c in dataset if c.status == "completed"]
    assert completed.unsupported_filters == []
    # Never an empty campaign: the filter is reported as unsupported.
    assert (batch.calls, batch.unsupported_filters, batch.next_cursor) == ([], ["campaign_id"], None)
    outcomes = [r.outcome for r in app.state.requests]
    assert outcomes.count("ok") == len(outcomes)  # the 400s are the simulator's answers, not faults


async def test_a_listing_resumed_by_a_new_adapter_continues_with_the_stored_cursor() -> None:
    async with simulated() as (provider, app):
        first = await provider.list_calls(CallQuery(), limit=30)
    async with simulated() as (again, _):
        rest = []
        cursor = first.next_cursor
        while cursor is not None:
            page = await again.list_calls(CallQuery(), limit=45, cursor=cursor)
            rest += page.calls
            cursor = page.next_cursor
    assert [c.call_id for c in first.calls + rest] == [c.id for c in app.state.dataset]


async def test_a_refused_position_is_an_invalid_cursor_not_a_refused_filter() -> None:
    async with simulated() as (provider, app):
        campaign = app.state.dataset.campaigns[0].id
        first = await provider.list_calls(CallQuery(campaign_id=campaign), limit=10)
        assert first.next_cursor is not None
        app.state.dataset = simulated_dataset("retell", calls=5, seed=99)  # the keyed call is gone
        with pytest.raises(InvalidArgumentError, match="start over"):
            await provider.list_calls(CallQuery(campaign_id=campaign), limit=10, cursor=first.next_cursor)
        # The batch filter was not written off: a fresh listing still sends it.
        await provider.list_calls(CallQuery(campaign_id=campaign), limit=10)
    assert app.state.bodies[-1]["filter_criteria"]["batch_call_id"]["value"] == campaign
