"""What a host shows for the server: its icon on the server and on every tool, and how long it may
cache each list (the 2026-07-28 `ttlMs`/`cacheScope` hints)."""

from __future__ import annotations

import base64
from pathlib import Path

from mcp import Client
from mcp.types import Icon

from call_logs_mcp.server.app import WEBSITE_URL, build_server
from call_logs_mcp.settings import Settings

ICON_FILE = Path(__file__).resolve().parents[1] / "src" / "call_logs_mcp" / "server" / "icon.svg"


def svg_of(icon: Icon) -> bytes:
    prefix = "data:image/svg+xml;base64,"
    assert icon.src.startswith(prefix), icon.src[:40]
    assert icon.mime_type == "image/svg+xml"
    return base64.b64decode(icon.src.removeprefix(prefix), validate=True)


async def test_the_server_and_every_tool_carry_the_packaged_svg_icon(tmp_path: Path) -> None:
    async with Client(build_server(Settings(db=tmp_path / "calls.db")), raise_exceptions=True) as client:
        info = client.server_info
        tools = (await client.list_tools()).tools
    assert info is not None and info.icons
    assert info.website_url == WEBSITE_URL
    assert tools
    for owner, icons in [("server", info.icons), *((t.name, t.icons) for t in tools)]:
        assert icons, f"{owner} has no icon"
        svg = svg_of(icons[0])
        assert svg == ICON_FILE.read_bytes(), owner
    assert len(ICON_FILE.read_bytes()) < 2_000  # small: it travels in every tools/list


async def test_a_tool_added_later_gets_the_icon_and_one_with_its_own_keeps_it(tmp_path: Path) -> None:
    server = build_server(Settings(db=tmp_path / "calls.db"))
    own = Icon(src="data:image/svg+xml;base64,PHN2Zy8+", mime_type="image/svg+xml")

    @server.tool(description="A tool registered after the built-in ones.")
    def later() -> str:
        return "later"

    @server.tool(description="A tool with an icon of its own.", icons=[own])
    def branded() -> str:
        return "branded"

    async with Client(server, raise_exceptions=True) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert svg_of((tools["later"].icons or [])[0]) == ICON_FILE.read_bytes()
    assert tools["branded"].icons == [own]


async def test_static_lists_are_cacheable_for_an_hour_and_call_data_never(tmp_path: Path) -> None:
    server = build_server(Settings(db=tmp_path / "calls.db"))
    async with Client(server, mode="2026-07-28", raise_exceptions=True) as client:
        static = [
            await client.list_tools(),
            await client.list_prompts(),
            await client.list_resource_templates(),
        ]
        live = await client.list_resources()
    for result in static:
        assert (result.ttl_ms, result.cache_scope) == (3_600_000, "public"), type(result).__name__
    assert (live.ttl_ms, live.cache_scope) == (0, "private")


async def test_an_mcp_apps_tool_gets_the_icon_too() -> None:
    from mcp.server.apps import Apps

    from call_logs_mcp.server.app import CallLogsServer

    apps = Apps()

    @apps.tool(resource_uri="ui://call-logs/board.html", description="A tool with a user interface.")
    def board() -> str:
        return "board"

    apps.add_html_resource("ui://call-logs/board.html", "<!doctype html><title>board</title>")
    async with Client(CallLogsServer("t", extensions=[apps]), raise_exceptions=True) as client:
        [tool] = (await client.list_tools()).tools
    assert tool.name == "board" and tool.icons
    assert svg_of(tool.icons[0]) == ICON_FILE.read_bytes()
