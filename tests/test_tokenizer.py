"""The built-in models use CLIP's real BPE tokenizer (offline): OpenAI's ids and token counts, within each encoder's vocabulary."""

import importlib.util
import json
from importlib import metadata

import pytest

from conftest import REPO

PROMPTS = [
    "A white dove over a chessboard",
    "Realistic high-definition image of an intricate geopolitical chessboard, South Korea's alarm — déjà vu 東京 🙂",
    "  several   spaces\tand\nnew lines, CAPITALS & symbols!? 1984 don't",
]


@pytest.fixture(scope="module")
def openai_reference():
    """OpenAI's own `SimpleTokenizer` (pure Python), loaded from the installed openai-clip without its torch code."""
    [source] = [f for f in metadata.files("openai-clip") if f.name == "simple_tokenizer.py"]
    spec = importlib.util.spec_from_file_location("openai_simple_tokenizer", str(source.locate()))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SimpleTokenizer()


def test_ids_and_counts_are_clips_own(openai_reference):
    from pipeline.models.tokenizer import builtin_tokenizer

    tokenizer = builtin_tokenizer()
    for prompt in PROMPTS:
        assert tokenizer(prompt, add_special_tokens=False).input_ids == openai_reference.encode(prompt)
    assert len(openai_reference.encode(PROMPTS[0])) == 7
    assert tokenizer("a dove").input_ids == [49406, 320, 18281, 49407]  # start, "a", "dove", end


@pytest.mark.parametrize("model", ["tiny", "tiny-sdxl", "sd15-arch", "sdxl-arch"])
def test_every_id_is_inside_each_builtin_encoders_vocabulary(model):
    from pipeline.models.tokenizer import builtin_tokenizer

    tokenizer = builtin_tokenizer()
    folder = REPO / "pipeline" / "models" / "configs" / model
    encoders = sorted(folder.glob("text_encoder*/config.json"))
    assert encoders
    for path in encoders:
        config = json.loads(path.read_text())
        assert config["vocab_size"] == len(tokenizer) == 49408
        assert (config["bos_token_id"], config["eos_token_id"]) == (tokenizer.bos_token_id, tokenizer.eos_token_id)


def test_short_prompts_take_the_standard_path_and_long_ones_the_windows(cli, tmp_path, openai_reference):
    short = json.loads(cli("generate", "--prompt", PROMPTS[0], "--model", "tiny", "--out", tmp_path, "--dry-run", "--json").stdout)
    final = short["guidelines"]["prompt"]  # with the style's words
    assert short["tokens"]["prompt"] == len(openai_reference.encode(final)) < 75
    assert short["tokens"]["negative"] == len(openai_reference.encode(short["guidelines"]["negative_prompt"])) < 75
    assert short["tokens"]["long_prompt"] is False
    article = REPO / "prompts" / "korea-chessboard.txt"
    long = json.loads(cli("generate", article, "--model", "tiny", "--out", tmp_path, "--dry-run", "--json").stdout)
    assert long["tokens"]["prompt"] > 75 and long["tokens"]["long_prompt"] is True
