"""The Claude Desktop bundle (`bundle/build.py`): what its manifest promises is what the server does.

Built here without node; `.ci/check_bundle` validates it with the official bundle tool and starts
it from the unpacked tree.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from mcp import Client

from call_logs_mcp.providers import PLATFORMS, platform
from call_logs_mcp.providers.config import provider_configs_from_env
from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bundle_{name}", ROOT / "bundle" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Every file of a freshly built bundle, by its path inside the archive."""
    target = load("build").build(tmp_path_factory.mktemp("bundle"))
    with zipfile.ZipFile(target) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.fixture(scope="module")
def manifest(bundle: dict[str, bytes]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(bundle["manifest.json"])
    return parsed


async def test_the_manifest_lists_exactly_the_servers_tools_and_prompts(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    async with Client(build_server(Settings(db=tmp_path / "calls.db")), raise_exceptions=True) as client:
        tools = (await client.list_tools()).tools
        prompts = (await client.list_prompts()).prompts
        rendered = {
            p.name: await client.get_prompt(p.name, {a.name: "spring reminders" for a in p.arguments or ()})
            for p in prompts
        }
    assert manifest["tools"] == [{"name": t.name, "description": t.description} for t in tools]
    assert [p["name"] for p in manifest["prompts"]] == [p.name for p in prompts]
    for declared, prompt in zip(manifest["prompts"], prompts, strict=True):
        assert declared["arguments"] == [a.name for a in prompt.arguments or ()]
        assert declared["description"] == prompt.description
        # The manifest's text is the server's, with the host filling `${arguments.x}`.
        text = declared["text"]
        for argument in declared["arguments"]:
            assert f"${{arguments.{argument}}}" in text
            text = text.replace(f"${{arguments.{argument}}}", "spring reminders")
        [message] = rendered[prompt.name].messages
        assert message.content.type == "text" and text == message.content.text


def test_each_platform_has_a_secret_key_and_a_base_url_setting_that_reach_the_server(
    manifest: dict[str, Any],
) -> None:
    options, env = manifest["user_config"], manifest["server"]["mcp_config"]["env"]
    for name in PLATFORMS:
        info = platform(name).info
        key, url = options[f"{name}_api_key"], options[f"{name}_base_url"]
        assert key["sensitive"] is True and key["type"] == "string" and not key.get("required")
        assert url["default"] == info.default_base_url and not url.get("sensitive")
        assert env[info.key_env_var] == f"${{user_config.{name}_api_key}}"
        assert env[info.base_url_env_var] == f"${{user_config.{name}_base_url}}"
    assert env["CALL_LOGS_REDACT"] == "${user_config.redact}" and options["redact"]["default"] is True
    assert env["CALL_LOGS_DB"] == "${user_config.index_path}"
    # Every option reaches the server, and only options are referred to.
    used = {value.removeprefix("${user_config.").removesuffix("}") for value in env.values()}
    assert used == set(options)
    # Only variables the server reads (the registry entry's test holds the same rule).
    suffixes = ("API_KEY", "BASE_URL")
    known = {f"CALL_LOGS_{field.upper()}" for field in Settings.model_fields}
    known |= {f"{platform(name).info.env_prefix}_{suffix}" for name in PLATFORMS for suffix in suffixes}
    assert set(env) <= known, set(env) - known


def test_a_host_filling_the_defaults_starts_a_server_with_nothing_configured_and_redaction_on(
    manifest: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    check = load("check")
    for name in list(os.environ):
        if name.startswith("CALL_LOGS_") or name.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(name)
    params = check.launch(tmp_path, manifest, {})
    assert params.command == "uv" and str(tmp_path) in params.args
    environ = {k: v for k, v in (params.env or {}).items() if k in manifest["server"]["mcp_config"]["env"]}
    assert "${" not in "".join(environ.values())
    for variable, value in environ.items():
        monkeypatch.setenv(variable, value)
    settings = Settings(providers=provider_configs_from_env())
    # Empty keys enable nothing; the empty index path is the default one, not "." .
    assert settings.providers == {}
    assert settings.redact is True and settings.demo is False and settings.db is None
    monkeypatch.setenv(platform(PLATFORMS[0]).info.key_env_var, "a-key")
    assert list(provider_configs_from_env()) == [PLATFORMS[0]]


def test_the_bundle_carries_the_sources_and_pyproject_and_no_environment(bundle: dict[str, bytes]) -> None:
    package = ROOT / "src" / "call_logs_mcp"
    sources = {
        p.relative_to(ROOT).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert sources <= set(bundle)
    assert bundle["pyproject.toml"] == (ROOT / "pyproject.toml").read_bytes()
    assert set(bundle) - sources == {"manifest.json", "icon.png", "pyproject.toml", "README.md"}
    assert not [name for name in bundle if name.startswith(("server/lib", "server/venv", ".venv"))]


def test_no_file_of_the_bundle_is_over_100_kb(bundle: dict[str, bytes]) -> None:
    sizes = {name: len(data) for name, data in bundle.items()}
    assert max(sizes.values()) <= 100_000, max(sizes.items(), key=lambda kv: kv[1])


def test_the_icon_is_a_512_pixel_png(bundle: dict[str, bytes], manifest: dict[str, Any]) -> None:
    icon = bundle[manifest["icon"]]
    assert icon[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", icon[16:26])
    assert (width, height, depth, colour) == (512, 512, 8, 6)  # RGBA


def test_the_manifest_is_version_0_4_uv_with_the_python_range_and_privacy_policies(
    manifest: dict[str, Any],
) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest["manifest_version"] == "0.4"
    assert manifest["server"]["type"] == "uv"
    assert (ROOT / manifest["server"]["entry_point"]).is_file()
    assert manifest["version"] == project["version"]
    python = manifest["compatibility"]["runtimes"]["python"]
    assert python.split(" ") == [project["requires-python"], "<4"]
    policies = [platform(name).info.privacy_policy for name in PLATFORMS]
    assert manifest["privacy_policies"] == [url for url in policies if url]
    assert all(url.startswith("https://") for url in manifest["privacy_policies"])


def test_the_python_range_keeps_an_upper_bound_pyproject_gives() -> None:
    python_range = load("build").python_range
    assert python_range(">=3.11") == ">=3.11 <4"
    assert python_range(">=3.11,<3.14") == ">=3.11 <3.14"
    assert python_range(">=3.11, !=3.12.0") == ">=3.11 !=3.12.0 <4"
