"""Style and safety guidelines applied to every prompt (interim: styles only; the policy file replaces this)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pipeline.errors import InputError

GUIDELINES_VERSION = "0"
DEFAULT_STYLE = "editorial-illustration"

_STYLES = {
    "none": ("{prompt}", ""),
    "editorial-illustration": (
        "{prompt}, editorial illustration, thoughtful composition, muted palette",
        "weapons, soldiers, military hardware, explosions, blood, caricature, propaganda, text, watermark",
    ),
}


@dataclass(frozen=True)
class RuleAction:
    id: str
    action: str
    matched: str
    replacement: str | None = None


@dataclass(frozen=True)
class Judgement:
    verdict: str
    prompt: str
    negative_prompt: str
    style: str
    guidelines_version: str
    rules: tuple[RuleAction, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self)


def style_names() -> list[str]:
    return list(_STYLES)


def judge(prompt: str, *, style: str | None = None, negative_prompt: str | None = None) -> Judgement:
    style = style or DEFAULT_STYLE
    if style not in _STYLES:
        raise InputError(f"unknown style {style!r}; choose from {', '.join(_STYLES)}")
    template, negative = _STYLES[style]
    negatives = ", ".join(part for part in (negative_prompt, negative) if part)
    return Judgement("allow", template.format(prompt=prompt.strip()), negatives, style, GUIDELINES_VERSION)
