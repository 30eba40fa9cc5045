"""`pipeline check-prompt`: judge a prompt, or score a labelled corpus, under the guidelines without a model."""

from __future__ import annotations

import json
import sys

import click

from pipeline.cli.options import guidelines_option
from pipeline.errors import PromptBlocked


@click.command("check-prompt")
@click.argument("text", required=False)
@click.option("--style", help="Style preset (see `pipeline styles`); default: the policy's.")
@click.option("--negative-prompt", help="Extra negative prompt, added to the style's.")
@guidelines_option
@click.option("--corpus", "corpora", multiple=True, type=click.Path(dir_okay=False),
              help="Score a labelled corpus (JSON Lines) instead of one prompt: rates by kind, category and "
                   "technique. May be repeated.")
@click.option("--failures", is_flag=True, help="With --corpus: also list each prompt that missed its label.")
@click.option("--json", "as_json", is_flag=True, help="Print the judgement (or the scores) as JSON.")
def check_prompt(text, style, negative_prompt, guidelines, corpora, failures: bool, as_json: bool) -> None:
    """Judge TEXT (- for stdin) under the guidelines: allow, rewrite (exit 0) or block (exit 3).

    With --corpus FILE, judge every prompt of a labelled corpus and print how many harmful prompts were
    neutralised and how many benign ones were kept, overall, by category and by technique."""
    from pipeline.guidelines import judge, load_guidelines

    policy = load_guidelines(guidelines)
    if corpora:
        if text is not None:
            raise click.UsageError("give TEXT or --corpus, not both")
        click.echo(score_corpora(corpora, policy, failures, as_json))
        return
    if text is None:
        raise click.UsageError("missing TEXT (or --corpus FILE)")
    if text == "-":
        text = sys.stdin.read()
    judgement = judge(text, style=style, negative_prompt=negative_prompt, guidelines=policy)
    if as_json:
        click.echo(json.dumps(judgement.summary(), ensure_ascii=False))
    else:
        click.echo(explain(judgement, {rule.id: rule.rationale for rule in policy.rules}))
    if judgement.verdict == "block":
        raise PromptBlocked(judgement.refusal())


def score_corpora(paths, policy, failures: bool, as_json: bool) -> str:
    """The scores of each corpus as a table (or JSON), with the misses when asked for."""
    from pipeline.guidelines.corpus import load_corpus, score

    reports, lines = [], []
    for path in paths:
        scores = score(load_corpus(path), policy)
        rows = scores.table()
        reports.append({"corpus": str(path), "guidelines_version": policy.version,
                        "rates": [{"group": g, "name": n, "met": m, "total": t} for g, n, m, t in rows]})
        lines.append(f"{path} (guidelines {policy.version})")
        for group, name, met, total in rows:
            lines.append(f"  {group:38s} {name:22s} {met:4d}/{total:<4d} {100 * met / total:5.1f}%")
        if failures:
            misses = scores.failures()
            reports[-1]["failures"] = [{"id": o.example.id, "verdict": o.verdict, "subject": o.subject,
                                        "decided_by": list(o.decided_by)} for o in misses]
            for outcome in misses:
                lines.append(f"  miss {outcome.example.id} [{outcome.example.kind}/{outcome.example.category}/"
                             f"{outcome.example.technique}] {outcome.verdict}: {outcome.example.prompt!r}")
    return json.dumps(reports, ensure_ascii=False) if as_json else "\n".join(lines)


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
