"""Reads for an export: every call of a scope in a fixed order, in batches, from one snapshot.

`IndexExport` works on one reader connection inside one read transaction (`Database.snapshot`):
the extracted-data keys it reports and the calls it yields are of the same state of the index,
however long the export takes and whatever a sync writes meanwhile. Calls are read `batch_size`
at a time (keyset pagination on the `calls_recent` index), so memory does not grow with the scope.

Order: by provider name, then start time (oldest first; unknown start times first), then row id.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from call_logs_mcp.analytics import FieldKind
from call_logs_mcp.errors import StoreError
from call_logs_mcp.index.accounts import AccountScope, Source, scope_sources
from call_logs_mcp.index.records import load_call, sql_text, ts
from call_logs_mcp.models import Call, CallStatus

DEFAULT_BATCH = 500


@dataclass(frozen=True)
class ExportFilter:
    """Which calls to export: one provider (None: every provider of the scope), one campaign id,
    one status, and start times within [since, until] (either may be None)."""

    provider: str | None = None
    campaign_id: str | None = None
    status: CallStatus | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class ExtractedField:
    """An extracted-data key (dotted, as `analytics.extracted_leaves` names it) present in the
    exported calls, and the kinds of the values it holds there."""

    key: str
    kinds: frozenset[FieldKind]


@dataclass(frozen=True)
class ExportedCall:
    """A stored call; `has_details` is False when only its listing was stored (no transcript,
    extracted data or QA fetched yet)."""

    call: Call
    has_details: bool


def export_where(
    source: Source, filters: ExportFilter, *, mark: str = "?", text: Callable[[str], str | None] = sql_text
) -> tuple[str, list[Any]]:
    """`filters` on the call row `c` of `source`: SQL with `mark` for each parameter (SQLite's
    "?", PostgreSQL's "%s"), and the parameters, text made storable by `text`."""
    sql = f"c.source = {mark}"
    params: list[Any] = [source.id]
    if filters.campaign_id is not None:
        sql += f" AND c.campaign IN (SELECT id FROM campaigns WHERE source = {mark} AND campaign_id = {mark})"
        params += [source.id, text(filters.campaign_id)]
    if filters.status is not None:
        sql += f" AND c.status = {mark}"
        params.append(filters.status.value)
    if filters.since is not None:
        sql += f" AND c.started_at >= {mark}"
        params.append(ts(filters.since))
    if filters.until is not None:
        sql += f" AND c.started_at <= {mark}"
        params.append(ts(filters.until))
    return sql, params


Row = tuple[Any, ...]


def keyset_batches(read: Callable[[tuple[str, int] | None], list[Row]], batch_size: int) -> Iterator[Row]:
    """Rows (id, start, ...) read `batch_size` at a time in (start, id) order: `read(after)` gives
    the batch after the (start, id) of the last row (None: the first batch)."""
    after: tuple[str, int] | None = None
    while True:
        rows = read(after)
        yield from rows
        if len(rows) < batch_size:
            return
        after = (rows[-1][1], int(rows[-1][0]))


def _body(body: str) -> Call:
    try:
        return Call.model_validate_json(body)
    except ValidationError:
        raise StoreError("A call in the local index could not be read; run a sync to refresh it.") from None


class ExportSnapshot(ABC):
    """The calls of `filters` within `sources`, read from one snapshot of a store: the reads
    both stores share. A store says how it runs a statement on its snapshot's connection
    (`_rows`, with `mark` for each parameter and text made storable by `_text`) and how it reads
    a stored call (`_call`): `IndexExport` (SQLite), `postgres.export.PostgresExport`."""

    mark = "?"

    def __init__(self, sources: Sequence[Source], filters: ExportFilter) -> None:
        self._sources = list(sources)
        self._filters = filters

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]: ...

    @abstractmethod
    def _call(self, rowid: int, body: str, *, with_turns: bool) -> Call:
        """The stored call (its transcript only `with_turns`). Raises StoreError when its stored
        body no longer validates."""

    def _text(self, value: str) -> str | None:
        return sql_text(value)

    def _where(self, source: Source) -> tuple[str, list[Any]]:
        return export_where(source, self._filters, mark=self.mark, text=self._text)

    def count(self) -> int:
        """How many calls the export holds."""
        total = 0
        for source in self._sources:
            where, params = self._where(source)
            ((count,),) = self._rows(f"SELECT count(*) FROM calls c WHERE {where}", params)
            total += int(count)
        return total

    def fields(self) -> list[ExtractedField]:
        """The extracted-data keys holding a value in at least one exported call, sorted, each
        with the kinds of its values (from the `fields` table the index fills as it stores calls)."""
        kinds: dict[str, set[FieldKind]] = {}
        for source in self._sources:
            where, params = self._where(source)
            sql = f"SELECT DISTINCT f.key, f.kind FROM fields f JOIN calls c ON c.id = f.call WHERE {where}"
            for key, kind in self._rows(sql, params):
                kinds.setdefault(key, set()).add(FieldKind(kind))
        return [ExtractedField(key, frozenset(kinds[key])) for key in sorted(kinds)]

    def calls(self, *, with_turns: bool, batch_size: int = DEFAULT_BATCH) -> Iterator[ExportedCall]:
        """Every exported call in export order, `batch_size` per query; transcripts are read only
        `with_turns`. Raises StoreError when a stored call can no longer be read."""
        mark = self.mark
        for source in self._sources:
            where, params = self._where(source)

            def read(
                after: tuple[str, int] | None, where: str = where, params: list[Any] = params
            ) -> list[Row]:
                sql = (
                    "SELECT c.id, c.started_at, c.has_details, b.body FROM calls c "
                    f"JOIN call_bodies b ON b.id = c.id WHERE {where}"
                )
                if after is not None:
                    sql += f" AND (c.started_at, c.id) > ({mark}, {mark})"
                sql += f" ORDER BY c.started_at, c.id LIMIT {mark}"
                return self._rows(sql, [*params, *(after or ()), batch_size])

            for rowid, _started, details, body in keyset_batches(read, batch_size):
                yield ExportedCall(self._call(int(rowid), body, with_turns=with_turns), bool(details))


class IndexExport(ExportSnapshot):
    """The calls of `filters` within `scope`, read on `conn` (one open read transaction)."""

    def __init__(self, conn: sqlite3.Connection, scope: AccountScope, filters: ExportFilter) -> None:
        super().__init__(scope_sources(conn, scope, filters.provider), filters)
        self._conn = conn

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return list(self._conn.execute(sql, params).fetchall())

    def _call(self, rowid: int, body: str, *, with_turns: bool) -> Call:
        return load_call(self._conn, rowid, body) if with_turns else _body(body)
