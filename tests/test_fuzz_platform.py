"""Platform-side fuzzing (issue 11): the simulators serve hostile records -- ids and fields of the
wrong type, huge and deeply nested values, control characters, lone surrogates, numbers past 64
bits -- and the server must answer every tool and resource with 0 internal errors, keep
answering afterwards, and never let one record stop the sync of the others.

Which fields a platform sends is learnt from the simulator's own answers (any JSON object that
carries a known call id is a call record), so the suite runs unchanged for every platform.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from starlette.types import Message, Receive, Scope, Send

from call_logs_mcp.ids import usable_id
from call_logs_mcp.providers.simulated import simulated_app, simulated_dataset, simulated_transport
from call_logs_mcp.simulators.dataset import SimDataset
from conftest import PLATFORM_NAMES
from mcp_harness import serve, text_of

ROUNDS = 4
HOSTILE_PER_PLATFORM = 16


# --- learning the wire fields -----------------------------------------------------------------------


def record_fields(name: str) -> list[str]:
    """The keys of the call records `name`'s simulator serves (list and detail answers)."""
    dataset = simulated_dataset(name, calls=6, long_calls=0, seed=3)
    ids = {call.id for call in dataset.calls} | {int(c.id) for c in dataset.calls if c.id.isdigit()}
    bodies: list[Any] = []
    app = simulated_app(name, dataset)

    async def capture(scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await app(scope, receive, keep)
        with contextlib.suppress(ValueError):
            bodies.append(json.loads(b"".join(chunks)))

    async def walk() -> None:
        from call_logs_mcp.models import CallQuery
        from call_logs_mcp.providers import create_provider
        from call_logs_mcp.providers.simulated import simulated_provider_config

        provider = create_provider(
            simulated_provider_config(name),
            transport=simulated_transport(name, capture),  # type: ignore[arg-type]
        )
        try:
            page = await provider.list_calls(CallQuery(), limit=6)
            for call in page.calls[:2]:
                await provider.get_call(call.call_id)
        finally:
            await provider.aclose()

    anyio.run(walk)
    fields: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if any(v in ids for v in value.values() if isinstance(v, str | int) and not isinstance(v, bool)):
                fields.update(value)
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for body in bodies:
        visit(body)
    return sorted(fields)


FIELDS = {name: record_fields(name) for name in PLATFORM_NAMES}


def test_the_learnt_fields_name_each_platforms_id_and_transcript() -> None:
    for name, fields in FIELDS.items():
        assert len(fields) >= 8, (name, fields)
        assert any("id" in f.lower() for f in fields)
        # The turns: a transcript, or (Vapi) the call's artifact, which holds its messages.
        assert any("transcript" in f.lower() or f == "artifact" for f in fields), (name, fields)


# --- a grammar of hostile JSON values --------------------------------------------------------------


def hostile_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(
        (
            "null",
            "bool",
            "int",
            "huge",
            "float",
            "text",
            "control",
            "surrogate",
            "long",
            "list",
            "dict",
            "deep",
        )
        if depth < 3
        else ("null", "bool", "int", "text", "control")
    )
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice((0, -1, 1, 59, 2**31, -(2**31)))
    if kind == "huge":
        return rng.choice((2**63, 2**64 + 1, -(2**70), 10**30))
    if kind == "float":
        return rng.choice((0.5, -1e308, 1e308, 3.14159, 1e-300))
    if kind == "text":
        return rng.choice(("", " ", "completed", "2026-03-01T12:00:00Z", "3:00", "+14155550136", "null"))
    if kind == "control":
        return "".join(
            rng.choice(("a", "\x00", "\x1b[2J", "\r\n", "\u202e", "\u2028", "é")) for _ in range(12)
        )
    if kind == "surrogate":
        return rng.choice(("\ud800", "x\udfffy", "\ud83d", "\ud83d\ude00"))
    if kind == "long":
        return rng.choice(("a", "word ", "☎")) * rng.choice((5_000, 120_000))
    if kind == "list":
        return [hostile_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind == "dict":
        return {
            rng.choice(("text", "speaker", "role", "content", "", "\x00k", "1")): hostile_value(
                rng, depth + 1
            )
            for _ in range(rng.randint(0, 4))
        }
    nested: Any = rng.choice(("bottom", 1, None))
    for _ in range(rng.randint(20, 120)):
        nested = [nested] if rng.random() < 0.5 else {"a": nested}
    return nested


def hostile_datasets(round_: int) -> Iterator[tuple[str, SimDataset, list[str]]]:
    """Per platform, a dataset whose first calls carry hostile fields; and their ids."""
    for offset, name in enumerate(PLATFORM_NAMES):
        rng = random.Random(f"platform-fuzz:{round_}:{name}")
        dataset = simulated_dataset(name, calls=40, long_calls=0, seed=50 + round_ * 7 + offset)
        patched: list[str] = []
        for call in dataset.calls[:HOSTILE_PER_PLATFORM]:
            fields = rng.sample(FIELDS[name], k=rng.randint(1, min(4, len(FIELDS[name]))))
            call.wire_patch = {field: hostile_value(rng) for field in fields}
            patched.append(call.id)
        dataset.touch()
        yield name, dataset, patched


# --- the run ------------------------------------------------------------------------------------------


def internal(text: str) -> bool:
    return "internal error" in text or "Traceback" in text


async def every_answer(client: Client, datasets: dict[str, SimDataset]) -> list[tuple[str, bool, str]]:
    """(what, is_error, text) of every tool and resource a client can ask about these calls."""
    out: list[tuple[str, bool, str]] = []

    async def tool(name: str, args: dict[str, Any]) -> None:
        with anyio.fail_after(60):
            result = await client.call_tool(name, args)
        out.append((f"{name} {args}", bool(result.is_error), text_of(result)))

    await tool("list_calls", {"limit": 100})
    await tool("search_transcripts", {"query": "thank"})
    await tool("list_campaigns", {})
    for name, dataset in datasets.items():
        await tool("list_calls", {"provider": name, "limit": 50})
        for call in dataset.calls[:HOSTILE_PER_PLATFORM]:
            if not usable_id(call.id):
                continue
            await tool("get_call", {"call_id": call.id, "provider": name})
            for suffix in ("", "/transcript"):
                with anyio.fail_after(60):
                    try:
                        read = await client.read_resource(f"calls://{name}/{call.id}{suffix}")
                        out.append(
                            ("resource", False, " ".join(getattr(c, "text", "") for c in read.contents))
                        )
                    except MCPError as err:
                        out.append(("resource", True, err.error.message))
        for campaign in dataset.campaigns[:2]:
            await tool("summarize_campaign", {"campaign_id": campaign.id, "provider": name})
    with anyio.fail_after(60):
        listing = await client.list_resources()
    out.append(("resources/list", False, json.dumps([r.model_dump(mode="json") for r in listing.resources])))
    return out


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_hostile_records_from_the_platforms_cause_no_internal_error_and_the_rest_is_indexed(
    tmp_path: Path, round_: int
) -> None:
    served = list(hostile_datasets(round_))
    datasets = {name: dataset for name, dataset, _ in served}
    async with serve(tmp_path, datasets=datasets, wait_seconds=60) as (client, _):
        answers = await every_answer(client, datasets)
        again = await client.call_tool("search_transcripts", {"query": "thank"})
        coverage = (again.structured_content or {}).get("coverage", [])
    assert [a for a in answers if internal(a[2])] == []
    assert not again.is_error, text_of(again)
    # Every call untouched by the fuzzing is indexed: a bad record never stops the others.
    for entry in coverage:
        dataset = datasets[entry["provider"]]
        assert entry["indexed_calls"] >= len(dataset) - HOSTILE_PER_PLATFORM, entry
