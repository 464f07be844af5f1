"""The deterministic call-data generator: `generate_dataset` and its streaming twin `iter_calls`.

- Everything is a pure function of the arguments: the same seed gives the same calls, ids, texts
  and numbers in every process (no `hash()`, no clock). A 100,000-call dataset takes about 2 s.
- Calls span `[start, start + days)`, or `days` ending just before `end` when that is given;
  ids grow with time (Prosper-style numeric strings, or CallCamp-style `call_…` when
  `id_style="callcamp"`). The newest call is always `in_progress`; every status is present
  whenever there are at least 6 calls. `long_calls` completed calls have more than 2,000 turns
  (the first one 3,200). Busy / no-answer calls have no transcript.
- A plan (`_plan`: times, ids, statuses, long and injection calls) is drawn over the whole
  dataset first; calls are then built one at a time from it, newest first.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from call_logs_mcp.simulators.corpus import _CAMPAIGNS, LONG_CALL_MIN_TURNS, SCENARIOS
from call_logs_mcp.simulators.dataset import (
    _STATUS_WEIGHTS,
    DEFAULT_START,
    STATUSES,
    IdStyle,
    SimCall,
    SimCampaign,
    SimDataset,
    SimStatus,
    _build_call,
    _phone_pool,
    new_call_id,
)

# `generate_dataset(end=...)`: the latest moment of any call is this long before `end`.
END_MARGIN = timedelta(minutes=1)


def _uuid(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _make_campaigns(rng: random.Random, count: int, start: datetime) -> list[SimCampaign]:
    campaigns: list[SimCampaign] = []
    for i in range(count):
        if i < len(_CAMPAIGNS):
            name, scenario = _CAMPAIGNS[i]
        else:
            name, scenario = f"Campaign {i + 1}", SCENARIOS[i % len(SCENARIOS)]
        from_number = f"+1605444{rng.randint(1000, 9999)}"
        campaigns.append(
            SimCampaign(
                id=_uuid(rng),
                name=name,
                scenario=scenario,
                from_number=from_number,
                price_per_minute=round(rng.uniform(0.07, 0.15), 3),
                created_at=start - timedelta(days=rng.randint(1, 30)),
            )
        )
    return campaigns


@dataclass(slots=True)
class _Plan:
    """What must be decided over the whole dataset before calls can be yielded one by one."""

    times: list[int]  # epoch seconds, ascending
    ids: list[str]  # ascending with time
    statuses: list[SimStatus]
    long_turns: dict[int, int]
    injection: set[int]


def _plan(
    rng: random.Random, *, calls: int, start: datetime, days: int, long_calls: int, id_style: IdStyle
) -> _Plan:
    base = int(start.timestamp())
    span = max(1, days) * 86_400
    rand = rng.random
    times = sorted(base + int(rand() * span) for _ in range(calls))
    ids: list[str] = []
    next_id = 100_000 + rng.randint(0, 999)
    for _ in range(calls):
        if id_style == "numeric":
            ids.append(str(next_id))
            next_id += 1 + int(rand() * 3)
        else:
            ids.append(new_call_id(rng, id_style))
    names = [s for s, _ in _STATUS_WEIGHTS]
    weights = [w for _, w in _STATUS_WEIGHTS]
    statuses: list[SimStatus] = rng.choices(names, weights, k=calls)
    if calls:
        statuses[-1] = "in_progress"  # the newest call is still running
        recent = max(1, calls // 400)
        for i in range(calls - recent, calls - 1):
            if rng.random() < 0.3:
                statuses[i] = "in_progress"
    # Every status present: place missing ones on calls whose status is not unique.
    for status in STATUSES:
        if calls < len(STATUSES) or status in statuses:
            continue
        counts = {s: statuses.count(s) for s in STATUSES}
        candidates = [i for i in range(calls - 1) if counts[statuses[i]] > 1]
        if candidates:
            statuses[rng.choice(candidates)] = status
    # Long calls are completed calls away from the newest edge.
    long_turns: dict[int, int] = {}
    completed = [i for i, s in enumerate(statuses) if s == "completed"]
    for n, i in enumerate(rng.sample(completed, min(long_calls, len(completed)))):
        long_turns[i] = 3_200 if n == 0 else rng.randint(LONG_CALL_MIN_TURNS + 50, 2_900)
    others = [i for i in completed if i not in long_turns]
    n_inject = min(len(others), max(2, calls // 500)) if calls >= 20 else 0
    injection = set(rng.sample(others, n_inject))
    return _Plan(times=times, ids=ids, statuses=statuses, long_turns=long_turns, injection=injection)


def iter_calls(
    *,
    seed: int = 7,
    calls: int = 2_000,
    campaigns: int = 6,
    start: datetime = DEFAULT_START,
    days: int = 120,
    long_calls: int = 3,
    id_style: IdStyle = "numeric",
    currency: str = "USD",
) -> Iterator[SimCall]:
    """The calls of `generate_dataset(...)` with the same arguments, newest first, one at a time.

    Memory stays small (a few ints per call for the plan); transcripts are never materialised.
    Raises ValueError for negative counts.
    """
    rng, camps = _dataset_start(seed, calls, campaigns, start, days, long_calls)
    yield from _iter_planned(rng, camps, calls, start, days, long_calls, id_style, currency)


def _dataset_start(
    seed: int, calls: int, campaigns: int, start: datetime, days: int, long_calls: int
) -> tuple[random.Random, list[SimCampaign]]:
    """The dataset's RNG and campaigns: what `iter_calls` and `generate_dataset` share."""
    if calls < 0 or campaigns < 1 or long_calls < 0 or days < 1:
        raise ValueError("calls and long_calls must be >= 0, campaigns and days >= 1")
    rng = random.Random(f"call-logs-sim:{seed}")
    return rng, _make_campaigns(rng, campaigns, start)


def _iter_planned(
    rng: random.Random,
    camps: list[SimCampaign],
    calls: int,
    start: datetime,
    days: int,
    long_calls: int,
    id_style: IdStyle,
    currency: str,
) -> Iterator[SimCall]:
    phones = _phone_pool(rng, min(400, max(20, calls // 4)))
    plan = _plan(rng, calls=calls, start=start, days=days, long_calls=long_calls, id_style=id_style)
    campaign_weights = [1.0 + (i % 3) for i in range(len(camps))]
    for i in range(calls - 1, -1, -1):
        campaign = rng.choices(camps, campaign_weights)[0]
        yield _build_call(
            rng,
            call_id=plan.ids[i],
            started=datetime.fromtimestamp(plan.times[i], UTC),
            status=plan.statuses[i],
            campaign=campaign,
            phones=phones,
            currency=currency,
            full_turns=plan.long_turns.get(i),
            injection=i in plan.injection,
        )


def generate_dataset(
    *,
    seed: int = 7,
    calls: int = 2_000,
    campaigns: int = 6,
    start: datetime = DEFAULT_START,
    days: int = 120,
    long_calls: int = 3,
    id_style: IdStyle = "numeric",
    currency: str = "USD",
    end: datetime | None = None,
) -> SimDataset:
    """A deterministic dataset: same arguments, same calls (module docstring for the design).

    `id_style="numeric"` gives Prosper-style ids ("100123"); "callcamp" gives "call_…" ids;
    "uuid" gives UUID 4 ids.
    `end` lays the calls out to end there instead of starting at `start`: every timestamp moves
    by the same whole number of seconds so that the latest moment of any call (a start, an end,
    the running time of a call in progress) is `END_MARGIN` before `end`; ids, texts, statuses and
    numbers are those of the same arguments without `end` (`start` then makes no difference).
    `--demo` passes the current time, so "yesterday" has calls. `iter_calls` has no `end`.
    Raises ValueError for negative counts or an `end` without a time zone.
    """
    if end is not None and end.utcoffset() is None:
        raise ValueError("end must be timezone-aware")
    rng, camps = _dataset_start(seed, calls, campaigns, start, days, long_calls)
    generated = list(_iter_planned(rng, camps, calls, start, days, long_calls, id_style, currency))
    generated.reverse()  # stored oldest first
    if end is not None:
        shift = _shift_to_end(generated, end, default=start)
        camps = [replace(c, created_at=c.created_at + shift) for c in camps]
    return SimDataset(
        seed=seed, campaigns=camps, calls=generated, id_style=id_style, currency=currency, rng=rng
    )


def _shift_to_end(calls: list[SimCall], end: datetime, *, default: datetime) -> timedelta:
    """Move every call's timestamps so the latest moment of any call is `END_MARGIN` before `end`
    (whole seconds, so timestamps stay whole seconds); returns the shift applied."""
    latest = max(
        (max(c.updated_at, c.started_at + timedelta(seconds=c.duration_seconds)) for c in calls),
        default=default,
    )
    shift = end.replace(microsecond=0) - END_MARGIN - latest
    for call in calls:
        call.started_at += shift
        call.updated_at += shift
        if call.ended_at is not None:
            call.ended_at += shift
    return shift
