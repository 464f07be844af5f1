"""The server's icon (`icon.svg`, beside this module), as the MCP `Icon` the server and every tool
carry: an SVG `data:` URI, so no host fetches anything to show it."""

from __future__ import annotations

import base64
from functools import cache
from importlib.resources import files

from mcp.types import Icon

SVG_MIME = "image/svg+xml"


def icon_svg() -> bytes:
    """The icon's SVG source, as shipped in the package."""
    return files("call_logs_mcp.server").joinpath("icon.svg").read_bytes()


@cache
def icons() -> list[Icon]:
    """The icon list of the server and of each tool (one scalable SVG)."""
    data = base64.b64encode(icon_svg()).decode("ascii")
    return [Icon(src=f"data:{SVG_MIME};base64,{data}", mime_type=SVG_MIME, sizes=["any"])]
