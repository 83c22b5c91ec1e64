"""Benchmark: end-to-end release generation, local vs Ray, 1 vs 2 workers.

Runs ``geoenv generate`` over ``--scenes`` demo scenes (``demo:0-(N-1)``) with every template,
once per (executor, workers) setting, each into a fresh folder, and prints rows/s, the
scaling ratio (2 workers / 1 worker), Ray's overhead over local at equal workers, and the
peak RSS of the worker processes (VmHWM, read by the workers themselves).

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


def run(executor: str, workers: int, n_scenes: int, per_template: int, root: Path) -> dict:
    from geoenv.pipelines.job import JobConfig
    from geoenv.pipelines.release import run_job

    out = root / f"{executor}_{workers}"
    shutil.rmtree(out, ignore_errors=True)
    os.environ["GEOENV_PEAK_RSS_DIR"] = str(root / f"rss_{executor}_{workers}")
    sources = [f"demo:{i}" for i in range(n_scenes)]
    t0 = time.perf_counter()
    rep = run_job(sources, JobConfig(out=str(out), per_template=per_template), executor, workers,
                  progress=False)  # fmt: skip
    dt = time.perf_counter() - t0
    rss_dir = Path(os.environ["GEOENV_PEAK_RSS_DIR"])
    peaks = [float(p.read_text()) for p in rss_dir.glob("*.rss")] if rss_dir.exists() else []
    return {
        "rows": rep.rows,
        "seconds": dt,
        "rate": rep.rows / dt,
        "peak_worker_mib": max(peaks, default=float("nan")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--per-template", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        res = {}
        for ex, w in (("local", 1), ("local", 2), ("ray", 1), ("ray", 2)):
            res[(ex, w)] = r = run(ex, w, args.scenes, args.per_template, root)
            print(f"{ex:5s} workers={w}: {r['rows']:6d} rows in {r['seconds']:6.2f} s = "
                  f"{r['rate']:8.1f} rows/s, peak worker RSS {r['peak_worker_mib']:.0f} MiB",
                  flush=True)  # fmt: skip
        for ex in ("local", "ray"):
            print(
                f"{ex}: 2 workers / 1 worker = {res[(ex, 2)]['rate'] / res[(ex, 1)]['rate']:.2f}x"
            )
        for w in (1, 2):
            over = res[("ray", w)]["seconds"] / res[("local", w)]["seconds"] - 1
            print(f"ray overhead over local at {w} worker(s): {100 * over:+.0f}%")


if __name__ == "__main__":
    main()
