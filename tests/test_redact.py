"""PII redaction: recall on a planted corpus, false positives on look-alikes, totality, idempotence.

The corpora are generated here from a fixed seed: every planted value is known, together with the
sentence and field it sits in, so recall is computed, never copied from output.
"""

from __future__ import annotations

import json
import random
import re
import string
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from call_logs_mcp.output.redact import Redactor

REDACTOR = Redactor()
COUNTRIES = ("US", "GB", "DE", "FR", "IN", "BR", "AU", "ES", "IT", "MX", "JP", "NL")

# Sentences hold no digits, so every digit left in an output is a digit the redactor kept.
SENTENCES = (
    "You can reach me at {v}.",
    "my number is {v} if you need it",
    "Callback: {v}",
    "Please call {v}, thanks!",
    "the customer gave {v} as the best number to use",
    "{v}",
    "Okay so that's {v} and I'm home after six",
    "(alt contact {v})",
)
# Fields a planted sentence can sit in; none of their keys names a phone number.
FIELDS = (
    lambda s: s,
    lambda s: {"summary": s},
    lambda s: {"extracted_data": {"notes": s, "outcome": "callback"}},
    lambda s: {"qa": {"comments": [s, "polite agent"]}},
    lambda s: [{"speaker": "customer", "text": s}],
)


@dataclass(frozen=True)
class Planted:
    kind: str
    value: str
    container: Any


def digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def place(rng: random.Random, kind: str, value: str) -> Planted:
    sentence = rng.choice(SENTENCES).format(v=value)
    return Planted(kind, value, rng.choice(FIELDS)(sentence))


# --- phones -----------------------------------------------------------------------------------


def random_valid_number(rng: random.Random, region: str, kind: int) -> phonenumbers.PhoneNumber:
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    nsn = phonenumbers.national_significant_number(example)
    wanted = {kind, PhoneNumberType.FIXED_LINE_OR_MOBILE}
    for _ in range(5000):
        candidate = nsn[:2] + "".join(rng.choice(string.digits) for _ in range(len(nsn) - 2))
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in wanted:
            return number
    raise AssertionError(f"no valid {region} number near the example")


def phone_formats(number: phonenumbers.PhoneNumber) -> list[str]:
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    return [
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        international,
        national,
        digits(national),  # what speech-to-text usually writes
        re.sub(r"[ ()]+", "-", national).strip("-"),  # dashed groups
        "00" + international[1:] if number.country_code != 1 else "+1." + ".".join(international.split()[1:]),
    ]


def phone_corpus(rng: random.Random) -> Iterator[Planted]:
    for region in COUNTRIES:
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            for _ in range(2):
                for shown in phone_formats(random_valid_number(rng, region, kind)):
                    yield place(rng, "phone", shown)
    # Spaced digit groups the way agents read numbers back.
    for _ in range(12):
        number = random_valid_number(rng, "US", PhoneNumberType.FIXED_LINE)
        nsn = phonenumbers.national_significant_number(number)
        yield place(rng, "phone", " ".join([nsn[:3], nsn[3:6], nsn[6:8], nsn[8:]]))


SPOKEN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def spoken_corpus(rng: random.Random) -> Iterator[Planted]:
    for i in range(20):
        number = random_valid_number(rng, "US", PhoneNumberType.FIXED_LINE)
        words = [SPOKEN[int(d)] for d in phonenumbers.national_significant_number(number)]
        if i % 3 == 0:
            words = ["oh" if w == "zero" else w for w in words]
        text = " ".join(words[:3]) + ", " + " ".join(words[3:6]) + ", " + " ".join(words[6:])
        yield place(rng, "spoken", text)


# --- e-mails ----------------------------------------------------------------------------------

FIRST = ("maria", "john", "wei", "aisha", "lars", "chloe", "ravi", "sofia", "kenji", "fatima", "noah", "emma")
LAST = ("gonzalez", "smith", "zhang", "okafor", "nilsson", "dubois", "patel", "rossi", "tanaka", "haddad")
DOMAINS = ("example.com", "mail.example.co.uk", "clinic-north.example.org", "posteo.de", "uni.example.edu.au")


def email_corpus(rng: random.Random) -> Iterator[Planted]:
    shapes = (
        lambda f, s, n: f"{f}.{s}",
        lambda f, s, n: f"{f}{n}",
        lambda f, s, n: f"{f[0]}.{s}+billing",
        lambda f, s, n: f"{f}_{s}{n}",
        lambda f, s, n: f"{s}-{f}",
        lambda f, s, n: f"{f.capitalize()}.{s.capitalize()}",
    )
    for i in range(60):
        local = shapes[i % len(shapes)](rng.choice(FIRST), rng.choice(LAST), rng.randint(10, 99))
        yield place(rng, "email", f"{local}@{rng.choice(DOMAINS)}")


# --- cards ------------------------------------------------------------------------------------

CARD_BRANDS = (  # (prefix, length, grouping)
    ("4", 16, (4, 4, 4, 4)),
    ("4", 13, (4, 4, 5)),
    ("4", 19, (4, 4, 4, 4, 3)),
    ("51", 16, (4, 4, 4, 4)),
    ("55", 16, (4, 4, 4, 4)),
    ("2221", 16, (4, 4, 4, 4)),
    ("2720", 16, (4, 4, 4, 4)),
    ("34", 15, (4, 6, 5)),
    ("37", 15, (4, 6, 5)),
    ("6011", 16, (4, 4, 4, 4)),
    ("65", 16, (4, 4, 4, 4)),
    ("36", 14, (4, 6, 4)),
    ("3530", 16, (4, 4, 4, 4)),
    ("62", 19, (4, 4, 4, 4, 3)),
    ("6759", 18, (4, 4, 4, 4, 2)),
)


def luhn_complete(body: str) -> str:
    for check in string.digits:
        total = 0
        for position, char in enumerate(reversed(body + check)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return body + check
    raise AssertionError("unreachable")


def grouped(number: str, groups: tuple[int, ...], sep: str) -> str:
    parts, pos = [], 0
    for size in groups:
        parts.append(number[pos : pos + size])
        pos += size
    return sep.join(parts)


def card_corpus(rng: random.Random) -> Iterator[Planted]:
    for prefix, length, groups in CARD_BRANDS:
        for sep in ("", " ", "-", " "):
            body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
            yield place(rng, "card", grouped(luhn_complete(body), groups, sep))


# --- SSNs -------------------------------------------------------------------------------------


def ssn_corpus(rng: random.Random) -> Iterator[Planted]:
    for i in range(36):
        area = rng.choice([a for a in range(1, 900) if a != 666])
        ssn = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        shown = (f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}", f"{ssn[:3]} {ssn[3:5]} {ssn[5:]}", ssn)[i % 3]
        if i % 3 == 2:
            lead = rng.choice(("SSN", "my social is", "Social Security Number:", "ssn is"))
            yield Planted("ssn", shown, {"summary": f"{lead} {shown}, verified"})
        else:
            yield place(rng, "ssn", shown)


def pii_corpus() -> list[Planted]:
    rng = random.Random(20260420)
    return [
        *phone_corpus(rng),
        *spoken_corpus(rng),
        *email_corpus(rng),
        *card_corpus(rng),
        *ssn_corpus(rng),
    ]


def leaked(item: Planted, output: str) -> str | None:
    """Why `output` still exposes `item`, or None."""
    if item.value in output:
        return "value verbatim"
    if item.kind == "email":
        local = item.value.split("@")[0]
        return "local part" if local in output else None
    kept = digits(output)
    return f"{len(kept)} digits kept" if len(kept) > 4 else None


def test_the_planted_corpus_is_big_and_covers_every_class() -> None:
    corpus = pii_corpus()
    per_kind = defaultdict(int)
    for item in corpus:
        per_kind[item.kind] += 1
    assert len(corpus) >= 300
    assert min(per_kind.values()) >= 20
    assert set(per_kind) == {"phone", "spoken", "email", "card", "ssn"}


def test_recall_is_at_least_99_percent_for_every_pii_class() -> None:
    hits: dict[str, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    misses: list[str] = []
    for item in pii_corpus():
        output = json.dumps(REDACTOR.value(item.container), ensure_ascii=False)
        totals[item.kind] += 1
        why = leaked(item, output)
        if why is None:
            hits[item.kind] += 1
        else:
            misses.append(f"{item.kind}: {item.value!r} ({why}) -> {output}")
    print("\n".join(misses))
    recall = {kind: hits[kind] / totals[kind] for kind in totals}
    assert all(r >= 0.99 for r in recall.values()), (recall, misses)


def test_a_masked_phone_keeps_only_its_last_four_digits() -> None:
    assert REDACTOR.text("call +1 415 555 0134 today") == "call [phone …0134] today"
    assert REDACTOR.text("Festnetz 030 1234 5678") == "Festnetz [phone …5678]"


def test_an_email_keeps_its_domain_only() -> None:
    assert REDACTOR.text("write to jane.doe@example.com.") == "write to [email …@example.com]."


def test_cards_and_ssns_become_tags() -> None:
    card = luhn_complete("411111111111111")
    assert REDACTOR.text(f"card {grouped(card, (4, 4, 4, 4), ' ')} ok") == "card [card] ok"
    assert REDACTOR.text("SSN 123-45-6789.") == "SSN [ssn]."


def test_a_luhn_invalid_sixteen_digit_number_is_not_a_card() -> None:
    card = luhn_complete("411111111111111")
    broken = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert "[card]" not in REDACTOR.text(f"ref {broken}")


def test_a_digit_run_with_a_room_number_in_front_still_loses_the_phone_number() -> None:
    assert REDACTOR.text("room 12 415 555 0134") == "room 12 [phone …0134]"


def test_names_are_masked_after_an_introduction_best_effort() -> None:
    out = REDACTOR.text("Hi, this is Sarah from the clinic. My name is John Smith. It's Monday.")
    assert out == "Hi, this is [name] from the clinic. My name is [name]. It's Monday."


# --- fields -----------------------------------------------------------------------------------


def test_phone_fields_are_always_masked_even_when_unparseable() -> None:
    for raw in ("+14155550134", "415-555-0134", "0134", "ext 99", "+1 (415) 555-0134 x12"):
        masked = REDACTOR.phone(raw)
        assert masked.startswith("…")
        assert len(digits(masked)) <= min(4, len(digits(raw)) - 1) or len(digits(raw)) <= 1


def test_value_masks_phone_keys_and_redacts_every_string_and_key() -> None:
    data = {
        "to_number": "+14155550134",
        "customerPhone": 4155550134,
        "order_number": "order_12345",
        "jane.doe@example.com": ["call 415 555 0134", 3, None, True],
        "nested": ({"callerId": "+442079460018"},),
    }
    assert REDACTOR.value(data) == {
        "to_number": "…0134",
        "customerPhone": "…0134",
        "order_number": "order_12345",
        "[email …@example.com]": ["call [phone …0134]", 3, None, True],
        "nested": ({"callerId": "…0018"},),
    }


def test_value_masks_identifiers_under_member_policy_and_account_keys() -> None:
    data = {
        "member_id": "AB12345678",
        "memberId": 123456789,
        "policy_number": ["W-2201-88413", "see AB12345678 and XY98765432"],
        "insuranceID": "plan gold, id 7788990011",
        "mrn": 1234,  # under 5 digits: not an identifier
        "patient_name": "Jane",
        "account_type": "premium",
        "order_id": "123456",  # an order is not a person's
    }
    assert REDACTOR.value(data) == {
        "member_id": "[id]",
        "memberId": "[id]",
        "policy_number": ["[id]", "see [id] and [id]"],
        "insuranceID": "plan gold, id [id]",
        "mrn": 1234,
        "patient_name": "Jane",
        "account_type": "premium",
        "order_id": "123456",
    }


def test_a_disabled_redactor_returns_everything_unchanged() -> None:
    off = Redactor(enabled=False)
    data = {"to_number": "+14155550134", "text": "mail jane@example.com\u200b"}
    assert off.value(data) is data
    assert off.text(data["text"]) == data["text"]
    assert off.phone("+14155550134") == "+14155550134"


def test_zero_width_characters_cannot_hide_a_phone_number() -> None:
    assert REDACTOR.text("call 415\u200b555\u200b0134") == "call [phone …0134]"


def test_a_tag_never_forms_a_markdown_link_or_image_with_its_neighbours() -> None:
    out = REDACTOR.text("see!4155550134 or 415 555 0134(x) or 4155550134[y]")
    assert out == "see! [phone …0134] or [phone …0134] (x) or [phone …0134] [y]"


# --- false positives --------------------------------------------------------------------------


def false_positive_corpus() -> list[str]:
    rng = random.Random(7)
    alnum = string.ascii_lowercase + string.digits
    start = datetime(2025, 1, 1, tzinfo=UTC)
    corpus: list[str] = []
    for _ in range(25):
        corpus.append("call_" + "".join(rng.choice(alnum) for _ in range(22)))
        corpus.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    for _ in range(30):
        moment = start + timedelta(seconds=rng.randint(0, 500 * 86400))
        corpus.append(
            rng.choice(
                (
                    moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randint(0, 999):03d}Z",
                    moment.isoformat(),
                    moment.strftime("%Y-%m-%d %H:%M:%S"),
                    moment.strftime("%Y-%m-%d %H:%M UTC"),
                )
            )
        )
        corpus.append(
            rng.choice(
                (
                    moment.strftime("%Y-%m-%d"),
                    moment.strftime("%d/%m/%Y"),
                    moment.strftime("%m/%d/%Y"),
                    moment.strftime("%d.%m.%Y"),
                    moment.strftime("%B %d, %Y"),
                    f"from {moment:%Y-%m-%d} to {moment + timedelta(days=7):%Y-%m-%d}",
                )
            )
        )
    for _ in range(25):
        amount = rng.randint(1, 250_000_000) / 100
        corpus.append(
            rng.choice(
                (
                    f"${amount:,.2f}",
                    f"{amount:.2f} USD",
                    f"€{amount:,.2f}",
                    f"USD {amount:,.2f}",
                    f"£{amount:.0f}",
                )
            )
        )
        seconds = rng.randint(1, 20_000)
        corpus.append(
            rng.choice(
                (
                    f"{seconds // 60}:{seconds % 60:02d}",
                    f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}",
                    f"{seconds} seconds",
                    f"{seconds / 60:.1f} min",
                )
            )
        )
    for _ in range(20):
        n = rng.randint(1000, 99_999_999)
        corpus.append(
            rng.choice((f"order_{n}", f"ORD-2026-{n:08d}", f"#{n}", f"INV{n}", f"order #{n}", f"PO-{n}"))
        )
        corpus.append(
            rng.choice(
                (f"{rng.random():.2f}", f"{rng.randint(0, 100)}/100", f"QA score {rng.randint(0, 100)}%")
            )
        )
    corpus += [
        "12345",
        "San Francisco, CA 94103-1234",
        "ZIP 10001-0001",
        "v2.3.1",
        "10.0.12.254",
        "1,234,567 calls",
        "12,345,678 minutes",
        "2024-2026",
        "campaign cmp_20260420_001",
        "https://api.example.com/v1/calls/call_9z8y7x6w5v4u3t2s1r0q?page=2&limit=100",
        "Call call_9z8y7x6w5v4u3t2s1r0q on 2026-04-20T15:00:00Z cost $0.45 and lasted 3:00.",
        "Agent scored 87/100 on 2026-04-20 (QA v3); cost 12.50 USD over 185 seconds.",
        "Order order_12345 shipped 20/04/2026, ETA 3-5 days, total €1,234.56.",
        "Duration 01:05:33, 4.5/5 stars, 1713625200",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ]
    return corpus


def test_ids_timestamps_prices_and_scores_are_almost_never_altered() -> None:
    corpus = false_positive_corpus()
    altered = [(s, REDACTOR.text(s)) for s in corpus if REDACTOR.text(s) != s]
    print("\n".join(f"{s!r} -> {out!r}" for s, out in altered))
    assert len(corpus) >= 200
    assert len(altered) / len(corpus) <= 0.01, altered


# --- properties -------------------------------------------------------------------------------

# Pieces of text rich in what the detectors look at, plus hostile code points.
PII_ALPHABET = st.sampled_from(
    list(string.digits * 4 + " -+().@/_#$:,")
    + list("abcdeSN")
    + ["\u200b", "\u202e", "\U000e0041", "\ud800", "\udc00", "\n", "five ", "double ", "my name is Al", "!["]
)
TEXT = st.one_of(st.text(), st.lists(PII_ALPHABET, max_size=60).map("".join))
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["text", "phone", "to_number", "notes", "n"]), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_redaction_never_raises_and_is_idempotent(text: str) -> None:
    once = REDACTOR.text(text)
    assert REDACTOR.text(once) == once


@settings(max_examples=150, deadline=None)
@given(JSONISH)
def test_value_redaction_is_idempotent(data: Any) -> None:
    once = REDACTOR.value(data)
    assert REDACTOR.value(once) == once


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_a_phone_field_keeps_at_most_four_digits(text: str) -> None:
    masked = REDACTOR.phone(text)
    if digits(text):
        assert len(digits(masked)) <= 4
        assert REDACTOR.phone(masked) == masked


@pytest.mark.parametrize("region", COUNTRIES)
def test_every_listed_country_has_national_numbers_recognised(region: str) -> None:
    number = random_valid_number(random.Random(region), region, PhoneNumberType.MOBILE)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    assert len(digits(REDACTOR.text(f"mobile: {national}"))) <= 4


@pytest.mark.parametrize("groups", [10, 25, 100, 400, 2000])
def test_no_amount_of_digits_read_out_first_switches_phone_redaction_off(groups: int) -> None:
    rng = random.Random(groups)
    reference = " ".join(
        rng.choice(("00", f"{rng.randint(0, 99):02d}", str(rng.randint(0, 9)))) for _ in range(groups)
    )
    for phone in ("+1 415 555 0134", "(212) 555-0199", "+44 20 7946 0958"):
        out = REDACTOR.text(f"my reference is {reference} and you can call {phone} after six")
        assert digits(phone) not in digits(out.split("and you can call", 1)[1]), out[-80:]


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT, TEXT)
@example("", "\x1f", "0")  # a turn of whitespace that str.strip() does not remove
@example("0", "\x1f", "")
@example("", "3000000\x1f", "0")  # a control character (removed) hid the digit at the end
def test_a_turn_redacted_with_its_neighbours_never_raises_and_is_idempotent(
    before: str, text: str, after: str
) -> None:
    once = REDACTOR.turn(text, before, after)
    assert REDACTOR.turn(once, before, after) == once
