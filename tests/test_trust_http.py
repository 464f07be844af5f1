"""An HTTP server that stays up while one client misbehaves (issue 11): idle and slow connections
are closed, connections are capped in total and per client (logged once, not per accept), every
request kind is rate limited per client, sessions are capped per client, X-Forwarded-For counts
only from trusted proxies, unknown ids spend no platform quota twice, and heavy queries are
capped per client.

The attacker and the victim are two loopback addresses (127.0.0.2 and 127.0.0.1), so "another
client" is another client for the server. The numbers here are small; bench/bench_http_attack.py
has the big ones.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from call_logs_mcp.server.app import build_server
from call_logs_mcp.server.http import (
    bind_socket,
    connection_limits,
    create_http_app,
    local_url,
    serve_http,
)
from call_logs_mcp.server.http_limits import ConnectionLimits, HeavyQueryLimiter
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.app import requests_of
from conftest import PLATFORM_NAMES
from mcp_harness import serve, text_of
from test_http_transport import JSON_RPC_HEADERS, Counter, counting_server

ATTACKER, VICTIM = "127.0.0.2", "127.0.0.1"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}


@asynccontextmanager
async def serving(settings: Settings, server: Any = None) -> AsyncIterator[str]:
    """The counting server behind `create_http_app`, served with `settings`' connection limits."""
    async with serving_with(settings, server) as (url, _):
        yield url


@asynccontextmanager
async def serving_with(settings: Settings, server: Any = None) -> AsyncIterator[tuple[str, ConnectionLimits]]:
    """`serving`, also handing out the server's live connection bookkeeping."""
    app = create_http_app(server or counting_server(Counter()), settings)
    limits = connection_limits(settings)
    sock = bind_socket("127.0.0.1", 0)
    url = local_url(sock)
    stop = anyio.Event()
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(serve_http, app, sock, stop=stop, limits=limits))
            try:
                yield url, limits
            finally:
                stop.set()


async def accepted(limits: ConnectionLimits, count: int) -> None:
    """Until the server holds `count` connections (bounded by the caller's fail_after). Polled:
    the accepts happen in uvicorn's protocol callbacks, which signal nothing."""
    while limits.total < count:  # noqa: ASYNC110
        await anyio.sleep(0.01)


def address(url: str) -> tuple[str, int]:
    host, port = url.split("/")[2].rsplit(":", 1)
    return host, int(port)


def raw_socket(url: str, source: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(address(url))
    return sock


async def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes `sock` (reading until EOF, answer bytes allowed)."""

    def read() -> bool:
        try:
            while sock.recv(4096):
                pass
        except TimeoutError:
            return False
        except OSError:
            return True  # reset
        return True

    return await anyio.to_thread.run_sync(read)


@asynccontextmanager
async def client_from(url: str, source: str, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    transport = httpx2.AsyncHTTPTransport(local_address=source)
    async with (
        httpx2.AsyncClient(transport=transport, headers=headers or {}, timeout=10) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        yield client


def raw_client(source: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.AsyncHTTPTransport(local_address=source), timeout=10)


# --- connections ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [b"", b"POST /mcp HTTP/1.1\r\nHost: 127", b"POST /mcp HTTP/1.1\r\n"])
async def test_a_connection_that_never_completes_its_request_headers_is_closed(sent: bytes) -> None:
    async with serving(Settings(read_timeout=0.5)) as url:
        with raw_socket(url, ATTACKER) as sock:
            sock.sendall(sent)
            assert await closed_by_server(sock)


async def test_a_body_that_arrives_too_slowly_is_dropped_and_others_are_served_meanwhile() -> None:
    async with serving(Settings(read_timeout=0.5)) as url:
        host, port = address(url)
        head = (
            f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\nContent-Length: 100000\r\n\r\n"
        )
        slow = [raw_socket(url, ATTACKER) for _ in range(5)]
        for sock in slow:
            sock.sendall(head.encode() + b'{"jsonrpc":')
        async with client_from(url, VICTIM) as client:
            answer = await client.call_tool("count", {})
        closed = [await closed_by_server(sock) for sock in slow]
        for sock in slow:
            sock.close()
    assert not answer.is_error
    assert closed == [True] * 5


async def test_a_client_over_its_connection_cap_is_closed_at_once_logged_once_and_others_still_connect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with serving_with(Settings(connections_per_client=3, read_timeout=30)) as (url, limits):
        held = [raw_socket(url, ATTACKER) for _ in range(3)]
        await accepted(limits, 3)
        refused = [raw_socket(url, ATTACKER) for _ in range(20)]
        shut = [await closed_by_server(sock) for sock in refused]
        async with client_from(url, VICTIM) as client:
            answer = await client.call_tool("count", {})
        for sock in held + refused:
            sock.close()
    assert shut == [True] * 20
    assert not answer.is_error
    notices = [r for r in caplog.records if "connection cap" in r.getMessage()]
    assert len(notices) == 1


async def test_the_total_connection_cap_is_logged_once_per_episode_not_per_accept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with serving_with(Settings(connections=4, connections_per_client=100, read_timeout=30)) as (
        url,
        limits,
    ):
        held = [raw_socket(url, ATTACKER) for _ in range(4)]
        await accepted(limits, 4)
        refused = [raw_socket(url, ATTACKER) for _ in range(30)]
        shut = [await closed_by_server(sock) for sock in refused]
        for sock in held + refused:
            sock.close()
    assert shut == [True] * 30
    reached = [r for r in caplog.records if "connection cap reached" in r.getMessage()]
    assert len(reached) == 1


# --- requests and sessions ------------------------------------------------------------------------


def rpc(method: str, id_: int = 1, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


@pytest.mark.parametrize(
    "request_body",
    [INITIALIZE, rpc("resources/list"), rpc("resources/read", uri="calls://prosper/1"), rpc("ping")],
    ids=["initialize", "resources-list", "resources-read", "ping"],
)
async def test_every_request_kind_is_rate_limited_per_client(request_body: dict[str, Any]) -> None:
    async with serving(Settings(requests_per_minute=5)) as url:
        async with raw_client(ATTACKER) as attacker:
            statuses = [
                (await attacker.post(url, json=request_body, headers=JSON_RPC_HEADERS)).status_code
                for _ in range(12)
            ]
            last = await attacker.post(url, json=request_body, headers=JSON_RPC_HEADERS)
        async with raw_client(VICTIM) as victim:
            other = await victim.post(url, json=INITIALIZE, headers=JSON_RPC_HEADERS)
    assert statuses[5:] == [429] * 7
    assert 429 not in statuses[:5]
    assert int(last.headers["Retry-After"]) >= 1
    assert "retry in" in last.text
    assert other.status_code == 200


async def test_sessions_are_capped_per_client_and_a_deleted_one_frees_its_place() -> None:
    async with serving(Settings(sessions_per_client=2)) as url:
        async with raw_client(ATTACKER) as attacker:
            opened = [await attacker.post(url, json=INITIALIZE, headers=JSON_RPC_HEADERS) for _ in range(4)]
            ids = [r.headers.get("mcp-session-id") for r in opened]
            deleted = await attacker.delete(url, headers={**JSON_RPC_HEADERS, "mcp-session-id": str(ids[0])})
            again = await attacker.post(url, json=INITIALIZE, headers=JSON_RPC_HEADERS)
        async with client_from(url, VICTIM) as client:
            answer = await client.call_tool("count", {})
    assert [r.status_code for r in opened] == [200, 200, 429, 429]
    assert "sessions" in opened[2].text
    assert deleted.status_code < 300
    assert again.status_code == 200
    assert not answer.is_error


async def test_rotating_x_forwarded_for_escapes_no_limit_unless_the_peer_is_a_trusted_proxy() -> None:
    async with serving(Settings(requests_per_minute=3)) as url, raw_client(ATTACKER) as attacker:
        rotated = [
            (
                await attacker.post(
                    url, json=rpc("ping"), headers={**JSON_RPC_HEADERS, "X-Forwarded-For": f"10.0.0.{i}"}
                )
            ).status_code
            for i in range(8)
        ]
    assert rotated.count(429) == 5

    async with serving(Settings(requests_per_minute=3, trusted_proxies=ATTACKER)) as url:
        async with raw_client(ATTACKER) as proxy:
            forwarded = [
                (
                    await proxy.post(
                        url, json=rpc("ping"), headers={**JSON_RPC_HEADERS, "X-Forwarded-For": f"10.0.0.{i}"}
                    )
                ).status_code
                for i in range(8)
            ]
        async with raw_client(VICTIM) as untrusted:
            spoofed = [
                (
                    await untrusted.post(
                        url, json=rpc("ping"), headers={**JSON_RPC_HEADERS, "X-Forwarded-For": f"10.0.1.{i}"}
                    )
                ).status_code
                for i in range(8)
            ]
    assert 429 not in forwarded  # eight clients behind the proxy, one request each
    assert spoofed.count(429) == 5  # the header from an untrusted peer changes nothing


# --- quota and heavy queries --------------------------------------------------------------------


async def test_reading_an_unknown_id_again_spends_no_platform_request(tmp_path: Path) -> None:
    unknown = "999999999"

    def asked(platforms: Any) -> dict[str, int]:
        return {
            name: sum(1 for r in requests_of(app) if unknown in r.path)
            for name, app in platforms.apps.items()
        }

    async with serve(tmp_path, calls=5) as (client, platforms):
        first = await client.call_tool("get_call", {"call_id": unknown})
        after_first = asked(platforms)
        answers = [await client.call_tool("get_call", {"call_id": unknown}) for _ in range(5)]
        answers.append(
            await client.call_tool("get_call", {"call_id": f"calls://{PLATFORM_NAMES[0]}/{unknown}"})
        )
        after_again = asked(platforms)
    assert first.is_error
    # The platforms that could hold such an id were asked (Vapi knows its ids are UUIDs).
    assert sum(after_first.values()) >= 1
    assert after_again == after_first
    assert all(a.is_error and text_of(a) for a in answers)


class _Ctx:
    def __init__(self, tool: str, client: str) -> None:
        self.method = "tools/call"
        self.params = {"name": tool, "arguments": {}}
        self.request_id = 1
        self.request = type("Request", (), {"client": type("Peer", (), {"host": client})()})()


async def test_a_client_runs_at_most_its_share_of_heavy_queries_at_once_and_others_are_not_held() -> None:
    limiter = HeavyQueryLimiter(2)
    release = anyio.Event()
    ran: list[str] = []

    async def handler(ctx: Any) -> str:
        ran.append(ctx.params["name"])
        await release.wait()
        return "done"

    results: list[Any] = []

    async def call(tool: str, client: str) -> None:
        results.append(await limiter(_Ctx(tool, client), handler))  # type: ignore[arg-type]

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(call, "search_transcripts", ATTACKER)
            await anyio.wait_all_tasks_blocked()
            refused = await limiter(_Ctx("summarize_campaign", ATTACKER), handler)  # type: ignore[arg-type]
            light = limiter(_Ctx("get_call", ATTACKER), lambda ctx: _done())  # type: ignore[arg-type]
            tg.start_soon(call, "search_transcripts", VICTIM)
            await anyio.wait_all_tasks_blocked()
            release.set()
            assert await light == "done"
    assert getattr(refused, "is_error", False)
    assert "already has 2" in refused.content[0].text  # type: ignore[union-attr]
    assert ran.count("search_transcripts") == 3 and "summarize_campaign" not in ran
    assert results == ["done"] * 3
    after = await limiter(_Ctx("summarize_campaign", ATTACKER), lambda ctx: _done())  # type: ignore[arg-type]
    assert after == "done"


async def _done() -> str:
    return "done"


# --- the real server ---------------------------------------------------------------------------------


async def test_the_call_logs_server_keeps_answering_a_client_while_another_floods_initialize(
    tmp_path: Path,
) -> None:
    from call_logs_mcp.providers.simulated import (
        simulated_app,
        simulated_dataset,
        simulated_provider_config,
        simulated_transport,
    )

    token = "t" * 40
    apps = {name: simulated_app(name, simulated_dataset(name, calls=20)) for name in PLATFORM_NAMES}
    settings = Settings(
        providers={name: simulated_provider_config(name) for name in apps},
        db=tmp_path / "calls.db",
        http_token=SecretStr(token),
        wait_seconds=30,
        sessions_per_client=4,
        requests_per_minute=60,
    )
    server = build_server(settings, transports={n: simulated_transport(n, app) for n, app in apps.items()})
    auth = {"Authorization": f"Bearer {token}"}
    async with serving(settings, server) as url:
        async with raw_client(ATTACKER) as attacker:
            flood = [
                (await attacker.post(url, json=INITIALIZE, headers={**JSON_RPC_HEADERS, **auth})).status_code
                for _ in range(80)
            ]
        async with client_from(url, VICTIM, auth) as client:
            answer = await client.call_tool("list_calls", {"limit": 3})
    assert flood.count(200) == 4
    assert set(flood) == {200, 429}
    assert not answer.is_error, text_of(answer)


async def test_concurrent_openings_cannot_overshoot_the_per_client_session_cap() -> None:
    statuses: list[int] = []
    async with serving(Settings(sessions_per_client=2)) as url, raw_client(ATTACKER) as attacker:

        async def open_one() -> None:
            response = await attacker.post(url, json=INITIALIZE, headers=JSON_RPC_HEADERS)
            statuses.append(response.status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(open_one)
    assert sorted(statuses) == [200, 200] + [429] * 10
