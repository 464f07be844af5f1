"""The Streamable HTTP transport, hardened for a team network.

Layers, outermost first, each one answering before anything inside it runs:

    HealthCheck (ASGI)           GET /healthz → 200 {"status":"ok"} or 503, no auth, no data
    RequestGuard (ASGI)          Host → 421, Origin → 403, bearer token → 401
      SDK streamable_http_app    TransportSecuritySettings (Host/Origin again), body limit → 413, /mcp
        MCP server middleware    per-client tool-call rate limit → tool error "retry in N s"

The guard is stricter than the SDK's own check: the SDK accepts any Origin that merely starts
with `http://localhost:`, so `http://localhost:1@evil.example` passes it; the guard parses the
Origin and accepts only an exact `scheme://loopback-host[:port]`. `null` and look-alike hosts
(`localhost.evil.example`, `127.0.0.1.nip.io`) are refused. Requests without an Origin header
(non-browser MCP clients) are allowed; browsers always send one on cross-site requests.

The rate limit is an MCP server middleware rather than an ASGI one because only the MCP layer
knows which messages are `tools/call` requests (JSON-RPC batches, both protocol eras, SSE
streams) and can answer with a proper tool error that the model reads and the client keeps
going after. It keys on the peer address of the HTTP request.

Binding a non-loopback address without `CALL_LOGS_HTTP_TOKEN` refuses to start
(`ensure_safe_bind`): the index holds call transcripts.

Replicas: on a shared PostgreSQL index (`CALL_LOGS_DATABASE_URL`) the transport is stateless, so
any replica answers any request: the SDK keeps stateful sessions in the memory of the process
that created them, and a session's next request behind a load balancer may land elsewhere.
"""

from __future__ import annotations

import hmac
import logging
import math
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse

from call_logs_mcp.errors import ConfigurationError
from call_logs_mcp.listen import is_loopback, listening_socket
from call_logs_mcp.server.http_limits import (
    ACCEPT_BACKLOG,
    ClientLimits,
    ConnectionLimits,
    HeavyQueryLimiter,
    Throttled,
    TokenBuckets,
    guarded_protocol,
    quiet_accept_errors,
    request_client,
)

if TYPE_CHECKING:
    import anyio
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.mcpserver import MCPServer
    from pydantic import SecretStr
    from starlette.types import ASGIApp, Receive, Scope, Send

    from call_logs_mcp.settings import Settings

logger = logging.getLogger(__name__)

MCP_PATH: Final = "/mcp"
HEALTH_PATH: Final = "/healthz"
HEALTH_TIMEOUT_SECONDS: Final = 5.0
# JSON-RPC requests to this server are small (ids, filters, a search phrase).
MAX_BODY_BYTES: Final = 1024 * 1024
LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})
TOKEN_ENV_VAR: Final = "CALL_LOGS_HTTP_TOKEN"
# Shortest token a network-reachable bind accepts (`openssl rand -hex 16` gives 32).
MIN_TOKEN_CHARS: Final = 32


def ensure_safe_bind(host: str, token: SecretStr | None) -> None:
    """Refuse a network-reachable bind without a strong token, and any token that cannot work.

    A non-loopback bind needs a token of at least MIN_TOKEN_CHARS characters; a token holding
    whitespace or control characters is refused on every bind (no client could send it back).
    Raises ConfigurationError naming the variable to set; the message never repeats the token.
    """
    value = token.get_secret_value() if token is not None else ""
    if value and (
        value != value.strip() or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    ):
        raise ConfigurationError(
            f"{TOKEN_ENV_VAR} holds whitespace or control characters; use a long random secret such "
            "as the output of `openssl rand -hex 32`."
        )
    if is_loopback(host):
        return
    if not value:
        raise ConfigurationError(
            f"Refusing to serve call logs on {host}, which other machines can reach, without a token. "
            f"Set {TOKEN_ENV_VAR} to a long random secret (clients then send "
            f"'Authorization: Bearer <token>'), or bind 127.0.0.1."
        )
    if len(value) < MIN_TOKEN_CHARS:
        raise ConfigurationError(
            f"Refusing to serve call logs on {host} with a {TOKEN_ENV_VAR} of {len(value)} characters: "
            f"a network-reachable bind needs at least {MIN_TOKEN_CHARS} (e.g. `openssl rand -hex 32`)."
        )


def machine_names() -> frozenset[str]:
    """This machine's host names, lower-cased: what a Host header may name on a wildcard bind."""
    names = {socket.gethostname(), socket.getfqdn()}
    return frozenset(n.strip().lower() for n in names if n and n.strip())


def _split_host_header(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` of a Host header (IPv6 in brackets), lower-cased; None when malformed."""
    value = value.strip().lower()
    if not value or any(c in value for c in "/@?#\\ \t"):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    else:
        name, sep, port_text_or_empty = value.partition(":")
        port_text = port_text_or_empty if sep else None
    if not name:
        return None
    if port_text is None:
        return name, None
    if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        return None
    return name, int(port_text)


def _loopback_origin(origin: str) -> bool:
    """An exact `http(s)://<loopback name>[:port]` origin and nothing that merely resembles one."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_NAMES:
        return False
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    rebuilt = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    return origin == rebuilt


class RequestGuard:
    """ASGI middleware: Host, Origin and bearer-token checks before the MCP app sees a request.

    `loopback`: the server is bound to a loopback address, so the Host header must name a
    loopback host on the port the request arrived at, and browser Origins must be loopback too.
    Otherwise `allowed_hosts` (when given) lists the exact `host[:port]` values accepted.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: SecretStr | None,
        loopback: bool,
        allowed_hosts: Sequence[str] = (),
        allowed_origins: Sequence[str] = (),
    ) -> None:
        self.app = app
        self._token = token.get_secret_value().encode() if token and token.get_secret_value() else None
        self._loopback = loopback
        self._allowed_hosts = frozenset(h.strip().lower() for h in allowed_hosts if h.strip())
        self._allowed_origins = frozenset(o.strip() for o in allowed_origins if o.strip())
        self._machine_names = frozenset() if loopback else machine_names()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rejection = self._reject(scope, headers)
        if rejection is not None:
            status, text, extra = rejection
            response = PlainTextResponse(text, status_code=status, headers=extra)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _reject(self, scope: Scope, headers: Headers) -> tuple[int, str, dict[str, str]] | None:
        if not self._host_ok(scope, headers.getlist("host")):
            logger.warning("Rejected an HTTP request with a Host header this server does not answer to")
            return 421, "Invalid Host header", {}
        origins = headers.getlist("origin")
        if origins and not (len(origins) == 1 and self._origin_ok(origins[0])):
            logger.warning("Rejected an HTTP request from a foreign Origin")
            return 403, "Forbidden Origin", {}
        if self._token is not None and not self._token_ok(headers.getlist("authorization")):
            return (
                401,
                "Missing or invalid bearer token",
                {"WWW-Authenticate": 'Bearer realm="call-logs-mcp"'},
            )
        return None

    def _host_ok(self, scope: Scope, values: list[str]) -> bool:
        if len(values) != 1:
            return False
        parsed = _split_host_header(values[0])
        if parsed is None:
            return False
        name, port = parsed
        if self._allowed_hosts:
            if values[0].strip().lower() in self._allowed_hosts:
                return True
            if not self._loopback:
                return False
        server = scope.get("server")
        local_host = str(server[0]).lower() if server and server[0] else None
        local_port = server[1] if server and server[1] is not None else None
        if self._loopback:
            accepted = LOOPBACK_NAMES
        else:
            # No allow-list on a network bind: the Host must name this server, by the address the
            # request arrived at or by this machine's name; anything else is 421.
            accepted = self._machine_names | ({local_host} if local_host else set())
        if name not in accepted:
            return False
        if port is None:
            return local_port in (None, 80)
        return local_port is None or port == local_port

    def _origin_ok(self, origin: str) -> bool:
        if origin in self._allowed_origins:
            return True
        return self._loopback and _loopback_origin(origin)

    def _token_ok(self, values: list[str]) -> bool:
        assert self._token is not None
        if len(values) != 1:
            return False
        scheme, _, credentials = values[0].partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(credentials.strip().encode(), self._token)


class HealthCheck:
    """ASGI middleware answering `GET /healthz` for load balancers, before any other check: no
    token (a load balancer has none), any Host, and nothing in the answer but the status.

    200 `{"status":"ok"}` when `check()` returns within HEALTH_TIMEOUT_SECONDS (the index is
    reachable and its schema current), else 503 `{"status":"unavailable"}`; why goes to the log,
    once per change."""

    def __init__(self, app: ASGIApp, check: Callable[[], Awaitable[None]] | None) -> None:
        self.app = app
        self._check = check
        self._failing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != HEALTH_PATH or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        from starlette.responses import JSONResponse

        healthy = await self._healthy()
        response = JSONResponse(
            {"status": "ok" if healthy else "unavailable"},
            status_code=200 if healthy else 503,
            headers={"Cache-Control": "no-store"},
        )
        await response(scope, receive, send)

    async def _healthy(self) -> bool:
        import anyio

        from call_logs_mcp.errors import CallLogsError

        if self._check is None:
            return True
        why: str | None = None
        try:
            with anyio.fail_after(HEALTH_TIMEOUT_SECONDS):
                await self._check()
        except TimeoutError:
            why = f"the index did not answer within {HEALTH_TIMEOUT_SECONDS:g} s"
        except CallLogsError as exc:
            why = str(exc)
        if why is not None and not self._failing:
            logger.warning("Health check failing: %s", why)
        elif why is None and self._failing:
            logger.warning("Health check passing again")
        self._failing = why is not None
        return why is None


class ToolCallRateLimiter:
    """Per-client token bucket over `tools/call` requests, as an MCP server middleware.

    `per_minute` calls may come in a burst; the bucket refills at `per_minute / 60` per second.
    A call beyond it is answered with a tool error saying when to retry; no tool runs.
    """

    def __init__(
        self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000
    ) -> None:
        self._buckets = TokenBuckets(per_minute, clock=clock, max_keys=max_clients)
        self.capacity = self._buckets.capacity
        self._notice = Throttled(f"Tool calls refused: a client exceeded {per_minute} tool calls per minute")

    def acquire(self, client: str) -> float:
        """Take one call for `client`: 0.0 when allowed, else the seconds until one is available."""
        return self._buckets.acquire(client)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call" or ctx.request_id is None:
            return await call_next(ctx)
        wait = self.acquire(request_client(ctx.request))
        if wait <= 0:
            return await call_next(ctx)
        from mcp.types import CallToolResult, TextContent

        seconds = max(1, math.ceil(wait))
        self._notice.hit()
        return CallToolResult(
            is_error=True,
            content=[
                TextContent(
                    type="text",
                    text=f"Too many tool calls from this client (limit {int(self.capacity)} per minute); "
                    f"retry in {seconds} s.",
                )
            ],
        )


def create_http_app(
    server: MCPServer[Any],
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    rate_limiter: ToolCallRateLimiter | None = None,
    health: Callable[[], Awaitable[None]] | None = None,
) -> ASGIApp:
    """The ASGI app serving `server` at /mcp and `GET /healthz` with every check above.

    `rate_limiter` defaults to one built from `settings.tool_calls_per_minute` (0 disables it).
    `health` (raising CallLogsError when unhealthy) defaults to the call-logs server's index
    check (`Runtime.check_health`); a server without one is healthy while it answers.
    Raises ConfigurationError when `host` is not loopback and no token is configured.
    """
    from mcp.server.transport_security import TransportSecuritySettings

    ensure_safe_bind(host, settings.http_token)
    loopback = is_loopback(host)
    if loopback:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", *allowed_hosts],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *allowed_origins],
        )
    elif allowed_hosts:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=list(allowed_hosts),
            allowed_origins=list(allowed_origins),
        )
    else:
        # No host allow-list for a token-protected team server; the guard still checks Origins.
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)

    if rate_limiter is None and settings.tool_calls_per_minute > 0:
        rate_limiter = ToolCallRateLimiter(settings.tool_calls_per_minute)
    chain = server.middleware
    for existing in [m for m in chain if isinstance(m, ToolCallRateLimiter | HeavyQueryLimiter)]:
        chain.remove(existing)
    if rate_limiter is not None:
        chain.append(rate_limiter)
    chain.append(HeavyQueryLimiter(settings.heavy_queries_per_client))

    idle_seconds = settings.session_idle_minutes * 60
    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=security,
        max_request_body_size=max_body_bytes,
        session_idle_timeout=idle_seconds,
        max_sessions=settings.sessions,
        host=host,
        stateless_http=settings.database_url is not None,
    )
    guarded = RequestGuard(
        inner,
        token=settings.http_token,
        loopback=loopback,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
    )
    if health is None:
        runtime = getattr(server, "runtime", None)
        health = runtime.check_health if runtime is not None else None
    app: ASGIApp = ClientLimits(
        HealthCheck(guarded, health),
        requests_per_minute=settings.requests_per_minute,
        sessions_per_client=settings.sessions_per_client,
        session_idle=idle_seconds,
    )
    proxies = settings.trusted_proxy_list()
    if proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # Only these peers may name the client in X-Forwarded-For; from anyone else it is ignored.
        app = ProxyHeadersMiddleware(app, trusted_hosts=proxies)  # type: ignore[arg-type,assignment]
    return app


def connection_limits(settings: Settings) -> ConnectionLimits:
    """The connection caps and read timeout `serve_http` enforces, from `settings`."""
    return ConnectionLimits(
        max_connections=settings.connections,
        per_client=settings.connections_per_client,
        read_timeout=settings.read_timeout,
        trusted_proxies=frozenset(settings.trusted_proxy_list()),
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening, non-blocking TCP socket on (host, port); port 0 picks a free one.

    Raises ConfigurationError when the address cannot be bound.
    """
    sock = listening_socket(host, port)
    sock.setblocking(False)
    return sock


def local_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{MCP_PATH}"


async def serve_http(
    app: ASGIApp,
    sock: socket.socket,
    *,
    stop: anyio.Event | None = None,
    limits: ConnectionLimits | None = None,
) -> None:
    """Serve `app` with uvicorn on an already-listening socket until interrupted or `stop` is set,
    enforcing `limits` (default: `ConnectionLimits()`) on every connection."""
    import anyio
    import uvicorn

    quiet_accept_errors()
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # keep our stderr logging; uvicorn's default sends access logs to stdout
        access_log=False,
        lifespan="on",
        server_header=False,
        ws="none",
        http=guarded_protocol(limits or ConnectionLimits()),
        backlog=ACCEPT_BACKLOG,
        # uvicorn trusts X-Forwarded-For from loopback by default; create_http_app decides instead.
        proxy_headers=False,
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)
    if stop is None:
        await server.serve(sockets=[sock])
        return

    async def watch() -> None:
        await stop.wait()
        server.should_exit = True

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        await server.serve(sockets=[sock])
        tg.cancel_scope.cancel()
