"""Reads for an export on PostgreSQL: the calls of a scope in the SQLite export's order, in
batches, from one snapshot (as `index.export`, whose filter and row types it shares).

`PostgresExport` works on one connection inside one REPEATABLE READ, read-only transaction
(`Database.sync_transaction(snapshot=True)`): the field list, the count and every batch of calls
are of one state of the index, whatever a sync writes meanwhile. It is synchronous, as the CLI's
export is: the connection is its own, not the async pool's.

Order: by provider name, then start time (oldest first; unknown start times first), then id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from call_logs_mcp.analytics import FieldKind
from call_logs_mcp.errors import StoreError
from call_logs_mcp.index.accounts import AccountScope, Source
from call_logs_mcp.index.export import (
    DEFAULT_BATCH,
    ExportedCall,
    ExportFilter,
    ExtractedField,
    Row,
    export_where,
    keyset_batches,
)
from call_logs_mcp.index.postgres.db import SyncConnection
from call_logs_mcp.index.postgres.writes import pg_str
from call_logs_mcp.index.records import float_or_none
from call_logs_mcp.models import Call, Turn

_UNREADABLE = "A call in the local index could not be read; run a sync to refresh it."


def _where(source: Source, filters: ExportFilter) -> tuple[str, list[Any]]:
    return export_where(source, filters, mark="%s", text=pg_str)


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


class PostgresExport:
    """The calls of `filters` within `scope`, read on `conn` (one open snapshot transaction):
    the same methods and answers as `index.export.IndexExport`."""

    def __init__(self, conn: SyncConnection, scope: AccountScope, filters: ExportFilter) -> None:
        self._conn = conn
        self._filters = filters
        self._sources = [
            Source(int(row[0]), name)
            for name, account in sorted(scope.items())
            if filters.provider is None or name == filters.provider
            for row in conn.execute(
                "SELECT id FROM sources WHERE account = %s AND provider = %s", (account, name)
            ).fetchall()
        ]

    def count(self) -> int:
        """How many calls the export holds."""
        total = 0
        for source in self._sources:
            where, params = _where(source, self._filters)
            row = self._conn.execute(
                f"SELECT count(*) FROM calls c WHERE {where}".encode(), params
            ).fetchone()
            total += int(row[0]) if row is not None else 0
        return total

    def fields(self) -> list[ExtractedField]:
        """The extracted-data keys holding a value in at least one exported call, sorted, each
        with the kinds of its values."""
        kinds: dict[str, set[FieldKind]] = {}
        for source in self._sources:
            where, params = _where(source, self._filters)
            sql = f"SELECT DISTINCT f.key, f.kind FROM fields f JOIN calls c ON c.id = f.call WHERE {where}"
            for key, kind in self._conn.execute(sql.encode(), params):
                kinds.setdefault(key, set()).add(FieldKind(kind))
        return [ExtractedField(key, frozenset(kinds[key])) for key in sorted(kinds)]

    def calls(self, *, with_turns: bool, batch_size: int = DEFAULT_BATCH) -> Iterator[ExportedCall]:
        """Every exported call in export order, `batch_size` per query; transcripts are read only
        `with_turns`. Raises StoreError when a stored call can no longer be read."""
        for source in self._sources:
            where, params = _where(source, self._filters)

            def read(
                after: tuple[str, int] | None, where: str = where, params: list[Any] = params
            ) -> list[Row]:
                sql = (
                    "SELECT c.id, c.started_at, c.has_details, b.body FROM calls c "
                    f"JOIN call_bodies b ON b.id = c.id WHERE {where}"
                )
                if after is not None:
                    sql += " AND (c.started_at, c.id) > (%s, %s)"
                sql += " ORDER BY c.started_at, c.id LIMIT %s"
                return self._conn.execute(sql.encode(), [*params, *(after or ()), batch_size]).fetchall()

            for rowid, _started, details, body in keyset_batches(read, batch_size):
                yield ExportedCall(_call(self._conn, int(rowid), body, with_turns=with_turns), bool(details))
