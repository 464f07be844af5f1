"""The README's install paths, run as written: every command line its client section gives a client
starts the server, which answers `initialize` and `tools/list` over stdio.

The command lines are read from README.md, so the documentation and this test cannot drift.
`/path/to/call-logs-mcp` stands for a fresh copy of the checkout; each way of installing is done
once per session, as the README says: the quick start's install into the copy's `.venv`, the
README's `pip wheel` and `pipx install` lines (pipx's home in a temporary folder), uvx with its
usual cache. They need the package registries (the dependencies are installed for real).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

import call_logs_mcp
from call_logs_mcp.server.app import SERVER_NAME

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Use it from a client", 1)[1].split("\n## ", 1)[0]
QUICK_START = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
CHECKOUT = "/path/to/call-logs-mcp"
TOOLS = {"list_calls", "get_call", "search_transcripts", "find_calls", "summarize_campaign", "list_campaigns"}
SETUP_TIMEOUT = 600


def console_lines(text: str) -> list[str]:
    return [
        line for block in re.findall(r"```console\n(.+?)\n```", text, re.S) for line in block.splitlines()
    ]


def server_command_lines() -> list[str]:
    """Each distinct command line the section gives a client to start the server, in order."""
    lines: list[str] = []
    for block in re.findall(r"```json\n(.+?)\n```", SECTION, re.S):
        for server in json.loads(block)["mcpServers"].values():
            lines.append(shlex.join([server["command"], *server["args"]]))
    for line in console_lines(SECTION):
        if line.startswith("claude mcp add "):
            lines.append(line.split(" -- ", 1)[1])
        elif line.startswith("uvx "):
            lines.append(line)
    return list(dict.fromkeys(lines))


def readme_line(prefix: str) -> str:
    [line] = [line for line in console_lines(SECTION) if line.startswith(prefix)]
    return line


def run(command: str, cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=SETUP_TIMEOUT
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"


def clean_env(tmp: Path, path_first: Path | None = None) -> dict[str, str]:
    """This environment minus anything that configures platforms; the index in `tmp`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALL_LOGS_", "PIPX_", "VIRTUAL_ENV"))
        and not k.endswith(("_API_KEY", "_BASE_URL"))
    }
    tools = str(Path(sys.executable).parent)  # uv and pipx come with the test extra
    env["PATH"] = os.pathsep.join([*([str(path_first)] if path_first else []), tools, env.get("PATH", "")])
    env["CALL_LOGS_DB"] = str(tmp / "calls.db")
    return env


@pytest.fixture(scope="session")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout, as a user would have it (no environment, no build output)."""
    copy = tmp_path_factory.mktemp("checkout") / "call-logs-mcp"
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "dist", "__pycache__", "*.egg-info", ".*_cache")
    shutil.copytree(ROOT, copy, ignore=ignore)
    return copy


@pytest.fixture(scope="session")
def checkout_venv(checkout: Path) -> Path:
    """The quick start's install (its first command, up to starting the server), in the copy."""
    serve_demo = re.findall(r"```console\n(.+?)\n```", QUICK_START)[0]
    install = serve_demo.split(" && .venv/bin/call-logs-mcp", 1)[0]
    assert install.startswith("python3 -m venv .venv") and "pip install" in install
    run(install, checkout, clean_env(checkout))
    return checkout / ".venv"


@pytest.fixture(scope="session")
def wheel(checkout: Path) -> Path:
    """The wheel, built by the README's own command in the copy (once per session)."""
    command = "pip wheel --no-deps -w dist ."
    assert f"`{command}`" in SECTION
    run(f"{shlex.quote(sys.executable)} -m {command}", checkout, clean_env(checkout))
    [built] = (checkout / "dist").glob("*.whl")
    return built


@pytest.fixture(scope="session")
def pipx_bin(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's `pipx install` line, with pipx's home and command folder in a temporary folder."""
    home = tmp_path_factory.mktemp("pipx")
    env = clean_env(home) | {"PIPX_HOME": str(home / "home"), "PIPX_BIN_DIR": str(home / "bin")}
    env["PIPX_MAN_DIR"] = str(home / "man")
    run(readme_line("pipx install ").replace(CHECKOUT, str(checkout)), checkout, env)
    return home / "bin"


def launch(line: str, request: pytest.FixtureRequest, tmp_path: Path) -> StdioServerParameters:
    """The README's command line with its placeholder filled, and what it needs installed first."""
    argv = shlex.split(line)
    program = argv[0]
    path_first: Path | None = None
    if program == f"{CHECKOUT}/.venv/bin/call-logs-mcp":
        request.getfixturevalue("checkout_venv")
    elif program == "uvx":
        if any(arg.endswith(".whl") for arg in argv):
            built = request.getfixturevalue("wheel")
            assert f"{CHECKOUT}/dist/{built.name}" in argv, (
                f"the README names another wheel than {built.name}"
            )
    elif program == "call-logs-mcp":
        path_first = request.getfixturevalue("pipx_bin")
    else:
        raise AssertionError(f"the README gives a command this test does not know how to set up: {line}")
    checkout: Path = request.getfixturevalue("checkout")
    argv = [arg.replace(CHECKOUT, str(checkout)) for arg in argv]
    env = clean_env(tmp_path, path_first)
    resolved = shutil.which(argv[0], path=env["PATH"])
    assert resolved is not None, argv[0]
    if path_first is not None:
        assert Path(resolved).parent == path_first, resolved  # pipx's command, not another one
    return StdioServerParameters(command=resolved, args=argv[1:], env=env, cwd=tmp_path)


def test_the_section_gives_each_way_of_installing() -> None:
    programs = {shlex.split(line)[0] for line in server_command_lines()}
    assert programs == {f"{CHECKOUT}/.venv/bin/call-logs-mcp", "uvx", "call-logs-mcp"}
    froms = [shlex.split(line)[2] for line in server_command_lines() if line.startswith("uvx --from ")]
    assert CHECKOUT in froms and any(f.endswith(".whl") for f in froms)


@pytest.mark.parametrize("line", server_command_lines())
async def test_the_readme_command_line_starts_the_server(
    line: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    params = launch(line, request, tmp_path)
    with anyio.fail_after(SETUP_TIMEOUT):  # uvx builds and installs on its first start
        async with Client(params, mode="legacy") as client:
            info = client.server_info
            tools = {tool.name for tool in (await client.list_tools()).tools}
    assert info is not None
    assert (info.name, info.version) == (SERVER_NAME, call_logs_mcp.__version__)
    assert tools >= TOOLS


def test_the_unpublished_name_is_shown_only_as_once_published() -> None:
    server = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    [package] = [p for p in server["packages"] if p["registryType"] == "pypi"]
    published = SECTION.split("### Once published", 1)[1].split("\n### ", 1)[0]
    elsewhere = README.replace(published, "")
    assert f"uvx {package['identifier']}" in published
    assert f"`{package['identifier']}`" in published and server["name"] in published
    assert not re.search(rf"uvx {re.escape(package['identifier'])}\b", elsewhere)
