"""`pipeline generate` end to end on the built-in models: articles, options, records, determinism."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, generate_json, run_pipeline

ARTICLE = REPO / "prompts" / "korea-chessboard.txt"


def pixels(path) -> bytes:
    return np.asarray(Image.open(path).convert("RGB")).tobytes()


def pixel_hash(path) -> str:
    return hashlib.sha256(pixels(path)).hexdigest()


def only_image(data: dict) -> tuple[Path, dict]:
    [entry] = data["images"]
    return Path(entry["path"]), json.loads(Path(entry["record"]).read_text())


# Articles -----------------------------------------------------------------------------------------


def test_article_prompt_title_and_record(cli, tmp_path):
    path, record = only_image(generate_json(cli, ARTICLE, "--seed", "11", "--out", tmp_path))
    text = ARTICLE.read_text()
    assert record["prompt"] == text.split("\n$$$")[0].strip()
    assert record["title"] == "Escalating Tensions: South Korea’s Alarm Over North Korea and Russia"
    # the prompt comes first, its closing full stop giving way to the style's comma
    assert record["final_prompt"].startswith(record["prompt"].removesuffix(".") + ", ")
    assert path.parent == tmp_path
    assert path.name.startswith("escalating-tensions-south-koreas-alarm-over-north-korea-and-11-")
    assert path.with_suffix(".json").is_file()


def test_bom_crlf_and_separator_inside_title(cli, tmp_path):
    article = tmp_path / "a.txt"
    article.write_bytes(
        "\ufeffA lighthouse in fog\r\n$$$\r\n\r\nPrices $$$ rise: a title\r\nBody with $$$ inside\r\n$$$\r\nmore".encode()
    )
    _, record = only_image(generate_json(cli, article, "--seed", "1", "--out", tmp_path / "out"))
    assert record["prompt"] == "A lighthouse in fog"
    assert record["title"] == "Prices $$$ rise: a title"


def test_only_first_separator_line_splits(cli, tmp_path):
    article = tmp_path / "a.txt"
    article.write_text("A dove over a board\n$$$\nTitle here\n$$$\nnot a prompt\n")
    _, record = only_image(generate_json(cli, article, "--seed", "1", "--out", tmp_path / "out"))
    assert record["prompt"] == "A dove over a board"
    assert record["title"] == "Title here"


def test_file_without_separator_is_all_prompt(cli, tmp_path):
    article = tmp_path / "p.txt"
    article.write_text("A quiet harbour\nat dawn\n")
    path, record = only_image(generate_json(cli, article, "--seed", "5", "--out", tmp_path / "out"))
    assert record["prompt"] == "A quiet harbour at dawn"
    assert record["title"] is None
    assert path.name.startswith("a-quiet-harbour-at-dawn-5-")


def test_stdin_article(cli, tmp_path):
    result = cli(
        "generate", "-", "--model", "tiny", "--seed", "2", "--out", tmp_path, "--json",
        input="A paper crane\n$$$\nCranes: a title\nbody\n",
    )
    assert result.exit_code == 0, result.stderr
    _, record = only_image(json.loads(result.stdout))
    assert (record["prompt"], record["title"], record["source"]) == ("A paper crane", "Cranes: a title", "stdin")


def test_prompt_option(cli, tmp_path):
    _, record = only_image(generate_json(cli, "--prompt", "A chessboard at dusk", "--seed", "3", "--out", tmp_path))
    assert record["prompt"] == "A chessboard at dusk"
    assert record["source"] == "--prompt"


# Output, JSON and record ----------------------------------------------------------------------------


def test_json_is_the_only_stdout_and_logs_go_to_stderr(cli, tmp_path):
    result = cli("generate", "--model", "tiny", "--prompt", "A kite", "--seed", "4", "--out", tmp_path, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)  # exactly one JSON object
    assert set(data["images"][0]) >= {"path", "record", "seed"}
    assert "loading model tiny" in result.stderr


def test_record_has_everything_needed_to_trust_and_reproduce(cli, tmp_path):
    path, record = only_image(
        generate_json(cli, "--prompt", "A kite", "--seed", "9", "--steps", "3", "--guidance", "6.5",
                      "--negative-prompt", "blurry", "--scheduler", "euler", "--out", tmp_path)
    )
    assert record["negative_prompt"].startswith("blurry")
    assert record["options"]["negative_prompt"] == "blurry"
    assert record["model"]["name"] == "tiny"
    assert record["model"]["revision"].startswith("builtin:")
    assert record["model"]["pipeline_class"] == "StableDiffusionPipeline"
    assert record["scheduler"] == "EulerDiscreteScheduler"
    assert (record["num_inference_steps"], record["guidance_scale"]) == (3, 6.5)
    assert (record["width"], record["height"], record["seed"]) == (64, 64, 9)
    assert (record["device"], record["dtype"], record["threads"]) == ("cpu", "float32", 1)
    assert set(record["versions"]) >= {"hero-pipeline", "diffusers", "torch", "transformers"}
    assert set(record["timings"]) >= {"model_load_s", "per_image_s"}
    assert record["guidelines"]["style"]
    png = Image.open(path)
    params = png.info["parameters"]
    assert params.splitlines()[0] == record["final_prompt"]
    assert "Negative prompt: blurry" in params
    assert "Steps: 3, Sampler: Euler, Schedule type: Automatic, CFG scale: 6.5, Seed: 9, Size: 64x64" in params
    embedded = json.loads(png.info["hero-pipeline"])
    assert embedded["seed"] == 9


def test_random_seed_is_drawn_and_recorded(cli, tmp_path):
    first = generate_json(cli, "--prompt", "A kite", "--out", tmp_path)["images"][0]["seed"]
    second = generate_json(cli, "--prompt", "A kite", "--out", tmp_path)["images"][0]["seed"]
    assert first != second  # 1 in 2**32 chance of a false failure


def test_num_images_use_consecutive_seeds_and_distinct_names(cli, tmp_path):
    data = generate_json(cli, "--prompt", "A kite", "--seed", "100", "--num-images", "3", "--out", tmp_path)
    assert [image["seed"] for image in data["images"]] == [100, 101, 102]
    assert len({image["path"] for image in data["images"]}) == 3
    assert len({pixel_hash(image["path"]) for image in data["images"]}) == 3


def test_same_request_twice_never_overwrites(cli, tmp_path):
    first = generate_json(cli, "--prompt", "A kite", "--seed", "1", "--out", tmp_path)["images"][0]["path"]
    second = generate_json(cli, "--prompt", "A kite", "--seed", "1", "--out", tmp_path)["images"][0]["path"]
    assert first != second and Path(first).is_file() and Path(second).is_file()
    assert pixel_hash(first) == pixel_hash(second)
    assert not list(tmp_path.glob(".partial-*"))


def test_size_defaults_by_model_and_custom_size(cli, tmp_path):
    path, record = only_image(generate_json(cli, "--prompt", "A kite", "--seed", "1", "--width", "128", "--out", tmp_path))
    assert Image.open(path).size == (128, 64)
    assert (record["width"], record["height"]) == (128, 64)


# Models -------------------------------------------------------------------------------------------


def test_exported_tiny_folder_gives_identical_pixels(cli, tiny_folder, tmp_path):
    assert (tiny_folder / "model_index.json").is_file() and (tiny_folder / "unet").is_dir()
    builtin, _ = only_image(generate_json(cli, "--prompt", "A kite", "--seed", "8", "--out", tmp_path / "a"))
    result = cli("generate", "--model", tiny_folder, "--prompt", "A kite", "--seed", "8", "--out", tmp_path / "b", "--json")
    assert result.exit_code == 0, result.stderr
    folder_image, record = only_image(json.loads(result.stdout))
    assert pixels(builtin) == pixels(folder_image)
    assert record["model"]["source"] == "folder"
    assert record["model"]["revision"].startswith("sha256:")
    # A folder has no single checkpoint: no A1111 Model hash, but the record keeps each weights file's SHA-256.
    unet = "unet/diffusion_pytorch_model.safetensors"
    assert record["model"]["hashes"][unet] == hashlib.sha256((tiny_folder / unet).read_bytes()).hexdigest()
    assert "Model hash" not in Image.open(folder_image).text["parameters"]


def test_tiny_sdxl_folder_generates(cli, tmp_path):
    folder = tmp_path / "tiny-sdxl"
    assert cli("models", "export", "tiny-sdxl", folder).exit_code == 0
    result = cli("generate", "--model", folder, "--prompt", "A kite", "--seed", "1", "--out", tmp_path / "o", "--json")
    assert result.exit_code == 0, result.stderr
    path, record = only_image(json.loads(result.stdout))
    assert record["model"]["pipeline_class"] == "StableDiffusionXLPipeline"
    assert record["model"]["family"] == "sdxl"
    assert Image.open(path).size == (64, 64)


def test_models_lists_aliases_with_licences_and_default(cli):
    result = cli("models", "--json")
    assert result.exit_code == 0
    entries = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert {"tiny", "tiny-sdxl", "sdxl", "sd15"} <= set(entries)
    assert entries["sdxl"]["default"] is True
    assert all(entry["licence"] for entry in entries.values())
    assert "OpenRAIL" in cli("models").stdout


# Long prompts -------------------------------------------------------------------------------------


def test_long_prompt_is_encoded_whole_and_said(cli, tmp_path):
    long_prompt = "A chessboard with many carved pieces " * 12  # 6 CLIP tokens each: 72, and the style's words
    result = cli("generate", "--model", "tiny", "--prompt", long_prompt, "--style", "none", "--seed", "1",
                 "--out", tmp_path, "--json")
    assert result.exit_code == 0, result.stderr
    assert "nothing is dropped" in result.stderr
    _, record = only_image(json.loads(result.stdout))
    assert record["text_encoding"]["method"] == "compel-windows"
    assert record["text_encoding"]["tokens"] > record["text_encoding"]["limit"]
    assert record["text_encoding"]["dropped"] == ""
    assert record["final_prompt"] == long_prompt.strip()


def test_short_prompt_uses_the_standard_encoder(cli, tmp_path):
    # The built-in models tokenise as CLIP does: a styled prompt and the policy's whole negative prompt fit, as on real models.
    _, record = only_image(generate_json(cli, "--prompt", "A kite", "--style", "realistic-hd", "--seed", "1",
                                         "--out", tmp_path / "out"))
    assert "weapons" in record["negative_prompt"]
    assert record["text_encoding"]["method"] == "standard"
    assert record["text_encoding"]["tokens"] < 75 and record["text_encoding"]["negative_tokens"] < 75


# Determinism --------------------------------------------------------------------------------------


def test_same_seed_same_pixels_across_processes(tmp_path):
    hashes = []
    for run in ("a", "b"):
        result = run_pipeline("generate", "--model", "tiny", "--prompt", "A kite", "--seed", "42",
                              "--out", tmp_path / run, "--json", "--threads", "1")
        assert result.returncode == 0, result.stderr.decode()
        hashes.append(pixel_hash(json.loads(result.stdout)["images"][0]["path"]))
    assert hashes[0] == hashes[1]


def test_batch_of_two_matches_its_record_and_differs_by_seed(cli, tmp_path):
    data = generate_json(cli, "--prompt", "A kite", "--seed", "7", "--num-images", "2", "--batch-size", "2",
                         "--out", tmp_path)
    records = [json.loads(Path(image["record"]).read_text()) for image in data["images"]]
    assert [r["batch"] for r in records] == [{"seeds": [7, 8], "index": 0}, {"seeds": [7, 8], "index": 1}]


def test_hub_id_loads_from_the_local_hub_cache_and_records_the_commit(cli, tiny_folder, tmp_path):
    import shutil

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--newsroom--tiny-test"
    shutil.copytree(tiny_folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    # huggingface_hub reads its cache location at import: a fresh process sees this one.
    result = run_pipeline("generate", "--model", "newsroom/tiny-test", "--prompt", "A kite", "--seed", "8",
                          "--out", tmp_path / "o", "--json", HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "hub"))
    assert result.returncode == 0, result.stderr.decode()
    _, record = only_image(json.loads(result.stdout))
    assert (record["model"]["source"], record["model"]["revision"]) == ("hub", commit)
    assert record["model"]["location"] == "newsroom/tiny-test"


def test_single_safetensors_checkpoint_loads_offline_with_model_config(cli, tiny_folder, tmp_path):
    from ldm_checkpoint import write_ldm_checkpoint

    from pipeline.models.loader import load_model

    checkpoint = tmp_path / "tiny-original.safetensors"
    write_ldm_checkpoint(load_model(str(tiny_folder), device="cpu").pipe, checkpoint)
    builtin, _ = only_image(generate_json(cli, "--prompt", "A kite", "--seed", "8", "--out", tmp_path / "a"))
    result = cli("generate", "--model", checkpoint, "--model-config", tiny_folder, "--prompt", "A kite",
                 "--seed", "8", "--out", tmp_path / "b", "--json", env={"HF_HUB_OFFLINE": "1"})
    assert result.exit_code == 0, result.stderr
    path, record = only_image(json.loads(result.stdout))
    assert record["model"]["source"] == "single_file"
    assert record["model"]["pipeline_class"] == "StableDiffusionPipeline"
    assert record["model"]["revision"].startswith("sha256:")
    assert record["model"]["location"] == "tiny-original.safetensors"
    assert pixels(path) == pixels(builtin)
    # A1111's Model hash is the first 10 hex digits of the checkpoint file's SHA-256; the record keeps all of it.
    import sd_parsers

    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert record["model"]["hashes"] == {"checkpoint": digest}
    model = sd_parsers.ParserManager().parse(path).samplers[0].model
    assert (model.hash, model.name) == (digest[:10], "tiny-original.safetensors")


def test_single_file_without_config_offline_says_how_to_fix(cli, tiny_folder, tmp_path):
    from ldm_checkpoint import write_ldm_checkpoint

    from pipeline.models.loader import load_model

    checkpoint = tmp_path / "tiny-original.safetensors"
    write_ldm_checkpoint(load_model(str(tiny_folder), device="cpu").pipe, checkpoint)
    result = run_pipeline("generate", "--model", checkpoint, "--prompt", "A kite", "--out", tmp_path / "o",
                          HF_HUB_OFFLINE="1")
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr and "--model-config" in stderr
    assert not (tmp_path / "o").exists()


# Text embeddings are encoded once per request and reused by its later batches --------------------


@pytest.mark.parametrize("model", ["tiny", "tiny-sdxl"])
def test_reused_text_embeddings_give_plain_diffusers_pixels(cli, tmp_path, model):
    import diffusers
    import torch

    from pipeline.models.builtin import build_components

    data = generate_json(cli, "--model", model, "--prompt", "A ferry at a quay in fog", "--style", "none",
                         "--safety", "off", "--seed", "5", "--num-images", "2", "--batch-size", "1",
                         "--out", tmp_path)  # fmt: skip
    path, record = Path(data["images"][1]["path"]), json.loads(Path(data["images"][1]["record"]).read_text())
    assert record["seed"] == 6 and record["text_encoding"]["method"] == "standard"
    class_name, components, _ = build_components(model)
    extra = {} if model == "tiny-sdxl" else dict(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe = getattr(diffusers, class_name)(**components, **extra)
    pipe.set_progress_bar_config(disable=True)
    with torch.inference_mode():
        [expected] = pipe(prompt=[record["final_prompt"]], negative_prompt=[record["negative_prompt"]],
                          num_inference_steps=record["num_inference_steps"], guidance_scale=record["guidance_scale"],
                          width=record["width"], height=record["height"],
                          generator=[torch.Generator("cpu").manual_seed(6)]).images  # fmt: skip
    assert pixels(path) == np.asarray(expected.convert("RGB")).tobytes()


def test_reused_text_embeddings_keep_the_pixels_of_safe_latent_diffusion_and_long_prompts(cli, tmp_path):
    long_prompt = "A chessboard with many carved pieces " * 14  # 84 CLIP tokens
    for name, args in {"sld": ("--prompt", "A kite over a beach"), "long": ("--prompt", long_prompt, "--style", "none")}.items():
        fresh = generate_json(cli, *args, "--seed", "6", "--out", tmp_path / name / "fresh")  # encodes the texts
        both = generate_json(cli, *args, "--seed", "5", "--num-images", "2", "--out", tmp_path / name / "reused")
        _, record = only_image(fresh)
        method = {"sld": record["safety_guidance"]["method"], "long": record["text_encoding"]["method"]}[name]
        assert method == {"sld": "safe-latent-diffusion", "long": "compel-windows"}[name]
        assert pixels(both["images"][1]["path"]) == pixels(fresh["images"][0]["path"]), name
