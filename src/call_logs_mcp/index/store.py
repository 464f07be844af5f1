"""The local call index: what is stored, and every query over it.

Everything is scoped by platform account. `account_id(config)` is a keyed hash of the API key and
base URL; callers pass an `AccountScope` ({provider: account}) to every read, and rows stored
under another account (another key, or another base URL) are simply not reachable. Calls are
stored as the platform returned them (unredacted: redaction happens on output).

All public methods are async and run their SQLite work in a worker thread; `purge` is also
offered synchronously for the CLI.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from call_logs_mcp import analytics
from call_logs_mcp.analytics import (
    CampaignFacts,
    CampaignSummary,
    FieldFacts,
    FieldKind,
    NotableCandidate,
    ValueStats,
)
from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import InvalidArgumentError, StoreError
from call_logs_mcp.index.db import Database
from call_logs_mcp.index.search import (
    ELLIPSIS_MARK,
    HL_CLOSE,
    HL_OPEN,
    SNIPPET_TOKENS,
    SearchHit,
    SearchResult,
    make_snippet,
    parse_query,
)
from call_logs_mcp.models import (
    Call,
    CallStatus,
    CallSummary,
    PlatformTotals,
    Speaker,
    Turn,
    call_uri,
)

logger = logging.getLogger(__name__)

# Row ids carry order. A call's id is ((LAST_MINUTE - start minute) << SEQ_BITS | sequence), so
# ids *decrease* with start time: syncs list newest first, so inserts append to every B-tree
# (dense pages) and FTS5 sees ascending rowids (it flushes a segment whenever they go down). More
# than 1,024 calls starting in one minute spill into the ranges of the minutes before
# (SPILL_MINUTES bounds how far). A turn's FTS rowid is
#     call id << CALL_SHIFT | status code << STATUS_SHIFT | speaker code << TURN_BITS | turn index
# so a call's turns are one rowid range, "the newest matches" is a rowid range, a date filter
# narrows the scan by rowid, and status and speaker filters are arithmetic on the rowid (no
# content read, no join). A status change rewrites the call's turns (any change does).
SEQ_BITS = 10
TURN_BITS = 16
SPEAKER_BITS = 2
STATUS_BITS = 3
STATUS_SHIFT = TURN_BITS + SPEAKER_BITS
CALL_SHIFT = STATUS_SHIFT + STATUS_BITS
MAX_TURNS = (1 << TURN_BITS) - 1
LAST_MINUTE = (1 << 27) - 1  # year 2225
SPILL_MINUTES = 60
# Very common words match hundreds of thousands of turns; bm25 costs about a microsecond per
# match, so ranking is limited to the RANK_WINDOW newest matching turns (counts stay exact).
RANK_WINDOW = 5_000
SPEAKER_CODES = {"agent": 0, "customer": 1, "system": 2}
STATUS_CODES = {status.value: code for code, status in enumerate(CallStatus)}
MAX_SEARCH_LIMIT = 100
MAX_LIST_LIMIT = 200

_STATE_COLUMNS = (
    "s.campaign_id, s.since, s.until, s.watermark, s.last_synced_at, s.last_attempt_at, s.platform_calls, "
    "s.platform_duration, s.platform_cost, s.platform_currency, s.status_totals"
)

AccountScope = Mapping[str, str]
"""{provider name: account id} — what a caller may see."""


# --- time -----------------------------------------------------------------------------------


def ts(value: datetime | None) -> str:
    """Fixed-width, sortable UTC text ('' for unknown)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


# --- records and results --------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """A call to store. `has_details`: it came from a detail request (or a listing that
    carries details), so transcript/extracted data are what the platform has. `list_hash`:
    the fingerprint of how the call last appeared in a listing (the sync engine's change test)."""

    call: Call
    has_details: bool = True
    list_hash: str | None = None


@dataclass(frozen=True)
class StoredState:
    """What the sync engine needs to know about a stored call."""

    list_hash: str | None
    status: CallStatus
    has_details: bool
    started_at: datetime | None


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UpsertCounts(_Out):
    added: int = 0
    updated: int = 0
    unchanged: int = 0


class SyncState(_Out):
    """Per (account, provider, scope) bookkeeping of the sync engine."""

    scope: str
    campaign_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    watermark: datetime | None = None
    last_synced_at: datetime | None = None
    last_attempt_at: datetime | None = None
    platform: PlatformTotals | None = None
    status_totals: dict[str, int] | None = None


class CampaignListing(_Out):
    provider: str
    campaign_id: str | None = Field(description="None groups calls whose campaign is not known")
    name: str | None = None
    indexed_calls: int
    platform_calls: int | None = None
    first_call_at: datetime | None = None
    last_call_at: datetime | None = None
    last_synced_at: datetime | None = None


class RecentCalls(_Out):
    calls: list[CallSummary]
    next_cursor: str | None = None


class IndexStats(_Out):
    calls: dict[str, int]
    turns: int
    file_bytes: int


# --- helpers ---------------------------------------------------------------------------------


def _content_hash(call: Call, has_details: bool) -> str:
    raw = json.dumps(call.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{int(has_details)}|{raw}".encode()).hexdigest()[:32]


_SURROGATES = re.compile("[\ud800-\udfff]")


def _text(value: str | None) -> str | None:
    """`value` as SQLite can store it: unpaired surrogates (possible in JSON from a platform)
    become U+FFFD instead of failing the whole batch."""
    if value is None or value.isascii():
        return value
    return _SURROGATES.sub("\ufffd", value)


def _str(value: str | None) -> str:
    return _text(value) or ""


def _turn_range(call_rowid: int) -> tuple[int, int]:
    low = call_rowid << CALL_SHIFT
    return low, ((call_rowid + 1) << CALL_SHIFT) - 1


def _turn_rowid(call_rowid: int, status: CallStatus, speaker: str, index: int) -> int:
    return (
        call_rowid << CALL_SHIFT
        | STATUS_CODES[status.value] << STATUS_SHIFT
        | SPEAKER_CODES.get(speaker, 2) << TURN_BITS
        | index
    )


def _band(started: datetime | None) -> int:
    """LAST_MINUTE minus the start minute: smaller for newer calls (unknown start: oldest)."""
    minute = 0 if started is None else int(started.timestamp() // 60)
    return LAST_MINUTE - min(LAST_MINUTE, max(0, minute))


def _fits(call_rowid: int, started: datetime | None) -> bool:
    band = _band(started)
    return band <= call_rowid >> SEQ_BITS < band + SPILL_MINUTES


def _allocate_id(conn: sqlite3.Connection, started: datetime | None) -> int:
    band = _band(started)
    while True:
        low = band << SEQ_BITS
        high = low + (1 << SEQ_BITS) - 1
        (top,) = conn.execute("SELECT max(id) FROM calls WHERE id BETWEEN ? AND ?", (low, high)).fetchone()
        if top is None:
            return low
        if top < high:
            return int(top) + 1
        band += 1


def _delete_call(conn: sqlite3.Connection, rowid: int) -> None:
    conn.execute("DELETE FROM turns WHERE rowid BETWEEN ? AND ?", _turn_range(rowid))
    conn.execute("DELETE FROM fields WHERE call = ?", (rowid,))
    conn.execute("DELETE FROM call_bodies WHERE id = ?", (rowid,))
    conn.execute("DELETE FROM calls WHERE id = ?", (rowid,))


def _placeholders(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class _Source:
    id: int
    provider: str


class IndexStore:
    """The local index. Open with `IndexStore.open(path)`, close with
    `close()` (or use it as an async context manager)."""

    def __init__(self, db: Database, *, rank_window: int = RANK_WINDOW) -> None:
        self.db = db
        self.rank_window = max(1, rank_window)
        self._source_ids: dict[tuple[str, str], int] = {}

    @classmethod
    def open(cls, path: Path | str, *, rank_window: int = RANK_WINDOW) -> IndexStore:
        """Open (create, migrate) the index at `path`. `rank_window`: searches matching more
        turns than this rank only the newest this many (counts stay exact).

        Raises StoreError when the file cannot be created or read as an index."""
        return cls(Database.open(Path(path)), rank_window=rank_window)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        self.db.close()

    async def __aenter__(self) -> IndexStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # --- sources & campaigns ------------------------------------------------------------------

    def _source_id(self, conn: sqlite3.Connection, account: str, provider: str) -> int:
        key = (account, provider)
        cached = self._source_ids.get(key)
        if cached is not None:
            return cached
        row = conn.execute(
            "SELECT id FROM sources WHERE account = ? AND provider = ?", (account, provider)
        ).fetchone()
        if row is None:
            cur = conn.execute("INSERT INTO sources (account, provider) VALUES (?, ?)", (account, provider))
            assert cur.lastrowid is not None
            source = int(cur.lastrowid)
        else:
            source = int(row[0])
        self._source_ids[key] = source
        return source

    @staticmethod
    def _scope_sources(
        conn: sqlite3.Connection, scope: AccountScope, provider: str | None = None
    ) -> list[_Source]:
        pairs = [(p, a) for p, a in sorted(scope.items()) if provider is None or p == provider]
        sources: list[_Source] = []
        for name, account in pairs:
            row = conn.execute(
                "SELECT id FROM sources WHERE account = ? AND provider = ?", (account, name)
            ).fetchone()
            if row is not None:
                sources.append(_Source(int(row[0]), name))
        return sources

    @staticmethod
    def _campaign_ref(conn: sqlite3.Connection, source: int, campaign_id: str) -> int:
        row = conn.execute(
            "SELECT id FROM campaigns WHERE source = ? AND campaign_id = ?", (source, campaign_id)
        ).fetchone()
        if row is not None:
            return int(row[0])
        cur = conn.execute("INSERT INTO campaigns (source, campaign_id) VALUES (?, ?)", (source, campaign_id))
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    # --- writes -------------------------------------------------------------------------------

    async def upsert(self, account: str, provider: str, records: Sequence[CallRecord]) -> UpsertCounts:
        """Store `records` in one transaction. A record equal to what is stored is left alone;
        a summary-only record never replaces stored details; a record without a campaign keeps
        the campaign already known. Raises StoreError."""
        if not records:
            return UpsertCounts()
        return await self.db.write(
            lambda conn: self.upsert_sync(conn, account, provider, records), "saving calls"
        )

    def upsert_sync(
        self, conn: sqlite3.Connection, account: str, provider: str, records: Sequence[CallRecord]
    ) -> UpsertCounts:
        source = self._source_id(conn, account, provider)
        now = ts(_now())
        added = updated = unchanged = 0
        campaign_names: dict[int, str] = {}
        for record in records:
            call = record.call
            if call.provider != provider:
                raise StoreError(f"A {call.provider} call cannot be stored under {provider}.")
            call_id = _text(call.call_id)
            row = conn.execute(
                "SELECT id, content_hash, has_details, campaign, list_hash FROM calls "
                "WHERE source = ? AND call_id = ?",
                (source, call_id),
            ).fetchone()
            if row is not None:
                rowid, _hash, stored_details, stored_campaign, stored_list_hash = row
                if stored_details and not record.has_details:
                    if record.list_hash and record.list_hash != stored_list_hash:
                        conn.execute("UPDATE calls SET list_hash = ? WHERE id = ?", (record.list_hash, rowid))
                    unchanged += 1
                    continue
                if call.campaign_id is None and stored_campaign:
                    name = campaign_names.get(stored_campaign)
                    if name is None:
                        (name,) = conn.execute(
                            "SELECT campaign_id FROM campaigns WHERE id = ?", (stored_campaign,)
                        ).fetchone()
                        campaign_names[stored_campaign] = name
                    call = call.model_copy(update={"campaign_id": name})
            campaign = self._campaign_ref(conn, source, _str(call.campaign_id)) if call.campaign_id else 0
            content = _content_hash(call, record.has_details)
            if row is not None and row[1] == content:
                if record.list_hash and record.list_hash != row[4]:
                    conn.execute("UPDATE calls SET list_hash = ? WHERE id = ?", (record.list_hash, row[0]))
                unchanged += 1
                continue
            turns = call.transcript[:MAX_TURNS]
            if len(call.transcript) > MAX_TURNS:
                logger.warning(
                    "a %s call has more than %d turns; the rest is not indexed", provider, MAX_TURNS
                )
            values = (
                campaign,
                call.status.value,
                ts(call.started_at),
                call.duration_seconds,
                call.cost,
                _text(call.currency),
                call.qa_score,
                _text(call.ended_reason),
                int(record.has_details),
                len(turns),
                record.list_hash,
                content,
                now,
            )
            body = _str(
                json.dumps(
                    call.model_dump(mode="json", exclude={"transcript"}),
                    separators=(",", ":"),
                    ensure_ascii=False,
                )
            )
            if row is not None and not _fits(int(row[0]), call.started_at):
                # The start time moved to another minute: re-key the call so its id stays in order.
                _delete_call(conn, int(row[0]))
                updated += 1
                row = None
            elif row is None:
                added += 1
            if row is None:
                rowid = _allocate_id(conn, call.started_at)
                conn.execute(
                    "INSERT INTO calls (campaign, status, started_at, duration, cost, currency, qa_score, "
                    "ended_reason, has_details, turn_count, list_hash, content_hash, synced_at, source, "
                    "call_id, id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, source, call_id, rowid),
                )
                conn.execute("INSERT INTO call_bodies (id, body) VALUES (?, ?)", (rowid, body))
            else:
                rowid = int(row[0])
                conn.execute(
                    "UPDATE calls SET campaign = ?, status = ?, started_at = ?, duration = ?, cost = ?, "
                    "currency = ?, qa_score = ?, ended_reason = ?, has_details = ?, turn_count = ?, "
                    "list_hash = coalesce(?, list_hash), content_hash = ?, synced_at = ? WHERE id = ?",
                    (*values, rowid),
                )
                conn.execute("UPDATE call_bodies SET body = ? WHERE id = ?", (body, rowid))
                conn.execute("DELETE FROM turns WHERE rowid BETWEEN ? AND ?", _turn_range(rowid))
                conn.execute("DELETE FROM fields WHERE call = ?", (rowid,))
                updated += 1
            # In rowid order (grouped by speaker): FTS5 flushes a segment when rowids go down.
            conn.executemany(
                "INSERT INTO turns (rowid, text, speaker, offset) VALUES (?, ?, ?, ?)",
                sorted(
                    (
                        _turn_rowid(rowid, call.status, turn.speaker, i),
                        _text(turn.text),
                        turn.speaker,
                        turn.offset_seconds,
                    )
                    for i, turn in enumerate(turns)
                ),
            )
            started = ts(call.started_at)
            conn.executemany(
                "INSERT OR IGNORE INTO fields (source, campaign, key, started_at, call, kind, num, txt) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (source, campaign, _text(v.key), started, rowid, int(v.kind), v.num, _str(v.text))
                    for v in analytics.flatten_extracted(call.extracted_data)
                ],
            )
        return UpsertCounts(added=added, updated=updated, unchanged=unchanged)

    async def stored_states(
        self, account: str, provider: str, call_ids: Sequence[str]
    ) -> dict[str, StoredState]:
        """What is stored about each of `call_ids` (absent ids are not in the result)."""
        if not call_ids:
            return {}

        def run(conn: sqlite3.Connection) -> dict[str, StoredState]:
            row = conn.execute(
                "SELECT id FROM sources WHERE account = ? AND provider = ?", (account, provider)
            ).fetchone()
            if row is None:
                return {}
            found: dict[str, StoredState] = {}
            ids = list(dict.fromkeys(_str(call_id) for call_id in call_ids))
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for call_id, list_hash, status, details, started in conn.execute(
                    "SELECT call_id, list_hash, status, has_details, started_at FROM calls "
                    f"WHERE source = ? AND call_id IN ({_placeholders(chunk)})",
                    (row[0], *chunk),
                ):
                    found[call_id] = StoredState(
                        list_hash, CallStatus(status), bool(details), parse_ts(started)
                    )
            return found

        return await self.db.read(run, "reading call states")

    async def calls_to_recheck(
        self,
        account: str,
        provider: str,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10_000,
    ) -> list[str]:
        """Ids of stored calls in the scope that are still in progress or lack details."""
        campaign_id = _text(campaign_id)

        def run(conn: sqlite3.Connection) -> list[str]:
            row = conn.execute(
                "SELECT id FROM sources WHERE account = ? AND provider = ?", (account, provider)
            ).fetchone()
            if row is None:
                return []
            sql = "SELECT c.call_id FROM calls c WHERE c.source = ? AND (c.status = ? OR c.has_details = 0)"
            params: list[Any] = [row[0], CallStatus.IN_PROGRESS.value]
            if campaign_id is not None:
                sql += " AND c.campaign IN (SELECT id FROM campaigns WHERE source = ? AND campaign_id = ?)"
                params += [row[0], campaign_id]
            if since is not None:
                sql += " AND c.started_at >= ?"
                params.append(ts(since))
            if until is not None:
                sql += " AND c.started_at <= ?"
                params.append(ts(until))
            sql += " ORDER BY c.started_at DESC LIMIT ?"
            params.append(limit)
            return [r[0] for r in conn.execute(sql, params)]

        return await self.db.read(run, "reading calls to re-check")

    async def load_sync_state(self, account: str, provider: str, scope: str) -> SyncState | None:
        def run(conn: sqlite3.Connection) -> SyncState | None:
            row = conn.execute(
                f"SELECT {_STATE_COLUMNS} FROM sync_state s JOIN sources src ON src.id = s.source "
                "WHERE src.account = ? AND src.provider = ? AND s.scope = ?",
                (account, provider, scope),
            ).fetchone()
            return None if row is None else _sync_state(scope, row)

        return await self.db.read(run, "reading sync state")

    async def save_sync_state(self, account: str, provider: str, state: SyncState) -> None:
        platform = state.platform

        def run(conn: sqlite3.Connection) -> None:
            source = self._source_id(conn, account, provider)
            conn.execute(
                "INSERT OR REPLACE INTO sync_state (source, scope, campaign_id, since, until, watermark, "
                "last_synced_at, last_attempt_at, platform_calls, platform_duration, platform_cost, "
                "platform_currency, status_totals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    source,
                    state.scope,
                    state.campaign_id,
                    ts(state.since) or None,
                    ts(state.until) or None,
                    ts(state.watermark) or None,
                    ts(state.last_synced_at) or None,
                    ts(state.last_attempt_at) or None,
                    platform.calls if platform else None,
                    platform.duration_seconds if platform else None,
                    platform.cost if platform else None,
                    platform.currency if platform else None,
                    json.dumps(state.status_totals) if state.status_totals is not None else None,
                ),
            )

        await self.db.write(run, "saving sync state")

    # --- reads --------------------------------------------------------------------------------

    async def get_call(self, scope: AccountScope, provider: str, call_id: str) -> Call | None:
        """The stored call, or None when this account has not indexed it."""
        call_id = _str(call_id)

        def run(conn: sqlite3.Connection) -> Call | None:
            for source in self._scope_sources(conn, scope, provider):
                row = conn.execute(
                    "SELECT c.id, b.body FROM calls c JOIN call_bodies b ON b.id = c.id "
                    "WHERE c.source = ? AND c.call_id = ?",
                    (source.id, call_id),
                ).fetchone()
                if row is not None:
                    return _load_call(conn, int(row[0]), row[1])
            return None

        return await self.db.read(run, "reading a call")

    async def recent_calls(
        self,
        scope: AccountScope,
        *,
        provider: str | None = None,
        campaign_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RecentCalls:
        """Indexed calls, newest first, paginated with an opaque cursor."""
        campaign_id = _text(campaign_id)
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidArgumentError(f"limit must be between 1 and {MAX_LIST_LIMIT}.")
        after: tuple[str, int] | None = None
        if cursor is not None:
            state = decode_cursor("recent", cursor)
            started, rowid = state.get("s"), state.get("i")
            if not isinstance(started, str) or not isinstance(rowid, int):
                raise InvalidArgumentError(
                    "That cursor is not valid for this listing; omit it to start over."
                )
            after = (started, rowid)

        def run(conn: sqlite3.Connection) -> RecentCalls:
            sources = self._scope_sources(conn, scope, provider)
            if not sources:
                return RecentCalls(calls=[])
            sql = (
                "SELECT c.id, c.started_at, b.body FROM calls c JOIN call_bodies b ON b.id = c.id "
                f"WHERE c.source IN ({_placeholders(sources)})"
            )
            params: list[Any] = [s.id for s in sources]
            if campaign_id is not None:
                sql += (
                    " AND c.campaign IN (SELECT id FROM campaigns "
                    f"WHERE source IN ({_placeholders(sources)}) AND campaign_id = ?)"
                )
                params += [*(s.id for s in sources), campaign_id]
            if after is not None:
                sql += " AND (c.started_at, c.id) < (?, ?)"
                params += list(after)
            sql += " ORDER BY c.started_at DESC, c.id DESC LIMIT ?"
            params.append(limit + 1)
            rows = conn.execute(sql, params).fetchall()
            calls = [_summary_from_body(body) for _id, _started, body in rows[:limit]]
            next_cursor = None
            if len(rows) > limit:
                last = rows[limit - 1]
                next_cursor = encode_cursor("recent", {"s": last[1], "i": int(last[0])})
            return RecentCalls(calls=calls, next_cursor=next_cursor)

        return await self.db.read(run, "listing calls")

    async def search(
        self,
        scope: AccountScope,
        query: str,
        *,
        provider: str | None = None,
        campaign_id: str | None = None,
        status: CallStatus | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        speaker: Speaker | None = None,
        limit: int = 10,
        cursor: str | None = None,
    ) -> SearchResult:
        """Ranked transcript search (bm25) with filters, newest first among equals.

        Counts (`total_hits`, `calls_matched`) are exact. When more than `rank_window` turns
        match, ranking covers the newest `rank_window` of them (`ranked_hits`, `ranking_note`).
        Raises InvalidArgumentError for a query with nothing to search, a bad limit or a cursor
        from another search; StoreError when the index cannot be read."""
        campaign_id = _text(campaign_id)
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidArgumentError(f"limit must be between 1 and {MAX_SEARCH_LIMIT}.")
        parsed = parse_query(query)
        filters = {
            "q": parsed.fts,
            "p": provider,
            "c": campaign_id,
            "st": status.value if status else None,
            "f": ts(from_date),
            "t": ts(to_date),
            "sp": speaker,
            "a": sorted(scope.items()),
        }
        digest = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
        offset = 0
        boundary: int | None = None
        if cursor is not None:
            state = decode_cursor("search", cursor)
            bound = state.get("b")
            if (
                state.get("h") != digest
                or not isinstance(state.get("o"), int)
                or state["o"] < 0
                or not (bound is None or isinstance(bound, int))
            ):
                raise InvalidArgumentError(
                    "That cursor belongs to a different search; repeat the same query and filters, "
                    "or omit the cursor to start over."
                )
            offset, boundary = state["o"], bound

        def plan(conn: sqlite3.Connection) -> _SearchPlan | None:
            sources = self._scope_sources(conn, scope, provider)
            if not sources:
                return None
            providers = {s.id: s.provider for s in sources}
            where = ["turns MATCH ?"]
            params: list[Any] = [parsed.fts]
            # Status, speaker and dates are rowid arithmetic; account and campaign need the call
            # row (a primary-key lookup per match), and without them there is no join at all.
            call_filters: list[str] = []
            call_params: list[Any] = []
            stored_sources = {r[0] for r in conn.execute("SELECT id FROM sources")}
            if not stored_sources <= set(providers):
                call_filters.append(f"c.source IN ({_placeholders(sources)})")
                call_params += list(providers)
            if campaign_id is not None:
                refs = [
                    r[0]
                    for r in conn.execute(
                        "SELECT id FROM campaigns "
                        f"WHERE source IN ({_placeholders(sources)}) AND campaign_id = ?",
                        (*providers, campaign_id),
                    )
                ]
                if not refs:
                    return None
                call_filters.append(f"c.campaign IN ({_placeholders(refs)})")
                call_params += refs
            if status is not None:
                where.append(f"((t.rowid >> {STATUS_SHIFT}) & {(1 << STATUS_BITS) - 1}) = ?")
                params.append(STATUS_CODES[status.value])
            if speaker is not None:
                where.append(f"((t.rowid >> {TURN_BITS}) & {(1 << SPEAKER_BITS) - 1}) = ?")
                params.append(SPEAKER_CODES[speaker])
            if from_date is not None:
                last_band = _band(from_date) + SPILL_MINUTES
                where.append("t.rowid < ?")
                params.append(((last_band + 1) << SEQ_BITS) << CALL_SHIFT)
                call_filters.append("c.started_at >= ?")
                call_params.append(ts(from_date))
            if to_date is not None:
                where.append("t.rowid >= ?")
                params.append((_band(to_date) << SEQ_BITS) << CALL_SHIFT)
                call_filters += ["c.started_at <= ?", "c.started_at != ''"]
                call_params.append(ts(to_date))
            join = f"CROSS JOIN calls c ON c.id = (t.rowid >> {CALL_SHIFT})" if call_filters else ""
            return _SearchPlan(
                providers,
                f"turns t {join}",
                " AND ".join(where + call_filters),
                params + call_params,
                boundary,
            )

        def count(conn: sqlite3.Connection, p: _SearchPlan) -> tuple[int, int]:
            total, matched = _fts(
                conn,
                f"SELECT count(*), count(DISTINCT t.rowid >> {CALL_SHIFT}) FROM {p.tables} WHERE {p.where}",
                p.params,
            ).fetchone()
            return int(total), int(matched)

        def rank(conn: sqlite3.Connection, p: _SearchPlan) -> tuple[list[SearchHit], int]:
            """The page of hits, and how many matches the ranking covered (-1: all)."""
            window_end = p.boundary
            if window_end is None:
                # Rowids grow older: the newest `rank_window` matches end before this rowid.
                row = _fts(
                    conn,
                    f"SELECT t.rowid FROM {p.tables} WHERE {p.where} ORDER BY t.rowid LIMIT 1 OFFSET ?",
                    [*p.params, self.rank_window],
                ).fetchone()
                if row is not None:
                    window_end = int(row[0]) - 1
            where, params = p.where, p.params
            ranked = -1
            if window_end is not None:
                where, params = f"{where} AND t.rowid <= ?", [*params, window_end]
                if p.boundary is not None:  # from the cursor: newer calls may have been indexed since
                    (ranked,) = _fts(
                        conn, f"SELECT count(*) FROM {p.tables} WHERE {where}", params
                    ).fetchone()
                else:
                    ranked = self.rank_window
                p.boundary = window_end
            rows = _fts(
                conn,
                "SELECT t.rowid, t.speaker, t.offset, "
                f"snippet(turns, 0, '{HL_OPEN}', '{HL_CLOSE}', '{ELLIPSIS_MARK}', {SNIPPET_TOKENS}), "
                f"bm25(turns) AS score FROM {p.tables} WHERE {where} "
                "ORDER BY score, t.rowid LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            call_rows = _call_rows(conn, [int(r[0]) >> CALL_SHIFT for r in rows])
            hits = []
            for rowid, turn_speaker, turn_offset, raw_snippet, score in rows:
                source, call_id, campaign_name, call_status, started = call_rows[int(rowid) >> CALL_SHIFT]
                name = p.providers.get(source)
                if name is None:  # pragma: no cover - rows are filtered by source above
                    continue
                snippet, spans = make_snippet(raw_snippet or "")
                hits.append(
                    SearchHit(
                        provider=name,
                        call_id=call_id,
                        uri=call_uri(name, call_id),
                        campaign_id=campaign_name,
                        status=CallStatus(call_status),
                        started_at=parse_ts(started),
                        turn_index=int(rowid) & MAX_TURNS,
                        speaker=turn_speaker,
                        offset_seconds=_float(turn_offset),
                        snippet=snippet,
                        highlights=spans,
                        relevance=round(-float(score), 4),
                    )
                )
            return hits, ranked

        try:
            search_plan = await self.db.read(plan, "searching transcripts")
            if search_plan is None:
                return SearchResult(
                    query=query,
                    interpreted_as=parsed.notes,
                    hits=[],
                    total_hits=0,
                    calls_matched=0,
                    ranked_hits=0,
                )
            counts: tuple[int, int] = (0, 0)
            hits: list[SearchHit] = []
            ranked = -1

            async def count_part() -> None:
                nonlocal counts
                counts = await self.db.read(lambda conn: count(conn, search_plan), "searching transcripts")

            async def rank_part() -> None:
                nonlocal hits, ranked
                hits, ranked = await self.db.read(
                    lambda conn: rank(conn, search_plan), "searching transcripts"
                )

            # Two reader connections in two threads: SQLite releases the GIL while it works.
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(count_part)
                    tg.start_soon(rank_part)
            except BaseExceptionGroup as group:
                raise group.exceptions[0] from None
        except _QueryRejected:
            # parse_query emits only quoted terms; this is a safety net, never an SQLite message
            # (which can quote the query) in the error or the log.
            logger.warning("the index rejected a search expression")
            raise InvalidArgumentError(
                'The search query could not be run; use plain words, "phrases" and prefix*.'
            ) from None
        total, matched = counts
        ranked = total if ranked < 0 else min(ranked, total)
        next_offset = offset + len(hits)
        next_cursor = None
        if hits and next_offset < ranked:
            next_cursor = encode_cursor("search", {"h": digest, "o": next_offset, "b": search_plan.boundary})
        note = None
        if ranked < total:
            note = (
                f"Ranked the {ranked:,} most recent of {total:,} matching turns; add words or "
                "filters (campaign, dates, speaker, status) to rank them all."
            )
        return SearchResult(
            query=query,
            interpreted_as=parsed.notes,
            hits=hits,
            total_hits=total,
            calls_matched=matched,
            ranked_hits=ranked,
            ranking_note=note,
            next_cursor=next_cursor,
        )

    async def list_campaigns(
        self, scope: AccountScope, *, provider: str | None = None
    ) -> list[CampaignListing]:
        """Campaigns per provider: indexed call counts and date span, plus the platform's own list."""

        def run(conn: sqlite3.Connection) -> list[CampaignListing]:
            out: list[CampaignListing] = []
            for source in self._scope_sources(conn, scope, provider):
                seen: dict[int, tuple[int, str | None, str | None]] = {}
                refs = [
                    0,
                    *(r[0] for r in conn.execute("SELECT id FROM campaigns WHERE source = ?", (source.id,))),
                ]
                for ref in refs:
                    count, first, last = conn.execute(
                        "SELECT count(*), min(nullif(started_at, '')), max(nullif(started_at, '')) "
                        "FROM calls WHERE source = ? AND campaign = ?",
                        (source.id, ref),
                    ).fetchone()
                    if count:
                        seen[ref] = (count, first, last)
                synced = {
                    campaign: parse_ts(at)
                    for campaign, at in conn.execute(
                        "SELECT campaign_id, max(last_synced_at) FROM sync_state WHERE source = ? "
                        "AND since IS NULL AND until IS NULL GROUP BY campaign_id",
                        (source.id,),
                    )
                }
                # A whole-account sync (campaign_id NULL) covers every campaign too.
                whole = synced.pop(None, None)

                if 0 in seen:
                    count, first, last = seen[0]
                    out.append(
                        CampaignListing(
                            provider=source.provider,
                            campaign_id=None,
                            indexed_calls=count,
                            first_call_at=parse_ts(first),
                            last_call_at=parse_ts(last),
                            last_synced_at=whole,
                        )
                    )
                for ref, campaign_id, name, platform_calls in conn.execute(
                    "SELECT id, campaign_id, name, platform_calls FROM campaigns WHERE source = ? "
                    "ORDER BY campaign_id",
                    (source.id,),
                ):
                    count, first, last = seen.get(ref, (0, None, None))
                    out.append(
                        CampaignListing(
                            provider=source.provider,
                            campaign_id=campaign_id,
                            name=name,
                            indexed_calls=count,
                            platform_calls=platform_calls,
                            first_call_at=parse_ts(first),
                            last_call_at=parse_ts(last),
                            last_synced_at=max(
                                (t for t in (synced.get(campaign_id), whole) if t is not None), default=None
                            ),
                        )
                    )
            return out

        return await self.db.read(run, "listing campaigns")

    async def last_synced(
        self,
        scope: AccountScope,
        provider: str,
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> datetime | None:
        """When a sync last completed over a scope covering the one asked about (a whole-provider
        sync covers every campaign; a date-limited sync covers only its range)."""

        def run(conn: sqlite3.Connection) -> datetime | None:
            synced = [
                _covering_sync(conn, source.id, campaign_id, since, until)
                for source in self._scope_sources(conn, scope, provider)
            ]
            return max((at for at in synced if at is not None), default=None)

        return await self.db.read(run, "reading sync state")

    async def campaign_summary(
        self,
        scope: AccountScope,
        provider: str,
        campaign_id: str | None,
        *,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> CampaignSummary:
        """The analytics summary of one provider's campaign (or all its calls when campaign_id is
        None), optionally limited to a date range, computed from the index."""
        campaign_id = _text(campaign_id)

        since, until = ts(from_date), ts(to_date)

        def context(conn: sqlite3.Connection) -> _SummaryContext:
            sources = self._scope_sources(conn, scope, provider)
            if not sources:
                return _SummaryContext(None, [], None, None, None)
            source = sources[0].id
            name: str | None = None
            if campaign_id is None:
                refs = [
                    0,
                    *(r[0] for r in conn.execute("SELECT id FROM campaigns WHERE source = ?", (source,))),
                ]
            else:
                row = conn.execute(
                    "SELECT id, name FROM campaigns WHERE source = ? AND campaign_id = ?",
                    (source, campaign_id),
                ).fetchone()
                refs = [int(row[0])] if row else []
                name = row[1] if row else None
            state_row = conn.execute(
                f"SELECT {_STATE_COLUMNS} FROM sync_state s WHERE s.source = ? AND s.scope = ?",
                (source, scope_key(campaign_id, from_date, to_date)),
            ).fetchone()
            return _SummaryContext(
                source,
                refs,
                name,
                _sync_state("", state_row) if state_row else None,
                _covering_sync(conn, source, campaign_id, from_date, to_date),
            )

        ctx = await self.db.read(context, "summarising a campaign")
        facts = CampaignFacts()
        if ctx.source is not None and ctx.refs:
            facts = await self._campaign_facts(ctx.source, ctx.refs, since, until)
        state = ctx.state
        platform = state.platform if state and state.last_synced_at else None
        return analytics.summarize(
            facts,
            provider=provider,
            campaign_id=campaign_id,
            campaign_name=ctx.name,
            from_date=from_date,
            to_date=to_date,
            platform=platform if platform and platform.calls is not None else None,
            platform_by_status=state.status_totals if state else None,
            last_synced_at=ctx.last_synced_at,
        )

    async def _parallel(self, *work: Callable[[sqlite3.Connection], Any]) -> list[Any]:
        """Run each `work(conn)` on its own reader connection, concurrently (SQLite releases the
        GIL while it works, so they use every core). Results in order; the first error raised."""
        results: list[Any] = [None] * len(work)

        async def one(index: int) -> None:
            results[index] = await self.db.read(work[index], "summarising a campaign")

        try:
            async with anyio.create_task_group() as tg:
                for index in range(len(work)):
                    tg.start_soon(one, index)
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None
        return results

    async def _campaign_facts(self, source: int, refs: list[int], since: str, until: str) -> CampaignFacts:
        def aggregates(
            conn: sqlite3.Connection,
        ) -> tuple[
            CampaignFacts,
            tuple[dict[str, int], datetime | None, datetime | None],
            list[NotableCandidate],
            tuple[list[FieldFacts], dict[str, dict[str, int]]],
        ]:
            return (
                _outcome_facts(conn, source, refs, since, until),
                _timeline_facts(conn, source, refs, since, until),
                _failed_facts(conn, source, refs, since, until),
                _field_facts(conn, source, refs, since, until),
            )

        # Two threads: one mostly inside SQLite (aggregates; the GIL is released meanwhile), one
        # parsing and sorting values. Queries that return many rows to Python would contend for
        # the GIL on every row, so the split is by that, not by query count.
        (outcomes, timeline, failed, (fields, texts)), values = await self._parallel(
            aggregates, lambda conn: _value_facts(conn, source, refs, since, until)
        )
        facts: CampaignFacts = outcomes
        if not facts.calls:
            return CampaignFacts()
        facts.per_day, facts.first_call_at, facts.last_call_at = timeline
        facts.durations, facts.qa_scores, facts.longest, facts.lowest_qa = values
        facts.recent_failed = failed
        for field in fields:
            if field.kind is FieldKind.TEXT:
                counts = texts.get(field.key, {})
                field.distinct, field.top = len(counts), analytics.top_text_values(counts)
        facts.fields = fields
        return facts

    async def stats(self) -> IndexStats:
        """Calls per provider (all accounts) and the file size: for `sync`/`purge` reports."""

        def run(conn: sqlite3.Connection) -> IndexStats:
            calls = {
                provider: count
                for provider, count in conn.execute(
                    "SELECT s.provider, count(*) FROM calls c JOIN sources s ON s.id = c.source "
                    "GROUP BY s.provider"
                )
            }
            (turns,) = conn.execute("SELECT coalesce(sum(turn_count), 0) FROM calls").fetchone()
            size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
            return IndexStats(calls=calls, turns=int(turns), file_bytes=size)

        return await self.db.read(run, "reading index statistics")

    # --- purge --------------------------------------------------------------------------------

    def purge_sync(self, older_than_days: int | None = None) -> int:
        """Delete calls that started more than `older_than_days` ago (all calls and sync state
        when None), rewrite the search index without them, and checkpoint the WAL so no deleted
        content stays in either file. Returns the number of calls deleted.

        Raises InvalidArgumentError for a negative age, StoreError when another process holds
        the file open in a way that prevents the final checkpoint."""
        if older_than_days is not None and older_than_days < 0:
            raise InvalidArgumentError("older_than_days must be 0 or more.")
        cutoff = ts(_now() - timedelta(days=older_than_days)) if older_than_days is not None else None

        def run(conn: sqlite3.Connection) -> int:
            if cutoff is None:
                (count,) = conn.execute("SELECT count(*) FROM calls").fetchone()
                for table in ("turns", "fields", "call_bodies", "calls", "sync_state", "campaigns"):
                    conn.execute(f"DELETE FROM {table}")
                return int(count)
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM calls WHERE started_at != '' AND started_at < ?", (cutoff,)
                )
            ]
            for rowid in ids:
                _delete_call(conn, rowid)
            return len(ids)

        deleted = self.db.write_sync(run, "purging calls")
        # Merge the FTS index so no segment keeps tokens of deleted turns, then empty the WAL.
        self.db.write_sync(
            lambda conn: conn.execute("INSERT INTO turns (turns) VALUES ('optimize')"), "purging"
        )
        self.db.checkpoint()
        return deleted

    async def purge(self, older_than_days: int | None = None) -> int:
        """Async `purge_sync`."""
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.purge_sync, older_than_days)


def purge(store: IndexStore, older_than_days: int | None = None) -> int:
    """For the CLI: `store.purge_sync(older_than_days)`."""
    return store.purge_sync(older_than_days)


def scope_key(campaign_id: str | None, since: datetime | None, until: datetime | None) -> str:
    """The canonical key of a sync scope within one provider account."""
    return json.dumps({"c": campaign_id, "f": ts(since) or None, "t": ts(until) or None}, sort_keys=True)


def _covering_sync(
    conn: sqlite3.Connection,
    source: int,
    campaign_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> datetime | None:
    """The last completed sync of a scope that covers (campaign, since, until): a sync without
    campaign covers every campaign, one without dates covers every date."""
    best: datetime | None = None
    for state_campaign, state_since, state_until, synced in conn.execute(
        "SELECT campaign_id, since, until, last_synced_at FROM sync_state "
        "WHERE source = ? AND last_synced_at IS NOT NULL",
        (source,),
    ):
        if state_campaign is not None and state_campaign != campaign_id:
            continue
        if state_since and (since is None or ts(since) < state_since):
            continue
        if state_until and (until is None or ts(until) > state_until):
            continue
        at = parse_ts(synced)
        if at is not None and (best is None or at > best):
            best = at
    return best


# --- row → model ------------------------------------------------------------------------------


def _sync_state(scope: str, row: Sequence[Any]) -> SyncState:
    (campaign, since, until, watermark, synced, attempt, calls, duration, cost, currency, statuses) = row
    platform = None
    if any(v is not None for v in (calls, duration, cost)):
        platform = PlatformTotals(calls=calls, duration_seconds=duration, cost=cost, currency=currency)
    return SyncState(
        scope=scope,
        campaign_id=campaign,
        since=parse_ts(since),
        until=parse_ts(until),
        watermark=parse_ts(watermark),
        last_synced_at=parse_ts(synced),
        last_attempt_at=parse_ts(attempt),
        platform=platform,
        status_totals=json.loads(statuses) if statuses else None,
    )


def _load_call(conn: sqlite3.Connection, rowid: int, body: str) -> Call:
    turns = [
        Turn(speaker=speaker, text=text, offset_seconds=_float(offset))
        for text, speaker, offset in conn.execute(
            "SELECT text, speaker, offset FROM turns WHERE rowid BETWEEN ? AND ? ORDER BY rowid & 65535",
            _turn_range(rowid),
        )
    ]
    try:
        return Call.model_validate({**json.loads(body), "transcript": turns})
    except (ValidationError, ValueError):
        raise StoreError("A call in the local index could not be read; run a sync to refresh it.") from None


def _summary_from_body(body: str) -> CallSummary:
    data = json.loads(body)
    try:
        return CallSummary.model_validate({k: data[k] for k in CallSummary.model_fields if k in data})
    except ValidationError:
        raise StoreError("A call in the local index could not be read; run a sync to refresh it.") from None


def _call_rows(
    conn: sqlite3.Connection, rowids: Iterable[int]
) -> dict[int, tuple[int, str, str | None, str, str]]:
    ids = sorted(set(rowids))
    if not ids:
        return {}
    return {
        int(r[0]): (int(r[1]), r[2], r[3], r[4], r[5])
        for r in conn.execute(
            "SELECT c.id, c.source, c.call_id, p.campaign_id, c.status, c.started_at FROM calls c "
            f"LEFT JOIN campaigns p ON p.id = c.campaign WHERE c.id IN ({_placeholders(ids)})",
            ids,
        )
    }


# --- campaign facts in SQL ------------------------------------------------------------------


@dataclass
class _SearchPlan:
    providers: dict[int, str]
    tables: str
    where: str
    params: list[Any]
    boundary: int | None  # rank only rowids <= boundary (the newest matches); None: all


class _QueryRejected(Exception):
    """SQLite refused a MATCH expression (never expected: see parse_query)."""


def _fts(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
    try:
        return conn.execute(sql, params)
    except sqlite3.OperationalError as exc:
        if "fts5" in str(exc).lower():
            raise _QueryRejected from None
        raise


@dataclass(frozen=True)
class _SummaryContext:
    source: int | None
    refs: list[int]
    name: str | None
    state: SyncState | None
    last_synced_at: datetime | None


def _call_where(refs: Sequence[int], since: str, until: str, source: int) -> tuple[str, list[Any]]:
    where = f"source = ? AND campaign IN ({_placeholders(refs)})"
    params: list[Any] = [source, *refs]
    if since:
        where += " AND started_at >= ?"
        params.append(since)
    if until:
        where += " AND started_at <= ? AND started_at != ''"
        params.append(until)
    return where, params


_CAMPAIGN_INDEX = "calls INDEXED BY calls_campaign"


def _outcome_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> CampaignFacts:
    """Counts by status and ended reason, costs, calls with a transcript."""
    if since or until:
        where, params = _call_where(refs, since, until, source)
        queries = [(f"FROM {_CAMPAIGN_INDEX} WHERE {where}", params)]
    else:
        # One campaign at a time in `calls_outcomes` order: the GROUP BY needs no sort.
        queries = [
            ("FROM calls INDEXED BY calls_outcomes WHERE source = ? AND campaign = ?", [source, ref])
            for ref in refs
        ]
    facts = CampaignFacts()
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    costs: dict[str, float] = {}
    for tail, params in queries:
        for call_status, reason, currency, count, cost, with_cost, with_turns in conn.execute(
            "SELECT status, ended_reason, currency, count(*), total(cost), count(cost), "
            f"total(turn_count > 0) {tail} GROUP BY status, ended_reason, currency",
            params,
        ):
            facts.calls += count
            facts.calls_with_transcript += int(with_turns)
            by_status[call_status] = by_status.get(call_status, 0) + count
            reason_key = reason or "unknown"
            by_reason[reason_key] = by_reason.get(reason_key, 0) + count
            if with_cost:
                facts.calls_with_cost += with_cost
                costs[currency or ""] = costs.get(currency or "", 0.0) + cost
    facts.by_status = by_status
    facts.by_ended_reason = by_reason
    facts.cost_by_currency = costs
    return facts


def _timeline_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> tuple[dict[str, int], datetime | None, datetime | None]:
    """Calls per day, first and last start time."""
    days: dict[str, int] = {}
    if since or until:
        where, params = _call_where(refs, since, until, source)
        rows = conn.execute(
            f"SELECT substr(started_at, 1, 10), count(*) FROM {_CAMPAIGN_INDEX} "
            f"WHERE {where} AND started_at != '' GROUP BY 1",
            params,
        ).fetchall()
        first, last = conn.execute(
            f"SELECT min(started_at), max(started_at) FROM {_CAMPAIGN_INDEX} "
            f"WHERE {where} AND started_at != ''",
            params,
        ).fetchone()
    else:
        rows = []
        for ref in refs:
            # `calls_days` is ordered by day: the GROUP BY needs no sort.
            rows += conn.execute(
                "SELECT substr(started_at, 1, 10), count(*) FROM calls INDEXED BY calls_days "
                "WHERE source = ? AND campaign = ? AND substr(started_at, 1, 10) != '' GROUP BY 1",
                (source, ref),
            ).fetchall()
        bounds = [
            conn.execute(
                f"SELECT min(started_at), max(started_at) FROM {_CAMPAIGN_INDEX} "
                "WHERE source = ? AND campaign = ? AND started_at > ''",
                (source, ref),
            ).fetchone()
            for ref in refs
        ]
        firsts = [b[0] for b in bounds if b[0]]
        lasts = [b[1] for b in bounds if b[1]]
        first, last = (min(firsts) if firsts else None), (max(lasts) if lasts else None)
    for day, count in rows:
        days[day] = days.get(day, 0) + count
    return days, parse_ts(first), parse_ts(last)


def _value_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> tuple[ValueStats, ValueStats, list[NotableCandidate], list[NotableCandidate]]:
    """Duration and QA statistics (by the same function as the pure path), and the longest and
    lowest-scored calls."""
    where, params = _call_where(refs, since, until, source)

    def fetch(column: str) -> list[float]:
        # One JSON array built inside SQLite (the GIL is released meanwhile), parsed in C.
        (raw,) = conn.execute(
            f"SELECT json_group_array({column}) FROM {_CAMPAIGN_INDEX} WHERE {where} AND {column} NOT NULL",
            params,
        ).fetchone()
        parsed: list[float] = json.loads(raw)
        parsed.sort()
        return parsed

    durations = fetch("duration")
    scores = fetch("qa_score")
    duration_stats = analytics.value_stats(durations, presorted=True)
    score_stats = analytics.value_stats(scores, bins=True, presorted=True)
    n = analytics.NOTABLE_EACH
    longest: list[NotableCandidate] = []
    lowest: list[NotableCandidate] = []
    for column, op, values, out in (
        ("duration", ">=", durations[-n:], longest),
        ("qa_score", "<=", scores[:n], lowest),
    ):
        if not values:
            continue
        # Every row reaching the N-th best value is a candidate (ties are broken by pick_*).
        bound = values[0] if op == ">=" else values[-1]
        out += [
            NotableCandidate(call_id, float(value), parse_ts(started))
            for call_id, value, started in conn.execute(
                f"SELECT call_id, {column}, started_at FROM {_CAMPAIGN_INDEX} WHERE {where} "
                f"AND {column} {op} ?",
                [*params, bound],
            )
        ]
    return duration_stats, score_stats, analytics.pick_longest(longest), analytics.pick_lowest_qa(lowest)


def _failed_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> list[NotableCandidate]:
    """The most recent failed calls (ties broken as in analytics)."""
    where, params = _call_where(refs, since, until, source)
    failed_where = f"{where} AND status = ?"
    failed_params = [*params, CallStatus.FAILED.value]
    bound = conn.execute(
        f"SELECT started_at FROM {_CAMPAIGN_INDEX} WHERE {failed_where} "
        "ORDER BY started_at DESC LIMIT 1 OFFSET ?",
        [*failed_params, analytics.NOTABLE_EACH - 1],
    ).fetchone()
    rows = conn.execute(
        f"SELECT call_id, started_at FROM {_CAMPAIGN_INDEX} WHERE {failed_where} AND started_at >= ?",
        [*failed_params, bound[0] if bound else ""],
    ).fetchall()
    return analytics.pick_recent(
        NotableCandidate(call_id, None, parse_ts(started)) for call_id, started in rows
    )


def _field_facts(
    conn: sqlite3.Connection, source: int, refs: Sequence[int], since: str, until: str
) -> tuple[list[FieldFacts], dict[str, dict[str, int]]]:
    """Per (key, kind): counts, true counts, numeric sums/min/max; and per text key its value
    counts. One pass per campaign in primary-key order (no sort); parts merge by addition."""
    extra, tail = _field_dates(since, until)
    slots: dict[tuple[str, FieldKind], FieldFacts] = {}
    texts: dict[str, dict[str, int]] = {}
    for ref in refs:
        for key, kind, txt, count, num_sum, num_min, num_max in conn.execute(
            "SELECT key, kind, txt, count(*), total(num), min(num), max(num) "
            f"FROM fields WHERE source = ? AND campaign = ?{extra} GROUP BY key, kind, txt",
            [source, ref, *tail],
        ):
            field_kind = FieldKind(kind)
            slot = slots.get((key, field_kind))
            if slot is None:
                slot = slots[(key, field_kind)] = FieldFacts(key, field_kind)
            slot.calls += int(count)
            if field_kind is FieldKind.BOOLEAN:
                slot.true_count += int(num_sum)
            elif field_kind is FieldKind.NUMBER:
                slot.num_sum += num_sum
                slot.num_min = _min(slot.num_min, num_min)
                slot.num_max = _max(slot.num_max, num_max)
            elif field_kind is FieldKind.TEXT:
                values = texts.setdefault(key, {})
                values[txt] = values.get(txt, 0) + int(count)
    return list(slots.values()), texts


def _field_dates(since: str, until: str) -> tuple[str, list[Any]]:
    # Call ids order by start time (newest first): a date range is first a range of the key.
    extra = ""
    tail: list[Any] = []
    if since:
        extra += " AND call < ? AND started_at >= ?"
        tail += [(_band(parse_ts(since)) + SPILL_MINUTES + 1) << SEQ_BITS, since]
    if until:
        extra += " AND call >= ? AND started_at <= ? AND started_at != ''"
        tail += [_band(parse_ts(until)) << SEQ_BITS, until]
    return extra, tail
