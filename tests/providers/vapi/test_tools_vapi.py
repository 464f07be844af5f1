"""What an assistant sees of Vapi through the MCP tools, against the simulator: presigned recording
links only on request and with their expiry, durations only for calls that have ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from mcp_harness import data_of, serve, text_of


async def test_recording_links_come_only_on_request_and_say_when_they_expire(tmp_path: Path) -> None:
    async with serve(tmp_path, ["vapi"], calls=20) as (client, sims):
        call = next(c for c in sims.datasets["vapi"] if c.recording_url)
        with anyio.fail_after(60):
            default = await client.call_tool("get_call", {"call_id": call.id})
            before = datetime.now(UTC)
            asked = await client.call_tool("get_call", {"call_id": call.id, "include_recording": True})
    assert data_of(default)["recording_urls"] is None and data_of(default)["recording_urls_expire_at"] is None
    assert "expire" not in text_of(default)
    data = data_of(asked)
    assert data["recording_urls"] == [call.recording_url]
    expires = datetime.fromisoformat(data["recording_urls_expire_at"])
    # The simulator's presigned links live an hour from the request, as Vapi's are short-lived.
    assert before + timedelta(minutes=59) <= expires <= datetime.now(UTC) + timedelta(hours=1, seconds=1)
    assert f"they expire {data['recording_urls_expire_at']}" in text_of(asked)


async def test_a_running_call_has_no_duration_and_an_ended_one_has_end_minus_start(tmp_path: Path) -> None:
    async with serve(tmp_path, ["vapi"], calls=30) as (client, sims):
        dataset = sims.datasets["vapi"]
        running = next(c for c in dataset if c.status == "in_progress")
        ended = next(c for c in dataset if c.status == "completed")
        with anyio.fail_after(60):
            live = await client.call_tool("get_call", {"call_id": running.id})
            done = await client.call_tool("get_call", {"call_id": ended.id})
    assert (data_of(live)["status"], data_of(live)["duration_seconds"]) == ("in_progress", None)
    assert data_of(live)["ended_at"] is None and " duration " not in text_of(live).split("\n")[1]
    assert data_of(done)["duration_seconds"] == ended.duration_seconds
    assert " duration " in text_of(done).split("\n")[1]
