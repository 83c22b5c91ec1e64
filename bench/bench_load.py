"""Benchmark: load time and peak memory of a ~1M-point scene, and the scene-graph geometry.

Builds a synthetic room with ``--points`` points in ``--objects`` instances, writes it as a
binary PLY point cloud (format 2) and as a ScanNet scan directory, then loads each in a fresh
subprocess and reports wall time and peak memory (VmHWM, the RSS high-water mark, and the
increase over the interpreter with geoenv imported). Then times the lazy geometry on the
loaded scene: oriented boxes of every object, the all-pairs closest-point matrix, the room
footprint.

    uv run python bench/bench_load.py --points 1000000 --objects 60
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, sys, time
import geoenv

def rss():
    # VmHWM: this process's peak RSS (ru_maxrss would carry the parent's peak across exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

out = {"rss_import_mib": rss()}
t0 = time.perf_counter()
scene = geoenv.load_scene(sys.argv[1])
out["load_s"] = time.perf_counter() - t0
out["rss_peak_load_mib"] = rss()
out["points"] = int(sum(len(o.points) for o in scene.objects.values()))
out["objects"] = len(scene.objects)
t0 = time.perf_counter()
[o.obb for o in scene.objects.values()]
out["obb_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
d = scene.closest_distances
out["closest_all_pairs_s"] = time.perf_counter() - t0
out["pairs"] = len(d) * (len(d) - 1) // 2
t0 = time.perf_counter()
out["room_area_m2"] = scene.room_area
out["footprint_s"] = time.perf_counter() - t0
out["rss_peak_all_mib"] = rss()
print(json.dumps(out))
"""


def synthetic_scene(n_points: int, n_objects: int, seed: int = 0):
    """A 10 x 8 m room: a floor grid (~20% of the points) and box-shaped objects."""
    from geoenv.scene import Scene

    rng = np.random.default_rng(seed)
    n_floor = n_points // 5
    side = int(np.sqrt(n_floor))
    gx, gy = np.meshgrid(np.linspace(0, 10, side), np.linspace(0, 8, side), indexing="ij")
    parts = [np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])]
    inst = [np.zeros(gx.size, dtype=np.int64)]
    labels = {0: "floor"}
    per = (n_points - gx.size) // n_objects
    cats = ["chair", "table", "sofa", "lamp", "cabinet", "plant", "tv", "bed"]
    for k in range(n_objects):
        c = np.array([rng.uniform(0.5, 9.5), rng.uniform(0.5, 7.5), 0.0])
        size = rng.uniform(0.3, 1.5, 3)
        p = rng.uniform(-0.5, 0.5, size=(per, 3)) * size + c + [0, 0, size[2] / 2]
        parts.append(p)
        inst.append(np.full(per, k + 1, dtype=np.int64))
        labels[k + 1] = cats[k % len(cats)]
    return Scene.from_instances(
        "bench_room", np.concatenate(parts), np.concatenate(inst), labels,
        colors=rng.integers(0, 256, size=(sum(len(p) for p in parts), 3), dtype=np.uint8),
    )  # fmt: skip


def run_child(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--objects", type=int, default=60)
    args = ap.parse_args()

    from geoenv.scenes.pointcloud import write_pointcloud
    from geoenv.scenes.scannet import write_scannet

    scene = synthetic_scene(args.points, args.objects)
    n = sum(len(o.points) for o in scene.objects.values())
    print(f"synthetic scene: {n:,} points, {len(scene.objects)} objects")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ply = write_pointcloud(scene, Path(tmp) / "bench_room.ply")
        t_ply = time.perf_counter() - t0
        t0 = time.perf_counter()
        scan = write_scannet(scene, Path(tmp) / "scene0999_00", "scene0999_00")
        t_scan = time.perf_counter() - t0
        mib = ply.stat().st_size / 2**20
        print(f"write: PLY {t_ply:.2f} s ({mib:.1f} MiB), ScanNet dir {t_scan:.2f} s")
        for name, path in (("PLY point cloud (binary)", ply), ("ScanNet scan dir", scan)):
            r = run_child(path)
            rate = r["points"] / r["load_s"] / 1e6
            extra = r["rss_peak_load_mib"] - r["rss_import_mib"]
            print(f"\n{name}: {r['points']:,} object points, {r['objects']} objects")
            print(f"  load               {r['load_s']:8.2f} s   {rate:.2f} M points/s")
            print(
                f"  peak RSS (load)    {r['rss_peak_load_mib']:8.0f} MiB (+{extra:.0f} over import)"
            )
            print(f"  oriented boxes     {r['obb_s']:8.2f} s")
            print(f"  closest, all pairs {r['closest_all_pairs_s']:8.2f} s   ({r['pairs']} pairs)")
            print(f"  room footprint     {r['footprint_s']:8.2f} s   ({r['room_area_m2']:.2f} m²)")
            print(f"  peak RSS (all)     {r['rss_peak_all_mib']:8.0f} MiB")


if __name__ == "__main__":
    main()
