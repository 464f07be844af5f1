"""A campaign summary does not depend on what was asked before it.

Random sequences of what a model and a person do -- list campaigns, search (all calls or one
campaign), summarise, run `call-logs-mcp sync` (whole account or one campaign) -- on every platform
and on Prosper's two API shapes; after each step every campaign summary equals what a fresh server
answers. (A whole-account sync on a platform whose records do not name their campaign once made
later summaries report 0 calls.)
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from call_logs_mcp.cli.sync import sync_command
from call_logs_mcp.providers.simulated import simulated_provider_config, simulated_transport
from call_logs_mcp.settings import Settings
from conftest import PLATFORM_NAMES
from mcp_harness import Platforms, data_of, serve

# Every platform as it serves by default, plus Prosper's published OpenAPI shape (no campaign on
# its call logs).
SHAPES: dict[str, tuple[str, Mapping[str, Any]]] = {name: (name, {}) for name in PLATFORM_NAMES}
SHAPES["prosper-openapi"] = ("prosper", {"variant": "openapi"})
CALLS = 40

Step = tuple[str, bool, int | None]  # (action, scoped to the platform?, campaign number or None)
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["list_campaigns", "search", "summarize", "cli_sync"]),
        st.booleans(),
        st.one_of(st.none(), st.integers(min_value=0, max_value=1)),
    ),
    min_size=1,
    max_size=6,
)


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without the times of the syncs that produced it."""
    out = dict(summary)
    out["coverage"] = {k: v for k, v in summary["coverage"].items() if k != "last_synced_at"}
    return out


def campaigns_of(platforms: Platforms, name: str) -> list[str]:
    ids = [call.campaign_id for call in platforms.datasets[name].calls if call.campaign_id]
    return sorted(set(ids), key=ids.index)[:2]


async def summary(client: Client, name: str, campaign: str) -> dict[str, Any]:
    answer = await client.call_tool("summarize_campaign", {"campaign_id": campaign, "provider": name})
    result: dict[str, Any] = data_of(answer)["summary"]
    return comparable(result)


async def fresh_summaries(shape: str) -> dict[str, dict[str, Any]]:
    name, knobs = SHAPES[shape]
    with tempfile.TemporaryDirectory() as tmp:
        async with serve(Path(tmp), [name], calls=CALLS, app_knobs={name: knobs}, wait_seconds=60) as (
            client,
            platforms,
        ):
            return {c: await summary(client, name, c) for c in campaigns_of(platforms, name)}


FRESH: dict[str, dict[str, dict[str, Any]]] = {}


async def run_steps(shape: str, steps: list[Step], tmp: Path) -> None:
    name, knobs = SHAPES[shape]
    if shape not in FRESH:
        FRESH[shape] = await fresh_summaries(shape)
    expected = FRESH[shape]
    async with serve(tmp, [name], calls=CALLS, app_knobs={name: knobs}, wait_seconds=60) as (
        client,
        platforms,
    ):
        campaigns = campaigns_of(platforms, name)
        cli_settings = Settings(providers={name: simulated_provider_config(name)}, db=tmp / "calls.db")
        transports = {name: simulated_transport(name, platforms.apps[name])}
        for action, scoped, number in steps:
            campaign = campaigns[number] if number is not None else None
            provider = {"provider": name} if scoped else {}
            if action == "list_campaigns":
                data_of(await client.call_tool("list_campaigns", provider))
            elif action == "search":
                arguments = {"query": "thank", **provider, **({"campaign_id": campaign} if campaign else {})}
                data_of(await client.call_tool("search_transcripts", arguments))
            elif action == "cli_sync":
                code = await sync_command(
                    cli_settings,
                    provider=name,
                    campaign_id=campaign,
                    transports=transports,
                    out=io.StringIO(),
                )
                assert code == 0
            for checked in [campaign] if campaign else campaigns:
                assert await summary(client, name, checked) == expected[checked], (shape, steps, checked)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(shape=st.sampled_from(sorted(SHAPES)), steps=STEPS)
def test_every_campaign_summary_equals_a_fresh_servers_whatever_came_before(
    shape: str, steps: list[Step]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(run_steps, shape, steps, Path(tmp))


def test_after_a_whole_account_sync_each_campaign_still_counts_its_calls() -> None:
    # The reported case, as a plain sequence on every shape: sync everything, then summarise.
    for shape in SHAPES:
        with tempfile.TemporaryDirectory() as tmp:
            anyio.run(run_steps, shape, [("cli_sync", True, None), ("summarize", True, None)], Path(tmp))
