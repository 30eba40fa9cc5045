"""GPU speed sections, one per process: the denoising loop against the matmul peak, fp8, batch throughput, first image.

    python bench/speed.py loop --model sdxl-arch --width 1024 --height 1024 --steps 30 [--compile MODE] [--fp8] [--profile FILE]
    python bench/speed.py throughput --model sdxl-arch --width 1024 --height 1024 --steps-list 30,20 --images 10 --compile default
    python bench/speed.py first-image --model sdxl-arch --width 1024 --height 1024 --steps 30 [--compile default]

Each prints one JSON object (with the card, driver, torch and date) on stdout and writes it to --json FILE.
`scripts/gpu-bench.sh` runs them in the order that lets one compile fill the cache the later ones reuse.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PROMPT, REPO, bench_policy, child_env, measured_matmul_peak, sync  # noqa: E402

sys.path.insert(0, str(REPO))

MLPERF_SDXL_PER_H100 = 1.6
"""MLPerf Inference SDXL (offline), H100 with TensorRT: about 1.6 images/s per GPU."""


def stamp(device: str) -> dict:
    """The card, driver, torch, diffusers and date each figure is reported with."""
    import diffusers
    import torch

    info = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "torch": torch.__version__,
            "diffusers": diffusers.__version__, "device": device, "cpu_cores": len(os.sched_getaffinity(0)),
            # what else ran on the machine meanwhile (set by scripts/gpu-bench.sh), so that no figure hides it
            "beside": os.environ.get("BENCH_BESIDE") or None}  # fmt: skip
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
        try:
            query = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
            info["driver"] = subprocess.run(query, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            info["driver"] = None
    else:
        info["gpu"] = None
    return info


def relative_error(a, b) -> float:
    """‖a − b‖ / ‖b‖ in float32."""
    a, b = a.float(), b.float()
    return float((a - b).norm() / b.norm())


def kernel_table(prof, limit: int = 15) -> tuple[str, list[dict]]:
    """The `limit` GPU kernels (or, on a CPU, operators) that took the most time, as text and rows."""
    from torch.autograd import DeviceType

    events = prof.key_averages()

    def device_time(e) -> float:
        return float(getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0) or 0)

    kernels = [e for e in events if getattr(e, "device_type", None) == DeviceType.CUDA and device_time(e) > 0]
    if kernels:
        timed = [(e.key, device_time(e), e.count) for e in kernels]
    else:  # no GPU: the operators by their own CPU time
        timed = [(e.key, float(e.self_cpu_time_total), e.count) for e in events if e.self_cpu_time_total > 0]
    total = sum(t for _, t, _ in timed) or 1.0
    timed.sort(key=lambda row: -row[1])
    by_kind: dict[str, float] = {}
    for name, t, _ in timed:
        by_kind[kernel_kind(name)] = by_kind.get(kernel_kind(name), 0.0) + t / 1000
    rows = [{"kernel": name, "ms": round(t / 1000, 3), "calls": calls, "share": round(t / total, 4)}
            for name, t, calls in timed[:limit]]  # fmt: skip
    lines = [f"{'ms':>10} {'share':>7} {'calls':>6}  {'kernel' if kernels else 'operator (CPU)'}"]
    lines += [f"{r['ms']:>10.2f} {100 * r['share']:>6.1f}% {r['calls']:>6}  {r['kernel'][:110]}" for r in rows]
    lines.append(f"{total / 1000:>10.2f} total {'GPU kernel' if kernels else 'CPU operator'} time (ms) of one loop")
    lines += [f"{ms:>10.2f} {100 * ms * 1000 / total:>6.1f}%         all {kind} kernels"
              for kind, ms in sorted(by_kind.items(), key=lambda item: -item[1])]  # fmt: skip
    return "\n".join(lines) + "\n", {"top": rows, "ms_by_kind": {k: round(v, 3) for k, v in by_kind.items()}}


KERNEL_KINDS = (
    ("attention", re.compile(r"sdpa|flash|fmha|attention", re.I)),
    ("convolution", re.compile(r"fprop|conv|implicit_gemm|nhwckrsc", re.I)),
    ("matmul", re.compile(r"nvjet|gemm|cutlass|cublas|matmul|_mm_|\bmm\b|addmm|bmm|scaled_mm|fp8", re.I)),
)
OP_KINDS = {"attention": ("attention",), "convolution": ("convolution",), "matmul": ("mm", "addmm", "bmm", "baddbmm", "_scaled_mm")}


def kernel_kind(name: str) -> str:
    """attention, convolution, matmul or other (elementwise, norms, copies), read from a kernel's name."""
    for kind, pattern in KERNEL_KINDS:
        if pattern.search(name):
            return kind
    return "other"


def flops_by_kind(counter) -> dict[str, float]:
    """A FlopCounterMode's total FLOPs split into attention, convolution and matmul."""
    totals: dict[str, float] = {}
    for op, flops in counter.get_flop_counts().get("Global", {}).items():
        name = str(op).split(".")[-1]
        for kind, names in OP_KINDS.items():
            if any(name == n or (kind != "matmul" and n in name) for n in names):
                totals[kind] = totals.get(kind, 0.0) + float(flops)
                break
        else:
            totals["other"] = totals.get("other", 0.0) + float(flops)
    return totals


def efficiency(step_flops_by_kind: dict, steps: int, ms_by_kind: dict, peak: float) -> dict:
    """Each kind's achieved TFLOP/s and share of the matmul peak over one loop, and the loop time that would remain
    if every kind with FLOPs ran at the peak while the rest (elementwise, norms, copies) kept its measured time:
    the ceiling this UNet's mix of kernels puts on the whole loop's share of the peak."""
    rows = {}
    for kind, ms in ms_by_kind.items():
        flops = step_flops_by_kind.get(kind, 0.0) * steps
        rows[kind] = {"ms": ms, "tflop": flops / 1e12,
                      "tflops": flops / (ms / 1000) / 1e12 if ms and flops else None,
                      "share_of_peak": flops / (ms / 1000) / peak if ms and flops else None}  # fmt: skip
    total_flops = sum(step_flops_by_kind.values()) * steps
    other_ms = sum(ms for kind, ms in ms_by_kind.items() if not step_flops_by_kind.get(kind))
    ideal_s = total_flops / peak + other_ms / 1000
    return {"kinds": rows, "loop_at_peak_s": ideal_s, "ceiling_share_of_peak": total_flops / peak / ideal_s if ideal_s else None}


def section_loop(args) -> dict:
    """The denoising loop (latents out) through `load_model`: FLOPs per UNet step, time, share of the matmul peak;
    with --fp8, then the same loop with the UNet's linear layers in float8 and its error against this one."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from pipeline.options import AccelOptions
    from pipeline.models.loader import load_model

    if args.fp8 and args.compile:
        raise SystemExit("--fp8 quantises the loaded UNet in place: use it without --compile (or use --fp8-only)")
    accel = AccelOptions(compile=args.compile, compile_backend=args.compile_backend, compile_scope=args.compile_scope,
                         quantize="fp8" if args.fp8_only else None)  # fmt: skip
    if args.cudnn_benchmark:  # cuDNN times its convolution algorithms on first use and keeps the fastest
        torch.backends.cudnn.benchmark = True
    began = time.perf_counter()
    model = load_model(args.model, device=args.device, dtype=args.dtype, accel=accel)
    load_s = time.perf_counter() - began
    pipe, device = model.pipe, model.info.device
    guidance = model.defaults["guidance_scale"] if args.guidance is None else args.guidance
    if args.layout == "contiguous":
        # `--compile` put the UNet and VAE in channels-last; torch.compile traces on the first call, so turning
        # them back here compiles (or runs eagerly) in the NCHW layout: an experiment, not a product option.
        # Inductor would turn a graph with convolutions to channels-last by itself (its layout optimisation,
        # seen on the H200 on 2026-11-27: NHWC kernels in a "contiguous" loop), so that is switched off too.
        import torch._inductor.config

        torch._inductor.config.layout_optimization = False
        pipe.unet.to(memory_format=torch.contiguous_format)
        pipe.vae.to(memory_format=torch.contiguous_format)
    channels_last = pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)

    # A whole image first: compiles (or loads compiled code) for the UNet and the VAE decoder, as `generate` does.
    began = time.perf_counter()
    model.generate(prompt=PROMPT, negative_prompt="", num_inference_steps=args.steps, guidance_scale=guidance,
                   height=args.height, width=args.width, seeds=[1])  # fmt: skip
    sync(device)
    first_image_s = time.perf_counter() - began
    phases = compile_phases() if args.compile else None
    if phases:  # printed at once: where a long compile went, even if a later part of the section is cut off
        print(json.dumps({"first_image_s": round(first_image_s, 3), "compile_phases_s": phases}), file=sys.stderr)

    captured = {}

    def capture(module, call_args, call_kwargs):
        captured.setdefault("call", (call_args, call_kwargs))

    def denoise():
        with torch.inference_mode():
            return pipe(prompt=PROMPT, num_inference_steps=args.steps, guidance_scale=guidance, width=args.width,
                        height=args.height, generator=torch.Generator("cpu").manual_seed(1), output_type="latent").images  # fmt: skip

    def timed_loops() -> list[float]:
        runs = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            denoise()
            sync(device)
            runs.append(time.perf_counter() - began)
        return runs

    handle = pipe.unet.register_forward_pre_hook(capture, with_kwargs=True)
    latents = denoise()
    handle.remove()
    call_args, call_kwargs = captured["call"]
    with torch.inference_mode():
        noise = pipe.unet.forward(*call_args, **call_kwargs)[0]
        try:
            # .forward and eager stance: the plain module, never compiled code (compiled blocks included)
            with FlopCounterMode(display=False) as counter, torch.compiler.set_stance("force_eager"):
                pipe.unet.forward(*call_args, **call_kwargs)
            step_flops = counter.get_total_flops()
            step_by_kind = flops_by_kind(counter)
        except Exception as exc:  # e.g. an operator of a quantised layer it cannot count
            print(f"FLOP count failed: {_first_line(exc)}", file=sys.stderr)
            step_flops, step_by_kind = None, {}
    runs = timed_loops()
    loop_s = statistics.median(runs)
    peak = measured_matmul_peak(device, torch.bfloat16 if device.startswith("cuda") else pipe.unet.dtype)
    achieved = step_flops * args.steps / loop_s if step_flops else None
    result = {
        "section": "loop", "model": args.model, "width": args.width, "height": args.height, "steps": args.steps,
        "guidance": guidance, "dtype": model.info.dtype, "compile": args.compile, "compile_scope": args.compile_scope,
        "layout": "channels-last" if channels_last else "contiguous", "load_s": load_s,
        "first_image_s": first_image_s, "compile_phases_s": phases, "cudnn_benchmark": args.cudnn_benchmark, "unet_step_tflop": step_flops / 1e12 if step_flops else None,
        "unet_batch": int(call_args[0].shape[0]), "loop_s": loop_s, "loop_runs_s": runs,
        "achieved_tflops": achieved / 1e12 if achieved else None, "matmul_peak_tflops": peak / 1e12,
        "fraction_of_peak": achieved / peak if achieved else None,
        "accel": model.accel,
    }  # fmt: skip
    if args.profile:
        try:
            table = profile_loop(args, model, denoise)
            result["kernels"] = table["top"]
            result["kernel_ms_by_kind"] = table["ms_by_kind"]
            result["unet_step_tflop_by_kind"] = {k: v / 1e12 for k, v in step_by_kind.items()}
            if step_by_kind:
                result["efficiency"] = efficiency(step_by_kind, args.steps, table["ms_by_kind"], peak)
        except Exception as exc:  # a profiler failure must not lose the timings above
            result["kernels"] = {"error": _first_line(exc)}
    if args.fp8:
        try:
            result["fp8"] = fp8_comparison(pipe, call_args, call_kwargs, noise, latents, loop_s, timed_loops, denoise)
        except Exception as exc:
            result["fp8"] = {"error": _first_line(exc)}
    if device.startswith("cuda"):
        result["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return result


def _first_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:300]}"


def profile_loop(args, model, denoise) -> dict:
    """One denoising loop under torch.profiler; its top 15 kernels go to --profile and into the result."""
    from torch.profiler import ProfilerActivity, profile

    device = model.info.device
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with profile(activities=activities) as prof:
        denoise()
        sync(device)
    text, table = kernel_table(prof)
    header = (f"# {args.model} {args.width}x{args.height}, {args.steps} steps, {model.info.dtype}, compile {args.compile or 'off'}"
              f" (scope {args.compile_scope}), layout {args.layout}{', fp8' if args.fp8_only else ''}\n")
    Path(args.profile).write_text(header + text)
    return table


def fp8_comparison(pipe, call_args, call_kwargs, noise, latents, loop_s, timed_loops, denoise) -> dict:
    """Quantise the UNet in place to fp8; the loop's time and the relative error of one noise prediction and of
    the final latents against the same inputs and seed before quantisation."""
    import torch

    from pipeline.models.quantize import quantize_unet

    result = {"quantize": quantize_unet(pipe.unet, "fp8")}
    with torch.inference_mode():
        noise_fp8 = pipe.unet.forward(*call_args, **call_kwargs)[0]
    runs = timed_loops()
    latents_fp8 = denoise()
    result.update(
        loop_s=statistics.median(runs), loop_runs_s=runs, speedup=loop_s / statistics.median(runs),
        noise_relative_error=relative_error(noise_fp8, noise), latents_relative_error=relative_error(latents_fp8, latents),
    )  # fmt: skip
    return result


def _spec(args, folder: Path, steps: int) -> Path:
    """A batch spec of `--images` seeds of one short prompt: one text-encoder window, no renditions."""
    policy = bench_policy(folder)
    lines = ["[defaults]", f'model = "{args.model}"', f'device = "{args.device}"', f'dtype = "{args.dtype}"',
             f"width = {args.width}", f"height = {args.height}", f"steps = {steps}",
             f"seeds = {list(range(1, args.images + 1))}", 'styles = ["none"]', 'renditions = "none"',
             f'guidelines = "{policy}"']  # fmt: skip
    if args.guidance is not None:
        lines.append(f"guidance = {args.guidance}")
    if args.compile:
        lines.append(f'compile = "{args.compile}"')
        lines.append(f'compile-scope = "{args.compile_scope}"')
    if args.fp8_only:
        lines.append('quantize = "fp8"')
    lines += ["", "[[jobs]]", f'prompt = "{PROMPT}"', ""]
    spec = folder / f"throughput-{steps}.toml"
    spec.write_text("\n".join(lines))
    return spec


def section_throughput(args) -> dict:
    """`pipeline batch` (its library function, `run_batch`) for each of --steps-list in one new process: the first
    batch loads the model and its compiled code from the cache, so its first image is a second process's first
    image; the later batches reuse the loaded model, as a long-running batch does."""
    from pipeline.batch import BatchOptions, run_batch

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for steps in args.steps_list:
            out = Path(tmp) / f"out-{steps}"
            spec = _spec(args, Path(tmp), steps)
            began = time.perf_counter()
            result = run_batch(spec, BatchOptions(out_dir=out, batch_size=args.batch_size))
            wall = time.perf_counter() - began
            summary = result.summary
            done = [image for image in result.images if image.get("json")]
            if not done:  # e.g. fp8 refused on this device: a section with no image has no figure to give
                reasons = {image.get("reason") for image in result.images} - {None}
                raise SystemExit(f"no image was made at {steps} steps: {'; '.join(sorted(reasons)) or result.summary}")
            record = json.loads((out / done[0]["json"]).read_text()) if done else {}
            runs.append({
                "steps": steps, "images": args.images, "wall_s": wall,
                **{k: summary.get(k) for k in ("done", "failed", "elapsed_s", "images_per_s", "first_image_s", "steady_images_per_s")},
                "first_image_generate_s": (record.get("timings") or {}).get("batch_generate_s"),
                "first_image_compile": (record.get("accel") or {}).get("compile"),
            })  # fmt: skip
            if len(runs) == 1:
                runs[0]["compile_phases_s"] = compile_phases()
            print(json.dumps(runs[-1]), file=sys.stderr)
    return {
        "section": "throughput", "model": args.model, "width": args.width, "height": args.height,
        "batch_size": args.batch_size, "compile": args.compile, "compile_scope": args.compile_scope, "quantize": "fp8" if args.fp8_only else None, "runs": runs, "mlperf_per_h100": MLPERF_SDXL_PER_H100,
    }  # fmt: skip


def compile_phases() -> dict | None:
    """Seconds this process spent in each phase of torch.compile so far (Dynamo's tracing, the backend's
    compile or cache load, ...), summed over graphs: where a new process's first image spends its time."""
    try:
        from torch._dynamo.utils import compile_times

        names, values = compile_times(repr="csv", aggregate=True)
        return {name: round(float(value), 3) for name, value in zip(names, values)}
    except Exception as exc:  # an internal API: its absence must not lose the throughput figures
        return {"error": _first_line(exc)}


def section_first_image(args) -> dict:
    """`pipeline generate` of one image in a new process: the whole process and the first image's own time."""
    with tempfile.TemporaryDirectory() as tmp:
        policy = bench_policy(Path(tmp))
        command = [sys.executable, "-m", "pipeline", "generate", "--model", args.model, "--prompt", PROMPT,
                   "--style", "none", "--guidelines", str(policy), "--seed", "1", "--steps", str(args.steps),
                   "--width", str(args.width), "--height", str(args.height), "--device", args.device,
                   "--dtype", args.dtype, "--renditions", "none", "--out", str(Path(tmp) / "out"), "--json", "-q"]  # fmt: skip
        if args.guidance is not None:
            command += ["--guidance", str(args.guidance)]
        if args.compile:
            command += ["--compile", "--compile-mode", args.compile]
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=child_env(None), cwd=REPO)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"pipeline generate failed ({done.returncode}): {done.stderr[-2000:]}")
        record = json.loads(Path(json.loads(done.stdout)["images"][0]["record"]).read_text())
    return {
        "section": "first-image", "model": args.model, "width": args.width, "height": args.height, "steps": args.steps,
        "compile": args.compile, "process_s": wall, "first_image_s": record["timings"]["batch_generate_s"],
        "model_load_s": record["timings"]["model_load_s"], "accel_compile": record["accel"]["compile"],
    }  # fmt: skip


SECTIONS = {"loop": section_loop, "throughput": section_throughput, "first-image": section_first_image}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("section", choices=sorted(SECTIONS))
    parser.add_argument("--model", default="sdxl-arch")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="bfloat16", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--guidance", type=float, help="default: the model's")
    parser.add_argument("--compile", help="a torch.compile mode (default, max-autotune-no-cudagraphs, ...); none: eager")
    parser.add_argument("--compile-scope", default="model", choices=["model", "blocks"], help="what --compile compiles")
    parser.add_argument("--compile-backend", default="inductor", help="loop: eager only captures graphs (a quick check)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--layout", default="as-loaded", choices=["as-loaded", "contiguous"],
                        help="loop: contiguous turns the UNet and VAE back to NCHW after loading (--compile loads them channels-last)")
    parser.add_argument("--cudnn-benchmark", action="store_true", help="loop: let cuDNN time its convolution algorithms")
    parser.add_argument("--fp8", action="store_true", help="loop: then quantise the UNet to fp8 and compare")
    parser.add_argument("--fp8-only", action="store_true", help="loop, throughput: load with --quantize fp8 (e.g. to time it compiled)")
    parser.add_argument("--profile", help="loop: write the top 15 kernels of one profiled loop to this file")
    parser.add_argument("--images", type=int, default=10, help="throughput: images in each batch")
    parser.add_argument("--steps-list", default="30,20", help="throughput: steps of each batch, in order")
    parser.add_argument("--batch-size", type=int, default=1, help="throughput: images per forward pass")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    if args.compile in (None, "none", ""):
        args.compile = None
    args.steps_list = [int(steps) for steps in args.steps_list.split(",")]
    return args


def report_compile_on_stop(began: float) -> None:
    """On SIGTERM (a section stopped at its time cap), print the compile phases so far before exiting 124:
    a compile that outlasts its cap still says where its time went."""
    import signal

    def stop(signum, frame):
        seen = {"stopped_after_s": round(time.perf_counter() - began, 1), "compile_phases_s": compile_phases()}
        print(json.dumps(seen), file=sys.stderr, flush=True)
        os._exit(124)

    signal.signal(signal.SIGTERM, stop)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.compile:
        report_compile_on_stop(time.perf_counter())
    import torch

    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    result = {**SECTIONS[args.section](args), "stamp": stamp(args.device)}
    text = json.dumps(result, indent=2, default=str)
    if args.json:
        args.json.write_text(text + "\n")
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
