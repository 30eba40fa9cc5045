"""The catalogue: an SQLite index of runs, images, renditions, checks and statuses in the output folder."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.errors import InputError, PipelineError

CATALOGUE_NAME = "catalogue.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
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


def catalogue_path(root: Path) -> Path:
    return root / CATALOGUE_NAME


class CatalogueCorrupt(InputError):
    """The catalogue file exists but is not a usable catalogue."""


class Catalogue:
    """An open catalogue. Every change runs in one transaction, committed after the files it names exist."""

    def __init__(self, root: Path, connection: sqlite3.Connection):
        self.root = root
        self.path = catalogue_path(root)
        self.db = connection

    # -- opening -------------------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path, *, create: bool = True) -> "Catalogue":
        """Open (or create) the catalogue in `root`; InputError when it is missing (create=False) or corrupt."""
        path = catalogue_path(root)
        if not create and not path.exists():
            raise InputError(f"no catalogue in {root} (nothing generated there yet); check --out")
        try:
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(f"cannot open catalogue {path}: {exc}") from None
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.DatabaseError(f"journal mode is {mode}, not wal")
            db.execute("PRAGMA synchronous = FULL")
            version = cls._schema_version(db)
            if version is None:
                with _transaction(db):
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif version > SCHEMA_VERSION:
                raise InputError(f"catalogue {path} has schema {version}, newer than this version understands")
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check}")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise CatalogueCorrupt(
                f"catalogue {path} is corrupt ({exc}); run `pipeline doctor --out {root}` to set it aside and rebuild it"
            ) from None
        except sqlite3.OperationalError as exc:
            db.close()
            raise PipelineError(f"cannot use catalogue {path}: {exc}") from None
        return cls(root, db)

    @staticmethod
    def _schema_version(db: sqlite3.Connection) -> int | None:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            if tables:
                raise sqlite3.DatabaseError("it has tables but no schema version")
            return None
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            raise sqlite3.DatabaseError("it has no schema version")
        return int(row[0])

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
        return [dict(row) for row in self.db.execute("SELECT * FROM runs ORDER BY id")]

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

    def update_rendition(self, rendition_id: int, path: str, sha256: str) -> None:
        with _transaction(self.db):
            self.db.execute("UPDATE renditions SET path = ?, sha256 = ? WHERE id = ?", (path, sha256, rendition_id))

    def remove_rendition(self, rendition_id: int) -> None:
        with _transaction(self.db):
            self.db.execute("DELETE FROM renditions WHERE id = ?", (rendition_id,))

    def images(
        self,
        *,
        run: int | None = None,
        article: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[sqlite3.Row]:
        """Image rows, oldest first, filtered by run id, article (source or title, substring), status and date."""
        sql, args = "SELECT * FROM images WHERE 1=1", []
        if run is not None:
            sql += " AND run_id = ?"
            args.append(run)
        if article is not None:
            sql += " AND (instr(coalesce(article, ''), ?) > 0 OR instr(coalesce(title, ''), ?) > 0)"
            args += [article, article]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        if since is not None:
            sql += " AND created >= ?"
            args.append(since)
        if until is not None:
            sql += " AND created < ?"
            args.append(until)
        return list(self.db.execute(sql + " ORDER BY id", args))

    def image(self, image_id: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()

    def find(self, relative: str) -> sqlite3.Row | None:
        """The image whose master, record or one of whose renditions is at `relative` (to the output folder)."""
        row = self.db.execute(
            "SELECT * FROM images WHERE path = ? OR record_path = ?", (relative, relative)
        ).fetchone()
        if row is None:
            row = self.db.execute(
                "SELECT images.* FROM images JOIN renditions ON renditions.image_id = images.id WHERE renditions.path = ?",
                (relative,),
            ).fetchone()
        return row

    def renditions(self, image_id: int | None = None) -> list[sqlite3.Row]:
        if image_id is None:
            return list(self.db.execute("SELECT * FROM renditions ORDER BY id"))
        return list(self.db.execute("SELECT * FROM renditions WHERE image_id = ? ORDER BY id", (image_id,)))

    def checks(self, image_id: int) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM checks WHERE image_id = ? ORDER BY id", (image_id,)))

    def statuses(self, image_id: int) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM statuses WHERE image_id = ? ORDER BY id", (image_id,)))

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

    def describe(self, row: sqlite3.Row, *, full: bool = False) -> dict:
        """An image as shown by `list` (full=False) and `show` (full=True); paths are under the output folder."""
        entry = {
            "id": row["id"],
            "path": str(self.root / row["path"]),
            "record": str(self.root / row["record_path"]),
            "prompt": row["prompt"],
            "title": row["title"],
            "article": row["article"],
            "seed": row["seed"],
            "model": row["model"],
            "style": row["style"],
            "size": [row["width"], row["height"]],
            "status": row["status"],
            "created": row["created"],
            "run": row["run_id"],
            "sha256": row["sha256"],
        }
        renditions = self.renditions(row["id"])
        entry["renditions"] = [
            {
                "name": r["name"],
                "format": r["format"],
                "path": str(self.root / r["path"]),
                "width": r["width"],
                "height": r["height"],
                "upscaled": bool(r["upscaled"]),
                "scale": r["scale"],
                **({"sha256": r["sha256"]} if full else {}),
            }
            for r in renditions
        ]
        if full:
            entry["checks"] = [
                {"name": c["name"], "verdict": c["verdict"], "detail": c["detail"], "checked": c["checked"]}
                for c in self.checks(row["id"])
            ]
            entry["statuses"] = [
                {"status": s["status"], "reason": s["reason"], "changed": s["changed"]} for s in self.statuses(row["id"])
            ]
            entry["record_data"] = json.loads(row["record"])
            _add_credentials(entry, entry["record_data"])
        return entry

    def indexed_record_paths(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT record_path FROM images")}


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
            raise _catalogue_error(exc) from None

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
            raise _catalogue_error(exc) from None
        return False


def _catalogue_error(exc: sqlite3.Error) -> PipelineError:
    return PipelineError(f"the catalogue could not be updated ({exc}); files already written are complete")
