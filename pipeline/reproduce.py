"""Reproduction: regenerate an image from its record (catalogued, or carried by the file) and compare the pixels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.output.catalogue import Catalogue
from pipeline.errors import InputError, PipelineError
from pipeline.publish.metadata import RECORD_PNG_KEY
from pipeline.record import Record, RecordError
from pipeline.generate import generate


@dataclass(frozen=True)
class Reproduction:
    image_id: int | None
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
            made_here = RECORD_PNG_KEY in getattr(image, "text", {}) or "hero-pipeline" in str(image.info.get("xmp", ""))
    except UnidentifiedImageError:
        return f"{path} is not an image"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if made_here:
        return (
            f"{path} was made by hero-pipeline but carries no record, and neither its master PNG nor its record is "
            "beside it; give the master PNG, or --out the folder it was made in"
        )
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


def record_from_file(path: Path) -> tuple[Record, Path]:
    """(generation record, master PNG) for a file made by hero-pipeline: the JSON record beside it, else the
    record embedded in the master PNG. A rendition (`<stem>.<name>.<ext>`) leads to its master `<stem>.png`."""
    from PIL import Image, UnidentifiedImageError

    stem = path.name.split(".", 1)[0]
    master = path if path.suffix.lower() == ".png" and path.name.count(".") == 1 else path.with_name(f"{stem}.png")
    beside = path.with_name(f"{stem}.json")
    if beside.is_file():
        try:
            record = json.loads(beside.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"the record {beside} beside {path.name} cannot be read ({exc})") from None
    elif master.is_file():
        try:
            with Image.open(master) as image:
                text = getattr(image, "text", {}).get(RECORD_PNG_KEY)
        except UnidentifiedImageError:
            raise InputError(f"{master} is not an image") from None
        except OSError as exc:
            raise InputError(f"cannot read {master}: {exc.strerror or exc}") from None
        if text is None:
            raise InputError(explain_unknown(master))
        try:
            record = json.loads(text)
        except ValueError:
            raise InputError(f"the record embedded in {master} is not valid JSON") from None
    else:
        raise InputError(explain_unknown(path))
    if not isinstance(record, dict) or "batch" not in record or "options" not in record:
        raise InputError(f"the record for {path} is not a hero-pipeline generation record")
    if not master.is_file():
        raise InputError(f"{master} (the master image to compare with) is missing")
    try:
        return Record.from_dict(record, f"the record for {path}"), master
    except RecordError as exc:
        raise InputError(str(exc)) from None


def reproduce_file(path: Path, *, model_override: str | None = None, model=None, log=lambda message: None) -> Reproduction:
    """Regenerate the image a file came from, from the record it carries, without any catalogue."""
    record, master = record_from_file(path)
    if model_override:
        record = record.with_(options={**record.options, "model": model_override})
    return _regenerate(record, master, None, model=model, log=log)


def reproduce(catalogue: Catalogue, id_or_path: str, *, model=None, log=lambda message: None) -> Reproduction:
    """Regenerate the image's batch from its record, in memory, and compare its pixels with the stored master."""
    row = find_image(catalogue, id_or_path)
    master = catalogue.root / row["path"]
    if not master.is_file():
        raise PipelineError(f"{master} is missing from disk; run `pipeline doctor --out {catalogue.root}`")
    record = Record.from_json(row["record"], f"the catalogued record of image {row['id']}")
    return _regenerate(record, master, row["id"], root=catalogue.root, model=model, log=log)


def _regenerate(record: Record, master: Path, image_id: int | None, *, root: Path | None = None, model=None,
                log) -> Reproduction:
    """Generate the record's batch in memory (nothing is written) and compare its image with `master`."""
    from PIL import Image

    request = record.request(root or master.parent)
    name = f"image {image_id}" if image_id is not None else master.name
    log(f"regenerating {name} (seed {record.seed}, {request.num_inference_steps} steps) ...")
    images = [item.image for item in generate(request, model=model, log=log)]
    again = images[record.batch["index"]]
    with Image.open(master) as stored:
        largest, count = compare(stored, again)
    return Reproduction(image_id, master, largest == 0, largest, count)
