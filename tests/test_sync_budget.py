"""A first sync of a large account takes longer than any client waits for a tool: syncs run in the
background, the tool answers within CALL_LOGS_WAIT_SECONDS from what is indexed so far, says how
far the sync got, and later answers see more until every call is indexed."""

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
from mcp.types import CallToolResult

from call_logs_mcp.simulators.dataset import SimCall
from call_logs_mcp.simulators.faults import Faults
from mcp_harness import data_of, serve, text_of


async def test_a_sync_that_outlasts_the_wait_answers_partially_and_goes_on_in_the_background(
    tmp_path: Path,
) -> None:
    # 120 details at 50 ms each, 4 at a time, take at least 1.5 s: more than the 0.3 s wait on
    # any machine, so the first answer is partial whatever the machine's speed.
    slow = {"callcamp": {"faults": Faults(latency_seconds=0.05)}}
    async with serve(tmp_path, ["callcamp"], calls=120, app_knobs=slow, wait_seconds=0.3, redact=False) as (
        client,
        sims,
    ):
        total = len(sims.datasets["callcamp"])
        with anyio.fail_after(60):
            first = await client.call_tool("search_transcripts", {"query": "thanks OR hello"})
            coverage = data_of(first)["coverage"][0]
            covered = [coverage["indexed_calls"]]
            while covered[-1] < total and len(covered) < 200:
                again = await client.call_tool("search_transcripts", {"query": "thanks OR hello"})
                covered.append(data_of(again)["coverage"][0]["indexed_calls"])
            requests_at_the_end = len(sims.apps["callcamp"].state.requests)
            last = await client.call_tool("search_transcripts", {"query": "thanks OR hello"})
    assert covered[0] < total
    assert coverage["syncing"] is True and coverage["platform_calls"] == total
    assert f"of {total} calls indexed" in text_of(first) and "sync running" in text_of(first)
    assert covered == sorted(covered), "no call indexed earlier is lost"
    assert covered[-1] == total
    assert data_of(last)["coverage"][0]["syncing"] is False
    assert "sync running" not in text_of(last)
    # One sync of the scope at a time: the calls made while it ran did not start others, so every
    # call's details were fetched once.
    requests = sims.apps["callcamp"].state.requests[:requests_at_the_end]
    details = [r.path for r in requests if r.path.startswith("/api/calls/") and r.outcome == "ok"]
    assert details and len(details) == len(set(details)) <= total


async def test_a_field_missing_while_the_first_sync_runs_is_said_to_be_missing_so_far(tmp_path: Path) -> None:
    """find_calls on a field no indexed call has: while the first sync runs (some calls indexed,
    not all), the answer says the index does not hold every call yet (extracted data comes with
    each call's details), so the model does not conclude the platform lacks the field; once
    synced, only that no call has it."""
    # 120 details at 100 ms each, 4 at a time: at least 3 s, ten times the 0.3 s wait.
    slow = {"callcamp": {"faults": Faults(latency_seconds=0.1)}}
    async with serve(tmp_path, ["callcamp"], calls=120, app_knobs=slow, wait_seconds=0.3, redact=False) as (
        client,
        sims,
    ):
        total = len(sims.datasets["callcamp"])
        ask = {"where": ["no_such_field=yes"]}
        with anyio.fail_after(60):
            coverage = {"indexed_calls": 0}
            while not coverage["indexed_calls"]:
                coverage = data_of(await client.call_tool("search_transcripts", {"query": "thanks"}))[
                    "coverage"
                ][0]
            during = await client.call_tool("find_calls", ask)
            while coverage["syncing"]:
                coverage = data_of(await client.call_tool("search_transcripts", {"query": "thanks"}))[
                    "coverage"
                ][0]
            after = await client.call_tool("find_calls", ask)
    named = "No indexed call in this scope has an extracted field named 'no_such_field'"
    assert during.is_error and named in text_of(during), text_of(during)
    assert f"of {total:,} calls indexed, sync running" in text_of(during)
    assert "the field may appear as the sync goes on" in text_of(during)
    assert coverage["indexed_calls"] == total
    assert after.is_error and named in text_of(after)
    assert "does not hold every call yet" not in text_of(after)


async def ask_the_oldest_days(
    tmp_path: Path, days: int, wait_seconds: float, platform: str = "callcamp", **arguments: Any
) -> tuple[CallToolResult, list[SimCall], date, date]:
    """find_calls for the oldest `days` of 400 calls (of the campaign `campaign_id` names, given
    as "first": the dataset's first) on a platform whose every request takes 100 ms (4 at a
    time: the account's first sync, newest first, takes at least 10 s), asked as the server
    starts: (the answer, the calls asked about, the first and the last day asked)."""
    slow = {platform: {"faults": Faults(latency_seconds=0.1)}}
    async with serve(
        tmp_path, [platform], calls=400, app_knobs=slow, wait_seconds=wait_seconds, redact=False
    ) as (client, sims):
        calls = list(sims.datasets[platform])
        if arguments.get("campaign_id") == "first":
            arguments["campaign_id"] = calls[0].campaign_id
            calls = [c for c in calls if c.campaign_id == arguments["campaign_id"]]
        start = min(c.started_at for c in calls).date()
        end = start + timedelta(days=days - 1)
        ask = {"from_date": start.isoformat(), "to_date": end.isoformat(), **arguments}
        return await client.call_tool("find_calls", ask), calls, start, end


async def test_dates_whose_sync_completed_are_said_to_be_whole_while_the_rest_syncs(tmp_path: Path) -> None:
    """find_calls for the oldest week while the account's first sync is still running: the
    week's own sync completes first, so the count is the platform's for that week. The coverage
    says every call of those dates is indexed, not only "N of M calls indexed", which would
    leave the model unsure whether the count is whole."""
    result, calls, start, end = await ask_the_oldest_days(tmp_path, 7, 60, status="completed", limit=1)
    truth = [c for c in calls if start <= c.started_at.date() <= end and c.status == "completed"]
    data = data_of(result)
    (coverage,) = data["coverage"]
    assert truth and data["total"] == len(truth), text_of(result)
    assert coverage["dates_indexed"] == f"from {start} to {end}"
    assert coverage["syncing"] and coverage["indexed_calls"] < len(calls)  # the rest is still coming
    assert f"every call from {start} to {end} is indexed" in text_of(result)
    assert "sync running" in text_of(result)


async def test_dates_still_syncing_are_not_said_to_be_whole(tmp_path: Path) -> None:
    """The oldest 30 days asked before their own sync completes (114 details at 100 ms, 4 at a
    time, against a 0.6 s wait): nothing says the dates are whole, a sync is said to be running,
    and the calls indexed are a share of the account's total, not of the dates' (the platform's
    total for the dates is another scope's)."""
    result, calls, _, _ = await ask_the_oldest_days(tmp_path, 30, 0.6)
    (coverage,) = data_of(result)["coverage"]
    assert coverage["dates_indexed"] is None and coverage["syncing"]
    assert coverage["platform_calls"] in (None, len(calls)), coverage
    assert "every call" not in text_of(result) and "sync running" in text_of(result)


async def test_a_campaigns_dates_are_whole_while_the_accounts_sync_adds_its_other_calls(
    tmp_path: Path,
) -> None:
    """The same for one campaign's oldest 30 days on Prosper (whose records name their campaign):
    the dates are whole, and the account's sync, still running, adds the campaign's other
    calls, so the campaign's count is said to be syncing."""
    result, calls, start, end = await ask_the_oldest_days(tmp_path, 30, 60, "prosper", campaign_id="first")
    truth = [c for c in calls if start <= c.started_at.date() <= end]
    (coverage,) = data_of(result)["coverage"]
    assert truth and data_of(result)["total"] == len(truth), text_of(result)
    assert coverage["dates_indexed"] == f"from {start} to {end}"
    assert coverage["syncing"] and coverage["indexed_calls"] < len(calls)
    assert "; all dates: " in text_of(result) and "sync running" in text_of(result)
