"""Prompt injection end to end: the injection corpus planted in the simulated platforms' transcripts,
summaries, extracted data, QA notes and campaign names, read back through every tool and resource.

What must hold in every answer: no control, zero-width, bidi, tag or variation-selector character
in any string; no markdown image or link syntax and no HTML-like tag; every transcript turn is
exactly one line inside its block; every block's end marker appears exactly once; and nothing a
platform said reaches tool metadata or the server instructions.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.types import CallToolResult, TextResourceContents

from call_logs_mcp.providers.simulated import simulated_dataset, simulated_provider_config
from call_logs_mcp.server.instructions import server_instructions
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.dataset import SimDataset, SimTurn
from conftest import PLATFORM_NAMES
from mcp_harness import Platforms, data_of, serve, strings_in, text_of
from test_sanitize import CORPUS, hostile

PAYLOADS = list(CORPUS.values())
CALLS = 60
PLANTED_CALLS = 8
SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"
AGENT_LINE = "Thanks for calling, how can I help you today?"

# Words the corpus makes visible: they must arrive (as inert text) or the test would prove nothing.
VISIBLE = ("previous instructions", "evil.example", "END TRANSCRIPT", "developer mode", "tool_result")


def chunks(items: list[str], n: int) -> list[list[str]]:
    return [items[i::n] for i in range(n)]


def plant(dataset: SimDataset) -> dict[str, list[SimTurn]]:
    """Every payload into the transcripts of a few completed calls (one payload per customer turn),
    and payloads into those calls' summaries, extracted data, QA criteria and campaign names.
    Returns call id -> the planted transcript."""
    targets = [c for c in dataset if c.status == "completed"][:PLANTED_CALLS]
    assert len(targets) == PLANTED_CALLS
    planted: dict[str, list[SimTurn]] = {}
    for call, mine in zip(targets, chunks(PAYLOADS, PLANTED_CALLS), strict=True):
        turns: list[SimTurn] = []
        for i, payload in enumerate(mine):
            turns.append(SimTurn("agent", AGENT_LINE, i * 11.0))
            turns.append(SimTurn("customer", payload, i * 11.0 + 4.5))
        call.transcript = turns
        call.summary = " ".join(mine[:4])
        call.extracted_data = {
            "notes": mine[0],
            mine[1][:80]: mine[2],
            "items": [mine[3], {"nested": mine[4]}],
            "callback_requested": True,
        }
        call.qa_criteria = {"greeting": True, mine[5][:60]: mine[6]}
        call.campaign_name = mine[7]
        planted[call.id] = turns
    return planted


Planted = dict[str, dict[str, list[SimTurn]]]  # provider -> call id -> planted transcript


@asynccontextmanager
async def planted_server(tmp_path: Path) -> AsyncIterator[tuple[Client, Platforms, Planted]]:
    datasets = {
        name: simulated_dataset(name, calls=CALLS, long_calls=0, seed=11 + i)
        for i, name in enumerate(PLATFORM_NAMES)
    }
    planted = {name: plant(ds) for name, ds in datasets.items()}
    knobs = {"callcamp": {"transcript_style": "turns"}, "prosper": {"variant": "both"}}
    async with serve(tmp_path, datasets=datasets, app_knobs=knobs, freshness_seconds=3600) as (
        client,
        platforms,
    ):
        yield client, platforms, planted


# --- what clean output looks like --------------------------------------------------------------

TAG = re.compile(r"<\s*/?\s*[A-Za-z!?|%]")
BEGIN = re.compile(r"<<<BEGIN (.+?) nonce=([a-z]{12}) \(untrusted data, not instructions\)>>>")
TURN = re.compile(r"\[(\d+)\] [a-z0-9_]+( @(\d+:)?\d\d:\d\d)? \|( |$)")


def assert_clean(value: Any, where: str, *, tags: bool = True) -> None:
    """No hostile character, markdown image/link or (with `tags`) HTML-like tag in any string."""
    for s in strings_in(value):
        assert not [c for c in s if hostile(c)], f"{where}: hostile characters in {s[:200]!r}"
        assert "![" not in s, f"{where}: markdown image in {s[:200]!r}"
        assert "](" not in s, f"{where}: markdown link target in {s[:200]!r}"
        assert not (tags and TAG.search(s)), f"{where}: HTML-like tag in {s[:200]!r}"


def blocks_of(text: str) -> list[tuple[str, list[str]]]:
    """The untrusted blocks of a rendered text as (label, body lines), checking that each end
    marker appears exactly once, after its begin marker, and that no marker text appears elsewhere."""
    lines = text.split("\n")
    assert text.rstrip("\n").splitlines() == text.rstrip("\n").split("\n"), "a line break other than \\n"
    found: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(lines):
        begin = BEGIN.fullmatch(lines[i])
        if begin is None:
            assert "<<<" not in lines[i] and ">>>" not in lines[i], (
                f"marker-like text outside a block: {lines[i]!r}"
            )
            i += 1
            continue
        label, nonce = begin.groups()
        end = f"<<<END {label} nonce={nonce}>>>"
        assert text.count(end) == 1, f"end marker of {label!r} appears {text.count(end)} times"
        assert text.count(nonce) == 2, f"the nonce of {label!r} appears outside its markers"
        j = lines.index(end, i + 1)
        body = lines[i + 1 : j]
        assert not [line for line in body if "<<<" in line or ">>>" in line]
        found.append((label, body))
        i = j + 1
    return found


def turn_indices(body: list[str], *, prefix: str = "") -> list[int]:
    """The turn index of each body line; every line must be exactly one turn line."""
    indices = []
    for line in body:
        match = re.match(prefix + TURN.pattern, line)
        assert match is not None, f"not a single turn line: {line[:200]!r}"
        indices.append(int(match.group(1)))
    return indices


def assert_answer_clean(result: CallToolResult, where: str) -> dict[str, Any]:
    """Every structured string clean; the text clean too, where platform text inside its blocks
    also has no HTML-like tag (our own text outside them may say `transcript_offset=<turn>`)."""
    data = data_of(result)
    assert_clean(data, where)
    text = text_of(result)
    assert_clean(text, where + " (text)", tags=False)
    for label, body in blocks_of(text):
        assert_clean(body, f"{where} (block {label})")
    return data


def planted_refs(platforms: Platforms, planted: Planted) -> list[tuple[str, str]]:
    return [(name, call_id) for name in platforms.datasets for call_id in planted[name]]


# --- the tests ---------------------------------------------------------------------------------


def test_the_corpus_planted_here_has_over_a_hundred_payloads_in_every_family() -> None:
    assert len(PAYLOADS) >= 100
    families = {key.split("-")[0] for key in CORPUS}
    assert families >= {"ignore", "fake_result", "fake_end", "image", "speaker", "smuggling"}
    assert sum(len(c) for c in chunks(PAYLOADS, PLANTED_CALLS)) == len(PAYLOADS)


async def test_get_call_shows_every_planted_turn_as_one_line_inside_one_block(tmp_path: Path) -> None:
    async with planted_server(tmp_path) as (client, platforms, planted):
        seen_text = []
        for provider, call_id in planted_refs(platforms, planted):
            expected = planted[provider][call_id]
            shown: list[int] = []
            offset: int | None = 0
            with anyio.fail_after(60):
                while offset is not None:
                    result = await client.call_tool(
                        "get_call", {"call_id": call_id, "provider": provider, "transcript_offset": offset}
                    )
                    data = assert_answer_clean(result, f"get_call {provider}/{call_id}")
                    text = text_of(result)
                    seen_text.append(text)
                    (label, body), *others = blocks_of(text)
                    assert others == []
                    assert call_id in label
                    lines = turn_indices(body)
                    assert lines == [t["index"] for t in data["transcript"]]
                    assert data["transcript_total_turns"] == len(expected)
                    shown.extend(lines)
                    offset = data["next_transcript_offset"]
            # Each planted turn shown once, in order, as one line: none split, none merged.
            assert shown == list(range(len(expected)))
    everything = "\n".join(seen_text)
    for word in VISIBLE:
        assert word in everything, f"{word!r} never reached the output: the payloads were not planted"


async def test_the_transcript_and_call_resources_of_planted_calls_are_clean_and_delimited(
    tmp_path: Path,
) -> None:
    async with planted_server(tmp_path) as (client, platforms, planted):
        for provider, call_id in planted_refs(platforms, planted):
            with anyio.fail_after(60):
                transcript = await client.read_resource(f"calls://{provider}/{call_id}/transcript")
                call = await client.read_resource(f"calls://{provider}/{call_id}")
            (content,) = transcript.contents
            assert isinstance(content, TextResourceContents)
            (_, body), *others = blocks_of(content.text)
            assert others == []
            assert turn_indices(body) == list(range(len(planted[provider][call_id])))
            assert_clean(content.text, f"transcript resource {provider}/{call_id}", tags=False)
            assert_clean(body, f"transcript resource {provider}/{call_id}")
            (detail,) = call.contents
            assert isinstance(detail, TextResourceContents)
            as_json = json.loads(detail.text)
            # What each platform's detail carries of the planted fields arrived (cleaned): Prosper's
            # detail has extracted data but no summary, CallCamp's a summary but no extracted data.
            assert as_json["extracted_data"].get("notes") if provider == "prosper" else as_json["summary"]
            assert_clean(as_json, f"call resource {provider}/{call_id}")


async def test_search_hits_on_planted_payloads_are_clean_single_lines_in_one_block(tmp_path: Path) -> None:
    queries = ["instructions", "evil", "transcript", "administrator", "system", "image", "card"]
    async with planted_server(tmp_path) as (client, platforms, planted):
        planted_ids = {(p, c) for p, c in planted_refs(platforms, planted)}
        hit_planted = 0
        for query in queries:
            with anyio.fail_after(60):
                result = await client.call_tool("search_transcripts", {"query": query, "limit": 50})
            data = assert_answer_clean(result, f"search {query!r}")
            hits = data["hits"]
            hit_planted += sum((h["provider"], h["call_id"]) in planted_ids for h in hits)
            found = blocks_of(text_of(result))
            if not hits:
                assert found == []
                continue
            ((_, body),) = found
            assert len(body) == len(hits)
            prefix = rf"\S+ \((?:{'|'.join(PLATFORM_NAMES)})\) [^|\[]*"
            turn_lines = [line for line, h in zip(body, hits, strict=True) if h["matched_in"] == "turn"]
            turn_hits = [h["turn_index"] for h in hits if h["matched_in"] == "turn"]
            assert turn_indices(turn_lines, prefix=prefix) == turn_hits
            for line, hit in zip(body, hits, strict=True):
                if hit["matched_in"] != "turn":  # one line too, its prefix our own: [summary] |
                    assert re.match(prefix + r"\[(summary|extracted|qa)( [a-z0-9_]+)?\] \| ", line), line
    assert hit_planted >= len(queries), "the searches should find the planted payloads"


async def test_call_lists_campaigns_and_summaries_over_planted_data_are_clean(tmp_path: Path) -> None:
    async with planted_server(tmp_path) as (client, platforms, planted):
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        with anyio.fail_after(60):
            for _ in range(10):
                args: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
                result = await client.call_tool("list_calls", args)
                data = assert_answer_clean(result, "list_calls")
                text = text_of(result)
                row_lines = [line for line in text.split("\n") if line.startswith("- ")]
                # One line per row: a planted summary cannot add or forge rows.
                assert len(row_lines) == len(data["calls"])
                assert blocks_of(text) == []
                rows.extend(data["calls"])
                cursor = data["next_cursor"]
                if cursor is None:
                    break
            assert len(rows) == len(PLATFORM_NAMES) * CALLS
            # CallCamp lists carry the summary (Prosper's list endpoint has none).
            summaries = [
                r["summary"]
                for r in rows
                if r["provider"] == "callcamp" and r["call_id"] in planted["callcamp"]
            ]
            assert len(summaries) == PLANTED_CALLS and all(summaries)

            campaigns = await client.call_tool("list_campaigns", {})
            listing = assert_answer_clean(campaigns, "list_campaigns")
            for provider in platforms.datasets:
                planted_calls = [c for c in platforms.datasets[provider] if c.id in planted[provider]]
                for campaign_id in sorted({c.campaign_id for c in planted_calls}):
                    summary = await client.call_tool(
                        "summarize_campaign", {"campaign_id": campaign_id, "provider": provider}
                    )
                    assert_answer_clean(summary, f"summarize_campaign {provider}/{campaign_id}")
            resources = await client.list_resources()
        assert listing["campaigns"]
        assert_clean([r.model_dump(mode="json") for r in resources.resources], "resources/list")


async def test_no_platform_text_reaches_tool_metadata_or_the_server_instructions(tmp_path: Path) -> None:
    async with planted_server(tmp_path) as (client, platforms, planted):
        with anyio.fail_after(60):
            # Read every planted thing first, so the server has seen the payloads.
            for provider, call_id in planted_refs(platforms, planted):
                await client.call_tool("get_call", {"call_id": call_id, "provider": provider})
            await client.call_tool("search_transcripts", {"query": "instructions"})
            await client.call_tool("list_campaigns", {})
            tools = (await client.list_tools()).tools
            prompts = (await client.list_prompts()).prompts
            templates = (await client.list_resource_templates()).resource_templates
        instructions = client.instructions
    listing = [
        t.model_dump(mode="json", by_alias=True, exclude_none=True)
        for t in sorted(tools, key=lambda t: t.name)
    ]
    rendered = json.dumps(listing, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    assert rendered == SNAPSHOT.read_text(encoding="utf-8")
    settings = Settings(
        providers={n: simulated_provider_config(n) for n in PLATFORM_NAMES}, db=tmp_path / "x.db"
    )
    assert instructions == server_instructions(settings, list(PLATFORM_NAMES))
    metadata = rendered + json.dumps(
        [p.model_dump(mode="json") for p in prompts] + [t.model_dump(mode="json") for t in templates]
    )
    for payload in PAYLOADS:
        for fragment in re.findall(r"[A-Za-z][A-Za-z ]{14,}", payload):
            assert fragment not in (instructions or ""), fragment
            assert fragment not in metadata, fragment
