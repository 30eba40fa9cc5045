"""The run state of a batch output folder: a lock, an append-only journal, and clean-up after a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline.batch.plan import image_key
from pipeline.errors import InputError
from pipeline.storage import TEMP_PREFIX

JOURNAL_NAME = "batch-journal.jsonl"
LOCK_NAME = ".batch.lock"


class OutputLock:
    """An exclusive lock on the output folder, so two runs never write the same batch at once."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self):
        import fcntl

        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise InputError(f"another batch run is writing to {self.path.parent}; wait for it or use another --out")
        return self

    def __exit__(self, *exc):
        os.close(self._fd)  # closing releases the lock


class Journal:
    """One JSON line per finished image (done, failed or blocked), fsynced; the last line per key wins."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / JOURNAL_NAME
        self.entries: dict[str, dict] = {}
        self._repair_and_read()

    def _repair_and_read(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):  # a line cut short by a crash: drop it
            with open(self.path, "r+b") as handle:
                handle.truncate(end)
                os.fsync(handle.fileno())
        for number, line in enumerate(data[:end].splitlines(), start=1):
            try:
                entry = json.loads(line)
                self.entries[entry["key"]] = entry
            except (ValueError, KeyError, TypeError):
                raise InputError(f"{self.path} line {number} is damaged; move the file away to rebuild it from the images")

    def append(self, entry: dict) -> None:
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        with open(self.path, "ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self.entries[entry["key"]] = entry

    def done(self, key: str, out_dir: Path) -> dict | None:
        """The journal entry of a finished image whose files are both still there, else None."""
        entry = self.entries.get(key)
        if entry and entry["status"] == "done" and (out_dir / entry["png"]).is_file() and (out_dir / entry["json"]).is_file():
            return entry
        return None


def _record_of(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "batch_key" in record and "seed" in record else None


def _png_batch_record(path: Path) -> dict | None:
    from PIL import Image

    try:
        with Image.open(path) as image:
            text = image.text.get("hero-pipeline")  # type: ignore[attr-defined]
        record = json.loads(text) if text else None
    except (OSError, ValueError, SyntaxError):
        return None
    return record if isinstance(record, dict) and "batch_key" in record else None


def _png_whole(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
        return True
    except (OSError, SyntaxError):
        return False


def _remove(paths, notes: list[str], why: str) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
        notes.append(f"removed {path.name} ({why})")


def _folders(out_dir: Path) -> list[Path]:
    """Where a batch's images are: the output folder and its quarantine folder (flagged images)."""
    from pipeline.image_checks import QUARANTINE

    return [out_dir] + ([out_dir / QUARANTINE] if (out_dir / QUARANTINE).is_dir() else [])


def recover(out_dir: Path, journal: Journal) -> list[str]:
    """Make the folder agree with the journal after a crash; say what was done.

    Left-over temporary files go; an image written but not yet journalled is adopted; a second copy
    of a journalled image and half a PNG+JSON pair (a crash between the two links) are removed.
    """
    notes: list[str] = []
    for folder in _folders(out_dir):
        _remove(sorted(folder.glob(f"{TEMP_PREFIX}*")), notes, "temporary file of an interrupted write")
        for json_path in sorted(folder.glob("*.json")):
            _recover_pair(out_dir, json_path, journal, notes)
        for png_path in sorted(folder.glob("*.png")):
            if not png_path.with_suffix(".json").exists() and _png_batch_record(png_path) is not None:
                _remove([png_path], notes, "half of an interrupted write")
    return notes


def _recover_pair(out_dir: Path, json_path: Path, journal: Journal, notes: list[str]) -> None:
    record = _record_of(json_path)
    if record is None:
        return
    key = image_key(record["batch_key"], record["seed"])
    png_path = json_path.with_suffix(".png")
    if not png_path.is_file() or not _png_whole(png_path):
        _remove([json_path, png_path], notes, "half of an interrupted write")
        return
    entry = journal.done(key, out_dir)
    if entry is not None and out_dir / entry["json"] == json_path:
        return
    if entry is not None:
        _remove([png_path, json_path], notes, f"second copy of {entry['png']}")
        return
    journal.append(done_entry(key, record, png_path, json_path, out_dir, adopted=True))
    notes.append(f"kept {png_path.name} (written before the crash, now in the journal)")


def done_entry(key: str, record: dict, png_path: Path, json_path: Path, out_dir: Path, adopted: bool = False) -> dict:
    """A journal line for a stored image; paths are relative to the output folder (quarantine/... when flagged)."""
    png, json_ = (path.relative_to(out_dir).as_posix() for path in (png_path, json_path))
    entry = {"key": key, "status": "done", "png": png, "json": json_, "seed": record["seed"]}
    if adopted:
        entry["adopted"] = True
    return entry
