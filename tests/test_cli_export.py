"""`call-logs-mcp export` against the simulators, into a real index, and the files read back."""

from __future__ import annotations

import csv
import io
import json
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cli_env
from call_logs_mcp.__main__ import main
from call_logs_mcp.cli.config import load_settings
from call_logs_mcp.cli.export import export_command, export_request
from call_logs_mcp.index import CallRecord, IndexStore
from call_logs_mcp.models import Call, Turn
from call_logs_mcp.output.shaper import Shaper
from call_logs_mcp.providers.config import accounts_for
from call_logs_mcp.simulators.dataset import SimDataset
from cli_env import CALLS, configure, transports_for, write_campaigns
from conftest import PLATFORM_NAMES, key_env
from factories import make_call


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cli_env.clean_environment(monkeypatch, tmp_path)


@pytest.fixture
def datasets() -> dict[str, SimDataset]:
    return cli_env.sim_datasets()


FORMATS = ["csv", "jsonl", "parquet"]
CALL_COLUMNS = [
    "provider",
    "call_id",
    "campaign_id",
    "status",
    "raw_status",
    "started_at",
    "ended_at",
    "duration_seconds",
    "to_number",
    "from_number",
    "cost",
    "currency",
    "ended_reason",
    "qa_score",
    "summary",
    "qa",
    "has_details",
]


# --- the index, as its own read API returns it -------------------------------------------------


def indexed_calls(provider: str | None = None) -> list[Call]:
    """Every call the index holds for the configured accounts, in the export's documented order:
    by provider, then start time, oldest first."""
    settings = load_settings()
    accounts = accounts_for(settings.providers)

    async def read() -> list[Call]:
        found: list[Call] = []
        async with IndexStore.open(settings.db_path()) as store:
            cursor = None
            while True:
                page = await store.recent_calls(accounts, provider=provider, limit=200, cursor=cursor)
                for summary in page.calls:
                    call = await store.get_call(accounts, summary.provider, summary.call_id)
                    assert call is not None
                    found.append(call)
                if page.next_cursor is None:
                    return found
                cursor = page.next_cursor

    calls = anyio.run(read)
    starts = [(c.provider, c.started_at) for c in calls]
    assert len(set(starts)) == len(starts)  # no ties: the order below is the only right one
    return sorted(calls, key=lambda c: (c.provider, c.started_at or datetime.min))


def store_calls(calls: list[Call]) -> None:
    """Put calls into the index under the configured accounts (as a sync would)."""
    settings = load_settings()
    accounts = accounts_for(settings.providers)

    async def write() -> None:
        async with IndexStore.open(settings.db_path()) as store:
            for call in calls:
                await store.upsert(accounts[call.provider], call.provider, [CallRecord(call)])

    anyio.run(write)


# --- the documented columns, computed from the index's calls ------------------------------------


def flatten(data: dict[str, Any], prefix: str = "", depth: int = 1) -> Iterator[tuple[str, Any]]:
    """The README's naming rule: nested objects (up to 3 levels) as dotted keys."""
    for key, value in data.items():
        if isinstance(value, dict) and depth < 3:
            yield from flatten(value, f"{prefix}{key}.", depth + 1)
        else:
            yield f"{prefix}{key}", value


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# What the tools show of a call (the calls:// resource, get_call, the transcript resource) is the
# oracle for every scrubbed value: an export is "scrubbed exactly as tool output is".
SHOWN = Shaper(max_chars=10_000_000, redact=False)


def resource_turn_lines(call: Call) -> list[str]:
    """The turn lines of the call's transcript resource (between its untrusted-block markers)."""
    lines = SHOWN.transcript_text(call).splitlines()
    return lines[2:-1] if call.transcript else []


def expected_call_rows(calls: list[Call]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows of `export --with-transcript --with-recordings --no-redact`."""
    shown = [json.loads(SHOWN.call_json(c)) for c in calls]
    flats = [dict(flatten(s["extracted_data"])) for s in shown]
    keys = sorted({k for flat in flats for k, v in flat.items() if v is not None and v != ""})

    def is_number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    def text_column(key: str) -> bool:
        values = [f[key] for f in flats if f.get(key) not in (None, "")]
        return not (all(map(is_number, values)) or all(isinstance(v, bool) for v in values))

    rows = []
    for call, seen, flat in zip(calls, shown, flats, strict=True):
        row: dict[str, Any] = {
            "provider": call.provider,
            "call_id": call.call_id,
            "campaign_id": seen["campaign_id"],
            "status": call.status.value,
            "raw_status": seen["raw_status"],
            "started_at": call.started_at,
            "ended_at": call.ended_at,
            "duration_seconds": call.duration_seconds,
            "to_number": seen["to_number"],
            "from_number": seen["from_number"],
            "cost": call.cost,
            "currency": seen["currency"],
            "ended_reason": seen["ended_reason"],
            "qa_score": call.qa_score,
            "summary": seen["summary"],
            "qa": compact(seen["qa"]) if call.qa else None,
            "has_details": True,
        }
        for key in keys:
            value = flat.get(key)
            as_json = text_column(key) and value is not None and not isinstance(value, str)
            row[f"extracted.{key}"] = compact(value) if as_json else value
        row["transcript"] = "\n".join(resource_turn_lines(call)) or None
        row["recording_urls"] = " ".join(call.recording_urls) or None
        rows.append(row)
    return [*CALL_COLUMNS, *(f"extracted.{k}" for k in keys), "transcript", "recording_urls"], rows


def expected_turn_rows(calls: list[Call]) -> list[dict[str, Any]]:
    return [
        {
            "provider": call.provider,
            "call_id": call.call_id,
            "turn_index": turn["index"],
            "speaker": turn["speaker"],
            "offset_seconds": turn["offset_seconds"],
            "text": turn["text"],
        }
        for call in calls
        for turn in SHOWN.call_detail(call).structured["transcript"]
    ]


def as_written(value: Any, fmt: str) -> Any:
    """A value as the format documents it: Parquet typed, JSON Lines with ISO times, CSV text."""
    if fmt == "parquet":
        return value
    if isinstance(value, datetime):
        value = value.isoformat().replace("+00:00", "Z")
    if fmt == "jsonl":
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return (
        "'" + text if isinstance(value, str) and text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
    )


def read_back(data: bytes, fmt: str) -> tuple[list[str], list[dict[str, Any]]]:
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
        rows = list(reader)
        return list(reader.fieldnames or []), rows
    if fmt == "jsonl":
        rows = [json.loads(line) for line in data.decode("utf-8").splitlines()]
        return list(rows[0]), rows
    table = pq.read_table(io.BytesIO(data))
    return table.column_names, table.to_pylist()


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_of_calls_reads_back_as_the_index_holds_them_every_call_every_field_in_order(
    platform_name: str,
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    datasets: dict[str, SimDataset],
) -> None:
    configure(monkeypatch)
    out = tmp_path / f"calls.{fmt}"
    argv = ["export", "--provider", platform_name, "-o", str(out), "--no-redact"]
    argv += ["--with-transcript", "--with-recordings"]
    assert main(argv, transports=transports_for(datasets)) == 0
    calls = indexed_calls(platform_name)
    assert len(calls) == len(datasets[platform_name])
    columns, rows = read_back(out.read_bytes(), fmt)
    expected_columns, expected = expected_call_rows(calls)
    assert columns == expected_columns
    assert rows == [{k: as_written(v, fmt) for k, v in row.items()} for row in expected]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_of_turns_reads_back_as_the_index_holds_them_every_turn_in_order(
    platform_name: str,
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    datasets: dict[str, SimDataset],
) -> None:
    configure(monkeypatch)
    out = tmp_path / "turns.out"
    argv = ["export", "--provider", platform_name, "--rows", "turns", "--format", fmt, "-o", str(out)]
    assert main([*argv, "--no-redact"], transports=transports_for(datasets)) == 0
    columns, rows = read_back(out.read_bytes(), fmt)
    expected = expected_turn_rows(indexed_calls(platform_name))
    assert columns == ["provider", "call_id", "turn_index", "speaker", "offset_seconds", "text"]
    assert len(rows) > len(datasets[platform_name])
    assert rows == [{k: as_written(v, fmt) for k, v in row.items()} for row in expected]


def test_an_export_of_every_platform_lists_each_platforms_calls_in_turn_and_says_what_it_wrote(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    datasets: dict[str, SimDataset],
) -> None:
    configure(monkeypatch)
    out = tmp_path / "all.csv"
    assert main(["export", "-o", str(out)], transports=transports_for(datasets)) == 0
    calls = indexed_calls()
    _, rows = read_back(out.read_bytes(), "csv")
    assert [(r["provider"], r["call_id"]) for r in rows] == [(c.provider, c.call_id) for c in calls]
    assert [r["provider"] for r in rows] == sorted(r["provider"] for r in rows)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"Exported {len(calls)} calls" in captured.err
    assert "redacted" in captured.err and "NOT" not in captured.err


def test_an_export_to_stdout_writes_the_file_there_and_everything_else_to_stderr(
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    datasets: dict[str, SimDataset],
) -> None:
    configure(monkeypatch)
    name = PLATFORM_NAMES[0]
    assert main(["export", "--provider", name, "--format", "jsonl"], transports=transports_for(datasets)) == 0
    captured = capsysbinary.readouterr()
    _, rows = read_back(captured.out, "jsonl")
    assert [r["call_id"] for r in rows] == [c.call_id for c in indexed_calls(name)]
    assert b"Exported" in captured.err


# --- scope flags ---------------------------------------------------------------------------------


def test_status_and_date_flags_export_exactly_the_matching_calls(
    platform_name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, datasets: dict[str, SimDataset]
) -> None:
    configure(monkeypatch)
    assert main(["sync", "--provider", platform_name], transports=transports_for(datasets)) == 0
    calls = indexed_calls(platform_name)
    since = calls[len(calls) // 4].started_at
    until = calls[3 * len(calls) // 4].started_at
    assert since is not None and until is not None
    out = tmp_path / "completed.jsonl"
    argv = ["export", "--no-sync", "--provider", platform_name, "--status", "completed", "-o", str(out)]
    argv += ["--since", since.date().isoformat(), "--until", until.date().isoformat()]
    assert main(argv) == 0
    _, rows = read_back(out.read_bytes(), "jsonl")
    first_day = datetime.combine(since.date(), datetime.min.time(), since.tzinfo)
    end = first_day + timedelta(days=(until.date() - since.date()).days + 1)
    wanted = [
        c.call_id
        for c in calls
        if c.status.value == "completed" and c.started_at is not None and first_day <= c.started_at < end
    ]
    assert 0 < len(wanted) < len(calls)
    assert [r["call_id"] for r in rows] == wanted


def test_a_campaign_named_in_the_campaigns_file_exports_exactly_its_calls(
    platform_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    datasets: dict[str, SimDataset],
) -> None:
    configure(monkeypatch)
    dataset = datasets[platform_name]
    campaign = next(c.campaign_id for c in dataset.calls if c.campaign_id)
    names = {platform_name: {campaign: "March reminders"}}
    monkeypatch.setenv("CALL_LOGS_CAMPAIGNS", str(write_campaigns(tmp_path / "campaigns.toml", names)))
    out = tmp_path / "march.csv"
    argv = ["export", "--campaign", "march REMINDERS", "-o", str(out)]
    assert main(argv, transports=transports_for(datasets)) == 0
    _, rows = read_back(out.read_bytes(), "csv")
    assert {r["call_id"] for r in rows} == {c.id for c in dataset.calls if c.campaign_id == campaign}
    assert {r["campaign_id"] for r in rows} == {campaign}
    assert f'"March reminders" is campaign {campaign}' in capsys.readouterr().err


def test_an_unknown_campaign_name_is_a_usage_error_naming_the_known_campaigns_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    datasets: dict[str, SimDataset],
) -> None:
    configure(monkeypatch)
    name = PLATFORM_NAMES[0]
    campaign = next(c.campaign_id for c in datasets[name].calls if c.campaign_id)
    monkeypatch.setenv(
        "CALL_LOGS_CAMPAIGNS",
        str(write_campaigns(tmp_path / "campaigns.toml", {name: {campaign: "March reminders"}})),
    )
    out = tmp_path / "gala.csv"
    argv = ["export", "--campaign", "Spring gala", "-o", str(out)]
    assert main(argv, transports=transports_for(datasets)) == 2
    err = capsys.readouterr().err
    assert "Unknown campaign 'Spring gala'" in err
    assert '"March reminders"' in err
    assert not out.exists()
    assert main([*argv, "--no-sync"]) == 2
    assert "run without --no-sync" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rows", "turns", "--with-transcript"], "--rows calls"),
        (["--status", "sort of done"], "accepted values"),
        (["--since", "2026-03-05", "--until", "2026-03-01"], "--since is after --until"),
        (["--until", "tomorrow"], "YYYY-MM-DD"),
        (["--provider", "nonesuch"], "nonesuch"),
        (["-o", "missing-folder/calls.csv"], "does not exist"),
        (["-o", "calls.xlsx"], "--output calls.xlsx: .xlsx is not a format this writes"),
    ],
)
def test_bad_export_arguments_are_usage_errors_that_say_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    configure(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--no-sync", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "calls.xlsx").exists()


def test_an_export_whose_sync_fails_exits_1_and_writes_nothing(
    platform_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    datasets: dict[str, SimDataset],
) -> None:
    configure(monkeypatch, {platform_name: f"wrong-{platform_name}-key-000000"})
    out = tmp_path / "calls.csv"
    assert (
        main(["export", "--provider", platform_name, "-o", str(out)], transports=transports_for(datasets))
        == 1
    )
    err = capsys.readouterr().err
    assert "--no-sync" in err and key_env(platform_name) in err
    assert not out.exists()


# --- files: interrupted, missing extra ------------------------------------------------------------


class InterruptAfter:
    """Ctrl-C after `calls` calls are written."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def __call__(self, done: int, total: int | None) -> None:
        if done >= self.calls:
            raise KeyboardInterrupt

    def close(self) -> None:
        pass


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_interrupted_export_leaves_no_file_behind_and_the_previous_export_untouched(
    fmt: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, datasets: dict[str, SimDataset]
) -> None:
    configure(monkeypatch)
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / f"calls.{fmt}"
    assert main(["export", "-o", str(out), "--no-redact"], transports=transports_for(datasets)) == 0
    before = out.read_bytes()
    _, rows = read_back(before, fmt)
    settings = load_settings()
    request = export_request(
        str(out), None, "calls", with_transcript=True, with_recordings=False, redact=True
    )
    with pytest.raises(KeyboardInterrupt):
        anyio.run(partial(export_command, settings, request, sync=False, progress=InterruptAfter(CALLS // 2)))
    assert [p.name for p in folder.iterdir()] == [out.name]
    assert out.read_bytes() == before
    assert len(rows) == sum(len(ds) for ds in datasets.values())

    fresh = export_request(str(folder / f"fresh.{fmt}"), None, "turns", **PLAIN)
    with pytest.raises(KeyboardInterrupt):
        anyio.run(partial(export_command, settings, fresh, sync=False, progress=InterruptAfter(1)))
    assert [p.name for p in folder.iterdir()] == [out.name]


PLAIN = {"with_transcript": False, "with_recordings": False, "redact": True}


def test_parquet_without_its_extra_names_the_extra_before_syncing_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    configure(monkeypatch)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if pyarrow were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    out = tmp_path / "calls.parquet"
    assert main(["export", "-o", str(out)]) == 2
    assert "pip install 'call-logs-mcp[parquet]'" in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / "index" / "calls.db").exists()  # said before opening or syncing anything


# --- redaction -------------------------------------------------------------------------------------

PII_SUMMARY = "Customer jane.doe@example.com asked to be called back on +1 415 555 0134."
PII_TURN = "My card is 4111 1111 1111 1111 and my name is Jane Doe."
RECORDING = "https://recordings.example.com/r/secret-capability-token"


def pii_call(provider: str) -> Call:
    return make_call(
        "call_pii_1",
        provider=provider,
        texts=["Hello, this is Ava from Brightside.", PII_TURN],
        to_number="+14155550134",
        from_number="+16505550199",
        summary=PII_SUMMARY,
        extracted_data={"callback_number": "+1 415 555 0134", "email": "jane.doe@example.com", "nps": 9},
        recording_urls=[RECORDING],
    )


def test_exports_are_redacted_exactly_as_tool_output_unless_no_redact_is_given(
    platform_name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configure(monkeypatch)
    call = pii_call(platform_name)
    store_calls([call])
    redacted, raw = tmp_path / "redacted.jsonl", tmp_path / "raw.jsonl"
    base = ["export", "--no-sync", "--provider", platform_name, "--with-transcript"]
    assert main([*base, "-o", str(redacted)]) == 0
    assert main([*base, "-o", str(raw), "--no-redact", "--with-recordings"]) == 0

    (row,) = read_back(redacted.read_bytes(), "jsonl")[1]
    shown = json.loads(Shaper(max_chars=24_000).call_json(call))  # the calls:// resource
    for field in ("summary", "to_number", "from_number"):
        assert row[field] == shown[field]
    for key in ("callback_number", "email", "nps"):
        assert row[f"extracted.{key}"] == shown["extracted_data"][key]
    assert "[card]" in row["transcript"] and "[phone …0134]" in row["summary"]
    text = redacted.read_text(encoding="utf-8")
    for secret in ("jane.doe", "4111 1111", "555 0134", "+14155550134", "Jane Doe", RECORDING):
        assert secret not in text
    assert "recording_urls" not in row

    (plain_row,) = read_back(raw.read_bytes(), "jsonl")[1]
    assert plain_row["summary"] == PII_SUMMARY
    assert plain_row["to_number"] == "+14155550134"
    assert plain_row["extracted.email"] == "jane.doe@example.com"
    assert PII_TURN in plain_row["transcript"]
    assert plain_row["recording_urls"] == RECORDING


def test_rows_of_turns_are_redacted_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(monkeypatch)
    name = PLATFORM_NAMES[0]
    store_calls([pii_call(name)])
    out = tmp_path / "turns.csv"
    assert main(["export", "--no-sync", "--rows", "turns", "-o", str(out)]) == 0
    _, rows = read_back(out.read_bytes(), "csv")
    assert [r["turn_index"] for r in rows] == ["0", "1"]
    assert "[card]" in rows[1]["text"] and "4111" not in rows[1]["text"]


def test_turns_are_exported_redacted_with_their_neighbours_as_the_transcript_resource_shows_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A date of birth answering the turn before's question, and a phone number split between
    two turns, are masked in both exports exactly as in the transcript resource."""
    configure(monkeypatch)
    name = PLATFORM_NAMES[0]
    texts = [
        "Before we continue, can you confirm your date of birth?",
        "Sure, it's February 27, 1974.",
        "And the best number to reach you?",
        "It's 415 555",
        "0134, thanks.",
    ]
    call = make_call("call_neighbours", provider=name, texts=texts)
    store_calls([call])
    whole, turns = tmp_path / "calls.jsonl", tmp_path / "turns.jsonl"
    assert main(["export", "--no-sync", "--with-transcript", "-o", str(whole)]) == 0
    assert main(["export", "--no-sync", "--rows", "turns", "-o", str(turns)]) == 0
    shown = Shaper(max_chars=24_000).transcript_text(call).splitlines()[2:-1]  # the resource's turn lines
    (row,) = read_back(whole.read_bytes(), "jsonl")[1]
    assert row["transcript"].splitlines() == shown
    _, turn_rows = read_back(turns.read_bytes(), "jsonl")
    assert [r["text"] for r in turn_rows] == [line.split(" | ", 1)[1] for line in shown]
    for secret in ("1974", "February 27", "415 555", "0134,"):  # a phone mask keeps its last four
        assert secret not in whole.read_text(encoding="utf-8") + turns.read_text(encoding="utf-8")


def test_a_text_cell_a_spreadsheet_would_run_is_written_as_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configure(monkeypatch)
    name = PLATFORM_NAMES[0]
    formula = '=HYPERLINK("https://evil.example","refund")'
    store_calls(
        [
            make_call(
                "call_formula",
                provider=name,
                summary=formula,
                transcript=[Turn(speaker="customer", text="@SUM(A1)")],
            )
        ]
    )
    out = tmp_path / "calls.csv"
    assert main(["export", "--no-sync", "--no-redact", "--with-transcript", "-o", str(out)]) == 0
    _, rows = read_back(out.read_bytes(), "csv")
    assert rows[0]["summary"] == "'" + formula
    assert rows[0]["transcript"] == "[0] customer | @SUM(A1)"  # not at the start of the cell


# --- extracted data of any shape ------------------------------------------------------------------

# A few keys, some with dots, so that "a.b" beside {"a": {"b": …}} comes up often.
KEYS = st.sampled_from(["a", "b", "a.b", "b.a", "a.b.a", "=x", "x y", "é"]) | st.text(
    "abx .=-é", min_size=1, max_size=5
)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet="ab =+-@.\n'\"1", max_size=6)
)
EXTRACTED = st.dictionaries(
    KEYS,
    st.recursive(
        LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
        max_leaves=8,
    ),
    max_size=5,
)


def carries_value(value: Any) -> bool:
    """What the README calls holding a value: not null, not a blank string."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def expected_extracted(datas: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """The README's rule: a column per key holding a value somewhere; numbers-only → number (a
    whole number of 7 or more digits is an identifier: text), booleans-only → boolean, else text
    with non-strings as JSON; a key repeated by flattening
    ("a.b" beside {"a": {"b": …}}) keeps its first value."""
    leaves = [list(flatten(data)) for data in datas]
    kinds: dict[str, set[str]] = {}
    for found in leaves:
        for key, value in found:
            if carries_value(value):
                kind = (
                    "bool"
                    if isinstance(value, bool)
                    else "other"  # a whole number of 7+ digits is an identifier (text), as indexed
                    if isinstance(value, int | float) and float(value).is_integer() and abs(value) >= 10**6
                    else "number"
                    if isinstance(value, int | float)
                    else "other"
                )
                kinds.setdefault(key, set()).add(kind)
    rows = []
    for found in leaves:
        row: dict[str, Any] = dict.fromkeys(kinds)
        for key, value in found:
            if key not in kinds or row[key] is not None or value is None:
                continue
            text_column = kinds[key] not in ({"number"}, {"bool"})
            row[key] = compact(value) if text_column and not isinstance(value, str) else value
        rows.append(row)
    return sorted(kinds), rows


@pytest.mark.parametrize("fmt", FORMATS)
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(datas=st.lists(EXTRACTED, min_size=1, max_size=4))
@example(datas=[{"a.b": None, "a": {"b": 2, "c": [1, {"d": "=1"}]}}, {"a.b": 1.5, "a": {"b": "x"}, "b": " "}])
@example(datas=[{"a": 1000000.0, "n": 999999}, {"a": -1000000, "n": 5}])
def test_extracted_data_of_any_shape_reads_back_one_column_per_field_nothing_lost(
    fmt: str, datas: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configure(monkeypatch)
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    monkeypatch.setenv("CALL_LOGS_DB", str(folder / "calls.db"))
    name = PLATFORM_NAMES[0]
    store_calls(
        [make_call(f"call-{i}", provider=name, hours=i, extracted_data=d) for i, d in enumerate(datas)]
    )
    out = folder / f"calls.{fmt}"
    assert main(["export", "--no-sync", "--no-redact", "-o", str(out)]) == 0
    columns, rows = read_back(out.read_bytes(), fmt)
    keys, expected = expected_extracted(datas)
    assert columns == CALL_COLUMNS + [f"extracted.{k}" for k in keys]
    got = [{k: row[f"extracted.{k}"] for k in keys} for row in rows]
    assert got == [{k: as_written(v, fmt) for k, v in row.items()} for row in expected]


def test_platform_keys_are_cleaned_into_column_names_that_stay_distinct(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configure(monkeypatch)
    name = PLATFORM_NAMES[0]
    # A zero-width space makes two keys that print alike; a line break cannot split the header.
    data = {"note\u200b": "hidden", "note": "shown", "two\nlines": 1}
    store_calls([make_call("call_keys", provider=name, extracted_data=data)])
    out = tmp_path / "calls.csv"
    assert main(["export", "--no-sync", "--no-redact", "-o", str(out)]) == 0
    columns, rows = read_back(out.read_bytes(), "csv")
    extracted = {c: rows[0][c] for c in columns if c.startswith("extracted.")}
    assert extracted == {"extracted.note": "shown", "extracted.note_": "hidden", "extracted.two ⏎ lines": "1"}
    assert out.read_text(encoding="utf-8").count("\n") == 2  # the header and one row


def test_a_call_indexed_from_its_listing_only_says_it_has_no_details_yet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configure(monkeypatch)
    name = PLATFORM_NAMES[0]
    settings = load_settings()
    listed = make_call("call_listed", provider=name, texts=[], hours=1)

    async def write() -> None:
        async with IndexStore.open(settings.db_path()) as store:
            account = accounts_for(settings.providers)[name]
            await store.upsert(account, name, [CallRecord(make_call("call_full", provider=name))])
            await store.upsert(account, name, [CallRecord(listed, has_details=False)])

    anyio.run(write)
    out = tmp_path / "calls.jsonl"
    assert main(["export", "--no-sync", "-o", str(out)]) == 0
    _, rows = read_back(out.read_bytes(), "jsonl")
    assert [(r["call_id"], r["has_details"]) for r in rows] == [("call_full", True), ("call_listed", False)]
