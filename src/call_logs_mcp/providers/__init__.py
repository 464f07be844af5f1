"""The platform list, as data.

A platform is one folder, `providers/<name>/`, whose `__init__.py` holds its `PLATFORM`
descriptor (`providers.base.Platform`: display name, default base URL, capabilities, where its
adapter and simulator live, the simulator's defaults), plus one name in `PLATFORMS` below.
Everything that lists platforms (CLI choices, `--demo`, environment variables, tool and
instruction text, every test suite) derives from `PLATFORMS`. Descriptors are light; adapters and
simulators are imported only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import httpx2

    from call_logs_mcp.providers.base import CallProvider, Platform
    from call_logs_mcp.providers.config import ProviderConfig

PLATFORMS: tuple[str, ...] = ("prosper", "callcamp", "retell", "elevenlabs", "vapi", "bland")


def platform(name: str) -> Platform:
    """The descriptor of the platform `name` (`PLATFORM` in `call_logs_mcp.providers.<name>`).

    Raises ConfigurationError, naming the known platforms, when `name` is not in `PLATFORMS`.
    """
    if name not in PLATFORMS:
        from call_logs_mcp.errors import ConfigurationError

        known = ", ".join(sorted(PLATFORMS))
        raise ConfigurationError(f"Unknown provider {name!r}; known providers: {known}.")
    descriptor: Platform = importlib.import_module(f"{__name__}.{name}").PLATFORM
    return descriptor


def load(dotted: str) -> Any:
    """The object a descriptor's "module:attribute" reference names (imports the module)."""
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def create_provider(
    config: ProviderConfig, *, transport: httpx2.AsyncBaseTransport | None = None
) -> CallProvider:
    """Build the adapter for `config.name`. `transport` injects a fake network (tests, --demo).

    Raises ConfigurationError for a name not in `PLATFORMS`.
    """
    provider: CallProvider = load(platform(config.name).adapter)(config, transport=transport)
    return provider


def add_platform_folder(directory: Path, name: str) -> None:
    """Register the platform folder `directory/<name>` as if `name` were listed in `PLATFORMS`.

    For a platform that lives outside this package (the throwaway platform of
    `tests/test_new_platform.py`, an experiment): the folder becomes importable as
    `call_logs_mcp.providers.<name>` and `PLATFORMS` gains `name`. Call it before anything reads
    `PLATFORMS` (the CLI parser, the tool descriptions and the test suites read it once).
    """
    global PLATFORMS
    if str(directory) not in __path__:
        __path__.append(str(directory))
    if name not in PLATFORMS:
        PLATFORMS = (*PLATFORMS, name)


def join_names(names: Sequence[str], conjunction: str) -> str:
    """Names as a sentence says them: `join_names(["a", "b", "c"], "or")` is "a, b or c"."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"
