"""Helpers for the batch tests: tiny spec files and reading a batch's output folder."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from conftest import REPO

ARTICLE = REPO / "prompts" / "korea-chessboard.txt"

TINY_DEFAULTS = """
[defaults]
model = "tiny"
steps = 2
width = 64
height = 64
"""


def write_spec(folder: Path, body: str, defaults: str = TINY_DEFAULTS, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(defaults + body, encoding="utf-8")
    return path


def batch_json(cli, spec: Path, out: Path, *args, exit_code: int = 0) -> dict:
    result = cli("batch", spec, "--out", out, "--json", "--quiet", *args)
    assert result.exit_code == exit_code, result.stderr
    return json.loads(result.stdout)


def stored_images(out: Path, settled: bool = True) -> dict[str, Path]:
    """Every stored batch image by its key; fails if a key is stored twice or a pair is not whole.

    `settled=False` is for a folder right after a writer was killed, before any recovery: its temporary files and
    a master linked without its record may be there, and are the next run's to clean up, so only the images whose
    record is in place are counted (and each is still checked whole)."""
    found: dict[str, Path] = {}
    for record_path in sorted(out.glob("*.json")):
        record = json.loads(record_path.read_text())
        if "batch_key" not in record:
            continue
        key = f"{record['batch_key']}-s{record['seed']}"
        assert key not in found, f"{key} stored twice: {found[key].name} and {record_path.name}"
        png = record_path.with_suffix(".png")
        with Image.open(png) as image:
            image.load()  # raises on a truncated file
        found[key] = png
    if settled:
        pngs = {path for path in out.glob("*.png") if path.name != "contact-sheet.png"}
        assert pngs == set(found.values()), f"PNGs without records: {sorted(p.name for p in pngs - set(found.values()))}"
        assert not list(out.glob(".partial-*")), "temporary files left behind"
    return found
