"""Start an unpacked bundle's server as a host would, and check it answers over stdio.

    python bundle/check.py UNPACKED_DIR

Reads `manifest.json`, substitutes `${__dirname}` and `${user_config.KEY}` in
`server.mcp_config` (each option's default, except the index path, pointed at a temporary file,
and demo data for the second session), runs the command (`uv` must be on PATH) with that
environment, and checks over stdio: `initialize` names the server with its icon, `tools/list`
equals the manifest's tools, `prompts/list` its prompts; with demo data, `list_calls` answers.
Run by `.ci/check_bundle` after `mcpb unpack` and `mcpb validate`.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters


def substitute(value: str, dirname: Path, config: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "__dirname":
            return str(dirname)
        key = name.removeprefix("user_config.")
        if key == name or key not in config:
            raise SystemExit(f"manifest uses ${{{name}}}, which no host would fill")
        setting = config[key]
        return str(setting).lower() if isinstance(setting, bool) else str(setting)

    return re.sub(r"\$\{([^}]+)\}", one, value)


def launch(unpacked: Path, manifest: dict[str, Any], values: dict[str, Any]) -> StdioServerParameters:
    mcp_config = manifest["server"]["mcp_config"]
    config = {key: option.get("default", "") for key, option in manifest["user_config"].items()} | values
    # The host's environment, without anything that would configure a real platform.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALL_LOGS_") and "_API_KEY" not in k}
    env |= {k: substitute(v, unpacked, config) for k, v in mcp_config.get("env", {}).items()}
    return StdioServerParameters(
        command=substitute(mcp_config["command"], unpacked, config),
        args=[substitute(a, unpacked, config) for a in mcp_config.get("args", [])],
        env=env,
    )


async def check(unpacked: Path) -> None:
    manifest = json.loads((unpacked / "manifest.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        index = str(Path(tmp) / "calls.db")
        params = launch(unpacked, manifest, {"index_path": index})
        print(f"starting: {params.command} {' '.join(params.args)}", file=sys.stderr)
        with anyio.fail_after(600):  # the first start installs the dependencies
            async with Client(params, mode="legacy") as client:
                info = client.server_info
                tools = (await client.list_tools()).tools
                prompts = (await client.list_prompts()).prompts
        assert info is not None and info.name == manifest["name"], info
        assert info.version == manifest["version"], (info.version, manifest["version"])
        assert info.icons, "the server announces no icon"
        listed = [{"name": t.name, "description": t.description or ""} for t in tools]
        assert listed == manifest["tools"], "tools/list differs from the manifest's tools"
        assert [p.name for p in prompts] == [p["name"] for p in manifest["prompts"]]
        print(f"initialize + tools/list: {info.name} {info.version}, {len(tools)} tools", file=sys.stderr)

        params = launch(unpacked, manifest, {"index_path": index, "demo": True})
        with anyio.fail_after(120):
            async with Client(params, mode="legacy") as client:
                answer = await client.call_tool("list_calls", {"limit": 3})
        calls = (answer.structured_content or {}).get("calls", [])
        assert not answer.is_error and len(calls) == 3, answer
        print(f"demo data: list_calls answered {len(calls)} calls", file=sys.stderr)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    anyio.run(check, Path(sys.argv[1]).resolve())
    print("bundle check passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
