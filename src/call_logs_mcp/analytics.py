"""Campaign analytics: pure functions over calls.

Two steps. First the *facts* of a set of calls are gathered into `CampaignFacts` (counts, sorted
duration and QA statistics, per-field aggregates, candidate notable calls): `gather_facts(calls)`
does it in Python over `Call` objects, and the index computes the very same facts with SQL over
100,000 calls in a fraction of the time (tests hold the two equal). Then `summarize(facts, ...)`
turns facts into the `CampaignSummary` the tools render: rates, percentiles, the QA distribution,
extracted-data fields by type, and the coverage statement.

Definitions (also in the field descriptions, so the model reading the output sees them):
- final calls are those no longer in progress: the base of every rate.
- connect rate = calls a person answered / final calls, where a person answered when the customer
  spoke (at least one customer turn) and the call did not end in voicemail; voicemail rate =
  voicemail / final calls; completion rate = completed / final calls.
- a value the platform did not report for a call (ended reason, duration, cost, QA score) is not
  counted under a made-up label: breakdowns count reported values only, and each statistic says
  over how many calls it is computed (`ended_reason_unreported`, `calls_with_duration`, ...).
- median and p90 interpolate linearly between closest ranks (the median is the usual median).
- extracted data is flattened (`a.b` for nested objects, up to 3 levels); booleans report a true
  rate, numbers mean/min/max, strings their values when there are at most 12 distinct ones (else
  they are reported as free text with a distinct count), lists only how many calls had one.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from call_logs_mcp.models import Call, CallStatus, PlatformTotals, call_uri

TEXT_VALUE_CHARS = 120
MAX_FIELD_DEPTH = 3
MAX_KEY_CHARS = 100
LOW_CARDINALITY = 12
FREE_TEXT_TOP = 5
NOTABLE_EACH = 3
MAX_FIELDS = 50
QA_BINS = 10
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


def flatten_extracted(data: Mapping[str, Any]) -> list[FieldValue]:
    """Extracted data as one value per (dotted) key, in the form both the index and
    `gather_facts` aggregate. Nulls, empty strings and non-finite numbers carry no value."""
    out: list[FieldValue] = []

    def walk(obj: Mapping[str, Any], prefix: str, depth: int) -> None:
        for raw_key, value in obj.items():
            key = f"{prefix}{raw_key}"[:MAX_KEY_CHARS]
            if isinstance(value, bool):
                out.append(FieldValue(key, FieldKind.BOOLEAN, num=1.0 if value else 0.0))
            elif isinstance(value, int | float):
                number = float(value)
                if math.isfinite(number):
                    out.append(FieldValue(key, FieldKind.NUMBER, num=number))
            elif isinstance(value, str):
                text = value.strip()[:TEXT_VALUE_CHARS]
                if text:
                    out.append(FieldValue(key, FieldKind.TEXT, text=text))
            elif isinstance(value, Mapping) and depth < MAX_FIELD_DEPTH:
                walk(value, f"{key}.", depth + 1)
            elif isinstance(value, list | tuple | Mapping):
                out.append(FieldValue(key, FieldKind.LIST))

    walk(data, "", 1)
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


def value_stats(values: Iterable[float], *, bins: bool = False, presorted: bool = False) -> ValueStats:
    """Count, exact total, min, max, median, p90 and (for QA) the counts per bin."""
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
    facts.durations = value_stats(durations)
    facts.qa_scores = value_stats(scores, bins=True)
    facts.cost_by_currency = costs
    facts.per_day = dict(days)
    facts.fields = list(fields.values())
    facts.longest = pick_longest(longest)
    facts.lowest_qa = pick_lowest_qa(lowest)
    facts.recent_failed = pick_recent(failed)
    return facts


# --- output ---------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Source = Literal["index", "platform"]


class Totals(_Out):
    """Headline totals. `*_source` says whether a figure is the platform's exact total for
    the scope or computed from the calls in the local index."""

    calls: int
    calls_source: Source
    duration_seconds: float | None = Field(
        description="null when no call has a duration (from the index: over duration.calls_with_duration)"
    )
    duration_source: Source
    cost: float | None = Field(
        description="null when no call has a cost or costs are in several currencies (see cost.by_currency)"
    )
    currency: str | None
    cost_source: Source


class DurationStats(_Out):
    calls_with_duration: int
    total_seconds: float
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None = Field(
        description="90th percentile, linear interpolation between closest ranks"
    )
    max_seconds: float | None


class CostStats(_Out):
    calls_with_cost: int
    total: float | None = Field(description="null when no call is priced or prices are in several currencies")
    currency: str | None
    by_currency: dict[str, float] = Field(description='totals per currency ("" = currency not reported)')


class QaBucket(_Out):
    low: float
    high: float
    calls: int


class QaStats(_Out):
    scored_calls: int
    mean: float | None
    min: float | None
    max: float | None
    scale_max: float | None = Field(description="assumed top of the QA scale (1, 5, 10 or 100)")
    distribution: list[QaBucket]


class FieldSummary(_Out):
    name: str
    kind: Literal["boolean", "number", "text", "list"]
    calls: int = Field(description="calls whose extracted data has a value of this kind")
    true_count: int | None = None
    true_rate: float | None = None
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    distinct_values: int | None = None
    values: dict[str, int] | None = Field(
        default=None, description="value counts, most frequent first (top repeated ones for free text)"
    )
    free_text: bool = False


class NotableCall(_Out):
    provider: str
    call_id: str
    uri: str
    why: Literal["longest", "lowest_qa", "failed"]
    value: float | None = None
    started_at: datetime | None = None


class Coverage(_Out):
    indexed_calls: int
    calls_with_transcript: int
    platform_calls: int | None = Field(description="calls the platform reports for this scope, if it does")
    last_synced_at: datetime | None
    complete: bool | None = Field(description="the index holds every call the platform reports")
    note: str


class CampaignSummary(_Out):
    provider: str
    campaign_id: str | None
    campaign_name: str | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None
    totals: Totals
    by_status: dict[str, int]
    platform_by_status: dict[str, int] | None = None
    by_ended_reason: dict[str, int] = Field(
        description="calls per ended reason the platform reported (those without: ended_reason_unreported)"
    )
    ended_reason_unreported: int = Field(description="calls for which the platform reported no ended reason")
    final_calls: int = Field(description="indexed calls no longer in progress: the base of every rate")
    answered_calls: int = Field(
        description="final calls a person answered: the customer spoke (a customer turn), not voicemail"
    )
    connect_rate: float | None = Field(
        description="answered_calls / final_calls: a person answered (voicemail is not a connect)"
    )
    voicemail_rate: float | None = Field(description="calls that ended in voicemail / final_calls")
    completion_rate: float | None = Field(description="completed / final_calls")
    duration: DurationStats
    cost: CostStats
    qa: QaStats
    extracted_fields: list[FieldSummary]
    calls_per_day: dict[str, int]
    first_call_at: datetime | None
    last_call_at: datetime | None
    notable_calls: list[NotableCall]
    coverage: Coverage


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def qa_stats(scores: ValueStats) -> QaStats:
    if not scores.count or scores.max is None:
        return QaStats(scored_calls=0, mean=None, min=None, max=None, scale_max=None, distribution=[])
    scale = qa_scale(scores.max)
    width = scale / QA_BINS
    buckets = [
        QaBucket(low=round(i * width, 6), high=round((i + 1) * width, 6), calls=count)
        for i, count in enumerate(scores.bins)
    ]
    return QaStats(
        scored_calls=scores.count,
        mean=_round(scores.total / scores.count),
        min=scores.min,
        max=scores.max,
        scale_max=scale,
        distribution=buckets,
    )


def field_summary(facts: FieldFacts) -> FieldSummary:
    base: dict[str, Any] = {"name": facts.key, "kind": facts.kind.label, "calls": facts.calls}
    if facts.kind is FieldKind.BOOLEAN:
        base["true_count"] = facts.true_count
        base["true_rate"] = _round(facts.true_count / facts.calls) if facts.calls else None
    elif facts.kind is FieldKind.NUMBER:
        base["mean"] = _round(facts.num_sum / facts.calls) if facts.calls else None
        base["min"] = facts.num_min
        base["max"] = facts.num_max
    elif facts.kind is FieldKind.TEXT:
        base["distinct_values"] = facts.distinct
        if facts.distinct <= LOW_CARDINALITY:
            base["values"] = dict(facts.top[:LOW_CARDINALITY])
        else:
            base["free_text"] = True
            repeated = [(value, count) for value, count in facts.top if count >= 2]
            base["values"] = dict(repeated[:FREE_TEXT_TOP])
    return FieldSummary(**base)


def _calls(count: int) -> str:
    return f"{count:,} call{'' if count == 1 else 's'}"


def _coverage(facts: CampaignFacts, platform_calls: int | None, last_synced_at: datetime | None) -> Coverage:
    complete = None if platform_calls is None else facts.calls >= platform_calls
    if not facts.calls:
        # Nothing was computed: say so rather than "computed from 0 calls".
        if platform_calls is None:
            note = "No calls in the local index for this scope; the platform reports no total."
        elif not platform_calls:
            note = "The platform reports no calls for this scope."
        else:
            note = (
                f"None of the {_calls(platform_calls)} the platform reports is in the local index yet; "
                "run a sync to cover them."
            )
    elif platform_calls is None:
        note = f"Computed from {_calls(facts.calls)} in the local index; the platform reports no total."
    elif complete:
        note = f"Computed from {'all ' if facts.calls > 1 else ''}{_calls(facts.calls)} the platform reports."
    else:
        note = (
            f"Computed from {facts.calls:,} of the {_calls(platform_calls)} the platform reports; "
            "run a sync to cover the rest."
        )
    if last_synced_at is None:
        note += " This scope has not been synced; figures cover calls indexed by other syncs."
    return Coverage(
        indexed_calls=facts.calls,
        calls_with_transcript=facts.calls_with_transcript,
        platform_calls=platform_calls,
        last_synced_at=last_synced_at,
        complete=complete,
        note=note,
    )


def summarize(
    facts: CampaignFacts,
    *,
    provider: str,
    campaign_id: str | None,
    campaign_name: str | None = None,
    from_date: datetime | None = None,
    to_date: datetime | None = None,
    platform: PlatformTotals | None = None,
    platform_by_status: Mapping[str, int] | None = None,
    last_synced_at: datetime | None = None,
) -> CampaignSummary:
    """The summary of `facts`. `platform` totals, when given, must be for exactly this scope;
    they become the headline totals (marked `platform`)."""
    final = facts.calls - facts.by_status.get(CallStatus.IN_PROGRESS.value, 0)
    completed = facts.by_status.get(CallStatus.COMPLETED.value, 0)
    voicemail = facts.by_status.get(CallStatus.VOICEMAIL.value, 0)
    durations = facts.durations
    # No call with a duration is no measured total (not 0 seconds).
    duration_total = durations.total if durations.count else None
    currencies = {k: round(v, 6) for k, v in sorted(facts.cost_by_currency.items())}
    single_currency = next(iter(currencies)) if len(currencies) == 1 else None
    cost_total = currencies[single_currency] if single_currency is not None else None

    platform_calls = platform.calls if platform else None
    totals = Totals(
        calls=platform_calls if platform_calls is not None else facts.calls,
        calls_source="platform" if platform_calls is not None else "index",
        duration_seconds=(
            platform.duration_seconds
            if platform and platform.duration_seconds is not None
            else _round(duration_total)
        ),
        duration_source="platform" if platform and platform.duration_seconds is not None else "index",
        cost=platform.cost if platform and platform.cost is not None else cost_total,
        currency=(platform.currency if platform and platform.cost is not None else single_currency) or None,
        cost_source="platform" if platform and platform.cost is not None else "index",
    )
    notable = [
        *(("longest", c) for c in facts.longest),
        *(("lowest_qa", c) for c in facts.lowest_qa),
        *(("failed", c) for c in facts.recent_failed),
    ]
    return CampaignSummary(
        provider=provider,
        campaign_id=campaign_id,
        campaign_name=campaign_name,
        from_date=from_date,
        to_date=to_date,
        totals=totals,
        by_status=dict(sorted(facts.by_status.items(), key=lambda kv: (-kv[1], kv[0]))),
        platform_by_status=dict(platform_by_status) if platform_by_status else None,
        by_ended_reason=dict(sorted(facts.by_ended_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        ended_reason_unreported=facts.ended_reason_unreported,
        final_calls=final,
        answered_calls=facts.answered,
        connect_rate=_round(facts.answered / final) if final else None,
        voicemail_rate=_round(voicemail / final) if final else None,
        completion_rate=_round(completed / final) if final else None,
        duration=DurationStats(
            calls_with_duration=durations.count,
            total_seconds=round(durations.total, 3),
            mean_seconds=_round(durations.total / durations.count) if durations.count else None,
            median_seconds=_round(durations.median),
            p90_seconds=_round(durations.p90),
            max_seconds=durations.max,
        ),
        cost=CostStats(
            calls_with_cost=facts.calls_with_cost,
            total=cost_total,
            currency=single_currency or None,
            by_currency=currencies,
        ),
        qa=qa_stats(facts.qa_scores),
        extracted_fields=[
            field_summary(f)
            for f in sorted(facts.fields, key=lambda f: (-f.calls, f.key, f.kind))[:MAX_FIELDS]
        ],
        calls_per_day=dict(sorted(facts.per_day.items())),
        first_call_at=facts.first_call_at,
        last_call_at=facts.last_call_at,
        notable_calls=[
            NotableCall(
                provider=provider,
                call_id=c.call_id,
                uri=call_uri(provider, c.call_id),
                why=why,  # type: ignore[arg-type]
                value=c.value,
                started_at=c.started_at,
            )
            for why, c in notable
        ],
        coverage=_coverage(facts, platform_calls, last_synced_at),
    )


def summarize_calls(
    calls: Iterable[Call], *, provider: str, campaign_id: str | None, **context: Any
) -> CampaignSummary:
    """`summarize(gather_facts(calls), ...)`: the whole summary of a list of calls."""
    return summarize(gather_facts(calls), provider=provider, campaign_id=campaign_id, **context)
