"""Image checks after generation: which checkers run, and where an image they flag is kept (quarantine).

A flagged image is never blacked out or deleted: it is stored, unchanged, in the `quarantine` folder inside the
output folder, its record says `"flagged": true` with the reasons, and it is not publishable.
"""

from __future__ import annotations

from pathlib import Path

QUARANTINE = "quarantine"


def load_checks(*, nsfw: str | None, clip: str | None, guidelines) -> list:
    """The checkers asked for: diffusers' NSFW checker from `nsfw`, a CLIP concept check from `clip`."""
    checks = []
    if nsfw:
        from pipeline.models.checkers import NsfwChecker

        checks.append(NsfwChecker(nsfw))
    if clip:
        from pipeline.models.checkers import ClipConceptChecker

        checks.append(ClipConceptChecker(clip, guidelines.image_concepts, guidelines.image_neutral,
                                         guidelines.image_threshold))
    return checks


def run_checks(checks: list, images: list) -> list[list[str]]:
    """For each image, the reasons every checker gives for flagging it (empty: not flagged)."""
    reasons: list[list[str]] = [[] for _ in images]
    for check in checks:
        for found, more in zip(reasons, check(images)):
            found.extend(more)
    return reasons


def destination(out_dir: Path, reasons: list[str]) -> Path:
    """The folder an image goes to: the output folder, or its quarantine folder when flagged."""
    return out_dir / QUARANTINE if reasons else out_dir
