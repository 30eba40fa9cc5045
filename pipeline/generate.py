"""The generate stage: check a request, apply the guidelines, run the model, and give each image with its record.

It stores nothing. `pipeline generate` saves each image into an output folder (pipeline.output.OutputFolder);
`reproduce` compares it with a stored master; a batch worker hands it to the process that stores it.
"""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass
from typing import Iterator

from pipeline import guidelines
from pipeline.errors import PromptBlocked
from pipeline.guidelines.image_checks import load_checks, run_checks
from pipeline.options import GenerateRequest, check_request
from pipeline.output.files import check_writable
from pipeline.output.naming import slug
from pipeline.publish.encodings import rendition_plan
from pipeline.record import Record, build_record
from pipeline.models import describe_source, resolve_model_source
from pipeline.models.accel import memory_record


@dataclass(frozen=True)
class Generated:
    """One generated image (a PIL image) and its record."""

    image: object
    record: Record


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


def generate(request: GenerateRequest, model=None, log=lambda message: None, on_step=None) -> Iterator[Generated]:
    """Generate the images of one request, each with its record, batch by batch.

    The request is checked and judged at once (a bad value is an InputError, a refused prompt PromptBlocked,
    before anything loads); the model loads and images are made as the returned iterator is consumed.
    `model` may be injected (a LoadedModel). `on_step(seeds, done, total)` is told of each denoising step.
    """
    # 1. Check inputs
    check_request(request)
    resolve_model_source(request.model)  # unknown models fail before anything is loaded

    # 2. Apply guidelines
    policy = guidelines.load_guidelines(request.guidelines)  # parsed once per content in a process
    judgement = judge_prompt(request, policy, log)
    return _denoise_batches(request, policy, judgement, model, log, on_step)


_JUDGEMENTS: dict[tuple, object] = {}
_JUDGEMENTS_KEPT = 256


def judge_prompt(request: GenerateRequest, policy, log):
    """The guidelines' judgement of the request's prompt; PromptBlocked when they refuse it.

    Judgements are deterministic, so one of the same prompt, style and negative prompt under the same policy
    content is reused (a batch calls `generate` once per batch of images, and judges each job's prompt once)."""
    key = (policy.digest, policy.source, request.prompt, request.style, request.negative_prompt)
    judgement = _JUDGEMENTS.get(key)
    if judgement is None:
        judgement = guidelines.judge(
            request.prompt, style=request.style, negative_prompt=request.negative_prompt, guidelines=policy
        )
        if len(_JUDGEMENTS) >= _JUDGEMENTS_KEPT:
            _JUDGEMENTS.clear()
        _JUDGEMENTS[key] = judgement
    if judgement.verdict == "block":
        raise PromptBlocked(judgement.refusal(), details=judgement.summary())
    for rule in judgement.rules:
        if rule.action == "rewrite":
            log(f"guideline {rule.id} rewrote {rule.matched!r} as {rule.replacement!r}")
        elif rule.action == "remove":
            log(f"guideline {rule.id} took {rule.matched!r} out of the news prompt")
        elif rule.action == "restyle":
            log(f"guideline {rule.id}: {rule.matched} drawn in the style {rule.replacement!r}, not as a photograph")
    return judgement


def _denoise_batches(request, policy, judgement, model, log, on_step) -> Iterator[Generated]:
    # 3. Load the model and the image checks
    checks = load_checks(nsfw=request.nsfw_check, clip=request.clip_check, guidelines=policy)
    if model is None:
        log(f"loading model {request.model} ...")
        model = get_model(request)
    info = model.info
    width = request.width or info.default_width
    height = request.height or info.default_height
    steps = request.num_inference_steps or info.default_steps
    guidance = info.default_guidance if request.guidance_scale is None else request.guidance_scale
    seeds = request.seeds_to_make(secrets.randbelow(2**32))
    for rendition in rendition_plan(request.publish, width, height):
        if rendition["enlarged"]:
            log(
                f"rendition {rendition['name']} ({rendition['width']}x{rendition['height']}) enlarges the {width}x{height} "
                f"image x{rendition['scale']:g} ({rendition['upscaler'] or 'Lanczos resampling'})"
            )

    # 4. Safety guidance during denoising (Safe Latent Diffusion), as the policy and request ask
    safety = model.safety_guidance(request.safety or policy.safety_strength, policy.safety_concept, guidance)
    if safety["note"]:
        log(safety["note"])

    # 5. Score the final prompt with the model's own text encoder against the policy's concepts (recorded)
    text_check = text_encoder_check(model, judgement, policy, log)

    # 6. Say how the prompt fits the text encoder; never cut it silently
    tokens = token_plan(model, judgement, log)

    # 7. Denoise batch by batch; check each image and build its record
    from pipeline.models.loader import library_versions, torch_threads  # torch: loaded only to generate

    versions = library_versions()
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
            long_prompt=tokens["method"] == "compel-windows",
            safety=safety,
            on_step=None if on_step is None else functools.partial(on_step, batch_seeds),
        )
        elapsed = time.perf_counter() - began
        timings = {
            "model_load_s": round(model.load_seconds, 4),
            "batch_generate_s": round(elapsed, 4),
            "per_image_s": round(elapsed / len(batch_seeds), 4),
            **memory_record(info.device),
        }
        for index, (seed, image, reasons) in enumerate(zip(batch_seeds, images, run_checks(checks, images))):
            if reasons:
                log(f"flagged ({'; '.join(reasons)}): kept in quarantine")
            record = build_record(
                request, judgement=judgement, policy=policy, text_check=text_check, safety=safety, checks=checks,
                reasons=reasons, model=model, steps=steps, guidance=guidance, width=width, height=height, seed=seed,
                batch_seeds=batch_seeds, index=index, tokens=tokens, versions=versions, threads=torch_threads(),
                timings=timings,
            )  # fmt: skip
            yield Generated(image, record)


def text_encoder_check(model, judgement, policy, log) -> dict | None:
    """How near the model's own text encoder puts the final prompt to the policy's image concepts (recorded)."""
    if not policy.image_concepts or not hasattr(model, "text_concept_check"):
        return None
    check = model.text_concept_check(judgement.subject, policy.image_concepts, policy.image_neutral)
    check.update(threshold=policy.image_threshold, flagged=check["concept_share"] >= policy.image_threshold)
    if check["flagged"]:
        log(f"the model's text encoder puts the final prompt near {check['nearest_concept']!r} "
            f"({check['concept_share']:.2f} >= {policy.image_threshold}); recorded")
    return check


def token_plan(model, judgement, log) -> dict:
    """The prompt's length in the encoder's tokens, and how it is encoded: whole, in 75-token windows if long."""
    tokens = model.count_tokens(judgement.prompt)
    negative_tokens = model.count_tokens(judgement.negative_prompt)
    limit = model.info.token_limit - 2
    long_prompt = tokens > limit or negative_tokens > limit
    if long_prompt:
        log(
            f"prompt is {tokens} tokens (negative {negative_tokens}), over the encoder's {limit}: "
            "encoding it whole in 75-token windows (compel); nothing is dropped"
        )
    return {
        "tokens": tokens,
        "negative_tokens": negative_tokens,
        "limit": limit,
        "method": "compel-windows" if long_prompt else "standard",
        "dropped": "",
    }


def plan(request: GenerateRequest) -> dict:
    """What `generate` would do, checked as far as it can be without loading weights or writing anything:
    inputs, the guidelines' verdict and final prompt, the model, size, output folder and renditions.

    A prompt the guidelines refuse still gets its plan (verdict `block`); the caller decides the exit.
    """
    from pipeline.models.tokenizer import folder_tokenizer  # transformers: only for a dry run

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
