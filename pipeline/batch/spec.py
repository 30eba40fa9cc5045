"""Loading and strict validation of batch spec files (TOML), reporting every error with its place."""

from __future__ import annotations

import difflib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError, unknown_name
from pipeline.options import (
    COMPILE_MODES, COMPILE_SCOPES, DTYPES, MAX_IMAGES, QUANTIZE_MODES, SCHEDULER_NAMES, AccelOptions, GenerateRequest, check_request,
)
from pipeline.inputs import read_input
from pipeline.guidelines import load_guidelines, style_names as policy_styles
from pipeline.inputs.article import decode_text, parse_article
from pipeline.models import resolve_model_source
from pipeline.publish.credentials import load_signer, signing_options
from pipeline.publish.encodings import publish_options

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Keys a job or [defaults] may set: generate's long option names. Values: (type check, description).
_INT = ("int", "an integer")
_NUMBER = ("number", "a number")
_STR = ("str", "a string")
_SEEDS = ("int-list", "a list of integers")
_STYLES = ("str-list", "a list of strings")
_BOOL = ("bool", "true or false")
_NAMES = ("str-or-list", "a string or a list of strings")

PUBLISH_KEYS = {
    "renditions": _NAMES,
    "formats": _NAMES,
    "quality": _INT,
    "sharpen": _BOOL,
    "disclosure": _STR,
    "credit": _STR,
    "alt-text": _STR,
    "upscaler": _STR,
    "c2pa-cert": _STR,
    "c2pa-key": _STR,
    "c2pa-tsa": _STR,
}
"""generate's publishing options, as spec keys of the same names (lists may replace comma-separated text)."""
_SIGNING_KEYS = ("c2pa-cert", "c2pa-key", "c2pa-tsa")

OPTION_KEYS = {
    "model": _STR,
    "model-config": _STR,
    "device": _STR,
    "dtype": _STR,
    "scheduler": _STR,
    "steps": _INT,
    "guidance": _NUMBER,
    "width": _INT,
    "height": _INT,
    "negative-prompt": _STR,
    "style": _STR,
    "styles": _STYLES,
    "seed": _INT,
    "seeds": _SEEDS,
    "num-images": _INT,
    "guidelines": _STR,
    "safety": _STR,
    "nsfw-check": _STR,
    "clip-check": _STR,
    "compile": _STR,
    "compile-scope": _STR,
    "quantize": _STR,
    **PUBLISH_KEYS,
}
JOB_KEYS = {"article": _STR, "prompt": _STR, "title": _STR, **OPTION_KEYS}
TOP_KEYS = ("defaults", "jobs")


@dataclass(frozen=True)
class Job:
    """One job of a spec, with defaults merged in: a prompt, the styles and the seeds to make it in."""

    number: int
    prompt: str
    title: str | None
    source: str
    styles: tuple[str | None, ...]
    seeds: tuple[int, ...]
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BatchSpec:
    path: Path
    jobs: tuple[Job, ...]


class SpecErrors:
    """Collects errors with their place; raises them all at once."""

    def __init__(self, path: Path):
        self.path = path
        self.messages: list[str] = []

    def add(self, place: str, message: str) -> None:
        self.messages.append(f"{place}: {message}" if place else message)

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        if len(self.messages) == 1:
            raise InputError(f"{self.path}: {self.messages[0]}")
        lines = "\n".join(f"  {message}" for message in self.messages)
        raise InputError(f"{self.path} has {len(self.messages)} errors:\n{lines}")


def _place(number: int | None, key: str | None = None) -> str:
    where = "[defaults]" if number is None else f"job {number}"
    return f"{where}, key `{key}`" if key else where


def _type_error(value, kind: tuple[str, str]) -> str | None:
    """What is wrong with `value`'s type, or None."""
    check, description = kind

    def is_int(item):
        return isinstance(item, int) and not isinstance(item, bool)

    ok = {
        "int": lambda: is_int(value),
        "number": lambda: (is_int(value) or isinstance(value, float)) and math.isfinite(value),
        "str": lambda: isinstance(value, str),
        "int-list": lambda: isinstance(value, list) and all(is_int(item) for item in value),
        "str-list": lambda: isinstance(value, list) and all(isinstance(item, str) for item in value),
        "bool": lambda: isinstance(value, bool),
        "str-or-list": lambda: isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(item, str) for item in value)),
    }[check]()
    if ok:
        return None
    return f"has to be {description}, not {_describe(value)}"


def _describe(value) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}
    name = next((text for cls, text in kinds.items() if isinstance(value, cls)), type(value).__name__)
    shown = repr(value)
    return f"{name} ({shown[:40]}{'...' if len(shown) > 40 else ''})"


def _check_table(table, allowed: dict, number: int | None, errors: SpecErrors) -> dict:
    """The well-typed known keys of `table`; unknown keys and wrong types are errors."""
    good = {}
    for key, value in table.items():
        if key not in allowed:
            close = difflib.get_close_matches(key.replace("_", "-"), list(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean `{close[0]}`?" if close else f"; known keys: {', '.join(allowed)}"
            errors.add(_place(number, key), f"unknown key{hint}")
            continue
        problem = _type_error(value, allowed[key])
        if problem:
            errors.add(_place(number, key), problem)
        else:
            good[key] = value
    return good


def _policy_styles(spec_path: Path, options: dict, number, errors: SpecErrors, fallback: list[str]) -> list[str]:
    """Style names of the table's own guidelines file (made absolute in `options`), else `fallback`."""
    if "guidelines" not in options:
        return fallback
    path = Path(options["guidelines"])
    options["guidelines"] = str(path if path.is_absolute() else spec_path.parent / path)
    try:
        return policy_styles(load_guidelines(options["guidelines"]))
    except InputError as exc:
        errors.add(_place(number, "guidelines"), str(exc))
        del options["guidelines"]
        return fallback


def publish_for(options: dict):
    """The PublishOptions of spec option keys (generate's defaults for keys not given); InputError names a bad value."""
    given = {key.replace("-", "_"): value for key, value in options.items() if key in PUBLISH_KEYS}
    for key in ("renditions", "formats"):
        if isinstance(given.get(key), list):
            given[key] = ",".join(given[key]) or "none"
    return publish_options(**given)


def _resolve_files(spec_path: Path, options: dict) -> None:
    """Certificate and key paths are relative to the spec, like its other files."""
    for key in ("c2pa-cert", "c2pa-key"):
        if key in options and not Path(options[key]).is_absolute():
            options[key] = str(spec_path.parent / options[key])


def _check_publish(options: dict, number: int | None, errors: SpecErrors) -> None:
    """Each publishing key checked alone, as `generate` checks its option (signing keys are checked per job)."""
    for key in PUBLISH_KEYS:
        if key in options and key not in _SIGNING_KEYS:
            try:
                publish_for({key: options[key]})
            except InputError as exc:
                errors.add(_place(number, key), str(exc))


def _check_signing(merged: dict, number: int, errors: SpecErrors, checked: dict) -> None:
    """The job's certificate, key and time-stamp authority (from the job or [defaults]), checked once per set."""
    signing = tuple(merged.get(key) for key in _SIGNING_KEYS)
    if not any(signing):
        return
    if signing not in checked:
        try:
            options = signing_options(*signing)
            if options is not None:
                load_signer(options)
            checked[signing] = None
        except InputError as exc:
            checked[signing] = str(exc)
    if checked[signing]:
        key = next((k for k in _SIGNING_KEYS if k in merged), "c2pa-cert")
        errors.add(_place(number, key), checked[signing])


def _check_values(options: dict, number: int | None, errors: SpecErrors, style_names: list[str]) -> None:
    """Values that have the right type but cannot be used, checked the way `generate` checks them."""
    for pair in (("seed", "seeds"), ("style", "styles")):
        if all(key in options for key in pair):
            errors.add(_place(number), f"give either `{pair[0]}` or `{pair[1]}`, not both")
    if "num-images" in options and "seeds" in options:
        errors.add(_place(number), "`num-images` counts up from `seed`; it cannot be used with `seeds`")
    seeds = options.get("seeds")
    if seeds is not None:
        if not seeds:
            errors.add(_place(number, "seeds"), "is empty; give at least one seed")
        elif len(set(seeds)) != len(seeds):
            errors.add(_place(number, "seeds"), f"has repeated seeds: {sorted(s for s in set(seeds) if seeds.count(s) > 1)}")
        elif len(seeds) > MAX_IMAGES:
            errors.add(_place(number, "seeds"), f"holds {len(seeds)} seeds; at most {MAX_IMAGES}")
    styles = options.get("styles", [options["style"]] if "style" in options else [])
    if "styles" in options and not styles:
        errors.add(_place(number, "styles"), "is empty; give at least one style")
    for style in styles:
        if style not in style_names:
            key = "styles" if "styles" in options else "style"
            errors.add(_place(number, key), f"unknown style {style!r}; {unknown_name(style, list(style_names), 'style')}")
    if "scheduler" in options and options["scheduler"] not in SCHEDULER_NAMES:
        errors.add(_place(number, "scheduler"), f"unknown scheduler {options['scheduler']!r}; choose from {', '.join(SCHEDULER_NAMES)}")
    for key, what, choices in (("compile", "compile mode", COMPILE_MODES), ("compile-scope", "compile scope", COMPILE_SCOPES),
                               ("quantize", "quantize mode", QUANTIZE_MODES)):  # fmt: skip
        if key in options and options[key] not in choices:
            errors.add(_place(number, key), f"unknown {what} {options[key]!r}; choose from {', '.join(choices)}")
    if "compile-scope" in options and "compile" not in options:
        errors.add(_place(number, "compile-scope"), "needs compile (a compile mode)")
    if "dtype" in options and options["dtype"] not in DTYPES:
        errors.add(_place(number, "dtype"), f"unknown dtype {options['dtype']!r}; choose from {', '.join(DTYPES)}")
    if "model" in options:
        try:
            resolve_model_source(options["model"])
        except InputError as exc:
            errors.add(_place(number, "model"), str(exc))
    try:
        check_request(request_for(options, prompt="-", seeds=tuple(seeds) if seeds else None))
    except InputError as exc:
        errors.add(_place(number), str(exc))
    _check_publish(options, number, errors)


def request_for(options: dict, **fields):
    """A GenerateRequest from spec option keys (long option names) and extra request fields."""
    names = {
        "model": "model",
        "model-config": "model_config",
        "device": "device",
        "dtype": "dtype",
        "scheduler": "scheduler",
        "steps": "num_inference_steps",
        "guidance": "guidance_scale",
        "width": "width",
        "height": "height",
        "negative-prompt": "negative_prompt",
        "seed": "seed",
        "num-images": "num_images",
        "guidelines": "guidelines",
        "safety": "safety",
        "nsfw-check": "nsfw_check",
        "clip-check": "clip_check",
    }
    given = {names[key]: value for key, value in options.items() if key in names}
    if "guidelines" in given:
        given["guidelines"] = Path(given["guidelines"])
    if "guidance_scale" in given:
        given["guidance_scale"] = float(given["guidance_scale"])
    if "compile" in options or "quantize" in options:
        given["accel"] = AccelOptions(compile=options.get("compile"), quantize=options.get("quantize"),
                                      compile_scope=options.get("compile-scope", "model"))  # fmt: skip
    return GenerateRequest(**{**given, **fields})


def _read_article(spec_path: Path, name: str, number: int, errors: SpecErrors):
    path = Path(name) if Path(name).is_absolute() else spec_path.parent / name
    place = _place(number, "article")
    try:
        return parse_article(decode_text(read_input(path, "article file"), str(path)), str(path)), str(path)
    except InputError as exc:
        errors.add(place, str(exc))
    return None, str(path)


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path} is not valid UTF-8 (line {line}, byte {exc.start}); save it as UTF-8") from None


def parse_spec(data: bytes, path: Path, guidelines: Path | None = None, base: dict | None = None) -> BatchSpec:
    """Parse and validate spec bytes; every problem is reported, each with its place.

    `guidelines` is the policy file of jobs that name none (the shipped policy when None); `base` holds
    option keys that apply where neither [defaults] nor a job sets them (e.g. from the environment).
    """
    style_names = policy_styles(load_guidelines(guidelines))
    text = _decode(data, path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from None
    errors = SpecErrors(path)
    for key in document:
        if key not in TOP_KEYS:
            errors.add(f"key `{key}`", "unknown top-level key; a spec has [defaults] and [[jobs]] only")
    defaults_table = document.get("defaults", {})
    defaults: dict = {}
    if not isinstance(defaults_table, dict):
        errors.add("key `defaults`", f"has to be a table ([defaults]), not {_describe(defaults_table)}")
    else:
        defaults = _check_table(defaults_table, OPTION_KEYS, None, errors)
        _resolve_files(path, defaults)
        style_names = _policy_styles(path, defaults, None, errors, style_names)
        _check_values(defaults, None, errors, style_names)
    if guidelines is not None:
        defaults.setdefault("guidelines", str(guidelines))
    defaults = {**(base or {}), **defaults}
    job_tables = document.get("jobs")
    if job_tables is None or job_tables == []:
        errors.add("", "the spec has no jobs; add at least one [[jobs]] table with `article` or `prompt`")
        job_tables = []
    elif not isinstance(job_tables, list) or not all(isinstance(item, dict) for item in job_tables):
        errors.add("key `jobs`", "has to be an array of tables ([[jobs]])")
        job_tables = []
    jobs = []
    signers: dict = {}
    for number, table in enumerate(job_tables, start=1):
        job = _check_job(path, table, number, defaults, errors, style_names, signers)
        if job is not None:
            jobs.append(job)
    errors.raise_if_any()
    return BatchSpec(path=path, jobs=tuple(jobs))


def _check_job(path, table, number, defaults, errors, style_names, signers=None) -> Job | None:
    before = len(errors.messages)
    own = _check_table(table, JOB_KEYS, number, errors)
    options = {key: value for key, value in own.items() if key in OPTION_KEYS}
    _resolve_files(path, options)
    _check_values(options, number, errors, _policy_styles(path, options, number, errors, style_names))
    if ("article" in own) == ("prompt" in own):
        errors.add(_place(number), "give exactly one of `article` (a file, relative to the spec) or `prompt`")
    if "title" in own and "article" in own:
        errors.add(_place(number, "title"), "an article's title is its first line; `title` goes with `prompt` only")
    if "prompt" in own and not own["prompt"].strip():
        errors.add(_place(number, "prompt"), "is empty")
    article, source = (None, "")
    if "article" in own:
        article, source = _read_article(path, own["article"], number, errors)
    merged = {**defaults}
    for pair in (("seed", "seeds", "num-images"), ("style", "styles")):  # a job's choice replaces the default's
        if any(key in options for key in pair):
            for key in pair:
                merged.pop(key, None)
    merged.update(options)
    _check_signing(merged, number, errors, {} if signers is None else signers)
    if len(errors.messages) > before:
        return None
    if "seeds" in merged:
        seeds = tuple(merged.pop("seeds"))
    elif "seed" in merged:
        first, count = merged.pop("seed"), merged.pop("num-images", 1)
        seeds = tuple(range(first, first + count))
    else:
        errors.add(_place(number), "no seeds: give `seeds = [...]` (or `seed`) in the job or in [defaults]")
        return None
    merged.pop("num-images", None)
    styles = tuple(merged.pop("styles", [merged.pop("style", None)]))
    merged.pop("style", None)
    if article is not None:
        prompt, title = article.prompt, article.title
    else:
        prompt, title, source = own["prompt"].strip(), own.get("title"), "--prompt"
    return Job(number=number, prompt=prompt, title=title, source=source, styles=styles, seeds=seeds, options=merged)


def load_spec(path: Path, guidelines: Path | None = None, base: dict | None = None) -> BatchSpec:
    """Read and validate the spec file at `path`; `guidelines` and `base` as for `parse_spec`."""
    return parse_spec(read_input(path, "batch spec"), path, guidelines, base)
