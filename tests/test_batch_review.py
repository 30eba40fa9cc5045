"""The review pages of a batch: a static index.html showing every image (parsed, and rendered in Chromium), and a contact sheet."""

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from PIL import Image

from batch_helpers import batch_json, write_spec

SPEC = """
[[jobs]]
prompt = "a lighthouse on a cliff <at> \\"night\\" & fog"
seeds = [1, 2]
styles = ["none", "editorial-illustration"]
[[jobs]]
prompt = "a massacre on a chessboard"
seeds = [3]
style = "none"
"""


class Figures(HTMLParser):
    """Collects each figure's class, image source and text."""

    def __init__(self):
        super().__init__()
        self.figures: list[dict] = []
        self.scripts_or_links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure":
            self.figures.append({"class": attrs["class"], "key": attrs["data-key"], "src": None, "text": ""})
        elif tag == "img" and self.figures:
            self.figures[-1]["src"] = attrs["src"]
        elif tag in ("script", "link") and (attrs.get("src") or attrs.get("href")):
            self.scripts_or_links.append(attrs.get("src") or attrs.get("href"))

    def handle_data(self, data):
        if self.figures:
            self.figures[-1]["text"] += data


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    """A batch with one job blocked by the guidelines, run once for the tests in this module."""
    from click.testing import CliRunner

    from pipeline.cli import main

    folder = tmp_path_factory.mktemp("gallery")
    invoke = lambda *args: CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)  # noqa: E731
    data = batch_json(invoke, write_spec(folder, SPEC), folder / "out", exit_code=3)
    return folder / "out", data


def test_gallery_lists_every_image_with_its_details(gallery):
    out, data = gallery
    assert data["summary"]["gallery"] == str(out / "index.html")
    parser = Figures()
    parser.feed((out / "index.html").read_text())
    assert parser.scripts_or_links == []  # nothing to fetch: usable offline
    by_key = {figure["key"]: figure for figure in parser.figures}
    assert set(by_key) == {image["key"] for image in data["images"]}
    for image in data["images"]:
        figure = by_key[image["key"]]
        assert image["prompt"] in figure["text"]  # escaped in the page, whole once parsed
        assert f"seed{image['seed']}" in figure["text"].replace(" ", "")
        assert (image["style"] or "default") in figure["text"]
        if image["status"] == "done":
            assert figure["src"] == os.path.basename(image["path"])
            assert (out / figure["src"]).is_file()
            assert "guidelines" in figure["text"] and "flags" in figure["text"]
        else:
            assert figure["class"] == "blocked" and figure["src"] is None
            assert "atrocity" in figure["text"]


def test_contact_sheet_holds_every_finished_image(gallery):
    out, data = gallery
    done = [image for image in data["images"] if image["status"] == "done"]
    assert len(done) == 4
    with Image.open(data["summary"]["contact_sheet"]) as sheet:
        assert sheet.size == (2 * 192, 2 * (192 + 28))  # a 2x2 grid with captions
        # Each cell shows its image: the cell's centre has the image's centre colour.
        for index, image in enumerate(done):
            with Image.open(image["path"]) as original:
                expected = original.convert("RGB").getpixel((32, 32))
            x, y = (index % 2) * 192 + 96, (index // 2) * 220 + 96
            assert sheet.convert("RGB").getpixel((x, y)) == expected


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_gallery_shows_every_image_in_headless_chromium(gallery, tmp_path):
    out, data = gallery
    done = [image for image in data["images"] if image["status"] == "done"]
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000", "--dump-dom", (out / "index.html").as_uri(),
    ]  # fmt: skip
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    assert 'data-images-checked="yes"' in dom, dom[:500]
    loaded = re.findall(r'<img src="([^"]+)"[^>]*data-loaded="yes"', dom)
    assert sorted(loaded) == sorted(os.path.basename(image["path"]) for image in done)
    assert 'data-loaded="no"' not in dom

    # With one image gone, the page says so instead of showing a broken gallery silently.
    moved = tmp_path / "moved.png"
    shutil.move(done[0]["path"], moved)
    try:
        dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    finally:
        shutil.move(moved, done[0]["path"])
    assert dom.count('data-loaded="no"') == 1
    assert "1 image(s) could not be loaded" in dom
