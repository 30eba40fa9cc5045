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
    """One word as matching sees it: its readings (canonical spellings), their inflectional bases ("stems"),
    and its span in the original."""

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


# Words whose final "s" is not a plural ending.
_NOT_PLURAL = frozenset({"news", "series", "species", "means", "politics", "economics", "physics", "arms", "gas",
                         "bias", "chaos", "canvas", "atlas", "lens", "always", "perhaps", "across", "towards"})


# One short vowel closed by one consonant: before "-ed" and "-ing" such a word doubles it ("rat", "ratted"), and
# with a silent "e" after it is another word ("rate", "rated").
_SHORT_SYLLABLE = re.compile(r"[^aeiouy]*[aeiou][^aeiouwxy]")


@lru_cache(maxsize=16384)
def base(word: str, silent_e: bool = True) -> str:
    """The inflectional base of a canonical word: plurals, "-ed" and "-ing" forms share it ("tanks", "tanked"
    -> "tank"; "bodies" -> "body"), but derived words keep their own ("reporter" is not "report", "severed" is
    not "several", "executive" is not "execute"). With `silent_e` false, a final "e" is always dropped ("rate"
    and "rat" share "rat"), as the shipped classifier's features were made."""
    if len(word) >= 3 and word.endswith("s") and word[-2].isdigit():
        return word[:-1]  # a model number in the plural: "AK-47s", "FAB-500s", "M16s"
    if len(word) <= 3 or not word.isalpha() or word in _NOT_PLURAL:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"
    if silent_e and word.endswith("eed"):
        return word  # "bleed", "speed", "need": no "-ed" ending
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            root = word[: -len(suffix)]
            if len(root) > 2 and root[-1] == root[-2] and root[-1] not in "lsz":
                root = root[:-1]  # "ratted", "tapping": a short word doubles its last letter
                if silent_e:
                    return root
            if silent_e and _SHORT_SYLLABLE.fullmatch(root):
                return root + "e"  # "rated", "taping", "hated": undoubled, so the word ends in a silent "e"
            return root[:-1] if root.endswith("e") and len(root) > 3 else root
    if word.endswith(("sses", "ches", "shes", "xes", "zzes")) or (word.endswith("ses") and word[:-2] in _NOT_PLURAL):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("e") and len(word) > 3 and not (silent_e and _SHORT_SYLLABLE.fullmatch(word[:-1])):
        return word[:-1]
    return word  # "rate" is not "rat", "hate" not "hat", "tape" not "tap"


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
    return Word(spelled, tuple(dict.fromkeys(base(reading) for reading in spelled)), start, end)


# Stable Diffusion weighting syntax: the weight in "(tank:1.4)", "(tank)1.3" or "[tank:0.5]" is not a word.
_WEIGHT = re.compile(r":\s*-?\d+(?:\.\d+)?(?=\s*[)\]>])|(?<=[)\]])\s*-?\d+(?:\.\d+)?")
# An emoji reads as its short name (anyascii gives ":bomb:"); a policy may say what the name stands for.
_SHORTCODE = re.compile(r":([a-z0-9_]+):")


def _blank(canon: str, pattern: re.Pattern) -> str:
    return pattern.sub(lambda m: " " * len(m.group()), canon)


def _emoji_words(canon: str, origin: list[int], emoji: dict[str, str]) -> tuple[str, list[int]]:
    """Each emoji short name replaced by the words the policy gives it (else its name's words), every
    character of them pointing back at the emoji."""
    chars: list[str] = []
    places: list[int] = []
    position = 0
    for found in _SHORTCODE.finditer(canon):
        chars.append(canon[position : found.start()])
        places.extend(origin[position : found.start()])
        name = found.group(1)
        spelled = " " + (emoji.get(name) or name.replace("_", " ")) + " "
        chars.append(spelled)
        places.extend([origin[found.start()]] * len(spelled))
        position = found.end()
    chars.append(canon[position:])
    places.extend(origin[position:])
    return "".join(chars), places


def words(text: str, emoji: dict[str, str] | None = None) -> list[Word]:
    """The words of `text` as matching sees them, with spans into `text` itself. Weighting syntax is read
    through, and emoji read as the words `emoji` maps their short names to (or their names)."""
    canon, origin = canonical_text(text)
    canon = _blank(canon, _WEIGHT)
    if ":" in canon:
        canon, origin = _emoji_words(canon, origin, emoji or {})
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
        # Right after a spaced-out word, two letters make one too ("d a n c i n g  o n  t h e")
        minimum = 2 if merged and merged[-1][3] else MIN_SPACED_LETTERS
        if len(run) >= minimum and len(run[0][0]) == 1:
            merged.append(("".join(part for part, _, _ in run), run[0][1], run[-1][2], True))
            index += len(run)
        else:
            merged.append((*found[index], False))
            index += 1
    return [_word(raw, origin[start], origin[end - 1] + 1, spaced) for raw, start, end, spaced in merged]


_PHRASE_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=None)
def phrase_words(phrase: str) -> tuple[str, ...]:
    """A policy term as canonical words (no digit swaps: terms are written plainly)."""
    canon = phrase.lower() if phrase.isascii() else canonical_text(phrase)[0]
    return tuple(_PHRASE_WORD.findall(canon))
