"""Logging for the CLI: one stderr handler, never stdout (in stdio mode stdout is the wire).

`--log-level DEBUG` turns on our own debug logs only. Third-party loggers stay capped because
their debug output can carry message payloads (transcript text, phone numbers in query
strings): the SDK's transports log whole JSON-RPC frames at DEBUG, and the HTTP stack logs
request lines. Their warnings and errors still come through.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Final

from call_logs_mcp.errors import ConfigurationError

LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Floors for loggers whose DEBUG/INFO output may carry payloads or is noise on stderr.
_THIRD_PARTY_FLOORS: Final = {
    "mcp": logging.INFO,
    "httpx2": logging.WARNING,
    "httpcore": logging.WARNING,
    "httpcore2": logging.WARNING,
    "uvicorn.access": logging.WARNING,
    "sse_starlette": logging.INFO,
}

_HANDLER_NAME: Final = "call-logs-mcp-stderr"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at emit time (it may be replaced after set-up)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def parse_level(level: str) -> int:
    """The numeric level for a name such as "debug"; ConfigurationError for anything else."""
    name = level.strip().upper()
    if name not in LEVELS:
        raise ConfigurationError(f"Unknown log level {level!r}; use one of {', '.join(LEVELS)}.")
    value: int = getattr(logging, name)
    return value


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stderr at `level`.

    Idempotent: replaces the handler an earlier call installed and leaves other handlers (a test
    runner's capture) alone. Raises ConfigurationError for an unknown level name.
    """
    numeric = parse_level(level)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(numeric)
    for name, floor in _THIRD_PARTY_FLOORS.items():
        logging.getLogger(name).setLevel(max(numeric, floor))
