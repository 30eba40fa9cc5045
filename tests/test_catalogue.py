"""The catalogue through the CLI: list with filters, show, reproduce, doctor repairs, and bad inputs."""

import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO, generate_json, run_pipeline

PROMPT = ("--prompt", "A white dove over a chessboard", "--steps", "2")


def run_json(cli, *args, code=0):
    result = cli(*args, "--json")
    assert result.exit_code == code, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def folder(cli, tmp_path):
    """Two runs in one folder: an article with a rendition, then two prompt images."""
    out = tmp_path / "out"
    first = generate_json(cli, REPO / "prompts" / "korea-chessboard.txt", "--steps", "2", "--seed", "7", "--out", out, "--renditions", "thumb", "--formats", "webp")
    second = generate_json(cli, *PROMPT, "--seed", "3", "--num-images", "2", "--out", out)
    return out, first, second


def test_list_json_gives_every_image_with_its_fields_and_filters(cli, folder):
    out, first, second = folder
    entries = run_json(cli, "list", "--out", out)
    assert [e["path"] for e in entries] == [i["path"] for i in first["images"] + second["images"]]
    assert [e["id"] for e in entries] == [i["id"] for i in first["images"] + second["images"]]
    assert entries[1]["prompt"] == "A white dove over a chessboard"
    assert [e["seed"] for e in entries] == [7, 3, 4]
    assert {e["status"] for e in entries} == {"ok"}
    assert entries[0]["renditions"][0]["name"] == "thumb"
    assert len(run_json(cli, "list", "--out", out, "--run", str(entries[1]["run"]))) == 2
    assert [e["seed"] for e in run_json(cli, "list", "--out", out, "--article", "korea-chessboard")] == [7]
    assert [e["seed"] for e in run_json(cli, "list", "--out", out, "--article", "Escalating Tensions")] == [7]
    assert run_json(cli, "list", "--out", out, "--status", "modified") == []
    assert len(run_json(cli, "list", "--out", out, "--since", "2000-01-01")) == 3
    assert run_json(cli, "list", "--out", out, "--until", "2000-01-01") == []
    text = cli("list", "--out", out)
    assert text.exit_code == 0 and len(text.stdout.splitlines()) == 4
    assert text.stdout.splitlines()[0].split() == ["ID", "STATUS", "CREATED", "(UTC)", "SEED", "MODEL", "REND", "TITLE", "OR", "PROMPT"]
    assert text.stdout.splitlines()[1].split()[:2] == [str(entries[0]["id"]), "ok"]
    assert text.stdout.splitlines()[1].endswith("  1  " + entries[0]["title"])


def test_article_prompt_is_stored_as_given(cli, folder):
    out, first, _ = folder
    record = json.loads(Path(first["images"][0]["record"]).read_text())
    [entry] = run_json(cli, "list", "--out", out, "--article", "korea")
    assert entry["prompt"] == record["prompt"]


def test_show_by_id_and_by_any_path_of_the_image(cli, folder):
    out, first, _ = folder
    image = first["images"][0]
    by_id = run_json(cli, "show", str(image["id"]), "--out", out)
    assert by_id["path"] == image["path"] and by_id["seed"] == 7
    assert by_id["record_data"]["seed"] == 7
    assert {c["name"]: c["verdict"] for c in by_id["checks"]} == {"guidelines": "allow", "native-size": "enlarged", "image-checks": "pass"}
    assert by_id["statuses"][0]["status"] == "ok"
    assert run_json(cli, "show", image["path"], "--out", out)["id"] == image["id"]
    assert run_json(cli, "show", image["renditions"][0]["path"], "--out", out)["id"] == image["id"]
    assert run_json(cli, "show", Path(image["record"]).name, "--out", out)["id"] == image["id"]
    text = cli("show", str(image["id"]), "--out", out)
    assert text.exit_code == 0
    assert "rendition thumb webp 640x360" in text.stdout and "enlarged x10 beyond the native size" in text.stdout


def test_reproduce_gives_identical_pixels_and_fails_when_they_differ(cli, folder):
    out, _, second = folder
    image = second["images"][1]
    result = run_json(cli, "reproduce", str(image["id"]), "--out", out)
    assert result == {"id": image["id"], "path": image["path"], "identical": True, "max_difference": 0, "differing_pixels": 0}
    before = sorted(p.name for p in out.iterdir())
    # Tamper with the stored master: reproduce must notice and exit non-zero.
    with Image.open(image["path"]) as stored:
        changed = stored.copy()
    changed.putpixel((0, 0), tuple(255 - v for v in changed.getpixel((0, 0))))
    changed.save(image["path"])
    bad = cli("reproduce", image["path"], "--out", out, "--json")
    assert bad.exit_code == 4  # pixels differ: a verdict, not a crash
    assert json.loads(bad.stdout)["identical"] is False and json.loads(bad.stdout)["differing_pixels"] == 1
    assert "pixels differ" in bad.stderr
    assert "regenerating image" in bad.stderr and "wrote " not in bad.stderr  # no path of a file that is not kept
    assert sorted(p.name for p in out.iterdir()) == before, "reproduce writes nothing into the output folder"


def test_doctor_repairs_missing_files_changed_files_and_a_lost_catalogue(cli, folder):
    out, first, second = folder
    assert run_json(cli, "doctor", "--out", out)["findings"] == []
    gone_master, lost_record, changed = second["images"][0], first["images"][0], second["images"][1]
    Path(gone_master["path"]).unlink()
    Path(lost_record["record"]).unlink()
    original_rendition = Path(lost_record["renditions"][0]["path"]).read_bytes()
    Path(lost_record["renditions"][0]["path"]).unlink()
    Path(changed["path"]).write_bytes(Path(changed["path"]).read_bytes() + b"tampered")
    check = cli("doctor", "--out", out, "--dry-run", "--json")
    assert check.exit_code == 5 and json.loads(check.stdout)["consistent"] is False
    report = run_json(cli, "doctor", "--out", out)
    assert report["consistent"] is True and report["remaining"] == []
    problems = {(f["problem"], Path(f["path"]).name) for f in report["findings"]}
    assert problems == {
        ("image file missing", Path(gone_master["path"]).name),
        ("record file missing", Path(lost_record["record"]).name),
        ("rendition missing", Path(lost_record["renditions"][0]["path"]).name),
        ("image changed since it was written", Path(changed["path"]).name),
    }
    assert json.loads(Path(lost_record["record"]).read_text())["seed"] == 7
    lost_rendition = Path(lost_record["renditions"][0]["path"])
    assert [f["action"] for f in report["findings"] if f["problem"] == "rendition missing"] == ["rendered it again from the image"]
    assert lost_rendition.read_bytes() == original_rendition, "rendered again byte for byte"
    assert [e["id"] for e in run_json(cli, "list", "--out", out)] == [lost_record["id"], changed["id"]]
    assert [e["id"] for e in run_json(cli, "list", "--out", out, "--status", "modified")] == [changed["id"]]
    assert run_json(cli, "doctor", "--out", out, "--dry-run")["findings"] == []
    # An edited record is noticed too.
    record_path = Path(lost_record["record"])
    record_path.write_text(record_path.read_text().replace('"seed": 7', '"seed": 8', 1))
    [finding] = run_json(cli, "doctor", "--out", out)["findings"]
    assert finding == {"problem": "record changed since it was written", "path": record_path.name, "action": "status set to modified"}
    # A deleted catalogue is rebuilt from the records on disk.
    for name in ("catalogue.sqlite", "catalogue.sqlite-wal", "catalogue.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    rebuilt = run_json(cli, "doctor", "--out", out)
    assert rebuilt["consistent"] is True
    assert sorted(e["seed"] for e in run_json(cli, "list", "--out", out)) == [4, 8]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "garbled"])
def test_corrupt_catalogue_is_refused_then_set_aside_and_rebuilt_by_doctor(cli, folder, damage):
    out, first, second = folder
    db = sqlite3.connect(out / "catalogue.sqlite")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    for name in ("catalogue.sqlite-wal", "catalogue.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    whole = (out / "catalogue.sqlite").read_bytes()
    if damage == "garbage":
        garbage = b"this is not a database" * 100
    elif damage == "truncated":
        garbage = whole[: len(whole) // 2]
    else:  # same size, every page after the first overwritten: only reading the tables finds it
        garbage = whole[:4096] + bytes(range(256)) * ((len(whole) - 4096) // 256)
    (out / "catalogue.sqlite").write_bytes(garbage)
    images_before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".png", ".json", ".webp")}
    for args in (("list",), ("show", "1"), ("reproduce", "1")):
        result = cli(*args, "--out", out)
        assert result.exit_code == 2, args
        assert result.stderr.startswith("Error: catalogue ") and "is corrupt" in result.stderr
        assert "pipeline doctor --out" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    gen = cli("generate", "--model", "tiny", *PROMPT, "--seed", "9", "--out", out)
    assert gen.exit_code == 2 and "is corrupt" in gen.stderr
    assert (out / "catalogue.sqlite").read_bytes() == garbage, "the corrupt catalogue is left as it was"
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".png", ".json", ".webp")} == images_before
    report = run_json(cli, "doctor", "--out", out)
    [finding] = [f for f in report["findings"] if f["problem"] == "corrupt catalogue"]
    aside = finding["action"].split("set aside as ")[1].split(";")[0]
    assert (out / aside).read_bytes() == garbage
    assert sorted(e["seed"] for e in run_json(cli, "list", "--out", out)) == [3, 4, 7]


def test_a_foreign_sqlite_file_counts_as_corrupt(cli, folder):
    out, _, _ = folder
    for name in ("catalogue.sqlite", "catalogue.sqlite-wal", "catalogue.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    db = sqlite3.connect(out / "catalogue.sqlite")
    db.execute("CREATE TABLE something (x)")
    db.commit()
    db.close()
    result = cli("list", "--out", out)
    assert result.exit_code == 2 and "is corrupt (it has tables but no schema version)" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "999"), "no image with id 999 in the catalogue of {out}"),
        (("reproduce", "999"), "no image with id 999 in the catalogue of {out}"),
        (("show", "nothing-here.png"), "nothing-here.png is not in the catalogue of {out}; check the id, the path or --out"),
    ],
)
def test_unknown_ids_and_paths(cli, folder, args, message):
    out, _, _ = folder
    result = cli(*args, "--out", out)
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: " + message.format(out=out)


def test_reproduce_refuses_a_non_image_and_a_foreign_image(cli, folder, tmp_path):
    out, _, _ = folder
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    result = cli("reproduce", text, "--out", out)
    assert result.exit_code == 2 and result.stderr.strip() == f"Error: {text} is not an image"
    foreign = tmp_path / "photo.jpg"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(foreign)
    result = cli("reproduce", foreign, "--out", out)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {foreign} is not an image made by hero-pipeline (it carries no generation record)"
    # An image made here but outside this catalogue is reproduced from the record it carries.
    other = tmp_path / "other"
    generate_json(cli, *PROMPT, "--seed", "1", "--out", other)
    made = next(other.glob("*.png"))
    result = cli("reproduce", made, "--out", out)
    assert result.exit_code == 0 and result.stdout.startswith(f"identical: {made} was reproduced"), result.stderr


def test_commands_on_a_folder_without_catalogue(cli, tmp_path):
    result = cli("list", "--out", tmp_path / "missing")
    assert result.exit_code == 2 and result.stderr.strip() == f"Error: output folder {tmp_path / 'missing'} does not exist; check --out"
    assert run_json(cli, "list", "--out", tmp_path) == []
    result = cli("list", "--out", tmp_path, "--jsonl")
    assert result.exit_code == 0 and result.stdout == ""
    result = cli("list", "--out", tmp_path)
    assert result.exit_code == 0 and result.stdout == "" and "no catalogue in" in result.stderr
    assert not (tmp_path / "catalogue.sqlite").exists()
    result = cli("doctor", "--out", tmp_path / "missing")
    assert result.exit_code == 2 and "is not a folder" in result.stderr
    assert run_json(cli, "doctor", "--out", tmp_path)["consistent"] is True


@pytest.mark.parametrize("command", ["list", "show", "reproduce", "doctor"])
def test_help(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0 and "--out" in result.stdout and "--json" in result.stdout


def test_runs_are_recorded_done_or_failed(cli, tmp_path):
    out = tmp_path / "out"
    generate_json(cli, *PROMPT, "--seed", "1", "--out", out)
    # The second run, a process of its own, fails while storing (an upscaler that is not there).
    failed = run_pipeline("generate", "--model", "tiny", *PROMPT, "--seed", "2", "--out", out, "--renditions", "hero",
                          "--upscaler", "example-owner/no-such-x4-upscaler")
    assert failed.returncode == 2, failed.stderr
    db = sqlite3.connect(out / "catalogue.sqlite")
    runs = db.execute("SELECT id, status, command, finished IS NOT NULL FROM runs ORDER BY id").fetchall()
    db.close()
    assert [(status, command, finished) for _, status, command, finished in runs] == [("done", "generate", 1), ("failed", "generate", 1)]
    assert [e["run"] for e in run_json(cli, "list", "--out", out)] == [runs[0][0]]


def test_checks_and_statuses_added_later_show_up_and_filter(cli, tmp_path):
    from pipeline.output.catalogue import Catalogue

    out = tmp_path / "out"
    entry = generate_json(cli, *PROMPT, "--seed", "1", "--out", out)["images"][0]
    with Catalogue.open(out, create=False) as catalogue:
        catalogue.add_check(entry["id"], "image-safety", "flag", "looks like a weapon")
        catalogue.set_status(entry["id"], "flagged", "image-safety flagged it")
    shown = run_json(cli, "show", str(entry["id"]), "--out", out)
    assert shown["checks"][-1] == {**shown["checks"][-1], "name": "image-safety", "verdict": "flag", "detail": "looks like a weapon"}
    assert [s["status"] for s in shown["statuses"]] == ["ok", "flagged"]
    assert [e["id"] for e in run_json(cli, "list", "--out", out, "--status", "flagged")] == [entry["id"]]


def test_catalogue_commands_do_not_import_torch(cli, tmp_path):
    import subprocess
    import sys

    from conftest import subprocess_env

    out = tmp_path / "out"
    generate_json(cli, *PROMPT, "--seed", "1", "--out", out, "--renditions", "card=32x32")
    runs = [[c, "--help"] for c in ("list", "show", "reproduce", "doctor")]
    runs += [["list", "--out", str(out)], ["show", "1", "--out", str(out)], ["doctor", "--out", str(out)]]
    code = (
        "import sys\n"
        "from pipeline.cli import main\n"
        f"codes = [main(args, prog_name='pipeline', standalone_mode=False) or 0 for args in {runs!r}]\n"
        "print('CODES', codes, 'HEAVY', [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    assert f"CODES {[0] * len(runs)} HEAVY []" in result.stdout


def test_flagged_images_are_catalogued_in_quarantine(cli, tmp_path):
    from test_guidelines_image_checks import tiny_nsfw_checker

    out = tmp_path / "out"
    checker = tiny_nsfw_checker(tmp_path / "nsfw-flags", flag=True)
    entry = generate_json(cli, *PROMPT, "--seed", "1", "--out", out, "--nsfw-check", checker, "--renditions", "card=32x32")["images"][0]
    assert Path(entry["path"]).parent == out / "quarantine"
    [listed] = run_json(cli, "list", "--out", out, "--status", "flagged")
    assert listed["id"] == entry["id"] and listed["path"] == entry["path"]
    assert listed["renditions"] == []  # never published
    assert json.loads(Path(entry["record"]).read_text())["renditions_withheld"] == "flagged by the image checks"
    shown = run_json(cli, "show", entry["path"], "--out", out)
    assert {c["name"]: c["verdict"] for c in shown["checks"]}["image-checks"] == "flag"
    # The catalogue is rebuilt with the quarantined image in place, and doctor finds nothing else.
    for name in ("catalogue.sqlite", "catalogue.sqlite-wal", "catalogue.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    assert run_json(cli, "doctor", "--out", out)["consistent"] is True
    [rebuilt] = run_json(cli, "list", "--out", out)
    assert rebuilt["path"] == entry["path"] and rebuilt["status"] == "flagged" and rebuilt["renditions"] == []


# -- list at scale: filters in SQL, paging, JSON Lines, bad values --------------------------------------------


def synthetic(out: Path, count: int) -> None:
    """`count` catalogue entries made through the library (no files: list reads only the catalogue)."""
    from pipeline.output.catalogue import Catalogue, ImageEntry, RenditionEntry

    with Catalogue.open(out) as catalogue:
        run = catalogue.start_run("test", {})
        for i in range(count):
            record = {
                "prompt": f"A {'Lighthouse' if i % 3 == 0 else 'harbour'} at dawn, 100% calm_{i}",
                "title": f"Storm over the coast {i}" if i % 4 == 0 else None,
                "seed": i,
                "created": f"2026-0{1 + i % 3}-{10 + i % 10}T12:00:00+00:00",
                "options": {"model": ("tiny", "sdxl")[i % 2]},
            }
            catalogue.add_image(run, ImageEntry(
                path=f"img-{i}.png", record_path=f"img-{i}.json", sha256="0" * 64, record_sha256="1" * 64, record=record,
                status=("ok", "flagged", "modified")[i % 3 // 2 if i % 5 else 2],
                renditions=[RenditionEntry(name, "webp", f"img-{i}.{name}.webp", 64, 36, "2" * 64, False, 1.0) for name in ("hero", "thumb")[: i % 3]],
            ))


@pytest.fixture
def many(tmp_path):
    out = tmp_path / "many"
    out.mkdir()
    synthetic(out, 30)
    return out


def ids(cli, out, *args):
    return [e["id"] for e in run_json(cli, "list", "--out", out, *args)]


def test_list_filters_run_in_sql_and_combine(cli, many):
    everything = run_json(cli, "list", "--out", many)
    assert [e["id"] for e in everything] == list(range(1, 31))
    assert [len(e["renditions"]) for e in everything[:4]] == [0, 1, 2, 0]
    assert everything[2]["renditions"][1] == {
        "name": "thumb", "format": "webp", "path": str(many / "img-2.thumb.webp"), "width": 64, "height": 36, "upscaled": False, "scale": 1.0,
    }
    by = {e["id"]: e for e in everything}
    for status in ("ok", "flagged", "modified"):
        assert ids(cli, many, "--status", status) == [i for i, e in by.items() if e["status"] == status] != []
    assert ids(cli, many, "--model", "sdxl") == [i for i, e in by.items() if e["model"] == "sdxl"]
    assert ids(cli, many, "--model", "no-such-model") == []
    assert ids(cli, many, "--since", "2026-03-01") == [i for i, e in by.items() if e["created"] >= "2026-03"]
    assert ids(cli, many, "--since", "2026-02-15", "--until", "2026-03-01") == [i for i, e in by.items() if "2026-02-15" <= e["created"] < "2026-03"]
    # --search: prompt or title, any case, and % and _ are literal characters.
    assert ids(cli, many, "--search", "lighthouse") == [i for i, e in by.items() if "Lighthouse" in e["prompt"]]
    assert ids(cli, many, "--search", "STORM OVER") == [i for i, e in by.items() if e["title"]]
    assert ids(cli, many, "--search", "100% calm_1") == [2] + list(range(11, 21))
    assert ids(cli, many, "--search", "0%% calm") == [] and ids(cli, many, "--search", "calm_") == list(range(1, 31))
    assert ids(cli, many, "--search", "calm__") == []
    combined = ids(cli, many, "--model", "tiny", "--status", "ok", "--search", "harbour", "--since", "2026-02-01")
    assert combined == [i for i, e in by.items() if e["model"] == "tiny" and e["status"] == "ok" and "harbour" in e["prompt"] and e["created"] >= "2026-02"] != []


def test_list_pages_with_limit_and_offset_and_streams_json_lines(cli, many):
    pages = [ids(cli, many, "--limit", "7", "--offset", str(offset)) for offset in range(0, 35, 7)]
    assert [len(p) for p in pages] == [7, 7, 7, 7, 2, ][: len(pages)] and sum(pages, []) == list(range(1, 31))
    assert ids(cli, many, "--status", "ok", "--limit", "2", "--offset", "1") == ids(cli, many, "--status", "ok")[1:3]
    assert ids(cli, many, "--offset", "30") == []
    lines = cli("list", "--out", many, "--jsonl", "--limit", "5")
    assert lines.exit_code == 0
    assert [json.loads(line) for line in lines.stdout.splitlines()] == run_json(cli, "list", "--out", many, "--limit", "5")
    text = cli("list", "--out", many, "--limit", "3", "--offset", "9")
    assert [line.split()[0] for line in text.stdout.splitlines()] == ["ID", "10", "11", "12"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("--since", "last week"), "Error: --since 'last week' is not a date (YYYY-MM-DD) or ISO date-time"),
        (("--until", "2026-13-01"), "Error: --until '2026-13-01' is not a date (YYYY-MM-DD) or ISO date-time"),
        (("--limit", "0"), "Error: the limit has to be at least 1 but is 0"),
        (("--offset", "-1"), "Error: the offset has to be at least 0 but is -1"),
        (("--status", "okk"), "Error: unknown status 'okk' (did you mean 'ok'?); choose from ok, flagged, modified"),
        (("--status", "published"), "Error: unknown status 'published'; choose from ok, flagged, modified"),
        (("--json", "--jsonl"), "Error: give --json or --jsonl, not both"),
    ],
)
def test_list_refuses_bad_values_with_one_error_line(cli, many, tmp_path, args, message):
    for out in (many, tmp_path):  # the same with a catalogue and without one
        result = cli("list", "--out", out, *args)
        assert result.exit_code == 2 and result.stdout == ""
        if args[0] == "--json":
            assert result.stderr.splitlines()[-1] == message
        else:
            assert result.stderr == message + "\n"


def test_list_takes_a_constant_number_of_queries(tmp_path):
    from pipeline.output.catalogue import Catalogue, ImageQuery

    counts = {}
    for size in (10, 40):
        out = tmp_path / str(size)
        out.mkdir()
        synthetic(out, size)
        with Catalogue.open(out, create=False) as catalogue:
            statements = []
            catalogue.db.set_trace_callback(statements.append)
            entries = list(catalogue.entries(ImageQuery()))
            paged = list(catalogue.entries(ImageQuery(status="ok", limit=2)))
            plan = catalogue.db.execute("EXPLAIN QUERY PLAN SELECT * FROM renditions WHERE image_id = 1").fetchall()
        assert len(entries) == size and len(paged) == 2
        counts[size] = len(statements)
        assert "renditions_image" in " ".join(row[3] for row in plan)
    assert counts[10] == counts[40] == 2


def on_a_terminal(*args, **env) -> tuple[int, str]:
    """Run `pipeline ARGS` with stdin, stdout and stderr on a pseudo-terminal; exit code and what it showed."""
    import os
    import pty
    import subprocess
    import sys

    from conftest import subprocess_env

    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *map(str, args)], stdin=child, stdout=child, stderr=child,
                            env=subprocess_env(**env))
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    return proc.wait(timeout=60), output.decode().replace("\r", "")


def test_list_table_fits_and_pages_on_a_terminal(many):
    code, output = on_a_terminal("list", "--out", many, COLUMNS="60", LINES="10", PAGER="cat", TERM="dumb")
    assert code == 0
    lines = [line for line in output.split("\n") if line.strip()]
    assert lines[0].startswith("ID  STATUS") and len(lines) == 31
    assert max(len(line) for line in lines) <= 60 and lines[1].endswith("…")


def test_doctor_shows_progress_on_a_terminal_only(cli, many):
    code, output = on_a_terminal("doctor", "--dry-run", "--out", many, COLUMNS="100")
    assert code == 5 and "checking images" in output and "30/30" in output
    assert output.rstrip().endswith("NOT consistent")
    piped = cli("doctor", "--dry-run", "--out", many)
    assert piped.exit_code == 5 and "checking images" not in piped.stderr + piped.stdout


def test_opening_again_keeps_the_locks_other_connections_of_the_process_hold(tmp_path):
    """A second open (and close) in a process must not drop the first connection's SQLite locks: else another
    process, closing its own connection, takes itself for the last one and removes the WAL from under it."""
    import subprocess
    import sys

    from conftest import subprocess_env
    from pipeline.output.catalogue import Catalogue

    out = tmp_path / "out"
    out.mkdir()
    synthetic(out, 2)
    with Catalogue.open(out) as holder:
        assert holder.count() == 2
        Catalogue.open(out, create=False).close()
        other = "from pathlib import Path; from pipeline.output.catalogue import Catalogue; Catalogue.open(Path(%r), create=False).close()"
        subprocess.run([sys.executable, "-c", other % str(out)], check=True, env=subprocess_env())
        assert (out / "catalogue.sqlite-wal").exists(), "another process removed the WAL of a connection still open"
        holder.set_status(1, "modified", "test")
    db = sqlite3.connect(out / "catalogue.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_the_renditions_json_each_row_keeps_follows_every_change(tmp_path):
    from pipeline.output.catalogue import Catalogue

    out = tmp_path / "out"
    out.mkdir()
    synthetic(out, 6)  # images 3 and 6 have two renditions
    with Catalogue.open(out, create=False) as catalogue:
        [hero, thumb] = catalogue.renditions(3)
        catalogue.update_rendition(hero["id"], "elsewhere/img-2.hero.webp", "3" * 64)
        catalogue.remove_rendition(thumb["id"])
        catalogue.remove_image(6)
        listed = list(catalogue.entries())
        table = {i: [(r["name"], str(out / r["path"])) for r in catalogue.renditions(i)] for i in range(1, 6)}
    assert [e["id"] for e in listed] == [1, 2, 3, 4, 5]
    assert {e["id"]: [(r["name"], r["path"]) for r in e["renditions"]] for e in listed} == table
    assert table[3] == [("hero", str(out / "elsewhere" / "img-2.hero.webp"))]
