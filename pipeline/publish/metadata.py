"""Metadata written into image files: AUTOMATIC1111-style parameters and a path-free record."""

from __future__ import annotations

import copy
import os
import re
from xml.sax.saxutils import escape


def _one_line(text: str) -> str:
    return " ".join(text.split())


def a1111_parameters(record: dict) -> str:
    """The `parameters` text that AUTOMATIC1111-compatible readers parse."""
    model = record["model"]
    fields = [
        ("Steps", record["num_inference_steps"]),
        ("Sampler", record["sampler"]),
        ("Schedule type", record.get("schedule_type") or "Automatic"),
        ("CFG scale", record["guidance_scale"]),
        ("Seed", record["seed"]),
        ("Size", f"{record['width']}x{record['height']}"),
    ]
    checkpoint = (model.get("hashes") or {}).get("checkpoint")
    if checkpoint:  # A1111 and Civitai match a checkpoint by the first 10 hex digits of its file's SHA-256
        fields.append(("Model hash", checkpoint[:10]))
    fields += [("Model", model["location"]), ("Version", f"hero-pipeline {record['versions']['hero-pipeline']}")]
    lines = [_one_line(record["final_prompt"])]
    if record.get("negative_prompt"):
        lines.append(f"Negative prompt: {_one_line(record['negative_prompt'])}")
    lines.append(", ".join(f"{key}: {value}" for key, value in fields))
    return "\n".join(lines)


def public_record(record: dict) -> dict:
    """The record as embedded in published files: no local filesystem paths."""
    public = copy.deepcopy(record)
    options = public.get("options", {})
    if public["model"]["source"] in ("folder", "single_file"):
        options["model"] = public["model"]["location"]
        public["model"]["name"] = public["model"]["location"]
    if options.get("model_config"):
        options["model_config"] = "(local folder)"
    for key in ("guidelines", "nsfw_check", "clip_check"):
        if options.get(key):
            options[key] = str(options[key]).replace("\\", "/").rsplit("/", 1)[-1]
    if public.get("guidelines", {}).get("source"):
        public["guidelines"]["source"] = public["guidelines"]["source"].replace("\\", "/").rsplit("/", 1)[-1]
    if public.get("source", "").startswith(("/", ".")) or "/" in public.get("source", ""):
        public["source"] = public["source"].rsplit("/", 1)[-1]
    return _without_local_paths(public)


def _without_local_paths(value):
    """Any remaining string that names an existing absolute path is cut to its last part."""
    if isinstance(value, dict):
        return {key: _without_local_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_local_paths(item) for item in value]
    if isinstance(value, str) and os.path.isabs(value) and "\n" not in value and os.path.exists(value):
        return os.path.basename(value.rstrip("/\\")) or "(local path)"
    return value


RECORD_PNG_KEY = "hero-pipeline"
"""The PNG text chunk of a master image that carries its public record."""

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
"""IPTC's code for media created by a trained model, read by search engines and social platforms."""

DEFAULT_CREDIT = "AI-generated illustration"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _xml_text(text: str) -> str:
    return escape(_CONTROL.sub("", text), {'"': "&quot;"})


def xmp_packet(
    *,
    alt_text: str,
    credit: str,
    title: str | None = None,
    tool: str = "hero-pipeline",
    ai_system: str | None = None,
    ai_version: str | None = None,
    ai_prompt: str | None = None,
) -> bytes:
    """An XMP packet with the IPTC digital source type, alt text (`dc:description`) and a credit line.

    `ai_system`, `ai_version` and `ai_prompt` fill the IPTC 2025.1 fields AI System Used, AI System
    Version Used and AI Prompt Information.
    """
    ai_fields = "".join(
        f'\n    Iptc4xmpExt:{name}="{_xml_text(value)}"'
        for name, value in (("AISystemUsed", ai_system), ("AISystemVersionUsed", ai_version), ("AIPromptInformation", ai_prompt))
        if value
    )
    title_xml = (
        f'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{_xml_text(title)}</rdf:li></rdf:Alt></dc:title>\n'
        if title
        else ""
    )
    alt = _xml_text(alt_text)
    packet = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    Iptc4xmpExt:DigitalSourceType="{DIGITAL_SOURCE_TYPE}"{ai_fields}
    photoshop:Credit="{_xml_text(credit)}"
    xmp:CreatorTool="{_xml_text(tool)}">
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{alt}</rdf:li></rdf:Alt></dc:description>
   <Iptc4xmpCore:AltTextAccessibility><rdf:Alt><rdf:li xml:lang="x-default">{alt}</rdf:li></rdf:Alt></Iptc4xmpCore:AltTextAccessibility>
{title_xml}  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return packet.encode("utf-8")


def exif_user_comment(parameters: str) -> bytes:
    """EXIF bytes with the `parameters` text as UserComment (UNICODE, as AUTOMATIC1111 writes it in JPEG and WebP)."""
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + parameters.encode("utf-16-be")
    return exif.tobytes()
