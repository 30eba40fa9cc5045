"""Gather the JSON of each `bench/speed.py` section into one results file and print the summary table.

    python bench/gpu_table.py SECTIONS_FOLDER RESULTS_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ORDER = ("loop-eager", "fp8-blocks", "loop-blocks", "throughput-fp8-blocks", "loop-nchw", "loop-compiled", "throughput",
         "throughput-b2", "loop-cudnn", "fp8-compiled", "throughput-fp8", "throughput-fp8-b2", "fp8-sd15",
         "throughput-blocks", "fp8-warm", "autotune")  # the last two: sections of earlier versions of the script


def fmt(value, spec: str = ".3f", unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def lines(results: dict) -> list[str]:
    out = []
    stamp = next((r["stamp"] for r in results.values() if "stamp" in r), {})
    out.append(f"card {stamp.get('gpu')}, driver {stamp.get('driver')}, torch {stamp.get('torch')}, "
               f"diffusers {stamp.get('diffusers')}, {stamp.get('date')}")  # fmt: skip
    for name in ORDER:
        r = results.get(name)
        if r is None:
            continue
        if "skipped" in r or "failed" in r:
            out.append(f"{name:<22} {r.get('skipped') or r.get('failed')}")
            continue
        if r["section"] == "loop":
            compiled = r["accel"]["compile"]
            cache = compiled.get("cache") if isinstance(compiled, dict) else None
            out.append(
                f"{name:<22} {r['model']} {r['width']}x{r['height']} {r['steps']} steps {r['dtype']}: loop {fmt(r['loop_s'])} s, "
                f"{fmt(r['achieved_tflops'], '.4g')} TFLOP/s = {fmt(r['fraction_of_peak'] and 100 * r['fraction_of_peak'], '.1f')}% of "
                f"{fmt(r['matmul_peak_tflops'], '.4g')} (step {fmt(r['unet_step_tflop'], '.2f')} TFLOP); first image "
                f"{fmt(r['first_image_s'], '.1f')} s (load {fmt(r['load_s'], '.1f')} s); compile cache {cache}"
                + (f", scope {compiled.get('scope')}" if isinstance(compiled, dict) else "")
                + (", cuDNN benchmark on" if r.get("cudnn_benchmark") else "")
                + (f", layout {r['layout']}" if r.get("layout") else "")
                + (", fp8" if (r.get("accel") or {}).get("quantize") else "")
            )
            out += phase_line(r.get("compile_phases_s"), "first image's compile phases (s)")
            fp8 = r.get("fp8")
            if fp8 and "error" in fp8:
                out.append(f"{'':<22} fp8: {fp8['error']}")
            elif fp8:
                out.append(
                    f"{'':<22} fp8 (eager): loop {fmt(fp8['loop_s'])} s, x{fmt(fp8['speedup'], '.2f')}; relative error "
                    f"noise {fmt(fp8['noise_relative_error'], '.4f')}, latents {fmt(fp8['latents_relative_error'], '.4f')}"
                )
            if isinstance(r.get("kernels"), dict):
                out.append(f"{'':<22} profile: {r['kernels']['error']}")
            eff = r.get("efficiency")
            if eff:
                kinds = ", ".join(
                    f"{kind} {row['ms']:.0f} ms" + (f" at {100 * row['share_of_peak']:.0f}%" if row["share_of_peak"] else "")
                    for kind, row in sorted(eff["kinds"].items(), key=lambda item: -item[1]["ms"]))  # fmt: skip
                out.append(f"{'':<22} kernels: {kinds}; with every FLOP at the peak and the rest as measured, the loop "
                           f"would take {fmt(eff['loop_at_peak_s'])} s = {fmt(eff['ceiling_share_of_peak'] and 100 * eff['ceiling_share_of_peak'], '.1f')}% of peak")  # fmt: skip
        elif r["section"] == "throughput":
            batch = f" batch size {r['batch_size']}" if (r.get("batch_size") or 1) > 1 else ""
            for run in r["runs"]:
                out.append(
                    f"{name:<22} {r['model']} {r['width']}x{r['height']}{' fp8' if r.get('quantize') else ''}"
                    f"{' blocks' if r.get('compile_scope') == 'blocks' else ''}"
                    f"{batch}"
                    f" {run['steps']} steps, {run['done']}/{run['images']} images: "
                    f"{fmt(run['steady_images_per_s'], '.2f')} images/s after the first ({fmt(run['images_per_s'], '.2f')} with "
                    f"loading); first image at {fmt(run['first_image_s'], '.1f')} s, its generate "
                    f"{fmt(run['first_image_generate_s'], '.2f')} s, compile cache "
                    f"{(run['first_image_compile'] or {}).get('cache') if isinstance(run['first_image_compile'], dict) else None}"
                )
            out += phase_line((r["runs"] or [{}])[0].get("compile_phases_s"), "first batch's compile phases (s)")
            out.append(f"{'':<22} MLPerf Inference SDXL, H100 with TensorRT: about {r['mlperf_per_h100']} images/s per GPU")
    out += reuse(results)
    return out


def phase_line(phases: dict | None, title: str) -> list[str]:
    """The six longest of torch.compile's phases, as one line (none when nothing was compiled)."""
    if not phases:
        return []
    top = sorted(((k, v) for k, v in phases.items() if isinstance(v, (int, float))), key=lambda kv: -kv[1])[:6]
    return [f"{'':<22} {title}: " + ", ".join(f"{k} {v:.1f}" for k, v in top)]


def reuse(results: dict) -> list[str]:
    """Each new process's first image with the compile cache against an eager first image, at the same steps."""
    eager = results.get("loop-eager", {})
    out = []
    for name in ("throughput", "throughput-blocks", "throughput-fp8-blocks", "throughput-fp8", "throughput-fp8-b2"):
        batch = results.get(name, {})
        if "first_image_s" not in eager or not batch.get("runs"):
            continue
        first = batch["runs"][0]
        if first["steps"] != eager["steps"] or not first.get("first_image_generate_s"):
            continue
        ratio = first["first_image_generate_s"] / eager["first_image_s"]
        compiled = first.get("first_image_compile")
        cache = compiled.get("cache") if isinstance(compiled, dict) else None
        out.append(f"{'compile reuse':<22} {name}: new process's first image with the cache ({cache}) "
                   f"{first['first_image_generate_s']:.2f} s / eager first image {eager['first_image_s']:.2f} s = "
                   f"{ratio:.2f}x (target <= 1.5x); model loading excluded on both sides")  # fmt: skip
    return out


def main(folder: str, target: str) -> None:
    results = {}
    for path in sorted(Path(folder).glob("*.json")):
        try:
            results[path.stem] = json.loads(path.read_text())
        except ValueError as exc:
            results[path.stem] = {"failed": f"unreadable JSON ({exc})"}
    Path(target).write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(lines(results)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
