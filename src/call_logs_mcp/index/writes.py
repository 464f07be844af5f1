"""Writes: storing calls, the sync engine's bookkeeping, and purging.

Each function runs inside the caller's write transaction (`Database.write`), except `purge_calls`,
which needs several steps outside one. Calls are stored as the platform returned them
(unredacted: redaction happens on output).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from call_logs_mcp import analytics
from call_logs_mcp.errors import InvalidArgumentError, StoreError
from call_logs_mcp.index.accounts import SourceIds, agent_ref, campaign_ref, source_id
from call_logs_mcp.index.db import Database
from call_logs_mcp.index.notes import Note, call_notes
from call_logs_mcp.index.records import CallRecord, SyncState, UpsertCounts, sql_str, sql_text, ts
from call_logs_mcp.index.rowids import (
    MAX_TURNS,
    allocate_id,
    id_fits,
    notes_rowid,
    turn_range,
    turn_rowid,
)
from call_logs_mcp.models import Call, CallStatus

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def content_hash(call: Call, has_details: bool) -> str:
    return _content_hash(call.model_dump(mode="json"), has_details)


def _content_hash(data: dict[str, Any], has_details: bool) -> str:
    """`content_hash` of a call dumped as JSON data (`Call.model_dump(mode="json")`)."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{int(has_details)}|{raw}".encode()).hexdigest()[:32]


def insert_notes(conn: sqlite3.Connection, rowid: int, status: CallStatus, notes: Sequence[Note]) -> None:
    """Index a call's summary, extracted values and QA notes beside its turns (see `notes`)."""
    conn.executemany(
        "INSERT INTO turns (rowid, text, speaker, offset, label) VALUES (?, ?, ?, NULL, ?)",
        [
            (notes_rowid(rowid, status, note.index), sql_text(note.text), note.kind, sql_text(note.label))
            for note in notes
        ],
    )


def _delete_call(conn: sqlite3.Connection, rowid: int) -> None:
    conn.execute("DELETE FROM turns WHERE rowid BETWEEN ? AND ?", turn_range(rowid))
    conn.execute("DELETE FROM fields WHERE call = ?", (rowid,))
    conn.execute("DELETE FROM call_bodies WHERE id = ?", (rowid,))
    conn.execute("DELETE FROM calls WHERE id = ?", (rowid,))


def _refile(conn: sqlite3.Connection, source: int, rowid: int, stored_ref: int, campaign_id: str) -> bool:
    """File a stored call under `campaign_id` (a campaign-filtered listing named it; the record
    with details did not), keeping its details. Whether anything changed."""
    ref = campaign_ref(conn, source, campaign_id)
    if ref == stored_ref:
        return False
    conn.execute("UPDATE calls SET campaign = ? WHERE id = ?", (ref, rowid))
    conn.execute("UPDATE fields SET campaign = ? WHERE call = ?", (ref, rowid))
    (body,) = conn.execute("SELECT body FROM call_bodies WHERE id = ?", (rowid,)).fetchone()
    stored = json.loads(body)
    stored["campaign_id"] = campaign_id
    conn.execute(
        "UPDATE call_bodies SET body = ? WHERE id = ?",
        (json.dumps(stored, separators=(",", ":"), ensure_ascii=False), rowid),
    )
    return True


def upsert(
    conn: sqlite3.Connection, sources: SourceIds, account: str, provider: str, records: Sequence[CallRecord]
) -> UpsertCounts:
    """Store `records`. A record equal to what is stored is left alone; a summary-only record
    never replaces stored details; a record without a campaign keeps the campaign already known.

    Raises StoreError for a call of another provider."""
    source = source_id(conn, sources, account, provider)
    now = ts(_now())
    added = updated = unchanged = 0
    campaign_names: dict[int, str] = {}
    for record in records:
        call = record.call
        if call.provider != provider:
            raise StoreError(f"A {call.provider} call cannot be stored under {provider}.")
        call_id = sql_text(call.call_id)
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
                if call.campaign_id and _refile(
                    conn, source, rowid, stored_campaign, sql_str(call.campaign_id)
                ):
                    updated += 1
                else:
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
        campaign = campaign_ref(conn, source, sql_str(call.campaign_id)) if call.campaign_id else 0
        started = ts(call.started_at)
        agent = (
            agent_ref(conn, source, sql_str(call.agent.agent_id), sql_text(call.agent.name), started)
            if call.agent
            else 0
        )
        # One dump for the content hash and the stored body (the call without its transcript).
        data = call.model_dump(mode="json")
        content = _content_hash(data, record.has_details)
        if row is not None and row[1] == content:
            if record.list_hash and record.list_hash != row[4]:
                conn.execute("UPDATE calls SET list_hash = ? WHERE id = ?", (record.list_hash, row[0]))
            unchanged += 1
            continue
        turns = call.transcript[:MAX_TURNS]
        if len(call.transcript) > MAX_TURNS:
            logger.warning("a %s call has more than %d turns; the rest is not indexed", provider, MAX_TURNS)
        values = (
            campaign,
            agent,
            call.status.value,
            started,
            call.duration_seconds,
            call.cost,
            sql_text(call.currency),
            call.qa_score,
            sql_text(call.ended_reason),
            int(record.has_details),
            len(turns),
            sum(1 for turn in turns if turn.speaker == "customer"),
            # A call re-keyed below keeps its listing fingerprint, as an updated one does.
            record.list_hash or (row[4] if row is not None else None),
            content,
            now,
        )
        del data["transcript"]
        body = sql_str(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
        if row is not None and not id_fits(int(row[0]), call.started_at):
            # The start time moved to another minute: re-key the call so its id stays in order.
            _delete_call(conn, int(row[0]))
            updated += 1
            row = None
        elif row is None:
            added += 1
        if row is None:
            rowid = allocate_id(conn, call.started_at)
            conn.execute(
                "INSERT INTO calls (campaign, agent, status, started_at, duration, cost, currency, qa_score, "
                "ended_reason, has_details, turn_count, customer_turns, list_hash, content_hash, "
                "synced_at, source, call_id, id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, source, call_id, rowid),
            )
            conn.execute("INSERT INTO call_bodies (id, body) VALUES (?, ?)", (rowid, body))
        else:
            rowid = int(row[0])
            conn.execute(
                "UPDATE calls SET campaign = ?, agent = ?, status = ?, started_at = ?, duration = ?, "
                "cost = ?, currency = ?, qa_score = ?, ended_reason = ?, has_details = ?, turn_count = ?, "
                "customer_turns = ?, list_hash = coalesce(?, list_hash), content_hash = ?, synced_at = ? "
                "WHERE id = ?",
                (*values, rowid),
            )
            conn.execute("UPDATE call_bodies SET body = ? WHERE id = ?", (body, rowid))
            conn.execute("DELETE FROM turns WHERE rowid BETWEEN ? AND ?", turn_range(rowid))
            conn.execute("DELETE FROM fields WHERE call = ?", (rowid,))
            updated += 1
        # In rowid order (grouped by speaker, notes last): FTS5 flushes a segment when rowids go down.
        conn.executemany(
            "INSERT INTO turns (rowid, text, speaker, offset, label) VALUES (?, ?, ?, ?, ?)",
            sorted(
                (
                    turn_rowid(rowid, call.status, turn.speaker, i),
                    sql_text(turn.text),
                    turn.speaker,
                    turn.offset_seconds,
                    None,
                )
                for i, turn in enumerate(turns)
            ),
        )
        insert_notes(conn, rowid, call.status, call_notes(call.summary, call.extracted_data, call.qa))
        conn.executemany(
            "INSERT OR IGNORE INTO fields (source, campaign, key, started_at, call, kind, num, txt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (source, campaign, sql_text(v.key), started, rowid, int(v.kind), v.num, sql_str(v.text))
                for v in analytics.flatten_extracted(call.extracted_data)
            ],
        )
    return UpsertCounts(added=added, updated=updated, unchanged=unchanged)


def save_sync_state(
    conn: sqlite3.Connection, sources: SourceIds, account: str, provider: str, state: SyncState
) -> None:
    """Store (replace) the bookkeeping of one sync scope."""
    platform = state.platform
    source = source_id(conn, sources, account, provider)
    conn.execute(
        "INSERT OR REPLACE INTO sync_state (source, scope, campaign_id, since, until, watermark, "
        "last_synced_at, last_attempt_at, platform_calls, platform_duration, platform_cost, "
        "platform_currency, status_totals, names_campaigns, resume) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            int(state.names_campaigns),
            state.resume.model_dump_json() if state.resume is not None else None,
        ),
    )


def purge_calls(db: Database, older_than_days: int | None) -> int:
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
            for table in (
                "turns",
                "fields",
                "call_bodies",
                "calls",
                "call_counts",
                "sync_state",
                "campaigns",
                "agents",
            ):
                conn.execute(f"DELETE FROM {table}")
            return int(count)
        ids = [
            r[0]
            for r in conn.execute("SELECT id FROM calls WHERE started_at != '' AND started_at < ?", (cutoff,))
        ]
        for rowid in ids:
            _delete_call(conn, rowid)
        return len(ids)

    deleted = db.write_sync(run, "purging calls")
    # Merge the FTS index so no segment keeps tokens of deleted turns, then empty the WAL.
    db.write_sync(lambda conn: conn.execute("INSERT INTO turns (turns) VALUES ('optimize')"), "purging")
    db.checkpoint()
    return deleted
