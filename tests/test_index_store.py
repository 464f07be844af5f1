"""The local index as a store: file creation, migrations, round trips, account scoping, purge."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from call_logs_mcp.errors import InvalidArgumentError, StoreError
from call_logs_mcp.index import CallRecord, IndexStore
from call_logs_mcp.index.migrations import SCHEMA_VERSION
from call_logs_mcp.models import CallStatus
from call_logs_mcp.providers.config import ProviderConfig, account_id, accounts_for
from factories import BASE, make_call


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_opening_a_new_index_creates_a_private_file_and_directories_with_the_current_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "call-logs-mcp" / "calls.db"
    store = IndexStore.open(path)
    try:
        anyio.run(store.upsert, "acct", "prosper", [CallRecord(make_call("1"))])
    finally:
        store.close()
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 1


def test_an_existing_directory_keeps_its_permissions(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    IndexStore.open(shared / "calls.db").close()
    assert mode(shared) == 0o755
    assert mode(shared / "calls.db") == 0o600


def test_the_wal_file_is_private_too(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    store = IndexStore.open(path)
    try:
        anyio.run(store.upsert, "acct", "prosper", [CallRecord(make_call("1"))])
        wal = Path(f"{path}-wal")
        assert wal.exists()
        assert mode(wal) == 0o600
    finally:
        store.close()


async def test_reopening_an_index_keeps_its_calls_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    call = make_call("1")
    store = IndexStore.open(path)
    await store.upsert("acct", "prosper", [CallRecord(call)])
    store.close()
    reopened = IndexStore.open(path)
    try:
        assert await reopened.get_call({"prosper": "acct"}, "prosper", "1") == call
    finally:
        reopened.close()


def test_an_index_from_a_newer_version_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    IndexStore.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer version"):
        IndexStore.open(path)


def test_a_file_that_is_not_a_database_is_a_store_error_that_quotes_nothing_from_it(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    path.write_bytes(b"patient Jane Roe, DOB 1970-01-01 " * 200)
    with pytest.raises(StoreError) as caught:
        IndexStore.open(path)
    assert "not a valid database" in str(caught.value)
    assert "Jane" not in str(caught.value)


async def test_a_stored_call_reads_back_equal_to_what_the_platform_returned(tmp_path: Path) -> None:
    call = make_call(
        "call-ü/1",
        texts=("Grüezi, hier ist Ava von der Clínica São Paulo.", "東京 Wellness Center? Ja. 😊", "Danke!"),
        summary="Zoë confirmed; card 4111 1111 1111 1111 read aloud.",
        to_number="+41 44 668 18 00",
        cost=0.42,
        currency="CHF",
        extracted_data={"booked": True, "slot": {"day": "Tuesday", "hour": 9}, "tags": ["a", "b"]},
        qa={"overall_score": 91, "criteria": {"tone": 88}},
        qa_score=91.0,
        recording_urls=["https://recordings.example/1.mp3"],
        ended_reason="assistant-ended-call",
        extra={"target_id": "t-1"},
    )
    store = IndexStore.open(tmp_path / "calls.db")
    try:
        await store.upsert("acct", "prosper", [CallRecord(call)])
        assert await store.get_call({"prosper": "acct"}, "prosper", "call-ü/1") == call
        assert await store.get_call({"prosper": "acct"}, "prosper", "missing") is None
    finally:
        store.close()


async def test_upsert_counts_added_updated_and_unchanged_calls(tmp_path: Path) -> None:
    first = [make_call(str(i), hours=i) for i in range(5)]
    changed = first[2].model_copy(update={"status": CallStatus.FAILED, "transcript": []})
    store = IndexStore.open(tmp_path / "calls.db")
    try:
        counts = await store.upsert("acct", "prosper", [CallRecord(c) for c in first])
        assert (counts.added, counts.updated, counts.unchanged) == (5, 0, 0)
        again = await store.upsert("acct", "prosper", [CallRecord(c) for c in [*first[:2], changed]])
        assert (again.added, again.updated, again.unchanged) == (0, 1, 2)
        assert await store.get_call({"prosper": "acct"}, "prosper", "2") == changed
    finally:
        store.close()


async def test_a_summary_only_record_never_replaces_stored_details(tmp_path: Path) -> None:
    full = make_call("1", texts=("We talked about the refund.",))
    bare = full.model_copy(update={"transcript": [], "summary": None})
    store = IndexStore.open(tmp_path / "calls.db")
    try:
        await store.upsert("acct", "prosper", [CallRecord(full)])
        counts = await store.upsert("acct", "prosper", [CallRecord(bare, has_details=False)])
        assert counts.unchanged == 1
        assert await store.get_call({"prosper": "acct"}, "prosper", "1") == full
    finally:
        store.close()


async def test_a_call_listed_without_campaign_keeps_the_campaign_already_known(tmp_path: Path) -> None:
    with_campaign = make_call("1", provider="callcamp", campaign_id="camp-x")
    without = with_campaign.model_copy(update={"campaign_id": None, "duration_seconds": 61.0})
    scope = {"callcamp": "acct"}
    store = IndexStore.open(tmp_path / "calls.db")
    try:
        await store.upsert("acct", "callcamp", [CallRecord(with_campaign)])
        await store.upsert("acct", "callcamp", [CallRecord(without)])
        stored = await store.get_call(scope, "callcamp", "1")
        assert stored is not None
        assert stored.campaign_id == "camp-x"
        assert stored.duration_seconds == 61.0
    finally:
        store.close()


@given(
    campaigns=st.lists(st.sampled_from(["camp-a", "camp-b", "camp-c", None]), min_size=0, max_size=25),
)
@settings(max_examples=30, deadline=None, database=None)
def test_the_indexed_count_of_a_scope_equals_the_sum_of_its_campaign_listing(
    tmp_path_factory: pytest.TempPathFactory, campaigns: list[str | None]
) -> None:
    async def check() -> None:
        scope = {"prosper": "acct", "callcamp": "other"}
        async with IndexStore.open(tmp_path_factory.mktemp("count") / "calls.db") as store:
            calls = [make_call(str(i), campaign_id=c, hours=i) for i, c in enumerate(campaigns)]
            await store.upsert("acct", "prosper", [CallRecord(call) for call in calls])
            await store.upsert("other", "callcamp", [CallRecord(make_call("x", provider="callcamp"))])
            listed = await store.list_campaigns(scope, provider="prosper")
            assert await store.indexed_calls(scope, "prosper") == sum(c.indexed_calls for c in listed)
            for campaign in ("camp-a", "camp-b", "camp-c"):
                expected = sum(c.indexed_calls for c in listed if c.campaign_id == campaign)
                assert await store.indexed_calls(scope, "prosper", campaign_id=campaign) == expected
            assert expected == campaigns.count("camp-c")

    anyio.run(check)


def config(key: str, base_url: str | None = None, name: str = "prosper") -> ProviderConfig:
    return ProviderConfig(name=name, api_key=SecretStr(key), base_url=base_url)


def test_account_ids_depend_on_key_and_base_url_and_never_contain_the_key() -> None:
    one = account_id(config("pk_live_alpha_0123456789"))
    assert one == account_id(config("pk_live_alpha_0123456789"))
    assert one == account_id(config("pk_live_alpha_0123456789", "https://voice.getprosperapp.com/"))
    assert one != account_id(config("pk_live_bravo_0123456789"))
    assert one != account_id(config("pk_live_alpha_0123456789", "https://eu.example.com"))
    assert one != account_id(config("pk_live_alpha_0123456789", name="callcamp"))
    assert "alpha" not in one and len(one) == 16


async def test_another_account_never_sees_the_first_accounts_calls_even_with_the_same_ids(
    tmp_path: Path,
) -> None:
    alpha = accounts_for({"prosper": config("key-alpha")})
    bravo = accounts_for({"prosper": config("key-bravo")})
    ids = [str(i) for i in range(20)]
    store = IndexStore.open(tmp_path / "calls.db")
    try:
        await store.upsert(
            alpha["prosper"],
            "prosper",
            [CallRecord(make_call(i, texts=(f"alpha secret {i}",), campaign_id="shared")) for i in ids],
        )
        await store.upsert(
            bravo["prosper"],
            "prosper",
            [CallRecord(make_call(i, texts=(f"bravo words {i}",), campaign_id="shared")) for i in ids[:5]],
        )
        crossing = 0
        for call_id in ids:
            seen_by_bravo = await store.get_call(bravo, "prosper", call_id)
            if seen_by_bravo is not None and "alpha" in seen_by_bravo.transcript[0].text:
                crossing += 1
        found = await store.search(bravo, "alpha OR secret OR words", limit=100)
        crossing += sum(1 for hit in found.hits if "alpha" in hit.snippet)
        recent = await store.recent_calls(bravo, limit=100)
        summary = await store.campaign_summary(bravo, "prosper", "shared")
        campaigns = await store.list_campaigns(bravo)
        assert crossing == 0
        assert found.total_hits == 5
        assert sorted(c.call_id for c in recent.calls) == sorted(ids[:5])
        assert summary.totals.calls == 5
        assert [(c.campaign_id, c.indexed_calls) for c in campaigns] == [("shared", 5)]
        stranger = accounts_for({"prosper": config("key-charlie")})
        assert (await store.search(stranger, "alpha")).total_hits == 0
        assert (await store.recent_calls(stranger)).calls == []
    finally:
        store.close()


async def test_recent_calls_pages_through_every_call_newest_first_exactly_once(tmp_path: Path) -> None:
    calls = [make_call(f"c{i}", hours=i % 7 * 3 + i / 100) for i in range(23)]
    calls.append(make_call("no-time", started_at=None))
    scope = {"prosper": "acct"}
    store = IndexStore.open(tmp_path / "calls.db")
    try:
        await store.upsert("acct", "prosper", [CallRecord(c) for c in calls])
        seen: list[str] = []
        cursor: str | None = None
        while True:
            page = await store.recent_calls(scope, limit=5, cursor=cursor)
            seen += [c.call_id for c in page.calls]
            cursor = page.next_cursor
            if cursor is None:
                break
        expected = [c.call_id for c in sorted(calls[:-1], key=lambda c: c.started_at or BASE, reverse=True)]
        assert seen == [*expected, "no-time"]
        with pytest.raises(InvalidArgumentError):
            await store.recent_calls(scope, cursor="bm90LWEtY3Vyc29y")
    finally:
        store.close()


async def test_purge_older_than_deletes_only_calls_that_started_before_the_cutoff(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old = [make_call(f"old{i}", started_at=now - timedelta(days=40 + i)) for i in range(3)]
    new = [make_call(f"new{i}", started_at=now - timedelta(days=i)) for i in range(4)]
    scope = {"prosper": "acct"}
    store = IndexStore.open(tmp_path / "calls.db")
    try:
        await store.upsert("acct", "prosper", [CallRecord(c) for c in old + new])
        assert await store.purge(30) == len(old)
        remaining = await store.recent_calls(scope, limit=100)
        assert sorted(c.call_id for c in remaining.calls) == sorted(c.call_id for c in new)
        with pytest.raises(InvalidArgumentError):
            await store.purge(-1)
    finally:
        store.close()


def raw_bytes(path: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()
    )


async def test_purge_leaves_no_deleted_content_in_the_database_or_wal(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    now = datetime.now(UTC)
    gone = make_call(
        "gone",
        started_at=now - timedelta(days=90),
        texts=("my code word is zanzibarquux and my number is 555-0147-8899",),
        summary="Summary mentions xylophonegone",
        extracted_data={"note": "extractedgonevalue"},
        to_number="+15550147889",
    )
    kept = make_call("kept", started_at=now, texts=("the kept word is marmaladekept",))
    gone_markers = [b"zanzibarquux", b"xylophonegone", b"extractedgonevalue", b"5550147889"]
    store = IndexStore.open(path)
    try:
        await store.upsert("acct", "prosper", [CallRecord(gone), CallRecord(kept)])
        # Grow the FTS index over several segments so deleted tokens would linger without a merge.
        for batch in range(5):
            await store.upsert(
                "acct",
                "prosper",
                [
                    CallRecord(make_call(f"f{batch}-{i}", started_at=now, texts=("filler",)))
                    for i in range(20)
                ],
            )
        store.db.checkpoint()
        before = raw_bytes(path).lower()
        assert all(marker in before for marker in gone_markers)  # the scan can see content
        assert await store.purge(30) == 1
        after = raw_bytes(path).lower()
        assert [m for m in gone_markers if m in after] == []
        assert b"marmaladekept" in after
        assert (await store.search({"prosper": "acct"}, "marmaladekept")).total_hits == 1
        assert store.purge_sync(None) == 101
        assert b"marmaladekept" not in raw_bytes(path).lower()
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_text_with_unpaired_surrogates_from_a_platform_is_stored_not_fatal(tmp_path: Path) -> None:
    weird = make_call("1", texts=("broken \ud83d emoji from upstream",), summary="also \udfff here")
    store = IndexStore.open(tmp_path / "calls.db")
    try:
        counts = await store.upsert("acct", "prosper", [CallRecord(weird)])
        assert counts.added == 1
        assert (await store.search({"prosper": "acct"}, "emoji")).total_hits == 1
        assert await store.get_call({"prosper": "acct"}, "prosper", "1\udfff") is None
    finally:
        store.close()


async def test_concurrent_searches_run_while_a_sync_writes(tmp_path: Path) -> None:
    store = IndexStore.open(tmp_path / "calls.db")
    scope = {"prosper": "acct"}
    results: list[int] = []
    try:
        await store.upsert("acct", "prosper", [CallRecord(make_call("seed", texts=("refund please",)))])

        async def writer() -> None:
            for batch in range(10):
                await store.upsert(
                    "acct",
                    "prosper",
                    [CallRecord(make_call(f"{batch}-{i}", texts=("refund again",))) for i in range(20)],
                )

        async def reader() -> None:
            for _ in range(10):
                results.append((await store.search(scope, "refund")).total_hits)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(writer)
                for _ in range(6):
                    tg.start_soon(reader)
        assert len(results) == 60
        assert all(1 <= hits <= 201 for hits in results)
        assert (await store.search(scope, "refund")).total_hits == 201
    finally:
        store.close()


async def test_readers_that_mapped_a_small_file_read_everything_after_it_grew(tmp_path: Path) -> None:
    """Reader connections map the file; one used while the index was small still reads every
    call after many megabytes were written behind it, and pages it had read that changed."""
    store = IndexStore.open(tmp_path / "calls.db")
    scope = {"prosper": "acct"}
    try:
        await store.upsert("acct", "prosper", [CallRecord(make_call("first", texts=("refund please",)))])
        assert (await store.search(scope, "refund")).total_hits == 1
        size = (tmp_path / "calls.db").stat().st_size
        long_turn = "refund " + " ".join(f"word{i}" for i in range(400))
        for batch in range(10):
            calls = [make_call(f"{batch}-{i}", texts=(long_turn,), hours=batch) for i in range(100)]
            await store.upsert("acct", "prosper", [CallRecord(c) for c in calls])
        store.db.checkpoint()
        assert (tmp_path / "calls.db").stat().st_size > size + 2_000_000
        result = await store.search(scope, "refund")
        assert (result.total_hits, result.calls_matched) == (1_001, 1_001)
    finally:
        store.close()


def test_a_read_beside_another_runs_on_a_connection_of_its_own_and_reports_its_errors(tmp_path: Path) -> None:
    """The other half of a split count: another reader connection, while the caller holds its
    own; an SQLite error in it comes back as our StoreError; a closed index refuses it."""
    store = IndexStore.open(tmp_path / "beside.db")

    def both(conn: sqlite3.Connection) -> tuple[int, int]:
        return id(conn), store.db.beside(id).result()

    mine, theirs = store.db.read_sync(both)
    assert mine != theirs
    with pytest.raises(StoreError, match="failed while counting"):
        store.db.beside(lambda conn: conn.execute("SELECT * FROM no_such_table"), "counting").result()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.db.beside(id)
