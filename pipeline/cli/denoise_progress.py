"""Progress of denoising on a terminal: a rich bar of steps, with the time left, per batch of images (stderr)."""

from __future__ import annotations

import sys


class DenoiseProgress:
    """Shows each batch's denoising steps on `stream` while it runs; `log` prints above the bar."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self._bar = None
        self._task = None
        self._seeds = None

    @classmethod
    def for_stream(cls, quiet: bool, stream=None) -> "DenoiseProgress | None":
        """A progress bar on a terminal; None when quiet or when the stream is not a terminal (a log, a pipe, CI)."""
        stream = stream or sys.stderr
        return None if quiet or not stream.isatty() else cls(stream)

    def log(self, message: str) -> None:
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.stream, flush=True)

    def __call__(self, seeds: list[int], done: int, total: int) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("steps"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
            )
            self._bar.start()
        if seeds != self._seeds:
            self._seeds = seeds
            label = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}"
            self._task = self._bar.add_task(label, total=total)
        self._bar.update(self._task, completed=done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
