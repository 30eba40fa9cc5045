"""Image checks after generation, proved with tiny random checkers whose verdict is forced by construction:
a flagged image is kept unchanged in quarantine, marked in its record and in --json, never blacked out."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, generate_json
from pipeline.publish.metadata import public_record

VISION = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, image_size=32,
              patch_size=8)


def image_processor():
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})


def tiny_nsfw_checker(folder: Path, flag: bool) -> Path:
    """diffusers' safety checker at toy size; its concept thresholds make it flag every image, or none."""
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig

    torch.manual_seed(0)
    checker = StableDiffusionSafetyChecker(CLIPConfig(text_config={}, vision_config=VISION, projection_dim=16))
    with torch.no_grad():  # a cosine similarity is within [-1, 1]: a threshold of -2 is always passed, 2 never
        checker.concept_embeds_weights.fill_(-2.0 if flag else 2.0)
        checker.special_care_embeds_weights.fill_(2.0)
    checker.save_pretrained(folder)
    image_processor().save_pretrained(folder)
    return folder


def tiny_clip(folder: Path) -> Path:
    """A toy CLIP whose logit scale is ~0, so every label gets the same probability: concepts / all labels."""
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    from pipeline.models.builtin import byte_level_clip_tokenizer

    tokenizer = byte_level_clip_tokenizer()
    text = dict(VISION, vocab_size=len(tokenizer), max_position_embeddings=77, eos_token_id=tokenizer.eos_token_id,
                bos_token_id=tokenizer.bos_token_id, pad_token_id=tokenizer.pad_token_id)
    del text["image_size"], text["patch_size"]
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=VISION, projection_dim=16))
    with torch.no_grad():
        model.logit_scale.fill_(-100.0)
    model.save_pretrained(folder)
    CLIPProcessor(image_processor=image_processor(), tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def checkers(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkers")
    return {
        "nsfw-flags": tiny_nsfw_checker(root / "nsfw-flags", flag=True),
        "nsfw-passes": tiny_nsfw_checker(root / "nsfw-passes", flag=False),
        "clip": tiny_clip(root / "clip"),
    }


def policy_with_threshold(tmp_path, threshold: float) -> Path:
    path = tmp_path / f"policy-{threshold}.toml"
    text = (REPO / "prompts" / "guidelines.toml").read_text()
    path.write_text(text.replace("threshold = 0.5", f"threshold = {threshold}"))
    return path


def run(cli, out, *args):
    data = generate_json(cli, "--prompt", "a chessboard", "--seed", "9", "--steps", "2", "--out", out, *args)
    [entry] = data["images"]
    return entry, json.loads(Path(entry["record"]).read_text())


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(int)


def test_flagged_image_is_quarantined_unchanged(cli, tmp_path, checkers):
    plain, _ = run(cli, tmp_path / "plain")
    out = tmp_path / "out"
    entry, record = run(cli, out, "--nsfw-check", checkers["nsfw-flags"])
    assert entry["flagged"] is True
    assert entry["reasons"] == ["nsfw: diffusers safety checker flagged the image"]
    assert Path(entry["path"]).parent == out / "quarantine"
    assert Path(entry["record"]).parent == out / "quarantine"
    assert [p.name for p in out.iterdir() if not p.name.startswith("catalogue.sqlite")] == ["quarantine"]
    assert record["image_checks"] == {
        "run": ["nsfw"], "flagged": True, "reasons": entry["reasons"], "publishable": False,
    }
    image = pixels(entry["path"])
    assert image.std() > 0 and np.array_equal(image, pixels(plain["path"]))  # never blacked out or changed


def test_unflagged_image_is_stored_as_usual(cli, tmp_path, checkers):
    entry, record = run(cli, tmp_path, "--nsfw-check", checkers["nsfw-passes"])
    assert entry["flagged"] is False and entry["reasons"] == []
    assert Path(entry["path"]).parent == tmp_path
    assert record["image_checks"]["publishable"] is True
    assert not (tmp_path / "quarantine").exists()


def test_clip_check_flags_by_the_policy_threshold(cli, tmp_path, checkers):
    # 7 concepts and 8 neutral labels, all equally likely: the concepts hold 7/15 = 0.47 of the probability.
    flagged, record = run(cli, tmp_path / "a", "--clip-check", checkers["clip"],
                          "--guidelines", policy_with_threshold(tmp_path, 0.4))
    assert flagged["flagged"] is True
    assert flagged["reasons"] == ["clip: looks like militaristic imagery (concepts 0.47 >= 0.4)"]
    assert record["image_checks"]["run"] == ["clip"]
    passed, _ = run(cli, tmp_path / "b", "--clip-check", checkers["clip"])  # shipped threshold 0.5
    assert passed["flagged"] is False


def test_all_checks_give_their_reasons(cli, tmp_path, checkers):
    entry, record = run(cli, tmp_path, "--nsfw-check", checkers["nsfw-flags"], "--clip-check", checkers["clip"],
                        "--guidelines", policy_with_threshold(tmp_path, 0.4))
    assert record["image_checks"]["run"] == ["nsfw", "clip"]
    assert [reason.split(":")[0] for reason in entry["reasons"]] == ["nsfw", "clip"]
    embedded = json.loads(Image.open(entry["path"]).info["hero-pipeline"])
    assert embedded["options"]["nsfw_check"] == "nsfw-flags"  # no local paths in published files
    assert embedded["guidelines"]["source"] == "policy-0.4.toml"


def test_a_checker_that_cannot_load_fails_before_generating(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("generate", "--model", "tiny", "--prompt", "a chessboard", "--steps", "2",
                 "--clip-check", tmp_path / "missing", "--out", out, "--quiet")
    assert result.exit_code == 2
    assert result.stderr == f"Error: the CLIP model folder {tmp_path / 'missing'} does not exist\n"
    assert not any(out.rglob("*.png"))


def test_public_record_drops_local_paths():
    record = {
        "model": {"source": "builtin", "location": "tiny"},
        "options": {"guidelines": "/home/editor/policies/desk.toml", "clip_check": "/models/clip", "nsfw_check": None},
        "guidelines": {"source": "/home/editor/policies/desk.toml"},
        "source": "--prompt",
    }
    public = public_record(record)
    assert public["options"]["guidelines"] == "desk.toml" and public["options"]["clip_check"] == "clip"
    assert public["guidelines"]["source"] == "desk.toml"


def test_a_folder_without_a_checker_is_refused_in_one_line(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("generate", "--model", "tiny", "--prompt", "a chessboard", "--nsfw-check", tmp_path / "empty",
                 "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot load the NSFW safety checker from {tmp_path / 'empty'} (")
    assert len(result.stderr.splitlines()) == 1
