"""PII redaction on the way out: phone numbers, e-mail addresses, card numbers, SSNs, some names.

`Redactor(enabled=True)` is applied by `output` to every string that leaves the server; the index
keeps what the platform returned. What is replaced, in this order:

- e-mail addresses: the local part goes, the domain stays: ``jane.doe@example.com`` ->
  ``[email …@example.com]``.
- US SSNs: ``123-45-6789`` / ``123 45 6789`` (valid area/group/serial only; a spaced one that is
  also a valid phone number is left to the phone pass), and any 9 digits that follow "SSN" /
  "social security (number)" / "social" -> ``[ssn]``.
- Card numbers: 13-19 digits, optionally grouped by spaces or dashes, Luhn-valid and with the
  prefix and length of a known brand (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay,
  Maestro) -> ``[card]``.
- Phone numbers, found by `phonenumbers` (libphonenumber) at `Leniency.VALID`: international
  numbers (``+44 20 …``, ``0044 …``) of any country, and national formats of `DEFAULT_REGIONS` ->
  ``[phone …0134]`` (the last 4 digits, or 2 for numbers shorter than 9 digits). Candidates are
  digit runs with spaces, dashes, dots, slashes or parentheses; runs glued to letters, ``_``, ``#``,
  ``$``/``€``/``£``, ``/``, ``=`` or decimals (ids, order numbers, prices, URLs, versions) and runs
  shaped like dates, IPv4 addresses or US ZIP+4 codes are never phone numbers; nor is a bare
  landline number missing its trunk prefix (``1713625200`` is a Unix time far more often than an
  Indian landline). A run that is not one number as a whole (``room 12 415 555 0134``) is searched
  for numbers made of whole groups. A free-standing 9-10 digit account number that happens to be
  a valid phone number somewhere (``612345678`` is a Spanish mobile) is masked: when in doubt, mask.
- Spoken digits: 7 or more digits said as words, at least 3 of them words ("five five five, one
  two three four", "double seven") -> ``[phone …1234]`` (``[card]`` when Luhn-valid of card length).
- Names, best effort only: a capitalised name after "my name is", "name's", "call me", or after
  "this is" / "I'm" / "I am" / "it's" when followed by a cue ("from", "calling", "speaking",
  "here", "with", a comma or the end of the sentence) -> ``[name]``. Names said any other way
  (a greeting "Hi Jane", a name in a summary, lower-case ASR output) are NOT caught; treat names
  as not redacted.

Not redacted: street addresses, dates of birth, health details, spelled-out e-mails ("jane at
example dot com"), numbers split across strings or list items, e-mail domains.

`Redactor.text` first applies `sanitize.clean_text` so invisible characters cannot split a number
to hide it; its output is therefore also clean. `Redactor.value` walks JSON-ish data (dict keys are
kept), and masks whole values under phone-like keys (``phone``, ``to_number``, ``callerId``, ...)
with `Redactor.phone`, ints included. Every function here is total (never raises on any ``str``)
and idempotent. Replacement tags are kept from forming markdown links with their neighbours.
Results for strings up to 2,000 characters are cached (LRU), so re-showing a transcript is cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

from call_logs_mcp.output.sanitize import clean_text
from call_logs_mcp.output.text import ELLIPSIS

__all__ = ["DEFAULT_REGIONS", "Redactor"]

T = TypeVar("T")

# Regions whose national formats are recognised (international "+CC" numbers are found for every
# country; "US" covers all of NANP, Canada included). Order matters only for speed: commonest first.
DEFAULT_REGIONS: tuple[str, ...] = (
    "US", "GB", "DE", "FR", "IN", "BR", "AU", "ES", "IT", "MX", "JP", "NL", "IE", "NZ", "ZA",
)  # fmt: skip

_MIN_PHONE_DIGITS = 7
_MAX_PHONE_DIGITS = 17
# Regions where national numbers are customarily written without the trunk prefix.
_PREFIX_OMITTED = frozenset({"US", "CA", "BR"})
# Upper bound on phonenumbers calls per string: keeps pathological input (long runs of small
# numbers) cheap. Real text needs a handful.
_MATCHER_BUDGET = 96

# --------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")


def _digits(s: str) -> str:
    return "".join(_DIGIT.findall(s))


def _digit_count(s: str) -> int:
    if s.isascii():
        return sum(map(s.count, "0123456789"))
    return len(_DIGIT.findall(s))


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


def _rebuild(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with each non-overlapping (start, end, tag) span replaced; spans sorted by start."""
    out: list[str] = []
    pos = 0
    for start, end, tag in spans:
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(_place(text, start, end, tag))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _sub_tags(pattern: re.Pattern[str], text: str, make: Callable[[re.Match[str]], str | None]) -> str:
    """Replace each match by `make(match)` (None keeps the match) with `_place` spacing."""
    spans: list[tuple[int, int, str]] = []
    for match in pattern.finditer(text):
        tag = make(match)
        if tag is not None:
            spans.append((match.start(), match.end(), tag))
    return _rebuild(text, spans) if spans else text


# --------------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@((?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24})\b"
)


def _email_tag(match: re.Match[str]) -> str:
    return f"[email {ELLIPSIS}@{match.group(1)}]"


# --------------------------------------------------------------------------------------------------
# SSN
# --------------------------------------------------------------------------------------------------

_SSN_SHAPED = re.compile(
    r"(?<![\w.,/+#$-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w/]|[.,-]\d)"
)
_SSN_CONTEXT = re.compile(
    r"(?i:\b(?:ssn|ss#|social security(?: number| no\.?| #)?|social)\b)[^\d\n]{0,24}?"
    r"(?<!\d)(\d{3}[ .-]?\d{2}[ .-]?\d{4})(?!\d)"
)


def _redact_ssn(text: str, regions: tuple[str, ...]) -> str:
    def shaped(match: re.Match[str]) -> str | None:
        # "123 45 6789" is also how some countries group phone numbers: a valid one stays a phone.
        if match.group(1) == " " and _is_phone(match.group(0), regions):
            return None
        return "[ssn]"

    text = _sub_tags(_SSN_SHAPED, text, shaped)
    spans = [(m.start(1), m.end(1), "[ssn]") for m in _SSN_CONTEXT.finditer(text)]
    return _rebuild(text, spans) if spans else text


# --------------------------------------------------------------------------------------------------
# Card numbers
# --------------------------------------------------------------------------------------------------

# (brand, prefix pattern, allowed lengths)
_CARD_BRANDS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("visa", r"4", frozenset({13, 16, 19})),
    ("mastercard", r"5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720", frozenset({16})),
    ("amex", r"3[47]", frozenset({15})),
    ("discover", r"6011|64[4-9]|65|622", frozenset({16, 17, 18, 19})),
    ("diners", r"30[0-5]|3095|36|3[89]", frozenset({14, 15, 16, 17, 18, 19})),
    ("jcb", r"35(?:2[89]|[3-8]\d)", frozenset({16, 17, 18, 19})),
    ("unionpay", r"62|81", frozenset({16, 17, 18, 19})),
    ("maestro", r"50|5[6-9]|6\d", frozenset({13, 14, 15, 16, 17, 18, 19})),
)
_CARD_PREFIXES = tuple((re.compile(prefix), lengths) for _, prefix, lengths in _CARD_BRANDS)
_CARD_RUN = re.compile(r"(?<![\w.,/+#$-])\d(?:[ -]?\d){12,18}(?![\w/]|[.,-]\d)")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    if not 13 <= len(digits) <= 19 or not digits.isascii() or not _luhn_ok(digits):
        return False
    return any(pattern.match(digits) and len(digits) in lengths for pattern, lengths in _CARD_PREFIXES)


def _card_tag(match: re.Match[str]) -> str | None:
    return "[card]" if _is_card(_digits(match.group(0))) else None


# --------------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------------

# A maximal run of digits and the separators people put in phone numbers.
_PHONE_RUN = re.compile(r"(?:\+|\(\+?)?\d[\d \-.()/]*")
_GROUP_SPLIT = re.compile(r"[ /]+")
# Characters that glue a digit run to an identifier, amount or URL when right before / after it.
_GLUE_BEFORE = frozenset("#$€£¥₹@/=\\&%~^*_|")
_GLUE_AFTER = frozenset("@%/=€$£_|")
_GLUE_IF_DIGIT_AROUND = frozenset(".,:-+")
# Whole candidates that are something else.
_NOT_A_PHONE: tuple[re.Pattern[str], ...] = (
    re.compile(r"\d{4}([-./])\d{1,2}\1\d{1,2}"),  # 2026-04-20
    re.compile(r"\d{1,2}([-./])\d{1,2}\1\d{2}(?:\d{2})?"),  # 20/04/2026, 04-20-26
    re.compile(r"\d{1,3}(?:\.\d{1,3}){3}"),  # 192.168.0.10
    re.compile(r"\d{4}\s?[-/]\s?\d{4}"),  # 2024-2026, 2024 / 2025
    re.compile(r"\d{5}-\d{4}"),  # US ZIP+4
    re.compile(r"\d{1,2}([-./])\d{1,2}\1\d{2,4}\s?[-/]\s?\d{1,2}\1\d{1,2}\1\d{2,4}"),  # date ranges
)


def _glued(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is part of a bigger token (id, price, decimal, URL, time)."""
    if start > 0:
        prev = text[start - 1]
        if prev.isalnum() or prev in _GLUE_BEFORE:
            return True
        if prev in _GLUE_IF_DIGIT_AROUND and start > 1 and text[start - 2].isalnum():
            return True
    if end < len(text):
        nxt = text[end]
        if nxt.isalnum() or nxt in _GLUE_AFTER:
            return True
        if nxt in _GLUE_IF_DIGIT_AROUND and end + 1 < len(text) and text[end + 1].isalnum():
            return True
    return False


def _bare_fixed_line(number: PhoneNumber, raw: str, region: str) -> bool:
    """A national fixed-line number written without its trunk prefix (``1713625200`` as an Indian
    landline). Landlines are written with the prefix ("0171 362 5200") almost everywhere; bare digit
    runs like that are far more often Unix timestamps and ids. Mobiles, international formats and
    the regions that drop the prefix by custom are exempt."""
    from phonenumbers import PhoneNumberType, ndd_prefix_for_region, number_type

    if region in _PREFIX_OMITTED or raw.lstrip("( ").startswith("+"):
        return False
    prefix = ndd_prefix_for_region(region, True)
    if not prefix or number_type(number) != PhoneNumberType.FIXED_LINE:
        return False
    return not _digits(raw).startswith(prefix)


@lru_cache(maxsize=4096)
def _is_phone(candidate: str, regions: tuple[str, ...]) -> bool:
    """Whether all of `candidate` (a digit run, trimmed) is one valid phone number."""
    # Imported here, not at module level: its metadata costs start-up time the first answer
    # (initialize) does not need.
    from phonenumbers import Leniency, PhoneNumberMatcher

    if any(pattern.fullmatch(candidate) for pattern in _NOT_A_PHONE):
        return False
    wanted = _digit_count(candidate)
    tried = regions[:1] if candidate.startswith(("+", "(+")) else regions
    for region in tried:
        try:
            for match in PhoneNumberMatcher(candidate, region, leniency=Leniency.VALID, max_tries=4):
                whole = _digit_count(match.raw_string) == wanted
                if whole and not _bare_fixed_line(match.number, match.raw_string, region):
                    return True
        except Exception:  # phonenumbers is total in practice; a crash must not leak PII
            return False
    return False


class _Budget:
    def __init__(self, calls: int) -> None:
        self.left = calls

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _run_spans(
    text: str, start: int, end: int, regions: tuple[str, ...], budget: _Budget
) -> Iterator[tuple[int, int]]:
    """Phone numbers inside the run text[start:end]: the whole run, or runs of whole groups."""
    candidate = text[start:end]
    count = _digit_count(candidate)
    if _MIN_PHONE_DIGITS <= count <= _MAX_PHONE_DIGITS and budget.spend() and _is_phone(candidate, regions):
        yield start, end
        return
    groups = [(m.start() + start, m.end() + start) for m in re.finditer(r"[^ /]+", candidate)]
    if len(groups) < 2:
        return
    i = 0
    while i < len(groups):
        found = False
        first = text[groups[i][0] : groups[i][1]]
        # A national number starts with a group of 2+ digits; "+CC" and "(0…)" start international ones.
        if _digit_count(first) >= 2 or first.startswith(("+", "(")):
            for j in range(len(groups), i + 1, -1):
                sub_start, sub_end = groups[i][0], groups[j - 1][1]
                sub = text[sub_start:sub_end]
                if not _MIN_PHONE_DIGITS <= _digit_count(sub) <= _MAX_PHONE_DIGITS:
                    continue
                if not budget.spend():
                    return
                if _is_phone(sub, regions):
                    yield sub_start, sub_end
                    i, found = j, True
                    break
        if not found:
            i += 1


def _phone_spans(text: str, regions: tuple[str, ...]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    budget = _Budget(_MATCHER_BUDGET)
    for run in _PHONE_RUN.finditer(text):
        raw = run.group(0)
        last_digit = max(i for i, c in enumerate(raw) if c.isdigit())
        start, end = run.start(), run.start() + last_digit + 1
        if raw[last_digit + 1 : last_digit + 2] == ")" and "(" in raw[:last_digit]:
            end += 1  # keep "(0)" style closing parenthesis with its number
        if _digit_count(text[start:end]) < _MIN_PHONE_DIGITS or _glued(text, start, end):
            continue
        for sub_start, sub_end in _run_spans(text, start, end, regions, budget):
            spans.append((sub_start, sub_end, _phone_tag(_digits(text[sub_start:sub_end]))))
    return spans


# --------------------------------------------------------------------------------------------------
# Spoken digits
# --------------------------------------------------------------------------------------------------

_DIGIT_WORDS: dict[str, str] = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "niner": "9",
}  # fmt: skip
_REPEATS: dict[str, int] = {"double": 2, "triple": 3}
_WORD = "(?:" + "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True)) + ")"
_TOKEN = rf"(?:(?:double|triple)[ -]+)?{_WORD}\b|\d{{1,4}}\b"
_SPOKEN = re.compile(rf"(?i)(?<![\w-])(?:{_TOKEN})(?:[\s,-]+(?:{_TOKEN})){{4,}}(?![\w])")
_SPOKEN_TOKEN = re.compile(rf"(?i)(double|triple)?[ -]*({_WORD})\b|(\d{{1,4}})")
_SPOKEN_HINT = re.compile(rf"(?i)\b{_WORD}\b")


def _spoken_tag(match: re.Match[str]) -> str | None:
    digits: list[str] = []
    words = 0
    for token in _SPOKEN_TOKEN.finditer(match.group(0)):
        repeat, word, number = token.groups()
        if word:
            words += 1
            digits.append(_DIGIT_WORDS[word.lower()] * (_REPEATS[repeat.lower()] if repeat else 1))
        elif number:
            digits.append(number)
    joined = "".join(digits)
    if words < 3 or len(joined) < _MIN_PHONE_DIGITS:
        return None
    if _is_card(joined):
        return "[card]"
    return _phone_tag(joined)


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
_NAME_HINT = re.compile(r"(?i)\b(?:name|call me|this is|i am|i'm|it's|it is)\b")


def _name_tag(match: re.Match[str]) -> str | None:
    if match.group("name").split()[0] in _NOT_NAMES:
        return None
    return "[name]"


def _redact_names(text: str) -> str:
    for rule in _NAME_RULES:
        spans = [(m.start("name"), m.end("name"), "[name]") for m in rule.finditer(text) if _name_tag(m)]
        if spans:
            text = _rebuild(text, spans)
    return text


# --------------------------------------------------------------------------------------------------
# Field hints for Redactor.value
# --------------------------------------------------------------------------------------------------

_PHONE_KEY_WORDS = ("phone", "mobile", "msisdn", "telephone", "cellnumber", "callerid", "whatsapp")
_PHONE_KEY_EXACT = frozenset({"tel", "cell", "fax", "ani", "cli", "dnis", "to", "from", "number"})
_NUMBER_KEY_OWNERS = frozenset(
    {"to", "from", "callback", "contact", "customer", "caller", "callee", "dialed", "destination",
     "origin", "recipient", "sender", "agent", "forward", "transfer", "fax", "cell", "home", "work"}
)  # fmt: skip
_MASKED_PHONE = re.compile(rf"{ELLIPSIS}\d{{0,4}}")


def _is_phone_key(key: str) -> bool:
    """Whether a dict key names a phone number: ``to_number``, ``customerPhone``, ``callerId``, ..."""
    squeezed = re.sub(r"[^a-z0-9]", "", key.lower())
    if any(word in squeezed for word in _PHONE_KEY_WORDS) or squeezed in _PHONE_KEY_EXACT:
        return True
    for suffix in ("number", "num", "no"):
        if squeezed.endswith(suffix) and squeezed[: -len(suffix)] in _NUMBER_KEY_OWNERS:
            return True
    return False


# --------------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------------

# Pages of one transcript are asked for again and again; redacting a turn costs far more than
# looking it up. Only short strings are cached, so the cache stays a few MB at most.
_CACHED_MAX_CHARS = 2000


def _redact(s: str, regions: tuple[str, ...], names: bool) -> str:
    s = clean_text(s)
    if "@" in s:
        s = _sub_tags(_EMAIL, s, _email_tag)
    digits = _digit_count(s)
    if digits >= 9:
        s = _redact_ssn(s, regions)
    if digits >= 13:
        s = _sub_tags(_CARD_RUN, s, _card_tag)
    if digits >= _MIN_PHONE_DIGITS:
        spans = _phone_spans(s, regions)
        if spans:
            s = _rebuild(s, spans)
    if _SPOKEN_HINT.search(s):
        s = _sub_tags(_SPOKEN, s, _spoken_tag)
    if names and _NAME_HINT.search(s):
        s = _redact_names(s)
    return s


_redact_cached = lru_cache(maxsize=8192)(_redact)


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
        digits = _digits(s)
        if not digits:
            return self.text(s)
        return ELLIPSIS + _tail(digits)

    def phone_key(self, key: str) -> bool:
        """Whether values under the dict key `key` are masked as phone numbers by `value`
        (``to_number``, ``callback_number``, ``customerPhone``, ...); always False when disabled."""
        return self.enabled and _is_phone_key(key)

    def value(self, obj: T) -> T:
        """`obj` with every string redacted, recursively through dicts, lists and tuples.

        Keys are kept. Values under phone-like keys (``to_number``, ``phone``, ``customerPhone``,
        ``callerId``, ...) are masked with `phone`, ints included (they become strings). Other
        numbers, bools and None are returned as they are.
        """
        if not self.enabled:
            return obj
        return cast(T, self._value(obj, phone_field=False))

    def _value(self, obj: object, *, phone_field: bool) -> object:
        if isinstance(obj, str):
            return self.phone(obj) if phone_field else self.text(obj)
        if isinstance(obj, dict):
            return {
                key: self._value(item, phone_field=isinstance(key, str) and _is_phone_key(key))
                for key, item in obj.items()
            }
        if isinstance(obj, list):
            return [self._value(item, phone_field=phone_field) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self._value(item, phone_field=phone_field) for item in obj)
        if phone_field and isinstance(obj, int) and not isinstance(obj, bool):
            return self.phone(str(obj))
        return obj
