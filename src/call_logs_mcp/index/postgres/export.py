"""Reads for an export on PostgreSQL: the calls of a scope in the SQLite export's order, in
batches, from one snapshot (the reads of `index.export.ExportSnapshot`, on a PostgreSQL connection).

`PostgresExport` works on one connection inside one REPEATABLE READ, read-only transaction
(`Database.sync_transaction(snapshot=True)`): the field list, the count and every batch of calls
are of one state of the index, whatever a sync writes meanwhile. It is synchronous, as the CLI's
export is: the connection is its own, not the async pool's.

Order: by provider name, then start time (oldest first; unknown start times first), then id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from call_logs_mcp.errors import StoreError
from call_logs_mcp.index.accounts import AccountScope, Source
from call_logs_mcp.index.export import ExportFilter, ExportSnapshot, Row
from call_logs_mcp.index.postgres.db import SyncConnection
from call_logs_mcp.index.postgres.writes import pg_str
from call_logs_mcp.index.records import float_or_none
from call_logs_mcp.models import Call, Turn

_UNREADABLE = "A call in the local index could not be read; run a sync to refresh it."


def _call(conn: SyncConnection, rowid: int, body: str, *, with_turns: bool) -> Call:
    """The stored call (its transcript only `with_turns`). Raises StoreError when its stored
    body no longer validates."""
    try:
        if not with_turns:
            return Call.model_validate_json(body)
        turns = [
            Turn(speaker=speaker, text=text, offset_seconds=float_or_none(offset))
            for text, speaker, offset in conn.execute(
                'SELECT text, speaker, "offset" FROM turns WHERE call = %s AND NOT note ORDER BY seq',
                (rowid,),
            )
        ]
        return Call.model_validate({**json.loads(body), "transcript": turns})
    except (ValidationError, ValueError):
        raise StoreError(_UNREADABLE) from None


class PostgresExport(ExportSnapshot):
    """The calls of `filters` within `scope`, read on `conn` (one open snapshot transaction):
    the same reads and answers as `index.export.IndexExport`."""

    mark = "%s"

    def __init__(self, conn: SyncConnection, scope: AccountScope, filters: ExportFilter) -> None:
        sources = [
            Source(int(row[0]), name)
            for name, account in sorted(scope.items())
            if filters.provider is None or name == filters.provider
            for row in conn.execute(
                "SELECT id FROM sources WHERE account = %s AND provider = %s", (account, name)
            ).fetchall()
        ]
        super().__init__(sources, filters)
        self._conn = conn

    def _text(self, value: str) -> str | None:
        return pg_str(value)

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return self._conn.execute(sql.encode(), params).fetchall()

    def _call(self, rowid: int, body: str, *, with_turns: bool) -> Call:
        return _call(self._conn, rowid, body, with_turns=with_turns)
