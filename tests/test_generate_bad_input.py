"""Bad input to `pipeline generate`: one clear line on stderr, a non-zero exit, no traceback, nothing written."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from conftest import generate_json, run_pipeline


def assert_clean_failure(result, code: int, *fragments: str) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "out"


def fails(cli, out, *args, code=2, fragments=(), **kw):
    result = cli("generate", "--model", "tiny", "--out", out, *args, **kw)
    assert_clean_failure(result, code, *fragments)
    assert not out.exists(), "nothing may be written on bad input"


def test_missing_article(cli, out, tmp_path):
    fails(cli, out, tmp_path / "nope.txt", fragments=("does not exist",))


def test_folder_as_article(cli, out, tmp_path):
    fails(cli, out, tmp_path, fragments=("is a folder",))


def test_empty_article(cli, out, tmp_path):
    (tmp_path / "empty.txt").write_text("  \n\n")
    fails(cli, out, tmp_path / "empty.txt", fragments=("is empty",))


def test_binary_article(cli, out, tmp_path):
    (tmp_path / "img.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    fails(cli, out, tmp_path / "img.bin", fragments=("binary",))


def test_non_utf8_article(cli, out, tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait\n$$$\nTitle\n".encode("latin-1"))
    fails(cli, out, tmp_path / "latin1.txt", fragments=("not valid UTF-8",))


def test_article_without_prompt(cli, out, tmp_path):
    (tmp_path / "a.txt").write_text("\n$$$\nA title\nbody\n")
    fails(cli, out, tmp_path / "a.txt", fragments=("no image prompt",))


def test_empty_prompt_option(cli, out):
    fails(cli, out, "--prompt", "   ", fragments=("prompt is empty",))


def test_empty_stdin(cli, out):
    fails(cli, out, "-", input="", fragments=("standard input is empty",))


def test_article_and_prompt_together(cli, out, tmp_path):
    fails(cli, out, tmp_path / "a.txt", "--prompt", "x", fragments=("not both",))


def test_neither_article_nor_prompt(cli, out):
    fails(cli, out, fragments=("--prompt",))


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--width", "100"], "`width` has to be divisible by 8 but is 100"),
        (["--height", "65"], "`height` has to be divisible by 8 but is 65"),
        (["--width", "40000"], "`width` has to be between 64 and 4096"),
        (["--height", "0"], "`height` has to be between"),
        (["--steps", "0"], "`steps` has to be between 1"),
        (["--steps", "-3"], "`steps` has to be between 1"),
        (["--num-images", "0"], "`num-images` has to be between 1"),
        (["--num-images", "-1"], "`num-images` has to be between 1"),
        (["--guidance", "nan"], "`guidance` has to be a finite number"),
        (["--guidance", "inf"], "`guidance` has to be a finite number"),
        (["--batch-size", "0"], "`batch-size` has to be at least 1"),
        (["--seed", "-1"], "`seed` has to be between"),
        (["--threads", "0"], "`threads` has to be at least 1"),
        (["--style", "no-such-style"], "unknown style"),
    ],
)
def test_bad_option_values(cli, out, args, fragment):
    fails(cli, out, "--prompt", "A kite", *args, fragments=(fragment,))


def test_non_numeric_option_is_a_usage_error(cli, out):
    result = cli("generate", "--model", "tiny", "--out", out, "--prompt", "A kite", "--steps", "many")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "'many' is not a valid integer" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "model, fragment",
    [
        ("no-such-model", "unknown model 'no-such-model'"),
        ("./missing-folder", "does not exist"),
        ("missing.safetensors", "does not exist"),
    ],
)
def test_unknown_models(cli, out, model, fragment):
    result = cli("generate", "--model", model, "--out", out, "--prompt", "A kite")
    assert_clean_failure(result, 2, fragment)
    assert not out.exists()


def test_unreachable_hub_model(cli, out):
    result = cli("generate", "--model", "someone/not-a-model", "--out", out, "--prompt", "A kite",
                 env={"HF_HUB_OFFLINE": "1"})
    assert_clean_failure(
        result, 2, "model someone/not-a-model is not on this machine and cannot be downloaded now (offline, or the hub "
        "cannot be reached). To try the pipeline offline use --model tiny; to download the model run "
        "`pipeline models pull someone/not-a-model` (it shows the size and licence first; gated models need HF_TOKEN); "
        "or pass a local diffusers folder",
    )
    assert not out.exists()


def test_folder_that_is_not_a_model(cli, out, tmp_path):
    (tmp_path / "empty-model").mkdir()
    result = cli("generate", "--model", tmp_path / "empty-model", "--out", out, "--prompt", "A kite")
    assert_clean_failure(result, 2, "has no model_index.json")


def test_pickle_checkpoints_are_refused(cli, out, tmp_path):
    (tmp_path / "model.ckpt").write_bytes(b"not really a pickle")
    result = cli("generate", "--model", tmp_path / "model.ckpt", "--out", out, "--prompt", "A kite")
    assert_clean_failure(result, 2, "pickle checkpoint")


def test_safetensors_file_that_is_not_a_checkpoint(cli, out, tmp_path):
    bogus = tmp_path / "bogus.safetensors"
    bogus.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    result = cli("generate", "--model", bogus, "--out", out, "--prompt", "A kite")
    assert_clean_failure(result, 2, "bogus.safetensors")
    assert not out.exists()


def test_missing_gpu_is_an_input_error(cli, out):
    result = cli("generate", "--model", "tiny", "--device", "cuda", "--out", out, "--prompt", "A kite")
    assert_clean_failure(result, 2, "no CUDA GPU")


def test_output_folder_under_a_file(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    result = cli("generate", "--model", "tiny", "--out", blocker / "sub", "--prompt", "A kite")
    assert_clean_failure(result, 2, "is a file, not a folder")
    assert blocker.read_text() == "keep me"


def test_disk_full_keeps_existing_images(cli, tmp_path, monkeypatch):
    first = generate_json(cli, "--prompt", "A kite", "--seed", "1", "--out", tmp_path)["images"][0]["path"]
    before = Path(first).read_bytes()

    import pipeline.output.files

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    # The disk fills while the temporary file is being flushed.
    monkeypatch.setattr(pipeline.output.files.os, "fsync", full_disk)
    result = cli("generate", "--model", "tiny", "--prompt", "A kite", "--seed", "1", "--out", tmp_path)
    assert_clean_failure(result, 1, "no space left")
    assert Path(first).read_bytes() == before
    stored = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("catalogue.sqlite"))
    assert stored == sorted([Path(first).name, Path(first).with_suffix(".json").name])


def test_export_refuses_non_empty_folder_and_unknown_model(cli, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    assert_clean_failure(cli("models", "export", "tiny", tmp_path / "taken"), 2, "not an empty folder")
    assert_clean_failure(cli("models", "export", "sdxl", tmp_path / "new"), 2, "not a built-in model")
    assert not (tmp_path / "new").exists()


def test_subprocess_error_has_no_traceback(tmp_path):
    result = run_pipeline("generate", "--model", "tiny", "--prompt", "A kite", "--width", "9", "--out", tmp_path / "o")
    assert result.returncode == 2
    assert result.stderr.decode().strip() == "Error: `width` has to be divisible by 8 but is 9"
    assert result.stdout == b""


def test_help_does_not_import_torch():
    import subprocess
    import sys

    from conftest import subprocess_env

    code = (
        "import sys\n"
        "from pipeline.cli import main\n"
        "for args in (['--help'], ['generate', '--help'], ['models', '--help'], ['models']):\n"
        "    try:\n"
        "        main(args, prog_name='pipeline')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
