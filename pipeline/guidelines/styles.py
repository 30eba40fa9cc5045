"""Styles: put the subject into a style's template and gather the negative prompt every image gets."""

from __future__ import annotations

from pipeline.guidelines.policy import PROMPT_FIELD, Style


def apply_style(style: Style, subject: str) -> str:
    """The positive prompt: the style's template with the subject first (no other text is interpreted)."""
    return style.template.replace(PROMPT_FIELD, subject, 1)


def merge_negatives(*parts: str | None) -> str:
    """Comma-separated negative prompts joined in order, each item once (case-insensitive)."""
    items: dict[str, str] = {}
    for part in parts:
        for item in (part or "").split(","):
            item = item.strip()
            if item and item.lower() not in items:
                items[item.lower()] = item
    return ", ".join(items.values())
