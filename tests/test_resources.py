"""Call resources: paginated resources/list from the index, reads, completion, not-found."""

import json
from pathlib import Path
from urllib.parse import quote

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, ResourceTemplateReference

from mcp_harness import serve


async def test_resources_list_pages_through_every_indexed_call_newest_first(tmp_path: Path) -> None:
    async with serve(tmp_path, calls=40) as (client, sims):
        with anyio.fail_after(60):
            await client.call_tool("list_campaigns", {})  # syncs both platforms into the index
            uris: list[str] = []
            titles: list[str] = []
            cursor: str | None = None
            pages = 0
            while True:
                page = await client.list_resources(cursor=cursor)
                pages += 1
                uris += [r.uri for r in page.resources]
                titles += [r.title or "" for r in page.resources]
                cursor = page.next_cursor
                if cursor is None:
                    break
    expected = {f"calls://{name}/{c.id}" for name, ds in sims.datasets.items() for c in ds}
    assert pages > 1
    assert len(uris) == len(set(uris))
    assert set(uris) == expected
    assert titles == sorted(titles, reverse=True), "titles start with the start time: newest first"


async def test_a_bad_resources_cursor_is_invalid_params(tmp_path: Path) -> None:
    async with serve(tmp_path, calls=3) as (client, _):
        with pytest.raises(MCPError) as caught:
            await client.list_resources(cursor="not-a-cursor")
    assert caught.value.error.code == INVALID_PARAMS


async def test_reading_a_call_resource_gives_json_without_the_transcript(tmp_path: Path) -> None:
    async with serve(tmp_path, ["callcamp"], calls=10, redact=False) as (client, sims):
        call = next(c for c in sims.datasets["callcamp"] if c.status == "completed")
        result = await client.read_resource(f"calls://callcamp/{call.id}")
    (content,) = result.contents
    assert content.mime_type == "application/json"
    data = json.loads(content.text)  # type: ignore[union-attr]
    assert (data["call_id"], data["status"], data["summary"]) == (call.id, "completed", call.summary)
    assert data["transcript_total_turns"] == len(call.transcript)
    assert "transcript" not in data
    assert call.transcript[0].text not in content.text  # type: ignore[union-attr]


async def test_a_call_resource_names_the_resource_that_holds_its_transcript(
    platform_name: str, tmp_path: Path
) -> None:
    # A model given only the call resource (attached by the user) must find the transcript from it.
    async with serve(tmp_path, [platform_name], calls=10, redact=False) as (client, sims):
        call = next(c for c in sims.datasets[platform_name] if c.status == "completed" and not c.traits)
        listed = await client.list_resources()
        uri = next(r.uri for r in listed.resources if str(r.uri).endswith(quote(call.id, safe="")))
        data = json.loads((await client.read_resource(uri)).contents[0].text)  # type: ignore[union-attr]
        assert data["transcript_uri"] == f"{uri}/transcript"
        text = (await client.read_resource(data["transcript_uri"])).contents[0].text  # type: ignore[union-attr]
    assert text.startswith(f"Transcript of call {call.id} on {platform_name}")
    assert [line for line in text.splitlines() if line.startswith("[")][-1].endswith(call.transcript[-1].text)


async def test_reading_a_transcript_resource_gives_every_turn_on_its_own_line(
    platform_name: str, tmp_path: Path
) -> None:
    async with serve(tmp_path, [platform_name], calls=10, redact=False) as (client, sims):
        call = next(c for c in sims.datasets[platform_name] if c.status == "completed" and not c.traits)
        result = await client.read_resource(f"calls://{platform_name}/{call.id}/transcript")
    text = result.contents[0].text  # type: ignore[union-attr]
    turn_lines = [line for line in text.splitlines() if line.startswith("[")]
    assert len(turn_lines) == len(call.transcript)
    for i, (line, turn) in enumerate(zip(turn_lines, call.transcript, strict=True)):
        assert line.startswith(f"[{i}] {turn.speaker}")
        assert line.endswith(turn.text)


@pytest.mark.parametrize(
    "uri", ["calls://{name}/999999999", "calls://acme/1", "calls://{name}/999999999/transcript"]
)
async def test_an_unknown_call_is_resource_not_found(platform_name: str, tmp_path: Path, uri: str) -> None:
    async with serve(tmp_path, [platform_name], calls=3) as (client, _):
        with pytest.raises(MCPError) as caught:
            await client.read_resource(uri.format(name=platform_name))
    assert caught.value.error.code == INVALID_PARAMS


async def test_a_hostile_resource_uri_is_quoted_back_only_cleaned_and_short(tmp_path: Path) -> None:
    # Matches our template (no extra "/"): the SDK quotes URIs that match no template itself.
    hostile = "calls://prosper/1\u202e\u200b![x](evil.example)" + "9" * 5000
    async with serve(tmp_path, ["prosper"], calls=3) as (client, _):
        with pytest.raises(MCPError) as caught:
            await client.read_resource(hostile)
    message = caught.value.error.message
    assert caught.value.error.code == INVALID_PARAMS
    assert message.startswith("Unknown resource: calls://prosper/1")
    assert "\u202e" not in message and "\u200b" not in message
    assert "![x](" not in message
    assert len(message) < 600


async def test_provider_and_call_id_complete_from_configuration_and_index(
    platform_name: str, tmp_path: Path
) -> None:
    async with serve(tmp_path, calls=15) as (client, sims):
        ref = ResourceTemplateReference(type="ref/resource", uri="calls://{provider}/{call_id}")
        providers = await client.complete(ref, {"name": "provider", "value": platform_name[:2]})
        await client.call_tool("list_campaigns", {})
        dataset = sims.datasets[platform_name]
        prefix = dataset.calls[0].id[:2]
        ids = await client.complete(ref, {"name": "call_id", "value": prefix}, {"provider": platform_name})
    assert providers.completion.values == [n for n in sims.datasets if n.startswith(platform_name[:2])]
    assert set(ids.completion.values) == {c.id for c in dataset if c.id.startswith(prefix)}
