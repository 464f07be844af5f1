"""The `call-logs-mcp` command: argument handling, `check` against the simulators, refusals."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import anyio
import httpx2
import pytest
from anyio.streams.text import TextReceiveStream
from pydantic import SecretStr

import call_logs_mcp
from call_logs_mcp.__main__ import build_parser, main
from call_logs_mcp.cli.check import check_providers, mask_secret
from call_logs_mcp.cli.simulate import simulation_from_args
from call_logs_mcp.providers import platform
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
    simulator_base_url,
    simulator_environment,
)
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.faults import Faults
from conftest import PLATFORM_NAMES, key_env, sim_key


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real platform or server setting leaks in from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("CALL_LOGS_") or name.endswith(("_API_KEY", "_BASE_URL", "_AUTH_HEADER")):
            monkeypatch.delenv(name)
    yield


def simulator_transports(calls: int = 40) -> dict[str, httpx2.AsyncBaseTransport]:
    return {
        name: simulated_transport(name, simulated_app(name, simulated_dataset(name, calls=calls)))
        for name in PLATFORM_NAMES
    }


def configure_simulators(monkeypatch: pytest.MonkeyPatch, keys: dict[str, str]) -> None:
    for name, key in keys.items():
        monkeypatch.setenv(f"{name.upper()}_API_KEY", key)
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", simulator_base_url(name))


def test_check_passes_against_every_simulator_and_shows_only_masked_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_simulators(monkeypatch, {name: sim_key(name) for name in PLATFORM_NAMES})
    code = main(["check"], transports=simulator_transports())
    out = capsys.readouterr()
    assert code == 0
    lines = [line for line in out.out.splitlines() if line.strip()]
    assert len(lines) == len(PLATFORM_NAMES)
    for name in PLATFORM_NAMES:
        line = next(line for line in lines if line.split()[1] == name)
        assert line.startswith("ok")
        assert mask_secret(sim_key(name)) in line
    for name in PLATFORM_NAMES:
        assert sim_key(name) not in out.out + out.err


def test_check_fails_with_exit_1_naming_the_variable_when_a_key_is_rejected(
    platform_name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "cc_tok_wrong_0123456789abcdef"
    keys = {name: sim_key(name) for name in PLATFORM_NAMES} | {platform_name: wrong}
    configure_simulators(monkeypatch, keys)
    code = main(["check"], transports=simulator_transports())
    out = capsys.readouterr()
    assert code == 1
    lines = {line.split()[1]: line for line in out.out.splitlines() if line.strip()}
    rejected = lines.pop(platform_name)
    assert rejected.startswith("FAIL")
    assert key_env(platform_name) in rejected
    assert all(line.startswith("ok") for line in lines.values())
    assert wrong not in out.out + out.err
    assert mask_secret(wrong) in rejected


async def test_check_reports_an_unreachable_platform_as_a_failure(platform_name: str) -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    config = simulated_provider_config(platform_name, max_retries=0)
    settings = Settings(providers={platform_name: config})
    out = io.StringIO()
    code = await check_providers(settings, transports={platform_name: httpx2.MockTransport(refuse)}, out=out)
    assert code == 1
    assert out.getvalue().startswith("FAIL")
    assert "not reachable" in out.getvalue()


async def test_check_reports_a_platform_that_answers_nonsense_as_a_failure(platform_name: str) -> None:
    def garbage(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, text="<html>maintenance</html>")

    config = simulated_provider_config(platform_name, max_retries=0)
    settings = Settings(providers={platform_name: config})
    out = io.StringIO()
    code = await check_providers(settings, transports={platform_name: httpx2.MockTransport(garbage)}, out=out)
    assert code == 1
    assert out.getvalue().startswith("FAIL")
    assert "maintenance" not in out.getvalue()


def test_check_without_any_key_exits_2_and_says_what_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check"])
    out = capsys.readouterr().out
    assert code == 2
    for name in PLATFORM_NAMES:
        assert key_env(name) in out
    assert "--demo" in out


def test_check_in_demo_mode_probes_the_simulated_platforms(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--demo"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert code == 0
    assert sorted(line.split()[1] for line in lines) == sorted(PLATFORM_NAMES)
    assert all(line.startswith("ok") for line in lines)


def test_the_demo_flag_is_also_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALL_LOGS_DEMO", "1")
    assert main(["check"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == len(PLATFORM_NAMES)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20"])
def test_serving_http_on_a_network_address_without_a_token_refuses_to_start(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--transport", "http", "--host", host, "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "CALL_LOGS_HTTP_TOKEN" in err
    assert host in err


def test_options_before_and_after_the_serve_subcommand_are_both_honoured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--transport", "http", "serve", "--host", "0.0.0.0"]) == 2
    assert main(["serve", "--transport", "http", "--host", "0.0.0.0"]) == 2
    assert capsys.readouterr().err.count("CALL_LOGS_HTTP_TOKEN") == 2


def test_an_unknown_log_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--log-level", "chatty"]) == 2
    assert "chatty" in capsys.readouterr().err


def test_an_invalid_setting_names_the_variable_without_echoing_its_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALL_LOGS_MAX_OUTPUT_CHARS", "lots-and-lots")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "CALL_LOGS_MAX_OUTPUT_CHARS" in err
    assert "lots-and-lots" not in err


def test_the_simulator_refuses_a_network_address(
    platform_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", platform_name, "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_simulate_offers_every_platform_and_names_each_default_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    usage = " ".join(capsys.readouterr().out.split())  # argparse wraps its help
    assert "{" + ",".join(PLATFORM_NAMES) + "}" in usage
    for name in PLATFORM_NAMES:
        assert f"{name} {platform(name).sim.port}" in usage


def test_simulate_serves_the_calls_latency_and_faults_asked_for_ending_now(platform_name: str) -> None:
    args = build_parser().parse_args(
        ["simulate", platform_name, "--calls", "25", "--latency", "0.05",
         "--faults", "error_rate=0.1, rate_429=0.05,reset_rate=0.01,seed=3"]
    )  # fmt: skip
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    simulation = simulation_from_args(args, now=now)
    assert (simulation.platform, simulation.host, simulation.port) == (platform_name, "127.0.0.1", None)
    dataset = simulation.app.state.dataset
    assert len(dataset) == 25
    assert now - timedelta(hours=1) < dataset.calls[0].started_at < now
    assert simulation.app.state.faults == Faults(
        latency_seconds=0.05, error_rate=0.1, rate_429=0.05, reset_rate=0.01, seed=3
    )


def test_simulate_without_options_serves_2000_calls_and_no_faults(platform_name: str) -> None:
    simulation = simulation_from_args(build_parser().parse_args(["simulate", platform_name]))
    assert len(simulation.app.state.dataset) == 2_000
    assert simulation.app.state.faults == Faults()


FAULT_KEYS = "error_rate, rate_429, reset_rate, malformed_rate, rate_limit_per_second, seed"


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("bogus=1", "unknown fault 'bogus'"),
        ("error_rate=0.1,latency=2", "unknown fault 'latency'"),
        ("error_rate", "error_rate needs a value"),
        ("error_rate=lots", "error_rate must be a number, not 'lots'"),
        ("rate_429=nan", "rate_429 must be a finite number"),
        ("seed=1.5", "seed must be a whole number"),
        ("reset_rate=0.1,reset_rate=0.2", "reset_rate is given twice"),
    ],
)
def test_simulate_refuses_a_bad_faults_spec_naming_the_accepted_keys(
    spec: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", PLATFORM_NAMES[0], "--faults", spec]) == 2
    err = capsys.readouterr().err
    assert f"--faults: {complaint}" in err
    assert FAULT_KEYS in err


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (["--faults", "error_rate=1.5"], "error_rate must be between 0 and 1"),
        (["--latency", "-1"], "--latency must be 0 or more seconds"),
        (["--calls", "-3"], "--calls must be 0 or more"),
    ],
)
def test_simulate_refuses_values_out_of_range(
    options: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", PLATFORM_NAMES[0], *options]) == 2
    assert complaint in capsys.readouterr().err


def test_the_simulators_environment_names_the_platforms_own_variables_and_key(platform_name: str) -> None:
    info = platform(platform_name).info
    assert simulator_environment(platform_name, "http://127.0.0.1:8123") == {
        info.key_env_var: sim_key(platform_name),
        info.base_url_env_var: "http://127.0.0.1:8123",
    }


async def test_simulate_prints_the_environment_that_points_the_server_at_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # One platform: the child process knows only the platforms listed in the package.
    name = PLATFORM_NAMES[0]
    command = [sys.executable, "-m", "call_logs_mcp", "simulate", name, "--port", "0", "--calls", "12"]
    with anyio.fail_after(60):
        async with await anyio.open_process(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        ) as process:
            assert process.stdout is not None
            try:
                first = ""
                async for chunk in TextReceiveStream(process.stdout):
                    first += chunk
                    if "\n" in first:
                        break
                environment = dict(pair.split("=", 1) for pair in first.split("\n")[0].split())
                for variable, value in environment.items():
                    monkeypatch.setenv(variable, value)
                code = await anyio.to_thread.run_sync(main, ["check"])
            finally:
                process.terminate()
                await process.wait()
    info = platform(name).info
    assert sorted(environment) == sorted([info.key_env_var, info.base_url_env_var])
    assert environment[info.key_env_var] == sim_key(name)
    assert environment[info.base_url_env_var].startswith("http://127.0.0.1:")
    assert code == 0
    assert capsys.readouterr().out.startswith("ok")


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert call_logs_mcp.__version__ in capsys.readouterr().out


@pytest.mark.parametrize(
    "secret",
    ["cc_tok_9f8e7d6c5b4a3210a1b2", "sim-prosper-key", "0123456789abcdefXYZ9", "short"],
)
def test_a_masked_key_shows_at_most_its_last_four_characters(secret: str) -> None:
    masked = mask_secret(secret)
    shown = masked.lstrip("…").replace("*", "")
    assert len(shown) <= 4
    assert secret.endswith(shown)
    assert secret not in masked
    if len(secret) < 12:
        assert shown == ""  # too short to reveal anything


def test_settings_masks_the_http_token_in_its_repr() -> None:
    token = "team-token-0123456789"
    assert token not in repr(Settings(http_token=SecretStr(token)))
