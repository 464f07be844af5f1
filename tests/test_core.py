from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr

from call_logs_mcp.cli.config import load_settings
from call_logs_mcp.core.arguments import parse_call_ref, parse_campaign_id, validate_id
from call_logs_mcp.core.queries import SearchOutcome
from call_logs_mcp.core.service import CallLogService
from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import ConfigurationError, InvalidArgumentError
from call_logs_mcp.index import IndexStore
from call_logs_mcp.models import Call, CallQuery, CallSummary, Turn
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.config import ProviderConfig
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from conftest import PLATFORM_NAMES, key_env


def test_a_cursor_round_trips_its_state() -> None:
    state = {"providers": {"prosper": {"page": 3, "skip": 7}}, "seen": ["a", "b"]}
    assert decode_cursor("calls", encode_cursor("calls", state)) == state


@pytest.mark.parametrize("bad", ["", "not-base64!", "e30", encode_cursor("search", {"o": 1}), "A" * 5000])
def test_a_cursor_we_did_not_issue_is_an_invalid_argument(bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="not issued by this server"):
        decode_cursor("calls", bad)


def test_a_provider_is_enabled_only_when_its_key_is_set(platform_name: str) -> None:
    environ = {key_env(name): "  " for name in PLATFORM_NAMES} | {key_env(platform_name): "pk_live_1"}
    settings = load_settings(environ)
    assert list(settings.providers) == [platform_name]
    assert settings.providers[platform_name].api_key.get_secret_value() == "pk_live_1"


def test_a_non_numeric_rate_limit_names_the_variable_family_without_the_key(platform_name: str) -> None:
    prefix = platform_name.upper()
    with pytest.raises(ConfigurationError) as caught:
        load_settings({f"{prefix}_API_KEY": "cc_tok_secret", f"{prefix}_RATE_LIMIT": "fast"})
    assert f"{prefix}_" in str(caught.value)
    assert "requests_per_second" in str(caught.value)
    assert "cc_tok_secret" not in str(caught.value)


def test_settings_repr_masks_api_keys() -> None:
    config = ProviderConfig(name="callcamp", api_key=SecretStr("cc_tok_canary"))
    settings = load_settings({}, providers={"callcamp": config})
    assert "cc_tok_canary" not in repr(settings)
    assert "cc_tok_canary" not in str(settings.model_dump())


def test_call_times_are_normalised_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    call = CallSummary(provider="p", call_id="1", started_at=datetime(2026, 3, 1, 10, 0, tzinfo=cet))
    naive = CallSummary(provider="p", call_id="2", started_at=datetime(2026, 3, 1, 10, 0))
    assert call.started_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert naive.started_at is not None and naive.started_at.tzinfo is UTC


def test_summary_only_drops_the_transcript_and_keeps_the_reference() -> None:
    call = Call(provider="callcamp", call_id="call_1", transcript=[Turn(speaker="agent", text="Hello")])
    summary = call.summary_only()
    assert type(summary) is CallSummary
    assert summary.uri == "calls://callcamp/call_1"


def test_validate_id_returns_the_id_unchanged_and_names_what_it_refuses() -> None:
    assert validate_id("call_1") == "call_1"
    with pytest.raises(InvalidArgumentError, match="Invalid campaign_id"):
        validate_id("../spring", what="campaign_id")
    with pytest.raises(InvalidArgumentError, match="Invalid campaign_id"):
        parse_campaign_id(" a/b ")
    assert parse_campaign_id("  spring  ") == "spring"


def test_a_call_uri_is_decoded_and_then_validated_like_a_bare_id() -> None:
    assert parse_call_ref("calls://prosper/call%201", None) == ("prosper", "call 1")
    with pytest.raises(InvalidArgumentError, match="Invalid call id"):
        parse_call_ref("calls://prosper/%2e%2e", None)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[CallLogService]:
    dataset = simulated_dataset("prosper", calls=30, seed=7)
    app = simulated_app("prosper", dataset)
    provider = create_provider(
        simulated_provider_config("prosper"), transport=simulated_transport("prosper", app)
    )
    store = IndexStore.open(tmp_path / "calls.db")
    yield CallLogService({"prosper": provider}, store=store, accounts={"prosper": "acct-p"})
    await provider.aclose()
    store.close()


def hits_of(found: SearchOutcome) -> list[tuple[str, int]]:
    return [(hit.call_id, hit.turn_index) for hit in found.result.hits]


def showing(most: int, asked: list[int]) -> Callable[[SearchOutcome], tuple[int, SearchOutcome]]:
    """A renderer with room for `most` hits that records how many hits it was given."""

    def fit(found: SearchOutcome) -> tuple[int, SearchOutcome]:
        asked.append(len(found.result.hits))
        return min(most, len(found.result.hits)), found

    return fit


async def test_a_search_page_that_does_not_fit_is_asked_again_for_exactly_the_hits_shown(
    service: CallLogService,
) -> None:
    everything = await service.search("refund", filters=CallQuery(), limit=100, fit=showing(100, []))
    assert len(everything.result.hits) > 12, "the dataset has enough hits for two pages of 10"
    asked: list[int] = []
    first = await service.search("refund", filters=CallQuery(), limit=10, fit=showing(4, asked))
    assert asked == [10, 4]
    assert first.result.next_cursor is not None
    rest = await service.search(
        "refund", filters=CallQuery(), limit=10, cursor=first.result.next_cursor, fit=showing(10, [])
    )
    assert hits_of(first) + hits_of(rest) == hits_of(everything)[:14]


async def test_a_search_page_that_never_fits_is_rendered_at_most_four_times(service: CallLogService) -> None:
    asked: list[int] = []

    def one_less(found: SearchOutcome) -> tuple[int, int]:
        asked.append(len(found.result.hits))
        return len(found.result.hits) - 1, len(found.result.hits)

    rendered = await service.search("refund", filters=CallQuery(), limit=10, fit=one_less)
    assert asked == [10, 9, 8, 7]
    assert rendered == 7
