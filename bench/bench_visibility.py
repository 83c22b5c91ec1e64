"""Benchmark: rays per second of the visibility engine versus open3d's raw ``cast_rays`` on the
same rays (the overhead ratio), and seconds per frame for rendering.

The mesh scene: a 12 x 10 m room (floor, 4 walls) and a grid of subdivided icospheres on
pedestals, about ``--triangles`` triangles, each sphere one object; cameras walk around it.
For each raster size the engine's full per-frame work (rays, ``cast_rays``, the
``list_intersections`` pass that gives every object's unoccluded coverage, truncation,
counts, boxes) is timed against ``cast_rays`` alone on the same float32 rays. Rendering:
``render_frame`` at full resolution (RGB with shading, depth, instance), on the mesh scene, the
demo scene, and the demo scene drawn from its points (z-buffer splats).

    uv run python bench/bench_visibility.py --triangles 500000 --frames 8
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import trimesh

from geoenv import Scene, SceneObject
from geoenv.frames import Frame
from geoenv.render import render_frame
from geoenv.scenes.demo import demo_scene
from geoenv.transforms import look_at
from geoenv.visibility import (
    VisibilityEngine,
    VisibilitySettings,
    pixel_rays,
    raster_camera,
)

W, H, FOCAL = 640, 480, 525.0


def big_scene(n_triangles: int, n_frames: int, seed: int = 0) -> Scene:
    rng = np.random.default_rng(seed)
    sphere = trimesh.creation.icosphere(subdivisions=4)  # 5120 faces
    per = len(sphere.faces) + 12  # sphere + pedestal box
    n_obj = max(1, (n_triangles - 10) // per)
    side = int(np.ceil(np.sqrt(n_obj)))
    meshes, inst, objs = [], [], []
    room = [
        trimesh.Trimesh([[0, 0, 0], [12, 0, 0], [12, 10, 0], [0, 10, 0]], [[0, 1, 2], [0, 2, 3]])
    ]
    for (x0, y0), (x1, y1) in [((0, 0), (12, 0)), ((12, 0), (12, 10)), ((12, 10), (0, 10)),
                               ((0, 10), (0, 0))]:  # fmt: skip
        room.append(
            trimesh.Trimesh(
                [[x0, y0, 0], [x1, y1, 0], [x1, y1, 3], [x0, y0, 3]], [[0, 1, 2], [0, 2, 3]]
            )
        )
    for k, m in enumerate(room):
        meshes.append(m)
        inst.append(np.full(len(m.faces), k + 1))
        pts, _ = trimesh.sample.sample_surface(m, 2000, seed=k)
        objs.append(SceneObject(str(k + 1), "floor" if k == 0 else "wall", np.asarray(pts)))
    xs = np.linspace(2.5, 9.5, side)
    ys = np.linspace(2.0, 8.0, side)
    for n in range(n_obj):
        c = np.array([xs[n % side], ys[n // side], 0.0])
        r = float(rng.uniform(0.15, 0.3))
        sp = sphere.copy()
        sp.apply_scale(r)
        sp.apply_translation(c + np.array([0, 0, 0.6 + r]))
        ped = trimesh.creation.box(extents=[0.2, 0.2, 0.6], transform=_t(c + np.array([0, 0, 0.3])))
        m = trimesh.util.concatenate([sp, ped])
        oid = 100 + n
        meshes.append(m)
        inst.append(np.full(len(m.faces), oid))
        pts, _ = trimesh.sample.sample_surface(m, 500, seed=oid)
        objs.append(SceneObject(str(oid), f"thing{n % 7}", np.asarray(pts)))
    k = np.array([[FOCAL, 0, (W - 1) / 2], [0, FOCAL, (H - 1) / 2], [0, 0, 1.0]])
    frames = []
    for i in range(n_frames):
        a = 2 * np.pi * i / n_frames
        eye = np.array([6 + 4.5 * np.cos(a), 5 + 3.8 * np.sin(a), 1.6])
        frames.append(Frame(i, look_at(eye, np.array([6.0, 5.0, 0.8])), k, W, H))
    return Scene(
        "bench_spheres",
        objs,
        frames,
        mesh=trimesh.util.concatenate(meshes),
        mesh_face_instance=np.concatenate(inst),
    )


def _t(c) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = c
    return m


def bench_engine(scene: Scene, downscale: int, repeat: int) -> dict[str, float]:
    eng = VisibilityEngine(scene, VisibilitySettings(downscale=downscale))
    mc = eng.mesh_caster  # build the Embree scene outside the timings
    rays_per_frame = []
    t_engine = t_raw = t_list = 0.0
    for _ in range(repeat):
        for f in scene.frames:
            w, h, k = raster_camera(f, downscale)
            rays = mc.rays(f.position, pixel_rays(f, w, h, k), eng.settings.near)
            rays_per_frame.append(len(rays))
            t0 = time.perf_counter()
            mc.cast(rays)
            t_raw += time.perf_counter() - t0
            t0 = time.perf_counter()
            mc.list_hits(rays)
            t_list += time.perf_counter() - t0
            t0 = time.perf_counter()
            eng.compute(f)
            t_engine += time.perf_counter() - t0
    n = float(sum(rays_per_frame))
    return {
        "rays": n,
        "engine_rays_per_s": n / t_engine,
        "raw_rays_per_s": n / t_raw,
        "list_rays_per_s": n / t_list,
        "overhead": t_engine / t_raw,
        "engine_ms_per_frame": 1000 * t_engine / len(rays_per_frame),
    }


def bench_render(scene: Scene, frames: list[int], downscale: int = 1) -> float:
    render_frame(scene, frames[0], downscale=downscale)  # warm the caster / splat radii
    t0 = time.perf_counter()
    for i in frames:
        render_frame(scene, i, downscale=downscale)
    return (time.perf_counter() - t0) / len(frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--triangles", type=int, default=500_000)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    t0 = time.perf_counter()
    scene = big_scene(args.triangles, args.frames)
    print(
        f"scene: {len(scene.mesh.faces):,} triangles, {len(scene.objects)} objects, "
        f"{len(scene.frames)} frames ({W}x{H}); built in {time.perf_counter() - t0:.1f} s; "
        f"{os.cpu_count()} CPUs"
    )
    t0 = time.perf_counter()
    _ = VisibilityEngine(scene, VisibilitySettings()).mesh_caster
    print(f"Embree scene build: {time.perf_counter() - t0:.2f} s")
    print("\nvisibility engine vs raw cast_rays on the same rays")
    print(f"{'raster':>10} {'engine Mray/s':>14} {'raw Mray/s':>11} {'list Mray/s':>12} "
          f"{'overhead':>9} {'ms/frame':>9}")  # fmt: skip
    for ds in (4, 2, 1):
        r = bench_engine(scene, ds, args.repeat)
        print(
            f"{W // ds:>4}x{H // ds:<5} {r['engine_rays_per_s'] / 1e6:>14.2f} "
            f"{r['raw_rays_per_s'] / 1e6:>11.2f} {r['list_rays_per_s'] / 1e6:>12.2f} "
            f"{r['overhead']:>8.2f}x {r['engine_ms_per_frame']:>9.1f}"
        )

    print("\nrendering (RGB + depth + instance), seconds per frame at 640x480")
    idx = [f.index for f in scene.frames]
    print(f"  {len(scene.mesh.faces):,}-triangle scene (ray cast): {bench_render(scene, idx):.3f}")
    demo = demo_scene(0)
    di = [f.index for f in demo.frames[:: max(1, len(demo.frames) // 8)]]
    print(f"  demo scene mesh (ray cast):              {bench_render(demo, di):.3f}")
    cloud = Scene(demo.id, list(demo.objects.values()), demo.frames)
    n_pts = sum(len(o.points) for o in cloud.objects.values())
    print(f"  demo scene points ({n_pts:,}, splats):     {bench_render(cloud, di[:4]):.3f}")
    print(f"  demo scene points at 1/4 (visibility res):  {bench_render(cloud, di, 4):.3f}")


if __name__ == "__main__":
    main()
