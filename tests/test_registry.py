"""The provider registry is data: every entry loads, satisfies the Protocol and has a simulator."""

from __future__ import annotations

import inspect

import httpx2
import pytest
from pydantic import SecretStr

from call_logs_mcp.errors import ConfigurationError, UnsupportedError
from call_logs_mcp.providers import PROVIDERS, SIMULATORS, create_provider, load, provider_class
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.config import ProviderConfig


def offline() -> httpx2.MockTransport:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("building or inspecting a provider must not touch the network")

    return httpx2.MockTransport(refuse)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_registered_provider_has_a_simulator_that_loads(name: str) -> None:
    assert name in SIMULATORS, f"{name} is registered without a simulator in SIMULATORS"
    assert callable(load(SIMULATORS[name]))


def test_every_simulator_belongs_to_a_registered_provider() -> None:
    assert set(SIMULATORS) <= set(PROVIDERS)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
async def test_every_registry_entry_loads_and_satisfies_the_protocol(name: str) -> None:
    cls = provider_class(name)
    assert cls.info.name == name
    assert cls.info.default_base_url.startswith("https://")
    assert cls.info.key_env_var == f"{name.upper()}_API_KEY"
    parameters = inspect.signature(cls).parameters
    assert parameters["transport"].kind is inspect.Parameter.KEYWORD_ONLY
    provider = create_provider(ProviderConfig(name=name, api_key=SecretStr("k")), transport=offline())
    try:
        assert isinstance(provider, CallProvider)
        if not provider.info.capabilities.campaign_listing:
            with pytest.raises(UnsupportedError):
                await provider.list_campaigns()
    finally:
        await provider.aclose()


def test_an_unknown_provider_is_a_configuration_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        provider_class("vapi")
    assert all(name in str(caught.value) for name in PROVIDERS)
