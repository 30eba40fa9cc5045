"""Where float8 goes wrong on a UNet: one noise prediction in bf16 against torchao float8 variants of its linear
layers, with the first layer whose output is not finite.

    python bench/fp8_probe.py --model sdxl-arch --width 1024 --height 1024 [--json FILE]

Variants: every linear layer; every one but the time and added-condition embeddings; only the attention and
feed-forward layers of the transformer blocks. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = "a white dove over a chessboard at dawn"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="sdxl-arch")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--json")
    args = parser.parse_args()

    import torch
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

    from pipeline.models.loader import load_model

    model = load_model(args.model, device=args.device, dtype="bfloat16")
    pipe = model.pipe
    captured = {}
    handle = pipe.unet.register_forward_pre_hook(lambda m, a, k: captured.setdefault("call", (a, k)), with_kwargs=True)
    with torch.inference_mode():
        pipe(prompt=PROMPT, num_inference_steps=1, width=args.width, height=args.height,
             generator=torch.Generator("cpu").manual_seed(1), output_type="latent")  # fmt: skip
    handle.remove()
    call_args, call_kwargs = captured["call"]

    def forward(unet):
        with torch.inference_mode():
            return unet(*call_args, **call_kwargs)[0].float()

    reference = forward(pipe.unet)
    result = {"model": args.model, "reference_finite": bool(torch.isfinite(reference).all()),
              "reference_abs_max": float(reference.abs().max()), "variants": {}}  # fmt: skip

    def is_embedding(name: str) -> bool:
        return name.startswith(("time_embedding", "add_embedding", "encoder_hid_proj"))

    variants = {
        "all": lambda module, name: isinstance(module, torch.nn.Linear),
        "no-embeddings": lambda module, name: isinstance(module, torch.nn.Linear) and not is_embedding(name),
        "attention-and-ff": lambda module, name: isinstance(module, torch.nn.Linear)
        and ".transformer_blocks." in f".{name}" and (".attn" in name or ".ff." in name),
    }
    for label, keep in variants.items():
        unet = copy.deepcopy(pipe.unet)
        quantize_(unet, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()), filter_fn=keep)
        first_bad = {}

        def watch(name):
            def hook(module, inputs, output):
                out = output[0] if isinstance(output, tuple) else output
                if "name" not in first_bad and torch.is_tensor(out) and not torch.isfinite(out).all():
                    first_bad.update(name=name, type=type(module).__name__,
                                     input_abs_max=float(inputs[0].float().abs().max()) if inputs and torch.is_tensor(inputs[0]) else None)  # fmt: skip
            return hook

        hooks = [m.register_forward_hook(watch(n)) for n, m in unet.named_modules() if n]
        out = forward(unet)
        for h in hooks:
            h.remove()
        error = float((out - reference).norm() / reference.norm())
        result["variants"][label] = {
            "quantized": sum(1 for n, m in pipe.unet.named_modules() if keep(m, n)),
            "finite": bool(torch.isfinite(out).all()), "noise_relative_error": error, "first_non_finite": first_bad or None,
        }  # fmt: skip
        del unet
        torch.cuda.empty_cache()
    text = json.dumps(result)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
