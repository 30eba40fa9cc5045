"""The upscaler hook on the CLI: diffusers' x4 upscale pipeline (tiny random weights here) enlarges renditions."""

import json
from pathlib import Path

import pytest
from PIL import Image

from conftest import generate_json


@pytest.fixture(scope="module")
def tiny_x4(tmp_path_factory) -> Path:
    """A StableDiffusionUpscalePipeline with tiny seeded random weights, saved as a diffusers folder."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, StableDiffusionUpscalePipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from pipeline.models.builtin import byte_level_clip_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32), layers_per_block=1, sample_size=16, in_channels=7, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8, num_class_embeds=351,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16), in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=4,
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3, scaling_factor=0.08333,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, vocab_size=514,
        max_position_embeddings=77, bos_token_id=512, eos_token_id=513, pad_token_id=513,
    ))
    pipe = StableDiffusionUpscalePipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=byte_level_clip_tokenizer(), unet=unet,
        low_res_scheduler=DDPMScheduler(), scheduler=DDIMScheduler(prediction_type="v_prediction"), max_noise_level=350,
    )
    folder = tmp_path_factory.mktemp("upscalers") / "tiny-x4"
    pipe.save_pretrained(folder)
    return folder


def test_renditions_enlarged_by_the_upscaler_say_so(cli, tmp_path, tiny_x4):
    data = generate_json(
        cli, "--prompt", "A lighthouse", "--steps", "2", "--seed", "1", "--out", tmp_path,
        "--renditions", "card=160x90,small=32x18", "--formats", "png", "--upscaler", tiny_x4,
    )
    renditions = {r["name"]: r for r in data["images"][0]["renditions"]}
    with Image.open(renditions["card"]["path"]) as card:
        assert card.size == (160, 90)
    record = json.loads(Path(data["images"][0]["record"]).read_text())
    made = {r["name"]: r for r in record["renditions"]}
    assert made["card"]["upscaled"] is True and made["card"]["upscaler"] == "tiny-x4"
    assert made["small"]["upscaled"] is False and made["small"]["upscaler"] is None
    assert record["publishing"]["upscaler"] == "tiny-x4"
    # The hook really ran: the same rendition without it has other pixels.
    plain = generate_json(
        cli, "--prompt", "A lighthouse", "--steps", "2", "--seed", "1", "--out", tmp_path / "plain",
        "--renditions", "card=160x90", "--formats", "png",
    )
    with Image.open(plain["images"][0]["renditions"][0]["path"]) as a, Image.open(renditions["card"]["path"]) as b:
        assert a.tobytes() != b.tobytes()
    assert json.loads(Path(plain["images"][0]["record"]).read_text())["renditions"][0]["upscaler"] == "lanczos"


@pytest.mark.parametrize(
    "value, message",
    [
        ("not a model", "upscaler 'not a model' is neither a diffusers folder nor a hub id such as stabilityai/stable-diffusion-x4-upscaler"),
        ("/no/such/folder", "upscaler '/no/such/folder' is neither a diffusers folder nor a hub id such as stabilityai/stable-diffusion-x4-upscaler"),
    ],
)
def test_bad_upscaler_is_refused_before_anything_is_written(cli, tmp_path, value, message):
    result = cli("generate", "--model", "tiny", "--prompt", "x", "--out", tmp_path / "out", "--renditions", "hero", "--upscaler", value)
    assert result.exit_code == 2 and result.stderr.strip() == f"Error: {message}"
    assert not (tmp_path / "out").exists()


def test_upscaler_without_weights_fails_with_one_line_and_writes_nothing_under_final_names(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("generate", "--model", "tiny", "--prompt", "x", "--steps", "2", "--out", out, "--renditions", "hero",
                 "--upscaler", "example-owner/no-such-x4-upscaler", env={"HF_HUB_OFFLINE": "1"})
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("Error: upscaler example-owner/no-such-x4-upscaler is not available (")
    assert [p.name for p in out.iterdir() if not p.name.startswith("catalogue.sqlite")] == []
