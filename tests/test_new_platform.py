"""A new platform is one folder plus one name: nothing else needs an edit for the suites to cover it.

A throwaway third platform, "voxcamp" (a copy of the CallCamp folder with its descriptor renamed),
is registered only inside a pytest subprocess, through a plugin that calls
`providers.add_platform_folder` before collection. The contract, end-to-end, sync, secrets and
CLI suites then run against it; the test fails if they pass without running it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

import call_logs_mcp.providers.callcamp as template

NAME = "voxcamp"
ROOT = Path(__file__).resolve().parents[1]
SUITES = [
    "tests/test_contract.py",
    "tests/test_tools.py",
    "tests/test_resources.py",
    "tests/test_sync.py",
    "tests/test_trust_secrets.py",
    "tests/test_cli.py",
    "tests/test_cli_sync.py",
    "tests/test_registry.py",
]
# Whole-system tests that serve, check or sync every platform at once (their ids name none).
EVERY_PLATFORM = [
    "test_check_passes_against_every_simulator_and_shows_only_masked_keys",
    "test_check_in_demo_mode_probes_the_simulated_platforms",
    "test_sync_indexes_every_call_once_and_a_second_run_finds_nothing_new",
    "test_every_provider_syncs_in_one_run",
    "test_every_tool_resource_and_prompt_keeps_the_canary_out_of_answers_logs_and_the_index",
    "test_cli_check_and_sync_at_debug_level_never_print_the_key",
]
PLUGIN = """
from pathlib import Path

from call_logs_mcp.providers import add_platform_folder

add_platform_folder(Path({folder!r}), {name!r})
"""


def copy_platform(destination: Path) -> None:
    """The CallCamp folder under another name; only its descriptor changes."""
    folder = destination / NAME
    shutil.copytree(Path(template.__file__).parent, folder, ignore=shutil.ignore_patterns("__pycache__"))
    descriptor = folder / "__init__.py"
    text = descriptor.read_text(encoding="utf-8")
    for old, new in (
        ('name="callcamp"', f'name="{NAME}"'),
        ('display_name="CallCamp"', 'display_name="VoxCamp"'),
        ('default_base_url="https://callcamp.ai"', 'default_base_url="https://voxcamp.example"'),
        ('api_key="cc_tok_sim"', 'api_key="vx_tok_sim"'),
        ("port=8102", "port=8109"),
    ):
        assert old in text, f"the CallCamp descriptor no longer says {old}"
        text = text.replace(old, new)
    descriptor.write_text(text, encoding="utf-8")


@pytest.mark.slow
def test_a_copied_platform_registered_only_in_a_test_runs_every_cross_platform_suite(tmp_path: Path) -> None:
    platforms = tmp_path / "platforms"
    copy_platform(platforms)
    (tmp_path / "voxcamp_plugin.py").write_text(PLUGIN.format(folder=str(platforms), name=NAME))
    report = tmp_path / "report.xml"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "voxcamp_plugin",
        "-k",
        " or ".join([NAME, *EVERY_PLATFORM]),
        f"--junit-xml={report}",
        *SUITES,
    ]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    passed: dict[str, list[str]] = {suite: [] for suite in SUITES}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        outcome = {child.tag for child in case}
        assert not outcome & {"failure", "error", "skipped"}, (case.get("name"), outcome)
        module = (case.get("classname") or "").replace(".", "/") + ".py"
        passed[module].append(case.get("name") or "")
    for suite, names in passed.items():
        assert any(NAME in name for name in names), f"{suite} ran nothing against {NAME}"
    ran = {name.partition("[")[0] for names in passed.values() for name in names}
    assert set(EVERY_PLATFORM) <= ran, set(EVERY_PLATFORM) - ran
