"""Hub models on this machine: what is cached and how large, and downloading one after showing its size and licence.

Only huggingface_hub is used here (no torch); the cache is the one diffusers reads (`HF_HUB_CACHE`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError, PipelineError

# What a diffusers text-to-image folder needs, in safetensors only (no pickles, no duplicate formats).
ALLOW_PATTERNS = ["model_index.json", "*/*.json", "*/*.txt", "*/*.safetensors"]
IGNORE_PATTERNS = ["*.fp16.safetensors", "*non_ema*", "*.ckpt", "*.bin", "*.msgpack", "*.onnx", "*.onnx_data"]


def cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_folder(repo_id: str) -> Path | None:
    """The cached diffusers folder of `repo_id` (its newest snapshot with a model_index.json), or None."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "model_index.json", cache_dir=cache_dir())
    return Path(found).parent if isinstance(found, str) else None


def cached_sizes() -> dict[str, int]:
    """Bytes on disk of each cached model repository, by repo id."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(cache_dir())
    except CacheNotFound:
        return {}
    return {repo.repo_id: repo.size_on_disk for repo in info.repos if repo.repo_type == "model"}


def human_size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


@dataclass(frozen=True)
class PullPlan:
    """What `models pull` would download: the files still missing and their size, and the model's licence."""

    repo_id: str
    licence: str | None
    gated: bool
    files: tuple[tuple[str, int | None], ...]
    cached_files: int

    @property
    def download_bytes(self) -> int:
        return sum(size or 0 for _, size in self.files)


def hub_error(repo_id: str, exc: Exception, name: str | None = None, pulling: bool = False) -> InputError:
    """A whole, actionable message for a hub model that cannot be had now (`pulling`: while `models pull` asks)."""
    from huggingface_hub import errors

    name = name or repo_id
    if isinstance(exc, errors.GatedRepoError) or "gated" in str(exc).lower():
        return InputError(
            f"model {repo_id} is gated: accept its licence at https://huggingface.co/{repo_id}, "
            "then set HF_TOKEN to an access token of that account"
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return InputError(
            f"there is no model {repo_id} on the hub (or it is private: set HF_TOKEN); check the id, "
            "or see `pipeline models` for the names this tool knows"
        )
    called = name if name == repo_id else f"{name} ({repo_id})"
    if pulling:
        return InputError(
            f"cannot reach the hub for {called} ({type(exc).__name__}); check the network, a proxy or "
            "HF_HUB_OFFLINE, then pull again (a pull that was cut off resumes)"
        )
    return InputError(
        f"model {called} is not on this machine and cannot be downloaded now (offline, or the hub "
        "cannot be reached). To try the pipeline offline use --model tiny; to download the model run "
        f"`pipeline models pull {name}` (it shows the size and licence first; gated models need HF_TOKEN); "
        "or pass a local diffusers folder"
    )


def plan_pull(repo_id: str, licence: str | None = None, name: str | None = None) -> PullPlan:
    """Ask the hub which files a diffusers folder of `repo_id` needs and their sizes; download nothing."""
    import huggingface_hub

    try:
        info = huggingface_hub.HfApi().model_info(repo_id)
        listed = huggingface_hub.snapshot_download(
            repo_id, cache_dir=cache_dir(), allow_patterns=ALLOW_PATTERNS, ignore_patterns=IGNORE_PATTERNS, dry_run=True
        )
    except (OSError, ValueError) as exc:  # huggingface_hub's errors are OSErrors; a malformed id a ValueError
        raise hub_error(repo_id, exc, name, pulling=True) from None
    card = getattr(info, "card_data", None) or {}
    licence = licence or (card.get("license") if hasattr(card, "get") else None)
    missing = tuple((f.filename, f.file_size) for f in listed if f.will_download)
    return PullPlan(repo_id, licence, bool(getattr(info, "gated", False)), missing, len(listed) - len(missing))


def pull(plan: PullPlan) -> Path:
    """Download what `plan` lists into the hub cache; returns the diffusers folder."""
    import huggingface_hub

    from huggingface_hub import errors

    try:
        folder = huggingface_hub.snapshot_download(
            plan.repo_id, cache_dir=cache_dir(), allow_patterns=ALLOW_PATTERNS, ignore_patterns=IGNORE_PATTERNS
        )
    except (errors.HfHubHTTPError, errors.OfflineModeIsEnabled, ValueError) as exc:
        raise hub_error(plan.repo_id, exc, pulling=True) from None
    except OSError as exc:  # the disk, or the connection mid-download
        raise PipelineError(f"downloading {plan.repo_id} failed: {exc.strerror or exc}; run the pull again to resume") from None
    return Path(folder)
