"""`--engine ray` on a real two-node Ray cluster on this machine (`ray start --head` and `ray start --address`):
the local engine's pixels, work on both nodes, a worker killed mid-batch, a killed driver and its rerun.

It takes about a minute on two CPU cores. `bash scripts/test.sh` (and so CI) runs it; a bare `pytest` runs it
when PIPELINE_TEST_RAY_CLUSTER=1 is set.
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from batch_helpers import batch_json, stored_images, write_spec
from conftest import subprocess_env

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install 'ray[data]')"),
    pytest.mark.skipif(os.environ.get("PIPELINE_TEST_RAY_CLUSTER") != "1", reason="set PIPELINE_TEST_RAY_CLUSTER=1"),
]

SPEC = '[[jobs]]\nprompt = "a lighthouse on a cliff"\nseeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\nstyle = "none"\n'
# The kill test needs a batch long enough that the driver is still at work when it is killed, on a fast machine too:
# the same twelve images and thirty more.
LONG_SPEC = SPEC.replace("11, 12]", "11, 12, " + ", ".join(str(seed) for seed in range(13, 43)) + "]")
SLOT = '{"hero_slot": 1}'  # each node has one slot and each actor needs one: the two actors land on both nodes
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}  # a throwaway local cluster


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _processes_under(folder: str) -> list[int]:
    """Ids of the processes of this cluster: those whose command line names its own temporary folder, and their children."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if folder.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found + [child for pid in found for child in _children(pid)]


def _children(pid: int) -> list[int]:
    try:
        tids = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for tid in tids for c in (tid / "children").read_text().split()]
    except OSError:
        return []


def _actor_processes(folder: str) -> list[int]:
    """The generator actors' processes of this cluster."""
    actors = []
    for pid in _processes_under(folder):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::MapWorker"):
                actors.append(pid)
        except OSError:
            continue
    return actors


@pytest.fixture(scope="module")
def cluster():
    """A head node and a second node, each with 2 CPUs and one `hero_slot`; stopped by killing its own processes."""
    folder = tempfile.mkdtemp(prefix="hr", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    port = _free_port()
    env = subprocess_env(**RAY_ENV)
    ray = [sys.executable, "-m", "ray.scripts.scripts", "start", "--node-ip-address=127.0.0.1", "--num-cpus=2",
           f"--resources={SLOT}", "--disable-usage-stats"]  # fmt: skip
    try:
        subprocess.run([*ray, "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={folder}"],
                       env=env, check=True, capture_output=True, timeout=180)  # fmt: skip
        subprocess.run([*ray, f"--address=127.0.0.1:{port}"], env=env, check=True, capture_output=True, timeout=180)
        yield {"address": f"127.0.0.1:{port}", "folder": folder}
    finally:
        for pid in _processes_under(folder):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(folder, ignore_errors=True)


def _batch(cluster, spec, out, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "batch", str(spec), "--out", str(out), "--engine", "ray", "--workers", "2",
         "--threads", "1", "--batch-size", "1", "--ray-resources", SLOT, "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env(RAY_ADDRESS=cluster["address"], **RAY_ENV),
    )  # fmt: skip


def _wait_for_images(process, out: Path, count: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while len(list(out.glob("*.png"))) < count:
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the batch made no images in time"
        time.sleep(0.2)


def _same_pixels(local: dict, out: Path, total: int = 12) -> None:
    """Every image of `out` stored exactly once and whole; the local engine's images among them, pixel for pixel."""
    stored = stored_images(out)
    assert len(stored) == total and {image["key"] for image in local["images"]} <= set(stored)
    for image in local["images"]:
        with Image.open(image["path"]) as a, Image.open(stored[image["key"]]) as b:
            assert np.array_equal(np.asarray(a), np.asarray(b)), image["key"]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    from click.testing import CliRunner

    from pipeline.cli import main

    folder = tmp_path_factory.mktemp("local")
    spec = write_spec(folder, SPEC, defaults='[defaults]\nmodel = "tiny"\nsteps = 6\nwidth = 64\nheight = 64\n')
    invoke = lambda *args: CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)  # noqa: E731
    return spec, batch_json(invoke, spec, folder / "out", "--batch-size", "1")


def test_two_nodes_make_the_local_engines_pixels(cluster, local, tmp_path):
    spec, made = local
    process = _batch(cluster, spec, tmp_path / "out")
    stdout, stderr = process.communicate(timeout=400)
    assert process.returncode == 0, stderr.decode()[-3000:]
    assert f"connecting to Ray at {cluster['address']}" in stderr.decode()
    assert "Ray: 2 generator actor(s), each with {'num_cpus': 1, 'resources': {'hero_slot': 1}}" in stderr.decode()
    assert "Ray: images made on 2 node(s)" in stderr.decode()
    assert json.loads(stdout)["summary"]["done"] == 12
    _same_pixels(made, tmp_path / "out")


def test_a_killed_worker_and_a_killed_driver_then_the_rerun_completes(cluster, local, tmp_path):
    _, made = local
    spec = write_spec(tmp_path, LONG_SPEC, defaults='[defaults]\nmodel = "tiny"\nsteps = 6\nwidth = 64\nheight = 64\n')
    out = tmp_path / "out"
    process = _batch(cluster, spec, out)
    _wait_for_images(process, out, 2)
    [victim, *_] = _actor_processes(cluster["folder"])
    os.kill(victim, signal.SIGKILL)  # a worker dies mid-batch: Ray restarts it and the batch goes on
    _wait_for_images(process, out, 4)
    os.kill(process.pid, signal.SIGKILL)  # then the driver dies
    process.communicate(timeout=60)
    made_before = len(stored_images(out, settled=False))  # the kill may land mid-write: the rerun cleans up
    assert 4 <= made_before < 42, "the driver has to die mid-batch"

    rerun = _batch(cluster, spec, out)
    stdout, stderr = rerun.communicate(timeout=400)
    assert rerun.returncode == 0, stderr.decode()[-3000:]
    summary = json.loads(stdout)["summary"]
    assert summary["skipped"] + summary["done"] == 42 and summary["skipped"] >= made_before
    _same_pixels(made, out, total=42)
