"""Names of published files: safe on every platform, bounded, and never colliding."""

import json
import re
from pathlib import Path

import pytest

from conftest import generate_json
from pipeline.output.naming import image_stem, slug

SAFE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


@pytest.mark.parametrize(
    "text",
    [
        "../../etc/passwd",
        "..\\..\\Windows\\System32",
        "CON",
        "aux.txt",
        "a\x00b\x1fc\x7f",
        "   ",
        "🕊️♟️",
        "Ünïcödé — “quotes” and ‘apostrophes’: South Korea’s alarm",
        "x" * 500,
        "name with trailing dots...",
        "/absolute/path/name",
        "COM1",
    ],
)
def test_slug_is_safe_everywhere(text):
    result = slug(text)
    assert SAFE.match(result), result
    assert len(result) <= 60
    stem = image_stem(text, 2**63 - 1, {"a": 1})
    assert SAFE.match(stem) and len(stem) <= 60 + 1 + 19 + 1 + 8
    assert stem.lower() not in WINDOWS_RESERVED  # a seed and hash always follow the slug


def test_names_never_collide_and_stay_in_the_output_folder(cli, tmp_path):
    out = tmp_path / "out"
    args = ("--prompt", "../../escape/../CON", "--steps", "2", "--seed", "1", "--out", out, "--renditions", "card=32x32", "--formats", "png")
    first = generate_json(cli, *args)["images"][0]
    second = generate_json(cli, *args)["images"][0]
    assert first["path"] != second["path"]
    assert Path(second["path"]).name == Path(first["path"]).name.replace(".png", "-2.png")
    for entry in (first, second):
        for path in [entry["path"], entry["record"], *(r["path"] for r in entry["renditions"])]:
            assert Path(path).parent == out
            assert SAFE.match(Path(path).name.split(".")[0])
    # Same prompt and seed, different settings: a different hash, so a different name.
    third = generate_json(cli, *args, "--guidance", "3")["images"][0]
    assert Path(third["path"]).name.split("-")[-1] != Path(first["path"]).name.split("-")[-1]
    listed = json.loads(cli("list", "--out", out, "--json").stdout)
    assert len({e["path"] for e in listed}) == 3


def test_published_files_get_the_usual_mode(cli, tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    os.umask(mask)
    entry = generate_json(cli, "--prompt", "A quiet harbour", "--steps", "2", "--seed", "1", "--out", tmp_path, "--renditions", "card=32x32")["images"][0]
    for path in [entry["path"], entry["record"], *(r["path"] for r in entry["renditions"])]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask
