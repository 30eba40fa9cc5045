"""Errors the library raises, each carrying the process exit code the CLI should use."""


class PipelineError(Exception):
    """A runtime failure (exit code 1)."""

    exit_code = 1


class InputError(PipelineError):
    """Bad usage or input: a file, prompt, option or model that cannot be used (exit code 2)."""

    exit_code = 2


class PromptBlocked(PipelineError):
    """The guidelines refused the prompt (exit code 3)."""

    exit_code = 3


class OutOfMemory(PipelineError):
    """The device ran out of memory for a batch; a smaller batch may fit (exit code 1)."""
