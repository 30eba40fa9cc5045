"""Text normalisation for rule matching: words in a canonical form, each mapped back to its place in the text.

Matching sees through letter case, Unicode compatibility forms (full-width, mathematical letters), invisible
characters (zero-width, soft hyphen), accents, look-alike letters from other scripts, common digit-for-letter
swaps and letters spaced apart. The text itself is never changed here: every word keeps the span of the
original characters it came from, so a rule can replace exactly what it matched and nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Digits and symbols that stand in for letters inside a word. "1" reads as "i" or "l", so it gives two readings.
LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s", "!": "i", "|": "l"}
LEET_ONE = ("i", "l")

# A word: letters, digits and the leet symbols; "!" and "|" only when a letter or digit follows.
_WORD = re.compile(r"(?:[a-z0-9@$]|[!|](?=[a-z0-9]))+")
# Single characters separated by at most this much punctuation or space form a spaced-out word ("t a n k").
_SPACED_GAP = re.compile(r"[\s.\-_*·•,/]{1,3}")
MIN_SPACED_LETTERS = 3


@dataclass(frozen=True)
class Word:
    """One word as matching sees it: its readings (canonical spellings), stems, and span in the original."""

    readings: tuple[str, ...]
    stems: tuple[str, ...]
    start: int
    end: int


@lru_cache(maxsize=4096)
def canonical_char(char: str) -> str:
    """The lower-case ASCII a single character reads as ('' for invisible characters)."""
    if char.isascii():
        return char.lower()
    if unicodedata.category(char) in ("Cf", "Mn", "Me"):
        return ""
    out = []
    for part in unicodedata.normalize("NFKC", char):
        if part.isascii():
            out.append(part.lower())
            continue
        if unicodedata.category(part) in ("Cf", "Mn", "Me"):
            continue
        out.append(_lookalike(part).lower())
    return "".join(out)


def _lookalike(char: str) -> str:
    """The ASCII letter a foreign character looks like, else its transliteration."""
    from anyascii import anyascii
    from confusable_homoglyphs.confusables import confusables_data

    for glyph in confusables_data.get(char, ()):
        if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalnum():
            return glyph["c"]
    return anyascii(char)


def canonical_text(text: str) -> tuple[str, list[int]]:
    """The text in canonical lower-case ASCII, and for each of its characters the index it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for out in canonical_char(char):
            chars.append(out)
            origin.append(index)
    return "".join(chars), origin


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """The English (Porter2) stem of a canonical word: plurals and inflections share one stem."""
    return _stemmer().stemWord(word)


def readings(raw: str) -> tuple[str, ...]:
    """The spellings a canonical word may stand for once digits and symbols are read as letters."""
    if raw.isalpha() or not any(char.isalpha() for char in raw):
        return (raw,)  # plain words and plain numbers read as themselves
    swapped = "".join(LEET.get(char, char) for char in raw)
    spellings = [swapped.replace("1", letter) for letter in LEET_ONE] if "1" in swapped else [swapped]
    return tuple(dict.fromkeys([raw, *spellings]))


# One-letter English words that may lead into a spaced-out word ("a t a n k" may be "a" + "tank").
_ONE_LETTER_WORDS = ("a", "i")


def _word(raw: str, start: int, end: int, spaced: bool = False) -> Word:
    spelled = readings(raw)
    if spaced and raw[0] in _ONE_LETTER_WORDS and len(raw) > MIN_SPACED_LETTERS:
        spelled = tuple(dict.fromkeys(spelled + readings(raw[1:])))
    return Word(spelled, tuple(dict.fromkeys(stem(reading) for reading in spelled)), start, end)


def words(text: str) -> list[Word]:
    """The words of `text` as matching sees them, with spans into `text` itself."""
    canon, origin = canonical_text(text)
    found = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(canon)]
    merged: list[tuple[str, int, int, bool]] = []
    index = 0
    while index < len(found):
        run = [found[index]]
        separator = None  # one spaced-out word uses one separator throughout: "a b-o-m-b" is "a" and "bomb"
        while len(run[-1][0]) == 1 and index + len(run) < len(found) and len(found[index + len(run)][0]) == 1:
            gap = canon[run[-1][2] : found[index + len(run)][1]]
            if not _SPACED_GAP.fullmatch(gap) or separator not in (None, gap):
                break
            separator = gap
            run.append(found[index + len(run)])
        if len(run) >= MIN_SPACED_LETTERS and len(run[0][0]) == 1:
            merged.append(("".join(part for part, _, _ in run), run[0][1], run[-1][2], True))
            index += len(run)
        else:
            merged.append((*found[index], False))
            index += 1
    return [_word(raw, origin[start], origin[end - 1] + 1, spaced) for raw, start, end, spaced in merged]


def phrase_words(phrase: str) -> tuple[str, ...]:
    """A policy term as canonical words (no digit swaps: terms are written plainly)."""
    canon, _ = canonical_text(phrase)
    return tuple(m.group() for m in re.finditer(r"[a-z0-9]+", canon))
