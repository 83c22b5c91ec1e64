"""Benchmark: questions per second per template, on the demo scene and a large synthetic scene.

The scene graph is built first (a first generation pass fills the lazy caches: closest-point
distances, boxes, footprint; its time is printed), then each template generates ``--n``
questions for several seeds on one core; the figure is questions emitted per second with the
graph built. Also prints peak RSS.

    uv run python bench/bench_tasks.py --n 200 --objects 200 --points 2000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from geoenv.scene import Scene
from geoenv.scenes.demo import demo_scene
from geoenv.tasks import templates


def synthetic_scene(n_objects: int, n_points: int, seed: int = 0) -> Scene:
    """A 20 x 16 m hall: a dense floor grid and ``n_objects`` boxes; about a third of the
    categories are unique, the rest repeat, some objects stand on others."""
    rng = np.random.default_rng(seed)
    n_floor = n_points // 4
    side = int(np.sqrt(n_floor))
    gx, gy = np.meshgrid(np.linspace(0, 20, side), np.linspace(0, 16, side), indexing="ij")
    parts = [np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])]
    inst = [np.zeros(gx.size, dtype=np.int64)]
    labels = {0: "floor"}
    per = (n_points - gx.size) // n_objects
    n_unique = n_objects // 3
    for k in range(n_objects):
        c = np.array([rng.uniform(0.5, 19.5), rng.uniform(0.5, 15.5), 0.0])
        size = rng.uniform(0.2, 1.5, 3)
        base = rng.choice([0.0, 0.75]) if k % 7 == 0 else 0.0
        p = rng.uniform(-0.5, 0.5, size=(per, 3)) * size + c + [0, 0, base + size[2] / 2]
        parts.append(p)
        inst.append(np.full(per, k + 1, dtype=np.int64))
        labels[k + 1] = f"unique{k}" if k < n_unique else f"kind{k % 25}"
    return Scene.from_instances("bench_hall", np.concatenate(parts), np.concatenate(inst), labels)


def peak_rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench(scene: Scene, n: int, seeds: int) -> None:
    tpls = templates()
    t0 = time.perf_counter()
    for t in tpls.values():  # build the graph's lazy caches (distances, boxes, footprint)
        for s in range(1, seeds + 1):
            t.generate(scene, s, n)
    warm = time.perf_counter() - t0
    print(f"\n{scene.id}: {len(scene.objects)} objects, graph build (first pass) {warm:.2f} s")
    print(f"  {'template':28s} {'family':8s} {'questions':>9s} {'q/s':>10s}")
    fam: dict[str, list[float]] = {}
    for name, t in tpls.items():
        count, t0 = 0, time.perf_counter()
        for s in range(1, seeds + 1):
            count += len(t.generate(scene, s, n))
        dt = time.perf_counter() - t0
        agg = fam.setdefault(t.family, [0, 0.0])
        agg[0] += count
        agg[1] += dt
        rate = count / dt if count else 0.0
        print(f"  {name:28s} {t.family:8s} {count:9d} {rate:10,.0f}")
    for f, (count, dt) in fam.items():
        print(f"  family {f}: {count} questions in {dt:.3f} s = {count / dt:,.0f} q/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="questions per template per seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--objects", type=int, default=200)
    ap.add_argument("--points", type=int, default=2_000_000)
    args = ap.parse_args()
    bench(demo_scene(0), args.n, args.seeds)
    t0 = time.perf_counter()
    big = synthetic_scene(args.objects, args.points)
    print(f"\nbuilt synthetic scene ({args.points:,} points) in {time.perf_counter() - t0:.2f} s")
    bench(big, args.n, args.seeds)
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
