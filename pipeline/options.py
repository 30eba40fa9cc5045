"""What a `generate` job can be asked for: the request type and the whole option vocabulary, in one place.

The CLI, batch specs, house configs and the library take their choices and limits from here. Nothing here
imports torch, diffusers or Pillow.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import InputError

if TYPE_CHECKING:  # a type only: PublishOptions lives with the publishing stage
    from pipeline.publish.encodings import PublishOptions

# Models
DEFAULT_MODEL = "sdxl"
"""The model alias documented for real, commercial newsroom use."""

# Sampling
SCHEDULER_NAMES = ("ddim", "pndm", "euler", "euler-a", "dpm++", "dpm++-karras", "unipc", "lms")
DTYPES = ("auto", "float32", "float16", "bfloat16")
"""`auto`: float16 on CUDA, float32 elsewhere."""

# Safety
SAFETY_STRENGTHS = ("off", "medium", "strong", "max")
"""Safe Latent Diffusion's strength during denoising (`--safety`, a policy's `guidance.strength`)."""

# Speed and memory
OFFLOAD_MODES = ("none", "model", "sequential")
COMPILE_MODES = ("default", "max-autotune", "max-autotune-no-cudagraphs", "reduce-overhead")
COMPILE_SCOPES = ("model", "blocks")
"""`model`: the whole UNet and the VAE decoder as one graph each (fastest steps, slowest first compile); `blocks`:
each repeated transformer block of the UNet (diffusers' regional compilation; the rest runs eager): a first compile
and a new process's start several times shorter, steps a little slower."""
COMPILE_BACKENDS = ("inductor", "eager", "aot_eager")
"""`inductor` makes fast kernels; `eager` and `aot_eager` only capture the graphs (quick, to check them)."""
QUANTIZE_MODES = ("fp8",)
"""`fp8`: torchao float8 dynamic quantisation of the UNet's linear layers (FP8 tensor cores: Ada, Hopper)."""

# Publishing
RENDITIONS_DEFAULT = "all"
"""The renditions published by default (`--renditions`): every hero size the publishing stage knows."""

# Limits, checked before anything loads
MIN_SIZE = 64
MAX_SIZE = 4096
MAX_STEPS = 500
MAX_IMAGES = 1000
MAX_PROMPT_CHARS = 20_000
"""The longest prompt (or negative prompt) accepted at all, before any policy: a policy's own
`max_prompt_chars` (4,000 in the shipped one) may only be stricter."""


@dataclass(frozen=True)
class AccelOptions:
    """Speed and memory options as asked for; None means the device's default (see pipeline.models.accel.resolve)."""

    compile: str | None = None
    compile_backend: str = "inductor"
    compile_scope: str = "model"
    fuse_qkv: bool | None = None
    attention_slicing: bool | None = None
    vae_slicing: bool | None = None
    vae_tiling: bool | None = None
    offload: str = "none"
    tf32: bool | None = None
    preview_vae: str | None = None
    quantize: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "AccelOptions":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})


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

    def seeds_to_make(self, random_base: int) -> list[int]:
        """The seeds of the images this request makes (`random_base` stands in for an unset seed)."""
        if self.seeds is not None:
            return list(self.seeds)
        base = random_base if self.seed is None else self.seed
        return [base + i for i in range(self.num_images)]


def check_request(request: GenerateRequest) -> None:
    """Reject bad values before anything is loaded or written, naming the value."""
    if not request.prompt or not request.prompt.strip():
        raise InputError("the prompt is empty; give a prompt or an article whose first part is its image prompt")
    for name, text in (("prompt", request.prompt), ("negative prompt", request.negative_prompt or "")):
        if len(text) > MAX_PROMPT_CHARS:
            raise InputError(f"the {name} is {len(text):,} characters, over the limit of {MAX_PROMPT_CHARS:,}; shorten it")
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
    if request.safety is not None and request.safety not in SAFETY_STRENGTHS:
        raise InputError(f"`safety` has to be one of {', '.join(SAFETY_STRENGTHS)} but is {request.safety!r}")
    if request.scheduler is not None and request.scheduler not in SCHEDULER_NAMES:
        raise InputError(f"unknown scheduler {request.scheduler!r}; choose from {', '.join(SCHEDULER_NAMES)}")
    if request.dtype not in DTYPES:
        raise InputError(f"unknown dtype {request.dtype!r}; choose from {', '.join(DTYPES)}")
    if request.threads is not None and request.threads < 1:
        raise InputError(f"`threads` has to be at least 1 but is {request.threads}")
