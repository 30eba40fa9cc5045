"""The generate job: check inputs, apply guidelines, generate, store each image with its record."""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from pipeline import guidelines
from pipeline.errors import InputError, PromptBlocked
from pipeline.metadata import a1111_parameters, public_record
from pipeline.models.accel import AccelOptions
from pipeline.naming import image_stem
from pipeline.storage import check_writable, json_bytes, png_bytes, write_new_files

MIN_SIZE = 64
MAX_SIZE = 4096
MAX_STEPS = 500
MAX_IMAGES = 1000
RECORD_SCHEMA = 1


@dataclass(frozen=True)
class GenerateRequest:
    """Everything one `generate` needs; None means the model's default (or a random seed)."""

    prompt: str
    title: str | None = None
    source: str = "--prompt"
    model: str = "tiny"
    device: str = "auto"
    dtype: str = "auto"
    scheduler: str | None = None
    seed: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    width: int | None = None
    height: int | None = None
    num_images: int = 1
    batch_size: int = 1
    negative_prompt: str | None = None
    style: str | None = None
    out_dir: Path = Path("outputs")
    threads: int | None = None
    model_config: str | None = None
    accel: AccelOptions = AccelOptions()


@dataclass(frozen=True)
class StoredImage:
    path: Path
    record_path: Path
    seed: int
    record: dict

    def to_json(self) -> dict:
        return {"path": str(self.path), "record": str(self.record_path), "seed": self.seed}


@dataclass
class GenerateResult:
    images: list[StoredImage] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"images": [image.to_json() for image in self.images]}


def check_request(request: GenerateRequest) -> None:
    """Reject bad values before anything is loaded or written, naming the value."""
    if not request.prompt or not request.prompt.strip():
        raise InputError("the prompt is empty; give a prompt or an article whose first part is its image prompt")
    for name in ("width", "height"):
        value = getattr(request, name)
        if value is None:
            continue
        if value % 8 != 0:
            raise InputError(f"`{name}` has to be divisible by 8 but is {value}")
        if not MIN_SIZE <= value <= MAX_SIZE:
            raise InputError(f"`{name}` has to be between {MIN_SIZE} and {MAX_SIZE} but is {value}")
    steps = request.num_inference_steps
    if steps is not None and not 1 <= steps <= MAX_STEPS:
        raise InputError(f"`steps` has to be between 1 and {MAX_STEPS} but is {steps}")
    guidance = request.guidance_scale
    if guidance is not None and (not math.isfinite(guidance) or not 0 <= guidance <= 50):
        raise InputError(f"`guidance` has to be a finite number between 0 and 50 but is {guidance}")
    if not 1 <= request.num_images <= MAX_IMAGES:
        raise InputError(f"`num-images` has to be between 1 and {MAX_IMAGES} but is {request.num_images}")
    if request.batch_size < 1:
        raise InputError(f"`batch-size` has to be at least 1 but is {request.batch_size}")
    if request.seed is not None and not 0 <= request.seed < 2**63:
        raise InputError(f"`seed` has to be between 0 and 2**63-1 but is {request.seed}")
    if request.threads is not None and request.threads < 1:
        raise InputError(f"`threads` has to be at least 1 but is {request.threads}")


_MODEL_CACHE: dict[tuple, object] = {}


def get_model(request: GenerateRequest):
    """The loaded model for a request; built once per process and reused."""
    from pipeline.models.loader import load_model

    key = (request.model, request.device, request.dtype, request.scheduler, request.model_config, request.accel)
    model = _MODEL_CACHE.get(key)
    if model is None:
        model = load_model(
            request.model,
            device=request.device,
            dtype=request.dtype,
            scheduler=request.scheduler,
            threads=request.threads,
            model_config=request.model_config,
            accel=request.accel,
        )
        _MODEL_CACHE[key] = model
    elif request.threads is not None:
        import torch

        torch.set_num_threads(request.threads)
    return model


def generate(request: GenerateRequest, model=None, log=lambda message: None) -> GenerateResult:
    """Run one generate job. `model` may be injected (a LoadedModel); otherwise it is loaded."""
    # 1. Check inputs
    check_request(request)
    from pipeline.models import resolve_model_source

    resolve_model_source(request.model)  # unknown models fail before anything is loaded

    # 2. Apply guidelines
    judgement = guidelines.judge(request.prompt, style=request.style, negative_prompt=request.negative_prompt)
    if judgement.verdict == "block":
        rule = judgement.rules[0] if judgement.rules else None
        raise PromptBlocked(f"prompt refused by guideline {rule.id if rule else '?'}: {rule.matched if rule else ''}")

    # 3. Prepare the output folder and the model
    check_writable(request.out_dir)
    if model is None:
        log(f"loading model {request.model} ...")
        model = get_model(request)
    info = model.info
    width = request.width or info.default_width
    height = request.height or info.default_height
    steps = request.num_inference_steps or info.default_steps
    guidance = info.default_guidance if request.guidance_scale is None else request.guidance_scale
    base_seed = secrets.randbelow(2**32) if request.seed is None else request.seed
    seeds = [base_seed + i for i in range(request.num_images)]

    # 4. Say how the prompt fits the text encoder; never cut it silently
    tokens = model.count_tokens(judgement.prompt)
    negative_tokens = model.count_tokens(judgement.negative_prompt)
    limit = info.token_limit - 2
    long_prompt = tokens > limit or negative_tokens > limit
    if long_prompt:
        log(
            f"prompt is {tokens} tokens (negative {negative_tokens}), over the encoder's {limit}: "
            "encoding it whole in 75-token windows (compel); nothing is dropped"
        )

    # 5. Generate and store, batch by batch
    from pipeline.models.accel import memory_record
    from pipeline.models.loader import library_versions, torch_threads

    versions = library_versions()
    result = GenerateResult()
    for start in range(0, len(seeds), request.batch_size):
        batch_seeds = seeds[start : start + request.batch_size]
        log(f"generating {len(batch_seeds)} image(s), seeds {batch_seeds[0]}..{batch_seeds[-1]} ...")
        began = time.perf_counter()
        images = model.generate(
            prompt=judgement.prompt,
            negative_prompt=judgement.negative_prompt,
            num_inference_steps=steps,
            guidance_scale=guidance,
            height=height,
            width=width,
            seeds=batch_seeds,
            long_prompt=long_prompt,
        )
        elapsed = time.perf_counter() - began
        for index, (seed, image) in enumerate(zip(batch_seeds, images)):
            record = {
                "schema": RECORD_SCHEMA,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "prompt": request.prompt,
                "title": request.title,
                "options": {
                    "model": request.model,
                    "style": request.style,
                    "negative_prompt": request.negative_prompt,
                    "scheduler": request.scheduler,
                    "device": request.device,
                    "dtype": request.dtype,
                    "model_config": request.model_config,
                    "accel": request.accel.to_dict(),
                },
                "source": request.source,
                "final_prompt": judgement.prompt,
                "negative_prompt": judgement.negative_prompt,
                "guidelines": {
                    "version": judgement.guidelines_version,
                    "style": judgement.style,
                    "verdict": judgement.verdict,
                    "rules": [asdict(rule) for rule in judgement.rules],
                },
                "model": {
                    "name": request.model,
                    "source": info.source,
                    "location": info.location,
                    "revision": info.revision,
                    "pipeline_class": info.pipeline_class,
                    "family": info.family,
                },
                "scheduler": info.scheduler,
                "sampler": model.sampler_name,
                "num_inference_steps": steps,
                "guidance_scale": guidance,
                "width": width,
                "height": height,
                "seed": seed,
                "batch": {"seeds": batch_seeds, "index": index},
                "text_encoding": {
                    "tokens": tokens,
                    "negative_tokens": negative_tokens,
                    "limit": limit,
                    "method": "compel-windows" if long_prompt else "standard",
                    "dropped": "",
                },
                "device": info.device,
                "dtype": info.dtype,
                "threads": torch_threads(),
                "accel": getattr(model, "accel", None),
                "versions": versions,
                "timings": {
                    "model_load_s": round(model.load_seconds, 4),
                    "batch_generate_s": round(elapsed, 4),
                    "per_image_s": round(elapsed / len(batch_seeds), 4),
                    **memory_record(info.device),
                },
            }
            name_params = {k: record[k] for k in ("final_prompt", "negative_prompt", "model", "width", "height")}
            name_params.update(steps=steps, guidance=guidance, scheduler=info.scheduler, batch=batch_seeds)
            stem = image_stem(request.title or request.prompt, seed, name_params)
            png = png_bytes(
                image,
                {"parameters": a1111_parameters(record), "hero-pipeline": json_text(public_record(record))},
            )
            paths = write_new_files(request.out_dir, stem, {".png": png, ".json": json_bytes(record)})
            stored = StoredImage(paths[".png"], paths[".json"], seed, record)
            result.images.append(stored)
            log(f"wrote {stored.path}")
    return result


def json_text(record: dict) -> str:
    return json_bytes(record).decode()


def reproduction_request(record: dict, out_dir: Path) -> GenerateRequest:
    """The request that regenerates the batch an image came from, from its stored record."""
    batch = record["batch"]
    options = record["options"]
    return replace(
        GenerateRequest(prompt=record["prompt"]),
        title=record.get("title"),
        source=record.get("source", "--prompt"),
        model=options["model"],
        scheduler=options["scheduler"],
        negative_prompt=options["negative_prompt"],
        model_config=options["model_config"],
        accel=AccelOptions.from_dict(options.get("accel")),
        device=record["device"],
        dtype=record["dtype"],
        seed=batch["seeds"][0],
        num_images=len(batch["seeds"]),
        batch_size=len(batch["seeds"]),
        num_inference_steps=record["num_inference_steps"],
        guidance_scale=record["guidance_scale"],
        width=record["width"],
        height=record["height"],
        style=options["style"],
        threads=record["threads"],
        out_dir=out_dir,
    )
