"""Review pages of a batch: a contact sheet (grid image) and a static, offline index.html gallery."""

from __future__ import annotations

import io
import math
from html import escape as _html_escape
from pathlib import Path
from urllib.parse import quote

from pipeline.errors import printable
from pipeline.output.files import replace_file



def escape(text) -> str:
    """Untrusted text for the page: control and bidi characters written as escapes, then HTML-escaped."""
    return _html_escape(printable(text))


CONTACT_SHEET = "contact-sheet.png"
GALLERY = "index.html"
CELL = 192
CAPTION = 28


def contact_sheet(out_dir: Path, images: list[dict]) -> bytes | None:
    """A grid of every finished image with its job, style and seed; None when there is none."""
    from PIL import Image, ImageDraw

    done = [entry for entry in images if entry.get("png")]
    if not done:
        return None
    columns = math.ceil(math.sqrt(len(done)))
    rows = math.ceil(len(done) / columns)
    sheet = Image.new("RGB", (columns * CELL, rows * (CELL + CAPTION)), "white")
    draw = ImageDraw.Draw(sheet)
    for index, entry in enumerate(done):
        x, y = (index % columns) * CELL, (index // columns) * (CELL + CAPTION)
        with Image.open(out_dir / entry["png"]) as image:
            thumb = image.convert("RGB")
            thumb.thumbnail((CELL - 8, CELL - 8))  # shrinks only
            if max(thumb.size) < CELL // 2:  # tiny images are shown larger, pixel for pixel
                factor = (CELL - 8) // max(thumb.size)
                thumb = thumb.resize((thumb.width * factor, thumb.height * factor), Image.NEAREST)
        sheet.paste(thumb, (x + (CELL - thumb.width) // 2, y + (CELL - thumb.height) // 2))
        label = f"job {entry['job']} | {entry['style'] or 'default'} | seed {entry['seed']}"
        draw.text((x + 4, y + CELL + 6), label[:34], fill="black")
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
.summary {{ margin-bottom: 1rem; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 1rem; }}
figure {{ margin: 0; border: 1px solid #ddd; padding: .5rem; border-radius: 4px; }}
figure img {{ width: 100%; image-rendering: pixelated; background: #eee; }}
figure.failed, figure.blocked {{ background: #fff4f4; }}
figcaption {{ font-size: .85rem; }}
.prompt {{ margin: .3rem 0; }}
.missing {{ color: #b00; font-weight: bold; }}
dt {{ font-weight: bold; float: left; margin-right: .4em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="summary">{summary}</p>
<p class="missing" id="missing" hidden></p>
<div class="grid">
{figures}
</div>
<script>
// Mark every image as loaded or not, and say so when files are missing next to this page.
window.addEventListener("load", function () {{
  var missing = 0;
  document.querySelectorAll("figure img").forEach(function (img) {{
    var ok = img.complete && img.naturalWidth > 0;
    img.setAttribute("data-loaded", ok ? "yes" : "no");
    if (!ok) missing += 1;
  }});
  document.body.setAttribute("data-images-checked", "yes");
  if (missing) {{
    var note = document.getElementById("missing");
    note.textContent = missing + " image(s) could not be loaded; keep this page in the folder with its images.";
    note.hidden = false;
  }}
}});
</script>
</body>
</html>
"""


def _figure(entry: dict) -> str:
    rules = entry.get("rules") or []
    actions = "; ".join(f"{rule.get('id')}: {rule.get('action')} {rule.get('matched', '')}".strip() for rule in rules)
    flags = ", ".join(map(str, entry.get("flags") or []))
    details = [
        ("job", str(entry["job"])),
        ("style", entry["style"] or "default"),
        ("seed", str(entry["seed"])),
        ("guidelines", actions or "no changes"),
        ("flags", flags or "none"),
    ]
    if entry.get("reason"):
        details.append((entry["status"], entry["reason"]))
    if entry.get("png"):
        details.append(("content credentials", "signed" if entry.get("signed") else "not signed"))
    rows = "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in details)
    links = " ".join(
        f'<a class="rendition" href="{escape(quote(r["file"]))}">{escape(r["name"])} {r["width"]}x{r["height"]} '
        f'{escape(r["format"])}</a>'
        for r in entry.get("renditions") or []
    )
    if links:
        rows += f"<dt>renditions</dt><dd>{links}</dd>"
    if entry.get("png"):
        alt = entry.get("alt_text") or entry["prompt"][:200]
        picture = f'<img src="{escape(quote(entry["png"]))}" alt="{escape(alt)}" loading="eager">'
    else:
        picture = f"<p><strong>{escape(entry['status'])}</strong>: no image</p>"
    title = f"<strong>{escape(entry['title'])}</strong>" if entry.get("title") else ""
    return (
        f'<figure class="{escape(entry["status"])}" data-key="{escape(entry["key"])}">{picture}'
        f'<figcaption>{title}<p class="prompt">{escape(entry["prompt"])}</p><dl>{rows}</dl></figcaption></figure>'
    )


def gallery_html(title: str, summary: dict, images: list[dict]) -> str:
    """A self-contained page (inline CSS, relative image links) showing every image and every failure."""
    counts = ", ".join(f"{name} {summary[name]}" for name in ("done", "skipped", "failed", "blocked", "flagged", "pending"))
    return _PAGE.format(
        title=escape(title),
        summary=escape(f"{summary['total']} image(s): {counts}"),
        figures="\n".join(_figure(entry) for entry in images),
    )


def write_review(out_dir: Path, title: str, summary: dict, images: list[dict]) -> dict:
    """Write the contact sheet and the gallery into `out_dir`; return their paths."""
    paths = {"gallery": out_dir / GALLERY}
    replace_file(paths["gallery"], gallery_html(title, summary, images).encode())
    sheet = contact_sheet(out_dir, images)
    if sheet is not None:
        paths["contact_sheet"] = out_dir / CONTACT_SHEET
        replace_file(paths["contact_sheet"], sheet)
    return paths
