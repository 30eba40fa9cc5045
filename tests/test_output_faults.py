"""The faults an output folder must survive, each reproduced through the CLI: a locked or damaged catalogue,
a batch beside a live writer, huge prompts, folders and state files it must not adopt or follow, hostile
text, and a doctor that must report, never launder."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from batch_helpers import batch_json, write_spec
from conftest import generate_json

TINY = ("--model", "tiny", "--steps", "1", "--width", "64", "--height", "64")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """An output folder holding one image with a thumbnail rendition, made once for the module."""
    from click.testing import CliRunner

    from pipeline.cli import main

    out = tmp_path_factory.mktemp("template") / "out"
    result = CliRunner().invoke(main, ["generate", *TINY, "--prompt", "A white dove over a chessboard", "--seed", "3",
                                       "--renditions", "thumb", "--formats", "png", "--out", str(out), "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture
def folder(template, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(template, out)
    return out


def _image(out: Path) -> tuple[Path, Path]:
    [record] = [p for p in out.glob("*.json")]
    return record.with_suffix(".png"), record


def _one_line_error(result, code: int | None = None) -> str:
    assert result.exit_code != 0
    if code is not None:
        assert result.exit_code == code, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


# 1. Locked is not corrupt; a full disk says so.

def test_a_locked_catalogue_waits_then_says_locked_and_doctor_keeps_it(cli, folder):
    holder = sqlite3.connect(folder / "catalogue.sqlite", isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")  # as a tool holding the file would: no one else reads
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE meta SET value = value WHERE key = 'schema'")
    try:
        env = {"PIPELINE_CATALOGUE_WAIT": "0.5"}
        doctor = cli("doctor", "--out", folder, env=env)
        assert "locked by another process" in _one_line_error(doctor, 1)
        generate = cli("generate", *TINY, "--prompt", "a lighthouse", "--out", folder, env=env)
        assert "locked by another process" in _one_line_error(generate, 1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not list(folder.glob("catalogue.sqlite.corrupt-*")), "a healthy catalogue was set aside"
    assert cli("doctor", "--out", folder).exit_code == 0


def test_a_full_disk_under_the_catalogue_is_not_called_corrupt():
    from pipeline.output.catalogue import catalogue_error

    full = catalogue_error(sqlite3.OperationalError("database or disk is full"), Path("c.sqlite"))
    locked = catalogue_error(sqlite3.OperationalError("database is locked"), Path("c.sqlite"))
    damaged = catalogue_error(sqlite3.DatabaseError("database disk image is malformed"), Path("c.sqlite"))
    assert "no space left" in str(full) and "corrupt" not in str(full)
    assert "locked by another process" in str(locked)
    assert "corrupt" in str(damaged)


# 2. A run that cannot be closed in the catalogue says so in one line (no traceback from a finalizer).

@pytest.mark.parametrize("limit", [40_000])
def test_a_nearly_full_disk_never_gives_a_traceback_or_a_half_image(folder, limit):
    """Files may grow to `limit` bytes only (as on a nearly full disk): wherever the writing stops (image, record,
    catalogue, the run's end), the command ends in one line, and what is in the folder is whole and catalogued."""
    import resource
    import subprocess

    from conftest import subprocess_env

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "generate", *TINY, "--prompt", "a lighthouse on a cliff", "--seed", "9",
         "--renditions", "none", "--out", str(folder)],
        env=subprocess_env(), capture_output=True, preexec_fn=small_files, timeout=300,
    )
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert result.returncode in (0, 1), stderr
    if result.returncode == 1:
        last = stderr.strip().splitlines()[-1]
        assert last.startswith(("Error: no space left", "Error: cannot use", "warning: could not record")), stderr
    from test_crash_safety import assert_whole_files_and_matching_catalogue

    assert_whole_files_and_matching_catalogue(folder)


# 3. One recovery: a batch leaves a live writer's temporary files alone.

def test_a_batch_beside_a_live_writer_leaves_its_temporary_files(cli, tmp_path):
    from pipeline.output.files import writer_tag

    out = tmp_path / "out"
    out.mkdir()
    live = out / f".partial-{writer_tag()}-inflight"  # this process is alive: its write is in flight
    live.write_bytes(b"an image being written")
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1]\nstyle = "none"\n')
    batch_json(cli, spec, out)
    assert live.read_bytes() == b"an image being written"


# 4. Limits that fail early, and metadata that never fails a store.

def test_a_huge_prompt_is_refused_before_anything_loads(cli, tmp_path):
    result = cli("generate", *TINY, "--prompt", "a dove " * 4000, "--out", tmp_path / "out")
    assert "over the limit of 20,000" in _one_line_error(result, 2)
    assert not (tmp_path / "out").exists()


def test_a_long_title_is_stored_whole_with_shortened_embedded_metadata(cli, tmp_path):
    prompt = "a white dove over a calm chessboard at dawn"
    title = "한반도 평화 회담 " * 2000  # 20,000 characters, 50 KB in UTF-8: over what JPEG's XMP slot holds
    article = tmp_path / "article.txt"
    article.write_text(f"{prompt}\n$$$\n{title}\nThe article.\n", encoding="utf-8")
    result = cli("generate", article, *TINY, "--renditions", "card=64x64", "--formats", "jpeg,webp",
                 "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.stderr
    [image] = json.loads(result.stdout)["images"]
    record = json.loads(Path(image["record"]).read_text())
    assert record["prompt"] == prompt and record["title"] == title.strip()  # whole beside the master
    assert {r["format"] for r in image["renditions"]} == {"jpeg", "webp"}
    from PIL import Image

    jpeg = next(r["path"] for r in image["renditions"] if r["format"] == "jpeg")
    with Image.open(jpeg) as opened:
        xmp = opened.info["xmp"].decode()
    assert "shortened" in xmp and len(xmp.encode()) < 65_000


# 5. An output folder is a boundary.

def test_generate_adopts_neither_nested_batch_folders_nor_symlinked_folders(cli, folder, tmp_path):
    png, record = _image(folder)
    nested = folder / "some-batch"
    nested.mkdir()
    shutil.copy(png, nested / png.name)
    shutil.copy(record, nested / record.name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(png, elsewhere / "other-1-abc.png")
    shutil.copy(record, elsewhere / "other-1-abc.json")
    (folder / "linked").symlink_to(elsewhere, target_is_directory=True)
    (folder / "linked-1-abc.json").symlink_to(elsewhere / "other-1-abc.json")
    (folder / "linked-1-abc.png").symlink_to(elsewhere / "other-1-abc.png")
    generate_json(cli, *TINY[2:], "--prompt", "a lighthouse", "--out", folder)
    listed = json.loads(cli("list", "--out", folder, "--json").stdout)
    assert len(listed) == 2, [item["path"] for item in listed]


# 6. No state file is opened through a symlink.

@pytest.mark.parametrize("name", ["batch-journal.jsonl", ".batch.lock"])
def test_batch_state_files_are_never_followed_through_symlinks(cli, tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "precious.txt"
    outside.write_text("do not touch\n")
    (out / name).symlink_to(outside)
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1]\nstyle = "none"\n')
    result = cli("batch", spec, "--out", out)
    assert "symbolic link" in _one_line_error(result, 2)
    assert outside.read_text() == "do not touch\n"


# 7. Untrusted text is shown safely.

HOSTILE = "Breaking\x1b[31m news\u202e\x07 from the summit"


def test_control_and_bidi_characters_are_escaped_in_show_and_the_gallery(cli, tmp_path):
    article = tmp_path / "article.txt"
    article.write_text(f"A white dove over a chessboard\n$$$\n{HOSTILE}\nThe article.\n", encoding="utf-8")
    spec = write_spec(tmp_path, f'[[jobs]]\narticle = "{article}"\nseeds = [1]\nstyle = "none"\n')
    out = tmp_path / "out"
    data = batch_json(cli, spec, out)
    shown = cli("show", data["images"][0]["path"], "--out", out)
    assert shown.exit_code == 0, shown.stderr
    assert "Breaking" in shown.stdout
    for raw in ("\x1b", "\u202e", "\x07"):
        assert raw not in shown.stdout
        assert raw not in (out / "index.html").read_text(encoding="utf-8")
    assert "\\x1b" in shown.stdout and "\\u202e" in shown.stdout


# 8. Doctor never launders.

def _corrupt_catalogue(out: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{out / 'catalogue.sqlite'}{suffix}").unlink(missing_ok=True)
    (out / "catalogue.sqlite").write_bytes(b"SQLite format 3\x00" + os.urandom(4096))


def test_an_edited_record_is_reported_modified_even_when_the_catalogue_is_rebuilt(cli, folder):
    _, record_path = _image(folder)
    record = json.loads(record_path.read_text())
    record["prompt"] = "an edited prompt"
    record_path.write_text(json.dumps(record, indent=2))
    _corrupt_catalogue(folder)
    result = cli("doctor", "--out", folder, "--json")
    report = json.loads(result.stdout)
    problems = {f["problem"] for f in report["findings"]}
    assert "record changed since it was written" in problems, report
    [row] = json.loads(cli("list", "--out", folder, "--json").stdout)
    assert row["status"] == "modified"


def test_a_lost_record_with_a_corrupt_catalogue_is_reported_not_dropped(cli, folder):
    png, record_path = _image(folder)
    record_path.unlink()
    _corrupt_catalogue(folder)
    result = cli("doctor", "--out", folder, "--json")
    assert result.exit_code == 5, result.stderr
    report = json.loads(result.stdout)
    untracked = {f["path"] for f in report["remaining"] if f["problem"] == "image without its record"}
    assert png.name in untracked
    assert any(f["problem"] == "rendition without its record" for f in report["remaining"]), report


def test_renditions_of_a_lost_master_are_reported_and_a_batch_keeps_the_record(cli, tmp_path):
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1]\nstyle = "none"\nrenditions = "thumb"\n')
    out = tmp_path / "out"
    data = batch_json(cli, spec, out)
    image = data["images"][0]
    Path(image["path"]).unlink()
    batch_json(cli, spec, out)
    assert Path(image["record"]).is_file(), "the batch deleted the record of a lost master"
    report = json.loads(cli("doctor", "--out", out, "--json", "--dry-run").stdout)
    problems = {(f["problem"], f["path"]) for f in report["findings"]}
    assert ("image file missing", os.path.basename(image["path"])) in problems
    assert any(p == "rendition of a lost image" for p, _ in problems), problems


# 9. A damaged record row is a reported problem, never an internal error.

def test_a_damaged_record_row_is_a_reported_problem(cli, folder):
    db = sqlite3.connect(folder / "catalogue.sqlite")
    db.execute("UPDATE images SET record = '{\"prompt\": ' WHERE id = 1")
    db.commit()
    db.close()
    for command in (("show", "1"), ("reproduce", "1")):
        result = cli(*command, "--out", folder)
        assert "damaged" in _one_line_error(result), result.stderr
    report = json.loads(cli("doctor", "--out", folder, "--json", "--dry-run").stdout)
    assert any(f["problem"] == "damaged record in the catalogue" for f in report["findings"]), report
    repaired = cli("doctor", "--out", folder)
    assert repaired.exit_code == 0, repaired.stdout + repaired.stderr
    assert cli("show", "1", "--out", folder).exit_code == 0


# 10. Every file the tool writes gets the images' mode.

def test_gallery_contact_sheet_and_summary_get_the_images_mode(cli, tmp_path):
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1]\nstyle = "none"\n')
    out = tmp_path / "out"
    data = batch_json(cli, spec, out)
    mode = stat.S_IMODE(os.stat(data["images"][0]["path"]).st_mode)
    for name in ("index.html", "contact-sheet.png", "batch-summary.json", "batch-journal.jsonl"):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == mode, name


def test_doctor_keeps_the_readable_history_of_a_corrupt_catalogue(cli, folder):
    png, _ = _image(folder)
    data = bytearray(png.read_bytes())
    data[-20] ^= 0xFF  # the image changed on disk: doctor records a status change with its reason
    png.write_bytes(bytes(data))
    assert cli("doctor", "--out", folder).exit_code == 0
    db = sqlite3.connect(folder / "catalogue.sqlite")
    db.execute("DELETE FROM meta")  # the file no longer says what it is: corrupt, but its rows are readable
    db.commit()
    db.close()
    report = json.loads(cli("doctor", "--out", folder, "--json").stdout)
    [kept] = [f for f in report["findings"] if f["problem"] == "history of the corrupt catalogue"]
    assert "0 status change(s)" not in kept["action"], kept
    assert list(folder.glob("catalogue.sqlite.corrupt-*")), "the corrupt file is kept, set aside"
    shown = json.loads(cli("show", "1", "--out", folder, "--json").stdout)
    assert any(s["reason"] == "content hash differs from the one stored" for s in shown["statuses"]), shown["statuses"]
