"""The provider registry, as data.

Adding a platform = one adapter package + one line here + its simulator in `SIMULATORS`; the
contract suite then runs against it automatically. Adapters are imported only when enabled.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

    from call_logs_mcp.providers.base import CallProvider, ProviderInfo
    from call_logs_mcp.providers.config import ProviderConfig

PROVIDERS: dict[str, str] = {
    "prosper": "call_logs_mcp.providers.prosper.adapter:ProsperProvider",
    "callcamp": "call_logs_mcp.providers.callcamp.adapter:CallCampProvider",
}

# name -> factory of an ASGI app that implements the platform's API (see call_logs_mcp.simulators).
SIMULATORS: dict[str, str] = {
    "prosper": "call_logs_mcp.simulators.prosper:create_app",
    "callcamp": "call_logs_mcp.simulators.callcamp:create_app",
}


def load(dotted: str) -> Any:
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def provider_class(name: str) -> Any:
    from call_logs_mcp.errors import ConfigurationError

    if name not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigurationError(f"Unknown provider {name!r}; known providers: {known}.")
    return load(PROVIDERS[name])


def provider_info(name: str) -> ProviderInfo:
    info: ProviderInfo = provider_class(name).info
    return info


def create_provider(
    config: ProviderConfig, *, transport: httpx2.AsyncBaseTransport | None = None
) -> CallProvider:
    """Build the adapter for `config.name`. `transport` injects a fake network (tests, --demo)."""
    provider: CallProvider = provider_class(config.name)(config, transport=transport)
    return provider
