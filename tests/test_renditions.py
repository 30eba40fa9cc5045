"""Renditions through `pipeline generate --renditions`: sizes, ratios, formats, enlargement stated, disclosure strip."""

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from conftest import generate_json
from pipeline.publish.renditions import DEFAULT_RENDITIONS, RenditionSpec, content_crop_box, render

TINY = ("--prompt", "A lighthouse on a quiet coast", "--steps", "2")


def test_default_renditions_have_their_sizes_and_the_record_says_they_were_enlarged(cli, tmp_path):
    result = cli("generate", "--model", "tiny", "--json", *TINY, "--seed", "5", "--out", tmp_path, "--renditions", "all", "--formats", "jpeg")
    assert result.exit_code == 0, result.stderr
    assert "rendition hero (1920x1080) enlarges the 64x64 image x30 (Lanczos resampling)" in result.stderr  # said at generation time
    assert " steps" not in result.stderr and "\x1b[" not in result.stderr  # no denoising bar off a terminal
    [entry] = json.loads(result.stdout)["images"]
    made = {r["name"]: r for r in entry["renditions"]}
    assert set(made) == {"hero", "og", "square", "thumb"}
    for name, (width, height) in DEFAULT_RENDITIONS.items():
        with Image.open(made[name]["path"]) as image:
            assert image.size == (width, height)
            assert image.format == "JPEG"
            assert image.mode == "RGB"
            assert image.info.get("icc_profile"), "renditions are tagged sRGB"
            assert image.width / image.height == pytest.approx(width / height)
    record = json.loads(Path(entry["record"]).read_text())
    assert record["width"] == record["height"] == 64  # generated at the model's native size
    for item in record["renditions"]:
        assert item["upscaled"] is True and item["scale"] > 1
        assert item["native_size"] == [64, 64]
        left, top, right, bottom = item["crop"]
        assert abs((right - left) / (bottom - top) - item["width"] / item["height"]) < 0.05
    # The master stays as generated.
    with Image.open(entry["path"]) as master:
        assert master.size == (64, 64)


@pytest.mark.parametrize("fmt, pil_format, suffix", [("png", "PNG", ".png"), ("webp", "WEBP", ".webp"), ("avif", "AVIF", ".avif")])
def test_each_format_is_written(cli, tmp_path, fmt, pil_format, suffix):
    from PIL import features

    if fmt == "avif" and not features.check("avif"):
        pytest.skip("this Pillow build cannot write AVIF")
    data = generate_json(cli, *TINY, "--seed", "1", "--out", tmp_path, "--renditions", "card=96x48", "--formats", fmt, "--quality", "70")
    [rendition] = data["images"][0]["renditions"]
    assert rendition["path"].endswith(f".card{suffix}")
    with Image.open(rendition["path"]) as image:
        assert image.format == pil_format and image.size == (96, 48)


def test_renditions_none_writes_master_and_record_only(cli, tmp_path):
    data = generate_json(cli, *TINY, "--seed", "2", "--out", tmp_path, "--renditions", "none")
    assert data["images"][0]["renditions"] == []
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("catalogue.sqlite"))
    assert [Path(n).suffix for n in names] == [".json", ".png"]


def test_disclosure_strip_is_drawn_along_the_bottom(cli, tmp_path):
    plain = generate_json(cli, *TINY, "--seed", "3", "--out", tmp_path / "a", "--renditions", "wide=320x180", "--formats", "png", "--no-sharpen")
    strip = generate_json(
        cli, *TINY, "--seed", "3", "--out", tmp_path / "b", "--renditions", "wide=320x180", "--formats", "png",
        "--no-sharpen", "--disclosure", "AI-generated illustration",
    )
    with Image.open(plain["images"][0]["renditions"][0]["path"]) as a, Image.open(strip["images"][0]["renditions"][0]["path"]) as b:
        assert a.size == b.size == (320, 180)
        top_a, top_b = a.crop((0, 0, 320, 100)), b.crop((0, 0, 320, 100))
        assert top_a.tobytes() == top_b.tobytes(), "the strip only touches the bottom band"
        band_a, band_b = a.crop((0, 171, 320, 180)).convert("L"), b.crop((0, 171, 320, 180)).convert("L")
        assert band_a.tobytes() != band_b.tobytes()
    record = json.loads(Path(strip["images"][0]["record"]).read_text())
    assert record["publishing"]["disclosure"] == "AI-generated illustration"


def test_crop_follows_the_content_not_the_centre():
    image = Image.new("RGB", (400, 400), (128, 128, 128))
    draw = ImageDraw.Draw(image)
    for x in range(300, 400, 6):  # a busy, saturated subject near the right edge
        draw.line((x, 0, x, 400), fill=(220, 30, 30), width=3)
    left, top, right, bottom = content_crop_box(image, 100, 200)
    assert (right - left, bottom - top) == (200, 400)
    assert left >= 150, f"crop starts at {left}; the centred crop would start at 100"
    out, info = render(image, RenditionSpec("tall", 100, 200))
    assert out.size == (100, 200) and not info.upscaled and info.scale == 0.5


def test_upscaler_hook_is_used_and_recorded():
    calls = []

    def double(image, factor):
        calls.append(factor)
        return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)

    image = Image.new("RGB", (64, 64), (10, 200, 10))
    out, info = render(image, RenditionSpec("big", 256, 128), upscaler=double, upscaler_name="nearest-x")
    assert out.size == (256, 128) and calls == [4]
    assert info.to_dict()["upscaler"] == "nearest-x" and info.upscaled


@pytest.mark.parametrize(
    "value, message",
    [
        ("banner", "unknown rendition 'banner'; choose from hero, og, square, thumb, all, none or give NAME=WIDTHxHEIGHT"),
        ("wide=0x100", "rendition 'wide': width has to be between 16 and 8192 but is 0"),
        ("wide=100000x100", "rendition 'wide': width has to be between 16 and 8192 but is 100000"),
        ("wide=2000x100", "rendition 'wide': 2000x100 is narrower than 1:8"),
        ("wide=12by4", "rendition 'wide=12by4': the size has to be WIDTHxHEIGHT, e.g. wide=1600x900"),
        ("../x=100x100", "rendition name '../x' has to be lower-case letters, digits and dashes"),
    ],
)
def test_bad_renditions_are_refused_before_anything_is_written(cli, tmp_path, value, message):
    result = cli("generate", "--model", "tiny", *TINY, "--out", tmp_path / "out", "--renditions", value)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {message}"
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("--formats", "gif"), "unknown format 'gif'; choose from png, webp, jpeg, avif"),
        (("--quality", "0"), "`quality` has to be between 1 and 100 but is 0"),
        (("--disclosure", "  "), "the disclosure text is empty; give text or leave --disclosure out"),
    ],
)
def test_bad_publishing_options_are_refused(cli, tmp_path, args, message):
    result = cli("generate", "--model", "tiny", *TINY, "--out", tmp_path / "out", "--renditions", "thumb", *args)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {message}"
    assert not (tmp_path / "out").exists()


def test_same_image_encodes_to_the_same_bytes():
    import time

    from pipeline.publish import encodings as publish

    image = Image.new("RGB", (64, 64), (30, 60, 90))
    first = publish.encode(image, "webp", quality=80, parameters="p", xmp=b"<x/>")
    publish.srgb_icc.cache_clear()
    time.sleep(1.1)  # the ICC library stamps profiles with the current second
    assert publish.encode(image, "webp", quality=80, parameters="p", xmp=b"<x/>") == first


def test_generate_publishes_the_default_renditions_unless_told_otherwise(cli, tmp_path):
    # conftest turns renditions off for speed; a user's plain `generate` gets them all.
    result = cli("generate", "--model", "tiny", *TINY, "--seed", "5", "--out", tmp_path, "--json",
                 env={"PIPELINE_RENDITIONS": None})
    assert result.exit_code == 0, result.stderr
    [entry] = json.loads(result.stdout)["images"]
    assert sorted({r["name"] for r in entry["renditions"]}) == sorted(DEFAULT_RENDITIONS)
    assert {Path(r["path"]).suffix for r in entry["renditions"]} == {".webp", ".jpg"}
