"""The `--guidelines PATH` option shared by the commands that apply the policy."""

from __future__ import annotations

from pathlib import Path

import click

guidelines_option = click.option(
    "--guidelines",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="PIPELINE_GUIDELINES",
    help="Guidelines policy file (TOML); default: the shipped prompts/guidelines.toml.",
)
