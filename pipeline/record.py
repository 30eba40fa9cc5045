"""The record of one generated image: what was asked, what ran, and what was stored.

`Record` is the typed form of the JSON record kept beside every master image (and embedded, without local
paths, in every file). `build_record` is its one builder; `Record.from_dict` reads one back and says what is
damaged; `public()` and `a1111()` are its two views embedded in image files.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from datetime import datetime, timezone

from pipeline.errors import PipelineError, summary
from pipeline.options import AccelOptions, GenerateRequest
from pipeline.output.files import bytes_sha256
from pipeline.publish.metadata import a1111_parameters, public_record

RECORD_SCHEMA = 1
"""The record's version (`schema`): raised when a field changes meaning; added fields keep it."""


class RecordError(PipelineError):
    """A record that cannot be read: not JSON, not an object, or a required field missing or of the wrong type."""


@dataclass
class Record:
    """One image's record. Sections that mirror a library's own report (the guidelines' judgement, the model,
    speed options, versions, timings) stay JSON objects; everything the tool reads back by name is a field."""

    schema: int
    created: str
    prompt: str
    title: str | None
    options: dict
    source: str
    final_prompt: str
    negative_prompt: str
    guidelines: dict
    safety_guidance: dict
    image_checks: dict
    model: dict
    scheduler: str | None
    sampler: str | None
    schedule_type: str | None
    watermark: dict
    num_inference_steps: int
    guidance_scale: float
    width: int
    height: int
    seed: int
    batch: dict
    text_encoding: dict
    device: str
    dtype: str
    threads: int | None
    accel: dict | None
    versions: dict
    timings: dict
    batch_key: str | None = None
    # Added when the image is stored:
    renditions_withheld: str | None = None
    publishing: dict | None = None
    content_credentials: dict | None = None
    renditions: list | None = None
    image_sha256: str | None = None
    record_digest: str | None = None
    """SHA-256 of the record's own content (canonical JSON without this field): an edit shows even when the
    catalogue that held the file's hash is lost."""
    extra: dict = field(default_factory=dict)
    """Fields this version does not know (a newer record), kept as they were."""

    # -- reading and writing

    @classmethod
    def from_dict(cls, data: object, where: str = "record") -> "Record":
        """The record in `data` (a parsed JSON object); RecordError names what is missing or wrong."""
        if not isinstance(data, dict):
            raise RecordError(f"{where} is not a JSON object")
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        required = [name for name, f in known.items() if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise RecordError(f"{where} is damaged: missing {', '.join(f'`{m}`' for m in missing[:4])}")
        for name, kind in _CHECKED.items():
            value = data.get(name)
            if name in data and (not isinstance(value, kind) or isinstance(value, bool)):
                raise RecordError(f"{where} is damaged: `{name}` has the wrong type")
        if not isinstance(data["batch"].get("seeds"), list):
            raise RecordError(f"{where} is damaged: `batch.seeds` is missing")
        values = {name: data[name] for name in known if name in data}
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "record") -> "Record":
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RecordError(f"{where} is damaged: not JSON ({summary(exc, 80)})") from None
        return cls.from_dict(data, where)

    def to_dict(self) -> dict:
        """The JSON form, fields in their documented order; fields added at storing only once set."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for name in _STORED:
            if data[name] is None:
                del data[name]
        if data["batch_key"] is None:
            del data["batch_key"]
        data.update(self.extra)
        return data

    def with_(self, **changes) -> "Record":
        return replace(self, **changes)

    # -- what the tool reads from it

    @property
    def reasons(self) -> list[str]:
        """Why the image checks flagged the image (empty: not flagged)."""
        return list(self.image_checks.get("reasons") or [])

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)

    def rewrites(self) -> list[dict]:
        """What the guidelines rewrote in the prompt: [{"rule", "from", "to"}], as `check-prompt` reports it; a
        harmful detail taken out of a news prompt has "to": ""."""
        rules = self.guidelines.get("rules") or []
        return [{"rule": r["id"], "from": r["matched"], "to": r["replacement"] or ""} for r in rules
                if r["action"] in ("rewrite", "remove")]

    def name_params(self) -> dict:
        """The settings an image's file name is hashed from: different settings never share a name."""
        safety = self.safety_guidance
        return {
            "final_prompt": self.final_prompt, "negative_prompt": self.negative_prompt, "model": self.model,
            "width": self.width, "height": self.height, "steps": self.num_inference_steps,
            "guidance": self.guidance_scale, "scheduler": self.scheduler, "batch": self.batch["seeds"],
            "device": self.device, "dtype": self.dtype,
            "safety": [safety["method"], safety["strength"], safety["concept"]],
        }  # fmt: skip

    def request(self, out_dir: Path) -> GenerateRequest:
        """The request that regenerates the batch this image came from."""
        options = self.options
        return GenerateRequest(
            prompt=self.prompt,
            title=self.title,
            source=self.source,
            model=options["model"],
            scheduler=options["scheduler"],
            negative_prompt=options["negative_prompt"],
            model_config=options["model_config"],
            accel=AccelOptions.from_dict(options.get("accel")),
            device=self.device,
            dtype=self.dtype,
            seed=self.batch["seeds"][0],
            num_images=len(self.batch["seeds"]),
            seeds=tuple(self.batch["seeds"]),
            batch_size=len(self.batch["seeds"]),
            num_inference_steps=self.num_inference_steps,
            guidance_scale=self.guidance_scale,
            width=self.width,
            height=self.height,
            style=options["style"],
            guidelines=Path(options["guidelines"]) if options.get("guidelines") else None,
            safety=self.safety_guidance.get("strength") or options.get("safety"),
            nsfw_check=options.get("nsfw_check"),
            clip_check=options.get("clip_check"),
            threads=self.threads,
            watermark=bool((self.watermark or {}).get("asked", False)),
            out_dir=out_dir,
        )

    # -- the views embedded in image files

    def public(self) -> dict:
        """The record as embedded in published files: no local filesystem paths."""
        return public_record(self.to_dict())

    def a1111(self) -> str:
        """The `parameters` text that AUTOMATIC1111-compatible readers parse."""
        return a1111_parameters(self.to_dict())


_STORED = ("renditions_withheld", "publishing", "content_credentials", "renditions", "image_sha256", "record_digest")


def content_digest(data: dict) -> str:
    """The `record_digest` of a record in JSON form: SHA-256 of its canonical JSON without that field."""
    content = {key: value for key, value in data.items() if key != "record_digest"}
    return bytes_sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())


def edited(data: dict) -> bool:
    """Whether a record in JSON form was changed after it was written (False for records without a digest)."""
    return bool(data.get("record_digest")) and content_digest(data) != data["record_digest"]
_CHECKED = {
    "schema": int, "prompt": str, "options": dict, "final_prompt": str, "negative_prompt": str, "guidelines": dict,
    "safety_guidance": dict, "image_checks": dict, "model": dict, "num_inference_steps": int,
    "guidance_scale": (int, float), "width": int, "height": int, "seed": int, "batch": dict, "device": str,
    "dtype": str, "versions": dict, "timings": dict,
}  # fmt: skip


def build_record(
    request: GenerateRequest, *, judgement, policy, text_check: dict | None, safety: dict, checks: list, reasons: list[str],
    model, steps: int, guidance: float, width: int, height: int, seed: int, batch_seeds: list[int], index: int,
    tokens: dict, versions: dict, threads: int | None, timings: dict,
) -> Record:
    """The record of one generated image: the request as asked, the guidelines' judgement, and what ran."""
    info = model.info
    return Record(
        schema=RECORD_SCHEMA,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        prompt=request.prompt,
        title=request.title,
        options={
            "model": request.model,
            "style": request.style,
            "negative_prompt": request.negative_prompt,
            "scheduler": request.scheduler,
            "device": request.device,
            "dtype": request.dtype,
            "model_config": request.model_config,
            "accel": request.accel.to_dict(),
            "guidelines": str(request.guidelines) if request.guidelines else None,
            "safety": request.safety,
            "nsfw_check": request.nsfw_check,
            "clip_check": request.clip_check,
        },
        source=request.source,
        final_prompt=judgement.prompt,
        negative_prompt=judgement.negative_prompt,
        guidelines={
            "version": judgement.guidelines_version,
            "digest": judgement.guidelines_digest,
            "vocabulary_digest": judgement.vocabulary_digest,
            "classifier_digest": judgement.classifier_digest,
            "classifier_score": judgement.classifier_score,
            "meaning_digest": judgement.meaning_digest,
            "encoder_digest": judgement.encoder_digest,
            "meaning_score": judgement.meaning_score,
            "source": policy.source,
            "text_check": text_check,
            "style": judgement.style,
            "verdict": judgement.verdict,
            "rules": [asdict(rule) for rule in judgement.rules],
        },
        safety_guidance=safety,
        image_checks={
            "run": [check.name for check in checks],
            "flagged": bool(reasons),
            "reasons": reasons,
            "publishable": not reasons,
        },
        model={
            "name": request.model,
            "source": info.source,
            "location": info.location,
            "revision": info.revision,
            "pipeline_class": info.pipeline_class,
            "family": info.family,
            "hashes": info.hashes,
        },
        scheduler=info.scheduler,
        sampler=model.sampler_name,
        schedule_type=model.schedule_type,
        watermark={"invisible": info.watermark, "asked": request.watermark},
        num_inference_steps=steps,
        guidance_scale=guidance,
        width=width,
        height=height,
        seed=seed,
        batch={"seeds": batch_seeds, "index": index},
        text_encoding=tokens,
        device=info.device,
        dtype=info.dtype,
        threads=threads,
        accel=getattr(model, "accel", None),
        versions=versions,
        timings=timings,
        batch_key=request.batch_key,
    )
