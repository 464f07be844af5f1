"""PII end to end (issue 5): planted phone numbers, e-mails, cards and SSNs never leave the server
through any tool or resource while redaction is on (the default); with `redact=False` they do,
which proves the checks can fail. The index keeps what the platform returned, logs at DEBUG carry
neither PII nor transcript text, and recording URLs appear only when asked for.

Every output is compared with the planted values digits-only (separators between digits are
squeezed out, so "+1 (415) 555-0134" and "14155550134" are the same number) and, for e-mails, by
local part.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from call_logs_mcp.logging_setup import configure_logging
from call_logs_mcp.providers import platform
from call_logs_mcp.providers.simulated import simulated_dataset
from call_logs_mcp.simulators.dataset import RECORDING_HOST, SimCall, SimDataset, SimTurn
from conftest import PLATFORM_NAMES
from mcp_harness import serve, text_of

# -- what is planted ------------------------------------------------------------------------------

PHONES = (
    "+1 415 555 0134",
    "(212) 555-0199",
    "+44 20 7946 0958",
    "415.555.0172",
    "+33 6 12 34 56 78",
    "+81 3-1234-5678",
    "+34 612 345 678",
    "+61 2 9374 4000",
)
EMAILS = ("jane.roe@example.org", "j.smith+calls@mail.example.net", "emily_carter77@example.com")
CARDS = ("4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005")
SSNS = ("078-05-1120", "219-09-9999")
INT_PHONE = 4155550123  # planted as an int: {"callback_number": 4155550123}
MARKER = "zephyrine"  # a word only planted turns contain, to search for them


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def squeeze(text: str) -> str:
    """Separators between digits removed: a number written any way becomes one digit run."""
    return re.sub(r"(?<=\d)[\s\-.,()/+]+(?=\d)", "", text)


def local_part(email: str) -> str:
    return email.split("@", 1)[0].lower()


def planted_lines(k: int) -> list[str]:
    phone, other = PHONES[k % len(PHONES)], PHONES[(k + 3) % len(PHONES)]
    email = EMAILS[k % len(EMAILS)]
    return [
        f"Sure, {MARKER} here, you can call me back at {phone}.",
        f"My {MARKER} work line is {other}, or e-mail {email}.",
        f"The {MARKER} card number is {CARDS[k % len(CARDS)]}.",
        f"For the record my social is {SSNS[k % len(SSNS)]}, {MARKER}.",
    ]


def plant(call: SimCall, k: int) -> None:
    """PII in the transcript (first turns), summary, extracted data (also as an int) and QA."""
    own = call.transcript
    lines = planted_lines(k)
    call.transcript = [SimTurn("customer", line, float(i)) for i, line in enumerate(lines)] + [
        SimTurn(t.speaker, t.text, t.offset_seconds + len(lines)) for t in own
    ]
    email = EMAILS[(k + 1) % len(EMAILS)]
    phone = PHONES[(k + 5) % len(PHONES)]
    call.summary = f"Customer asked for a text to {phone} and a copy to {email}."
    call.extracted_data = {
        **call.extracted_data,
        "callback_number": INT_PHONE,
        "customer_phone": PHONES[(k + 1) % len(PHONES)],
        "contact_email": EMAILS[(k + 2) % len(EMAILS)],
        "notes": f"card {CARDS[(k + 1) % len(CARDS)]}, ssn {SSNS[(k + 1) % len(SSNS)]}",
    }
    call.qa_score = 81
    call.qa_criteria = {
        "greeting": 90,
        "compliance": 72,
        "notes": f"Agent read {PHONES[(k + 2) % len(PHONES)]} and {email} back to the caller.",
    }


@dataclass
class Planted:
    datasets: dict[str, SimDataset]
    calls: dict[str, list[SimCall]]

    def numbers(self) -> dict[str, str]:
        """label -> digits of every planted number, plus every to/from number of the datasets."""
        out = {f"phone {p}": digits(p) for p in PHONES}
        out.update({f"card {c}": digits(c) for c in CARDS})
        out.update({f"ssn {s}": digits(s) for s in SSNS})
        out[f"int phone {INT_PHONE}"] = str(INT_PHONE)
        for ds in self.datasets.values():
            for call in ds:
                out[f"to/from {call.to_number}"] = digits(call.to_number)
                out[f"to/from {call.from_number}"] = digits(call.from_number)
        return out

    def planted_labels(self) -> set[str]:
        """The labels that MUST show up when redaction is off (everything planted)."""
        labels = {f"phone {p}" for p in PHONES} | {f"card {c}" for c in CARDS} | {f"ssn {s}" for s in SSNS}
        labels |= {f"email {local_part(e)}" for e in EMAILS} | {f"int phone {INT_PHONE}"}
        labels |= {f"to/from {c.to_number}" for calls in self.calls.values() for c in calls}
        return labels


def planted_datasets() -> Planted:
    datasets: dict[str, SimDataset] = {}
    calls: dict[str, list[SimCall]] = {}
    k = 0
    for offset, name in enumerate(PLATFORM_NAMES):
        ds = simulated_dataset(name, calls=16, long_calls=0, seed=31 + offset)
        chosen = [c for c in ds if c.status == "completed"][:3]
        assert len(chosen) == 3
        for call in chosen:
            plant(call, k)
            k += 1
        ds.touch()
        datasets[name], calls[name] = ds, chosen
    return Planted(datasets, calls)


def leaks(planted: Planted, outputs: dict[str, str]) -> dict[str, set[str]]:
    """label of each planted value -> names of the outputs it appears in."""
    numbers = planted.numbers()
    found: dict[str, set[str]] = {}
    for where, text in outputs.items():
        squeezed = squeeze(text)
        lowered = text.lower()
        for label, value in numbers.items():
            if value in squeezed:
                found.setdefault(label, set()).add(where)
        for email in EMAILS:
            if local_part(email) in lowered:
                found.setdefault(f"email {local_part(email)}", set()).add(where)
    return found


# -- driving every tool and resource --------------------------------------------------------------


def tool_output(result: CallToolResult) -> str:
    structured = (
        json.dumps(result.structured_content, ensure_ascii=False) if result.structured_content else ""
    )
    return text_of(result) + "\n" + structured


@dataclass
class Session:
    outputs: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    async def tool(self, client: Client, name: str, args: dict[str, Any]) -> CallToolResult:
        result = await client.call_tool(name, args)
        if result.is_error:
            self.errors.append(f"{name} {args}: {text_of(result)}")
        self.outputs[f"{name} {json.dumps(args, sort_keys=True)}"] = tool_output(result)
        return result


async def drive_everything(client: Client, planted: Planted) -> Session:
    """Every tool, every resource kind and resources/list over the planted calls."""
    s = Session()
    with anyio.fail_after(60):
        for name in PLATFORM_NAMES:
            await s.tool(client, "list_calls", {"provider": name, "limit": 100})
        await s.tool(client, "list_calls", {"limit": 100})
        await s.tool(client, "list_calls", {"search": PHONES[0], "limit": 100})
        for name, calls in planted.calls.items():
            for call in calls:
                await s.tool(client, "get_call", {"call_id": call.id, "provider": name})
                await s.tool(
                    client, "summarize_campaign", {"campaign_id": call.campaign_id, "provider": name}
                )
                for suffix in ("", "/transcript"):
                    uri = f"calls://{name}/{call.id}{suffix}"
                    read = await client.read_resource(uri)
                    s.outputs[f"read {uri}"] = "\n".join(getattr(c, "text", "") for c in read.contents)
        for query in (MARKER, "call me back", "social", "card number", digits(PHONES[0]), "e-mail"):
            await s.tool(client, "search_transcripts", {"query": query, "limit": 100})
        await s.tool(client, "list_campaigns", {})
        listed = await client.list_resources()
        s.outputs["resources/list"] = json.dumps([r.model_dump(mode="json") for r in listed.resources])
    return s


@pytest.fixture
def debug_logging() -> Iterator[None]:
    """The CLI's `--log-level DEBUG` set-up for one test, undone afterwards."""
    root = logging.getLogger()
    names = ["mcp", "httpx2", "httpcore", "httpcore2", "uvicorn.access", "sse_starlette"]
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in names})
    configure_logging("DEBUG")
    yield
    root.setLevel(saved[0])
    for handler in list(root.handlers):
        if handler not in saved[1]:
            root.removeHandler(handler)
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


# -- the tests -------------------------------------------------------------------------------------


async def test_no_planted_pii_leaves_any_tool_or_resource_with_default_settings(tmp_path: Path) -> None:
    planted = planted_datasets()
    async with serve(tmp_path, datasets=planted.datasets) as (client, _):
        session = await drive_everything(client, planted)
    assert session.errors == []
    assert leaks(planted, session.outputs) == {}
    # The outputs did carry the planted material, masked.
    everything = "\n".join(session.outputs.values())
    for tag in ("[phone …0134]", "[card]", "[ssn]", "[email …@example.org]", "…0123"):
        assert tag in everything


async def test_with_redaction_off_every_planted_value_appears_so_the_check_can_fail(tmp_path: Path) -> None:
    planted = planted_datasets()
    async with serve(tmp_path, datasets=planted.datasets, redact=False) as (client, _):
        session = await drive_everything(client, planted)
    assert session.errors == []
    found = leaks(planted, session.outputs)
    assert planted.planted_labels() <= set(found)
    # Each planted place reaches the output: transcripts, summaries (CallCamp's detail has one),
    # extracted data and QA (Prosper's; CallCamp's API carries neither).
    prosper, callcamp = planted.calls["prosper"][0], planted.calls["callcamp"][0]
    shown = {
        name: session.outputs[f"get_call {json.dumps({'call_id': c.id, 'provider': name}, sort_keys=True)}"]
        for name, c in (("prosper", prosper), ("callcamp", callcamp))
    }
    for value in [*planted_lines(0), str(INT_PHONE), prosper.qa_criteria["notes"]]:
        assert value in shown["prosper"]
    for value in [*planted_lines(3), callcamp.summary or "?"]:
        assert value in shown["callcamp"]


async def test_no_tool_argument_turns_redaction_off(tmp_path: Path) -> None:
    planted = planted_datasets()
    hostile = {"redact": False, "redaction": "off", "include_pii": True, "raw": True, "unmask": True}
    async with serve(tmp_path, datasets=planted.datasets) as (client, _):
        tools = (await client.list_tools()).tools
        call = planted.calls["prosper"][0]
        session = Session()
        with anyio.fail_after(60):
            for args in (
                {"call_id": call.id, "provider": "prosper"},
                {"call_id": call.id, "provider": "prosper", "include_recording": True},
            ):
                await session.tool(client, "get_call", {**args, **hostile})
            await session.tool(client, "list_calls", {"provider": "prosper", **hostile})
            await session.tool(client, "search_transcripts", {"query": MARKER, **hostile})
            await session.tool(
                client,
                "summarize_campaign",
                {"campaign_id": call.campaign_id, "provider": "prosper", **hostile},
            )
            await session.tool(client, "list_campaigns", hostile)
    names = {prop.lower() for tool in tools for prop in tool.input_schema.get("properties", {})}
    assert not {n for n in names if re.search(r"redact|pii|mask|raw|sensitive", n)}
    assert leaks(planted, session.outputs) == {}
    # Extra arguments are either refused or ignored; an answer that came back is still redacted.
    answered = [out for out in session.outputs.values() if MARKER in out or "[phone" in out]
    assert answered, "at least one call was answered and could have leaked"


async def test_the_index_keeps_what_the_platform_returned_unredacted(tmp_path: Path) -> None:
    planted = planted_datasets()
    async with serve(tmp_path, datasets=planted.datasets) as (client, _):
        with anyio.fail_after(60):
            result = await client.call_tool("search_transcripts", {"query": MARKER, "limit": 100})
    assert not result.is_error, text_of(result)
    conn = sqlite3.connect(tmp_path / "calls.db")
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    for line in planted_lines(0) + planted_lines(4):
        assert line in dump
    for phone in PHONES:
        assert phone in dump
    for email in EMAILS:
        assert email in dump
    assert str(INT_PHONE) in dump
    stored_numbers = {c.to_number for calls in planted.calls.values() for c in calls}
    assert all(number in dump for number in stored_numbers)


def recording_offered(name: str, call: SimCall, output: str) -> bool:
    """The recording as the platform offers it: its URL, or, on a platform that serves no URL,
    the note that says where the audio is."""
    assert call.recording_url is not None
    note = platform(name).info.recording_note
    if note is None:
        return call.recording_url in output
    return note in output and call.recording_url not in output


async def test_debug_logs_carry_no_pii_no_transcript_text_and_no_recording_url(
    tmp_path: Path, debug_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    planted = planted_datasets()
    async with serve(tmp_path, datasets=planted.datasets, redact=False) as (client, _):
        await drive_everything(client, planted)
        for name, calls in planted.calls.items():
            for call in calls:
                result = await client.call_tool(
                    "get_call", {"call_id": call.id, "provider": name, "include_recording": True}
                )
                assert recording_offered(name, call, tool_output(result))
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert any(r.levelno == logging.DEBUG for r in caplog.records), "DEBUG logging was not on"
    assert leaks(planted, {"log": logged}) == {}
    assert RECORDING_HOST not in logged
    turns = {
        t.text for calls in planted.calls.values() for c in calls for t in c.transcript if len(t.text) > 15
    }
    assert not [text for text in turns if text in logged]
    summaries = {c.summary for calls in planted.calls.values() for c in calls if c.summary}
    assert not [s for s in summaries if s in logged]


async def test_recording_urls_appear_only_with_include_recording(tmp_path: Path) -> None:
    planted = planted_datasets()
    async with serve(tmp_path, datasets=planted.datasets) as (client, _):
        session = await drive_everything(client, planted)
        asked = {
            call.id: tool_output(
                await client.call_tool(
                    "get_call", {"call_id": call.id, "provider": name, "include_recording": True}
                )
            )
            for name, calls in planted.calls.items()
            for call in calls
        }
    assert not [where for where, out in session.outputs.items() if RECORDING_HOST in out]
    for name, calls in planted.calls.items():
        for call in calls:
            assert recording_offered(name, call, asked[call.id])


def cut_dataset() -> tuple[SimDataset, list[str]]:
    """One call whose turns put a phone number or e-mail 0-29 words away from a searchable word,
    so the index's snippet window cuts through them somewhere; and the words to search for."""
    ds = simulated_dataset("callcamp", calls=8, long_calls=0, seed=5)
    call = next(c for c in ds if c.status == "completed")
    filler = " ".join(f"z{i}" for i in range(30))
    turns: list[SimTurn] = []
    words: list[str] = []
    for gap in range(30):
        between = " ".join(f"w{i}" for i in range(gap))
        for n, (phone, email) in enumerate(zip(PHONES[:2], EMAILS[:2], strict=True)):
            after, before = f"quokka{gap}a{n}", f"quokka{gap}b{n}"
            turns.append(SimTurn("customer", f"{after} {between} call {phone} or mail {email} {filler}", 0.0))
            turns.append(
                SimTurn("customer", f"{filler} call {phone} or mail {email} {between} {before}", 0.0)
            )
            words += [after, before]
    call.transcript = turns
    ds.touch()
    return ds, words


def fragments(text: str) -> set[str]:
    """Planted values of which a piece shows: 5+ consecutive digits of a number, a local part."""
    squeezed = squeeze(text)
    found = {p for p in PHONES[:2] for i in range(len(digits(p)) - 4) if digits(p)[i : i + 5] in squeezed}
    found |= {e for e in EMAILS[:2] if local_part(e) in text.lower()}
    return found


@pytest.mark.parametrize("redact", [True, False])
async def test_a_search_snippet_cut_through_a_number_or_address_shows_no_piece_of_it(
    tmp_path: Path, redact: bool
) -> None:
    ds, words = cut_dataset()
    snippets: list[str] = []
    async with serve(tmp_path, ["callcamp"], datasets={"callcamp": ds}, redact=redact) as (client, _):
        with anyio.fail_after(60):
            for word in words:
                result = await client.call_tool("search_transcripts", {"query": word})
                hits = (result.structured_content or {}).get("hits", [])
                assert len(hits) == 1, text_of(result)
                snippets.append(hits[0]["snippet"])
                snippets.append(text_of(result))
    cut = [s for s in snippets[::2] if s.startswith("…") or s.endswith("…")]
    assert cut, "the snippet window never cut a turn"
    shown = set().union(*(fragments(s) for s in snippets))
    if redact:
        assert shown == set()
    else:  # the same searches do show the pieces: the cuts fall inside the numbers and addresses
        whole = [s for s in snippets[::2] if any(digits(p) in squeeze(s) for p in PHONES[:2])]
        partial = [s for s in snippets[::2] if fragments(s) and s not in whole]
        assert partial and shown == {*PHONES[:2], *EMAILS[:2]}


SPLIT_NUMBERS = ("+1 415 555 0134", "020 7946 0958", "4111 1111 1111 1111")


def split_dataset() -> tuple[SimDataset, SimCall]:
    """One call whose turns each end with the first part of a number and hand the rest to the
    next turn, said by the other speaker, with a searchable word in every turn."""
    ds = simulated_dataset("callcamp", calls=8, long_calls=0, seed=9)
    call = next(c for c in ds if c.status == "completed")
    turns: list[SimTurn] = []
    for k, number in enumerate(SPLIT_NUMBERS):
        groups = number.split(" ")
        for cut in range(1, len(groups)):
            head, tail = " ".join(groups[:cut]), " ".join(groups[cut:])
            turns.append(SimTurn("customer", f"wombat{k}x{cut} my number is {head}", 0.0))
            turns.append(SimTurn("agent", f"{tail} wombat{k}y{cut} got it", 0.0))
    call.transcript = turns
    ds.touch()
    return ds, call


def split_pieces(text: str) -> set[str]:
    """Split numbers of which 5 or more digits in a row show, across the line breaks between turns."""
    squeezed = re.sub(r"\D", "", text)
    return {n for n in SPLIT_NUMBERS for i in range(len(digits(n)) - 4) if digits(n)[i : i + 5] in squeezed}


async def call_shown(client: Client, call: SimCall) -> dict[str, str]:
    """A CallCamp call as get_call and its transcript resource show it."""
    result = await client.call_tool("get_call", {"call_id": call.id, "provider": "callcamp"})
    read = await client.read_resource(f"calls://callcamp/{call.id}/transcript")
    return {
        "get_call": tool_output(result),
        "resource": "\n".join(getattr(c, "text", "") for c in read.contents),
    }


@pytest.mark.parametrize("redact", [True, False])
async def test_a_number_split_across_two_turns_is_masked_in_both_everywhere(
    tmp_path: Path, redact: bool
) -> None:
    ds, call = split_dataset()
    outputs: dict[str, str] = {}
    async with serve(tmp_path, ["callcamp"], datasets={"callcamp": ds}, redact=redact) as (client, _):
        with anyio.fail_after(60):
            outputs.update(await call_shown(client, call))
            for k in range(len(SPLIT_NUMBERS)):
                for side in "xy":
                    for cut in range(1, len(SPLIT_NUMBERS[k].split(" "))):
                        word = f"wombat{k}{side}{cut}"
                        found = await client.call_tool("search_transcripts", {"query": word})
                        hits = (found.structured_content or {}).get("hits", [])
                        assert len(hits) == 1, text_of(found)
                        outputs[word] = hits[0]["snippet"]
    if redact:
        # Each turn alone holds fewer than 5 digits of a number, so look at the turns in order.
        assert {where: split_pieces(out) for where, out in outputs.items() if split_pieces(out)} == {}
        searched = "\n".join(outputs[w] for w in sorted(outputs) if w.startswith("wombat"))
        assert split_pieces(searched) == set()
        assert "[… cont.]" in outputs["get_call"] and "[… cont.]" in outputs["resource"]
    else:  # the same outputs do show the numbers: the check can fail
        assert all(split_pieces(outputs[where]) == set(SPLIT_NUMBERS) for where in ("get_call", "resource"))
        assert [w for w in outputs if w.startswith("wombat") and split_pieces(outputs[w])]


# Asked for in one turn, given in the next (a turn that says nothing else of what it answers).
ASKED = (
    ("Before we continue, can you confirm your date of birth?", "Sure, it's February 27, 1974.", "1974"),
    ("And the last four of your social?", "Yes, 6789, quokka.", "6789"),
    (
        "What is the patient's date of birth?",
        "Okay, " + "let me find the card, then some more words " * 3 + "it's 03/14/1985, quokka.",
        "1985",
    ),
)


@pytest.mark.parametrize("redact", [True, False])
async def test_a_value_given_in_answer_to_the_turn_before_is_masked_everywhere(
    tmp_path: Path, redact: bool
) -> None:
    """A date of birth or SSN asked for by the agent and said by the caller in the next turn:
    masked in get_call, the transcript resource and search snippets (the last one cut at its
    start: the snippet of a long turn around "quokka")."""
    ds = simulated_dataset("callcamp", calls=8, long_calls=0, seed=9)
    call = next(c for c in ds if c.status == "completed")
    call.transcript = [
        SimTurn(who, text, 0.0) for q, a, _ in ASKED for who, text in (("agent", q), ("customer", a))
    ]
    ds.touch()
    outputs: dict[str, str] = {}
    async with serve(tmp_path, ["callcamp"], datasets={"callcamp": ds}, redact=redact) as (client, _):
        with anyio.fail_after(60):
            outputs.update(await call_shown(client, call))
            for query in ("february", "quokka"):
                found = await client.call_tool("search_transcripts", {"query": query})
                outputs[query] = tool_output(found)
    shown = {where: [v for _, _, v in ASKED if v in out] for where, out in outputs.items()}
    if redact:
        assert {where: values for where, values in shown.items() if values} == {}
        assert "[date of birth]" in outputs["get_call"] and "[ssn]" in outputs["resource"]
        assert "…" in outputs["quokka"] and "[date of birth]" in outputs["quokka"]
    else:  # the same outputs show them: the check can fail
        assert shown["get_call"] == shown["resource"] == [v for _, _, v in ASKED]
        assert "1985" in outputs["quokka"] and "6789" in outputs["quokka"]


TYPED = ("+1 415 555 0134", "4155550134", "jane.roe@example.org", "4111111111111111", "078-05-1120")


async def test_pii_typed_as_an_id_is_masked_in_the_error_and_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    shown: list[str] = []
    async with serve(tmp_path) as (client, _):
        with anyio.fail_after(60):
            for typed in TYPED:
                for args in ({"call_id": typed}, {"call_id": typed, "provider": "prosper"}):
                    result = await client.call_tool("get_call", args)
                    assert result.is_error
                    shown.append(text_of(result))
                result = await client.call_tool("summarize_campaign", {"campaign_id": typed})
                shown.append(text_of(result))
                with pytest.raises(MCPError) as refused:
                    await client.read_resource(f"calls://prosper/{typed.replace(' ', '')}")
                shown.append(refused.value.error.message)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "failed" in logged  # the SDK did log the failures
    for where, text in (("errors", "\n".join(shown)), ("log", logged)):
        squeezed = squeeze(text)
        leaked = [t for t in TYPED if (digits(t) and digits(t) in squeezed) or t.split("@")[0] in text]
        assert leaked == [], (where, text)
    assert "no call [phone …0134]" in "\n".join(shown)
