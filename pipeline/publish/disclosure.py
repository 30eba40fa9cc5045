"""The disclosure strip: a caption band such as "AI-generated illustration" drawn along one edge of an image."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from pipeline.errors import InputError

DEFAULT_TEXT = "AI-generated illustration"
MAX_TEXT = 200


def check_text(text: str) -> str:
    """The strip text, one line; InputError when empty, multi-line or too long."""
    text = " ".join(text.split())
    if not text:
        raise InputError("the disclosure text is empty; give text or leave --disclosure out")
    if len(text) > MAX_TEXT:
        raise InputError(f"the disclosure text has {len(text)} characters; at most {MAX_TEXT} fit a strip")
    return text


def add_strip(image: Image.Image, text: str, *, position: str = "bottom") -> Image.Image:
    """A copy of `image` with a dark translucent band along the bottom (or top) edge carrying `text`.

    The band is about 5% of the height; the text uses Pillow's bundled font, shrunk to fit the width.
    The image keeps its size, so a rendition stays exactly the size it was asked for.
    """
    if position not in ("bottom", "top"):
        raise InputError(f"disclosure position has to be bottom or top but is {position!r}")
    base = image.convert("RGBA")
    width, height = base.size
    band = max(10, round(height * 0.05))
    size = max(6, round(band * 0.62))
    font = ImageFont.load_default(size=size)
    draw_probe = ImageDraw.Draw(base)
    while size > 6 and draw_probe.textlength(text, font=font) > width - band:
        size -= 1
        font = ImageFont.load_default(size=size)
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    top = height - band if position == "bottom" else 0
    draw.rectangle((0, top, width, top + band), fill=(0, 0, 0, 150))
    draw.text((band // 2, top + band / 2), text, font=font, fill=(255, 255, 255, 235), anchor="lm")
    return Image.alpha_composite(base, overlay).convert("RGB")
