"""`call-logs-mcp sync` and `purge` against the simulators, into a real index file."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from call_logs_mcp.__main__ import main
from call_logs_mcp.cli.sync import ProgressBar, sync_command
from call_logs_mcp.models import CallQuery
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
    simulator_base_url,
)
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.dataset import SimDataset
from conftest import PLATFORM_NAMES, key_env, sim_key

CALLS = 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("CALL_LOGS_") or name.endswith(("_API_KEY", "_BASE_URL", "_AUTH_HEADER")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CALL_LOGS_DB", str(tmp_path / "index" / "calls.db"))
    yield


@pytest.fixture
def datasets() -> dict[str, SimDataset]:
    return {name: simulated_dataset(name, calls=CALLS, long_calls=0) for name in PLATFORM_NAMES}


def transports_for(datasets: dict[str, SimDataset]) -> dict[str, httpx2.AsyncBaseTransport]:
    return {name: simulated_transport(name, simulated_app(name, ds)) for name, ds in datasets.items()}


def configure(monkeypatch: pytest.MonkeyPatch, keys: dict[str, str] | None = None) -> None:
    for name in PLATFORM_NAMES:
        monkeypatch.setenv(key_env(name), (keys or {}).get(name, sim_key(name)))
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", simulator_base_url(name))


def counts(output: str) -> dict[str, int]:
    return {word: int(n) for n, word in re.findall(r"(\d+) (added|updated|unchanged|listed)", output)}


def test_sync_indexes_every_call_once_and_a_second_run_finds_nothing_new(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], datasets: dict[str, SimDataset]
) -> None:
    configure(monkeypatch)
    total = sum(len(ds) for ds in datasets.values())
    assert main(["sync"], transports=transports_for(datasets)) == 0
    first = capsys.readouterr().out
    assert main(["sync"], transports=transports_for(datasets)) == 0
    second = capsys.readouterr().out
    assert len(first.strip().splitlines()) == 1
    assert counts(first)["added"] == total
    assert counts(second)["added"] == 0
    assert counts(second)["updated"] == 0


def test_sync_of_one_provider_since_a_date_indexes_only_that_scope(
    platform_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    datasets: dict[str, SimDataset],
) -> None:
    configure(monkeypatch)
    calls = sorted(datasets[platform_name], key=lambda c: c.started_at)
    since = calls[len(calls) // 2].started_at.date()
    expected = sum(1 for c in calls if c.started_at >= datetime.combine(since, datetime.min.time(), UTC))
    argv = ["sync", "--provider", platform_name, "--since", since.isoformat()]
    assert main(argv, transports=transports_for(datasets)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Synced {platform_name}:")
    assert counts(out)["added"] == expected


def test_sync_with_a_rejected_key_exits_1_and_names_the_variable(
    platform_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    datasets: dict[str, SimDataset],
) -> None:
    wrong = f"wrong-{platform_name}-key-000000"
    configure(monkeypatch, {platform_name: wrong})
    assert main(["sync", "--provider", platform_name], transports=transports_for(datasets)) == 1
    captured = capsys.readouterr()
    assert key_env(platform_name) in captured.out
    assert wrong not in captured.out + captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sync", "--provider", "nonesuch"], "nonesuch"),
        (["sync", "--since", "last tuesday"], "YYYY-MM-DD"),
        (["purge", "--older-than", "-3"], "--older-than"),
    ],
)
def test_bad_sync_and_purge_arguments_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    configure(monkeypatch)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_sync_without_any_platform_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync"]) == 2
    assert "--demo" in capsys.readouterr().err


def test_purge_older_than_deletes_exactly_the_old_calls_then_purge_deletes_the_rest(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], datasets: dict[str, SimDataset]
) -> None:
    configure(monkeypatch)
    assert main(["sync"], transports=transports_for(datasets)) == 0
    capsys.readouterr()
    every = sorted(c.started_at for ds in datasets.values() for c in ds)
    middle = every[len(every) // 2]
    days = (datetime.now(UTC) - middle).days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    old = sum(1 for started in every if started < cutoff)
    assert 0 < old < len(every)
    assert main(["purge", "--older-than", str(days)]) == 0
    assert f"Purged {old} calls older than {days} days" in capsys.readouterr().out
    assert main(["purge"]) == 0
    assert f"Purged {len(every) - old} calls" in capsys.readouterr().out


def test_purge_without_an_index_says_there_is_nothing_to_purge(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["purge"]) == 0
    assert "nothing to purge" in capsys.readouterr().out


async def test_the_sync_progress_bar_counts_the_synced_calls_out_of_the_platform_total(
    platform_name: str, tmp_path: Path, datasets: dict[str, SimDataset]
) -> None:
    config = simulated_provider_config(platform_name)
    settings = Settings(providers={platform_name: config}, db=tmp_path / "calls.db")
    bar_stream, out = io.StringIO(), io.StringIO()
    code = await sync_command(
        settings,
        transports=transports_for(datasets),
        out=out,
        progress=ProgressBar(bar_stream, disable=False),
    )
    assert code == 0
    total = len(datasets[platform_name])
    provider = create_provider(config, transport=transports_for(datasets)[platform_name])
    reported = (await provider.list_calls(CallQuery(), limit=1)).totals
    await provider.aclose()
    if reported is not None and reported.calls is not None:
        assert f"{total}/{total} [" in bar_stream.getvalue()
    else:  # the platform reports no total (Vapi): the bar counts calls, out of nothing made up
        bar = bar_stream.getvalue()
        assert f"sync: {total} calls [" in bar and not re.search(r"\d/\d+ \[", bar)
    assert counts(out.getvalue())["added"] == len(datasets[platform_name])
