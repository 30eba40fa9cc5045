"""Exit codes: one meaning each, defined once in the library and listed in the README's table."""

import re
import subprocess
import sys

from conftest import REPO, subprocess_env


def test_the_readme_table_lists_every_exit_code_once():
    from pipeline.errors import ExitCode

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Exit codes") :]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", section, flags=re.MULTILINE)
    assert {name: int(code) for code, name in rows} == {code.name: code.value for code in ExitCode}
    assert len({code for code, _ in rows}) == len(rows), "each code has one meaning"


def test_a_closed_pipe_ends_quietly():
    """`pipeline styles | true`: the reader is gone before anything is written; no 'Broken pipe' error."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "styles"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env()
    )
    process.stdout.close()  # the reader goes away at once, as `true` does
    stderr = process.stderr.read().decode()
    process.wait(timeout=60)
    assert process.returncode == 141, stderr
    assert stderr == ""
