"""Storing finished images in one background thread, in order, while the next ones are generated."""

from __future__ import annotations

import queue
import threading


class StoreBehind:
    """Runs submitted jobs one at a time, in order, in one thread; at most `depth` wait.

    The first job that raises stops the others (they are dropped, so their images stay pending and a rerun
    makes them) and its error is raised in the submitting thread, at the next `submit` or when the block ends.
    Leaving the block waits for every job submitted before it.
    """

    def __init__(self, depth: int = 2):
        self._jobs: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="store-behind", daemon=True)

    def __enter__(self) -> "StoreBehind":
        self._thread.start()
        return self

    def submit(self, job) -> None:
        self._raise()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._error is None:
                try:
                    job()
                except BaseException as exc:  # handed to the submitting thread
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __exit__(self, kind, value, traceback) -> bool:
        self._jobs.put(None)
        self._thread.join()
        if kind is None:
            self._raise()
        return False
