"""Redaction measured on a generated corpus (tests/pii_grammar.py): at least 2,000 planted values
over formats × separators × countries × surrounding text, and at least 1,000 look-alikes that hold
no personal data. Recall must be at least 99.5% for every class, false positives at most 0.5%.

Each planted value is shown the way the server shows it: as plain text, inside extracted data
(under a key that names nothing), or as two adjacent transcript turns. The rates are printed
(`pytest -s`), so a run doubles as the measurement the README quotes.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

from call_logs_mcp.output.redact import DEFAULT_REGIONS, Redactor
from pii_grammar import NATIONAL_REGIONS, Plant, kept, look_alikes, planted

REDACTOR = Redactor()
SEED = 20261201
PER_CLASS = 300
RECALL_FLOOR = 0.995
FALSE_POSITIVE_CEILING = 0.005


def shown(plant: Plant, rng: random.Random) -> list[str]:
    """The planted text as it leaves the server, in one of the places it can sit."""
    if plant.texts:
        first, second = plant.texts
        return [REDACTOR.turn(first, after=second), REDACTOR.turn(second, before=first)]
    roll = rng.random()
    if roll < 0.7:
        return [REDACTOR.text(plant.text)]
    if roll < 0.85:
        return [json.dumps(REDACTOR.value({"notes": plant.text, "outcome": "callback"}), ensure_ascii=False)]
    return [REDACTOR.turn(plant.text, before="Thanks for calling.", after="Anything else?")]


def table(rows: dict[str, tuple[int, int]], what: str) -> str:
    lines = [f"{'class':<22}{'n':>6}{what:>10}"]
    for kind, (good, total) in sorted(rows.items()):
        lines.append(f"{kind:<22}{total:>6}{good / total:>10.2%}")
    return "\n".join(lines)


def test_the_corpus_is_big_enough_and_covers_every_class() -> None:
    corpus = planted(PER_CLASS, SEED)
    per_kind = Counter(p.kind for p in corpus)
    assert len(corpus) >= 2000
    assert set(per_kind) == {
        "phone",
        "spoken phone",
        "card",
        "email",
        "ssn",
        "dob",
        "split across turns",
        "asked across turns",
        "member id",
    }
    assert min(per_kind.values()) >= PER_CLASS
    assert len(look_alikes(1200, SEED)) >= 1000
    # Deterministic: the same seed gives the same corpus.
    assert [p.text for p in planted(20, 1)] == [p.text for p in planted(20, 1)]


def test_recall_is_at_least_99_5_percent_for_every_class() -> None:
    rng = random.Random(SEED)
    results: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[str] = []
    for plant in planted(PER_CLASS, SEED):
        outputs = shown(plant, rng)
        why = kept(plant, outputs)
        results[plant.kind][1] += 1
        if why is None:
            results[plant.kind][0] += 1
        else:
            misses.append(f"{plant.kind}: {plant.text or plant.texts!r} ({why}) -> {outputs!r}")
    rows = {kind: (good, total) for kind, (good, total) in results.items()}
    print("\nrecall\n" + table(rows, "recall"))
    print("\n".join(misses))
    low = {kind: good / total for kind, (good, total) in rows.items() if good / total < RECALL_FLOOR}
    assert low == {}, misses


def test_look_alikes_come_back_unchanged_at_least_99_5_percent_of_the_time() -> None:
    results: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    altered: list[str] = []
    for kind, text in look_alikes(1200, SEED):
        out = REDACTOR.text(text)
        results[kind][1] += 1
        if out == text:
            results[kind][0] += 1
        else:
            altered.append(f"{kind}: {text!r} -> {out!r}")
    rows = {kind: (total - good, total) for kind, (good, total) in results.items()}
    print("\nfalse positives\n" + table(rows, "altered"))
    print("\n".join(altered))
    total = sum(t for _, t in rows.values())
    assert len(altered) / total <= FALSE_POSITIVE_CEILING, altered


# Questions for anything but a date of birth or an SSN: what follows them is not read as an answer.
OTHER_QUESTIONS = (
    "When is your appointment?",
    "What's the order number?",
    "How much was the charge?",
    "What time works best for you?",
    "Which branch did you visit, and when?",
    "Can you confirm the last four of your card?",
)


def test_look_alikes_answering_other_questions_come_back_unchanged() -> None:
    """The answer rule (a value asked for in the turn before) reads only answers to a question
    for a date of birth or an SSN: dates, times, prices and numbers answering any other
    question are not personal data."""
    rng = random.Random(SEED)
    pairs = [(rng.choice(OTHER_QUESTIONS), text) for _, text in look_alikes(1200, SEED)]
    altered = [(q, a, out) for q, a in pairs if (out := REDACTOR.turn(a, before=q)) != REDACTOR.text(a)]
    assert not altered, altered[:5]


def test_the_readme_names_every_region_whose_national_numbers_are_measured() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    security = readme.split("## Security", 1)[1].split("\n## ", 1)[0]
    listed = security.split(", national numbers of ", 1)[1].split("(", 1)[0]
    named = set(re.findall(r"\b[A-Z]{2}\b", listed))
    assert named == set(NATIONAL_REGIONS) == set(DEFAULT_REGIONS) | {"CA"}
