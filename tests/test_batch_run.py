"""Batch runs: failures are isolated, out-of-memory halves the batch, reruns resume, crashes are survived."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from pathlib import Path

from batch_helpers import batch_json, stored_images, write_spec
from conftest import run_on_terminal, run_pipeline, subprocess_env

THREE_JOBS = """
[[jobs]]
prompt = "a lighthouse on a cliff"
seeds = [1, 2]
style = "none"
[[jobs]]
prompt = "a white dove over a chessboard"
seeds = [1, 2]
style = "none"
[[jobs]]
prompt = "a quiet harbour at dusk"
seeds = [3]
style = "editorial-illustration"
"""


def _break_model_for(monkeypatch, word, error=RuntimeError("simulated model failure")):
    from pipeline.models.loader import LoadedModel

    real = LoadedModel.generate
    calls = []

    def generate(self, **kwargs):
        calls.append(len(kwargs["seeds"]))
        if word in kwargs["prompt"]:
            raise error
        return real(self, **kwargs)

    monkeypatch.setattr(LoadedModel, "generate", generate)
    return calls


def test_blocked_job_is_recorded_and_the_batch_goes_on(cli, tmp_path):
    spec = write_spec(tmp_path, THREE_JOBS.replace("a white dove", "a massacre"))
    data = batch_json(cli, spec, tmp_path / "out", exit_code=3)
    statuses = {(image["job"], image["seed"]): image["status"] for image in data["images"]}
    assert statuses == {(1, 1): "done", (1, 2): "done", (2, 1): "blocked", (2, 2): "blocked", (3, 3): "done"}
    blocked = [image for image in data["images"] if image["status"] == "blocked"]
    assert all(image["reason"].startswith("prompt refused by guideline atrocity") for image in blocked)
    assert (data["summary"]["done"], data["summary"]["blocked"], data["summary"]["failed"]) == (3, 2, 0)
    assert len(stored_images(tmp_path / "out")) == 3
    journal = [json.loads(line) for line in (tmp_path / "out" / "batch-journal.jsonl").read_text().splitlines()]
    assert sorted(entry["status"] for entry in journal) == ["blocked", "blocked", "done", "done", "done"]


def test_model_error_is_recorded_and_retry_failed_redoes_only_those(cli, tmp_path, monkeypatch):
    spec = write_spec(tmp_path, THREE_JOBS)
    out = tmp_path / "out"
    _break_model_for(monkeypatch, "harbour")
    data = batch_json(cli, spec, out, exit_code=6)
    [failed] = [image for image in data["images"] if image["status"] == "failed"]
    assert failed["job"] == 3 and failed["reason"] == "RuntimeError: simulated model failure"
    assert data["summary"]["done"] == 4

    # A plain rerun skips the finished images and leaves the failure as it is.
    again = batch_json(cli, spec, out, exit_code=6)
    assert (again["summary"]["skipped"], again["summary"]["failed"], again["summary"]["done"]) == (4, 1, 0)

    monkeypatch.undo()
    fixed = batch_json(cli, spec, out, "--retry-failed")
    assert (fixed["summary"]["skipped"], fixed["summary"]["done"], fixed["summary"]["failed"]) == (4, 1, 0)
    assert len(stored_images(out)) == 5


def test_out_of_memory_halves_the_batch_size_and_retries(cli, tmp_path, monkeypatch):
    from pipeline.errors import OutOfMemory
    from pipeline.models.loader import LoadedModel

    real = LoadedModel.generate
    sizes = []

    def generate(self, **kwargs):
        sizes.append(len(kwargs["seeds"]))
        if len(kwargs["seeds"]) > 1:
            raise OutOfMemory("the GPU ran out of memory (simulated)")
        return real(self, **kwargs)

    monkeypatch.setattr(LoadedModel, "generate", generate)
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1, 2, 3, 4, 5]\nstyle = "none"\n')
    result = cli("batch", spec, "--out", tmp_path / "out", "--batch-size", "4", "--json")
    assert result.exit_code == 0, result.stderr
    assert sizes == [4, 2, 1, 1, 1, 1, 1]  # 4 fails, 2 fails, then batches of one for the rest
    assert "batch size is now 2" in result.stderr and "batch size is now 1" in result.stderr
    assert json.loads(result.stdout)["summary"]["done"] == 5


def test_rerun_skips_finished_images_and_never_duplicates(cli, tmp_path):
    spec = write_spec(tmp_path, THREE_JOBS)
    out = tmp_path / "out"
    first = batch_json(cli, spec, out)
    before = {key: path.read_bytes() for key, path in stored_images(out).items()}
    second = batch_json(cli, spec, out)
    assert (second["summary"]["done"], second["summary"]["skipped"]) == (0, 5)
    assert {key: path.read_bytes() for key, path in stored_images(out).items()} == before
    assert [image["path"] for image in first["images"]] == [image["path"] for image in second["images"]]
    # A deleted image (its files) is made again, under its own key.
    victim = first["images"][0]
    os.unlink(victim["path"])
    os.unlink(victim["record"])
    third = batch_json(cli, spec, out)
    assert (third["summary"]["done"], third["summary"]["skipped"]) == (1, 4)
    assert set(stored_images(out)) == set(before)


def test_rerun_after_a_crash_uses_the_one_recovery_and_deletes_no_image(cli, tmp_path):
    """Leftovers of a kill and of hands: a dead writer's temporary file (removed by the output folder's one
    recovery), a live writer's (kept), a cut journal line (dropped), a lost record file (the image is in the
    catalogue, so it is done; doctor restores the record), a second copy of an image (kept, never deleted)."""
    from pipeline.output.files import writer_tag

    spec = write_spec(tmp_path, THREE_JOBS)
    out = tmp_path / "out"
    first = batch_json(cli, spec, out)
    images = first["images"]
    journal = out / "batch-journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join(lines[:-1]) + lines[-1][:25])
    os.unlink(images[2]["record"])
    host = writer_tag().rsplit("-", 1)[0]
    dead = out / f".partial-{host}-999999999-abc123"
    dead.write_bytes(b"half")
    live = out / f".partial-{writer_tag()}-inflight"
    live.write_bytes(b"being written")
    copy = out / "copy-of-3.png"
    copy.write_bytes(open(images[3]["path"], "rb").read())
    copy.with_suffix(".json").write_text(open(images[3]["record"]).read())

    result = cli("batch", spec, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert "removed 1 leftover file(s) of a killed run" in result.stderr
    assert not dead.exists() and live.exists() and copy.exists()
    assert Path(images[2]["path"]).exists(), "an image whose record was lost is never deleted"
    assert data["summary"]["done"] == 0 and data["summary"]["skipped"] == 5
    assert all(line.endswith("\n") for line in journal.read_text().splitlines(keepends=True))
    report = json.loads(cli("doctor", "--out", out, "--json").stdout)
    assert ("record file missing", os.path.basename(images[2]["record"])) in {
        (f["problem"], f["path"]) for f in report["findings"]}
    assert Path(images[2]["record"]).exists() and report["consistent"], report


def _count_pngs(out):
    return len([p for p in out.glob("*.png") if p.name != "contact-sheet.png"]) if out.exists() else 0


def _spawn_batch(spec, out):
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "batch", str(spec), "--out", str(out), "--batch-size", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
        start_new_session=True,
    )


def _wait_for_images(process, out, count, timeout=120):
    deadline = time.monotonic() + timeout
    while _count_pngs(out) < count:
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the batch made no images in time"
        time.sleep(0.02)


KILL_SPEC = """
[[jobs]]
prompt = "a lighthouse on a cliff"
seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
styles = ["none", "editorial-illustration"]
"""


def _start_long_batch(tmp_path, images_first):
    """A 24-image batch in a subprocess, returned once it has stored `images_first` images."""
    spec = write_spec(tmp_path, KILL_SPEC, defaults='[defaults]\nmodel = "tiny"\nsteps = 6\nwidth = 64\nheight = 64\n')
    out = tmp_path / "out"
    process = _spawn_batch(spec, out)
    _wait_for_images(process, out, images_first)
    return process, spec, out


def test_sigkill_mid_run_then_rerun_makes_every_image_exactly_once(tmp_path):
    process, spec, out = _start_long_batch(tmp_path, 3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    made_before = _count_pngs(out)
    assert 3 <= made_before < 24, "the kill has to land mid-run"

    rerun = run_pipeline("batch", spec, "--out", out, "--json", "--quiet")
    assert rerun.returncode == 0, rerun.stderr.decode()
    data = json.loads(rerun.stdout)
    assert data["summary"]["total"] == 24
    assert data["summary"]["skipped"] + data["summary"]["done"] == 24
    assert data["summary"]["skipped"] >= made_before - 1  # at most the image in flight is lost
    stored = stored_images(out)
    assert set(stored) == {image["key"] for image in data["images"]}
    for image in data["images"]:
        assert image["path"] == str(stored[image["key"]])
        json.loads(open(image["record"]).read())


@pytest.mark.parametrize("signum, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_finishes_the_image_in_flight_and_prints_the_summary(tmp_path, signum, exit_code):
    process, spec, out = _start_long_batch(tmp_path, 2)
    os.kill(process.pid, signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == exit_code, stderr.decode()
    assert f"{signal.Signals(signum).name}: finishing the images in flight" in stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert "24 image(s): done" in stdout.decode() and "pending" in stdout.decode()
    journal = (out / "batch-journal.jsonl").read_text().splitlines()
    assert len(journal) == _count_pngs(out) == len(stored_images(out))  # every image stored is journalled
    summary = json.loads((out / "batch-summary.json").read_text())["summary"]
    assert summary["interrupted"] and summary["pending"] == 24 - len(journal)
    assert (out / "index.html").is_file()

    rerun = run_pipeline("batch", spec, "--out", out, "--json", "--quiet")
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert json.loads(rerun.stdout)["summary"]["skipped"] == len(journal)
    assert len(stored_images(out)) == 24


def test_plain_progress_lines_when_not_a_terminal_and_quiet(cli, tmp_path):
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1, 2]\n')
    loud = cli("batch", spec, "--out", tmp_path / "a")
    assert loud.exit_code == 0, loud.stderr
    # The job names no style: the line names the one the guidelines chose.
    assert "[1/2] done job 1 style realistic-hd seed 1:" in loud.stderr and "(eta " in loud.stderr
    assert "[2/2] done job 1 style realistic-hd seed 2:" in loud.stderr
    assert loud.stdout.startswith("2 image(s): done 2, skipped 0, failed 0, blocked 0, flagged 0, pending 0\n")
    assert "images/s" in loud.stdout and "gallery: " in loud.stdout and " after the first image, at " in loud.stdout
    quiet = cli("batch", spec, "--out", tmp_path / "b", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    as_json = cli("batch", spec, "--out", tmp_path / "c", "--json", "--quiet")
    data = json.loads(as_json.stdout)  # one JSON object and nothing else on stdout
    assert set(data) == {"summary", "images"}
    assert {"done", "skipped", "failed", "blocked", "flagged", "elapsed_s", "images_per_s"} <= set(data["summary"])
    # Throughput once running: images per second after the first image, and when that one was stored.
    summary = data["summary"]
    assert 0 < summary["first_image_s"] <= summary["elapsed_s"] and summary["steady_images_per_s"] > 0


def test_live_bar_on_a_terminal(tmp_path):
    """On a terminal the progress is a rich bar with counts and ETA (run under a pseudo-terminal)."""
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1, 2]\nstyle = "none"\n')
    returncode, _, screen = run_on_terminal("batch", spec, "--out", tmp_path / "out")
    assert returncode == 0, screen
    assert "2/2" in screen and "done 2 failed 0 blocked 0" in screen and "eta" in screen
    assert "[1/2] done" not in screen  # the bar replaces the plain lines


def test_ray_missing_is_a_clear_error(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1]\n')
    result = cli("batch", spec, "--out", tmp_path / "out", "--engine", "ray")
    assert result.exit_code == 2
    assert "--engine ray needs Ray, which is not installed" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_second_run_on_the_same_folder_is_refused(cli, tmp_path):
    from pipeline.batch.journal import OutputLock

    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1]\n')
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out):
        result = cli("batch", spec, "--out", out)
    assert result.exit_code == 2 and "another batch run is writing to" in result.stderr
    assert _count_pngs(out) == 0


def test_a_batch_image_is_reproduced_from_its_record(cli, tmp_path):
    """Seeds need not be consecutive: the record's batch seeds rebuild the same batch, pixel for pixel."""
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [3, 9]\nstyle = "none"\n')
    data = batch_json(cli, spec, tmp_path / "out", "--batch-size", "2")
    second = data["images"][1]
    record = json.loads(open(second["record"]).read())
    assert record["batch"] == {"seeds": [3, 9], "index": 1}
    result = cli("reproduce", second["path"], "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["identical"] is True


def test_flagged_images_go_to_quarantine_and_resume_from_there(cli, tmp_path, monkeypatch):
    """An image the image checks flag is kept in quarantine/, counted as flagged, shown, and never made twice."""
    from pipeline import generate

    monkeypatch.setattr(
        generate, "run_checks", lambda checks, images: [["test check: seed flagged"] if i else [] for i in range(len(images))]
    )
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1, 2]\nstyle = "none"\n')
    out = tmp_path / "out"
    data = batch_json(cli, spec, out, "--batch-size", "2")
    assert (data["summary"]["done"], data["summary"]["flagged"]) == (2, 1)
    clean, flagged = data["images"]
    assert os.path.dirname(flagged["path"]) == str(out / "quarantine") and flagged["flags"] == ["test check: seed flagged"]
    assert os.path.dirname(clean["path"]) == str(out) and clean["flags"] == []
    assert 'src="quarantine/' in (out / "index.html").read_text()
    again = batch_json(cli, spec, out)
    assert (again["summary"]["skipped"], again["summary"]["done"], again["summary"]["flagged"]) == (2, 0, 1)
    assert len(list((out / "quarantine").glob("*.png"))) == 1 and len(list(out.glob("*.png"))) == 2  # + contact sheet


def test_a_job_is_judged_once_however_many_batches_it_takes(cli, tmp_path, monkeypatch):
    """One image per forward pass still judges each job's prompt once (the policy is parsed once per content):
    the CPU work of the guidelines stays off the path between one image's denoising and the next."""
    from pipeline import guidelines

    real, judged = guidelines.judge, []

    def judge(prompt, **kwargs):
        judged.append(prompt)
        return real(prompt, **kwargs)

    monkeypatch.setattr(guidelines, "judge", judge)
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse on a cliff at noon"\nseeds = [1, 2, 3]\nstyle = "none"\n')
    assert batch_json(cli, spec, tmp_path / "out", "--batch-size", "1")["summary"]["done"] == 3
    assert judged.count("a lighthouse on a cliff at noon") == 1
    # The text encoder's check of the final prompt is recorded for every image, the same for each.
    records = [json.loads(path.with_suffix(".json").read_text()) for path in stored_images(tmp_path / "out").values()]
    checks = [record["guidelines"]["text_check"] for record in records]
    assert len(checks) == 3 and checks[0]["concept_share"] is not None and checks.count(checks[0]) == 3


def test_an_edited_policy_file_is_read_again_in_the_same_process(cli, tmp_path):
    """The parsed policy is kept per file content: a file changed between two runs of one process is judged anew."""
    from pipeline.guidelines.policy import default_path

    policy = tmp_path / "policy.toml"
    policy.write_bytes(default_path().read_bytes())
    args = ("generate", "--model", "tiny", "--steps", "1", "--style", "none", "--guidelines", policy,
            "--prompt", "a lighthouse painted teal", "--out", tmp_path / "out", "--json", "-q")  # fmt: skip
    first = cli(*args)
    assert first.exit_code == 0, first.stderr
    text = policy.read_text()
    policy.write_text(text + '\n[[rules]]\nid = "no-teal"\naction = "block"\ncategory = "gore"\nrationale = "a test"\nterms = ["teal"]\n')
    second = cli(*args)
    assert second.exit_code != 0 and "no-teal" in second.stderr, second.stderr
