"""The doctor: find every mismatch between an output folder's catalogue and its files, and repair it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.output.catalogue import CATALOGUE_NAME, Catalogue, CatalogueCorrupt, catalogue_path
from pipeline.errors import InputError, PipelineError
from pipeline.output.recovery import (
    FolderScan,
    adopt_records,
    clean_leftovers,
    incomplete_files,
    interrupted_runs,
    leftover_temps,
    read_record,
    stem_of,
    unindexed_records,
)
from pipeline.output.files import bytes_sha256, check_writable, file_sha256, json_bytes, write_new_files
from pipeline.publish.metadata import RECORD_PNG_KEY
from pipeline.record import edited


@dataclass(frozen=True)
class Finding:
    problem: str
    path: str
    action: str


@dataclass
class DoctorReport:
    root: Path
    repair: bool
    findings: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """Whether catalogue and disk agree now: after a repair, a fresh check found nothing left."""
        return not (self.remaining if self.repair else self.findings)

    def add(self, problem: str, path: str, action: str) -> None:
        self.findings.append(Finding(problem, path, action))

    def to_json(self) -> dict:
        return {
            "root": str(self.root),
            "repaired": self.repair,
            "consistent": self.consistent,
            "findings": [asdict(f) for f in self.findings],
            "remaining": [asdict(f) for f in self.remaining],
            "notes": [asdict(f) for f in self.notes],
        }


def _set_aside(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{target}{suffix}"))
    return target


def _open(root: Path, report: DoctorReport) -> tuple[Catalogue | None, Path | None]:
    """The catalogue to check, and the file a corrupt one was set aside as (whose readable rows are kept)."""
    path = catalogue_path(root)
    if not path.exists():
        if not report.repair:
            report.add("no catalogue", CATALOGUE_NAME, "would create it from the records")
            return None, None
        report.add("no catalogue", CATALOGUE_NAME, "created it from the records")
        return Catalogue.open(root), None
    try:
        return Catalogue.open(root, create=False, verify=True), None
    except CatalogueCorrupt:
        if not report.repair:
            report.add("corrupt catalogue", CATALOGUE_NAME, "would set it aside, rebuild it from the records and "
                       "keep every row of its history that can be read")
            return None, None
        aside = _set_aside(path)
        report.add("corrupt catalogue", CATALOGUE_NAME, f"set aside as {aside.name}; rebuilt from the records")
        return Catalogue.open(root), aside


def doctor(root: Path, *, repair: bool = True, progress=None) -> DoctorReport:
    """Check an output folder and (unless `repair` is False) make catalogue and disk agree again.

    One pass over the folder (a scan of its file names) and one over the catalogue (in id order), so
    the time grows with the number of images, not its square. `progress(done, total)` is called as
    catalogued images are checked.

    1. The catalogue itself: missing (created) or corrupt (set aside, never deleted, and rebuilt).
    2. Leftovers of killed runs: temporary files and the incomplete image sets they began (removed).
    3. Records on disk that the catalogue lacks (indexed).
    4. Catalogue rows whose files are gone (removed; a lost record is rewritten from the catalogue's copy)
       or changed since they were written (status `modified`).
    5. Runs whose process died (marked `interrupted`).
    """
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; give the output folder with --out")
    report = DoctorReport(root, repair)
    if repair:
        check_writable(root)
    try:
        catalogue, aside = _open(root, report)
        scan = FolderScan(root)
        catalogued: set[str] = set()
        _leftovers(scan, report)
        if catalogue is not None:
            with catalogue:
                _records(root, catalogue, scan, report)
                if aside is not None:
                    kept = catalogue.salvage(aside)
                    report.add("history of the corrupt catalogue", aside.name,
                               f"kept what could be read: {kept['statuses']} status change(s), {kept['checks']} "
                               f"check(s), {kept['runs']} run(s)")
                _rows(root, catalogue, scan, report, progress or (lambda done, total: None), catalogued)
                if repair:
                    for run_id in interrupted_runs(catalogue):
                        report.add("run never finished", f"run {run_id}", "marked interrupted")
        _strays(scan, report, catalogued if catalogue is not None else None)
    except OSError as exc:
        raise PipelineError(f"cannot repair {root}: {exc.strerror or exc}") from None
    if repair:
        report.remaining = doctor(root, repair=False).findings
    return report


def _leftovers(scan: FolderScan, report: DoctorReport) -> None:
    for folder, names in scan.folders():
        found = [p.name for p in leftover_temps(folder, names)] + incomplete_files(folder, names)
        if found and report.repair:
            found = clean_leftovers(folder, names)
        for name in found:
            path = (folder / name).relative_to(scan.root).as_posix()
            report.add("leftover of a killed run", path, "removed" if report.repair else "would remove")


def _records(root: Path, catalogue: Catalogue, scan: FolderScan, report: DoctorReport) -> None:
    if report.repair:
        for entry in adopt_records(root, catalogue, scan):
            report.add("image not in the catalogue", entry.record_path, "catalogued")
            if entry.status == "modified":
                problem = "record changed since it was written" if edited(entry.record) else "image changed since it was written"
                report.add(problem, entry.record_path, "status set to modified")
    else:
        for path, _ in unindexed_records(root, catalogue, scan):
            report.add("image not in the catalogue", path.name, "would catalogue")


def _damaged_row(root: Path, catalogue: Catalogue, row, scan: FolderScan, report: DoctorReport) -> None:
    """A catalogue row whose record JSON is damaged: restored from the record file beside the image, if whole."""
    problem, where = "damaged record in the catalogue", row["record_path"]
    record = read_record(root / row["record_path"]) if scan.has(row["record_path"]) else None
    if record is None:
        report.add(problem, where, "left as it is: the record file is missing or damaged too")
    elif not report.repair:
        report.add(problem, where, "would restore it from the record file")
    else:
        catalogue.replace_record(row["id"], json.dumps(record, ensure_ascii=False))
        report.add(problem, where, "restored it from the record file")


def _rows(root: Path, catalogue: Catalogue, scan: FolderScan, report: DoctorReport, progress,
          catalogued: set[str]) -> None:
    total = catalogue.count()
    done = 0
    for row, renditions in catalogue.walk():
        done += 1
        if done % 500 == 0 or done == total:
            progress(done, total)
        master, record_path = root / row["path"], root / row["record_path"]
        catalogued.update((row["path"], row["record_path"], *(r["path"] for r in renditions)))
        if not row["record_ok"]:
            _damaged_row(root, catalogue, row, scan, report)
        if not scan.has(row["path"]):
            report.add("image file missing", row["path"], "removed from the catalogue" if report.repair else "would remove from the catalogue")
            for rendition in renditions:
                if scan.has(rendition["path"]):
                    report.add("rendition of a lost image", rendition["path"],
                               "left as it is: its master is gone; `pipeline reproduce` the record to make it again")
            if report.repair:
                catalogue.remove_image(row["id"])
            continue
        status = row["status"]
        if not scan.has(row["record_path"]):
            if report.repair:
                stored = catalogue.image(row["id"])["record"]
                data = (stored if stored.endswith("\n") else stored + "\n").encode()
                restored = write_new_files(record_path.parent, stem_of(record_path.name), {".json": _pretty(data)})
                report.add("record file missing", row["record_path"], f"rewrote {restored['.json'].name} from the catalogue")
            else:
                report.add("record file missing", row["record_path"], "would rewrite it from the catalogue")
        elif status != "modified" and file_sha256(record_path) != row["record_sha256"]:
            report.add("record changed since it was written", row["record_path"], "status set to modified" if report.repair else "would set status modified")
            if report.repair:
                catalogue.set_status(row["id"], "modified", "record file differs from the one stored")
                status = "modified"
        master_intact = file_sha256(master) == row["sha256"]
        if status != "modified" and not master_intact:
            report.add("image changed since it was written", row["path"], "status set to modified" if report.repair else "would set status modified")
            if report.repair:
                catalogue.set_status(row["id"], "modified", "content hash differs from the one stored")
                status = "modified"
        for rendition in renditions:
            if not scan.has(rendition["path"]):
                if not report.repair:
                    report.add("rendition missing", rendition["path"], "would render it again from the image")
                elif master_intact and _render_again(root, catalogue, row, rendition):
                    report.add("rendition missing", rendition["path"], "rendered it again from the image")
                else:
                    report.add("rendition missing", rendition["path"], "removed from the catalogue")
                    catalogue.remove_rendition(rendition["id"])
            elif status != "modified" and file_sha256(root / rendition["path"]) != rendition["sha256"]:
                report.add("rendition changed since it was written", rendition["path"], "status set to modified" if report.repair else "would set status modified")
                if report.repair:
                    catalogue.set_status(row["id"], "modified", f"rendition {rendition['path']} differs from the one stored")
                    status = "modified"


def _render_again(root: Path, catalogue: Catalogue, row, rendition) -> bool:
    """Render a lost rendition again from its intact master with the settings in its record; False if it cannot be."""
    from PIL import Image

    from pipeline.publish.encodings import publish_from_record, render_files
    record = json.loads(catalogue.image(row["id"])["record"])
    folder = (root / row["record_path"]).parent
    stem = stem_of(Path(row["record_path"]).name)
    item = next((r for r in record.get("renditions", []) if f"{stem}{r['suffix']}" == Path(rendition["path"]).name), None)
    if item is None or "publishing" not in record or item.get("upscaler") not in (None, "lanczos"):
        return False  # made by a super-resolution model, which may not be at hand: not rendered again
    if (record.get("content_credentials") or {}).get("signed"):
        return False  # signed with the newsroom's key, which is not at hand: never replaced by an unsigned copy
    with Image.open(root / row["path"]) as master:
        files, _ = render_files(master.convert("RGB"), record, publish_from_record(record, only=item))
    data = files[item["suffix"]]
    written = write_new_files(folder, stem, {item["suffix"]: data})[item["suffix"]]
    catalogue.update_rendition(rendition["id"], written.relative_to(root).as_posix(), bytes_sha256(data))
    return True


def _pretty(data: bytes) -> bytes:
    return json_bytes(json.loads(data))


def _strays(scan: FolderScan, report: DoctorReport, catalogued: set[str] | None) -> None:
    """Files of images the catalogue cannot account for, reported and never deleted: renditions whose master is
    lost, and masters or renditions whose record is lost (`catalogued` None: the catalogue could not be read)."""
    for folder, names in scan.folders():
        prefix = "" if folder == scan.root else f"{folder.relative_to(scan.root).as_posix()}/"
        for name in sorted(names):
            if name.startswith(".") or (catalogued is not None and prefix + name in catalogued):
                continue
            stem = stem_of(name)
            has_record, has_master = f"{stem}.json" in names, f"{stem}.png" in names
            rendition = name.count(".") >= 2 and name != f"{stem}.json"
            if name.endswith(".json") and name.count(".") == 1 and not has_master:
                if read_record(folder / name) is not None:
                    report.notes.append(Finding("record without its image", prefix + name, "left as it is"))
            elif rendition and has_record and not has_master:
                report.add("rendition of a lost image", prefix + name,
                           "left as it is: its master is gone; `pipeline reproduce` the record to make it again")
            elif rendition and not has_record and has_master and _made_here(folder / f"{stem}.png"):
                report.add("rendition without its record", prefix + name, "left as it is: its record is lost")
            elif name.endswith(".png") and name.count(".") == 1 and not has_record and _made_here(folder / name):
                report.add("image without its record", prefix + name,
                           "left as it is: its record is lost (the PNG carries a copy without local paths)")


def _made_here(path: Path) -> bool:
    """Whether a PNG carries a record embedded by this tool."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return RECORD_PNG_KEY in getattr(image, "text", {})
    except (OSError, SyntaxError, ValueError):
        return False
