"""`--demo`: every registered platform simulated in-process, through the real adapters.

Each platform's simulator app (every name in `providers.PLATFORMS`) gets its own generated
dataset and is reached via `httpx2.ASGITransport`, so the adapters, HTTP plumbing, index and tools
run exactly as they do against the real platforms; only the network is fake and nothing leaves
the process. The index lives in a temporary directory removed on exit. `Settings.demo` stays True
so the server says so in its instructions.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

    from call_logs_mcp.settings import Settings

logger = logging.getLogger(__name__)

DEMO_CALLS_PER_PLATFORM = 600
DEMO_SEED = 7


@dataclass(frozen=True)
class DemoEnvironment:
    settings: Settings
    transports: Mapping[str, httpx2.AsyncBaseTransport]
    directory: Path


@contextmanager
def demo_environment(
    settings: Settings, *, calls: int = DEMO_CALLS_PER_PLATFORM, seed: int = DEMO_SEED
) -> Iterator[DemoEnvironment]:
    """Simulated providers + a temporary index for `settings` (its own providers are replaced).

    Yields settings with one simulated `ProviderConfig` per platform, `db` in a
    temporary directory and `demo=True`, and the transports that reach the simulators.
    """
    from call_logs_mcp.providers import PLATFORMS
    from call_logs_mcp.providers.simulated import (
        simulated_app,
        simulated_dataset,
        simulated_provider_config,
        simulated_transport,
    )

    directory = Path(tempfile.mkdtemp(prefix="call-logs-mcp-demo-"))
    try:
        providers = {}
        transports: dict[str, httpx2.AsyncBaseTransport] = {}
        for offset, name in enumerate(sorted(PLATFORMS)):
            app = simulated_app(name, simulated_dataset(name, seed=seed + offset, calls=calls))
            transports[name] = simulated_transport(name, app)
            providers[name] = simulated_provider_config(name)
        demo_settings = settings.model_copy(
            update={"providers": providers, "db": directory / "calls.db", "demo": True}
        )
        logger.debug("Demo environment in %s", directory)
        yield DemoEnvironment(settings=demo_settings, transports=transports, directory=directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
