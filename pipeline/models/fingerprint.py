"""Content hashes of model files and folders, cached by path, size and modification time."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pipeline.output import files

_CHUNK = 1 << 20


def _cache_file() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "hero-pipeline" / "file-hashes.json"


def _load_cache() -> dict:
    try:
        return json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}


def _store_cache(cache: dict) -> None:
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass  # the cache only saves time; hashes are recomputed when it cannot be written


def file_sha256(path: Path, cache: dict | None = None) -> str:
    """SHA-256 of a file's bytes; reuses a cached value while size and mtime are unchanged."""
    own_cache = cache is None
    cache = _load_cache() if own_cache else cache
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    digest = cache.get(key)
    if digest is None:
        digest = cache[key] = files.file_sha256(path)
        if own_cache:
            _store_cache(cache)
    return digest


def folder_fingerprint(folder: Path) -> str:
    """SHA-256 over the relative paths and content hashes of every file in a folder."""
    cache = _load_cache()
    before = len(cache)
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(file_sha256(path, cache).encode())
    if len(cache) != before:
        _store_cache(cache)
    return h.hexdigest()


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth")


def weight_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of each weights file in a model folder, by relative path (cached like `folder_fingerprint`)."""
    cache = _load_cache()
    before = len(cache)
    hashes = {
        path.relative_to(folder).as_posix(): file_sha256(path, cache)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix in WEIGHT_SUFFIXES
    }
    if len(cache) != before:
        _store_cache(cache)
    return hashes
