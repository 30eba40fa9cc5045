"""Where the time of one `pipeline generate` process goes, phase by phase; medians over fresh processes.

    python bench/overhead.py [--repeats 5] -- GENERATE-ARGS...

Each repeat is a new Python process that imports `pipeline`, wraps its stages with timers (nothing else
changes) and runs `pipeline generate GENERATE-ARGS`. Phases marked "shared" are work plain diffusers
does too (bench/bare_diffusers.py); the rest is what `pipeline` adds. Nested phases are indented and are
part of the phase above them.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PHASES = (
    ("import pipeline.cli (click, every command's options)", ""),
    ("import pipeline.generate (guidelines, record, output)", ""),
    ("import torch (with pipeline.models.loader)", "shared"),
    ("guidelines: load the policy", ""),
    ("guidelines: judge the prompt", ""),
    ("load the model", ""),
    ("  import diffusers and transformers", "shared"),
    ("  diffusers from_pretrained", "shared"),
    ("  fingerprint the folder (cached hashes)", ""),
    ("  weight hashes (cached)", ""),
    ("  speed options, pipe.to", ""),
    ("text-encoder concept check (recorded)", ""),
    ("count the prompt's tokens", ""),
    ("denoise and decode (model.generate)", "shared"),
    ("build the records", ""),
    ("save: PNG, record, catalogue row", ""),
    ("  PNG encoding with metadata", "shared"),
    ("close the output folder", ""),
    ("whole process, in Python", ""),
)


def _timed(times: dict, name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.perf_counter() - began

    return wrapper


def run_once(generate_args: list[str]) -> dict:
    """Run `pipeline generate` in this process with its stages timed; the seconds by phase."""
    times: dict[str, float] = {}
    began = time.perf_counter()
    names = [name for name, _ in PHASES]

    def timed_import(name: str, module: str):
        start = time.perf_counter()
        __import__(module)
        times[name] = time.perf_counter() - start

    sys.path.insert(0, str(REPO))
    timed_import(names[0], "pipeline.cli")
    timed_import(names[1], "pipeline.generate")
    timed_import(names[2], "pipeline.models.loader")
    import pipeline.generate as generate
    import pipeline.guidelines as guidelines
    import pipeline.models.accel as accel
    import pipeline.models.loader as loader
    import pipeline.output.folder as folder
    from pipeline.cli import main

    patches = [
        (guidelines, "load_guidelines", names[3]),
        (generate, "judge_prompt", names[4]),
        (generate, "get_model", names[5]),
        (loader, "_quiet_libraries", names[6]),
        (loader, "_from_folder", names[7]),
        (loader, "folder_fingerprint", names[8]),
        (loader, "weight_hashes", names[9]),
        (accel, "apply", names[10]),
        (generate, "text_encoder_check", names[11]),
        (generate, "token_plan", names[12]),
        (loader.LoadedModel, "generate", names[13]),
        (generate, "build_record", names[14]),
        (folder.OutputFolder, "save", names[15]),
        (folder, "png_bytes", names[16]),
        (folder.OutputFolder, "__exit__", names[17]),
    ]
    for owner, attribute, name in patches:
        setattr(owner, attribute, _timed(times, name, getattr(owner, attribute)))
    main.main(["generate", *generate_args], standalone_mode=False)
    times[names[18]] = time.perf_counter() - began
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)  # one timed run, JSON on stderr
    parser.add_argument("generate_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    generate_args = args.generate_args[1:] if args.generate_args[:1] == ["--"] else args.generate_args
    if args.once:
        print("PHASES " + json.dumps(run_once(generate_args)), file=sys.stderr)
        return
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    runs = []
    for _ in range(args.repeats):
        result = subprocess.run([sys.executable, __file__, "--once", "--", *generate_args], capture_output=True,
                                text=True, env=env, cwd=REPO)  # fmt: skip
        lines = [line for line in result.stderr.splitlines() if line.startswith("PHASES ")]
        if result.returncode != 0 or not lines:
            raise SystemExit(f"pipeline generate failed ({result.returncode}):\n{result.stderr[-2000:]}")
        runs.append(json.loads(lines[-1].removeprefix("PHASES ")))
    medians = {name: statistics.median(run.get(name, 0.0) for run in runs) for name, _ in PHASES}
    print(f"| phase | median of {args.repeats} processes | |")
    print("| --- | --- | --- |")
    for name, shared in PHASES:
        print(f"| {name} | {medians[name]:.3f} s | {shared} |")
    print(json.dumps({"phases": medians, "runs": runs}))


if __name__ == "__main__":
    main()
