"""The spine: an article in, a stored image and record out, on the built-in tiny model."""

import json
from pathlib import Path

from PIL import Image

from conftest import REPO, generate_json


def test_article_to_stored_image(cli, tmp_path):
    data = generate_json(cli, REPO / "prompts" / "korea-chessboard.txt", "--seed", "7", "--out", tmp_path)
    [entry] = data["images"]
    image = Image.open(entry["path"])
    assert image.size == (64, 64)
    record = json.loads(Path(entry["record"]).read_text())
    assert record["seed"] == entry["seed"] == 7
    assert record["title"] == "Escalating Tensions: South Korea’s Alarm Over North Korea and Russia"
    assert Path(entry["path"]).name.startswith("escalating-tensions-south-koreas-alarm-over-north-korea-and-7-")
