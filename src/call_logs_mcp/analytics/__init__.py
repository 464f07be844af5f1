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
  A whole number of 7 or more digits (a phone, account or card number) is an identifier, not a
  quantity: it is counted as text, never averaged. (The output then withholds the values of any
  field whose name or values hold personal data.)
"""

from call_logs_mcp.analytics.facts import (
    DURATION_EDGES,
    FREE_TEXT_TOP,
    LOW_CARDINALITY,
    MAX_FIELDS,
    NOT_ANSWERED,
    NOTABLE_EACH,
    QA_BINS,
    CampaignFacts,
    FieldFacts,
    FieldKind,
    FieldValue,
    NotableCandidate,
    ValueStats,
    extracted_leaves,
    field_value,
    flatten_extracted,
    gather_facts,
    histogram,
    interpolate,
    pick_longest,
    pick_lowest_qa,
    pick_recent,
    qa_scale,
    quantile,
    quantile_ranks,
    top_text_values,
    value_stats,
)
from call_logs_mcp.analytics.summary import (
    CampaignSummary,
    CostStats,
    Coverage,
    DurationBucket,
    DurationStats,
    FieldSummary,
    NotableCall,
    QaBucket,
    QaStats,
    Source,
    Totals,
    field_summary,
    qa_stats,
    summarize,
    summarize_calls,
)

__all__ = [
    "DURATION_EDGES",
    "FREE_TEXT_TOP",
    "LOW_CARDINALITY",
    "MAX_FIELDS",
    "NOTABLE_EACH",
    "NOT_ANSWERED",
    "QA_BINS",
    "CampaignFacts",
    "CampaignSummary",
    "CostStats",
    "Coverage",
    "DurationBucket",
    "DurationStats",
    "FieldFacts",
    "FieldKind",
    "FieldSummary",
    "FieldValue",
    "NotableCall",
    "NotableCandidate",
    "QaBucket",
    "QaStats",
    "Source",
    "Totals",
    "ValueStats",
    "extracted_leaves",
    "field_summary",
    "field_value",
    "flatten_extracted",
    "gather_facts",
    "histogram",
    "interpolate",
    "pick_longest",
    "pick_lowest_qa",
    "pick_recent",
    "qa_scale",
    "qa_stats",
    "quantile",
    "quantile_ranks",
    "summarize",
    "summarize_calls",
    "top_text_values",
    "value_stats",
]
