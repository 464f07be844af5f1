"""The redactor's fast path loses nothing: a rule it skips would have found nothing.

`redact._prescan` looks for what each rule needs (an "@", an SSN or date-of-birth cue, a digit, a
number word, a name cue) and `_spans` runs only the rules whose needs are there. Each rule is run
here on its own, without the pre-scan, over the generated corpus of tests/pii_grammar.py (planted
values, look-alikes), simulated transcript turns and mutations of all of them that take away what
a rule needs (digits, "@", case): wherever the pre-scan says "absent", the rule finds nothing.
Some rules run on the lower-cased view instead of using (?i); the fold that makes that exact is
checked over every code point.
"""

from __future__ import annotations

import random
import re
import string
import sys
from collections.abc import Callable, Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from call_logs_mcp.output import redact
from call_logs_mcp.output.redact import DEFAULT_REGIONS, Redactor
from call_logs_mcp.output.sanitize import clean_text
from call_logs_mcp.simulators.generate import iter_calls
from pii_grammar import look_alikes, planted

SEED = 20261201
Rule = Callable[[str, str, "redact._Spans"], None]

# The rules in the order `_spans` runs them, each with the pre-scan flag that lets it run.
RULES: tuple[tuple[str, int, Rule], ...] = (
    ("email", 0, lambda view, lowered, found: redact._email_spans(view, view, found)),
    ("ssn", 1, redact._ssn_spans),
    ("date of birth", 1, redact._dob_spans),
    ("member id", 2, redact._id_spans),
    ("number", 2, lambda view, lowered, found: redact._number_spans(view, DEFAULT_REGIONS, found)),
    ("spoken", 3, lambda view, lowered, found: redact._spoken_spans(view, lowered, DEFAULT_REGIONS, found)),
    ("name", 4, redact._name_spans),
)


def mutations(text: str, rng: random.Random) -> Iterator[str]:
    """`text`, and `text` without what one rule or another needs."""
    yield text
    yield re.sub(r"[0-9\uff10-\uff19\u0660-\u0669]", "", text)  # no digit: spoken and cue rules only
    yield text.replace("@", " at ").replace("\uff20", " at ")
    yield text.upper()
    yield text.lower()
    yield re.sub(r"[A-Za-z]", lambda m: rng.choice((m.group(0).upper(), m.group(0).lower())), text)


def corpus() -> list[str]:
    rng = random.Random(SEED)
    texts: list[str] = []
    for plant in planted(150, SEED):
        texts += [plant.text] if plant.text else list(plant.texts)
    texts += [text for _, text in look_alikes(1200, SEED)]
    for call in iter_calls(seed=SEED, calls=40, long_calls=0):
        texts += [turn.text for turn in call.turns()]
    joined = [f"{rng.choice(texts)} {rng.choice(texts)}" for _ in range(500)]
    return [m for text in texts + joined for m in mutations(text, rng)]


CORPUS = corpus()


def skipped_rules_that_find_something(text: str) -> list[str]:
    view = redact._view(clean_text(text))
    lowered = view.lower()
    flags = redact._prescan(view, lowered)
    wrong = []
    for name, flag, rule in RULES:
        found = redact._Spans()
        rule(view, lowered, found)
        if found.items and not flags[flag]:
            wrong.append(f"{name}: {found.items!r} in {text!r}")
    return wrong


def test_the_corpus_reaches_every_rule_and_every_skip() -> None:
    flags = [redact._prescan(redact._view(t), redact._view(t).lower()) for t in CORPUS]
    assert len(CORPUS) > 10_000
    for index in range(5):
        # Each flag is both set and unset on hundreds of texts: the check below means something.
        assert 300 < sum(f[index] for f in flags) < len(CORPUS) - 300


def test_no_rule_the_pre_scan_skips_would_have_found_anything() -> None:
    wrong = [why for text in CORPUS for why in skipped_rules_that_find_something(text)]
    assert wrong == []


# Text rich in what the rules look at, in any case, with the letters (?i) treats as ASCII ones.
PIECES = st.sampled_from(
    [*string.digits, *" -+().@/_#:,\n", "five", "SIX", "twentyone", "Oh", "double", "hundred", "and", "ssn",
     "Social", "DOB", "born", "birthday", "my name is ", "I'M ", "it's ", "This is ", "Al", "jane", "@ex.com",
     "\u017f", "\u0131", "\u0130", "\u212a", "\uff20", "\uff15"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join))
@example("it's \u017fix one \u017feven, five five five, one two three four")  # raised KeyError
@example("i'my name is Bob")  # a cue inside another
@example("twentyone twentytwo 1234")  # tens and units run together
@example("fifteen sixteen 1234")
def test_on_any_text_no_skipped_rule_finds_anything(text: str) -> None:
    assert skipped_rules_that_find_something(text) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join))
def test_number_words_are_found_in_ascii_text_as_in_any_other(text: str) -> None:
    lowered = redact._view(text).lower()
    found = not redact._NUMBER_WORDS.isdisjoint(redact._LOWER_WORD.findall(lowered))
    assert redact._has_number_word(lowered) == found


def test_a_text_the_pre_scan_rules_out_entirely_comes_back_only_cleaned() -> None:
    ruled_out = [t for t in CORPUS if not any(redact._prescan(redact._view(t), redact._view(t).lower()))]
    assert len(ruled_out) > 100
    assert [Redactor().text(t) for t in ruled_out] == [clean_text(t) for t in ruled_out]


def test_letters_case_insensitive_patterns_take_for_ascii_ones_are_read_as_them() -> None:
    # "ſix" is "six" to a (?i) pattern; folded in the view, it is "six" to every rule.
    shown = Redactor().text("it's \u017fix one \u017feven, five five five, one two three four")
    assert shown == "it's [phone \u20261234]"
    assert Redactor().text("\u0130t's Bob here") == "\u0130t's [name] here"


def test_the_lower_cased_view_lines_up_with_the_view_for_every_code_point() -> None:
    # Rules that run on `view.lower()` without (?i) find what (?i) rules find on the view only if
    # the two have the same length and the same letters at the same places.
    text = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    view = redact._view(text)
    lowered = view.lower()
    assert len(view) == len(lowered) == len(text)
    letters = re.compile(r"[a-z]", re.IGNORECASE)
    assert [m.start() for m in letters.finditer(view)] == [m.start() for m in re.finditer(r"[a-z]", lowered)]
    for m in letters.finditer(view):
        assert re.fullmatch(lowered[m.start()], m.group(0), re.IGNORECASE)


@pytest.mark.parametrize("cue", redact._NAME_CUES)
def test_a_name_after_every_cue_in_any_case_is_found(cue: str) -> None:
    for shown in (cue, cue.upper(), cue.title()):
        assert Redactor().text(f"hello, {shown} Maria Lopez from the clinic").count("[name]") == 1
