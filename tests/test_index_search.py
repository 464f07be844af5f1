"""Transcript search over the index: ranking, phrase/prefix, filters, snippets, cursors, bad input.

Each scenario runs on both stores (`STORES`: SQLite and PostgreSQL, see `stores`)."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.index import CallRecord, IndexStore, SearchResult, parse_query
from call_logs_mcp.index.search import SNIPPET_MAX_CHARS
from call_logs_mcp.models import Call, CallStatus, Turn
from stores import STORES, Opener, opened_stores

BASE = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
SCOPE = {"prosper": "acct-p", "callcamp": "acct-c"}

# (provider, call id, campaign, status, day offset, [(speaker, text)])
CORPUS: list[tuple[str, str, str, CallStatus, int, list[tuple[str, str]]]] = [
    ("prosper", "p1", "reminders", CallStatus.COMPLETED, 0, [
        ("agent", "Hello, I am calling to confirm your appointment on Tuesday."),
        ("customer", "I need to reschedule the appointment, please."),
        ("agent", "Sure, I can reschedule it for Thursday."),
    ]),
    ("prosper", "p2", "reminders", CallStatus.FAILED, 1, [
        ("agent", "Hello, this is about your refund request."),
        ("customer", "Refund refund refund. I want my refund now."),
    ]),
    ("prosper", "p3", "billing", CallStatus.COMPLETED, 2, [
        ("agent", "Your credit card was charged twice for the Basic plan."),
        ("customer", "Then I want a refund to my credit card."),
        ("agent", "The card on file ends in 1111."),
    ]),
    ("callcamp", "c1", "billing", CallStatus.COMPLETED, 3, [
        ("agent", "Grüezi! Wir rufen wegen Ihres Termins in Zürich an."),
        ("customer", "Ich möchte den Termin verschieben, merci."),
        ("agent", "We will call you back at the café."),
    ]),
    ("callcamp", "c2", "survey", CallStatus.NO_ANSWER, 4, []),
    ("callcamp", "c3", "survey", CallStatus.COMPLETED, 5, [
        ("agent", "How satisfied were you with the appointment?"),
        ("customer", "Very satisfied. The cafe downstairs was great, by the way."),
        ("customer", "Card readers at reception were broken though."),
    ]),
]  # fmt: skip


def corpus_calls() -> list[Call]:
    return [
        Call(
            provider=provider,
            call_id=call_id,
            campaign_id=campaign,
            status=status,
            started_at=BASE + timedelta(days=day),
            transcript=[
                Turn(speaker=speaker, text=text, offset_seconds=4.0 * i)  # type: ignore[arg-type]
                for i, (speaker, text) in enumerate(turns)
            ],
        )
        for provider, call_id, campaign, status, day, turns in CORPUS
    ]


@pytest.fixture(params=STORES)
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens an empty index of each kind in turn."""
    async with opened_stores(request, tmp_path) as opener:
        yield opener


@pytest.fixture
async def store(open_store: Opener) -> IndexStore:
    index: IndexStore = await open_store()
    for provider in ("prosper", "callcamp"):
        calls = [c for c in corpus_calls() if c.provider == provider]
        await index.upsert(SCOPE[provider], provider, [CallRecord(c) for c in calls])
    return index


def fold(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch)
    )


def words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text))


async def every_page(
    store: IndexStore, scope: dict[str, str], query: str, **filters: Any
) -> list[SearchResult]:
    """Each page of a search, its cursor followed to the end."""
    pages: list[SearchResult] = []
    cursor: str | None = None
    for _ in range(200):
        page = await store.search(scope, query, cursor=cursor, **filters)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages
    raise AssertionError("paging did not end")


def turns_where(predicate: object) -> set[tuple[str, int]]:
    """(call id, turn index) of corpus turns for which predicate(call, turn) holds."""
    out: set[tuple[str, int]] = set()
    for call in corpus_calls():
        for index, turn in enumerate(call.transcript):
            if predicate(call, turn):  # type: ignore[operator]
                out.add((call.call_id, index))
    return out


def hit_keys(result: SearchResult) -> set[tuple[str, int]]:
    return {(h.call_id, h.turn_index) for h in result.hits}


async def test_a_word_matches_every_turn_containing_it_in_any_case(store: IndexStore) -> None:
    result = await store.search(SCOPE, "REFUND", limit=50)
    expected = turns_where(lambda call, turn: "refund" in words(turn.text))
    assert hit_keys(result) == expected
    assert result.total_hits == len(expected)
    assert result.calls_matched == len({call_id for call_id, _ in expected})


async def test_results_are_ranked_by_relevance(store: IndexStore) -> None:
    result = await store.search(SCOPE, "refund", limit=50)
    # The turn saying "refund" four times in a short sentence ranks first.
    assert (result.hits[0].call_id, result.hits[0].turn_index) == ("p2", 1)
    relevances = [h.relevance for h in result.hits]
    assert relevances == sorted(relevances, reverse=True)


async def test_a_phrase_matches_only_those_words_in_that_order(store: IndexStore) -> None:
    phrase = await store.search(SCOPE, '"credit card"', limit=50)
    loose = await store.search(SCOPE, "card credit", limit=50)
    assert hit_keys(phrase) == turns_where(lambda call, turn: "credit card" in fold(turn.text))
    assert hit_keys(phrase) == {("p3", 0), ("p3", 1)}
    assert hit_keys(loose) == hit_keys(phrase)
    reversed_phrase = await store.search(SCOPE, '"card credit"', limit=50)
    assert reversed_phrase.total_hits == 0


async def test_a_prefix_matches_words_starting_with_it(store: IndexStore) -> None:
    result = await store.search(SCOPE, "resched*", limit=50)
    expected = turns_where(lambda call, turn: any(w.startswith("resched") for w in words(turn.text)))
    assert hit_keys(result) == expected and len(expected) == 2


async def test_accents_and_case_do_not_matter_either_way(store: IndexStore) -> None:
    plain = await store.search(SCOPE, "cafe", limit=50)
    accented = await store.search(SCOPE, "CAFÉ", limit=50)
    zurich = await store.search(SCOPE, "zurich", limit=50)
    expected = turns_where(lambda call, turn: "cafe" in words(turn.text))
    assert hit_keys(plain) == hit_keys(accented) == expected == {("c1", 2), ("c3", 1)}
    assert hit_keys(zurich) == {("c1", 0)}


async def test_or_and_exclusions_combine_words(store: IndexStore) -> None:
    either = await store.search(SCOPE, "reschedule OR verschieben", limit=50)
    assert hit_keys(either) == turns_where(
        lambda call, turn: {"reschedule", "verschieben"} & set(words(turn.text))
    )
    without = await store.search(SCOPE, "card -credit", limit=50)
    assert hit_keys(without) == turns_where(
        lambda call, turn: "card" in words(turn.text) and "credit" not in words(turn.text)
    )
    also_without = await store.search(SCOPE, "card NOT credit", limit=50)
    assert hit_keys(also_without) == hit_keys(without)


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        ({"provider": "callcamp"}, lambda call, turn: call.provider == "callcamp"),
        ({"campaign_id": "billing"}, lambda call, turn: call.campaign_id == "billing"),
        ({"status": CallStatus.FAILED}, lambda call, turn: call.status is CallStatus.FAILED),
        ({"speaker": "customer"}, lambda call, turn: turn.speaker == "customer"),
        (
            {"from_date": BASE + timedelta(days=2), "to_date": BASE + timedelta(days=3)},
            lambda call, turn: BASE + timedelta(days=2) <= call.started_at <= BASE + timedelta(days=3),
        ),
        (
            {"provider": "prosper", "campaign_id": "billing", "speaker": "agent"},
            lambda call, turn: (
                call.provider == "prosper" and call.campaign_id == "billing" and turn.speaker == "agent"
            ),
        ),
    ],
    ids=["provider", "campaign", "status", "speaker", "dates", "combined"],
)
async def test_filters_narrow_hits_to_matching_calls_and_turns(
    store: IndexStore, filters: dict[str, object], keep: object
) -> None:
    query = "card OR refund OR appointment OR termin OR cafe"
    result = await store.search(SCOPE, query, limit=100, **filters)  # type: ignore[arg-type]
    # Words match in any form: the corpus's plurals ("Termins") count too.
    terms = {"card", "refund", "appointment", "termin", "cafe"}
    forms = terms | {f"{t}s" for t in terms}
    expected = turns_where(
        lambda call, turn: bool(forms & set(words(turn.text))) and keep(call, turn)  # type: ignore[operator]
    )
    assert expected
    assert hit_keys(result) == expected
    assert result.total_hits == len(expected)


async def test_a_campaign_filter_for_an_unknown_campaign_finds_nothing(store: IndexStore) -> None:
    assert (await store.search(SCOPE, "refund", campaign_id="nope")).total_hits == 0


async def test_hits_carry_the_call_reference_turn_speaker_and_offset(store: IndexStore) -> None:
    result = await store.search(SCOPE, "verschieben")
    (hit,) = result.hits
    assert (hit.provider, hit.call_id, hit.campaign_id) == ("callcamp", "c1", "billing")
    assert hit.uri == "calls://callcamp/c1"
    assert (hit.turn_index, hit.speaker, hit.offset_seconds) == (1, "customer", 4.0)
    assert hit.status is CallStatus.COMPLETED
    assert hit.started_at == BASE + timedelta(days=3)


async def test_paging_with_the_cursor_returns_every_hit_exactly_once(store: IndexStore) -> None:
    query = "the OR card OR refund OR appointment"
    everything = await store.search(SCOPE, query, limit=100)
    pages = await every_page(store, SCOPE, query, limit=2)
    seen = [(h.call_id, h.turn_index) for page in pages for h in page.hits]
    assert all(page.total_hits == everything.total_hits for page in pages)
    assert seen == [(h.call_id, h.turn_index) for h in everything.hits]
    assert len(seen) == everything.total_hits > 4


async def test_a_cursor_from_another_search_is_rejected(store: IndexStore) -> None:
    first = await store.search(SCOPE, "the OR card", limit=1)
    assert first.next_cursor is not None
    with pytest.raises(InvalidArgumentError, match="different search"):
        await store.search(SCOPE, "refund", limit=1, cursor=first.next_cursor)
    with pytest.raises(InvalidArgumentError, match="different search"):
        await store.search(SCOPE, "the OR card", limit=1, cursor=first.next_cursor, speaker="agent")
    with pytest.raises(InvalidArgumentError):
        await store.search(SCOPE, "refund", cursor="garbage!")


async def test_snippets_stay_short_and_highlight_the_match_in_long_turns(open_store: Opener) -> None:
    filler = " ".join(f"word{i}" for i in range(600))
    text = f"{filler} the magic PASSPHRASE appears here {filler} and again passphrase at the end"
    call = Call(provider="prosper", call_id="long", transcript=[Turn(speaker="customer", text=text)])
    store = await open_store()
    await store.upsert("acct", "prosper", [CallRecord(call)])
    (hit,) = (await store.search({"prosper": "acct"}, "passphrase")).hits
    assert len(hit.snippet) <= SNIPPET_MAX_CHARS
    assert hit.snippet.startswith("…")
    assert hit.highlights
    for start, end in hit.highlights:
        assert hit.snippet[start:end].lower() == "passphrase"


async def test_snippets_of_short_turns_are_the_whole_turn(store: IndexStore) -> None:
    (hit,) = (await store.search(SCOPE, "verschieben")).hits
    turn_text = CORPUS[3][5][1][1]
    assert hit.snippet == turn_text
    ((start, end),) = hit.highlights
    assert hit.snippet[start:end] == "verschieben"


@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ("cafe", {"café", "cafe"}),
        ("CAFÉ", {"café", "cafe"}),
        ("refunds", {"refund", "Refund"}),
        ("resched*", {"reschedule"}),
    ],
)
async def test_snippets_mark_the_matched_words_in_any_form_case_or_accent(
    store: IndexStore, query: str, marked: set[str]
) -> None:
    result = await store.search(SCOPE, query, limit=50)
    assert result.hits
    for hit in result.hits:
        words_marked = {hit.snippet[start:end] for start, end in hit.highlights}
        assert words_marked and words_marked <= marked, (hit.snippet, hit.highlights)


HOSTILE_QUERIES = [
    '"', '"unbalanced phrase', "refund\"", "OR", "AND", "NOT", "AND AND", "OR refund", "refund OR",
    "refund NOT", "(", ")", "((refund)", "*", "**", "refund**", "^refund", "col:refund",
    "text:refund", "speaker:agent", "rank:refund", "NEAR(refund card)", "NEAR/2", "{text}: refund",
    "refund + card", "'", "'; DROP TABLE calls; --", "refund\x00card", "\x00", "\ud800",
    "refund \udfff", "\u200brefund\u200d", "\u202erefund", "-", "--", "-refund -card", "\\", "%",
    "refund" * 200, "a " * 40, "é", "😊 refund", "\n\t refund \r\n",
    # Letters that PostgreSQL's unaccent folds to an apostrophe (tsquery's quote).
    "refundʼs", "ʼ", "ŉ refund", '"ʹ card"*', "callʼ OR ŉ",
]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
async def test_query_syntax_mistakes_give_a_plain_match_or_a_clear_error_never_sqlite(
    store: IndexStore, query: str
) -> None:
    try:
        result = await store.search(SCOPE, query, limit=5)
    except InvalidArgumentError as error:
        message = str(error).lower()
        assert "sqlite" not in message and "fts5" not in message and "syntax error" not in message
        assert "search query" in message
    else:
        assert result.total_hits >= len(result.hits)
    # The index is still usable afterwards.
    assert (await store.search(SCOPE, "refund")).total_hits > 0


def test_parsed_queries_only_ever_contain_quoted_terms_and_operators() -> None:
    for query in HOSTILE_QUERIES:
        try:
            parsed = parse_query(query)
        except InvalidArgumentError:
            continue
        outside_quotes = re.sub(r'"(?:[^"]|"")*"\*?', " ", parsed.fts)
        assert set(re.findall(r"\(|\)|[^\s()]+", outside_quotes)) <= {"AND", "OR", "NOT", "(", ")"}, (
            parsed.fts
        )
        # And SQLite accepts it.
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2')")
        conn.execute("SELECT count(*) FROM t WHERE t MATCH ?", (parsed.fts,)).fetchone()
        conn.close()


@pytest.mark.parametrize("query", ["-refund", '""', "***", "!!!", "( )"])
def test_a_query_with_nothing_to_look_for_says_how_to_fix_it(query: str) -> None:
    with pytest.raises(InvalidArgumentError, match="at least one word"):
        parse_query(query)


@pytest.mark.parametrize(
    ("query", "read"),
    [
        ("customer wanted to cancel OR refund", "(customer wanted to cancel) OR refund"),
        ('late fee OR "credit card" OR insur*', '(late fee) OR "credit card" OR insur*'),
        ("angry OR upset OR frustrated", None),
        ("late fee", None),
    ],
)
def test_or_beside_words_side_by_side_says_how_it_was_read(query: str, read: str | None) -> None:
    """OR joins what stands next to it (as in FTS5 and PostgreSQL): "cancel OR refund" inside a
    sentence does not mean either word. The reading is said when OR meets words side by side."""
    notes = [n for n in parse_query(query).notes if n.startswith("read as ")]
    if read is None:
        assert notes == []
    else:
        assert notes == [
            f"read as {read}: words side by side must all be in one turn; for any of several words, "
            "put OR between each two"
        ]


def test_a_stray_operator_is_searched_as_a_word_and_said_so() -> None:
    parsed = parse_query("NOT")
    assert parsed.terms == ["not"]
    assert parsed.notes == ["a stray NOT was searched as a word"]


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_is_an_invalid_argument(query: str) -> None:
    with pytest.raises(InvalidArgumentError, match="empty"):
        parse_query(query)


def test_an_oversized_query_is_refused_before_it_reaches_sqlite() -> None:
    with pytest.raises(InvalidArgumentError, match="too long"):
        parse_query("refund " * 200)
    with pytest.raises(InvalidArgumentError, match="at most 32"):
        parse_query("a " * 33)


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_a_limit_out_of_range_is_an_invalid_argument(store: IndexStore, limit: int) -> None:
    with pytest.raises(InvalidArgumentError, match="limit"):
        await store.search(SCOPE, "refund", limit=limit)


async def test_a_very_common_word_is_ranked_among_the_newest_matches_and_counted_exactly(
    open_store: Opener,
) -> None:
    calls = [
        Call(
            provider="prosper",
            call_id=f"r{i}",
            campaign_id="big" if i % 2 else "small",
            started_at=BASE + timedelta(hours=i),
            # Older calls say "refund" more often: they would outrank the newer ones if ranked.
            transcript=[Turn(speaker="customer", text="refund " * (1 + (30 - i) // 10) + "please")],
        )
        for i in range(30)
    ]
    store = await open_store(rank_window=8)
    await store.upsert("acct", "prosper", [CallRecord(c) for c in calls])
    pages = await every_page(store, {"prosper": "acct"}, "refund", limit=3)
    narrow = await store.search(
        {"prosper": "acct"}, "refund", campaign_id="small", from_date=BASE + timedelta(hours=16)
    )
    first = pages[0]
    assert (first.total_hits, first.calls_matched, first.ranked_hits) == (30, 30, 8)
    assert first.ranking_note is not None and "8 most recent of 30" in first.ranking_note
    newest = {c.call_id for c in sorted(calls, key=lambda c: c.started_at or BASE)[-8:]}
    reached = [h.call_id for page in pages for h in page.hits]
    assert len(reached) == len(set(reached)) == 8 and set(reached) == newest
    expected_narrow = [
        c for c in calls if c.campaign_id == "small" and (c.started_at or BASE) >= BASE + timedelta(hours=16)
    ]
    assert narrow.total_hits == narrow.ranked_hits == len(expected_narrow) and narrow.ranking_note is None


@pytest.mark.parametrize(("rank_window", "campaign"), [(1_000, None), (7, None), (5, "odd")])
async def test_a_sentences_lower_tier_is_ranked_as_bm25_ranks_its_own_expression(
    tmp_path: Path, rank_window: int, campaign: str | None
) -> None:
    """The turns with 2 of a sentence's 3 words are ranked by bm25 over "at least 2 of them"
    with the 3-word turns left out (fewer doclists to read): the order is the one bm25 gives over
    the tier's own expression, "at least 2 NOT all 3", over its newest `rank_window` turns (in
    the campaign asked for, when one is)."""
    vocabulary = ["angry", "late", "fee", "invoice", "customer", "waived", "again", "today"]
    calls = [
        Call(
            provider="prosper",
            call_id=f"t{i}",
            campaign_id="odd" if i % 2 else "even",
            started_at=BASE + timedelta(hours=i),
            transcript=[
                Turn(
                    speaker="customer",
                    text=" ".join(
                        vocabulary[(i * 7 + j * 3 + k) % len(vocabulary)] for k in range(3 + (i + j) % 9)
                    ),
                    offset_seconds=float(j),
                )
                for j in range(4)
            ],
        )
        for i in range(40)
    ]
    store = IndexStore.open(tmp_path / "tiers.db", rank_window=rank_window)
    try:
        await store.upsert("acct", "prosper", [CallRecord(c) for c in calls])
        query = "which customers were angry about the late fee"
        tier = parse_query(query).tiers[1]
        assert (tier.words, tier.of) == (2, 3)
        pages = await every_page(store, {"prosper": "acct"}, query, campaign_id=campaign, limit=4)
        hits = [(h.call_id, h.turn_index) for page in pages for h in page.hits]

        def by_bm25(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            """The tier's newest `rank_window` turns, ranked by bm25 over its own expression."""
            rows = conn.execute(
                "SELECT c.call_id, t.rowid & 65535, bm25(turns), t.rowid FROM turns t "
                "JOIN calls c ON c.id = t.rowid >> 21 LEFT JOIN campaigns p ON p.id = c.campaign "
                "WHERE turns MATCH ? AND (? IS NULL OR p.campaign_id = ?)",
                [tier.fts, campaign, campaign],
            ).fetchall()
            newest = sorted(rows, key=lambda r: r[3])[:rank_window]
            return [(str(r[0]), int(r[1])) for r in sorted(newest, key=lambda r: (r[2], r[3]))]

        expected = store.db.read_sync(by_bm25)
        top, lower = pages[0].word_tiers
        assert len(expected) == min(lower.hits, rank_window) > 3
        assert (lower.hits > rank_window) == (rank_window < 1_000)  # windowed, or not
        assert hits[min(top.hits, rank_window) :] == expected
    finally:
        store.close()


CONTENT = ["angry", "late", "fee", "invoice", "waived", "refund", "card"]


@settings(max_examples=25, deadline=None, database=None)
@given(
    texts=st.lists(
        st.lists(st.sampled_from([*CONTENT, "the", "please", "today", "again"]), min_size=1, max_size=12),
        min_size=1,
        max_size=60,
    ),
    sentence=st.lists(st.sampled_from(CONTENT), min_size=3, max_size=5, unique=True),
    rank_window=st.sampled_from([3, 1_000]),
)
def test_every_tier_of_a_generated_sentence_is_ranked_as_bm25_ranks_the_tiers_own_expression(
    tmp_path_factory: pytest.TempPathFactory, texts: list[list[str]], sentence: list[str], rank_window: int
) -> None:
    """Generated turns and a generated sentence of 3 to 5 words: every tier's hits, page after
    page, are its newest `rank_window` turns in the order bm25 gives over the tier's own
    expression (the lower tiers are ranked over fewer phrases, with the same scores)."""
    calls = [
        Call(
            provider="prosper",
            call_id=f"g{i}",
            started_at=BASE + timedelta(minutes=i),
            transcript=[Turn(speaker="customer", text=" ".join(words), offset_seconds=0.0)],
        )
        for i, words in enumerate(texts)
    ]
    query = " ".join(sentence)
    tiers = parse_query(query).tiers
    assert len(tiers) >= 2

    async def run() -> tuple[list[tuple[str, int | None]], list[tuple[str, int]]]:
        store = IndexStore.open(tmp_path_factory.mktemp("tiers") / "index.db", rank_window=rank_window)
        try:
            await store.upsert("acct", "prosper", [CallRecord(c) for c in calls])
            pages = await every_page(store, {"prosper": "acct"}, query, limit=4)

            def by_bm25(conn: sqlite3.Connection) -> list[tuple[str, int]]:
                expected: list[tuple[str, int]] = []
                for tier in tiers:
                    rows = conn.execute(
                        "SELECT c.call_id, t.rowid & 65535, bm25(turns), t.rowid FROM turns t "
                        "JOIN calls c ON c.id = t.rowid >> 21 WHERE turns MATCH ?",
                        [tier.fts],
                    ).fetchall()
                    newest = sorted(rows, key=lambda r: r[3])[:rank_window]
                    expected += [(str(r[0]), int(r[1])) for r in sorted(newest, key=lambda r: (r[2], r[3]))]
                return expected

            return [(h.call_id, h.turn_index) for p in pages for h in p.hits], store.db.read_sync(by_bm25)
        finally:
            store.close()

    hits, expected = anyio.run(run)
    assert hits == expected
