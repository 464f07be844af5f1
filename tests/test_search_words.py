"""Search over the index by word forms, phrases, sentences and outcomes, held against oracles that
read the calls themselves: exact phrases stay exact, sentence tiers page without loss, an empty
answer explains itself, find_calls counts what the calls hold for any mix of conditions, and the
per-campaign counters stay equal to a count after any sequence of writes. An index written by the
previous schema migrates in place.

The search scenarios run on both stores (`STORES`: SQLite and PostgreSQL, see `stores`); a
generated example that opens a store of its own stores its calls under an account of its own
(the PostgreSQL stores of one test share its database)."""

from __future__ import annotations

import random
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from call_logs_mcp.core.outcomes import parse_predicate
from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.index import CallRecord, IndexStore
from call_logs_mcp.index.migrations import MIGRATIONS
from call_logs_mcp.index.outcomes import OutcomeRequest
from call_logs_mcp.models import Call, CallStatus
from factories import BASE, make_call
from stores import STORES, Opener, opened_stores

SCOPE = {"prosper": "acct"}


async def stored(tmp_path: Path, calls: list[Call]) -> IndexStore:
    store = IndexStore.open(tmp_path / "calls.db")
    await store.upsert("acct", "prosper", [CallRecord(c) for c in calls])
    return store


@pytest.fixture(params=STORES)
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens an empty index of each kind in turn."""
    async with opened_stores(request, tmp_path) as opener:
        yield opener


def forms_calls() -> list[Call]:
    return [
        make_call("c1", texts=["I was refunded twice.", "The refunds arrived."], hours=1),
        make_call("c2", texts=["Can I get a refund?", "Call me back about the refund."], hours=2),
        make_call("c3", texts=["Please call back later.", "Calling back is fine."], hours=3),
        make_call(
            "c4",
            texts=["Hello.", "Bye."],
            hours=4,
            summary="Callback requested next week.",
            extracted_data={"callback_requested": True, "refund_amount": 42.5, "insurer": "Aetna"},
            qa={"notes": "Agent interrupted the customer twice."},
        ),
        make_call(
            "c5", texts=["Bonjour, café crème?"], hours=5, extracted_data={"callback_requested": False}
        ),
    ]


@pytest.fixture
async def forms(open_store: Opener) -> IndexStore:
    """The word-forms calls in each store in turn."""
    store: IndexStore = await open_store()
    await store.upsert("acct", "prosper", [CallRecord(c) for c in forms_calls()])
    return store


@pytest.fixture
async def sqlite_forms(tmp_path: Path) -> AsyncIterator[IndexStore]:
    """The word-forms calls in SQLite (the PostgreSQL store has no find_calls yet)."""
    store = await stored(tmp_path, forms_calls())
    yield store
    store.close()


def keys(result: Any) -> list[tuple[str, str, int | None]]:
    return [(h.call_id, h.matched_in, h.turn_index) for h in result.hits]


async def test_a_word_finds_its_forms_and_a_quoted_word_only_itself(forms: IndexStore) -> None:
    stemmed = await forms.search(SCOPE, "refund", limit=50)
    assert sorted(keys(stemmed)) == [
        ("c1", "turn", 0),
        ("c1", "turn", 1),
        ("c2", "turn", 0),
        ("c2", "turn", 1),
        ("c4", "extracted", None),
    ]
    exact = await forms.search(SCOPE, '"refunds"', limit=50)
    assert keys(exact) == [("c1", "turn", 1)]
    phrase = await forms.search(SCOPE, '"call back"', limit=50)
    assert keys(phrase) == [("c3", "turn", 0)], "'Calling back' is another form, not the exact words"
    without = await forms.search(SCOPE, 'back -"calling back"', limit=50)
    assert sorted(keys(without)) == [("c2", "turn", 1), ("c3", "turn", 0)]
    accents = await forms.search(SCOPE, "cafe", limit=50)
    assert keys(accents) == [("c5", "turn", 0)]


async def test_notes_say_where_they_matched_and_false_flags_are_not_found(forms: IndexStore) -> None:
    found = await forms.search(SCOPE, "callback", limit=50)
    assert sorted((h.call_id, h.matched_in, h.field) for h in found.hits) == [
        ("c4", "extracted", "callback_requested"),
        ("c4", "summary", None),
    ]
    qa = await forms.search(SCOPE, "interrupted", limit=50)
    assert [(h.matched_in, h.field) for h in qa.hits] == [("qa", "notes")]
    aetna = await forms.search(SCOPE, "insurer aetna", limit=50)
    assert [h.snippet for h in aetna.hits] == ["insurer: Aetna"]
    only_turns = await forms.search(SCOPE, "callback OR refund", speaker="customer", limit=50)
    assert all(h.matched_in == "turn" for h in only_turns.hits)
    call = await forms.get_call(SCOPE, "prosper", "c4")
    assert call is not None and [t.text for t in call.transcript] == ["Hello.", "Bye."]


async def test_an_extracted_value_ranks_below_the_same_words_said_or_summarized(open_store: Opener) -> None:
    """An extracted value ("insurer: Aetna") is short, so it would outrank what was said; it is
    weighed at half. The same two words in a summary, a turn and an extracted value: the newest
    call holds the extracted one, and it still comes last."""
    store = await open_store()
    await store.upsert(
        "acct",
        "prosper",
        [
            CallRecord(make_call("said", texts=["Insurer Aetna."], hours=1)),
            CallRecord(make_call("summarized", texts=["Hello."], hours=2, summary="Insurer Aetna.")),
            CallRecord(
                make_call("extracted", texts=["Hello."], hours=3, extracted_data={"insurer": "Aetna"})
            ),
        ],
    )
    found = await store.search(SCOPE, "insurer aetna", limit=10)
    assert [(h.call_id, h.matched_in) for h in found.hits][-1] == ("extracted", "extracted")
    assert {h.call_id for h in found.hits} == {"said", "summarized", "extracted"}


async def test_an_empty_answer_says_why(forms: IndexStore) -> None:
    typo = await forms.search(SCOPE, "refnd", limit=5)
    assert typo.zero_hits is not None and typo.zero_hits.reason == "absent"
    assert ("refund", 5) in [(s.term, s.hits) for s in typo.zero_hits.suggestions]
    joined = await forms.search(SCOPE, "callme", limit=5)
    assert joined.zero_hits is not None
    assert '"call me"' in [s.term for s in joined.zero_hits.suggestions]
    apart = await forms.search(SCOPE, '"refund twice"', limit=5)
    assert apart.zero_hits is not None and apart.zero_hits.reason == "apart"
    assert {w.word: w.hits for w in apart.zero_hits.word_hits} == {"refund": 5, "twice": 2}
    filtered = await forms.search(SCOPE, "refund", status=CallStatus.BUSY, limit=5)
    assert filtered.zero_hits is not None and filtered.zero_hits.reason == "filtered"
    assert filtered.zero_hits.unfiltered_hits == 5
    assert [(d.filter, d.hits) for d in filtered.zero_hits.without] == [("the status filter", 5)]
    found = await forms.search(SCOPE, "refund", limit=5)
    assert found.zero_hits is None


WORDS = ["refund", "card", "late", "fee", "call", "back", "appointment", "cancel", "twice", "angry"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), page=st.integers(1, 7))
async def test_sentence_tiers_count_exactly_and_page_without_loss(
    open_store: Opener, seed: int, page: int
) -> None:
    rng = random.Random(seed)
    calls = [
        make_call(f"s{i}", texts=[" ".join(rng.sample(WORDS, rng.randint(1, 4))) for _ in range(3)], hours=i)
        for i in range(12)
    ]
    account = uuid.uuid4().hex
    scope = {"prosper": account}
    store = await open_store()
    await store.upsert(account, "prosper", [CallRecord(c) for c in calls])
    try:
        content = rng.sample(WORDS, 3)
        question = f"calls where the customer said {content[0]} and {content[1]} or {content[2]}"
        result = await store.search(scope, question, limit=page)
        texts = [turn.text.split() for call in calls for turn in call.transcript]
        by_count = [sum(word in text for word in content) for text in texts]
        assert [(t.words, t.of, t.hits) for t in result.word_tiers] == [
            (3, 3, by_count.count(3)),
            (2, 3, by_count.count(2)),
        ]
        seen = [(h.call_id, h.turn_index) for h in result.hits]
        tiers = [len({w for w in content if w in h.snippet.split()}) for h in result.hits]
        cursor = result.next_cursor
        while cursor:
            more = await store.search(scope, question, limit=page, cursor=cursor)
            seen += [(h.call_id, h.turn_index) for h in more.hits]
            tiers += [len({w for w in content if w in h.snippet.split()}) for h in more.hits]
            cursor = more.next_cursor
        assert len(seen) == len(set(seen)) == result.total_hits
        assert tiers == sorted(tiers, reverse=True), "all three words first, then two"
    finally:
        await open_store.close()


def conditions() -> st.SearchStrategy[list[str]]:
    one = st.one_of(
        st.sampled_from(["booked", "booked=false", "booked is set", "booked is not set"]),
        st.builds(
            lambda op, n: f"amount{op}{n}",
            st.sampled_from(["=", "!=", ">", ">=", "<", "<="]),
            st.integers(0, 5),
        ),
        st.builds(lambda v: f"plan={v}", st.sampled_from(["gold", "GOLD", "basic", "none"])),
        st.builds(lambda v: f"plan!={v}", st.sampled_from(["gold", "basic"])),
    )
    return st.lists(one, min_size=1, max_size=3)


def holds(condition: str, data: dict[str, Any]) -> bool:
    predicate = parse_predicate(condition)
    value = data.get(predicate.key)
    if predicate.op == "set":
        return value is not None
    if predicate.op == "unset":
        return value is None
    if value is None:
        return False
    if isinstance(value, bool):
        return predicate.op == "=" and predicate.flag is value
    if isinstance(value, int | float):
        assert predicate.number is not None
        return {
            "=": value == predicate.number,
            "!=": value != predicate.number,
            ">": value > predicate.number,
            ">=": value >= predicate.number,
            "<": value < predicate.number,
            "<=": value <= predicate.number,
        }[predicate.op]
    same = str(value).lower() == predicate.text.lower()
    return {"=": same, "!=": not same}.get(predicate.op, False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), where=conditions(), campaign=st.sampled_from([None, "camp-a", "camp-b"]))
async def test_find_calls_counts_exactly_what_the_calls_hold(
    tmp_path: Path, seed: int, where: list[str], campaign: str | None
) -> None:
    rng = random.Random(seed)
    calls = []
    for i in range(30):
        data: dict[str, Any] = {}
        if rng.random() < 0.7:
            data["booked"] = rng.random() < 0.5
        if rng.random() < 0.7:
            data["amount"] = rng.randint(0, 5)
        if rng.random() < 0.7:
            data["plan"] = rng.choice(["gold", "Gold", "basic"])
        calls.append(
            make_call(
                f"f{i}",
                hours=rng.randint(0, 200),
                campaign_id=rng.choice(["camp-a", "camp-b"]),
                extracted_data=data,
            )
        )
    calls.append(
        make_call("schema", extracted_data={"booked": True, "amount": 1, "plan": "x"}, campaign_id="camp-c")
    )
    folder = tmp_path / f"{seed}-{abs(hash((tuple(where), campaign)))}"
    folder.mkdir()
    store = await stored(folder, calls)
    try:
        expected = sorted(
            (
                c
                for c in calls
                if (campaign is None or c.campaign_id == campaign)
                and all(holds(w, c.extracted_data) for w in where)
            ),
            key=lambda c: c.started_at or BASE,
            reverse=True,
        )
        request = OutcomeRequest(
            scope=SCOPE, provider=None, campaign_id=campaign, status=None, from_date=None, to_date=None,
            min_duration=None, max_duration=None, min_qa_score=None, max_qa_score=None, ended_reason=None,
            fields=[parse_predicate(w) for w in where], limit=7, cursor=None,
        )  # fmt: skip
        seen: list[str] = []
        while True:
            result = await store.find_calls(request)
            assert result.total == len(expected)
            seen += [c.call_id for c in result.calls]
            if result.next_cursor is None:
                break
            request = OutcomeRequest(**{**request.__dict__, "cursor": result.next_cursor})
        assert seen == [c.call_id for c in expected]
    finally:
        store.close()


async def test_find_calls_refuses_a_field_no_call_has_and_names_those_there_are(
    sqlite_forms: IndexStore,
) -> None:
    forms = sqlite_forms
    request = OutcomeRequest(
        scope=SCOPE, provider=None, campaign_id=None, status=None, from_date=None, to_date=None,
        min_duration=None, max_duration=None, min_qa_score=None, max_qa_score=None, ended_reason=None,
        fields=[parse_predicate("booked")], limit=5, cursor=None,
    )  # fmt: skip
    with pytest.raises(InvalidArgumentError) as caught:
        await forms.find_calls(request)
    message = str(caught.value)
    assert "callback_requested (yes/no)" in message and "refund_amount (number)" in message
    assert "insurer (text)" in message
    spaced = OutcomeRequest(**{**request.__dict__, "fields": [parse_predicate("Callback Requested")]})
    found = await forms.find_calls(spaced)
    assert [c.call_id for c in found.calls] == ["c4"] and found.notes


def counted(path: Path) -> dict[tuple[int, int], int]:
    with sqlite3.connect(path) as conn:
        kept = {(s, c): n for s, c, n in conn.execute("SELECT source, campaign, calls FROM call_counts") if n}
        actual = {
            (s, c): n
            for s, c, n in conn.execute("SELECT source, campaign, count(*) FROM calls GROUP BY 1, 2")
        }
    assert kept == actual
    return kept


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 9), st.sampled_from(["a", "b", None]), st.integers(0, 300)),
        min_size=1,
        max_size=25,
    )
)
async def test_campaign_counters_equal_a_count_after_any_writes(
    tmp_path: Path, steps: list[tuple[int, str | None, int]]
) -> None:
    folder = tmp_path / str(abs(hash(tuple(steps))))
    folder.mkdir()
    store = IndexStore.open(folder / "calls.db")
    try:
        for number, campaign, hours in steps:
            call = make_call(f"k{number}", hours=hours, campaign_id=campaign and f"camp-{campaign}")
            await store.upsert("acct", "prosper", [CallRecord(call)])
            counted(folder / "calls.db")
        assert await store.indexed_calls(SCOPE, "prosper") == len({n for n, _, _ in steps})
        await store.purge(older_than_days=0)
        assert counted(folder / "calls.db") == {}
    finally:
        store.close()


async def test_an_index_from_the_previous_version_migrates_and_finds_word_forms(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version, steps in enumerate(MIGRATIONS[:3]):
        for step in steps:
            assert isinstance(step, str)
            conn.execute(step)
        conn.execute(f"PRAGMA user_version = {version + 1}")
    conn.execute("INSERT INTO sources (id, account, provider) VALUES (1, 'x', 'prosper')")
    body = '{"summary": "Refund approved.", "extracted_data": {"callback_requested": true}, "qa": {}}'
    conn.execute(
        "INSERT INTO calls (id, source, call_id, status, has_details, content_hash, synced_at, turn_count) "
        "VALUES (7, 1, 'old', 'completed', 1, 'h', '2026-01-01', 1)"
    )
    conn.execute("INSERT INTO call_bodies (id, body) VALUES (7, ?)", (body,))
    conn.execute(
        "INSERT INTO turns (rowid, text, speaker, offset) VALUES (7 << 21, 'I want refunds', 'customer', 1.0)"
    )
    conn.close()
    store = IndexStore.open(path)
    try:
        found = await store.search({"prosper": "x"}, "refund", limit=10)
        assert sorted(h.matched_in for h in found.hits) == ["summary", "turn"]
        assert (await store.search({"prosper": "x"}, "callback", limit=10)).total_hits == 1
        assert await store.indexed_calls({"prosper": "x"}, "prosper") == 1
    finally:
        store.close()


def test_every_tier_expression_is_plain_quoted_words() -> None:
    from call_logs_mcp.index import parse_query

    parsed = parse_query("which customers were angry about the late fee and asked to cancel?")
    for tier in parsed.tiers:
        assert re.fullmatch(r'[()"a-z ]+', tier.fts.replace("AND", "").replace("OR", "").replace("NOT", ""))
    assert parsed.sentence_words == ["angry", "late", "fee", "cancel"]


PIECES = st.sampled_from(
    ['"', "'", "*", "-", "(", ")", ":", "^", "+", "NEAR", "NEAR(", "OR", "AND", "NOT", "or", "not",
     "col:", "{a b}", "\\", "%", "_", "ʼ", "ŉ", "\u202e", "\u200b", "\x00", "\ud800", "ß", "İ", "日本", "🙂",
     "refund", "calls where", "someone", "asked", "for", "a", "the", "customer", "call back", "-refund",
     '"call', 'back"', "resched*", "**", '""', "- -", "1e9", "NOT NOT", "OR OR"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(PIECES, min_size=1, max_size=12), glue=st.sampled_from([" ", "", "  ", "\t"]))
async def test_hostile_queries_never_reach_sqlite_as_syntax(
    forms: IndexStore, parts: list[str], glue: str
) -> None:
    query = glue.join(parts)
    try:
        result = await forms.search(SCOPE, query, limit=5)
    except InvalidArgumentError as err:
        # Only our own refusals of an empty query, never SQLite rejecting what we built.
        assert "could not be run" not in str(err), query
        return
    assert result.total_hits >= len(result.hits)


# Turns whose words are the phrase's in order in some form (candidates), of which the exact ones;
# and turns that are not candidates at all.
_PHRASE_TURNS = {
    "The late fee is ten dollars.": (True, True),
    "LATE FEE, again!": (True, True),
    "Two late fees this month.": (True, False),
    "The fee came late.": (False, False),
    "A late charge.": (False, False),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    turns=st.lists(
        st.lists(st.sampled_from(sorted(_PHRASE_TURNS)), min_size=1, max_size=4), min_size=1, max_size=12
    ),
    window=st.integers(min_value=1, max_value=10),
    limit=st.integers(min_value=1, max_value=4),
)
async def test_a_quoted_phrase_is_checked_in_the_newest_turns_and_counted_there(
    open_store: Opener, turns: list[list[str]], window: int, limit: int
) -> None:
    """A quoted phrase over more candidate turns than the ranking window counts (and pages) the
    exact matches among the newest `window` candidates, and says how many there were; over fewer,
    every candidate is checked and there is nothing to say."""
    account = uuid.uuid4().hex  # (hypothesis seeds `random` alike per example)
    scope = {"prosper": account}
    store = await open_store(rank_window=window)
    try:
        calls = [make_call(f"c{i}", texts=texts, hours=i) for i, texts in enumerate(turns)]
        await store.upsert(account, "prosper", [CallRecord(c) for c in calls])
        # Newest call first; within a call, the agent's turns, then the customer's (rowid order).
        ordered = [
            (call.call_id, index, text)
            for call in sorted(calls, key=lambda c: c.started_at, reverse=True)
            for speaker in ("agent", "customer")
            for index, (text, turn) in enumerate(
                zip(call.transcript and [t.text for t in call.transcript], call.transcript, strict=True)
            )
            if turn.speaker == speaker
        ]
        candidates = [row for row in ordered if _PHRASE_TURNS[row[2]][0]]
        checked = candidates if len(candidates) <= window else candidates[:window]
        expected = {(c, i) for c, i, text in checked if _PHRASE_TURNS[text][1]}
        seen: list[tuple[str, int | None]] = []
        cursor = None
        while True:
            result = await store.search(scope, '"late fee"', limit=limit, cursor=cursor)
            assert result.total_hits == len(expected)
            assert result.calls_matched == len({c for c, _ in expected})
            if len(candidates) > window:
                assert result.phrase_check is not None
                assert (result.phrase_check.candidates, result.phrase_check.checked) == (
                    len(candidates),
                    window,
                )
                assert result.zero_hits is None, "a bounded phrase never says its words are absent"
            else:
                assert result.phrase_check is None
            seen += [(h.call_id, h.turn_index) for h in result.hits]
            cursor = result.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    finally:
        await open_store.close()


async def test_a_phrase_whose_newest_candidates_lack_the_exact_words_says_older_ones_were_not_checked(
    open_store: Opener,
) -> None:
    """The exact words are only in an old turn; the newest candidates hold other forms. With two
    turns checked, nothing matches: the answer must not say the words are absent or apart."""
    from call_logs_mcp.core.queries import SearchOutcome
    from call_logs_mcp.output.shaper import Shaper

    store = await open_store(rank_window=2)
    calls = [
        make_call("old", texts=["The late fee is ten dollars."], hours=0),
        *(make_call(f"new{i}", texts=["Two late fees this month."], hours=1 + i) for i in range(3)),
    ]
    await store.upsert("acct", "prosper", [CallRecord(c) for c in calls])
    result = await store.search(SCOPE, '"late fee"', limit=5)
    assert (result.total_hits, result.zero_hits) == (0, None)
    assert result.phrase_check is not None
    assert (result.phrase_check.candidates, result.phrase_check.checked) == (4, 2)
    _, shaped = Shaper(max_chars=4_000).search_answer(SearchOutcome(result=result, coverage=[]))
    assert "None of the newest 2 of the 4 turns holding the quoted words" in shaped.text
    assert "older turns were not checked" in shaped.text
    assert "on its own" not in shaped.text and "has these words" not in shaped.text
    assert shaped.structured["phrase_check"] == {"candidates": 4, "checked": 2}
