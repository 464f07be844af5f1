"""Words a model reads literally: counts agree with their nouns, and amounts carry their currency
or say that the platform gave none."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from call_logs_mcp.output.text import fmt_count, fmt_money


@given(st.integers(min_value=0, max_value=10**9))
def test_a_count_agrees_with_its_noun(count: int) -> None:
    shown = fmt_count(count, "call")
    assert shown.endswith(" call") == (count == 1)
    assert shown.endswith(" calls") == (count != 1)
    assert shown.split(" ")[0].replace(",", "") == str(count)


def test_irregular_plurals_are_given_not_guessed() -> None:
    assert fmt_count(1, "matching turn") == "1 matching turn"
    assert fmt_count(3, "reply", "replies") == "3 replies"


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_an_amount_without_a_currency_never_reads_as_a_bare_number(amount: float) -> None:
    shown = fmt_money(amount, None)
    assert shown is not None and shown.endswith("(currency not reported)")
    assert fmt_money(amount, "USD") == f"{amount:.2f} USD"
    assert fmt_money(None, "USD") is None
