"""The benchmark runs from the checkout with one command and reports its targets."""

import json
import subprocess
import sys

from conftest import REPO, subprocess_env


def test_bench_runs_on_tiny_and_reports_targets(tmp_path):
    cmd = [sys.executable, str(REPO / "bench" / "run.py"), "--model", "tiny", "--sections", "startup,generate"]
    cmd += ["--batches", "1", "--repeats", "1", "--steps", "1", "--threads", "1", "--out", str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    [path] = tmp_path.glob("*-tiny-cpu.json")
    assert f"results: {path}" in result.stdout
    data = json.loads(path.read_text())
    assert data["startup"]["median_s"]["pipeline_help"] > 0 and data["startup"]["ratio"] > 0
    for side in ("ours-1", "bare-1"):
        row = data["generate"][side]
        assert row["batch"] == 1 and row["warm_batch_s"] > 0 and row["peak_rss_mb"] > 50
        assert len(row["runs"]["wall_s"]) == 1
    assert data["generate"]["ours-1"]["accel"]["offload"] == "none"
    targets = {t["target"]: t for t in data["targets"]}
    assert set(targets) == {"help_startup", "generate_whole_process"}
    for target in targets.values():
        assert target["met"] == (target["ratio"] <= target["limit"])
        assert ("met" if target["met"] else "MISSED") in result.stdout
