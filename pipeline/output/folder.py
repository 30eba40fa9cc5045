"""An output folder: where images are saved, each with its renditions and record, atomically, and catalogued.

`OutputFolder` is the one way images enter a folder. Opening it checks the folder and an existing catalogue
(a corrupt or locked one fails before anything is generated) and creates nothing; the first `save` creates
the folder and catalogue, recovers what killed runs left behind, and starts a run in the catalogue.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import weakref
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.errors import PipelineError, summary
from pipeline.output.catalogue import Catalogue, ImageEntry, RenditionEntry, catalogue_path, checks_from_record
from pipeline.output.files import bytes_sha256, check_writable, ensure_folder, json_bytes, pause_for_tests, png_bytes, write_new_files
from pipeline.output.naming import QUARANTINE, image_stem
from pipeline.output.recovery import recover
from pipeline.publish.alt_text import alt_text_for
from pipeline.publish.credentials import UNSIGNED, load_signer, sign_published
from pipeline.publish.encodings import XMP_PNG_KEY, PublishOptions, embedded_metadata, render_files
from pipeline.publish.metadata import RECORD_PNG_KEY, public_record
from pipeline.record import Record, content_digest


@dataclass(frozen=True)
class StoredImage:
    """Where one saved image's files went, its catalogue id and its final record."""

    path: Path
    record_path: Path
    record: Record
    id: int
    renditions: tuple = ()

    @property
    def seed(self) -> int:
        return self.record.seed

    def to_json(self) -> dict:
        data = {"id": self.id, "path": str(self.path), "record": str(self.record_path), "seed": self.seed}
        data.update(flagged=self.record.flagged, reasons=self.record.reasons)
        data["rewrites"] = self.record.rewrites()
        data["renditions"] = [{k: r[k] for k in ("name", "format", "path", "width", "height", "upscaled")} for r in self.renditions]
        return data


def open_catalogue(root: Path, log=lambda message: None) -> Catalogue:
    """The catalogue of an output folder, after cleaning up what killed runs left there."""
    catalogue = Catalogue.open(root)
    recover(catalogue, log=log)
    return catalogue


class OutputFolder:
    """The output folder of one run (`generate`, a `batch`): images are saved into it one by one.

    Use it as a context manager, or call `close(status)`; a run left unclosed (an error, or the process
    ending) is recorded with the `unclosed` status.
    """

    def __init__(self, root: Path, *, command: str, options: dict, log=lambda message: None, unclosed: str = "failed"):
        self.root, self.command, self.options, self.log, self.unclosed = root, command, options, log, unclosed
        self.catalogue: Catalogue | None = None
        self.run_id: int | None = None
        check_writable(root)
        if catalogue_path(root).exists():
            Catalogue.open(root, create=False).close()

    def save(self, image, record: Record, publish: PublishOptions | None = None) -> StoredImage:
        """Save one image: master PNG, renditions and JSON record under a new name, then index them.

        A flagged image goes to the quarantine folder, unpublished (it gets no renditions).
        """
        catalogue = self.open()
        folder = self.root
        if record.flagged:
            folder = self.root / QUARANTINE
            if publish is not None and publish.renditions:
                record = record.with_(renditions_withheld="flagged by the image checks")
                publish = replace(publish, renditions=())
        stem = image_stem(record.title or record.prompt, record.seed, record.name_params())
        files = _write_and_index(catalogue, self.run_id, image, record.to_dict(), stem, publish, folder=folder)
        self.log(f"wrote {files.paths['.png']}")
        return StoredImage(files.paths[".png"], files.paths[".json"], Record.from_dict(files.record), files.image_id,
                           tuple(files.renditions))

    def open(self) -> Catalogue:
        """The folder's catalogue, opened (creating folder and catalogue) and recovered, with this run started in it."""
        if self.catalogue is None:
            ensure_folder(self.root)
            self.catalogue = open_catalogue(self.root, log=self.log)
            self.run_id = self.catalogue.start_run(self.command, self.options)
            self._finalizer = weakref.finalize(self, _end_run, self.catalogue, self.run_id, self.unclosed)
        return self.catalogue

    def close(self, status: str = "done") -> None:
        if self.catalogue is not None:
            self._finalizer.detach()
            _end_run(self.catalogue, self.run_id, status)
            self.catalogue = None

    def __enter__(self) -> "OutputFolder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close("done")
        else:
            self.close("interrupted" if issubclass(exc_type, KeyboardInterrupt) else self.unclosed)


def _end_run(catalogue: Catalogue, run_id: int, status: str) -> None:
    """Record how a run ended. Also called at exit (a finalizer): a catalogue that cannot take the write any
    more (a full disk) is said in one line; the images already saved are whole and catalogued, and the run
    stays `running` until the next recovery marks it interrupted."""
    try:
        catalogue.finish_run(run_id, status)
    except (PipelineError, sqlite3.Error) as exc:
        print(f"warning: could not record the end of run {run_id} in {catalogue.path} ({summary(exc)})", file=sys.stderr)
    finally:
        try:
            catalogue.close()
        except sqlite3.Error:
            pass


@dataclass(frozen=True)
class _Files:
    image_id: int
    paths: dict[str, Path]
    record: dict
    renditions: list


def _write_and_index(
    catalogue: Catalogue,
    run_id: int | None,
    image,
    record: dict,
    stem: str,
    publish: PublishOptions | None = None,
    log=lambda message: None,
    folder: Path | None = None,
) -> _Files:
    """Write one image's files under `stem` in `folder` (default: the catalogue's folder), then index them.

    1. Render and encode every rendition in every format (pure, in memory).
    2. Write all files atomically with no clobbering; the JSON record is linked last, so a set
       without its record is incomplete (and is cleaned up by the next run).
    3. Index the image in one catalogue transaction, after its files exist.
    """
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
            RECORD_PNG_KEY: json.dumps(public_record(record), ensure_ascii=False, indent=2),
            XMP_PNG_KEY: xmp.decode(),
        },
    )
    if signer is not None:  # 2b. signing is the last change to each file's bytes, before any is written
        png = sign_published(signer, record, png, files, rendered)
    record["image_sha256"] = bytes_sha256(png)
    record["record_digest"] = content_digest(record)
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
        record_sha256=bytes_sha256(record_data),
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
    return _Files(image_id, paths, record, published)
