"""Campaigns a person recognises: named by the campaigns file, described by their calls, and
asked for by name ("the March reminders campaign")."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from call_logs_mcp.core.directory import load_directory, resolve
from call_logs_mcp.demo import demo_environment
from call_logs_mcp.errors import ConfigurationError, InvalidArgumentError
from call_logs_mcp.providers import PLATFORMS, platform
from call_logs_mcp.settings import Settings
from call_logs_mcp.simulators.dataset import SimDataset
from cli_env import write_campaigns
from conftest import PLATFORM_NAMES
from mcp_harness import data_of, serve, text_of


def busiest_campaign(dataset: SimDataset) -> str:
    counts = Counter(c.campaign_id for c in dataset.calls if c.campaign_id)
    return counts.most_common(1)[0][0]


async def test_named_campaigns_are_listed_by_name_and_summarised_by_name(tmp_path: Path) -> None:
    async with serve(tmp_path, calls=40, wait_seconds=30, redact=False) as (_, sims):
        chosen = {name: busiest_campaign(ds) for name, ds in sims.datasets.items()}
    names = {name: {campaign: f"Spring outreach {name}"} for name, campaign in chosen.items()}
    campaigns = write_campaigns(tmp_path / "campaigns.toml", names)
    async with serve(tmp_path / "named", calls=40, wait_seconds=30, campaigns=campaigns) as (client, sims):
        listed = data_of(await client.call_tool("list_campaigns", {}))["campaigns"]
        for name, campaign in chosen.items():
            row = next(r for r in listed if r["provider"] == name and r["campaign_id"] == campaign)
            assert row["name"] == f"Spring outreach {name}"
            # A declared campaign is synced at start, on platforms whose records do not name it too.
            expected = sum(1 for c in sims.datasets[name].calls if c.campaign_id == campaign)
            assert row["indexed_calls"] == expected
            answer = await client.call_tool("summarize_campaign", {"campaign_id": f"spring OUTREACH {name}"})
            summary = data_of(answer)["summary"]
            assert (summary["provider"], summary["campaign_id"]) == (name, campaign)
            assert summary["campaign_name"] == f"Spring outreach {name}"
            assert summary["totals"]["calls"] == expected
            display = platform(name).info.display_name
            assert f'"Spring outreach {name}" is campaign {campaign} on {display}.' in text_of(answer)
            arguments = {"campaign_id": f"Spring outreach {name}", "limit": 100}
            calls = data_of(await client.call_tool("list_calls", arguments))
            assert {c["call_id"] for c in calls["calls"]} == {
                c.id for c in sims.datasets[name].calls if c.campaign_id == campaign
            }
            assert calls["notes"] == [f'"Spring outreach {name}" is campaign {campaign} on {display}.']


async def test_a_name_several_campaigns_answer_to_is_refused_with_the_candidates(tmp_path: Path) -> None:
    async with serve(tmp_path, ["prosper"], calls=40, wait_seconds=30) as (_, sims):
        first, second = sims.datasets["prosper"].campaigns[:2]
    campaigns = write_campaigns(
        tmp_path / "campaigns.toml", {"prosper": {first.id: "March reminders", second.id: "April reminders"}}
    )
    async with serve(tmp_path / "named", ["prosper"], calls=40, campaigns=campaigns) as (client, _):
        answer = await client.call_tool("summarize_campaign", {"campaign_id": "reminders"})
    assert answer.is_error
    assert "Several campaigns match that name" in text_of(answer)
    assert first.id in text_of(answer) and second.id in text_of(answer)


async def test_each_campaign_is_described_by_its_calls(platform_name: str, tmp_path: Path) -> None:
    async with serve(tmp_path, [platform_name], calls=60, wait_seconds=30, redact=False) as (client, sims):
        rows = data_of(await client.call_tool("list_campaigns", {}))["campaigns"]
    dataset = sims.datasets[platform_name]
    for row in rows:
        assert sum(row["by_status"].values()) == row["indexed_calls"]
        if row["campaign_id"] is None:
            continue
        calls = [c for c in dataset.calls if c.campaign_id == row["campaign_id"]]
        assert row["by_status"] == dict(Counter(c.status for c in calls))
        newest = sorted(calls, key=lambda c: c.started_at, reverse=True)
        openings = Counter(
            " ".join(turn.text.split())[:120]
            for call in newest
            if (turn := next((t for t in call.turns() if t.speaker == "agent"), None)) is not None
        )
        assert row["opening_line"] in openings


def test_a_campaigns_file_that_is_wrong_says_what_is_wrong(tmp_path: Path) -> None:
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[prosper\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"CALL_LOGS_CAMPAIGNS \(bad.toml\) is not valid TOML"):
        load_directory(bad_toml, PLATFORMS)
    unknown = write_campaigns(tmp_path / "unknown.toml", {"acme": {"c1": "x"}})
    with pytest.raises(ConfigurationError, match="names the platform 'acme'; use one of"):
        load_directory(unknown, PLATFORMS)
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_directory(tmp_path / "missing.toml", PLATFORMS)
    nested = tmp_path / "nested.toml"
    nested.write_text("[prosper]\nc1 = 5\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match='must hold "campaign id" = "name" pairs'):
        load_directory(nested, PLATFORMS)


def test_the_demo_names_every_simulated_campaign() -> None:
    with demo_environment(Settings(), calls=30) as demo:
        directory = load_directory(demo.settings.campaigns, PLATFORMS)
    assert set(directory.names) == set(PLATFORM_NAMES)
    assert all(directory.names[name] for name in PLATFORM_NAMES)
    assert "March reminders" in {n for table in directory.names.values() for n in table.values()}


def test_a_name_matches_as_whole_words_never_inside_an_id() -> None:
    known = {"prosper": {"c-march": "March reminders", "c-ace": "Ace"}}
    display = {"prosper": "Prosper"}
    said = resolve("the March reminders campaign", ["prosper"], known, display)
    assert (said.campaign_id, said.provider) == ("c-march", "prosper")
    assert resolve("reminders", ["prosper"], known, display).campaign_id == "c-march"
    # Pieces of words, and ids that happen to contain a name, stay what they are.
    for value in ("remind", "f1ace2d0-aa11-4b2c-9d3e-acebad000001", "marchreminders"):
        unresolved = resolve(value, ["prosper"], known, display)
        assert (unresolved.campaign_id, unresolved.note) == (value, None)


NAMES = ["March reminders", "Renewal outreach", "Billing questions Q2", "Customer satisfaction survey"]


@given(
    pick=st.integers(0, len(NAMES) - 1),
    plural=st.lists(st.booleans(), min_size=4, max_size=4),
    upper=st.lists(st.booleans(), min_size=4, max_size=4),
    gap=st.sampled_from([" ", "  ", "\t"]),
    frame=st.sampled_from(["{}", "the {}", "the {} campaign", "our {} calls", "{} campaign"]),
)
def test_a_name_is_found_as_people_say_it(
    pick: int, plural: list[bool], upper: list[bool], gap: str, frame: str
) -> None:
    """Each word of a name said with or without its plural s, in any case and spacing, inside the
    words people wrap around a name: the same campaign."""
    known = {"prosper": {f"c{i}": name for i, name in enumerate(NAMES)}}

    def said(word: str, plural: bool, upper: bool) -> str:
        if plural and len(word) > 3:
            word = word[:-1] if word.endswith("s") else word + "s"
        return word.upper() if upper else word

    words = [said(w, p, u) for w, p, u in zip(NAMES[pick].split(), plural, upper, strict=False)]
    found = resolve(frame.format(gap.join(words)), ["prosper"], known, {"prosper": "Prosper"})
    assert (found.campaign_id, found.provider) == (f"c{pick}", "prosper")
    assert found.hint is None


def test_a_name_nothing_answers_to_is_told_where_names_come_from() -> None:
    display = {"prosper": "Prosper", "vapi": "Vapi"}
    known = {"vapi": {"c-march": "March reminders", "c-renew": "Renewal outreach"}}
    near = resolve("appointment reminders", ["vapi"], known, display)
    assert near.campaign_id == "appointment reminders" and near.note is None
    assert near.hint == (
        'No campaign is named "appointment reminders"; names sharing a word with it: '
        '"March reminders" = c-march (vapi).'
    )
    far = resolve("winter promo", ["vapi"], known, display)
    assert far.hint == 'No campaign is named "winter promo" (list_campaigns shows the names there are).'
    unnamed = resolve("March reminders", ["prosper"], known, display)
    assert unnamed.hint is not None and "campaigns file (CALL_LOGS_CAMPAIGNS)" in unnamed.hint
    assert "names no campaign on Prosper" in unnamed.hint
    # An id is an id: no hint, whatever it shares with names.
    for value in ("f1ace2d0-aa11-4b2c-9d3e-acebad000001", "101346", "camp_reminders_2"):
        assert resolve(value, ["vapi"], known, display).hint is None


async def test_a_campaign_the_platform_lacks_is_answered_with_the_names_that_are_near(tmp_path: Path) -> None:
    async with serve(tmp_path, ["prosper"], calls=40, wait_seconds=30) as (_, sims):
        first = sims.datasets["prosper"].campaigns[0]
    campaigns = write_campaigns(tmp_path / "campaigns.toml", {"prosper": {first.id: "March reminders"}})
    async with serve(tmp_path / "named", ["prosper"], calls=40, wait_seconds=30, campaigns=campaigns) as (
        client,
        _,
    ):
        summary = await client.call_tool("summarize_campaign", {"campaign_id": "the March reminder campaign"})
        missing = await client.call_tool("summarize_campaign", {"campaign_id": "appointment reminders"})
        searched = await client.call_tool(
            "search_transcripts", {"query": "thanks", "campaign_id": "reminder calls"}
        )
    assert data_of(summary)["summary"]["campaign_id"] == first.id
    assert missing.is_error
    assert "Prosper reports no calls in campaign appointment reminders" in text_of(missing)
    assert f'names sharing a word with it: "March reminders" = {first.id} (prosper).' in text_of(missing)
    # "reminder calls" is "March reminders" (calls says nothing of which campaign): found.
    assert f'"March reminders" is campaign {first.id} on Prosper.' in text_of(searched)


@given(value=st.text(min_size=1, max_size=400))
def test_any_value_said_resolves_to_itself_or_one_campaign_never_an_error_for_a_single_match(
    value: str,
) -> None:
    """Values a model might pass (any text: regex characters, other scripts, long ones): an id
    or name comes back as it is, or as the one campaign it names (two named: the error listing
    them); a hint, when given, quotes at most 80 characters of it."""
    known = {"prosper": {f"c{i}": name for i, name in enumerate(NAMES)}}
    try:
        found = resolve(value, ["prosper"], known, {"prosper": "Prosper"})
    except InvalidArgumentError as err:  # a value naming two campaigns ("March reminders renewal outreach")
        assert str(err).startswith("Several campaigns match that name")
        return
    assert found.campaign_id == value or found.campaign_id in known["prosper"]
    if found.hint is not None:
        assert f'No campaign is named "{" ".join(value.split())[:80]}"' in found.hint
