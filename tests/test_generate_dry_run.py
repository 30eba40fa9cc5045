"""`generate --dry-run`: the whole plan, checked without loading weights or writing; unwritable folders caught before any model loads."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, subprocess_env

ARTICLE = REPO / "prompts" / "korea-chessboard.txt"


@pytest.fixture
def no_model_loads(monkeypatch):
    """Any model load fails the test."""
    from pipeline.models import loader

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(loader, "load_model", refuse)


def test_dry_run_prints_the_plan_and_writes_nothing(cli, tmp_path, no_model_loads):
    out = tmp_path / "out"
    result = cli("generate", ARTICLE, "--model", "tiny", "--seed", "7", "--num-images", "2", "--renditions", "all",
                 "--out", out, "--dry-run", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["guidelines"]["verdict"] == "allow" and plan["guidelines"]["style"] == "realistic-hd"
    assert plan["guidelines"]["prompt"].startswith("Realistic high-definition image representing the concept")
    assert plan["model"] == {"name": "tiny", "kind": "builtin", "location": "tiny", "on_disk": True, "family": "sd",
                             "width": 64, "height": 64, "num_inference_steps": 4, "guidance_scale": 7.5}  # fmt: skip
    assert (plan["width"], plan["height"], plan["seeds"]) == (64, 64, [7, 8])
    assert plan["tokens"]["limit"] == 75 and plan["tokens"]["prompt"] > 0
    assert plan["files"][0].startswith(str(out / "escalating-tensions-south-koreas-alarm")) and len(plan["files"]) == 4
    hero = next(r for r in plan["renditions"] if r["name"] == "hero")
    assert (hero["enlarged"], hero["scale"]) == (True, 30.0)
    assert not out.exists()

    text = cli("generate", ARTICLE, "--model", "tiny", "--out", out, "--renditions", "hero", "--dry-run")
    assert text.exit_code == 0, text.stderr
    assert "verdict: allow" in text.stdout and "rendition: hero 1920x1080 as webp, jpeg, enlarges x30" in text.stdout
    assert text.stdout.rstrip().endswith("dry run: no weights loaded, nothing written") and not out.exists()


def test_dry_run_of_a_hub_model_not_on_this_machine_says_how_to_get_it(cli, tmp_path, no_model_loads):
    result = cli("generate", "--prompt", "a dove", "--model", "sdxl", "--out", tmp_path, "--dry-run",
                 env={"HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "model: sdxl (hub stabilityai/stable-diffusion-xl-base-1.0, sdxl), not on this machine: `pipeline models pull sdxl`" in result.stdout


def test_dry_run_imports_no_torch():
    code = (
        "import sys; from pipeline.cli import main\n"
        "try:\n    main(['generate', '--prompt', 'a dove', '--model', 'tiny', '--dry-run', '--json'], prog_name='pipeline')\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, env=subprocess_env(), timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["model"]["name"] == "tiny"


def test_a_blocked_prompt_gives_its_verdict_as_json_and_exit_3(cli, tmp_path):
    for extra in (["--dry-run"], []):
        result = cli("generate", "--prompt", "a burning flag", "--model", "tiny", "--out", tmp_path / "out", "--json", *extra)
        assert result.exit_code == 3, result.stderr
        verdict = json.loads(result.stdout)["guidelines"]
        assert verdict["verdict"] == "block" and verdict["rules"][0]["id"] == "desecration"
        assert "prompt refused by guideline desecration (matched 'burning flag')" in result.stderr
    assert json.loads(result.stdout)["images"] == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["generate", "--prompt", "a dove", "--model", "tiny", "--out", "{out}"],
        ["generate", "--prompt", "a dove", "--model", "tiny", "--out", "{out}", "--dry-run"],
        ["batch", "{spec}", "--out", "{out}"],
        ["models", "export", "tiny", "{out}"],
    ],
    ids=["generate", "dry-run", "batch", "export"],
)
def test_an_unwritable_output_folder_is_caught_before_any_model_loads(cli, tmp_path, no_model_loads, command):
    spec = tmp_path / "spec.toml"
    spec.write_text('[defaults]\nmodel = "tiny"\n[[jobs]]\nprompt = "a dove"\nseeds = [1]\n')
    args = [part.format(out="/proc/hero-pipeline-nope", spec=spec) for part in command]
    result = cli(*args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: output folder /proc/hero-pipeline-nope is not writable")
