"""summarize_campaign says what the data supports, on every platform: values a platform does not
report are named as such (never counted as "unknown"), the connect rate counts calls a person
answered (voicemail apart), every statistic says over how many calls it is computed, and a
summary of no calls measures nothing. Expected figures come from the simulators' truth and from
the pure path (`summarize_calls`) over the same calls as the platform's adapter returns them."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from call_logs_mcp.analytics import CampaignSummary, summarize_calls
from call_logs_mcp.models import Call
from call_logs_mcp.output.campaigns import _calls_over_time
from call_logs_mcp.providers import create_provider, platform
from call_logs_mcp.providers.simulated import (
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.simulators.dataset import SimCall, SimDataset
from mcp_harness import Platforms, data_of, serve, text_of


def customer_spoke(call: SimCall) -> bool:
    return any(turn.speaker == "customer" for turn in call.turns())


async def adapter_calls(name: str, sims: Platforms, ids: list[str]) -> list[Call]:
    """The calls as the platform's adapter returns them (what the index is built from)."""
    config = simulated_provider_config(name)
    provider = create_provider(config, transport=simulated_transport(name, sims.apps[name]))
    try:
        return [await provider.get_call(call_id) for call_id in ids]
    finally:
        await provider.aclose()


async def summary_and_truth(
    name: str, tmp_path: Path, dataset: SimDataset
) -> tuple[dict[str, Any], str, list[SimCall], list[Call]]:
    campaign = dataset.calls[-1].campaign_id
    async with serve(tmp_path, [name], datasets={name: dataset}) as (client, sims):
        with anyio.fail_after(60):
            result = await client.call_tool("summarize_campaign", {"campaign_id": campaign, "provider": name})
            truth = [c for c in dataset if c.campaign_id == campaign]
            calls = await adapter_calls(name, sims, [c.id for c in truth])
    return data_of(result)["summary"], text_of(result), truth, calls


# The fields the index computes from the calls (totals may be the platform's own).
COUNTED = (
    "by_status",
    "by_ended_reason",
    "ended_reason_unreported",
    "final_calls",
    "answered_calls",
    "connect_rate",
    "voicemail_rate",
    "completion_rate",
)


def assert_same_counts(summary: dict[str, Any], pure: CampaignSummary) -> None:
    expected = pure.model_dump(mode="json")
    assert {k: summary[k] for k in COUNTED} == {k: expected[k] for k in COUNTED}
    assert summary["duration"]["calls_with_duration"] == pure.duration.calls_with_duration
    assert summary["cost"]["calls_with_cost"] == pure.cost.calls_with_cost
    assert summary["qa"]["scored_calls"] == pure.qa.scored_calls


async def test_the_summary_counts_reasons_and_answered_calls_as_the_platform_reports_them(
    platform_name: str, tmp_path: Path
) -> None:
    dataset = simulated_dataset(platform_name, calls=60, seed=7)
    summary, text, truth, calls = await summary_and_truth(platform_name, tmp_path, dataset)
    pure = summarize_calls(calls, provider=platform_name, campaign_id=summary["campaign_id"])
    assert_same_counts(summary, pure)

    # Connect rate: final calls, not voicemail, in which the customer spoke (simulator's truth).
    final = [c for c in truth if c.status != "in_progress"]
    answered = [c for c in final if c.status != "voicemail" and customer_spoke(c)]
    voicemail = [c for c in final if c.status == "voicemail"]
    assert (summary["final_calls"], summary["answered_calls"]) == (len(final), len(answered))
    assert summary["connect_rate"] == pytest.approx(len(answered) / len(final), abs=1e-3)
    assert summary["voicemail_rate"] == pytest.approx(len(voicemail) / len(final), abs=1e-3)
    assert (
        f"connect rate {100 * len(answered) / len(final):.1f}% (a person answered), "
        f"voicemail {100 * len(voicemail) / len(final):.1f}%, completion rate " in text
    )

    # Ended reasons: what the platform reported, equal to the simulator's (in the platform's own
    # words where it has them); the rest apart.
    served = dict(platform(platform_name).sim.ended_reasons)
    reported = {c.call_id: c.ended_reason for c in calls if c.ended_reason}
    assert all(
        reason == served.get(truth_reason, truth_reason)
        for call_id, reason in reported.items()
        if (truth_reason := dataset[call_id].ended_reason) is not None
    )
    assert all(dataset[call_id].ended_reason is not None for call_id in reported)
    assert summary["by_ended_reason"] == dict(Counter(reported.values()))
    assert summary["ended_reason_unreported"] == len(truth) - len(reported)
    assert "unknown" not in summary["by_ended_reason"] and "By ended reason: unknown" not in text
    if not reported:
        assert "Ended reason: not reported by the platform for these calls." in text

    # Every statistic over fewer than all calls says over how many.
    scored = sum(1 for c in calls if c.qa_score is not None)
    if scored:
        assert f"QA: {scored} of {len(truth)} calls scored" in text
    else:
        assert "QA: no scores reported for these calls." in text


async def test_a_campaign_with_some_reasons_unreported_says_how_many(
    platform_name: str, tmp_path: Path
) -> None:
    dataset = simulated_dataset(platform_name, calls=60, seed=7)
    campaign = dataset.calls[-1].campaign_id
    finished = [c for c in dataset if c.campaign_id == campaign and c.ended_reason]
    for call in finished[:3]:
        call.ended_reason = None
    dataset.touch()
    summary, text, truth, calls = await summary_and_truth(platform_name, tmp_path, dataset)
    assert_same_counts(summary, summarize_calls(calls, provider=platform_name, campaign_id=campaign))
    unreported = sum(1 for c in calls if not c.ended_reason)
    assert unreported >= 3
    assert summary["ended_reason_unreported"] == unreported
    assert sum(summary["by_ended_reason"].values()) + unreported == len(truth)
    if unreported < len(truth):
        assert text.count(f", not reported {unreported}\n") == 1
    else:
        assert "Ended reason: not reported by the platform for these calls." in text


async def test_a_summary_of_no_calls_measures_nothing(platform_name: str, tmp_path: Path) -> None:
    dataset = simulated_dataset(platform_name, calls=40, seed=7)
    campaign = dataset.calls[-1].campaign_id
    # A year before the data: the campaign exists, the range holds no call.
    arguments = {
        "campaign_id": campaign,
        "provider": platform_name,
        "from_date": "2024-01-01",
        "to_date": "2024-12-31",
    }
    async with serve(tmp_path, [platform_name], datasets={platform_name: dataset}) as (client, _sims):
        with anyio.fail_after(60):
            result = await client.call_tool("summarize_campaign", arguments)
    summary, text = data_of(result)["summary"], text_of(result)
    assert summary["totals"]["calls"] == 0 and summary["coverage"]["indexed_calls"] == 0
    assert summary["totals"]["cost"] in (None, 0) and summary["connect_rate"] is None
    headline = text.splitlines()[1]
    assert headline.startswith("No calls (")
    for measured in (" 0s", "0.00", "0 calls", "connect rate", "By status", "QA:", "Ended reason"):
        assert measured not in text


def squeeze(text: str) -> str:
    return re.sub(r"(?<=\d)[\s\-.,()/+]+(?=\d)", "", text)


@pytest.mark.parametrize("redact", [True, False])
async def test_fields_holding_personal_data_are_counted_but_never_aggregated(
    tmp_path: Path, redact: bool
) -> None:
    dataset = simulated_dataset("prosper", calls=40, long_calls=0, seed=12)
    campaign = dataset.calls[-1].campaign_id
    calls = [c for c in dataset if c.campaign_id == campaign]
    assert len(calls) >= 4
    for k, call in enumerate(calls):
        repeated = 4155550100 + k % 3  # few distinct values: top values if they were shown
        call.extracted_data = {
            "account_number": 4155550200 + k,  # an int under a name that says what it is
            "ref": repeated,  # an int phone number under a name that says nothing
            "amount_paid": 4111111111111111,  # a card number as an int
            "contact": f"call me on +1 415 555 01{k % 3:02d}",  # text holding phone numbers
            "customer_email": f"jane{k % 2}@example.com",
            str(repeated): "preferred",  # a phone number used as a key
            "satisfaction": k % 5 + 1,  # plain data: still aggregated
            "plan": "gold" if k % 2 else "silver",
        }
    dataset.touch()
    async with serve(tmp_path, ["prosper"], datasets={"prosper": dataset}, redact=redact) as (client, _):
        with anyio.fail_after(60):
            result = await client.call_tool(
                "summarize_campaign", {"campaign_id": campaign, "provider": "prosper"}
            )
    assert not result.is_error, text_of(result)
    summary, text = data_of(result)["summary"], text_of(result)
    shown = squeeze(text + json.dumps(summary))
    fields = {f["name"]: f for f in summary["extracted_fields"]}
    planted = ("41555501", "41555502", "4111111111111111", "jane0", "jane1")
    if not redact:  # the same summary shows them: the check below can fail
        assert all(value in shown for value in planted)
        return
    assert [value for value in planted if value in shown] == []
    withheld = {name for name, f in fields.items() if f["withheld"]}
    assert {"account_number", "ref", "amount_paid", "contact", "customer_email"} <= withheld
    named_by_a_phone = withheld - {"account_number", "ref", "amount_paid", "contact", "customer_email"}
    assert named_by_a_phone == {"[phone …0100]", "[phone …0101]", "[phone …0102]"}
    for name in withheld:
        f = fields[name]
        assert f["values"] is None and f["mean"] is None and f["min"] is None and f["max"] is None
    # Counted all the same.
    assert all(fields[name]["calls"] == len(calls) for name in withheld - named_by_a_phone)
    assert sum(fields[name]["calls"] for name in named_by_a_phone) == len(calls)
    assert fields["satisfaction"]["mean"] is not None and not fields["satisfaction"]["withheld"]
    assert fields["plan"]["values"] == dict(Counter(c.extracted_data["plan"] for c in calls))
    assert "values withheld: personal data" in text


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)), st.integers(1, 50), min_size=1
    )
)
def test_calls_over_time_show_every_day_or_week_from_first_to_last_the_empty_ones_as_0(
    per_day: dict[date, int],
) -> None:
    line = _calls_over_time({f"{d.isoformat()}T00:00:00Z": n for d, n in per_day.items()})
    label, listed = line.split(": ", 1)
    pairs = [(date.fromisoformat(k), int(v)) for k, v in (item.split(" ") for item in listed.split(", "))]
    assert sum(n for _, n in pairs) == sum(per_day.values())  # nothing lost
    step = timedelta(days=1) if label == "Calls per day" else timedelta(weeks=1)
    assert all(b[0] - a[0] == step for a, b in pairwise(pairs))  # none skipped
    span = (max(per_day) - min(per_day)).days
    assert (label == "Calls per day") == (span < 31)
    if label == "Calls per day":
        assert dict(pairs) == {d: per_day.get(d, 0) for d, _ in pairs}
    else:
        assert all(monday.weekday() == 0 for monday, _ in pairs)
