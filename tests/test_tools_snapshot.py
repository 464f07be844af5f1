"""tools/list is static metadata: a snapshot fails on any change (regenerate deliberately)."""

import json
import os
from pathlib import Path
from typing import Any

from mcp import Client

from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings
from mcp_harness import serve

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"


async def tools_listing(server_settings: Settings) -> list[dict[str, Any]]:
    async with Client(build_server(server_settings), raise_exceptions=True) as client:
        tools = (await client.list_tools()).tools
    # The wire form: name, title, description, inputSchema, outputSchema, annotations.
    return [
        t.model_dump(mode="json", by_alias=True, exclude_none=True)
        for t in sorted(tools, key=lambda t: t.name)
    ]


async def test_tools_list_matches_the_snapshot(tmp_path: Path) -> None:
    # Tool metadata is static: the same whatever is configured (here: nothing, and both platforms).
    bare = await tools_listing(Settings())
    async with serve(tmp_path, calls=2) as (client, _):
        configured = (await client.list_tools()).tools
    assert [t.name for t in sorted(configured, key=lambda t: t.name)] == [t["name"] for t in bare]
    assert [t.description for t in sorted(configured, key=lambda t: t.name)] == [
        t["description"] for t in bare
    ]
    rendered = json.dumps(bare, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(rendered, encoding="utf-8")
    assert rendered == SNAPSHOT.read_text(encoding="utf-8"), (
        "tools/list changed; if deliberate, regenerate with UPDATE_SNAPSHOTS=1 and review the diff"
    )


async def test_every_tool_is_read_only_idempotent_and_open_world() -> None:
    for tool in await tools_listing(Settings()):
        assert tool["annotations"] == {"readOnlyHint": True, "idempotentHint": True, "openWorldHint": True}
        assert tool["outputSchema"]["type"] == "object"
