"""Hero renditions: content-aware aspect crops, high-quality resampling, mild sharpening, sRGB output."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from PIL import Image, ImageFilter

from pipeline.errors import InputError

DEFAULT_RENDITIONS = {
    "hero": (1920, 1080),
    "og": (1200, 630),
    "square": (1080, 1080),
    "thumb": (640, 360),
}
"""Named renditions and their sizes; `--renditions` also accepts `NAME=WIDTHxHEIGHT` for others."""

MIN_SIDE = 16
MAX_SIDE = 8192
MAX_ASPECT = 8.0
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

Upscaler = Callable[[Image.Image, int], Image.Image]
"""An upscaler hook: (image, integer factor) -> an image about `factor` times larger."""


@dataclass(frozen=True)
class RenditionSpec:
    name: str
    width: int
    height: int


@dataclass(frozen=True)
class RenderInfo:
    """What was done to make one rendition, for the record."""

    crop: tuple[int, int, int, int]
    upscaled: bool
    scale: float
    upscaler: str | None
    sharpened: bool

    def to_dict(self) -> dict:
        return {
            "crop": list(self.crop),
            "upscaled": self.upscaled,
            "scale": round(self.scale, 4),
            "upscaler": self.upscaler,
            "sharpened": self.sharpened,
        }


def check_size(name: str, width: int, height: int) -> None:
    for side, value in (("width", width), ("height", height)):
        if not MIN_SIDE <= value <= MAX_SIDE:
            raise InputError(f"rendition {name!r}: {side} has to be between {MIN_SIDE} and {MAX_SIDE} but is {value}")
    if max(width / height, height / width) > MAX_ASPECT:
        raise InputError(f"rendition {name!r}: {width}x{height} is narrower than 1:{MAX_ASPECT:g}")


def parse_renditions(text: str | None) -> tuple[RenditionSpec, ...]:
    """Parse `hero,og`, `all`, `none` or `name=WIDTHxHEIGHT` items into specs; InputError names a bad item."""
    if text is None or text.strip().lower() in ("", "none"):
        return ()
    specs: dict[str, RenditionSpec] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item == "all":
            for name, (width, height) in DEFAULT_RENDITIONS.items():
                specs[name] = RenditionSpec(name, width, height)
            continue
        if "=" in item:
            name, _, size = item.partition("=")
            name = name.strip()
            match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", size)
            if not match:
                raise InputError(f"rendition {item!r}: the size has to be WIDTHxHEIGHT, e.g. {name}=1600x900")
            width, height = int(match[1]), int(match[2])
        elif item in DEFAULT_RENDITIONS:
            name, (width, height) = item, DEFAULT_RENDITIONS[item]
        else:
            raise InputError(
                f"unknown rendition {item!r}; choose from {', '.join(DEFAULT_RENDITIONS)}, all, none "
                "or give NAME=WIDTHxHEIGHT"
            )
        if not _NAME.match(name):
            raise InputError(f"rendition name {name!r} has to be lower-case letters, digits and dashes")
        check_size(name, width, height)
        specs[name] = RenditionSpec(name, width, height)
    return tuple(specs.values())


def to_srgb(image: Image.Image) -> Image.Image:
    """An RGB image in sRGB: an embedded ICC profile is converted; untagged pixels are taken as sRGB."""
    icc = image.info.get("icc_profile")
    if icc:
        import io

        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        image = ImageCms.profileToProfile(image.convert("RGB"), source, target, outputMode="RGB")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.info.pop("icc_profile", None)
    return image


def content_crop_box(image: Image.Image, width: int, height: int) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) of the `width:height` aspect that keeps the most salient content.

    Uses smartcrop (edges, saturation and skin tones, weighted to the rule of thirds) over the
    largest box of that aspect that fits the image.
    """
    import smartcrop

    src_w, src_h = image.size
    scale = min(src_w / width, src_h / height)
    crop_w, crop_h = min(src_w, round(width * scale)), min(src_h, round(height * scale))
    if (crop_w, crop_h) == (src_w, src_h):
        return (0, 0, src_w, src_h)
    # Score on a grid fine enough that the smaller side of the crop spans at least 8 cells.
    down_sample = max(1, min(8, min(crop_w, crop_h) // 8))
    analyser = smartcrop.SmartCrop(score_down_sample=down_sample)
    step = max(1, min(8, max(src_w - crop_w, src_h - crop_h) // 16))
    result = analyser.analyse(
        image.convert("RGB"), crop_w, crop_h, max_scale=1, min_scale=1, num_scale_steps=1, step=step
    )
    top = result["top_crop"]
    left = min(max(0, int(top["x"])), src_w - crop_w)
    upper = min(max(0, int(top["y"])), src_h - crop_h)
    return (left, upper, left + crop_w, upper + crop_h)


def render(
    image: Image.Image,
    spec: RenditionSpec,
    *,
    sharpen: bool = True,
    upscaler: Upscaler | None = None,
    upscaler_name: str | None = None,
) -> tuple[Image.Image, RenderInfo]:
    """One rendition of `image`: content-aware crop to the spec's aspect, resample to its size, sharpen, sRGB.

    When the crop is smaller than the target, the image is enlarged beyond its native size; an
    `upscaler` hook (if given) enlarges it first by an integer factor, then Lanczos fits it exactly.
    """
    image = to_srgb(image)
    box = content_crop_box(image, spec.width, spec.height)
    region = image.crop(box)
    scale = spec.width / region.width
    upscaled = scale > 1.0
    used_upscaler = "lanczos" if upscaled else None
    if upscaled and upscaler is not None:
        factor = max(2, int(scale + 0.999))
        region = to_srgb(upscaler(region, factor))
        used_upscaler = upscaler_name or getattr(upscaler, "__name__", "custom")
    out = region.resize((spec.width, spec.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if sharpen:
        # Mild unsharp mask, scaled to the output size: restores edge contrast lost in resampling.
        radius = max(0.6, min(spec.width, spec.height) / 1080)
        out = out.filter(ImageFilter.UnsharpMask(radius=radius, percent=60, threshold=2))
    return out, RenderInfo(box, upscaled, scale, used_upscaler, sharpen)
