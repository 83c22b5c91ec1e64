"""Benchmark: real-dataset layouts through scenezoo, and ScanNet through both loaders.

Writes the furnished test room of tests/scenezoo_fixtures.py in every layout the scenezoo
adapter reads (ScanNet, ScanNet++, ARKitScenes, MultiScan, S3DIS, SceneNN), once at fixture
size (~4k vertices) and once as a synthetic ~2M-point scene (dense floor and wall grids).
Each scene is loaded in a fresh subprocess, ``--repeat`` times; we report the wall time of the
first load and the best of all (the machine may be shared: the best is the steadier number),
the peak RSS (VmHWM) and its increase over the interpreter with geoenv, scenezoo's adapter
module and open3d already imported. The ScanNet scan is also loaded with geoenv's own
loader (``geoenv.scenes.scannet``, reading the exported ``pose/`` files) for the comparison
behind the delegation decision.

    uv run python bench/bench_datasets.py                 # fixtures and the 2M-point scene
    uv run python bench/bench_datasets.py --no-large      # fixtures only (seconds)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CHILD = r"""
import importlib, json, sys, time

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

import geoenv, open3d  # noqa: F401
from geoenv.scenes.scannet import load_scannet
from geoenv.scenes.scenezoo_adapter import load_scenezoo
kind, module, source, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if module:
    importlib.import_module(module)
out = {"rss_import_mib": rss()}
load = (lambda: load_scannet(source)) if kind == "geoenv" else (lambda: load_scenezoo(source))
t0 = time.perf_counter()
scene = load()
out["load_s"] = time.perf_counter() - t0
out["rss_peak_mib"] = rss()
times = [out["load_s"]]
for _ in range(repeat - 1):
    t0 = time.perf_counter()
    load()
    times.append(time.perf_counter() - t0)
out["best_load_s"] = min(times)
out["points"] = 0 if scene.points is None else len(scene.points)
out["objects"] = len(scene.objects)
out["frames"] = len(scene.frames)
print(json.dumps(out))
"""

MODULES = {
    "scannetv2": "scenezoo.dataset.scene.scannet",
    "scannetppv2": "scenezoo.dataset.scene.scannetpp",
    "arkitscenes": "scenezoo.dataset.scene.arkitscenes",
    "multiscan": "scenezoo.dataset.scene.multiscan",
    "s3dis": "scenezoo.dataset.scene.s3dis",
    "scenenn": "scenezoo.dataset.scene.scenenn",
}


def write_all(room, d: Path) -> list[tuple[str, str, str]]:
    """Write every layout under ``d``; returns (label, loader kind, source) to load."""
    import scenezoo_fixtures as fx

    a = fx.yaw_alignment()
    scan = fx.write_scannet_root(room, d / "scannet", align=a)
    fx.write_scannetpp_root(room, d / "scannetpp")
    fx.write_arkitscenes_root(room, d / "arkit")
    fx.write_multiscan_root(room, d / "multiscan", align=a)
    fx.write_s3dis_root(room, d / "s3dis")
    fx.write_scenenn_root(room, d / "scenenn")
    return [
        ("scannet (geoenv loader)", "geoenv", str(scan)),
        ("scannetv2", "zoo", f"scenezoo:scannetv2:{d / 'scannet'}/scene0007_00"),
        ("scannetppv2", "zoo", f"scenezoo:scannetppv2:{d / 'scannetpp'}/0a5c013435"),
        ("arkitscenes", "zoo", f"scenezoo:arkitscenes:{d / 'arkit'}/41000001"),
        ("multiscan", "zoo", f"scenezoo:multiscan:{d / 'multiscan'}/scene_00900_00"),
        ("s3dis", "zoo", f"scenezoo:s3dis:{d / 's3dis'}/Area_1/office_1"),
        ("scenenn", "zoo", f"scenezoo:scenenn:{d / 'scenenn'}/005"),
    ]


def run_one(kind: str, source: str, repeat: int = 3) -> dict:
    ds = "scannetv2" if kind == "geoenv" else source.split(":")[1]
    res = subprocess.run(
        [sys.executable, "-c", CHILD, kind, MODULES.get(ds, ""), source, str(repeat)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["rss_over_import_mib"] = out["rss_peak_mib"] - out["rss_import_mib"]
    return out


def _t(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spacing", type=float, default=0.004, help="grid spacing of the large room")
    ap.add_argument("--subdiv", type=int, default=4, help="box subdivisions of the large room")
    ap.add_argument("--no-large", action="store_true", help="skip the ~2M-point scene")
    ap.add_argument("--repeat", type=int, default=3, help="loads per process (best is kept)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()

    import scenezoo_fixtures as fx

    sizes = [("fixture", fx.make_room())]
    if not args.no_large:
        sizes.append(("large", fx.make_room(spacing=args.spacing, subdiv=args.subdiv)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, room in sizes:
            t0 = time.perf_counter()
            jobs = write_all(room, Path(tmp) / size)
            print(f"# {size}: {len(room.vertices):,} vertices, {len(room.faces):,} faces, "
                  f"written in {time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
            for label, kind, source in jobs:
                r = run_one(kind, source, args.repeat) | {"size": size, "dataset": label}
                rows.append(r)
                print(json.dumps(r), flush=True)
    print()
    print("| scene | dataset (loader) | points | load (first) | load (best) | peak RSS | "
          "over import |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']} | {r['dataset']} | {r['points']:,} | {_t(r['load_s'])} | "
              f"{_t(r['best_load_s'])} | {r['rss_peak_mib']:.0f} MiB | "
              f"+{r['rss_over_import_mib']:.0f} MiB |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
