"""The platforms' agents (Vapi: assistants) in list_campaigns: the second grouping of calls.

Each platform's simulator runs several agents; list_campaigns lists every agent that made an
indexed call with the exact number of its calls (the truth is the simulator's dataset), labelled
in the platform's own word and never as a campaign, whatever syncs came before.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from call_logs_mcp.cli.sync import sync_command
from call_logs_mcp.index import CallRecord, IndexStore
from call_logs_mcp.index.migrations import MIGRATIONS
from call_logs_mcp.models import Agent, Call
from call_logs_mcp.providers import platform
from call_logs_mcp.providers.elevenlabs import simulator as elevenlabs_sim
from call_logs_mcp.providers.retell import simulator as retell_sim
from call_logs_mcp.providers.simulated import (
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.providers.vapi import simulator as vapi_sim
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.dataset import SimCall, SimDataset
from factories import make_call
from mcp_harness import Platforms, data_of, serve, text_of

# The agent each simulator serves with a call: (id, display name or None). Platforms not here
# serve no agent with their calls.
AgentOf = Callable[[SimDataset, SimCall], tuple[str, str | None]]
AGENT_OF: dict[str, AgentOf] = {
    "retell": retell_sim.agent_of,
    "vapi": lambda _dataset, call: (vapi_sim.assistant_id(call), None),
    "elevenlabs": lambda _dataset, call: (
        elevenlabs_sim.agent_id(call.scenario),
        elevenlabs_sim.agent_name(call.scenario),
    ),
}
WITH_AGENTS = sorted(AGENT_OF)


def truth(name: str, dataset: SimDataset) -> dict[str, tuple[str | None, int]]:
    """agent id -> (name, calls) over every call of the dataset."""
    agent_of = AGENT_OF.get(name)
    if agent_of is None:
        return {}
    counts: Counter[tuple[str, str | None]] = Counter(agent_of(dataset, call) for call in dataset)
    return {agent_id: (agent_name, n) for (agent_id, agent_name), n in counts.items()}


async def listed_agents(client: Client, name: str) -> tuple[dict[str, Any], str]:
    with anyio.fail_after(120):
        result = await client.call_tool("list_campaigns", {"provider": name})
    return data_of(result), text_of(result)


def check_agents(name: str, platforms: Platforms, data: dict[str, Any], text: str) -> None:
    dataset = platforms.datasets[name]
    expected = truth(name, dataset)
    rows = data["agents"]
    assert data["agents_omitted"] == 0
    assert {r["agent_id"]: (r["name"], r["indexed_calls"]) for r in rows} == expected
    word = platform(name).info.agent_word
    campaign_ids = {c["campaign_id"] for c in data["campaigns"]}
    for row in rows:
        assert row["provider"] == name and row["word"] == word
        assert sum(row["by_status"].values()) == row["indexed_calls"]
        assert sum(row["campaigns"].values()) + row["calls_without_campaign"] == row["indexed_calls"]
        assert row["agent_id"] not in campaign_ids  # an agent is never listed as a campaign
        assert f"- {word} {row['agent_id']}" in text
    if platform(name).info.capabilities.records_name_campaign:
        # Records that name their campaign: the agent's calls per campaign are exact too.
        agent_of = AGENT_OF.get(name)
        per_campaign: dict[str, Counter[str]] = {}
        for call in dataset:
            if agent_of is not None and call.campaign_id:
                per_campaign.setdefault(agent_of(dataset, call)[0], Counter())[call.campaign_id] += 1
        assert {r["agent_id"]: dict(r["campaigns"]) for r in rows} == {
            a: dict(c) for a, c in per_campaign.items()
        }
    if rows:
        assert f"{word.capitalize()}s of the platforms ({len(rows)})" in text
        assert "never pass one of these ids as campaign_id" in text
    else:
        assert "of the platforms (" not in text


@pytest.mark.parametrize("name", WITH_AGENTS)
def test_every_simulator_runs_several_agents(name: str) -> None:
    dataset = simulated_dataset(name, calls=40, seed=7)
    assert len(truth(name, dataset)) >= 2


async def test_list_campaigns_lists_every_agent_with_its_exact_call_count(
    platform_name: str, tmp_path: Path
) -> None:
    async with serve(tmp_path, [platform_name], calls=60, wait_seconds=60) as (client, platforms):
        data, text = await listed_agents(client, platform_name)
        check_agents(platform_name, platforms, data, text)


@pytest.mark.parametrize("name", WITH_AGENTS)
async def test_agent_counts_stay_exact_through_partial_syncs_and_new_calls(name: str, tmp_path: Path) -> None:
    async with serve(tmp_path, [name], calls=50, wait_seconds=60, freshness_seconds=0) as (client, platforms):
        dataset = platforms.datasets[name]
        cli_settings = Settings(providers={name: simulated_provider_config(name)}, db=tmp_path / "calls.db")
        transports = {name: simulated_transport(name, platforms.apps[name])}

        async def cli_sync(**scope: Any) -> None:
            assert (
                await sync_command(
                    cli_settings, provider=name, transports=transports, out=io.StringIO(), **scope
                )
                == 0
            )

        # 1. A partial sync (the newest days only), then the list: every call, exactly.
        newest = max(c.started_at for c in dataset)
        await cli_sync(since=(newest - timedelta(days=2)).date().isoformat())
        check_agents(name, platforms, *await listed_agents(client, name))
        # 2. New calls arrive in one campaign, that campaign is synced, and the list: exact again.
        campaign = dataset.calls[0].campaign_id
        dataset.add_calls(9, campaign_id=campaign)
        await cli_sync(campaign_id=campaign)
        check_agents(name, platforms, *await listed_agents(client, name))
        # 3. More calls anywhere, and the list syncs them itself.
        dataset.add_calls(7)
        data, text = await listed_agents(client, name)
        check_agents(name, platforms, data, text)
        assert sum(r["indexed_calls"] for r in data["agents"]) == len(dataset)


def version_4_index(path: Path, calls: list[tuple[int, Call | str]]) -> None:
    """An index as version 4 wrote it: each call's agent only in its body's `extra`, no `agent`."""
    conn = sqlite3.connect(path, isolation_level=None)
    for version, steps in enumerate(MIGRATIONS[:4]):
        for step in steps:
            conn.execute(step) if isinstance(step, str) else step(conn)
        conn.execute(f"PRAGMA user_version = {version + 1}")
    conn.execute("INSERT INTO sources (id, account, provider) VALUES (1, 'acct', 'retell')")
    for rowid, call in calls:
        started = call.started_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if isinstance(call, Call) else ""
        body = (
            json.dumps(call.model_dump(mode="json", exclude={"transcript", "agent"}))
            if isinstance(call, Call)
            else call
        )
        conn.execute(
            "INSERT INTO calls (id, source, call_id, status, started_at, has_details, content_hash, "
            "synced_at) VALUES (?, 1, ?, 'completed', ?, 1, 'h', '2026-01-01')",
            (rowid, f"c{rowid}", started),
        )
        conn.execute("INSERT INTO call_bodies (id, body) VALUES (?, ?)", (rowid, body))
    conn.close()


async def test_an_index_of_version_4_files_stored_calls_under_the_agent_their_extra_kept(
    tmp_path: Path,
) -> None:
    def old(n: int, hours: float, **extra: Any) -> tuple[int, Call]:
        return n, make_call(f"c{n}", provider="retell", hours=hours, campaign_id=None, extra=extra)

    path = tmp_path / "calls.db"
    version_4_index(
        path,
        [
            old(1, 1, agent_id="ag_1", agent_name="Old name", agent_version=3),
            old(2, 5, agent_id="ag_1", agent_name="Reminders"),  # the newest name wins
            old(3, 2, agent_id="ag_1"),
            old(4, 3, assistantId="as_9", assistant={"name": "Booker"}),
            old(5, 4, assistantId="as_9"),
            old(6, 6, assistantId="as_8"),
            old(7, 7),  # no agent kept
            old(8, 8, agent_id=["not", "an", "id"]),
            (9, "{not json"),  # unreadable: refreshed by the next sync, never a failed upgrade
        ],
    )
    scope = {"retell": "acct"}
    async with IndexStore.open(path) as store:
        agents = await store.list_agents(scope)
        assert [(a.agent_id, a.name, a.indexed_calls, a.calls_without_campaign) for a in agents] == [
            ("ag_1", "Reminders", 3, 3),
            ("as_9", "Booker", 2, 2),
            ("as_8", None, 1, 1),
        ]
        moved = await store.get_call(scope, "retell", "c1")
        assert moved is not None and moved.agent == Agent(agent_id="ag_1", name="Old name")
        assert moved.extra == {"agent_version": 3}
        kept = await store.get_call(scope, "retell", "c8")
        assert kept is not None and kept.agent is None and kept.extra == {"agent_id": ["not", "an", "id"]}
        # Stored again as today's adapters map it: the same agent, counted once.
        await store.upsert(
            "acct",
            "retell",
            [
                CallRecord(
                    make_call(
                        "c3", provider="retell", hours=2, campaign_id=None, agent=Agent(agent_id="ag_1")
                    )
                )
            ],
        )
        assert [(a.agent_id, a.indexed_calls) for a in await store.list_agents(scope)] == [
            ("ag_1", 3),
            ("as_9", 2),
            ("as_8", 1),
        ]
