"""Whether a prompt is written in English: by its letters' scripts, then by the common words of other languages.

The text encoders of Stable Diffusion models are trained on English, and the policy's words are English, so a
prompt in another language gets an explicit verdict instead of passing unread.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipeline.guidelines.vocabulary import vocabulary

_WORD = re.compile(r"[^\W\d_]+")
# A word counts for another script when it has letters of that script which do not merely look like Latin ones
# (Cyrillic "ѕоldіег" is an evasion in English, Russian "солдаты" is Russian).
_LATIN_LOOKALIKES = set("аеорсухіјѕԁһԛԝοαικνρτυχεΑΒΕΖΗΙΚΜΝΟΡΤΥΧАВЕКМНОРСТХЅІЈ")
# Below this many words, a prompt is too short to call another Latin-script language.
MIN_WORDS = 3
FOREIGN_SHARE = 0.3
# With at least this share of words unknown to English, a lower share of evidence (FOREIGN_SHARE_WHEN_UNKNOWN)
# calls another language ("Heldenhafte Panzerdivision stürmt über das Schlachtfeld").
MOSTLY_UNKNOWN = 0.45
FOREIGN_SHARE_WHEN_UNKNOWN = 0.25
# A prompt with fewer words unknown to English than this share is English, whatever else it holds.
UNKNOWN_SHARE = 0.15


@dataclass(frozen=True)
class Language:
    """The language a prompt seems to be in: `english`, and else what was seen (a script or a language code)."""

    english: bool
    name: str = "en"
    evidence: str = ""


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else ""


def identify(text: str) -> Language:
    """Judge the language of `text` from its words: the share written in another script, else the share of
    words common in one other language and not English words."""
    words = _WORD.findall(text)
    if not words:
        return Language(True)
    scripts: dict[str, int] = {}
    for word in words:
        foreign = [_script(c) for c in word if not c.isascii() and c not in _LATIN_LOOKALIKES]
        foreign = [script for script in foreign if script and script != "LATIN"]
        if foreign:
            scripts[foreign[0]] = scripts.get(foreign[0], 0) + 1
    if scripts:
        script, count = max(scripts.items(), key=lambda item: item[1])
        if count / len(words) >= FOREIGN_SHARE or count >= 3:
            return Language(False, script.lower(), f"{count} of {len(words)} words in {script.title()} script")
    # Names ("Kim Jong Un", "Olaf Scholz") say nothing of the language: capitalised words inside a sentence are
    # left out (a German noun is too, which costs nothing: German has articles enough).
    latin = [_fold(found.group()) for found in _WORD.finditer(text)
             if (found.group().isascii() or _script(found.group()[0]) == "LATIN") and not _name(text, found)]
    if len(latin) < MIN_WORDS:
        return Language(True)
    vocab = vocabulary()
    unknown = [word for word in latin if word not in vocab.english]
    if len(unknown) / len(latin) < UNKNOWN_SHARE:
        return Language(True)
    # Letters English does not use (é, ñ, ż, ß...) in a word English does not know are evidence too.
    accented = sum(1 for word in unknown if not word.isascii())
    best, best_hits = "en", 0.0
    for code in vocab.languages:
        common = vocab.language_words(code)
        # A short word ("un", "la", "die") is weaker evidence than a long one: names and loans contain them.
        hits = sum(1.0 if len(word) > 3 else 0.5 for word in latin
                   if word in common and (word in unknown or len(word) <= 3))
        if hits > best_hits:
            best, best_hits = code, hits
    # One word is one piece of evidence: a loan word common in the other language and spelt with its letters
    # ("épée", "café") counts once, so one such word never makes an English prompt foreign
    if best != "en":
        accented -= sum(1 for word in unknown if not word.isascii() and word in vocab.language_words(best))
    evidence = best_hits + accented
    # Where most words are unknown to English, less evidence of the other language is needed.
    share = FOREIGN_SHARE if len(unknown) / len(latin) < MOSTLY_UNKNOWN else FOREIGN_SHARE_WHEN_UNKNOWN
    if evidence >= 2 and evidence / len(latin) >= share:
        return Language(False, best, f"{len(unknown)} of {len(latin)} words not English; "
                                     f"{best_hits:g} common in {best!r}, {accented} with letters English does not use")
    return Language(True)


def _name(text: str, found: re.Match) -> bool:
    """Whether the word found is capitalised inside a sentence (a name), rather than lower-case or first."""
    if not found.group()[0].isupper():
        return False
    before = text[: found.start()].rstrip(" \t\"'«“(")
    return bool(before) and before[-1] not in ".!?:;\n"


def _fold(word: str) -> str:
    return word.lower()
