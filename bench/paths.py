"""Run `pipeline generate` once per speed option on this machine and print what each record says.

    python bench/paths.py [--model sd15-arch] [--size 512] [--steps 10] [--only NAME,...]

A check that every option works on this device (a GPU, typically), with each run's time and peak
GPU memory. The preview-VAE run uses an AutoencoderTiny of the standard shape with random weights.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import REPO, child_env

VARIANTS = {
    "defaults": [],
    "bfloat16": ["--dtype", "bfloat16"],
    "plain": ["--no-fuse-qkv", "--no-tf32"],
    "attention-slicing": ["--attention-slicing"],
    "vae-slicing-tiling": ["--vae-slicing", "--vae-tiling", "--num-images", "2", "--batch-size", "2"],
    "offload-model": ["--offload", "model"],
    "offload-sequential": ["--offload", "sequential"],
    "preview-vae": ["--preview-vae", "{taesd}"],
    "compile": ["--compile", "--num-images", "2"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="sd15-arch")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--only", help=f"comma-separated, from {', '.join(VARIANTS)}")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(VARIANTS)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        taesd = Path(tmp) / "taesd"
        if "preview-vae" in names:
            from diffusers import AutoencoderTiny

            AutoencoderTiny().save_pretrained(taesd)
        for name in names:
            extra = [a.format(taesd=taesd) for a in VARIANTS[name]]
            cmd = [sys.executable, "-m", "pipeline", "generate", "--model", args.model, "--prompt", "a quiet harbour"]
            cmd += ["--style", "none", "--seed", "1", "--steps", str(args.steps), "--width", str(args.size)]
            cmd += ["--height", str(args.size), "--device", args.device, "--out", str(Path(tmp) / name), "--json", "-q"]
            began = time.perf_counter()
            proc = subprocess.run(cmd + extra, capture_output=True, text=True, env=child_env(None), cwd=REPO)
            wall = time.perf_counter() - began
            if proc.returncode != 0:
                failures += 1
                print(f"{name}: FAILED ({proc.returncode}) {proc.stderr.strip()[-600:]}")
                continue
            images = json.loads(proc.stdout)["images"]
            records = [json.loads(Path(image["record"]).read_text()) for image in images]
            timings = [r["timings"] for r in records]
            print(
                f"{name}: ok, process {wall:.1f} s, generate {[t['batch_generate_s'] for t in timings]} s, "
                f"load {timings[0]['model_load_s']} s, peak GPU {timings[-1].get('peak_gpu_memory_mb')} MB, "
                f"dtype {records[0]['dtype']}, device {records[0]['device']}\n    accel {json.dumps(records[0]['accel'])}"
            )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
