"""Light commands start instantly: they import neither torch nor diffusers."""

import json
import subprocess
import sys

import click
import pytest

from conftest import subprocess_env
from pipeline.cli import main

HEAVY = ("torch", "diffusers", "transformers")

# Runs the CLI in a fresh interpreter, then reports which heavy modules got imported.
RUNNER = """
import json, sys
from pipeline.cli import main
try:
    main.main(args=sys.argv[1:], prog_name="pipeline", standalone_mode=False)
finally:
    print("\\nHEAVY=" + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)), file=sys.stderr)
""" % (HEAVY,)


def help_invocations(group: click.Group, prefix=()) -> list[tuple[str, ...]]:
    """`--help` of the group and of every command and subcommand in it."""
    found = [prefix + ("--help",)]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += help_invocations(command, prefix + (name,))
        else:
            found.append(prefix + (name, "--help"))
    return found


# Light commands that exist in this version, run for real (in an empty folder).
OPTIONAL = {"styles": ("styles",), "check-prompt": ("check-prompt", "a quiet harbour at dawn"), "list": ("list",)}
LIGHT = [("models",), ("models", "--json"), ("config",), ("--version",)] + [
    args for name, args in OPTIONAL.items() if name in main.commands
]


def heavy_modules_after(*args: str, cwd=None) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, env=subprocess_env(), timeout=120, cwd=cwd
    )
    marker = result.stderr.rsplit("HEAVY=", 1)
    assert len(marker) == 2, result.stderr
    return json.loads(marker[1].splitlines()[0])  # a failing command prints its traceback after the marker


@pytest.mark.parametrize("args", help_invocations(main) + LIGHT, ids=" ".join)
def test_light_command_imports_no_torch(args, tmp_path):
    assert heavy_modules_after(*args, cwd=tmp_path) == []


def test_generate_does_import_torch(tmp_path):
    """The check above can fail: a command that loads a model shows torch in the list."""
    heavy = heavy_modules_after("generate", "--model", "tiny", "--prompt", "a boat", "--steps", "1", "--out", str(tmp_path), "-q")
    assert "torch" in heavy and "diffusers" in heavy
