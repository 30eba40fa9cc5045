"""Progress of a batch on stderr: a live bar on a terminal, plain lines otherwise, or nothing."""

from __future__ import annotations

import sys
import time


def _eta(started: float, finished: int, left: int) -> str:
    if finished == 0:
        return "?"
    seconds = (time.monotonic() - started) / finished * left
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}min"


def _style(outcome) -> str:
    """The style the image was made in: the job's, else the one the guidelines chose (the policy's default)."""
    if outcome.task.style:
        return outcome.task.style
    return (outcome.record.guidelines.get("style") if outcome.record else None) or "default"


class Progress:
    """Reports each finished image; `mode` is bar (terminal), lines or quiet."""

    def __init__(self, mode: str, stream=None):
        self.mode = mode
        self.stream = stream or sys.stderr
        self.counts = {"done": 0, "failed": 0, "blocked": 0}
        self._bar = None

    @classmethod
    def for_stream(cls, quiet: bool, stream=None) -> "Progress":
        stream = stream or sys.stderr
        if quiet:
            return cls("quiet", stream)
        return cls("bar" if stream.isatty() else "lines", stream)

    def log(self, message: str) -> None:
        if self.mode == "quiet":
            return
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.stream, flush=True)

    def start(self, total: int, skipped: int) -> None:
        self.total, self.skipped, self.finished = total, skipped, 0
        self.started = time.monotonic()
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
            )
            self._bar.start()
            self._task = self._bar.add_task("images", total=total, completed=0, counts=self._counts())
        self.log(f"{total} image(s) to make, {skipped} already done")

    def _counts(self) -> str:
        return " ".join(f"{name} {count}" for name, count in self.counts.items())

    def advance(self, outcome) -> None:
        self.counts[outcome.status] += 1
        self.finished += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, counts=self._counts())
        task = outcome.task
        what = outcome.reason if outcome.status != "done" else (outcome.path.name if outcome.path else "")
        if self.mode == "lines" or (self._bar is not None and outcome.status != "done"):
            left = self.total - self.finished
            self.log(
                f"[{self.finished}/{self.total}] {outcome.status} job {task.job} style {_style(outcome)} "
                f"seed {task.seed}: {what} (eta {_eta(self.started, self.finished, left)})"
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
