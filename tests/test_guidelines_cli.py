"""`pipeline check-prompt`, `pipeline styles`, and `generate` applying the guidelines (refusing, rewriting)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, generate_json, run_pipeline, subprocess_env
from pipeline.record import Record
from pipeline.guidelines import load_guidelines

POLICY = REPO / "prompts" / "guidelines.toml"
VERSION = load_guidelines().version
SUMMARY_KEYS = ["verdict", "style", "prompt", "subject", "negative_prompt", "rules", "guidelines_version", "guidelines_digest",
                "vocabulary_digest", "classifier_digest", "classifier_score", "meaning_digest", "encoder_digest",
                "meaning_score"]


def check(cli, *args):
    result = cli("check-prompt", "--json", *args)
    return result, json.loads(result.stdout)


def test_check_prompt_allow(cli):
    result, data = check(cli, "a chessboard at dusk")
    assert result.exit_code == 0 and result.stderr == ""
    assert list(data) == SUMMARY_KEYS
    assert data["verdict"] == "allow"
    assert data["prompt"].startswith("a chessboard at dusk, realistic high-definition photograph")
    assert "weapons" in data["negative_prompt"]
    assert data["rules"] == [{"id": "always-negative", "action": "always", "category": "", "matched": ""}]
    assert data["guidelines_version"] == VERSION


def test_a_subjects_closing_full_stop_does_not_stand_before_the_styles_comma(cli):
    _, data = check(cli, "A quiet harbour at dawn, fishing boats.")
    assert data["subject"] == "A quiet harbour at dawn, fishing boats."
    assert data["prompt"].startswith("A quiet harbour at dawn, fishing boats, realistic high-definition photograph")
    _, data = check(cli, "A quiet harbour at dawn in the U.S.")
    assert data["prompt"].startswith("A quiet harbour at dawn in the U.S., realistic high-definition photograph")
    _, data = check(cli, "A quiet harbour at dawn, fishing boats.", "--style", "none")
    assert data["prompt"] == "A quiet harbour at dawn, fishing boats."


def test_check_prompt_rewrite(cli):
    result, data = check(cli, "soldiers and t4nks near Warsaw", "--style", "watercolour")
    assert result.exit_code == 0
    assert data["verdict"] == "rewrite"
    assert data["prompt"].startswith("chess pawns and chess rooks near Warsaw, watercolour painting")
    assert data["rules"][:2] == [
        {"id": "troops", "action": "rewrite", "category": "weapons-war", "matched": "soldiers",
         "replacement": "chess pawns"},
        {"id": "military-hardware", "action": "rewrite", "category": "weapons-war", "matched": "t4nks",
         "replacement": "chess rooks"},
    ]


def test_a_news_prompt_written_in_lines_keeps_them_when_a_detail_is_taken_out(cli):
    # A line break ends a clause and a phrase: the dead child goes with its clause, and the lines stay lines
    result, data = check(cli, "--style", "none", "Floods in Sindh\nBrief: villages under water, rescuers in boats, "
                         "and a dead child floating by the roof.\nWide shot, 16:9.")
    assert result.exit_code == 0 and data["verdict"] == "rewrite"
    assert data["subject"] == "Floods in Sindh\nBrief: villages under water, rescuers in boats.\nWide shot, 16:9."


def test_check_prompt_block_exits_3_naming_the_rule(cli):
    result, data = check(cli, "a b u r n i n g flag")
    assert result.exit_code == 3
    assert {key: data[key] for key in ("verdict", "prompt", "subject", "negative_prompt", "rules")} == {
        "verdict": "block",
        "prompt": "",
        "subject": "",
        "negative_prompt": "",
        "rules": [{"id": "desecration", "action": "block", "category": "desecration",
                   "matched": "a b u r n i n g flag"}],
    }
    assert data["guidelines_version"] == VERSION and len(data["guidelines_digest"]) == 64
    assert result.stderr == (
        f"Error: prompt refused by guideline desecration (matched 'a b u r n i n g flag') [guidelines {VERSION}]\n"
    )


def test_check_prompt_human_output(cli):
    result = cli("check-prompt", "tanks at the border")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"rewrite: guidelines {VERSION}, style realistic-hd"
    assert lines[1] == "  rewrite military-hardware: 'tanks' -> 'chess rooks'"
    assert lines[2].startswith("prompt: chess rooks at the border, realistic")
    assert lines[3].startswith("negative prompt: ")

    blocked = cli("check-prompt", "a massacre")
    assert blocked.exit_code == 3
    assert blocked.stdout.splitlines()[:2] == [
        f"block: guidelines {VERSION}, style realistic-hd",
        "  block atrocity: 'massacre'",
    ]
    assert "are not depicted" in blocked.stdout


def test_check_prompt_reads_stdin(cli):
    result = cli("check-prompt", "--json", "-", input="troops\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["prompt"].startswith("chess pawns,")


@pytest.mark.parametrize(
    "args, message",
    [
        (["   "], "Error: the prompt is empty"),
        (["a chessboard", "--style", "oil"], "Error: unknown style 'oil'; choose from realistic-hd, "),
    ],
)
def test_check_prompt_bad_input(cli, args, message):
    result = cli("check-prompt", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1


def test_styles_lists_presets(cli):
    result = cli("styles")
    assert result.exit_code == 0
    assert "realistic-hd (default): Realistic high-definition photograph" in result.stdout
    data = json.loads(cli("styles", "--json").stdout)
    assert data["guidelines_version"] == VERSION
    names = [style["name"] for style in data["styles"]]
    assert len(names) >= 5
    assert {"editorial-illustration", "minimalist-flat", "watercolour", "isometric-3d"} <= set(names)
    assert [style["name"] for style in data["styles"] if style["default"]] == ["realistic-hd"]
    assert all(style["template"].startswith("{prompt}") for style in data["styles"])


def custom_policy(tmp_path) -> Path:
    text = POLICY.read_text().replace('version = "' + VERSION + '"', 'version = "newsroom-7"')
    text += '\n[styles.newsprint]\ndescription = "Newsprint."\ntemplate = "{prompt}, newsprint halftone"\n'
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def test_check_prompt_and_styles_use_a_given_policy(cli, tmp_path):
    path = custom_policy(tmp_path)
    result, data = check(cli, "a chessboard", "--style", "newsprint", "--guidelines", path)
    assert data["guidelines_version"] == "newsroom-7"
    assert data["prompt"] == "a chessboard, newsprint halftone"
    assert "newsprint: Newsprint." in cli("styles", "--guidelines", path).stdout


def test_generate_refuses_a_blocked_prompt_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("generate", "--model", "tiny", "--prompt", "Kim Jong-un, photorealistic", "--out", out)
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        f"Error: prompt refused by guideline real-person-photoreal (matched 'Kim Jong-un') [guidelines {VERSION}]"
    )
    assert not out.exists()


def test_generate_refuses_in_a_fresh_process(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = run_pipeline("generate", "--model", "tiny", "--prompt", "a firing squad", "--out", out)
    assert result.returncode == 3
    assert b"captives-executions (matched 'firing squad')" in result.stderr and b"Traceback" not in result.stderr
    assert list(out.iterdir()) == []


def test_generate_records_the_rewrite(cli, tmp_path):
    data = generate_json(cli, "--prompt", "tanks near Warsaw", "--seed", "1", "--steps", "2", "--out", tmp_path)
    record = json.loads(Path(data["images"][0]["record"]).read_text())
    assert record["prompt"] == "tanks near Warsaw"
    assert record["final_prompt"].startswith("chess rooks near Warsaw, realistic high-definition photograph")
    guidelines = record["guidelines"]
    assert guidelines["version"] == VERSION and guidelines["verdict"] == "rewrite"
    assert guidelines["style"] == "realistic-hd" and len(guidelines["digest"]) == 64
    assert guidelines["rules"][0] == {
        "id": "military-hardware", "action": "rewrite", "matched": "tanks", "replacement": "chess rooks",
        "category": "weapons-war",
    }
    assert guidelines["rules"][-1]["action"] == "always"


def test_generate_with_a_given_policy(cli, tmp_path):
    path = custom_policy(tmp_path)
    data = generate_json(cli, "--prompt", "a chessboard", "--style", "newsprint", "--guidelines", path,
                         "--seed", "1", "--steps", "2", "--out", tmp_path / "out")
    record = json.loads(Path(data["images"][0]["record"]).read_text())
    assert record["guidelines"]["version"] == "newsroom-7"
    assert record["guidelines"]["source"] == str(path)
    assert record["final_prompt"] == "a chessboard, newsprint halftone"
    assert record["options"]["guidelines"] == str(path)
    assert Record.from_dict(record).request(tmp_path).guidelines == path


def test_generate_with_a_bad_policy_fails_before_writing(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(POLICY.read_text().replace('id = "weapons"\naction = "rewrite"', 'id = "weapons"\naction = "erase"'))
    out = tmp_path / "out"
    result = cli("generate", "--model", "tiny", "--prompt", "a chessboard", "--guidelines", bad, "--out", out)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}, line ") and "action 'erase' is unknown" in result.stderr
    assert not out.exists()


def test_light_commands_do_not_import_torch():
    code = (
        "import sys; from click.testing import CliRunner; from pipeline.cli import main; "
        "r = CliRunner().invoke(main, ['check-prompt', 'tanks']); assert r.exit_code == 0, r.output; "
        "r = CliRunner().invoke(main, ['styles']); assert r.exit_code == 0, r.output; "
        "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules, 'heavy import'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, env=subprocess_env(), timeout=120)
    assert result.returncode == 0, result.stderr.decode()


@pytest.mark.parametrize("command", ["check-prompt", "styles"])
def test_help(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0 and "--guidelines" in result.stdout


def test_the_parsed_policy_is_kept_on_disk_and_gives_the_same_verdicts(cli, tmp_path, monkeypatch):
    """A new process skips parsing: the parsed policy is kept per content. Kept or not, damaged or not, in a folder
    that cannot be written or none at all, the verdicts are the same (each case a new process, as in use)."""
    prompt = "Hero image for the article on French troops leaving Mali: a convoy on a desert road"
    code = f"from pipeline.cli import main; main(['check-prompt', {prompt!r}, '--json'])"

    def verdicts(cache) -> dict:
        env = subprocess_env(PIPELINE_POLICY_CACHE=str(cache))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    expected = verdicts("off")
    store = tmp_path / "cache"
    store.mkdir()
    for n in range(9):  # policies kept by earlier versions: only the most recent few stay
        (store / f"{n:064x}.pickle").write_bytes(b"old")
        os.utime(store / f"{n:064x}.pickle", ns=(n * 10**9, n * 10**9))
    assert verdicts(store) == expected  # writes the file
    kept_files = sorted(store.glob("*.pickle"))
    assert len(kept_files) == 8 and not (store / f"{0:064x}.pickle").exists()
    (kept,) = [path for path in kept_files if path.read_bytes() != b"old"]
    written = kept.stat().st_mtime_ns
    assert verdicts(store) == expected and kept.stat().st_mtime_ns == written  # reads it
    kept.write_bytes(b"not a pickle")  # damaged: parsed again, and replaced
    assert verdicts(store) == expected and kept.read_bytes() != b"not a pickle"
    blocked = tmp_path / "file"
    blocked.write_text("x")
    assert verdicts(blocked / "sub") == expected  # a folder that cannot be made costs the time only
    # An edited policy file is a new key: its new rule applies at once, also within one process.
    from pipeline.guidelines.policy import default_path

    policy = tmp_path / "policy.toml"
    policy.write_bytes(default_path().read_bytes())
    monkeypatch.setenv("PIPELINE_POLICY_CACHE", str(store))
    assert cli("check-prompt", "a teal boat", "--guidelines", policy).exit_code == 0
    policy.write_text(policy.read_text() + '\n[[rules]]\nid = "no-teal"\naction = "block"\ncategory = "gore"\nrationale = "a test"\nterms = ["teal"]\n')
    result = cli("check-prompt", "a teal boat", "--guidelines", policy)
    assert result.exit_code != 0 and "no-teal" in result.stdout + result.stderr


def test_named_people_in_a_photographic_style_are_drawn_as_illustrations_not_refused(cli):
    """The default style is photographic; a news prompt naming leaders keeps them, in the rule's stand-in style.
    From 2026.11.12 a prompt whose own words ask for a photograph of them loses those words and is drawn the same
    way; a bare portrait is still refused."""
    result = cli("check-prompt", "Hero image for the summit story: Kim Jong-un and Vladimir Putin shaking hands "
                 "in Pyongyang", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "rewrite" and data["style"] == "editorial-illustration"
    assert "Kim Jong-un and Vladimir Putin shaking hands in Pyongyang" in data["prompt"]
    assert "photograph" in data["negative_prompt"]
    (restyle,) = [rule for rule in data["rules"] if rule["action"] == "restyle"]
    assert restyle["id"] == "real-person-photoreal" and restyle["replacement"] == "editorial-illustration"
    assert "Kim Jong-un" in restyle["matched"] and "Vladimir Putin" in restyle["matched"]
    asked = json.loads(cli("check-prompt", "a photo of Vladimir Putin at a podium", "--json").stdout)
    assert asked["verdict"] == "rewrite" and asked["subject"] == "Vladimir Putin at a podium", asked
    assert asked["style"] == "editorial-illustration", asked
    refused = cli("check-prompt", "a photo of Vladimir Putin", "--json")
    assert refused.exit_code == 3 and json.loads(refused.stdout)["verdict"] == "block"


@pytest.mark.parametrize(
    "change, message",
    [
        ('restyle = "editorial-illustration"\n', "restyle is for block rules with photorealistic_only = true"),
        ('photorealistic_only = true\nrestyle = "realistic-hd"\n', "restyle has to name a style that is not photorealistic"),
    ],
)
def test_a_wrong_restyle_names_the_rule(cli, tmp_path, change, message):
    from pipeline.guidelines.policy import default_path

    policy = tmp_path / "policy.toml"
    policy.write_text(default_path().read_text() + '\n[[rules]]\nid = "test-rule"\naction = "block"\n'
                      'category = "gore"\nrationale = "a test"\nterms = ["teal"]\n' + change)  # fmt: skip
    result = cli("check-prompt", "a boat", "--guidelines", policy)
    assert result.exit_code == 2 and message in result.stderr and "test-rule" in result.stderr, result.stderr
