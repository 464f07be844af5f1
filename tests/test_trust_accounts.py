"""Account isolation in a shared index: two accounts of the same platform whose call ids overlap
but whose content differs. A server configured for one account never serves the other's calls,
whichever synced first and through every index-backed path.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, ResourceTemplateReference, TextResourceContents

from call_logs_mcp.providers.simulated import simulated_dataset, simulator_base_url
from call_logs_mcp.simulators.dataset import SimDataset, SimTurn
from call_logs_mcp.simulators.faults import Faults
from mcp_harness import Platforms, data_of, serve, text_of

CALLS = 24
EXTRA_B_CALLS = 4
SHARED_WORD = "refund"


@dataclass(frozen=True)
class Account:
    label: str
    marker: str  # a word that only this account's calls contain
    api_key: str
    base_url: str
    dataset: SimDataset

    @property
    def ids(self) -> set[str]:
        return {call.id for call in self.dataset}


def marked_dataset(marker: str, *, extra: int, longer_by: int) -> SimDataset:
    """The same generated calls (same ids) for every account, rewritten so that each summary,
    campaign name and transcript carries `marker` and every call lasts `longer_by` seconds more;
    plus `extra` calls only this account has."""
    dataset = simulated_dataset("prosper", calls=CALLS, long_calls=0, seed=31)
    dataset.add_calls(extra)
    for call in dataset:
        call.duration_seconds += longer_by
        call.campaign_name = f"{marker} campaign {call.campaign_id}"
        call.summary = f"The {marker} customer asked about a {SHARED_WORD}."
        call.transcript = [
            SimTurn("agent", f"Hello, this is the {marker} desk.", 0.0),
            SimTurn("customer", f"I would like a {SHARED_WORD} for order {call.id}, {marker} here.", 4.0),
            SimTurn("agent", "Noted, thank you.", 9.0),
        ]
    dataset.touch()
    return dataset


def accounts(variant: str) -> tuple[Account, Account]:
    base = simulator_base_url("prosper")
    if variant == "different keys":
        keys, urls = ("key-account-alpha-7c1e", "key-account-bravo-02d9"), (base, base)
    else:  # the same key on two deployments of the platform
        keys = ("key-shared-by-both-5a8f",) * 2
        urls = ("http://alpha.prosper.simulator.localhost", "http://bravo.prosper.simulator.localhost")
    return (
        Account("A", "alphamarker", keys[0], urls[0], marked_dataset("alphamarker", extra=0, longer_by=0)),
        Account(
            "B",
            "bravomarker",
            keys[1],
            urls[1],
            marked_dataset("bravomarker", extra=EXTRA_B_CALLS, longer_by=1_000),
        ),
    )


@asynccontextmanager
async def serve_account(
    tmp_path: Path, db: Path, account: Account
) -> AsyncIterator[tuple[Client, Platforms]]:
    async with serve(
        tmp_path,
        ["prosper"],
        datasets={"prosper": account.dataset},
        app_knobs={"prosper": {"api_key": account.api_key}},
        config_overrides={
            "prosper": {"api_key": account.api_key, "base_url": account.base_url, "max_retries": 0}
        },
        db=db,
    ) as served:
        yield served


def dump(result: CallToolResult) -> str:
    return text_of(result) + "\n" + json.dumps(result.structured_content or {}, ensure_ascii=False)


async def everything_an_account_sees(
    client: Client, platforms: Platforms, account: Account, other: Account
) -> dict[str, Any]:
    """Every index-backed answer the server gives, as text, plus a few structured views."""
    seen: dict[str, Any] = {"texts": []}
    texts: list[str] = seen["texts"]

    # get_call fetches live from this account's platform (and stores what it got)...
    for call_id in sorted(account.ids)[:6]:
        texts.append(dump(await client.call_tool("get_call", {"call_id": call_id})))
    # ...then the platform goes down, so every answer below comes from the shared file only.
    platforms.apps["prosper"].state.faults = Faults(error_rate=1.0)

    # Searching for the other account's marker: the answer quotes the query, so only its
    # numbers are kept.
    probe = data_of(await client.call_tool("search_transcripts", {"query": other.marker}))
    seen["other_marker_hits"] = (probe["total_hits"], probe["calls_matched"], probe["hits"])

    campaigns = await client.call_tool("list_campaigns", {})
    texts.append(dump(campaigns))
    seen["campaigns"] = data_of(campaigns)["campaigns"]

    hits: list[dict[str, Any]] = []
    for query in (SHARED_WORD, account.marker, "desk"):
        cursor: str | None = None
        for _ in range(50):
            args: dict[str, Any] = {"query": query, "limit": 100}
            if cursor:
                args["cursor"] = cursor
            found = await client.call_tool("search_transcripts", args)
            texts.append(dump(found))
            data = data_of(found)
            if query == SHARED_WORD:
                hits.extend(data["hits"])
            cursor = data["next_cursor"]
            if cursor is None:
                break
    seen["shared_word_hits"] = hits

    summaries: dict[str, dict[str, Any]] = {}
    for campaign_id in sorted({c.campaign_id for c in account.dataset}):
        summary = await client.call_tool("summarize_campaign", {"campaign_id": campaign_id})
        texts.append(dump(summary))
        summaries[campaign_id] = data_of(summary)["summary"]
    seen["summaries"] = summaries

    uris: list[str] = []
    titles: list[str] = []
    cursor = None
    for _ in range(50):
        page = await client.list_resources(cursor=cursor) if cursor else await client.list_resources()
        uris.extend(str(r.uri) for r in page.resources)
        titles.extend(f"{r.name} {r.title or ''}" for r in page.resources)
        cursor = page.next_cursor
        if cursor is None:
            break
    texts.extend(titles)
    seen["uris"] = uris

    ref = ResourceTemplateReference(type="ref/resource", uri="calls://{provider}/{call_id}")
    completion = await client.complete(
        ref, argument={"name": "call_id", "value": ""}, context_arguments={"provider": "prosper"}
    )
    seen["completed_ids"] = list(completion.completion.values)

    read: dict[str, str] = {}
    for uri in sorted(set(uris)):
        for suffix in ("", "/transcript"):
            try:
                result = await client.read_resource(uri + suffix)
            except MCPError as err:  # an in-progress call is fetched live: the platform may be down
                texts.append(err.error.message)
                continue
            for content in result.contents:
                assert isinstance(content, TextResourceContents)
                texts.append(content.text)
                read[uri + suffix] = content.text
    seen["read"] = read

    return seen


def assert_sees_only_itself(seen: dict[str, Any], me: Account, other: Account) -> None:
    assert seen["other_marker_hits"] == (0, 0, [])
    blob = "\n".join(seen["texts"]).lower()
    assert other.marker not in blob, f"{me.label} was served {other.label}'s content"
    # Positive control: the marker does flow through every path for the account's own calls.
    assert me.marker in blob

    mine = me.dataset
    assert sorted(seen["uris"]) == sorted(f"calls://prosper/{i}" for i in me.ids)
    assert set(seen["completed_ids"]) <= me.ids
    expected_calls = Counter(call.campaign_id for call in mine)
    expected_seconds = Counter[str]()
    for call in mine:
        expected_seconds[call.campaign_id] += call.duration_seconds
    listed = {row["campaign_id"]: row["indexed_calls"] for row in seen["campaigns"]}
    assert listed == dict(expected_calls)
    assert set(seen["summaries"]) == set(expected_calls)
    for campaign_id, summary in seen["summaries"].items():
        assert summary["totals"]["calls"] == expected_calls[campaign_id], campaign_id
        assert summary["totals"]["duration_seconds"] == expected_seconds[campaign_id], campaign_id
    hit_ids = Counter(hit["call_id"] for hit in seen["shared_word_hits"])
    with_turns = {call.id for call in mine if call.turn_count}
    assert set(hit_ids) == with_turns
    for uri, text in seen["read"].items():
        assert other.marker not in text.lower(), uri
    # The transcripts of finished calls were read from the shared file (the platform was down
    # by then), and they are this account's own.
    finished = {c.id for c in mine if c.turn_count and c.status != "in_progress"}
    own = {uri for uri, text in seen["read"].items() if me.marker in text.lower()}
    assert own >= {f"calls://prosper/{call_id}/transcript" for call_id in finished}


@pytest.mark.parametrize("variant", ["different keys", "different base URLs"])
async def test_two_accounts_with_overlapping_ids_in_one_index_never_see_each_others_calls(
    tmp_path: Path, variant: str
) -> None:
    alpha, bravo = accounts(variant)
    assert alpha.ids < bravo.ids  # overlapping ids, and B has calls A does not
    shared_db = tmp_path / "shared.db"
    with anyio.fail_after(120):
        # B syncs first, then A syncs into the same file.
        for account in (bravo, alpha):
            async with serve_account(tmp_path / account.label, shared_db, account) as (client, _):
                data_of(await client.call_tool("list_campaigns", {}))
        # Each account reads back everything it can through a server of its own.
        for me, other in ((alpha, bravo), (bravo, alpha)):
            async with serve_account(tmp_path / f"{me.label}-read", shared_db, me) as (client, sims):
                seen = await everything_an_account_sees(client, sims, me, other)
            assert_sees_only_itself(seen, me, other)
