"""`pipeline models`: the models one can name, and export of built-in ones."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.cli.options import guidelines_option
from pipeline.errors import InputError
from pipeline.output.files import check_writable
from pipeline.models import ALIASES, builtin_models
from pipeline.options import COMPILE_BACKENDS, COMPILE_MODES, COMPILE_SCOPES, DEFAULT_MODEL, DTYPES, QUANTIZE_MODES, AccelOptions, GenerateRequest


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


def _size(value: str) -> tuple[int, int]:
    width, _, height = value.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. 1024x1024")
    return int(width), int(height)


WARM_PROMPT = "a lighthouse on a rocky coast at dawn"


@models.command("warm")
@click.argument("name")
@click.option("--size", "size", required=True, metavar="WxH", help="Image size to compile for, e.g. 1024x1024.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True, help="Images per forward pass.")
@click.option("--device", default="auto", show_default=True, help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
@click.option("--dtype", type=click.Choice(DTYPES), default="auto", show_default=True)
@click.option("--compile-mode", type=click.Choice(COMPILE_MODES), default="default", show_default=True, help="torch.compile mode.")
@click.option("--compile-scope", type=click.Choice(COMPILE_SCOPES), default="model", show_default=True, help="As `generate --compile-scope`.")
@click.option("--compile-backend", type=click.Choice(COMPILE_BACKENDS), default="inductor", show_default=True)
@click.option("--quantize", type=click.Choice(QUANTIZE_MODES), help="As `generate --quantize`.")
@click.option("--guidance", "guidance_scale", type=float, help="Guidance scale (above 1 doubles the UNet batch); default by model.")
@click.option("--style", help="Style preset, as the later jobs use it (its negative prompt sets the text length).")
@guidelines_option
@click.option("--threads", type=click.IntRange(min=1), envvar="PIPELINE_THREADS", help="CPU threads for torch (CPU code depends on it).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def warm(name, size, batch_size, device, dtype, compile_mode, compile_scope, compile_backend, quantize, guidance_scale, style,
         guidelines, threads, as_json) -> None:  # fmt: skip
    """Compile model NAME for one image size ahead of time, into the compile cache folder
    ($PIPELINE_COMPILE_CACHE, else ~/.cache/hero-pipeline/compile), so that the next `generate --compile`
    or batch of that size, dtype and mode starts without compiling. It makes one image of 2 steps through
    `generate`'s own path (guidelines, style, text encoding; nothing is written) and prints the cache key
    and whether the compiled code was already there."""
    import time

    from pipeline.generate import generate, get_model
    from pipeline.models.compile_cache import cache_folder

    width, height = _size(size)
    accel = AccelOptions(compile=compile_mode, compile_backend=compile_backend, compile_scope=compile_scope, quantize=quantize)
    request = GenerateRequest(
        prompt=WARM_PROMPT, model=name, device=device, dtype=dtype, width=width, height=height, num_inference_steps=2,
        guidance_scale=guidance_scale, seeds=tuple(range(1, batch_size + 1)), num_images=batch_size,
        batch_size=batch_size, style=style, guidelines=guidelines, threads=threads, accel=accel,
    )  # fmt: skip
    began = time.perf_counter()
    records = [item.record for item in generate(request, model=get_model(request))]  # nothing is written
    first = records[0]
    compiled = first.accel["compile"]
    result = {
        "model": name, "width": width, "height": height, "batch_size": batch_size, "dtype": first.dtype,
        "device": first.device, "cache": compiled["cache"], "cache_key": compiled["cache_key"],
        "folder": str(cache_folder()), "load_s": first.timings["model_load_s"],
        "compile_s": first.timings["batch_generate_s"], "total_s": round(time.perf_counter() - began, 3),
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"{result['cache_key']}: {result['cache']} ({result['compile_s']:.1f} s) in {result['folder']}")
