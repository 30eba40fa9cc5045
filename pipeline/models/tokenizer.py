"""Tokenizers known without loading weights: the built-in models' CLIP tokenizer, and a folder's own."""

from __future__ import annotations

import functools
from pathlib import Path


def byte_level_clip_tokenizer(model_max_length: int = 77):
    """A CLIP tokenizer over the 256 byte symbols (no merges), built without any download.

    Every UTF-8 string encodes losslessly; words end in the `</w>` form of their last byte,
    as in CLIP's own vocabulary.
    """
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    alphabet = sorted(ByteLevel.alphabet())
    vocab = {symbol: i for i, symbol in enumerate(alphabet)}
    vocab.update({symbol + "</w>": len(alphabet) + i for i, symbol in enumerate(alphabet)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=model_max_length)


CLIP_VOCAB_SIZE = 49408
"""Entries of CLIP's vocabulary: 512 byte symbols, 48,894 merges, start and end of text."""

BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"
BPE_DISTRIBUTION = "openai-clip"
"""The package that ships CLIP's BPE merges (OpenAI's file, MIT licence) without needing torch to read it."""


def _bpe_path():
    """Where the installed openai-clip distribution keeps CLIP's merges (found without importing its torch code)."""
    from importlib import metadata

    try:
        files = metadata.files(BPE_DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == BPE_FILE:
            return Path(str(file.locate()))
    raise RuntimeError(f"CLIP's merges ({BPE_FILE}) were not found: reinstall hero-pipeline, which needs {BPE_DISTRIBUTION}")


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible map of bytes to printable characters, in its own order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, codes)))


@functools.lru_cache(maxsize=1)
def clip_vocabulary() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's vocabulary and merges, built as OpenAI's `SimpleTokenizer` builds them."""
    import gzip

    lines = gzip.open(_bpe_path()).read().decode("utf-8").split("\n")
    # The file's first line is a header; CLIP uses the first 48,894 merges (its vocabulary has 49,408 entries).
    merges = [tuple(line.split()) for line in lines[1 : 1 + CLIP_VOCAB_SIZE - 512 - 2]]
    symbols = list(_bytes_to_unicode().values())
    tokens = symbols + [symbol + "</w>" for symbol in symbols] + ["".join(merge) for merge in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {token: index for index, token in enumerate(tokens)}, merges


def clip_tokenizer(model_max_length: int = 77):
    """CLIP's own BPE tokenizer (the one Stable Diffusion's text encoders use), built offline."""
    from transformers import CLIPTokenizer

    vocab, merges = clip_vocabulary()
    return CLIPTokenizer(vocab=dict(vocab), merges=list(merges), model_max_length=model_max_length)


def builtin_tokenizer(model_max_length: int = 77):
    """The tokenizer every built-in model uses: CLIP's own."""
    return clip_tokenizer(model_max_length)


def folder_tokenizer(facts: dict):
    """The (first) tokenizer of a model described by `pipeline.models.describe_source`, or None if only
    loading the model would tell."""
    from transformers.utils import logging

    logging.set_verbosity_error()  # its notice that a long prompt exceeds 77 tokens is ours to report
    if facts["kind"] == "builtin":
        return builtin_tokenizer()
    folder = facts.get("folder")
    if folder and (Path(folder) / "tokenizer").is_dir():
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(Path(folder) / "tokenizer"), local_files_only=True)
    return None
