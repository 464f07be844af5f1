"""The output budget holds whatever the data: generated calls, transcripts, huge turns and fields."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from call_logs_mcp.analytics import summarize_calls
from call_logs_mcp.models import Call, CallStatus, CallSummary, PlatformTotals, Turn
from call_logs_mcp.output.budget import json_size
from call_logs_mcp.output.shaper import Shaper
from call_logs_mcp.providers.simulated import simulated_dataset
from mcp_harness import serve, text_of
from test_shaping import Page

START = datetime(2026, 3, 1, tzinfo=UTC)

# Mostly ordinary text, plus the characters that expand or vanish when rendered: line breaks,
# quotes and backslashes (JSON escapes), invisible/bidi/tag characters, markdown, CJK, emoji.
ALPHABET = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(list('\n\r\t"\\<>[]()!|⏎\u200b\u202e\U000e0041東京é😀0123456789+- ')),
)
TEXT = st.text(ALPHABET, max_size=300)


@st.composite
def big_text(draw: st.DrawFn) -> str:
    """Usually short; sometimes a piece repeated into tens of thousands of characters."""
    piece = draw(TEXT)
    if draw(st.integers(0, 4)) == 0 and piece:
        return piece * draw(st.integers(1, 60_000 // max(1, len(piece))))
    return piece


JSONISH = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), big_text()
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=12),
        st.dictionaries(st.text(ALPHABET, max_size=200), children, max_size=12),
    ),
    max_leaves=20,
)


TURNS = st.lists(
    st.builds(
        Turn,
        speaker=st.sampled_from(["agent", "customer", "system"]),
        text=big_text(),
        offset_seconds=st.one_of(st.none(), st.floats(0, 10_000)),
    ),
    max_size=60,
)


@st.composite
def calls(draw: st.DrawFn) -> Call:
    turns = draw(TURNS)
    return Call(
        provider=draw(st.sampled_from(["prosper", "callcamp"])),
        call_id=draw(st.from_regex(r"[A-Za-z0-9_\-]{1,200}", fullmatch=True)),
        campaign_id=draw(st.one_of(st.none(), st.text(ALPHABET, max_size=300))),
        status=draw(st.sampled_from(list(CallStatus))),
        raw_status=draw(st.one_of(st.none(), st.text(ALPHABET, max_size=300))),
        started_at=START,
        duration_seconds=draw(st.one_of(st.none(), st.floats(0, 1e7))),
        to_number=draw(st.one_of(st.none(), st.text(ALPHABET, max_size=300))),
        from_number=draw(st.one_of(st.none(), st.text(ALPHABET, max_size=50))),
        cost=draw(st.one_of(st.none(), st.floats(0, 1e6))),
        currency=draw(st.one_of(st.none(), st.text(ALPHABET, max_size=300))),
        summary=draw(st.one_of(st.none(), big_text())),
        ended_reason=draw(st.one_of(st.none(), big_text())),
        extracted_data=draw(st.dictionaries(st.text(ALPHABET, max_size=100), JSONISH, max_size=8)),
        qa=draw(st.dictionaries(st.text(ALPHABET, max_size=100), JSONISH, max_size=5)),
        qa_score=draw(st.one_of(st.none(), st.floats(0, 100))),
        recording_urls=draw(st.lists(big_text(), max_size=5)),
        transcript=turns,
    )


BUDGETS = st.sampled_from([2_000, 3_500, 24_000])
FAST = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def assert_within(shaper: Shaper, text: str, structured: dict[str, Any]) -> None:
    assert len(text) <= shaper.budget
    assert json_size(structured) <= shaper.budget


# Found by Hypothesis: at the smallest budget the fixed fields left too little room for a floor
# of 40 characters in each of five platform fields.
CROWDED = Call(
    provider="prosper",
    call_id="00000",
    status=CallStatus.COMPLETED,
    started_at=datetime(2026, 3, 1, tzinfo=UTC),
    duration_seconds=1000000.755859375,
    summary="0" * 80,
    qa={"00000": None, "000000": None},
    qa_score=1.9999999999999858,
    recording_urls=["0" * 12, "0" * 4, "0" * 10],
    ended_reason="000000000\r" * 4,
)


@FAST
@given(call=calls(), budget=BUDGETS, redact=st.booleans(), include_recording=st.booleans(), data=st.data())
def test_no_get_call_answer_exceeds_the_budget(
    call: Call, budget: int, redact: bool, include_recording: bool, data: st.DataObject
) -> None:
    shaper = Shaper(max_chars=budget, redact=redact)
    offset = data.draw(st.integers(0, max(0, len(call.transcript) - 1)))
    shaped = shaper.call_detail(call, transcript_offset=offset, include_recording=include_recording)
    assert_within(shaper, shaped.text, shaped.structured)


def test_a_crowded_call_fits_the_smallest_budget_by_shortening_its_platform_fields() -> None:
    shaper = Shaper(max_chars=2_000, redact=False)
    shaped = shaper.call_detail(CROWDED, include_recording=True)
    assert_within(shaper, shaped.text, shaped.structured)
    named = shaped.structured["clipped_fields"]
    assert "recording_urls" in named and shaped.structured["recording_urls"] == []
    assert f"Shortened to fit the output budget: {', '.join(named)}." in shaped.text
    assert "its URLs were left out to fit the output budget (CALL_LOGS_MAX_OUTPUT_CHARS" in shaped.text
    whole = ", ".join(name for name in named if name != "recording_urls")
    assert f"Read {whole} whole in the resource calls://prosper/00000." in shaped.text


@FAST
@given(turns=TURNS, budget=BUDGETS)
def test_following_continuations_loses_nothing_whatever_the_turns(turns: list[Turn], budget: int) -> None:
    call = Call(provider="prosper", call_id="1", transcript=turns)
    shaper = Shaper(max_chars=budget, redact=False)
    pieces: dict[int, str] = {}
    offset = char_offset = 0
    for _ in range(10_000):
        if not call.transcript:
            break
        shaped = shaper.call_detail(call, transcript_offset=offset, transcript_char_offset=char_offset)
        assert_within(shaper, shaped.text, shaped.structured)
        for turn in shaped.structured["transcript"]:
            pieces[turn["index"]] = pieces.get(turn["index"], "") + turn["text"]
        if not shaped.structured["transcript_truncated"]:
            break
        offset = shaped.structured["next_transcript_offset"]
        char_offset = shaped.structured["next_transcript_char_offset"] or 0
    assert pieces == {i: shaper.scrub.text(t.text) for i, t in enumerate(call.transcript)}


@FAST
@given(
    summaries=st.lists(st.one_of(st.none(), big_text()), min_size=0, max_size=100),
    campaign=st.one_of(st.none(), st.text(ALPHABET, max_size=300)),
    budget=BUDGETS,
    error_text=TEXT,
)
def test_no_list_calls_answer_exceeds_the_budget(
    summaries: list[str | None], campaign: str | None, budget: int, error_text: str
) -> None:
    listed = [
        CallSummary(
            provider="callcamp",
            call_id=f"call_{i:0>190}",
            campaign_id=campaign,
            started_at=START - timedelta(minutes=i),
            summary=summary,
            to_number=campaign,
            currency=campaign,
        )
        for i, summary in enumerate(summaries)
    ]
    shaper = Shaper(max_chars=budget)
    page = Page(
        rows=listed,
        providers=["prosper", "callcamp"],
        cursor_after=lambda k: "c" * 400 if k < len(listed) else None,
        totals={"callcamp": PlatformTotals(calls=10**9, duration_seconds=1e12, cost=1e9, currency=campaign)},
        unsupported_filters={"prosper": ["search", "status"]},
        provider_errors={"prosper": "prosper is unavailable (HTTP 503 after 5 attempts); try again later."},
    )
    shown, shaped = shaper.call_list(page)
    assert_within(shaper, shaped.text, shaped.structured)
    assert shown >= min(1, len(listed))


async def test_every_tool_answer_over_simulated_platforms_stays_within_a_small_budget(tmp_path: Path) -> None:
    budget = 2_000
    dataset = simulated_dataset("prosper", calls=40, long_calls=1)
    async with serve(tmp_path, ["prosper"], datasets={"prosper": dataset}, max_output_chars=budget) as (
        client,
        _,
    ):
        long_call = max(dataset, key=lambda c: c.turn_count)
        campaign = long_call.campaign_id
        calls = [
            ("list_calls", {"limit": 100}),
            ("get_call", {"call_id": long_call.id}),
            ("get_call", {"call_id": long_call.id, "transcript_offset": 1_000, "include_recording": True}),
            ("search_transcripts", {"query": "refund OR appointment OR the", "limit": 100}),
            ("summarize_campaign", {"campaign_id": campaign}),
            ("show_campaign_dashboard", {"campaign_id": campaign}),
            ("dashboard_call_transcript", {"call_id": long_call.id, "transcript_offset": 1_000}),
            ("list_campaigns", {}),
        ]
        with anyio.fail_after(120):
            for tool, args in calls:
                result = await client.call_tool(tool, args)
                assert not result.is_error, text_of(result)
                assert result.structured_content is not None
                assert len(text_of(result)) <= budget, tool
                assert json_size(result.structured_content) <= budget, tool


@FAST
@given(calls=st.lists(calls(), max_size=12), budget=BUDGETS)
def test_no_campaign_summary_exceeds_the_budget(calls: list[Call], budget: int) -> None:
    summary = summarize_calls(calls, provider="prosper", campaign_id="camp_1", campaign_name="x" * 5_000)
    shaper = Shaper(max_chars=budget)
    shaped = shaper.campaign_report(
        summary,
        sync_errors={"prosper": "prosper is unavailable (HTTP 503)."},
        syncing={"prosper": "1,234 of 5,678 calls listed so far"},
    )
    assert_within(shaper, shaped.text, shaped.structured)
