"""The judge: apply a policy to one prompt and say what may be generated, and which rules acted."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from pipeline.errors import InputError
from pipeline.guidelines.matching import Match, find_matches
from pipeline.guidelines.policy import Guidelines, load_guidelines
from pipeline.guidelines.styles import apply_style, merge_negatives

_ARTICLE_BEFORE = re.compile(r"\b(a|an)(\s+)$", re.IGNORECASE)


@dataclass(frozen=True)
class RuleAction:
    """One rule that acted: its id, its action, the text it matched as written, and what replaced it."""

    id: str
    action: str
    matched: str
    replacement: str | None = None


@dataclass(frozen=True)
class Judgement:
    """What the guidelines decided for one prompt; `prompt` is empty when the verdict is block."""

    verdict: str
    prompt: str
    negative_prompt: str
    style: str
    guidelines_version: str
    rules: tuple[RuleAction, ...] = field(default_factory=tuple)
    guidelines_digest: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> dict:
        """The judgement as `check-prompt --json` prints it."""
        return {
            "verdict": self.verdict,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "rules": [{"id": rule.id, "action": rule.action, "matched": rule.matched} for rule in self.rules],
            "guidelines_version": self.guidelines_version,
        }

    def refusal(self) -> str:
        """One line naming the rules that refused the prompt and what they matched."""
        blocks = [rule for rule in self.rules if rule.action == "block"]
        named = "; ".join(f"{rule.id} (matched {rule.matched!r})" for rule in blocks)
        return f"prompt refused by guideline {named} [guidelines {self.guidelines_version}]"


def judge(
    prompt: str,
    *,
    style: str | None = None,
    negative_prompt: str | None = None,
    guidelines: Guidelines | None = None,
) -> Judgement:
    """Judge `prompt` under `guidelines` (the shipped policy when None) and build the final prompts."""
    policy = guidelines if guidelines is not None else load_guidelines()
    text = (prompt or "").strip()
    if not text:
        raise InputError("the prompt is empty")
    chosen = policy.style(style)
    matches = find_matches(policy, text, photorealistic_style=chosen.photorealistic)
    blocks = [match for match in matches if match.rule.action == "block"]
    rewrites = _without_overlaps([match for match in matches if match.rule.action == "rewrite"])
    common = dict(style=chosen.name, guidelines_version=policy.version, guidelines_digest=policy.digest)
    if blocks:
        acted = [_action(text, match, None) for match in blocks + rewrites]
        return Judgement("block", "", "", rules=tuple(acted), **common)
    subject, acted = rewrite(text, rewrites)
    acted.append(RuleAction(policy.always_id, "always", "", policy.always_negative))
    return Judgement(
        "rewrite" if rewrites else "allow",
        apply_style(chosen, subject),
        merge_negatives(negative_prompt, chosen.negative_prompt, policy.always_negative),
        rules=tuple(acted),
        **common,
    )


def _without_overlaps(matches: list[Match]) -> list[Match]:
    kept: list[Match] = []
    for match in sorted(matches, key=lambda m: (m.start, -(m.end - m.start))):
        if not kept or match.start >= kept[-1].end:
            kept.append(match)
    return kept


def _action(text: str, match: Match, replacement: str | None) -> RuleAction:
    return RuleAction(match.rule.id, match.rule.action, text[match.start : match.end], replacement)


def rewrite(text: str, matches: list[Match]) -> tuple[str, list[RuleAction]]:
    """`text` with each matched span replaced by its rule's replacement; text elsewhere stays as written."""
    out: list[str] = []
    acted: list[RuleAction] = []
    position = 0
    for match in matches:
        before = "".join(out) + text[position : match.start]
        replacement = replacement_for(match, text[match.start : match.end])
        article = _ARTICLE_BEFORE.search(before)
        if article and not match.plural:
            wanted = "an" if replacement[:1].lower() in "aeiou" else "a"
            wanted = wanted.capitalize() if article.group(1)[0].isupper() else wanted
            before = before[: article.start()] + wanted + article.group(2)
        out = [before, replacement]
        acted.append(_action(text, match, replacement))
        position = match.end
    out.append(text[position:])
    return "".join(out), acted


def replacement_for(match: Match, written: str) -> str:
    """The rule's replacement, plural where the match was plural, capitalised like the text it replaces."""
    rule = match.rule
    replacement = rule.plural if match.plural and rule.plural else rule.replacement
    if written[:1].isupper() and not written.isupper():
        replacement = replacement[:1].upper() + replacement[1:]
    return replacement
