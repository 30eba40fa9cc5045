"""The narrow model interface: load a Stable Diffusion pipeline from any source and generate images.

This is the only place that imports torch, diffusers and transformers. Built-in models and real
checkpoints end in the same `LoadedModel`, so they run through exactly the same code.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from pipeline.errors import InputError, OutOfMemory, summary
from pipeline.models.fingerprint import file_sha256, folder_fingerprint, weight_hashes
from pipeline.models import DEFAULTS_KEY, ModelSource, model_defaults, resolve_model_source
from pipeline.models import accel as accel_module
from pipeline.options import AccelOptions

SCHEDULERS = {
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler-a": "EulerAncestralDiscreteScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "dpm++-karras": "DPMSolverMultistepScheduler",
    "unipc": "UniPCMultistepScheduler",
    "lms": "LMSDiscreteScheduler",
}
"""Scheduler names accepted by `--scheduler`, mapped to diffusers classes."""

# A1111's names, for the `Sampler:` field that existing metadata readers understand.
SAMPLER_NAMES = {
    "DDIMScheduler": "DDIM",
    "PNDMScheduler": "PLMS",
    "EulerDiscreteScheduler": "Euler",
    "EulerAncestralDiscreteScheduler": "Euler a",
    "DPMSolverMultistepScheduler": "DPM++ 2M",
    "UniPCMultistepScheduler": "UniPC",
    "LMSDiscreteScheduler": "LMS",
}
# A1111's `Schedule type`: Karras sigmas where the scheduler uses them, else the sampler's own ("Automatic").
SCHEDULE_TYPES = {"use_karras_sigmas": "Karras", "use_exponential_sigmas": "Exponential", "use_beta_sigmas": "Beta"}


DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class ModelInfo:
    """What a record needs to know about the loaded model."""

    name: str
    source: str
    location: str
    revision: str
    pipeline_class: str
    family: str
    scheduler: str
    device: str
    dtype: str
    token_limit: int
    default_width: int
    default_height: int
    default_steps: int
    default_guidance: float
    components: dict = field(default_factory=dict)
    hashes: dict = field(default_factory=dict)  # full SHA-256 of the checkpoint file(s) the weights came from
    watermark: bool = False  # whether the pipeline adds an invisible watermark

    def to_dict(self) -> dict:
        return asdict(self)


def choose_device(device: str = "auto") -> str:
    """`auto` picks cuda, then mps, then cpu; an explicit device must be present."""
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    kind = device.split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device} asked for, but torch sees no CUDA GPU here; use --device cpu")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError(f"device {device} asked for, but MPS is not available here; use --device cpu")
    if kind not in ("cuda", "mps", "cpu"):
        raise InputError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def choose_dtype(dtype: str, device: str) -> torch.dtype:
    """`auto` means float16 on CUDA and float32 elsewhere."""
    if dtype == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    return DTYPES[dtype]


def _quiet_libraries() -> None:
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    # Deprecation notices inside diffusers' own pipelines are not the user's concern.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"diffusers(\.|$)")


def _hub_folder(repo_id: str, name: str) -> tuple[Path, str]:
    """Download (or find in the local cache) a hub repository; return its folder and commit."""
    from diffusers import DiffusionPipeline

    from pipeline.models.hub import hub_error

    try:
        folder = Path(DiffusionPipeline.download(repo_id))
    except Exception as exc:  # the hub raises many kinds; all mean the model cannot be had
        raise hub_error(repo_id, exc, name) from None
    return folder, folder.name



def _watermark_kwargs(cls, watermark: bool) -> dict:
    """`add_watermarker` passed explicitly to pipelines that take it (SDXL), so installed packages decide nothing."""
    import inspect

    if cls is None or "add_watermarker" not in inspect.signature(cls.__init__).parameters:
        if watermark:
            raise InputError("--watermark applies to SDXL pipelines only; this model has no invisible watermarker")
        return {}
    if watermark:
        from diffusers.utils import is_invisible_watermark_available

        if not is_invisible_watermark_available():
            raise InputError("--watermark needs the invisible-watermark package: pip install invisible-watermark")
    return {"add_watermarker": watermark}


TEXT_TO_IMAGE_CLASSES = ("StableDiffusionPipeline", "StableDiffusionXLPipeline")
"""Folders whose model index names one of these load with that class itself: AutoPipelineForText2Image
would pick the same class, after importing every pipeline diffusers has (about 0.5 s of CPU)."""


def _from_folder(folder: Path, dtype: torch.dtype, watermark: bool = False):
    import diffusers

    index = json.loads((folder / "model_index.json").read_text())
    class_name = str(index.get("_class_name"))
    kwargs = {"dtype": dtype, "local_files_only": True}
    kwargs.update(_watermark_kwargs(getattr(diffusers, class_name, None), watermark))
    if "safety_checker" in index:
        # Images are checked by the guidelines' own checks, which flag instead of blacking out.
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    if class_name in TEXT_TO_IMAGE_CLASSES:
        pipeline_class = getattr(diffusers, class_name)
    else:
        from diffusers import AutoPipelineForText2Image as pipeline_class
    try:
        return pipeline_class.from_pretrained(str(folder), **kwargs), index
    except ValueError as exc:
        raise InputError(f"{folder} holds a {index.get('_class_name')}, not a text-to-image pipeline ({exc})") from None
    except OSError as exc:
        raise InputError(f"cannot load the diffusers folder {folder}: {summary(exc, 140)}") from None


def _single_file_family(path: Path) -> str:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            keys = handle.keys()
    except Exception as exc:
        raise InputError(f"{path} is not a readable .safetensors checkpoint ({exc})") from None
    if any(key.startswith("conditioner.embedders.1.") for key in keys):
        return "sdxl"
    if any(key.startswith("model.diffusion_model.") for key in keys):
        return "sd"
    raise InputError(f"{path} does not look like a Stable Diffusion 1.x/2.x or SDXL checkpoint")


def _from_single_file(path: Path, dtype: torch.dtype, config: str | None, watermark: bool = False):
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    family = _single_file_family(path)
    cls = StableDiffusionXLPipeline if family == "sdxl" else StableDiffusionPipeline
    kwargs = {"dtype": dtype, **_watermark_kwargs(cls, watermark)}
    if config:
        kwargs["config"] = config
    if family == "sd":
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    index = {}
    if config and (Path(config) / "model_index.json").is_file():
        index = json.loads((Path(config) / "model_index.json").read_text())
    try:
        return cls.from_single_file(str(path), **kwargs), index
    except Exception as exc:
        raise InputError(
            f"cannot load {path.name} as a {cls.__name__} ({summary(exc, 140)}); "
            "offline, pass --model-config with a diffusers folder of the same architecture"
        ) from None


def _from_builtin(name: str, watermark: bool = False):
    import diffusers

    from pipeline.models.builtin import build_components

    class_name, components, index = build_components(name)
    cls = getattr(diffusers, class_name)
    if "safety_checker" in cls._get_signature_keys(cls)[0]:
        components.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    components.update(_watermark_kwargs(cls, watermark))
    pipe = cls(**components)
    return pipe, index


def load_model(
    model: str,
    *,
    device: str = "auto",
    dtype: str = "auto",
    scheduler: str | None = None,
    threads: int | None = None,
    model_config: str | None = None,
    accel: AccelOptions | None = None,
    watermark: bool = False,
) -> "LoadedModel":
    """Load `model` (built-in name, alias, hub id, diffusers folder or .safetensors file).

    `accel` holds the speed and memory options (see `pipeline.models.accel`); they are resolved
    for the device before anything loads, so a wrong combination fails fast.
    """
    source = resolve_model_source(model)
    if scheduler is not None and scheduler not in SCHEDULERS:
        raise InputError(f"unknown scheduler {scheduler!r}; choose from {', '.join(SCHEDULERS)}")
    if threads is not None:
        torch.set_num_threads(threads)
    device = choose_device(device)
    torch_dtype = choose_dtype(dtype, device)
    plan = accel_module.resolve(accel or AccelOptions(), device)
    from pipeline.models import quantize

    quantize.check(plan.quantize, device)  # the GPU's FP8 support and torchao, before any weights load
    _quiet_libraries()

    started = time.perf_counter()
    index: dict = {}
    if source.kind == "builtin":
        pipe, index = _from_builtin(source.location, watermark)
        from pipeline.models.builtin import config_dir

        revision = "builtin:" + folder_fingerprint(config_dir(source.location))[:16]
        hashes = {}  # weights made from a seed, no checkpoint file
    elif source.kind == "folder":
        pipe, index = _from_folder(Path(source.location), torch_dtype, watermark)
        revision = "sha256:" + folder_fingerprint(Path(source.location))
        hashes = weight_hashes(Path(source.location))
    elif source.kind == "hub":
        folder, commit = _hub_folder(source.location, source.name)
        pipe, index = _from_folder(folder, torch_dtype, watermark)
        revision = commit
        hashes = weight_hashes(folder)
    else:
        pipe, index = _from_single_file(Path(source.location), torch_dtype, model_config, watermark)
        revision = "sha256:" + file_sha256(Path(source.location))
        hashes = {"checkpoint": revision.removeprefix("sha256:")}
    accel_record = accel_module.apply(pipe, plan, device=device, dtype=torch_dtype)
    pipe.set_progress_bar_config(disable=True)
    if scheduler is not None:
        pipe.scheduler = _make_scheduler(scheduler, pipe.scheduler.config)
    model = LoadedModel(pipe, source, revision, index, device, torch_dtype, time.perf_counter() - started, hashes)
    model.accel = accel_record
    if plan.compile:
        from pipeline.models.compile_cache import CompileCache, cache_folder

        model.compile_cache = CompileCache(
            cache_folder(), model=revision, dtype=model.info.dtype, mode=accel_record["compile"]["mode"],
            backend=plan.compile_backend, quantize=plan.quantize, device=device, scope=plan.compile_scope,
        )  # fmt: skip
    return model


def _make_scheduler(name: str, config):
    import diffusers

    cls = getattr(diffusers, SCHEDULERS[name])
    extra = {"use_karras_sigmas": True} if name.endswith("-karras") else {}
    return cls.from_config(config, **extra)


class LoadedModel:
    """A loaded pipeline with the facts a record needs and one way to generate."""

    def __init__(
        self, pipe, source: ModelSource, revision: str, index: dict, device: str, dtype, load_seconds: float, hashes=None
    ):
        self.pipe = pipe
        self.source = source
        self.load_seconds = load_seconds
        self._label_embeddings: dict[tuple[str, ...], torch.Tensor] = {}
        self._concept_checks: dict[tuple, dict] = {}  # the last prompt's check: a batch repeats one prompt
        self._text_embeddings: tuple | None = None  # (key, embeddings) of the last batch's prompts
        self.family = "sdxl" if hasattr(pipe, "text_encoder_2") and pipe.text_encoder_2 is not None else "sd"
        default_size = pipe.unet.config.sample_size * pipe.vae_scale_factor
        self.defaults = model_defaults(source.name, self.family, index)
        self.info = ModelInfo(
            name=source.name,
            source=source.kind,
            location=source.location if source.kind in ("builtin", "hub") else Path(source.location).name,
            revision=revision,
            pipeline_class=type(pipe).__name__,
            family=self.family,
            scheduler=type(pipe.scheduler).__name__,
            device=device,
            dtype=str(dtype).replace("torch.", ""),
            token_limit=pipe.tokenizer.model_max_length,
            default_width=default_size,
            default_height=default_size,
            default_steps=int(self.defaults["num_inference_steps"]),
            default_guidance=float(self.defaults["guidance_scale"]),
            hashes=dict(hashes or {}),
            watermark=getattr(pipe, "watermark", None) is not None,
        )

    def safety_guidance(self, strength: str, concept: str, guidance_scale: float) -> dict:
        """How denoising is steered: Safe Latent Diffusion on SD 1.x/2.x, else only the negative prompt."""
        from pipeline.models.safety import describe

        return describe(self.family, strength, concept, guidance_scale)

    def _safe_pipe(self, concept: str):
        if getattr(self, "_safe", None) is None or self._safe.safety_concept != concept:
            from pipeline.models.safety import safe_pipeline

            self._safe = safe_pipeline(self.pipe, concept)
        return self._safe

    @property
    def sampler_name(self) -> str:
        """The sampler as AUTOMATIC1111 names it (its schedule is `schedule_type`)."""
        return SAMPLER_NAMES.get(type(self.pipe.scheduler).__name__, type(self.pipe.scheduler).__name__)

    @property
    def schedule_type(self) -> str:
        """AUTOMATIC1111's `Schedule type`: Karras (or another sigma schedule) where the scheduler uses it."""
        config = self.pipe.scheduler.config
        return next((name for key, name in SCHEDULE_TYPES.items() if config.get(key)), "Automatic")

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in the (first) text encoder, without start and end tokens."""
        return len(self.pipe.tokenizer(text, add_special_tokens=False, truncation=False).input_ids)

    def text_concept_check(self, text: str, concepts: tuple[str, ...], neutral: tuple[str, ...]) -> dict:
        """How near the model's own (first) text encoder puts `text` to the policy's concepts rather than its
        neutral labels: cosine similarity of pooled embeddings, as a share of probability over all labels at
        CLIP's temperature (100), the way the CLIP image check scores an image. The first 77 tokens count."""
        encoder = self.pipe.text_encoder if self.pipe.text_encoder is not None else self.pipe.text_encoder_2
        labels = tuple(concepts) + tuple(neutral)
        key = (text, labels, len(concepts), torch.get_num_threads())
        if key in self._concept_checks:  # the same texts through the same encoder: the same figures
            return dict(self._concept_checks[key])
        cached = self._label_embeddings.get(labels)
        if cached is None:
            cached = self._label_embeddings[labels] = self._pooled(encoder, list(labels))
        prompt = self._pooled(encoder, [text])[0]
        similarity = cached @ prompt
        probability = torch.softmax(100 * similarity, dim=0)
        nearest = int(similarity[: len(concepts)].argmax())
        check = {
            "encoder": type(encoder).__name__,
            "concept_share": round(float(probability[: len(concepts)].sum()), 4),
            "nearest_concept": concepts[nearest],
        }
        self._concept_checks = {key: check}
        return dict(check)

    def _pooled(self, encoder, texts: list[str]) -> torch.Tensor:
        tokenizer = self.pipe.tokenizer
        device = self.pipe._execution_device
        ids = tokenizer(texts, padding="max_length", truncation=True, max_length=tokenizer.model_max_length,
                        return_tensors="pt").input_ids.to(device)
        with torch.no_grad(), _reporting_device([encoder], device):
            output = encoder(ids)
        pooled = getattr(output, "text_embeds", None)
        pooled = output.pooler_output if pooled is None else pooled
        return torch.nn.functional.normalize(pooled.float(), dim=-1).cpu()

    def _reused_embeddings(self, key: tuple, encode, prompts: list[str], negative_prompts: list[str]) -> dict:
        """`encode(prompts, negative_prompts)`, reused while the batches of one request repeat the same texts.

        The same texts through the same encoder (with the same CPU thread count, which can change the last
        bits) give the same embeddings, so the pixels do not change; only the last batch's are kept.
        """
        key = (*key, torch.get_num_threads())
        if self._text_embeddings is None or self._text_embeddings[0] != key:
            self._text_embeddings = (key, encode(prompts, negative_prompts))
        return dict(self._text_embeddings[1])

    def _standard_embeddings(self, prompts: list[str], negative_prompts: list[str]) -> dict:
        """What the standard SD pipeline's own `encode_prompt` makes of the texts in its call (classifier-free
        guidance included; the negative embeddings go unused when guidance is off)."""
        device = self.pipe._execution_device
        with torch.inference_mode():
            embeds, negative = self.pipe.encode_prompt(prompts, device, 1, True, negative_prompts)
        return {"prompt_embeds": embeds, "negative_prompt_embeds": negative}

    def _xl_embeddings(self, prompts: list[str], negative_prompts: list[str]) -> dict:
        """What the SDXL pipeline's own `encode_prompt` makes of the texts in its call: both text encoders'
        embeddings and the pooled ones, for the prompts and the negative prompts."""
        device = self.pipe._execution_device
        with torch.inference_mode():
            embeds, negative, pooled, negative_pooled = self.pipe.encode_prompt(
                prompt=prompts, device=device, num_images_per_prompt=1, do_classifier_free_guidance=True,
                negative_prompt=negative_prompts,
            )  # fmt: skip
        return {"prompt_embeds": embeds, "negative_prompt_embeds": negative, "pooled_prompt_embeds": pooled,
                "negative_pooled_prompt_embeds": negative_pooled}  # fmt: skip

    def _long_prompt_embeddings(self, prompts: list[str], negative_prompts: list[str]) -> dict:
        """Embeddings for prompts over the token limit: 75-token windows, concatenated (compel)."""
        from compel import CompelForSD, CompelForSDXL

        wrapper_class = CompelForSDXL if self.family == "sdxl" else CompelForSD
        device = self.pipe._execution_device  # where the text encoders run, also when offloaded
        wrapper = wrapper_class(self.pipe, device=device)
        for inner in vars(wrapper).values():
            if hasattr(inner, "parse_prompt_string"):
                inner.parse_prompt_string = _literal_prompt  # news text is not prompt-weighting syntax
        encoders = [getattr(self.pipe, name, None) for name in ("text_encoder", "text_encoder_2")]
        with torch.no_grad(), _reporting_device([e for e in encoders if e is not None], device):
            result = wrapper(prompts, negative_prompt=negative_prompts)
        kwargs = {"prompt_embeds": result.embeds, "negative_prompt_embeds": result.negative_embeds}
        if result.pooled_embeds is not None:
            kwargs.update(
                pooled_prompt_embeds=result.pooled_embeds,
                negative_pooled_prompt_embeds=result.negative_pooled_embeds,
            )
        return kwargs

    def generate(
        self,
        *,
        prompt: str,
        negative_prompt: str,
        num_inference_steps: int,
        guidance_scale: float,
        height: int,
        width: int,
        seeds: list[int],
        long_prompt: bool = False,
        safety: dict | None = None,
        on_step=None,
    ) -> list:
        """Generate one image per seed, in one batch. Seeded CPU generators make pixels reproducible.

        `on_step(done, total)` is called after each denoising step (through diffusers' step callback).
        """
        n = len(seeds)
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        sld_on = safety is not None and safety["method"] == "safe-latent-diffusion"
        if long_prompt:
            text = self._reused_embeddings(("compel", prompt, negative_prompt, n), self._long_prompt_embeddings,
                                           [prompt] * n, [negative_prompt] * n)  # fmt: skip
        elif self.family == "sd" and not sld_on and _encodes_like(self.pipe, "StableDiffusionPipeline"):
            text = self._reused_embeddings(("sd", prompt, negative_prompt, n), self._standard_embeddings,
                                           [prompt] * n, [negative_prompt] * n)  # fmt: skip
        elif self.family == "sdxl" and not sld_on and _encodes_like(self.pipe, "StableDiffusionXLPipeline"):
            text = self._reused_embeddings(("sdxl", prompt, negative_prompt, n), self._xl_embeddings,
                                           [prompt] * n, [negative_prompt] * n)  # fmt: skip
        else:
            text = {"prompt": [prompt] * n, "negative_prompt": [negative_prompt] * n}
        pipe, sld = self.pipe, {}
        if sld_on:
            from pipeline.models.safety import sld_parameters

            pipe, sld = self._safe_pipe(safety["concept"]), sld_parameters(safety["strength"])
            pipe.embeddings = (text["prompt_embeds"], text["negative_prompt_embeds"]) if long_prompt else None
            text = {"prompt": [prompt] * n, "negative_prompt": [negative_prompt] * n}
        steps = {}
        if on_step is not None:
            # Some schedulers take more model evaluations than `num_inference_steps` (PNDM's warm-up): count theirs.
            def report(i):
                on_step(i + 1, max(i + 1, len(pipe.scheduler.timesteps)))

            if sld:  # StableDiffusionPipelineSafe has the older per-step callback
                steps = {"callback": lambda i, t, latents: report(i), "callback_steps": 1}
            else:
                steps = {"callback_on_step_end": lambda p, i, t, tensors: (report(i), tensors)[1]}
        cache = getattr(self, "compile_cache", None)
        if cache is not None:
            cache.before(width, height, n)
        try:
            with torch.inference_mode():
                output = pipe(
                    **text,
                    **sld,
                    **steps,
                    num_inference_steps=num_inference_steps,
                    guidance_scale=guidance_scale,
                    height=height,
                    width=width,
                    generator=generators,
                    output_type="pil",
                )
        except torch.cuda.OutOfMemoryError:
            raise OutOfMemory(
                f"the GPU ran out of memory for {n} image(s) of {width}x{height}; "
                "use fewer images per batch or a smaller size"
            ) from None
        if cache is not None:  # a new dict, so records already made keep what was true for their batch
            self.accel = {**self.accel, "compile": {**self.accel["compile"], **cache.after(width, height, n)}}
        return list(output.images)

    def export(self, folder: Path) -> None:
        """Write the model as a standard diffusers folder."""
        self.pipe.save_pretrained(str(folder), safe_serialization=True)
        index_path = folder / "model_index.json"
        index = json.loads(index_path.read_text())
        index[DEFAULTS_KEY] = self.defaults
        index_path.write_text(json.dumps(index, indent=2) + "\n")


def _encodes_like(pipe, class_name: str) -> bool:
    """Whether `pipe` encodes its prompts with diffusers' `class_name.encode_prompt` (so it can be handed the
    embeddings that function makes instead of the texts)."""
    import diffusers

    return getattr(type(pipe), "encode_prompt", None) is getattr(diffusers, class_name).encode_prompt


_DEVICE_REPORTING_CLASSES: dict[type, type] = {}


@contextmanager
def _reporting_device(encoders: list, device: torch.device):
    """Encoders whose weights wait on the `meta` device (sequential offload) report `device` meanwhile.

    compel moves the embeddings it builds to `text_encoder.device`, which under sequential offload is
    `meta` (weights are loaded per layer during the forward pass): the data would be lost. While this
    context is open such an encoder's class is a subclass whose `device` is the execution device.
    """
    swapped = []
    for encoder in encoders:
        if encoder.device.type != "meta":
            continue
        original = type(encoder)
        if original not in _DEVICE_REPORTING_CLASSES:
            _DEVICE_REPORTING_CLASSES[original] = type(original.__name__, (original,), {})
        reporting = _DEVICE_REPORTING_CLASSES[original]
        reporting.device = property(lambda self, device=device: device)
        encoder.__class__ = reporting
        swapped.append((encoder, original))
    try:
        yield
    finally:
        for encoder, original in swapped:
            encoder.__class__ = original


def _literal_prompt(text: str):
    """Compel's parse step, replaced: the whole text is one fragment of weight 1."""
    from compel.prompt_parser import Conjunction, FlattenedPrompt, Fragment

    return Conjunction([FlattenedPrompt([Fragment(text, 1.0)])])


def torch_threads() -> int:
    return torch.get_num_threads()


def library_versions() -> dict:
    import diffusers
    import transformers

    from pipeline import __version__

    return {
        "hero-pipeline": __version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "python": ".".join(map(str, os.sys.version_info[:3])),
    }
