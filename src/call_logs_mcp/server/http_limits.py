"""What keeps the HTTP server up when one client misbehaves (issue 11).

- Connections (`guarded_protocol`, a uvicorn h11 protocol): a total cap kept below the process's
  file-descriptor limit and a per-client cap; a connection over either is closed at once, and the
  cap being reached is logged once per episode, never per accept. A request must arrive whole
  (headers and body) within `read_timeout` seconds of its first byte (of the connection, for the
  first request); idle keep-alive connections are closed by uvicorn after a few seconds.
- Requests (`ClientLimits`, ASGI): every request of every kind (initialize, tools/call,
  resources/read, resources/list, completion, notifications…) spends one token of the client's
  bucket; an empty bucket is 429 with Retry-After. New MCP sessions are capped per client (the
  SDK caps the total and expires idle sessions).
- Heavy queries (`HeavyQueryLimiter`, MCP middleware): a client runs at most N searches and
  summaries at a time; one more is a tool error saying so.

"Client" is the peer address, or the address a trusted proxy names in `X-Forwarded-For`
(uvicorn's ProxyHeadersMiddleware, only for `CALL_LOGS_TRUSTED_PROXIES`); processes on this
machine share the loopback address.
"""

from __future__ import annotations

import asyncio
import logging
import math
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

# Connections accepted in one go before any of them is checked (uvicorn's backlog, which asyncio
# also uses as its accept burst), and descriptors kept free beyond them for the index, the
# platforms' connections and logging: admitted + one burst + the reserve stays under the limit.
ACCEPT_BACKLOG: Final = 64
FD_RESERVE: Final = 192
SESSION_HEADER: Final = b"mcp-session-id"


class TokenBuckets:
    """Per-key token buckets: `per_minute` in a burst, refilled at `per_minute / 60` per second."""

    def __init__(
        self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)

    def __len__(self) -> int:
        """How many keys are remembered (a refilled bucket may be forgotten)."""
        return len(self._buckets)

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is available."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._remember(key, tokens - 1.0, now)
            return 0.0
        self._remember(key, tokens, now)
        return (1.0 - tokens) / self.rate

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            # Forget keys whose bucket has refilled: they are indistinguishable from new ones.
            for other, (held, since) in list(self._buckets.items()):
                if held + (now - since) * self.rate >= self.capacity:
                    del self._buckets[other]


class Throttled:
    """A warning logged at most once per `every` seconds, with how often it happened meanwhile."""

    def __init__(
        self, message: str, every: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._message = message
        self._every = every
        self._clock = clock
        self._last: float | None = None
        self._count = 0

    def hit(self) -> None:
        self._count += 1
        now = self._clock()
        if self._last is None or now - self._last >= self._every:
            logger.warning("%s (%d time(s) since the last notice)", self._message, self._count)
            self._last, self._count = now, 0


class QuietAcceptErrors(logging.Filter):
    """On the `asyncio` logger: "socket.accept() out of system resource" (logged with a traceback
    on every failed accept once descriptors run out) becomes one line a minute."""

    def __init__(self) -> None:
        super().__init__()
        self._notice = Throttled("Accepting HTTP connections failed: out of file descriptors")

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("socket.accept() out of system resource"):
            self._notice.hit()
            return False
        return True


def quiet_accept_errors() -> None:
    """Install `QuietAcceptErrors` on the `asyncio` logger once."""
    target = logging.getLogger("asyncio")
    if not any(isinstance(f, QuietAcceptErrors) for f in target.filters):
        target.addFilter(QuietAcceptErrors())


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client and client[0] else "local"


# --- connections -----------------------------------------------------------------------------------


@dataclass
class ConnectionLimits:
    """Caps and timeouts of the HTTP connections; shared by every connection of one server."""

    max_connections: int = 1_000
    per_client: int = 64
    read_timeout: float = 30.0
    trusted_proxies: frozenset[str] = frozenset()
    open: dict[str, int] = field(default_factory=dict)
    total: int = 0
    _full_logged: bool = False
    _client_notice: Throttled = field(
        default_factory=lambda: Throttled("Closed new HTTP connections of a client over its connection cap")
    )

    def effective_max(self) -> int:
        """The total cap, kept one accept burst and `FD_RESERVE` below the process's soft
        file-descriptor limit."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_connections
        return max(1, min(self.max_connections, soft - ACCEPT_BACKLOG - FD_RESERVE))

    def admit(self, client: str) -> bool:
        cap = self.effective_max()
        if self.total >= cap:
            if not self._full_logged:
                self._full_logged = True
                logger.warning(
                    "HTTP connection cap reached (%d open); new connections are closed at once "
                    "until some end",
                    self.total,
                )
            return False
        if client not in self.trusted_proxies and self.open.get(client, 0) >= self.per_client:
            self._client_notice.hit()
            return False
        self.total += 1
        self.open[client] = self.open.get(client, 0) + 1
        return True

    def release(self, client: str) -> None:
        self.total -= 1
        left = self.open.get(client, 1) - 1
        if left > 0:
            self.open[client] = left
        else:
            self.open.pop(client, None)
        if self._full_logged and self.total < self.effective_max() * 0.9:
            self._full_logged = False
            logger.info("HTTP connections back under the cap (%d open)", self.total)


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """A uvicorn h11 protocol class enforcing `limits`."""

    class GuardedH11Protocol(H11Protocol):
        _admitted = False
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            host = self.client[0] if self.client else "local"
            if not limits.admit(host):
                transport.abort()
                return
            self._admitted = True
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._admitted:
                self._admitted = False
                limits.release(self.client[0] if self.client else "local")
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and self.conn.their_state is h11.IDLE:
                self._arm()  # the first bytes of the next request on a kept-alive connection
            super().data_received(data)
            if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
                self._disarm()  # the request has arrived whole (or the connection is ending)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(limits.read_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
                self.transport.abort()

    return GuardedH11Protocol


# --- requests and sessions ------------------------------------------------------------------------


class ClientLimits:
    """ASGI middleware: a per-client budget of requests (every kind) and of open MCP sessions.

    Sessions are counted from the `mcp-session-id` the SDK hands out, forgotten when the client
    deletes one, when the SDK no longer knows it (404), or after `session_idle` seconds without a
    request (the SDK's own idle expiry).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        requests_per_minute: int,
        sessions_per_client: int,
        session_idle: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self._buckets = TokenBuckets(requests_per_minute, clock=clock) if requests_per_minute > 0 else None
        self._per_client = sessions_per_client
        self._idle = session_idle
        self._clock = clock
        self._sessions: dict[str, tuple[str, float]] = {}  # session id -> (client, last request)
        self._opening: dict[str, int] = {}  # client -> requests without a session being answered
        self._rate_notice = Throttled("Refused HTTP requests of a client over its request rate (429)")
        self._session_notice = Throttled("Refused new MCP sessions of a client over its session cap (429)")

    def sessions_of(self, client: str) -> int:
        self._expire()
        return sum(1 for owner, _ in self._sessions.values() if owner == client)

    def _expire(self) -> None:
        now = self._clock()
        for session, (_, seen) in list(self._sessions.items()):
            if now - seen > self._idle:
                del self._sessions[session]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = client_of(scope)
        if self._buckets is not None:
            wait = self._buckets.acquire(client)
            if wait > 0:
                self._rate_notice.hit()
                seconds = max(1, math.ceil(wait))
                await _too_many(f"Too many requests from this client; retry in {seconds} s.", seconds)(
                    scope, receive, send
                )
                return
        session = _header(scope, SESSION_HEADER)
        if session is None:
            opening = self.sessions_of(client) + self._opening.get(client, 0)
            if scope["method"] == "POST" and opening >= self._per_client:
                self._session_notice.hit()
                minutes = max(1, math.ceil(self._idle / 60))
                await _too_many(
                    f"Too many open MCP sessions from this client ({self._per_client}); end one "
                    f"(HTTP DELETE) or let one sit idle for {minutes} min.",
                    60,
                )(scope, receive, send)
                return
            # Counted until its answer starts: concurrent openings cannot overshoot the cap.
            self._opening[client] = self._opening.get(client, 0) + 1
            pending = [True]
            try:
                await self.app(scope, receive, self._watch_new(client, send, pending))
            finally:
                self._opened(client, pending)
            return
        if session in self._sessions:
            self._sessions[session] = (self._sessions[session][0], self._clock())
        await self.app(scope, receive, self._watch_existing(session, scope["method"], send))

    def _opened(self, client: str, pending: list[bool]) -> None:
        if not pending[0]:
            return
        pending[0] = False
        left = self._opening[client] - 1
        if left:
            self._opening[client] = left
        else:
            del self._opening[client]

    def _watch_new(self, client: str, send: Send, pending: list[bool]) -> Send:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                created = _response_header(message, SESSION_HEADER)
                if created is not None and message["status"] < 400:
                    self._sessions[created] = (client, self._clock())
                self._opened(client, pending)
            await send(message)

        return watched

    def _watch_existing(self, session: str, method: str, send: Send) -> Send:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 404 or (method == "DELETE" and status < 300):
                    self._sessions.pop(session, None)
            await send(message)

        return watched


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _response_header(message: Message, name: bytes) -> str | None:
    for key, value in message.get("headers", ()):
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _too_many(text: str, retry_after: int) -> ASGIApp:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(text, status_code=429, headers={"Retry-After": str(retry_after)})


# --- heavy queries ------------------------------------------------------------------------------

HEAVY_TOOLS: Final = frozenset({"search_transcripts", "summarize_campaign", "list_campaigns"})


class HeavyQueryLimiter:
    """MCP middleware: at most `per_client` heavy tool calls (`HEAVY_TOOLS`) of one client at a
    time; one more answers with a tool error and runs nothing."""

    def __init__(self, per_client: int) -> None:
        if per_client <= 0:
            raise ValueError("per_client must be positive")
        self.per_client = per_client
        self._running: dict[str, int] = {}

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        name = (ctx.params or {}).get("name") if ctx.method == "tools/call" else None
        if name not in HEAVY_TOOLS:
            return await call_next(ctx)
        client = request_client(ctx.request)
        if self._running.get(client, 0) >= self.per_client:
            from mcp.types import CallToolResult, TextContent

            return CallToolResult(
                is_error=True,
                content=[
                    TextContent(
                        type="text",
                        text=f"This client already has {self.per_client} searches or summaries running; "
                        "retry when one has answered.",
                    )
                ],
            )
        self._running[client] = self._running.get(client, 0) + 1
        try:
            return await call_next(ctx)
        finally:
            left = self._running[client] - 1
            if left:
                self._running[client] = left
            else:
                del self._running[client]


def request_client(request: object) -> str:
    """The client of an MCP request's HTTP request (its peer address); "local" without one."""
    client = getattr(request, "client", None)
    host = getattr(client, "host", None)
    return str(host) if host else "local"
