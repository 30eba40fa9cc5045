"""House defaults: hero.toml (or --config / $PIPELINE_CONFIG), profiles, precedence, `pipeline config`, errors with file and line."""

import json

import pytest

HOUSE = """\
# house defaults
model = "tiny"
steps = 3
threads = 2
credit = "Illustration: Example News / AI-generated"
out = "house-out"

[profiles.web]
renditions = "hero,og"
num_images = 2

[profiles.quiet-batch]
quiet = true
batch-size = 1
ray-resources = { hero_slot = 1 }
"""


@pytest.fixture
def house(tmp_path, monkeypatch):
    """A folder with a hero.toml, made the current folder."""
    (tmp_path / "hero.toml").write_text(HOUSE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPELINE_CONFIG", raising=False)
    monkeypatch.delenv("PIPELINE_PROFILE", raising=False)
    return tmp_path


def plan(cli, *args, env=None):
    result = cli("generate", "--prompt", "a dove", "--dry-run", "--json", *args, env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_hero_toml_in_the_current_folder_sets_the_defaults_and_the_command_line_wins(cli, house):
    used = plan(cli)
    assert (used["model"]["name"], used["num_inference_steps"], used["out"]) == ("tiny", 3, "house-out")
    assert used["renditions"] == []  # PIPELINE_RENDITIONS=none (set for the tests) beats the config
    assert plan(cli, "--steps", "2")["num_inference_steps"] == 2  # command line over config
    web = plan(cli, "--profile", "web", env={"PIPELINE_RENDITIONS": None})
    assert [r["name"] for r in web["renditions"]] == ["hero", "og"] and len(web["seeds"]) == 2
    assert len(plan(cli, env={"PIPELINE_PROFILE": "web"})["seeds"]) == 2


def test_pipeline_config_shows_the_file_and_where_each_value_came_from(cli, house):
    result = cli("config", "--profile", "web", "--json", env={"PIPELINE_MODEL": "tiny-sdxl", "PIPELINE_RENDITIONS": None})
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["file"], report["profile"], report["profiles"]) == ("hero.toml", "web", ["web", "quiet-batch"])
    generate = report["generate"]
    assert generate["model"] == {"value": "tiny-sdxl", "source": "environment $PIPELINE_MODEL"}  # environment over config
    assert generate["threads"] == {"value": 1, "source": "environment $PIPELINE_THREADS"}
    assert generate["steps"] == {"value": 3, "source": "hero.toml:3"}
    assert generate["renditions"] == {"value": "hero,og", "source": "hero.toml:9 [profiles.web]"}
    assert generate["seed"] == {"value": None, "source": "built-in default"}
    assert report["batch"]["batch-size"] == {"value": 4, "source": "built-in default"}
    other = json.loads(cli("config", "--profile", "quiet-batch", "--json").stdout)["batch"]
    assert other["ray-resources"] == {"value": {"hero_slot": 1}, "source": "hero.toml:15 [profiles.quiet-batch]"}
    text = cli("config")
    assert "config file: hero.toml" in text.stdout and "  steps = 3  (hero.toml:3)" in text.stdout


def test_batch_takes_its_options_from_the_config_too(cli, house):
    (house / "spec.toml").write_text('[defaults]\nsteps = 2\n[[jobs]]\nprompt = "a lighthouse"\nseeds = [1]\nstyle = "none"\n')
    (house / "elsewhere").mkdir()
    moved = house / "elsewhere" / "house.toml"
    (house / "hero.toml").rename(moved)
    result = cli("batch", "spec.toml", "--json", env={"PIPELINE_CONFIG": str(moved), "PIPELINE_PROFILE": "quiet-batch"})
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # quiet = true
    summary = json.loads(result.stdout)["summary"]
    assert summary["out"] == str(house / "elsewhere" / "house-out")  # paths are relative to the config file
    assert summary["done"] == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ('model = "tiny"\n\n[profiles.web]\nstyles = "x"\n',
         "{path}:4 [profiles.web]: unknown key `styles`; did you mean `style`?"),
        ('steps = "many"\n', "{path}:1: `steps`: Invalid value for '--steps': 'many' is not a valid integer"),
        ('dtype = "float64"\n', "{path}:1: `dtype`: Invalid value for '--dtype': 'float64' is not one of"),
        ("model = \n", "config file {path} is not valid TOML"),
    ],
    ids=["unknown-key", "bad-int", "bad-choice", "bad-toml"],
)
def test_config_errors_name_the_file_and_line(cli, tmp_path, text, message):
    path = tmp_path / "house.toml"
    path.write_text(text)
    for command in (["generate", "--prompt", "a dove", "--dry-run"], ["batch", "spec.toml"], ["config"]):
        result = cli(*command, "--config", path)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith(f"Error: {message.format(path=path)}"), result.stderr


def test_unknown_profile_and_missing_file(cli, house):
    result = cli("generate", "--prompt", "a dove", "--dry-run", "--profile", "wbe")
    assert result.exit_code == 2
    assert "config file hero.toml has no profile 'wbe'; did you mean `web`? choose from quiet-batch, web" in result.stderr
    missing = cli("config", "--config", house / "nope.toml")
    assert missing.exit_code == 2 and f"config file {house / 'nope.toml'} does not exist" in missing.stderr
