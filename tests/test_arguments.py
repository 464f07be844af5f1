"""Arguments as clients send them: numbers for ids, out-of-range and ill-typed values, prompts
that do not exist. Every refusal is our own one line, never pydantic's text or URL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from mcp_harness import data_of, serve, text_of

PYDANTIC_TELLS = ("pydantic", "validation error", "input_value", "type=", "Input should")


def wrong_values(prop: dict[str, Any]) -> list[Any]:
    """Values of the wrong type or out of range for one schema property."""
    types = {prop.get("type")} | {o.get("type") for o in prop.get("anyOf", [])}
    values: list[Any] = [[1, 2], {"a": 1}]
    if "integer" in types:
        values += ["many", 2.5]
        values += [prop["maximum"] + 1] if "maximum" in prop else []
        values += [prop["minimum"] - 1] if "minimum" in prop else []
    if "boolean" in types:
        values += ["perhaps", 7]
    if "string" in types:
        values += [True]
    return values


async def test_a_numeric_call_id_is_taken_as_its_digits(tmp_path: Path) -> None:
    async with serve(tmp_path, ("prosper",)) as (client, platforms):
        call_id = platforms.datasets["prosper"].calls[0].id
        assert call_id.isdigit()
        as_text = data_of(await client.call_tool("get_call", {"call_id": call_id}))
        as_number = data_of(await client.call_tool("get_call", {"call_id": int(call_id)}))
        assert as_number["call_id"] == call_id
        assert as_number == as_text


async def test_every_ill_typed_or_out_of_range_argument_gets_our_own_one_line_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(tmp_path, ("prosper",)) as (client, _):
        tools = {t.name: t.input_schema for t in (await client.list_tools()).tools}
        required = {"get_call": {"call_id": "1"}, "search_transcripts": {"query": "refund"}}
        required["summarize_campaign"] = {"campaign_id": "c1"}
        tried = 0
        for tool, schema in tools.items():
            for name, prop in schema["properties"].items():
                for value in wrong_values(prop):
                    arguments = {**required.get(tool, {}), name: value}
                    result = await client.call_tool(tool, arguments)
                    text = text_of(result)
                    assert result.is_error, f"{tool}({name}={value!r}) was accepted: {text[:200]}"
                    assert "\n" not in text.strip()
                    assert not any(tell in text for tell in PYDANTIC_TELLS), text
                    assert name in text, f"{tool}({name}={value!r}) does not name the argument: {text}"
                    tried += 1
        assert tried > 60
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_limit_too_large_says_the_range_and_what_was_sent(tmp_path: Path) -> None:
    async with serve(tmp_path, ("prosper",)) as (client, _):
        result = await client.call_tool("list_calls", {"limit": 500})
        assert result.is_error
        assert text_of(result).startswith(
            "Invalid arguments for list_calls: limit must be a whole number from 1 to 100 (got 500)."
        )


async def test_a_missing_required_argument_is_named(tmp_path: Path) -> None:
    async with serve(tmp_path, ("prosper",)) as (client, _):
        result = await client.call_tool("get_call", {})
        assert result.is_error
        assert text_of(result).startswith("Invalid arguments for get_call: call_id is required.")


async def test_an_unknown_prompt_or_a_missing_prompt_argument_is_a_clean_invalid_params_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(tmp_path, ("prosper",)) as (client, _):
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("campaign_reprot\x1b[31m", {})
        assert unknown.value.error.code == INVALID_PARAMS
        assert unknown.value.error.message == "Unknown prompt; the prompts are: campaign_report, review_call."
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("review_call", {})
        assert missing.value.error.code == INVALID_PARAMS
        assert missing.value.error.message == "The review_call prompt needs: call_id."
        prompt = await client.get_prompt("review_call", {"call_id": "4711"})
        assert "4711" in str(prompt.messages[0].content)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
