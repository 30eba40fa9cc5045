"""Model names: built-in models, aliases for well-known checkpoints, and how a model argument resolves.

Nothing here imports torch or diffusers; `pipeline.models.loader` does the loading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pipeline.errors import InputError

DEFAULT_MODEL = "sdxl"
"""The alias documented for real, commercial newsroom use."""


@dataclass(frozen=True)
class Alias:
    name: str
    repo_id: str
    family: str
    licence: str
    commercial_use: str
    num_inference_steps: int = 30
    guidance_scale: float = 7.5


ALIASES: dict[str, Alias] = {
    alias.name: alias
    for alias in (
        Alias(
            "sdxl",
            "stabilityai/stable-diffusion-xl-base-1.0",
            "sdxl",
            "CreativeML OpenRAIL++-M",
            "allowed, subject to the licence's use restrictions",
            guidance_scale=5.0,
        ),
        Alias(
            "sd15",
            "stable-diffusion-v1-5/stable-diffusion-v1-5",
            "sd",
            "CreativeML OpenRAIL-M",
            "allowed, subject to the licence's use restrictions",
        ),
        Alias(
            "ssd-1b",
            "segmind/SSD-1B",
            "sdxl",
            "Apache-2.0",
            "allowed",
            guidance_scale=5.0,
        ),
        Alias(
            "sdxl-turbo",
            "stabilityai/sdxl-turbo",
            "sdxl",
            "Stability AI Community License",
            "needs a Stability AI licence above USD 1M annual revenue",
            num_inference_steps=1,
            guidance_scale=0.0,
        ),
        Alias(
            "sd-turbo",
            "stabilityai/sd-turbo",
            "sd",
            "Stability AI Community License",
            "needs a Stability AI licence above USD 1M annual revenue",
            num_inference_steps=1,
            guidance_scale=0.0,
        ),
    )
}

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
SINGLE_FILE_SUFFIXES = (".safetensors",)


def builtin_models() -> list[str]:
    """Names of the models built into the package (configs only; weights are seeded at load)."""
    root = Path(str(resources.files("pipeline.models") / "configs"))
    return sorted(p.name for p in root.iterdir() if (p / "model_index.json").is_file())


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: `kind` is builtin, hub, folder or single_file."""

    kind: str
    location: str
    name: str


def resolve_model_source(model: str) -> ModelSource:
    """Turn a `--model` argument into a ModelSource, or raise InputError naming the problem."""
    model = model.strip()
    if not model:
        raise InputError("the model name is empty; try `pipeline models` for the choices")
    if model in builtin_models():
        return ModelSource("builtin", model, model)
    if model in ALIASES:
        return ModelSource("hub", ALIASES[model].repo_id, model)
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise InputError(
                f"model folder {model} has no model_index.json; "
                "give a diffusers folder (see `pipeline models export tiny DIR`)"
            )
        return ModelSource("folder", str(path.resolve()), model)
    if path.is_file():
        if path.suffix.lower() == ".ckpt":
            raise InputError(
                f"{model} is a pickle checkpoint (.ckpt), which can run code when loaded; "
                "convert it to .safetensors first"
            )
        if path.suffix.lower() not in SINGLE_FILE_SUFFIXES:
            raise InputError(f"model file {model} is not a .safetensors checkpoint")
        return ModelSource("single_file", str(path.resolve()), model)
    looks_like_path = model.startswith((".", "/", "~")) or model.lower().endswith((".safetensors", ".ckpt"))
    if looks_like_path:
        raise InputError(f"model path {model} does not exist")
    if _HUB_ID.match(model):
        return ModelSource("hub", model, model)
    known = ", ".join(builtin_models() + list(ALIASES))
    raise InputError(
        f"unknown model {model!r}: use a built-in name or alias ({known}), "
        "a hub id such as owner/name, a diffusers folder or a .safetensors file"
    )
