"""The full-size built-ins have the released architectures: parameter counts checked on `meta`, no weights."""

import pytest

from pipeline.models import builtin_models
from pipeline.models.builtin import build_components

RELEASED = {
    "sd15-arch": {"text_encoder": 123_060_480, "unet": 859_520_964, "vae": 83_653_863},
    "sdxl-arch": {
        "text_encoder": 123_060_480,
        "text_encoder_2": 694_659_840,
        "unet": 2_567_463_684,
        "vae": 83_653_863,
    },
}


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_parameter_counts_match_released_models(name):
    class_name, components, _ = build_components(name, weights=False)
    counts = {
        part: sum(p.numel() for p in module.parameters())
        for part, module in components.items()
        if hasattr(module, "parameters")
    }
    assert counts == RELEASED[name]
    assert {p.device.type for part in counts for p in components[part].parameters()} == {"meta"}
    assert class_name == ("StableDiffusionXLPipeline" if name == "sdxl-arch" else "StableDiffusionPipeline")


def test_arch_models_are_listed(cli):
    assert {"sd15-arch", "sdxl-arch"} <= set(builtin_models())
    result = cli("models")
    assert "sd15-arch" in result.stdout and "sdxl-arch" in result.stdout


def test_pooled_fill_is_seeded_and_scaled():
    import torch
    from accelerate import init_empty_weights

    from pipeline.models.builtin import fill_pooled_normal

    def build():
        with init_empty_weights(include_buffers=False):
            layer = torch.nn.Sequential(torch.nn.Linear(400, 300), torch.nn.LayerNorm(300))
        fill_pooled_normal(layer, seed=3)
        return layer

    first, second = build(), build()
    assert torch.equal(first[0].weight, second[0].weight)
    assert abs(first[0].weight.std().item() - 400**-0.5) < 0.1 * 400**-0.5
    assert torch.all(first[0].bias == 0) and torch.all(first[1].weight == 1)
