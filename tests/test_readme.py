"""The README is part of the interface: its tools table and quick start are checked against the code."""

import re
from pathlib import Path

from mcp import Client

from call_logs_mcp.providers import platform
from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings
from conftest import PLATFORM_NAMES

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def tools_table() -> dict[str, str]:
    """tool name -> its arguments cell, from the README's table under '## Tools'."""
    section = README.split("## Tools", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]*) \|", section, flags=re.MULTILINE)
    return dict(rows)


async def test_the_readme_tools_table_lists_every_tool_with_every_argument() -> None:
    async with Client(build_server(Settings()), raise_exceptions=True) as client:
        tools = (await client.list_tools()).tools
    table = tools_table()
    assert sorted(table) == sorted(t.name for t in tools)
    for tool in tools:
        schema = tool.input_schema
        documented = set(re.findall(r"`([a-z_]+)[?=`]", table[tool.name]))
        assert documented == set(schema["properties"]), tool.name
        required = set(schema.get("required", []))
        for name in schema["properties"]:
            shown = f"`{name}`" if name in required else f"`{name}?"
            assert shown in table[tool.name], f"README shows {tool.name}.{name} wrongly (want {shown})"


def test_the_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```console\n(.+?)\n```", quick)
    assert len(commands) == 2
    serve_demo, run_tests = commands
    assert "--demo" in serve_demo and "pip install" in serve_demo
    assert "pytest" in run_tests and "pip install" in run_tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert run_tests.replace("pip install -e", "pip install -q -e") in ci.splitlines()


def test_the_readme_names_every_platform_and_the_simulate_command_offers_each(platform_name: str) -> None:
    assert f"**{platform(platform_name).info.display_name}**" in README
    assert f"call-logs-mcp simulate {'|'.join(PLATFORM_NAMES)} " in README


def test_the_layout_section_names_every_package_and_module_that_exists() -> None:
    layout = README.split("## Layout", 1)[1].split("\n### ", 1)[0]
    package = ROOT / "src" / "call_logs_mcp"
    named = set(re.findall(r"`([a-z_]+(?:\.py)?)/?`", layout))
    for path in package.iterdir():
        if path.name in {"__pycache__", "py.typed", "__init__.py"}:
            continue
        assert path.name in named, f"the README's layout does not place {path.name}"
        if path.is_dir():
            modules = {m.stem for m in path.glob("*.py")} - {"__init__"}
            shown = set(re.findall(r"`([a-z_]+)`", layout))
            missing = {m for m in modules if m not in shown}
            if path.name != "simulators":  # described as a whole: its modules are plumbing
                assert not missing, f"the README's layout does not name {path.name}/{sorted(missing)}"
