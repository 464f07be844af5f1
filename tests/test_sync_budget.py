"""A first sync of a large account takes longer than any client waits for a tool: syncs run in the
background, the tool answers within CALL_LOGS_WAIT_SECONDS from what is indexed so far, says how
far the sync got, and later answers see more until every call is indexed."""

from pathlib import Path

import anyio

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
