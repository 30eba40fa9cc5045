"""Image checks after generation: which checkers run, and the reasons they give for flagging an image.

A flagged image is never blacked out or deleted: it is stored, unchanged, in the quarantine folder inside the
output folder (pipeline.output.naming.QUARANTINE), its record says `"flagged": true` with the reasons, and it is
not publishable.
"""

from __future__ import annotations


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
