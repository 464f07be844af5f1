"""`call-logs-mcp purge`: delete indexed calls (all, or older than N days)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from call_logs_mcp.cli import EXIT_OK

if TYPE_CHECKING:
    from call_logs_mcp.settings import Settings


async def purge_command(settings: Settings, older_than_days: int | None, *, out: TextIO | None = None) -> int:
    """`call-logs-mcp purge`: delete indexed calls (all, or older than N days); one line on `out`.

    Raises InvalidArgumentError for a negative age and StoreError when the index cannot be purged.
    """
    from call_logs_mcp.errors import InvalidArgumentError
    from call_logs_mcp.index.choose import open_store

    stream = sys.stdout if out is None else out
    if older_than_days is not None and older_than_days < 0:
        raise InvalidArgumentError("--older-than takes a number of days, 0 or more.")
    path = settings.db_path()
    if settings.database_url is None and not path.exists():
        print(f"No index at {path}; nothing to purge.", file=stream)
        return EXIT_OK
    store = await open_store(path, settings.database_url)
    try:
        deleted = await store.purge(older_than_days)
    finally:
        await store.aclose()
    scope = "" if older_than_days is None else f" older than {older_than_days} days"
    print(f"Purged {deleted} calls{scope} from {store.describe()}.", file=stream)
    if deleted:
        # The index is a cache of the platforms: what they still hold comes back with a sync.
        print(
            "The platforms still hold them: the next sync (`call-logs-mcp sync`, or the server's own "
            "as it starts) indexes every call they list again.",
            file=stream,
        )
    return EXIT_OK


async def purge_from_args(args: argparse.Namespace, settings: Settings) -> int:
    return await purge_command(settings, args.older_than)


# --- simulate ----------------------------------------------------------------------------------
