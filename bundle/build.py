"""Build the Claude Desktop bundle: `build/call-logs-mcp-<version>.mcpb`.

    python bundle/build.py [--out build]

An MCPB bundle (manifest 0.4, `server.type: "uv"`) is a zip of `manifest.json`, `icon.png`, the
package's sources (`src/call_logs_mcp/`), `pyproject.toml` and `README.md` (hatchling reads it to
build the package). No environment is vendored: the host installs the dependencies with uv from
`pyproject.toml`. Everything in the manifest that describes the server is read from the server:
the tools and prompts from a server built here, one `user_config` key and base URL per platform
in `PLATFORMS` (a new platform needs no edit here), privacy policies from the platform
descriptors, the version and Python range from `pyproject.toml`. The icon is the package's
`icon.svg`, rasterised here to a 512x512 PNG (hosts take PNG only).

Run with the project's environment (`.venv/bin/python bundle/build.py`): it imports the package.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import struct
import sys
import tomllib
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_BYTES = 100_000  # no single file of the bundle is larger
ICON_PX = 512

Span = tuple[float, float]


# --- the manifest --------------------------------------------------------------------------------


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


async def server_capabilities() -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The tools and prompts of the real server, as the manifest lists them (each prompt's text is
    the server's own, with `${arguments.x}` where the argument goes)."""
    import tempfile

    from mcp import Client

    from call_logs_mcp.server.app import build_server
    from call_logs_mcp.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        server = build_server(Settings(db=Path(tmp) / "calls.db"))
        async with Client(server, raise_exceptions=True) as client:
            tools = [
                {"name": t.name, "description": t.description or ""}
                for t in (await client.list_tools()).tools
            ]
            prompts = []
            for prompt in (await client.list_prompts()).prompts:
                names = [a.name for a in prompt.arguments or ()]
                rendered = await client.get_prompt(prompt.name, {n: f"${{arguments.{n}}}" for n in names})
                text = "\n\n".join(m.content.text for m in rendered.messages if m.content.type == "text")
                prompts.append(
                    {
                        "name": prompt.name,
                        "description": prompt.description or "",
                        "arguments": names,
                        "text": text,
                    }
                )
    return tools, prompts


def user_config() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The settings a user fills in when installing, and the environment they become."""
    from call_logs_mcp.providers import PLATFORMS, platform

    options: dict[str, dict[str, Any]] = {}
    env: dict[str, str] = {}
    for name in PLATFORMS:
        info = platform(name).info
        options[f"{name}_api_key"] = {
            "type": "string",
            "title": f"{info.display_name} API key",
            "description": f"Your {info.display_name} API key; leave empty if you do not use "
            f"{info.display_name}. Sent only to {info.display_name}.",
            "sensitive": True,
            "required": False,
            "default": "",
        }
        options[f"{name}_base_url"] = {
            "type": "string",
            "title": f"{info.display_name} API base URL",
            "description": f"Where {info.display_name}'s API is; change only for another region or a proxy.",
            "required": False,
            "default": info.default_base_url,
        }
        env[info.key_env_var] = f"${{user_config.{name}_api_key}}"
        env[info.base_url_env_var] = f"${{user_config.{name}_base_url}}"
    options["redact"] = {
        "type": "boolean",
        "title": "Mask personal data",
        "description": "Mask phone numbers, e-mails, card numbers, SSNs, dates of birth and member numbers "
        "in every answer.",
        "required": False,
        "default": True,
    }
    options["index_path"] = {
        "type": "string",
        "title": "Index file",
        "description": "Path of the local SQLite index of synced calls; empty: the user data directory.",
        "required": False,
        "default": "",
    }
    options["demo"] = {
        "type": "boolean",
        "title": "Demo data",
        "description": "Serve simulated platforms with generated calls instead of your accounts.",
        "required": False,
        "default": False,
    }
    env |= {
        "CALL_LOGS_REDACT": "${user_config.redact}",
        "CALL_LOGS_DB": "${user_config.index_path}",
        "CALL_LOGS_DEMO": "${user_config.demo}",
    }
    return options, env


def manifest(tools: Sequence[dict[str, str]], prompts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    from call_logs_mcp.providers import PLATFORMS, join_names, platform
    from call_logs_mcp.server.app import WEBSITE_URL

    project = _pyproject()["project"]
    names = [platform(name).info.display_name for name in PLATFORMS]
    options, env = user_config()
    return {
        "manifest_version": "0.4",
        "name": project["name"],
        "display_name": "Call logs",
        "version": project["version"],
        "description": f"Read, search and summarise the call logs of {join_names(names, 'and')}.",
        "long_description": (
            "Lists calls live from each platform you configure, indexes them locally (SQLite, full-text) "
            "for transcript search and campaign summaries, and masks personal data on the way out. "
            "Read-only: nothing is ever changed on a platform. Enter the API key of each platform you "
            "use, or switch on demo data to try it without an account."
        ),
        "author": {"name": project["authors"][0]["name"], "url": WEBSITE_URL},
        "repository": {"type": "git", "url": WEBSITE_URL},
        "homepage": WEBSITE_URL,
        "documentation": f"{WEBSITE_URL}#readme",
        "support": f"{WEBSITE_URL}/issues",
        "icon": "icon.png",
        "server": {
            "type": "uv",
            "entry_point": "src/call_logs_mcp/__main__.py",
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--project", "${__dirname}", "call-logs-mcp"],
                "env": env,
            },
        },
        "tools": list(tools),
        "prompts": list(prompts),
        "keywords": project["keywords"],
        "license": project["license"],
        "privacy_policies": [
            url for name in PLATFORMS if (url := platform(name).info.privacy_policy) is not None
        ],
        "compatibility": {
            "platforms": ["darwin", "linux", "win32"],
            "runtimes": {"python": python_range(project["requires-python"])},
        },
        "user_config": options,
    }


def python_range(requires_python: str) -> str:
    """pyproject's `>=3.11` as the manifest's space-separated range, `>=3.11 <4`."""
    parts = [part.strip() for part in requires_python.split(",") if part.strip()]
    if not any(part.startswith("<") for part in parts):
        parts.append("<4")
    return " ".join(parts)


# --- the icon: icon.svg rasterised ---------------------------------------------------------------


def _numbers(text: str) -> Iterator[str]:
    yield from re.findall(r"[A-Za-z]|-?(?:\d+\.?\d*|\.\d+)", text)


def path_points(d: str) -> list[list[tuple[float, float]]]:
    """The subpaths of an SVG path (M, L, H, V, C and Z, absolute or relative; curves flattened)."""
    tokens = list(_numbers(d))
    subpaths: list[list[tuple[float, float]]] = []
    x = y = 0.0
    command = ""
    i = 0

    def take(n: int) -> list[float]:
        nonlocal i
        values = [float(t) for t in tokens[i : i + n]]
        i += n
        return values

    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            if command in "Zz":
                if subpaths and subpaths[-1]:
                    x, y = subpaths[-1][0]
                continue
        relative = command.islower()
        ox, oy = (x, y) if relative else (0.0, 0.0)
        kind = command.upper()
        if kind == "M":
            px, py = take(2)
            x, y = ox + px, oy + py
            subpaths.append([(x, y)])
            command = "l" if relative else "L"
        elif kind == "L":
            px, py = take(2)
            x, y = ox + px, oy + py
            subpaths[-1].append((x, y))
        elif kind == "H":
            (px,) = take(1)
            x = ox + px
            subpaths[-1].append((x, y))
        elif kind == "V":
            (py,) = take(1)
            y = oy + py
            subpaths[-1].append((x, y))
        elif kind == "C":
            x1, y1, x2, y2, px, py = take(6)
            start = (x, y)
            c1, c2, end = (ox + x1, oy + y1), (ox + x2, oy + y2), (ox + px, oy + py)
            for step in range(1, 17):
                t = step / 16
                u = 1 - t
                subpaths[-1].append(
                    (
                        u**3 * start[0] + 3 * u * u * t * c1[0] + 3 * u * t * t * c2[0] + t**3 * end[0],
                        u**3 * start[1] + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t**3 * end[1],
                    )
                )
            x, y = end
        else:
            raise ValueError(f"the icon rasteriser does not draw SVG path command {command!r}")
    return subpaths


def _polygon_spans(points: Sequence[tuple[float, float]], y: float) -> list[Span]:
    xs: list[float] = []
    for (x0, y0), (x1, y1) in zip(points, [*points[1:], points[0]], strict=True):
        if (y0 <= y < y1) or (y1 <= y < y0):
            xs.append(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
    xs.sort()
    return list(zip(xs[::2], xs[1::2], strict=True))


def _shapes(svg: bytes) -> tuple[float, list[tuple[tuple[int, int, int], Any]]]:
    """(viewBox width, [(colour, y -> spans)]) in paint order."""
    root = ElementTree.fromstring(svg)
    size = float(root.attrib["viewBox"].split()[2])
    shapes: list[tuple[tuple[int, int, int], Any]] = []

    def colour(value: str) -> tuple[int, int, int]:
        value = value.lstrip("#")
        if len(value) == 3:
            value = "".join(c * 2 for c in value)
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)

    for element in root:
        tag = element.tag.rsplit("}", 1)[-1]
        a = element.attrib
        if tag == "rect":
            w, h, r = float(a["width"]), float(a["height"]), float(a.get("rx", 0))

            def rect(y: float, w: float = w, h: float = h, r: float = r) -> list[Span]:
                if not 0 <= y < h:
                    return []
                dy = max(r - y, y - (h - r), 0.0)
                dx = r - math.sqrt(max(r * r - dy * dy, 0.0)) if dy else 0.0
                return [(dx, w - dx)]

            shapes.append((colour(a["fill"]), rect))
        elif tag == "path" and a.get("fill", "none") != "none":
            polygons = path_points(a["d"])
            shapes.append(
                (colour(a["fill"]), lambda y, ps=polygons: [s for p in ps for s in _polygon_spans(p, y)])
            )
        elif tag == "path" and "stroke" in a:
            radius = float(a["stroke-width"]) / 2
            segments = []
            for points in path_points(a["d"]):
                for (x0, y0), (x1, y1) in itertools.pairwise(points):
                    if y0 != y1:
                        raise ValueError("the icon rasteriser draws horizontal strokes only")
                    segments.append((min(x0, x1), max(x0, x1), y0))

            def strokes(
                y: float, segments: list[tuple[float, float, float]] = segments, radius: float = radius
            ) -> list[Span]:
                spans = []
                for x0, x1, cy in segments:
                    if abs(y - cy) <= radius:
                        dx = math.sqrt(radius * radius - (y - cy) ** 2)
                        spans.append((x0 - dx, x1 + dx))
                return spans

            shapes.append((colour(a["stroke"]), strokes))
        else:
            raise ValueError(f"the icon rasteriser does not draw <{tag}>")
    return size, shapes


def rasterise(svg: bytes, px: int = ICON_PX, samples: int = 4) -> bytes:
    """`svg` (rect, filled paths, round-capped horizontal strokes) as RGBA rows, anti-aliased.
    Later shapes paint over earlier ones; shapes of one colour must not overlap each other."""
    size, shapes = _shapes(svg)
    scale = px / size
    out = bytearray()
    for row in range(px):
        covers = [[0.0] * (px + 1) for _ in shapes]
        for sub in range(samples):
            y = (row + (sub + 0.5) / samples) / scale
            for cover, (_, spans) in zip(covers, shapes, strict=True):
                for a, b in spans(y):
                    a, b = max(a * scale, 0.0), min(b * scale, float(px))
                    if b <= a:
                        continue
                    ia, ib = int(a), int(b)
                    if ia == ib:
                        cover[ia] += (b - a) / samples
                        continue
                    cover[ia] += (ia + 1 - a) / samples
                    for col in range(ia + 1, ib):
                        cover[col] += 1 / samples
                    cover[ib] += (b - ib) / samples
        out.append(0)  # PNG filter type: none
        for col in range(px):
            rgb = [0.0, 0.0, 0.0]
            alpha = 0.0
            for cover, (shade, _) in zip(covers, shapes, strict=True):
                c = min(cover[col], 1.0)
                rgb = [v * (1 - c) + s * c for v, s in zip(rgb, shade, strict=True)]
                alpha = alpha * (1 - c) + c
            straight = [round(v / alpha) if alpha else 0 for v in rgb]
            out += bytes([*straight, round(alpha * 255)])
    return bytes(out)


def png(rgba_rows: bytes, px: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", px, px, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rgba_rows, 9))
        + chunk(b"IEND", b"")
    )


def icon_png() -> bytes:
    from call_logs_mcp.server.icons import icon_svg

    return png(rasterise(icon_svg()), ICON_PX)


# --- the bundle ----------------------------------------------------------------------------------


def package_files() -> list[Path]:
    """The sources the bundle carries: the package (no caches), pyproject.toml, README.md."""
    package = ROOT / "src" / "call_logs_mcp"
    files = [
        p
        for p in sorted(package.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    ]
    return [ROOT / "pyproject.toml", ROOT / "README.md", *files]


def build(out: Path) -> Path:
    """Write the bundle under `out`; raises ValueError if any file would exceed MAX_FILE_BYTES."""
    import anyio

    tools, prompts = anyio.run(server_capabilities)
    entries: dict[str, bytes] = {
        "manifest.json": (json.dumps(manifest(tools, prompts), indent=2, ensure_ascii=False) + "\n").encode(),
        "icon.png": icon_png(),
    }
    for path in package_files():
        entries[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    too_big = {name: len(data) for name, data in entries.items() if len(data) > MAX_FILE_BYTES}
    if too_big:
        raise ValueError(f"files over {MAX_FILE_BYTES} bytes: {too_big}")
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"call-logs-mcp-{_pyproject()['project']['version']}.mcpb"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # reproducible
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output folder (default: build/)")
    args = parser.parse_args(argv)
    target = build(args.out)
    print(f"{target} ({target.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
