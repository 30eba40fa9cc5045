"""The run state of a batch in its output folder: a lock, so two batches never share a folder, and an append-only
journal of what the batch did with each planned image (done, failed, blocked).

Which images exist is the catalogue's business (pipeline.output); so is recovery after a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline.errors import InputError
from pipeline.output.files import open_state_file

JOURNAL_NAME = "batch-journal.jsonl"
LOCK_NAME = ".batch.lock"


class OutputLock:
    """An exclusive lock on the output folder, so two runs never write the same batch at once."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self):
        import fcntl

        self._fd = open_state_file(self.path, os.O_RDWR | os.O_CREAT)
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
        if not os.path.lexists(self.path):
            return
        with os.fdopen(open_state_file(self.path, os.O_RDWR), "r+b") as handle:
            data = handle.read()
            end = data.rfind(b"\n") + 1
            if end != len(data):  # a line cut short by a crash: drop it
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
        with os.fdopen(open_state_file(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self.entries[entry["key"]] = entry


def done_entry(key: str, seed: int, png_path: Path, json_path: Path, out_dir: Path) -> dict:
    """A journal line for a stored image; paths are relative to the output folder (quarantine/... when flagged)."""
    png, json_ = (path.relative_to(out_dir).as_posix() for path in (png_path, json_path))
    return {"key": key, "status": "done", "png": png, "json": json_, "seed": seed}
