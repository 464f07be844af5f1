"""Append-only, numbered schema migrations of the PostgreSQL index.

`MIGRATIONS[n]` moves a database from version n (the row of `schema_version`; 0 when the table
does not exist) to n + 1. Never edit or reorder an entry once released: add a new one.
`migrate` runs the missing ones in one transaction that first takes a transaction-level advisory
lock, so replicas starting together migrate once (the others wait, then find nothing to do) and
a failure leaves the previous version intact.

Layout (version 1), as the SQLite index's (see `index.migrations`), with these differences:

- ids are plain sequences (`bigserial`): PostgreSQL has no rowid tricks to play, so order is
  (started_at, id) and a call's turns are `(call, note, seq)` rows, not a rowid range.
- Times are the same fixed-width UTC text as in SQLite (`records.ts`, '' for unknown), so
  cursors, comparisons and ordering are identical on both stores.
- `turns.words` is a generated `tsvector` with a GIN index, in the text search configuration
  `call_logs_words`: the default parser, every word stemmed by Snowball's `porter` (Porter's
  original English stemmer, as FTS5's `porter`) with no stop words (FTS5 indexes every word),
  over `unaccent` when the server has it (FTS5's remove_diacritics). The built-in `english`
  configuration would stem with Porter2 ("dying" and "died" alike, "news" apart from "new") and
  drop stop words ("not", "no", "the" would match nothing). tests/test_store_words.py holds the
  two indexes to the same matches on a shared query set and names the differences left. A
  call's summary, extracted values and QA notes are rows of `turns` too (`note` true, `speaker`
  their kind, `label` the field).
- Per-campaign call counts are plain SQL over the indexes; a summary's aggregates per campaign
  are kept by triggers (version 2), which need PostgreSQL 15 or later (UNIQUE NULLS NOT
  DISTINCT).
"""

from __future__ import annotations

from typing import Final

from call_logs_mcp.analytics import NOT_ANSWERED

# Whether accents are folded: `unaccent` is a contrib extension (trusted: a database owner may
# create it). Without it words match with their accents, and the store says so (`folds_accents`).
_UNACCENT = """
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS unaccent;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'unaccent is not available: words will match with their accents';
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent') THEN
        EXECUTE $f$
            CREATE FUNCTION call_logs_fold(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            RETURN unaccent('unaccent'::regdictionary, value)
        $f$;
    ELSE
        EXECUTE $f$
            CREATE FUNCTION call_logs_fold(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            RETURN value
        $f$;
    END IF;
END
$$
"""

# Porter stems, no stop words: see the module's docstring.
_WORDS_CONFIG = (
    "CREATE TEXT SEARCH DICTIONARY call_logs_porter (TEMPLATE = snowball, Language = porter)",
    "CREATE TEXT SEARCH CONFIGURATION call_logs_words (COPY = simple)",
    """
    ALTER TEXT SEARCH CONFIGURATION call_logs_words ALTER MAPPING FOR asciiword, word, numword,
        asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart WITH call_logs_porter
    """,
)

# Per-campaign aggregates a summary without dates reads instead of every call (as SQLite's
# versions 4, 5 and 7): outcomes (calls, exact cost sum, calls with a cost, with turns, answered
# per status, ended reason and currency), calls and failed calls per start day, calls per
# duration and per QA score value, and calls and exact numeric sum per extracted key, kind and
# text value. Row triggers on `calls` and `fields` add a row's contribution and take the old one
# away (a row whose count reaches 0 is deleted); numbers are summed as `numeric` of their
# shortest exact text, so additions and removals cancel exactly. Indexes give the extremes a
# count cannot keep: numbers per campaign and key, durations and scores per campaign, failed
# calls by start.
_NOT_ANSWERED = ", ".join(f"'{status.value}'" for status in sorted(NOT_ANSWERED))
_ANSWERED = f"c.status NOT IN ({_NOT_ANSWERED}) AND c.customer_turns > 0"  # as analytics counts it
_AGGREGATES = (
    """
    CREATE TABLE campaign_outcomes (
        source bigint NOT NULL,
        campaign bigint NOT NULL,
        status text NOT NULL,
        ended_reason text,
        currency text,
        calls bigint NOT NULL,
        cost numeric NOT NULL,
        with_cost bigint NOT NULL,
        with_turns bigint NOT NULL,
        answered bigint NOT NULL,
        UNIQUE NULLS NOT DISTINCT (source, campaign, status, ended_reason, currency)
    )
    """,
    """
    CREATE TABLE campaign_days (
        source bigint NOT NULL,
        campaign bigint NOT NULL,
        day text NOT NULL,
        calls bigint NOT NULL,
        failed bigint NOT NULL,
        PRIMARY KEY (source, campaign, day)
    )
    """,
    """
    CREATE TABLE campaign_values (
        source bigint NOT NULL,
        campaign bigint NOT NULL,
        measure text NOT NULL,
        value double precision NOT NULL,
        calls bigint NOT NULL,
        PRIMARY KEY (source, campaign, measure, value)
    )
    """,
    """
    CREATE TABLE campaign_fields (
        source bigint NOT NULL,
        campaign bigint NOT NULL,
        key text NOT NULL,
        kind integer NOT NULL,
        txt text NOT NULL,
        calls bigint NOT NULL,
        num_sum numeric NOT NULL,
        PRIMARY KEY (source, campaign, key, kind, txt)
    )
    """,
    f"""
    CREATE FUNCTION call_logs_count_call(c calls, sign integer) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO campaign_outcomes AS o VALUES (
            c.source, c.campaign, c.status, c.ended_reason, c.currency, sign,
            coalesce(c.cost::text::numeric, 0) * sign, (c.cost IS NOT NULL)::integer * sign,
            (c.turn_count > 0)::integer * sign, ({_ANSWERED})::integer * sign
        ) ON CONFLICT (source, campaign, status, ended_reason, currency) DO UPDATE SET
            calls = o.calls + excluded.calls, cost = o.cost + excluded.cost,
            with_cost = o.with_cost + excluded.with_cost, with_turns = o.with_turns + excluded.with_turns,
            answered = o.answered + excluded.answered;
        DELETE FROM campaign_outcomes WHERE source = c.source AND campaign = c.campaign
            AND status = c.status AND ended_reason IS NOT DISTINCT FROM c.ended_reason
            AND currency IS NOT DISTINCT FROM c.currency AND calls = 0;
        IF c.started_at != '' THEN
            INSERT INTO campaign_days AS d VALUES (
                c.source, c.campaign, substr(c.started_at, 1, 10), sign, (c.status = 'failed')::integer * sign
            ) ON CONFLICT (source, campaign, day) DO UPDATE SET
                calls = d.calls + excluded.calls, failed = d.failed + excluded.failed;
            DELETE FROM campaign_days WHERE source = c.source AND campaign = c.campaign
                AND day = substr(c.started_at, 1, 10) AND calls = 0;
        END IF;
        IF c.duration IS NOT NULL THEN
            INSERT INTO campaign_values AS v VALUES (c.source, c.campaign, 'duration', c.duration, sign)
                ON CONFLICT (source, campaign, measure, value) DO UPDATE SET calls = v.calls + excluded.calls;
            DELETE FROM campaign_values WHERE source = c.source AND campaign = c.campaign
                AND measure = 'duration' AND value = c.duration AND calls = 0;
        END IF;
        IF c.qa_score IS NOT NULL THEN
            INSERT INTO campaign_values AS v VALUES (c.source, c.campaign, 'qa_score', c.qa_score, sign)
                ON CONFLICT (source, campaign, measure, value) DO UPDATE SET calls = v.calls + excluded.calls;
            DELETE FROM campaign_values WHERE source = c.source AND campaign = c.campaign
                AND measure = 'qa_score' AND value = c.qa_score AND calls = 0;
        END IF;
    END
    $$
    """,
    """
    CREATE FUNCTION call_logs_calls_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN PERFORM call_logs_count_call(OLD, -1); END IF;
        IF TG_OP <> 'DELETE' THEN PERFORM call_logs_count_call(NEW, 1); END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER calls_counted AFTER INSERT OR DELETE ON calls "
    "FOR EACH ROW EXECUTE FUNCTION call_logs_calls_counted()",
    """
    CREATE TRIGGER calls_recounted AFTER UPDATE ON calls FOR EACH ROW
    WHEN ((OLD.source, OLD.campaign, OLD.status, OLD.ended_reason, OLD.currency, OLD.cost, OLD.turn_count,
           OLD.customer_turns, OLD.started_at, OLD.duration, OLD.qa_score)
          IS DISTINCT FROM
          (NEW.source, NEW.campaign, NEW.status, NEW.ended_reason, NEW.currency, NEW.cost, NEW.turn_count,
           NEW.customer_turns, NEW.started_at, NEW.duration, NEW.qa_score))
    EXECUTE FUNCTION call_logs_calls_counted()
    """,
    """
    CREATE FUNCTION call_logs_count_field(f fields, sign integer) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO campaign_fields AS a VALUES (
            f.source, f.campaign, f.key, f.kind, f.txt, sign, coalesce(f.num::text::numeric, 0) * sign
        ) ON CONFLICT (source, campaign, key, kind, txt) DO UPDATE SET
            calls = a.calls + excluded.calls, num_sum = a.num_sum + excluded.num_sum;
        DELETE FROM campaign_fields WHERE source = f.source AND campaign = f.campaign AND key = f.key
            AND kind = f.kind AND txt = f.txt AND calls = 0;
    END
    $$
    """,
    """
    CREATE FUNCTION call_logs_fields_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN PERFORM call_logs_count_field(OLD, -1); END IF;
        IF TG_OP <> 'DELETE' THEN PERFORM call_logs_count_field(NEW, 1); END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER fields_counted AFTER INSERT OR DELETE OR UPDATE ON fields "
    "FOR EACH ROW EXECUTE FUNCTION call_logs_fields_counted()",
    "CREATE INDEX fields_campaign_numbers ON fields (source, campaign, key, num) WHERE kind = 2",
    "CREATE INDEX calls_duration ON calls (source, campaign, duration) WHERE duration IS NOT NULL",
    "CREATE INDEX calls_qa_score ON calls (source, campaign, qa_score) WHERE qa_score IS NOT NULL",
    "CREATE INDEX calls_failed ON calls (source, campaign, started_at) WHERE status = 'failed'",
)

# A call's start to the minute as sortable text, '' (sorted last newest first) when unknown or
# before 1970's second minute: SQLite's row ids put the first minute of 1970 with unknown starts
# (`rowids.start_band` is minute 0 for both). `{started}` is its `started_at`. Writes fill
# `turns.minute` with it too.
SEARCH_MINUTE: Final = (
    "(CASE WHEN {started} COLLATE \"C\" < '1970-01-01T00:01' THEN '' ELSE left({started}, 16) END) "
    'COLLATE "C"'
)

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        _UNACCENT,
        *_WORDS_CONFIG,
        """
        CREATE TABLE sources (
            id bigserial PRIMARY KEY,
            account text NOT NULL,
            provider text NOT NULL,
            UNIQUE (account, provider)
        )
        """,
        """
        CREATE TABLE campaigns (
            id bigserial PRIMARY KEY,
            source bigint NOT NULL REFERENCES sources (id),
            campaign_id text NOT NULL,
            name text,
            platform_calls bigint,
            listed_at text,
            UNIQUE (source, campaign_id)
        )
        """,
        """
        CREATE TABLE calls (
            id bigserial PRIMARY KEY,
            source bigint NOT NULL REFERENCES sources (id),
            call_id text NOT NULL,
            campaign bigint NOT NULL DEFAULT 0,  -- campaigns.id, 0 = not known
            status text NOT NULL,
            started_at text NOT NULL DEFAULT '',
            duration double precision,
            cost double precision,
            currency text,
            qa_score double precision,
            ended_reason text,
            has_details boolean NOT NULL,
            turn_count integer NOT NULL DEFAULT 0,
            customer_turns integer NOT NULL DEFAULT 0,
            list_hash text,
            content_hash text NOT NULL,
            synced_at text NOT NULL,
            UNIQUE (source, call_id)
        )
        """,
        "CREATE INDEX calls_recent ON calls (source, started_at DESC, id DESC)",
        "CREATE INDEX calls_campaign ON calls (source, campaign, started_at DESC, id DESC)",
        "CREATE INDEX calls_pending ON calls (source, started_at DESC) WHERE status = 'in_progress' "
        "OR NOT has_details",
        """
        CREATE TABLE call_bodies (
            id bigint PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
            body text NOT NULL
        )
        """,
        """
        CREATE TABLE turns (
            call bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            note boolean NOT NULL,
            seq integer NOT NULL,
            speaker text NOT NULL,
            text text NOT NULL,
            "offset" double precision,
            label text,
            words tsvector
                GENERATED ALWAYS AS (to_tsvector('call_logs_words'::regconfig, call_logs_fold(text))) STORED,
            PRIMARY KEY (call, note, seq)
        )
        """,
        "CREATE INDEX turns_words ON turns USING gin (words)",
        """
        CREATE TABLE fields (
            source bigint NOT NULL,
            campaign bigint NOT NULL,
            key text NOT NULL,
            started_at text NOT NULL,
            call bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            kind integer NOT NULL,
            num double precision,
            txt text NOT NULL,  -- '' unless kind is text
            PRIMARY KEY (source, campaign, key, kind, txt, call)
        )
        """,
        "CREATE INDEX fields_call ON fields (call)",
        """
        CREATE TABLE sync_state (
            source bigint NOT NULL REFERENCES sources (id),
            scope text NOT NULL,
            campaign_id text,
            since text,
            until text,
            watermark text,
            last_synced_at text,
            last_attempt_at text,
            platform_calls bigint,
            platform_duration double precision,
            platform_cost double precision,
            platform_currency text,
            status_totals text,
            names_campaigns boolean NOT NULL DEFAULT false,
            resume text,
            PRIMARY KEY (source, scope)
        )
        """,
    ),
    # 2: the platform's agent of each call (as SQLite's version 5: `agents` interns agent ids per
    # source with the name of the newest call naming one, `calls.agent` refers to it, 0 = none);
    # numbers per key for range conditions and the fields of a text key by value (equality after
    # ASCII case folding, as SQLite's NOCASE); the per-campaign aggregates of summaries.
    (
        """
        CREATE TABLE agents (
            id bigserial PRIMARY KEY,
            source bigint NOT NULL REFERENCES sources (id),
            agent_id text NOT NULL,
            name text,
            named_at text,
            UNIQUE (source, agent_id)
        )
        """,
        "ALTER TABLE calls ADD COLUMN agent bigint NOT NULL DEFAULT 0",
        "CREATE INDEX calls_agent ON calls (source, agent, campaign, status) WHERE agent != 0",
        "CREATE INDEX fields_numbers ON fields (source, key, num) WHERE kind = 2",
        """
        CREATE FUNCTION call_logs_nocase(value text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        RETURN translate(value, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
        """,
        "CREATE INDEX fields_texts ON fields (source, key, call_logs_nocase(txt)) WHERE kind = 3",
        *_AGGREGATES,
    ),
    # 3: the search vocabulary (the terms a search that found nothing suggests; SQLite
    # reads them from FTS5's own vocabulary, which `ts_stat` would only give by reading every
    # row). Each distinct plain-word lexeme of `turns.words`, added by a statement trigger when
    # a turn brings a new one. No unique key: concurrent writers never wait on each other's
    # new words (a rare duplicate is read once: readers use DISTINCT). Lexemes stay when their
    # turns go (a suggestion is only made when it finds hits in the caller's calls).
    (
        'CREATE TABLE search_words (word text COLLATE "C" NOT NULL)',
        "CREATE INDEX search_words_word ON search_words (word)",
        """
        CREATE FUNCTION call_logs_add_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO search_words (word)
            SELECT DISTINCT w FROM added_turns, unnest(tsvector_to_array(added_turns.words)) AS w
            WHERE w !~ '[[:punct:][:space:]]'
                AND NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w);
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER turns_search_words AFTER INSERT ON turns
            REFERENCING NEW TABLE AS added_turns
            FOR EACH STATEMENT EXECUTE FUNCTION call_logs_add_search_words()
        """,
        """
        INSERT INTO search_words (word)
        SELECT DISTINCT w FROM turns, unnest(tsvector_to_array(turns.words)) AS w
        WHERE w !~ '[[:punct:][:space:]]'
        """,
    ),
    # 4: find_calls counts read indexes only. Numbers, yes/no values and text values per key
    # include the call, its campaign and start (yes/no values and texts are ordered by start
    # too, for a date range; texts include `txt`, or a scan whose test reads the column is not
    # index-only), so a count reads the rows of its rarest condition from one index and probes
    # the others by call; column-only requests count the calls by source, status and duration.
    (
        "DROP INDEX fields_numbers",
        "CREATE INDEX fields_numbers ON fields (source, key, num) INCLUDE (call, campaign, started_at) "
        "WHERE kind = 2",
        "CREATE INDEX fields_flags ON fields (source, key, num, started_at) INCLUDE (call, campaign) "
        "WHERE kind = 1",
        "DROP INDEX fields_texts",
        "CREATE INDEX fields_texts ON fields (source, key, call_logs_nocase(txt), started_at) "
        "INCLUDE (call, campaign, txt) WHERE kind = 3",
        "CREATE INDEX calls_status_duration ON calls (source, status, duration)",
    ),
    # 5: each turn carries its call's source, status and start minute (`SEARCH_MINUTE` of the
    # call's start, the order search finds the newest matches by): a search without a campaign
    # or dates reads its matches from `turns` alone instead of hashing the account's calls to
    # join them (bench/bench_pg_search.py). Writes keep them: a call's turns are written again
    # whenever its start or status changes. The word index is rebuilt after the fill rather
    # than updated row by row (58 s for 6.6 million turns).
    (
        "ALTER TABLE turns ADD COLUMN source bigint",
        'ALTER TABLE turns ADD COLUMN minute text COLLATE "C"',
        "ALTER TABLE turns ADD COLUMN status text",
        "DROP INDEX turns_words",
        "UPDATE turns t SET source = c.source, status = c.status, "
        f"minute = {SEARCH_MINUTE.format(started='c.started_at')} FROM calls c WHERE c.id = t.call",
        "ALTER TABLE turns ALTER COLUMN source SET NOT NULL, ALTER COLUMN minute SET NOT NULL, "
        "ALTER COLUMN status SET NOT NULL",
        "CREATE INDEX turns_words ON turns USING gin (words)",
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)

WORDS_CONFIG: Final = "call_logs_words"  # the text search configuration of `turns.words`

# The advisory lock key migrations hold (any fixed 64-bit number: this one spells "calllogs").
MIGRATION_LOCK: Final = 0x63616C6C6C6F6773
