"""A parsed policy kept on disk, so that a new process (`check-prompt` above all) skips parsing the TOML and
preparing its word lists (about 0.13 s of a 0.5 s budget), and in memory, so that a process that loads one
policy file many times (a batch: once per batch of images) parses it once.

The file is keyed by the policy's bytes and source name and by the state of the code and data that parse it
(this package's modules and data files, the project's version and Python's), so any change to either makes a
new key; a missing, unreadable or damaged file only means the policy is parsed again (the result is the
same), and a cache folder that cannot be written costs only the time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from functools import lru_cache
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.output.files import cache_home, replace_file

ENV = "PIPELINE_POLICY_CACHE"
"""`off` turns the cache off; any other value is the folder to keep it in (default: `policy` in cache_home())."""


_LOADED: dict[str, object] = {}
KEPT_FILES = 8
"""Policies kept on disk: writing one more removes the least recently written beyond this many."""


def folder() -> Path | None:
    value = os.environ.get(ENV, "")
    if value == "off":
        return None
    return Path(value).expanduser() if value else cache_home() / "policy"


@lru_cache(maxsize=1)
def _code_state() -> bytes:
    """What parsing depends on besides the policy: this package's modules and data files (names, sizes and
    modification times), the project's version and Python's; read once per process, as the code it describes."""
    from pipeline import __version__

    here = Path(__file__).parent
    parts = [__version__, sys.version]
    for path in sorted([*here.glob("*.py"), *(here / "data").glob("*")]):
        stat = path.stat()
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts).encode()


def key(data: bytes, source: str) -> str:
    digest = hashlib.sha256()
    for part in (data, source.encode(), _code_state()):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def load(data: bytes, source: str, parse):
    """`parse(data, source)`, with the parsed policy and its prepared word lists kept on disk under the key."""
    from pipeline.guidelines import matching

    name = key(data, source)
    if name in _LOADED:
        return _LOADED[name]
    where = folder()
    path = where / f"{name}.pickle" if where is not None else None
    if path is not None:
        try:
            guidelines, prepared = pickle.loads(path.read_bytes())
        except Exception:  # not there yet, damaged, or from an incompatible build: parsed below, and (re)written
            pass
        else:
            matching.remember_prepared(guidelines, prepared)
            _LOADED[name] = guidelines
            return guidelines
    guidelines = _LOADED[name] = parse(data, source)  # errors (InputError naming the file and line) are never kept
    if path is not None:
        prepared = matching.prepared_for(guidelines)
        for term in _terms(guidelines):  # each term's matching keys are computed once, then kept with it
            term.keys
        try:
            data = pickle.dumps((guidelines, prepared), protocol=pickle.HIGHEST_PROTOCOL)
        except pickle.PicklingError:  # kept only to save time
            return guidelines
        if keep(path, data):
            _prune(where)
    return guidelines


def _terms(value):
    """Every Term in the parsed policy: the rules' terms, their innocent phrases and word groups, the contexts'..."""
    from dataclasses import fields, is_dataclass

    from pipeline.guidelines.policy import Term

    if isinstance(value, Term):
        yield value
    elif isinstance(value, (tuple, list, frozenset, set)):
        for item in value:
            yield from _terms(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _terms(item)
    elif is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            yield from _terms(getattr(value, field.name))


def keep(path: Path, data: bytes) -> bool:
    """Write a kept file into the cache folder, atomically; whether it was written (a folder that cannot be
    written costs only the time: what is kept is always computed again without it)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, data)
    except (OSError, PipelineError):
        return False
    return True


def _prune(where: Path) -> None:
    """Remove the least recently written kept policies beyond KEPT_FILES (each edit or upgrade makes a new one)."""
    try:
        kept = sorted(where.glob("*.pickle"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
        for old in kept[KEPT_FILES:]:
            old.unlink(missing_ok=True)
    except OSError:  # another process pruned or wrote at the same time: the next write prunes again
        pass
