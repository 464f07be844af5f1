"""A grammar of personal data as people and platforms write it, and of numbers that only look like it.

Every planted value is drawn from formats × separators × countries × surrounding text with a seeded
`random.Random`, so a corpus is deterministic and as big as asked; nothing here knows how the
redactor works. `planted(n, seed)` yields values that must be masked, each with the text it sits
in; `look_alikes(n, seed)` yields texts that hold none (order numbers, dates, times, prices, ZIP
codes, durations, ids, counts) and must come back unchanged.

How a leak is judged is independent of the redactor too: digits (of any script) and number words
left in the output are counted, never the redactor's tags.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

# National formats are recognised for these regions; international formats for any country.
NATIONAL_REGIONS = (
    "US",
    "CA",
    "GB",
    "DE",
    "FR",
    "IN",
    "BR",
    "AU",
    "ES",
    "IT",
    "MX",
    "JP",
    "NL",
    "IE",
    "NZ",
    "ZA",
    "CN",
)
INTERNATIONAL_ONLY = (
    "SE",
    "PL",
    "KR",
    "SG",
    "AR",
    "PH",
    "NG",
    "TR",
    "CH",
    "AE",
    "PT",
    "IL",
    "CO",
    "KE",
    "VN",
)

# Every separator people put between digit groups, typed or pasted from a word processor.
SEPARATORS = (
    " ",
    "-",
    ".",
    "_",
    "  ",
    "/",
    " - ",
    "\u2013",
    "\u2014",
    "\u2011",
    "\u2212",
    "\u2010",
    ". ",
    "\u00a0",
    "\n",  # a number broken over two lines
)

UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = (
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
ORDINALS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
)

# Words that carry digits when left in an output.
NUMBER_WORDS = re.compile(
    r"(?i)\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty"
    r"|ninety|double|triple|hundred)\b"
)


@dataclass(frozen=True)
class Plant:
    """A value planted in `text` (`texts` for one split across turns); `kind` is its class."""

    kind: str
    value: str
    text: str = ""
    texts: tuple[str, ...] = field(default_factory=tuple)


def ascii_digits(s: str) -> str:
    """Every decimal digit in `s`, of any script, as ASCII."""
    return "".join(str(unicodedata.decimal(c)) for c in s if c.isdecimal())


def kept(plant: Plant, outputs: list[str]) -> str | None:
    """Why `outputs` still show the planted value, or None when it is masked."""
    joined = "\n".join(outputs)
    if plant.value in joined:
        return "verbatim"
    if plant.kind == "email":
        local = plant.value.replace("\uff20", "@").replace("\ufe6b", "@").split("@")[0]
        return "local part kept" if local.lower() in joined.lower() else None
    # What the surrounding text holds itself is not the planted value's.
    context = "\n".join(plant.texts) if plant.texts else plant.text.replace(plant.value, " ")
    for part in plant.value.split(" | ") if plant.texts else ():
        context = context.replace(part, " ")
    digits = len(ascii_digits(joined)) - len(ascii_digits(context))
    words = len(NUMBER_WORDS.findall(joined)) - len(NUMBER_WORDS.findall(context))
    allowed = {"ssn": 0, "dob": 0, "asked across turns": 0}.get(plant.kind, 4)
    if digits > allowed:
        return f"{digits} digits kept"
    if words > allowed:
        return f"{words} number words kept"
    months = [m.lower() for m in MONTHS if m.lower() in plant.value.lower()]
    if plant.kind in ("dob", "asked across turns") and any(m in joined.lower() for m in months):
        return "month kept"
    return None


# --------------------------------------------------------------------------------------------------
# Surroundings
# --------------------------------------------------------------------------------------------------

FREE_CONTEXT = (
    "{v}",
    "You can reach me at {v}.",
    "my number is {v} if you need it",
    "Please call {v}, thanks!",
    "Okay so that's {v} and I'm home after six",
    "(alt contact {v})",
    "the customer gave \u201c{v}\u201d as the best number",
    "line one: {v}\nline two: see you",
    "- {v}",
    "[{v}]",
    "Sure! {v}? Yes.",
    "\t{v};",
)
LABEL_CONTEXT = (
    "Phone:{v}",
    "phone: {v}",
    "tel:{v}",
    "callback={v}",
    "callback_number={v}&status=ok",
    "#{v}",
    "Tel.{v}",
    "cell:{v}.",
    "<{v}>",
    "ph#{v}",
    "https://wa.me/{v}",
    '{{"phone":"{v}"}}',
    "sms:{v}",
    "{v}(mobile)",
    "Phone:{v}\u3002",
)
DIGIT_CONTEXT = (
    # A long reference read out right before the number (the cliff), a time, a room number.
    "reference " + "00 " * 25 + "and then {v}",
    "ref " + " ".join(["12", "34", "56", "78", "90"] * 6) + " ok call {v}",
    "reference " + " ".join(["00"] * 25) + " {v}",
    "at 10:30 call {v}",
    "room 12 {v}",
)


def surround(rng: random.Random, value: str, *, labels: bool = True, digits: bool = True) -> str:
    roll = rng.random()
    if digits and roll < 0.12:
        return rng.choice(DIGIT_CONTEXT).format(v=value)
    if labels and roll < 0.45:
        return rng.choice(LABEL_CONTEXT).format(v=value)
    return rng.choice(FREE_CONTEXT).format(v=value)


def arabic_indic(s: str) -> str:
    return "".join(chr(ord(c) - 48 + 0x0660) if c.isdigit() else c for c in s)


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) - 48 + 0xFF10) if c.isdigit() else c for c in s)


# --------------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------------


def random_number(rng: random.Random, region: str, kind: int) -> phonenumbers.PhoneNumber | None:
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        return None
    nsn = phonenumbers.national_significant_number(example)
    wanted = {kind, PhoneNumberType.FIXED_LINE_OR_MOBILE}
    for _ in range(400):
        candidate = nsn[:2] + "".join(rng.choice(string.digits) for _ in range(len(nsn) - 2))
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in wanted:
            return number
    return None


def regroup(rng: random.Random, shown: str) -> str:
    """`shown` with the separators between its digit groups replaced by one drawn separator."""
    sep = rng.choice(SEPARATORS)
    parts = re.findall(r"\+?\d+", shown)
    return sep.join(parts)


def phone_text(rng: random.Random, number: phonenumbers.PhoneNumber, national_ok: bool) -> str:
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    shapes: list[Callable[[], str]] = [
        lambda: e164,
        lambda: intl,
        lambda: regroup(rng, intl),
        lambda: "00" + intl[1:] if number.country_code != 1 else "+1 " + intl[3:],
        lambda: phonenumbers.format_number(number, PhoneNumberFormat.RFC3966).removeprefix("tel:"),
        lambda: re.sub(r"^\+(\d+) ", r"+\1 (0)", intl) if number.country_code in (44, 49, 31, 41) else intl,
    ]
    if national_ok:
        shapes += [
            lambda: national,
            lambda: national,
            lambda: ascii_digits(national),
            lambda: regroup(rng, national),
            lambda: regroup(rng, national),
        ]
    shown = rng.choice(shapes)()
    roll = rng.random()
    if roll < 0.08:
        shown += rng.choice((" x12", " ext. 204", "x7", " extension 3310", " ext 55"))
    elif roll < 0.12:
        shown = fullwidth(shown)
    elif roll < 0.14:
        shown = arabic_indic(shown)
    return shown


def phones(rng: random.Random, n: int) -> Iterator[Plant]:
    made = 0
    while made < n:
        national_ok = rng.random() < 0.7
        region = rng.choice(NATIONAL_REGIONS if national_ok else INTERNATIONAL_ONLY)
        kind = rng.choice((PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE))
        number = random_number(rng, region, kind)
        if number is None:
            continue
        value = phone_text(rng, number, national_ok)
        text = surround(rng, value)
        made += 1
        yield Plant("phone", value, text)


def say_digits(rng: random.Random, digits: str) -> str:
    """`digits` as a caller might say them: digit by digit, in pairs ("fifty-five"), "double",
    "oh" for zero, some groups left as digits; groups joined by commas, full stops, "and", dashes."""
    if len(digits) == 10:
        groups = [digits[:3], digits[3:6], digits[6:]]
    else:
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    spoken: list[str] = []
    numerals_left = rng.random() < 0.25
    for k, group in enumerate(groups):
        if numerals_left and k == 0:
            spoken.append(group)
            continue
        words: list[str] = []
        i = 0
        while i < len(group):
            d = group[i]
            pair = group[i : i + 2]
            roll = rng.random()
            # "forty" + "nine" would be heard as 49: a pair ending in 0 is said digit by digit.
            if len(pair) == 2 and pair[0] != "0" and pair[1] != "0" and roll < 0.3:
                tens, unit = int(pair[0]), int(pair[1])
                if tens == 1:
                    words.append(TEENS[unit])
                else:
                    joiner = rng.choice(("-", " "))
                    words.append(TENS[tens] + (joiner + UNITS[unit] if unit else ""))
                i += 2
                continue
            if len(pair) == 2 and pair[0] == pair[1] and roll < 0.5:
                words.append("double " + UNITS[int(d)])
                i += 2
                continue
            words.append("oh" if d == "0" and rng.random() < 0.5 else UNITS[int(d)])
            i += 1
        spoken.append(rng.choice((" ", " ", ", ", " and ")).join(words))
    joiner = rng.choice((", ", ". ", " ", " - ", " and ", "... "))
    said = joiner.join(spoken)
    return said[0].upper() + said[1:] if rng.random() < 0.3 else said


def spoken_phones(rng: random.Random, n: int) -> Iterator[Plant]:
    made = 0
    while made < n:
        region = rng.choice(("US", "US", "GB", "IN", "AU", "CA"))
        number = random_number(rng, region, rng.choice((PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)))
        if number is None:
            continue
        national = ascii_digits(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
        value = say_digits(rng, national)
        text = surround(rng, value, labels=False, digits=False)
        made += 1
        yield Plant("spoken phone", value, text)


# --------------------------------------------------------------------------------------------------
# Cards
# --------------------------------------------------------------------------------------------------

CARD_BRANDS: tuple[tuple[tuple[str, ...], tuple[int, ...], tuple[tuple[int, ...], ...]], ...] = (
    # (prefixes, lengths, groupings)
    (("4",), (16, 13, 19), ((4, 4, 4, 4), (4, 4, 5), (4, 4, 4, 4, 3))),
    (("51", "52", "53", "54", "55", "2221", "2500", "2720"), (16,), ((4, 4, 4, 4),)),
    (("2200", "2201", "2202", "2203", "2204"), (16,), ((4, 4, 4, 4),)),  # Mir
    (("34", "37"), (15,), ((4, 6, 5),)),
    (("6011", "65", "644"), (16,), ((4, 4, 4, 4),)),
    (("36", "300"), (14,), ((4, 6, 4),)),
    (("3530", "3589"), (16,), ((4, 4, 4, 4),)),
    (("62",), (16, 19), ((4, 4, 4, 4), (4, 4, 4, 4, 3))),
    (("6759", "5018"), (16, 18), ((4, 4, 4, 4), (4, 4, 4, 4, 2))),
)
CARD_CONTEXT = (
    "card {v}",
    "card number:{v}",
    "cc={v}",
    "the card is {v}, expiry next year",
    "{v}",
    "Card #{v}.",
    "pay with ({v})",
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
        if pos >= len(number):
            break
        parts.append(number[pos : pos + size])
        pos += size
    if pos < len(number):
        parts[-1] += number[pos:]
    return sep.join(parts)


def cards(rng: random.Random, n: int) -> Iterator[Plant]:
    for _ in range(n):
        prefixes, lengths, groupings = rng.choice(CARD_BRANDS)
        prefix, length = rng.choice(prefixes), rng.choice(lengths)
        body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
        number = luhn_complete(body)
        sep = rng.choice(("", *SEPARATORS))
        value = grouped(number, rng.choice(groupings), sep) if sep else number
        if rng.random() < 0.08:
            value = say_digits(rng, number)
        yield Plant("card", value, rng.choice(CARD_CONTEXT).format(v=value))


# --------------------------------------------------------------------------------------------------
# E-mail addresses
# --------------------------------------------------------------------------------------------------

FIRST = (
    "maria",
    "john",
    "wei",
    "aisha",
    "lars",
    "chloe",
    "ravi",
    "sofia",
    "kenji",
    "fatima",
    "noah",
    "zoë",
    "josé",
)
LAST = ("gonzalez", "smith", "zhang", "okafor", "nilsson", "dubois", "patel", "rossi", "tanaka", "haddad")
DOMAINS = (
    "example.com",
    "mail.example.co.uk",
    "clinic-north.example.org",
    "posteo.de",
    "uni.example.edu.au",
    "xn--bcher-kva.example",
)
EMAIL_CONTEXT = (
    "{v}",
    "mail {v}.",
    "<{v}>",
    "mailto:{v}",
    "e-mail: {v}, thanks",
    "({v})",
    "email={v}&x=1",
    "\u201c{v}\u201d",
)


def emails(rng: random.Random, n: int) -> Iterator[Plant]:
    shapes: tuple[Callable[[str, str, int], str], ...] = (
        lambda f, s, k: f"{f}.{s}",
        lambda f, s, k: f"{f}{k}",
        lambda f, s, k: f"{f[0]}.{s}+billing",
        lambda f, s, k: f"{f}_{s}{k}",
        lambda f, s, k: f"{s}-{f}",
        lambda f, s, k: f"{f.capitalize()}.{s.capitalize()}",
        lambda f, s, k: f"{f}.{s}.{k}",
    )
    for _ in range(n):
        local = rng.choice(shapes)(rng.choice(FIRST), rng.choice(LAST), rng.randint(1, 9999))
        at = rng.choice(("@", "@", "@", "\uff20", "\ufe6b"))
        value = f"{local}{at}{rng.choice(DOMAINS)}"
        yield Plant("email", value, rng.choice(EMAIL_CONTEXT).format(v=value))


# --------------------------------------------------------------------------------------------------
# SSNs
# --------------------------------------------------------------------------------------------------

SSN_CUES = ("SSN", "ssn", "social", "Social Security number", "social security no.", "SS#", "S.S.N.")
SSN_CONTEXT = (
    "my {cue} is {v}",
    "{cue}: {v}",
    "{cue} {v}, verified",
    "for the record my {cue} is {v}.",
    "Her {cue}? It's {v}",
)
LAST_FOUR_CONTEXT = (
    "the last four of my {cue} are {v}",
    "last 4 of {cue}: {v}",
    "{cue} ending in {v}",
    "my {cue} ends with {v}",
    "last four digits of your {cue}? {v}",
)


def ssn_number(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


def ssns(rng: random.Random, n: int) -> Iterator[Plant]:
    for i in range(n):
        ssn = ssn_number(rng)
        cue = rng.choice(SSN_CUES)
        roll = i % 5
        if roll == 0:  # shaped, no cue needed
            sep = rng.choice(("-", "\u2013", "\u2011", "\u2212"))
            value = f"{ssn[:3]}{sep}{ssn[3:5]}{sep}{ssn[5:]}"
            text = surround(rng, value, labels=False, digits=False)
        elif roll == 1:  # any written form, after a cue
            sep = rng.choice(("", " ", "-", ".", "  ", " - "))
            value = f"{ssn[:3]}{sep}{ssn[3:5]}{sep}{ssn[5:]}"
            text = rng.choice(SSN_CONTEXT).format(cue=cue, v=value)
        elif roll == 2:  # spoken after a cue
            value = say_digits(rng, ssn)
            text = rng.choice(SSN_CONTEXT).format(cue=cue, v=value)
        else:  # the last four, written or spoken
            four = ssn[5:]
            value = four if roll == 3 else " ".join(UNITS[int(d)] for d in four)
            text = rng.choice(LAST_FOUR_CONTEXT).format(cue=cue, v=value)
        yield Plant("ssn", value, text)


# --------------------------------------------------------------------------------------------------
# Dates of birth
# --------------------------------------------------------------------------------------------------

DOB_CONTEXT = (
    "I was born on {v}",
    "born {v}",
    "DOB: {v}",
    "dob {v}",
    "D.O.B. {v}",
    "date of birth is {v}.",
    "Date of birth: {v}",
    "my birthday is {v}",
    "birth date {v}, confirmed",
    "Can you confirm your date of birth? Yes, it's {v}.",
)


def spoken_year(year: int) -> str:
    century, rest = divmod(year, 100)
    if century == 20 and rest < 10:
        return "two thousand" + (f" and {UNITS[rest]}" if rest else "")
    head = "nineteen" if century == 19 else "twenty"
    if rest < 10:
        return f"{head} oh {UNITS[rest]}" if rest else f"{head} hundred"
    if rest < 20:
        return f"{head} {TEENS[rest - 10]}"
    tens, unit = divmod(rest, 10)
    return f"{head} {TENS[tens]}" + (f"-{UNITS[unit]}" if unit else "")


def dob_text(rng: random.Random, day: date) -> str:
    month = MONTHS[day.month - 1]
    nth = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(day.day, "th")
    sep = rng.choice(("/", "-", ".", " / "))
    shapes: tuple[Callable[[], str], ...] = (
        lambda: f"{day.month:02d}{sep}{day.day:02d}{sep}{day.year}",
        lambda: f"{day.day}{sep}{day.month}{sep}{day.year}",
        lambda: f"{day.month}{sep}{day.day}{sep}{day.year % 100:02d}",
        lambda: day.isoformat(),
        lambda: f"{month} {day.day}, {day.year}",
        lambda: f"{day.day} {month} {day.year}",
        lambda: f"the {day.day}{nth} of {month}, {day.year}",
        lambda: f"{month} {day.day}{nth}",
        lambda: f"{month[:3]} {day.day} {day.year}",
        lambda: f"{month} {ORDINALS[day.day - 1] if day.day <= 20 else day.day}, {spoken_year(day.year)}",
        lambda: f"{month} {day.year}",
    )
    return rng.choice(shapes)()


def dobs(rng: random.Random, n: int) -> Iterator[Plant]:
    for _ in range(n):
        day = date(1930, 1, 1) + timedelta(days=rng.randint(0, 365 * 75))
        if rng.random() < 0.08:
            value = str(day.year)
            text = rng.choice(("born in {v}", "I was born in {v}.", "born in the year {v}")).format(v=value)
        else:
            value = dob_text(rng, day)
            text = rng.choice(DOB_CONTEXT).format(v=value)
        yield Plant("dob", value, text)


# --------------------------------------------------------------------------------------------------
# A number split across two adjacent turns
# --------------------------------------------------------------------------------------------------

SPLIT_BEFORE = ("my number is {a}", "it's {a}", "Okay, {a}", "the card is {a}", "{a}")
SPLIT_AFTER = ("{b}", "{b}, got that?", "{b}.", "{b} and that's my cell")


def splits(rng: random.Random, n: int) -> Iterator[Plant]:
    made = 0
    while made < n:
        if rng.random() < 0.2:
            prefix, length = rng.choice((("4", 16), ("51", 16), ("37", 15)))
            body = prefix + "".join(rng.choice(string.digits) for _ in range(length - 1 - len(prefix)))
            number = luhn_complete(body)
            groups = [number[i : i + 4] for i in range(0, len(number), 4)]
        else:
            region = rng.choice(("US", "US", "GB", "DE", "FR", "AU"))
            phone = random_number(rng, region, PhoneNumberType.MOBILE)
            if phone is None:
                continue
            shown = phonenumbers.format_number(
                phone, rng.choice((PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL))
            )
            groups = re.findall(r"\+?\d+", shown)
            if len(groups) < 3:
                continue
        cut = rng.randint(1, len(groups) - 1)
        sep = rng.choice((" ", "-", " "))
        a, b = sep.join(groups[:cut]), sep.join(groups[cut:])
        if rng.random() < 0.25:  # spoken
            a, b = say_digits(rng, ascii_digits(a)), say_digits(rng, ascii_digits(b))
        texts = (rng.choice(SPLIT_BEFORE).format(a=a), rng.choice(SPLIT_AFTER).format(b=b))
        made += 1
        yield Plant("split across turns", f"{a} | {b}", texts=texts)


# --------------------------------------------------------------------------------------------------
# A date of birth or an SSN asked for in one turn and given in the next
# --------------------------------------------------------------------------------------------------

ASK_DOB = (
    "Before we continue, can you confirm your date of birth?",
    "And your DOB, please?",
    "What's your birthday?",
    "I need the patient's date of birth to verify the account.",
    "Could you tell me your birth date",
    "Thanks. Now, when were you born?",
)
ASK_SSN = (
    "Can you confirm the last four of your social?",
    "What are the last four digits of your SSN?",
    "I'll need your Social Security number.",
    "Last four of the social, please.",
    "and the S.S.N. on file?",
)
ANSWERS = (
    "{v}",
    "Sure, it's {v}.",
    "Yes, {v}.",
    "It's {v}, I think",
    "uh, {v}",
    "Okay. {v}",
    "Sure thing, that would be {v}!",
    "Hold on... okay, {v}",
)


def answers(rng: random.Random, n: int) -> Iterator[Plant]:
    for i in range(n):
        if i % 2:
            day = date(1930, 1, 1) + timedelta(days=rng.randint(0, 365 * 75))
            question, value = rng.choice(ASK_DOB), dob_text(rng, day)
        else:
            ssn = ssn_number(rng)
            shapes = (
                ssn[5:],
                " ".join(UNITS[int(d)] for d in ssn[5:]),
                f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}",
                f"{ssn[:3]} {ssn[3:5]} {ssn[5:]}",
                say_digits(rng, ssn),
            )
            question, value = rng.choice(ASK_SSN), rng.choice(shapes)
        yield Plant("asked across turns", value, texts=(question, rng.choice(ANSWERS).format(v=value)))


# --------------------------------------------------------------------------------------------------
# Member, policy and account numbers
# --------------------------------------------------------------------------------------------------

ID_CUES = (
    "member ID",
    "Member Id",
    "member number",
    "policy number",
    "Policy No.",
    "account number",
    "acct #",
    "MRN",
    "medical record number",
    "subscriber ID",
    "group number",
    "insurance ID",
    "ID number",
)
ID_CONTEXT = ("my {cue} is {v}", "{cue}: {v}", "{cue} {v}, thanks", "The {cue} on the card reads {v}.")
ASK_ID = (
    "Can you read me the member ID on your card?",
    "What's your policy number?",
    "And the account number?",
    "I need the subscriber ID, please.",
    "Could you give me the patient's MRN",
)


def member_ids(rng: random.Random, n: int) -> Iterator[Plant]:
    def number(k: int) -> str:
        return "".join(rng.choice(string.digits) for _ in range(k))

    def letters(k: int) -> str:
        return "".join(rng.choice(string.ascii_uppercase) for _ in range(k))

    for i in range(n):
        value = rng.choice(
            (
                lambda: letters(2) + number(8),
                lambda: letters(3) + number(9),
                lambda: number(9),
                lambda: f"{letters(1)}-{number(4)}-{number(5)}",
                lambda: f"{number(6)}-{letters(2)}",
            )
        )()
        if i % 2:
            text = rng.choice(ID_CONTEXT).format(cue=rng.choice(ID_CUES), v=value)
            yield Plant("member id", value, text)
        else:
            yield Plant("member id", value, texts=(rng.choice(ASK_ID), rng.choice(ANSWERS).format(v=value)))


def planted(n_per_class: int, seed: int) -> list[Plant]:
    rng = random.Random(seed)
    return [
        *phones(rng, n_per_class * 2),
        *spoken_phones(rng, n_per_class),
        *cards(rng, n_per_class),
        *emails(rng, n_per_class),
        *ssns(rng, n_per_class),
        *dobs(rng, n_per_class),
        *splits(rng, n_per_class),
        *answers(rng, n_per_class),
        *member_ids(rng, n_per_class),
    ]


# --------------------------------------------------------------------------------------------------
# Look-alikes: numbers that are not personal data
# --------------------------------------------------------------------------------------------------

LOOK_ALIKE_CONTEXT = (
    "{v}",
    "Order {v} shipped today.",
    "the agent said {v}, then hung up",
    "Summary: {v}.",
    "({v})",
    "ref: {v}",
    "\u2022 {v}",
)


def look_alike_values(rng: random.Random) -> dict[str, Callable[[], str]]:
    start = datetime(2019, 1, 1, tzinfo=UTC)

    def moment() -> datetime:
        return start + timedelta(seconds=rng.randint(0, 7 * 365 * 86400))

    def n(lo: int, hi: int) -> int:
        return rng.randint(lo, hi)

    alnum = string.ascii_lowercase + string.digits
    return {
        "order number": lambda: rng.choice(
            (
                f"order_{n(1000, 99_999_999)}",
                f"ORD-{moment():%Y}-{n(1, 99_999_999):08d}",
                f"#{n(1000, 99_999_999)}",
                f"INV{n(10000, 99_999_999)}",
                f"order #{n(1000, 9_999_999)}",
                f"PO-{n(1000, 999_999)}",
                f"A{n(100, 999)}-{n(100, 999)}-{n(1000, 9999)}",
                f"case {n(100000, 9_999_999)}",
                f"ticket {n(10000, 999_999)}",
            )
        ),
        "date": lambda: moment().strftime(
            rng.choice(
                (
                    "%Y-%m-%d",
                    "%d/%m/%Y",
                    "%m/%d/%Y",
                    "%d.%m.%Y",
                    "%B %d, %Y",
                    "%d %B %Y",
                    "%Y/%m/%d",
                    "%m-%d-%Y",
                    "%d-%m-%y",
                    "%Y%m%d",
                    "%A %d %B",
                    "from %Y-%m-%d to %Y-%m-%d",
                )
            )
        ),
        "time": lambda: rng.choice(
            (
                moment().strftime("%Y-%m-%dT%H:%M:%SZ"),
                moment().strftime("%Y-%m-%dT%H:%M:%S.") + f"{n(0, 999):03d}Z",
                moment().isoformat(),
                moment().strftime("%Y-%m-%d %H:%M:%S"),
                moment().strftime("%H:%M"),
                moment().strftime("%I:%M %p"),
                moment().strftime("%d/%m/%Y %H:%M"),
                f"{n(1, 12)} {rng.choice(('am', 'pm'))}",
            )
        ),
        "price": lambda: rng.choice(
            (
                f"${n(1, 250_000_000) / 100:,.2f}",
                f"{n(1, 250_000_000) / 100:.2f} USD",
                f"€{n(1, 250_000_000) / 100:,.2f}",
                f"USD {n(1, 250_000_000) / 100:,.2f}",
                f"£{n(1, 2_500_000)}",
                f"{n(1, 99_999)} EUR",
                f"{n(1, 9_999_999) / 100:.2f}",
                f"¥{n(100, 99_999_999):,}",
            )
        ),
        "zip code": lambda: rng.choice(
            (
                f"{n(10000, 99999)}",
                f"ZIP {n(10000, 99999)}-{n(1000, 9999)}",
                f"San Francisco, CA {n(94000, 94999)}",
                f"{n(10000, 99999)}-{n(1000, 9999)}",
                f"{n(1000, 9999)} AB",
                f"SW{n(1, 20)}A {n(1, 9)}AA",
                f"D-{n(10000, 99999)} Berlin",
            )
        ),
        "duration": lambda: rng.choice(
            (
                f"{n(0, 59)}:{n(0, 59):02d}",
                f"{n(0, 9):02d}:{n(0, 59):02d}:{n(0, 59):02d}",
                f"{n(1, 20000)} seconds",
                f"{n(1, 3000) / 10:.1f} min",
                f"{n(1, 9)}h {n(1, 59)}m",
                f"{n(1, 59)} minutes and {n(1, 59)} seconds",
                f"{rng.choice(TENS[2:])} {rng.choice(UNITS[1:])} minutes",
            )
        ),
        "id": lambda: rng.choice(
            (
                "call_" + "".join(rng.choice(alnum) for _ in range(22)),
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                f"call_{int(moment().timestamp())}",
                f"{int(moment().timestamp() * 1000)}",
                f"{int(moment().timestamp())}",
                f"cmp_{moment():%Y%m%d}_{n(1, 999):03d}",
                f"{rng.getrandbits(64):016x}",
                f"v{n(0, 9)}.{n(0, 30)}.{n(0, 99)}",
                f"{n(1, 255)}.{n(0, 255)}.{n(0, 255)}.{n(0, 255)}",
                f"req-{rng.getrandbits(48):012x}",
            )
        ),
        "count": lambda: rng.choice(
            (
                f"{n(1000, 9_999_999):,} calls",
                f"{n(0, 100)}%",
                f"{n(0, 100)}/100",
                f"{n(1, 5)}.{n(0, 9)}/5 stars",
                f"{n(1900, 2030)}-{n(1900, 2030)}",
                f"{rng.choice(('twenty', 'nineteen'))} {rng.choice(TENS[2:])}-{rng.choice(UNITS[1:])}",
                f"{rng.choice(UNITS[1:])} or {rng.choice(UNITS[1:])} times",
                f"{n(2, 9)} of {n(10, 99)}",
            )
        ),
    }


def look_alikes(n: int, seed: int) -> list[tuple[str, str]]:
    """(class, text) pairs that hold no personal data."""
    rng = random.Random(seed)
    makers = look_alike_values(rng)
    kinds = sorted(makers)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        out.append((kind, rng.choice(LOOK_ALIKE_CONTEXT).format(v=makers[kind]())))
    return out
