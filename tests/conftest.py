"""What every suite shares: the platform list the cross-platform suites run over.

`PLATFORM_NAMES` comes from `providers.PLATFORMS`, so a platform added there (or registered with
`providers.add_platform_folder`, as `test_new_platform.py` does) runs the contract, end-to-end,
sync, secrets and CLI suites without a test edit. Each parametrised test id carries the name.
"""

from __future__ import annotations

import pytest

from call_logs_mcp.providers import PLATFORMS, platform

PLATFORM_NAMES: list[str] = list(PLATFORMS)


def sim_key(name: str) -> str:
    """The API key the named platform's simulator accepts by default."""
    return platform(name).sim.api_key


def key_env(name: str) -> str:
    """The variable that enables the named platform, e.g. `PROSPER_API_KEY`."""
    return platform(name).info.key_env_var


@pytest.fixture(params=PLATFORM_NAMES)
def platform_name(request: pytest.FixtureRequest) -> str:
    """Each platform in turn."""
    name: str = request.param
    return name
