"""Speed and memory options of a pipeline: asked for, resolved per device, applied once, recorded.

`AccelOptions` and `resolve` are light (no torch); `apply` imports torch and changes the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import InputError, summary
from pipeline.options import COMPILE_BACKENDS, COMPILE_MODES, COMPILE_SCOPES, OFFLOAD_MODES, QUANTIZE_MODES, AccelOptions


@dataclass(frozen=True)
class AccelPlan:
    """The concrete choices for one device."""

    compile: str | None
    compile_backend: str
    fuse_qkv: bool
    attention_slicing: bool
    vae_slicing: bool
    vae_tiling: bool
    offload: str
    tf32: bool
    preview_vae: str | None
    quantize: str | None = None
    compile_scope: str = "model"


def resolve(options: AccelOptions, device: str) -> AccelPlan:
    """The choices for `device`, or InputError when an explicit choice cannot work there.

    Defaults on CUDA: SDPA attention with fused QKV projections, TF32 matmuls (used on Ampere
    and newer), everything on the GPU. On MPS: attention slicing (Apple's advice for machines
    under 64 GB). On CPU: plain SDPA, so pixels stay those of the unmodified pipeline. VAE
    slicing comes on with offloading, whose point is a small memory footprint.
    """
    cuda = device.startswith("cuda")
    if options.offload not in OFFLOAD_MODES:
        raise InputError(f"unknown offload mode {options.offload!r}; choose from {', '.join(OFFLOAD_MODES)}")
    if options.compile is not None and options.compile not in COMPILE_MODES:
        raise InputError(f"unknown compile mode {options.compile!r}; choose from {', '.join(COMPILE_MODES)}")
    if options.compile_scope not in COMPILE_SCOPES:
        raise InputError(f"unknown compile scope {options.compile_scope!r}; choose from {', '.join(COMPILE_SCOPES)}")
    if options.compile_backend not in COMPILE_BACKENDS:
        raise InputError(
            f"unknown compile backend {options.compile_backend!r}; choose from {', '.join(COMPILE_BACKENDS)}"
        )
    if options.offload != "none" and not cuda:
        raise InputError(f"--offload {options.offload} moves models between CPU and a CUDA GPU; device {device} has none")
    if options.tf32 and not cuda:
        raise InputError(f"--tf32 is a CUDA matmul mode; device {device} is not a CUDA GPU")
    if options.compile and options.offload == "sequential":
        raise InputError("--compile cannot be combined with --offload sequential (layers move during the forward pass)")
    if options.quantize is not None:
        from pipeline.models.quantize import fp8_refusal

        if options.quantize not in QUANTIZE_MODES:
            raise InputError(f"unknown quantisation {options.quantize!r}; choose from {', '.join(QUANTIZE_MODES)}")
        refusal = fp8_refusal(device, None, None, have_torchao=True)  # the GPU and torchao are checked at load
        if refusal:
            raise InputError(refusal)
        if options.offload != "none":
            raise InputError(f"--quantize {options.quantize} cannot be combined with --offload (quantised weights stay on the GPU)")
    if options.fuse_qkv and options.attention_slicing:
        raise InputError("--fuse-qkv and --attention-slicing exclude each other; choose one")
    attention_slicing = device.startswith("mps") if options.attention_slicing is None else options.attention_slicing
    fuse_qkv = (cuda and not attention_slicing) if options.fuse_qkv is None else options.fuse_qkv
    offloading = options.offload != "none"
    return AccelPlan(
        compile=options.compile,
        compile_backend=options.compile_backend,
        fuse_qkv=fuse_qkv,
        attention_slicing=attention_slicing,
        vae_slicing=offloading if options.vae_slicing is None else options.vae_slicing,
        vae_tiling=bool(options.vae_tiling),
        offload=options.offload,
        tf32=cuda if options.tf32 is None else options.tf32,
        preview_vae=options.preview_vae,
        quantize=options.quantize,
        compile_scope=options.compile_scope,
    )


def apply(pipe, plan: AccelPlan, *, device: str, dtype) -> dict:
    """Apply `plan` to `pipe` (built on the CPU), place it on `device`, and return the record of it.

    The record is read back from the pipeline, not copied from the plan, so it says what runs.
    """
    import torch

    if plan.preview_vae:
        pipe.vae = _tiny_vae(plan.preview_vae, dtype)
    if plan.fuse_qkv:
        from diffusers import AutoencoderKL

        pipe.fuse_qkv_projections(unet=True, vae=isinstance(pipe.vae, AutoencoderKL))
    if plan.attention_slicing:
        pipe.enable_attention_slicing()
    if plan.vae_slicing:
        pipe.vae.enable_slicing()
    if plan.vae_tiling:
        pipe.vae.enable_tiling()
    tf32 = False
    if device.startswith("cuda"):
        tf32 = plan.tf32 and torch.cuda.get_device_capability(torch.device(device))[0] >= 8
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    if plan.offload == "model":
        pipe.to(dtype=dtype)
        pipe.enable_model_cpu_offload(device=device)
    elif plan.offload == "sequential":
        pipe.to(dtype=dtype)
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device, dtype)
    quantized = None
    if plan.quantize:
        from pipeline.models.quantize import quantize_unet

        quantized = quantize_unet(pipe.unet, plan.quantize)
    if plan.compile:
        _compile(pipe, plan.compile, plan.compile_backend, plan.compile_scope)
    return describe(pipe, plan, tf32=tf32, quantized=quantized)


def _tiny_vae(location: str, dtype):
    """AutoencoderTiny (e.g. madebyollin/taesd or taesdxl) from a local folder or the hub cache."""
    from diffusers import AutoencoderTiny

    try:
        return AutoencoderTiny.from_pretrained(location, dtype=dtype)
    except Exception as exc:  # from_pretrained raises OSError, ValueError, hub errors...
        first = summary(exc, 160)
        raise InputError(
            f"cannot load the preview VAE {location} as an AutoencoderTiny ({first}); "
            "give a local folder or hub id of a tiny VAE such as madebyollin/taesd"
        ) from None


def _compile(pipe, mode: str, backend: str, scope: str) -> None:
    """torch.compile the UNet and the VAE decoder in channels-last layout (scope `model`), or only the UNet's
    repeated transformer blocks, each block's graph shared by every block of its shapes (scope `blocks`:
    diffusers' `compile_repeated_blocks`).

    Compiled code is kept with the pipeline, which this process builds once: each new image size
    compiles once, later images of that size reuse it.
    """
    import torch

    pipe.unet.to(memory_format=torch.channels_last)
    pipe.vae.to(memory_format=torch.channels_last)
    # Modes tune inductor's kernels; the graph-capture backends take no mode.
    kwargs = {"mode": mode} if backend == "inductor" else {}
    if scope == "blocks":
        if not getattr(pipe.unet, "_repeated_blocks", None):
            raise InputError(f"--compile-scope blocks: {type(pipe.unet).__name__} names no repeated blocks; use --compile-scope model")
        pipe.unet.compile_repeated_blocks(backend=backend, fullgraph=True, **kwargs)
        return
    pipe.unet.compile(backend=backend, fullgraph=True, **kwargs)
    pipe.vae.decode = torch.compile(pipe.vae.decode, backend=backend, fullgraph=True, **kwargs)


def describe(pipe, plan: AccelPlan, *, tf32: bool, quantized: dict | None = None) -> dict:
    """The accel record, read from the pipeline's current state."""
    import torch

    processors = sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()})
    sliced = any("Sliced" in name for name in processors)
    return {
        "attention": "sliced" if sliced else "sdpa",
        "attention_processors": processors,
        "fuse_qkv": bool(getattr(pipe, "fusing_unet", False)),
        "compile": _compile_record(pipe, plan),
        "channels_last": pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last),
        "vae": type(pipe.vae).__name__,
        "preview_vae": plan.preview_vae,
        "vae_slicing": bool(getattr(pipe.vae, "use_slicing", False)),
        "vae_tiling": bool(getattr(pipe.vae, "use_tiling", False)),
        "offload": _offload_state(pipe),
        "tf32": tf32,
        "quantize": quantized,
    }


def _compile_record(pipe, plan: AccelPlan) -> dict | bool:
    """The compile settings, with the scope read from which modules carry compiled code: the whole UNet
    (model), or only some of its blocks (blocks, with their count)."""
    if not plan.compile:
        return False
    record = {"mode": plan.compile if plan.compile_backend == "inductor" else None, "backend": plan.compile_backend}
    if getattr(pipe.unet, "_compiled_call_impl", None) is not None:
        return {**record, "scope": "model"}
    blocks = sum(1 for module in pipe.unet.modules() if getattr(module, "_compiled_call_impl", None) is not None)
    return {**record, "scope": "blocks", "compiled_blocks": blocks}


def _offload_state(pipe) -> str:
    if getattr(pipe, "_all_hooks", None):
        return "model"
    if hasattr(pipe.unet, "_hf_hook"):
        return "sequential"
    return "none"


def memory_record(device: str) -> dict:
    """Peak GPU memory of this process so far (CUDA only)."""
    if not device.startswith("cuda"):
        return {}
    import torch

    return {"peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated(torch.device(device)) / 2**20, 1)}
