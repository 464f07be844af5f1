"""The smaller holes of issue 11, each closed for its whole class: a symlinked index path, weak
tokens on a network bind, a foreign Host on a token bind, edge dates and cursors, plain-http base
URLs. Inputs are generated (alphabets × lengths × positions), not listed one by one.
"""

from __future__ import annotations

import base64
import json
import os
import random
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import SecretStr

from call_logs_mcp.core.arguments import build_query, parse_date
from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import ConfigurationError, InvalidArgumentError, StoreError
from call_logs_mcp.index import IndexStore
from call_logs_mcp.providers.config import provider_configs_from_env
from call_logs_mcp.server.http import MIN_TOKEN_CHARS, create_http_app, ensure_safe_bind
from call_logs_mcp.settings import Settings
from conftest import PLATFORM_NAMES, key_env, sim_key
from mcp_harness import serve, text_of
from test_http_transport import JSON_RPC_HEADERS, TOOL_CALL, Counter, counting_server, http_client, serving

RNG_SEED = 11

# --- CALL_LOGS_DB through a symbolic link ---------------------------------------------------------


@pytest.mark.parametrize("target_kind", ["file", "missing", "directory", "fifo"])
async def test_an_index_path_that_is_a_symlink_is_refused_and_its_target_never_touched(
    tmp_path: Path, target_kind: str
) -> None:
    target = tmp_path / "target"
    if target_kind == "file":
        target.write_bytes(b"someone else's file")
        target.chmod(0o644)
    elif target_kind == "directory":
        target.mkdir(mode=0o755)
    elif target_kind == "fifo":
        os.mkfifo(target, 0o644)
    link = tmp_path / "calls.db"
    link.symlink_to(target)
    before = target.lstat() if target_kind != "missing" else None
    with pytest.raises(StoreError, match="symbolic link"):
        await IndexStore.open(link)
    if before is None:
        assert not target.exists()
    else:
        after = target.lstat()
        assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)
        assert after.st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize("kind", ["directory", "fifo"])
async def test_an_index_path_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "calls.db"
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path, 0o644)
    with pytest.raises(StoreError):
        await IndexStore.open(path)


# --- tokens --------------------------------------------------------------------------------------

_SPACES = (" ", "\t", "\n", "\u00a0", "\u3000", "\u2028", "\x0b")
_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEF0123456789-_.~+/="


def weak_tokens(count: int) -> Iterator[str]:
    """Too short, blank, or holding whitespace/control characters somewhere."""
    rng = random.Random(RNG_SEED)
    for _ in range(count):
        kind = rng.choice(("short", "blank", "spaced"))
        if kind == "short":
            yield "".join(rng.choice(_TOKEN_ALPHABET) for _ in range(rng.randint(1, MIN_TOKEN_CHARS - 1)))
        elif kind == "blank":
            yield "".join(rng.choice(_SPACES) for _ in range(rng.randint(1, 40)))
        else:
            token = "".join(rng.choice(_TOKEN_ALPHABET) for _ in range(rng.randint(MIN_TOKEN_CHARS, 64)))
            cut = rng.randint(0, len(token))
            yield token[:cut] + rng.choice((*_SPACES, "\x00", "\x7f")) + token[cut:]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "calls.internal.example"])
def test_a_network_bind_refuses_every_weak_token_without_repeating_it(host: str) -> None:
    for token in weak_tokens(200):
        with pytest.raises(ConfigurationError) as refused:
            ensure_safe_bind(host, SecretStr(token))
        if len(token.strip()) >= 8:  # shorter ones occur in any sentence
            assert token.strip() not in str(refused.value)
    rng = random.Random(RNG_SEED)
    for length in (MIN_TOKEN_CHARS, 33, 64, 200):
        ensure_safe_bind(host, SecretStr("".join(rng.choice(_TOKEN_ALPHABET) for _ in range(length))))


def test_a_loopback_bind_still_refuses_a_token_no_client_could_send() -> None:
    for token in weak_tokens(100):
        stripped = token.strip()
        unusable = token != stripped or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in token)
        if unusable:
            with pytest.raises(ConfigurationError):
                ensure_safe_bind("127.0.0.1", SecretStr(token))
        else:
            ensure_safe_bind("127.0.0.1", SecretStr(token))  # short is fine on loopback


# --- Host on a token bind without --allowed-host --------------------------------------------------

STRONG = "k" * MIN_TOKEN_CHARS + "-5f1c0e9a"


def foreign_hosts(port: int) -> list[str]:
    rng = random.Random(RNG_SEED)
    names = [
        "evil.example",
        "calls.internal.example",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "10.0.0.9",
    ]
    out: list[str] = []
    for name in names:
        out += [name, f"{name}:{port}", f"{name}:{rng.randint(1, 65535)}"]
    out += [f"127.0.0.1:{port + 1}", "127.0.0.1:", "[::1", "a b", "127.0.0.1@evil.example"]
    return out


async def test_a_token_bind_without_allowed_hosts_answers_421_to_every_foreign_host() -> None:
    counter = Counter()
    app = create_http_app(counting_server(counter), Settings(http_token=SecretStr(STRONG)), host="0.0.0.0")
    auth = {"Authorization": f"Bearer {STRONG}"}
    async with serving(app) as url, httpx2.AsyncClient(timeout=10) as raw:
        port = int(url.split(":")[2].split("/")[0])
        statuses = {}
        for host in foreign_hosts(port):
            response = await raw.post(url, json=TOOL_CALL, headers={**JSON_RPC_HEADERS, **auth, "Host": host})
            statuses[host] = response.status_code
        async with http_client(url, auth) as client:  # Host: the address it arrived at
            own = await client.call_tool("count", {})
    assert {h: s for h, s in statuses.items() if s != 421} == {}
    assert not own.is_error
    assert counter.calls == 1


async def test_an_allowed_host_is_accepted_on_a_token_bind_and_others_still_get_421() -> None:
    counter = Counter()
    app = create_http_app(
        counting_server(counter),
        Settings(http_token=SecretStr(STRONG)),
        host="0.0.0.0",
        allowed_hosts=["calls.internal.example:8000"],
    )
    auth = {"Authorization": f"Bearer {STRONG}"}
    async with serving(app) as url, httpx2.AsyncClient(timeout=10) as raw:
        async with http_client(url, {**auth, "Host": "calls.internal.example:8000"}) as client:
            good = await client.call_tool("count", {})
        bad = await raw.post(
            url, json=TOOL_CALL, headers={**JSON_RPC_HEADERS, **auth, "Host": "calls.internal.example:8001"}
        )
    assert not good.is_error and counter.calls == 1
    assert bad.status_code == 421


# --- dates at the ends of the calendar -------------------------------------------------------------


def edge_dates(count: int) -> Iterator[str]:
    """Dates at year 1 or 9999 (or just outside what a call can have), with and without offsets."""
    rng = random.Random(RNG_SEED)
    for _ in range(count):
        year = rng.choice((1, 2, 999, 1969, 9999))
        month, day = (1, 1) if year < 5000 else (12, 31)
        hour, minute = rng.randint(0, 23), rng.randint(0, 59)
        sign = rng.choice("+-")
        offset = rng.choice(("", "Z", f"{sign}{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"))
        shape = rng.choice(("date", "datetime"))
        if shape == "date":
            yield f"{year:04d}-{month:02d}-{day:02d}"
        else:
            yield f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00{offset}"


def test_dates_at_the_ends_of_the_calendar_get_a_clear_error_naming_the_field_and_the_range() -> None:
    for text in edge_dates(300):
        for field in ("from_date", "to_date"):
            with pytest.raises(InvalidArgumentError) as refused:
                build_query(**{field: text})
            assert str(refused.value).startswith(f"Invalid {field}: use ")
    assert parse_date("1970-01-01", field_name="from_date") is not None
    assert parse_date("9998-12-31T23:00:00-00:30", field_name="to_date") is not None


async def test_every_tool_answers_an_edge_date_with_that_error_not_an_internal_one(tmp_path: Path) -> None:
    async with serve(tmp_path, calls=10) as (client, sims):
        campaign = sims.datasets[PLATFORM_NAMES[0]].calls[0].campaign_id
        for text in list(edge_dates(12)):
            for tool, args in (
                ("list_calls", {}),
                ("search_transcripts", {"query": "thank"}),
                ("summarize_campaign", {"campaign_id": campaign}),
            ):
                result = await client.call_tool(tool, {**args, "to_date": text})
                assert result.is_error
                assert "Invalid to_date: use " in text_of(result)


# --- cursors ------------------------------------------------------------------------------------------

KINDS = ("calls", "search", "recent")


def raw_cursor(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def hostile_cursors(kind: str, count: int) -> Iterator[str]:
    """Cursors of the right kind holding integers past 64 bits anywhere, or nested too deep."""
    rng = random.Random(f"{RNG_SEED}:{kind}")
    for _ in range(count):
        big = rng.choice((2**63, 2**63 + rng.randint(1, 10**6), 2**64, -(2**63) - 1, 10**400))
        shape = rng.choice(("top", "nested", "list", "deep"))
        if shape == "top":
            state: dict[str, Any] = {rng.choice("ospil"): big}
        elif shape == "nested":
            state = {"p": {"prosper": {"c": None, "l": big, "s": 0}}}
        elif shape == "list":
            state = {"i": [1, big]}
        else:
            inner: Any = 1
            for _ in range(rng.randint(8, 600)):
                inner = [inner] if rng.random() < 0.5 else {"a": inner}
            state = {"s": inner}
        yield raw_cursor({"v": 1, "k": kind, "s": state})


def test_a_cursor_with_a_huge_number_or_deep_nesting_is_refused_like_any_foreign_cursor() -> None:
    for kind in KINDS:
        for cursor in hostile_cursors(kind, 100):
            if len(cursor) > 4096:
                continue
            with pytest.raises(InvalidArgumentError, match="not issued by this server"):
                decode_cursor(kind, cursor)
    nested = "[" * 5000 + "]" * 5000
    with pytest.raises(InvalidArgumentError):
        decode_cursor("calls", base64.urlsafe_b64encode(nested.encode()).decode()[:4096])
    assert decode_cursor("recent", encode_cursor("recent", {"s": "x", "i": 2**63 - 1})) == {
        "s": "x",
        "i": 2**63 - 1,
    }


async def test_tools_and_resources_list_answer_hostile_cursors_with_our_own_words(tmp_path: Path) -> None:
    async with serve(tmp_path, calls=10) as (client, _):
        for kind in KINDS:
            for cursor in list(hostile_cursors(kind, 6))[:6]:
                for tool, args in (("list_calls", {}), ("search_transcripts", {"query": "thank"})):
                    result = await client.call_tool(tool, {**args, "cursor": cursor})
                    assert result.is_error
                    assert "internal error" not in text_of(result)
                with pytest.raises(MCPError) as refused:
                    await client.list_resources(cursor=cursor)
                assert refused.value.error.code == INVALID_PARAMS
                assert "cursor" in refused.value.error.message
                assert "Error" not in refused.value.error.message  # no exception class or text


# --- plain http base URLs -------------------------------------------------------------------------


def base_urls(count: int) -> Iterator[tuple[str, bool]]:
    """(base URL, whether it may carry a key without {NAME}_ALLOW_HTTP)."""
    rng = random.Random(RNG_SEED)
    loopback = ["127.0.0.1", "127.8.9.10", "localhost", "[::1]", "prosper.simulator.localhost", "LOCALHOST"]
    remote = ["api.example.com", "10.0.0.5", "[2001:db8::1]", "localhost.evil.example", "127.0.0.1.nip.io"]
    for _ in range(count):
        port = rng.choice(("", f":{rng.randint(1, 65535)}"))
        path = rng.choice(("", "/", "/api/v1"))
        if rng.random() < 0.5:
            host = rng.choice(loopback)
            yield f"{rng.choice(('http', 'HTTP', 'https'))}://{host}{port}{path}", True
        else:
            host = rng.choice(remote)
            scheme = rng.choice(("http", "Http", "https"))
            yield f"{scheme}://{host}{port}{path}", scheme.lower() == "https"


def test_a_plain_http_base_url_is_refused_for_a_remote_host_unless_explicitly_allowed() -> None:
    name = PLATFORM_NAMES[0]
    prefix = name.upper()
    for url, allowed in base_urls(200):
        env = {key_env(name): sim_key(name), f"{prefix}_BASE_URL": url}
        if allowed:
            assert provider_configs_from_env(env)[name].base_url == url
            continue
        with pytest.raises(ConfigurationError) as refused:
            provider_configs_from_env(env)
        assert f"{prefix}_ALLOW_HTTP=1" in str(refused.value)
        assert sim_key(name) not in str(refused.value)
        opted_in = provider_configs_from_env({**env, f"{prefix}_ALLOW_HTTP": "1"})
        assert opted_in[name].base_url == url
