"""Safe Latent Diffusion: steer the denoising of SD 1.x/2.x models away from the policy's safety concept.

Built on diffusers' `StableDiffusionPipelineSafe` (deprecated in diffusers but present), made from the
loaded pipeline's own components, so no weights are loaded twice. Its `safety_concept` is an attribute that
`save_pretrained` does not keep, so it is set from the policy every time the pipeline is built. SDXL and other
families have no SLD pipeline: for them the policy acts through the negative prompt, and the record says so.
"""

from __future__ import annotations

import math
import warnings

import torch

SLD_PRESETS = {"off": None, "medium": "MEDIUM", "strong": "STRONG", "max": "MAX"}
"""Our strength names mapped to diffusers' `SafetyConfig` presets (warm-up, guidance scale, threshold, momentum)."""

SLD_FAMILIES = ("sd",)


def describe(family: str, strength: str, concept: str, guidance_scale: float) -> dict:
    """What the record says about guidance while denoising for a model `family` at `strength`."""
    if strength == "off":
        return {"method": "off", "strength": "off", "concept": None, "note": "safety guidance turned off"}
    if guidance_scale <= 1 and family in SLD_FAMILIES:
        return {
            "method": "off",
            "strength": strength,
            "concept": None,
            "note": f"guidance {guidance_scale} <= 1 turns classifier-free guidance off, and with it Safe Latent "
            "Diffusion; the policy acts through the negative prompt only",
        }
    if family not in SLD_FAMILIES:
        return {
            "method": "negative-prompt",
            "strength": strength,
            "concept": None,
            "note": f"Safe Latent Diffusion supports SD 1.x/2.x only; for {family} the policy acts through the "
            "negative prompt",
        }
    return {"method": "safe-latent-diffusion", "strength": strength, "concept": concept, "note": ""}


def sld_parameters(strength: str) -> dict:
    """The `sld_*` call arguments for a strength: diffusers' own presets."""
    from diffusers.pipelines.deprecated.stable_diffusion_safe import SafetyConfig

    preset = SLD_PRESETS[strength]
    if preset is None:
        return {"sld_guidance_scale": 0.0}
    return dict(getattr(SafetyConfig, preset))


def _texts(value) -> tuple | str | None:
    return tuple(value) if isinstance(value, list) else value


def _same(a: tuple | None, b: tuple | None) -> bool:
    """Whether two tuples of tensors hold the very same tensors (or are both None)."""
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def safe_pipeline(pipe, concept: str):
    """An SLD pipeline sharing `pipe`'s components, steering away from `concept`."""
    from diffusers import StableDiffusionPipelineSafe

    class SafePipeline(StableDiffusionPipelineSafe):
        """Takes precomputed (long-prompt) embeddings as well as text, like the standard pipeline does."""

        embeddings: tuple | None = None
        _encoded: tuple | None = None  # (key, embeddings given, result) of the last encoding

        def __call__(self, *args, **kwargs):
            with warnings.catch_warnings():  # the deprecated pipeline warns about its own internals
                warnings.simplefilter("ignore", FutureWarning)
                return super().__call__(*args, **kwargs)

        def _encode_prompt(self, prompt, device, num_images_per_prompt, do_cfg, negative_prompt, enable_safety):
            """The batch's text embeddings (prompt, negative, concept); the next batch of the same request reuses them."""
            key = (_texts(prompt), str(device), num_images_per_prompt, do_cfg, _texts(negative_prompt), enable_safety,
                   self.safety_concept, torch.get_num_threads())  # fmt: skip
            if self._encoded is None or self._encoded[0] != key or not _same(self._encoded[1], self.embeddings):
                encoded = self._encode_uncached(prompt, device, num_images_per_prompt, do_cfg, negative_prompt, enable_safety)
                self._encoded = (key, self.embeddings, encoded)
            return self._encoded[2]

        def _encode_uncached(self, prompt, device, num_images_per_prompt, do_cfg, negative_prompt, enable_safety):
            if self.embeddings is None:
                return super()._encode_prompt(
                    prompt, device, num_images_per_prompt, do_cfg, negative_prompt, enable_safety
                )
            prompt_embeds, negative_embeds = self.embeddings
            if not do_cfg:
                return prompt_embeds
            if not enable_safety:
                return torch.cat([negative_embeds, prompt_embeds])
            safety = self._concept_embeddings(prompt_embeds.shape[1], device).to(prompt_embeds.dtype)
            return torch.cat([negative_embeds, prompt_embeds, safety.expand(prompt_embeds.shape[0], -1, -1)])

        def _concept_embeddings(self, length: int, device) -> torch.Tensor:
            """The concept's embeddings padded with empty-prompt windows to `length` tokens (as compel pads)."""

            def encode(text: str) -> torch.Tensor:
                ids = self.tokenizer(
                    [text], padding="max_length", max_length=self.tokenizer.model_max_length, truncation=True,
                    return_tensors="pt",
                ).input_ids
                return self.text_encoder(ids.to(device))[0]

            concept = encode(self.safety_concept)
            if length <= concept.shape[1]:
                return concept[:, :length]
            windows = math.ceil((length - concept.shape[1]) / concept.shape[1])
            return torch.cat([concept, encode("").repeat(1, windows, 1)], dim=1)[:, :length]

    safe = SafePipeline(
        vae=pipe.vae,
        text_encoder=pipe.text_encoder,
        tokenizer=pipe.tokenizer,
        unet=pipe.unet,
        scheduler=type(pipe.scheduler).from_config(pipe.scheduler.config),  # its checks may edit the config
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    safe.safety_concept = concept
    safe.set_progress_bar_config(disable=True)
    return safe
