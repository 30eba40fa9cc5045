"""A compact linear classifier over word and letter n-grams, the guidelines' layer beyond their lists.

Trained by `scripts/train_guidelines_classifier.py` on the development corpora and shipped as
`data/classifier.json` (weights of the n-grams that matter, its training files' digests and its own SHA-256
recorded with every judgement). A prompt the rules let through is refused when its score reaches the policy's
`[classifier] threshold`; the judgement names the classifier, its score and the threshold.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pipeline.guidelines.normalise import words
from pipeline.output.files import bytes_sha256

# The same tokens as scikit-learn's CountVectorizer: words of two or more word characters.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)


def canonical(text: str) -> str:
    """The prompt as the rules read it (look-alikes, leet, spacing, weighting and emoji resolved), as words."""
    return " ".join(word.readings[-1] for word in words(text))


def features(text: str) -> set[str]:
    """The n-grams present in `text`: "w:" word n-grams and "c:" letter n-grams of each word padded by spaces
    (scikit-learn's `char_wb`), computed on its canonical form."""
    canon = canonical(text).lower()
    tokens = _TOKEN.findall(canon)
    found = set()
    for n in range(WORD_NGRAMS[0], WORD_NGRAMS[1] + 1):
        found.update("w:" + " ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    for word in canon.split():
        padded = f" {word} "
        for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1):
            if len(padded) < n:
                continue
            found.update("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    return found


@dataclass(frozen=True)
class Classifier:
    bias: float
    weights: dict[str, float]
    digest: str
    trained_on: dict[str, str]

    def score(self, text: str) -> float:
        """The probability that `text` asks for a harmful image, by the model's logistic regression."""
        present = features(text)
        if not present:
            return 0.0
        total = self.bias + sum(self.weights.get(feature, 0.0) for feature in present) / math.sqrt(len(present))
        return 1 / (1 + math.exp(-max(-60.0, min(60.0, total))))


@lru_cache(maxsize=1)
def classifier() -> Classifier:
    """The shipped classifier (read on first use)."""
    data = (resources.files("pipeline.guidelines") / "data" / "classifier.json").read_bytes()
    model = json.loads(data)
    return Classifier(model["bias"], model["weights"], bytes_sha256(data), model["trained_on"])
