"""Readable, filesystem-safe, collision-resistant names for stored images."""

from __future__ import annotations

import hashlib
import json

from slugify import slugify

MAX_SLUG_LENGTH = 60

QUARANTINE = "quarantine"
"""The folder inside an output folder where images flagged by the image checks are kept, unpublished."""


def slug(text: str | None) -> str:
    """A lower-case ASCII slug of `text` ([a-z0-9-] only, at most 60 characters), or `image`."""
    result = slugify(text or "", max_length=MAX_SLUG_LENGTH, word_boundary=True, save_order=True)
    return result or "image"


def short_hash(params: dict, length: int = 8) -> str:
    """A short hash of generation parameters (canonical JSON), so different settings never share a name."""
    canonical = json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:length]


def image_stem(title_or_prompt: str | None, seed: int, params: dict) -> str:
    """`<slug>-<seed>-<hash>`: readable, carries the seed, and differs whenever the settings differ."""
    return f"{slug(title_or_prompt)}-{seed}-{short_hash(params)}"
