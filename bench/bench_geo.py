"""Benchmark: questions per second per geo template, on the demo scene's Zurich layer and on
Natural Earth's 177 low-resolution countries (the fixture shipped in the pyogrio wheel).

For each template and scene, ``cold`` times generating ``--n`` questions for each of
``--seeds`` seeds on a fresh scene (empty memo: feature index, representative points, pair
distances and relations are computed as visited: what a pipeline worker pays per scene), and
``warm`` repeats the same generation on that scene (memoised). One core.

    uv run python bench/bench_geo.py --n 50 --seeds 3
"""

from __future__ import annotations

import argparse
import importlib.resources
import time

import geoenv.tasks.geo  # noqa: F401  (registers the geo templates)
from geoenv.scene import Scene
from geoenv.scenes.demo import demo_scene
from geoenv.scenes.vector import load_vector
from geoenv.tasks.registry import templates

NE = "tests/fixtures/naturalearth_lowres/naturalearth_lowres.shp"


def fresh(scene: Scene) -> Scene:
    """The scene's geo layers in a new Scene (an empty per-scene memo)."""
    return Scene(scene.id, geo_layers=scene.geo_layers, metadata=scene.metadata)


def run(scene: Scene, name: str, n: int, seeds: int) -> tuple[int, float]:
    tpl = templates()[name]
    count, t0 = 0, time.perf_counter()
    for s in range(1, seeds + 1):
        count += len(tpl.generate(scene, s, n))
    return count, time.perf_counter() - t0


def bench(scene: Scene, n: int, seeds: int) -> None:
    feats = sum(len(layer) for layer in scene.geo_layers.values())
    print(f"\n{scene.id}: {len(scene.geo_layers)} geo layer(s), {feats} features")
    print(f"  {'template':20s} {'questions':>9s} {'cold q/s':>10s} {'warm q/s':>10s}")
    total = [0, 0.0, 0.0]
    for name in (k for k, t in templates().items() if t.family == "geo"):
        sc = fresh(scene)
        count, cold = run(sc, name, n, seeds)
        count2, warm = run(sc, name, n, seeds)
        assert count2 == count
        total[0] += count
        total[1] += cold
        total[2] += warm
        rc = count / cold if count else 0.0
        rw = count / warm if count else 0.0
        print(f"  {name:20s} {count:9d} {rc:10,.0f} {rw:10,.0f}")
    print(
        f"  all geo templates: {total[0]} questions, cold {total[0] / total[1]:,.0f} q/s, "
        f"warm {total[0] / total[2]:,.0f} q/s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="questions per template per seed")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    bench(demo_scene(0), args.n, args.seeds)
    path = importlib.resources.files("pyogrio").joinpath(NE)
    t0 = time.perf_counter()
    ne = load_vector(path)
    print(f"\nloaded Natural Earth (177 countries) in {time.perf_counter() - t0:.2f} s")
    bench(ne, args.n, args.seeds)


if __name__ == "__main__":
    main()
