"""The shipped word lists: English words, and the common words of other languages written in Latin letters.

Built by `scripts/build_vocabulary.py` from the `wordfreq` package's data (CC BY-SA 4.0) and shipped as
`data/vocabulary.txt.gz`; read once per process, lazily, and identified by its SHA-256 in every judgement.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from pipeline.output.files import bytes_sha256


@dataclass(frozen=True)
class Vocabulary:
    """English words (to tell a word from a misspelling), other languages' common words, and the data's digest."""

    source: str
    digest: str
    english: frozenset[str]
    _others: dict[str, str] = field(repr=False)

    def language_words(self, code: str) -> frozenset[str]:
        return _split(self._others[code])

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._others)


@lru_cache(maxsize=None)
def _split(line: str) -> frozenset[str]:
    return frozenset(line.split(" "))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The shipped vocabulary (read on first use)."""
    data = (resources.files("pipeline.guidelines") / "data" / "vocabulary.txt.gz").read_bytes()
    lists = dict(line.split("\t", 1) for line in gzip.decompress(data).decode().splitlines())
    source = lists.pop("source")
    english = frozenset(lists.pop("en").split(" "))
    return Vocabulary(source, bytes_sha256(data), english, lists)
