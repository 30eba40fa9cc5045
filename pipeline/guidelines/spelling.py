"""Misspelt and split words read as the policy's words they stand for ("soliders", "sol-diers", "exe cution").

Only words that are not English words are corrected, and only towards the policy's own terms, so an ordinary
word is never read as another ("swore" stays "swore", "tang" stays "tang").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from pipeline.guidelines.normalise import Word, base
from pipeline.guidelines.vocabulary import vocabulary

# Fragments of one word are joined when only this separates them: "sol-diers", "ta nks", "exe.cution".
_FRAGMENT_GAP = re.compile(r"[\s\-_.*·'’+~]{1,2}")
_APOSTROPHES = ("'", "’")
# Short words that are words in their own right: a fragment like these does not suggest a split.
_FUNCTION_WORDS = frozenset(
    "a an the of in on at to by for and or as is it be we he she his her my our its no not with from up out off "
    "so do if me us i you they them this that all one two".split()
)
MIN_FUZZY_LENGTH = 5
MAX_FRAGMENTS = 4


@dataclass(frozen=True)
class Lexicon:
    """The single words of a policy's terms: stems (inflected terms), exact spellings, and spellings to correct to."""

    stems: frozenset[str]
    exact: frozenset[str]
    spellings: tuple[str, ...]
    forms: frozenset[str] = frozenset()
    # The term word each inflected spelling comes from, where its own base is another: "stabed" (a misspelt
    # "stabbed") is "stab", though "rated" is "rate", not "rat".
    stem_of: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def knows(self, reading: str) -> bool:
        return reading in self.exact or base(reading) in self.stems

    def stem(self, spelling: str) -> str:
        return self.stem_of.get(spelling) or base(spelling)


def inflections(word: str) -> set[str]:
    """A term word and its usual inflected spellings, to correct a misspelling of either towards.

    Only spellings that English makes: a word already inflected ("soiled", "beheading") takes no more endings,
    "-es" follows a hissing sound, a final "e" is not doubled ("smileed"), and an agent noun ("gunner", "looter")
    only where the word list knows it. A made-up spelling is not harmless: a slip is corrected to the nearest
    spelling, and "soileders" (from "soiled") stood nearer to "soilders" than "soldiers" does."""
    forms = {word, word + "s"}
    if len(word) > 5 and word.endswith(("ed", "ing")):
        return forms
    agents: set[str] = set()
    if word.endswith("e"):
        forms |= {word + "d", word[:-1] + "ing"}
        agents |= {word + "r", word + "rs"}
    else:
        forms |= {word + "ed", word + "ing"}
        agents |= {word + "er", word + "ers"}
        if word.endswith(("s", "x", "z", "ch", "sh")):
            forms.add(word + "es")
    if word.endswith("y"):
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    if len(word) > 2 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou" and word[-3] not in "aeiou":
        forms |= {word + word[-1] + "ing", word + word[-1] + "ed"}
        agents |= {word + word[-1] + "er", word + word[-1] + "ers"}
    return forms | {agent for agent in agents if _real_word(agent) or _real_word(agent.removesuffix("s"))}


def build_lexicon(inflected: set[str], exact: set[str]) -> Lexicon:
    spellings = set(exact)
    stem_of: dict[str, str] = {}
    for word in sorted(inflected):
        for form in inflections(word):
            spellings.add(form)
            if form.endswith(("ed", "ing")) and base(form) == base(word) + "e" and form not in exact:
                stem_of.setdefault(form, base(word))
    usable = sorted(word for word in spellings if len(word) >= MIN_FUZZY_LENGTH - 1 and word.isalpha())
    return Lexicon(frozenset(base(word) for word in inflected), frozenset(exact), tuple(usable), frozenset(spellings),
                   stem_of)


def _real_word(reading: str) -> bool:
    return reading in vocabulary().english


def _suspicious(fragment: str) -> bool:
    """Whether a fragment looks like a piece of a word rather than a word."""
    return not _real_word(fragment) or (len(fragment) <= 3 and fragment not in _FUNCTION_WORDS)


def repair(found: list[Word], text: str, lexicon: Lexicon) -> list[Word]:
    """`found` with split words joined and misspelt words given the policy spelling they stand for."""
    out: list[Word] = []
    index = 0
    while index < len(found):
        joined = _join(found, index, text, lexicon)
        if joined is not None:
            word, used = joined
            out.append(word)
            index += used
            continue
        word = found[index]
        written = text[word.start:word.end]
        if written[:1].isupper() and not written.isupper() and _SENTENCE_GOES_ON.search(text[:word.start]):
            out.append(word)  # a name within a sentence is no slip: "the Cliffs of Moher", "in Nukus"
        else:
            out.append(_correct(word, lexicon, written[:1].isupper()))
        index += 1
    return out


# Text before a word that puts the word within a sentence (not first in it, nor after a colon or a line break)
_SENTENCE_GOES_ON = re.compile(r"[^\s.!?:;\n\"'“‘(\[*#>-]\s*[\"'“‘(]?$")


def _join(found: list[Word], index: int, text: str, lexicon: Lexicon) -> tuple[Word, int] | None:
    for size in range(min(MAX_FRAGMENTS, len(found) - index), 1, -1):
        run = found[index : index + size]
        if not all(_FRAGMENT_GAP.fullmatch(text[a.end : b.start]) for a, b in zip(run, run[1:])):
            continue
        # A possessive or a contraction ("what's", "the sniper's") is two words, as the policy's terms write it
        if any(b.readings[-1] == "s" and text[a.end : b.start] in _APOSTROPHES for a, b in zip(run, run[1:])):
            continue
        # ... and so is the "s" it ends with: "New Year's as the blocks come down" holds no "SAS"
        if run[0].readings[-1] == "s" and text[run[0].start - 1 : run[0].start] in _APOSTROPHES:
            continue
        pieces = [word.readings[-1] for word in run]
        reading = "".join(pieces)
        if not reading.isalpha() or reading not in lexicon.forms or reading in _FUNCTION_WORDS:
            continue  # "a T-72" is not "at" and "72"
        if not any(_suspicious(piece) for piece in pieces):
            continue
        # Words that are all English do not make a word that is not: "a red smear" is not "ared smear"
        if all(_real_word(piece) for piece in pieces) and not (_real_word(reading) or _real_word(base(reading))):
            continue
        return Word((reading,), (lexicon.stem(reading),), run[0].start, run[-1].end), size
    return None


def _correct(word: Word, lexicon: Lexicon, capital: bool = False) -> Word:
    """`word` with the policy spelling it is likeliest a slip for among its readings; `capital`: it is written with
    a capital, as names are (a name is no slip: "Moher" is not read as "mother")."""
    extra: list[str] = []
    for reading in word.readings:
        if len(reading) < MIN_FUZZY_LENGTH or not reading.isalpha() or _real_word(reading) or lexicon.knows(reading):
            continue
        found = _nearest(reading, lexicon.spellings, not capital)
        if found:
            extra.append(found)
    if not extra:
        return word
    readings = tuple(dict.fromkeys(word.readings + tuple(extra)))
    return replace(word, readings=readings, stems=tuple(dict.fromkeys(word.stems + tuple(map(lexicon.stem, extra)))))


@lru_cache(maxsize=8192)
def _nearest(reading: str, spellings: tuple[str, ...], dropped: bool = True) -> str | None:
    limit = 1 if len(reading) < 9 else 2
    found = process.extract(reading, spellings, scorer=DamerauLevenshtein.distance, score_cutoff=2, limit=None)
    if not found:
        return None
    # Of the nearest spellings, one the word's letters are all in, in order, is the likeliest where `dropped`: a
    # letter left out is a commoner slip than one put in ("hangd" is "hanged", not "hand")
    distance = found[0][1]
    nearest = [spelling for spelling, at, _ in found if at == distance]
    best = next((spelling for spelling in nearest if dropped and _within(reading, spelling)), nearest[0])
    # ... and, before it, one with the very same letters in another order ("soilders" is "soldiers")
    best = next((spelling for spelling in nearest if sorted(spelling) == sorted(reading)), best)
    # Two edits only for long words, or when the letters of a word of six or more are all there in another order
    # ("soilders"; "kunar", a province, is no "kuran")
    if distance <= limit or (len(reading) >= 6 and sorted(best) == sorted(reading)):
        return best
    return None


def _within(letters: str, word: str) -> bool:
    """Whether `letters` are all in `word`, in order."""
    rest = iter(word)
    return all(letter in rest for letter in letters)
