"""The layers import only downward: server → core → {index, output, providers} → models, errors.

Every import counts, including those inside functions and under TYPE_CHECKING: a lazy import is
still a dependency, and a cycle hidden behind TYPE_CHECKING is still a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "call_logs_mcp"

# layer → the layers (and leaf modules) it may import; a layer may always import itself.
LEAVES = {"errors", "models", "ids", "cursors", "listen", "__init__"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "ids": {"errors"},
    "listen": {"errors"},
    "cursors": {"errors"},
    "models": {"errors", "ids"},
    "__init__": set(),
    "logging_setup": set(LEAVES),
    "analytics": set(LEAVES),
    "providers": set(LEAVES) | {"simulators"},
    "settings": set(LEAVES) | {"providers.config"},
    "index": set(LEAVES) | {"analytics"},
    "output": set(LEAVES) | {"analytics", "index"},
    "simulators": set(LEAVES),
    "core": set(LEAVES) | {"analytics", "index", "output", "providers", "settings"},
    "demo": set(LEAVES) | {"providers", "simulators", "settings"},
    "server": set(LEAVES) | {"analytics", "core", "index", "output", "providers", "settings", "demo"},
    "cli": set(LEAVES)
    | {
        "analytics",
        "core",
        "index",
        "output",
        "providers",
        "settings",
        "demo",
        "server",
        "simulators",
        "logging_setup",
    },
    "__main__": {"__init__", "cli", "errors", "logging_setup", "providers"},
}


def layer_of(module: str) -> str:
    """`call_logs_mcp.index.store` → `index`; top-level modules are their own layer; a name
    defined in the package itself (`__version__`) belongs to `__init__`."""
    parts = module.split(".")
    if len(parts) < 2:
        return "__init__"
    top = PACKAGE / parts[1]
    return parts[1] if top.is_dir() or top.with_suffix(".py").exists() else "__init__"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    package = ".".join(relative.parts[:-1])  # a module's package, or an __init__'s own
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def project_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def allowed(importer: str, target: str) -> bool:
    src, dst = layer_of(importer), layer_of(target)
    if src == dst:
        return True
    rules = ALLOWED.get(src)
    assert rules is not None, f"{importer}: layer {src!r} has no rule in test_layers.ALLOWED"
    dotted = ".".join(target.split(".")[1:3])
    return dst in rules or dotted in rules


@pytest.mark.parametrize("path", project_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_the_layers_below_it(path: Path) -> None:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    importer = ".".join(p for p in relative.parts if p != "__init__") or "call_logs_mcp"
    if importer == "call_logs_mcp":
        importer = "call_logs_mcp.__init__"
    wrong = sorted(
        target
        for target in imports_of(path)
        if target.startswith("call_logs_mcp.") and not allowed(importer, target)
    )
    assert not wrong, f"{importer} imports across layers: {wrong}"


def test_only_the_server_package_imports_mcp() -> None:
    offenders = sorted(
        str(path.relative_to(PACKAGE))
        for path in project_modules()
        if any(name == "mcp" or name.startswith("mcp.") for name in imports_of(path))
        and path.relative_to(PACKAGE).parts[0] not in {"server", "cli"}
    )
    assert offenders == []


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    # The checker itself: an index module that reaches for the server is refused.
    assert not allowed("call_logs_mcp.index.store", "call_logs_mcp.server.app")
    assert not allowed("call_logs_mcp.index.sync", "call_logs_mcp.providers.base")
    assert not allowed("call_logs_mcp.settings", "call_logs_mcp.providers")
    assert allowed("call_logs_mcp.settings", "call_logs_mcp.providers.config")
    assert allowed("call_logs_mcp.core.service", "call_logs_mcp.index.store")


def test_building_the_server_loads_neither_the_index_nor_an_adapter_nor_a_simulator() -> None:
    # Start-up is what a client waits for at every session: the index, the adapters and the
    # simulators load on first use (bench/startup.py measures the time; this pins what loads).
    code = (
        "import sys\n"
        "from call_logs_mcp.cli.config import load_settings\n"
        "from call_logs_mcp.server.app import build_server\n"
        "build_server(load_settings({}))\n"
        "print(' '.join(m for m in sys.modules if m.startswith(('call_logs_mcp.index', "
        "'call_logs_mcp.simulators', 'phonenumbers')) or m.endswith(('.adapter', '.simulator'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == []
