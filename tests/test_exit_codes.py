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


def test_sigterm_ends_any_command_with_143():
    """`check-prompt -` waits on stdin; SIGTERM ends it with one line and 143, no traceback."""
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "check-prompt", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not _reading_stdin(process.pid):  # the command has started and waits on stdin
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr.decode()
    assert stderr.decode().strip() == "Terminated; files already written are complete."


def _reading_stdin(pid: int) -> bool:
    """Whether process `pid` is blocked in read(0, ...), from Linux's /proc/PID/syscall."""
    import platform
    from pathlib import Path

    read = {"x86_64": "0", "aarch64": "63"}[platform.machine()]
    try:
        return Path(f"/proc/{pid}/syscall").read_text().split()[:2] == [read, "0x0"]
    except OSError:
        return False
