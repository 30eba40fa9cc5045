"""The catalogue: an SQLite index of runs, images, renditions, checks and statuses in the output folder."""

from __future__ import annotations

import difflib
import json
import os
import socket
import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from pipeline.errors import InputError, PipelineError
from pipeline.output.files import TEMP_PREFIX, pause_for_tests, writer_tag

CATALOGUE_NAME = "catalogue.sqlite"

IMAGE_STATUSES = ("ok", "flagged", "modified")
"""What an image's status can be: stored and intact, flagged by an image check (quarantined), or changed on disk."""

_SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,
    command TEXT NOT NULL,
    host TEXT,
    pid INTEGER,
    options TEXT
);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id),
    path TEXT NOT NULL UNIQUE,
    record_path TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    record_sha256 TEXT NOT NULL,
    prompt TEXT NOT NULL,
    title TEXT,
    article TEXT,
    seed INTEGER NOT NULL,
    model TEXT,
    style TEXT,
    width INTEGER,
    height INTEGER,
    created TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok',
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS images_created ON images(created);
CREATE TABLE IF NOT EXISTS renditions (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    upscaled INTEGER NOT NULL,
    scale REAL
);
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    verdict TEXT NOT NULL,
    detail TEXT,
    checked TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS statuses (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    reason TEXT,
    changed TEXT NOT NULL
);
"""


def _renditions_json(image_id: str) -> str:
    """SQL for the JSON array of one image's renditions (paths relative to the output folder), in stored order."""
    return (
        "(SELECT coalesce(json_group_array(json_object('name', r.name, 'format', r.format, 'path', r.path,"
        " 'width', r.width, 'height', r.height, 'upscaled', json(CASE WHEN r.upscaled THEN 'true' ELSE 'false' END),"
        f" 'scale', r.scale)), '[]') FROM (SELECT * FROM renditions WHERE image_id = {image_id} ORDER BY id) AS r)"
    )


@dataclass(frozen=True)
class Migration:
    """One step from schema `version - 1` to `version`: statements run in one transaction with the new version."""

    version: int
    purpose: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        2,
        "indexes for every lookup of list, show, doctor and recovery",
        (
            "CREATE INDEX renditions_image ON renditions(image_id, id)",
            "CREATE INDEX checks_image ON checks(image_id, id)",
            "CREATE INDEX statuses_image ON statuses(image_id, id)",
            "CREATE INDEX images_status ON images(status, id)",
            "CREATE INDEX images_model ON images(model, id)",
            "CREATE INDEX images_run ON images(run_id, id)",
        ),
    ),
    Migration(
        3,
        "each image's renditions also as JSON in its row, kept up to date by triggers, so list reads one table",
        (
            "ALTER TABLE images ADD COLUMN renditions_json TEXT NOT NULL DEFAULT '[]'",
            "CREATE TRIGGER renditions_json_insert AFTER INSERT ON renditions BEGIN"
            f" UPDATE images SET renditions_json = {_renditions_json('NEW.image_id')} WHERE id = NEW.image_id; END",
            "CREATE TRIGGER renditions_json_update AFTER UPDATE ON renditions BEGIN"
            f" UPDATE images SET renditions_json = {_renditions_json('OLD.image_id')} WHERE id = OLD.image_id;"
            f" UPDATE images SET renditions_json = {_renditions_json('NEW.image_id')} WHERE id = NEW.image_id; END",
            "CREATE TRIGGER renditions_json_delete AFTER DELETE ON renditions BEGIN"
            f" UPDATE images SET renditions_json = {_renditions_json('OLD.image_id')} WHERE id = OLD.image_id; END",
            f"UPDATE images SET renditions_json = {_renditions_json('images.id')}",
        ),
    ),
)
"""Forward-only, numbered from 2 (schema 1 is `_SCHEMA_1`); never edit one that has shipped, add the next."""

SCHEMA_VERSION = 1 + len(MIGRATIONS)


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class RenditionEntry:
    name: str
    format: str
    path: str
    width: int
    height: int
    sha256: str
    upscaled: bool
    scale: float


@dataclass
class ImageEntry:
    """One stored image as the catalogue holds it; paths are relative to the output folder."""

    path: str
    record_path: str
    sha256: str
    record_sha256: str
    record: dict
    status: str = "ok"
    renditions: list[RenditionEntry] = field(default_factory=list)
    checks: list[tuple[str, str, str]] = field(default_factory=list)


_LIST_COLUMNS = (
    "id, run_id, path, record_path, sha256, prompt, title, article, seed, model, style, width, height, created, status"
)


_ENTRY_JSON = """json_object(
    'id', i.id, 'path', ?1 || i.path, 'record', ?1 || i.record_path, 'prompt', i.prompt, 'title', i.title,
    'article', i.article, 'seed', i.seed, 'model', i.model, 'style', i.style, 'size', json_array(i.width, i.height),
    'status', i.status, 'created', i.created, 'run', i.run_id, 'sha256', i.sha256), i.renditions_json"""
"""One image as `list` gives it, but its renditions: JSON built by SQLite (?1 turns a stored path into one
under the output folder), and the renditions JSON its row keeps (see migration 3), with relative paths."""

_RELATIVE_PATH = '"path":"'
"""How a path value begins in SQLite's JSON (no spaces). Quotes inside JSON strings are escaped, so this
text can only be a "path" key, and the output folder is put after it."""


@dataclass(frozen=True)
class ImageQuery:
    """Which images to list: every field narrows the choice; all run in SQL. Dates are UTC ISO 8601 text."""

    run: int | None = None
    article: str | None = None
    status: str | None = None
    model: str | None = None
    since: str | None = None
    until: str | None = None
    search: str | None = None
    limit: int | None = None
    offset: int = 0

    def __post_init__(self):
        if self.status is not None and self.status not in IMAGE_STATUSES:
            near = difflib.get_close_matches(self.status, IMAGE_STATUSES, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InputError(f"unknown status {self.status!r}{hint}; choose from {', '.join(IMAGE_STATUSES)}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"the limit has to be at least 1 but is {self.limit}")
        if self.offset < 0:
            raise InputError(f"the offset has to be at least 0 but is {self.offset}")

    def where(self) -> tuple[str, list]:
        """The WHERE clause (with a leading space, or empty) and its arguments."""
        clauses, args = [], []
        if self.run is not None:
            clauses.append("run_id = ?")
            args.append(self.run)
        if self.article is not None:
            clauses.append("(instr(coalesce(article, ''), ?) > 0 OR instr(coalesce(title, ''), ?) > 0)")
            args += [self.article, self.article]
        if self.status is not None:
            clauses.append("status = ?")
            args.append(self.status)
        if self.model is not None:
            clauses.append("model = ?")
            args.append(self.model)
        if self.since is not None:
            clauses.append("created >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("created < ?")
            args.append(self.until)
        if self.search is not None:
            pattern = "%" + self.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append("(prompt LIKE ? ESCAPE '\\' OR coalesce(title, '') LIKE ? ESCAPE '\\')")
            args += [pattern, pattern]
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _page(query: ImageQuery | None, args: list) -> str:
    """LIMIT/OFFSET of `query` (its values appended to `args`)."""
    if query is None or (query.limit is None and not query.offset):
        return ""
    args += [query.limit if query.limit is not None else -1, query.offset]
    return " LIMIT ? OFFSET ?"


def checks_from_record(record: dict) -> list[tuple[str, str, str]]:
    """The checks a record states: the guidelines' verdict, and whether renditions were enlarged."""
    checks = []
    guidelines = record.get("guidelines") or {}
    if guidelines:
        rules = ", ".join(rule.get("id", "?") for rule in guidelines.get("rules", []))
        checks.append(("guidelines", guidelines.get("verdict", "?"), rules))
    image_checks = record.get("image_checks") or {}
    if image_checks:
        reasons = image_checks.get("reasons") or []
        checks.append(("image-checks", "flag" if reasons else "pass", "; ".join(reasons)))
    enlarged = sorted({r["name"] for r in record.get("renditions", []) if r.get("upscaled")})
    if record.get("renditions"):
        checks.append(
            ("native-size", "enlarged" if enlarged else "ok", ", ".join(enlarged) if enlarged else "")
        )
    return checks


def catalogue_path(root: Path) -> Path:
    return root / CATALOGUE_NAME


class CatalogueCorrupt(InputError):
    """The catalogue file exists but is not a usable catalogue."""


class CatalogueTooNew(InputError):
    """The catalogue was written by a newer version of hero-pipeline, with a schema this one does not know."""


def _schema_version(db: sqlite3.Connection) -> int | None:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        if tables:
            raise sqlite3.DatabaseError("it has tables but no schema version")
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None or not str(row[0]).isdigit():
        raise sqlite3.DatabaseError("it has no schema version")
    return int(row[0])


def _create(db: sqlite3.Connection) -> None:
    """A new catalogue: schema 1 and every migration, in one transaction (another process may race to create it)."""
    with _transaction(db):
        if _schema_version(db) is not None:
            return
        for statement in _SCHEMA_1.split(";"):
            if statement.strip():
                db.execute(statement)
        for migration in MIGRATIONS:
            for statement in migration.statements:
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))


def backup_path(path: Path, version: int) -> Path:
    """Where the copy of a catalogue of schema `version` is kept before it is upgraded."""
    return path.with_name(f"{path.name}.schema-{version}.backup")


def _backup(db: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the catalogue (a consistent snapshot, WAL included) to `backup_path`, atomically; an existing copy stays."""
    target = backup_path(path, version)
    if target.exists():  # an earlier, interrupted upgrade made it from the same schema: it is the original
        return target
    temp = path.with_name(f"{TEMP_PREFIX}{writer_tag()}-{target.name}")
    try:
        copy = sqlite3.connect(temp)
        try:
            db.backup(copy)
        finally:
            copy.close()
        os.link(temp, target)
    except OSError as exc:
        raise PipelineError(f"cannot back up catalogue {path} before upgrading it: {exc.strerror or exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    return target


def _migrate(db: sqlite3.Connection, path: Path, version: int, log) -> None:
    """Upgrade from `version` to SCHEMA_VERSION, one transaction per migration, after backing the file up.

    A migration killed midway leaves no trace (SQLite rolls its transaction back), so the next open
    runs it again; a process that finds the work done by another (which held the lock) skips it.
    """
    backup = _backup(db, path, version)
    log(f"upgrading catalogue {path} from schema {version} to {SCHEMA_VERSION}; the old one is kept as {backup.name}")
    for migration in MIGRATIONS:
        with _transaction(db):
            if _schema_version(db) >= migration.version:
                continue
            for statement in migration.statements:
                db.execute(statement)
                pause_for_tests(f"migration-{migration.version}")
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(migration.version),))


class Catalogue:
    """An open catalogue. Every change runs in one transaction, committed after the files it names exist."""

    def __init__(self, root: Path, connection: sqlite3.Connection):
        self.root = root
        self.path = catalogue_path(root)
        self.db = connection

    # -- opening -------------------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path, *, create: bool = True, verify: bool = False, log=_note) -> "Catalogue":
        """Open (or create) the catalogue in `root`, upgrading an older schema first (noted through `log`).

        InputError when it is missing (create=False), corrupt, or of a newer schema than this version knows.
        `verify` reads the whole file (SQLite's quick_check, time in proportion to its size: for doctor);
        otherwise SQLite checks what it reads (a file shorter than its header says is refused at once),
        and damage met while reading is reported as corruption then. The file is never opened other
        than through SQLite: closing another descriptor of it would drop this process's SQLite locks.
        """
        path = catalogue_path(root)
        if not create and not path.exists():
            raise InputError(f"no catalogue in {root} (nothing generated there yet); check --out")
        try:
            # A batch stores in one background thread and closes in the main one; never two threads at once.
            db = sqlite3.connect(path, timeout=wait_seconds(), isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise InputError(f"cannot open catalogue {path}: {exc}") from None
        try:
            db.row_factory = sqlite3.Row
            version = _schema_version(db)
            if version is not None and version > SCHEMA_VERSION:  # before anything is written to it
                raise CatalogueTooNew(
                    f"catalogue {path} has schema {version}, newer than the {SCHEMA_VERSION} this version of "
                    "hero-pipeline knows; upgrade hero-pipeline to use it (the catalogue was left as it is)"
                )
            db.execute("PRAGMA foreign_keys = ON")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.DatabaseError(f"journal mode is {mode}, not wal")
            db.execute("PRAGMA synchronous = FULL")
            if verify:
                check = db.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise sqlite3.DatabaseError(f"integrity check: {check}")
            if version is None:
                _create(db)
            elif version < SCHEMA_VERSION:
                _migrate(db, path, version, log)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise catalogue_error(exc, path) from None
        except BaseException:
            db.close()
            raise
        return cls(root, db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Catalogue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- runs ----------------------------------------------------------------------------------------

    def start_run(self, command: str, options: dict) -> int:
        with _transaction(self.db):
            cursor = self.db.execute(
                "INSERT INTO runs (started, status, command, host, pid, options) VALUES (?, 'running', ?, ?, ?, ?)",
                (now(), command, socket.gethostname(), os.getpid(), json.dumps(options, default=str)),
            )
        return cursor.lastrowid

    def finish_run(self, run_id: int, status: str) -> None:
        with _transaction(self.db):
            self.db.execute("UPDATE runs SET status = ?, finished = ? WHERE id = ?", (status, now(), run_id))

    def runs(self) -> list[dict]:
        return [dict(row) for row in self._read("SELECT * FROM runs ORDER BY id")]

    # -- images --------------------------------------------------------------------------------------

    def add_image(self, run_id: int | None, entry: ImageEntry) -> int:
        """Index one image with its renditions and checks in a single transaction; returns its id."""
        record = entry.record
        with _transaction(self.db):
            existing = self.db.execute(
                "SELECT id FROM images WHERE record_path = ?", (entry.record_path,)
            ).fetchone()
            if existing is not None:  # indexed meanwhile by a concurrent recovery: claim it for this run
                self.db.execute("UPDATE images SET run_id = coalesce(run_id, ?) WHERE id = ?", (run_id, existing[0]))
                return existing[0]
            cursor = self.db.execute(
                "INSERT INTO images (run_id, path, record_path, sha256, record_sha256, prompt, title, article, seed,"
                " model, style, width, height, created, status, record) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    entry.path,
                    entry.record_path,
                    entry.sha256,
                    entry.record_sha256,
                    record["prompt"],
                    record.get("title"),
                    record.get("source"),
                    record["seed"],
                    record.get("options", {}).get("model"),
                    record.get("guidelines", {}).get("style"),
                    record.get("width"),
                    record.get("height"),
                    record.get("created") or now(),
                    entry.status,
                    json.dumps(record, ensure_ascii=False),
                ),
            )
            image_id = cursor.lastrowid
            for r in entry.renditions:
                self.db.execute(
                    "INSERT INTO renditions (image_id, name, format, path, width, height, sha256, upscaled, scale)"
                    " VALUES (?,?,?,?,?,?,?,?,?)",
                    (image_id, r.name, r.format, r.path, r.width, r.height, r.sha256, int(r.upscaled), r.scale),
                )
            for name, verdict, detail in entry.checks:
                self._insert_check(image_id, name, verdict, detail)
            self.db.execute(
                "INSERT INTO statuses (image_id, status, reason, changed) VALUES (?,?,?,?)",
                (image_id, entry.status, "stored", now()),
            )
        return image_id

    def add_check(self, image_id: int, name: str, verdict: str, detail: str = "") -> None:
        """Record the outcome of a check on a stored image (e.g. an image safety check)."""
        with _transaction(self.db):
            self._insert_check(image_id, name, verdict, detail)

    def _insert_check(self, image_id: int, name: str, verdict: str, detail: str) -> None:
        self.db.execute(
            "INSERT INTO checks (image_id, name, verdict, detail, checked) VALUES (?,?,?,?,?)",
            (image_id, name, verdict, detail, now()),
        )

    def set_status(self, image_id: int, status: str, reason: str) -> None:
        with _transaction(self.db):
            self.db.execute("UPDATE images SET status = ? WHERE id = ?", (status, image_id))
            self.db.execute(
                "INSERT INTO statuses (image_id, status, reason, changed) VALUES (?,?,?,?)",
                (image_id, status, reason, now()),
            )

    def remove_image(self, image_id: int) -> None:
        with _transaction(self.db):
            self.db.execute("DELETE FROM images WHERE id = ?", (image_id,))

    def replace_record(self, image_id: int, record_json: str) -> None:
        """Put a whole record back into a row whose record was damaged."""
        with _transaction(self.db):
            self.db.execute("UPDATE images SET record = ? WHERE id = ?", (record_json, image_id))

    def update_rendition(self, rendition_id: int, path: str, sha256: str) -> None:
        with _transaction(self.db):
            self.db.execute("UPDATE renditions SET path = ?, sha256 = ? WHERE id = ?", (path, sha256, rendition_id))

    def remove_rendition(self, rendition_id: int) -> None:
        with _transaction(self.db):
            self.db.execute("DELETE FROM renditions WHERE id = ?", (rendition_id,))

    def entries_json(self, query: ImageQuery | None = None) -> Iterator[str]:
        """Images as `list` shows them, each as one line of JSON text, oldest first: one query, constant memory.

        SQLite builds each entry's JSON itself (JSON1), renditions included through a subquery on the
        index `renditions_image`, so rows stream out as fast as they are read.
        """
        where, args = (query or ImageQuery()).where()
        sql = f"SELECT {_ENTRY_JSON} FROM images AS i{where} ORDER BY i.id{_page(query, args)}"
        prefix = self._prefix()
        under = '"path":"' + json.dumps(prefix, ensure_ascii=False)[1:-1]
        try:
            for text, renditions in self.db.execute(sql, [prefix, *args]):
                yield f'{text[:-1]},"renditions":{renditions.replace(_RELATIVE_PATH, under)}}}'
        except sqlite3.DatabaseError as exc:
            raise catalogue_error(exc, self.path) from None

    def entries(self, query: ImageQuery | None = None) -> Iterator[dict]:
        """`entries_json`, parsed."""
        return map(json.loads, self.entries_json(query))

    def walk(self, chunk: int = 2000) -> Iterator[tuple[sqlite3.Row, list[sqlite3.Row]]]:
        """Every image row (without the record, but whether it is valid JSON: `record_ok`) with its renditions, in id order: one pass, `chunk` images a query.

        Each chunk is read whole before it is yielded, so the caller may change the catalogue meanwhile.
        """
        last = 0
        while True:
            rows = self._read(
                f"SELECT {_LIST_COLUMNS}, record_sha256, json_valid(record) AS record_ok FROM images WHERE id > ? ORDER BY id LIMIT ?", (last, chunk)
            )
            if not rows:
                return
            renditions: dict[int, list[sqlite3.Row]] = {}
            for rendition in self._read(
                "SELECT * FROM renditions WHERE image_id > ? AND image_id <= ? ORDER BY image_id, id",
                (last, rows[-1]["id"]),
            ):
                renditions.setdefault(rendition["image_id"], []).append(rendition)
            for row in rows:
                yield row, renditions.get(row["id"], [])
            last = rows[-1]["id"]

    def count(self) -> int:
        return self._read("SELECT count(*) FROM images")[0][0]

    def max_id(self) -> int:
        return self._read("SELECT coalesce(max(id), 0) FROM images")[0][0]

    def image(self, image_id: int) -> sqlite3.Row | None:
        return next(iter(self._read("SELECT * FROM images WHERE id = ?", (image_id,))), None)

    def find(self, relative: str) -> sqlite3.Row | None:
        """The image whose master, record or one of whose renditions is at `relative` (to the output folder)."""
        rows = self._read("SELECT * FROM images WHERE path = ? OR record_path = ?", (relative, relative))
        if not rows:
            rows = self._read(
                "SELECT images.* FROM images JOIN renditions ON renditions.image_id = images.id WHERE renditions.path = ?",
                (relative,),
            )
        row = rows[0] if rows else None
        return row

    def renditions(self, image_id: int | None = None) -> list[sqlite3.Row]:
        if image_id is None:
            return self._read("SELECT * FROM renditions ORDER BY id")
        return self._read("SELECT * FROM renditions WHERE image_id = ? ORDER BY id", (image_id,))

    def checks(self, image_id: int) -> list[sqlite3.Row]:
        return self._read("SELECT * FROM checks WHERE image_id = ? ORDER BY id", (image_id,))

    def statuses(self, image_id: int) -> list[sqlite3.Row]:
        return self._read("SELECT * FROM statuses WHERE image_id = ? ORDER BY id", (image_id,))

    def resolve(self, id_or_path: str) -> sqlite3.Row:
        """The image named by a catalogue id, or by the path of its master, record or a rendition."""
        text = str(id_or_path).strip()
        if text.isdigit():
            row = self.image(int(text))
            if row is None:
                raise InputError(f"no image with id {text} in the catalogue of {self.root}")
            return row
        row = self.find(self.relative(Path(text)))
        if row is None:
            raise InputError(f"{text} is not in the catalogue of {self.root}; check the id, the path or --out")
        return row

    def relative(self, path: Path) -> str:
        """`path` as the catalogue stores it: relative to the output folder (a bare name is taken as in it)."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            return path.as_posix() if not path.is_absolute() and not path.exists() else str(path)

    def _read(self, sql: str, args=()) -> list[sqlite3.Row]:
        """The rows of one query, read whole; damage met while reading is reported as `catalogue_error` says."""
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise catalogue_error(exc, self.path) from None

    def _prefix(self) -> str:
        """What turns a stored relative path into one under the output folder (as `root / path` would)."""
        return str(self.root / "x")[:-1]

    def describe(self, row: sqlite3.Row) -> dict:
        """An image as `show` gives it: the `list` entry, rendition hashes, checks, statuses and the whole record."""
        [(text, _)] = self._read(f"SELECT {_ENTRY_JSON} FROM images AS i WHERE i.id = ?", (self._prefix(), row["id"]))
        entry = json.loads(text)
        entry["renditions"] = [
            {
                "name": r["name"],
                "format": r["format"],
                "path": str(self.root / r["path"]),
                "width": r["width"],
                "height": r["height"],
                "upscaled": bool(r["upscaled"]),
                "scale": r["scale"],
                "sha256": r["sha256"],
            }
            for r in self.renditions(row["id"])
        ]
        entry["checks"] = [
            {"name": c["name"], "verdict": c["verdict"], "detail": c["detail"], "checked": c["checked"]}
            for c in self.checks(row["id"])
        ]
        entry["statuses"] = [
            {"status": s["status"], "reason": s["reason"], "changed": s["changed"]} for s in self.statuses(row["id"])
        ]
        try:
            entry["record_data"] = json.loads(row["record"])
        except ValueError:
            raise PipelineError(f"the catalogued record of image {row['id']} is damaged (not JSON); run "
                                f"`pipeline doctor --out {self.root}` to restore it from its record file") from None
        _add_credentials(entry, entry["record_data"])
        return entry

    def batch_images(self) -> dict[tuple[str, int], dict]:
        """Images a batch made whose master is on disk, by (batch key, seed): {"png", "json"}, paths relative to the
        folder (a lost record file is the doctor's to restore from the catalogue). The first catalogued copy wins."""
        found: dict[tuple[str, int], dict] = {}
        rows = self._read(
            "SELECT path, record_path, seed, json_extract(record, '$.batch_key') FROM images "
            "WHERE json_valid(record) AND json_extract(record, '$.batch_key') IS NOT NULL ORDER BY id"
        )
        for path, record_path, seed, batch_key in rows:
            key = (batch_key, seed)
            if key not in found and (self.root / path).is_file():
                found[key] = {"png": path, "json": record_path}
        return found

    def salvage(self, old: Path) -> dict[str, int]:
        """Copy what can still be read from a set-aside catalogue file `old` into this one: each image's status
        history and check results (matched by the master's path, for images catalogued here) and the runs.
        Every table is read on its own, and a table SQLite cannot read is skipped; returns the rows copied."""
        copied = {"runs": 0, "statuses": 0, "checks": 0}
        try:
            source = sqlite3.connect(f"file:{old}?mode=ro", uri=True)
        except sqlite3.Error:
            return copied
        try:
            ids = {row[1]: row[0] for row in self._read("SELECT id, path FROM images")}
            old_paths = dict(_readable(source, "SELECT id, path FROM images"))
            with _transaction(self.db):
                for started, finished, status, command, host, pid, options in _readable(
                    source, "SELECT started, finished, status, command, host, pid, options FROM runs"
                ):
                    self.db.execute("INSERT INTO runs (started, finished, status, command, host, pid, options) "
                                    "VALUES (?,?,?,?,?,?,?)", (started, finished, status, command, host, pid, options))
                    copied["runs"] += 1
                for image_id, status, reason, changed in _readable(
                    source, "SELECT image_id, status, reason, changed FROM statuses ORDER BY id"
                ):
                    if old_paths.get(image_id) in ids:
                        self.db.execute("INSERT INTO statuses (image_id, status, reason, changed) VALUES (?,?,?,?)",
                                        (ids[old_paths[image_id]], status, reason, changed))
                        copied["statuses"] += 1
                known = {(r[0], r[1], r[2]) for r in self._read("SELECT image_id, name, verdict FROM checks")}
                for image_id, name, verdict, detail, checked in _readable(
                    source, "SELECT image_id, name, verdict, detail, checked FROM checks ORDER BY id"
                ):
                    new_id = ids.get(old_paths.get(image_id))
                    if new_id is not None and (new_id, name, verdict) not in known:
                        self.db.execute("INSERT INTO checks (image_id, name, verdict, detail, checked) VALUES (?,?,?,?,?)",
                                        (new_id, name, verdict, detail, checked))
                        copied["checks"] += 1
        finally:
            source.close()
        return copied

    def indexed_record_paths(self) -> set[str]:
        return {row[0] for row in self._read("SELECT record_path FROM images")}


def _add_credentials(entry: dict, record: dict) -> None:
    """Whether the image and each rendition carry signed Content Credentials, with each file's manifest label."""
    credentials = record.get("content_credentials") or {"signed": False, "reason": "no Content Credentials in the record"}
    manifests = credentials.get("manifests") or {}
    entry["content_credentials"] = {key: value for key, value in credentials.items() if key != "manifests"}
    entry["content_credentials"]["manifest"] = manifests.get(".png")
    for rendition in entry["renditions"]:
        name = Path(rendition["path"]).name
        suffixes = [suffix for suffix in manifests if suffix != ".png" and name.endswith(suffix)]
        rendition["c2pa_manifest"] = manifests[max(suffixes, key=len)] if suffixes else None


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (the connection runs in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise catalogue_error(exc, None) from None

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
                return False
            except sqlite3.Error as error:
                exc = error
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise catalogue_error(exc, None) from None
        return False


def _readable(db: sqlite3.Connection, sql: str) -> list[tuple]:
    """The rows of a query on a damaged catalogue that SQLite can still read (none when it cannot)."""
    try:
        return list(db.execute(sql))
    except sqlite3.Error:
        return []


WAIT_ENV = "PIPELINE_CATALOGUE_WAIT"
"""Seconds to wait for a catalogue another process holds locked before saying so (default 30)."""


def wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(WAIT_ENV, "30")))
    except ValueError:
        return 30.0


def catalogue_error(exc: sqlite3.Error, path: Path | None) -> PipelineError:
    """What went wrong with a catalogue, as one line: locked by another process, no space left, corrupt (only
    when SQLite finds the file damaged), or the error SQLite gave."""
    name = f"catalogue {path}" if path is not None else "the catalogue"
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) or not isinstance(exc, sqlite3.DatabaseError):
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered:
            return PipelineError(f"{name} is locked by another process (waited {wait_seconds():g} s); try again when it is "
                                 f"done, or set {WAIT_ENV} to wait longer")
        if "full" in lowered:
            return PipelineError(f"no space left on the device for {name}; files already written are complete")
        if "disk i/o error" in lowered:
            return PipelineError(f"cannot use {name}: disk I/O error (a full disk, or a failing device); files "
                                 "already written are complete")
        return PipelineError(f"cannot use {name}: {text}; files already written are complete")
    if path is None:
        return CatalogueCorrupt(f"the catalogue is corrupt ({text}); run `pipeline doctor` on the output folder")
    return CatalogueCorrupt(
        f"{name} is corrupt ({text}); run `pipeline doctor --out {path.parent}` to set it aside and rebuild it"
    )
