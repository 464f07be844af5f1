"""The campaign dashboard (MCP Apps) as a client sees it: the tool's `_meta.ui`, the app-only
drill-down tools, the `ui://` resource (MIME type, CSP, size, self-contained), the same answer as
summarize_campaign, and the drill-downs' answers. The page itself runs in a real browser in
`tests/browser_dashboard.py` (run by .ci/run)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC
from pathlib import Path

import anyio

from mcp_harness import data_of, serve, text_of

DASHBOARD = "ui://call-logs/campaign-dashboard.html"
APP_MIME = "text/html;profile=mcp-app"


async def test_the_dashboard_tool_links_its_app_and_the_drill_downs_are_for_the_app_only(
    tmp_path: Path,
) -> None:
    async with serve(tmp_path, ["prosper"]) as (client, _):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        shown = tools["show_campaign_dashboard"]
        assert shown.meta == {"ui": {"resourceUri": DASHBOARD}}  # visible to the model and the app
        assert shown.annotations is not None and shown.annotations.read_only_hint
        assert (
            shown.input_schema["properties"].keys()
            == tools["summarize_campaign"].input_schema["properties"].keys()
        )
        for name in ("dashboard_failed_calls", "dashboard_call_transcript"):
            assert tools[name].meta == {"ui": {"resourceUri": DASHBOARD, "visibility": ["app"]}}
        # No other tool claims a UI.
        assert {n for n, t in tools.items() if t.meta and "ui" in t.meta} == {
            "show_campaign_dashboard",
            "dashboard_failed_calls",
            "dashboard_call_transcript",
        }


async def test_the_app_resource_is_one_small_self_contained_html_document(tmp_path: Path) -> None:
    async with serve(tmp_path, ["prosper"]) as (client, _):
        (content,) = (await client.read_resource(DASHBOARD)).contents
    assert content.mime_type == APP_MIME
    # An explicit CSP with no domains: the host's restrictive default, no connection anywhere.
    assert content.meta == {"ui": {"csp": {}, "prefersBorder": True}}
    html = content.text  # type: ignore[union-attr]
    assert html.startswith("<!DOCTYPE html>")
    assert len(html.encode()) <= 60_000
    # Nothing loaded from elsewhere, no network API used, no markup built from data.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"@import|url\(|fetch\(|XMLHttpRequest|WebSocket|EventSource", html)
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", html)
    for method in (
        "ui/initialize",
        "ui/notifications/initialized",
        "ui/notifications/size-changed",
        "tools/call",
    ):
        assert f'"{method}"' in html


async def test_the_dashboard_answers_exactly_what_summarize_campaign_answers(tmp_path: Path) -> None:
    async with serve(tmp_path, ["prosper"], calls=60) as (client, platforms):
        dataset = platforms.datasets["prosper"]
        campaign = Counter(c.campaign_id for c in dataset.calls if c.campaign_id).most_common(1)[0][0]
        arguments = {"campaign_id": campaign}
        # The start-up sync may still be finishing (it moves the coverage's last_synced_at): compare
        # once two summaries in a row agree and nothing is syncing.
        summary, previous = None, None
        with anyio.fail_after(60):
            while summary is None:
                answer = await client.call_tool("summarize_campaign", arguments)
                if (
                    previous is not None
                    and data_of(answer) == data_of(previous)
                    and not data_of(answer)["syncing"]
                ):
                    summary = answer
                previous = answer
                await anyio.sleep(0.2)
        dashboard = await client.call_tool("show_campaign_dashboard", arguments)
        assert data_of(dashboard) == data_of(summary)
        assert text_of(dashboard) == text_of(summary)  # complete for hosts that render no apps
        truth = [c for c in dataset.calls if c.campaign_id == campaign]
        failed = Counter(
            c.started_at.astimezone(UTC).date().isoformat() for c in truth if c.status == "failed"
        )
        assert data_of(dashboard)["summary"]["failed_per_day"] == dict(sorted(failed.items()))
        durations = [float(c.duration_seconds) for c in truth]
        histogram = data_of(dashboard)["summary"]["duration"]["histogram"]
        assert sum(b["calls"] for b in histogram) == len(durations)
        for bucket in histogram:
            high = bucket["high_seconds"] if bucket["high_seconds"] is not None else float("inf")
            assert bucket["calls"] == sum(1 for d in durations if bucket["low_seconds"] <= d < high)


async def test_the_drill_downs_open_the_failed_calls_of_a_day_and_a_calls_transcript(tmp_path: Path) -> None:
    async with serve(tmp_path, ["prosper"], calls=60) as (client, platforms):
        dataset = platforms.datasets["prosper"]
        failed = [c for c in dataset.calls if c.status == "failed" and c.campaign_id]
        assert failed, "the simulated dataset has no failed calls in a campaign"
        pick = failed[0]
        day = pick.started_at.astimezone(UTC).date().isoformat()
        await client.call_tool("summarize_campaign", {"campaign_id": pick.campaign_id})  # index the campaign
        answer = data_of(
            await client.call_tool("dashboard_failed_calls", {"campaign_id": pick.campaign_id, "day": day})
        )
        expected = {
            c.id
            for c in failed
            if c.campaign_id == pick.campaign_id and c.started_at.astimezone(UTC).date().isoformat() == day
        }
        assert {c["call_id"] for c in answer["calls"]} == expected
        assert answer["total"] == len(expected)
        call = data_of(await client.call_tool("dashboard_call_transcript", {"call_id": pick.id}))
        assert call["call_id"] == pick.id
        assert call["transcript_total_turns"] == len(list(pick.turns()))
        assert len(call["transcript"]) > 0 or not call["transcript_total_turns"]
        # A day that is not a date is the caller's mistake, said in words.
        bad = await client.call_tool(
            "dashboard_failed_calls", {"campaign_id": pick.campaign_id, "day": "Monday"}
        )
        assert bad.is_error and "date" in text_of(bad).lower()
