"""Append-only, numbered schema migrations.

`MIGRATIONS[n]` moves a database from `PRAGMA user_version = n` to `n + 1`. Never edit or reorder
an entry once released: add a new one. Each migration runs in one `BEGIN IMMEDIATE` transaction,
so a crash mid-migration leaves the previous version intact.

Layout (version 1), with why:

- `sources`: one row per (account, provider). `account` is a keyed hash of the platform account
  (see `accounts`), never the key itself. Every other table hangs off a small integer
  `source`, which keeps indexes narrow and makes "another account's rows" unreachable by query.
- `campaigns`: campaign ids per source (interned: `calls.campaign` is an integer, 0 = none known),
  with the platform's name and call count when it lists campaigns.
- `calls`: the normalised, filterable columns only, so analytics scans stay narrow; the covering
  index `calls_campaign` answers campaign aggregates without touching the table.
- `call_bodies`: the rest of the call as the platform returned it (JSON of `models.Call` minus
  the transcript).
- `calls.id` is not a counter: it encodes the start minute (see `rowids`), so ids order calls by
  time, newest first.
- `turns`: FTS5 over transcript turns. Its rowid packs the call, the speaker and the turn index
  (`calls.id << 18 | speaker << 16 | turn`), so a call's turns are one rowid range (found,
  replaced and deleted without an extra index), newer turns have smaller rowids and the speaker
  filter never reads the content.
- `fields`: extracted data flattened to one row per (call, key), clustered by campaign, key, kind
  and text value, so a campaign summary aggregates every key (and counts text values) in one
  pass in index order, without sorting.
- No prefix index on `turns`: it more than doubled the FTS index and prefix queries of 3+
  characters were as fast without it.
- `sync_state`: per sync scope, the watermark and the totals the platform reported.

Version 2: `sync_state.names_campaigns` (a whole-account sync covers a campaign scope only when
the platform's records named their campaign) and `sync_state.resume` (the listing position of
an unfinished walk, so the next run continues there).

Version 3: `calls.customer_turns` (how many indexed turns the customer spoke), in both covering
indexes, so "a person answered" counts in the outcome scan. Counting it from `turns` at summary
time (one rowid-range lookup per call) more than doubled a 100,000-call summary.

Version 4: words match by stem (`porter` over `unicode61`), and each call's summary, extracted
values and QA notes are rows of `turns` too (the notes speaker code; a `label` column names the
field): the FTS table is rebuilt from the old one and the stored call bodies, once. `call_counts`
keeps the calls per (source, campaign) up to date with triggers, so coverage is a lookup, not a
count over the calls. Partial indexes on duration and QA score per campaign and per account give
a summary its median and p90 by walking the index, not by loading every value.
`campaign_outcomes` (calls, cost, calls with a cost, with turns, answered per status, ended
reason and currency), `campaign_days` (calls per start day) and `campaign_fields` (calls and
numeric sum per extracted key, kind and text value) are kept per (source, campaign) by triggers
on `calls` and `fields`, so a summary without dates reads a handful of rows per campaign instead
of aggregating every call (the GROUP BY over `fields` alone took ~0.8 s at 300,000 calls); a
row whose count reaches 0 is deleted. A minimum or maximum cannot be kept through a delete:
`fields_numbers` (number values per campaign and key) gives each one index seek.

Version 5: the platform's agent (assistant) of each call, the second grouping beside campaigns:
`agents` interns agent ids per source with the display name of the newest call that named one
(`named_at`), `calls.agent` refers to it (0 = none known), and the partial index `calls_agent`
answers calls per agent, campaign and status without touching the table. Calls stored before
kept their agent only in the body's `extra` (`agent_id`/`agent_name`, or `assistantId` and a
transient `assistant.name`): it is moved to the body's `agent` and the column, once, in place.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable

from call_logs_mcp.analytics import NOT_ANSWERED, FieldKind
from call_logs_mcp.index.notes import call_notes
from call_logs_mcp.index.rowids import (
    CALL_SHIFT,
    MAX_TURNS,
    SPEAKER_CODES,
    STATUS_CODES,
    STATUS_SHIFT,
    TURN_BITS,
    notes_rowid,
)
from call_logs_mcp.models import CallStatus

logger = logging.getLogger(__name__)

Step = str | Callable[[sqlite3.Connection], None]

# The first rowid a call's customer turns can have (its status is in the rowid: see `rowids`).
_STATUS_CODE = " ".join(f"WHEN '{status}' THEN {code}" for status, code in STATUS_CODES.items())
_CUSTOMER_LOW = (
    f"((calls.id << {CALL_SHIFT}) | ((CASE status {_STATUS_CODE} END) << {STATUS_SHIFT}) "
    f"| ({SPEAKER_CODES['customer']} << {TURN_BITS}))"
)


def _rebuild_turns(conn: sqlite3.Connection) -> None:
    """Copy every turn into the stemmed table and add each call's notes from its stored body."""
    (calls,) = conn.execute("SELECT count(*) FROM calls").fetchone()
    if calls:
        logger.warning(
            "rebuilding the search index of %d calls for word forms and searchable summaries "
            "(once, after an upgrade; nothing needs to be synced again)",
            calls,
        )
    conn.execute(
        "INSERT INTO turns_v4 (rowid, text, speaker, offset) SELECT rowid, text, speaker, offset FROM turns"
    )
    rows = []
    for rowid, status, body in conn.execute(
        "SELECT c.id, c.status, b.body FROM calls c JOIN call_bodies b ON b.id = c.id ORDER BY c.id"
    ):
        try:
            data = json.loads(body)
            notes = call_notes(data.get("summary"), data.get("extracted_data") or {}, data.get("qa") or {})
            code = CallStatus(status)
        except (ValueError, TypeError, AttributeError):
            continue  # an unreadable body is refreshed by the next sync
        rows += [(notes_rowid(rowid, code, n.index), n.text, n.kind, n.label) for n in notes]
    rows.sort()
    conn.executemany("INSERT INTO turns_v4 (rowid, text, speaker, label) VALUES (?, ?, ?, ?)", rows)
    conn.execute("INSERT INTO turns_v4 (turns_v4) VALUES ('optimize')")


# --- per-campaign aggregates kept by triggers (version 4) ---------------------------------------
# Each change of a call or a field row removes the old row's share and adds the new one's; an
# aggregate row whose count reaches 0 is deleted, so only groups with calls are ever read.


def _answered(row: str) -> str:
    """Whether a person answered the call `row` (as `summary_sql`: final, not voicemail, the
    customer spoke), 1 or 0."""
    statuses = ", ".join(f"'{status.value}'" for status in sorted(NOT_ANSWERED))
    return f"({row}.status NOT IN ({statuses}) AND {row}.customer_turns > 0)"


def _outcome_added(row: str) -> str:
    return f"""
        INSERT INTO campaign_outcomes VALUES (
            {row}.source, {row}.campaign, {row}.status, ifnull({row}.ended_reason, ''),
            ifnull({row}.currency, ''), 1, ifnull({row}.cost, 0.0), {row}.cost NOT NULL,
            {row}.turn_count > 0, {_answered(row)}
        ) ON CONFLICT (source, campaign, status, ended_reason, currency) DO UPDATE SET
            calls = calls + 1, cost = cost + excluded.cost, with_cost = with_cost + excluded.with_cost,
            with_turns = with_turns + excluded.with_turns, answered = answered + excluded.answered;
    """


def _outcome_removed(row: str) -> str:
    match = (
        f"source = {row}.source AND campaign = {row}.campaign AND status = {row}.status "
        f"AND ended_reason = ifnull({row}.ended_reason, '') AND currency = ifnull({row}.currency, '')"
    )
    return f"""
        UPDATE campaign_outcomes SET calls = calls - 1, cost = cost - ifnull({row}.cost, 0.0),
            with_cost = with_cost - ({row}.cost NOT NULL), with_turns = with_turns - ({row}.turn_count > 0),
            answered = answered - {_answered(row)}
        WHERE {match};
        DELETE FROM campaign_outcomes WHERE {match} AND calls = 0;
    """


def _day_added(row: str) -> str:
    return f"""
        INSERT INTO campaign_days
        SELECT {row}.source, {row}.campaign, substr({row}.started_at, 1, 10), 1 WHERE {row}.started_at != ''
        ON CONFLICT (source, campaign, day) DO UPDATE SET calls = calls + 1;
    """


def _day_removed(row: str) -> str:
    match = f"source = {row}.source AND campaign = {row}.campaign AND day = substr({row}.started_at, 1, 10)"
    return f"""
        UPDATE campaign_days SET calls = calls - 1 WHERE {match} AND {row}.started_at != '';
        DELETE FROM campaign_days WHERE {match} AND calls = 0;
    """


def _field_added(row: str) -> str:
    return f"""
        INSERT INTO campaign_fields VALUES (
            {row}.source, {row}.campaign, {row}.key, {row}.kind, {row}.txt, 1, ifnull({row}.num, 0.0)
        ) ON CONFLICT (source, campaign, key, kind, txt) DO UPDATE SET
            calls = calls + 1, num_sum = num_sum + excluded.num_sum;
    """


def _field_removed(row: str) -> str:
    match = (
        f"source = {row}.source AND campaign = {row}.campaign AND key = {row}.key "
        f"AND kind = {row}.kind AND txt = {row}.txt"
    )
    return f"""
        UPDATE campaign_fields SET calls = calls - 1, num_sum = num_sum - ifnull({row}.num, 0.0)
        WHERE {match};
        DELETE FROM campaign_fields WHERE {match} AND calls = 0;
    """


def _values_added(row: str) -> str:
    return "".join(
        f"""
        INSERT INTO campaign_values SELECT {row}.source, {row}.campaign, {measure}, {row}.{column}, 1
        WHERE {row}.{column} NOT NULL
        ON CONFLICT (source, campaign, measure, value) DO UPDATE SET calls = calls + 1;
        """
        for column, measure in VALUE_MEASURES.items()
    )


def _values_removed(row: str) -> str:
    return "".join(
        f"""
        UPDATE campaign_values SET calls = calls - 1 WHERE source = {row}.source
            AND campaign = {row}.campaign AND measure = {measure} AND value = {row}.{column};
        DELETE FROM campaign_values WHERE source = {row}.source AND campaign = {row}.campaign
            AND measure = {measure} AND value = {row}.{column} AND calls = 0;
        """
        for column, measure in VALUE_MEASURES.items()
    )


def _kept_by_triggers(
    names: tuple[str, str, str],
    columns: tuple[str, ...],
    added: Callable[[str], str],
    removed: Callable[[str], str],
) -> tuple[str, str, str]:
    """The three triggers that keep an aggregate of `calls` up to date: a call inserted adds to
    it, a call deleted takes from it, a change of `columns` takes the old row and adds the new."""
    on_insert, on_delete, on_update = names
    return (
        f"CREATE TRIGGER {on_insert} AFTER INSERT ON calls BEGIN {added('new')} END",
        f"CREATE TRIGGER {on_delete} AFTER DELETE ON calls BEGIN {removed('old')} END",
        f"""
        CREATE TRIGGER {on_update} AFTER UPDATE OF {", ".join(columns)} ON calls
        WHEN {_changed(*columns)} BEGIN
            {removed("old")}
            {added("new")}
        END
        """,
    )


_FAILED = CallStatus.FAILED.value
_FAILED_DAY_COLUMNS = ("source", "campaign", "started_at", "status")


def _failed_day_added(row: str) -> str:
    return f"""
        INSERT INTO campaign_failed_days
        SELECT {row}.source, {row}.campaign, substr({row}.started_at, 1, 10), 1
        WHERE {row}.status = '{_FAILED}' AND {row}.started_at != ''
        ON CONFLICT (source, campaign, day) DO UPDATE SET calls = calls + 1;
    """


def _failed_day_removed(row: str) -> str:
    match = f"source = {row}.source AND campaign = {row}.campaign AND day = substr({row}.started_at, 1, 10)"
    return f"""
        UPDATE campaign_failed_days SET calls = calls - 1
        WHERE {match} AND {row}.status = '{_FAILED}' AND {row}.started_at != '';
        DELETE FROM campaign_failed_days WHERE {match} AND calls = 0;
    """


def _changed(*columns: str) -> str:
    return " OR ".join(f"old.{column} IS NOT new.{column}" for column in columns)


# --- agents out of the stored bodies (version 5) ---------------------------------------------
# The keys under which the adapters of versions 1–4 kept a call's agent in `extra`: (id key,
# name key, key of an object holding the name). Frozen with the migration: later adapters fill
# `Call.agent` themselves.
_STORED_AGENT_KEYS = (("agent_id", "agent_name", None), ("assistantId", None, "assistant"))


def _stored_agent(extra: dict[str, object]) -> tuple[str, str | None] | None:
    """(agent id, name) from a stored body's `extra`, removing the keys it came from."""
    for id_key, name_key, holder_key in _STORED_AGENT_KEYS:
        ident = extra.get(id_key)
        if not isinstance(ident, str) or not ident.strip():
            continue
        name = extra.get(name_key) if name_key else None
        holder = extra.get(holder_key) if holder_key else None
        if isinstance(holder, dict):
            name = holder.get("name")
        del extra[id_key]
        if name_key:
            extra.pop(name_key, None)
        return ident.strip(), name.strip() if isinstance(name, str) and name.strip() else None
    return None


def _agents_from_bodies(conn: sqlite3.Connection) -> None:
    """File every stored call whose body kept an agent in `extra` under that agent."""
    refs: dict[tuple[int, str], int] = {}
    moved = 0
    rows = conn.execute(
        "SELECT c.id, c.source, c.started_at, b.body FROM calls c JOIN call_bodies b ON b.id = c.id "
        "ORDER BY c.id DESC"
    ).fetchall()
    for rowid, source, started, body in rows:
        try:
            data = json.loads(body)
            extra = data.get("extra")
            found = _stored_agent(extra) if isinstance(extra, dict) else None
        except (ValueError, TypeError, AttributeError):
            continue  # an unreadable body is refreshed by the next sync
        if found is None or data.get("agent") is not None:
            continue
        ident, name = found
        ref = refs.get((source, ident))
        if ref is None:
            cur = conn.execute(
                "INSERT INTO agents (source, agent_id, name, named_at) VALUES (?, ?, ?, ?)",
                (source, ident, name, started if name else None),
            )
            assert cur.lastrowid is not None
            ref = refs[(source, ident)] = int(cur.lastrowid)
        elif name:
            conn.execute(
                "UPDATE agents SET name = ?, named_at = ? WHERE id = ? "
                "AND (named_at IS NULL OR named_at < ?)",
                (name, started, ref, started),
            )
        data["agent"] = {"agent_id": ident, "name": name}
        conn.execute("UPDATE calls SET agent = ? WHERE id = ?", (ref, rowid))
        conn.execute(
            "UPDATE call_bodies SET body = ? WHERE id = ?",
            (json.dumps(data, separators=(",", ":"), ensure_ascii=False), rowid),
        )
        moved += 1
    if moved:
        logger.warning("filed %d stored calls under their platform agent (once, after an upgrade)", moved)


_OUTCOME_COLUMNS = (
    "source",
    "campaign",
    "status",
    "ended_reason",
    "currency",
    "cost",
    "turn_count",
    "customer_turns",
)
_DAY_COLUMNS = ("source", "campaign", "started_at")
_FIELD_COLUMNS = ("source", "campaign", "key", "kind", "txt", "num")
# The measures `campaign_values` counts calls by (see `summary_sql`).
VALUE_MEASURES = {"duration": 0, "qa_score": 1}
_VALUE_COLUMNS = ("source", "campaign", *VALUE_MEASURES)


MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    # 1: initial schema
    (
        """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            provider TEXT NOT NULL,
            UNIQUE (account, provider)
        )
        """,
        """
        CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            source INTEGER NOT NULL REFERENCES sources(id),
            campaign_id TEXT NOT NULL,
            name TEXT,
            platform_calls INTEGER,
            listed_at TEXT,
            UNIQUE (source, campaign_id)
        )
        """,
        """
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            source INTEGER NOT NULL REFERENCES sources(id),
            call_id TEXT NOT NULL,
            campaign INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL DEFAULT '',
            duration REAL,
            cost REAL,
            currency TEXT,
            qa_score REAL,
            ended_reason TEXT,
            has_details INTEGER NOT NULL,
            turn_count INTEGER NOT NULL DEFAULT 0,
            list_hash TEXT,
            content_hash TEXT NOT NULL,
            synced_at TEXT NOT NULL,
            UNIQUE (source, call_id)
        )
        """,
        "CREATE INDEX calls_recent ON calls (source, started_at)",
        """
        CREATE INDEX calls_campaign ON calls (
            source, campaign, started_at, status, ended_reason, duration, cost, currency, qa_score,
            turn_count
        )
        """,
        "CREATE INDEX calls_pending ON calls (source, status, has_details)",
        # Calls per day of a campaign read in index order: GROUP BY without a sort.
        "CREATE INDEX calls_days ON calls (source, campaign, substr(started_at, 1, 10))",
        # Outcome counts of a campaign read in index order: GROUP BY without a sort.
        """
        CREATE INDEX calls_outcomes ON calls (
            source, campaign, status, ended_reason, currency, cost, turn_count
        )
        """,
        """
        CREATE TABLE call_bodies (
            id INTEGER PRIMARY KEY,
            body TEXT NOT NULL
        )
        """,
        """
        CREATE VIRTUAL TABLE turns USING fts5 (
            text, speaker UNINDEXED, offset UNINDEXED,
            tokenize = 'unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TABLE fields (
            source INTEGER NOT NULL,
            campaign INTEGER NOT NULL,
            key TEXT NOT NULL,
            started_at TEXT NOT NULL,
            call INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            num REAL,
            txt TEXT NOT NULL,  -- '' unless kind is text
            PRIMARY KEY (source, campaign, key, kind, txt, call)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX fields_call ON fields (call)",
        """
        CREATE TABLE sync_state (
            source INTEGER NOT NULL REFERENCES sources(id),
            scope TEXT NOT NULL,
            campaign_id TEXT,
            since TEXT,
            until TEXT,
            watermark TEXT,
            last_synced_at TEXT,
            last_attempt_at TEXT,
            platform_calls INTEGER,
            platform_duration REAL,
            platform_cost REAL,
            platform_currency TEXT,
            status_totals TEXT,
            PRIMARY KEY (source, scope)
        )
        """,
    ),
    # 2: whether a whole-account sync saw each call's campaign (a platform whose records do not
    # name it cannot vouch for any campaign scope), and where an unfinished listing walk stopped.
    (
        "ALTER TABLE sync_state ADD COLUMN names_campaigns INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sync_state ADD COLUMN resume TEXT",
    ),
    # 3: customer turns per call, in the covering indexes.
    (
        "ALTER TABLE calls ADD COLUMN customer_turns INTEGER NOT NULL DEFAULT 0",
        # (SQLite's <<, & and | share one precedence, left to right: every shift is parenthesised.)
        f"""
        UPDATE calls SET customer_turns = (
            SELECT count(*) FROM turns
            WHERE turns.rowid BETWEEN {_CUSTOMER_LOW} AND {_CUSTOMER_LOW} + {MAX_TURNS}
        ) WHERE turn_count > 0
        """,
        "DROP INDEX calls_campaign",
        """
        CREATE INDEX calls_campaign ON calls (
            source, campaign, started_at, status, ended_reason, duration, cost, currency, qa_score,
            turn_count, customer_turns
        )
        """,
        "DROP INDEX calls_outcomes",
        """
        CREATE INDEX calls_outcomes ON calls (
            source, campaign, status, ended_reason, currency, cost, turn_count, customer_turns
        )
        """,
    ),
    # 4: stemmed words, notes searchable beside turns, calls counted per campaign at write time.
    (
        """
        CREATE VIRTUAL TABLE turns_v4 USING fts5 (
            text, speaker UNINDEXED, offset UNINDEXED, label UNINDEXED,
            tokenize = 'porter unicode61 remove_diacritics 2'
        )
        """,
        _rebuild_turns,
        "DROP TABLE turns",
        "ALTER TABLE turns_v4 RENAME TO turns",
        """
        CREATE TABLE call_counts (
            source INTEGER NOT NULL,
            campaign INTEGER NOT NULL,
            calls INTEGER NOT NULL,
            PRIMARY KEY (source, campaign)
        ) WITHOUT ROWID
        """,
        "INSERT INTO call_counts SELECT source, campaign, count(*) FROM calls GROUP BY source, campaign",
        # Order statistics (median, p90) of a campaign or a whole account, walked in value order.
        "CREATE INDEX calls_duration_campaign ON calls (source, campaign, duration) WHERE duration NOT NULL",
        "CREATE INDEX calls_duration_source ON calls (source, duration) WHERE duration NOT NULL",
        "CREATE INDEX calls_qa_score_campaign ON calls (source, campaign, qa_score) WHERE qa_score NOT NULL",
        "CREATE INDEX calls_qa_score_source ON calls (source, qa_score) WHERE qa_score NOT NULL",
        """
        CREATE TRIGGER calls_counted AFTER INSERT ON calls BEGIN
            INSERT INTO call_counts (source, campaign, calls) VALUES (new.source, new.campaign, 1)
            ON CONFLICT (source, campaign) DO UPDATE SET calls = calls + 1;
        END
        """,
        """
        CREATE TRIGGER calls_uncounted AFTER DELETE ON calls BEGIN
            UPDATE call_counts SET calls = calls - 1 WHERE source = old.source AND campaign = old.campaign;
        END
        """,
        """
        CREATE TRIGGER calls_recounted AFTER UPDATE OF source, campaign ON calls
        WHEN old.source != new.source OR old.campaign != new.campaign BEGIN
            UPDATE call_counts SET calls = calls - 1 WHERE source = old.source AND campaign = old.campaign;
            INSERT INTO call_counts (source, campaign, calls) VALUES (new.source, new.campaign, 1)
            ON CONFLICT (source, campaign) DO UPDATE SET calls = calls + 1;
        END
        """,
        # Outcomes, calls per day and extracted values per campaign, kept by triggers: a summary
        # without dates reads a handful of rows per campaign, not every call.
        """
        CREATE TABLE campaign_outcomes (
            source INTEGER NOT NULL,
            campaign INTEGER NOT NULL,
            status TEXT NOT NULL,
            ended_reason TEXT NOT NULL,  -- '' when none was reported
            currency TEXT NOT NULL,  -- '' when unknown
            calls INTEGER NOT NULL,
            cost REAL NOT NULL,  -- the sum of the costs reported
            with_cost INTEGER NOT NULL,
            with_turns INTEGER NOT NULL,
            answered INTEGER NOT NULL,
            PRIMARY KEY (source, campaign, status, ended_reason, currency)
        ) WITHOUT ROWID
        """,
        f"""
        INSERT INTO campaign_outcomes
        SELECT source, campaign, status, ifnull(ended_reason, ''), ifnull(currency, ''), count(*),
            total(cost), count(cost), sum(turn_count > 0), sum({_answered("calls")})
        FROM calls GROUP BY 1, 2, 3, 4, 5
        """,
        """
        CREATE TABLE campaign_days (
            source INTEGER NOT NULL,
            campaign INTEGER NOT NULL,
            day TEXT NOT NULL,
            calls INTEGER NOT NULL,
            PRIMARY KEY (source, campaign, day)
        ) WITHOUT ROWID
        """,
        """
        INSERT INTO campaign_days
        SELECT source, campaign, substr(started_at, 1, 10), count(*) FROM calls WHERE started_at != ''
        GROUP BY 1, 2, 3
        """,
        """
        CREATE TABLE campaign_fields (
            source INTEGER NOT NULL,
            campaign INTEGER NOT NULL,
            key TEXT NOT NULL,
            kind INTEGER NOT NULL,
            txt TEXT NOT NULL,
            calls INTEGER NOT NULL,
            num_sum REAL NOT NULL,
            PRIMARY KEY (source, campaign, key, kind, txt)
        ) WITHOUT ROWID
        """,
        """
        INSERT INTO campaign_fields
        SELECT source, campaign, key, kind, txt, count(*), total(num) FROM fields GROUP BY 1, 2, 3, 4, 5
        """,
        # The smallest and largest number of a key: one index seek each (a trigger cannot keep them).
        "CREATE INDEX fields_numbers ON fields (source, campaign, key, num) "
        f"WHERE kind = {int(FieldKind.NUMBER)}",
        f"""
        CREATE TRIGGER calls_aggregated AFTER INSERT ON calls BEGIN
            {_outcome_added("new")}
            {_day_added("new")}
        END
        """,
        f"""
        CREATE TRIGGER calls_unaggregated AFTER DELETE ON calls BEGIN
            {_outcome_removed("old")}
            {_day_removed("old")}
        END
        """,
        f"""
        CREATE TRIGGER calls_outcomes_reaggregated AFTER UPDATE OF {", ".join(_OUTCOME_COLUMNS)} ON calls
        WHEN {_changed(*_OUTCOME_COLUMNS)} BEGIN
            {_outcome_removed("old")}
            {_outcome_added("new")}
        END
        """,
        f"""
        CREATE TRIGGER calls_days_reaggregated AFTER UPDATE OF {", ".join(_DAY_COLUMNS)} ON calls
        WHEN {_changed(*_DAY_COLUMNS)} BEGIN
            {_day_removed("old")}
            {_day_added("new")}
        END
        """,
        f"""
        CREATE TRIGGER fields_aggregated AFTER INSERT ON fields BEGIN
            {_field_added("new")}
        END
        """,
        f"""
        CREATE TRIGGER fields_unaggregated AFTER DELETE ON fields BEGIN
            {_field_removed("old")}
        END
        """,
        f"""
        CREATE TRIGGER fields_reaggregated AFTER UPDATE OF {", ".join(_FIELD_COLUMNS)} ON fields
        WHEN {_changed(*_FIELD_COLUMNS)} BEGIN
            {_field_removed("old")}
            {_field_added("new")}
        END
        """,
    ),
    # 5: indexes find_calls counts with, in proportion to the matches: yes/no values by value
    # (and start, for date ranges), and the status beside each duration (a count by duration and
    # status reads the index alone).
    (
        f"CREATE INDEX fields_flags ON fields (source, campaign, key, num, started_at) "
        f"WHERE kind = {int(FieldKind.BOOLEAN)}",
        "DROP INDEX calls_duration_campaign",
        "CREATE INDEX calls_duration_campaign ON calls (source, campaign, duration, status) "
        "WHERE duration NOT NULL",
        "DROP INDEX calls_duration_source",
        "CREATE INDEX calls_duration_source ON calls (source, duration, status) WHERE duration NOT NULL",
        # How many calls of a campaign have each duration and each QA score, kept by triggers: a
        # summary's order statistics (median, p90), totals and bins read one row per distinct
        # value, not one per call.
        """
        CREATE TABLE campaign_values (
            source INTEGER NOT NULL,
            campaign INTEGER NOT NULL,
            measure INTEGER NOT NULL,
            value REAL NOT NULL,
            calls INTEGER NOT NULL,
            PRIMARY KEY (source, campaign, measure, value)
        ) WITHOUT ROWID
        """,
        *(
            f"INSERT INTO campaign_values SELECT source, campaign, {measure}, {column}, count(*) "
            f"FROM calls WHERE {column} NOT NULL GROUP BY 1, 2, 4"
            for column, measure in VALUE_MEASURES.items()
        ),
        *_kept_by_triggers(
            ("calls_valued", "calls_unvalued", "calls_revalued"),
            _VALUE_COLUMNS,
            _values_added,
            _values_removed,
        ),
    ),
    # 6: the agent (assistant) of each call, interned per source, moved out of stored bodies.
    (
        """
        CREATE TABLE agents (
            id INTEGER PRIMARY KEY,
            source INTEGER NOT NULL REFERENCES sources(id),
            agent_id TEXT NOT NULL,
            name TEXT,
            named_at TEXT,  -- start time of the call the name came from (the newest such call wins)
            UNIQUE (source, agent_id)
        )
        """,
        "ALTER TABLE calls ADD COLUMN agent INTEGER NOT NULL DEFAULT 0",
        _agents_from_bodies,
        "CREATE INDEX calls_agent ON calls (source, agent, campaign, status, started_at) WHERE agent != 0",
    ),
    # 7: failed calls per campaign and day, kept by triggers (the dashboard's failed calls per day
    # without reading every failed call).
    (
        """
        CREATE TABLE campaign_failed_days (
            source INTEGER NOT NULL,
            campaign INTEGER NOT NULL,
            day TEXT NOT NULL,
            calls INTEGER NOT NULL,
            PRIMARY KEY (source, campaign, day)
        ) WITHOUT ROWID
        """,
        f"""
        INSERT INTO campaign_failed_days
        SELECT source, campaign, substr(started_at, 1, 10), count(*) FROM calls
        WHERE status = '{_FAILED}' AND started_at != '' GROUP BY 1, 2, 3
        """,
        *_kept_by_triggers(
            ("calls_failed_counted", "calls_failed_uncounted", "calls_failed_recounted"),
            _FAILED_DAY_COLUMNS,
            _failed_day_added,
            _failed_day_removed,
        ),
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
