"""Built-in models: real Stable Diffusion architectures with seeded random weights, made offline."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch

# Component folder name -> the class that builds it from its config.
_TEXT_ENCODER_CLASSES = ("CLIPTextModel", "CLIPTextModelWithProjection")


def config_dir(name: str) -> Path:
    """The packaged folder of configs for built-in model `name`."""
    return Path(str(resources.files("pipeline.models") / "configs" / name))


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


def build_components(name: str) -> tuple[str, dict, dict]:
    """Build the components of built-in model `name`.

    Returns the pipeline class name, the components (ready for the pipeline's constructor)
    and the model index (with the built-in's defaults).
    """
    import diffusers
    import transformers

    folder = config_dir(name)
    index = json.loads((folder / "model_index.json").read_text())
    seed = int(index.get("_seed", 0))
    components: dict = {}
    for part in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        config_path = folder / part / ("scheduler_config.json" if part == "scheduler" else "config.json")
        config = json.loads(config_path.read_text())
        if part == "scheduler":
            components[part] = getattr(diffusers, config["_class_name"]).from_config(config)
            continue
        # A fixed seed per component keeps the weights identical across runs and machines.
        torch.manual_seed(seed)
        if part.startswith("text_encoder"):
            class_name = config["architectures"][0]
            if class_name not in _TEXT_ENCODER_CLASSES:
                raise ValueError(f"unsupported text encoder {class_name} in {config_path}")
            text_config = transformers.CLIPTextConfig(**config)
            components[part] = getattr(transformers, class_name)(text_config)
            tokenizer_part = part.replace("text_encoder", "tokenizer")
            components[tokenizer_part] = byte_level_clip_tokenizer(text_config.max_position_embeddings)
        else:
            components[part] = getattr(diffusers, config["_class_name"]).from_config(config)
        components[part].eval()
    return index["_class_name"], components, index
