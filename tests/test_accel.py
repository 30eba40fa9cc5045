"""Speed options: each flag reaches the pipeline and the image's record; impossible choices fail fast."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import generate_json
from pipeline.record import Record
from pipeline.models.accel import AccelOptions, resolve

ARGS = ("--prompt", "a harbour at dawn", "--style", "none", "--seed", "3", "--steps", "2")


def record_of(cli, tmp_path, *extra) -> dict:
    data = generate_json(cli, *ARGS, "--out", tmp_path, *extra)
    return json.loads(Path(data["images"][0]["record"]).read_text())


def test_cpu_defaults_are_recorded(cli, tmp_path):
    record = record_of(cli, tmp_path)
    assert record["accel"] == {
        "attention": "sdpa",
        "attention_processors": ["AttnProcessor2_0"],
        "fuse_qkv": False,
        "compile": False,
        "channels_last": False,
        "vae": "AutoencoderKL",
        "preview_vae": None,
        "vae_slicing": False,
        "vae_tiling": False,
        "offload": "none",
        "tf32": False,
        "quantize": None,
    }
    assert record["options"]["accel"] == AccelOptions().to_dict()
    assert "peak_gpu_memory_mb" not in record["timings"]


def test_fused_qkv_and_vae_options_reach_the_pipeline(cli, tmp_path):
    record = record_of(cli, tmp_path, "--fuse-qkv", "--vae-slicing", "--vae-tiling", "--num-images", "2", "--batch-size", "2")
    accel = record["accel"]
    assert accel["fuse_qkv"] is True
    assert accel["attention_processors"] == ["FusedAttnProcessor2_0"]
    assert accel["vae_slicing"] is True and accel["vae_tiling"] is True
    assert record["options"]["accel"]["fuse_qkv"] is True


def test_attention_slicing_replaces_sdpa(cli, tmp_path):
    accel = record_of(cli, tmp_path, "--attention-slicing")["accel"]
    assert accel["attention"] == "sliced"
    assert accel["attention_processors"] == ["SlicedAttnProcessor"]


def test_compile_captures_unet_and_vae_graphs(cli, tmp_path, monkeypatch):
    import torch._dynamo

    torch._dynamo.reset()
    monkeypatch.setenv("PIPELINE_COMPILE_CACHE", str(tmp_path / "cache"))
    accel = record_of(cli, tmp_path / "out", "--compile", "--compile-backend", "eager")["accel"]
    # The record's cache key names the shape (width x height x batch), dtype and backend, then a hash of all.
    assert accel["compile"]["cache_key"].startswith("64x64x1-float32-eager-")
    # The graph-capture backends make no code to keep: the record says so and nothing is written.
    assert accel["compile"] == {"mode": None, "backend": "eager", "scope": "model", "cache": "none",
                                "cache_key": accel["compile"]["cache_key"]}  # fmt: skip
    assert not (tmp_path / "cache").exists()
    assert accel["channels_last"] is True
    # fullgraph=True: one graph each for the UNet and the VAE decoder, no breaks.
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 2


def test_compile_scope_blocks_compiles_only_the_repeated_blocks(cli, tmp_path, monkeypatch):
    import torch._dynamo

    torch._dynamo.reset()
    monkeypatch.setenv("PIPELINE_COMPILE_CACHE", str(tmp_path / "cache"))
    import numpy as np
    from PIL import Image

    plain = generate_json(cli, *ARGS, "--out", tmp_path / "plain")["images"][0]
    data = generate_json(cli, *ARGS, "--out", tmp_path / "out", "--compile", "--compile-scope", "blocks", "--compile-backend", "eager")
    record = json.loads(Path(data["images"][0]["record"]).read_text())
    compiled = record["accel"]["compile"]
    # Read from the pipeline: the UNet itself is not compiled, each of its transformer blocks is.
    assert compiled["scope"] == "blocks" and compiled["compiled_blocks"] >= 1
    assert compiled["cache_key"].startswith("64x64x1-float32-eager-blocks-")
    assert record["options"]["accel"]["compile_scope"] == "blocks"
    # Graphs were captured (the VAE decoder is left eager: no graph of its own), and the pixels are the eager ones.
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1
    pixels = [np.asarray(Image.open(image["path"])).astype(int) for image in (plain, data["images"][0])]
    assert np.abs(pixels[0] - pixels[1]).max() <= 2  # channels-last convolutions may round differently


def test_preview_vae_from_a_local_folder(cli, tmp_path):
    from diffusers import AutoencoderTiny

    folder = tmp_path / "taesd"
    small = dict(encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8))
    AutoencoderTiny(**small, num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1)).save_pretrained(folder)
    data = generate_json(cli, *ARGS, "--out", tmp_path / "out", "--preview-vae", folder)
    record = json.loads(Path(data["images"][0]["record"]).read_text())
    assert record["accel"]["vae"] == "AutoencoderTiny"
    assert record["accel"]["preview_vae"] == str(folder)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--offload", "model"], "--offload model moves models between CPU and a CUDA GPU; device cpu has none"),
        (["--offload", "sequential"], "--offload sequential moves models between CPU and a CUDA GPU"),
        (["--tf32"], "--tf32 is a CUDA matmul mode; device cpu is not a CUDA GPU"),
        (["--fuse-qkv", "--attention-slicing"], "--fuse-qkv and --attention-slicing exclude each other"),
        (["--compile-mode", "max-autotune"], "--compile-mode, --compile-scope and --compile-backend need --compile"),
        (["--compile-scope", "blocks"], "--compile-mode, --compile-scope and --compile-backend need --compile"),
        (["--preview-vae", "/nonexistent/taesd"], "cannot load the preview VAE /nonexistent/taesd"),
    ],
)
def test_impossible_choices_fail_with_one_line(cli, tmp_path, args, message):
    result = cli("generate", "--model", "tiny", "--device", "cpu", *ARGS, "--out", tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


def test_defaults_per_device():
    cpu, cuda, mps = (resolve(AccelOptions(), device) for device in ("cpu", "cuda", "mps"))
    assert (cpu.fuse_qkv, cpu.tf32, cpu.attention_slicing, cpu.vae_slicing) == (False, False, False, False)
    assert (cuda.fuse_qkv, cuda.tf32, cuda.attention_slicing, cuda.compile) == (True, True, False, None)
    assert (mps.fuse_qkv, mps.attention_slicing) == (False, True)
    offloaded = resolve(AccelOptions(offload="model"), "cuda:0")
    assert offloaded.vae_slicing is True and offloaded.offload == "model"
    assert resolve(AccelOptions(attention_slicing=True), "cuda").fuse_qkv is False


def test_reproduction_keeps_the_speed_options(cli, tmp_path):
    record = record_of(cli, tmp_path, "--vae-slicing", "--no-fuse-qkv")
    request = Record.from_dict(record).request(tmp_path / "again")
    assert request.accel == AccelOptions(vae_slicing=True, fuse_qkv=False)
    assert replace(request, out_dir=tmp_path).accel.to_dict() == record["options"]["accel"]


def test_offloaded_text_encoders_report_where_they_run():
    """Under sequential offload an encoder's weights wait on `meta`; compel moves its embeddings to
    `text_encoder.device`, so while it runs the encoder reports the execution device instead (checked
    end to end on a GPU by scripts/gpu-check.sh)."""
    import torch

    from pipeline.models.loader import _reporting_device, load_model

    encoder = load_model("tiny", device="cpu").pipe.text_encoder
    original = type(encoder)
    encoder.to("meta")
    with _reporting_device([encoder], torch.device("cpu")):
        assert encoder.device == torch.device("cpu")
        assert isinstance(encoder, original)
    assert type(encoder) is original and encoder.device.type == "meta"
