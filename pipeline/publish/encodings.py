"""What is published for an image: renditions in web formats (PNG, WebP, JPEG, AVIF), each with provenance metadata."""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass

from PIL import Image

from pipeline.publish.credentials import SigningOptions, load_signer, signing_options
from pipeline.publish.disclosure import check_text
from pipeline.errors import InputError
from pipeline.publish.metadata import DEFAULT_CREDIT, a1111_parameters, exif_user_comment, xmp_packet
from pipeline.models.upscaler import check_upscaler_source, upscaler_name
from pipeline.publish.renditions import RenditionSpec, parse_renditions
from pipeline.output.files import bytes_sha256

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


@dataclass(frozen=True)
class PublishOptions:
    """How the published files of each image are made: renditions, formats, disclosure and metadata."""

    renditions: tuple[RenditionSpec, ...] = ()
    formats: tuple[str, ...] = DEFAULT_FORMATS
    quality: int = 85
    sharpen: bool = True
    disclosure: str | None = None
    credit: str = DEFAULT_CREDIT
    alt_text: str | None = None
    upscaler: str | None = None
    c2pa: SigningOptions | None = None  # sign every published file with C2PA Content Credentials

    def to_dict(self) -> dict:
        return {
            "renditions": [f"{s.name}={s.width}x{s.height}" for s in self.renditions],
            "formats": list(self.formats),
            "quality": self.quality,
            "sharpen": self.sharpen,
            "disclosure": self.disclosure,
            "credit": self.credit,
            "alt_text": self.alt_text,
            "upscaler": upscaler_name(self.upscaler) if self.upscaler else None,
        }


def publish_options(
    *,
    renditions: str | None = None,
    formats: str | None = None,
    quality: int = 85,
    sharpen: bool = True,
    disclosure: str | None = None,
    credit: str | None = None,
    alt_text: str | None = None,
    upscaler: str | None = None,
    c2pa_cert: str | None = None,
    c2pa_key: str | None = None,
    c2pa_tsa: str | None = None,
) -> PublishOptions:
    """Validated PublishOptions from CLI-style text; InputError names the bad value.

    A signing certificate and key are checked here (and a probe file signed), so a bad one fails
    before anything is generated.
    """
    if not 1 <= quality <= 100:
        raise InputError(f"`quality` has to be between 1 and 100 but is {quality}")
    if credit is not None and not credit.strip():
        raise InputError("the credit line is empty")
    if alt_text is not None and not alt_text.strip():
        raise InputError("the alt text is empty")
    return PublishOptions(
        renditions=parse_renditions(renditions),
        formats=parse_formats(formats),
        quality=quality,
        sharpen=sharpen,
        disclosure=None if disclosure is None else check_text(disclosure),
        credit=" ".join(credit.split()) if credit else DEFAULT_CREDIT,
        alt_text=" ".join(alt_text.split()) if alt_text else None,
        upscaler=check_upscaler_source(upscaler) if upscaler else None,
        c2pa=_checked_signing(c2pa_cert, c2pa_key, c2pa_tsa),
    )


def _checked_signing(cert: str | None, key: str | None, tsa: str | None) -> SigningOptions | None:
    options = signing_options(cert, key, tsa)
    if options is not None:
        load_signer(options)
    return options


EMBEDDED_TEXT_BYTES = 12_000
"""The most UTF-8 bytes of one text (prompt, negative prompt, title, alt text) embedded in a file's XMP and A1111
parameters: JPEG holds XMP and EXIF in 64 KB segments. A longer text is shortened there, with a note; the
record beside the master (and the one embedded in the master PNG) keeps it whole."""


def shortened(text: str | None, limit: int = EMBEDDED_TEXT_BYTES) -> str | None:
    """`text` cut to at most `limit` UTF-8 bytes (at a character boundary), marked as shortened."""
    data = (text or "").encode()
    if text is None or len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore").rstrip() + " … [shortened; the whole text is in the image's record]"


def embedded_metadata(record: dict) -> tuple[str, bytes]:
    """The A1111 `parameters` text and the XMP packet that every published file of a record carries."""
    publishing = record["publishing"]
    model = record["model"]
    xmp = xmp_packet(
        alt_text=shortened(publishing["alt_text"]),
        credit=shortened(publishing["credit"]),
        title=shortened(record.get("title")),
        ai_system=f"{model['location']} ({model['pipeline_class']}) with hero-pipeline {record['versions']['hero-pipeline']}",
        ai_version=model["revision"],
        ai_prompt=shortened(" ".join(record["final_prompt"].split())),
    )
    short = {**record, "final_prompt": shortened(record["final_prompt"]), "negative_prompt": shortened(record.get("negative_prompt"))}
    return a1111_parameters(short), xmp


def render_files(image, record: dict, publish: PublishOptions) -> tuple[dict[str, bytes], list[dict]]:
    """Every rendition of `image` in every format, encoded with its metadata: (bytes by suffix, what was done)."""
    from pipeline.publish.disclosure import add_strip
    from pipeline.publish.renditions import render

    parameters, xmp = embedded_metadata(record)
    files: dict[str, bytes] = {}
    rendered: list[dict] = []
    hook, hook_name = None, None
    if publish.upscaler and any(s.width > image.width or s.height > image.height for s in publish.renditions):
        from pipeline.models.upscaler import load_upscaler

        model = load_upscaler(publish.upscaler)
        hook, hook_name = (lambda im, factor: model(im, factor, prompt=record["final_prompt"])), model.__name__
    for spec in publish.renditions:
        picture, info = render(image, spec, sharpen=publish.sharpen, upscaler=hook, upscaler_name=hook_name)
        if publish.disclosure:
            picture = add_strip(picture, publish.disclosure)
        for fmt in publish.formats:
            suffix = f".{spec.name}{EXTENSIONS[fmt]}"
            data = encode(picture, fmt, quality=publish.quality, parameters=parameters, xmp=xmp)
            files[suffix] = data
            rendered.append(
                {
                    "name": spec.name,
                    "format": fmt,
                    "suffix": suffix,
                    "width": spec.width,
                    "height": spec.height,
                    "sha256": bytes_sha256(data),
                    **info.to_dict(),
                    "native_size": [image.width, image.height],
                    "disclosure": publish.disclosure,
                }
            )
    return files, rendered


def publish_from_record(record: dict, only: dict | None = None) -> PublishOptions:
    """The PublishOptions a record was published with; `only` (a rendition entry) narrows it to that file."""
    publishing = record["publishing"]
    specs = parse_renditions(",".join(publishing["renditions"]) or None)
    formats = tuple(publishing["formats"])
    if only is not None:
        specs = tuple(s for s in specs if s.name == only["name"])
        formats = (only["format"],)
    return PublishOptions(
        renditions=specs,
        formats=formats,
        quality=publishing["quality"],
        sharpen=publishing["sharpen"],
        disclosure=publishing["disclosure"],
        credit=publishing["credit"],
        alt_text=publishing["alt_text"],
    )


def rendition_plan(publish: PublishOptions | None, width: int | None, height: int | None) -> list[dict]:
    """Each rendition that would be published, with whether (and how much) it enlarges the generated image."""
    if publish is None:
        return []
    plans = []
    for spec in publish.renditions:
        scale = max(spec.width / width, spec.height / height) if width and height else None
        plans.append({
            "name": spec.name, "width": spec.width, "height": spec.height, "formats": list(publish.formats),
            "enlarged": None if scale is None else scale > 1,
            "scale": None if scale is None else round(scale, 2),
            "upscaler": publish.upscaler,
        })  # fmt: skip
    return plans
