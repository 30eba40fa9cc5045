"""The policy file: the shipped one loads and ships with the package; a bad one is refused naming file, line, key."""

import json
import sys

import pytest

from conftest import REPO
from pipeline.errors import InputError
from pipeline.guidelines import default_path, load_guidelines
from pipeline.options import SAFETY_STRENGTHS as STRENGTHS

POLICY = REPO / "prompts" / "guidelines.toml"
WEAPONS = 'id = "weapons"'
TROOPS = 'id = "troops"'

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def test_shipped_policy_loads_with_version_styles_and_rules():
    policy = load_guidelines()
    assert policy.version == tomllib.loads(POLICY.read_text())["guidelines"]["version"]
    assert len(policy.styles) >= 5
    assert policy.default_style == "realistic-hd"
    assert {rule.action for rule in policy.rules} == {"block", "rewrite"}
    assert policy.safety_strength in STRENGTHS
    assert policy.safety_concept and policy.image_concepts
    for word in ("weapons", "soldiers", "military hardware", "explosions", "blood", "caricature", "propaganda",
                 "text", "watermark"):
        assert word in policy.always_negative


def test_packaged_default_is_the_repository_policy():
    assert default_path().read_bytes() == POLICY.read_bytes()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "guidelines/default.toml" in pyproject["tool"]["setuptools"]["package-data"]["pipeline"]


def test_every_rule_has_an_id_a_rationale_and_one_action():
    policy = load_guidelines()
    ids = [rule.id for rule in policy.rules]
    assert len(ids) == len(set(ids))
    for rule in policy.rules:
        assert rule.rationale and rule.action in ("block", "rewrite")
        assert (rule.replacement is not None) == (rule.action == "rewrite")


def test_loading_by_path_records_the_file_and_its_digest(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_bytes(POLICY.read_bytes())
    policy = load_guidelines(path)
    assert policy.source == str(path)
    assert len(policy.digest) == 64 and policy.digest == load_guidelines().digest


def edited(tmp_path, old, new, count=1):
    text = POLICY.read_text()
    assert old in text, old
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, count))
    return path


def line_of(path, needle, occurrence=1):
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return lines[occurrence - 1]


def refusal(path) -> str:
    with pytest.raises(InputError) as error:
        load_guidelines(path)
    return str(error.value)


def test_unknown_action_names_file_line_and_rule(tmp_path):
    path = edited(tmp_path, 'id = "weapons"\naction = "rewrite"', 'id = "weapons"\naction = "erase"')
    message = refusal(path)
    assert message.startswith(f"{path}, line {line_of(path, WEAPONS)}: ")
    assert "rules[" in message and "(weapons).action 'erase' is unknown; use one of block, rewrite" in message


def test_duplicate_ids_name_the_second_one(tmp_path):
    path = edited(tmp_path, 'id = "troops"', 'id = "weapons"')
    message = refusal(path)
    assert message == f"{path}, line {line_of(path, WEAPONS, 2)}: duplicate rule id 'weapons'"


def test_style_without_prompt_field_is_refused(tmp_path):
    path = edited(tmp_path, 'template = "{prompt}, watercolour painting', 'template = "watercolour painting')
    message = refusal(path)
    assert f"line {line_of(path, '[styles.watercolour]')}" in message
    assert "styles.watercolour.template has to start with {prompt}" in message


def test_style_with_prompt_not_first_is_refused(tmp_path):
    path = edited(tmp_path, 'template = "{prompt}, watercolour painting', 'template = "watercolour painting, {prompt}')
    assert "(the subject comes first)" in refusal(path)


def test_unknown_key_is_named(tmp_path):
    path = edited(tmp_path, 'id = "troops"\n', 'id = "troops"\nreplacment = "x"\n')
    message = refusal(path)
    assert "unknown key 'rules[" in message and "(troops).replacment'" in message
    assert f"line {line_of(path, TROOPS)}" in message


def test_invalid_toml_names_the_line(tmp_path):
    path = edited(tmp_path, 'default_style = "realistic-hd"', 'default_style = realistic-hd')
    message = refusal(path)
    assert message.startswith(f"{path}: invalid TOML: ")
    assert f"line {line_of(path, 'default_style = realistic-hd')}" in message


def test_default_style_must_exist(tmp_path):
    path = edited(tmp_path, 'default_style = "realistic-hd"', 'default_style = "oil-painting"')
    assert "guidelines.default_style 'oil-painting' is not a style" in refusal(path)


def test_rewrite_needs_a_replacement(tmp_path):
    path = edited(tmp_path, 'replacement = "chess pawn"\n', "")
    assert "(troops).replacement is missing" in refusal(path)


def test_block_rule_has_no_replacement(tmp_path):
    path = edited(tmp_path, 'id = "gore-bodies"\n', 'id = "gore-bodies"\nreplacement = "x"\n')
    assert "(gore-bodies): a block rule has no replacement or plural" in refusal(path)


def test_rule_must_match_something(tmp_path):
    path = tmp_path / "bad.toml"
    text = POLICY.read_text()
    path.write_text(text + '\n[[rules]]\nid = "empty"\naction = "block"\nrationale = "r"\n')
    assert "(empty) matches nothing; give terms, exact or near" in refusal(path)


def test_a_context_lists_the_phrases_in_which_its_words_name_no_context(cli, tmp_path):
    """`unless` of a context: "the food court" is no court of law, and excuses no gunman; without that phrase in the
    justice context's list, the court would."""
    def acting(*options):
        result = cli("check-prompt", "gunman shooting shoppers in the food court", "--json", *options)
        return [rule["id"] for rule in json.loads(result.stdout)["rules"] if rule["action"] == "block"]

    assert "atrocity" in acting()
    without = edited(tmp_path, '\n    "food court", "food courts", ', '\n    ')
    assert "atrocity" not in acting("--guidelines", without)
    bad = edited(tmp_path, '\n    "food court", "food courts", ', '\n    7, "food courts", ')
    assert "contexts[1] (justice).unless has an entry with no words: 7" in refusal(bad)


def test_unknown_strength_is_refused(tmp_path):
    path = edited(tmp_path, 'strength = "medium"', 'strength = "extreme"')
    assert "guidance.strength 'extreme' is not one of off, medium, strong, max" in refusal(path)


def test_missing_or_unreadable_files(tmp_path):
    assert refusal(tmp_path / "none.toml") == f"guidelines file {tmp_path / 'none.toml'} does not exist"
    (tmp_path / "latin1.toml").write_bytes(b"version = '\xff'")
    assert "not UTF-8 text" in refusal(tmp_path / "latin1.toml")


@pytest.mark.parametrize("command", [["check-prompt", "a chessboard"], ["styles"]])
def test_cli_reports_a_bad_policy_in_one_line(cli, tmp_path, command):
    path = edited(tmp_path, 'id = "weapons"\naction = "rewrite"', 'id = "weapons"\naction = "erase"')
    result = cli(*command, "--guidelines", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}, line ")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_cli_refuses_a_missing_policy(cli, tmp_path):
    result = cli("check-prompt", "a chessboard", "--guidelines", tmp_path / "nope.toml")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: guidelines file {tmp_path / 'nope.toml'} does not exist"


def test_a_built_wheel_ships_the_policy(tmp_path):
    """The link pipeline/guidelines/default.toml -> prompts/guidelines.toml becomes a real file in the wheel."""
    import shutil
    import subprocess
    import zipfile

    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    shutil.copytree(REPO, source, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", "outputs", "__pycache__", "*.egg-info", "build"))
    if not (source / "README.md").exists():
        (source / "README.md").write_text("hero-pipeline\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "wheel",
         source],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [wheel] = (tmp_path / "wheel").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("pipeline/guidelines/default.toml") == POLICY.read_bytes()
