"""Hub models: whole, actionable errors; `models pull` (size and licence first) against a local fake hub; `models` shows what is cached."""

import hashlib
import json
import os

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """Stands in for the hub inside huggingface_hub: serves `tiny_folder` as repo `newsroom/tiny-test`, writing the
    real cache layout (blobs, snapshots, refs) into a temporary HF_HUB_CACHE."""

    def __init__(self, folder, cache, gated=False):
        self.folder, self.cache, self.gated, self.downloads = folder, cache, gated, 0

    def files(self):
        return sorted(p for p in self.folder.rglob("*") if p.is_file())

    def model_info(self, api, repo_id, **kwargs):
        from huggingface_hub import errors

        try:  # the HTTP library huggingface_hub is built on
            import httpx2 as httpx
        except ModuleNotFoundError:
            import httpx

        if self.gated:
            response = httpx.Response(401, request=httpx.Request("GET", f"https://hub.invalid/api/models/{repo_id}"))
            raise errors.GatedRepoError(f"Access to model {repo_id} is restricted", response=response)
        if repo_id != "newsroom/tiny-test":
            response = httpx.Response(404, request=httpx.Request("GET", f"https://hub.invalid/api/models/{repo_id}"))
            raise errors.RepositoryNotFoundError(f"{repo_id} not found", response=response)
        return type("Info", (), {"card_data": {"license": "apache-2.0"}, "gated": False})()

    def snapshot_download(self, repo_id, *, cache_dir, dry_run=False, **kwargs):
        from huggingface_hub.file_download import DryRunFileInfo

        repo = cache_dir / f"models--{repo_id.replace('/', '--')}"
        snapshot = repo / "snapshots" / COMMIT
        if dry_run:
            return [
                DryRunFileInfo(commit_hash=COMMIT, file_size=path.stat().st_size, filename=str(path.relative_to(self.folder)),
                               local_path=str(snapshot / path.relative_to(self.folder)),
                               is_cached=(snapshot / path.relative_to(self.folder)).exists(),
                               will_download=not (snapshot / path.relative_to(self.folder)).exists())
                for path in self.files()
            ]  # fmt: skip
        self.downloads += 1
        for path in self.files():
            data = path.read_bytes()
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = snapshot / path.relative_to(self.folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(COMMIT)
        return str(snapshot)


@pytest.fixture
def fake_hub(tiny_folder, tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub import constants

    hub = FakeHub(tiny_folder, tmp_path / "hub")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub.cache))
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda api, repo_id, **kw: hub.model_info(api, repo_id, **kw))
    monkeypatch.setattr(huggingface_hub, "snapshot_download", hub.snapshot_download)
    return hub


def test_pull_shows_size_and_licence_first_then_downloads_and_models_lists_it(cli, fake_hub):
    size = sum(path.stat().st_size for path in fake_hub.files())
    declined = cli("models", "pull", "newsroom/tiny-test", input="n\n")
    assert declined.exit_code == 0 and fake_hub.downloads == 0, declined.stderr
    assert "licence: apache-2.0" in declined.stderr
    assert f"to download: {len(fake_hub.files())} file(s), {size / 1e6:.1f} MB" in declined.stderr
    assert "nothing downloaded" in declined.stderr

    pulled = cli("models", "pull", "newsroom/tiny-test", "--yes")
    assert pulled.exit_code == 0, pulled.stderr
    assert pulled.stdout.strip() == str(fake_hub.cache / "models--newsroom--tiny-test" / "snapshots" / COMMIT)
    assert fake_hub.downloads == 1
    again = cli("models", "pull", "newsroom/tiny-test")
    assert again.exit_code == 0 and "already on this machine" in again.stderr and fake_hub.downloads == 1

    listed = {entry["name"]: entry for entry in json.loads(cli("models", "--json").stdout)}
    assert (listed["newsroom/tiny-test"]["on_disk"], listed["newsroom/tiny-test"]["size_bytes"]) == (True, size)
    assert (listed["sdxl"]["on_disk"], listed["sdxl"]["default"], listed["sdxl"]["family"]) == (False, True, "sdxl")
    assert (listed["tiny"]["family"], listed["tiny"]["default"], listed["tiny-sdxl"]["family"]) == ("sd", False, "sdxl")
    text = cli("models").stdout
    assert f"on this machine, {size / 1e6:.1f} MB" in text and "not downloaded: `pipeline models pull sdxl` (default)" in text

    planned = cli("generate", "--prompt", "a dove", "--model", "newsroom/tiny-test", "--dry-run", "--json")
    assert json.loads(planned.stdout)["model"]["on_disk"] is True and json.loads(planned.stdout)["width"] == 64


def test_gated_and_missing_models_say_what_to_do(cli, fake_hub):
    fake_hub.gated = True
    gated = cli("models", "pull", "newsroom/tiny-test")
    assert gated.exit_code == 2
    assert gated.stderr.strip() == (
        "Error: model newsroom/tiny-test is gated: accept its licence at https://huggingface.co/newsroom/tiny-test, "
        "then set HF_TOKEN to an access token of that account"
    )
    fake_hub.gated = False
    missing = cli("models", "pull", "newsroom/nothing")
    assert missing.exit_code == 2 and "there is no model newsroom/nothing on the hub (or it is private: set HF_TOKEN)" in missing.stderr
    builtin = cli("models", "pull", "tiny")
    assert builtin.exit_code == 2 and "tiny is a builtin model, not a hub model" in builtin.stderr


def test_the_default_model_offline_suggests_tiny_and_pull(cli, tmp_path):
    """`pipeline generate ARTICLE` with the default sdxl, offline and not downloaded: one whole line that says what to do."""
    result = cli("generate", "--prompt", "a dove", "--out", tmp_path / "out",
                 env={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty-cache"), "PIPELINE_MODEL": None})  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: model sdxl (stabilityai/stable-diffusion-xl-base-1.0) is not on this machine and cannot be downloaded "
        "now (offline, or the hub cannot be reached). To try the pipeline offline use --model tiny; to download the "
        "model run `pipeline models pull sdxl` (it shows the size and licence first; gated models need HF_TOKEN); "
        "or pass a local diffusers folder"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "sdxl-trubo"], "unknown model 'sdxl-trubo': did you mean `sdxl-turbo`?"),
        (["--model", "tiny", "--style", "editorial"], "unknown style 'editorial'; did you mean `editorial-illustration`?"),
    ],
)
def test_unknown_names_suggest_the_nearest(cli, tmp_path, args, message):
    result = cli("generate", "--prompt", "a dove", "--out", tmp_path, "--dry-run", *args)
    assert result.exit_code == 2 and result.stderr.startswith(f"Error: {message}"), result.stderr
