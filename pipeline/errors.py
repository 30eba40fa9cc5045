"""Errors the library raises and the exit codes they (and each verdict) end the process with."""

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
