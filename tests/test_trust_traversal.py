"""Hostile ids through every id-taking tool and resource: what actually reaches the platforms.

A recording transport sits between the real adapters and the simulators, so each assertion is
about the requests the network saw: a GET (or a platform's POST listing) to the configured host, on
one of the API's own routes, with exactly one id segment that decodes to the id unchanged, or
nothing at all.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, ResourceTemplateReference

from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings
from mcp_harness import text_of

PLATFORMS = ("prosper", "callcamp", "retell")

# The platforms' documented routes: list endpoints take no id, detail endpoints exactly one.
LIST_PATHS = {
    "prosper": {"/api/v1/call-logs", "/api/v1/campaigns/call-logs"},
    "callcamp": {"/api/calls"},
    "retell": {"/v3/list-calls"},
}
# Listings that are a POST with a JSON body (the campaign filter travels in it).
POST_LISTINGS = {"/v3/list-calls"}
DETAIL_PREFIXES = {
    "prosper": ("/api/v1/call-logs/", "/api/v1/campaigns/call-logs/"),
    "callcamp": ("/api/calls/",),
    "retell": ("/v2/get-call/",),
}
CAMPAIGN_PARAMS = {"prosper": "campaign_id", "callcamp": "campaignUuid"}


def body_campaign(content: bytes) -> str | None:
    """The batch filter's value in a Retell listing body, if any."""
    criteria = json.loads(content or b"{}").get("filter_criteria") or {}
    value = (criteria.get("batch_call_id") or {}).get("value")
    return value if isinstance(value, str) else None


HOSTILE_IDS = [
    "../x",
    "..%2fx",
    "%2e%2e%2f",
    "%252e%252e",
    "..\\x",
    "a/b",
    "x\x00y",
    "x#frag",
    "x?y=1",
    "//evil.example/x",
    "http://evil.example/x",
    ".",
    "..",
    "",
    "   ",
    " 4242",
    "a b",
    "x" * 5000,
    "x" * 150,
    "é/../..",
    "\u202e4242",
    "4242\r\nHost: evil.example",
    "calls://prosper/..%2f..%2fadmin",
    "4242;/..;/admin",
]


def must_never_be_sent(hostile: str) -> bool:
    """Ids that can only be a traversal or an injection once they reach a URL."""
    return (
        not hostile.strip()
        or hostile.strip() in {".", ".."}
        or any(ch in hostile for ch in "/\\%?#")
        or any(ord(ch) < 0x20 for ch in hostile)
    )


@dataclass
class Sent:
    method: str
    url: httpx2.URL
    content: bytes = b""


@dataclass
class RecordingTransport(httpx2.AsyncBaseTransport):
    """Passes every request to `inner` and remembers it as sent."""

    inner: httpx2.AsyncBaseTransport
    sent: list[Sent] = field(default_factory=list)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(Sent(request.method, request.url, request.content))
        return await self.inner.handle_async_request(request)


@dataclass
class Platforms:
    transports: dict[str, RecordingTransport]
    base_urls: dict[str, str]
    known_ids: set[str]  # every call id the simulated platforms hold

    def clear(self) -> None:
        for transport in self.transports.values():
            transport.sent.clear()


@asynccontextmanager
async def serve_recorded(tmp_path: Path) -> AsyncIterator[tuple[Client, Platforms]]:
    datasets = {name: simulated_dataset(name, calls=8) for name in PLATFORMS}
    apps = {name: simulated_app(name, datasets[name]) for name in PLATFORMS}
    configs = {name: simulated_provider_config(name, max_retries=0) for name in PLATFORMS}
    recorded = {name: RecordingTransport(simulated_transport(name, apps[name])) for name in PLATFORMS}
    server = build_server(
        Settings(providers=configs, db=tmp_path / "calls.db", wait_seconds=60),
        transports=dict(recorded),
    )
    base_urls = {name: str(configs[name].base_url) for name in PLATFORMS}
    async with Client(server, raise_exceptions=True) as client:
        # The server syncs every account as it starts: wait for that, so what the tests record
        # below is what their own calls sent.
        await client.call_tool("list_campaigns", {})
        known = {call.id for dataset in datasets.values() for call in dataset}
        yield client, Platforms(transports=recorded, base_urls=base_urls, known_ids=known)


def check_sent(
    platforms: Platforms, *, call_ids: set[str] | None = None, campaign_id: str | None = None
) -> int:
    """Assert every recorded request is a GET (a POST for a body listing) to the configured host
    on one of the platform's routes, a detail route carrying exactly one segment that decodes to
    one of `call_ids`, a listing carrying `campaign_id` unchanged. Returns how many requests were
    sent."""
    count = 0
    for name, transport in platforms.transports.items():
        base = urlsplit(platforms.base_urls[name])
        for sent in transport.sent:
            count += 1
            url = sent.url
            path = url.raw_path.decode("ascii").partition("?")[0]
            assert sent.method == ("POST" if path in POST_LISTINGS else "GET"), sent
            assert (url.scheme, url.host, url.port) == (base.scheme, base.hostname, base.port), url
            assert not url.fragment, url
            if path in POST_LISTINGS and path in LIST_PATHS[name]:
                # A body listing: the campaign filter travels as a JSON value.
                batch = body_campaign(sent.content)
                if campaign_id is not None and batch is not None:
                    assert batch == campaign_id.strip(), sent.content
                continue
            if path in LIST_PATHS[name]:
                # A listing (an index sync): the campaign filter travels as a query value.
                params = dict(url.params)
                if campaign_id is not None and CAMPAIGN_PARAMS[name] in params:
                    assert params[CAMPAIGN_PARAMS[name]] == campaign_id.strip(), url
                continue
            prefix = next((p for p in DETAIL_PREFIXES[name] if path.startswith(p)), None)
            assert prefix is not None, f"{name}: request outside the API's routes: {url}"
            segment = path[len(prefix) :]
            assert segment and "/" not in segment, f"{name}: not exactly one id segment: {url}"
            assert call_ids, f"{name}: a detail request where no call id was given: {url}"
            assert unquote(segment) in call_ids, f"{name}: the id was altered on the way: {url}"
    return count


def assert_clear_tool_error(result: CallToolResult) -> None:
    text = text_of(result)
    assert result.is_error, text
    assert "internal error" not in text.lower(), text
    assert text.strip(), "an error needs a message"


async def read_error_code(client: Client, uri: str) -> int:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    message = caught.value.error.message
    assert "internal error" not in message.lower(), message
    return caught.value.error.code


def hostile_id_marker(hostile: str) -> str:
    """A short printable label for parametrize ids."""
    return repr(hostile if len(hostile) < 40 else hostile[:12] + f"...({len(hostile)})")


@pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=hostile_id_marker)
async def test_get_call_sends_a_hostile_id_as_one_exact_path_segment_or_not_at_all(
    tmp_path: Path, hostile: str
) -> None:
    async with serve_recorded(tmp_path) as (client, platforms):
        with anyio.fail_after(60):
            for args in (
                {"call_id": hostile},
                {"call_id": hostile, "provider": "prosper"},
                {"call_id": hostile, "provider": "callcamp"},
                {"call_id": hostile, "provider": "retell"},
            ):
                platforms.clear()
                assert_clear_tool_error(await client.call_tool("get_call", args))
                # Surrounding blanks are trimmed (ids never have them); nothing else may change.
                sent = check_sent(platforms, call_ids={hostile, hostile.strip()})
                if must_never_be_sent(hostile):
                    assert sent == 0, f"{args!r} reached a platform"
            for provider in PLATFORMS:
                for encoded in (quote(hostile, safe=""), hostile):
                    platforms.clear()
                    uri = f"calls://{provider}/{encoded}"
                    assert_clear_tool_error(await client.call_tool("get_call", {"call_id": uri}))
                    # The id a calls:// uri names is its percent-decoded path segment.
                    sent = check_sent(platforms, call_ids={unquote(encoded), unquote(encoded).strip()})
                    if must_never_be_sent(hostile):
                        assert sent == 0, f"{uri!r} reached a platform"


@pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=hostile_id_marker)
async def test_call_resources_answer_invalid_params_for_a_hostile_id_and_send_nothing_unsafe(
    tmp_path: Path, hostile: str
) -> None:
    async with serve_recorded(tmp_path) as (client, platforms):
        with anyio.fail_after(60):
            for provider in PLATFORMS:
                once = quote(hostile, safe="")
                for uri in (
                    f"calls://{provider}/{hostile}",
                    f"calls://{provider}/{hostile}/transcript",
                    f"calls://{provider}/{once}",
                    f"calls://{provider}/{once}/transcript",
                    f"calls://{provider}/{quote(once, safe='')}",
                ):
                    platforms.clear()
                    assert await read_error_code(client, uri) == INVALID_PARAMS, uri
                    # Whether or not the uri's escapes are decoded on the way, what reaches the
                    # network is exactly one segment naming the id the uri spells.
                    named = {hostile, unquote(hostile), once}
                    sent = check_sent(platforms, call_ids=named | {n.strip() for n in named})
                    if must_never_be_sent(hostile):
                        assert sent == 0, f"{uri!r} reached a platform"


@pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=hostile_id_marker)
async def test_campaign_ids_never_become_a_path_and_travel_only_as_an_exact_query_value(
    tmp_path: Path, hostile: str
) -> None:
    async with serve_recorded(tmp_path) as (client, platforms):
        with anyio.fail_after(60):
            calls = [
                ("list_calls", {"campaign_id": hostile}),
                ("list_calls", {"campaign_id": hostile, "provider": "callcamp"}),
                ("summarize_campaign", {"campaign_id": hostile}),
                ("summarize_campaign", {"campaign_id": hostile, "provider": "prosper"}),
                ("search_transcripts", {"query": "refund", "campaign_id": hostile}),
            ]
            for tool, args in calls:
                platforms.clear()
                result = await client.call_tool(tool, args)
                # An odd but harmless campaign id may simply match nothing; a blank one means "no
                # campaign filter" where the filter is optional. Never an internal error.
                assert "internal error" not in text_of(result).lower()
                # A sync may fetch the details of calls the platform listed, nothing else.
                sent = check_sent(platforms, call_ids=platforms.known_ids, campaign_id=hostile)
                if must_never_be_sent(hostile) and hostile.strip():
                    assert_clear_tool_error(result)
                    assert sent == 0, f"{tool} {args!r} reached a platform"


async def test_completing_a_hostile_call_id_prefix_asks_no_platform(tmp_path: Path) -> None:
    async with serve_recorded(tmp_path) as (client, platforms):
        with anyio.fail_after(60):
            platforms.clear()
            ref = ResourceTemplateReference(type="ref/resource", uri="calls://{provider}/{call_id}")
            for hostile in HOSTILE_IDS:
                for provider in PLATFORMS:
                    completion = await client.complete(
                        ref,
                        argument={"name": "call_id", "value": hostile},
                        context_arguments={"provider": provider},
                    )
                    # Completion reads the index only: indexed ids that start with the prefix.
                    values = completion.completion.values
                    assert all(v in platforms.known_ids and v.startswith(hostile) for v in values)
    assert check_sent(platforms) == 0


async def test_a_well_formed_id_still_reaches_the_platform_as_one_segment(tmp_path: Path) -> None:
    """The control: the checks above would see a real request, and pass it."""
    async with serve_recorded(tmp_path) as (client, platforms):
        listed = await client.call_tool("list_calls", {"limit": 2, "provider": "callcamp"})
        call_id = (listed.structured_content or {})["calls"][0]["call_id"]
        platforms.clear()
        result = await client.call_tool("get_call", {"call_id": call_id, "provider": "callcamp"})
        assert not result.is_error, text_of(result)
        assert check_sent(platforms, call_ids={call_id}) == 1
        with pytest.raises(AssertionError):
            check_sent(platforms, call_ids={call_id + "x"})


def test_the_hostile_table_covers_every_variant_the_issue_names() -> None:
    table: list[Any] = HOSTILE_IDS
    assert len(table) >= 12
    for needle in ("../", "%2e%2e%2f", "%252e", "..\\", "\x00", "#", "?", "//evil", "http://"):
        assert any(needle in hostile for hostile in table), needle
    for exact in (".", "..", ""):
        assert exact in table
    assert any(len(hostile) > 1000 for hostile in table)
    assert any(hostile.strip() == "" and hostile for hostile in table)
