"""PII redaction on the way out: phone numbers, cards, SSNs, dates of birth, e-mail addresses, some names.

`Redactor(enabled=True)` is applied by `output` to every string that leaves the server; the index
keeps what the platform returned. The README's Security section lists what is and is not masked;
`tests/test_redact_corpus.py` measures it on a generated corpus. In short:

- E-mail addresses (``@`` or full-width ``＠``): the local part goes, the domain stays ->
  ``[email …@example.com]``.
- Digit runs: digits joined by spaces (one or two), dashes of any kind (``-`` ``‐`` ``‑`` ``–`` ``—``
  ``−`` ...), dots, slashes, underscores or parentheses, optionally after ``+`` / ``(``. Every
  window of whole groups of a run is tried, longest first, left to right, at most 19 digits long
  (so a run costs time in proportion to its length: there is no per-string budget, and a long
  reference number in front of a phone number cannot hide it). A window is:
  a card (13-19 digits, Luhn-valid, prefix and length of a known brand, Mir's 2200-2204 included)
  -> ``[card]``; an SSN (``123-45-6789``, valid area/group/serial, one separator kind) -> ``[ssn]``;
  a phone number valid for `phonenumbers` (international ``+CC`` / ``00CC`` numbers of any country,
  national numbers of `DEFAULT_REGIONS`) -> ``[phone …0134]`` (last 4 digits kept, 2 for numbers
  shorter than 9 digits), an extension (``x12``, ``ext. 12``) included.
  A run glued to a label (``tel:+1…``, ``Phone:4155…``, ``callback=…``, ``#…``, ``id_…``) is a phone
  number only when it is a complete one (10+ digits or ``+``); runs after a currency sign, with a
  decimal tail (``1234567.89``) or a time (``10:30``), and windows holding a date with a 4-digit
  year, an IPv4 address or a ZIP+4 code are not phone numbers. A bare national landline without
  its trunk prefix is not one either (``1713625200`` is a Unix time far more often).
- Spoken numbers: 7 or more digits said as words, mixed with digits or not, at least 2 of them words
  ("five five five, one two three four", "four fifteen, five fifty-five, oh one thirty-eight",
  "double seven", "eight hundred", joined by commas, full stops or "and") -> ``[phone …1234]``
  when the digits make a valid phone number, ``[card]`` for a card, else ``[number]`` (no digit kept).
- SSNs by context: 9 digits (written or spoken) within 60 characters after "SSN" / "social
  (security number)", and 4 digits there when "last four" / "ending in" is said -> ``[ssn]``.
- Dates of birth introduced as such ("born", "DOB", "date of birth", "birthday"): numeric dates,
  month-name dates with or without the year, spoken years, and "born in 1985" -> ``[date of birth]``.
- Names, best effort only: a capitalised name after "my name is", "name's", "call me", or after
  "this is" / "I'm" / "I am" / "it's" when followed by a cue ("from", "calling", "speaking",
  "here", "with", a comma or the end of the sentence) -> ``[name]``. Other names are NOT caught.

`Redactor.turn` also masks a number split across two adjacent transcript turns, in both turns.
`Redactor.value` walks JSON-ish data: keys and values are redacted like text (numbers too: an int
that is a phone or card number becomes its tag), and whole values under phone-like keys are masked
with `Redactor.phone`.

Not redacted: street addresses, health details, spelled-out e-mails ("jane at example dot com"),
other dates, national formats of countries outside `DEFAULT_REGIONS`, e-mail domains.

Every function here is total (never raises on any ``str``) and idempotent; the time it takes grows
linearly with the input. Detection runs on a view of the text with the same length (full-width
and other-script digits, dashes and ``＠`` folded to ASCII, and the letters ``ſ`` ``ı`` ``İ`` that
case-insensitive matching takes for ``s`` and ``i``), so only the masked spans change.
Replacement tags are kept from forming markdown links with their neighbours. Results for strings up
to 2,000 characters are cached (LRU), so re-showing a transcript is cheap.

The fast path: one pre-scan (`_prescan`) says which rules can find anything (an "@", a digit, a
number word, an SSN or date-of-birth cue, a name cue before a capital letter); most turns hold
none and cost a few scans. `tests/test_redact_fast_path.py` shows that a skipped rule would have
found nothing; `bench/bench_redact.py` measures the cost.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar, cast

from call_logs_mcp.output.sanitize import clean_text
from call_logs_mcp.output.text import ELLIPSIS

__all__ = ["DEFAULT_REGIONS", "Redactor"]

T = TypeVar("T")

# Regions whose national formats are recognised (international "+CC" numbers are found for every
# country; "US" covers all of NANP, Canada included).
DEFAULT_REGIONS: tuple[str, ...] = (
    "US", "GB", "DE", "FR", "IN", "BR", "AU", "ES", "IT", "MX", "JP", "NL", "IE", "NZ", "ZA", "CN",
)  # fmt: skip

_MIN_PHONE_DIGITS = 7
_MAX_PHONE_DIGITS = 17
_MAX_WINDOW_DIGITS = 19  # the longest card number
_MAX_GROUPS = 6
# Regions where national numbers are customarily written without the trunk prefix.
_PREFIX_OMITTED = frozenset({"US", "CA", "BR"})
# Regions where mobile numbers are customarily written without it.
_MOBILE_PREFIX_OMITTED = frozenset({"IN", "MX", "CN"})

Span = tuple[int, int, str]

# --------------------------------------------------------------------------------------------------
# The view: same length as the text, look-alike characters folded to ASCII
# --------------------------------------------------------------------------------------------------

_FOLD = {
    **{ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d"},
    **{ord(c): "@" for c in "\uff20\ufe6b"},
    ord("\uff0b"): "+",
    ord("\uff08"): "(",
    ord("\uff09"): ")",
    ord("\uff0e"): ".",
    ord("\uff0f"): "/",
    ord("\uff3f"): "_",
    ord("\uff1a"): ":",
    ord("\uff03"): "#",
    ord("\uff1d"): "=",
    # Letters that case-insensitive patterns take for ASCII ones ("ſix" for "six") while lower()
    # does not; "İ" is also the one character whose lower case is two characters long. Folded, the
    # lower-cased view has the view's length and plain patterns on it match what (?i) ones would.
    ord("\u0130"): "I",
    ord("\u0131"): "i",
    ord("\u017f"): "s",
}
_UNICODE_DIGIT = re.compile(r"[^\x00-\x7f]")


def _fold_char(match: re.Match[str]) -> str:
    char = match.group(0)
    if char.isdecimal():
        return str(unicodedata.decimal(char, 0))
    return char


def _view(s: str) -> str:
    """`s` with look-alike characters folded to ASCII, one character for one character."""
    if s.isascii():
        return s
    return _UNICODE_DIGIT.sub(_fold_char, s.translate(_FOLD))


# --------------------------------------------------------------------------------------------------
# Spans and tags
# --------------------------------------------------------------------------------------------------

_DIGIT = re.compile(r"[0-9]")


def _digits(s: str) -> str:
    return "".join(_DIGIT.findall(s))


def _tail(digits: str) -> str:
    """The digits a mask keeps: the last 4 of a long number, the last 2 of a short one."""
    keep = 4 if len(digits) >= 9 else 2
    return digits[-keep:] if len(digits) > keep else ""


def _phone_tag(digits: str) -> str:
    return f"[phone {ELLIPSIS}{_tail(digits)}]"


def _place(text: str, start: int, end: int, tag: str) -> str:
    """`tag` as it should replace text[start:end]: spaced so it cannot form a markdown link/image."""
    before = " " if start > 0 and text[start - 1] == "!" else ""
    after = " " if end < len(text) and text[end] in "([:" else ""
    return f"{before}{tag}{after}"


class _Spans:
    """Accepted (start, end, tag) spans that never overlap; the first one found wins."""

    def __init__(self) -> None:
        self.items: list[Span] = []

    def free(self, start: int, end: int) -> bool:
        return not any(s < end and start < e for s, e, _ in self.items)

    def add(self, start: int, end: int, tag: str) -> bool:
        if end <= start or not self.free(start, end):
            return False
        self.items.append((start, end, tag))
        return True


def _rebuild(text: str, spans: list[Span]) -> str:
    """`text` with each (start, end, tag) span replaced; overlapping later spans are skipped."""
    out: list[str] = []
    pos = 0
    for start, end, tag in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(_place(text, start, end, tag))
        pos = end
    out.append(text[pos:])
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+=?^`{|}~-])"
    r"[\w!#$%&'*+=?^`{|}~-]+(?:\.[\w!#$%&'*+=?^`{|}~-]+)*"
    # The top-level domain ends at the first character that is not a letter: an address glued to
    # what follows ("…@example.com81", "…@example.comc4mp") is still an address.
    r"@((?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24})(?![^\W\d_])"
)


def _email_spans(text: str, view: str, found: _Spans) -> None:
    for match in _EMAIL.finditer(view):
        domain = text[match.start(1) : match.end(1)]
        found.add(match.start(), match.end(), f"[email {ELLIPSIS}@{domain}]")


# --------------------------------------------------------------------------------------------------
# Cards and SSNs (shapes)
# --------------------------------------------------------------------------------------------------

# (brand, prefix pattern, allowed lengths)
_CARD_BRANDS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("visa", r"4", frozenset({13, 16, 19})),
    ("mastercard", r"5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720", frozenset({16})),
    ("mir", r"220[0-4]", frozenset({16, 17, 18, 19})),
    ("amex", r"3[47]", frozenset({15})),
    ("discover", r"6011|64[4-9]|65|622", frozenset({16, 17, 18, 19})),
    ("diners", r"30[0-5]|3095|36|3[89]", frozenset({14, 15, 16, 17, 18, 19})),
    ("jcb", r"35(?:2[89]|[3-8]\d)", frozenset({16, 17, 18, 19})),
    ("unionpay", r"62|81", frozenset({16, 17, 18, 19})),
    ("maestro", r"50|5[6-9]|6\d", frozenset({13, 14, 15, 16, 17, 18, 19})),
)
_CARD_PREFIXES = tuple((re.compile(prefix), lengths) for _, prefix, lengths in _CARD_BRANDS)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
        return False
    return any(pattern.match(digits) and len(digits) in lengths for pattern, lengths in _CARD_PREFIXES)


_SSN_SHAPED = re.compile(r"(?!000|666|9\d\d)\d{3}( {1,2}|[-./])(?!00)\d{2}\1(?!0000)\d{4}")
_SSN_DIGITS = re.compile(r"(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4}")

# --------------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------------

# A run: digit groups joined by 1-3 separator characters, maybe after "+" or "(".
# (Starting with a digit lets the regex engine skip to digits fast; a leading "+" or "(" is added
# by `_number_spans`.)
_RUN = re.compile(r"[0-9]+(?:[ \-./_()]{1,3}[0-9]+|[ ]?\n[ ]?[0-9]+)*\)?")
_GROUP = re.compile(r"[0-9]+")
_NOT_DIGITS = str.maketrans("", "", " -./_()\n+")  # all a window holds but its digits
_EXTENSION = re.compile(r"(?i) ?(?:x|ext\.?|extension|#) ?[0-9]{1,6}(?![0-9])")
_TIME_AFTER = re.compile(r":[0-9]")
_CURRENCY = frozenset("$€£¥₹¢")
_LABEL_GLUE = frozenset("#:=./\\|@&~^*%+")
# Windows that are something else (one alternation, tried with `fullmatch`).
_NOT_A_PHONE = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"
    r"|[0-9]{4} ?[-/] ?[0-9]{4}"  # 2024-2026, 2024 / 2025
    r"|[0-9]{5}-[0-9]{4}"  # US ZIP+4
    r"|[0-9]+[.,][0-9]{1,2}"  # 1234567.89
)
# A date with a 4-digit year anywhere in a window: 2026-04-20, 20/04/2026, 04.20.2026.
_DAY_OR_MONTH = r"(?:0?[1-9]|[12][0-9]|3[01])"
_DATE_INSIDE = re.compile(
    rf"(?<![0-9])(?:(?:19|20)[0-9]{{2}}([-./])(?:0?[1-9]|1[0-2])\1{_DAY_OR_MONTH}"
    rf"|{_DAY_OR_MONTH}([-./]){_DAY_OR_MONTH}\2(?:19|20)[0-9]{{2}})(?![0-9])"
)
# Ungrouped Unix times in seconds (2014-2033) or milliseconds: ids and timestamps far more often
# than the Brazilian landlines they also are.
_UNIX_TIME = re.compile(r"1[4-9][0-9]{8}(?:[0-9]{3})?")
# The same, or a short date: 20/04/26, 04-20-26.
_NOT_A_PHONE_OR_DATE = re.compile(rf"{_NOT_A_PHONE.pattern}|[0-3]?[0-9]([-./])[0-3]?[0-9]\1[0-9]{{2}}")


@lru_cache(maxsize=64)
def _region_meta(region: str) -> tuple[str, frozenset[int], re.Pattern[str] | None]:
    """(national prefix, possible lengths of a national significant number, the pattern every
    national significant number of the region matches) of a region: a cheap first check."""
    from phonenumbers import PhoneMetadata

    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.general_desc is None:
        return "", frozenset(), None
    pattern = meta.general_desc.national_number_pattern
    return (
        meta.national_prefix or "",
        frozenset(meta.general_desc.possible_length or ()),
        re.compile(pattern) if pattern else None,
    )


@lru_cache(maxsize=8192)
def _valid_phone(digits: str, international: bool, regions: tuple[str, ...]) -> bool:
    """Whether `digits` is one valid phone number: international (after "+" or "00"), or a
    national number of one of `regions`."""
    # Imported here, not at module level: its metadata costs start-up time the first answer
    # (initialize) does not need.
    import phonenumbers
    from phonenumbers import PhoneNumberType

    try:
        if international or (digits.startswith("00") and not digits.startswith("000")):
            rest = digits[2:] if not international and digits.startswith("00") else digits
            return phonenumbers.is_valid_number(phonenumbers.parse("+" + rest))
        for region in regions:
            prefix, lengths, shape = _region_meta(region)
            stripped = digits[len(prefix) :] if prefix and digits.startswith(prefix) else digits
            if len(stripped) not in lengths and len(digits) not in lengths:
                continue
            if shape is not None and not (shape.fullmatch(stripped) or shape.fullmatch(digits)):
                continue
            number = phonenumbers.parse(digits, region)
            if not phonenumbers.is_valid_number(number):
                continue
            # A national number without its trunk prefix ("1713625200" as a German mobile) is a
            # Unix time or an id far more often, except where the prefix is omitted by custom.
            if prefix and not digits.startswith(prefix) and region not in _PREFIX_OMITTED:
                kind = phonenumbers.number_type(number)
                if region not in _MOBILE_PREFIX_OMITTED or kind != PhoneNumberType.MOBILE:
                    continue
            return True
    except Exception:  # phonenumbers is total in practice; a crash must not leak PII
        return False
    return False


def _left_context(view: str, start: int) -> str:
    """How the run starting at `start` is attached on its left: "free", "label" or "blocked"."""
    if start == 0:
        return "free"
    prev = view[start - 1]
    before = view[start - 2] if start > 1 else " "
    if prev in _CURRENCY or (before in _CURRENCY and prev == " "):
        return "blocked"
    if prev in ".,:" and before.isdigit():
        return "blocked"  # a decimal, a time, a thousands group
    if prev.isalnum() or (prev in "_-" and before.isalnum()):
        return "blocked"  # part of a word or an id: "A194-173-8988", "call_1558227375", hex
    if prev in _LABEL_GLUE:
        return "label"  # "Phone:…", "tel:…", "callback=…", "#…", "Tel.…"
    return "free"


def _right_context(view: str, end: int) -> str:
    if end >= len(view):
        return "free"
    nxt = view[end]
    after = view[end + 1] if end + 1 < len(view) else " "
    if nxt in _CURRENCY or nxt == "%":
        return "blocked"
    if nxt in ".,:" and after.isdigit():
        return "blocked"
    if nxt.isalnum() or (nxt in "_-" and after.isalnum()):
        return "blocked"  # part of a word or an id: "674945752dc080ae"
    if nxt in "_@=/\\|":
        return "label"
    return "free"


def _window_kind(window: str, digits: str, label: bool, regions: tuple[str, ...]) -> tuple[str, str] | None:
    """("card" | "ssn" | "phone", digits) for a window of whole groups, or None."""
    count = len(digits)
    if 13 <= count <= 19 and _is_card(digits):
        return "card", digits
    # "123 45 6789" is also how some countries group phone numbers: a valid one stays a phone.
    ssn = count == 9 and not label and _SSN_SHAPED.fullmatch(window.strip("()+ "))
    if ssn and not (" " in window and _valid_phone(digits, False, regions)):
        return "ssn", digits
    if not _MIN_PHONE_DIGITS <= count <= _MAX_PHONE_DIGITS:
        return None
    international = window.startswith(("+", "(+"))
    # Glued to a label, a number needs 9 digits or its trunk prefix ("Phone:030 332450").
    if label and count < 9 and not international and not digits.startswith("0"):
        return None
    # A "+CC" number is one whatever its digits look like ("+54-9-11-1933-5472" holds a date).
    shaped = _NOT_A_PHONE_OR_DATE.fullmatch(window)
    if not international and (shaped or _DATE_INSIDE.search(window)):
        return None
    if len(set(digits)) == 1 or (not international and _UNIX_TIME.fullmatch(window.strip("()"))):
        return None
    return ("phone", digits) if _valid_phone(digits, international, regions) else None


def _run_spans(view: str, start: int, end: int, regions: tuple[str, ...], found: _Spans) -> None:
    """Cards, SSNs and phone numbers among the whole-group windows of the run view[start:end]."""
    left = _left_context(view, start)
    if left == "blocked":
        return
    groups = [m.span() for m in _GROUP.finditer(view, start, end)]
    if _TIME_AFTER.match(view, end):
        groups.pop()  # "… 10:30": the hour is not part of a number
    if not groups:
        return
    label_left = left == "label"
    run_end = groups[-1][1]
    right = _right_context(view, run_end)
    extension = _EXTENSION.match(view, run_end)
    if extension and _right_context(view, extension.end()) == "free":
        right = "free"
    if right == "blocked" or _NOT_A_PHONE.fullmatch(view, groups[0][0], run_end):
        return
    i = 0
    while i < len(groups):
        first = groups[i][0]
        # A window may keep the "+" or "(" right before its first group.
        lead = first
        while lead > start and view[lead - 1] in "+(":
            lead -= 1
        accepted = None
        count = 0
        last = i
        while last < len(groups) and count + groups[last][1] - groups[last][0] <= _MAX_WINDOW_DIGITS:
            count += groups[last][1] - groups[last][0]
            last += 1
        # Numbers are written in at most 6 groups ("+33 6 12 34 56 78"), or digit by digit.
        if last - i > _MAX_GROUPS and any(b - a > 1 for a, b in groups[i:last]):
            last = i + _MAX_GROUPS
            count = sum(b - a for a, b in groups[i:last])
        for j in range(last - 1, i - 1, -1):
            if count < _MIN_PHONE_DIGITS:
                break  # this window and every shorter one: too few digits for anything
            w_end = groups[j][1]
            if w_end < len(view) and view[w_end] == ")" and "(" in view[lead:w_end]:
                w_end += 1
            window = view[lead:w_end]
            label = label_left or (j == len(groups) - 1 and right == "label")
            kind = _window_kind(window, window.translate(_NOT_DIGITS), label, regions)
            if kind is not None:
                accepted = (lead, w_end, j, kind)
                break
            count -= groups[j][1] - groups[j][0]
        if accepted is None:
            i += 1
            continue
        w_start, w_end, j, (what, digits) = accepted
        if what == "card":
            found.add(w_start, w_end, "[card]")
        elif what == "ssn":
            found.add(w_start, w_end, "[ssn]")
        else:
            if j == len(groups) - 1 and extension is not None:
                w_end = extension.end()
            found.add(w_start, w_end, _phone_tag(digits))
        i = j + 1


def _number_spans(view: str, regions: tuple[str, ...], found: _Spans) -> None:
    for run in _RUN.finditer(view):
        start = run.start()
        if run.end() - start < _MIN_PHONE_DIGITS:
            continue  # fewer digits than the shortest number (most runs: "2", "1985", "19.99")
        for lead in ("(+", "+ ", "+", "("):
            if view.startswith(lead, start - len(lead)):
                start -= len(lead)
                break
        _run_spans(view, start, run.end(), regions, found)


# --------------------------------------------------------------------------------------------------
# Spoken numbers
# --------------------------------------------------------------------------------------------------

_UNITS: dict[str, str] = {
    "zero": "0", "oh": "0", "nought": "0", "naught": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "niner": "9",
}  # fmt: skip
_TEENS: dict[str, str] = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
_TENS: dict[str, str] = {
    "twenty": "2", "thirty": "3", "forty": "4", "fourty": "4", "fifty": "5", "sixty": "6",
    "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
_MULTIPLIERS = {"hundred": "00", "thousand": "000"}
_REPEATS: dict[str, int] = {"double": 2, "triple": 3}


def _alternation(words: dict[str, str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_UNIT_WORD = _alternation(_UNITS)
_NONZERO_UNIT = _alternation({k: v for k, v in _UNITS.items() if v != "0"})
_WORD_NUMBER = (
    rf"(?:(?:double|triple)[ -]+)?"
    rf"(?:(?:{_alternation(_TENS)})(?:[ -]?(?:{_NONZERO_UNIT})\b)?"
    rf"|(?:{_alternation(_TEENS)})|(?:{_UNIT_WORD}))\b"
    rf"(?:[ -]+(?:hundred|thousand)\b)?"
)
_SPOKEN_TOKEN_RE = rf"(?:{_WORD_NUMBER}|[0-9]{{1,4}}(?![0-9]))"
_SPOKEN_SEP = r"(?:[\s,.;:-]+(?:(?:and|then|dash)[\s,.;:-]+)?)"
# These run on the lower-cased view: without (?i), the regex engine drops a word that fails on its
# first letter.
_SPOKEN = re.compile(rf"(?<![\w-]){_SPOKEN_TOKEN_RE}(?:{_SPOKEN_SEP}{_SPOKEN_TOKEN_RE})+")
_SPOKEN_ONE = re.compile(rf"(?<![\w-]){_SPOKEN_TOKEN_RE}(?:{_SPOKEN_SEP}{_SPOKEN_TOKEN_RE})*")
_SPOKEN_PARTS = re.compile(
    rf"(?:(double|triple)[ -]+)?(?:({_alternation(_TENS)})(?:[ -]?({_NONZERO_UNIT})\b)?"
    rf"|({_alternation(_TEENS)})|({_UNIT_WORD}))\b(?:[ -]+(hundred|thousand)\b)?|([0-9]{{1,4}})"
)
# Every word a spoken token starts with, "twentyone" (tens and unit run together) included.
_NUMBER_WORDS = frozenset(
    [*_UNITS, *_TEENS, *_TENS, *(t + u for t in _TENS for u in _UNITS if _UNITS[u] != "0")]
)
_LOWER_WORD = re.compile(r"[a-z]+")
# The same words of ASCII text, found faster: every byte but a-z made a space, then split.
_NOT_LOWER_ASCII = bytes(c if 97 <= c <= 122 else 32 for c in range(256))
_NUMBER_WORD_BYTES = frozenset(word.encode() for word in _NUMBER_WORDS)


def _has_number_word(lowered: str) -> bool:
    """Whether the lower-cased `lowered` holds a word (a-z only) of `_NUMBER_WORDS`."""
    if lowered.isascii():
        return not _NUMBER_WORD_BYTES.isdisjoint(lowered.encode().translate(_NOT_LOWER_ASCII).split())
    return not _NUMBER_WORDS.isdisjoint(_LOWER_WORD.findall(lowered))


def _spoken_digits(phrase: str) -> tuple[str, int]:
    """(the digits said in the lower-case `phrase`, how many of its tokens were words)."""
    digits: list[str] = []
    words = 0
    for part in _SPOKEN_PARTS.finditer(phrase):
        repeat, tens, tens_unit, teen, unit, multiplier, number = part.groups()
        if number:
            digits.append(number)
            continue
        words += 1
        if tens:
            said = _TENS[tens] + (_UNITS[tens_unit] if tens_unit else "0")
        elif teen:
            said = _TEENS[teen]
        else:
            said = _UNITS[unit]
        if multiplier:
            said += _MULTIPLIERS[multiplier]
        digits.append(said * (_REPEATS[repeat] if repeat else 1))
    return "".join(digits), words


def _spoken_spans(view: str, lowered: str, regions: tuple[str, ...], found: _Spans) -> None:
    for match in _SPOKEN.finditer(lowered):
        digits, words = _spoken_digits(match.group(0))
        if words < 2 or len(digits) < _MIN_PHONE_DIGITS:
            continue
        if _is_card(digits):
            tag = "[card]"
        elif _MIN_PHONE_DIGITS <= len(digits) <= _MAX_PHONE_DIGITS and _valid_phone(digits, False, regions):
            tag = _phone_tag(digits)
        else:
            tag = "[number]"
        found.add(match.start(), match.end(), tag)


# --------------------------------------------------------------------------------------------------
# SSNs by context
# --------------------------------------------------------------------------------------------------

_SSN_CUE = re.compile(
    r"(?i)\b(?:ssn|ss#|s\.s\.n\.?|social(?:[ -]security)?(?:[ -](?:number|no\.?|#))?)(?![\w])"
)
_LAST_FOUR = re.compile(r"(?i)\b(?:last\s+(?:four|4)\b|ending\s+(?:in|with)\b|ends\s+(?:in|with)\b)")
_SSN_ZONE = 60
_NUMERIC = re.compile(r"(?<![0-9])[0-9](?:[ \-./]{0,3}[0-9])*(?![0-9])")


def _ssn_spans(view: str, lowered: str, found: _Spans) -> None:
    if not any(cue in lowered for cue in ("ssn", "social", "ss#", "s.s.n")):
        return
    for cue in _SSN_CUE.finditer(view):
        zone_end = min(len(view), cue.end() + _SSN_ZONE)
        newline = view.find("\n", cue.end(), zone_end)
        zone_end = newline if newline >= 0 else zone_end
        window_start = max(0, cue.start() - 40)
        last_four = bool(_LAST_FOUR.search(view, window_start, zone_end))
        for pattern, spoken in ((_NUMERIC, False), (_SPOKEN_ONE, True)):
            # The number starts in the zone; it may end after it.
            for match in pattern.finditer(lowered if spoken else view, cue.end()):
                if match.start() >= zone_end:
                    break
                if spoken:
                    digits, words = _spoken_digits(match.group(0))
                    if not words:
                        continue
                else:
                    digits = _digits(match.group(0))
                if len(digits) == 9 or (len(digits) == 4 and last_four):
                    found.add(match.start(), match.end(), "[ssn]")


# --------------------------------------------------------------------------------------------------
# Dates of birth
# --------------------------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORDINAL_WORDS = (
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth"
    "|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth"
)
_DAY = (
    rf"(?:[0-3]?[0-9](?:st|nd|rd|th)?|(?:(?:twenty|thirty)[ -])?(?:{_ORDINAL_WORDS})"
    rf"|(?:(?:twenty|thirty)(?:[ -](?:{_NONZERO_UNIT}))?|{_alternation(_TEENS)}|{_NONZERO_UNIT}))"
)
_SPOKEN_YEAR = (
    rf"(?:(?:nineteen|twenty)[ -](?:(?:{_alternation(_TENS)})(?:[ -](?:{_NONZERO_UNIT}))?"
    rf"|{_alternation(_TEENS)}|(?:oh|o)[ -](?:{_NONZERO_UNIT})|hundred)"
    rf"|two thousand(?:(?: and)? (?:(?:{_alternation(_TENS)})(?:[ -](?:{_NONZERO_UNIT}))?"
    rf"|{_alternation(_TEENS)}|{_NONZERO_UNIT}))?)"
)
_YEAR = rf"(?:(?:19|20)[0-9]{{2}}|'[0-9]{{2}}|{_SPOKEN_YEAR})"
_DATE = (
    r"(?:[0-9]{1,4}\s?[-/.]\s?[0-9]{1,2}\s?[-/.]\s?[0-9]{2,4}"
    rf"|{_MONTH}[ ,]+(?:the\s+)?{_DAY}\b(?:,?\s+(?:of\s+)?{_YEAR})?"
    rf"|(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|{_MONTH},?\s+{_YEAR})"
)
_DOB = re.compile(
    rf"(?i)\b(?:born|d\.?o\.?b\.?|date\s+of\s+birth|birth\s?date|birthday)(?![\w])"
    rf"(?:[^\n.!0-9]{{0,40}}?)\b({_DATE})\b"
)
_BORN_IN = re.compile(rf"(?i)\bborn\s+in\s+(?:the\s+year\s+)?({_YEAR})\b")


def _dob_spans(view: str, lowered: str, found: _Spans) -> None:
    if not any(cue in lowered for cue in ("born", "dob", "d.o.b", "birth")):
        return
    for pattern in (_DOB, _BORN_IN):
        for match in pattern.finditer(view):
            found.add(match.start(1), match.end(1), "[date of birth]")


# --------------------------------------------------------------------------------------------------
# Member, policy and account numbers introduced as such ("member ID", "policy number", "MRN",
# "insurance ID", "ID number")
# --------------------------------------------------------------------------------------------------

_ID_CUE = re.compile(
    r"(?i)\b(?:(?:member|subscriber|policy|account|acct|patient|medical\s+record|group|insurance|id)"
    r"(?:\s+(?:id|number|no\.?|#))|member\s*id|mrn)(?![\w])"
)
# A cheap look before the cue pattern ("id" is in many words: only digits make it worth a look).
_ID_CUE_WORDS = (
    "member",
    "subscriber",
    "policy",
    "account",
    "acct",
    "record",
    "group",
    "insurance",
    "id",
    "mrn",
)
# A run of letters, digits and dashes holding at least 5 digits: "AB12345678", "W-2201-88413".
_ID_VALUE = re.compile(
    r"(?<![\w-])(?=[A-Za-z0-9-]*(?:[0-9][^0-9\s]*){5})[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?![\w-])"
)
_ID_ZONE = 40


def _id_spans(view: str, lowered: str, found: _Spans) -> None:
    if not any(cue in lowered for cue in _ID_CUE_WORDS):
        return
    for cue in _ID_CUE.finditer(view):
        match = _ID_VALUE.search(view, cue.end(), min(len(view), cue.end() + _ID_ZONE))
        if match is not None:
            found.add(match.start(), match.end(), "[id]")


# --------------------------------------------------------------------------------------------------
# Answers: a date of birth, an SSN or a member number asked for in the turn before ("Can you
# confirm your date of birth?" / "Sure, it's February 27, 1974.")
# --------------------------------------------------------------------------------------------------

_ASKED_DOB = re.compile(r"(?i)\b(?:born|d\.?o\.?b\.?|date\s+of\s+birth|birth\s?date|birthday)(?![\w])")
_ASK_CHARS = 160  # the end of the turn before that may hold the question
_ANSWER_CHARS = 400  # the start of the answer that may hold the value
_ANSWER_DATE = re.compile(rf"(?i)\b({_DATE}|{_YEAR})\b")


@lru_cache(maxsize=4096)  # each turn is asked about as the turn before the next one
def _asked(before: str) -> tuple[bool, bool, bool]:
    """Whether the end of the turn `before` asks for (or names) a date of birth, an SSN, a
    member, policy or account number."""
    tail = _view(clean_text(before)[-_ASK_CHARS:])
    return (
        _ASKED_DOB.search(tail) is not None,
        _SSN_CUE.search(tail) is not None,
        _ID_CUE.search(tail) is not None,
    )


def _answer_spans(view: str, lowered: str, dob: bool, ssn: bool, ident: bool, found: _Spans) -> None:
    """The first date (`dob`), the first 4- or 9-digit number (`ssn`, written or spoken) and the
    first identifier (`ident`, see `_ID_VALUE`) that start in the first `_ANSWER_CHARS` of an
    answer to a question for them."""
    if ident:
        match = _ID_VALUE.search(view)
        if match is not None and match.start() < _ANSWER_CHARS:
            found.add(match.start(), match.end(), "[id]")
    if dob:
        match = _ANSWER_DATE.search(view)
        if match is not None and match.start() < _ANSWER_CHARS:
            found.add(match.start(1), match.end(1), "[date of birth]")
    if ssn:
        for pattern, spoken in ((_NUMERIC, False), (_SPOKEN_ONE, True)):
            for match in pattern.finditer(lowered if spoken else view):
                if match.start() >= _ANSWER_CHARS:
                    break
                digits = _spoken_digits(match.group(0))[0] if spoken else _digits(match.group(0))
                if len(digits) in (4, 9) and found.add(match.start(), match.end(), "[ssn]"):
                    return


# --------------------------------------------------------------------------------------------------
# Names (best effort)
# --------------------------------------------------------------------------------------------------

_NAME_WORD = r"[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?"
_FULL_NAME = rf"(?P<name>{_NAME_WORD}(?:\s{_NAME_WORD}){{0,2}})"
_NAME_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(rf"(?i:\b(?:my name is|my name's|name's|call me)\s+){_FULL_NAME}\b"),
    re.compile(
        rf"(?i:\b(?:this is|i am|i'm|it's|it is)\s+){_FULL_NAME}"
        r"(?=\s*(?:[,.!?;]|$|(?i:from|calling|speaking|here|with)\b))"
    ),
)
_NOT_NAMES = frozenset(
    {
        "I", "A", "An", "The", "This", "That", "It", "Yes", "No", "Not", "Ok", "Okay", "Hi", "Hello", "Hey",
        "Thanks", "Thank", "Sure", "Great", "Fine", "Good", "Well", "Just", "Really", "Actually", "Calling",
        "Speaking", "Here", "Me", "Sorry", "Correct", "Right", "Perfect", "Done", "Ready", "Back",
        "Available", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Today",
        "Tomorrow", "Tonight", "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December"
    }
)  # fmt: skip
_NAME_RULE_CUES = (
    ("my name is", "my name's", "name's", "call me"),
    ("this is", "i am", "i'm", "it's", "it is"),
)
_NAME_CUES = tuple(cue for cues in _NAME_RULE_CUES for cue in cues)
# A cue and the spaces after it in the lower-cased view, before a word. No cue followed by a space
# holds the start of another one (but "name's" in "my name's", where both find the same name), so
# `finditer` misses none.
_NAME_CUE = re.compile(rf"(?:{'|'.join(map(re.escape, _NAME_CUES))})\s+(?=[a-z])")


def _name_starts(view: str, lowered: str) -> list[int]:
    """Where a name cue starts that is followed by a capital letter: the only places a name rule
    is tried (running the rules over the whole text costs far more)."""
    return [cue.start() for cue in _NAME_CUE.finditer(lowered) if "A" <= view[cue.end()] <= "Z"]


def _name_spans(view: str, lowered: str, found: _Spans) -> None:
    starts = _name_starts(view, lowered)
    for rule in _NAME_RULES if starts else ():
        for start in starts:
            match = rule.match(view, start)
            if match is not None and match.group("name").split()[0] not in _NOT_NAMES:
                found.add(match.start("name"), match.end("name"), "[name]")


# --------------------------------------------------------------------------------------------------
# Field hints for Redactor.value
# --------------------------------------------------------------------------------------------------

_PHONE_KEY_WORDS = ("phone", "mobile", "msisdn", "telephone", "cellnumber", "callerid", "whatsapp")
_PHONE_KEY_EXACT = frozenset({"tel", "cell", "fax", "ani", "cli", "dnis", "to", "from", "number"})
_NUMBER_KEY_OWNERS = frozenset(
    {"to", "from", "callback", "contact", "customer", "caller", "callee", "dialed", "destination",
     "origin", "recipient", "sender", "agent", "forward", "transfer", "fax", "cell", "home", "work"}
)  # fmt: skip
# Words of a key that name personal data of other kinds: such fields are never aggregated.
_SENSITIVE_KEY_WORDS = frozenset(
    {"email", "mail", "card", "creditcard", "cc", "ssn", "social", "account", "iban", "routing",
     "passport", "license", "licence", "birth", "birthday", "birthdate", "dob", "address", "zip",
     "zipcode", "postcode", "postal", "name", "firstname", "lastname", "fullname", "surname",
     "patient", "member", "insurance", "policy", "pin", "cvv", "cvc", "tax", "medicare", "medicaid",
     "mrn", "nhs", "passcode", "password", "bic"}
)  # fmt: skip
_KEY_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_MASKED_PHONE = re.compile(rf"{ELLIPSIS}\d{{0,4}}")


def _squeeze_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _is_phone_key(key: str) -> bool:
    """Whether a dict key names a phone number: ``to_number``, ``customerPhone``, ``callerId``, ..."""
    squeezed = _squeeze_key(key)
    if any(word in squeezed for word in _PHONE_KEY_WORDS) or squeezed in _PHONE_KEY_EXACT:
        return True
    for suffix in ("number", "num", "no"):
        if squeezed.endswith(suffix) and squeezed[: -len(suffix)] in _NUMBER_KEY_OWNERS:
            return True
    return False


_ID_KEY_WORDS = (
    "member",
    "policy",
    "account",
    "acct",
    "mrn",
    "subscriber",
    "insurance",
    "patient",
    "medicalrecord",
)


def _is_id_key(key: str) -> bool:
    """Whether values under `key` are member, policy or account numbers (``member_id``,
    ``policyNumber``, ``mrn``): their runs of 5 or more digits are masked as ``[id]``."""
    squeezed = _squeeze_key(key)
    return any(word in squeezed for word in _ID_KEY_WORDS)


def _is_sensitive_key(key: str) -> bool:
    words = {word.lower() for word in _KEY_WORD.findall(key)}
    return _is_phone_key(key) or bool(words & _SENSITIVE_KEY_WORDS)


# --------------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------------

# Pages of one transcript are asked for again and again; redacting a turn costs far more than
# looking it up. Only short strings are cached, so the cache stays a few MB at most.
_CACHED_MAX_CHARS = 2000
# The fast path: a few scans say which rules can find anything at all. Most turns hold no digit,
# "@", number word or cue, and come back after these scans alone.
_CONTEXT_CUE = re.compile(r"ssn|social|ss#|s\.s\.n|born|dob|d\.o\.b|birth")  # `_ssn_spans`, `_dob_spans`
_ANY_DIGIT = re.compile(r"[0-9]")


def _prescan(view: str, lowered: str) -> tuple[bool, bool, bool, bool, bool]:
    """Whether the view holds an "@", an SSN or date-of-birth cue, a digit, a number word, a name
    cue before a capital letter: a rule is skipped when what it needs is absent (in order
    `_email_spans`; `_ssn_spans` and `_dob_spans`; `_number_spans`; `_spoken_spans`;
    `_name_spans`). `tests/test_redact_fast_path.py` holds every rule to it."""
    return (
        "@" in view,
        _CONTEXT_CUE.search(lowered) is not None,
        _ANY_DIGIT.search(view) is not None,
        _has_number_word(lowered),
        bool(_name_starts(view, lowered)),
    )


def _spans(s: str, regions: tuple[str, ...], names: bool) -> list[Span]:
    """The PII spans of the cleaned string `s`, none overlapping another."""
    view = _view(s)
    lowered = view.lower()  # the same length as `view` (see `_FOLD`)
    email, context, digit, word, name = _prescan(view, lowered)
    found = _Spans()
    if email:
        _email_spans(s, view, found)
    if context:
        _ssn_spans(view, lowered, found)
        _dob_spans(view, lowered, found)
    if digit:
        _id_spans(view, lowered, found)
        _number_spans(view, regions, found)
    if word:
        _spoken_spans(view, lowered, regions, found)
    if names and name:
        _name_spans(view, lowered, found)
    return found.items


def _redact(s: str, regions: tuple[str, ...], names: bool) -> str:
    s = clean_text(s)
    spans = _spans(s, regions, names)
    return _rebuild(s, spans) if spans else s


_redact_cached = lru_cache(maxsize=8192)(_redact)

# The end of a turn (or the start of the next one) that may hold part of a number: digits, number
# words and the separators between them. One word or one character per step: no backtracking.
_EDGE_WORDS = "|".join(
    sorted([*_UNITS, *_TEENS, *_TENS, *_MULTIPLIERS, *_REPEATS, "and", "then", "dash"], key=len, reverse=True)
)
_EDGE_STEP = rf"(?:(?:{_EDGE_WORDS})\b|[0-9()+#/_.,;:\s-])"
_TAIL_EDGE = re.compile(rf"(?i)(?<![\w]){_EDGE_STEP}+$")
_HEAD_EDGE = re.compile(rf"(?i)^{_EDGE_STEP}+")
_EDGE_CHARS = 200


_EDGE_WORD_SET = frozenset([*_UNITS, *_TEENS, *_TENS, *_MULTIPLIERS, *_REPEATS])
_EDGE_PUNCTUATION = " \t\n.,;:!?-()+#/_"


@lru_cache(maxsize=4096)  # each turn is asked about as itself and as a neighbour
def _numberish_end(s: str) -> bool:
    """Whether `s`, cleaned as it is redacted, ends with a digit or a number word (a cheap check
    before the real one)."""
    s = clean_text(s).rstrip(_EDGE_PUNCTUATION)
    if not s:
        return False
    if s[-1].isdigit():
        return True
    words = s.rsplit(None, 1)  # empty when only other whitespace ("\x1f") is left
    return bool(words) and words[-1].rsplit("-", 1)[-1].strip(_EDGE_PUNCTUATION).lower() in _EDGE_WORD_SET


@lru_cache(maxsize=4096)
def _numberish_start(s: str) -> bool:
    s = clean_text(s).lstrip(_EDGE_PUNCTUATION)
    if not s:
        return False
    if s[0].isdigit():
        return True
    words = s.split(None, 1)
    return bool(words) and words[0].split("-", 1)[0].strip(_EDGE_PUNCTUATION).lower() in _EDGE_WORD_SET


def _edge(pattern: re.Pattern[str], s: str) -> tuple[int, int] | None:
    match = pattern.search(s)
    if match is None or not re.search(r"[0-9]|[a-z]", match.group(0), re.I):
        return None
    return match.start(), match.end()


@lru_cache(maxsize=4096)
def _joined_spans(before: str, after: str, regions: tuple[str, ...]) -> tuple[list[Span], list[Span]]:
    """Spans of a number split between the end of `before` and the start of `after` (both clean):
    the part in `before` (with the whole number's tag) and the part in `after` ("[… cont.]")."""
    head = before[-_EDGE_CHARS:]
    tail = after[:_EDGE_CHARS]
    edge_a = _edge(_TAIL_EDGE, head)
    edge_b = _edge(_HEAD_EDGE, tail)
    if edge_a is None or edge_b is None:
        return [], []
    # Context words (an SSN or date-of-birth cue) right before the split count too.
    context_start = max(0, edge_a[0] - 80)
    joined = head[context_start:] + " " + tail
    boundary = len(head) - context_start
    parts_a: list[Span] = []
    parts_b: list[Span] = []
    offset_a = len(before) - len(head) + context_start
    cont = f"[{ELLIPSIS} cont.]"
    for start, end, tag in _spans(joined, regions, False):
        if start < boundary < end:
            parts_a.append((offset_a + start, len(before), tag))
            parts_b.append((0, min(len(after), end - boundary - 1), cont))
        elif start > boundary and start - boundary - 1 < edge_b[1]:
            # Found only with the words of the turn before ("the last four of my social?" / "6789").
            parts_b.append((start - boundary - 1, end - boundary - 1, tag))
    return parts_a, parts_b


def _redact_turn(
    s: str,
    before: str,
    after: str,
    regions: tuple[str, ...],
    names: bool,
    asked: tuple[bool, bool, bool] = (False, False, False),
) -> str:
    s = clean_text(s)
    spans = _spans(s, regions, names)
    if any(asked):
        # The answer is what was asked for: its value is tagged so before any other reading of
        # it (nine digits answering for an SSN are not a phone number that keeps its last four).
        view = _view(s)
        found = _Spans()
        _answer_spans(view, view.lower(), *asked, found)
        for span in spans:
            found.add(*span)
        spans = found.items
    extra: list[Span] = []
    if before:
        extra += _joined_spans(clean_text(before), s, regions)[1]
    if after:
        extra += _joined_spans(s, clean_text(after), regions)[0]
    if not extra:
        return _rebuild(s, spans) if spans else s
    return _rebuild(s, _merge(spans, extra))


_redact_turn_cached = lru_cache(maxsize=8192)(_redact_turn)


# --------------------------------------------------------------------------------------------------
# The public face
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Redactor:
    """Masks PII in text and JSON-ish values. `enabled=False` makes every method the identity."""

    enabled: bool = True
    regions: tuple[str, ...] = DEFAULT_REGIONS
    names: bool = True

    def text(self, s: str) -> str:
        """`s` cleaned (`sanitize.clean_text`) with every PII instance found replaced by a tag."""
        if not self.enabled:
            return s
        if len(s) > _CACHED_MAX_CHARS:
            return _redact(s, self.regions, self.names)
        return _redact_cached(s, self.regions, self.names)

    def turn(
        self, s: str, before: str | None = None, after: str | None = None, *, asked_by: str | None = None
    ) -> str:
        """One transcript turn redacted like `text`, a number split between it and the turn
        `before` it or `after` it (one part in each) masked in this turn too, and a date of birth,
        an SSN or a member number given in answer to `before` asking for it ("Can you confirm
        your date of birth?" / "Sure, it's February 27, 1974."). `asked_by` is the turn before
        for that alone, when `s` is a piece of its turn (a search snippet cut at its start).

        Redacting every turn with its neighbours masks such a number in both turns: the part
        before the split gets the whole number's tag, the part after it ``[… cont.]``.
        """
        if not self.enabled:
            return s
        # Only the edges of the neighbours matter, and only when both sides of a split look
        # like parts of a number.
        head = before[-_EDGE_CHARS:] if before and _numberish_start(s) and _numberish_end(before) else ""
        tail = after[:_EDGE_CHARS] if after and _numberish_end(s) and _numberish_start(after) else ""
        # A date of birth, an SSN or a member number given in answer to the turn before's question.
        question = before or asked_by
        asked = _asked(question) if question else (False, False, False)
        if len(s) > _CACHED_MAX_CHARS:
            return _redact_turn(s, head, tail, self.regions, self.names, asked)
        return _redact_turn_cached(s, head, tail, self.regions, self.names, asked)

    def contains(self, s: str) -> bool:
        """Whether `text` would mask anything in `s` (always False when disabled)."""
        return self.enabled and bool(_spans(clean_text(s), self.regions, self.names))

    def phone(self, s: str) -> str:
        """A value known to be a phone number, always masked: ``+1 415 555 0134`` -> ``…0134``.

        Works on any input, parseable or not: the mask keeps at most the last 4 digits (2 for short
        numbers). A value without digits (``anonymous``, a SIP URI) goes through `text` instead.
        """
        if not self.enabled:
            return s
        s = clean_text(s)
        if _MASKED_PHONE.fullmatch(s.strip()):
            return s.strip()
        digits = _digits(_view(s))
        if not digits:
            return self.text(s)
        return ELLIPSIS + _tail(digits)

    def phone_key(self, key: str) -> bool:
        """Whether values under the dict key `key` are masked as phone numbers by `value`
        (``to_number``, ``callback_number``, ``customerPhone``, ...); always False when disabled."""
        return self.enabled and _is_phone_key(key)

    def sensitive_key(self, key: str) -> bool:
        """Whether the dict key `key` names personal data (a phone number, card, SSN, account,
        e-mail, date of birth, address, name, ...): such fields are never aggregated; always False
        when disabled."""
        return self.enabled and _is_sensitive_key(key)

    def value(self, obj: T) -> T:
        """`obj` with every string redacted, recursively through dicts, lists and tuples.

        Keys are redacted like text (two keys that become the same get " (2)", " (3)" ... so no
        value is lost). Values under phone-like keys (``to_number``, ``phone``, ``customerPhone``,
        ``callerId``, ...) are masked with `phone`, ints included (they become strings); under
        member, policy or account keys (``member_id``, ``policyNumber``), identifiers holding 5 or
        more digits become ``[id]``. Other
        whole numbers of 7 or more digits are redacted like text: one that is a phone, card or SSN
        number becomes its tag (a string). Other numbers, bools and None are returned as they are.
        """
        if not self.enabled:
            return obj
        return cast(T, self._value(obj, phone_field=False))

    def _value(self, obj: object, *, phone_field: bool, id_field: bool = False) -> object:
        if isinstance(obj, str):
            if phone_field:
                return self.phone(obj)
            # Under a member or policy key, a number is an identifier before it is anything else.
            return self.text(_ID_VALUE.sub("[id]", clean_text(obj)) if id_field else obj)
        if isinstance(obj, dict):
            out: dict[object, object] = {}
            for key, item in obj.items():
                shown: object = key
                if isinstance(key, str):
                    shown = self.text(key)
                elif isinstance(key, int | float) and not isinstance(key, bool):
                    shown = self._number(key)
                n = 2
                unique = shown
                while unique in out:
                    unique, n = f"{shown} ({n})", n + 1
                named = isinstance(key, str)
                out[unique] = self._value(
                    item,
                    phone_field=named and _is_phone_key(str(key)),
                    id_field=named and _is_id_key(str(key)),
                )
            return out
        if isinstance(obj, list):
            return [self._value(item, phone_field=phone_field, id_field=id_field) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self._value(item, phone_field=phone_field, id_field=id_field) for item in obj)
        if isinstance(obj, int | float) and not isinstance(obj, bool):
            if phone_field and isinstance(obj, int):
                return self.phone(str(obj))
            if id_field and isinstance(obj, int) and _ID_VALUE.fullmatch(str(abs(obj))):
                return "[id]"
            return self._number(obj)
        return obj

    def _number(self, value: int | float) -> object:
        """A number as it may be shown: one that reads as a phone, card or SSN number becomes its
        tag; any other number is kept."""
        if isinstance(value, float):
            if not value.is_integer() or abs(value) >= 1e20:
                return value
            written = str(int(value))
        else:
            written = str(value)
        if len(written.lstrip("-")) < _MIN_PHONE_DIGITS:
            return value
        masked = self.text(written)
        return value if masked == written else masked


def _merge(spans: list[Span], extra: list[Span]) -> list[Span]:
    """`spans` plus the `extra` spans, an extra span widened over the spans it overlaps."""
    out: list[Span] = []
    for start, end, tag in extra:
        for s, e, _ in spans:
            if s < end and start < e:
                start, end = min(start, s), max(end, e)
        out.append((start, end, tag))
    out += [(s, e, t) for s, e, t in spans if not any(s < b and a < e for a, b, _ in out)]
    merged: list[Span] = []
    for item in sorted(out):
        if merged and item[0] < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], item[1]), last[2])
        else:
            merged.append(item)
    return merged
