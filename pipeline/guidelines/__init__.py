"""Style and safety guidelines applied to every prompt: a readable policy file, styles, rules and the judge."""

from __future__ import annotations

from pipeline.guidelines.judge import Judgement, RuleAction, judge
from pipeline.guidelines.policy import (
    Guidelines,
    Rule,
    Style,
    default_path,
    load_guidelines,
    parse_guidelines,
)


def style_names(guidelines: Guidelines | None = None) -> list[str]:
    """The style names of a policy (the shipped one when None)."""
    return list((guidelines or load_guidelines()).styles)


__all__ = [
    "Guidelines",
    "Judgement",
    "Rule",
    "RuleAction",
    "Style",
    "default_path",
    "judge",
    "load_guidelines",
    "parse_guidelines",
    "style_names",
]
