"""Batch runs: many prompts from a spec file, resumable after any crash, on this machine or on Ray."""

from pipeline.batch.run import BatchOptions, BatchResult, StopRequest, run_batch, stop_on_interrupt

__all__ = ["BatchOptions", "BatchResult", "StopRequest", "run_batch", "stop_on_interrupt"]
