"""Reading the files users hand in (articles, specs, policies), with one-line errors naming the file."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import InputError


def read_input(path: Path, kind: str) -> bytes:
    """The bytes of `path`, or an InputError that names `kind` (e.g. "article file") and the path."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{kind} {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{kind} {path} is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"cannot read {kind} {path}: {exc.strerror or exc}") from None
