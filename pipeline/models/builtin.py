"""Built-in models: real Stable Diffusion architectures with seeded random weights, made offline."""

from __future__ import annotations

import contextlib
import json
import math
from importlib import resources
from pathlib import Path

import torch

from pipeline.models.tokenizer import builtin_tokenizer, byte_level_clip_tokenizer  # noqa: F401 (tests build with it)

# Component folder name -> the class that builds it from its config.
_TEXT_ENCODER_CLASSES = ("CLIPTextModel", "CLIPTextModelWithProjection")


def config_dir(name: str) -> Path:
    """The packaged folder of configs for built-in model `name`."""
    return Path(str(resources.files("pipeline.models") / "configs" / name))


def build_components(name: str, *, weights: bool = True) -> tuple[str, dict, dict]:
    """Build the components of built-in model `name`.

    Returns the pipeline class name, the components (ready for the pipeline's constructor)
    and the model index (with the built-in's defaults). With `weights=False` the networks are
    built on the `meta` device: the right shapes and parameter counts, no memory and no time.
    A model index with `"_init": "pooled-normal"` (the full-size architectures) is filled by
    `fill_pooled_normal` instead of each layer's own initialiser, which takes minutes at 1-3B
    parameters.
    """
    import diffusers
    import transformers
    from accelerate import init_empty_weights

    folder = config_dir(name)
    index = json.loads((folder / "model_index.json").read_text())
    seed = int(index.get("_seed", 0))
    fast_init = index.get("_init") == "pooled-normal"
    components: dict = {}
    for part in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        config_path = folder / part / ("scheduler_config.json" if part == "scheduler" else "config.json")
        config = json.loads(config_path.read_text())
        if part == "scheduler":
            components[part] = getattr(diffusers, config["_class_name"]).from_config(config)
            continue
        # A fixed seed per component keeps the weights identical across runs and machines.
        torch.manual_seed(seed)
        empty = not weights or fast_init
        with init_empty_weights(include_buffers=False) if empty else contextlib.nullcontext():
            if part.startswith("text_encoder"):
                class_name = config["architectures"][0]
                if class_name not in _TEXT_ENCODER_CLASSES:
                    raise ValueError(f"unsupported text encoder {class_name} in {config_path}")
                text_config = transformers.CLIPTextConfig(**config)
                module = getattr(transformers, class_name)(text_config)
                tokenizer_part = part.replace("text_encoder", "tokenizer")
                components[tokenizer_part] = builtin_tokenizer(text_config.max_position_embeddings)
            else:
                module = getattr(diffusers, config["_class_name"]).from_config(config)
        if weights and fast_init:
            fill_pooled_normal(module, seed)
        components[part] = module.eval()
    return index["_class_name"], components, index


_POOL_SIZE = 2**24 + 43
"""Length of the pool of seeded normal values the full-size built-ins draw from (not a power of two,
so that neighbouring rows of a weight do not repeat the same values)."""


def fill_pooled_normal(module: torch.nn.Module, seed: int) -> None:
    """Give every parameter of `module` (built on `meta`) seeded values, fast.

    Weights get zero-mean normal values scaled by 1/sqrt(fan-in), read from one seeded pool at a
    seeded offset per tensor; one-dimensional weights (norm scales) are 1 and biases 0. About
    twenty times faster than drawing each value, so SDXL's 3.5B parameters fill in seconds.
    """
    generator = torch.Generator().manual_seed(seed)
    pool = torch.randn(_POOL_SIZE, generator=generator)
    for owner in module.modules():
        for key, param in list(owner._parameters.items()):
            if param is None:
                continue
            value = torch.empty(param.shape, dtype=param.dtype)
            if param.dim() == 1:
                value.fill_(0.0 if key.endswith("bias") else 1.0)
            else:
                scale = 1.0 / math.sqrt(param[0].numel())
                flat = value.view(-1)
                offset = int(torch.randint(_POOL_SIZE, (1,), generator=generator))
                done = 0
                while done < flat.numel():
                    take = min(flat.numel() - done, _POOL_SIZE - offset)
                    torch.mul(pool[offset : offset + take], scale, out=flat[done : done + take])
                    done += take
                    offset = 0
            owner._parameters[key] = torch.nn.Parameter(value, requires_grad=False)
