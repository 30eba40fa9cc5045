"""The `pipeline` command group: a thin layer over the library that turns its errors into exit codes.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or input, 3 prompt refused by the guidelines,
130 interrupted.
"""

from __future__ import annotations

import sys

import click

from pipeline import __version__
from pipeline.errors import PipelineError


class PipelineFailure(click.ClickException):
    """A library error shown as one line, with the library's exit code."""

    def __init__(self, error: PipelineError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


class PipelineGroup(click.Group):
    """Runs commands so that no error ever reaches the user as a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PipelineError as error:
            raise PipelineFailure(error) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted; files already written are complete.", err=True)
            sys.exit(130)
        except OSError as error:
            raise click.ClickException(f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")) from None
        except Exception as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise click.ClickException(
                f"internal error: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''} "
                "(rerun with `pipeline --debug ...` for the traceback)"
            ) from None


@click.group(cls=PipelineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hero-pipeline")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Turn a news article's image prompt into finished, respectful hero images."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


from pipeline.cli import batch as _batch  # noqa: E402
from pipeline.cli import generate as _generate  # noqa: E402
from pipeline.cli import models as _models  # noqa: E402
from pipeline.cli import check_prompt as _check_prompt  # noqa: E402
from pipeline.cli import styles as _styles  # noqa: E402

main.add_command(_generate.generate)
main.add_command(_models.models)
main.add_command(_styles.styles)
main.add_command(_check_prompt.check_prompt)
main.add_command(_batch.batch)
