"""server.json (the MCP Registry entry) stays valid and in step with the package."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema

import call_logs_mcp
from call_logs_mcp.providers import platform
from call_logs_mcp.settings import Settings
from conftest import PLATFORM_NAMES, key_env

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((Path(__file__).parent / "data" / "mcp-registry-server.schema.json").read_text())
SERVER = json.loads((ROOT / "server.json").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pypi_package() -> dict[str, Any]:
    packages = [p for p in SERVER["packages"] if p["registryType"] == "pypi"]
    assert len(packages) == 1
    package: dict[str, Any] = packages[0]
    return package


def test_server_json_is_valid_against_the_registry_schema() -> None:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(SERVER), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_the_schema_copy_rejects_a_server_json_without_a_version() -> None:
    broken = {k: v for k, v in SERVER.items() if k != "version"}
    validator = jsonschema.Draft7Validator(SCHEMA)
    assert not validator.is_valid(broken)


def test_server_json_versions_equal_the_package_version() -> None:
    version = call_logs_mcp.__version__
    assert PYPROJECT["project"]["version"] == version
    assert SERVER["version"] == version
    assert _pypi_package()["version"] == version


def test_server_json_names_the_pypi_package_served_over_stdio() -> None:
    package = _pypi_package()
    assert package["identifier"] == PYPROJECT["project"]["name"] == "call-logs-mcp"
    assert package["transport"] == {"type": "stdio"}
    assert "call-logs-mcp" in PYPROJECT["project"]["scripts"]


def test_every_api_key_variable_is_listed_and_marked_secret() -> None:
    variables = {v["name"]: v for v in _pypi_package()["environmentVariables"]}
    for name in PLATFORM_NAMES:
        key = key_env(name)
        assert variables[key].get("isSecret") is True, key
    secret_like = [n for n in variables if n.endswith(("_KEY", "_TOKEN"))]
    assert all(variables[n].get("isSecret") is True for n in secret_like)


def test_every_listed_variable_is_one_the_server_reads() -> None:
    known = {f"CALL_LOGS_{field.upper()}" for field in Settings.model_fields if field != "providers"}
    suffixes = ("API_KEY", "BASE_URL", "AUTH_HEADER", "RATE_LIMIT", "MAX_CONCURRENCY", "TIMEOUT")
    known |= {f"{platform(name).info.env_prefix}_{suffix}" for name in PLATFORM_NAMES for suffix in suffixes}
    listed = {v["name"] for v in _pypi_package()["environmentVariables"]}
    assert listed <= known, listed - known


def test_the_title_and_description_name_every_platform(platform_name: str) -> None:
    display_name = platform(platform_name).info.display_name
    assert display_name in SERVER["title"]
    assert display_name in SERVER["description"]


def test_the_readme_carries_the_registry_name_marker() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"<!-- mcp-name: {SERVER['name']} -->" in readme


def test_the_registry_entry_links_the_repository_the_server_names_and_its_own_icon() -> None:
    from call_logs_mcp.server.app import WEBSITE_URL

    assert SERVER["websiteUrl"] == SERVER["repository"]["url"] == WEBSITE_URL
    assert SERVER["repository"]["source"] == "github"
    raw = WEBSITE_URL.replace("https://github.com/", "https://raw.githubusercontent.com/") + "/main/"
    for icon in SERVER["icons"]:
        assert icon["src"].startswith(raw), icon["src"]
        path = ROOT / icon["src"].removeprefix(raw)
        assert path.is_file(), f"server.json's icon {icon['src']} is not a file of this repository"
        assert icon["mimeType"] == "image/svg+xml" and path.suffix == ".svg"
