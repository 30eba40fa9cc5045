"""Train the guidelines' classifier on the development corpora and write pipeline/guidelines/data/classifier.json.

    pip install scikit-learn && python scripts/train_guidelines_classifier.py [--cv]

Training examples: every prompt of the development corpora (harmful ones are positive, benign and newsroom ones
negative), plus benign prompts in the tool's own symbolic vocabulary (pipeline/guidelines/data/
classifier_symbolic.toml, filled in a fixed order) and the sentences of the example articles in prompts/. The
held-out corpora are never read here. Features are those of `pipeline.guidelines.classifier.features` (words,
word pairs, their bases and the concepts of the shipped policy, which is recorded with the corpora), each
1/sqrt(n) for a prompt of n; the model is scikit-learn's logistic regression with fixed settings, so the
same files give the same classifier.

With --cv, it prints figures instead of writing the file (those in docs/guidelines.md): five-fold
cross-validated rates on all development corpora, and, to judge how it generalises, each development corpus
scored by a classifier trained without it (the policy was tuned on every development corpus, so what the
classifier alone catches there is the better guide to prompts nobody has seen).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.output.files import replace_file  # noqa: E402
from pipeline.guidelines import judge, load_guidelines  # noqa: E402
from pipeline.guidelines.classifier import features  # noqa: E402
from pipeline.guidelines.matching import analyse  # noqa: E402
from pipeline.guidelines.corpus import load_corpus  # noqa: E402

CORPUS = REPO / "tests" / "guidelines_corpus"
# The development parts the learnt layers are trained on: all but dev21 (2026.11.17), which tunes the rules only
# (a classifier trained with it neutralised 1.5 points fewer harmful prompts, summed over the older held-out parts),
# and every later part (dev22 on, from 2026.11.18), which tunes the rules and the meaning layer's thresholds (the
# meaning heads are trained on some of them: scripts/train_guidelines_meaning.py). The parts are numbered in the
# order they were written, so a part added for a later round is left out without editing this list.
CORPORA = [path for path in sorted(CORPUS.glob("dev*.jsonl"))
           if int(path.stem.removeprefix("dev") or 1) < 21]
SYMBOLIC = REPO / "pipeline" / "guidelines" / "data" / "classifier_symbolic.toml"
ARTICLES = sorted((REPO / "prompts").glob("*.txt"))
POLICY = REPO / "prompts" / "guidelines.toml"
OUT = REPO / "pipeline" / "guidelines" / "data" / "classifier.json"
C = 100
PRUNE = 0.01
# Variants made from each symbolic template.
VARIANTS = 12
THRESHOLDS = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95)
_SLOT = re.compile(r"\{(\w+)\}")


def symbolic_prompts() -> list[str]:
    """Benign prompts of the symbolic vocabulary: each template filled VARIANTS times, every other one inside a
    style's template (the same list on every run)."""
    data = tomllib.loads(SYMBOLIC.read_text(encoding="utf-8"))
    styles = [style.template for style in load_guidelines().styles.values() if style.template != "{prompt}"]
    chooser = random.Random(0)
    prompts = []
    for template in data["templates"]:
        for variant in range(VARIANTS):
            text = _SLOT.sub(lambda slot: chooser.choice(data[slot.group(1)]), template)
            text = text[:1].upper() + text[1:] if variant % 3 == 0 else text
            if variant % 2:
                text = styles[variant // 2 % len(styles)].replace("{prompt}", text)
            prompts.append(text)
    return list(dict.fromkeys(prompts))


def article_sentences() -> list[str]:
    """The sentences of the example articles (a news story's own words, benign), headings included."""
    found = []
    for path in ARTICLES:
        for part in path.read_text(encoding="utf-8").split("$$$"):
            for sentence in re.split(r"(?<=[.!?])\s+|\n+", part):
                if len(sentence.split()) >= 4:
                    found.append(sentence.strip())
    return list(dict.fromkeys(found))


def featurise(text: str) -> set[str]:
    """The classifier's features of `text` under the shipped policy (whose concepts they name)."""
    policy = load_guidelines()
    return features(analyse(policy, text), policy)


def vector(sample: set[str]) -> dict[str, float]:
    """A prompt's n-grams, each 1/sqrt(n): a long prompt weighs no more than a short one."""
    return {feature: 1 / math.sqrt(len(sample)) for feature in sample} if sample else {}


def fit(samples: list[set[str]], labels: np.ndarray):
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform([vector(sample) for sample in samples])
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced", solver="lbfgs").fit(matrix, labels)
    return vectorizer, model


def extras() -> tuple[list[set[str]], np.ndarray]:
    """The benign examples added to every training set: symbolic prompts and article sentences."""
    texts = symbolic_prompts() + article_sentences()
    return [featurise(text) for text in texts], np.zeros(len(texts), dtype=int)


def rules_alone(examples) -> list[tuple[bool, bool, set[str]]]:
    """For each example: whether the rules acted, whether they met its label, and the n-grams of the subject they
    left (what the classifier judges)."""
    policy = load_guidelines()
    found = []
    for example in examples:
        judgement = judge(example.prompt, style="none", guidelines=policy, use_classifier=False)
        subject = judgement.subject.lower()
        blocked = judgement.verdict == "block"
        if example.kind == "harmful":
            met = blocked or not any(phrase in subject for phrase in example.harm)
        else:
            met = not blocked and all(phrase in subject for phrase in example.keep)
        found.append((judgement.verdict != "allow", met, featurise(judgement.subject) if judgement.subject else set()))
    return found


def report(title: str, examples, rules, probability: np.ndarray, alone: np.ndarray | None = None) -> None:
    """Rates of the rules alone and with the classifier at each threshold; with `alone`, what the classifier alone
    (on the prompt as written) catches of the harmful prompts, by technique, and refuses of the others."""
    harmful = [i for i, e in enumerate(examples) if e.kind == "harmful"]
    other = [i for i, e in enumerate(examples) if e.kind != "harmful"]
    rate = lambda chosen, ok: sum(map(ok, chosen)) / len(chosen)  # noqa: E731
    print(f"{title}\n  rules alone: harmful {rate(harmful, lambda i: rules[i][1]):.3f}, "
          f"benign and newsroom kept {rate(other, lambda i: rules[i][1]):.3f}")
    for threshold in THRESHOLDS:
        flagged = lambda i: probability[i] >= threshold and not rules[i][0]  # noqa: E731
        line = (f"  with classifier >= {threshold}: harmful {rate(harmful, lambda i: rules[i][1] or flagged(i)):.3f}, "
                f"benign and newsroom kept {rate(other, lambda i: rules[i][1] and not flagged(i)):.3f}")
        if alone is not None:
            techniques = sorted({examples[i].technique for i in harmful})
            caught = {t: rate([i for i in harmful if examples[i].technique == t], lambda i: alone[i] >= threshold)
                      for t in techniques}
            line += (f"; classifier alone: harmful {rate(harmful, lambda i: alone[i] >= threshold):.3f} "
                     f"(paraphrase {caught.get('paraphrase', 0):.2f}, jargon {caught.get('jargon', 0):.2f}, "
                     f"lowest {min(caught.values()):.2f}), "
                     f"benign and newsroom refused {rate(other, lambda i: alone[i] >= threshold):.3f}")
        print(line)


def cross_validate(examples, samples, labels) -> None:
    rules = rules_alone(examples)
    extra_samples, extra_labels = extras()
    # 1. Five folds over all development corpora; the extras are in every training set.
    probability = np.zeros(len(samples))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(samples, labels):
        vectorizer, model = fit([samples[i] for i in train] + extra_samples,
                                np.concatenate([labels[train], extra_labels]))
        probability[test] = model.predict_proba(vectorizer.transform([vector(rules[i][2]) for i in test]))[:, 1]
    report(f"five-fold cross-validation on {', '.join(p.name for p in CORPORA)}:", examples, rules, probability)
    # 2. Each development corpus judged by a classifier trained on the others
    for path in CORPORA:
        held = np.array([example.source == path.name for example in examples])
        vectorizer, model = fit([s for s, h in zip(samples, held) if not h] + extra_samples,
                                np.concatenate([labels[~held], extra_labels]))
        chosen = np.flatnonzero(held)
        part = [examples[i] for i in chosen]
        probability = model.predict_proba(vectorizer.transform([vector(rules[i][2]) for i in chosen]))[:, 1]
        alone = model.predict_proba(vectorizer.transform([vector(samples[i]) for i in chosen]))[:, 1]
        report(f"{path.name}, by a classifier trained without it:", part, [rules[i] for i in chosen], probability,
               alone)


def write_model(path: Path, data: dict) -> None:
    """A trained model's data file: compact JSON with sorted keys (the same model gives the same bytes), written
    atomically."""
    replace_file(path, (json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
                        ).encode("utf-8"))


class Example:
    """A corpus example and the file it came from."""

    def __init__(self, example, source: str):
        self.__dict__.update(example.__dict__)
        self.source = source


def main() -> int:
    examples = [Example(example, path.name) for path in CORPORA for example in load_corpus(path)]
    samples = [featurise(example.prompt) for example in examples]
    labels = np.array([1 if example.kind == "harmful" else 0 for example in examples])
    if "--cv" in sys.argv:
        cross_validate(examples, samples, labels)
        return 0
    extra_samples, extra_labels = extras()
    vectorizer, model = fit(samples + extra_samples, np.concatenate([labels, extra_labels]))
    weights = {name: round(float(weight), 4) for name, weight in zip(vectorizer.feature_names_, model.coef_[0])
               if abs(weight) >= PRUNE}
    trained_on = [*CORPORA, SYMBOLIC, *ARTICLES, POLICY]
    data = {
        "model": f"logistic regression (scikit-learn, C={C}, balanced classes) over words, word pairs, bases and "
                 f"the policy's concepts, each feature 1/sqrt(n)",
        "trained_on": {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in trained_on},
        "bias": round(float(model.intercept_[0]), 4),
        "weights": dict(sorted(weights.items())),
    }
    write_model(OUT, data)
    print(f"{OUT}: {len(weights)} weights, {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
