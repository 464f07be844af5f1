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
- Per-campaign counts are plain SQL over the indexes (no trigger-kept aggregates yet).
"""

from __future__ import annotations

from typing import Final

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
    # Version 2: the search vocabulary (the terms a search that found nothing suggests; SQLite
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
)

SCHEMA_VERSION: Final = len(MIGRATIONS)

WORDS_CONFIG: Final = "call_logs_words"  # the text search configuration of `turns.words`

# The advisory lock key migrations hold (any fixed 64-bit number: this one spells "calllogs").
MIGRATION_LOCK: Final = 0x63616C6C6C6F6773
