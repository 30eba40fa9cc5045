"""`pipeline batch`: every image of a spec file, resumable, with progress, a summary and a gallery."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipeline.cli.config import config_options
from pipeline.cli.options import guidelines_option
from pipeline.errors import ExitCode
from pipeline.options import RENDITIONS_DEFAULT


class ResourcesType(click.ParamType):
    """A JSON object of Ray resource names and positive amounts."""

    name = "json"

    def convert(self, value, param, ctx):
        if isinstance(value, dict):
            data = value
        else:
            try:
                data = json.loads(value)
            except ValueError as exc:
                self.fail(f"{value!r} is not JSON ({exc})", param, ctx)
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for k, v in data.items()
        ):
            self.fail(f"{value!r} has to be a JSON object of resource names and positive amounts", param, ctx)
        return data


RESOURCES = ResourcesType()


def _summary_lines(summary: dict) -> list[str]:
    counts = ", ".join(f"{name} {summary[name]}" for name in ("done", "skipped", "failed", "blocked", "flagged", "pending"))
    lines = [
        f"{summary['total']} image(s): {counts}",
        f"elapsed {summary['elapsed_s']:.1f}s, {summary['images_per_s']:.2f} images/s"
        + (f" ({summary['steady_images_per_s']:.2f} after the first image, at {summary['first_image_s']:.1f}s)"
           if summary.get("steady_images_per_s") else ""),  # fmt: skip
        f"gallery: {summary['gallery']}",
    ]
    if "contact_sheet" in summary:
        lines.append(f"contact sheet: {summary['contact_sheet']}")
    return lines


def _environment_defaults() -> dict:
    """Spec keys that `generate` also reads from the environment, for specs that leave them out."""
    import os


    defaults = {"renditions": os.environ.get("PIPELINE_RENDITIONS") or RENDITIONS_DEFAULT}
    for key, name in (("c2pa-cert", "PIPELINE_C2PA_CERT"), ("c2pa-key", "PIPELINE_C2PA_KEY")):
        if os.environ.get(name):
            defaults[key] = str(Path(os.environ[name]).absolute())
    return defaults


@click.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=True))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder; default: outputs/<spec name>.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="Where to generate.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4, show_default=True, help="Images per forward pass; halved on out-of-memory.")
@click.option("--retry-failed", is_flag=True, help="Try failed and blocked images again.")
@guidelines_option
@click.option("--threads", type=click.IntRange(min=1), envvar="PIPELINE_THREADS", help="CPU threads for torch (per Ray actor).")
@click.option("--workers", type=click.IntRange(min=1), help="Ray actors; default: one per GPU, else one per free CPU.")
@click.option(
    "--ray-resources", type=RESOURCES, metavar="JSON",
    help='Custom Ray resources each actor needs, e.g. \'{"a100": 1}\' for nodes started with '
    '`ray start --resources \'{"a100": 4}\'`.',
)  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and the images as one JSON object on stdout.")
@config_options
def batch(spec, out_dir, engine, batch_size, retry_failed, guidelines, threads, workers, ray_resources, quiet, as_json):
    """Generate every image of a batch SPEC file (TOML): its jobs x styles x seeds.

    A rerun with the same SPEC and --out skips finished images and completes the rest.
    Exit codes: 0 every image made, 6 some failed, 3 some blocked by the guidelines (none failed),
    130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """
    from pipeline.batch import BatchOptions, StopRequest, run_batch, stop_on_interrupt
    from pipeline.batch.progress import Progress

    options = BatchOptions(
        publish_defaults=_environment_defaults(),
        out_dir=out_dir or Path("outputs") / spec.stem,
        engine=engine,
        batch_size=batch_size,
        retry_failed=retry_failed,
        threads=threads,
        workers=workers,
        guidelines=guidelines,
        ray_resources=ray_resources,
    )
    progress = Progress.for_stream(quiet)
    stop = StopRequest()
    with stop_on_interrupt(stop, progress.log):
        result = run_batch(spec, options, progress=progress, stop=stop)
    summary = result.summary
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        for line in _summary_lines(summary):
            click.echo(line)
    if result.interrupted:
        terminated = stop.signal_name == "SIGTERM"
        click.echo(
            f"{'Terminated' if terminated else 'Interrupted'}; finished images are kept. "
            "Run the same command again to complete the batch.",
            err=True,
        )
        sys.exit(ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED)
    if summary["failed"]:
        sys.exit(ExitCode.BATCH_INCOMPLETE)
    if summary["blocked"]:
        sys.exit(ExitCode.REFUSED)
