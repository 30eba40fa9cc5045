"""The `pipeline` command group: a thin layer over the library that turns its errors into exit codes.

The exit codes are `pipeline.errors.ExitCode`, one meaning each (README, "Exit codes").
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading

import click

from pipeline import __version__
from pipeline.errors import ExitCode, PipelineError, summary, unknown_name


class Terminated(BaseException):
    """SIGTERM arrived (as Slurm, Kubernetes and CI stop jobs); ends the command like Ctrl-C, exit code 143."""


def _raise_terminated(signum, frame):
    raise Terminated()


def _quiet_closed_stdout() -> None:
    """The reader of stdout went away (`pipeline list | head`): send what is left nowhere, say nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout without a file descriptor (tests): nothing to redirect


class PipelineFailure(click.ClickException):
    """A library error shown as one line, with the library's exit code."""

    def __init__(self, error: PipelineError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


COMMANDS = {
    "generate": ("pipeline.cli.generate", "generate"),
    "batch": ("pipeline.cli.batch", "batch"),
    "check-prompt": ("pipeline.cli.check_prompt", "check_prompt"),
    "config": ("pipeline.cli.config", "config"),
    "doctor": ("pipeline.cli.catalogue", "doctor"),
    "list": ("pipeline.cli.catalogue", "list_images"),
    "models": ("pipeline.cli.models", "models"),
    "reproduce": ("pipeline.cli.catalogue", "reproduce"),
    "show": ("pipeline.cli.catalogue", "show"),
    "styles": ("pipeline.cli.styles", "styles"),
}
"""Each command's module and object: a command's module is imported only when that command runs (or when
`--help` lists them all), so a light command such as `check-prompt` does not import the others."""


class PipelineGroup(click.Group):
    """Loads each command when it is used, and runs it so that no error ever reaches the user as a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = click.utils.make_str(args[0])
        if name not in COMMANDS and not name.startswith("-"):
            raise click.UsageError(f"no command {name!r}; {unknown_name(name, sorted(COMMANDS), 'command')}", ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context):
        on_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _raise_terminated) if on_main_thread else None
        try:
            return super().invoke(ctx)
        except PipelineError as error:
            raise PipelineFailure(error) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            _quiet_closed_stdout()
            sys.exit(ExitCode.CLOSED_PIPE)
        except KeyboardInterrupt:
            click.echo("Interrupted; files already written are complete.", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except Terminated:
            click.echo("Terminated; files already written are complete.", err=True)
            sys.exit(ExitCode.TERMINATED)
        except OSError as error:
            raise click.ClickException(f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")) from None
        except Exception as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise click.ClickException(
                f"internal error: {type(error).__name__}: {summary(error)} "
                "(rerun with `pipeline --debug ...` for the traceback)"
            ) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


@click.group(cls=PipelineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hero-pipeline")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Turn a news article's image prompt into finished, respectful hero images."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
