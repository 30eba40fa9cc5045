"""Generation of a unit's images through the generate spine, one model per process, without writing files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.batch.plan import Task, Unit
from pipeline.batch.spec import request_for
from pipeline.errors import OutOfMemory, PipelineError, PromptBlocked, summary
from pipeline.record import Record
from pipeline.generate import generate, get_model


@dataclass
class Outcome:
    """What became of one image: done (with its record and pixels), failed or blocked (with the reason)."""

    task: Task
    status: str
    reason: str | None = None
    record: Record | None = None
    image: object = None  # a PIL image while in memory
    path: Path | None = None  # the PNG, once stored
    node: str | None = None  # the Ray node that made it (engine ray)


class Renderer:
    """Turns units into outcomes. Out-of-memory halves the batch size (for this and later units) and retries."""

    def __init__(self, *, out_dir: Path, batch_size: int, threads: int | None = None, log=lambda message: None):
        self.out_dir = out_dir
        self.batch_size = batch_size
        self.threads = threads
        self.log = log
        self._loaded: set = set()

    def render(self, unit: Unit) -> list[Outcome]:
        outcomes: list[Outcome] = []
        pending = list(unit.tasks)
        while pending:
            chunk, pending = pending[: self.batch_size], pending[self.batch_size :]
            try:
                outcomes.extend(self._generate(chunk))
            except OutOfMemory as exc:
                if len(chunk) == 1:
                    outcomes.append(Outcome(chunk[0], "failed", str(exc)))
                    continue
                self.batch_size = max(1, len(chunk) // 2)
                self.log(f"out of memory for {len(chunk)} images; batch size is now {self.batch_size}, retrying")
                pending = chunk + pending
            except PromptBlocked as exc:
                outcomes.extend(Outcome(task, "blocked", str(exc)) for task in chunk)
            except PipelineError as exc:
                outcomes.extend(Outcome(task, "failed", str(exc)) for task in chunk)
            except Exception as exc:  # a model error must not end the batch; its reason is recorded
                reason = f"{type(exc).__name__}: {summary(exc)}"
                outcomes.extend(Outcome(task, "failed", reason) for task in chunk)
        return outcomes

    def _generate(self, chunk: list[Task]) -> list[Outcome]:
        first = chunk[0]
        request = request_for(
            first.options,
            prompt=first.prompt,
            title=first.title,
            source=first.source,
            style=first.style,
            seeds=tuple(task.seed for task in chunk),
            batch_size=len(chunk),
            batch_key=first.group,
            threads=self.threads,
            out_dir=self.out_dir,
        )
        model_key = (request.model, request.device, request.dtype, request.scheduler, request.model_config)
        if model_key not in self._loaded:
            self.log(f"loading model {request.model} ...")
            self._loaded.add(model_key)
        made = {item.record.seed: item for item in generate(request, model=get_model(request))}
        return [Outcome(task, "done", None, made[task.seed].record, made[task.seed].image) for task in chunk]
