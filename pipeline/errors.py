"""Errors the library raises, the exit codes they (and each verdict) end the process with, and the one-line
summaries error messages are made of."""

from __future__ import annotations

import difflib
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, one meaning each; the README's table lists the same."""

    OK = 0
    FAILURE = 1  # a runtime failure: full disk, out of memory, an internal error
    USAGE = 2  # bad usage or input: a file, prompt, option or model that cannot be used
    REFUSED = 3  # the guidelines refused the prompt (batch: some prompts, and no image failed)
    PIXELS_DIFFER = 4  # `reproduce`: the regenerated pixels differ from the stored image
    PROBLEMS_FOUND = 5  # `doctor`: the catalogue and the files disagree (and were not, or could not be, repaired)
    BATCH_INCOMPLETE = 6  # `batch` finished, but some images failed; a rerun retries them with --retry-failed
    INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2
    TERMINATED = 143  # SIGTERM (Slurm, Kubernetes, CI): 128 + 15
    CLOSED_PIPE = 141  # the reader of stdout went away (`pipeline list | head`): ends quietly, as `cat` does


class PipelineError(Exception):
    """A runtime failure (exit code 1)."""

    exit_code = ExitCode.FAILURE


class InputError(PipelineError):
    """Bad usage or input: a file, prompt, option or model that cannot be used (exit code 2)."""

    exit_code = ExitCode.USAGE


class PromptBlocked(PipelineError):
    """The guidelines refused the prompt (exit code 3); `details` is the judgement as `check-prompt --json` gives it."""

    exit_code = ExitCode.REFUSED

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details


class OutOfMemory(PipelineError):
    """The device ran out of memory for a batch; a smaller batch may fit (exit code 1)."""

def nearest(name: str, choices: list[str]) -> str | None:
    """The choice closest to `name`, if any is close: the only one that starts with it, else difflib's
    closest at a ratio of at least 0.6."""
    starting = [choice for choice in choices if choice.startswith(name)]
    if len(starting) == 1:
        return starting[0]
    found = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_name(name: str, choices: list[str], kind: str = "name") -> str:
    """`did you mean `x`? choose from a, b, c` (or just the choices when none is near)."""
    near = nearest(name, choices)
    listed = f"choose from {', '.join(choices)}" if choices else f"there is no {kind} to choose"
    return f"did you mean `{near}`? {listed}" if near else listed


def summary(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line for an error message: the first line of its message (or its type when it says
    nothing), shortened at a word boundary to about `limit` characters."""
    line = (str(exc).strip().splitlines() or [""])[0] or type(exc).__name__
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0] + " ..."
    return line


_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def printable(text: object) -> str:
    """Untrusted text (a title, a prompt, a file name) made safe to show on a terminal or in a page: control
    characters and bidirectional overrides are written as escapes (\\x1b, \\u202e), so nothing can move the
    cursor, change colours or reorder what is shown."""
    text = str(text)
    if text.isprintable() and not any(char in _BIDI for char in text):
        return text
    out = []
    for char in text:
        code = ord(char)
        if char in _BIDI or (not char.isprintable() and char != " "):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)
