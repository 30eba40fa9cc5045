"""Batch specs: expansion into prompts x styles x seeds, and strict validation before anything runs."""

import json
import subprocess
import sys

import pytest

from batch_helpers import ARTICLE, batch_json, write_spec
from conftest import REPO, subprocess_env


def test_example_spec_expands_jobs_styles_and_seeds(cli, tmp_path):
    data = batch_json(cli, REPO / "prompts" / "batch-example.toml", tmp_path / "out")
    combos = [(image["job"], image["style"], image["seed"]) for image in data["images"]]
    assert combos == [
        (1, "editorial-illustration", 1), (1, "editorial-illustration", 2), (1, "editorial-illustration", 3),
        (1, "watercolour", 1), (1, "watercolour", 2), (1, "watercolour", 3),
        (2, "minimalist-flat", 1), (2, "minimalist-flat", 2),
    ]  # fmt: skip
    assert data["summary"]["total"] == data["summary"]["done"] == 8
    assert len({image["key"] for image in data["images"]}) == 8
    first = data["images"][0]
    assert first["title"] == "Escalating Tensions: South Korea’s Alarm Over North Korea and Russia"
    record = json.loads(open(first["record"]).read())
    assert (record["seed"], record["guidelines"]["style"], record["num_inference_steps"]) == (1, "editorial-illustration", 4)
    assert data["images"][-1]["prompt"] == "A white dove over a chessboard at dawn"


def test_keys_come_from_the_inputs_only(cli, tmp_path):
    body = '[[jobs]]\nprompt = "a lighthouse"\nseeds = [5, 6]\nstyle = "none"\n'
    first = batch_json(cli, write_spec(tmp_path, body, name="a.toml"), tmp_path / "one")
    second = batch_json(cli, write_spec(tmp_path, body, name="b.toml"), tmp_path / "two")
    assert [i["key"] for i in first["images"]] == [i["key"] for i in second["images"]]
    changed = batch_json(cli, write_spec(tmp_path, body.replace("lighthouse", "harbour"), name="c.toml"), tmp_path / "three")
    assert not {i["key"] for i in changed["images"]} & {i["key"] for i in first["images"]}


def test_seed_and_num_images_count_up(cli, tmp_path):
    spec = write_spec(tmp_path, '[[jobs]]\nprompt = "a lighthouse"\nseed = 10\nnum-images = 3\nstyle = "none"\n')
    data = batch_json(cli, spec, tmp_path / "out")
    assert [image["seed"] for image in data["images"]] == [10, 11, 12]


def _fails(cli, spec, out):
    result = cli("batch", spec, "--out", out)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    assert not out.exists(), "nothing may be written for a bad spec"
    return result.stderr


@pytest.mark.parametrize(
    "body, expected",
    [
        ('[[jobs]]\nprompt = "a"\nseeds = "abc"\n', 'job 1, key `seeds`: has to be a list of integers, not a string (\'abc\')'),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\ncolour = "red"\n', "job 1, key `colour`: unknown key"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\nnegative_prompt = "x"\n', "did you mean `negative-prompt`?"),
        ('[[jobs]]\narticle = "missing.txt"\nseeds = [1]\n', "job 1, key `article`: article file"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\nstyle = "watercolour-nope"\n', "job 1, key `style`: unknown style 'watercolour-nope'"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\nsteps = 0\n', "job 1: `steps` has to be between 1 and 500 but is 0"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\nwidth = 65\n', "job 1: `width` has to be divisible by 8 but is 65"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1, 1]\n', "job 1, key `seeds`: has repeated seeds: [1]"),
        ('[[jobs]]\nseeds = [1]\n', "job 1: give exactly one of `article`"),
        ('[[jobs]]\nprompt = "a"\n', "job 1: no seeds"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\ncompile = "default"\ncompile-scope = "layers"\n',
         "job 1, key `compile-scope`: unknown compile scope 'layers'; choose from model, blocks"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\ncompile-scope = "blocks"\n', "job 1, key `compile-scope`: needs compile"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\nmodel = "no-such-model-anywhere"\n', "job 1, key `model`"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\nsteps = true\n', "job 1, key `steps`: has to be an integer, not a boolean"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\nguidelines = "nope.toml"\n', "job 1, key `guidelines`: guidelines file"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\nsafety = "extreme"\n', "job 1: `safety` has to be one of"),
        ("", "the spec has no jobs"),
        ("jobs = []\n", "the spec has no jobs"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1]\n[extra]\nx = 1\n', "key `extra`: unknown top-level key"),
        ('[[jobs]]\nprompt = "a"\nseeds = [1\n', "is not valid TOML"),
    ],
)
def test_bad_specs_name_the_place(cli, tmp_path, body, expected):
    stderr = _fails(cli, write_spec(tmp_path, body), tmp_path / "out")
    assert expected in stderr


def test_every_error_is_reported_at_once(cli, tmp_path):
    body = (
        '[[jobs]]\nprompt = "a"\nseeds = "abc"\n'
        '[[jobs]]\narticle = "korea-chessboard.txt"\nseeds = [1]\n'  # fine: next to the spec
        '[[jobs]]\nprompt = "b"\nseeds = [2]\nbogus = 1\nguidance = "high"\n'
    )
    (tmp_path / "korea-chessboard.txt").write_bytes(ARTICLE.read_bytes())
    stderr = _fails(cli, write_spec(tmp_path, body, defaults='[defaults]\nmodel = "tiny"\nsteps = "two"\n'), tmp_path / "out")
    assert "has 4 errors" in stderr
    for expected in ("[defaults], key `steps`", "job 1, key `seeds`", "job 3, key `bogus`", "job 3, key `guidance`"):
        assert expected in stderr
    assert "job 2" not in stderr


def test_non_utf8_spec(cli, tmp_path):
    spec = tmp_path / "latin1.toml"
    spec.write_bytes('[[jobs]]\nprompt = "caf\xe9"\nseeds = [1]\n'.encode("latin-1"))
    assert "is not valid UTF-8 (line 2" in _fails(cli, spec, tmp_path / "out")


def test_missing_spec_and_folder(cli, tmp_path):
    assert "batch spec" in _fails(cli, tmp_path / "nope.toml", tmp_path / "out")
    assert "is a folder" in _fails(cli, tmp_path, tmp_path / "out")


def test_article_that_is_not_utf8(cli, tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 prompt\n$$$\nTitle\n")
    stderr = _fails(cli, write_spec(tmp_path, '[[jobs]]\narticle = "bad.txt"\nseeds = [1]\n'), tmp_path / "out")
    assert "job 1, key `article`" in stderr and "not valid UTF-8" in stderr


def test_batch_help_does_not_import_torch():
    code = "import sys; from pipeline.cli import main; main(['batch', '--help'], standalone_mode=False); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Generate every image of a batch SPEC file" in done.stdout
    assert done.stdout.strip().endswith("False")


def test_a_jobs_own_guidelines_decide_its_styles(cli, tmp_path):
    from conftest import REPO

    policy = (REPO / "prompts" / "guidelines.toml").read_text()
    assert "[styles.none]" in policy
    (tmp_path / "house.toml").write_text(policy.replace("[styles.none]", "[styles.house-style]"))
    body = '[[jobs]]\nprompt = "a lighthouse"\nseeds = [1]\nstyle = "house-style"\nguidelines = "house.toml"\n'
    data = batch_json(cli, write_spec(tmp_path, body), tmp_path / "out")
    record = json.loads(open(data["images"][0]["record"]).read())
    assert record["guidelines"]["style"] == "house-style"
    assert record["options"]["guidelines"] == str(tmp_path / "house.toml")
    # Without its policy the style is unknown, and the spec is refused before anything runs.
    stderr = _fails(cli, write_spec(tmp_path, body.replace('guidelines = "house.toml"\n', ""), name="b.toml"), tmp_path / "o2")
    assert "job 1, key `style`: unknown style 'house-style'" in stderr
