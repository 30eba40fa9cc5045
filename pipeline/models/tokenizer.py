"""Tokenizers known without loading weights: the built-in models' CLIP tokenizer, and a folder's own."""

from __future__ import annotations

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


def builtin_tokenizer(model_max_length: int = 77):
    """The tokenizer every built-in model uses."""
    return byte_level_clip_tokenizer(model_max_length)


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
