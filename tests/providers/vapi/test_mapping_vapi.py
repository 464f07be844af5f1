"""Vapi's wire, read through the adapter over a fake network, from the docs' own example payloads
(`fixtures/`, sources in `fixtures/SOURCES.md`) and the published OpenAPI's enums."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from call_logs_mcp.errors import MalformedResponseError, NotFoundError
from call_logs_mcp.models import Agent, Call, CallQuery, CallStatus
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.config import ProviderConfig
from call_logs_mcp.providers.normalize import parse_datetime, parse_number
from call_logs_mcp.providers.vapi.mapping import status_of, to_call
from call_logs_mcp.providers.vapi.wire import parse_call

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


SAMPLE = fixture("call_features_sample_response.json")
ENUMS = fixture("call_enums.json")
Routes = dict[str, Callable[[httpx2.Request], httpx2.Response]]


def answer(body: object, status: int = 200) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: httpx2.Response(status, json=body)


@asynccontextmanager
async def vapi(routes: Routes, seen: list[httpx2.Request] | None = None) -> AsyncIterator[CallProvider]:
    """The Vapi adapter over a fake network serving `routes` (anything else answers 404)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        route = routes.get(request.url.path)
        if route is None:
            return httpx2.Response(404, json={"message": "Not Found", "statusCode": 404})
        return route(request)

    provider = create_provider(
        ProviderConfig(name="vapi", api_key=SecretStr("vapi-test-key"), max_retries=0),
        transport=httpx2.MockTransport(handler),
    )
    try:
        yield provider
    finally:
        await provider.aclose()


def from_webhook(name: str) -> dict[str, Any]:
    """A `Call` made of the sample call's required members and a documented end-of-call report's
    call members (the webhook carries what the call object does)."""
    report = dict(fixture(name)["message"])
    report.pop("type")
    return {key: SAMPLE[key] for key in ("id", "orgId", "createdAt", "updatedAt")} | report


# --- the docs' example payloads ---------------------------------------------------------------------


async def test_the_docs_sample_call_reads_as_a_queued_outbound_call_to_the_customer() -> None:
    async with vapi({f"/call/{SAMPLE['id']}": answer(SAMPLE)}) as provider:
        call = await provider.get_call(SAMPLE["id"])
    assert (call.status, call.raw_status, call.ended_reason) == (CallStatus.IN_PROGRESS, "queued", None)
    assert call.to_number == "+12345678913" and call.from_number is None
    # No startedAt yet: the call's creation is its start; nothing has ended, so no duration.
    assert call.started_at == datetime(2024, 9, 10, 11, 14, 12, 339000, tzinfo=UTC)
    assert (call.ended_at, call.duration_seconds) == (None, None)
    assert (call.cost, call.currency) == (0.0, "USD")
    assert call.transcript == [] and call.summary is None and call.recording_urls == []
    # Members the mapping does not read are kept, as sent, for the index and debugging.
    assert call.extra["phoneCallProviderId"] == SAMPLE["phoneCallProviderId"]
    assert call.extra["monitor"] == SAMPLE["monitor"] and "assistantId" not in call.extra
    # The assistant that ran the call is the second grouping (a saved one: named by id only).
    assert call.agent == Agent(agent_id=SAMPLE["assistantId"])
    assert "skipped_fields" not in call.extra


async def test_the_docs_sample_call_is_one_listing_item_of_a_bare_array() -> None:
    seen: list[httpx2.Request] = []
    async with vapi({"/call": answer([SAMPLE])}, seen) as provider:
        page = await provider.list_calls(CallQuery(to_date=datetime(2024, 9, 30, tzinfo=UTC)), limit=5)
    (call,) = page.calls
    assert isinstance(call, Call) and call.call_id == SAMPLE["id"]
    assert page.next_cursor is None and page.totals is None and page.unsupported_filters == []
    (request,) = seen
    assert request.headers["authorization"] == "Bearer vapi-test-key"
    assert set(request.url.params) <= set(ENUMS["listParameters"])
    assert request.url.params["createdAtLe"] == "2024-09-30T00:00:00Z"


async def test_a_tool_call_message_from_the_docs_is_a_system_turn_naming_the_tool() -> None:
    body = SAMPLE | {"artifact": {"messages": [fixture("ivr_navigation_tool_calls_message.json")]}}
    async with vapi({f"/call/{SAMPLE['id']}": answer(body)}) as provider:
        call = await provider.get_call(SAMPLE["id"])
    ((speaker, text, offset),) = [(t.speaker, t.text, t.offset_seconds) for t in call.transcript]
    assert (speaker, text, offset) == ("system", "Tool call: dtmf", 25.16)


async def test_the_end_of_call_report_messages_read_assistant_as_agent_and_user_as_customer() -> None:
    call = to_call(parse_call(from_webhook("events_end_of_call_report.json")))
    assert [(t.speaker, t.text) for t in call.transcript] == [
        ("agent", "How can I help?"),
        ("customer", "What's the weather?"),
    ]
    # "hangup" is not one of the OpenAPI's values: an open set, kept as sent.
    assert "hangup" not in ENUMS["endedReason"]
    assert (call.status, call.ended_reason) == (CallStatus.COMPLETED, "hangup")


def test_the_transcript_string_is_read_only_when_there_are_no_messages() -> None:
    body = from_webhook("events_end_of_call_report.json")
    body["artifact"] = {"transcript": "AI: How can I help?\nUser: What's the weather?"}
    call = to_call(parse_call(body))
    assert [(t.speaker, t.text) for t in call.transcript] == [
        ("agent", "How can I help?"),
        ("customer", "What's the weather?"),
    ]


def test_the_consent_report_gives_a_ten_minute_call_costing_fifteen_cents() -> None:
    call = to_call(parse_call(from_webhook("recording_consent_end_of_call_report.json")))
    assert call.duration_seconds == 600.0  # endedAt - startedAt: Vapi has no duration field
    assert (call.cost, call.currency) == (0.15, "USD")
    assert "assistantEndedCall" not in ENUMS["endedReason"]  # the docs' camelCase spelling
    assert (call.status, call.ended_reason) == (CallStatus.COMPLETED, "assistantEndedCall")
    # The webhook puts recordingUrl at its top level; a `Call` keeps it under `artifact`. Out of
    # place it is not taken for the call's recording, but kept as sent.
    assert call.recording_urls == [] and call.recording_urls_expire_at is None
    assert call.extra["recordingUrl"] == "https://..."


def test_without_presigned_urls_the_private_storage_urls_are_all_there_is() -> None:
    body = SAMPLE | {"artifact": {"recordingUrl": "https://storage.vapi.ai/a-mono.wav"}}
    call = to_call(parse_call(body))
    assert call.recording_urls == ["https://storage.vapi.ai/a-mono.wav"]
    assert call.recording_urls_expire_at is None


def test_presigned_urls_win_over_the_private_ones_and_carry_their_expiry() -> None:
    body = SAMPLE | {
        "artifact": {
            "recordingUrl": "https://storage.vapi.ai/private-mono.wav",
            "presignedMonoUrl": "https://signed.example/mono.wav?sig=1",
            "presignedStereoUrl": "https://signed.example/stereo.wav?sig=1",
            "presignedUrlsExpiresAt": "2024-09-10T12:14:12.339Z",
        }
    }
    call = to_call(parse_call(body))
    assert call.recording_urls == [
        "https://signed.example/mono.wav?sig=1",
        "https://signed.example/stereo.wav?sig=1",
    ]
    assert call.recording_urls_expire_at == datetime(2024, 9, 10, 12, 14, 12, 339000, tzinfo=UTC)


# --- the OpenAPI's enums ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ENUMS["status"])
def test_every_documented_call_status_has_a_normalised_status(status: str) -> None:
    expected = {
        "scheduled": CallStatus.IN_PROGRESS,
        "queued": CallStatus.IN_PROGRESS,
        "ringing": CallStatus.IN_PROGRESS,
        "in-progress": CallStatus.IN_PROGRESS,
        "forwarding": CallStatus.IN_PROGRESS,
        "ended": CallStatus.UNKNOWN,  # ended, but for no reason given: the outcome is unknown
        "not-found": CallStatus.UNKNOWN,
        "deletion-failed": CallStatus.UNKNOWN,
    }
    assert status_of(status, None) is expected[status]


def test_every_documented_ended_reason_gives_an_outcome_and_errors_are_failures() -> None:
    outcomes = {reason: status_of("ended", reason) for reason in ENUMS["endedReason"]}
    assert len(outcomes) > 500  # hundreds of distinct values (the spec lists some twice)
    assert CallStatus.UNKNOWN not in outcomes.values() and CallStatus.IN_PROGRESS not in outcomes.values()
    for reason, status in outcomes.items():
        if any(word in reason for word in ("error", "failed", "fault")):
            assert status is CallStatus.FAILED, reason
    assert outcomes["customer-did-not-answer"] is CallStatus.NO_ANSWER
    assert outcomes["customer-busy"] is CallStatus.BUSY
    assert outcomes["voicemail"] is CallStatus.VOICEMAIL
    assert outcomes["pipeline-error-eleven-labs-system-busy-and-requested-upgrade"] is CallStatus.FAILED
    for done in ("customer-ended-call", "assistant-ended-call", "silence-timed-out", "exceeded-max-duration"):
        assert outcomes[done] is CallStatus.COMPLETED


def test_an_undocumented_status_goes_by_its_ended_reason() -> None:
    assert status_of("archived-someday", "customer-busy") is CallStatus.BUSY
    assert status_of(None, "customer-ended-call") is CallStatus.COMPLETED
    assert status_of(None, None) is CallStatus.UNKNOWN


# --- unexpected shapes -----------------------------------------------------------------------------


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _is_instant(value: object) -> bool:
    return isinstance(value, str) and parse_datetime(value) is not None


def _is_number(value: object) -> bool:
    return parse_number(value) is not None


def _is_object(value: object) -> bool:
    return isinstance(value, dict)


# Where the mapping reads a member, and what it accepts there (None is always "not reported").
READ_PATHS: dict[tuple[str, ...], Callable[[object], bool]] = {
    ("status",): _is_text,
    ("endedReason",): _is_text,
    ("startedAt",): _is_instant,
    ("endedAt",): _is_instant,
    ("cost",): _is_number,
    ("customer",): _is_object,
    ("customer", "number"): _is_text,
    ("phoneNumber",): _is_object,
    ("artifact",): _is_object,
    ("artifact", "messages"): lambda value: isinstance(value, list),
    ("artifact", "transcript"): _is_text,
    ("artifact", "presignedMonoUrl"): _is_text,
    ("artifact", "presignedUrlsExpiresAt"): _is_instant,
    ("artifact", "structuredOutputs"): _is_object,
    ("artifact", "scorecards"): _is_object,
    ("analysis",): _is_object,
    ("analysis", "summary"): _is_text,
    ("analysis", "structuredData"): _is_object,
    ("campaignId",): _is_text,
}

json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _set(body: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    for key in path[:-1]:
        child = body.get(key)
        if not isinstance(child, dict):
            child = body[key] = {}
        body = child
    body[path[-1]] = value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(sorted(READ_PATHS)), value=json_values)
def test_a_member_of_an_unexpected_shape_is_a_named_skip_never_a_failed_call(
    path: tuple[str, ...], value: object
) -> None:
    body = json.loads(json.dumps(SAMPLE | {"artifact": {}, "analysis": {}}))
    _set(body, path, value)
    call = to_call(parse_call(body))  # never raises
    assert call.call_id == SAMPLE["id"]
    skipped = call.extra.get("skipped_fields", [])
    dotted = ".".join(path)
    if value is None or READ_PATHS[path](value):
        assert dotted not in skipped
    else:
        assert any(entry.startswith(dotted) for entry in skipped), (dotted, value, skipped)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(sorted(READ_PATHS)), json_values, min_size=2, max_size=6))
def test_any_mix_of_unexpected_members_still_gives_the_call(changes: dict[tuple[str, ...], object]) -> None:
    body = json.loads(json.dumps(SAMPLE))
    for path, value in changes.items():
        _set(body, path, value)
    call = to_call(parse_call(body))  # never raises
    assert call.call_id == SAMPLE["id"]
    # Skips name places only (a member, and for messages how many), never a value.
    places = {".".join(path) for path in READ_PATHS}
    for entry in call.extra.get("skipped_fields", []):
        assert entry.split(" (", 1)[0] in places, entry


def test_a_message_that_is_not_an_object_is_counted_and_the_others_are_kept() -> None:
    body = SAMPLE | {"artifact": {"messages": [{"role": "bot", "message": "Hello"}, "garbage", 7]}}
    call = to_call(parse_call(body))
    assert [t.text for t in call.transcript] == ["Hello"]
    assert call.extra["skipped_fields"] == ["artifact.messages (2 of 3)"]


# --- structure the adapter cannot do without ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"calls": [SAMPLE]}, "call list (not an array)"),
        ([SAMPLE, {"orgId": "x"}], "call list item 1"),
        ([SAMPLE, SAMPLE | {"createdAt": "yesterday"}], "call list item 1 (createdAt)"),
    ],
)
async def test_a_listing_vapi_could_not_have_sent_is_a_malformed_response_naming_the_place(
    body: object, where: str
) -> None:
    async with vapi({"/call": answer(body)}) as provider:
        with pytest.raises(MalformedResponseError) as caught:
            await provider.list_calls(CallQuery())
    assert where in str(caught.value)
    assert SAMPLE["customer"]["number"] not in str(caught.value)


@pytest.mark.parametrize("status", [400, 404])
async def test_an_id_vapi_refuses_or_does_not_have_is_not_found(status: int) -> None:
    path = f"/call/{SAMPLE['id']}"
    seen: list[httpx2.Request] = []
    async with vapi({path: answer({"message": "Not Found"}, status)}, seen) as provider:
        with pytest.raises(NotFoundError, match=SAMPLE["id"]):
            await provider.get_call(SAMPLE["id"])
        # An id that is not a UUID is none of Vapi's: not even asked.
        with pytest.raises(NotFoundError, match="4711"):
            await provider.get_call("4711")
    assert [request.url.path for request in seen] == [path]


async def test_a_listing_that_ignores_the_created_at_bound_is_an_error_not_a_loop() -> None:
    # Twenty calls a second apart, served whatever the query asks (no bound, no limit).
    calls = [
        SAMPLE | {"id": f"{n:08d}-0000-4000-8000-000000000000", "createdAt": f"2024-09-10T11:14:{n:02d}.000Z"}
        for n in range(20)
    ]
    async with vapi({"/call": answer(calls)}) as provider:
        first = await provider.list_calls(CallQuery(), limit=10)
        assert first.next_cursor is not None
        second = await provider.list_calls(CallQuery(), limit=10, cursor=first.next_cursor)
        assert {c.call_id for c in first.calls} | {c.call_id for c in second.calls} == {
            c["id"] for c in calls
        }
        with pytest.raises(MalformedResponseError, match="createdAtLe"):
            assert second.next_cursor is not None
            await provider.list_calls(CallQuery(), limit=10, cursor=second.next_cursor)
