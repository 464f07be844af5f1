"""`call-logs-mcp sync` and `purge` against the simulators, into a real index file."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cli_env
from call_logs_mcp.__main__ import main
from call_logs_mcp.cli.sync import ProgressBar, sync_command
from call_logs_mcp.models import CallQuery
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.simulated import simulated_provider_config
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.dataset import SimDataset
from cli_env import configure, transports_for, write_campaigns
from conftest import key_env


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cli_env.clean_environment(monkeypatch, tmp_path)


@pytest.fixture
def datasets() -> dict[str, SimDataset]:
    return cli_env.sim_datasets()


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
    said = capsys.readouterr().out
    assert f"Purged {old} calls older than {days} days" in said
    # As the purge says: the next sync indexes them again (the platforms still hold them).
    assert "the next sync" in said and "indexes every call they list again" in said
    assert main(["sync"], transports=transports_for(datasets)) == 0
    synced = capsys.readouterr()
    assert sum(int(n) for n in re.findall(r"(\d+) added", synced.out + synced.err)) == old, synced
    assert main(["purge"]) == 0
    assert f"Purged {len(every)} calls" in capsys.readouterr().out


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
    try:
        reported = (await provider.list_calls(CallQuery(), limit=1)).totals
    finally:
        await provider.aclose()
    if reported is not None and reported.calls is not None:
        assert f"{total}/{total} [" in bar_stream.getvalue()
    else:  # the platform reports no total: the bar counts without one
        assert (
            f"sync: {total} calls [" in bar_stream.getvalue() and f"/{total} [" not in bar_stream.getvalue()
        )
    assert counts(out.getvalue())["added"] == len(datasets[platform_name])


def test_sync_of_a_campaign_given_by_its_name_syncs_that_campaign_until_a_date(
    platform_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    datasets: dict[str, SimDataset],
) -> None:
    configure(monkeypatch)
    calls = [c for c in datasets[platform_name] if c.campaign_id]
    campaign = calls[0].campaign_id
    names = {platform_name: {campaign: "March reminders"}}
    monkeypatch.setenv("CALL_LOGS_CAMPAIGNS", str(write_campaigns(tmp_path / "campaigns.toml", names)))
    ours = sorted(c.started_at for c in calls if c.campaign_id == campaign)
    until = ours[len(ours) // 2].date()
    expected = sum(1 for started in ours if started.date() <= until)
    argv = ["sync", "--campaign", "March Reminders", "--until", until.isoformat()]
    assert main(argv, transports=transports_for(datasets)) == 0
    out = capsys.readouterr().out
    assert f'"March reminders" is campaign {campaign}' in out
    assert f"Synced {platform_name}:" in out
    assert counts(out)["added"] == expected
