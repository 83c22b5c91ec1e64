"""Benchmark: end-to-end release generation, local vs Ray, 1 vs 2 workers.

Runs ``geoenv generate`` over ``--scenes`` demo scenes (``demo:0-(N-1)``) with every template,
once per (executor, workers) setting, each into a fresh folder, and prints rows/s, the
scaling ratio (2 workers / 1 worker), Ray's overhead over local at equal workers, and the
peak RSS of the worker processes (VmHWM, read by the workers themselves).

Ray is timed twice: *cold*, as ``geoenv generate --executor ray`` runs on a laptop (the job
starts a local Ray, its workers spawn and import geoenv, then it shuts Ray down), and *warm*,
as a job submitted to a running cluster (Ray started and its workers warmed by a 2-scene job
before the clock starts; the situation of ``--ray-address`` on a cluster serving many jobs).
Every run uses one core per worker (``GEOENV_RAYCAST_THREADS=1``, one BLAS thread), so the
ratios measure parallelism rather than threads.

    uv run python bench/bench_pipeline.py --scenes 20 --per-template 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
# One core per worker everywhere, so that "workers" counts the cores a run uses: Ray tasks and
# pool workers run single-threaded already; the in-process 1-worker run would otherwise ray-cast
# (Embree) and run BLAS on every core.
for _v in ("GEOENV_RAYCAST_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")


def run(
    executor: str,
    workers: int,
    n_scenes: int,
    per_template: int,
    root: Path,
    rss_dir: Path | None = None,
) -> dict:
    """One timed job into a fresh folder. ``rss_dir``: where the workers write their peak RSS
    (workers already running read the folder their environment named when they started)."""
    from geoenv.pipelines.job import JobConfig
    from geoenv.pipelines.release import run_job

    out = root / f"{executor}_{workers}"
    shutil.rmtree(out, ignore_errors=True)
    rss_dir = rss_dir or root / f"rss_{executor}_{workers}"
    shutil.rmtree(rss_dir, ignore_errors=True)
    os.environ["GEOENV_PEAK_RSS_DIR"] = str(rss_dir)
    sources = [f"demo:{i}" for i in range(n_scenes)]
    t0 = time.perf_counter()
    rep = run_job(sources, JobConfig(out=str(out), per_template=per_template), executor, workers,
                  progress=False)  # fmt: skip
    dt = time.perf_counter() - t0
    peaks = [float(p.read_text()) for p in rss_dir.glob("*.rss")] if rss_dir.exists() else []
    return {
        "rows": rep.rows,
        "seconds": dt,
        "rate": rep.rows / dt,
        "peak_worker_mib": max(peaks, default=float("nan")),
    }


def warm_ray(root: Path, per_template: int) -> Path:
    """Start a local Ray with 2 CPUs and run a 2-scene job so both workers are up and have
    imported geoenv (what a running cluster looks like to the next job); returns the folder
    its workers write their peak RSS to."""
    import ray

    from geoenv.pipelines.job import JobConfig
    from geoenv.pipelines.release import run_job

    rss = root / "rss_ray_warm"
    env = {"GEOENV_RAYCAST_THREADS": "1", "GEOENV_PEAK_RSS_DIR": str(rss)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": env})  # fmt: skip
    sources = ["demo:1000", "demo:1001"]
    cfg = JobConfig(out=str(root / "warmup"), per_template=per_template)
    run_job(sources, cfg, "ray", 2, progress=False)
    return rss


def warm_local(root: Path, per_template: int) -> None:
    """One untimed in-process scene, so the 1-worker local run starts with geoenv imported
    and its lazy tables built, as the warm Ray workers do."""
    from geoenv.pipelines.job import JobConfig
    from geoenv.pipelines.release import run_job

    cfg = JobConfig(out=str(root / "warmup_local"), per_template=per_template)
    run_job(["demo:1002"], cfg, "local", 1, progress=False)


def report(res: dict, label: str) -> None:
    for ex in ("local", label):
        if (ex, 1) in res and (ex, 2) in res:
            ratio = res[(ex, 2)]["rate"] / res[(ex, 1)]["rate"]
            print(f"{ex}: 2 workers / 1 worker = {ratio:.2f}x")
    for w in (1, 2):
        if (label, w) in res:
            over = res[(label, w)]["seconds"] / res[("local", w)]["seconds"] - 1
            print(f"{label} overhead over local at {w} worker(s): {100 * over:+.0f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--per-template", type=int, default=20)
    ap.add_argument("--skip-cold", action="store_true", help="only the warm-cluster Ray runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        res = {}
        warm_local(root, args.per_template)
        settings = [("local", 1), ("local", 2)]
        if not args.skip_cold:
            settings += [("ray", 1), ("ray", 2)]
        for ex, w in settings:
            res[(ex, w)] = r = run(ex, w, args.scenes, args.per_template, root)
            _print(f"{ex} (cold)" if ex == "ray" else ex, w, r)
        report(res, "ray")
        rss = warm_ray(root, args.per_template)
        for w in (1, 2):
            res[("ray-warm", w)] = r = run("ray", w, args.scenes, args.per_template, root, rss)
            _print("ray (warm cluster)", w, r)
        report({k: v for k, v in res.items() if k[0] != "ray"}, "ray-warm")


def _print(name: str, w: int, r: dict) -> None:
    print(f"{name:18s} workers={w}: {r['rows']:6d} rows in {r['seconds']:6.2f} s = "
          f"{r['rate']:8.1f} rows/s, peak worker RSS {r['peak_worker_mib']:.0f} MiB",
          flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
