"""Executors: run ``process_scene`` over a manifest in-process, in a process pool, or on Ray.

Each yields :class:`~geoenv.pipelines.job.SceneOutcome` as scenes finish (any order); the
release step sorts them, so the output never depends on the executor or the worker count.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from geoenv.pipelines.job import JobConfig, SceneOutcome, process_scene


def run_local(sources: Sequence[str], cfg: JobConfig, workers: int = 1) -> Iterator[SceneOutcome]:
    """In-process for one worker; a spawn-started process pool for more."""
    if workers <= 1:
        for s in sources:
            yield process_scene(s, cfg)
        return
    ctx = mp.get_context("spawn")
    with (
        _single_threaded_workers(),
        ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool,
    ):
        futs = {pool.submit(process_scene, s, cfg): s for s in sources}
        for f in as_completed(futs):
            try:
                yield f.result()
            except Exception as exc:  # a worker that died: record, go on
                yield SceneOutcome(source=futs[f], status="failed", error=f"worker died: {exc!r}")


@contextmanager
def _single_threaded_workers() -> Iterator[None]:
    """One ray-casting thread per worker while the pool starts (workers inherit the
    environment), so K workers use K cores instead of each using them all."""
    old = os.environ.get("GEOENV_RAYCAST_THREADS")
    os.environ["GEOENV_RAYCAST_THREADS"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("GEOENV_RAYCAST_THREADS", None)
        else:
            os.environ["GEOENV_RAYCAST_THREADS"] = old


def _ray_batch(batch: dict[str, Any], cfg: dict[str, Any]) -> dict[str, list]:
    """Ray Data UDF: one batch of manifest rows -> one outcome (JSON) per scene."""
    config = JobConfig.model_validate(cfg)
    outs = [process_scene(str(s), config).model_dump_json() for s in batch["source"]]
    return {"outcome": outs}


def run_ray(
    sources: Sequence[str],
    cfg: JobConfig,
    workers: int = 2,
    address: str | None = None,
    max_retries: int = 3,
) -> Iterator[SceneOutcome]:
    """Ray Data over the manifest: ``map_batches`` with one scene per batch, ``workers``
    concurrent tasks of one CPU each, retried up to ``max_retries`` times if a worker dies.

    Connects to ``address`` (``"auto"`` or ``ray://...``) or starts a local Ray with
    ``workers`` CPUs. The UDF writes files under our own names, so a retried or duplicated task
    overwrites with the same bytes.
    """
    # Ray's `uv run` integration would re-launch workers through uv; the workers of a job use
    # this interpreter (the same environment) instead.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    import ray

    started = False
    if not ray.is_initialized():
        # One ray-casting thread per task: Ray runs one task per CPU.
        env = {"env_vars": {"GEOENV_RAYCAST_THREADS": "1"}}
        if address:
            ray.init(address=address, log_to_driver=False, runtime_env=env)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                     runtime_env=env)  # fmt: skip
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.execution_options.preserve_order = False
        ds = ray.data.from_items(
            [{"source": s} for s in sources], override_num_blocks=max(1, len(sources))
        )
        # Ray 2.60 has no named parameter for task retries: they still go through
        # **ray_remote_args (deprecated for removal in Ray 2.64; uv.lock pins 2.60).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
            ds = ds.map_batches(
                _ray_batch,
                batch_size=1,
                batch_format="numpy",
                fn_kwargs={"cfg": cfg.model_dump()},
                compute=ray.data.TaskPoolStrategy(size=max(1, workers)),
                num_cpus=1,
                max_retries=max_retries,
                retry_exceptions=False,
            )
        for row in ds.iter_rows():
            yield SceneOutcome.model_validate_json(str(row["outcome"]))
    finally:
        if started:
            ray.shutdown()
