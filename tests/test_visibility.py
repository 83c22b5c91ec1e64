"""Visibility engine and renderer: occlusion by a wall (mesh and point cloud), analytic depth of
a plane, truncation, 2D boxes, inserted occluders, determinism, the per-scene cache on disk,
and the PNG writers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

import geoenv
from geoenv import Scene, SceneObject
from geoenv.frames import Frame
from geoenv.render import (
    AMBIENT,
    depth_to_mm,
    instance_to_u16,
    palette_color,
    png_bytes,
    read_png,
    render_frame,
)
from geoenv.transforms import look_at
from geoenv.visibility import (
    MIN_SPLAT_PX,
    VisibilityEngine,
    VisibilitySettings,
    clear_memory_cache,
    occluder_box,
    pixel_rays,
    raster_camera,
    splat_radius,
    visibility,
)

W, H, F = 640, 480, 500.0
K = np.array([[F, 0.0, W / 2], [0.0, F, H / 2], [0.0, 0.0, 1.0]])


def cam(index: int = 0, eye=(0.0, 0.0, 1.0), target=(10.0, 0.0, 1.0)) -> Frame:
    """Camera at ``eye`` looking along +x: camera x = world -y, camera y = world -z."""
    return Frame(index, look_at(np.array(eye), np.array(target)), K, W, H)


def box_mesh(lo, hi) -> trimesh.Trimesh:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    return trimesh.creation.box(extents=hi - lo, transform=_t((lo + hi) / 2))


def _t(c) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = c
    return m


def surface_points(mesh: trimesh.Trimesh, spacing: float = 0.04) -> np.ndarray:
    """Deterministic, even surface samples of a mesh (seeded)."""
    n = max(64, int(mesh.area / spacing**2))
    pts, _ = trimesh.sample.sample_surface_even(mesh, n, seed=7)
    return np.asarray(pts, dtype=np.float64)


def mesh_scene(
    parts: dict[str, tuple[str, trimesh.Trimesh]], frames, sid="m", spacing=0.04, **kw
) -> Scene:
    """Scene with one mesh per object id (ids are integers as strings) and the face table."""
    objs, meshes, face_inst = [], [], []
    for oid, (label, m) in parts.items():
        objs.append(SceneObject(oid, label, surface_points(m, spacing)))
        meshes.append(m)
        face_inst.append(np.full(len(m.faces), int(oid)))
    mesh = trimesh.util.concatenate(meshes)
    return Scene(sid, objs, frames, mesh=mesh, mesh_face_instance=np.concatenate(face_inst), **kw)


def cloud_scene(parts: dict[str, tuple[str, trimesh.Trimesh]], frames, sid="c") -> Scene:
    objs = [SceneObject(oid, lab, surface_points(m, 0.03)) for oid, (lab, m) in parts.items()]
    return Scene(sid, objs, frames)


WALL = box_mesh([5.0, -3.0, 0.0], [5.1, 3.0, 3.0])
HALF_WALL = box_mesh([5.0, 0.0, 0.0], [5.1, 3.0, 3.0])  # covers world y > 0 (image left)
BEHIND = box_mesh([7.0, -0.5, 0.5], [8.0, 0.5, 1.5])
FRONT = box_mesh([3.0, -0.5, 0.5], [4.0, 0.5, 1.5])


@pytest.mark.parametrize("build", [mesh_scene, cloud_scene], ids=["mesh", "cloud"])
def test_wall_occlusion(build):
    f = cam()
    cases = {
        "behind": ({"1": ("wall", WALL), "2": ("box", BEHIND)}, (0.0, 0.0)),
        "front": ({"1": ("wall", WALL), "2": ("box", FRONT)}, (1.0, 1.0)),
        "half": ({"1": ("wall", HALF_WALL), "2": ("box", BEHIND)}, (0.5, 0.05)),
    }
    for name, (parts, (want, tol)) in cases.items():
        s = build(parts, [f], sid=name)
        fv = visibility(s).frame(0)
        st = fv.stats("2")
        assert st["unoccluded_px"] > 100, name
        assert st["truncation"] == 0.0
        if tol == 0.0:
            assert st["visible_fraction"] == want, (name, st)
        else:
            # Resolution error: the box is about sqrt(px) raster columns wide; the wall's edge
            # may land one and a half columns off (splat discs reach half a pixel past it).
            tol = max(tol, 1.5 / np.sqrt(st["unoccluded_px"]))
            assert abs(st["visible_fraction"] - want) <= tol, (name, st)
        assert st["visibility"] == pytest.approx(st["visible_fraction"])
    # The wall in front of everything is fully visible.
    s = build({"1": ("wall", WALL), "2": ("box", BEHIND)}, [f])
    assert visibility(s).frame(0).stats("1")["visible_fraction"] == 1.0


def test_mesh_box_stats_are_hand_computed():
    """Box in front: its front face x = 3 spans y, z in [-0.5, 0.5] x [0.5, 1.5] (camera at
    z = 1): u = 320 -+ 500 * 0.5 / 3, v = 240 -+ 500 * 0.5 / 3 (full-resolution pixels)."""
    s = mesh_scene({"1": ("wall", WALL), "2": ("box", FRONT)}, [cam()])
    fv = visibility(s).frame(0)
    assert fv.instance.shape == (120, 160) and fv.pixel_size == (4.0, 4.0)
    u0, v0, u1, v1 = fv.stats("2")["bbox_px"]
    e = 500 * 0.5 / 3
    assert abs(u0 - (320 - e)) <= 4 and abs(u1 - (320 + e)) <= 4
    assert abs(v0 - (240 - e)) <= 4 and abs(v1 - (240 + e)) <= 4
    # Raster pixels: whole pixels whose centres fall in the face's square (41.67 raster px).
    side = (u1 - u0) / 4
    assert fv.visible_px[fv.index("2")] == pytest.approx(side * (v1 - v0) / 4)
    # Depth of the box's front face and of the wall (camera z = world x).
    i = fv.index("2")
    assert np.allclose(fv.depth[fv.instance == i], 3.0, atol=1e-5)
    assert np.allclose(fv.depth[fv.instance == fv.index("1")], 5.0, atol=1e-5)


def test_truncation_by_the_image_border():
    """A thin slab centred on the left image border (world y = 3 * 320 / 500 = 1.92 at x = 3)
    has about half of its points outside the image."""
    y = 3.0 * 320 / 500
    b = box_mesh([3.0, y - 0.3, 0.7], [3.02, y + 0.3, 1.3])
    s = mesh_scene({"2": ("box", b)}, [cam()])
    st = visibility(s).frame(0).stats("2")
    assert 0.35 <= st["truncation"] <= 0.65
    assert st["visible_fraction"] == 1.0
    assert st["visibility"] == pytest.approx(1.0 - st["truncation"])
    assert st["bbox_px"][0] == 0.0
    # Behind the camera: everything truncated, nothing visible.
    s = mesh_scene({"2": ("box", box_mesh([-3, -0.5, 0.5], [-2, 0.5, 1.5]))}, [cam()])
    st = visibility(s).frame(0).stats("2")
    assert st["truncation"] == 1.0 and st["visibility"] == 0.0 and st["bbox_px"] is None


def test_plane_depth_matches_analytic_depth():
    """Tilted plane x + (z - 1) = 4 seen from (0, 0, 1) along +x: the ray through raster pixel
    centre (u, v) is t (1, -xc, -yc) in world with yc = (v - cy) / fy, so depth t = 4 / (1 - yc)."""
    plane = trimesh.Trimesh(
        vertices=[[4 - 20, -20, 21], [4 - 20, 20, 21], [4 + 20, 20, -19], [4 + 20, -20, -19]],
        faces=[[0, 1, 2], [0, 2, 3]],
    )
    f = cam()
    s = mesh_scene({"1": ("wall", plane)}, [f], spacing=1.0)
    for ds in (1, 4):
        r = render_frame(s, 0, downscale=ds)
        w, h, k = raster_camera(f, ds)
        yc = (np.arange(h) + 0.5 - k[1, 2]) / k[1, 1]
        want = np.broadcast_to((4.0 / (1.0 - yc))[:, None], (h, w))
        assert np.all(np.isfinite(r.depth))
        np.testing.assert_allclose(r.depth, want, rtol=2e-6)
        # 16-bit millimetre PNG round trip.
        mm = read_png(png_bytes(depth_to_mm(r.depth)))
        assert mm.dtype == np.uint16
        assert np.abs(mm - want * 1000).max() <= 0.5 + 1e-3  # float32 depth, rounded to mm
    # Point-cloud splat: depth of a fronto-parallel dense plane x = 4 is 4 everywhere covered.
    g = np.linspace(-3, 3, 241)
    yy, zz = np.meshgrid(g, g + 1, indexing="ij")
    pts = np.column_stack([np.full(yy.size, 4.0), yy.ravel(), zz.ravel()])
    cs = Scene("p", [SceneObject("1", "wall", pts)], [f])
    d = visibility(cs).frame(0).depth
    assert np.isfinite(d).mean() > 0.99 and np.allclose(d[np.isfinite(d)], 4.0)


def test_rays_and_raster_camera():
    f = cam()
    w, h, k = raster_camera(f, 4)
    assert (w, h) == (160, 120)
    np.testing.assert_allclose(k, [[125, 0, 80], [0, 125, 60], [0, 0, 1]])
    d = pixel_rays(f, w, h, k)
    assert d.shape == (w * h, 3)
    # Camera z component is 1 (depth parameterisation); pixel (0, 0) centre is (0.5, 0.5).
    cz = d @ f.pose[:3, 2]
    np.testing.assert_allclose(cz, 1.0)
    np.testing.assert_allclose(d[0] @ f.pose[:3, 0], (0.5 - 80) / 125)
    with pytest.raises(ValueError, match="downscale"):
        VisibilitySettings(downscale=0)


def test_splat_radius_rule():
    g = np.arange(10) * 0.1
    xx, yy = np.meshgrid(g, g, indexing="ij")
    grid = np.column_stack([xx.ravel(), yy.ravel(), np.zeros(xx.size)])
    # Regular grid, spacing 0.1: the 6th neighbour is a diagonal one (4 at 0.1, 4 at 0.141).
    r = splat_radius(grid, np.zeros(len(grid), dtype=np.int64))
    assert r == pytest.approx(np.full(len(grid), 0.1 * np.sqrt(2)))
    # Groups are measured separately; a single point takes the median of the others.
    pts = np.vstack([grid, grid * 2, [[9, 9, 9]]])
    owner = np.array([0] * 100 + [1] * 100 + [2])
    r = splat_radius(pts, owner)
    assert r[0] == pytest.approx(0.1414, abs=1e-3) and r[150] == pytest.approx(0.2828, abs=1e-3)
    assert r[-1] == pytest.approx(np.median([r[0], r[150]]))
    assert MIN_SPLAT_PX == pytest.approx(np.sqrt(0.5))


def test_inserted_occluder_hides_and_keeps_the_coverage():
    s = mesh_scene({"1": ("wall", WALL), "2": ("box", FRONT)}, [cam()])
    eng = visibility(s)
    base = eng.frame(0)
    full = occluder_box([2.0, 0.0, 1.0], [0.05, 1.2, 1.2])
    fv = eng.compute(s.frames[0], occluders=[full])
    assert fv.visible_px[fv.index("2")] == 0 and (fv.instance == -2).any()
    np.testing.assert_array_equal(fv.unoccluded_px, base.unoccluded_px)
    # An occluder covering world y > 0 (the left half of the box's image) halves it.
    half = occluder_box([2.0, 0.5, 1.0], [0.05, 1.0, 1.2])
    v = eng.compute(s.frames[0], occluders=[half]).stats("2")["visible_fraction"]
    assert v == pytest.approx(0.5, abs=0.05)
    r = render_frame(s, 0, downscale=4, occluders=[full])
    assert (r.instance == -2).any() and (r.rgb[r.instance == -2] > 0).all()


def test_deterministic_and_cached_in_memory():
    s = geoenv.demo_scene(1)
    a = visibility(s).frame(3)
    assert visibility(s).frame(3) is a  # same engine, same object
    fresh = VisibilityEngine(s, VisibilitySettings())
    b = fresh.frame(3)
    for name in ("instance", "depth", "visible_px", "unoccluded_px", "truncation", "bbox"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    other = visibility(s, VisibilitySettings(downscale=8)).frame(3)
    assert other.instance.shape == (60, 80)
    assert visibility(s.transformed(), None).frame(3) is not a  # per scene object


def test_disk_cache_beside_the_source(tmp_path, monkeypatch):
    s = mesh_scene(
        {"1": ("wall", WALL), "2": ("box", FRONT)},
        [cam(0), cam(1, eye=(0, 1, 1)), cam(2, eye=(0, -1, 1))],
        metadata={"source_path": str(tmp_path / "room.ply")},
    )
    eng = visibility(s)
    first = eng.all_frames()
    path = eng.saved_path
    assert path is not None and path.is_file() and path.parent == tmp_path / ".geoenv-cache"
    assert path.name.startswith("room.ply.visibility-") and path.suffix == ".npz"
    clear_memory_cache()

    def boom(*a, **k):
        raise AssertionError("cast called although the cache is on disk")

    monkeypatch.setattr(VisibilityEngine, "cast", boom)
    again = visibility(s)
    assert again is not eng
    second = again.all_frames()
    assert again.loaded_from_disk
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(x.instance, y.instance)
        np.testing.assert_array_equal(x.depth, y.depth)
        np.testing.assert_array_equal(x.visibility, y.visibility)
        np.testing.assert_array_equal(x.bbox, y.bbox)
    # Other settings have another key, hence another file.
    monkeypatch.undo()
    other = visibility(s, VisibilitySettings(downscale=8))
    other.all_frames()
    assert other.saved_path != path and other.saved_path.is_file()


def test_demo_scene_cache_dir_and_mesh_vs_cloud(tmp_path):
    s = geoenv.demo_scene(0)
    eng = visibility(s, cache_dir=tmp_path)
    assert eng.uses_mesh
    fvs = eng.all_frames()
    assert eng.saved_path is not None and eng.saved_path.parent == tmp_path
    m = eng.matrix()
    assert m.shape == (36, len(s.objects)) and m.max() <= 1.0 and m.min() >= 0.0
    # The same room drawn from its points (splats) agrees with the mesh on most pixels.
    cloud = Scene(s.id, list(s.objects.values()), s.frames)
    cv = visibility(cloud).frame(9)
    mv = fvs[9]
    assert (cv.instance == mv.instance).mean() > 0.9
    seen = mv.visibility > 0.3
    assert np.abs(cv.visibility - mv.visibility)[seen].max() < 0.15


def test_render_images_and_pngs(tmp_path):
    s = geoenv.demo_scene(0)
    r = render_frame(s, 9, downscale=4)
    fv = visibility(s).frame(9)
    np.testing.assert_array_equal(r.instance, fv.instance)  # the same rays
    np.testing.assert_array_equal(r.depth, fv.depth)
    assert r.rgb.shape == (120, 160, 3) and r.rgb.dtype == np.uint8
    # Face colours (demo: face colours, no vertex colours), shaded by the headlight.
    floor = r.instance == s.object_ids.index("1")
    base = np.array([170, 160, 150])
    ratio = r.rgb[floor].astype(float) / base
    assert ratio.min() >= 0.34 and ratio.max() <= 1.01
    pngs = r.png()
    assert pngs == render_frame(s, 9, downscale=4).png()  # deterministic bytes
    inst = read_png(pngs["instance"])
    assert inst.dtype == np.uint16
    np.testing.assert_array_equal(inst, instance_to_u16(r.instance))
    col = read_png(pngs["instance_color"])
    k = s.object_ids.index("1")
    assert tuple(col[floor][0]) == palette_color(k)
    legend = r.legend()
    assert {d["object_id"] for d in legend} >= {"1"}
    assert json.dumps(legend)


def test_vertex_colours_are_interpolated():
    """A quad x = 4 with red at world y = +2 (image left) and blue at y = -2: the colour varies
    linearly across the image, times the headlight shade AMBIENT + (1 - AMBIENT) cos."""
    v = np.array([[4, 2, -1], [4, -2, -1], [4, -2, 3], [4, 2, 3]], float)
    quad = trimesh.Trimesh(vertices=v, faces=[[0, 1, 2], [0, 2, 3]], process=False)
    quad.visual.vertex_colors = np.array(
        [[255, 0, 0, 255], [0, 0, 255, 255], [0, 0, 255, 255], [255, 0, 0, 255]], np.uint8
    )
    s = Scene("v", [SceneObject("1", "wall", v)], [cam()], mesh=quad,
              mesh_face_instance=np.array([1, 1]))  # fmt: skip
    r = render_frame(s, 0, downscale=4)
    row = r.rgb[60].astype(float)  # the row through the optical axis
    # Raster u = (80 - 125 y / 4): y = 2 at u = 17.5, y = -2 at u = 142.5.
    u = np.arange(160) + 0.5
    y = (80 - u) * 4 / 125
    mid = (u > 30) & (u < 130)
    cos = 1 / np.sqrt(1 + ((u - 80) / 125) ** 2)  # on the optical-axis row
    red = 255 * (y + 2) / 4 * (AMBIENT + (1 - AMBIENT) * cos)
    np.testing.assert_allclose(row[mid, 0], red[mid], atol=1.01)
    assert np.all(row[:, 1] == 0)


def test_png_writers_reject_bad_dtypes():
    with pytest.raises(ValueError, match="uint8 or uint16"):
        png_bytes(np.zeros((2, 2), np.float32))
    d = np.array([[np.inf, 1.2345], [70.0, 0.0004]])
    np.testing.assert_array_equal(depth_to_mm(d), [[0, 1234], [65535, 0]])


def test_render_cli(tmp_path):
    from typer.testing import CliRunner

    import geoenv.cli_render  # noqa: F401  (registers `geoenv render` on the app)
    from geoenv.cli import app

    out = tmp_path / "r"
    res = CliRunner().invoke(
        app, ["render", "demo:0", "--frames", "0,5", "--out", str(out), "--downscale", "8"]
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    for i in ("0000", "0005"):
        for kind in ("rgb", "depth", "instance", "instance_color"):
            assert f"demo_0_{i}_{kind}.png" in names
        assert f"demo_0_{i}_instances.json" in names
    assert read_png((out / "demo_0_0005_rgb.png").read_bytes()).shape == (60, 80, 3)
    assert read_png((out / "demo_0_0005_depth.png").read_bytes()).dtype == np.uint16
    legend = json.loads((out / "demo_0_0005_instances.json").read_text())
    assert all(d["value"] >= 1 and d["object_id"] for d in legend)
    bad = CliRunner().invoke(app, ["render", "demo:0", "--frames", "99", "--out", str(out)])
    assert bad.exit_code != 0 and "no frames [99]" in bad.output
