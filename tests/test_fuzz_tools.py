"""Every tool fuzzed through the in-memory MCP client: arguments generated from the tool's published
`inputSchema` (tools/list), mixed with hostile mutations -- wrong types, 100 KB strings, NUL and lone
surrogates, deep nesting, unknown keys, negative and huge numbers, bogus and tampered cursors,
impossible dates -- must never crash the server or produce an internal error. Every answer is either
a success or an error that says what is wrong, and the server still answers normally afterwards.

One server (two small simulated platforms, the index in tmp) serves every test in this module; it
runs in a blocking portal so that Hypothesis drives plain synchronous test functions.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult

from mcp_harness import Platforms, serve, strings_in, text_of

TOOLS = (
    "list_calls",
    "get_call",
    "search_transcripts",
    "find_calls",
    "summarize_campaign",
    "list_campaigns",
    "show_campaign_dashboard",
    "dashboard_failed_calls",
    "dashboard_call_transcript",
)
EXAMPLES = 500
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# --- the server under test --------------------------------------------------------------------


@dataclass
class Fuzzed:
    portal: BlockingPortal
    client: Client
    platforms: Platforms
    schemas: dict[str, dict[str, Any]]
    cursors: dict[str, list[str]]
    outcomes: list[tuple[str, str]]  # (tool, "ok" | "tool error" | "-32602"), for the coverage checks

    def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult | MCPError:
        return self.portal.call(bounded_call, self.client, tool, arguments)


async def bounded_call(client: Client, tool: str, arguments: dict[str, Any]) -> CallToolResult | MCPError:
    with anyio.fail_after(60):
        try:
            return await client.call_tool(tool, arguments)
        except MCPError as err:
            return err


def decode(cursor: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def encode(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(tmp_path, calls=100, freshness_seconds=3600)) as (
            client,
            platforms,
        ),
    ):
        tools = portal.call(client.list_tools).tools
        schemas = {tool.name: tool.input_schema for tool in tools}
        server = Fuzzed(portal, client, platforms, schemas, {}, [])
        # Real cursors of every kind, to be replayed elsewhere and tampered with.
        for tool, args in [
            ("list_calls", {"limit": 3}),
            ("list_calls", {"limit": 2, "provider": "prosper"}),
            ("list_calls", {"limit": 2, "provider": "callcamp", "status": "completed"}),
            ("search_transcripts", {"query": "thank", "limit": 2}),
            ("find_calls", {"limit": 2}),
        ]:
            result = server.call(tool, args)
            assert isinstance(result, CallToolResult) and not result.is_error, result
            assert result.structured_content is not None
            server.cursors.setdefault(tool, []).append(result.structured_content["next_cursor"])
        yield server


# --- strategies: from the schema, then hostile ------------------------------------------------

HUGE = 100_000
HUGE_STRINGS = (
    "x" * HUGE,
    "é" * HUGE,
    "1" * HUGE,
    "\x00" * HUGE,
    "\ud800" * HUGE,
    "\u202e\u200b" * (HUGE // 2),
    "refund " * (HUGE // 7),
    '"' * HUGE,
    "2026-03-01" * (HUGE // 10),
)
HOSTILE_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff\ud800",
    "x\ud83d",
    "\u202eevil\u202c",
    "\u200b",
    "\ufeff",
    "\U000e0041\U000e0042",
    "![x](https://evil.example/p.png)",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "..",
    ".",
    "%2e%2e%2f",
    "%252e%252e",
    "..\\..\\",
    "a/b",
    "a?x=1",
    "a#frag",
    "//evil.example",
    "http://evil.example/x",
    "calls://prosper/../x",
    "calls://nowhere/1",
    "calls://",
    "NULL",
    "None",
    "null",
    "' OR 1=1 --",
    '"; DROP TABLE calls; --',
    "NEAR(a b)",
    "a AND",
    "OR",
    "NOT",
    "*",
    '"',
    "^",
    "col:value",
    "{}",
    "[]",
    "\n\r\t",
    "ＰＲＯＳＰＥＲ",
    "prosper\x00",
    "Prosper",
    " prosper ",
    "😀" * 50,
)
BAD_DATES = (
    "2026-02-30",
    "2026-13-01",
    "2026-00-10",
    "0000-00-00",
    "9999-99-99",
    "tomorrow",
    "yesterday",
    "now",
    "2026-03-01T25:00:00Z",
    "2026-03-01T12:00:00+25:00",
    "2026-03-01T12:00:00 garbage",
    "-2026-03-01",
    "20260301",
    "2026/03/01",
    "03/01/2026",
    "1e9",
    "2026-03-01T12:00:00.123456789Z",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-14:00",
    "2026-W10-1",
    "2026-060",
)
NUMBERS = (
    -1,
    -(2**63),
    2**63,
    2**64 + 1,
    10**30,
    -(10**30),
    1.5,
    -0.0,
    1e308,
    -1e308,
    0,
    101,
    True,
    False,
)


def deep(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=()), max_size=20),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

any_text = st.text(st.characters(exclude_categories=()), max_size=60)
hostile_values = st.one_of(
    st.sampled_from(HUGE_STRINGS),
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(NUMBERS),
    st.builds(deep, st.integers(1, 240), json_leaves),  # the client itself refuses ~255 levels
    json_values,
    any_text,
)


def tampered_cursors(real: list[str]) -> st.SearchStrategy[str]:
    """Real cursors with one value anywhere inside (also inside a nested provider cursor) replaced."""

    def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        yield prefix
        if isinstance(value, dict):
            for key, item in value.items():
                yield from paths(item, (*prefix, key))
        elif isinstance(value, str) and len(prefix) > 0:
            try:
                inner = decode(value)
            except (ValueError, UnicodeError):
                return
            if isinstance(inner, dict):
                for key, item in inner.items():
                    yield from paths(item, (*prefix, ("nested", key)))

    def replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
        if not path:
            return new
        head, rest = path[0], path[1:]
        if isinstance(head, tuple):  # inside a nested, encoded cursor
            inner = decode(value)
            inner[head[1]] = replace(inner[head[1]], rest, new)
            return encode(inner)
        copy = dict(value)
        copy[head] = replace(copy[head], rest, new)
        return copy

    def variants(cursor: str) -> st.SearchStrategy[str]:
        state = decode(cursor)
        return st.builds(
            lambda path, new: encode(replace(state, path, new)),
            st.sampled_from(list(paths(state))),
            st.one_of(json_values, st.sampled_from(NUMBERS), st.sampled_from(HOSTILE_TEXT)),
        )

    mangled = st.builds(
        lambda cursor, cut, extra: cursor[:cut] + extra,
        st.sampled_from(real),
        st.integers(0, 200),
        st.sampled_from(("", "A", "==", "!", "\x00", "\ud800", "%3D")),
    )
    return st.one_of(st.sampled_from(real), mangled, *[variants(c) for c in real])


def cursor_values(fuzzed: Fuzzed) -> st.SearchStrategy[Any]:
    real = [c for cursors in fuzzed.cursors.values() for c in cursors]
    return st.one_of(
        tampered_cursors(real),
        st.sampled_from(
            ("", "   ", "garbage", "eyJ9", encode({}), encode([1]), encode({"v": 1, "k": "calls"}))
        ),
        st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()),
        any_text,
    )


def domain_values(fuzzed: Fuzzed, name: str) -> st.SearchStrategy[Any] | None:
    """Meaningful values for a property: real ids, campaigns, statuses, dates of the datasets."""
    calls = [(p, c) for p, ds in fuzzed.platforms.datasets.items() for c in ds]
    if name == "provider":
        return st.sampled_from(list(fuzzed.platforms.datasets))
    if name == "call_id":
        return st.sampled_from([c.id for _, c in calls] + [f"calls://{p}/{c.id}" for p, c in calls])
    if name == "campaign_id":
        return st.sampled_from(sorted({c.campaign_id for _, c in calls}))
    if name == "status":
        return st.sampled_from(["completed", "failed", "busy", "no_answer", "in_progress", "voicemail"])
    if name == "speaker":
        return st.sampled_from(["agent", "customer", "system"])
    if name in ("from_date", "to_date"):
        days = sorted({c.started_at.date().isoformat() for _, c in calls})
        return st.sampled_from(days + [c.started_at.isoformat() for _, c in calls[:20]])
    if name in ("query", "search"):
        return st.sampled_from(
            ["refund", "appointment", '"call me back"', "cancel*", "refund OR billing", "NOT refund",
             "-refund", "thank you", "reschedule", "insurance AND card", "Müller", "田中"]
        )  # fmt: skip
    if name == "cursor":
        real = [c for cursors in fuzzed.cursors.values() for c in cursors]
        return st.sampled_from(real)
    if name == "where":
        conditions = st.sampled_from(
            ["appointment_scheduled", "appointment_scheduled=false", "refund_amount>100", "insurer is set",
             "plan!=gold", "resolution=APPROVED", "satisfaction<=2", "nps is not set", "booked", "x>y", "=1"]
        )  # fmt: skip
        return st.lists(conditions, min_size=1, max_size=3)
    if name.startswith(("min_", "max_")):
        return st.sampled_from([0, 30, 60.5, 90, 300])
    if name == "ended_reason":
        return st.sampled_from([*sorted({c.ended_reason for _, c in calls if c.ended_reason}), "nonesuch"])
    return None


WRONG_BUT_PLAUSIBLE = {
    "provider": ("nonesuch", "PROSPER", " prosper", "prosper\x00", "callcamp,prosper", "*"),
    "call_id": ("999999999", "call_doesnotexist", "calls://nowhere/1", "calls://prosper/", "0", "-1"),
    "campaign_id": ("no-such-campaign", "0", "*"),
    "status": ("COMPLETED", "done", "unknown", "in progress", "completed,failed"),
    "speaker": ("robot", "AGENT", "Customer", "caller"),
}


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value valid for a (pydantic-generated) JSON schema fragment."""
    if "anyOf" in schema:
        return st.one_of([from_schema(option) for option in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False)
    if kind == "string":
        return st.text(st.characters(exclude_categories=("Cs",)), max_size=schema.get("maxLength", 80))
    if kind == "array":
        return st.lists(from_schema(schema["items"]), max_size=schema.get("maxItems", 5))
    raise AssertionError(f"the fuzzer does not know schema {schema}: teach from_schema about it")


def hostile_for(fuzzed: Fuzzed, name: str) -> st.SearchStrategy[Any]:
    """Values that must be refused (or survived) for property `name`."""
    options = [hostile_values]
    if name in WRONG_BUT_PLAUSIBLE:
        options.append(st.sampled_from(WRONG_BUT_PLAUSIBLE[name]))
    if name in ("from_date", "to_date"):
        options.append(st.sampled_from(BAD_DATES))
    if name == "cursor":
        options.append(cursor_values(fuzzed))
    return st.one_of(options)


def arguments_for(fuzzed: Fuzzed, tool: str) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments valid for the tool's inputSchema (meaningful or random values), then one or more
    hostile mutations: a value swapped for a hostile one, a required key dropped, unknown keys
    added, from_date after to_date. About a fifth of the cases stay unmutated."""
    schema = fuzzed.schemas[tool]
    properties: dict[str, dict[str, Any]] = schema["properties"]
    required = set(schema.get("required", []))
    valid: dict[str, st.SearchStrategy[Any]] = {}
    for name, prop in properties.items():
        meaningful = domain_values(fuzzed, name)
        random_valid = from_schema(prop)
        # Meaningful values are weighted up so that the success paths are reached often.
        valid[name] = random_valid if meaningful is None else st.one_of(meaningful, meaningful, random_valid)
    mutations = st.sampled_from(
        ["hostile value", "hostile value", "drop required", "unknown keys", "from > to"]
    )

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for name, values in valid.items():
            if name in required or draw(st.booleans()):
                args[name] = draw(values)
        for mutation in draw(st.lists(mutations, max_size=3)):
            if mutation == "hostile value":
                name = draw(st.sampled_from(sorted(properties)))
                args[name] = draw(hostile_for(fuzzed, name))
            elif mutation == "drop required" and required:
                args.pop(draw(st.sampled_from(sorted(required))), None)
            elif mutation == "unknown keys":
                keys = st.one_of(st.text(max_size=12), st.sampled_from(["__proto__", "", "Limit", "callId"]))
                extra = draw(st.dictionaries(keys, hostile_values, min_size=1, max_size=3))
                args.update({k: v for k, v in extra.items() if k not in properties})
            elif mutation == "from > to" and {"from_date", "to_date"} <= set(properties):
                early, late = sorted(draw(st.lists(st.dates(), min_size=2, max_size=2, unique=True)))
                args["from_date"], args["to_date"] = late.isoformat(), early.isoformat()
        return args

    return build()


# --- what a proper answer looks like -----------------------------------------------------------

TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
    r"\b(?:KeyError|TypeError|AttributeError|IndexError|AssertionError|RecursionError|"
    r"OverflowError|UnicodeEncodeError|UnicodeDecodeError|ZeroDivisionError|NameError|"
    r"sqlite3\.\w+|OperationalError)\b"
)


def hostile_char(char: str) -> bool:
    """Control, format (zero-width, bidi, tags), surrogate or private line separators."""
    if char in "\n\t":
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def mentions(reason: str, tool: str, fuzzed: Fuzzed) -> bool:
    """Whether an error reason names what was wrong: an argument, or the thing looked for."""
    lowered = reason.lower()
    names = set(fuzzed.schemas[tool]["properties"])
    words = names | {n.replace("_", " ") for n in names} | set(fuzzed.platforms.datasets)
    # "prosper has no call 123", "... no indexed calls in campaign x", "That cursor ..."
    words |= {"campaign", "cursor", "provider", "platform", "query", "date"}
    return any(word in lowered for word in words) or re.search(r"\bcalls?\b", lowered) is not None


def check_answer(fuzzed: Fuzzed, tool: str, args: dict[str, Any], answer: CallToolResult | MCPError) -> None:
    described = ascii(args)[:300]
    if isinstance(answer, MCPError):
        assert answer.error.code == INVALID_PARAMS, f"{tool}({described}) -> {answer.error}"
        assert answer.error.message.strip(), f"{tool}({described}): -32602 without a message"
        fuzzed.outcomes.append((tool, "-32602"))
        return
    # Every answer reaches the wire: it must serialise as strict UTF-8 JSON.
    answer.model_dump_json(by_alias=True).encode("utf-8")
    text = text_of(answer)
    assert text.strip(), f"{tool}({described}) answered with no text"
    assert not TRACEBACK.search(text), f"{tool}({described}) leaked Python internals: {text[:500]!r}"
    if not answer.is_error:
        assert answer.structured_content is not None, f"{tool}({described}) succeeded without data"
        bad = [s for s in strings_in(answer.structured_content) if any(hostile_char(c) for c in s)]
        assert not bad and not any(hostile_char(c) for c in text), (
            f"{tool}({described}) returned control/format characters: {bad[:3]!r}"
        )
        fuzzed.outcomes.append((tool, "ok"))
        return
    prefix = f"Error executing tool {tool}"
    assert text.strip() != prefix, f"{tool}({described}) crashed (the SDK's generic message)"
    reason = text.removeprefix(prefix + ": ").strip()
    assert "internal error" not in reason.lower(), f"{tool}({described}) hit an internal error"
    assert "pydantic" not in reason and "validation error" not in reason, reason
    assert len(reason) >= 10, f"{tool}({described}) gave no reason: {text!r}"
    assert mentions(reason, tool, fuzzed), f"{tool}({described}) error does not say what is wrong: {reason!r}"
    # The caller's own hostile text may be quoted back only inside a repr (escaped).
    assert not any(hostile_char(c) for c in text), f"{tool}({described}) echoed raw control characters"
    fuzzed.outcomes.append((tool, "tool error"))


class CrashLog(logging.Handler):
    """Collects ERROR records: a crash inside a tool is logged at ERROR with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def fuzz_tool(fuzzed: Fuzzed, tool: str) -> None:
    crashes = CrashLog()
    root = logging.getLogger()
    root.addHandler(crashes)
    before = len(fuzzed.outcomes)
    try:

        @FUZZ
        @given(args=arguments_for(fuzzed, tool))
        def one(args: dict[str, Any]) -> None:
            check_answer(fuzzed, tool, args, fuzzed.call(tool, args))

        one()
    finally:
        root.removeHandler(crashes)
    outcomes = [kind for name, kind in fuzzed.outcomes[before:] if name == tool]
    assert [r.getMessage() for r in crashes.records] == []
    # The fuzzer really reached both sides: calls that worked and calls that were refused.
    assert len(outcomes) >= EXAMPLES
    assert "ok" in outcomes, f"no fuzzed {tool} call succeeded: the generator is too hostile"
    assert "tool error" in outcomes or "-32602" in outcomes


NORMAL_CALLS: dict[str, Callable[[Fuzzed], dict[str, Any]]] = {
    "list_calls": lambda f: {"limit": 5},
    "get_call": lambda f: {"call_id": f.platforms.datasets["prosper"].calls[0].id, "provider": "prosper"},
    "search_transcripts": lambda f: {"query": "thank"},
    "find_calls": lambda f: {"status": "completed", "min_duration_seconds": 1},
    "summarize_campaign": lambda f: {
        "campaign_id": f.platforms.datasets["callcamp"].calls[0].campaign_id,
        "provider": "callcamp",
    },
    "list_campaigns": lambda f: {},
    "show_campaign_dashboard": lambda f: {
        "campaign_id": f.platforms.datasets["callcamp"].calls[0].campaign_id,
        "provider": "callcamp",
    },
    "dashboard_failed_calls": lambda f: {
        "campaign_id": f.platforms.datasets["callcamp"].calls[0].campaign_id,
        "provider": "callcamp",
        "day": f.platforms.datasets["callcamp"].calls[0].started_at.astimezone(UTC).date().isoformat(),
    },
    "dashboard_call_transcript": lambda f: {
        "call_id": f.platforms.datasets["prosper"].calls[0].id,
        "provider": "prosper",
    },
}


def assert_still_answers(fuzzed: Fuzzed, tool: str) -> None:
    args = NORMAL_CALLS[tool](fuzzed)
    result = fuzzed.call(tool, args)
    assert isinstance(result, CallToolResult)
    assert not result.is_error, text_of(result)
    assert result.structured_content


# --- the tests ---------------------------------------------------------------------------------


def test_the_fuzzer_covers_every_published_tool_and_knows_every_schema_shape(fuzzed: Fuzzed) -> None:
    assert sorted(fuzzed.schemas) == sorted(TOOLS)
    for tool, schema in fuzzed.schemas.items():
        for name, prop in schema["properties"].items():
            from_schema(prop)  # raises for a schema shape the generator cannot produce
            assert name in NORMAL_CALLS[tool](fuzzed) or name not in schema.get("required", [])


@pytest.mark.parametrize("tool", TOOLS)
def test_fuzzed_arguments_never_crash_a_tool_and_every_refusal_says_what_is_wrong(
    fuzzed: Fuzzed, tool: str
) -> None:
    fuzz_tool(fuzzed, tool)
    assert_still_answers(fuzzed, tool)


def test_after_all_the_fuzzing_every_tool_still_answers_a_normal_call(fuzzed: Fuzzed) -> None:
    for tool in TOOLS:
        assert_still_answers(fuzzed, tool)
