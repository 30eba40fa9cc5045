"""Build pipeline/guidelines/data/vocabulary.txt.gz: the English vocabulary and other languages' common words.

The guidelines use the English vocabulary to tell a real word from a misspelling or a split word, and the other
lists to notice a prompt written in another language. The lists come from the `wordfreq` package (data licensed
CC BY-SA 4.0; see docs/guidelines.md), so `pip install wordfreq` before running this script. The output is
deterministic: the same wordfreq version gives the same bytes, and its SHA-256 is recorded with every judgement.

    python scripts/build_vocabulary.py
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

import wordfreq
from importlib.metadata import version

OUT = Path(__file__).resolve().parents[1] / "pipeline" / "guidelines" / "data" / "vocabulary.txt.gz"
# Latin-script languages a newsroom prompt is most likely to arrive in; other scripts are told by their letters.
LANGUAGES = ("fr", "de", "es", "it", "pt", "nl", "pl", "tr", "sv", "da", "nb", "fi", "cs", "ro", "hu", "id", "vi",
             "ca", "sh", "sk", "sl", "lt", "lv", "ms", "fil")
ENGLISH_MIN_ZIPF = 2.6      # words this frequent are real English words (typos sit lower)
FOREIGN_WORDS = 5000        # the most frequent words of each other language...
ENGLISH_EXCLUDE_ZIPF = 5.5  # ...leaving out the commonest English words ("a", "in", "the")
_LETTERS = re.compile(r"[^\W\d_]+")


def english() -> list[str]:
    words = {w for w in wordfreq.top_n_list("en", 200_000) if _LETTERS.fullmatch(w)
             and wordfreq.zipf_frequency(w, "en") >= ENGLISH_MIN_ZIPF}
    return sorted(words)


def foreign(code: str) -> list[str]:
    words = []
    for word in wordfreq.top_n_list(code, FOREIGN_WORDS * 2):
        if len(words) == FOREIGN_WORDS:
            break
        if _LETTERS.fullmatch(word) and len(word) > 1 and wordfreq.zipf_frequency(word, "en") < ENGLISH_EXCLUDE_ZIPF:
            words.append(word)
    return sorted(words)


def main() -> int:
    # One line a language: its code, a tab, its words separated by spaces; the first line names the source.
    lines = [f"source\twordfreq {version('wordfreq')}", "en\t" + " ".join(english())]
    lines += [f"{code}\t" + " ".join(foreign(code)) for code in LANGUAGES]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress("\n".join(lines).encode() + b"\n", compresslevel=9, mtime=0))
    print(f"{OUT}: {len(lines) - 1} word lists, {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
