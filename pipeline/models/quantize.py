"""Float8 quantisation of the UNet's linear layers with torchao, and the check that the GPU can run it."""

from __future__ import annotations

import importlib.util

from pipeline.errors import InputError

FP8_MIN_CAPABILITY = (8, 9)
"""FP8 tensor cores: Ada (8.9) and Hopper (9.0) or newer."""

INSTALL_HINT = "pip install 'hero-pipeline[fp8]'"


def fp8_refusal(device: str, capability: tuple[int, int] | None, gpu_name: str | None, have_torchao: bool) -> str | None:
    """Why `--quantize fp8` cannot run on this device, or None when it can."""
    if not device.startswith("cuda"):
        return f"--quantize fp8 needs a CUDA GPU with FP8 tensor cores (compute capability 8.9 or newer); device {device} is not one"
    if capability is not None and tuple(capability) < FP8_MIN_CAPABILITY:
        major, minor = capability
        return (
            f"--quantize fp8 needs FP8 tensor cores (compute capability 8.9 or newer: Ada, Hopper); "
            f"{gpu_name or device} has {major}.{minor}"
        )
    if not have_torchao:
        return f"--quantize fp8 needs torchao, which is not installed: {INSTALL_HINT}"
    return None


def check(quantize: str | None, device: str) -> None:
    """Raise InputError, before any weights load, where `quantize` cannot run on `device`."""
    if quantize is None:
        return
    capability = name = None
    if device.startswith("cuda"):
        import torch

        index = torch.device(device)
        capability = torch.cuda.get_device_capability(index)
        name = torch.cuda.get_device_name(index)
    reason = fp8_refusal(device, capability, name, importlib.util.find_spec("torchao") is not None)
    if reason:
        raise InputError(reason)


TEXT_TOKEN_LAYERS = (".attn2.to_k", ".attn2.to_v", ".attn2.to_kv")
"""Cross-attention key and value projections: their inputs are the prompt's text tokens (77 per image), so
float8 gains nothing there, and they stay in bf16/fp16."""

ACTIVATION_AMAX_FLOOR = 1e-12
"""The least absolute maximum a row of activations is given when its float8 scale is computed. Without it a
row of zeros gets the scale 0 and quantises to 0/0 = NaN (torchao's `_choose_scale_float8` divides by
max|x| / 448 as it is). SDXL pipelines feed such rows whenever guidance meets an empty negative prompt:
`force_zeros_for_empty_prompt` makes the unconditional text embeddings zeros, so the cross-attention K/V
projections and, through the attention of zero values, each cross-attention output projection see rows of
zeros. That is why SDXL's noise prediction was not finite in float8 on the H200 (2026-11-26: first in
`attn2.to_kv`, then, with K/V kept, further on), while SD 1.5 (whose empty prompt is encoded, not zeroed)
was finite."""


def fp8_layer(module, name: str) -> bool:
    """Whether a UNet layer is quantised to float8: every linear layer over image tokens."""
    import torch

    return isinstance(module, torch.nn.Linear) and not f".{name}".endswith(TEXT_TOKEN_LAYERS)


def quantize_unet(unet, quantize: str) -> dict:
    """Quantise `unet`'s linear layers in place (all but the text-token ones, `fp8_layer`); return the record.

    fp8: dynamic (per call) float8 e4m3 scales for activations and static float8 weights, one scale
    per row of each (torchao's PerRow granularity, its recommended setting for accuracy); a row of zero
    activations stays zero (ACTIVATION_AMAX_FLOOR).
    """
    import torch
    import torchao
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

    linears = [m for m in unet.modules() if isinstance(m, torch.nn.Linear)]
    # set_inductor_config=False: torchao would otherwise switch on inductor's coordinate-descent tuning for the
    # whole process, which took 93 of the 112 s of compiling SDXL's fp8 transformer blocks on an H200
    # (docs/speed.md) and made the whole UNet's compile outlast every run.
    config = Float8DynamicActivationFloat8WeightConfig(granularity=PerRow(), activation_value_lb=ACTIVATION_AMAX_FLOOR,
                                                       set_inductor_config=False)
    quantize_(unet, config, filter_fn=fp8_layer)
    # A quantised layer's weight becomes one of torchao's tensor subclasses (Float8Tensor).
    quantized = sum(type(m.weight) not in (torch.nn.Parameter, torch.Tensor) for m in linears)
    return {
        "method": "fp8",
        "scheme": "float8 e4m3 dynamic activations, float8 e4m3 weights, per-row scales, activation amax floor "
        f"{ACTIVATION_AMAX_FLOOR:g}; cross-attention K/V kept",
        "library": f"torchao {torchao.__version__}",
        "linear_layers": len(linears),
        "quantized_layers": quantized,
    }
