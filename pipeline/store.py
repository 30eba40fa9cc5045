"""Storing one generated image: master PNG, renditions and JSON record written atomically, then catalogued."""

from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.catalogue import Catalogue, ImageEntry, RenditionEntry, catalogue_path
from pipeline.metadata import public_record
from pipeline.publish import XMP_PNG_KEY, PublishOptions, embedded_metadata, render_files
from pipeline.storage import ensure_folder, json_bytes, pause_for_tests, png_bytes, write_new_files


@dataclass(frozen=True)
class StoredFiles:
    """Where one image's files went (final paths) and its catalogue id."""

    image_id: int
    paths: dict[str, Path]
    record: dict
    renditions: list[dict] = field(default_factory=list)


def open_catalogue(root: Path, log=lambda message: None) -> Catalogue:
    """The catalogue of an output folder, after cleaning up what killed runs left there."""
    from pipeline.recovery import recover

    catalogue = Catalogue.open(root)
    recover(catalogue, log=log)
    return catalogue


class Store:
    """The output folder of one run: opened (and cleaned of killed runs' leftovers) when its first image is stored.

    Creating it checks an existing catalogue, so a corrupt one fails the run before anything is generated;
    nothing is created until the first image is ready.
    """

    def __init__(self, root: Path, *, command: str, options: dict, log=lambda message: None, unclosed: str = "failed"):
        self.root, self.command, self.options, self.log, self.unclosed = root, command, options, log, unclosed
        self.catalogue: Catalogue | None = None
        self.run_id: int | None = None
        if catalogue_path(root).exists():
            Catalogue.open(root, create=False).close()

    def save(
        self, image, record: dict, stem: str, publish: PublishOptions | None = None, folder: Path | None = None
    ) -> StoredFiles:
        """Store one image under `stem` in `folder` (the output folder, or a folder inside it such as quarantine)."""
        if self.catalogue is None:
            ensure_folder(self.root)
            self.catalogue = open_catalogue(self.root, log=self.log)
            self.run_id = self.catalogue.start_run(self.command, self.options)
            # A run left unclosed (an error, or the process ending) is recorded as such.
            self._finalizer = weakref.finalize(self, _end_run, self.catalogue, self.run_id, self.unclosed)
        return store_image(self.catalogue, self.run_id, image, record, stem, publish, log=self.log, folder=folder)

    def close(self, status: str = "done") -> None:
        if self.catalogue is not None:
            self._finalizer.detach()
            _end_run(self.catalogue, self.run_id, status)
            self.catalogue = None


_SHARED: dict[Path, Store] = {}


def shared_store(root: Path) -> Store:
    """This process's store for an output folder, for callers that store images one by one (a batch driver).

    Its run stays `running` while the process lives and is recorded as `ended` when it exits.
    """
    key = root.resolve()
    if key not in _SHARED:
        _SHARED[key] = Store(root, command="store", options={}, unclosed="ended")
    return _SHARED[key]


def _end_run(catalogue: Catalogue, run_id: int, status: str) -> None:
    try:
        catalogue.finish_run(run_id, status)
    finally:
        catalogue.close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_image(
    catalogue: Catalogue,
    run_id: int | None,
    image,
    record: dict,
    stem: str,
    publish: PublishOptions | None = None,
    log=lambda message: None,
    folder: Path | None = None,
) -> StoredFiles:
    """Write one image's files under `stem` in `folder` (default: the catalogue's folder), then index them.

    1. Render and encode every rendition in every format (pure, in memory).
    2. Write all files atomically with no clobbering; the JSON record is linked last, so a set
       without its record is incomplete (and is cleaned up by the next run).
    3. Index the image in one catalogue transaction, after its files exist.
    """
    from pipeline.alt_text import alt_text_for
    from pipeline.credentials import UNSIGNED, load_signer, sign_published

    publish = publish or PublishOptions()
    folder = folder or catalogue.root
    ensure_folder(folder)
    signer = load_signer(publish.c2pa) if publish.c2pa else None
    record = {
        **record,
        "publishing": {**publish.to_dict(), **alt_text_for(record, publish.alt_text)},
        "content_credentials": signer.facts.to_dict() if signer else dict(UNSIGNED),
    }
    parameters, xmp = embedded_metadata(record)

    # 1. Renditions, in memory
    files, rendered = render_files(image, record, publish)
    record["renditions"] = rendered

    # 2. Master, record and renditions on disk
    png = png_bytes(
        image,
        {
            "parameters": parameters,
            "hero-pipeline": json.dumps(public_record(record), ensure_ascii=False, indent=2),
            XMP_PNG_KEY: xmp.decode(),
        },
    )
    if signer is not None:  # 2b. signing is the last change to each file's bytes, before any is written
        png = sign_published(signer, record, png, files, rendered)
    record["image_sha256"] = sha256(png)
    record_data = json_bytes(record)
    files[".png"] = png
    files[".json"] = record_data
    paths = write_new_files(folder, stem, files, on_step=pause_for_tests)
    published = [{**item, "path": str(paths[item["suffix"]])} for item in rendered]

    # 3. Catalogue, after the files exist
    pause_for_tests("before-catalogue")
    entry = ImageEntry(
        path=catalogue.relative(paths[".png"]),
        record_path=catalogue.relative(paths[".json"]),
        status="flagged" if record.get("image_checks", {}).get("reasons") else "ok",
        sha256=record["image_sha256"],
        record_sha256=sha256(record_data),
        record=record,
        renditions=[
            RenditionEntry(
                r["name"], r["format"], catalogue.relative(paths[r["suffix"]]), r["width"], r["height"], r["sha256"], r["upscaled"], r["scale"]
            )
            for r in rendered
        ],
        checks=checks_from_record(record),
    )
    image_id = catalogue.add_image(run_id, entry)
    return StoredFiles(image_id, paths, record, published)


def checks_from_record(record: dict) -> list[tuple[str, str, str]]:
    """The checks a record states: the guidelines' verdict, and whether renditions were enlarged."""
    checks = []
    guidelines = record.get("guidelines") or {}
    if guidelines:
        rules = ", ".join(rule.get("id", "?") for rule in guidelines.get("rules", []))
        checks.append(("guidelines", guidelines.get("verdict", "?"), rules))
    image_checks = record.get("image_checks") or {}
    if image_checks:
        reasons = image_checks.get("reasons") or []
        checks.append(("image-checks", "flag" if reasons else "pass", "; ".join(reasons)))
    enlarged = sorted({r["name"] for r in record.get("renditions", []) if r.get("upscaled")})
    if record.get("renditions"):
        checks.append(
            ("native-size", "enlarged" if enlarged else "ok", ", ".join(enlarged) if enlarged else "")
        )
    return checks
