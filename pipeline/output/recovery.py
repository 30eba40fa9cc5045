"""Recovery after a killed run: remove its temporary and incomplete files, index records the catalogue lacks."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from pipeline.output.catalogue import Catalogue, ImageEntry, RenditionEntry, checks_from_record
from pipeline.output.files import TEMP_PREFIX, file_sha256, writer_tag
from pipeline.output.naming import QUARANTINE
from pipeline.record import edited

STALE_SECONDS = 24 * 3600
"""Temporary files of writers on other hosts (a shared folder) count as leftovers after this long."""


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def writer_alive(temp: Path) -> bool:
    """Whether the process that named a `.partial-<host>-<pid>-...` file may still be writing it."""
    host, _, rest = temp.name[len(TEMP_PREFIX) :].partition("-")
    pid_text = rest.partition("-")[0]
    if pid_text.isdigit() and host == writer_tag().rsplit("-", 1)[0]:
        return _pid_alive(int(pid_text))
    try:
        return time.time() - temp.stat().st_mtime < STALE_SECONDS
    except FileNotFoundError:
        return False


def stem_of(name: str) -> str:
    """`<stem>` of `<stem>.png`, `<stem>.json` or a rendition `<stem>.<name>.<ext>` (stems have no dots)."""
    return name.split(".", 1)[0]


class FolderScan:
    """One pass over an output folder: the names of the files in each of its image folders.

    The image folders are the output folder itself and its quarantine folder, nothing else: a folder inside
    it (another run's output, a batch folder) is its own output folder with its own catalogue, and nothing
    is followed through a symbolic link (a linked file or folder may be outside, and is never adopted).
    Folders are keyed by their path relative to the output folder ("" for the folder itself), so the
    catalogue's relative paths are looked up without touching the disk again.
    """

    def __init__(self, root: Path):
        self.root = root
        self.names: dict[str, set[str]] = {}
        for key in ("", QUARANTINE):
            folder = root / key if key else root
            if folder.is_dir() and not folder.is_symlink():
                self.names[key] = self._files(folder)

    @staticmethod
    def _files(folder: Path) -> set[str]:
        """Names of the regular files in `folder` (the entry's type comes with the listing: no stat per file)."""
        try:
            with os.scandir(folder) as entries:
                return {entry.name for entry in entries if entry.is_file(follow_symlinks=False)}
        except FileNotFoundError:
            return set()

    def folders(self) -> list[tuple[Path, set[str]]]:
        return [(self.root / key if key else self.root, names) for key, names in self.names.items()]

    def has(self, relative: str) -> bool:
        """Whether the file at `relative` (a catalogue path) was there when the folder was scanned."""
        folder, _, name = relative.rpartition("/")
        names = self.names.get(folder)
        if names is None:  # not an image folder: look at the disk
            return (self.root / relative).is_file()
        return name in names


def leftover_temps(root: Path, names: set[str] | None = None) -> list[Path]:
    """Temporary files of dead writers in `root` (from `names`, a scan of it, when given)."""
    if names is None:
        if not root.is_dir():
            return []
        names = {p.name for p in root.iterdir() if p.is_file()}
    return sorted(root / name for name in names if name.startswith(TEMP_PREFIX) and not writer_alive(root / name))


def incomplete_files(root: Path, names: set[str] | None = None) -> list[str]:
    """Final names of image sets that a dead writer began to link but never completed.

    A writer links each finished temporary file to its final name and removes the temporary files
    only after the JSON record, linked last, is in place. So a final file that shares its inode with
    a dead writer's temporary file, and whose record is absent, belongs to a set that never completed.
    """
    inodes = set()
    for temp in leftover_temps(root, names):
        try:
            stat = temp.stat()
            inodes.add((stat.st_dev, stat.st_ino))
        except FileNotFoundError:
            pass
    if not inodes:
        return []
    names = []
    for path in sorted(root.iterdir()):
        if path.name.startswith(TEMP_PREFIX) or not path.is_file():
            continue
        stat = path.stat()
        if (stat.st_dev, stat.st_ino) in inodes and not (root / f"{stem_of(path.name)}.json").exists():
            names.append(path.name)
    return names


def clean_leftovers(root: Path, names: set[str] | None = None) -> list[str]:
    """Remove the incomplete image sets of dead writers, then their temporary files; returns the names removed.

    Sets whose record was linked are complete and stay. `names` (a scan of `root`) loses the names removed.
    """
    removed = []
    for name in incomplete_files(root, names):
        (root / name).unlink(missing_ok=True)
        removed.append(name)
    for temp in leftover_temps(root, names):
        temp.unlink(missing_ok=True)
        removed.append(temp.name)
    if names is not None:
        names.difference_update(removed)
    return removed


def read_record(path: Path) -> dict | None:
    """A hero-pipeline record from a JSON file, or None when the file is not one."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(record, dict) and {"schema", "prompt", "seed", "batch"} <= record.keys():
        return record
    return None


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def entry_from_disk(root: Path, record_path: Path, record: dict) -> ImageEntry:
    """The catalogue entry for a record and the files beside it; renditions missing on disk are left out."""
    stem = stem_of(record_path.name)
    master = record_path.parent / f"{stem}.png"
    digest = file_sha256(master)
    expected = record.get("image_sha256")
    flagged = bool((record.get("image_checks") or {}).get("reasons"))
    status = "modified" if expected and expected != digest or edited(record) else "flagged" if flagged else "ok"
    renditions = []
    for item in record.get("renditions", []):
        path = record_path.parent / f"{stem}{item['suffix']}"
        if path.is_file():
            renditions.append(
                RenditionEntry(
                    item["name"], item["format"], _relative(root, path), item["width"], item["height"],
                    file_sha256(path), bool(item.get("upscaled")), item.get("scale"),
                )
            )
    return ImageEntry(
        path=_relative(root, master),
        record_path=_relative(root, record_path),
        sha256=digest,
        record_sha256=file_sha256(record_path),
        record=record,
        status=status,
        renditions=renditions,
        checks=checks_from_record(record),
    )


def unindexed_records(root: Path, catalogue: Catalogue, scan: FolderScan | None = None) -> list[tuple[Path, dict]]:
    """Records on disk that the catalogue lacks (with their master image present); only those are read."""
    scan = scan or FolderScan(root)
    known = catalogue.indexed_record_paths()
    found = []
    for key, names in scan.names.items():
        prefix = f"{key}/" if key else ""
        candidates = [
            name for name in names
            if name.endswith(".json") and not name.startswith(".") and prefix + name not in known
            and f"{stem_of(name)}.png" in names
        ]
        folder = root / key if key else root
        for name in sorted(candidates):
            record = read_record(folder / name)
            if record is not None:
                found.append((folder / name, record))
    return found


def adopt_records(root: Path, catalogue: Catalogue, scan: FolderScan | None = None) -> list[ImageEntry]:
    """Index every complete record that the catalogue lacks (e.g. a run killed before its commit); an image or
    record changed since it was written is indexed with status `modified`."""
    adopted = []
    for path, record in unindexed_records(root, catalogue, scan):
        entry = entry_from_disk(root, path, record)
        catalogue.add_image(None, entry)
        adopted.append(entry)
    return adopted


def interrupted_runs(catalogue: Catalogue) -> list[int]:
    """Mark runs still `running` whose process on this host is gone as `interrupted`."""
    marked = []
    host = socket.gethostname()
    for run in catalogue.runs():
        if run["status"] == "running" and run["host"] == host and run["pid"] and not _pid_alive(run["pid"]):
            catalogue.finish_run(run["id"], "interrupted")
            marked.append(run["id"])
    return marked


def recover(catalogue: Catalogue, log=lambda message: None) -> dict:
    """What every run does first in its output folder: clean leftovers, index orphaned records, close dead runs."""
    scan = FolderScan(catalogue.root)
    removed = [name for folder, names in scan.folders() for name in clean_leftovers(folder, names)]
    adopted = adopt_records(catalogue.root, catalogue, scan)
    interrupted = interrupted_runs(catalogue)
    if removed:
        log(f"removed {len(removed)} leftover file(s) of a killed run")
    if adopted:
        log(f"catalogued {len(adopted)} image(s) found on disk without a catalogue entry")
    return {"removed": removed, "adopted": adopted, "interrupted": interrupted}
