"""Metadata written into image files: AUTOMATIC1111-style parameters and a path-free record."""

from __future__ import annotations

import copy


def _one_line(text: str) -> str:
    return " ".join(text.split())


def a1111_parameters(record: dict) -> str:
    """The `parameters` text that AUTOMATIC1111-compatible readers parse."""
    model = record["model"]
    fields = [
        ("Steps", record["num_inference_steps"]),
        ("Sampler", record["sampler"]),
        ("CFG scale", record["guidance_scale"]),
        ("Seed", record["seed"]),
        ("Size", f"{record['width']}x{record['height']}"),
        ("Model hash", model["revision"].split(":")[-1][:10]),
        ("Model", model["location"]),
        ("Version", f"hero-pipeline {record['versions']['hero-pipeline']}"),
    ]
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
    if options.get("model_config"):
        options["model_config"] = "(local folder)"
    for key in ("guidelines", "nsfw_check", "clip_check"):
        if options.get(key):
            options[key] = str(options[key]).replace("\\", "/").rsplit("/", 1)[-1]
    if public.get("guidelines", {}).get("source"):
        public["guidelines"]["source"] = public["guidelines"]["source"].replace("\\", "/").rsplit("/", 1)[-1]
    if public.get("source", "").startswith(("/", ".")) or "/" in public.get("source", ""):
        public["source"] = public["source"].rsplit("/", 1)[-1]
    return public
