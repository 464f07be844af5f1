"""A running call-logs MCP server over simulated platforms, driven by the in-memory MCP client.

Only the network is fake: the real adapters talk to the simulator apps via httpx2.ASGITransport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult
from starlette.applications import Starlette

from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.dataset import SimDataset
from conftest import PLATFORM_NAMES


@dataclass
class Platforms:
    datasets: dict[str, SimDataset]
    apps: dict[str, Starlette]


@asynccontextmanager
async def serve(
    tmp_path: Path,
    names: Sequence[str] = tuple(PLATFORM_NAMES),
    *,
    calls: int = 40,
    long_calls: int = 0,
    datasets: Mapping[str, SimDataset] | None = None,
    app_knobs: Mapping[str, Mapping[str, Any]] | None = None,
    config_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[Client, Platforms]]:
    """A client connected to a server over simulators of `names` (each with its own dataset)."""
    data = dict(datasets or {})
    for offset, name in enumerate(names):
        data.setdefault(name, simulated_dataset(name, calls=calls, long_calls=long_calls, seed=7 + offset))
    apps = {n: simulated_app(n, data[n], **dict((app_knobs or {}).get(n, {}))) for n in names}
    configs = {n: simulated_provider_config(n, **dict((config_overrides or {}).get(n, {}))) for n in names}
    settings.setdefault("db", tmp_path / "calls.db")
    server = build_server(
        Settings(providers=configs, **settings),
        transports={n: simulated_transport(n, apps[n]) for n in names},
    )
    async with Client(server, raise_exceptions=True) as client:
        yield client, Platforms(datasets=data, apps=apps)


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def data_of(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON-ish value, dict keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)
