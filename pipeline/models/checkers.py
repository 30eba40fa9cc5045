"""Image checkers backed by models: diffusers' NSFW safety checker and a CLIP zero-shot concept check.

Each checker looks at images and returns, per image, the reasons it flags it (none when it does not). A checker
never changes an image: diffusers' checker blacks out what it flags in the copy it is given; we keep ours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pipeline.errors import InputError, summary


def _load(what: str, location: str, load):
    if (Path(location).is_absolute() or location.startswith(".")) and not Path(location).exists():
        raise InputError(f"the {what} folder {location} does not exist")
    try:
        return load()
    except Exception as exc:  # transformers raises many kinds; all mean the weights cannot be had
        first = summary(exc, 160)
        raise InputError(f"cannot load the {what} from {location} ({type(exc).__name__}: {first})") from None


class NsfwChecker:
    """diffusers' `StableDiffusionSafetyChecker`, from a folder or hub id (or a pipeline folder holding one)."""

    name = "nsfw"

    def __init__(self, location: str):
        from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
        from transformers import CLIPImageProcessor

        folder = Path(location)
        checker_at, features_at = location, location
        if (folder / "safety_checker").is_dir():
            checker_at, features_at = str(folder / "safety_checker"), str(folder / "feature_extractor")
        self.checker = _load("NSFW safety checker", location,
                             lambda: StableDiffusionSafetyChecker.from_pretrained(checker_at).eval())
        self.features = _load("NSFW checker's image processor", location,
                              lambda: CLIPImageProcessor.from_pretrained(features_at))

    def __call__(self, images: list) -> list[list[str]]:
        pixels = self.features(images, return_tensors="pt").pixel_values.to(self.checker.dtype)
        copies = np.stack([np.asarray(image, dtype=np.float32) / 255.0 for image in images])
        with torch.no_grad():
            _, flagged = self.checker(images=copies, clip_input=pixels)
        return [["nsfw: diffusers safety checker flagged the image"] if hit else [] for hit in flagged]


class ClipConceptChecker:
    """CLIP zero-shot: flags an image when the policy's concepts take at least `threshold` of the probability,
    set against neutral labels."""

    name = "clip"

    def __init__(self, location: str, concepts: tuple[str, ...], neutral: tuple[str, ...], threshold: float):
        from transformers import CLIPModel, CLIPProcessor

        if not concepts:
            raise InputError("the guidelines have no [image_checks] concepts for the CLIP check")
        self.model = _load("CLIP model", location, lambda: CLIPModel.from_pretrained(location).eval())
        self.processor = _load("CLIP processor", location, lambda: CLIPProcessor.from_pretrained(location))
        self.concepts, self.labels, self.threshold = concepts, list(concepts) + list(neutral), threshold

    def __call__(self, images: list) -> list[list[str]]:
        inputs = self.processor(text=self.labels, images=images, return_tensors="pt", padding=True)
        with torch.no_grad():
            probs = self.model(**inputs).logits_per_image.softmax(dim=-1)[:, : len(self.concepts)]
        reasons = []
        for row in probs.tolist():
            mass = sum(row)
            top = self.concepts[int(np.argmax(row))]
            reasons.append([f"clip: looks like {top} (concepts {mass:.2f} >= {self.threshold})"]
                           if mass >= self.threshold else [])
        return reasons
