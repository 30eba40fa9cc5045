"""`--engine ray`: Ray Data actors give the same pixels as the local engine, committed by the same writer."""

import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

from batch_helpers import batch_json, stored_images, write_spec
from conftest import run_pipeline

SPEC = """
[[jobs]]
prompt = "a lighthouse on a cliff"
seeds = [1, 2, 3]
styles = ["none", "editorial-illustration"]
[[jobs]]
prompt = "a quiet harbour at dusk"
seeds = [7]
"""


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install 'ray[data]')")
def test_ray_engine_gives_the_local_engines_pixels(cli, tmp_path):
    spec = write_spec(tmp_path, SPEC)
    local = batch_json(cli, spec, tmp_path / "local", "--batch-size", "2")
    done = run_pipeline(
        "batch", spec, "--out", tmp_path / "ray", "--engine", "ray", "--workers", "2", "--threads", "1",
        "--batch-size", "2", "--json", timeout=400, RAY_ADDRESS="",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert "starting a local Ray" in done.stderr.decode()
    assert "2 generator actor(s)" in done.stderr.decode()
    remote = json.loads(done.stdout)
    assert remote["summary"]["engine"] == "ray" and remote["summary"]["done"] == 7
    stored = stored_images(tmp_path / "ray")
    assert set(stored) == {image["key"] for image in local["images"]}
    for image in local["images"]:
        with Image.open(image["path"]) as a, Image.open(stored[image["key"]]) as b:
            assert np.array_equal(np.asarray(a), np.asarray(b)), image["key"]
        record = json.loads(stored[image["key"]].with_suffix(".json").read_text())
        assert record["batch"]["seeds"] == json.loads(open(image["record"]).read())["batch"]["seeds"]
    journal = (tmp_path / "ray" / "batch-journal.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["key"] for line in journal) == sorted(stored)
