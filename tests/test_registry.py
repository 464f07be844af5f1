"""The platform list is data: every descriptor is light, its adapter satisfies the Protocol and
its simulator loads."""

from __future__ import annotations

import inspect
import subprocess
import sys

import httpx2
import pytest
from pydantic import SecretStr

from call_logs_mcp.errors import ConfigurationError, UnsupportedError
from call_logs_mcp.providers import create_provider, join_names, load, platform
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.config import ProviderConfig
from conftest import PLATFORM_NAMES


def offline() -> httpx2.MockTransport:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("building or inspecting a provider must not touch the network")

    return httpx2.MockTransport(refuse)


def test_every_descriptor_is_named_after_its_folder_and_has_its_own_simulator_port(
    platform_name: str,
) -> None:
    descriptor = platform(platform_name)
    assert descriptor.info.name == platform_name
    assert descriptor.info.default_base_url.startswith("https://")
    assert descriptor.info.key_env_var == f"{platform_name.upper()}_API_KEY"
    others = [platform(name).sim.port for name in PLATFORM_NAMES if name != platform_name]
    assert descriptor.sim.port not in others


def test_every_platform_has_a_simulator_that_loads(platform_name: str) -> None:
    assert callable(load(platform(platform_name).simulator))


async def test_every_adapter_loads_and_satisfies_the_protocol(platform_name: str) -> None:
    cls = load(platform(platform_name).adapter)
    assert cls.info == platform(platform_name).info
    parameters = inspect.signature(cls).parameters
    assert parameters["transport"].kind is inspect.Parameter.KEYWORD_ONLY
    config = ProviderConfig(name=platform_name, api_key=SecretStr("k"))
    provider = create_provider(config, transport=offline())
    try:
        assert isinstance(provider, CallProvider)
        if not provider.info.capabilities.campaign_listing:
            with pytest.raises(UnsupportedError):
                await provider.list_campaigns()
    finally:
        await provider.aclose()


def test_reading_the_descriptors_imports_no_adapter_and_no_http_client() -> None:
    names = ",".join(PLATFORM_NAMES)
    code = (
        "import sys\n"
        "from call_logs_mcp.providers import platform\n"
        f"for name in {names!r}.split(','): platform(name)\n"
        "print(' '.join(m for m in sys.modules if m.endswith(('.adapter', '.simulator')) or m == 'httpx2'))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == []


def test_an_unknown_provider_is_a_configuration_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        platform("acme")
    assert all(name in str(caught.value) for name in PLATFORM_NAMES)


def test_names_are_joined_as_a_sentence_says_them() -> None:
    assert join_names(["prosper"], "or") == "prosper"
    assert join_names(["prosper", "callcamp"], "or") == "prosper or callcamp"
    assert join_names(["A", "B", "C"], "and") == "A, B and C"
