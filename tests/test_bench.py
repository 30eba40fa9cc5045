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


def test_catalogue_bench_grows_a_folder_and_times_each_command(tmp_path):
    folder = tmp_path / "out"
    cmd = [sys.executable, str(REPO / "bench" / "catalogue.py"), "--sizes", "4,8", "--repeats", "1"]
    cmd += ["--folder", str(folder), "--out", str(tmp_path / "results")]
    result = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    [path] = (tmp_path / "results").glob("*-catalogue.json")
    data = json.loads(path.read_text())
    assert [r["images"] for r in data["results"]] == [4, 8]
    for row in data["results"]:
        for command in ("list_json", "list_filtered", "show", "doctor_dry_run", "store_one"):
            assert row[command]["median_s"] > 0, command
        assert 5 < row["list_json"]["peak_rss_mb"] < 200
    assert len([p for p in folder.glob("*.png") if p.name.count(".") == 1]) + len(list((folder / "quarantine").glob("*.png"))) == 9
    targets = {t["target"] for t in data["targets"]}
    assert "list_json per image, 8 vs 4 (x of linear)" in targets
    assert all(("met" if t["met"] else "MISSED") in result.stdout for t in data["targets"])
