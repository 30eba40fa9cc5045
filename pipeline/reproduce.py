"""Reproduction: regenerate a catalogued image from its stored record and compare the pixels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.catalogue import Catalogue
from pipeline.errors import InputError, PipelineError
from pipeline.generate import StoredImage


@dataclass(frozen=True)
class Reproduction:
    image_id: int
    path: Path
    identical: bool
    max_difference: int
    differing_pixels: int

    def to_json(self) -> dict:
        return {
            "id": self.image_id,
            "path": str(self.path),
            "identical": self.identical,
            "max_difference": self.max_difference,
            "differing_pixels": self.differing_pixels,
        }


def explain_unknown(path: Path) -> str:
    """Why a file that is not in the catalogue cannot be reproduced, in one line."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            made_here = "hero-pipeline" in getattr(image, "text", {}) or "hero-pipeline" in str(image.info.get("xmp", ""))
    except UnidentifiedImageError:
        return f"{path} is not an image"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if made_here:
        return f"{path} was made by hero-pipeline but is not in this catalogue; give --out the folder it was made in"
    return f"{path} is not an image made by hero-pipeline (it carries no generation record)"


def find_image(catalogue: Catalogue, id_or_path: str):
    """The catalogue row for an id or path; a file outside the catalogue gets a one-line explanation."""
    try:
        return catalogue.resolve(id_or_path)
    except InputError:
        path = Path(id_or_path)
        if not id_or_path.strip().isdigit() and path.is_file():
            raise InputError(explain_unknown(path)) from None
        raise


def compare(stored, reproduced) -> tuple[int, int]:
    """(largest channel difference, number of differing pixels) between two images of one size."""
    from PIL import ImageChops

    if stored.size != reproduced.size:
        return 255, stored.width * stored.height
    difference = ImageChops.difference(stored.convert("RGB"), reproduced.convert("RGB"))
    largest = max(high for _, high in difference.getextrema())
    mask = difference.convert("L").point(lambda value: 255 if value else 0)
    return largest, mask.histogram()[255]


def reproduce(catalogue: Catalogue, id_or_path: str, *, model=None, log=lambda message: None) -> Reproduction:
    """Regenerate the image's batch from its record, in memory, and compare its pixels with the stored master."""
    from PIL import Image

    from pipeline.generate import generate, reproduction_request

    row = find_image(catalogue, id_or_path)
    master = catalogue.root / row["path"]
    if not master.is_file():
        raise PipelineError(f"{master} is missing from disk; run `pipeline doctor --out {catalogue.root}`")
    record = json.loads(row["record"])
    request = reproduction_request(record, catalogue.root)
    log(f"regenerating image {row['id']} (seed {record['seed']}, {request.num_inference_steps} steps) ...")
    result = generate(request, model=model, log=log, store=keep_in_memory)
    again = result.images[record["batch"]["index"]].image
    with Image.open(master) as stored:
        largest, count = compare(stored, again)
    return Reproduction(row["id"], master, largest == 0, largest, count)


def keep_in_memory(out_dir: Path, record: dict, image) -> StoredImage:
    """A store for `generate` that writes nothing: reproduction only compares pixels."""
    return StoredImage(path=None, record_path=None, seed=record["seed"], record=record, image=image)
