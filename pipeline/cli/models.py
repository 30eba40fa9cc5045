"""`pipeline models`: the models one can name, and export of built-in ones."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.errors import InputError
from pipeline.storage import check_writable
from pipeline.models import ALIASES, DEFAULT_MODEL, builtin_models


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """List built-in models and aliases (with licences); see `models export`."""
    if ctx.invoked_subcommand is not None:
        return
    entries = [
        {"name": name, "source": "builtin", "id": name, "licence": "random weights, no licence terms", "commercial_use": "n/a (test model)"}
        for name in builtin_models()
    ] + [
        {
            "name": alias.name,
            "source": "hub",
            "id": alias.repo_id,
            "family": alias.family,
            "licence": alias.licence,
            "commercial_use": alias.commercial_use,
            "default": alias.name == DEFAULT_MODEL,
        }
        for alias in ALIASES.values()
    ]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for entry in entries:
        mark = " (default)" if entry.get("default") else ""
        click.echo(f"{entry['name']:<12} {entry['id']:<45} {entry['licence']}{mark}")
        click.echo(f"{'':<12} commercial use: {entry['commercial_use']}")


@models.command("export")
@click.argument("name")
@click.argument("folder", type=click.Path(path_type=Path))
def export(name: str, folder: Path) -> None:
    """Write built-in model NAME as a standard diffusers FOLDER."""
    if name not in builtin_models():
        raise InputError(f"{name!r} is not a built-in model; choose from {', '.join(builtin_models())}")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder} exists and is not an empty folder; choose a new one")
    check_writable(folder)
    from pipeline.models.loader import load_model

    model = load_model(name, device="cpu", dtype="float32")
    model.export(folder)
    click.echo(str(folder))
