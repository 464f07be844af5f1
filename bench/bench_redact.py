"""Cost of redaction on a 24,000-character answer, against a plain pass over the same text.

    python bench/bench_redact.py                 # 24,000 characters, 200 runs per case
    python bench/bench_redact.py --chars 48000 --runs 50

The answer is made of simulated transcript turns (the simulators' generator) with personal data
planted every few turns (phone numbers in several formats, e-mails, a card, spoken digits), about
what a get_call page holds. Cases, each timed `--runs` times, p50/p95 in milliseconds:

- `turns, cold`: `Redactor.turn` over every turn with its neighbours (what get_call and the
  transcript resource do), every cache emptied before each run: a transcript seen for the first time.
- `turns, warm`: the same with the caches kept (a page asked for again).
- `one string, cold`: `Redactor.text` over the whole answer as one string (no cache: > 2,000 chars).
- `hostile, cold`: a string of the same length made of what once switched the phone check off:
  long runs of 2-digit groups ("00 00 00 …", "12 34 56 …") with phone numbers in between.

Baseline, same run: `sanitize.clean_text` + `inert_markdown` + a scan for digits over the same
text, the cheapest pass every string already gets on its way out. Target: `turns, cold` p95 <= 5 ms.
The linear-time check doubles the hostile text twice and prints the cost per 1,000 characters.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import percentile, reproduce

from call_logs_mcp.output import redact
from call_logs_mcp.output.redact import Redactor
from call_logs_mcp.output.sanitize import clean_text, inert_markdown
from call_logs_mcp.simulators.generate import iter_calls

PLANTED = (
    "you can call me back at +1 415 555 0134",
    "my cell is (212) 555-0199, or 212.555.0172",
    "email me at jane.roe@example.org please",
    "the card is 4111 1111 1111 1111",
    "it's four one five, five five five, oh one three eight",
    "Phone:4155550136 x12",
    "+44 20 7946 0958 is the office",
)


def answer_turns(chars: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    turns: list[str] = []
    size = 0
    for call in iter_calls(seed=seed, calls=200, long_calls=0):
        for turn in call.turns():
            text = turn.text
            if rng.random() < 0.15:
                text = f"{text} {rng.choice(PLANTED)}."
            turns.append(text)
            size += len(text) + 1
            if size >= chars:
                return turns
    return turns


def hostile(chars: int, seed: int) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < chars:
        run = " ".join(rng.choice(("00", f"{rng.randint(10, 99)}")) for _ in range(rng.randint(20, 60)))
        piece = f"reference {run} then +1 415 555 {rng.randint(1000, 9999)}, "
        parts.append(piece)
        size += len(piece)
    return "".join(parts)[:chars]


def clear_caches() -> None:
    redact._redact_cached.cache_clear()
    redact._valid_phone.cache_clear()
    redact._joined_spans.cache_clear()
    redact._redact_turn_cached.cache_clear()
    redact._numberish_start.cache_clear()
    redact._numberish_end.cache_clear()


def timed(fn: Callable[[], object], runs: int, *, cold: bool) -> list[float]:
    fn()  # warm-up: imports, compiled patterns, phonenumbers metadata
    times = []
    for _ in range(runs):
        if cold:
            clear_caches()
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


_DIGIT = re.compile(r"\d")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=24_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    redactor = Redactor()
    turns = answer_turns(args.chars, args.seed)
    text = "\n".join(turns)
    bad = hostile(len(text), args.seed)

    def plain() -> None:
        inert_markdown(clean_text(text))
        _DIGIT.findall(text)

    def by_turn() -> None:
        for i, turn in enumerate(turns):
            before = turns[i - 1] if i else None
            after = turns[i + 1] if i + 1 < len(turns) else None
            redactor.turn(turn, before, after)

    cases: list[tuple[str, Callable[[], object], bool]] = [
        ("plain pass (baseline)", plain, False),
        ("turns, cold", by_turn, True),
        ("turns, warm", by_turn, False),
        ("one string, cold", lambda: redactor.text(text), True),
        ("hostile, cold", lambda: redactor.text(bad), True),
    ]
    print(f"answer: {len(text):,} characters in {len(turns)} turns; hostile: {len(bad):,} characters")
    base = None
    print(f"{'case':<24}{'p50 ms':>9}{'p95 ms':>9}{'× baseline p50':>16}")
    for name, fn, cold in cases:
        times = timed(fn, args.runs, cold=cold)
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        base = base or p50
        print(f"{name:<24}{p50:>9.2f}{p95:>9.2f}{p50 / base:>16.1f}")

    print("\nlinear time (hostile text, cold):")
    for factor in (1, 2, 4):
        longer = hostile(len(bad) * factor, args.seed + factor)
        runs = max(5, args.runs // (4 * factor))
        times = timed(lambda longer=longer: redactor.text(longer), runs, cold=True)
        p50 = percentile(times, 0.5)
        per = p50 / len(longer) * 1000
        print(f"  {len(longer):>8,} chars: p50 {p50:8.2f} ms, {per:.3f} ms per 1,000 chars")
    print(f"\nreproduce: {reproduce()}")


if __name__ == "__main__":
    main()
