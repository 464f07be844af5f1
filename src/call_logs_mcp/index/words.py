"""Words as the search index sees them: tokens, English stop words, and exact-phrase checks.

The FTS5 table tokenizes with `porter unicode61 remove_diacritics 2`: tokens are runs of letters
and digits, folded to lower case without diacritics, then stemmed ("refunds", "refunded" and
"refunding" are all "refund"). A "quoted phrase" must still match its exact words in order, which
stems cannot tell apart, so `exact_phrase` (an SQL function registered on every connection)
checks the unstemmed tokens of the rows the stemmed phrase matched.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import unicodedata

# English stop words (the common function words of NLTK's and scikit-learn's lists), plus the
# words people use to frame a question about calls ("calls where someone asked ..."). A sentence
# is searched by what is left.
_STOP_WORDS = """
    a about above after again against all am an and any are aren arent as at be because been before
    being below between both but by can cannot could couldn did didn didnt do does doesn doesnt
    doing don dont down during each either else ever few for from further get got had hadn has hasn
    have haven having he her here hers herself him himself his how i if in into is isn isnt it its
    itself just let me might more most much must mustn my myself neither no nor not now of off on
    once only or other ought our ours ourselves out over own please same shall shan she should
    shouldn so some such than that the their theirs them themselves then there these they this
    those through to too under until up upon us very via was wasn we were weren what when where
    whether which while who whom whose why will with within without won would wouldn yet you your
    yours yourself yourselves anybody anyone somebody someone something anything everyone everybody
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

# Who spoke and the act of speaking ("the customer asked for a refund", "someone mentioned a
# competitor"): words about the conversation rather than in it. A sentence leaves them out unless
# nothing else is left (the speaker filter searches one side of the conversation).
_SPEECH_WORDS = """
    customer customers caller callers client clients user users agent agents person people ask asks
    asked asking say says said saying mention mentions mentioned mentioning talk talks talked
    talking tell tells told telling speak speaks spoke spoken speaking want wants wanted wanting
    wish wishes wished
"""
SPEECH_WORDS = frozenset(_SPEECH_WORDS.split())

# "calls where ...", "find all conversations in which ...": the frame of a question, not its content.
_FRAME = re.compile(
    r"^\s*(?:(?:please\s+)?(?:find|show|list|search|get|give|look\s+for)\s+(?:me\s+)?(?:all\s+|any\s+|the\s+)?)?"
    r"(?:calls?|conversations?|transcripts?|turns?)\s+"
    r"(?:where|in\s+which|that|which|with|when|in\s+which\s+the)\s+",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[^\W_]+")


def strip_frame(text: str) -> tuple[str, str]:
    """(the question's frame, the rest): ("calls where ", "someone asked for a refund")."""
    match = _FRAME.match(text)
    if match is None or not text[match.end() :].strip():
        return "", text
    return match.group(0), text[match.end() :]


@functools.lru_cache(maxsize=4096)
def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """The unstemmed tokens of `text`, as the index's unicode61 tokenizer makes them."""
    return [_fold(token) for token in _TOKEN.findall(text)]


def token_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded token) of each token of `text`, as `tokens` makes them."""
    return [(m.start(), m.end(), _fold(m.group())) for m in _TOKEN.finditer(text)]


def _folded(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=256)
def _phrase_pattern(phrase: str, prefix: bool) -> re.Pattern[str]:
    """The phrase's tokens in order, separated by anything that is not a token character, and
    not inside a longer token (the last may run on when `prefix`)."""
    body = r"[\W_]+".join(re.escape(token) for token in phrase.split(" "))
    return re.compile(r"(?<![^\W_])" + body + ("" if prefix else r"(?![^\W_])"))


def exact_phrase(text: str | None, phrase: str | None, prefix: int | None) -> int:
    """1 when the tokens of `phrase` occur in `text` consecutively and in order (the last one as
    a prefix when `prefix`), else 0. Registered as the SQL function `exact_phrase`; it runs on
    every row the stemmed phrase matched, so it is one compiled search over the folded text."""
    if not text or not phrase:
        return 0
    return int(_phrase_pattern(phrase, bool(prefix)).search(_folded(text)) is not None)


def register(conn: sqlite3.Connection) -> None:
    """Make `exact_phrase(text, phrase, prefix)` available to SQL on `conn`."""
    conn.create_function("exact_phrase", 3, exact_phrase, deterministic=True)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of `a` and `b`, or `limit + 1` as soon as it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        best = i
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            current.append(value)
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous = current
    return previous[-1]
