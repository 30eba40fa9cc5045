"""Progress while denoising: a bar of steps with the time left on a terminal (stderr), nothing with --quiet.

Off a terminal there is no bar: see test_renditions (its stderr, from CliRunner, is not a terminal)."""

from conftest import run_on_terminal

ARGS = ("generate", "--model", "tiny", "--prompt", "a lighthouse", "--seed", "5", "--steps", "3", "--scheduler", "ddim")


def test_steps_and_eta_on_a_terminal_never_on_stdout(tmp_path):
    returncode, stdout, screen = run_on_terminal(*ARGS, "--out", tmp_path / "a")
    assert returncode == 0, screen
    assert "seed 5" in screen and "3/3 steps" in screen and "eta" in screen
    assert "wrote " in screen  # the messages still show, above the bar
    paths = stdout.decode().split()
    assert len(paths) == 1 and all(path.endswith(".png") for path in paths)  # stdout holds the results alone

    returncode, stdout, screen = run_on_terminal(*ARGS, "--out", tmp_path / "b", "--quiet")
    assert returncode == 0 and screen == "" and len(stdout.decode().split()) == 1
