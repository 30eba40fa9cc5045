"""Engines that turn units into outcomes: in this process, or on Ray Data with one model per actor."""

from __future__ import annotations

import logging
import os
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pipeline.batch.plan import Unit
from pipeline.batch.worker import Outcome, Renderer
from pipeline.errors import InputError, PipelineError, summary

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class EngineSettings:
    out_dir: Path
    batch_size: int
    threads: int | None = None
    workers: int | None = None
    ray_resources: dict | None = None  # custom Ray resources each actor needs (to pin actors to chosen nodes)


def run_local(units: list[Unit], settings: EngineSettings, log, stop: threading.Event) -> Iterator[Outcome]:
    """Generate unit by unit in this process; stops between units once `stop` is set."""
    renderer = Renderer(out_dir=settings.out_dir, batch_size=settings.batch_size, threads=settings.threads, log=log)
    for unit in units:
        if stop.is_set():
            return
        yield from renderer.render(unit)


class RayGenerator:
    """A Ray Data actor: loads the model once, then renders one unit per call into pickled outcomes."""

    def __init__(self, out_dir: str, batch_size: int, threads: int | None):
        self.renderer = Renderer(out_dir=Path(out_dir), batch_size=batch_size, threads=threads)

    def __call__(self, batch: dict) -> dict:
        import numpy as np
        import ray

        node = ray.get_runtime_context().get_node_id()
        results = []
        for data in batch["unit"]:
            for outcome in self.renderer.render(pickle.loads(data)):
                outcome.node = node
                results.append(pickle.dumps(outcome))
        return {"outcome": np.array(results, dtype=object)}


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise InputError(
            "--engine ray needs Ray, which is not installed; install it with `pip install 'hero-pipeline[ray]'` "
            "(or `pip install 'ray[data]>=2.9'`), or use --engine local"
        ) from None
    return ray


def _workers(ray, settings: EngineSettings, count: int) -> tuple[int, dict]:
    """How many actors, and the resources of each: one per GPU, or CPU actors when there is none."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    per_actor: dict = {"num_gpus": 1} if gpus else {"num_cpus": settings.threads or 1}
    if settings.ray_resources:
        per_actor["resources"] = dict(settings.ray_resources)
    if settings.workers is not None:
        wanted = settings.workers
    elif gpus:
        wanted = gpus
    else:
        wanted = max(1, int(resources.get("CPU", 1) // (settings.threads or 1)) - 1)
    return max(1, min(wanted, count)), per_actor


def run_ray(units: list[Unit], settings: EngineSettings, log, stop: threading.Event) -> Iterator[Outcome]:
    """Generate on Ray Data: an existing cluster when RAY_ADDRESS is set, else a local Ray started here."""
    ray = _import_ray()
    if not units:
        return
    started_here = not ray.is_initialized()
    if started_here:
        address = os.environ.get("RAY_ADDRESS")
        log(f"connecting to Ray at {address} ..." if address else "starting a local Ray ...")
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
        kwargs = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if not address:
            needed = (settings.workers or 1) * (settings.threads or 1) + 1
            kwargs["num_cpus"] = max(os.cpu_count() or 1, needed)
            kwargs["address"] = "local"  # a Ray of its own, even when another one runs on this machine
        try:
            ray.init(**kwargs)
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ... for an unreachable cluster
            raise PipelineError(f"cannot start or reach Ray ({type(exc).__name__}: {summary(exc, 200)})") from None
    try:
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.execution_options.preserve_order = True
        workers, per_actor = _workers(ray, settings, len(units))
        log(f"Ray: {workers} generator actor(s), each with {per_actor}")
        dataset = ray.data.from_items([{"unit": pickle.dumps(unit)} for unit in units], override_num_blocks=len(units))
        dataset = dataset.map_batches(
            RayGenerator,
            fn_constructor_kwargs={
                "out_dir": str(settings.out_dir),
                "batch_size": settings.batch_size,
                "threads": settings.threads,
            },
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=workers),
            batch_format="numpy",
            **per_actor,
        )
        nodes: set[str] = set()
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                for data in batch["outcome"]:
                    outcome = pickle.loads(data)
                    nodes.add(outcome.node)
                    yield outcome
                if stop.is_set():
                    return
        finally:
            if nodes:
                log(f"Ray: images made on {len(nodes)} node(s)")
    finally:
        if started_here:
            ray.shutdown()


def engine(name: str):
    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    return run_local if name == "local" else run_ray


def check_engine(name: str) -> None:
    """Fail before anything runs when the engine cannot be used here."""
    engine(name)
    if name == "ray":
        _import_ray()
