"""The baseline: plain diffusers loading the same model and writing the same images, nothing else.

Used by bench/run.py; prints one JSON line with its own timings on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load(model: str, dtype):
    """A diffusers pipeline for a built-in name (built from its packaged configs), a folder or a hub id."""
    import diffusers

    if Path(model).is_dir() or "/" in model:
        index = Path(model) / "model_index.json"
        extra = {}
        if index.is_file() and "safety_checker" in json.loads(index.read_text()):
            extra = {"safety_checker": None, "requires_safety_checker": False}
        return diffusers.AutoPipelineForText2Image.from_pretrained(model, dtype=dtype, **extra)
    # A built-in has no folder: build its components exactly as the package does, then the pipeline.
    sys.path.insert(0, str(REPO))
    from pipeline.models.builtin import build_components

    class_name, components, _ = build_components(model)
    cls = getattr(diffusers, class_name)
    if "safety_checker" in cls._get_signature_keys(cls)[0]:
        components.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    return cls(**components).to(dtype=dtype)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--negative-prompt", default="")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--guidance", type=float, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--num-images", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--fuse-qkv", action="store_true")
    parser.add_argument("--tf32", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    pipe = load(args.model, getattr(torch, args.dtype))
    if args.fuse_qkv:
        pipe.fuse_qkv_projections()
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    pipe.to(args.device)
    if args.compile:
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        pipe.unet.compile(fullgraph=True)
        pipe.vae.decode = torch.compile(pipe.vae.decode, fullgraph=True)
    pipe.set_progress_bar_config(disable=True)
    loaded = time.perf_counter() - started

    args.out.mkdir(parents=True, exist_ok=True)
    batch_times = []
    for start in range(0, args.num_images, args.batch_size):
        seeds = list(range(args.seed + start, args.seed + min(start + args.batch_size, args.num_images)))
        n = len(seeds)
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        began = time.perf_counter()
        with torch.inference_mode():
            images = pipe(
                prompt=[args.prompt] * n,
                negative_prompt=[args.negative_prompt] * n,
                num_inference_steps=args.steps,
                guidance_scale=args.guidance,
                width=args.width,
                height=args.height,
                generator=generators,
            ).images
        batch_times.append(time.perf_counter() - began)
        for seed, image in zip(seeds, images):
            image.save(args.out / f"bare-{seed}.png")
    result = {"model_load_s": loaded, "batch_generate_s": batch_times}
    if args.device.startswith("cuda"):
        result["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
