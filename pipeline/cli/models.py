"""`pipeline models`: the models one can name, and export of built-in ones."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.errors import InputError
from pipeline.output.files import check_writable
from pipeline.models import ALIASES, builtin_models
from pipeline.options import DEFAULT_MODEL


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """List built-in models and aliases (with licences, and whether each is on this machine);
    see `models pull` and `models export`."""
    if ctx.invoked_subcommand is not None:
        return
    from pipeline.models import ModelSource, describe_source
    from pipeline.models.hub import cached_sizes, human_size

    sizes = cached_sizes()
    entries = [
        {
            "name": name, "source": "builtin", "id": name,
            "family": describe_source(ModelSource("builtin", name, name))["family"],
            "licence": "random weights, no licence terms", "commercial_use": "n/a (test model)",
            "default": False, "on_disk": True, "size_bytes": None,
        }
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
            "on_disk": alias.repo_id in sizes,
            "size_bytes": sizes.get(alias.repo_id),
        }
        for alias in ALIASES.values()
    ]  # fmt: skip
    known = {entry["id"] for entry in entries}
    entries += [
        {"name": repo_id, "source": "hub", "id": repo_id, "family": None, "licence": None, "commercial_use": None,
         "default": False, "on_disk": True, "size_bytes": size}
        for repo_id, size in sorted(sizes.items()) if repo_id not in known
    ]  # fmt: skip
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for entry in entries:
        mark = " (default)" if entry["default"] else ""
        if entry["source"] == "builtin":
            here = "built in"
        elif entry["on_disk"]:
            here = f"on this machine, {human_size(entry['size_bytes'])}"
        else:
            here = f"not downloaded: `pipeline models pull {entry['name']}`"
        click.echo(f"{entry['name']:<12} {entry['id']:<45} {here}{mark}")
        if entry["licence"]:
            click.echo(f"{'':<12} licence: {entry['licence']}; commercial use: {entry['commercial_use']}")


@models.command("pull")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Download without asking, after showing the size and licence.")
def pull(name: str, yes: bool) -> None:
    """Download hub model NAME (an alias such as sdxl, or a hub id) into the Hugging Face cache, after showing
    its size and licence. Gated models need HF_TOKEN."""
    from pipeline.models import resolve_model_source
    from pipeline.models.hub import cached_folder, human_size, plan_pull, pull as download

    source = resolve_model_source(name)
    if source.kind != "hub":
        raise InputError(f"{name} is a {source.kind.replace('_', ' ')} model, not a hub model: there is nothing to pull")
    alias = ALIASES.get(source.name)
    plan = plan_pull(source.location, licence=alias.licence if alias else None, name=source.name)
    licence = plan.licence or "not stated by the model card: check it before publishing"
    click.echo(f"{source.name}: {plan.repo_id}", err=True)
    click.echo(f"licence: {licence}" + (f"; commercial use: {alias.commercial_use}" if alias else ""), err=True)
    if plan.gated:
        click.echo("gated: accept the licence on the model's hub page; HF_TOKEN must belong to that account", err=True)
    if not plan.files:
        click.echo(f"already on this machine ({plan.cached_files} files)", err=True)
        click.echo(str(cached_folder(plan.repo_id) or ""))
        return
    click.echo(
        f"to download: {len(plan.files)} file(s), {human_size(plan.download_bytes)}"
        + (f" ({plan.cached_files} already here)" if plan.cached_files else ""),
        err=True,
    )
    if not yes and not click.confirm("Download?", err=True):
        click.echo("nothing downloaded", err=True)
        return
    folder = download(plan)
    click.echo(str(folder))


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
