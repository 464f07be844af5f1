"""What the CLI suites share: an environment holding only what a test sets, the simulators'
datasets and fake networks, the variables that point the CLI at them, and a campaigns file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx2
import pytest

from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_transport,
    simulator_base_url,
)
from call_logs_mcp.simulators.dataset import SimDataset
from conftest import PLATFORM_NAMES, key_env, sim_key

CALLS = 40


def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No platform or CALL_LOGS_* variable from the machine; the index in the test's folder
    (each CLI suite calls this from an autouse fixture)."""
    for name in list(os.environ):
        if name.startswith("CALL_LOGS_") or name.endswith(("_API_KEY", "_BASE_URL", "_AUTH_HEADER")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CALL_LOGS_DB", str(tmp_path / "index" / "calls.db"))


def sim_datasets() -> dict[str, SimDataset]:
    """A small dataset per platform."""
    return {name: simulated_dataset(name, calls=CALLS, long_calls=0) for name in PLATFORM_NAMES}


def transports_for(datasets: dict[str, SimDataset]) -> dict[str, httpx2.AsyncBaseTransport]:
    return {name: simulated_transport(name, simulated_app(name, ds)) for name, ds in datasets.items()}


def configure(monkeypatch: pytest.MonkeyPatch, keys: dict[str, str] | None = None) -> None:
    """Every platform enabled, pointed at its simulator (with its own key unless `keys` says)."""
    for name in PLATFORM_NAMES:
        monkeypatch.setenv(key_env(name), (keys or {}).get(name, sim_key(name)))
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", simulator_base_url(name))


def write_campaigns(path: Path, names: dict[str, dict[str, str]]) -> Path:
    """A campaigns file (`CALL_LOGS_CAMPAIGNS`): {platform: {campaign id: name}}."""
    lines = []
    for provider, table in names.items():
        lines.append(f"[{provider}]")
        lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
