"""Files of an output folder: atomic, no-clobber writes, whole-file replacement, and SHA-256 hashing."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path

from pipeline.errors import InputError, PipelineError

TEMP_PREFIX = ".partial-"

PAUSE_ENV = "PIPELINE_TEST_PAUSE_AT"
PAUSE_MARK_ENV = "PIPELINE_TEST_PAUSE_MARK"
"""Test hook: when PIPELINE_TEST_PAUSE_AT names a step (`temps-written`, `linked<suffix>` such as
`linked.png`, or `before-catalogue` while storing; `migration-<N>` inside a catalogue upgrade), the
process touches the file named by PIPELINE_TEST_PAUSE_MARK and sleeps there, so a test can kill it at
exactly that point. Read only at those steps."""


def pause_for_tests(step: str) -> None:
    if os.environ.get(PAUSE_ENV) == step:
        mark = os.environ.get(PAUSE_MARK_ENV)
        if mark:
            Path(mark).write_text(str(os.getpid()))
        time.sleep(3600)


def cache_home() -> Path:
    """This project's folder in the user's cache folder: `$XDG_CACHE_HOME/hero-pipeline`, else
    `~/.cache/hero-pipeline`. What is kept there can always be made again."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hero-pipeline"


def bytes_sha256(data: bytes) -> str:
    """SHA-256 of bytes, as lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def writer_tag() -> str:
    """`<host>-<pid>` of this process, as carried in its temporary file names so leftovers can be traced."""
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
    return f"{host}-{os.getpid()}"


def check_writable(folder: Path) -> None:
    """Check, before any model loads, that `folder` is or can become a writable folder; leave nothing behind.

    Permission bits alone do not tell (root may write anywhere by them, yet not into /proc or a read-only
    mount), so the nearest existing folder is tried: a temporary folder is made there and removed at once.
    """
    probe = folder.absolute()
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"output folder {folder} cannot be made: {probe} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(dir=probe, prefix=".hero-pipeline-probe-"))
    except OSError as exc:
        raise InputError(f"output folder {folder} is not writable ({exc.strerror} in {probe}); choose another --out") from None


def open_state_file(path: Path, flags: int) -> int:
    """Open a state file of an output folder (a lock, a journal) as a file descriptor, never through a symlink:
    a link there could point a write outside the folder. New files get the images' mode."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666 & ~_umask())
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{path} is a symbolic link; the output folder's state files are never followed out of it") from None
        raise _disk_error(exc, path) from None


def replace_file(path: Path, data: bytes) -> None:
    """Write `path` whole, atomically (a temporary file renamed over it), with the images' mode; a symlink at
    `path` is replaced, never followed."""
    folder = path.parent
    temp = _write_temp(folder, data)
    try:
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _disk_error(exc, path) from None
    _fsync_folder(folder)


def ensure_folder(folder: Path) -> None:
    """Create the output folder (and parents) when the first file is about to be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"output folder {folder} cannot be created ({exc.strerror})") from None


def _disk_error(exc: OSError, path: Path) -> PipelineError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return PipelineError(f"no space left on the device while writing {path.name}; nothing was overwritten")
    return PipelineError(f"cannot write {path}: {exc.strerror or exc}")


def _write_temp(folder: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(dir=folder, prefix=f"{TEMP_PREFIX}{writer_tag()}-")
    try:
        os.chmod(name, 0o666 & ~_umask())  # mkstemp makes 0600; published files get the usual mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_new_files(folder: Path, stem: str, files: dict[str, bytes], on_step=None) -> dict[str, Path]:
    """Write files named `<stem><suffix>` for each suffix in `files`, atomically and never over existing ones.

    Every file goes to a temporary name in `folder` first (written and fsynced); then each is linked
    to its final name, which fails rather than replaces if the name exists. On a clash the stem gets
    `-2`, `-3`, ... so every call gets names of its own. Files are linked in the order given, so the
    last one marks a complete set. Returns the final paths by suffix. `on_step(name)` is called after
    the temporary files are written and after each link (a hook for crash tests).
    """
    on_step = on_step or (lambda step: None)
    temps: dict[str, Path] = {}
    try:
        for suffix, data in files.items():
            temps[suffix] = _write_temp(folder, data)
        on_step("temps-written")
        for attempt in range(1, 1000):
            candidate = stem if attempt == 1 else f"{stem}-{attempt}"
            finals = {suffix: folder / f"{candidate}{suffix}" for suffix in files}
            if any(path.exists() for path in finals.values()):
                continue
            linked: list[Path] = []
            try:
                for suffix, path in finals.items():
                    os.link(temps[suffix], path)
                    linked.append(path)
                    on_step(f"linked{suffix}")
            except FileExistsError:
                for path in linked:
                    path.unlink()
                continue
            _fsync_folder(folder)
            return finals
        raise PipelineError(f"could not find a free name for {stem} in {folder}")
    except OSError as exc:
        raise _disk_error(exc, folder / stem) from None
    finally:
        for temp in temps.values():
            try:
                temp.unlink()
            except FileNotFoundError:
                pass


def png_bytes(image, text_chunks: dict[str, str]) -> bytes:
    """Encode a PIL image as PNG with the given text chunks (iTXt, so any Unicode survives)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in text_chunks.items():
        info.add_itxt(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def json_bytes(record: dict) -> bytes:
    return (json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode()
