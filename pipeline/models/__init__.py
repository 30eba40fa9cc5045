"""Model names: built-in models, aliases for well-known checkpoints, and how a model argument resolves.

Nothing here imports torch or diffusers; `pipeline.models.loader` does the loading.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pipeline.errors import InputError, nearest


DEFAULTS_KEY = "_hero_pipeline_defaults"
"""Key in model_index.json for this tool's defaults (diffusers ignores keys that start with `_`)."""


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


def _configs_root() -> Path:
    return Path(str(resources.files("pipeline.models") / "configs"))


def builtin_models() -> list[str]:
    """Names of the models built into the package (configs only; weights are seeded at load)."""
    return sorted(p.name for p in _configs_root().iterdir() if (p / "model_index.json").is_file())


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
    known = builtin_models() + list(ALIASES)
    near = nearest(model, known)
    hint = f"did you mean `{near}`? " if near else ""
    raise InputError(
        f"unknown model {model!r}: {hint}use a built-in name or alias ({', '.join(known)}), "
        "a hub id such as owner/name, a diffusers folder or a .safetensors file"
    )


def model_defaults(name: str, family: str, index: dict) -> dict:
    """Steps and guidance when the user gives none: the folder's own, the alias's, or the family's."""
    if DEFAULTS_KEY in index:
        return dict(index[DEFAULTS_KEY])
    if name in ALIASES:
        alias = ALIASES[name]
        return {"num_inference_steps": alias.num_inference_steps, "guidance_scale": alias.guidance_scale}
    return {"num_inference_steps": 30, "guidance_scale": 5.0 if family == "sdxl" else 7.5}


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def describe_source(source: ModelSource) -> dict:
    """What is known of a model without loading any weights: whether it is on this machine, its family,
    native size and default steps and guidance (None where only loading would tell)."""
    folder: Path | None = None
    on_disk = True
    if source.kind == "builtin":
        folder = _configs_root() / source.location
    elif source.kind == "folder":
        folder = Path(source.location)
    elif source.kind == "hub":
        from pipeline.models.hub import cached_folder

        folder = cached_folder(source.location)
        on_disk = folder is not None
    facts = {"name": source.name, "kind": source.kind, "location": source.location, "on_disk": on_disk}
    facts["folder"] = str(folder) if folder is not None else None
    family = ALIASES[source.name].family if source.name in ALIASES else None
    width = None
    index: dict = {}
    if folder is not None:
        index = _read_json(folder / "model_index.json")
        has_second_encoder = (folder / "text_encoder_2").is_dir() or (index.get("text_encoder_2") or [None])[0] is not None
        family = "sdxl" if has_second_encoder else "sd"
        sample_size = _read_json(folder / "unet" / "config.json").get("sample_size")
        blocks = _read_json(folder / "vae" / "config.json").get("block_out_channels")
        if isinstance(sample_size, int) and blocks:
            width = sample_size * 2 ** (len(blocks) - 1)
    defaults = model_defaults(source.name, family, index) if family else {}
    facts.update(
        family=family,
        width=width,
        height=width,
        num_inference_steps=defaults.get("num_inference_steps"),
        guidance_scale=defaults.get("guidance_scale"),
    )
    return facts
