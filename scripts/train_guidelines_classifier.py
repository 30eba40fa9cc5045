"""Train the guidelines' classifier on the development corpora and write pipeline/guidelines/data/classifier.json.

    pip install scikit-learn && python scripts/train_guidelines_classifier.py [--cv]

Features are the n-grams of `pipeline.guidelines.classifier.features`, each 1/sqrt(n) for a prompt of n; the model is scikit-learn's
logistic regression with fixed settings, so the same corpora give the same file. The held-out corpus is never
read here. With --cv, it prints five-fold cross-validated rates of the rules alone and of the rules with the
classifier at several thresholds instead of writing the file (the figures in docs/guidelines.md).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.guidelines import judge, load_guidelines  # noqa: E402
from pipeline.guidelines.classifier import features  # noqa: E402
from pipeline.guidelines.corpus import load_corpus  # noqa: E402

CORPORA = [REPO / "tests" / "guidelines_corpus" / name for name in ("dev.jsonl", "dev2.jsonl")]
OUT = REPO / "pipeline" / "guidelines" / "data" / "classifier.json"
C = 32
PRUNE = 0.01


def vector(sample: set[str]) -> dict[str, float]:
    """A prompt's n-grams, each 1/sqrt(n): a long prompt weighs no more than a short one."""
    return {feature: 1 / math.sqrt(len(sample)) for feature in sample} if sample else {}


def fit(samples: list[set[str]], labels: np.ndarray):
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform([vector(sample) for sample in samples])
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced", solver="lbfgs").fit(matrix, labels)
    return vectorizer, model


def cross_validate(examples, samples, labels) -> None:
    policy = load_guidelines()
    outcomes, subjects = [], []
    for example in examples:
        judgement = judge(example.prompt, style="none", guidelines=policy, use_classifier=False)
        subject = judgement.subject.lower()
        blocked = judgement.verdict == "block"
        if example.kind == "harmful":
            met = blocked or not any(phrase in subject for phrase in example.harm)
        else:
            met = not blocked and all(phrase in subject for phrase in example.keep)
        outcomes.append((judgement.verdict != "allow", met))
        subjects.append(features(judgement.subject) if judgement.subject else set())
    # The classifier judges the prompts in which the rules found nothing.
    probability = np.zeros(len(samples))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(samples, labels):
        vectorizer, model = fit([samples[i] for i in train], labels[train])
        matrix = vectorizer.transform([vector(subjects[i]) for i in test])
        probability[test] = model.predict_proba(matrix)[:, 1]
    harmful = [i for i, e in enumerate(examples) if e.kind == "harmful"]
    other = [i for i, e in enumerate(examples) if e.kind != "harmful"]
    rate = lambda chosen, ok: sum(map(ok, chosen)) / len(chosen)  # noqa: E731
    print(f"rules alone: harmful {rate(harmful, lambda i: outcomes[i][1]):.3f}, "
          f"benign and newsroom kept {rate(other, lambda i: outcomes[i][1]):.3f}")
    for threshold in (0.5, 0.7, 0.8, 0.85, 0.9, 0.95):
        flagged = lambda i: probability[i] >= threshold and not outcomes[i][0]  # noqa: E731
        print(f"with classifier >= {threshold}: harmful {rate(harmful, lambda i: outcomes[i][1] or flagged(i)):.3f}, "
              f"benign and newsroom kept {rate(other, lambda i: outcomes[i][1] and not flagged(i)):.3f}")


def main() -> int:
    examples = [example for path in CORPORA for example in load_corpus(path)]
    samples = [features(example.prompt) for example in examples]
    labels = np.array([1 if example.kind == "harmful" else 0 for example in examples])
    if "--cv" in sys.argv:
        cross_validate(examples, samples, labels)
        return 0
    vectorizer, model = fit(samples, labels)
    weights = {name: round(float(weight), 4) for name, weight in zip(vectorizer.feature_names_, model.coef_[0])
               if abs(weight) >= PRUNE}
    data = {
        "model": f"logistic regression (scikit-learn, C={C}, balanced classes), n-gram features of 1/sqrt(n)",
        "trained_on": {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in CORPORA},
        "bias": round(float(model.intercept_[0]), 4),
        "weights": dict(sorted(weights.items())),
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n",
                   encoding="utf-8")
    print(f"{OUT}: {len(weights)} weights, {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
