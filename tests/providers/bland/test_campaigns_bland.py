"""Bland's campaigns and batches through the MCP tools: named and counted by the platform, a batch
accepted wherever a campaign id is, against the simulator's ground truth."""

from __future__ import annotations

from pathlib import Path

import anyio

from call_logs_mcp.providers.bland.simulator import is_batch
from call_logs_mcp.providers.simulated import simulated_dataset
from call_logs_mcp.simulators.dataset import SimDataset
from mcp_harness import data_of, serve, text_of


def bland_dataset() -> SimDataset:
    return simulated_dataset("bland", calls=80, campaigns=4, long_calls=0, seed=3)


async def test_list_campaigns_names_bland_campaigns_and_labels_batches_with_the_platform_counts(
    tmp_path: Path,
) -> None:
    dataset = bland_dataset()
    async with serve(tmp_path, ["bland"], datasets={"bland": dataset}) as (client, _):
        with anyio.fail_after(60):
            result = await client.call_tool("list_campaigns", {})
    rows = {r["campaign_id"]: r for r in data_of(result)["campaigns"] if r["campaign_id"]}
    assert set(rows) == {c.id for c in dataset.campaigns}
    for campaign in dataset.campaigns:
        row = rows[campaign.id]
        calls = sum(1 for call in dataset if call.campaign_id == campaign.id)
        # Batch calls name their batch (the whole-account sync files them); a campaign's calls are
        # filed by the campaign sync that listing the platform's campaigns starts.
        assert row["indexed_calls"] == calls
        if is_batch(dataset, campaign.id):
            assert row["name"] == f"batch: {campaign.name}"
        else:
            assert (row["name"], row["platform_calls"]) == (campaign.name, calls)
    assert "batch: " in text_of(result)


async def test_a_batch_id_is_a_campaign_id_for_listing_and_summaries(tmp_path: Path) -> None:
    dataset = bland_dataset()
    batch = next(c for c in dataset.campaigns if is_batch(dataset, c.id))
    plain = next(c for c in dataset.campaigns if not is_batch(dataset, c.id))
    async with serve(tmp_path, ["bland"], datasets={"bland": dataset}) as (client, _):
        for campaign in (batch, plain):
            expected = [c.id for c in dataset if c.campaign_id == campaign.id]
            with anyio.fail_after(60):
                listed = data_of(
                    await client.call_tool("list_calls", {"campaign_id": campaign.id, "limit": 100})
                )
                summary = data_of(await client.call_tool("summarize_campaign", {"campaign_id": campaign.id}))
            assert [row["call_id"] for row in listed["calls"]] == expected
            assert summary["summary"]["totals"]["calls"] == len(expected)
