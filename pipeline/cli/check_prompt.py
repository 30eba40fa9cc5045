"""`pipeline check-prompt`: judge a prompt under the guidelines without loading a model."""

from __future__ import annotations

import json
import sys

import click

from pipeline.cli.guidelines_option import guidelines_option
from pipeline.errors import PromptBlocked


@click.command("check-prompt")
@click.argument("text")
@click.option("--style", help="Style preset (see `pipeline styles`); default: the policy's.")
@click.option("--negative-prompt", help="Extra negative prompt, added to the style's.")
@guidelines_option
@click.option("--json", "as_json", is_flag=True, help="Print the judgement as one JSON object.")
def check_prompt(text: str, style, negative_prompt, guidelines, as_json: bool) -> None:
    """Judge TEXT (- for stdin) under the guidelines: allow, rewrite (exit 0) or block (exit 3)."""
    from pipeline.guidelines import judge, load_guidelines

    if text == "-":
        text = sys.stdin.read()
    policy = load_guidelines(guidelines)
    judgement = judge(text, style=style, negative_prompt=negative_prompt, guidelines=policy)
    if as_json:
        click.echo(json.dumps(judgement.summary(), ensure_ascii=False))
    else:
        click.echo(explain(judgement, {rule.id: rule.rationale for rule in policy.rules}))
    if judgement.verdict == "block":
        raise PromptBlocked(judgement.refusal())


def explain(judgement, rationales: dict[str, str]) -> str:
    """A short human-readable account of a judgement."""
    lines = [f"{judgement.verdict}: guidelines {judgement.guidelines_version}, style {judgement.style}"]
    for rule in judgement.rules:
        if rule.action == "always":
            continue
        change = f" -> {rule.replacement!r}" if rule.replacement else ""
        lines.append(f"  {rule.action} {rule.id}: {rule.matched!r}{change}")
        if rule.action == "block":
            lines.append(f"    {rationales.get(rule.id, '')}")
    if judgement.verdict != "block":
        lines.append(f"prompt: {judgement.prompt}")
        lines.append(f"negative prompt: {judgement.negative_prompt}")
    return "\n".join(lines)
