"""Encoding of published files (PNG, WebP, JPEG, AVIF) with provenance metadata embedded in each."""

from __future__ import annotations

import functools
import io
import struct

from PIL import Image

from pipeline.errors import InputError
from pipeline.metadata import exif_user_comment

EXTENSIONS = {"png": ".png", "webp": ".webp", "jpeg": ".jpg", "avif": ".avif"}
_PIL_FORMATS = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG", "avif": "AVIF"}
DEFAULT_FORMATS = ("webp", "jpeg")
XMP_PNG_KEY = "XML:com.adobe.xmp"


def supported_formats() -> list[str]:
    """The formats this Pillow build can write."""
    from PIL import features

    return [name for name in EXTENSIONS if name != "avif" or features.check("avif")]


def parse_formats(text: str | None) -> tuple[str, ...]:
    """Parse `webp,jpeg` (jpg is jpeg) into format names; InputError names an unknown or unsupported one."""
    if text is None:
        return DEFAULT_FORMATS
    names: list[str] = []
    for item in (part.strip().lower() for part in text.split(",")):
        if not item:
            continue
        item = "jpeg" if item == "jpg" else item
        if item not in EXTENSIONS:
            raise InputError(f"unknown format {item!r}; choose from {', '.join(EXTENSIONS)}")
        if item not in supported_formats():
            raise InputError(f"format {item!r} is not supported by this Pillow build; choose from {', '.join(supported_formats())}")
        if item not in names:
            names.append(item)
    if not names:
        raise InputError("no format given; choose from " + ", ".join(supported_formats()))
    return tuple(names)


@functools.lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    """An sRGB ICC profile with a fixed creation date, so the same pixels always encode to the same bytes."""
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    if not any(profile[84:100]):  # no profile ID (an MD5 that would cover the date): the date is free to fix
        profile[24:36] = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)
    return bytes(profile)


def encode(image: Image.Image, fmt: str, *, quality: int, parameters: str, xmp: bytes, text: dict | None = None) -> bytes:
    """The bytes of `image` in `fmt`, tagged sRGB, with A1111 `parameters` and the XMP packet embedded.

    PNG carries `parameters` (and any extra `text`) as iTXt chunks and the XMP as an iTXt
    `XML:com.adobe.xmp` chunk; JPEG, WebP and AVIF carry `parameters` as EXIF UserComment and the
    XMP in their own XMP slot.
    """
    buffer = io.BytesIO()
    options: dict = {"icc_profile": srgb_icc()}
    if fmt == "png":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in {"parameters": parameters, **(text or {}), XMP_PNG_KEY: xmp.decode()}.items():
            info.add_itxt(key, value)
        options.update(pnginfo=info, optimize=False)
    else:
        options.update(exif=exif_user_comment(parameters), xmp=xmp, quality=quality)
        if fmt == "jpeg":
            options.update(optimize=True, progressive=True, subsampling="4:2:0" if quality < 90 else "4:4:4")
        elif fmt == "webp":
            options.update(method=4)
        elif fmt == "avif":
            options.update(speed=8)
    image.save(buffer, format=_PIL_FORMATS[fmt], **options)
    return buffer.getvalue()
