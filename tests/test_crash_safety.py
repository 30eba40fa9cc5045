"""Crash safety: a writer killed with SIGKILL at any step leaves only whole files and a catalogue that matches disk.

The writer pauses at a named step through the documented test hook (PIPELINE_TEST_PAUSE_AT and
PIPELINE_TEST_PAUSE_MARK, see pipeline/output/files.py); the test then kills it and checks the folder.
"""

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import subprocess_env, generate_json

ARGS = ("generate", "--model", "tiny", "--prompt", "A white dove over a chessboard", "--steps", "2", "--seed", "5",
        "--renditions", "thumb", "--formats", "webp,png")


def assert_whole_files_and_matching_catalogue(out: Path) -> None:
    for path in out.iterdir():
        if path.name.startswith((".", "catalogue.sqlite")):
            continue
        if path.suffix == ".json":
            json.loads(path.read_text())
        else:
            with Image.open(path) as image:
                image.load()  # raises on a truncated file
    db = sqlite3.connect(f"file:{out / 'catalogue.sqlite'}?mode=ro", uri=True)
    try:
        paths = [row[0] for row in db.execute("SELECT path FROM images UNION ALL SELECT record_path FROM images UNION ALL SELECT path FROM renditions")]
    finally:
        db.close()
    missing = [p for p in paths if not (out / p).is_file()]
    assert missing == [], f"catalogue rows point at missing files: {missing}"


def kill_at(step: str, out: Path, tmp_path: Path) -> None:
    mark = tmp_path / f"paused-{step}"
    env = subprocess_env(PIPELINE_TEST_PAUSE_AT=step, PIPELINE_TEST_PAUSE_MARK=str(mark))
    process = subprocess.Popen([sys.executable, "-m", "pipeline", *ARGS, "--out", str(out)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not mark.exists():
            if process.poll() is not None:
                pytest.fail(f"writer exited ({process.returncode}) before pausing at {step}: {process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail(f"writer never reached {step}")
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()


@pytest.mark.parametrize(
    "step, images_after_rerun",
    [
        ("temps-written", 1),  # only temporary files existed: removed; the rerun takes the name
        ("linked.png", 1),  # renditions and master linked, record not: an incomplete set, removed
        ("before-catalogue", 2),  # files complete, catalogue not yet: indexed, and the rerun adds its own
    ],
)
def test_sigkill_mid_write_then_rerun_completes_and_doctor_finds_nothing(cli, tmp_path, step, images_after_rerun):
    out = tmp_path / "out"
    kill_at(step, out, tmp_path)
    assert_whole_files_and_matching_catalogue(out)
    if step != "before-catalogue":
        assert any(p.name.startswith(".partial-") for p in out.iterdir()), "the kill left temporary files"
    data = generate_json(cli, *ARGS[3:], "--out", out)
    assert_whole_files_and_matching_catalogue(out)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".partial-")]
    entries = json.loads(cli("list", "--out", out, "--json").stdout)
    assert len(entries) == images_after_rerun
    assert entries[-1]["path"] == data["images"][0]["path"]
    if images_after_rerun == 1:
        assert Path(data["images"][0]["path"]).name == "a-white-dove-over-a-chessboard-5-" + Path(data["images"][0]["path"]).name.split("-")[-1]
    stems = {p.name.split(".")[0] for p in out.iterdir() if not p.name.startswith((".", "catalogue"))}
    assert len(stems) == images_after_rerun, "every file belongs to a complete, catalogued image"
    report = json.loads(cli("doctor", "--out", out, "--dry-run", "--json").stdout)
    assert report["consistent"] is True and report["findings"] == []
    runs = sqlite3.connect(out / "catalogue.sqlite").execute("SELECT status FROM runs ORDER BY id").fetchall()
    assert [r[0] for r in runs][-1] == "done"


def test_doctor_cleans_leftovers_of_a_killed_run(cli, tmp_path):
    out = tmp_path / "out"
    kill_at("linked.png", out, tmp_path)
    report = json.loads(cli("doctor", "--out", out, "--json").stdout)
    removed = sorted(f["path"] for f in report["findings"] if f["problem"] == "leftover of a killed run")
    assert any(name.endswith(".thumb.webp") for name in removed) and any(name.endswith(".png") for name in removed)
    assert any(name.startswith(".partial-") for name in removed)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("catalogue.sqlite")) == []
    assert json.loads(cli("doctor", "--out", out, "--dry-run", "--json").stdout)["consistent"] is True


def test_live_writers_temporary_files_are_left_alone(tmp_path):
    from pipeline.output.recovery import clean_leftovers
    from pipeline.output.files import writer_tag

    mine = tmp_path / f".partial-{writer_tag()}-abc"
    mine.write_bytes(b"being written")
    dead = tmp_path / f".partial-{writer_tag().rsplit('-', 1)[0]}-999999999-abc"
    dead.write_bytes(b"left behind")
    assert clean_leftovers(tmp_path) == [dead.name]
    assert mine.exists()


def test_full_output_folder_fails_cleanly_and_damages_nothing(cli, tmp_path):
    out = tmp_path / "out"
    generate_json(cli, *ARGS[3:], "--out", out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith("catalogue.sqlite")}
    limit = 400_000  # bytes any one file may have: the 1920x1080 PNG rendition is larger

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *ARGS[:4], "a second prompt", *ARGS[5:], "--renditions", "hero",
         "--formats", "png", "--out", str(out)],
        env=subprocess_env(), capture_output=True, preexec_fn=small_files, timeout=600,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert stderr.strip().splitlines()[-1].startswith("Error: no space left on the device while writing")
    assert "Traceback" not in stderr
    after = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith("catalogue.sqlite")}
    assert after == before, "nothing was added, removed or changed"
    assert_whole_files_and_matching_catalogue(out)


def test_read_only_output_folder_is_refused(cli, tmp_path):
    import shutil

    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        undo = lambda: folder.chmod(0o755)  # noqa: E731
    else:  # root writes through permission bits: make the folder immutable instead
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root and cannot make a folder immutable (chattr +i), so no folder is read-only")
        undo = lambda: subprocess.run([chattr, "-i", str(folder)], check=True)  # noqa: E731
    try:
        result = cli(*ARGS, "--out", folder)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.strip().startswith(f"Error: output folder {folder} is not writable (")
        assert list(folder.iterdir()) == []
        doctor = cli("doctor", "--out", folder)
        assert doctor.exit_code == 2, doctor.stderr
        assert doctor.stderr.strip().startswith(f"Error: output folder {folder} is not writable (")
        assert list(folder.iterdir()) == []
    finally:
        undo()
