"""Guidance while denoising: Safe Latent Diffusion from the policy on SD 1.x (tiny), negative prompt on SDXL."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, generate_json
from pipeline.record import Record
from pipeline.guidelines import load_guidelines

POLICY = load_guidelines()


def generate_record(cli, tmp_path, *args):
    data = generate_json(cli, "--prompt", "a chessboard", "--seed", "5", "--steps", "3", "--out", tmp_path, *args)
    entry = data["images"][0]
    record = json.loads(Path(entry["record"]).read_text())
    record["_name"] = Path(entry["path"]).name
    return np.asarray(Image.open(entry["path"])).astype(int), record


def test_safe_latent_diffusion_steers_the_tiny_model(cli, tmp_path):
    off_pixels, off = generate_record(cli, tmp_path / "off", "--safety", "off")
    max_pixels, strong = generate_record(cli, tmp_path / "max", "--safety", "max")
    assert off["safety_guidance"]["method"] == "off"
    assert strong["safety_guidance"] == {
        "method": "safe-latent-diffusion", "strength": "max", "concept": POLICY.safety_concept, "note": "",
    }
    assert np.abs(off_pixels - max_pixels).max() > 0  # the concept changed the denoising
    assert off["_name"] != strong["_name"]  # the name's hash covers the safety guidance
    assert Record.from_dict(strong).request(tmp_path).safety == "max"
    assert Record.from_dict(off).request(tmp_path).safety == "off"


def test_default_strength_comes_from_the_policy(cli, tmp_path):
    _, record = generate_record(cli, tmp_path)
    assert record["safety_guidance"]["strength"] == POLICY.safety_strength == "medium"
    assert record["safety_guidance"]["method"] == "safe-latent-diffusion"
    assert record["options"]["safety"] is None
    assert Record.from_dict(record).request(tmp_path).safety == "medium"  # as recorded, whatever the policy says later


def test_the_concept_comes_from_a_given_policy(cli, tmp_path):
    text = (REPO / "prompts" / "guidelines.toml").read_text()
    start = text.index("safety_concept = ")
    end = text.index("\n", text.index('"""', start + len('safety_concept = """')))
    path = tmp_path / "policy.toml"
    path.write_text(text[:start] + 'safety_concept = "tanks and rifles"\nstrength = "strong"' + text[end:].replace(
        'strength = "medium"', "", 1))
    _, record = generate_record(cli, tmp_path / "out", "--guidelines", path)
    assert record["safety_guidance"]["concept"] == "tanks and rifles"
    assert record["safety_guidance"]["strength"] == "strong"


def test_sdxl_uses_the_negative_prompt_and_says_so(cli, tmp_path):
    _, record = generate_record(cli, tmp_path, "--model", "tiny-sdxl", "--safety", "max")
    guidance = record["safety_guidance"]
    assert guidance["method"] == "negative-prompt" and guidance["concept"] is None
    assert "SD 1.x/2.x only" in guidance["note"]
    assert "weapons" in record["negative_prompt"]


def test_unknown_strength_is_refused(cli, tmp_path):
    result = cli("generate", "--model", "tiny", "--prompt", "a chessboard", "--safety", "extreme", "--out", tmp_path)
    assert result.exit_code == 2 and "'extreme' is not one of 'off', 'medium', 'strong', 'max'" in result.stderr


def test_safe_pipeline_keeps_the_concept_and_shares_components():
    from pipeline.models.loader import load_model

    model = load_model("tiny", device="cpu", dtype="float32")
    safe = model._safe_pipe("flags on fire")
    assert type(safe).__mro__[1].__name__ == "StableDiffusionPipelineSafe"
    assert safe.safety_concept == "flags on fire"
    assert safe.unet is model.pipe.unet and safe.text_encoder is model.pipe.text_encoder
    assert safe.scheduler is not model.pipe.scheduler  # its checks may edit a scheduler config
    assert model._safe_pipe("flags on fire") is safe
    assert model._safe_pipe("another concept").safety_concept == "another concept"


@pytest.mark.parametrize("strength, preset", [("medium", "MEDIUM"), ("strong", "STRONG"), ("max", "MAX")])
def test_strengths_are_diffusers_presets(strength, preset):
    from diffusers.pipelines.deprecated.stable_diffusion_safe import SafetyConfig

    from pipeline.models.safety import sld_parameters

    assert sld_parameters(strength) == getattr(SafetyConfig, preset)
    assert sld_parameters("off") == {"sld_guidance_scale": 0.0}


def test_without_classifier_free_guidance_the_record_says_sld_is_off(cli, tmp_path):
    _, record = generate_record(cli, tmp_path, "--guidance", "1", "--safety", "strong")
    assert record["safety_guidance"]["method"] == "off" and record["safety_guidance"]["strength"] == "strong"
    assert "turns classifier-free guidance off" in record["safety_guidance"]["note"]
