"""Click options shared by several commands: `--guidelines`, and the speed and memory options of `generate`
(gathered into one AccelOptions). Their choices come from the library's vocabulary (pipeline.options)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.options import COMPILE_BACKENDS, COMPILE_MODES, COMPILE_SCOPES, OFFLOAD_MODES, QUANTIZE_MODES, AccelOptions

_NAMES = ("fuse_qkv", "attention_slicing", "vae_slicing", "vae_tiling", "offload", "tf32", "preview_vae", "quantize")

_OPTIONS = [
    click.option(
        "--compile",
        "compile",
        is_flag=True,
        help="torch.compile the UNet and VAE decoder (channels-last). The first image of each size "
        "compiles (a minute or more on a GPU); later ones in the same process reuse it.",
    ),
    click.option("--compile-mode", type=click.Choice(COMPILE_MODES), help="torch.compile mode  [default: default]."),
    click.option(
        "--compile-scope",
        type=click.Choice(COMPILE_SCOPES),
        help="What is compiled: the whole UNet and VAE decoder (model), or only the UNet's repeated transformer "
        "blocks (blocks: first compile and a new process's start much shorter, steps a little slower)  [default: model].",
    ),
    click.option(
        "--compile-backend",
        type=click.Choice(COMPILE_BACKENDS),
        help="torch.compile backend; eager/aot_eager only capture the graphs, to check them  [default: inductor].",
    ),
    click.option("--fuse-qkv/--no-fuse-qkv", default=None, help="Fused attention projections [default: on for CUDA]."),
    click.option(
        "--attention-slicing/--no-attention-slicing",
        default=None,
        help="Attention in slices: less memory, slower [default: on for MPS].",
    ),
    click.option("--vae-slicing/--no-vae-slicing", default=None, help="Decode a batch one image at a time [default: on with offload]."),
    click.option("--vae-tiling/--no-vae-tiling", default=None, help="Decode in tiles, for very large images."),
    click.option(
        "--offload",
        type=click.Choice(OFFLOAD_MODES),
        default="none",
        show_default=True,
        help="Keep models on the CPU until needed (CUDA only): `model` moves whole models, "
        "`sequential` single layers (least memory, slowest).",
    ),
    click.option("--tf32/--no-tf32", default=None, help="TF32 matmuls on Ampere and newer [default: on for CUDA]."),
    click.option(
        "--quantize",
        type=click.Choice(QUANTIZE_MODES),
        help="fp8: float8 weights and dynamically scaled float8 activations in the UNet's linear layers "
        "(torchao; CUDA GPUs with compute capability 8.9 or newer; `pip install 'hero-pipeline[fp8]'`).",
    ),
    click.option(
        "--preview-vae",
        metavar="DIR|HUB_ID",
        help="Decode with a tiny VAE (AutoencoderTiny, e.g. madebyollin/taesd) for fast previews.",
    ),
]


def accel_options(command):
    """Decorator: add the speed options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def pop_accel_options(options: dict) -> AccelOptions:
    """Take the speed options out of a command's keyword arguments."""
    compile_, mode, backend = options.pop("compile"), options.pop("compile_mode"), options.pop("compile_backend")
    scope = options.pop("compile_scope")
    if (mode or backend or scope) and not compile_:
        raise click.UsageError("--compile-mode, --compile-scope and --compile-backend need --compile")
    return AccelOptions(
        compile=(mode or "default") if compile_ else None,
        compile_backend=backend or "inductor",
        compile_scope=scope or "model",
        **{name: options.pop(name) for name in _NAMES},
    )


guidelines_option = click.option(
    "--guidelines",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="PIPELINE_GUIDELINES",
    help="Guidelines policy file (TOML); default: the shipped prompts/guidelines.toml.",
)
