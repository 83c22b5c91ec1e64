"""One synthetic room written as ScanNet, PLY (binary, ascii) and NPZ: every load agrees.

The room: a floor, two chairs, a table and a sofa (points on rotated box surfaces), a few
unlabelled wall points, and three camera frames. The ScanNet copy is stored under a
non-trivial axisAlignment (yaw 30 degrees + translation), so its loader must undo it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from geoenv.boxes import box_surface_points
from geoenv.frames import Frame
from geoenv.scene import Scene
from geoenv.scenes import detect_format, load_scene
from geoenv.scenes.pointcloud import write_pointcloud
from geoenv.scenes.scannet import write_scannet
from geoenv.transforms import look_at, rot_z

TOL = 1e-9  # float64 round trip (ScanNet: one rigid transform and its inverse)

# instance id -> (label, centre, size, yaw)
BOXES = {
    4: ("chair", (1.0, 1.0, 0.45), (0.5, 0.45, 0.9), 0.3),
    7: ("chair", (3.5, 1.2, 0.45), (0.5, 0.45, 0.9), -0.5),
    12: ("table", (2.2, 2.6, 0.375), (1.2, 0.8, 0.75), 0.2),
    30: ("sofa", (4.0, 3.3, 0.4), (2.0, 0.9, 0.8), np.pi / 2 - 0.1),
}


def make_room() -> Scene:
    gx, gy = np.meshgrid(np.linspace(0, 5, 21), np.linspace(0, 4, 17), indexing="ij")
    floor = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])
    parts, inst = [floor], [np.full(len(floor), 1)]
    labels = {1: "floor"}
    for i, (label, c, size, yaw) in BOXES.items():
        pts = box_surface_points(np.array(c), np.array(size), rot_z(yaw), spacing=0.1)
        parts.append(pts)
        inst.append(np.full(len(pts), i))
        labels[i] = label
    wall = np.column_stack([np.zeros(12), np.linspace(0, 4, 12), np.linspace(0.5, 2.5, 12)])
    parts.append(wall)
    inst.append(np.full(len(wall), -1))
    points = np.concatenate(parts)
    instance = np.concatenate(inst)
    colors = ((instance[:, None] * np.array([37, 91, 53]) + 20) % 256).astype(np.uint8)
    k = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])
    eyes = [(0.3, 0.3, 1.6), (4.7, 0.4, 1.5), (2.5, 3.9, 1.8)]
    frames = [
        Frame(5 * j, look_at(np.array(eye), np.array([2.5, 2.0, 0.4])), k, 640, 480, j / 6)
        for j, eye in enumerate(eyes)
    ]
    return Scene.from_instances("room", points, instance, labels, colors=colors, frames=frames)


ALIGN = np.eye(4)
ALIGN[:3, :3] = rot_z(np.deg2rad(30.0))
ALIGN[:3, 3] = [2.0, -1.25, 0.5]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scene]:
    room = make_room()
    d = tmp_path_factory.mktemp("cross")
    paths = {
        "scannet": write_scannet(room, d, "scene0007_00", axis_alignment=ALIGN),
        "ply_binary": write_pointcloud(room, d / "room_bin.ply", binary=True),
        "ply_ascii": write_pointcloud(room, d / "room_txt.ply", binary=False),
        "npz": write_pointcloud(room, d / "room.npz"),
    }
    out = {"original": room}
    for name, p in paths.items():
        assert detect_format(p) == ("scannet" if name == "scannet" else "pointcloud")
        out[name] = load_scene(p)
    return out


FORMATS = ["scannet", "ply_binary", "ply_ascii", "npz"]


def test_stored_scannet_is_not_world(loaded: dict[str, Scene]) -> None:
    """The ScanNet copy really is stored in another frame (the loader undoes it)."""
    s = loaded["scannet"]
    assert s.metadata["axis_alignment"] == ALIGN.tolist()
    assert s.metadata["notes"] == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_objects_and_points(loaded: dict[str, Scene], fmt: str) -> None:
    room, s = loaded["original"], loaded[fmt]
    assert s.object_ids == ("1", "4", "7", "12", "30")
    assert s.labels == {"chair": ("4", "7"), "floor": ("1",), "sofa": ("30",), "table": ("12",)}
    for oid in room.object_ids:
        np.testing.assert_allclose(s[oid].points, room[oid].points, rtol=0, atol=TOL)
    np.testing.assert_allclose(
        s.points[s.instance < 0], room.points[room.instance < 0], rtol=0, atol=TOL
    )
    np.testing.assert_array_equal(s.colors[s.instance == 12], room.colors[room.instance == 12])


@pytest.mark.parametrize("fmt", FORMATS)
def test_boxes(loaded: dict[str, Scene], fmt: str) -> None:
    room, s = loaded["original"], loaded[fmt]
    for oid in room.object_ids:
        a, b = room[oid], s[oid]
        np.testing.assert_allclose(b.aabb.min, a.aabb.min, rtol=0, atol=TOL)
        np.testing.assert_allclose(b.aabb.max, a.aabb.max, rtol=0, atol=TOL)
        np.testing.assert_allclose(b.obb.center, a.obb.center, rtol=0, atol=TOL)
        np.testing.assert_allclose(b.obb.size, a.obb.size, rtol=0, atol=TOL)
        assert b.obb.yaw == pytest.approx(a.obb.yaw, abs=TOL)
    # The boxes are the ones the points were made from.
    for oid, (_, c, size, yaw) in BOXES.items():
        box = s[str(oid)].obb
        np.testing.assert_allclose(box.center, c, atol=1e-9)
        np.testing.assert_allclose(box.size, size, atol=1e-9)
        assert box.yaw == pytest.approx(np.mod(yaw, np.pi), abs=1e-9)


@pytest.mark.parametrize("fmt", FORMATS)
def test_distances(loaded: dict[str, Scene], fmt: str) -> None:
    room, s = loaded["original"], loaded[fmt]
    np.testing.assert_allclose(s.centroid_distances, room.centroid_distances, rtol=0, atol=TOL)
    np.testing.assert_allclose(s.closest_distances, room.closest_distances, rtol=0, atol=TOL)
    # Chairs 4 and 7 are 2.5 m apart in x and 0.2 m in y: their centroids are the box centres.
    assert s.centroid_distances[1, 2] == pytest.approx(np.hypot(2.5, 0.2), abs=1e-9)
    # Brute force agrees with the KD-tree closest distance.
    brute = cdist(room["4"].points, room["30"].points).min()
    assert s.closest_distance("4", "30") == pytest.approx(brute, abs=TOL)
    # The table's bottom face (z = 0) lies on the floor plane, within the floor grid spacing.
    assert s.closest_distance("1", "12") <= 0.25 / np.sqrt(2)


@pytest.mark.parametrize("fmt", FORMATS)
def test_frames(loaded: dict[str, Scene], fmt: str) -> None:
    room, s = loaded["original"], loaded[fmt]
    assert [f.index for f in s.frames] == [0, 5, 10]
    for f, g in zip(room.frames, s.frames, strict=True):
        np.testing.assert_allclose(g.pose, f.pose, rtol=0, atol=TOL)
        np.testing.assert_array_equal(g.K, f.K)
        assert (g.width, g.height) == (640, 480)
        assert g.timestamp == pytest.approx(f.timestamp, abs=1e-12)
        # Same visibility of every object's centroid.
        c = np.array([o.centroid for o in s.objects.values()])
        np.testing.assert_array_equal(g.in_frustum(c), f.in_frustum(c))


@pytest.mark.parametrize("fmt", ["ply_binary", "ply_ascii", "npz"])
def test_format2_is_bit_exact(loaded: dict[str, Scene], fmt: str) -> None:
    assert loaded[fmt].content_hash() == loaded["original"].content_hash()


def test_written_files_are_deterministic(tmp_path: Path) -> None:
    room = make_room()
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        write_scannet(room, d, "scene0007_00", axis_alignment=ALIGN)
        write_pointcloud(room, d / "r.ply")
        write_pointcloud(room, d / "r.npz")
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 8
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
