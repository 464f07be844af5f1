"""Words match alike in both indexes: FTS5 `porter unicode61 remove_diacritics 2` (SQLite) and
the `call_logs_words` configuration over `unaccent` (PostgreSQL, see `index.postgres.migrations`).

This holds the two word indexes themselves to the same matches (`test_search_contract.py` holds
the two stores' searches alike, over text that keeps away from these differences): each store
keeps one call per sentence, and each query word (as a one-word phrase, the way a search term is
matched) must find the same calls in both. The differences that remain
are listed in KNOWN_DIFFERENCES, exactly: a change in either direction fails here.
"""

from __future__ import annotations

from pathlib import Path

from call_logs_mcp.index import CallRecord, IndexStore
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.postgres.migrations import WORDS_CONFIG
from call_logs_mcp.index.rowids import CALL_SHIFT
from factories import make_call

SENTENCES = (
    "I want a refund for the cancelled booking",
    "She refunded the fee and we're cancelling the rest",
    "Refunds are processed daily, not weekly",
    "The café in São Paulo was naïve about it",
    "Cafe Sao Paulo naive",
    "He is dying to know; they died yesterday",
    "The news was fairly good for a new fair deal",
    "Organization of the organs generously donated by the generous donor",
    "Call me at 5pm, not today. No, I'm not interested",
    "Running runners run ran, happily, happiness, happy",
    "Über größe straße",
    "uber grosse strasse",
    "Connection connected connecting connections",
    "Emailed the e-mail to my email; the Wi-Fi and wifi were down",
    "I'll call tomorrow. Don't call again",
    "appointment appointed appoint; cancellation cancel",
    "Voicemail: please call back at +1 (415) 555-0100 re: invoice #4411",
    "Ja, Termin am Dienstag um 9 Uhr. Grüezi! 東京 Wellness 😊",
    "The agent asked whether the customer's insurance covers physiotherapy",
)

_WORDS = """
    refund refunds refunded refunding cancel cancelled cancelling cancellation cafe café sao são naive
    naïve dying die died news new fairly fair organization organ generously generous not no the a was
    is it run running ran runner happy happily happiness über uber größe grosse straße strasse
    connection connect email e-mail mail wifi wi-fi tomorrow don don't i'll appoint appointment 5pm pm
    415 555 0100 4411 invoice voicemail termin dienstag grüezi gruezi 東京 wellness insurance
    customer's physiotherapy physio agent asked ask covers cover
"""
WORDS = tuple(_WORDS.split())

# word → (calls it finds in SQLite, calls it finds in PostgreSQL), by sentence number.
KNOWN_DIFFERENCES = {
    # unaccent folds ß to "ss"; unicode61's remove_diacritics leaves ß alone.
    "größe": ([10], [10, 11]),
    "grosse": ([11], [10, 11]),
    "straße": ([10], [10, 11]),
    "strasse": ([11], [10, 11]),
    # Snowball's `porter` stems "is" to "i" (as "I"); FTS5's porter leaves "is".
    "is": ([5], [0, 5, 8, 14]),
    # PostgreSQL's parser reads "555-0100" as 555 and the signed number -0100.
    "0100": ([16], []),
}


async def sqlite_matches(store: IndexStore, word: str) -> list[int]:
    phrase = '"' + word.replace('"', '""') + '"'
    rows = await store.db.read(
        lambda conn: conn.execute(
            "SELECT c.call_id FROM turns t JOIN calls c "
            f"ON c.id = t.rowid >> {CALL_SHIFT} WHERE turns MATCH ?",
            (phrase,),
        ).fetchall(),
        "test",
    )
    return sorted(int(r[0]) for r in rows)


async def postgres_matches(store: PostgresStore, word: str) -> list[int]:
    async with store.db.transaction("test") as conn:
        cur = await conn.execute(
            "SELECT c.call_id FROM turns t JOIN calls c ON c.id = t.call "
            f"WHERE t.words @@ phraseto_tsquery('{WORDS_CONFIG}', call_logs_fold(%s))",
            (word,),
        )
        rows = await cur.fetchall()
    return sorted(int(r[0]) for r in rows)


async def test_both_indexes_match_the_shared_query_set_alike_but_for_the_known_differences(
    tmp_path: Path, postgres_url: str
) -> None:
    records = [CallRecord(make_call(str(i), texts=(text,), hours=i)) for i, text in enumerate(SENTENCES)]
    sqlite = IndexStore.open(tmp_path / "calls.db")
    try:
        async with await PostgresStore.open(postgres_url) as postgres:
            await sqlite.upsert("acct", "prosper", records)
            await postgres.upsert("acct", "prosper", records)
            found = {
                word: (await sqlite_matches(sqlite, word), await postgres_matches(postgres, word))
                for word in WORDS
            }
    finally:
        sqlite.close()
    differences = {word: pair for word, pair in found.items() if pair[0] != pair[1]}
    assert differences == {word: KNOWN_DIFFERENCES[word] for word in differences}
    assert set(differences) == set(KNOWN_DIFFERENCES) & set(WORDS)
    # The set is not trivial: stems join word forms, and stop words are found.
    assert found["refunding"][1] == [0, 1, 2]
    assert found["not"][1] == [2, 8]
    assert found["naive"][1] == [3, 4]
