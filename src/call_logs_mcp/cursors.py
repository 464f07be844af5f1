"""Opaque cursors: base64url-encoded JSON with a kind tag.

Cursors carry no secrets and are not signed: a tampered cursor that still parses is just another
position. One that does not parse, or is of another kind, is an `InvalidArgumentError`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from call_logs_mcp.errors import InvalidArgumentError

_VERSION = 1
MAX_CURSOR_CHARS = 4_096
# What a cursor we issue can hold: a few levels of objects, integers SQLite can store.
_MAX_DEPTH = 6
_MAX_INT = 2**63 - 1


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether `value` is nested at most `_MAX_DEPTH` deep and holds only 64-bit integers."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_plain(item, depth + 1) for item in value.values())
    if isinstance(value, list):
        return all(_plain(item, depth + 1) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -_MAX_INT <= value <= _MAX_INT
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    return True


def encode_cursor(kind: str, state: dict[str, Any]) -> str:
    raw = json.dumps({"v": _VERSION, "k": kind, "s": state}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> dict[str, Any]:
    """The state inside `cursor`. Raises InvalidArgumentError for anything we did not issue."""
    error = InvalidArgumentError(
        "That cursor was not issued by this server for this listing; "
        "pass the next_cursor value from the previous answer unchanged, or omit it to start over."
    )
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise error
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise error from None
    if (
        not isinstance(data, dict)
        or not _plain(data)
        or data.get("v") != _VERSION
        or data.get("k") != kind
        or not isinstance(data.get("s"), dict)
    ):
        raise error
    state: dict[str, Any] = data["s"]
    return state
