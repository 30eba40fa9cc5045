"""`pipeline list`, `show`, `reproduce` and `doctor`: the catalogue of an output folder from the command line."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import click

from pipeline.output.catalogue import IMAGE_STATUSES
from pipeline.errors import ExitCode, InputError, printable

OUT_OPTION = click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), default=Path("outputs"), show_default=True,
    help="The output folder whose catalogue to use.",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


def _open(out_dir: Path):
    from pipeline.output.catalogue import Catalogue
    from pipeline.errors import InputError

    if not out_dir.is_dir():
        raise InputError(f"output folder {out_dir} does not exist; check --out")
    return Catalogue.open(out_dir, create=False)


def _moment(ctx, param, value: str | None) -> str | None:
    """A date or date-time as the catalogue stores it (UTC, ISO 8601); naive times are taken as UTC."""
    if value is None:
        return None
    try:
        if len(value.strip()) == 10:
            return date.fromisoformat(value.strip()).isoformat()
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"--{param.name} {value!r} is not a date (YYYY-MM-DD) or ISO date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


@click.command("list")
@click.option("--status", metavar="STATUS", help=f"Only images with this status: {', '.join(IMAGE_STATUSES)}.")
@click.option("--model", metavar="NAME", help="Only images made with this model (as given to generate: alias, hub id or path).")
@click.option("--since", metavar="DATE", callback=_moment, help="Only images created at or after this date (YYYY-MM-DD) or time.")
@click.option("--until", metavar="DATE", callback=_moment, help="Only images created before this date or time.")
@click.option("--search", metavar="TEXT", help="Only images whose prompt or title contains TEXT (any case).")
@click.option("--article", help="Only images whose article file or title contains this text.")
@click.option("--run", type=int, help="Only images of this run id.")
@click.option("--limit", type=int, help="At most this many images (at least 1).")
@click.option("--offset", type=int, default=0, help="Skip this many images first.")
@OUT_OPTION
@JSON_OPTION
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object a line (JSON Lines) on stdout.")
def list_images(status, model, since, until, search, article, run, limit, offset, out_dir, as_json, as_jsonl):
    """List the catalogued images of an output folder, oldest first (paged on a terminal)."""
    from pipeline.output.catalogue import ImageQuery, catalogue_path

    if as_json and as_jsonl:
        raise click.UsageError("give --json or --jsonl, not both")
    query = ImageQuery(
        run=run, article=article, status=status, model=model, since=since, until=until, search=search,
        limit=limit, offset=offset,
    )
    if out_dir.is_dir() and not catalogue_path(out_dir).exists():
        if as_json:
            click.echo("[]")
        else:
            click.echo(f"no catalogue in {out_dir} (nothing generated there yet)", err=True)
        return
    with _open(out_dir) as catalogue:
        if as_json:
            _write(_json_array(catalogue.entries_json(query)))
        elif as_jsonl:
            _write(text + "\n" for text in catalogue.entries_json(query))
        elif sys.stdout.isatty():
            click.echo_via_pager(_table(catalogue.entries(query), catalogue.max_id(), shutil.get_terminal_size().columns))
        else:
            _write(_table(catalogue.entries(query), catalogue.max_id(), None))
            click.echo()


def _write(chunks) -> None:
    """Stream text to stdout, flushed in large pieces (so memory stays flat and output starts at once)."""
    out = sys.stdout
    buffer: list[str] = []
    size = 0
    for chunk in chunks:
        buffer.append(chunk)
        size += len(chunk)
        if size > 1 << 16:
            out.write("".join(buffer))
            buffer, size = [], 0
    out.write("".join(buffer))
    out.flush()


def _json_array(texts):
    yield "["
    separator = ""
    for text in texts:
        yield separator + text
        separator = ",\n"
    yield "]\n"


def _table(entries, max_id: int, width: int | None):
    """An aligned table, line by line (each but the first begins with its newline): id, status, created, seed,
    model, renditions, then title or prompt, cut to fit `width` columns (a terminal's; None: not cut)."""
    id_width = max(2, len(str(max_id)))
    head = f"{'ID':>{id_width}}  {'STATUS':<8}  {'CREATED (UTC)':<16}  {'SEED':>10}  {'MODEL':<12}  {'REND':>4}  "
    yield _fit(head + "TITLE OR PROMPT", width)
    for e in entries:
        text = printable(" ".join((e["title"] or e["prompt"]).split()))
        model = e["model"] or ""
        model = model if len(model) <= 12 else model[:11] + "…"
        created = e["created"][:16].replace("T", " ")
        line = f"{e['id']:>{id_width}}  {e['status']:<8}  {created:<16}  {e['seed']:>10}  {model:<12}  {len(e['renditions']):>4}  {text}"
        yield "\n" + _fit(line, width)


def _say(line: str) -> None:
    """One line of a report about untrusted data (titles, prompts, file names), safe for a terminal."""
    click.echo(printable(line))


def _fit(line: str, width: int | None) -> str:
    return line if width is None or len(line) <= width else line[: width - 1] + "…"


@click.command("show")
@click.argument("id_or_path")
@OUT_OPTION
@JSON_OPTION
def show(id_or_path, out_dir, as_json):
    """Show everything the catalogue holds about one image (by id, or by the path of any of its files)."""
    with _open(out_dir) as catalogue:
        entry = catalogue.describe(catalogue.resolve(id_or_path))
    if as_json:
        click.echo(json.dumps(entry, ensure_ascii=False))
        return
    record = entry.pop("record_data")
    for key in ("id", "path", "record", "prompt", "title", "article", "seed", "model", "style", "status", "created", "run", "sha256"):
        _say(f"{key}: {entry[key]}")
    _say(f"size: {entry['size'][0]}x{entry['size'][1]}")
    _say(f"final prompt: {record.get('final_prompt')}")
    _say(f"negative prompt: {record.get('negative_prompt')}")
    _say(f"steps: {record.get('num_inference_steps')}, guidance: {record.get('guidance_scale')}, sampler: {record.get('sampler')}")
    credentials = entry["content_credentials"]
    if credentials["signed"]:
        _say(f"content credentials: signed by {credentials['signer']} (issuer {credentials['issuer']}), manifest {credentials['manifest']}")
    else:
        _say(f"content credentials: not signed ({credentials.get('reason', 'no certificate given')})")
    for r in entry["renditions"]:
        note = f" (enlarged x{r['scale']:g} beyond the native size)" if r["upscaled"] else ""
        signed = f" [signed, manifest {r['c2pa_manifest']}]" if r["c2pa_manifest"] else " [not signed]"
        _say(f"rendition {r['name']} {r['format']} {r['width']}x{r['height']}: {r['path']}{note}{signed}")
    for c in entry["checks"]:
        _say(f"check {c['name']}: {c['verdict']}{' (' + c['detail'] + ')' if c['detail'] else ''}")
    for s in entry["statuses"]:
        _say(f"status {s['status']} at {s['changed']}: {s['reason']}")


@click.command("reproduce")
@click.argument("id_or_path")
@OUT_OPTION
@JSON_OPTION
@click.option("--model", "model_override", help="For an image file: load the model from here (its record names only its file or folder name).")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
@click.pass_context
def reproduce(ctx, id_or_path, out_dir, as_json, model_override, quiet):
    """Regenerate an image from its stored record and report whether the pixels match (exit 4 if not).

    ID_OR_PATH is a catalogue id, or an image file: one in the --out catalogue uses its record there; any
    other image made here is rebuilt from the record embedded in its master PNG (or the JSON beside it).
    """
    from pipeline.output.catalogue import catalogue_path
    from pipeline.reproduce import reproduce as run, reproduce_file

    def log(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    path = Path(id_or_path)
    if not id_or_path.strip().isdigit() and path.is_file() and not _catalogued(out_dir, path, catalogue_path):
        result = reproduce_file(path, model_override=model_override, log=log)
    else:
        with _open(out_dir) as catalogue:
            result = run(catalogue, id_or_path, log=log)
    name = f"image {result.image_id} ({result.path})" if result.image_id is not None else str(result.path)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    elif result.identical:
        click.echo(f"identical: {name} was reproduced pixel for pixel")
    if not result.identical:
        click.echo(
            f"pixels differ: {name}: {result.differing_pixels} pixel(s), largest difference {result.max_difference}",
            err=True,
        )
        ctx.exit(ExitCode.PIXELS_DIFFER)


def _catalogued(out_dir: Path, path: Path, catalogue_path) -> bool:
    """Whether `path` is one of the files of the catalogue in `out_dir` (so its full record is there)."""
    if not catalogue_path(out_dir).is_file():
        return False
    with _open(out_dir) as catalogue:
        return catalogue.find(catalogue.relative(path)) is not None


@click.command("doctor")
@OUT_OPTION
@JSON_OPTION
@click.option("--dry-run", is_flag=True, help="Only report what is wrong (exit 5 if anything is); change nothing.")
@click.pass_context
def doctor(ctx, out_dir, as_json, dry_run):
    """Find and repair mismatches between the catalogue and the files of an output folder."""
    from pipeline.output.doctor import doctor as run

    with _doctor_progress() as progress:
        report = run(out_dir, repair=not dry_run, progress=progress)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for finding in report.findings:
            _say(f"{finding.problem}: {finding.path}: {finding.action}")
        for finding in report.remaining:
            _say(f"still wrong: {finding.problem}: {finding.path}")
        for note in report.notes:
            _say(f"note: {note.problem}: {note.path}: {note.action}")
        click.echo("consistent" if report.consistent else "NOT consistent")
    if not report.consistent:
        ctx.exit(ExitCode.PROBLEMS_FOUND)


class _doctor_progress:
    """A bar on stderr while doctor checks the catalogued images, when stderr is a terminal; else nothing."""

    def __enter__(self):
        self.bar = None
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("checking images"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(file=sys.stderr), transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("check", total=None)
        return lambda done, total: self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
