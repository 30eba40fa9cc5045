"""Shared test helpers: run the CLI in-process (CliRunner) or as a subprocess, on the built-in tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]

# Pixels depend on the CPU thread count: every test runs torch with one thread.
os.environ.setdefault("PIPELINE_THREADS", "1")
# Renditions (on by default) cost about a second per image; tests that check them ask for them by name.
os.environ.setdefault("PIPELINE_RENDITIONS", "none")


# The labelled corpora's scoring (tests/test_guidelines_corpus.py, about nine minutes of one core) starts in the
# background as soon as the session knows it will run, and that module's tests run last: the other tests run on one
# core, the scoring on the other, and on both once the other tests are done.
SCORING = pytest.StashKey[object]()


def pytest_collection_modifyitems(session, config, items):
    corpus = [item for item in items if item.module.__name__ == "test_guidelines_corpus"
              and "reports" in getattr(item, "fixturenames", ())]
    if not corpus:
        return
    items[:] = [item for item in items if item not in corpus] + corpus
    # Alone, the corpora are scored two chunks at a time; beside other tests, one (a second worker joins later)
    alone = all(item.module.__name__ == "test_guidelines_corpus" for item in items)
    config.stash[SCORING] = corpus[0].module.start_scoring(2 if alone else 1)


def pytest_sessionfinish(session, exitstatus):
    scoring = session.config.stash.get(SCORING, None)
    if scoring is not None:
        scoring.stop()


@pytest.fixture
def cli():
    """Invoke `pipeline ARGS...` in-process; returns the click Result (stdout and stderr kept apart)."""
    from pipeline.cli import main

    def invoke(*args, input=None, env=None):
        runner = CliRunner()
        return runner.invoke(main, [str(a) for a in args], input=input, env=env, catch_exceptions=False)

    return invoke


def subprocess_env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PIPELINE_THREADS", "1")
    env.update(extra)
    return env


def run_pipeline(*args, input=None, cwd=None, timeout=600, **env) -> subprocess.CompletedProcess:
    """Run `python -m pipeline ARGS...` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        input=input,
        capture_output=True,
        cwd=cwd,
        timeout=timeout,
        env=subprocess_env(**env),
    )


def generate_json(cli, *args) -> dict:
    """Run `generate --json` on tiny and return the parsed stdout; fails the test on a non-zero exit."""
    result = cli("generate", "--model", "tiny", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    """The built-in tiny model exported as a diffusers folder (via the CLI)."""
    from pipeline.cli import main

    folder = tmp_path_factory.mktemp("models") / "tiny"
    result = CliRunner().invoke(main, ["models", "export", "tiny", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return folder


def run_on_terminal(*args, timeout=120, **env) -> tuple[int, bytes, str]:
    """Run `python -m pipeline ARGS...` with stderr on a pseudo-terminal (stdout a pipe); returns the exit code,
    stdout and everything the terminal showed (without colour and cursor codes)."""
    import pty
    import re
    import select
    import time

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        stdout=subprocess.PIPE, stderr=follower, env=subprocess_env(COLUMNS="120", **env),
    )  # fmt: skip
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([leader], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the command has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    stdout = process.stdout.read()
    process.wait(timeout=30)
    os.close(leader)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))
    return process.returncode, stdout, screen
