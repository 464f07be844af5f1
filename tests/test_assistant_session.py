"""The assistant's session: what a model does with the README's questions, checked against the truth.

"How did the <campaign> go?", "show me the transcript of call 4711", "attach that transcript": a
model lists the campaigns, summarises one of them, lists its calls, reads one call's transcript
(following `transcript_offset` continuations to the end) and reads the same transcript as a
resource. It may do those five steps in any order, so every order runs, each on a fresh server:
where a step needs an id that an earlier step would have given, and that step has not run yet,
the id comes from the simulator's ground truth, as from a user who knows it. Every figure is
compared with the simulated account: call counts, statuses, durations and costs (where the
platform reports them), the listed calls newest first, every transcript turn as the server cleans
it (redaction off, so the words are the platform's), and the resource equal to `get_call`'s text.

With a slow platform and the default wait an answer may come before the sync is done: then each
figure is either exact or the answer says it is partial ("N of M calls indexed", "sync running");
a wrong number is never presented as complete.

The last test asks the README's questions of `--demo` as a new user would.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import permutations
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from call_logs_mcp.demo import demo_datasets, demo_environment
from call_logs_mcp.output.sanitize import clean_text, inert_markdown, turn_line
from call_logs_mcp.providers import platform
from call_logs_mcp.providers.simulated import simulated_dataset
from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.dataset import SimCall, SimCampaign, SimDataset, SimTurn
from call_logs_mcp.simulators.faults import Faults
from conftest import PLATFORM_NAMES
from mcp_harness import data_of, serve, text_of

# Every platform as it serves by default, plus Prosper's published OpenAPI shape.
SHAPES: dict[str, tuple[str, Mapping[str, Any]]] = {name: (name, {}) for name in PLATFORM_NAMES}
SHAPES["prosper-openapi"] = ("prosper", {"variant": "openapi"})
STEPS = ("campaigns", "summary", "calls", "transcript", "resource")
ORDERS = list(permutations(STEPS))
# The shape every order runs on; the others run a sample of the orders.
EVERY_ORDER_SHAPE = "callcamp" if "callcamp" in SHAPES else PLATFORM_NAMES[0]
CALLS = 30
# How an answer says it covers part of the calls: "939 of 2,000 calls indexed (47%), sync running",
# "still syncing", "computed from 0 of the 12 calls the platform reports".
PARTIAL = re.compile(
    r"\d[\d,]* of (?:the )?[\d,]+ calls? (?:indexed|the platform reports)|sync running|still syncing"
)


# -- the simulated account, and what the user asks about ---------------------------------------


@dataclass
class Account:
    """A simulated account and the campaign and call the user asks about."""

    platform: str
    dataset: SimDataset
    campaign: SimCampaign
    campaign_calls: list[SimCall]  # newest first
    call: SimCall  # in the campaign, with a transcript longer than one answer


def long_transcript(call: SimCall) -> list[SimTurn]:
    """The call's own conversation several times over, a turn longer than a whole answer, and
    turns whose text the server must clean (invisible characters, a markdown link, non-ASCII)."""
    base = call.transcript
    span = (base[-1].offset_seconds if base else 0.0) + 5.0
    turns = [
        SimTurn(t.speaker, t.text, round(t.offset_seconds + round_ * span, 2))
        for round_ in range(3)
        for t in base
    ]
    at = 3 * span
    monologue = " ".join(f"Item {n}: the charge from the {n}th of the month is not mine." for n in range(420))
    turns += [
        SimTurn("customer", monologue, at),
        SimTurn("agent", "You can pay at [our portal](https://pay.example.invalid)\u200b today.", at + 60),
        SimTurn(
            "customer", "Gr\u00fc\u00dfe aus K\u00f6ln, \u7530\u4e2d\u3055\u3093 says thanks\u202e.", at + 70
        ),
        SimTurn("agent", "Goodbye.", at + 75),
    ]
    return turns


def account(name: str) -> Account:
    """A fresh simulated account: its busiest campaign is the one asked about, and that
    campaign's newest completed call gets a long transcript."""
    dataset = simulated_dataset(name, calls=CALLS, long_calls=0, seed=11)
    counts = Counter(call.campaign_id for call in dataset)
    newest = {cid: max(c.started_at for c in dataset if c.campaign_id == cid) for cid in counts}
    campaign_id = max(counts, key=lambda cid: (counts[cid], newest[cid]))
    campaign = dataset.campaign(campaign_id)
    assert campaign is not None
    calls = list(dataset.query(campaign_id=campaign_id))
    call = next(c for c in calls if c.status == "completed")
    call.transcript = long_transcript(call)
    return Account(name, dataset, campaign, calls, call)


def shown(text: str) -> str:
    """A platform's text as the server shows it with redaction off."""
    return inert_markdown(clean_text(text))


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def cents(value: float) -> float:
    return round(value, 2)


def without_offset(line: str) -> str:
    """A transcript line without its `@mm:ss` (platforms that report no offsets show none)."""
    return re.sub(r"^(\[\d+\] \S+) @[\d:]+ \|", r"\1 |", line)


def turn_lines(text: str) -> list[str]:
    """The turn lines of a transcript block."""
    return [line for line in text.splitlines() if re.match(r"\[\d+\] ", line)]


# -- one session ----------------------------------------------------------------------------------


@dataclass
class Session:
    """One model's conversation with one server; what it has learned so far."""

    client: Client
    truth: Account
    patient: bool  # waited long enough that every answer must be complete
    campaign_id: str | None = None  # as list_campaigns gave it
    call_id: str | None = None  # as list_calls gave it
    summarised: bool = False  # a complete campaign summary has been answered
    turns: list[dict[str, Any]] | None = None  # as get_call gave them, whole
    resource_lines: list[str] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return self.truth.platform

    def stated_partial(self, text: str, syncing: Mapping[str, str], complete: bool | None = None) -> bool:
        """The answer says, in its data and in its text, that it covers part of the calls."""
        return (bool(syncing) or complete is False) and PARTIAL.search(text) is not None

    def figure(self, what: str, answered: Any, truth: Any, partial: bool) -> None:
        """`answered` is the truth, or the answer said it is partial (and may not be exact)."""
        if self.patient:
            assert not partial, f"{what}: a patient session got a partial answer"
        assert answered == truth or partial, (
            f"{what}: answered {answered!r} as complete, the platform holds {truth!r} ({self.log})"
        )

    async def campaigns(self) -> None:
        answer = await self.client.call_tool("list_campaigns", {"provider": self.provider})
        data, text = data_of(answer), text_of(answer)
        partial = self.stated_partial(text, data["syncing"])
        dataset = self.truth.dataset
        counts = Counter(call.campaign_id for call in dataset)
        rows = data["campaigns"]
        assert data["sync_errors"] == {} and data["omitted"] == 0
        assert {row["provider"] for row in rows} <= {self.provider}
        named = {row["campaign_id"]: row for row in rows if row["campaign_id"] is not None}
        for cid, row in named.items():
            calls = [c for c in dataset if c.campaign_id == cid]
            assert calls, f"list_campaigns shows {cid}, which has no calls"
            assert row["indexed_calls"] <= len(calls)
            self.figure(f"calls indexed in {cid}", row["indexed_calls"], len(calls), partial)
            if row["indexed_calls"] == len(calls):
                assert at(row["first_call_at"]) == min(c.started_at for c in calls)
                assert at(row["last_call_at"]) == max(c.started_at for c in calls)
            if row["platform_calls"] is not None:
                assert row["platform_calls"] == len(calls)
            if row["name"] is not None:
                campaign = dataset.campaign(cid)
                # The platform's name, possibly behind its kind ("batch: …" on Bland).
                assert campaign is not None and row["name"].endswith(campaign.name), row["name"]
        unnamed = sum(row["indexed_calls"] for row in rows if row["campaign_id"] is None)
        named_total = sum(counts[cid] for cid in named)
        assert unnamed + sum(row["indexed_calls"] for row in named.values()) <= len(dataset)
        self.figure("calls indexed under no campaign", unnamed, len(dataset) - named_total, partial)
        wanted = self.truth.campaign.id
        # Where records name their campaign, every campaign is listed; elsewhere a campaign is
        # listed once a campaign-scoped summary has named its calls.
        if not partial and platform(self.provider).info.capabilities.records_name_campaign:
            assert set(named) == set(counts)
        if not partial and self.summarised:
            assert wanted in named
        if wanted in named:
            self.campaign_id = wanted
            if named[wanted]["name"] is not None:
                # The user asks by name: the row of that name is the campaign's.
                by_name = [
                    cid
                    for cid, row in named.items()
                    if (row["name"] or "").endswith(self.truth.campaign.name)
                ]
                assert by_name == [wanted]

    async def summary(self) -> None:
        campaign_id = self.campaign_id or self.truth.campaign.id
        answer = await self.client.call_tool(
            "summarize_campaign", {"campaign_id": campaign_id, "provider": self.provider}
        )
        report, text = data_of(answer), text_of(answer)
        summary = report["summary"]
        coverage = summary["coverage"]
        partial = self.stated_partial(text, report["syncing"], coverage["complete"])
        assert coverage["complete"] is not False or partial, text
        calls = self.truth.campaign_calls
        assert report["sync_errors"] == {} and report["shortened"] == []
        assert (summary["provider"], summary["campaign_id"]) == (self.provider, campaign_id)
        if summary["campaign_name"] is not None:
            assert summary["campaign_name"] == self.truth.campaign.name
        totals = summary["totals"]
        exact = totals["calls_source"] == "platform"
        self.figure("campaign calls", totals["calls"], len(calls), partial and not exact)
        self.figure("calls indexed", coverage["indexed_calls"], len(calls), partial)
        assert coverage["indexed_calls"] <= len(calls)
        if coverage["platform_calls"] is not None:
            assert coverage["platform_calls"] == len(calls)
        statuses = Counter(call.status for call in calls)
        self.figure("calls by status", summary["by_status"], dict(statuses), partial)
        if summary["platform_by_status"] is not None:
            assert summary["platform_by_status"] == dict(statuses)
        assert all(summary["by_status"].get(s, 0) <= n for s, n in statuses.items())
        total_seconds = sum(call.duration_seconds for call in calls)
        if totals["duration_seconds"] is not None:
            exact = totals["duration_source"] == "platform"
            self.figure("total duration", totals["duration_seconds"], total_seconds, partial and not exact)
        self.figure("summed duration", summary["duration"]["total_seconds"], total_seconds, partial)
        self.figure(
            "longest call",
            summary["duration"]["max_seconds"],
            max(c.duration_seconds for c in calls),
            partial,
        )
        if totals["cost"] is not None:
            exact = totals["cost_source"] == "platform"
            cost = cents(sum(call.price for call in calls))
            self.figure("total cost", cents(totals["cost"]), cost, partial and not exact)
            assert totals["currency"] == calls[0].currency
        reasons = Counter(call.ended_reason for call in calls if call.ended_reason)
        reported = {r: n for r, n in summary["by_ended_reason"].items() if r in reasons}
        if reported:  # the platform reports ended reasons
            self.figure("calls by ended reason", reported, dict(reasons), partial)
        scored = [call.qa_score for call in calls if call.qa_score is not None]
        if summary["qa"]["scored_calls"]:  # the platform reports QA scores
            self.figure("calls with a QA score", summary["qa"]["scored_calls"], len(scored), partial)
            self.figure("lowest QA score", summary["qa"]["min"], min(scored), partial)
            self.figure("highest QA score", summary["qa"]["max"], max(scored), partial)
        days = Counter(call.started_at.date().isoformat() for call in calls)
        self.figure("calls per day", summary["calls_per_day"], dict(days), partial)
        self.figure("first call", at(summary["first_call_at"]), calls[-1].started_at, partial)
        self.figure("last call", at(summary["last_call_at"]), calls[0].started_at, partial)
        self.summarised = not partial  # a finished campaign-scoped sync names the campaign's calls

    async def calls(self) -> None:
        campaign_id = self.campaign_id or self.truth.campaign.id
        answer = await self.client.call_tool(
            "list_calls", {"campaign_id": campaign_id, "provider": self.provider, "limit": 100}
        )
        data = data_of(answer)
        calls = self.truth.campaign_calls
        assert (data["provider_errors"], data["notes"], data["has_more"]) == ([], [], False)
        assert [row["call_id"] for row in data["calls"]] == [call.id for call in calls]
        for row, call in zip(data["calls"], calls, strict=True):
            assert row["provider"] == self.provider
            assert row["uri"] == f"calls://{self.provider}/{call.id}"
            assert row["campaign_id"] in (None, campaign_id)
            assert row["status"] == call.status
            assert at(row["started_at"]) == call.started_at
            assert row["duration_seconds"] in (None, call.duration_seconds)
            assert row["cost"] in (None, call.price)
            assert row["currency"] in (None, call.currency)
        for totals in data["totals"]:
            assert totals["provider"] == self.provider
            assert totals["calls"] in (None, len(calls))
            assert totals["duration_seconds"] in (None, sum(c.duration_seconds for c in calls))
            if totals["cost"] is not None:
                assert cents(totals["cost"]) == cents(sum(c.price for c in calls))
        # The model takes the call the user asks about from the list.
        assert self.truth.call.id in [row["call_id"] for row in data["calls"]]
        self.call_id = self.truth.call.id

    async def transcript(self) -> None:
        call_id = self.call_id or self.truth.call.id
        pieces: dict[int, list[dict[str, Any]]] = {}
        offset, char_offset, answers = 0, 0, 0
        while True:
            arguments: dict[str, Any] = {"call_id": call_id, "provider": self.provider}
            if offset or char_offset:
                arguments["transcript_offset"] = offset
            if char_offset:
                arguments["transcript_char_offset"] = char_offset
            detail = data_of(await self.client.call_tool("get_call", arguments))
            answers += 1
            assert answers <= 40, "the transcript continuations do not end"
            if answers == 1:
                self.check_call(detail)
            assert detail["transcript_offset"] == offset
            for turn in detail["transcript"]:
                before = pieces.setdefault(turn["index"], [])
                assert turn["text_offset"] == sum(len(p["text"]) for p in before)
                before.append(turn)
            if detail["next_transcript_offset"] is None:
                assert not detail["transcript_truncated"]
                total = detail["transcript_total_turns"]
                break
            assert detail["transcript_truncated"]
            offset = detail["next_transcript_offset"]
            char_offset = detail["next_transcript_char_offset"] or 0
        truth = self.truth.call.transcript
        assert answers > 2, "the long transcript took continuations, one inside a turn"
        assert total == len(truth) and sorted(pieces) == list(range(len(truth)))
        whole = [
            {**parts[0], "text": "".join(p["text"] for p in parts), "partial": False}
            for _, parts in sorted(pieces.items())
        ]
        assert all(not p["partial"] for parts in pieces.values() for p in parts[-1:])
        assert [t["speaker"] for t in whole] == [t.speaker for t in truth]
        assert [t["text"] for t in whole] == [shown(t.text) for t in truth]
        for turn, sim in zip(whole, truth, strict=True):
            # As the platform reports it: not at all, to the hundredth, or in whole seconds.
            exact = pytest.approx(sim.offset_seconds, abs=0.01)
            assert turn["offset_seconds"] in (None, exact, math.floor(sim.offset_seconds))
        self.turns = whole
        self.compare_transcripts()

    def check_call(self, detail: Mapping[str, Any]) -> None:
        call = self.truth.call
        assert (detail["provider"], detail["call_id"]) == (self.provider, call.id)
        assert detail["status"] == call.status
        assert detail["campaign_id"] in (None, call.campaign_id)
        assert at(detail["started_at"]) == call.started_at
        assert detail["duration_seconds"] in (None, call.duration_seconds)
        assert detail["cost"] in (None, call.price)
        assert detail["currency"] in (None, call.currency)

    async def resource(self) -> None:
        call_id = self.call_id or self.truth.call.id
        uri = f"calls://{self.provider}/{call_id}"
        result = await self.client.read_resource(uri + "/transcript")
        (content,) = result.contents
        text: str = content.text  # type: ignore[union-attr]
        truth = self.truth.call.transcript
        assert text.startswith(f"Transcript of call {call_id} on {self.provider} ({uri})")
        lines = turn_lines(text)
        assert [without_offset(line) for line in lines] == [
            turn_line(i, t.speaker, None, shown(t.text)) for i, t in enumerate(truth)
        ]
        self.resource_lines = lines
        self.compare_transcripts()

    def compare_transcripts(self) -> None:
        """The resource reads exactly as get_call's turns, offsets included."""
        if self.turns is not None and self.resource_lines is not None:
            assert self.resource_lines == [
                turn_line(t["index"], t["speaker"], t["offset_seconds"], t["text"]) for t in self.turns
            ]

    async def run(self, order: tuple[str, ...]) -> None:
        for step in order:
            self.log.append(step)
            await getattr(self, step)()


async def session(
    tmp_path: Path, shape: str, order: tuple[str, ...], *, latency: float = 0.0, **settings: Any
) -> None:
    """A fresh server over a fresh simulated account of `shape`, asked the five steps in `order`.
    Without `latency` the answers must be complete; with it they may say they are partial."""
    name, knobs = SHAPES[shape]
    truth = account(name)
    slow = {"faults": Faults(latency_seconds=latency)} if latency else {}
    with anyio.fail_after(60):
        async with serve(
            tmp_path,
            [name],
            datasets={name: truth.dataset},
            app_knobs={name: {**knobs, **slow}},
            redact=False,
            **settings,
        ) as (client, _):
            await Session(client, truth, patient=not latency).run(order)


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS, ids="-".join)
async def test_a_session_in_any_order_answers_with_the_platforms_figures_and_words(
    tmp_path: Path, order: tuple[str, ...]
) -> None:
    await session(tmp_path, EVERY_ORDER_SHAPE, order, wait_seconds=30)


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    shape=st.sampled_from(sorted(set(SHAPES) - {EVERY_ORDER_SHAPE})),
    order=st.permutations(STEPS).map(tuple),
)
def test_a_session_in_any_order_on_every_other_platform_shape_answers_the_same_way(
    shape: str, order: tuple[str, ...]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(lambda: session(Path(tmp), shape, order, wait_seconds=30))


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize(
    ("wait", "order"),
    [(None, STEPS), (0.0, STEPS[::-1])],
    ids=["default-wait-" + "-".join(STEPS), "no-wait-" + "-".join(STEPS[::-1])],
)
async def test_a_session_on_a_slow_platform_gives_exact_figures_or_says_they_are_partial(
    tmp_path: Path, shape: str, wait: float | None, order: tuple[str, ...]
) -> None:
    waits = {} if wait is None else {"wait_seconds": wait}
    await session(tmp_path, shape, order, latency=0.05, **waits)


# -- the README's questions in --demo --------------------------------------------------------------


def refund_calls(dataset: SimDataset) -> set[str]:
    """Calls with a turn holding the word "refund" (what the index's tokenizer matches)."""
    word = re.compile(r"(?<![^\W_])refund(?![^\W_])", re.IGNORECASE)
    return {call.id for call in dataset if any(word.search(t.text) for t in call.turns())}


async def test_the_readme_questions_have_true_answers_in_the_demo(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    truth = demo_datasets(now)
    yesterday = (now - timedelta(days=1)).date()
    with demo_environment(Settings(db=tmp_path / "unused.db", wait_seconds=60), now=now) as demo:
        server = build_server(demo.settings, transports=demo.transports)
        async with Client(server, raise_exceptions=True) as client:
            with anyio.fail_after(120):
                # "How did the March reminders campaign go?"
                campaigns = data_of(await client.call_tool("list_campaigns", {}))
                assert not campaigns["syncing"]
                listed = {(row["provider"], row["campaign_id"]): row for row in campaigns["campaigns"]}
                for name, dataset in truth.items():
                    counts = Counter(call.campaign_id for call in dataset)
                    if platform(name).info.capabilities.records_name_campaign:
                        assert {cid for (p, cid) in listed if p == name} == set(counts)
                    reminders = next(c for c in dataset.campaigns if c.name == "March reminders")
                    row = listed.get((name, reminders.id))
                    if row is not None:
                        assert row["indexed_calls"] == counts[reminders.id]
                        assert row["name"] in (None, "March reminders")
                    report = data_of(
                        await client.call_tool(
                            "summarize_campaign", {"campaign_id": reminders.id, "provider": name}
                        )
                    )["summary"]
                    calls = list(dataset.query(campaign_id=reminders.id))
                    assert report["totals"]["calls"] == len(calls)
                    assert report["by_status"] == dict(Counter(c.status for c in calls))
                    assert report["coverage"]["complete"] is True

                # "Find calls where someone asked for a refund."
                found = data_of(
                    await client.call_tool("search_transcripts", {"query": "refund", "limit": 50})
                )
                expected = {(name, cid) for name, ds in truth.items() for cid in refund_calls(ds)}
                assert found["calls_matched"] == len(expected)
                assert found["hits"] and {(h["provider"], h["call_id"]) for h in found["hits"]} <= expected
                assert all("refund" in hit["snippet"].casefold() for hit in found["hits"])

                # "Show me the transcript of call 4711" (the first hit's call), and attach it.
                hit = found["hits"][0]
                call = truth[hit["provider"]][hit["call_id"]]
                detail = data_of(
                    await client.call_tool("get_call", {"call_id": call.id, "provider": hit["provider"]})
                )
                assert detail["transcript_total_turns"] == len(call.transcript)
                assert [t["speaker"] for t in detail["transcript"]] == [
                    t.speaker for t in call.transcript[: len(detail["transcript"])]
                ]
                resource = await client.read_resource(hit["uri"] + "/transcript")
                lines = turn_lines(resource.contents[0].text)  # type: ignore[union-attr]
                assert len(lines) == len(call.transcript)

                # "Which calls did we make yesterday?"
                day = yesterday.isoformat()
                ids: list[tuple[str, str]] = []
                cursor: str | None = None
                while True:
                    arguments: dict[str, Any] = {"from_date": day, "to_date": day, "limit": 100}
                    page = data_of(await client.call_tool("list_calls", {**arguments, "cursor": cursor}))
                    ids += [(row["provider"], row["call_id"]) for row in page["calls"]]
                    cursor = page["next_cursor"]
                    if cursor is None:
                        break
    made = sorted(
        (
            (c.started_at, name, c.id)
            for name, ds in truth.items()
            for c in ds
            if c.started_at.date() == yesterday
        ),
        reverse=True,
    )
    assert made and ids == [(name, cid) for _, name, cid in made]
