"""`--demo`: every registered platform simulated in-process, through the real adapters.

Each platform's simulator app (every name in `providers.PLATFORMS`) gets its own generated
dataset and is reached via `httpx2.ASGITransport`, so the adapters, HTTP plumbing, index and tools
run exactly as they do against the real platforms; only the network is fake and nothing leaves
the process. The generated calls end at the current time (the same calls every day, only their
timestamps move), so "yesterday" and "last week" have answers. The index lives in a temporary
directory removed on exit. `Settings.demo` stays True so the server says so in its instructions.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

    from call_logs_mcp.settings import Settings
    from call_logs_mcp.simulators.dataset import SimDataset

logger = logging.getLogger(__name__)

DEMO_CALLS_PER_PLATFORM = 600
DEMO_SEED = 7


@dataclass(frozen=True)
class DemoEnvironment:
    settings: Settings
    transports: Mapping[str, httpx2.AsyncBaseTransport]
    directory: Path


def demo_datasets(
    now: datetime, *, calls: int = DEMO_CALLS_PER_PLATFORM, seed: int = DEMO_SEED
) -> dict[str, SimDataset]:
    """One generated dataset per platform in `providers.PLATFORMS`, ending just before `now`.

    The calls (ids, texts, statuses, numbers) are the same on every day; only their timestamps
    follow `now`, so relative questions ("yesterday", "last week") have answers and no call lies
    in the future. Raises ValueError for a `now` without a time zone.
    """
    from call_logs_mcp.providers import PLATFORMS
    from call_logs_mcp.providers.simulated import simulated_dataset

    return {
        name: simulated_dataset(name, seed=seed + offset, calls=calls, end=now)
        for offset, name in enumerate(sorted(PLATFORMS))
    }


@contextmanager
def demo_environment(
    settings: Settings,
    *,
    calls: int = DEMO_CALLS_PER_PLATFORM,
    seed: int = DEMO_SEED,
    now: datetime | None = None,
) -> Iterator[DemoEnvironment]:
    """Simulated providers + a temporary index for `settings` (its own providers are replaced).

    Yields settings with one simulated `ProviderConfig` per platform, `db` in a
    temporary directory and `demo=True`, and the transports that reach the simulators, whose
    calls end just before `now` (default: the current time; see `demo_datasets`).
    Raises ValueError for a `now` without a time zone.
    """
    from call_logs_mcp.providers.simulated import (
        simulated_app,
        simulated_provider_config,
        simulated_transport,
    )

    datasets = demo_datasets(now or datetime.now(UTC), calls=calls, seed=seed)
    directory = Path(tempfile.mkdtemp(prefix="call-logs-mcp-demo-"))
    try:
        providers = {}
        transports: dict[str, httpx2.AsyncBaseTransport] = {}
        for name, dataset in datasets.items():
            transports[name] = simulated_transport(name, simulated_app(name, dataset))
            providers[name] = simulated_provider_config(name)
        campaigns = directory / "campaigns.toml"
        campaigns.write_text(campaigns_file(datasets), encoding="utf-8")
        demo_settings = settings.model_copy(
            update={
                "providers": providers,
                "db": directory / "calls.db",
                "database_url": None,  # the demo's index is temporary, never a team's database
                "demo": True,
                "campaigns": campaigns,
            }
        )
        logger.debug("Demo environment in %s", directory)
        yield DemoEnvironment(settings=demo_settings, transports=transports, directory=directory)
    finally:
        _remove(directory)


def _remove(directory: Path) -> None:
    """Delete the demo's directory. A background sync interrupted by a signal may still be
    finishing a write in a worker thread (SQLite's WAL file): try again briefly until it is gone."""
    for _ in range(50):
        shutil.rmtree(directory, ignore_errors=True)
        if not directory.exists():
            return
        time.sleep(0.05)
    logger.warning("the demo's temporary index could not be removed: %s", directory)


def campaigns_file(datasets: Mapping[str, SimDataset]) -> str:
    """The campaigns file (`CALL_LOGS_CAMPAIGNS`) naming every simulated campaign, as a team would
    write one for its own campaigns."""
    lines: list[str] = []
    for name, dataset in sorted(datasets.items()):
        lines.append(f"[{name}]")
        lines.extend(f"{json.dumps(c.id)} = {json.dumps(c.name)}" for c in dataset.campaigns)
        lines.append("")
    return "\n".join(lines)
