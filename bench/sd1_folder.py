"""Write a small Stable Diffusion 1.x diffusers folder that is none of the built-ins, for CPU benchmarks.

    python bench/sd1_folder.py DIR

The architecture is SD 1.x's (UNet2DConditionModel with cross-attention down and up blocks, one
CLIPTextModel with CLIP's own tokenizer, AutoencoderKL, PNDM), at a scale a 2-core CPU runs in
seconds: its configs are written here, not taken from pipeline/models/configs, its weights are seeded
random values, and its model index carries no hero-pipeline defaults, so `pipeline` meets it as any
local folder it never saw.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = 1234

UNET = dict(
    sample_size=8,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(32, 64, 64),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=64,
    attention_head_dim=8,
    norm_num_groups=16,
)
TEXT_ENCODER = dict(
    vocab_size=49408,
    hidden_size=64,
    intermediate_size=128,
    projection_dim=64,
    num_hidden_layers=3,
    num_attention_heads=4,
    max_position_embeddings=77,
    hidden_act="quick_gelu",
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407,
)
VAE = dict(
    sample_size=64,
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    layers_per_block=1,
    block_out_channels=(16, 32, 32, 32),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    norm_num_groups=8,
    scaling_factor=0.18215,
)
SCHEDULER = dict(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    num_train_timesteps=1000,
    set_alpha_to_one=False,
    skip_prk_steps=True,
    steps_offset=1,
)


def build(folder: Path) -> None:
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    sys.path.insert(0, str(REPO))
    from pipeline.models.tokenizer import clip_tokenizer

    torch.manual_seed(SEED)
    pipe = StableDiffusionPipeline(
        unet=UNet2DConditionModel(**UNET).eval(),
        text_encoder=CLIPTextModel(CLIPTextConfig(**TEXT_ENCODER)).eval(),
        tokenizer=clip_tokenizer(77),
        vae=AutoencoderKL(**VAE).eval(),
        scheduler=PNDMScheduler(**SCHEDULER),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.folder.exists() and any(args.folder.iterdir()):
        raise SystemExit(f"{args.folder} is not empty: name a new folder")
    build(args.folder)
    print(args.folder)


if __name__ == "__main__":
    main()
