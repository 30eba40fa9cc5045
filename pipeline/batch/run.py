"""The batch job: validate the spec, plan, open the output folder, generate what is left, save, review."""

from __future__ import annotations

import functools
import json
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.batch.behind import StoreBehind
from pipeline.batch.engines import EngineSettings, check_engine, engine
from pipeline.batch.plan import expand, image_key, units
from pipeline.batch.progress import Progress
from pipeline.batch.gallery import write_review
from pipeline.batch.spec import load_spec, publish_for
from pipeline.batch.journal import Journal, OutputLock, done_entry
from pipeline.errors import InputError
from pipeline.output.files import check_writable, ensure_folder, replace_file
from pipeline.output.folder import OutputFolder

SUMMARY_NAME = "batch-summary.json"


@dataclass(frozen=True)
class BatchOptions:
    out_dir: Path
    engine: str = "local"
    batch_size: int = 4
    retry_failed: bool = False
    threads: int | None = None
    workers: int | None = None
    guidelines: Path | None = None  # policy of jobs that name none; the shipped one when None
    publish_defaults: dict = field(default_factory=dict)  # spec keys that apply where the spec sets none
    ray_resources: dict | None = None  # custom Ray resources each actor needs


@dataclass
class BatchResult:
    summary: dict
    images: list[dict] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        return self.summary["interrupted"]

    def to_json(self) -> dict:
        return {"summary": self.summary, "images": self.images}


def _flags(record: dict) -> list:
    """Why the image checks flagged the image (it is then kept in quarantine); empty when not flagged."""
    return list(record.get("image_checks", {}).get("reasons") or [])


def _image_entry(task, status: str, out_dir: Path, journal_entry: dict | None, record: dict | None) -> dict:
    entry = {**task.to_json(), "status": status, "png": None, "json": None, "path": None, "record": None}
    if journal_entry and journal_entry["status"] == "done":
        entry.update(png=journal_entry["png"], json=journal_entry["json"])
        entry.update(path=str(out_dir / journal_entry["png"]), record=str(out_dir / journal_entry["json"]))
    elif journal_entry:
        entry["reason"] = journal_entry.get("reason")
    if record:
        entry["rules"] = record.get("guidelines", {}).get("rules", [])
        entry["flags"] = _flags(record)
        entry["alt_text"] = (record.get("publishing") or {}).get("alt_text")
        entry["signed"] = bool((record.get("content_credentials") or {}).get("signed"))
        if entry["png"]:
            stem = entry["png"][: -len(".png")]
            entry["renditions"] = [
                {"name": r["name"], "format": r["format"], "width": r["width"], "height": r["height"], "file": stem + r["suffix"]}
                for r in record.get("renditions", [])
            ]
    return entry


class StopRequest(threading.Event):
    """Set when the batch should end between units; `signal_name` says which signal asked (SIGINT or SIGTERM)."""

    signal_name: str | None = None


@contextmanager
def stop_on_interrupt(stop: threading.Event, log):
    """The first Ctrl-C or SIGTERM sets `stop` (the images in flight are finished and stored); a second one
    stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signal.SIGINT: signal.getsignal(signal.SIGINT), signal.SIGTERM: signal.getsignal(signal.SIGTERM)}
    at_once = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: previous[signal.SIGTERM]}

    def first(signum, frame):
        name = signal.Signals(signum).name
        how = "Ctrl-C" if signum == signal.SIGINT else name
        log(f"{name}: finishing the images in flight, then stopping ({how} again to stop at once)")
        if isinstance(stop, StopRequest) and stop.signal_name is None:
            stop.signal_name = name
        stop.set()
        signal.signal(signum, at_once[signum] or signal.SIG_DFL)

    for signum in previous:
        signal.signal(signum, first)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_batch(spec_path: Path, options: BatchOptions, progress: Progress | None = None, stop=None) -> BatchResult:
    """Run (or resume) the batch in `spec_path`; `stop` (a threading.Event) ends it between units."""
    progress = progress or Progress("quiet")
    stop = stop or threading.Event()
    log = progress.log
    # 1. Check inputs: the whole spec, the batch size and the engine, before anything runs
    spec = load_spec(spec_path, options.guidelines, options.publish_defaults)
    if options.batch_size < 1:
        raise InputError(f"`batch-size` has to be at least 1 but is {options.batch_size}")
    if options.workers is not None and options.workers < 1:
        raise InputError(f"`workers` has to be at least 1 but is {options.workers}")
    check_engine(options.engine)

    # 2. Plan every image
    tasks = expand(spec)
    out_dir = options.out_dir
    check_writable(out_dir)
    ensure_folder(out_dir)
    with OutputLock(out_dir):
        # 3. Open the output folder (its one recovery cleans up after killed writers and catalogues images whose
        #    catalogue entry a crash lost); the catalogue says which images exist, the journal what failed
        folder = OutputFolder(out_dir, command="batch", options={"spec": str(spec_path), "engine": options.engine},
                              log=log, unclosed="interrupted")
        stored_before = {image_key(*key): files for key, files in folder.open().batch_images().items()}
        journal = Journal(out_dir)
        finished_before = {task.key for task in tasks if task.key in stored_before}
        retry = ("failed", "blocked") if options.retry_failed else ()
        todo = [
            task
            for task in tasks
            if task.key not in finished_before
            and (task.key not in journal.entries or journal.entries[task.key]["status"] in (*retry, "done"))
        ]
        started = time.monotonic()
        progress.start(len(todo), len(finished_before))

        # 4. Generate and save; each image is journalled once its files are whole and catalogued
        settings = EngineSettings(out_dir, options.batch_size, options.threads, options.workers, options.ray_resources)
        ran: dict[str, str] = {}
        records: dict[str, dict] = {}
        stored_at: list[float] = []  # when each image of this run was stored, for the throughput figures

        def finish(outcome) -> None:
            """Save a made image (PNG, record, renditions, catalogue row) and journal the outcome."""
            key = outcome.task.key
            if outcome.status == "done":
                stored = folder.save(outcome.image, outcome.record, publish_for(outcome.task.options))
                outcome.path = stored.path
                journal.append(done_entry(key, stored.record.seed, stored.path, stored.record_path, out_dir))
                records[key] = stored.record.to_dict()
                stored_at.append(time.monotonic())
            else:
                journal.append({"key": key, "status": outcome.status, "reason": outcome.reason, "seed": outcome.task.seed})
            ran[key] = outcome.status
            progress.advance(outcome)

        try:
            # Saving runs in one background thread, in order, while the next unit generates.
            with StoreBehind() as behind:
                for outcome in engine(options.engine)(units(todo, options.batch_size), settings, log, stop):
                    behind.submit(functools.partial(finish, outcome))
        finally:
            progress.close()
            folder.close("interrupted" if stop.is_set() else "done")
        elapsed = time.monotonic() - started

        # 5. Summarise and write the review pages
        images = []
        for task in tasks:
            entry = journal.entries.get(task.key)
            if task.key in stored_before and task.key not in ran:
                entry = {"status": "done", **stored_before[task.key]}
            status = ran.get(task.key) or ("skipped" if task.key in finished_before else (entry or {}).get("status", "pending"))
            record = records.get(task.key)
            if record is None and entry and entry["status"] == "done":
                record = _read_json(out_dir / entry["json"])
            images.append(_image_entry(task, status, out_dir, entry, record))
        counts = {name: sum(image["status"] == name for image in images) for name in ("done", "skipped", "failed", "blocked", "pending")}
        summary = {
            "spec": str(spec_path),
            "out": str(out_dir),
            "engine": options.engine,
            "total": len(tasks),
            **counts,
            "flagged": sum(bool(image.get("flags")) for image in images),
            "elapsed_s": round(elapsed, 3),
            "images_per_s": round(counts["done"] / elapsed, 3) if elapsed > 0 else 0.0,
            **_throughput(started, stored_at),
            "interrupted": stop.is_set() and counts["pending"] > 0,
            "journal": str(journal.path),
        }
        summary.update({name: str(path) for name, path in write_review(out_dir, spec_path.stem, summary, images).items()})
        summary["summary"] = str(out_dir / SUMMARY_NAME)
        result = BatchResult(summary, images)
        replace_file(out_dir / SUMMARY_NAME, (json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n").encode())
        return result


def _throughput(started: float, stored_at: list[float]) -> dict:
    """Seconds to the first stored image (model loading and compiling included), and images per second after it."""
    if not stored_at:
        return {"first_image_s": None, "steady_images_per_s": None}
    steady = None
    if len(stored_at) > 1 and stored_at[-1] > stored_at[0]:
        steady = round((len(stored_at) - 1) / (stored_at[-1] - stored_at[0]), 3)
    return {"first_image_s": round(stored_at[0] - started, 3), "steady_images_per_s": steady}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
