"""Provenance metadata in every published file, read back by independent readers (sd-parsers, exiftool)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest


import sd_parsers  # a test dependency (the `test` extra): an independent reader of A1111 parameters

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool is not installed (Debian: apt-get install libimage-exiftool-perl)"
)
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@pytest.fixture(scope="module")
def published(tmp_path_factory, tiny_folder):
    """One image from an article file, on a model folder, with renditions in every format."""
    from PIL import features
    from click.testing import CliRunner

    from pipeline.cli import main

    work = tmp_path_factory.mktemp("metadata-work")
    article = work / "article.txt"
    article.write_text("A white dove over a chessboard\n$$$\nTalks resume in Seoul\nBody text.\n", encoding="utf-8")
    out = work / "out"
    formats = "png,webp,jpeg" + (",avif" if features.check("avif") else "")
    result = CliRunner().invoke(
        main,
        ["generate", str(article), "--model", str(tiny_folder), "--steps", "2", "--seed", "11",
         "--negative-prompt", "blurry", "--out", str(out), "--renditions", "card=96x48", "--formats", formats,
         "--credit", "Illustration: Example News / AI-generated", "--alt-text", "A dove above a chessboard", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    entry = json.loads(result.stdout)["images"][0]
    files = [Path(entry["path"])] + [Path(r["path"]) for r in entry["renditions"]]
    return {"work": work, "entry": entry, "files": files, "tiny_folder": tiny_folder}


def test_sd_parsers_reads_the_parameters_from_png_jpeg_and_webp(published):
    manager = sd_parsers.ParserManager()
    checked = 0
    for path in published["files"]:
        if path.suffix == ".avif":
            continue  # sd-parsers has no AVIF reader; exiftool checks AVIF below
        info = manager.parse(path)
        assert info is not None, f"sd-parsers found nothing in {path.name}"
        assert info.generator.name == "AUTOMATIC1111"
        assert info.full_prompt.startswith("A white dove over a chessboard")
        assert "blurry" in info.full_negative_prompt
        [sampler] = info.samplers
        assert sampler.parameters["seed"] == "11"
        assert sampler.parameters["steps"] == "2"
        assert sampler.name
        assert info.metadata["Size"] == "64x64"
        checked += 1
    assert checked >= 4  # master png, rendition png, webp, jpeg


def _exiftool(path: Path) -> dict:
    out = subprocess.run([EXIFTOOL, "-json", "-G1", "-struct", str(path)], capture_output=True, check=True, text=True)
    return json.loads(out.stdout)[0]


@needs_exiftool
def test_exiftool_reads_iptc_source_type_alt_text_and_credit_in_every_file(published):
    for path in published["files"]:
        tags = _exiftool(path)
        assert tags.get("XMP-iptcExt:DigitalSourceType") == TRAINED, (path.name, tags)
        assert tags.get("XMP-dc:Description") == "A dove above a chessboard", path.name
        assert tags.get("XMP-photoshop:Credit") == "Illustration: Example News / AI-generated", path.name
        assert tags.get("XMP-dc:Title") == "Talks resume in Seoul", path.name
        if path.suffix in (".jpg", ".webp", ".avif"):
            assert "Seed: 11" in tags.get("ExifIFD:UserComment", ""), path.name
        else:
            assert "Seed: 11" in tags.get("PNG:Parameters", ""), path.name


def test_no_local_paths_inside_published_files(published):
    local = [str(published["work"]), str(published["tiny_folder"]), str(Path.home()), str(Path.cwd())]
    local = [p for p in local if p not in ("/", "")]
    for path in published["files"]:
        data = path.read_bytes()
        for text in local:
            assert text.encode() not in data, f"{path.name} contains the local path {text}"
    # The JSON record beside the master is private and may keep the full source for reproduction.
    record = json.loads(Path(published["entry"]["record"]).read_text())
    assert record["source"].endswith("article.txt")
