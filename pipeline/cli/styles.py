"""`pipeline styles`: the style presets of the guidelines policy."""

from __future__ import annotations

import json

import click

from pipeline.cli.options import guidelines_option


@click.command()
@guidelines_option
@click.option("--json", "as_json", is_flag=True, help="Print the styles as JSON.")
def styles(guidelines, as_json: bool) -> None:
    """List the style presets for --style, with their templates."""
    from pipeline.guidelines import load_guidelines

    policy = load_guidelines(guidelines)
    entries = [
        {
            "name": style.name,
            "description": style.description,
            "template": style.template,
            "negative_prompt": style.negative_prompt,
            "photorealistic": style.photorealistic,
            "default": style.name == policy.default_style,
        }
        for style in policy.styles.values()
    ]
    if as_json:
        click.echo(json.dumps({"guidelines_version": policy.version, "styles": entries}, indent=2))
        return
    click.echo(f"guidelines {policy.version} ({policy.source})")
    for entry in entries:
        mark = " (default)" if entry["default"] else ""
        click.echo(f"{entry['name']}{mark}: {entry['description']}")
        click.echo(f"    {entry['template']}")
