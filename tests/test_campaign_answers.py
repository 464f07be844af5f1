"""A campaign id is checked with the platforms themselves: a mistyped or unknown id is an error (or
a note on an empty answer), never a confident summary of nothing."""

from __future__ import annotations

from pathlib import Path

from call_logs_mcp.providers import platform
from mcp_harness import data_of, serve, text_of

BOGUS = "no-such-campaign-7f3a"


def unknown_campaign_sentence(*display_names: str) -> str:
    who = " and ".join(display_names)
    verb = "reports" if len(display_names) == 1 else "report"
    return (
        f"{who} {verb} no calls in campaign {BOGUS}: the id may be wrong (list_campaigns shows "
        "known ids) or the campaign has not called anyone yet."
    )


async def test_summarizing_an_unknown_campaign_is_an_error_on_each_platform_and_on_all(
    tmp_path: Path,
) -> None:
    async with serve(tmp_path) as (client, platforms):
        names = list(platforms.datasets)
        for name in names:
            answer = await client.call_tool("summarize_campaign", {"campaign_id": BOGUS, "provider": name})
            assert answer.is_error
            assert text_of(answer).endswith(unknown_campaign_sentence(platform(name).info.display_name))
        everywhere = await client.call_tool("summarize_campaign", {"campaign_id": BOGUS})
        assert everywhere.is_error
        shown = [platform(n).info.display_name for n in names]
        assert "no calls in campaign " + BOGUS in text_of(everywhere)
        assert all(display in text_of(everywhere) for display in shown)


async def test_listing_or_searching_an_unknown_campaign_says_why_the_answer_is_empty(tmp_path: Path) -> None:
    async with serve(tmp_path) as (client, platforms):
        for name in platforms.datasets:
            sentence = unknown_campaign_sentence(platform(name).info.display_name)
            listed = data_of(await client.call_tool("list_calls", {"campaign_id": BOGUS, "provider": name}))
            assert listed["calls"] == [] and listed["notes"] == [sentence]
            found = data_of(
                await client.call_tool(
                    "search_transcripts", {"query": "refund", "campaign_id": BOGUS, "provider": name}
                )
            )
            assert found["hits"] == [] and found["notes"] == [sentence]


async def test_a_real_campaign_gets_its_answer_and_no_note(tmp_path: Path) -> None:
    async with serve(tmp_path) as (client, platforms):
        for name, dataset in platforms.datasets.items():
            campaign = dataset.calls[0].campaign_id
            listed = data_of(
                await client.call_tool("list_calls", {"campaign_id": campaign, "provider": name})
            )
            assert listed["calls"] and listed["notes"] == []
            summary = data_of(
                await client.call_tool("summarize_campaign", {"campaign_id": campaign, "provider": name})
            )
            expected = sum(1 for call in dataset.calls if call.campaign_id == campaign)
            assert summary["summary"]["totals"]["calls"] == expected


async def test_a_call_filed_under_its_campaign_keeps_it_when_fetched_live(tmp_path: Path) -> None:
    # CallCamp's call records do not name their campaign; a campaign-filtered listing does.
    async with serve(tmp_path, ["callcamp"], wait_seconds=30) as (client, platforms):
        call = platforms.datasets["callcamp"].calls[0]
        listed = data_of(
            await client.call_tool("list_calls", {"campaign_id": call.campaign_id, "limit": 100})
        )
        assert call.id in {row["call_id"] for row in listed["calls"]}
        await client.call_tool("summarize_campaign", {"campaign_id": call.campaign_id})
        fetched = data_of(await client.call_tool("get_call", {"call_id": call.id}))
    assert fetched["campaign_id"] == call.campaign_id
