"""`pipeline generate`: one article or prompt in, stored hero images out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipeline.cli.accel_options import accel_options, pop_accel_options
from pipeline.cli.guidelines_option import guidelines_option
from pipeline.errors import InputError
from pipeline.inputs import read_input

PUBLISH_OPTIONS = (
    "renditions", "formats", "quality", "sharpen", "disclosure", "credit", "alt_text", "upscaler",
    "c2pa_cert", "c2pa_key", "c2pa_tsa",
)
RENDITIONS_DEFAULT = "all"
SCHEDULER_NAMES = ["ddim", "pndm", "euler", "euler-a", "dpm++", "dpm++-karras", "unipc", "lms"]


def read_source(article: str | None, prompt: str | None):
    """The Article to generate from: an article file, `-` for stdin, or a prompt given inline."""
    from pipeline.article import Article, decode_text, parse_article

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
    default="sdxl",
    show_default=True,
    envvar="PIPELINE_MODEL",
    help="Built-in model (tiny), alias (see `pipeline models`), hub id, diffusers folder or .safetensors file.",
)
@click.option("--model-config", help="For a .safetensors file offline: a diffusers folder of the same architecture.")
@click.option("--device", default="auto", show_default=True, help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "float16", "bfloat16"]),
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
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("outputs"), show_default=True)
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
@accel_options
def generate(article, prompt, as_json, quiet, **options):
    """Generate hero images for an ARTICLE file (- for stdin) or a --prompt.

    An article file is the image prompt, a line `$$$`, then the article, title first.
    """
    from pipeline.generate import GenerateRequest, generate as run
    from pipeline.publish import publish_options

    publish = publish_options(**{k: options.pop(k) for k in PUBLISH_OPTIONS})
    parsed, source = read_source(article, prompt)
    accel = pop_accel_options(options)
    request = GenerateRequest(
        prompt=parsed.prompt, title=parsed.title, source=source, publish=publish, accel=accel, **options
    )

    def log(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    result = run(request, log=log)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        for image in result.images:
            click.echo(str(image.path))
