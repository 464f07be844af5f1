"""`build_server`: the MCPServer with its tools, resources and prompts, and its lifespan (which
opens and closes the `Runtime`'s providers and index; see `server.runtime`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from mcp.server.mcpserver import MCPServer

from call_logs_mcp import __version__
from call_logs_mcp.server.instructions import server_instructions
from call_logs_mcp.server.runtime import Runtime

if TYPE_CHECKING:
    import httpx2

    from call_logs_mcp.index import IndexStore
    from call_logs_mcp.providers.base import CallProvider
    from call_logs_mcp.settings import Settings

SERVER_NAME = "call-logs-mcp"


def build_server(
    settings: Settings,
    *,
    providers: Mapping[str, CallProvider] | None = None,
    store: IndexStore | None = None,
    transports: Mapping[str, httpx2.AsyncBaseTransport] | None = None,
) -> MCPServer[Runtime]:
    """The call-logs MCP server for `settings`.

    `providers` default to one adapter per configured provider (over `transports[name]` when
    given); the index store is opened at `settings.db_path()` unless `store` is given. With no
    provider configured the server still starts and its tools answer with an error naming the
    variables to set and `--demo`.
    """
    from call_logs_mcp.server import prompts, resources, tools

    runtime = Runtime(settings, providers=providers, store=store, transports=transports)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        await runtime.enter()
        try:
            yield runtime
        finally:
            with anyio.CancelScope(shield=True):
                await runtime.exit()

    server: MCPServer[Runtime] = MCPServer(
        SERVER_NAME,
        version=__version__,
        instructions=server_instructions(settings, runtime.provider_names),
        lifespan=lifespan,
    )
    tools.register(server, runtime)
    resources.register(server, runtime)
    prompts.register(server, runtime)
    return server
