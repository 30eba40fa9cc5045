"""`pipeline generate`: one article or prompt in, stored hero images out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipeline.cli.options import accel_options, pop_accel_options
from pipeline.cli.config import config_options
from pipeline.cli.options import guidelines_option
from pipeline.errors import InputError, PromptBlocked
from pipeline.inputs import read_input
from pipeline.options import DEFAULT_MODEL, DTYPES, RENDITIONS_DEFAULT, SCHEDULER_NAMES, GenerateRequest

PUBLISH_OPTIONS = (
    "renditions", "formats", "quality", "sharpen", "disclosure", "credit", "alt_text", "upscaler",
    "c2pa_cert", "c2pa_key", "c2pa_tsa",
)


def read_source(article: str | None, prompt: str | None):
    """The Article to generate from: an article file, `-` for stdin, or a prompt given inline."""
    from pipeline.inputs.article import Article, decode_text, parse_article

    if article is not None and prompt is not None:
        raise click.UsageError("give either an ARTICLE file or --prompt, not both")
    if prompt is not None:
        if not prompt.strip():
            raise InputError("the prompt is empty")
        return Article(prompt=prompt.strip()), "--prompt"
    if article is None:
        raise click.UsageError("give an ARTICLE file (or - for stdin) or --prompt TEXT")
    if article == "-":
        return parse_article(decode_text(sys.stdin.buffer.read(), "standard input"), "standard input"), "stdin"
    data = read_input(Path(article), "article file")
    return parse_article(decode_text(data, article), article), article


@click.command()
@click.argument("article", required=False)
@click.option("--prompt", "prompt", help="Use this image prompt instead of an article file.")
@click.option(
    "--model",
    default=DEFAULT_MODEL,
    show_default=True,
    envvar="PIPELINE_MODEL",
    help="Built-in model (tiny), alias (see `pipeline models`), hub id, diffusers folder or .safetensors file.",
)
@click.option("--model-config", help="For a .safetensors file offline: a diffusers folder of the same architecture.")
@click.option("--device", default="auto", show_default=True, help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
@click.option(
    "--dtype",
    type=click.Choice(DTYPES),
    default="auto",
    show_default=True,
    help="auto is float16 on CUDA and float32 elsewhere.",
)
@click.option("--scheduler", type=click.Choice(SCHEDULER_NAMES), help="Sampler; default: the model's own.")
@click.option("--seed", type=int, help="Seed of the first image (the next images use seed+1, ...); random when absent.")
@click.option("--steps", "num_inference_steps", type=int, help="Denoising steps; default by model.")
@click.option("--guidance", "guidance_scale", type=float, help="Classifier-free guidance scale; default by model.")
@click.option("--width", type=int, help="Image width, a multiple of 8; default by model.")
@click.option("--height", type=int, help="Image height, a multiple of 8; default by model.")
@click.option("--num-images", type=int, default=1, show_default=True, help="How many images (consecutive seeds).")
@click.option("--batch-size", type=int, default=1, show_default=True, help="Images per forward pass.")
@click.option("--negative-prompt", help="Extra negative prompt, added to the style's.")
@click.option("--style", help="Style preset (see `pipeline styles`).")
@guidelines_option
@click.option(
    "--safety",
    type=click.Choice(["off", "medium", "strong", "max"]),
    help="Safe Latent Diffusion strength (SD 1.x/2.x); default: the guidelines' [guidance] strength.",
)
@click.option("--nsfw-check", metavar="MODEL", help="Check images with diffusers' NSFW checker (folder or hub id).")
@click.option("--clip-check", metavar="MODEL", help="Check images for the guidelines' concepts with this CLIP model.")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), default=Path("outputs"), show_default=True,
    help="Output folder for the images, their records, renditions and catalogue.sqlite; made if missing, "
    "checked writable before the model loads.",
)  # fmt: skip
@click.option("--threads", type=int, envvar="PIPELINE_THREADS", help="CPU threads for torch; default: torch's choice.")
@click.option(
    "--renditions",
    default=RENDITIONS_DEFAULT,
    show_default=True,
    envvar="PIPELINE_RENDITIONS",
    help="Renditions to publish: comma-separated hero, og, square, thumb, all, NAME=WIDTHxHEIGHT, or none "
    "(or $PIPELINE_RENDITIONS).",
)
@click.option("--formats", default="webp,jpeg", show_default=True, help="Rendition formats: png, webp, jpeg, avif.")
@click.option("--quality", type=int, default=85, show_default=True, help="Rendition quality for WebP, JPEG and AVIF (1-100).")
@click.option("--sharpen/--no-sharpen", default=True, show_default=True, help="Mild unsharp mask after resampling.")
@click.option("--disclosure", help='Draw a caption strip with this text on renditions, e.g. "AI-generated illustration".')
@click.option("--credit", help="Credit line in the embedded metadata; default: AI-generated illustration.")
@click.option(
    "--alt-text",
    help="Alt text in the embedded metadata (dc:description); default: a short description from the prompt "
    "the guidelines produced, without the style's wording or instructions to the model.",
)
@click.option(
    "--upscaler",
    help="x4 super-resolution model (diffusers folder or cached hub id) for renditions larger than the image; "
    "default: Lanczos resampling only.",
)
@click.option(
    "--c2pa-cert",
    metavar="PEM",
    envvar="PIPELINE_C2PA_CERT",
    help="Sign every published file with C2PA Content Credentials: this certificate chain, leaf first "
    "(or $PIPELINE_C2PA_CERT). Needs --c2pa-key and `pip install 'hero-pipeline[c2pa]'`.",
)
@click.option("--c2pa-key", metavar="PEM", envvar="PIPELINE_C2PA_KEY", help="The signing certificate's PKCS#8 private key (or $PIPELINE_C2PA_KEY).")
@click.option("--c2pa-tsa", metavar="URL", help="RFC 3161 time-stamp authority for the signatures (optional).")
@click.option(
    "--watermark/--no-watermark",
    default=False,
    show_default=True,
    help="SDXL only: add diffusers' invisible watermark (needs the invisible-watermark package); recorded.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout; logs go to stderr.")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check everything and print the plan (final prompt, rules, model, size, files, renditions); "
    "load no weights, write nothing.",
)
@accel_options
@config_options
def generate(article, prompt, as_json, quiet, dry_run, **options):
    """Generate hero images for an ARTICLE file (- for stdin) or a --prompt.

    An article file is the image prompt, a line `$$$`, then the article, title first.
    """
    from pipeline.publish.encodings import publish_options

    publish = publish_options(**{k: options.pop(k) for k in PUBLISH_OPTIONS})
    parsed, source = read_source(article, prompt)
    accel = pop_accel_options(options)
    request = GenerateRequest(
        prompt=parsed.prompt, title=parsed.title, source=source, publish=publish, accel=accel, **options
    )

    if dry_run:
        show_plan(request, as_json)
        return
    from pipeline.cli.denoise_progress import DenoiseProgress

    progress = DenoiseProgress.for_stream(quiet)

    def log(message: str) -> None:
        if progress is not None:
            progress.log(message)
        elif not quiet:
            click.echo(message, err=True)

    try:
        stored = save_images(request, log=log, on_step=progress)
    except PromptBlocked as blocked:
        if as_json:  # the verdict, as `check-prompt --json` gives it, and no images
            click.echo(json.dumps({"images": [], "guidelines": blocked.details}, ensure_ascii=False))
        raise
    finally:
        if progress is not None:
            progress.close()
    if as_json:
        click.echo(json.dumps({"images": [image.to_json() for image in stored]}))
    else:
        for image in stored:
            click.echo(str(image.path))


def save_images(request: GenerateRequest, log, on_step) -> list:
    """Generate the request's images and save each into its output folder as soon as it is made."""
    from dataclasses import asdict

    from pipeline.generate import generate
    from pipeline.output.folder import OutputFolder

    images = generate(request, log=log, on_step=on_step)  # checks and judges at once
    with OutputFolder(request.out_dir, command="generate", options=asdict(request), log=log) as folder:
        return [folder.save(item.image, item.record, request.publish) for item in images]


def show_plan(request, as_json: bool) -> None:
    """Print what `generate` would do; exit 3 if the guidelines would refuse the prompt."""
    from pipeline.generate import plan

    steps = plan(request)
    verdict = steps["guidelines"]
    if as_json:
        click.echo(json.dumps(steps, ensure_ascii=False))
    else:
        model = steps["model"]
        where = "on this machine" if model["on_disk"] else f"not on this machine: `pipeline models pull {model['name']}`"
        click.echo(f"verdict: {verdict['verdict']} (guidelines {verdict['guidelines_version']}, style {verdict['style']})")
        for rule in verdict["rules"]:
            if rule["action"] != "always":
                click.echo(f"  {rule['action']} {rule['id']}: {rule['matched']!r}")
        click.echo(f"final prompt: {verdict['prompt']}")
        click.echo(f"negative prompt: {verdict['negative_prompt']}")
        click.echo(f"model: {model['name']} ({model['kind']} {model['location']}, {model['family'] or 'family unknown'}), {where}")
        size = f"{steps['width']}x{steps['height']}" if steps["width"] else "the model's native size"
        click.echo(f"size: {size}, steps: {steps['num_inference_steps'] or 'the model default'}, guidance: "
                   f"{steps['guidance_scale'] if steps['guidance_scale'] is not None else 'the model default'}")  # fmt: skip
        if steps["tokens"]:
            tokens = steps["tokens"]
            how = "long-prompt windows (compel)" if tokens["long_prompt"] else "within one window"
            click.echo(f"tokens: {tokens['prompt']} (negative {tokens['negative']}) of {tokens['limit']}: {how}")
        click.echo(f"output folder: {steps['out']} ({'exists' if steps['out_exists'] else 'would be created'}, writable)")
        for path in steps["files"]:
            click.echo(f"would write: {path}")
        for r in steps["renditions"]:
            note = f", enlarges x{r['scale']:g}" if r["enlarged"] else ""
            click.echo(f"rendition: {r['name']} {r['width']}x{r['height']} as {', '.join(r['formats'])}{note}")
        click.echo("dry run: no weights loaded, nothing written")
    if verdict["verdict"] == "block":
        named = "; ".join(f"{r['id']} (matched {r['matched']!r})" for r in verdict["rules"] if r["action"] == "block")
        raise PromptBlocked(f"prompt refused by guideline {named} [guidelines {verdict['guidelines_version']}]")
