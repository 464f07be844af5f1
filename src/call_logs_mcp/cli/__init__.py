"""The sub-commands of `call-logs-mcp`, one module each; `__main__` parses and dispatches.

Start-up time matters (a client launches the server for each session and waits for its
`initialize` answer), so these modules import only the standard library at the top and everything
else inside the command that needs it. Exit codes: 0 success, 1 a check/sync failed, 2 a usage
or configuration error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Transports = Mapping[str, "httpx2.AsyncBaseTransport"]
