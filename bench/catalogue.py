"""Benchmark the catalogue at a newsroom's scale: list, show, doctor and storing one more, at growing sizes.

    python bench/catalogue.py [--sizes 1000,10000,100000] [--folder DIR] [--repeats 3] [--out bench/results]

The folder grows through the library's own API (`pipeline.output.folder.Store.save`, the path every generated
image takes: files written atomically, renditions rendered, one catalogue transaction), from one
record and image that `pipeline generate --model tiny` makes at the start. Each image gets its own
prompt, title, seed, pixels, model and creation time (five minutes apart); one in fifty is flagged and
quarantined, the others get four small WebP renditions. At each size, `pipeline` runs as a fresh process:
`list --json`, `list --jsonl --search ... --limit 20`, `show N --json`, `doctor --dry-run --json`,
and storing one more image. A kept --folder is grown further on the next run instead of rebuilt.

Targets: `list --json` of 100,000 images in at most 2 s, per-image time at most 1.25x that of the size
before (linear growth), peak memory under 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RENDITIONS = "hero=64x27,og=64x34,square=48x48,thumb=64x36"
FORMATS = "webp"
MODELS = ("tiny", "sdxl", "sd15", "ssd-1b")
HEADLINES = (
    "Escalating tensions on the peninsula",
    "Floods reshape the river delta",
    "Central bank holds rates steady",
    "A new bridge opens after ten years",
    "Harvest festival returns to the old town",
    "Election night in the capital",
    "Wildfire season arrives early",
    "The last ferry of the winter",
)
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
TARGETS = {"list_json_100k_s": 2.0, "growth_vs_linear": 1.25, "peak_rss_mb": 200.0}


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PIPELINE_THREADS", "1")
    return env


PEAK = "VmHWM-kB:"
_PEAK_WRAPPER = (
    "import atexit, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    f"            sys.stderr.write('\\n{PEAK}' + line.split()[1] + '\\n')\n"
    "atexit.register(peak)\n"
    "sys.argv[0] = 'pipeline'\n"
    "from pipeline.cli import main\n"
    "main(prog_name='pipeline')\n"
)


def pipeline(*args: str) -> list[str]:
    """`pipeline ARGS` in a fresh interpreter that reports its own peak memory (VmHWM) on stderr at exit.

    Not wait4's ru_maxrss: on Linux that keeps the high-water mark of the process before its exec, so a
    child of this (large) benchmark process would seem as large as the benchmark.
    """
    return [sys.executable, "-c", _PEAK_WRAPPER, *args]


def run_timed(cmd: list[str], *, ok=(0,)) -> dict:
    """Run `cmd` as a fresh process; wall time, peak memory (as the child reports it), exit code, stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=child_env(), cwd=REPO)
        _, status, _ = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if code not in ok:
        raise SystemExit(f"benchmark command failed ({code}): {' '.join(cmd)}\n{stderr[-2000:]}")
    reported = [line for line in stderr.splitlines() if line.startswith(PEAK)]
    peak = int(reported[-1][len(PEAK):]) / 1024 if reported else None
    return {"wall_s": wall, "peak_rss_mb": peak, "rc": code, "stdout": stdout}


def template(folder: Path) -> tuple[dict, bytes]:
    """A real record and master image from `pipeline generate --model tiny` (in `folder`)."""
    cmd = [sys.executable, "-m", "pipeline", "generate", "--model", "tiny", "--steps", "2", "--seed", "1"]
    cmd += ["--prompt", HEADLINES[0], "--renditions", "none", "--out", str(folder), "--json"]
    result = run_timed(cmd)
    [image] = json.loads(result["stdout"])["images"]
    record = json.loads(Path(image["record"]).read_text())
    for key in ("renditions", "publishing", "image_sha256"):
        record.pop(key, None)
    return record, Path(image["path"]).read_bytes()


class Grower:
    """Stores images into a folder, each one different, numbered from what is there.

    `pool=0`: every image through `OutputFolder.save` (render, encode, write, catalogue). `pool=N`: renditions
    and master PNG are rendered once for N pixel sets and reused; each image still gets its own record,
    its own files written by `write_new_files` and its own catalogue transaction (`Catalogue.add_image`),
    the two calls saving an image ends with. Rendering is not what the catalogue benchmark measures, and
    rendering every image would take hours at 100,000 on two cores.
    """

    def __init__(self, root: Path, record: dict, png: bytes, pool: int = 0):
        from PIL import Image

        from pipeline.output.catalogue import Catalogue
        from pipeline.publish.encodings import publish_options
        from pipeline.output.folder import OutputFolder

        self.root, self.record = root, record
        with Image.open(__import__("io").BytesIO(png)) as image:
            self.size = image.size
            self.mode = image.mode
        self.publish = publish_options(renditions=RENDITIONS, formats=FORMATS)
        self.bare = publish_options(renditions="none")
        self.store = OutputFolder(root, command="bench", options={"sizes": "grow"}, log=lambda message: None)
        self.count = 0
        if (root / "catalogue.sqlite").exists():
            with Catalogue.open(root, create=False) as catalogue:
                self.count = catalogue.count()
        self.Image = Image
        self.pool_size, self.pool, self.catalogue = pool, {}, None

    def pixels(self, seed: int):
        rng = random.Random(seed)
        return self.Image.frombytes(self.mode, self.size, rng.randbytes(self.size[0] * self.size[1] * len(self.mode)))

    def pooled(self, k: int, record: dict) -> tuple[dict, list, bytes]:
        """Rendition files, what was rendered, and master PNG of pixel set `k` (made once)."""
        if k not in self.pool:
            from pipeline.publish.encodings import embedded_metadata, render_files
            from pipeline.output.files import png_bytes

            image = self.pixels(10**9 + k)
            files, rendered = render_files(image, record, self.publish)
            parameters, _ = embedded_metadata(record)
            self.pool[k] = (files, rendered, png_bytes(image, {"parameters": parameters}))
        return self.pool[k]

    def add_pooled(self, i: int, record: dict, flagged: bool) -> None:
        from pipeline.output.catalogue import ImageEntry, RenditionEntry, checks_from_record
        from pipeline.output.files import bytes_sha256, json_bytes, write_new_files
        from pipeline.output.folder import open_catalogue

        if self.catalogue is None:
            self.catalogue = open_catalogue(self.root)
            self.run_id = self.catalogue.start_run("bench", {"pool": self.pool_size})
        record = {**record, "publishing": {**self.publish.to_dict(), "alt_text": record["prompt"]}}
        files, rendered, png = self.pooled(i % self.pool_size, record)
        if flagged:
            files, rendered = {}, []
        record["renditions"] = rendered
        record["image_sha256"] = bytes_sha256(png)
        data = json_bytes(record)
        folder = self.root / "quarantine" if flagged else self.root
        folder.mkdir(exist_ok=True)
        paths = write_new_files(folder, f"bench-{i}", {**files, ".png": png, ".json": data})
        relative = self.catalogue.relative
        self.catalogue.add_image(self.run_id, ImageEntry(
            path=relative(paths[".png"]), record_path=relative(paths[".json"]), sha256=record["image_sha256"],
            record_sha256=bytes_sha256(data), record=record, status="flagged" if flagged else "ok",
            renditions=[
                RenditionEntry(r["name"], r["format"], relative(paths[r["suffix"]]), r["width"], r["height"], r["sha256"], r["upscaled"], r["scale"])
                for r in rendered
            ],
            checks=checks_from_record(record),
        ))

    def add(self, i: int | None = None) -> float:
        """Store image number `i` (default: the next after those there)."""
        i = self.count if i is None else i
        headline = HEADLINES[i % len(HEADLINES)]
        record = {
            **self.record,
            "prompt": f"{headline}, seen as a chessboard from above, image {i}",
            "title": f"{headline} ({i})",
            "seed": i,
            "created": (START + timedelta(minutes=5 * i)).isoformat(timespec="seconds"),
            "options": {**self.record.get("options", {}), "model": MODELS[i % len(MODELS)]},
        }
        flagged = i % 50 == 49
        if flagged:
            record["image_checks"] = {"reasons": ["bench: flagged for review"], "flagged": True}
        began = time.perf_counter()
        if self.pool_size:
            self.add_pooled(i, record, flagged)
        else:
            from pipeline.record import Record

            self.store.save(self.pixels(i), Record.from_dict(record), self.bare if flagged else self.publish)
        self.count += 1
        return time.perf_counter() - began

    def grow_to(self, size: int, jobs: int = 1) -> None:
        """Store images until there are `size`, in `jobs` processes at once (concurrent writers, as in a batch)."""
        if jobs > 1 and size - self.count > jobs:
            start = self.count
            children = [
                subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--grow", str(self.root),
                                  f"{start + k}:{size}:{jobs}", "--pool", str(self.pool_size)], env=child_env(), cwd=REPO)
                for k in range(jobs)
            ]
            if any(child.wait() != 0 for child in children):
                raise SystemExit("a process growing the folder failed")
            self.count = size
            return
        began, start = time.perf_counter(), self.count
        while self.count < size:
            self.add()
            if self.count % 5000 == 0:
                rate = (self.count - start) / (time.perf_counter() - began)
                print(f"  {self.count} images ({rate:.0f}/s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        self.store.close()
        if self.catalogue is not None:
            self.catalogue.finish_run(self.run_id, "done")
            self.catalogue.close()
            self.catalogue = None


def store_one(root: str) -> None:
    """Child process: store one more image through a fresh Store (as a new `generate` run would) and time it."""
    folder = Path(root)
    record, png = load_template(folder)
    began = time.perf_counter()
    grower = Grower(folder, record, png)
    grower.add()
    grower.close()
    print(json.dumps({"store_s": time.perf_counter() - began}))


def grow_part(root: str, numbers: str, pool: int) -> None:
    """Child process: store images number START, START+STEP, ... below STOP (`START:STOP:STEP`)."""
    folder = Path(root)
    record, png = load_template(folder)
    grower = Grower(folder, record, png, pool)
    start, stop, step = map(int, numbers.split(":"))
    for i in range(start, stop, step):
        grower.add(i)
        if i % 5000 < step:
            print(f"  image {i}", file=sys.stderr, flush=True)
    grower.close()


def template_paths(root: Path) -> tuple[Path, Path]:
    """Beside the folder, not in it (a record in it would be an image the catalogue lacks)."""
    return root.with_name(f"{root.name}.bench-template.json"), root.with_name(f"{root.name}.bench-template.png")


def load_template(root: Path) -> tuple[dict, bytes]:
    record_path, png_path = template_paths(root)
    return json.loads(record_path.read_text()), png_path.read_bytes()


def measure(root: Path, size: int, repeats: int) -> dict:
    """Time each command on the folder as it is (`size` images)."""
    result: dict = {"images": size}
    listed = [run_timed(pipeline("list", "--json", "--out", str(root))) for _ in range(repeats)]
    text = listed[0]["stdout"]
    count = len(json.loads(text)) if size <= 20000 else text.count('{"id":')
    assert count == size, f"list --json gave {count} entries, not {size}"
    result["list_json"] = summarise(listed) | {"bytes": len(text)}
    filtered = [
        run_timed(pipeline("list", "--jsonl", "--search", "ferry", "--status", "ok", "--since", "2026-01-01", "--limit", "20", "--out", str(root)))
        for _ in range(repeats)
    ]
    assert len(filtered[0]["stdout"].splitlines()) <= 20
    result["list_filtered"] = summarise(filtered)
    middle = str(size // 2)
    shown = [run_timed(pipeline("show", middle, "--json", "--out", str(root))) for _ in range(repeats)]
    assert json.loads(shown[0]["stdout"])["id"] == int(middle)
    result["show"] = summarise(shown)
    checked = run_timed(pipeline("doctor", "--dry-run", "--json", "--out", str(root)))
    assert json.loads(checked["stdout"])["consistent"] is True, checked["stdout"][:2000]
    result["doctor_dry_run"] = summarise([checked])
    stored = run_timed([sys.executable, str(Path(__file__).resolve()), "--store-one", str(root)])
    result["store_one"] = summarise([stored]) | {"store_s": json.loads(stored["stdout"])["store_s"]}
    return result


def summarise(runs: list[dict]) -> dict:
    return {
        "median_s": statistics.median(r["wall_s"] for r in runs),
        "runs_s": [round(r["wall_s"], 4) for r in runs],
        "peak_rss_mb": max((r["peak_rss_mb"] for r in runs if r["peak_rss_mb"] is not None), default=None),
    }


def targets(results: list[dict]) -> list[dict]:
    checks = []
    large = [r for r in results if r["images"] >= 100000]
    if large:
        value = large[0]["list_json"]["median_s"]
        checks.append({"target": f"list --json of {large[0]['images']:,} images (s)", "value": value, "limit": TARGETS["list_json_100k_s"]})
    for smaller, larger in zip(results, results[1:]):
        for command in ("list_json", "doctor_dry_run"):
            per_small = smaller[command]["median_s"] / smaller["images"]
            per_large = larger[command]["median_s"] / larger["images"]
            checks.append({
                "target": f"{command} per image, {larger['images']} vs {smaller['images']} (x of linear)",
                "value": per_large / per_small, "limit": TARGETS["growth_vs_linear"],
            })
    for r in results:
        if r["list_json"]["peak_rss_mb"] is None:
            continue
        checks.append({"target": f"list --json peak memory at {r['images']} (MB)", "value": r["list_json"]["peak_rss_mb"], "limit": TARGETS["peak_rss_mb"]})
    for check in checks:
        check["met"] = check["value"] <= check["limit"]
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="Catalogue sizes, ascending (default %(default)s).")
    parser.add_argument("--folder", type=Path, help="Output folder to grow (kept); default: a temporary one.")
    parser.add_argument("--repeats", type=int, default=3, help="Runs of list and show per size (median).")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="Where to save the results JSON.")
    parser.add_argument("--jobs", type=int, default=1, help="Processes storing images at once while growing.")
    parser.add_argument("--pool", type=int, default=16,
                        help="Render renditions once for this many pixel sets and reuse them (0: every image through Store.save).")
    parser.add_argument("--store-one", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--grow", nargs=2, metavar=("DIR", "START:STOP:STEP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.store_one:
        return store_one(args.store_one)
    if args.grow:
        return grow_part(*args.grow, args.pool)
    sizes = [int(s) for s in args.sizes.split(",")]
    if sizes != sorted(sizes) or sizes[0] < 1:
        parser.error("--sizes must be positive and ascending")
    temporary = None if args.folder else tempfile.TemporaryDirectory(prefix="catalogue-bench-")
    root = args.folder or Path(temporary.name) / "out"
    root.mkdir(parents=True, exist_ok=True)
    record_path, png_path = template_paths(root)
    if not record_path.exists():
        with tempfile.TemporaryDirectory(prefix="catalogue-bench-template-") as folder:
            record, png = template(Path(folder))
        record_path.write_text(json.dumps(record))
        png_path.write_bytes(png)
    record, png = load_template(root)
    results = []
    for size in sizes:
        grower = Grower(root, record, png, args.pool)
        print(f"growing {root} to {size} images (from {grower.count})", file=sys.stderr, flush=True)
        began, before = time.perf_counter(), grower.count
        grower.grow_to(size, args.jobs)
        grower.close()
        build = time.perf_counter() - began
        added, size = grower.count - before, grower.count
        print(f"measuring at {size} images", file=sys.stderr, flush=True)
        result = measure(root, size, args.repeats)
        result["build"] = {"added": added, "seconds": build}
        results.append(result)
        print(
            f"{size:>7} images: list --json {result['list_json']['median_s']:.3f} s ({result['list_json']['peak_rss_mb'] or 0:.0f} MB peak), "
            f"filtered list {result['list_filtered']['median_s']:.3f} s, show {result['show']['median_s']:.3f} s, "
            f"doctor --dry-run {result['doctor_dry_run']['median_s']:.2f} s, store one more {result['store_one']['store_s']:.3f} s "
            f"(process {result['store_one']['median_s']:.2f} s)",
            flush=True,
        )
        # The extra image stored by the measurement stays: the next size grows from there.
    checks = targets(results)
    for check in checks:
        print(f"{'met' if check['met'] else 'MISSED'}: {check['target']}: {check['value']:.3f} (limit {check['limit']})")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"{stamp}-catalogue.json"
    data = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "renditions": RENDITIONS, "formats": FORMATS, "results": results, "targets": checks,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"results: {path}")
    if temporary:
        temporary.cleanup()


if __name__ == "__main__":
    main()
