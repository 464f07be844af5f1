"""The facts of a set of calls (`CampaignFacts`): counts, sorted duration and QA statistics,
per-field aggregates and candidate notable calls, gathered in Python by `gather_facts`. The index
computes the very same facts with SQL (`index.summary_sql`); the package docstring defines them.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Literal

from call_logs_mcp.models import Call, CallStatus

TEXT_VALUE_CHARS = 120
MAX_FIELD_DEPTH = 3
MAX_KEY_CHARS = 100
LOW_CARDINALITY = 12
FREE_TEXT_TOP = 5
NOTABLE_EACH = 3
MAX_FIELDS = 50
QA_BINS = 10
# Upper edges (seconds, exclusive) of the duration histogram's buckets; the last bucket is open.
DURATION_EDGES = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# Statuses in which a call does not count as answered by a person, whoever spoke.
NOT_ANSWERED = frozenset({CallStatus.IN_PROGRESS, CallStatus.VOICEMAIL})


class FieldKind(IntEnum):
    """How an extracted-data value is aggregated (stored as an integer in the index)."""

    BOOLEAN = 1
    NUMBER = 2
    TEXT = 3
    LIST = 4

    @property
    def label(self) -> Literal["boolean", "number", "text", "list"]:
        labels: dict[int, Literal["boolean", "number", "text", "list"]] = {
            1: "boolean",
            2: "number",
            3: "text",
            4: "list",
        }
        return labels[int(self)]


@dataclass(frozen=True)
class FieldValue:
    key: str
    kind: FieldKind
    num: float | None = None
    text: str | None = None


# A whole number this big is an identifier (phone, account, card number), not a quantity.
IDENTIFIER_MIN = 1_000_000


def _identifier(value: int | float) -> bool:
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return False
    return abs(value) >= IDENTIFIER_MIN


def extracted_leaves(data: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """Extracted data walked as the index flattens it: (dotted key, the last raw key, value) for
    every value that is not walked further. Mappings nested up to MAX_FIELD_DEPTH levels are
    walked, their keys joined with "." and cut to MAX_KEY_CHARS; deeper mappings, lists and
    scalars (None included) are leaves."""

    def walk(obj: Mapping[str, Any], prefix: str, depth: int) -> Iterator[tuple[str, str, Any]]:
        for raw_key, value in obj.items():
            key = f"{prefix}{raw_key}"[:MAX_KEY_CHARS]
            if isinstance(value, Mapping) and depth < MAX_FIELD_DEPTH:
                yield from walk(value, f"{key}.", depth + 1)
            else:
                yield key, raw_key, value

    return walk(data, "", 1)


def field_value(key: str, value: Any) -> FieldValue | None:
    """A leaf of `extracted_leaves` as the index aggregates it; None when it carries no value
    (null, a blank string, a non-finite number)."""
    if isinstance(value, bool):
        return FieldValue(key, FieldKind.BOOLEAN, num=1.0 if value else 0.0)
    if isinstance(value, int | float):
        if _identifier(value):  # an identifier, aggregated (and redacted) as text
            return FieldValue(key, FieldKind.TEXT, text=str(int(value))[:TEXT_VALUE_CHARS])
        number = float(value)
        return FieldValue(key, FieldKind.NUMBER, num=number) if math.isfinite(number) else None
    if isinstance(value, str):
        text = value.strip()[:TEXT_VALUE_CHARS]
        return FieldValue(key, FieldKind.TEXT, text=text) if text else None
    if isinstance(value, list | tuple | Mapping):
        return FieldValue(key, FieldKind.LIST)
    return None


def flatten_extracted(data: Mapping[str, Any]) -> list[FieldValue]:
    """Extracted data as one value per (dotted) key, in the form both the index and
    `gather_facts` aggregate. Nulls, empty strings and non-finite numbers carry no value."""
    out = [v for key, _, value in extracted_leaves(data) if (v := field_value(key, value)) is not None]
    # A key repeated by flattening ("a.b" next to {"a": {"b": ...}}) counts once, first wins.
    seen: set[tuple[str, FieldKind]] = set()
    unique: list[FieldValue] = []
    for value in out:
        if (value.key, value.kind) not in seen:
            seen.add((value.key, value.kind))
            unique.append(value)
    return unique


# --- facts ----------------------------------------------------------------------------------


@dataclass
class FieldFacts:
    key: str
    kind: FieldKind
    calls: int = 0
    true_count: int = 0
    num_sum: float = 0.0
    num_min: float | None = None
    num_max: float | None = None
    distinct: int = 0
    # Text values, most frequent first (ties by value), at most LOW_CARDINALITY + 1 of them.
    top: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class ValueStats:
    """What a summary needs of a set of numbers (durations, QA scores)."""

    count: int = 0
    total: float = 0.0
    min: float | None = None
    max: float | None = None
    median: float | None = None
    p90: float | None = None
    # Counts per QA_BINS equal bins over [0, qa_scale(max)] (QA scores only).
    bins: list[int] = field(default_factory=list)
    # Counts per bucket of DURATION_EDGES, len(DURATION_EDGES) + 1 of them (durations only).
    histogram: list[int] = field(default_factory=list)


def interpolate(low_value: float, high_value: float, q: float, count: int) -> float:
    """The q-quantile from the two order statistics around it (see `quantile`)."""
    position = q * (count - 1)
    fraction = position - math.floor(position)
    return low_value + (high_value - low_value) * fraction


def quantile_ranks(q: float, count: int) -> tuple[int, int]:
    """0-based ranks of the order statistics the q-quantile interpolates between."""
    low = math.floor(q * (count - 1))
    return low, min(low + 1, count - 1)


def quantile(sorted_values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (q=0.5 is the usual median)."""
    if not sorted_values:
        return None
    low, high = quantile_ranks(q, len(sorted_values))
    return interpolate(sorted_values[low], sorted_values[high], q, len(sorted_values))


def histogram(sorted_values: list[float], edges: Sequence[float]) -> list[int]:
    """Counts per bucket [edge[i-1], edge[i]) of ascending `edges`, the last bucket open."""
    cuts = [0, *(bisect.bisect_left(sorted_values, edge) for edge in edges), len(sorted_values)]
    return [cuts[i + 1] - cuts[i] for i in range(len(edges) + 1)]


def value_stats(
    values: Iterable[float],
    *,
    bins: bool = False,
    edges: Sequence[float] = (),
    presorted: bool = False,
) -> ValueStats:
    """Count, total, min, max, median, p90, (for QA) the counts per bin and (given `edges`) the
    histogram. The total is exact, rounded once (`math.fsum`), as the index computes it from its
    counts of each value, so both paths agree to the last bit."""
    ordered = values if presorted and isinstance(values, list) else sorted(values)
    if not ordered:
        return ValueStats()
    counts: list[int] = []
    if bins:
        width = qa_scale(ordered[-1]) / QA_BINS

        def bin_of(value: float) -> int:
            return min(QA_BINS - 1, max(0, int(value / width)))

        # bin_of is monotone over the sorted values: each bin is a slice found by bisection.
        edges = [bisect.bisect_left(ordered, i, key=bin_of) for i in range(QA_BINS)] + [len(ordered)]
        counts = [edges[i + 1] - edges[i] for i in range(QA_BINS)]
    return ValueStats(
        count=len(ordered),
        total=math.fsum(ordered),
        min=ordered[0],
        max=ordered[-1],
        median=quantile(ordered, 0.5),
        p90=quantile(ordered, 0.9),
        bins=counts,
        histogram=histogram(ordered, edges) if edges else [],
    )


def qa_scale(max_score: float) -> float:
    for scale in (1.0, 5.0, 10.0, 100.0):
        if max_score <= scale:
            return scale
    return max_score


@dataclass(frozen=True)
class NotableCandidate:
    call_id: str
    value: float | None
    started_at: datetime | None


@dataclass
class CampaignFacts:
    """What a summary is computed from. Build with `gather_facts` or the index."""

    calls: int = 0
    calls_with_transcript: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_ended_reason: dict[str, int] = field(default_factory=dict)  # reported reasons only
    ended_reason_unreported: int = 0
    # Final calls, not voicemail, with at least one customer turn: a person answered.
    answered: int = 0
    durations: ValueStats = field(default_factory=lambda: ValueStats())
    qa_scores: ValueStats = field(default_factory=lambda: ValueStats())
    cost_by_currency: dict[str, float] = field(default_factory=dict)  # "" = currency unknown
    calls_with_cost: int = 0
    per_day: dict[str, int] = field(default_factory=dict)
    failed_per_day: dict[str, int] = field(default_factory=dict)  # failed calls by start day
    first_call_at: datetime | None = None
    last_call_at: datetime | None = None
    fields: list[FieldFacts] = field(default_factory=list)
    longest: list[NotableCandidate] = field(default_factory=list)
    lowest_qa: list[NotableCandidate] = field(default_factory=list)
    recent_failed: list[NotableCandidate] = field(default_factory=list)


def top_text_values(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Most frequent first, ties by value; at most LOW_CARDINALITY + 1 (enough to tell
    'low cardinality' from 'free text')."""
    return heapq.nsmallest(LOW_CARDINALITY + 1, counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _started_key(candidate: NotableCandidate) -> tuple[float, str]:
    started = candidate.started_at.timestamp() if candidate.started_at else -math.inf
    return (started, candidate.call_id)


def pick_longest(candidates: Iterable[NotableCandidate]) -> list[NotableCandidate]:
    with_value = [c for c in candidates if c.value is not None]
    return heapq.nsmallest(NOTABLE_EACH, with_value, key=lambda c: (-(c.value or 0.0), c.call_id))


def pick_lowest_qa(candidates: Iterable[NotableCandidate]) -> list[NotableCandidate]:
    with_value = [c for c in candidates if c.value is not None]
    return heapq.nsmallest(NOTABLE_EACH, with_value, key=lambda c: (c.value or 0.0, c.call_id))


def pick_recent(candidates: Iterable[NotableCandidate]) -> list[NotableCandidate]:
    return heapq.nlargest(NOTABLE_EACH, candidates, key=_started_key)


def gather_facts(calls: Iterable[Call]) -> CampaignFacts:
    """The facts of `calls`, in Python. Equivalent to what the index computes with SQL."""
    facts = CampaignFacts()
    status: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    days: Counter[str] = Counter()
    failed_days: Counter[str] = Counter()
    costs: dict[str, float] = {}
    fields: dict[tuple[str, FieldKind], FieldFacts] = {}
    texts: dict[tuple[str, FieldKind], Counter[str]] = {}
    longest: list[NotableCandidate] = []
    lowest: list[NotableCandidate] = []
    failed: list[NotableCandidate] = []
    durations: list[float] = []
    scores: list[float] = []
    for call in calls:
        facts.calls += 1
        if call.transcript:
            facts.calls_with_transcript += 1
        status[call.status.value] += 1
        if call.ended_reason:
            reasons[call.ended_reason] += 1
        else:
            facts.ended_reason_unreported += 1
        if call.status not in NOT_ANSWERED and any(t.speaker == "customer" for t in call.transcript):
            facts.answered += 1
        if call.duration_seconds is not None:
            durations.append(call.duration_seconds)
            longest.append(NotableCandidate(call.call_id, call.duration_seconds, call.started_at))
        if call.qa_score is not None:
            scores.append(call.qa_score)
            lowest.append(NotableCandidate(call.call_id, call.qa_score, call.started_at))
        if call.cost is not None:
            facts.calls_with_cost += 1
            currency = call.currency or ""
            costs[currency] = costs.get(currency, 0.0) + call.cost
        if call.status is CallStatus.FAILED:
            failed.append(NotableCandidate(call.call_id, None, call.started_at))
        if call.started_at is not None:
            days[call.started_at.date().isoformat()] += 1
            if call.status is CallStatus.FAILED:
                failed_days[call.started_at.date().isoformat()] += 1
            if facts.first_call_at is None or call.started_at < facts.first_call_at:
                facts.first_call_at = call.started_at
            if facts.last_call_at is None or call.started_at > facts.last_call_at:
                facts.last_call_at = call.started_at
        for value in flatten_extracted(call.extracted_data):
            slot = fields.get((value.key, value.kind))
            if slot is None:
                slot = fields[(value.key, value.kind)] = FieldFacts(value.key, value.kind)
            slot.calls += 1
            if value.kind is FieldKind.BOOLEAN:
                slot.true_count += 1 if value.num else 0
            elif value.kind is FieldKind.NUMBER and value.num is not None:
                slot.num_sum += value.num
                slot.num_min = value.num if slot.num_min is None else min(slot.num_min, value.num)
                slot.num_max = value.num if slot.num_max is None else max(slot.num_max, value.num)
            elif value.kind is FieldKind.TEXT and value.text is not None:
                texts.setdefault((value.key, value.kind), Counter())[value.text] += 1
    for slot_key, counter in texts.items():
        fields[slot_key].distinct = len(counter)
        fields[slot_key].top = top_text_values(counter)
    facts.by_status = dict(status)
    facts.by_ended_reason = dict(reasons)
    facts.durations = value_stats(durations, edges=DURATION_EDGES)
    facts.qa_scores = value_stats(scores, bins=True)
    facts.cost_by_currency = costs
    facts.per_day = dict(days)
    facts.failed_per_day = dict(failed_days)
    facts.fields = list(fields.values())
    facts.longest = pick_longest(longest)
    facts.lowest_qa = pick_lowest_qa(lowest)
    facts.recent_failed = pick_recent(failed)
    return facts
