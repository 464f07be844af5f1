"""The Streamable HTTP transport over a real uvicorn server on loopback (ephemeral port)."""

from __future__ import annotations

import math
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import ByteReceiveStream
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from pydantic import SecretStr

from call_logs_mcp.errors import ConfigurationError
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.server.app import build_server
from call_logs_mcp.server.http import (
    ToolCallRateLimiter,
    bind_socket,
    create_http_app,
    ensure_safe_bind,
    local_url,
    serve_http,
)
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.app import requests_of

TOKEN = "test-token-5f1c0e9a7b3d-2a8e61c04d97f3b5"
JSON_RPC_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
TOOL_CALL = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "count", "arguments": {}}}


class Counter:
    def __init__(self) -> None:
        self.calls = 0


def counting_server(counter: Counter) -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("transport-test", version="0")

    @server.tool()
    def count() -> int:
        """Count a call."""
        counter.calls += 1
        return counter.calls

    return server


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    sock = bind_socket("127.0.0.1", 0)
    url = local_url(sock)
    stop = anyio.Event()
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(serve_http, app, sock, stop=stop))
            try:
                yield url
            finally:
                stop.set()


@asynccontextmanager
async def http_client(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    """An MCP client over HTTP sending `headers` on every request (the SDK leaves a given
    httpx2 client open, so this closes it)."""
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=10) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        yield client


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_client_initializes_and_calls_a_tool_over_http_in_both_protocol_eras(mode: str) -> None:
    counter = Counter()
    app = create_http_app(counting_server(counter), Settings())
    async with serving(app) as url, Client(streamable_http_client(url), mode=mode) as client:
        tools = await client.list_tools()
        result = await client.call_tool("count", {})
    assert [t.name for t in tools.tools] == ["count"]
    assert not result.is_error
    assert result.structured_content == {"result": 1}
    assert counter.calls == 1


FOREIGN_ORIGINS = [
    "http://evil.example",
    "https://evil.example:443",
    "null",
    "http://localhost.evil.example",
    "http://localhost.evil.example:8000",
    "http://localhost:8000@evil.example",
    "http://localhost:1@evil.example",
    "http://127.0.0.1.nip.io:8000",
    "http://127.0.0.1:8000/path",
    "http://127.0.0.1:8000.evil.example",
    "file://",
    "http://localhost:8000, http://evil.example",
]


async def test_foreign_null_and_look_alike_origins_get_403_and_no_tool_runs() -> None:
    counter = Counter()
    app = create_http_app(counting_server(counter), Settings())
    async with serving(app) as url, httpx2.AsyncClient(timeout=10) as raw:
        statuses = {}
        for origin in FOREIGN_ORIGINS:
            response = await raw.post(url, json=TOOL_CALL, headers={**JSON_RPC_HEADERS, "Origin": origin})
            statuses[origin] = response.status_code
        assert statuses == dict.fromkeys(FOREIGN_ORIGINS, 403)
        assert counter.calls == 0
        # The same server still answers a legitimate client afterwards.
        local_origin = url.rsplit("/", 1)[0]
        async with http_client(url, {"Origin": local_origin}) as client:
            result = await client.call_tool("count", {})
    assert not result.is_error
    assert counter.calls == 1


async def test_an_explicitly_allowed_origin_is_accepted() -> None:
    counter = Counter()
    app = create_http_app(counting_server(counter), Settings(), allowed_origins=["https://tools.example.com"])
    async with serving(app) as url, http_client(url, {"Origin": "https://tools.example.com"}) as client:
        result = await client.call_tool("count", {})
    assert not result.is_error


async def test_a_host_header_that_is_not_this_loopback_server_is_rejected() -> None:
    app = create_http_app(counting_server(Counter()), Settings())
    async with serving(app) as url, httpx2.AsyncClient(timeout=10) as raw:
        port = int(url.split(":")[2].split("/")[0])
        bad_hosts = [
            "evil.example",
            f"evil.example:{port}",
            f"localhost:{port + 1}",
            f"127.0.0.1.nip.io:{port}",
        ]
        statuses = []
        for host in bad_hosts:
            response = await raw.post(url, json=TOOL_CALL, headers={**JSON_RPC_HEADERS, "Host": host})
            statuses.append(response.status_code)
        good = await raw.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={**JSON_RPC_HEADERS, "Host": f"localhost:{port}"},
        )
    assert statuses == [421] * len(bad_hosts)
    assert good.status_code != 421


async def test_with_a_token_every_request_needs_the_bearer_token() -> None:
    counter = Counter()
    app = create_http_app(counting_server(counter), Settings(http_token=SecretStr(TOKEN)))
    async with serving(app) as url, httpx2.AsyncClient(timeout=10) as raw:
        attempts = {
            "missing": {},
            "wrong": {"Authorization": "Bearer not-the-token"},
            "prefix": {"Authorization": f"Bearer {TOKEN[:-1]}"},
            "longer": {"Authorization": f"Bearer {TOKEN}x"},
            "basic": {"Authorization": f"Basic {TOKEN}"},
            "bare": {"Authorization": TOKEN},
        }
        statuses = {}
        for label, headers in attempts.items():
            response = await raw.post(url, json=TOOL_CALL, headers={**JSON_RPC_HEADERS, **headers})
            statuses[label] = (response.status_code, response.headers.get("www-authenticate", ""))
            assert TOKEN not in response.text
        assert counter.calls == 0
        async with http_client(url, {"Authorization": f"bearer {TOKEN}"}) as client:
            result = await client.call_tool("count", {})
    assert {label: status for label, (status, _) in statuses.items()} == dict.fromkeys(attempts, 401)
    assert all(challenge.startswith("Bearer") for _, challenge in statuses.values())
    assert not result.is_error
    assert counter.calls == 1


async def raw_http_status(url: str, head: str, body_parts: list[bytes]) -> int:
    """Send one HTTP/1.1 request over a plain socket and return the status code.

    A plain socket because the server answers 413 before reading the rest of the body, and the
    test must not depend on how an HTTP client library copes with that.
    """
    hostport = url.split("/")[2]
    host, port = hostport.rsplit(":", 1)
    request = head.format(hostport=hostport).replace("\n", "\r\n").encode() + b"\r\n"

    def exchange() -> int:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            try:
                sock.sendall(request)
                for part in body_parts:
                    sock.sendall(part)
            except OSError:
                pass  # the server may close once it has answered
            received = b""
            while b"\r\n" not in received:
                data = sock.recv(4096)
                if not data:
                    break
                received += data
        return int(received.split(b" ", 2)[1])

    return await anyio.to_thread.run_sync(exchange)


async def test_an_oversized_body_gets_413_and_the_server_keeps_serving() -> None:
    counter = Counter()
    limit = 64 * 1024
    app = create_http_app(counting_server(counter), Settings(), max_body_bytes=limit)
    common = "Host: {hostport}\nAccept: application/json, text/event-stream\nContent-Type: application/json\n"
    declared = await_later = None
    async with serving(app) as url:
        declared = await raw_http_status(
            url, f"POST /mcp HTTP/1.1\n{common}Content-Length: {limit + 1}\n", [b" " * (limit + 1)]
        )
        # Chunked, so no Content-Length: the bytes actually received count.
        chunk = b" " * 4096
        chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (limit // len(chunk) + 2) + [b"0\r\n\r\n"]
        await_later = await raw_http_status(
            url, f"POST /mcp HTTP/1.1\n{common}Transfer-Encoding: chunked\n", chunks
        )
        async with http_client(url) as client:
            result = await client.call_tool("count", {})
    assert declared == 413
    assert await_later == 413
    assert not result.is_error
    assert counter.calls == 1


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_tool_calls_beyond_the_limit_get_a_retry_hint_and_serving_continues(
    mode: str,
) -> None:
    counter = Counter()
    per_minute = 3
    app = create_http_app(counting_server(counter), Settings(tool_calls_per_minute=per_minute))
    async with serving(app) as url, Client(streamable_http_client(url), mode=mode) as client:
        results = [await client.call_tool("count", {}) for _ in range(per_minute + 2)]
        tools = await client.list_tools()
    allowed, refused = results[:per_minute], results[per_minute:]
    assert [r.is_error for r in allowed] == [False] * per_minute
    assert [r.is_error for r in refused] == [True, True]
    for result in refused:
        text = result.content[0].text  # type: ignore[union-attr]
        match = re.search(r"retry in (\d+) s", text)
        assert match is not None, text
        assert 1 <= int(match.group(1)) <= math.ceil(60 / per_minute)
    assert counter.calls == per_minute
    assert [t.name for t in tools.tools] == ["count"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_limiter_refills_at_the_configured_rate_and_keeps_clients_apart() -> None:
    clock = FakeClock()
    per_minute = 6  # one call every 10 s once the burst is spent
    limiter = ToolCallRateLimiter(per_minute, clock=clock)
    assert [limiter.acquire("a") for _ in range(per_minute)] == [0.0] * per_minute
    assert limiter.acquire("a") == pytest.approx(60 / per_minute)
    assert limiter.acquire("b") == 0.0  # another client has its own bucket
    clock.now += 4
    assert limiter.acquire("a") == pytest.approx(60 / per_minute - 4)
    clock.now += 60 / per_minute - 4
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == pytest.approx(60 / per_minute)


def test_the_rate_limiter_forgets_idle_clients_beyond_its_capacity() -> None:
    clock = FakeClock()
    limiter = ToolCallRateLimiter(60, clock=clock, max_clients=10)
    for i in range(10):
        limiter.acquire(f"client-{i}")
    clock.now += 60  # all buckets full again
    limiter.acquire("newcomer")
    assert len(limiter._buckets) == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com"])
def test_a_network_reachable_bind_without_a_token_refuses_to_start(host: str) -> None:
    with pytest.raises(ConfigurationError, match="CALL_LOGS_HTTP_TOKEN"):
        create_http_app(counting_server(Counter()), Settings(), host=host)
    ensure_safe_bind(host, SecretStr(TOKEN))  # with a token it may


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_a_loopback_bind_needs_no_token(host: str) -> None:
    ensure_safe_bind(host, None)


async def test_a_team_server_answers_to_its_own_address_only_and_refuses_foreign_origins() -> None:
    counter = Counter()
    settings = Settings(http_token=SecretStr(TOKEN))
    app = create_http_app(counting_server(counter), settings, host="0.0.0.0")  # guard as for a team bind
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with serving(app) as url, httpx2.AsyncClient(timeout=10) as raw:
        foreign = await raw.post(
            url, json=TOOL_CALL, headers={**JSON_RPC_HEADERS, **auth, "Origin": "http://evil.example"}
        )
        misdirected = await raw.post(
            url, json=TOOL_CALL, headers={**JSON_RPC_HEADERS, **auth, "Host": "calls.internal.example:8000"}
        )
        async with http_client(url, auth) as client:  # Host: the address the request arrived at
            result = await client.call_tool("count", {})
    assert foreign.status_code == 403
    assert misdirected.status_code == 421
    assert not result.is_error
    assert counter.calls == 1


# --- the real server ---------------------------------------------------------------------------


async def test_the_call_logs_server_over_http_serves_tools_and_a_foreign_origin_reaches_no_platform(
    tmp_path: Path,
) -> None:
    apps = {name: simulated_app(name, simulated_dataset(name, calls=30)) for name in ("prosper", "callcamp")}
    settings = Settings(
        providers={name: simulated_provider_config(name) for name in apps},
        db=tmp_path / "calls.db",
        http_token=SecretStr(TOKEN),
        wait_seconds=60,
    )
    server = build_server(settings, transports={n: simulated_transport(n, app) for n, app in apps.items()})
    list_calls = {**TOOL_CALL, "params": {"name": "list_calls", "arguments": {"limit": 3}}}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with serving(create_http_app(server, settings)) as url:
        # The server syncs every account as it starts; let that finish, so what is counted
        # below is what the refused requests caused.
        async with http_client(url, auth) as client:
            await client.call_tool("list_campaigns", {})
        synced = sum(len(requests_of(app)) for app in apps.values())
        async with httpx2.AsyncClient(timeout=10) as raw:
            foreign = await raw.post(
                url, json=list_calls, headers={**JSON_RPC_HEADERS, **auth, "Origin": "null"}
            )
            unauthenticated = await raw.post(url, json=list_calls, headers=JSON_RPC_HEADERS)
        upstream_before = sum(len(requests_of(app)) for app in apps.values())
        async with http_client(url, auth) as client:
            result = await client.call_tool("list_calls", {"limit": 3})
    assert (foreign.status_code, unauthenticated.status_code) == (403, 401)
    assert upstream_before == synced
    assert not result.is_error
    assert len((result.structured_content or {})["calls"]) == 3
    assert sum(len(requests_of(app)) for app in apps.values()) > 0


async def read_until(
    stream: ByteReceiveStream, pattern: re.Pattern[bytes], seen: bytearray
) -> re.Match[bytes]:
    while True:
        match = pattern.search(seen)
        if match:
            return match
        seen.extend(await stream.receive())


async def test_the_cli_serves_http_in_demo_mode_and_removes_its_temporary_index_on_exit() -> None:
    command = [sys.executable, "-m", "call_logs_mcp", "--demo", "--transport", "http", "--port", "0"]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CALL_LOGS_") and not k.endswith("_API_KEY")
    }
    env["CALL_LOGS_HTTP_TOKEN"] = TOKEN
    seen = bytearray()
    with anyio.fail_after(60):
        process = await anyio.open_process(command, env=env, stdout=None)
        async with process:
            assert process.stderr is not None
            url_match = await read_until(process.stderr, re.compile(rb"http://127\.0\.0\.1:\d+/mcp"), seen)
            index_match = await read_until(process.stderr, re.compile(rb"index: (\S+calls\.db)"), seen)
            url, index = url_match.group(0).decode(), Path(index_match.group(1).decode())
            async with http_client(url, {"Authorization": f"Bearer {TOKEN}"}) as client:
                result = await client.call_tool("list_calls", {"limit": 2})
            async with httpx2.AsyncClient(timeout=10) as raw:
                refused = await raw.post(url, json=TOOL_CALL, headers=JSON_RPC_HEADERS)
            index_existed = index.parent.exists()
            process.terminate()
            async for chunk in process.stderr:  # drain until the server has shut down
                seen.extend(chunk)
            await process.wait()
    assert not result.is_error
    assert refused.status_code == 401
    assert index_existed
    assert not index.parent.exists()
    assert TOKEN.encode() not in seen
