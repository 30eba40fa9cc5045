"""FP8 quantisation's refusals and record, the compile cache's key and folder, `models warm`."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import generate_json
from pipeline.record import Record
from pipeline.models.quantize import fp8_refusal

ARGS = ("--prompt", "a harbour at dawn", "--style", "none", "--seed", "3", "--steps", "2")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--quantize", "fp8"], "--quantize fp8 needs a CUDA GPU with FP8 tensor cores (compute capability 8.9 or newer); device cpu is not one"),
        (["--quantize", "int3"], "Invalid value for '--quantize': 'int3' is not 'fp8'"),
    ],
)
def test_fp8_is_refused_before_loading_where_it_cannot_run(cli, tmp_path, args, message):
    result = cli("generate", "--model", "tiny", "--device", "cpu", *ARGS, "--out", tmp_path / "out", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_fp8_refusals_name_the_gpu_and_the_install():
    assert fp8_refusal("cuda", (9, 0), "NVIDIA H100", have_torchao=True) is None
    assert fp8_refusal("cuda:1", (8, 9), "NVIDIA L4", have_torchao=True) is None
    old = fp8_refusal("cuda", (8, 0), "NVIDIA A100", have_torchao=True)
    assert old == "--quantize fp8 needs FP8 tensor cores (compute capability 8.9 or newer: Ada, Hopper); NVIDIA A100 has 8.0"
    missing = fp8_refusal("cuda", (9, 0), "NVIDIA H100", have_torchao=False)
    assert missing == "--quantize fp8 needs torchao, which is not installed: pip install 'hero-pipeline[fp8]'"


def test_batch_spec_takes_compile_and_quantize(tmp_path):
    from pipeline.batch.spec import load_spec, request_for
    from pipeline.errors import InputError
    from pipeline.options import AccelOptions

    spec = tmp_path / "spec.toml"
    spec.write_text('[defaults]\nmodel = "tiny"\nseeds = [1]\ncompile = "max-autotune"\nquantize = "fp8"\n\n[[jobs]]\nprompt = "a harbour"\n')
    options = load_spec(spec).jobs[0].options
    assert request_for(options, prompt="p").accel == AccelOptions(compile="max-autotune", quantize="fp8")
    spec.write_text('[defaults]\nmodel = "tiny"\nseeds = [1]\ncompile = "fastest"\n\n[[jobs]]\nprompt = "a harbour"\n')
    with pytest.raises(InputError, match="unknown compile mode 'fastest'"):
        load_spec(spec)


def test_compile_key_and_folder(monkeypatch, tmp_path):
    from pipeline.models.compile_cache import CompileKey, cache_folder

    monkeypatch.delenv("PIPELINE_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == tmp_path / "xdg" / "hero-pipeline" / "compile"
    monkeypatch.setenv("PIPELINE_COMPILE_CACHE", str(tmp_path / "mine"))
    assert cache_folder() == tmp_path / "mine"
    key = CompileKey(model="sha256:ab", width=1024, height=1024, batch=1, dtype="bfloat16", mode="default",
                     backend="inductor", quantize=None, torch="2.11.0+cu130", device="NVIDIA H200")  # fmt: skip
    assert key.name().startswith("1024x1024x1-bfloat16-default-")
    others = [replace(key, width=768), replace(key, dtype="float16"), replace(key, torch="2.13.0"),
              replace(key, device="NVIDIA H100 80GB HBM3"), replace(key, model="sha256:cd"), replace(key, quantize="fp8")]  # fmt: skip
    assert len({key.name(), *(other.name() for other in others)}) == 7


def test_models_warm_uses_the_key_generate_records(cli, tmp_path, monkeypatch):
    import torch._dynamo

    torch._dynamo.reset()
    monkeypatch.setenv("PIPELINE_COMPILE_CACHE", str(tmp_path / "cache"))
    result = cli("models", "warm", "tiny", "--size", "64x64", "--device", "cpu", "--compile-backend", "eager", "--json")
    assert result.exit_code == 0, result.stderr
    warmed = json.loads(result.stdout)
    assert (warmed["width"], warmed["height"], warmed["batch_size"], warmed["folder"]) == (64, 64, 1, str(tmp_path / "cache"))
    assert warmed["cache"] == "none"  # graph capture alone: nothing to keep
    data = generate_json(cli, *ARGS, "--width", "64", "--height", "64", "--out", tmp_path / "out", "--compile", "--compile-backend", "eager")
    record = json.loads(Path(data["images"][0]["record"]).read_text())
    assert record["accel"]["compile"]["cache_key"] == warmed["cache_key"]
    # The quantisation asked for is recorded (None here) and kept when an image is reproduced.
    assert record["options"]["accel"]["quantize"] is None and record["accel"]["quantize"] is None
    record["options"]["accel"]["quantize"] = "fp8"  # as a GPU run records it
    request = Record.from_dict(record).request(tmp_path / "again")
    assert request.accel.quantize == "fp8" and request.accel.compile == "default"
    assert request.accel.to_dict() == record["options"]["accel"]
    bad = cli("models", "warm", "tiny", "--size", "64by64", "--device", "cpu")
    assert bad.exit_code == 2 and "'64by64' is not WIDTHxHEIGHT" in bad.stderr


def test_store_behind_keeps_order_and_hands_back_the_first_error():
    import threading

    from pipeline.batch.behind import StoreBehind

    done, threads = [], set()

    def job(n):
        def run():
            threads.add(threading.current_thread().name)
            if n == 3:
                raise OSError("disk full")
            done.append(n)

        return run

    with StoreBehind(depth=1) as behind:
        for n in range(3):
            behind.submit(job(n))
    assert done == [0, 1, 2] and threads == {"store-behind"}
    done.clear()
    with pytest.raises(OSError, match="disk full"):
        with StoreBehind(depth=1) as behind:
            for n in range(2, 8):
                behind.submit(job(n))
    assert done == [2]  # after the error nothing more is stored: those images stay pending for a rerun


def test_fp8_leaves_the_text_token_projections_of_cross_attention_alone(tiny_folder):
    """The layers `--quantize fp8` picks on a UNet: every linear layer but cross-attention's keys and values."""
    from diffusers import UNet2DConditionModel

    from pipeline.models.quantize import fp8_layer

    unet = UNet2DConditionModel.from_pretrained(tiny_folder / "unet")
    names = {name for name, module in unet.named_modules() if isinstance(module, __import__("torch").nn.Linear)}
    picked = {name for name, module in unet.named_modules() if fp8_layer(module, name)}
    left = names - picked
    assert left and all(name.endswith((".attn2.to_k", ".attn2.to_v")) for name in left)
    assert any(".attn1." in name for name in picked) and any(name.endswith(".attn2.to_q") for name in picked)


def test_fp8_gives_torchao_an_activation_floor(tiny_folder, monkeypatch):
    """A row of zero activations (SDXL's zeroed unconditional text embeddings) must quantise to zeros: torchao
    scales a row by max|x| / 448 and, with no floor, 0 / 0 is NaN. The config `--quantize fp8` hands torchao
    carries the floor, and the record says so (torchao itself needs a CUDA GPU: here a stand-in takes the call)."""
    import sys
    import types

    from diffusers import UNet2DConditionModel

    from pipeline.models.quantize import ACTIVATION_AMAX_FLOOR, quantize_unet

    seen = {}
    quantization = types.ModuleType("torchao.quantization")
    quantization.PerRow = lambda: "per-row"
    quantization.Float8DynamicActivationFloat8WeightConfig = lambda **kwargs: kwargs
    quantization.quantize_ = lambda model, config, filter_fn: seen.update(config=config, picked=filter_fn)
    torchao = types.ModuleType("torchao")
    torchao.__version__, torchao.quantization = "stand-in", quantization
    monkeypatch.setitem(sys.modules, "torchao", torchao)
    monkeypatch.setitem(sys.modules, "torchao.quantization", quantization)

    record = quantize_unet(UNet2DConditionModel.from_pretrained(tiny_folder / "unet"), "fp8")
    assert seen["config"] == {"granularity": "per-row", "activation_value_lb": ACTIVATION_AMAX_FLOOR,
                              "set_inductor_config": False}  # torchao's process-wide tuning costs minutes
    assert 0 < ACTIVATION_AMAX_FLOOR <= 1e-6
    assert f"activation amax floor {ACTIVATION_AMAX_FLOOR:g}" in record["scheme"]
