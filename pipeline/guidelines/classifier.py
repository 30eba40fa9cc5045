"""A compact linear classifier over a prompt's words and the policy's concepts, the guidelines' layer beyond their lists.

Trained by `scripts/train_guidelines_classifier.py` on the development corpora (and benign prompts of the tool's
own symbolic vocabulary) and shipped as `data/classifier.json`: the weights of the features that matter, its
training files' digests and its own SHA-256, recorded with every judgement. A prompt the rules let through is
refused when its score reaches the policy's `[classifier] threshold`; the judgement names the classifier, its
score and the threshold.

Features are the prompt's words and word pairs as the rules read them (look-alikes, leet, spacing, weighting,
emoji and misspellings resolved), their inflectional bases, and the policy's concepts the prompt mentions: each
rule whose terms occur, each group of a rule's `near` terms that occurs on its own ("an act of violence" without
"a person"), and each context. So a paraphrase that names half a rule's scene counts towards it, and what the
classifier learnt of a concept holds for every word the policy lists under it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pipeline.guidelines.matching import Prompt, negation, outside, spans_of
from pipeline.guidelines.normalise import Word, base
from pipeline.guidelines.policy import Guidelines, Term
from pipeline.output.files import bytes_sha256

# A concept: its feature name, its terms, and the innocent phrases (a rule's `unless`) that excuse them.
_Concept = tuple[str, tuple[Term, ...], tuple[Term, ...]]
_CONCEPTS: dict[str, tuple[_Concept, ...]] = {}


def _concepts(guidelines: Guidelines) -> tuple[_Concept, ...]:
    """The policy's concepts, computed once per policy."""
    key = guidelines.digest or str(id(guidelines))
    if key not in _CONCEPTS:
        found: list[_Concept] = []
        for rule in guidelines.rules:
            if rule.terms:
                found.append((f"r:{rule.id}", rule.terms, rule.unless))
            if rule.near is not None:
                for name in ("first", "second", "third"):
                    if getattr(rule.near, name):
                        found.append((f"r:{rule.id}:{name}", getattr(rule.near, name), rule.unless))
        found += [(f"x:{context.id}", context.terms, ()) for context in guidelines.contexts]
        _CONCEPTS[key] = tuple(found)
    return _CONCEPTS[key]


def _trained_base(word: Word) -> str:
    """The word's last distinct base, as the shipped weights were trained: with every final "e" dropped."""
    return list(dict.fromkeys(base(reading, silent_e=False) for reading in word.readings))[-1]


def features(prompt: Prompt, guidelines: Guidelines) -> set[str]:
    """The features present in an analysed prompt: "w:" words and word pairs, "b:" inflectional bases, "r:" the
    policy's rules and `near` groups and "x:" its contexts whose terms occur, neither negated ("no weapons") nor
    inside an innocent phrase of the rule ("88 keys", "a fizzling rocket")."""
    tokens = [word.readings[-1] for word in prompt.words]
    found = {"w:" + token for token in tokens}
    found.update(f"w:{one} {two}" for one, two in zip(tokens, tokens[1:]))
    found.update("b:" + _trained_base(word) for word in prompt.words)
    negated = negation(guidelines)
    for name, terms, unless in _concepts(guidelines):
        spans = [span for span in spans_of(terms, prompt)
                 if not negated.covers(span[0], prompt.words, prompt.text, lists=True)]
        if outside(spans, unless, prompt):
            found.add(name)
    return found


@dataclass(frozen=True)
class Classifier:
    bias: float
    weights: dict[str, float]
    digest: str
    trained_on: dict[str, str]

    def score(self, prompt: Prompt, guidelines: Guidelines) -> float:
        """The probability that the analysed prompt asks for a harmful image, by the model's logistic regression
        (each present feature weighs 1/sqrt(n) for a prompt of n features)."""
        present = features(prompt, guidelines)
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
