"""Compiled code kept across processes, in one cache folder keyed by model, image shape, dtype, torch and GPU.

Two of torch's own mechanisms do the work: inductor's on-disk caches (FX graphs, AOTAutograd, Triton
kernels and autotuning results) live under `<folder>/inductor` (TORCHINDUCTOR_CACHE_DIR), and after each
first compile of a shape the process's compile artifacts are also saved as one file per key
(`torch.compiler.save_cache_artifacts`), loaded again (`load_cache_artifacts`) before that shape first
runs in a later process. Whether compiled code was reused is read from inductor's own counters.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

ENV = "PIPELINE_COMPILE_CACHE"
ARTIFACTS = "artifacts.bin"
KEY_FILE = "key.json"

STATUSES = ("hit", "miss", "partial", "in-process", "none")
"""hit: every graph came from the cache; miss: every graph compiled afresh (and was saved); partial: some of
each; in-process: compiled earlier in this process; none: nothing to cache (a backend without inductor)."""


def cache_folder() -> Path:
    """$PIPELINE_COMPILE_CACHE, else `hero-pipeline/compile` in the user's cache folder ($XDG_CACHE_HOME or ~/.cache)."""
    from pipeline.output.files import cache_home

    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    return cache_home() / "compile"


@dataclass(frozen=True)
class CompileKey:
    """Everything compiled code depends on that the pipeline chooses."""

    model: str  # the model's revision: hub commit, content hash or built-in config hash
    width: int
    height: int
    batch: int
    dtype: str
    mode: str | None
    backend: str
    quantize: str | None
    torch: str
    device: str  # the GPU's name, or "cpu"
    scope: str = "model"

    def name(self) -> str:
        """A readable, unique folder name: shape, dtype and a hash of all the fields."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]
        label = f"{self.width}x{self.height}x{self.batch}-{self.dtype}-{self.mode or self.backend}"
        if self.scope != "model":
            label += f"-{self.scope}"
        return re.sub(r"[^A-Za-z0-9._-]+", "_", label) + "-" + digest


def _counters() -> dict:
    from torch._dynamo.utils import counters

    inductor = counters["inductor"]
    return {name: inductor[f"fxgraph_cache_{name}"] for name in ("hit", "miss", "bypass")}


class CompileCache:
    """One process's use of the cache folder for one loaded model."""

    def __init__(self, folder: Path, *, model: str, dtype: str, mode: str | None, backend: str,
                 quantize: str | None, device: str, scope: str = "model"):  # fmt: skip
        import torch

        self.folder = folder
        self.backend = backend
        gpu = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else "cpu"
        self._fields = dict(model=model, dtype=dtype, mode=mode, backend=backend, quantize=quantize,
                            torch=torch.__version__, device=gpu, scope=scope)  # fmt: skip
        self._seen: set[CompileKey] = set()
        self._pending: tuple[CompileKey, dict] | None = None
        if backend == "inductor":
            # Read by inductor whenever it opens its caches, so setting it before the first compile suffices.
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder / "inductor")

    def key(self, width: int, height: int, batch: int) -> CompileKey:
        return CompileKey(width=width, height=height, batch=batch, **self._fields)

    def before(self, width: int, height: int, batch: int) -> None:
        """Load the saved artifacts of this shape, the first time it runs in this process."""
        key = self.key(width, height, batch)
        if key in self._seen or self.backend != "inductor":
            return
        import torch

        artifacts = self.folder / key.name() / ARTIFACTS
        if artifacts.is_file():
            try:
                torch.compiler.load_cache_artifacts(artifacts.read_bytes())
            except Exception:  # a damaged or foreign file only costs a compile; inductor's own caches still apply
                pass
        self._pending = (key, _counters())

    def after(self, width: int, height: int, batch: int) -> dict:
        """The record of this run: whether its compiled code was reused, and the key."""
        key = self.key(width, height, batch)
        if self.backend != "inductor":
            status = "none"
        elif self._pending is None or self._pending[0] != key:
            status = "in-process"
        else:
            start = self._pending[1]
            now = _counters()
            hits, misses = now["hit"] - start["hit"], now["miss"] - start["miss"] + now["bypass"] - start["bypass"]
            status = "hit" if hits and not misses else "miss" if misses and not hits else "partial" if hits else "in-process"
            if misses:
                problem = self._save(key)
                if problem:
                    status += f" (not saved: {problem})"
        self._seen.add(key)
        self._pending = None
        return {"cache": status, "cache_key": key.name()}

    def _save(self, key: CompileKey) -> str | None:
        """Save this process's compile artifacts under `key`; the reason when they could not be written."""
        import torch

        from pipeline.output.files import replace_file

        saved = torch.compiler.save_cache_artifacts()
        if saved is None:
            return "torch returned no artifacts"
        folder = self.folder / key.name()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            replace_file(folder / ARTIFACTS, saved[0])
            replace_file(folder / KEY_FILE, (json.dumps(asdict(key), indent=2) + "\n").encode())
        except OSError as exc:
            return f"{folder}: {exc.strerror or exc}"
        return None
