"""The contract every registered adapter keeps, checked against its simulator.

Parametrized over `PLATFORM_NAMES` (so a new platform runs it automatically) plus Prosper's two
single-shape variants ("both", the default, serves the guide's list with the OpenAPI detail).
Expected values are computed here from the simulator's dataset, never from adapter output.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette

from call_logs_mcp.cursors import encode_cursor
from call_logs_mcp.errors import (
    AuthError,
    InvalidArgumentError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
)
from call_logs_mcp.models import Call, CallQuery, CallStatus, CallSummary
from call_logs_mcp.providers import create_provider
from call_logs_mcp.providers.base import CallProvider
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.simulators.dataset import SimCall, SimDataset
from call_logs_mcp.simulators.faults import Faults
from conftest import PLATFORM_NAMES

CALLS = 400
TIMEOUT = 30  # seconds; a bound on waits, never a timing assertion


@cache
def dataset_for(name: str) -> SimDataset:
    # Shared across tests: nothing here mutates a dataset.
    return simulated_dataset(name, calls=CALLS, campaigns=4, days=30, long_calls=1, seed=11)


@dataclass
class Platform:
    name: str
    knobs: dict[str, Any] = field(default_factory=dict)

    @property
    def dataset(self) -> SimDataset:
        return dataset_for(self.name)

    def app(self, faults: Faults | None = None) -> Starlette:
        return simulated_app(self.name, self.dataset, faults=faults, **self.knobs)

    @asynccontextmanager
    async def provider(self, app: Starlette | None = None, **config: Any) -> AsyncIterator[CallProvider]:
        app = app if app is not None else self.app()
        provider = create_provider(
            simulated_provider_config(self.name, **config), transport=simulated_transport(self.name, app)
        )
        try:
            yield provider
        finally:
            await provider.aclose()


PLATFORMS = [pytest.param(Platform(name), id=name) for name in PLATFORM_NAMES] + [
    pytest.param(Platform("prosper", {"variant": "export"}), id="prosper-export"),
    pytest.param(Platform("prosper", {"variant": "openapi"}), id="prosper-openapi"),
]


@pytest.fixture(params=PLATFORMS)
def platform(request: pytest.FixtureRequest) -> Platform:
    value: Platform = request.param
    return value


async def list_all(provider: CallProvider, query: CallQuery, *, limit: int = 37) -> list[CallSummary]:
    """Every call of the listing, following cursors (bounded)."""
    calls: list[CallSummary] = []
    cursor: str | None = None
    with anyio.fail_after(TIMEOUT):
        for _ in range(10 * CALLS):
            page = await provider.list_calls(query, limit=limit, cursor=cursor)
            assert len(page.calls) <= limit
            calls += page.calls
            if page.next_cursor is None:
                return calls
            cursor = page.next_cursor
    raise AssertionError("the cursor chain did not end")


def digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


# --- paging and filters ---------------------------------------------------------------------------


async def test_paging_yields_every_call_exactly_once_newest_first(platform: Platform) -> None:
    async with platform.provider() as provider:
        listed = await list_all(provider, CallQuery())
    expected = [call.id for call in platform.dataset]  # the dataset iterates newest first
    assert [call.call_id for call in listed] == expected
    starts = [call.started_at for call in listed]
    assert all(a is not None and b is not None and a >= b for a, b in itertools.pairwise(starts))


def _campaign(ds: SimDataset) -> tuple[CallQuery, Callable[[SimCall], bool]]:
    campaign = ds.campaigns[1].id
    return CallQuery(campaign_id=campaign), lambda c: c.campaign_id == campaign


def _instants(ds: SimDataset) -> tuple[CallQuery, Callable[[SimCall], bool]]:
    # Bounds inside days (not midnight), so day-granular platforms must trim client-side.
    calls = ds.calls
    start = calls[260].started_at + timedelta(seconds=1)
    end = calls[90].started_at - timedelta(seconds=1)
    return CallQuery(from_date=start, to_date=end), lambda c: start <= c.started_at <= end


def _whole_days(ds: SimDataset) -> tuple[CallQuery, Callable[[SimCall], bool]]:
    day = ds.calls[150].started_at.date()
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=3)
    end = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
    return CallQuery(from_date=start, to_date=end), lambda c: start <= c.started_at <= end


def _combined(ds: SimDataset) -> tuple[CallQuery, Callable[[SimCall], bool]]:
    campaign = ds.campaigns[0].id
    start = ds.calls[-1].started_at + timedelta(days=5, minutes=17)
    query = CallQuery(campaign_id=campaign, status=CallStatus.COMPLETED, from_date=start)
    return query, lambda c: c.campaign_id == campaign and c.status == "completed" and c.started_at >= start


def _phone(ds: SimDataset) -> tuple[CallQuery, Callable[[SimCall], bool]]:
    number = ds.calls[7].to_number
    wanted = digits(number)
    # The check below relies on campaign (from) numbers never containing a customer number.
    assert not any(wanted in digits(c.from_number) for c in ds)
    return CallQuery(search=number), lambda c: wanted in digits(c.to_number)


def _status(status: CallStatus) -> Callable[[SimDataset], tuple[CallQuery, Callable[[SimCall], bool]]]:
    return lambda ds: (CallQuery(status=status), lambda c: c.status == status.value)


FILTERS = [
    pytest.param(_campaign, id="campaign"),
    pytest.param(_instants, id="date-instants"),
    pytest.param(_whole_days, id="date-whole-days"),
    pytest.param(_combined, id="campaign+status+from"),
    pytest.param(_phone, id="search-phone"),
] + [pytest.param(_status(s), id=f"status-{s.value}") for s in CallStatus if s is not CallStatus.UNKNOWN]


@pytest.mark.parametrize("make_filter", FILTERS)
async def test_filters_are_honoured_and_platform_totals_are_never_wrong(
    platform: Platform, make_filter: Callable[[SimDataset], tuple[CallQuery, Callable[[SimCall], bool]]]
) -> None:
    query, matches = make_filter(platform.dataset)
    expected = [call for call in platform.dataset if matches(call)]
    assert expected, "the filter must select something for the test to mean anything"
    async with platform.provider() as provider:
        first = await provider.list_calls(query, limit=50)
        listed = await list_all(provider, query, limit=50)
    assert [call.call_id for call in listed] == [call.id for call in expected]
    assert first.unsupported_filters == []
    if query.campaign_id is not None:
        assert {call.campaign_id for call in listed} == {query.campaign_id}
    if first.totals is not None:
        assert first.totals.calls in (None, len(expected))
        if first.totals.duration_seconds is not None:
            assert first.totals.duration_seconds == sum(call.duration_seconds for call in expected)
        if first.totals.cost is not None:
            assert first.totals.cost == pytest.approx(sum(call.price for call in expected), abs=0.011)


async def test_a_cursor_from_another_listing_is_an_invalid_argument(platform: Platform) -> None:
    foreign = encode_cursor("someone-else.calls", {"p": 1, "o": 0})
    async with platform.provider() as provider:
        with pytest.raises(InvalidArgumentError):
            await provider.list_calls(CallQuery(), cursor=foreign)
        page = await provider.list_calls(CallQuery(), limit=5)
        assert page.next_cursor is not None
        with pytest.raises(InvalidArgumentError):
            await provider.list_calls(CallQuery(status=CallStatus.BUSY), cursor=page.next_cursor)


# --- details --------------------------------------------------------------------------------------


def sample_calls(ds: SimDataset) -> list[SimCall]:
    """One call per kind of transcript material: long, empty, non-ASCII, injection, plain."""
    picked: dict[str, SimCall] = {}
    for call in ds:
        for trait in ("long", "empty", "non_ascii", "injection"):
            if trait in call.traits and trait not in picked:
                picked[trait] = call
        if not call.traits and call.status == "completed" and "plain" not in picked:
            picked["plain"] = call
    assert set(picked) == {"long", "empty", "non_ascii", "injection", "plain"}
    return list(picked.values())


def assert_same_call(call: Call, truth: SimCall) -> None:
    assert call.call_id == truth.id
    assert call.status.value == truth.status
    assert call.started_at == truth.started_at
    if truth.status == "in_progress" and call.duration_seconds is None:
        # A platform with no duration field (Vapi: end minus start) cannot say how long a call
        # that has not ended has run; it must not make a figure up either.
        assert call.ended_at is None
    else:
        assert call.duration_seconds == truth.duration_seconds
    assert call.to_number == truth.to_number
    assert [(turn.speaker, turn.text) for turn in call.transcript] == [
        (turn.speaker, turn.text) for turn in truth.turns()
    ]


async def test_transcripts_round_trip_in_order(platform: Platform) -> None:
    async with platform.provider() as provider:
        for truth in sample_calls(platform.dataset):
            with anyio.fail_after(TIMEOUT):
                call = await provider.get_call(truth.id)
            assert_same_call(call, truth)
            if call.cost is not None:
                assert call.cost == truth.price


async def test_list_items_carry_details_exactly_when_the_capability_says_so(platform: Platform) -> None:
    async with platform.provider() as provider:
        page = await provider.list_calls(CallQuery(), limit=60)
        with_details = provider.info.capabilities.list_includes_details
    assert all(isinstance(call, Call) is with_details for call in page.calls)
    if with_details:
        for call in page.calls:
            assert isinstance(call, Call)
            assert_same_call(call, platform.dataset[call.call_id])


async def test_an_unknown_id_is_not_found(platform: Platform) -> None:
    first = next(iter(platform.dataset)).id
    unknown = "7" if first.isdigit() else "call_" + "0" * 20
    assert unknown not in platform.dataset
    async with platform.provider() as provider:
        with pytest.raises(NotFoundError, match=re.escape(unknown)):
            await provider.get_call(unknown)


# --- failures -------------------------------------------------------------------------------------


async def test_a_bad_key_is_an_auth_error_naming_the_env_var(platform: Platform) -> None:
    async with platform.provider(api_key="wrong-key-canary") as provider:
        with pytest.raises(AuthError) as listing:
            await provider.list_calls(CallQuery())
        with pytest.raises(AuthError) as detail:
            await provider.get_call(next(iter(platform.dataset)).id)
        env_var = provider.info.key_env_var
    for caught in (listing, detail):
        assert env_var in str(caught.value)
        assert "wrong-key-canary" not in str(caught.value)


async def test_a_429_then_success_is_retried(platform: Platform) -> None:
    app = platform.app(Faults(script=(429, 429), retry_after_value="0"))
    async with platform.provider(app) as provider:
        page = await provider.list_calls(CallQuery(), limit=10)
    assert [call.call_id for call in page.calls] == [call.id for call in platform.dataset.calls[:10]]
    outcomes = [request.outcome for request in app.state.requests]
    assert outcomes[:3] == ["429", "429", "ok"]


async def test_persistent_429_is_a_rate_limited_error(platform: Platform) -> None:
    app = platform.app(Faults(rate_429=1.0, retry_after_value="0"))
    async with platform.provider(app, max_retries=2) as provider:
        with pytest.raises(RateLimitedError):
            await provider.list_calls(CallQuery())
    assert len(app.state.requests) == 3


async def test_a_burst_of_5xx_and_a_reset_are_survived(platform: Platform) -> None:
    app = platform.app(Faults(script=(503, 502, "reset")))
    truth = platform.dataset.calls[3]
    async with platform.provider(app, max_retries=4) as provider:
        call = await provider.get_call(truth.id)
    assert_same_call(call, truth)
    assert [request.outcome for request in app.state.requests][:4] == ["503", "502", "reset", "ok"]


async def test_malformed_json_is_a_typed_error_that_never_quotes_the_body(platform: Platform) -> None:
    app = platform.app(Faults(malformed_rate=1.0))
    truth = next(call for call in platform.dataset if "long" in call.traits)
    first_words = next(truth.turns()).text[:12]
    async with platform.provider(app) as provider:
        with pytest.raises(MalformedResponseError) as listing:
            await provider.list_calls(CallQuery())
        with pytest.raises(MalformedResponseError) as detail:
            await provider.get_call(truth.id)
    for caught in (listing, detail):
        message = str(caught.value)
        assert "{" not in message and '"' not in message
        assert truth.to_number not in message and first_words not in message
