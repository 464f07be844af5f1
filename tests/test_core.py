from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import SecretStr

from call_logs_mcp.__main__ import load_settings
from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import ConfigurationError, InvalidArgumentError
from call_logs_mcp.models import Call, CallSummary, Turn
from call_logs_mcp.providers.config import ProviderConfig
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
