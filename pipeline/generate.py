"""The generate job: check inputs, apply guidelines, generate, store each image with its record."""

from __future__ import annotations

import functools
import math
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from pipeline import guidelines
from pipeline.errors import InputError, PromptBlocked
from pipeline.models.accel import AccelOptions
from pipeline.naming import image_stem, slug
from pipeline.publish import PublishOptions
from pipeline.storage import check_writable
from pipeline.store import Store

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
    guidelines: Path | None = None
    safety: str | None = None
    nsfw_check: str | None = None
    clip_check: str | None = None
    seeds: tuple[int, ...] | None = None  # explicit seeds; when given, `seed` and `num_images` are not used
    batch_key: str | None = None  # set by batch runs and kept in the record, so a rerun can find the image
    publish: PublishOptions | None = None
    watermark: bool = False  # SDXL's invisible watermark (diffusers' `add_watermarker`); off unless asked for


@dataclass(frozen=True)
class StoredImage:
    path: Path
    record_path: Path
    seed: int
    record: dict
    reasons: tuple[str, ...] = ()
    id: int | None = None
    renditions: tuple = ()
    image: object = None  # the pixels, kept by a store that writes no file (path None)

    def to_json(self) -> dict:
        data = {"id": self.id, "path": str(self.path), "record": str(self.record_path), "seed": self.seed}
        data.update(flagged=bool(self.reasons), reasons=list(self.reasons))
        data["rewrites"] = rewrites(self.record)
        data["renditions"] = [{k: r[k] for k in ("name", "format", "path", "width", "height", "upscaled")} for r in self.renditions]
        return data


@dataclass
class GenerateResult:
    images: list[StoredImage] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"images": [image.to_json() for image in self.images]}


def rewrites(record: dict) -> list[dict]:
    """What the guidelines rewrote in the prompt: [{"rule", "from", "to"}], as `check-prompt` reports it; a
    harmful detail taken out of a news prompt has "to": ""."""
    rules = (record.get("guidelines") or {}).get("rules") or []
    return [{"rule": r["id"], "from": r["matched"], "to": r["replacement"] or ""} for r in rules
            if r["action"] in ("rewrite", "remove")]


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
    for seed in (request.seed,) if request.seeds is None else request.seeds:
        if seed is not None and not 0 <= seed < 2**63:
            raise InputError(f"`seed` has to be between 0 and 2**63-1 but is {seed}")
    if request.seeds is not None and not 1 <= len(request.seeds) <= MAX_IMAGES:
        raise InputError(f"`seeds` has to hold between 1 and {MAX_IMAGES} seeds but holds {len(request.seeds)}")
    if request.safety is not None and request.safety not in guidelines.STRENGTHS:
        raise InputError(f"`safety` has to be one of {', '.join(guidelines.STRENGTHS)} but is {request.safety!r}")
    if request.threads is not None and request.threads < 1:
        raise InputError(f"`threads` has to be at least 1 but is {request.threads}")


_MODEL_CACHE: dict[tuple, object] = {}


def get_model(request: GenerateRequest):
    """The loaded model for a request; built once per process and reused."""
    from pipeline.models.loader import load_model

    key = (request.model, request.device, request.dtype, request.scheduler, request.model_config, request.accel, request.watermark)
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
            watermark=request.watermark,
        )
        _MODEL_CACHE[key] = model
    elif request.threads is not None:
        import torch

        torch.set_num_threads(request.threads)
    return model


def generate(request: GenerateRequest, model=None, log=lambda message: None, store=None, on_step=None) -> GenerateResult:
    """Run one generate job. `model` may be injected (a LoadedModel); otherwise it is loaded.

    `on_step(seeds, done, total)` is told of each denoising step of the batch of `seeds` (for progress).

    `store(out_dir, record, image) -> StoredImage` may replace `store_image`, e.g. to hand images to
    another process that writes them; it is then responsible for its destination.
    """
    # 1. Check inputs
    check_request(request)
    from pipeline.models import resolve_model_source

    resolve_model_source(request.model)  # unknown models fail before anything is loaded

    # 2. Apply guidelines
    policy = guidelines.load_guidelines(request.guidelines)
    judgement = guidelines.judge(
        request.prompt, style=request.style, negative_prompt=request.negative_prompt, guidelines=policy
    )
    if judgement.verdict == "block":
        raise PromptBlocked(judgement.refusal(), details=judgement.summary())
    for rule in judgement.rules:
        if rule.action == "rewrite":
            log(f"guideline {rule.id} rewrote {rule.matched!r} as {rule.replacement!r}")
        elif rule.action == "remove":
            log(f"guideline {rule.id} took {rule.matched!r} out of the news prompt")

    # 3. Prepare the output folder and the model
    catalogued = None
    if store is None:
        check_writable(request.out_dir)
        catalogued = Store(request.out_dir, command="generate", options=asdict(request), log=log)
        store = functools.partial(store_image, publish=request.publish, catalogued=catalogued)
    from pipeline.image_checks import load_checks, run_checks

    checks = load_checks(nsfw=request.nsfw_check, clip=request.clip_check, guidelines=policy)
    if model is None:
        log(f"loading model {request.model} ...")
        model = get_model(request)
    info = model.info
    width = request.width or info.default_width
    height = request.height or info.default_height
    steps = request.num_inference_steps or info.default_steps
    guidance = info.default_guidance if request.guidance_scale is None else request.guidance_scale
    base_seed = secrets.randbelow(2**32) if request.seed is None else request.seed
    seeds = list(request.seeds) if request.seeds is not None else [base_seed + i for i in range(request.num_images)]
    safety = model.safety_guidance(request.safety or policy.safety_strength, policy.safety_concept, guidance)
    if safety["note"]:
        log(safety["note"])
    for rendition in rendition_plan(request.publish, width, height):
        if rendition["enlarged"]:
            log(
                f"rendition {rendition['name']} ({rendition['width']}x{rendition['height']}) enlarges the {width}x{height} "
                f"image x{rendition['scale']:g} ({rendition['upscaler'] or 'Lanczos resampling'})"
            )

    # 4. Score the final prompt with the model's own text encoder against the policy's concepts (recorded)
    text_check = None
    if policy.image_concepts and hasattr(model, "text_concept_check"):
        text_check = model.text_concept_check(judgement.subject, policy.image_concepts, policy.image_neutral)
        text_check.update(threshold=policy.image_threshold,
                          flagged=text_check["concept_share"] >= policy.image_threshold)
        if text_check["flagged"]:
            log(f"the model's text encoder puts the final prompt near {text_check['nearest_concept']!r} "
                f"({text_check['concept_share']:.2f} >= {policy.image_threshold}); recorded")

    # 5. Say how the prompt fits the text encoder; never cut it silently
    tokens = model.count_tokens(judgement.prompt)
    negative_tokens = model.count_tokens(judgement.negative_prompt)
    limit = info.token_limit - 2
    long_prompt = tokens > limit or negative_tokens > limit
    if long_prompt:
        log(
            f"prompt is {tokens} tokens (negative {negative_tokens}), over the encoder's {limit}: "
            "encoding it whole in 75-token windows (compel); nothing is dropped"
        )

    # 6. Generate and store, batch by batch
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
            safety=safety,
            on_step=None if on_step is None else functools.partial(on_step, batch_seeds),
        )
        elapsed = time.perf_counter() - began
        flags = run_checks(checks, images)
        for index, (seed, image, reasons) in enumerate(zip(batch_seeds, images, flags)):
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
                    "guidelines": str(request.guidelines) if request.guidelines else None,
                    "safety": request.safety,
                    "nsfw_check": request.nsfw_check,
                    "clip_check": request.clip_check,
                },
                "source": request.source,
                "final_prompt": judgement.prompt,
                "negative_prompt": judgement.negative_prompt,
                "guidelines": {
                    "version": judgement.guidelines_version,
                    "digest": judgement.guidelines_digest,
                    "vocabulary_digest": judgement.vocabulary_digest,
                    "source": policy.source,
                    "text_check": text_check,
                    "style": judgement.style,
                    "verdict": judgement.verdict,
                    "rules": [asdict(rule) for rule in judgement.rules],
                },
                "safety_guidance": safety,
                "image_checks": {
                    "run": [check.name for check in checks],
                    "flagged": bool(reasons),
                    "reasons": reasons,
                    "publishable": not reasons,
                },
                "model": {
                    "name": request.model,
                    "source": info.source,
                    "location": info.location,
                    "revision": info.revision,
                    "pipeline_class": info.pipeline_class,
                    "family": info.family,
                    "hashes": info.hashes,
                },
                "scheduler": info.scheduler,
                "sampler": model.sampler_name,
                "schedule_type": model.schedule_type,
                "watermark": {"invisible": info.watermark, "asked": request.watermark},
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
            if request.batch_key is not None:
                record["batch_key"] = request.batch_key
            if reasons:
                log(f"flagged ({'; '.join(reasons)}): kept in quarantine")
            stored = store(request.out_dir, record, image)
            result.images.append(stored)
            if stored.path is not None:
                log(f"wrote {stored.path}")
    if catalogued is not None:
        catalogued.close("done")
    return result


def rendition_plan(publish: PublishOptions | None, width: int | None, height: int | None) -> list[dict]:
    """Each rendition that would be published, with whether (and how much) it enlarges the generated image."""
    if publish is None:
        return []
    plans = []
    for spec in publish.renditions:
        scale = max(spec.width / width, spec.height / height) if width and height else None
        plans.append({
            "name": spec.name, "width": spec.width, "height": spec.height, "formats": list(publish.formats),
            "enlarged": None if scale is None else scale > 1,
            "scale": None if scale is None else round(scale, 2),
            "upscaler": publish.upscaler,
        })  # fmt: skip
    return plans


def plan(request: GenerateRequest) -> dict:
    """What `generate` would do, checked as far as it can be without loading weights or writing anything:
    inputs, the guidelines' verdict and final prompt, the model, size, output folder and renditions.

    A prompt the guidelines refuse still gets its plan (verdict `block`); the caller decides the exit.
    """
    from pipeline.models import describe_source, resolve_model_source
    from pipeline.models.tokenizer import folder_tokenizer

    # 1. Check inputs
    check_request(request)
    model = describe_source(resolve_model_source(request.model))
    check_writable(request.out_dir)

    # 2. Apply guidelines
    policy = guidelines.load_guidelines(request.guidelines)
    judgement = guidelines.judge(
        request.prompt, style=request.style, negative_prompt=request.negative_prompt, guidelines=policy
    )

    # 3. What would be made
    width = request.width or model["width"]
    height = request.height or model["height"]
    steps = request.num_inference_steps or model["num_inference_steps"]
    guidance = model["guidance_scale"] if request.guidance_scale is None else request.guidance_scale
    if request.seeds is not None:
        seeds: list = list(request.seeds)
    elif request.seed is not None:
        seeds = [request.seed + i for i in range(request.num_images)]
    else:
        seeds = [None] * request.num_images  # random, drawn when generating
    tokenizer = folder_tokenizer(model)
    tokens = None
    if tokenizer is not None:
        count = lambda text: len(tokenizer(text, add_special_tokens=False, truncation=False).input_ids)  # noqa: E731
        limit = tokenizer.model_max_length - 2
        tokens = {"prompt": count(judgement.prompt), "negative": count(judgement.negative_prompt), "limit": limit}
        tokens["long_prompt"] = max(tokens["prompt"], tokens["negative"]) > limit
    folder = request.out_dir
    stem = slug(request.title or request.prompt)
    return {
        "prompt": request.prompt,
        "title": request.title,
        "source": request.source,
        "guidelines": {**judgement.summary(), "style": judgement.style, "source": policy.source},
        "model": {key: value for key, value in model.items() if key != "folder"},
        "width": width,
        "height": height,
        "num_inference_steps": steps,
        "guidance_scale": guidance,
        "seeds": seeds,
        "batch_size": request.batch_size,
        "tokens": tokens,
        "out": str(folder),
        "out_exists": folder.is_dir(),
        "files": [
            str(folder / f"{stem}-{'<seed>' if seed is None else seed}-<hash>{suffix}") for seed in seeds for suffix in (".png", ".json")
        ],
        "renditions": rendition_plan(request.publish, width, height),
    }


def store_image(out_dir: Path, record: dict, image, publish: PublishOptions | None = None, catalogued=None) -> StoredImage:
    """Write one image as PNG (parameters embedded), its renditions and JSON record, atomically, under new
    names, and index it in the output folder's catalogue (`catalogued`, or one shared by this process).

    A flagged image goes to the quarantine folder instead of `out_dir`.
    """
    from pipeline.image_checks import destination
    from pipeline.store import shared_store

    safety = record["safety_guidance"]
    reasons = record["image_checks"]["reasons"]
    name_params = {k: record[k] for k in ("final_prompt", "negative_prompt", "model", "width", "height")}
    name_params.update(
        steps=record["num_inference_steps"], guidance=record["guidance_scale"], scheduler=record["scheduler"],
        batch=record["batch"]["seeds"], device=record["device"], dtype=record["dtype"],
        safety=[safety["method"], safety["strength"], safety["concept"]],
    )
    stem = image_stem(record["title"] or record["prompt"], record["seed"], name_params)
    if reasons and publish is not None and publish.renditions:
        # A flagged image is kept for review, never published: it gets no renditions.
        record = {**record, "renditions_withheld": "flagged by the image checks"}
        publish = replace(publish, renditions=())
    catalogued = catalogued or shared_store(out_dir)
    files = catalogued.save(image, record, stem, publish, folder=destination(out_dir, reasons))
    paths = files.paths
    return StoredImage(
        paths[".png"], paths[".json"], record["seed"], files.record, tuple(reasons), files.image_id, tuple(files.renditions)
    )


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
        seeds=tuple(batch["seeds"]),
        batch_size=len(batch["seeds"]),
        num_inference_steps=record["num_inference_steps"],
        guidance_scale=record["guidance_scale"],
        width=record["width"],
        height=record["height"],
        style=options["style"],
        guidelines=Path(options["guidelines"]) if options.get("guidelines") else None,
        safety=record.get("safety_guidance", {}).get("strength") or options.get("safety"),
        nsfw_check=options.get("nsfw_check"),
        clip_check=options.get("clip_check"),
        threads=record["threads"],
        watermark=bool((record.get("watermark") or {}).get("asked", False)),
        out_dir=out_dir,
    )
