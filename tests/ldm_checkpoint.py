"""Test helper: write a diffusers SD 1.x pipeline as one original-layout (LDM) .safetensors checkpoint.

This is the inverse of the key mapping diffusers applies in `from_single_file`, so tests can load a
single-file checkpoint offline. It covers what the built-in `tiny` model uses.
"""

from __future__ import annotations

import re
from pathlib import Path

RESNET_RENAMES = [
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
]
VAE_ATTENTION_RENAMES = [
    ("group_norm.", "norm."),
    ("to_q.", "q."),
    ("to_k.", "k."),
    ("to_v.", "v."),
    ("to_out.0.", "proj_out."),
]


def _rename(rest: str, renames) -> str:
    for new, old in renames:
        rest = rest.replace(new, old, 1) if rest.startswith(new) else rest
    return rest


def unet_to_ldm(state: dict, layers_per_block: int) -> dict:
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    fixed = DIFFUSERS_TO_LDM_MAPPING["unet"]["layers"]
    slots = layers_per_block + 1
    out = {}
    for key, value in state.items():
        if key in fixed:
            out[fixed[key]] = value
        elif m := re.match(r"down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            out[f"input_blocks.{b * slots + j + 1}.0.{_rename(rest, RESNET_RENAMES)}"] = value
        elif m := re.match(r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            out[f"input_blocks.{b * slots + j + 1}.1.{rest}"] = value
        elif m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
            out[f"input_blocks.{(int(m[1]) + 1) * slots}.0.op.{m[2]}"] = value
        elif m := re.match(r"mid_block\.resnets\.(\d+)\.(.+)", key):
            out[f"middle_block.{2 * int(m[1])}.{_rename(m[2], RESNET_RENAMES)}"] = value
        elif m := re.match(r"mid_block\.attentions\.0\.(.+)", key):
            out[f"middle_block.1.{m[1]}"] = value
        elif m := re.match(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            out[f"output_blocks.{b * slots + j}.0.{_rename(rest, RESNET_RENAMES)}"] = value
        elif m := re.match(r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", key):
            b, j, rest = int(m[1]), int(m[2]), m[3]
            out[f"output_blocks.{b * slots + j}.1.{rest}"] = value
        elif m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
            b = int(m[1])
            has_attention = any(k.startswith(f"up_blocks.{b}.attentions.") for k in state)
            out[f"output_blocks.{b * slots + layers_per_block}.{2 if has_attention else 1}.conv.{m[2]}"] = value
        else:
            raise KeyError(f"no LDM name for UNet key {key}")
    return {"model.diffusion_model." + key: value for key, value in out.items()}


def vae_to_ldm(state: dict, num_blocks: int) -> dict:
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    fixed = DIFFUSERS_TO_LDM_MAPPING["vae"]
    out = {}
    for key, value in state.items():
        if key in fixed:
            out[fixed[key]] = value
        elif m := re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
            out[f"encoder.down.{m[1]}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"] = value
        elif m := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
            out[f"encoder.down.{m[1]}.downsample.conv.{m[2]}"] = value
        elif m := re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
            block = num_blocks - 1 - int(m[1])
            out[f"decoder.up.{block}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"] = value
        elif m := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
            out[f"decoder.up.{num_blocks - 1 - int(m[1])}.upsample.conv.{m[2]}"] = value
        elif m := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)", key):
            out[f"{m[1]}.mid.block_{int(m[2]) + 1}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"] = value
        elif m := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.+)", key):
            rest = _rename(m[2], VAE_ATTENTION_RENAMES)
            if rest.endswith("weight") and value.ndim == 2:
                value = value[:, :, None, None]  # the original attention uses 1x1 convolutions
            out[f"{m[1]}.mid.attn_1.{rest}"] = value
        else:
            raise KeyError(f"no LDM name for VAE key {key}")
    return {"first_stage_model." + key: value for key, value in out.items()}


def write_ldm_checkpoint(pipe, path: Path) -> None:
    from safetensors.torch import save_file

    checkpoint = {}
    checkpoint.update(unet_to_ldm(pipe.unet.state_dict(), pipe.unet.config.layers_per_block))
    checkpoint.update(vae_to_ldm(pipe.vae.state_dict(), len(pipe.vae.config.down_block_types)))
    for key, value in pipe.text_encoder.state_dict().items():
        # Original checkpoints name CLIP's weights `text_model.*` (newer transformers drop that prefix).
        key = key if key.startswith("text_model.") else "text_model." + key
        checkpoint["cond_stage_model.transformer." + key] = value
    save_file({key: value.contiguous() for key, value in checkpoint.items()}, str(path))
