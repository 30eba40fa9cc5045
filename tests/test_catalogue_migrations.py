"""Catalogue schema upgrades: every earlier schema (kept as SQL fixtures) upgraded with nothing lost."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import subprocess_env
from pipeline.output.catalogue import MIGRATIONS, SCHEMA_VERSION, backup_path

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMAS = sorted(int(p.stem.rsplit("-", 1)[1]) for p in FIXTURES.glob("catalogue-schema-*.sql"))
TABLES = ("meta", "runs", "images", "renditions", "checks", "statuses")


def test_a_fixture_is_kept_for_every_schema():
    # Whoever adds a migration first runs tests/fixtures/make_catalogue_fixture.py with the code before it.
    assert SCHEMAS == list(range(1, SCHEMA_VERSION + 1))
    assert [m.version for m in MIGRATIONS] == list(range(2, SCHEMA_VERSION + 1))


def load(version: int, out: Path) -> Path:
    out.mkdir(parents=True)
    db = sqlite3.connect(out / "catalogue.sqlite")
    db.executescript((FIXTURES / f"catalogue-schema-{version}.sql").read_text(encoding="utf-8"))
    db.close()
    return out / "catalogue.sqlite"


def rows(path: Path) -> dict:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    data = {table: [dict(r) for r in db.execute(f"SELECT * FROM {table} ORDER BY rowid")] for table in TABLES}
    db.close()
    return data


def schema_of(path: Path) -> int:
    db = sqlite3.connect(path)
    version = int(db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0])
    db.close()
    return version


def indexes(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    db.close()
    return names


def run_json(cli, *args):
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def assert_intact(cli, out: Path, before: dict) -> None:
    """Every row of every table is still there with every value; list and show give them back."""
    after = rows(out / "catalogue.sqlite")
    for table in TABLES[1:]:
        assert [{k: r[k] for k in old} for r, old in zip(after[table], before[table])] == before[table], table
        assert len(after[table]) == len(before[table]), table
    listed, _ = run_json(cli, "list", "--out", out)
    assert [(e["id"], e["status"], e["seed"], e["prompt"]) for e in listed] == [
        (r["id"], r["status"], r["seed"], r["prompt"]) for r in before["images"]
    ]
    for entry in listed:
        shown, _ = run_json(cli, "show", str(entry["id"]), "--out", out)
        mine = [r for r in before["renditions"] if r["image_id"] == entry["id"]]
        assert [(r["name"], r["path"], r["sha256"]) for r in shown["renditions"]] == [
            (r["name"], str(out / r["path"]), r["sha256"]) for r in mine
        ]
        assert [(r["name"], str(out / r["path"])) for r in entry["renditions"]] == [(r["name"], str(out / r["path"])) for r in mine]
        assert shown["checks"] == [
            {k: c[k] for k in ("name", "verdict", "detail", "checked")} for c in before["checks"] if c["image_id"] == entry["id"]
        ]
        assert shown["statuses"] == [
            {k: s[k] for k in ("status", "reason", "changed")} for s in before["statuses"] if s["image_id"] == entry["id"]
        ]
        [record] = [r["record"] for r in before["images"] if r["id"] == entry["id"]]
        assert shown["record_data"] == json.loads(record)


@pytest.mark.parametrize("version", SCHEMAS)
def test_every_earlier_schema_upgrades_with_every_row_rendition_check_and_status(cli, tmp_path, version):
    out = tmp_path / "out"
    path = load(version, out)
    before = rows(path)
    assert before["images"] and before["renditions"] and before["checks"] and len(before["statuses"]) > len(before["images"])
    listed, note = run_json(cli, "list", "--out", out)
    assert len(listed) == len(before["images"])
    if version < SCHEMA_VERSION:
        backup = backup_path(path, version)
        assert note.strip() == (
            f"upgrading catalogue {path} from schema {version} to {SCHEMA_VERSION}; the old one is kept as {backup.name}"
        )
        assert rows(backup) == before and schema_of(backup) == version
    else:
        assert note == "" and not list(out.glob("*.backup"))
    assert schema_of(path) == SCHEMA_VERSION
    assert {s.split()[2] for m in MIGRATIONS for s in m.statements if s.startswith("CREATE INDEX")} <= indexes(path)
    assert_intact(cli, out, before)
    again = cli("list", "--out", out, "--json")
    assert again.exit_code == 0 and again.stderr == "", "upgraded once"


def test_a_catalogue_newer_than_the_tool_is_refused_and_left_alone(cli, tmp_path):
    out = tmp_path / "out"
    path = load(SCHEMA_VERSION, out)
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    before = path.read_bytes()
    message = (
        f"Error: catalogue {path} has schema {SCHEMA_VERSION + 1}, newer than the {SCHEMA_VERSION} this version of "
        "hero-pipeline knows; upgrade hero-pipeline to use it (the catalogue was left as it is)"
    )
    for args in (("list", "--json"), ("show", "1"), ("doctor",), ("generate", "--model", "tiny", "--prompt", "a dove", "--steps", "1")):
        result = cli(*args, "--out", out)
        assert result.exit_code == 2, args
        assert result.stderr.strip() == message, args
    assert path.read_bytes() == before
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("catalogue.sqlite-")) == ["catalogue.sqlite"]


def test_a_killed_migration_is_rolled_back_then_finished_by_the_next_open(cli, tmp_path):
    out = tmp_path / "out"
    path = load(1, out)
    before = rows(path)
    mark = tmp_path / "paused"
    env = subprocess_env(PIPELINE_TEST_PAUSE_AT="migration-2", PIPELINE_TEST_PAUSE_MARK=str(mark))
    child = subprocess.Popen([sys.executable, "-m", "pipeline", "list", "--json", "--out", str(out)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not mark.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the upgrade never reached the migration"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    # Killed inside migration 2, with its first index made but not committed: nothing of it is left.
    assert backup_path(path, 1).exists()
    assert schema_of(path) == 1 and "renditions_image" not in indexes(path)
    assert rows(path) == before
    listed, note = run_json(cli, "list", "--out", out)
    assert "from schema 1 to" in note and len(listed) == len(before["images"])
    assert schema_of(path) == SCHEMA_VERSION and "renditions_image" in indexes(path)
    assert rows(backup_path(path, 1)) == before
    assert_intact(cli, out, before)
    assert not [p for p in out.iterdir() if p.name.startswith(".partial-")]
