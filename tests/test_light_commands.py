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
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            found += help_invocations(command, prefix + (name,))
        else:
            found.append(prefix + (name, "--help"))
    return found


# Light commands that exist in this version, run for real (in an empty folder).
OPTIONAL = {"styles": ("styles",), "check-prompt": ("check-prompt", "a quiet harbour at dawn"), "list": ("list",)}
LIGHT = [("models",), ("models", "--json"), ("config",), ("--version",)] + [
    args for name, args in OPTIONAL.items() if name in main.list_commands(click.Context(main))
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


def test_a_command_loads_only_its_own_module(tmp_path):
    """`check-prompt` runs without importing the other commands' modules (each loads when it is used)."""
    code = (
        "import sys; from pipeline.cli import main\n"
        "try:\n    main.main(['check-prompt', 'a quiet harbour at dawn'], standalone_mode=False)\n"
        "finally:\n    print(sorted(m for m in sys.modules if m.startswith('pipeline.cli.')), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=120, cwd=tmp_path)
    loaded = result.stderr.strip().splitlines()[-1]
    assert "pipeline.cli.check_prompt" in loaded
    for other in ("generate", "batch", "catalogue", "models"):
        assert f"pipeline.cli.{other}'" not in loaded, loaded


def test_an_unknown_command_names_the_nearest(cli):
    result = cli("genrate", "--prompt", "x")
    assert result.exit_code == 2
    assert "no command 'genrate'; did you mean `generate`?" in result.stderr
