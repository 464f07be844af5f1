"""Search finds what people mean, and find_calls finds calls by what happened in them: the rows of
the search issue's table, asked on each platform, with exact counts against the simulator's data.

The oracle reads the simulator's calls directly: every transcript turn, the summary, each extracted
value as "field: value" (a yes/no field where it is true) and the QA notes, matched by the word
forms porter stemming folds together (spelled out below, so a tokenizer that did not stem fails).
Prosper is served in its export shape, whose call details carry the summary (its OpenAPI detail
has none, so there would be no summary to find).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from call_logs_mcp.simulators.dataset import SimCall, SimDataset
from mcp_harness import data_of, serve, text_of

FORMS = {
    "refund": {"refund", "refunds", "refunded", "refunding"},
    "call": {"call", "calls", "called", "calling"},
    "back": {"back"},
    "later": {"later"},
    "callback": {"callback", "callbacks"},
    "insurance": {"insurance", "insurances", "insure", "insured", "insurer", "insurers", "insuring"},
}


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


def flat_values(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            out += flat_values(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


class Reported:
    """What the platform reports for each call: the simulator's transcripts, and the summary,
    extracted data and QA the platform's call detail carries (read with get_call)."""

    def __init__(self, dataset: SimDataset, details: dict[str, dict[str, Any]]) -> None:
        self.dataset = dataset
        self.details = details

    def documents(self, call: SimCall) -> list[str]:
        """Every searchable text of a call: turns, summary, extracted values, QA notes."""
        detail = self.details[call.id]
        texts = [turn.text for turn in call.turns()]
        if detail["summary"]:
            texts.append(detail["summary"])
        for key, value in flat_values(detail["extracted_data"]):
            if value is True:
                texts.append(f"{key}: true")
            elif isinstance(value, int | float | str) and not isinstance(value, bool) and str(value).strip():
                texts.append(f"{key}: {value}")
        texts += [v for _, v in flat_values(detail["qa"]) if isinstance(v, str) and v.strip()]
        return texts

    def count_docs(self, need: int, stems: list[str]) -> tuple[int, int]:
        """(texts with exactly `need` of `stems`, calls with any such text)."""
        texts = calls = 0
        for call in self.dataset:
            found = sum(1 for doc in self.documents(call) if sum(has(doc, s) for s in stems) == need)
            texts += found
            calls += bool(found)
        return texts, calls

    def extracted(self, call_id: str) -> dict[str, Any]:
        return dict(self.details[call_id]["extracted_data"])


async def reported(client: Any, dataset: SimDataset) -> Reported:
    details = {}
    with anyio.fail_after(120):
        for call in dataset:
            details[call.id] = data_of(await client.call_tool("get_call", {"call_id": call.id}))
    return Reported(dataset, details)


def has(text: str, stem: str) -> bool:
    return bool(FORMS[stem] & words_of(text))


KNOBS = {"prosper": {"variant": "export"}}


async def search(client: Any, query: str, **arguments: Any) -> dict[str, Any]:
    with anyio.fail_after(60):
        return data_of(await client.call_tool("search_transcripts", {"query": query, **arguments}))


async def test_words_match_in_any_form_across_turns_summaries_and_extracted_data(
    platform_name: str, tmp_path: Path
) -> None:
    async with serve(tmp_path, [platform_name], calls=120, wait_seconds=60, app_knobs=KNOBS) as (
        client,
        platforms,
    ):
        truth = await reported(client, platforms.datasets[platform_name])
        for query in ("refund", "refunds", "REFUNDED"):
            found = await search(client, query, limit=100)
            assert (found["total_hits"], found["calls_matched"]) == truth.count_docs(1, ["refund"])
        assert {hit["matched_in"] for hit in found["hits"]} >= {"turn", "summary"}
        callback = await search(client, "callback", limit=100)
        assert (callback["total_hits"], callback["calls_matched"]) == truth.count_docs(1, ["callback"])
        assert callback["total_hits"] > 0, "summaries (and a callback_requested field) say callback"


async def test_a_question_is_searched_by_what_it_asks_about(platform_name: str, tmp_path: Path) -> None:
    async with serve(tmp_path, [platform_name], calls=120, wait_seconds=60, app_knobs=KNOBS) as (
        client,
        platforms,
    ):
        truth = await reported(client, platforms.datasets[platform_name])
        refunds = truth.count_docs(1, ["refund"])
        for question in ("customer asked for a refund", "calls where someone asked for a refund"):
            answer = await search(client, question, limit=5)
            assert (answer["total_hits"], answer["calls_matched"]) == refunds
            assert answer["interpreted_as"][0].startswith("searched as a sentence: its words refund,")
            assert answer["hits"], question

        both, _ = truth.count_docs(2, ["call", "back"])
        one, _ = truth.count_docs(1, ["call", "back"])
        wanted = await search(client, "wanted a call back", limit=100)
        # Two words: the hits with both; the hits with either only when none has both.
        assert both > 0 and one > both
        assert [(t["words"], t["of"], t["hits"]) for t in wanted["word_tiers"]] == [(2, 2, both)]
        assert wanted["total_hits"] == both
        assert all(has(h["snippet"], "call") and has(h["snippet"], "back") for h in wanted["hits"])
        # Refunds and insurance are different scripts: no text has both words.
        apart = await search(client, "someone wanted a refund for the insurance", limit=5)
        assert truth.count_docs(2, ["refund", "insurance"])[0] == 0
        either = truth.count_docs(1, ["refund", "insurance"])[0]
        assert [(t["words"], t["of"], t["hits"]) for t in apart["word_tiers"]] == [(1, 2, either)]
        assert apart["total_hits"] == either > 0
        assert any("showing those with either" in note for note in apart["interpreted_as"])

        later = await search(client, "call back later", limit=10)
        expected = [(3, 3, truth.count_docs(3, ["call", "back", "later"])[0])]
        expected.append((2, 3, truth.count_docs(2, ["call", "back", "later"])[0]))
        assert [(t["words"], t["of"], t["hits"]) for t in later["word_tiers"]] == expected
        assert later["total_hits"] == sum(t[2] for t in expected) > 0


async def test_which_calls_booked_an_appointment_last_week_is_one_call(
    platform_name: str, tmp_path: Path
) -> None:
    async with serve(tmp_path, [platform_name], calls=200, wait_seconds=60, app_knobs=KNOBS) as (
        client,
        platforms,
    ):
        dataset = platforms.datasets[platform_name]
        truth = await reported(client, dataset)
        # "Last week": the seven days up to the newest booking in the generated data.
        booked = [c.started_at for c in dataset if truth.extracted(c.id).get("appointment_scheduled") is True]
        newest = max(booked, default=max(call.started_at for call in dataset))
        week_start = (newest - timedelta(days=7)).date().isoformat()
        week_end = newest.date().isoformat()
        arguments: dict[str, Any] = {
            "where": ["appointment_scheduled=true"],
            "from_date": week_start,
            "to_date": week_end,
            "limit": 3,
        }
        if not any("appointment_scheduled" in truth.extracted(c.id) for c in dataset):
            # A platform that reports no such field: a clear error naming the fields it has.
            with anyio.fail_after(60):
                answer = await client.call_tool("find_calls", arguments)
            assert answer.is_error and "has an extracted field named 'appointment_scheduled'" in text_of(
                answer
            )
            return
        expected = [
            call.id
            for call in sorted(dataset, key=lambda c: c.started_at, reverse=True)
            if truth.extracted(call.id).get("appointment_scheduled") is True
            and week_start <= call.started_at.date().isoformat() <= week_end
        ]
        seen: list[str] = []
        with anyio.fail_after(60):
            while True:
                answer = await client.call_tool("find_calls", arguments)
                page = data_of(answer)
                assert page["total"] == len(expected)
                assert f"{len(expected)} indexed call" in text_of(answer).splitlines()[0]
                seen += [row["call_id"] for row in page["calls"]]
                if not page["next_cursor"]:
                    break
                arguments["cursor"] = page["next_cursor"]
        assert seen == expected and expected, "every match once, newest first"


async def test_find_calls_filters_match_what_the_platform_reports(platform_name: str, tmp_path: Path) -> None:
    async with serve(tmp_path, [platform_name], calls=200, wait_seconds=60, app_knobs=KNOBS) as (
        client,
        platforms,
    ):
        dataset = platforms.datasets[platform_name]
        truth = await reported(client, dataset)

        async def total(**arguments: Any) -> int:
            with anyio.fail_after(60):
                answer = await client.call_tool("find_calls", {"limit": 1, **arguments})
            assert not answer.is_error, text_of(answer)
            return int(data_of(answer)["total"])

        def count(predicate: Any) -> int:
            return sum(1 for call in dataset if predicate(truth.details[call.id], truth.extracted(call.id)))

        assert await total(status="completed", min_duration_seconds=60, max_duration_seconds=120) == count(
            lambda d, x: d["status"] == "completed" and 60 <= (d["duration_seconds"] or -1) <= 120
        )
        assert await total(min_qa_score=80) == count(lambda d, x: (d["qa_score"] or 0) >= 80)
        reasons = {d["ended_reason"] for d in truth.details.values() if d["ended_reason"]}
        for reason in sorted(reasons)[:3]:
            assert await total(ended_reason=reason.upper()) == count(
                lambda d, x, reason=reason: (d["ended_reason"] or "").lower() == reason.lower()
            )
        if not any(truth.extracted(c.id) for c in dataset):
            return  # the platform reports no extracted data: nothing more to filter on
        assert await total(where=["refund_amount>100"]) == count(
            lambda d, x: isinstance(x.get("refund_amount"), float) and x["refund_amount"] > 100
        )
        assert await total(where=["resolution=APPROVED", "refund_requested"]) == count(
            lambda d, x: x.get("resolution") == "approved" and x.get("refund_requested") is True
        )
        assert await total(where=["callback_requested=false"]) == count(
            lambda d, x: x.get("callback_requested") is False
        )
        assert await total(where=["insurer is set"]) == count(lambda d, x: bool(x.get("insurer")))
        assert await total(where=["insurer is not set"]) == count(lambda d, x: not x.get("insurer"))
        assert await total(where=["plan!=gold"]) == count(
            lambda d, x: "plan" in x and str(x["plan"]).lower() != "gold"
        )
        # The campaign as the simulator filed the call (a platform's call detail may not name it).
        campaign = dataset.calls[0].campaign_id
        in_campaign = {call.id for call in dataset if call.campaign_id == campaign}
        assert await total(campaign_id=campaign, where=["satisfaction>=4"]) == count(
            lambda d, x: d["call_id"] in in_campaign and (x.get("satisfaction") or 0) >= 4
        )


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (["booked"], "No indexed call in this scope has an extracted field named 'booked'"),
        (["refund_amount>lots"], "> compares numbers"),
        (["=true"], "Write one of: field (true)"),
        ([""], "Write one of"),
    ],
)
async def test_a_condition_that_cannot_be_read_says_how_to_write_one(
    where: list[str], message: str, tmp_path: Path
) -> None:
    async with serve(tmp_path, ["prosper"], calls=60, wait_seconds=60) as (client, _):
        with anyio.fail_after(60):
            answer = await client.call_tool("find_calls", {"where": where})
    assert answer.is_error and message in text_of(answer)
    if where == ["booked"]:
        assert "appointment_scheduled (yes/no)" in text_of(answer), "the error names the fields there are"


async def test_a_yes_no_asked_of_a_field_that_never_holds_one_says_how_to_ask_instead(tmp_path: Path) -> None:
    """A bare field name asks for true. On a text field that is never yes/no the answer (0 calls)
    says so, and names the condition that finds the calls having the field; the condition it
    names does find them."""
    async with serve(tmp_path, ["prosper"], calls=120, wait_seconds=60, app_knobs=KNOBS) as (
        client,
        platforms,
    ):
        truth = await reported(client, platforms.datasets["prosper"])
        with anyio.fail_after(60):
            bare = await client.call_tool("find_calls", {"where": ["insurer"]})
            named = await client.call_tool("find_calls", {"where": ["insurer is set"]})
            flag = await client.call_tool("find_calls", {"where": ["refund_requested"]})
    holding = sum(1 for call in platforms.datasets["prosper"] if truth.extracted(call.id).get("insurer"))
    assert holding and data_of(bare)["total"] == 0
    assert "field 'insurer' holds text values, never yes/no" in text_of(bare)
    assert "'insurer is set' finds the calls that have it" in text_of(bare)
    assert data_of(named)["total"] == holding
    assert "never yes/no" not in text_of(flag) and data_of(flag)["total"] > 0


async def test_campaign_summaries_name_the_fields_find_calls_filters_on(tmp_path: Path) -> None:
    async with serve(tmp_path, ["prosper"], calls=120, wait_seconds=60, app_knobs=KNOBS) as (
        client,
        platforms,
    ):
        campaign = platforms.datasets["prosper"].calls[0].campaign_id
        with anyio.fail_after(60):
            answer = await client.call_tool("summarize_campaign", {"campaign_id": campaign})
        line = next(line for line in text_of(answer).splitlines() if line.startswith("Extracted data ("))
        example = re.search(r'where=\["([^"]+)"', line)
        assert example is not None, line
        with anyio.fail_after(60):
            found = await client.call_tool(
                "find_calls", {"campaign_id": campaign, "where": [example.group(1)]}
            )
        assert not found.is_error and data_of(found)["total"] > 0, "the hint is a working condition"


async def test_an_answer_says_when_the_index_was_last_synced_as_a_person_reads_a_time(tmp_path: Path) -> None:
    """The coverage line of a search and of find_calls shows the finished sync's time to the
    second (`2026-12-02 11:26:48Z`), the same instant the answer's data carry in full ISO."""
    async with serve(tmp_path, ["prosper"], calls=40, wait_seconds=60, app_knobs=KNOBS) as (client, _):
        with anyio.fail_after(60):
            answers = [
                await client.call_tool("search_transcripts", {"query": "appointment"}),
                await client.call_tool("find_calls", {"status": "completed", "limit": 1}),
            ]
    for answer in answers:
        (coverage,) = data_of(answer)["coverage"]
        synced = datetime.fromisoformat(coverage["last_synced_at"])
        line = next(x for x in text_of(answer).splitlines() if x.startswith("Index coverage prosper"))
        assert f"last synced {synced.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z." in line, line
        assert coverage["last_synced_at"] not in line
