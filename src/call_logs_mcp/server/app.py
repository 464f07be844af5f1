"""`build_server`: the MCPServer with its tools, resources and prompts, and its lifespan (which
opens and closes the `Runtime`'s providers and index; see `server.runtime`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    Icon,
    InputRequiredResult,
    ToolAnnotations,
)
from pydantic import ValidationError

from call_logs_mcp import __version__
from call_logs_mcp.output.scrub import redact_echo
from call_logs_mcp.server.arguments import coerce_arguments, explain
from call_logs_mcp.server.icons import icons as _icons
from call_logs_mcp.server.instructions import server_instructions
from call_logs_mcp.server.runtime import Runtime

if TYPE_CHECKING:
    import httpx2

    from call_logs_mcp.index import IndexStoreProtocol
    from call_logs_mcp.providers.base import CallProvider
    from call_logs_mcp.settings import Settings

SERVER_NAME = "call-logs-mcp"
WEBSITE_URL = "https://github.com/call-logs-mcp/call-logs-mcp"

# Freshness hints (2026-07-28 `ttlMs`/`cacheScope`, filled by the SDK's runner). Tools, prompts and
# resource templates are static text, the same for every user: an hour, shareable. The resource
# list and resources grow and change as syncs index calls (clients hear list_changed): never
# fresh, and they are one account's data.
_STATIC = CacheHint(ttl_ms=3_600_000, scope="public")
_LIVE = CacheHint(ttl_ms=0, scope="private")
CACHE_HINTS: dict[CacheableMethod, CacheHint] = {
    "tools/list": _STATIC,
    "prompts/list": _STATIC,
    "resources/templates/list": _STATIC,
    "resources/list": _LIVE,
    "resources/read": _LIVE,
}


class _RedactEchoes(logging.Filter):
    """Masks PII in the arguments of the SDK's own log lines ("Resource 'calls://…/415…' failed")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_echo(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str) and not record.args:
            record.msg = redact_echo(record.msg)
        return True


def _redact_sdk_logs() -> None:
    sdk = logging.getLogger("mcp.server.mcpserver.server")
    if not any(isinstance(f, _RedactEchoes) for f in sdk.filters):
        sdk.addFilter(_RedactEchoes())


class CallLogsServer(MCPServer[Runtime]):
    """MCPServer that takes arguments as clients send them and refuses bad ones in our words."""

    runtime: Runtime | None = None
    _schemas: dict[str, dict[str, Any]] | None = None  # tool metadata is static: read it once

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """Every tool, however registered (`@server.tool`, the apps helper), carries the server's
        icon unless it names its own."""
        super().add_tool(
            fn,
            name=name,
            title=title,
            description=description,
            annotations=annotations,
            icons=_icons() if icons is None else icons,
            meta=meta,
            structured_output=structured_output,
        )

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        self._remember(context)
        if self._schemas is None:
            self._schemas = {t.name: t.input_schema for t in await self.list_tools()}
        schema = self._schemas.get(name)
        if schema is not None:
            arguments = coerce_arguments(schema, arguments)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if schema is not None and isinstance(exc.__cause__, ValidationError):
                raise ToolError(redact_echo(explain(name, schema, exc.__cause__))) from None
            # Our messages quote the caller's input ("prosper has no call 415…"); the SDK also
            # logs them at INFO.
            raise ToolError(redact_echo(str(exc))) from exc.__cause__

    async def read_resource(
        self, uri: Any, context: Context[Runtime, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        try:
            return await super().read_resource(uri, context)
        except ResourceError as exc:
            raise type(exc)(redact_echo(str(exc))) from exc.__cause__

    def _remember(self, context: Context[Runtime, Any] | None) -> None:
        """Note the session of a request, for resource-list notifications."""
        if self.runtime is None or context is None:
            return
        try:
            session = context.request_context.session
        except (ValueError, LookupError):  # no request: nobody to notify
            return
        self.runtime.remember_session(session)

    async def publish_resources_changed(self) -> None:
        """A resource-list change, to the 2026-07-28 era's listen streams."""
        await Context(mcp_server=self, subscriptions=self._subscriptions).notify_resources_changed()

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Runtime, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        # The SDK raises a bare ValueError here, which the 2026-07-28 era answers as "Internal
        # server error" with a traceback in the log: the caller's mistake deserves its own words.
        prompts = {p.name: p for p in await self.list_prompts()}
        prompt = prompts.get(name)
        if prompt is None:
            raise MCPError(INVALID_PARAMS, f"Unknown prompt; the prompts are: {', '.join(sorted(prompts))}.")
        required = [a.name for a in prompt.arguments or () if a.required]
        missing = [a for a in required if not (arguments or {}).get(a)]
        if missing:
            raise MCPError(INVALID_PARAMS, f"The {name} prompt needs: {', '.join(missing)}.")
        return await super().get_prompt(name, arguments, context)


def build_server(
    settings: Settings,
    *,
    providers: Mapping[str, CallProvider] | None = None,
    store: IndexStoreProtocol | None = None,
    transports: Mapping[str, httpx2.AsyncBaseTransport] | None = None,
) -> MCPServer[Runtime]:
    """The call-logs MCP server for `settings`.

    `providers` default to one adapter per configured provider (over `transports[name]` when
    given); the index store is opened at `settings.db_path()` unless `store` is given. With no
    provider configured the server still starts and its tools answer with an error naming the
    variables to set and `--demo`.
    """
    from call_logs_mcp.server import prompts, resources, tools
    from call_logs_mcp.server.dashboard import dashboard_apps

    runtime = Runtime(settings, providers=providers, store=store, transports=transports)
    _redact_sdk_logs()

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with runtime.connection():
            yield runtime

    server = CallLogsServer(
        SERVER_NAME,
        version=__version__,
        website_url=WEBSITE_URL,
        icons=_icons(),
        cache_hints=CACHE_HINTS,
        instructions=server_instructions(settings, runtime.provider_names),
        lifespan=lifespan,
        extensions=[dashboard_apps(runtime)],
    )
    server.runtime = runtime
    runtime.on_resources_changed(server.publish_resources_changed)
    tools.register(server, runtime)
    resources.register(server, runtime)
    prompts.register(server, runtime)
    return server
