"""Super-resolution for renditions enlarged beyond the native size: diffusers' x4 upscaler as a rendition hook."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import InputError, summary

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_CACHE: dict[tuple, "DiffusionUpscaler"] = {}


def check_upscaler_source(source: str) -> str:
    """A usable `--upscaler` value (a diffusers folder or a hub id), or InputError naming the problem."""
    source = source.strip()
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise InputError(f"upscaler folder {source} has no model_index.json; give a diffusers folder")
        return str(path.resolve())
    if source.startswith((".", "/", "~")) or not _HUB_ID.match(source):
        raise InputError(
            f"upscaler {source!r} is neither a diffusers folder nor a hub id such as "
            "stabilityai/stable-diffusion-x4-upscaler"
        )
    return source


def upscaler_name(source: str) -> str:
    """How the record names an upscaler: a hub id as is, a local folder by its last name only."""
    return Path(source).name if Path(source).is_dir() else source


class DiffusionUpscaler:
    """A diffusers `StableDiffusionUpscalePipeline`, called as a rendition hook `(image, factor) -> image`."""

    def __init__(self, pipe, name: str, *, steps: int, seed: int):
        self.pipe = pipe
        self.__name__ = name
        self.scale = pipe.vae_scale_factor
        self.steps = steps
        self.seed = seed

    def __call__(self, image, factor: int, prompt: str = ""):
        import torch

        # The model enlarges by its own fixed factor; the caller resamples to the exact size.
        width, height = (max(8, round(side / 8) * 8) for side in image.size)
        if (width, height) != image.size:
            from PIL import Image

            image = image.resize((width, height), Image.Resampling.LANCZOS)
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        with torch.inference_mode():
            result = self.pipe(
                prompt=prompt, image=image.convert("RGB"), num_inference_steps=self.steps, generator=generator
            )
        return result.images[0]


def load_upscaler(source: str, *, device: str = "auto", steps: int = 20, seed: int = 0) -> DiffusionUpscaler:
    """Load an x4 upscaler from a diffusers folder or the local hub cache (nothing is downloaded here)."""
    key = (source, device, steps, seed)
    if key in _CACHE:
        return _CACHE[key]
    from diffusers import StableDiffusionUpscalePipeline

    from pipeline.models.loader import _quiet_libraries, choose_device

    _quiet_libraries()
    target = choose_device(device)
    try:
        pipe = StableDiffusionUpscalePipeline.from_pretrained(source, local_files_only=True)
    except Exception as exc:  # the hub and diffusers raise many kinds; all mean no usable weights here
        first = summary(exc, 160)
        raise InputError(
            f"upscaler {upscaler_name(source)} is not available ({type(exc).__name__}: {first}); "
            "give a local diffusers folder of an x4 upscaler or download it to the hub cache first"
        ) from None
    pipe.set_progress_bar_config(disable=True)
    upscaler = DiffusionUpscaler(pipe.to(target), upscaler_name(source), steps=steps, seed=seed)
    _CACHE[key] = upscaler
    return upscaler
