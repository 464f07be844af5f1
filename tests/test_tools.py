"""Each tool through the in-memory MCP client, over simulated platforms; expected values come from
the simulators' generated datasets."""

from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from call_logs_mcp.core.service import CallLogService
from call_logs_mcp.index import IndexStore
from call_logs_mcp.providers import create_provider, platform
from call_logs_mcp.providers.config import account_id
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.faults import Faults
from conftest import PLATFORM_NAMES, key_env
from mcp_harness import data_of, serve, text_of


async def list_everything(client: Client, **args: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(200):
        data = data_of(
            await client.call_tool("list_calls", {**args, **({"cursor": cursor} if cursor else {})})
        )
        rows.extend(data["calls"])
        cursor = data["next_cursor"]
        assert data["has_more"] == (cursor is not None)
        if cursor is None:
            return rows
    raise AssertionError("the cursor never ended")


async def test_list_calls_merges_both_platforms_newest_first_and_each_call_appears_once(
    tmp_path: Path,
) -> None:
    async with serve(tmp_path, calls=30) as (client, sims):
        with anyio.fail_after(60):
            rows = await list_everything(client, limit=7)
    expected = {(name, c.id) for name, ds in sims.datasets.items() for c in ds}
    seen = [(r["provider"], r["call_id"]) for r in rows]
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    starts = [r["started_at"] for r in rows]
    assert starts == sorted(starts, reverse=True)
    assert all(r["uri"] == f"calls://{r['provider']}/{r['call_id']}" for r in rows)


async def test_list_calls_applies_status_and_campaign_filters(platform_name: str, tmp_path: Path) -> None:
    async with serve(tmp_path, [platform_name], calls=60) as (client, sims):
        dataset = sims.datasets[platform_name]
        campaign = dataset.calls[0].campaign_id
        with anyio.fail_after(60):
            rows = await list_everything(client, campaign_id=campaign, status="completed", limit=50)
    expected = {c.id for c in dataset if c.campaign_id == campaign and c.status == "completed"}
    assert {r["call_id"] for r in rows} == expected
    assert all(r["status"] == "completed" for r in rows)


async def test_list_calls_reports_platform_totals(tmp_path: Path) -> None:
    async with serve(tmp_path, ["callcamp"], calls=25) as (client, sims):
        data = data_of(await client.call_tool("list_calls", {"limit": 5}))
    calls = list(sims.datasets["callcamp"])
    (totals,) = data["totals"]
    assert totals["provider"] == "callcamp"
    assert totals["calls"] == len(calls)
    assert totals["duration_seconds"] == sum(c.duration_seconds for c in calls)


async def test_a_failing_platform_yields_partial_results_and_a_provider_error(
    platform_name: str, tmp_path: Path
) -> None:
    async with serve(
        tmp_path,
        calls=10,
        app_knobs={platform_name: {"faults": Faults(error_rate=1.0)}},
        config_overrides={platform_name: {"max_retries": 0}},
    ) as (client, sims):
        result = await client.call_tool("list_calls", {"limit": 100})  # every platform's 10 calls
    data = data_of(result)
    healthy = {(n, c.id) for n, ds in sims.datasets.items() if n != platform_name for c in ds}
    assert {(r["provider"], r["call_id"]) for r in data["calls"]} == healthy
    assert [e["provider"] for e in data["provider_errors"]] == [platform_name]
    assert f"{platform_name} is unavailable" in data["provider_errors"][0]["error"]
    assert f"{platform_name} failed" in text_of(result)


async def test_get_call_returns_the_call_with_its_transcript(tmp_path: Path) -> None:
    async with serve(tmp_path, ["callcamp"], calls=20, redact=False) as (client, sims):
        call = next(c for c in sims.datasets["callcamp"] if c.status == "completed" and not c.traits)
        result = await client.call_tool("get_call", {"call_id": call.id})
    data = data_of(result)
    assert (data["provider"], data["call_id"], data["status"]) == ("callcamp", call.id, "completed")
    assert data["summary"] == call.summary
    assert data["transcript_total_turns"] == len(call.transcript)
    assert [t["text"] for t in data["transcript"]] == [t.text for t in call.transcript]
    assert data["recording_urls"] is None
    assert text_of(result).splitlines()[-1].endswith("that is the end of the transcript.")


async def test_following_get_call_continuations_reproduces_a_3000_turn_transcript(
    platform_name: str, tmp_path: Path
) -> None:
    dataset = simulated_dataset(platform_name, calls=6, long_calls=1)
    async with serve(tmp_path, [platform_name], datasets={platform_name: dataset}, redact=False) as (
        client,
        _,
    ):
        call = max(dataset, key=lambda c: c.turn_count)
        assert call.turn_count >= 3000
        texts: dict[int, str] = {}
        args: dict[str, Any] = {"call_id": call.id}
        answers = 0
        with anyio.fail_after(120):
            while True:
                result = await client.call_tool("get_call", args)
                answers += 1
                data = data_of(result)
                assert len(text_of(result)) <= 24_000
                for turn in data["transcript"]:
                    texts[turn["index"]] = texts.get(turn["index"], "") + turn["text"]
                if not data["transcript_truncated"]:
                    break
                args = {"call_id": call.id, "transcript_offset": data["next_transcript_offset"]}
                if data["next_transcript_char_offset"]:
                    args["transcript_char_offset"] = data["next_transcript_char_offset"]
    assert answers > 1
    assert [texts[i] for i in range(len(texts))] == [t.text for t in call.transcript]


async def test_recording_urls_only_with_include_recording(platform_name: str, tmp_path: Path) -> None:
    async with serve(tmp_path, [platform_name], calls=20) as (client, sims):
        call = next(c for c in sims.datasets[platform_name] if c.recording_url)
        default = data_of(await client.call_tool("get_call", {"call_id": call.id}))
        asked = data_of(await client.call_tool("get_call", {"call_id": call.id, "include_recording": True}))
    assert call.recording_url is not None
    assert default["recording_urls"] is None and call.recording_url not in str(default)
    note = platform(platform_name).info.recording_note
    if note is None:
        assert asked["recording_urls"] == [call.recording_url]
        assert asked["recording_note"] is None
    else:  # the platform serves no URL: the answer says where the audio is instead
        assert asked["recording_urls"] is None and call.recording_url not in str(asked)
        assert asked["recording_note"] == note and default["recording_note"] is None


def sharing_ids(name: str) -> dict[str, Any]:
    """Same-seed datasets, one per platform whose ids can take the form `name`'s can (numeric
    ids are Prosper's only form, UUIDs Vapi's): at least two platforms with the same call ids."""
    styles = (platform(name).sim.id_style, "numeric", "uuid")
    for style in styles:
        shared: dict[str, Any] = {}
        for other in PLATFORM_NAMES:
            dataset = simulated_dataset(other, calls=5, long_calls=0, id_style=style)
            try:
                simulated_app(other, dataset)
            except ValueError:  # this platform's ids never take that form
                continue
            shared[other] = dataset
        if name in shared and len(shared) >= 2:
            return shared
    raise AssertionError(f"no id form {name} shares with another platform")


async def test_an_id_on_two_platforms_is_an_error_naming_both(platform_name: str, tmp_path: Path) -> None:
    # The same seed and id form: every platform served has the same call ids.
    shared = sharing_ids(platform_name)
    async with serve(tmp_path, list(shared), datasets=shared) as (client, _):
        call_id = shared[platform_name].calls[0].id
        assert all(call_id in dataset for dataset in shared.values())
        ambiguous = await client.call_tool("get_call", {"call_id": call_id})
        chosen = await client.call_tool("get_call", {"call_id": call_id, "provider": platform_name})
    assert ambiguous.is_error
    assert all(name in text_of(ambiguous) for name in shared)
    assert "provider=" in text_of(ambiguous)
    assert data_of(chosen)["provider"] == platform_name


async def test_an_id_no_platform_has_is_an_error_naming_them_all_and_where_ids_are(tmp_path: Path) -> None:
    async with serve(tmp_path, calls=10) as (client, _):
        everywhere = await client.call_tool("get_call", {"call_id": "4711"})
        on_one = await client.call_tool("get_call", {"call_id": "4711", "provider": "prosper"})
    names = list(PLATFORM_NAMES)  # as configured
    said = (
        f"None of {', '.join(names[:-1])} and {names[-1]} has a call 4711; list_calls and search_transcripts"
    )
    assert everywhere.is_error and said in text_of(everywhere)
    assert on_one.is_error and "prosper has no call 4711." in text_of(on_one)


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("list_calls", {"from_date": "March 1st"}, "YYYY-MM-DD"),
        ("list_calls", {"from_date": "2026-03-02", "to_date": "2026-03-01"}, "from_date is after to_date"),
        ("list_calls", {"status": "happy"}, "completed, failed, busy, no_answer"),
        ("list_calls", {"provider": "acme"}, f"configured providers: {', '.join(PLATFORM_NAMES)}"),
        ("list_calls", {"limit": 500}, "limit must be a whole number from 1 to 100 (got 500)"),
        ("list_calls", {"cursor": "bm90LWEtY3Vyc29y"}, "not issued by this server"),
        ("get_call", {"call_id": "../../admin"}, "no '/'"),
        ("get_call", {"call_id": "123", "transcript_offset": -1}, "whole number of at least 0 (got -1)"),
        ("search_transcripts", {"query": "refund", "speaker": "robot"}, "agent, customer, system"),
        ("search_transcripts", {"query": "   "}, "search"),
        ("summarize_campaign", {"campaign_id": "a/b"}, "campaign_id"),
    ],
)
async def test_bad_arguments_get_a_tool_error_saying_what_is_accepted(
    tmp_path: Path, tool: str, args: dict[str, Any], expected: str
) -> None:
    async with serve(tmp_path, calls=5, wait_seconds=60) as (client, sims):
        await client.call_tool("list_campaigns", {})  # the start-up sync has finished
        before = sum(len(app.state.requests) for app in sims.apps.values())
        result = await client.call_tool(tool, args)
        requests = sum(len(app.state.requests) for app in sims.apps.values()) - before
    assert result.is_error
    assert expected in text_of(result)
    if tool == "get_call":
        assert requests == 0, "an invalid id never reaches a platform"


@pytest.mark.parametrize(
    ("campaign_id", "says"),
    [("x" * 201, "use at most 200 characters"), ("march\x00reminders", "control or unpaired surrogate")],
)
async def test_a_bad_campaign_id_is_refused_with_the_actual_reason(
    tmp_path: Path, campaign_id: str, says: str
) -> None:
    async with serve(tmp_path, ["prosper"], calls=3) as (client, _):
        result = await client.call_tool("summarize_campaign", {"campaign_id": campaign_id})
    assert result.is_error
    assert says in text_of(result)


async def test_without_any_platform_the_tools_name_the_variables_and_demo(tmp_path: Path) -> None:
    server = build_server(Settings(db=tmp_path / "calls.db"))
    async with Client(server, raise_exceptions=True) as client:
        for tool, args in [("list_calls", {}), ("get_call", {"call_id": "1"}), ("list_campaigns", {})]:
            result = await client.call_tool(tool, args)
            assert result.is_error
            assert all(key_env(name) in text_of(result) for name in PLATFORM_NAMES)
            assert "--demo" in text_of(result)


async def test_search_syncs_a_stale_scope_with_progress_and_finds_the_turns(tmp_path: Path) -> None:
    async with serve(tmp_path, calls=30, redact=False) as (client, sims):
        updates: list[tuple[float, float | None, str | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            updates.append((progress, total, message))

        with anyio.fail_after(60):
            result = await client.call_tool(
                "search_transcripts", {"query": "refund", "limit": 100}, progress_callback=on_progress
            )
            again: list[Any] = []
            second = await client.call_tool(
                "search_transcripts",
                {"query": "refund", "limit": 5},
                progress_callback=lambda *a: again.append(a),
            )
    data = data_of(result)
    assert updates, "progress notifications arrive while the index syncs"
    assert [u[0] for u in updates] == sorted(u[0] for u in updates)
    assert not again, "a fresh scope is not synced again"
    assert data_of(second)["hits"]

    def about_refunds(call: Any) -> bool:
        said = [t.text for t in call.turns()] + [call.summary or ""] + list(call.extracted_data)
        return any("refund" in text.lower() for text in said)

    expected_calls = {(name, c.id) for name, ds in sims.datasets.items() for c in ds if about_refunds(c)}
    assert data["calls_matched"] == len(expected_calls)
    # (Which kinds rank in the first 100 depends on the data: tests/test_search_meaning.py holds
    # summaries and extracted values to their exact counts.)
    assert {hit["matched_in"] for hit in data["hits"]} <= {"turn", "summary", "extracted", "qa"}
    for hit in data["hits"]:
        call = sims.datasets[hit["provider"]][hit["call_id"]]
        if hit["matched_in"] == "turn":
            turn = call.transcript[hit["turn_index"]]
            assert "refund" in turn.text.lower()
            assert hit["speaker"] == turn.speaker
        elif hit["matched_in"] == "summary":
            assert "refund" in (call.summary or "").lower()
        else:
            assert hit["matched_in"] == "extracted" and "refund" in hit["field"]
            assert hit["turn_index"] is None and hit["field"] in call.extracted_data
    assert {c["provider"]: c["indexed_calls"] for c in data["coverage"]} == {
        name: len(ds) for name, ds in sims.datasets.items()
    }


async def test_search_pages_resume_after_the_last_hit_shown(platform_name: str, tmp_path: Path) -> None:
    async with serve(tmp_path, [platform_name], calls=30, max_output_chars=2_000) as (client, _):
        with anyio.fail_after(60):
            first = data_of(await client.call_tool("search_transcripts", {"query": "refund", "limit": 100}))
            seen = [(h["call_id"], h["matched_in"], h["field"], h["turn_index"]) for h in first["hits"]]
            cursor = first["next_cursor"]
            while cursor:
                page = data_of(
                    await client.call_tool(
                        "search_transcripts", {"query": "refund", "limit": 100, "cursor": cursor}
                    )
                )
                seen += [(h["call_id"], h["matched_in"], h["field"], h["turn_index"]) for h in page["hits"]]
                cursor = page["next_cursor"]
    assert len(first["hits"]) < first["total_hits"], "the small budget forces several pages"
    assert len(seen) == len(set(seen)) == first["total_hits"]


async def test_a_sentence_that_finds_nothing_says_nothing_of_what_its_hits_have(tmp_path: Path) -> None:
    """ "Every hit has the word" under "0 matches" is vacuous: the line on the words hits have is
    given when there are hits."""
    async with serve(tmp_path, ["prosper"], calls=20) as (client, _):
        with anyio.fail_after(60):
            none = await client.call_tool("search_transcripts", {"query": "customer wanted to zorblaxian"})
            some = await client.call_tool("search_transcripts", {"query": "customer wanted to confirm"})
    assert data_of(none)["total_hits"] == 0 and data_of(some)["total_hits"] > 0
    assert "Every hit has" not in text_of(none)
    assert "Every hit has the word." in text_of(some)


async def test_a_search_for_nothing_indexed_advises_what_the_query_has_not_tried(tmp_path: Path) -> None:
    """Words nobody said: one word (or a quoted phrase holding "OR") is told to add alternatives
    with OR; alternatives already joined with OR are told to try other words, not to do what
    they did."""
    async with serve(tmp_path, ["prosper"], calls=20) as (client, _):
        with anyio.fail_after(60):
            one = await client.call_tool("search_transcripts", {"query": "zorblaxian"})
            alternatives = await client.call_tool(
                "search_transcripts", {"query": "zorblaxian OR quaffleberry"}
            )
            phrase = await client.call_tool("search_transcripts", {"query": '"zorblaxian OR quaffleberry"'})
    assert data_of(one)["total_hits"] == data_of(alternatives)["total_hits"] == 0
    assert "try other words for the same meaning joined with OR" in text_of(one)
    assert "has any of these words. Nothing close to any of the alternatives is indexed" in text_of(
        alternatives
    )
    assert "joined with OR" not in text_of(alternatives)
    # An OR inside quotes is a word of the phrase, not an alternative.
    assert data_of(phrase)["total_hits"] == 0
    assert "try other words for the same meaning joined with OR" in text_of(phrase)


async def test_each_search_page_numbers_its_hits_after_the_pages_before_it(
    platform_name: str, tmp_path: Path
) -> None:
    async with serve(tmp_path, [platform_name], calls=60) as (client, _):
        spans: list[str] = []
        arguments: dict[str, Any] = {"query": "refund", "limit": 3}
        shown = 0
        with anyio.fail_after(60):
            while True:
                answer = await client.call_tool("search_transcripts", arguments)
                page = data_of(answer)
                head = text_of(answer).splitlines()[0]
                assert f"showing hits {shown + 1}–{shown + len(page['hits'])}," in head, head
                spans.append(head)
                shown += len(page["hits"])
                if not page["next_cursor"]:
                    break
                arguments = {**arguments, "cursor": page["next_cursor"]}
    assert len(spans) >= 3 and shown == page["total_hits"]


async def test_summarize_campaign_counts_match_the_platform_data(platform_name: str, tmp_path: Path) -> None:
    async with serve(tmp_path, [platform_name], calls=60) as (client, sims):
        dataset = sims.datasets[platform_name]
        campaign = dataset.calls[-1].campaign_id
        with anyio.fail_after(60):
            result = await client.call_tool(
                "summarize_campaign", {"campaign_id": campaign, "provider": platform_name}
            )
    summary = data_of(result)["summary"]
    calls = [c for c in dataset if c.campaign_id == campaign]
    by_status: dict[str, int] = {}
    for c in calls:
        by_status[c.status] = by_status.get(c.status, 0) + 1
    assert summary["campaign_id"] == campaign
    assert summary["totals"]["calls"] == len(calls)
    assert summary["by_status"] == by_status
    assert summary["coverage"]["indexed_calls"] == len(calls)
    assert f"{len(calls)} calls" in text_of(result)


async def test_the_campaign_summary_names_the_longest_calls_with_readable_durations(
    tmp_path: Path,
) -> None:
    async with serve(tmp_path, ["prosper"], calls=60) as (client, sims):
        campaign = sims.datasets["prosper"].calls[-1].campaign_id
        with anyio.fail_after(60):
            result = await client.call_tool("summarize_campaign", {"campaign_id": campaign})
    calls = [c for c in sims.datasets["prosper"] if c.campaign_id == campaign]
    longest = max(calls, key=lambda c: c.duration_seconds)
    minutes, seconds = divmod(int(longest.duration_seconds), 60)
    hours, minutes = divmod(minutes, 60)
    shown = f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
    assert f"- longest ({shown}): {longest.id} (prosper)" in text_of(result)


async def test_list_campaigns_explains_calls_whose_record_names_no_campaign(tmp_path: Path) -> None:
    async with serve(tmp_path, ["callcamp"], calls=20) as (client, _sims):
        with anyio.fail_after(60):
            result = await client.call_tool("list_campaigns", {})
    rows = data_of(result)["campaigns"]
    assert [r["campaign_id"] for r in rows] == [None]
    assert "once it is named in the campaigns file (CALL_LOGS_CAMPAIGNS) or asked for by id" in text_of(
        result
    )


async def test_list_campaigns_turns_names_into_ids_with_counts(tmp_path: Path) -> None:
    async with serve(tmp_path, ["prosper"], calls=60) as (client, sims):
        with anyio.fail_after(60):
            result = await client.call_tool("list_campaigns", {})
    dataset = sims.datasets["prosper"]
    expected: dict[str, int] = {}
    for c in dataset:
        expected[c.campaign_id] = expected.get(c.campaign_id, 0) + 1
    rows = data_of(result)["campaigns"]
    assert {r["campaign_id"]: r["indexed_calls"] for r in rows if r["indexed_calls"]} == expected
    assert all(r["provider"] == "prosper" for r in rows)
    # The whole-account sync list_campaigns just ran covers every campaign.
    assert all(r["last_synced_at"] for r in rows), rows


LISTS_CAMPAIGNS = [n for n in PLATFORM_NAMES if platform(n).info.capabilities.campaign_listing]


@pytest.mark.parametrize("name", LISTS_CAMPAIGNS)
async def test_list_campaigns_names_each_campaign_as_the_platform_lists_it(name: str, tmp_path: Path) -> None:
    dataset = simulated_dataset(name, calls=40, campaigns=8)
    async with serve(tmp_path, [name], datasets={name: dataset}) as (client, _):
        with anyio.fail_after(60):
            result = await client.call_tool("list_campaigns", {})
    rows = {r["campaign_id"]: r for r in data_of(result)["campaigns"]}
    called = {c.campaign_id for c in dataset}
    # Campaigns are described by their calls; each is named as the platform names it.
    named = {c.id: c.name for c in dataset.campaigns if c.id in called}
    # (A platform with two kinds of campaign says which: Bland labels its batches "batch: …".)
    shown = {cid: r["name"].removeprefix("batch: ") for cid, r in rows.items()}
    assert shown == named
    for name_said in named.values():
        assert name_said in text_of(result)


async def test_get_call_stores_what_it_fetched_in_the_index(platform_name: str, tmp_path: Path) -> None:
    # The service on its own (no server lifespan, so no background sync stores anything first).
    dataset = simulated_dataset(platform_name, calls=8)
    config = simulated_provider_config(platform_name)
    transport = simulated_transport(platform_name, simulated_app(platform_name, dataset))
    provider = create_provider(config, transport=transport)
    accounts = {platform_name: account_id(config)}
    async with IndexStore.open(tmp_path / "calls.db") as store:
        service = CallLogService({platform_name: provider}, store=store, accounts=accounts)
        call_id = dataset.calls[3].id
        assert await store.get_call(accounts, platform_name, call_id) is None
        fetched = await service.get_call(call_id)
        assert await store.get_call(accounts, platform_name, call_id) == fetched
    await provider.aclose()


TRAVERSALS = [
    "../",
    "..",
    ".",
    "%2e%2e%2f",
    "%252e%252e",
    "..\\admin",
    "a\x00b",
    "a#frag",
    "a?x=1",
    "//evil.example/x",
    "http://evil.example/x",
    "a/../../b",
    "",
]


@pytest.mark.parametrize("hostile", TRAVERSALS)
async def test_hostile_ids_never_reach_a_platform_as_anything_but_one_path_segment(
    tmp_path: Path, hostile: str
) -> None:
    async with serve(tmp_path, ["prosper"], calls=3) as (client, sims):
        app = sims.apps["prosper"]
        app.state.requests.clear()
        results = [
            await client.call_tool("get_call", {"call_id": hostile}),
            await client.call_tool("get_call", {"call_id": f"calls://prosper/{quote(hostile, safe='')}"}),
            await client.call_tool("list_calls", {"campaign_id": hostile}),
            await client.call_tool("summarize_campaign", {"campaign_id": hostile}),
        ]
        with pytest.raises(MCPError):
            await client.read_resource(f"calls://prosper/{quote(hostile, safe='')}")
        received = list(app.state.requests)
    for result in results:
        if hostile.strip():
            assert result.is_error, text_of(result)
    # Whatever was sent (a blank campaign id is simply no filter) stays under the API's own paths.
    for request in received:
        assert request.path.startswith("/api/v1/"), request.path
        assert ".." not in request.raw_path and "//" not in request.raw_path
        assert hostile.strip() == "" or quote(hostile, safe="") not in request.raw_path


async def test_the_instructions_name_the_live_platforms_and_demo_mode(
    platform_name: str, tmp_path: Path
) -> None:
    async with serve(tmp_path, [platform_name], calls=2, demo=True) as (client, _):
        instructions = client.instructions or ""
    assert f"{platform(platform_name).info.display_name} ({platform_name})" in instructions
    assert not any(f"({name})" in instructions for name in PLATFORM_NAMES if name != platform_name)
    assert "DEMO MODE" in instructions
    assert "list_calls" in instructions and "get_call" in instructions


async def test_a_server_serves_one_connection_after_another(platform_name: str, tmp_path: Path) -> None:
    from call_logs_mcp.providers.simulated import (
        simulated_app,
        simulated_provider_config,
        simulated_transport,
    )

    name = platform_name
    app = simulated_app(name, simulated_dataset(name, calls=4, long_calls=0))
    server = build_server(
        Settings(providers={name: simulated_provider_config(name)}, db=tmp_path / "calls.db"),
        transports={name: simulated_transport(name, app)},
    )
    for _ in range(2):  # the first connection's end closes what the server opened; the next reopens
        async with Client(server, raise_exceptions=True) as client:
            assert len(data_of(await client.call_tool("list_calls", {}))["calls"]) == 4
