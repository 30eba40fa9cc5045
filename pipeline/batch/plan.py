"""Expansion of a spec into images (prompts x styles x seeds), each with a deterministic key from its inputs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from pipeline.batch.spec import BatchSpec


@dataclass(frozen=True)
class Task:
    """One image to make: its key, the job it comes from, and everything that decides its pixels."""

    key: str
    group: str
    job: int
    prompt: str
    title: str | None
    source: str
    style: str | None
    seed: int
    options: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"key": self.key, "job": self.job, "prompt": self.prompt, "title": self.title, "style": self.style, "seed": self.seed}


@dataclass(frozen=True)
class Unit:
    """Images of one group (same prompt, style and options) generated together in one batch."""

    group: str
    tasks: tuple[Task, ...]

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(task.seed for task in self.tasks)


def group_key(prompt: str, title: str | None, style: str | None, options: dict) -> str:
    """A short hash of everything but the seed that decides an image; equal inputs give equal keys."""
    canonical = json.dumps(
        {"prompt": prompt, "title": title, "style": style, "options": options}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def image_key(group: str, seed: int) -> str:
    return f"{group}-s{seed}"


def expand(spec: BatchSpec) -> list[Task]:
    """Every image of the spec, in order: job by job, style by style, seed by seed; repeats appear once."""
    tasks: dict[str, Task] = {}
    for job in spec.jobs:
        for style in job.styles:
            group = group_key(job.prompt, job.title, style, job.options)
            for seed in job.seeds:
                key = image_key(group, seed)
                if key not in tasks:
                    tasks[key] = Task(key, group, job.number, job.prompt, job.title, job.source, style, seed, job.options)
    return list(tasks.values())


def units(tasks: list[Task], batch_size: int) -> list[Unit]:
    """Consecutive tasks of one group, in chunks of at most `batch_size`."""
    result: list[Unit] = []
    current: list[Task] = []
    for task in tasks:
        if current and (task.group != current[0].group or len(current) == batch_size):
            result.append(Unit(current[0].group, tuple(current)))
            current = []
        current.append(task)
    if current:
        result.append(Unit(current[0].group, tuple(current)))
    return result
