"""A first sync of a large account takes longer than any client waits for a tool: the tool answers
within its sync budget from what is indexed so far, says so, and the next call continues."""

from pathlib import Path

import anyio

from call_logs_mcp.simulators.faults import Faults
from mcp_harness import data_of, serve, text_of


async def test_a_sync_that_outlasts_its_budget_answers_partially_and_the_next_calls_finish_it(
    tmp_path: Path,
) -> None:
    # 120 details at 50 ms each, 4 at a time, take at least 1.5 s: more than the 0.3 s budget on
    # any machine, so the first answer is partial whatever the machine's speed.
    slow = {"callcamp": {"faults": Faults(latency_seconds=0.05)}}
    async with serve(
        tmp_path, ["callcamp"], calls=120, app_knobs=slow, sync_budget_seconds=0.3, redact=False
    ) as (client, sims):
        total = len(sims.datasets["callcamp"])
        with anyio.fail_after(60):
            first = await client.call_tool("search_transcripts", {"query": "thanks OR hello"})
            covered = [data_of(first)["coverage"][0]["indexed_calls"]]
            while covered[-1] < total and len(covered) < 40:
                again = await client.call_tool("search_transcripts", {"query": "thanks OR hello"})
                covered.append(data_of(again)["coverage"][0]["indexed_calls"])
    assert covered[0] < total
    assert "did not complete just now: it ran out of its 0.3 s time budget" in text_of(first)
    assert "Call again to continue" in text_of(first)
    assert covered == sorted(covered), "no call indexed earlier is lost"
    assert covered[-1] == total
