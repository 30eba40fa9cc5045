"""Styles: put the subject into a style's template and gather the negative prompt every image gets."""

from __future__ import annotations

import re

from pipeline.guidelines.policy import PROMPT_FIELD, Style


def apply_style(style: Style, subject: str) -> str:
    """The positive prompt: the style's template with the subject first (no other text is interpreted). Where the
    template goes on with a comma, the subject's closing punctuation goes ("a harbour at dawn, realistic ...", not
    "a harbour at dawn., realistic ..."; an abbreviation such as "U.S." keeps its full stop)."""
    if style.template.partition(PROMPT_FIELD)[2].startswith(","):
        subject = _CLOSING.sub("", subject) or subject
    return style.template.replace(PROMPT_FIELD, subject, 1)


# A subject's closing punctuation, where it is no abbreviation's full stop ("U.S.")
_CLOSING = re.compile(r"(?<![A-Z]\.[A-Z])\s*[.;:,]+\s*$")


def merge_negatives(*parts: str | None) -> str:
    """Comma-separated negative prompts joined in order, each item once (case-insensitive)."""
    items: dict[str, str] = {}
    for part in parts:
        for item in (part or "").split(","):
            item = item.strip()
            if item and item.lower() not in items:
                items[item.lower()] = item
    return ", ".join(items.values())
