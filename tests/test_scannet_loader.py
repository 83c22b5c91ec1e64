"""ScanNet scan directories: loading a hand-made scan, the test writer, malformed scans."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from plyfile import PlyData, PlyElement

from geoenv.errors import (
    EmptyInstanceError,
    NonFiniteError,
    NonRigidPoseError,
    SceneFormatError,
)
from geoenv.frames import Frame
from geoenv.scene import Scene, SceneObject
from geoenv.scenes import detect_format, load_scene
from geoenv.scenes.scannet import load_scannet, write_scannet
from geoenv.transforms import look_at

SID = "scene0042_01"
# Stored (unaligned) vertices.
VERTS = np.array(
    [
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [2.0, 2.0, 0.0],
        [3.0, 2.0, 0.0],
        [3.0, 3.0, 0.5],
        [9.0, 9.0, 9.0],
    ]
)
SEG_INDICES = [10, 10, 10, 20, 30, 30, 30, 40]  # 40: in no segment group
FACES = [[0, 1, 2], [5, 6, 7], [1, 2, 3]]
AGG = {
    "sceneId": f"scannet.{SID}",
    "appId": "test",
    "segGroups": [
        {"id": 0, "objectId": 0, "segments": [10, 20], "label": "chair"},
        {"id": 1, "objectId": 5, "segments": [30], "label": "kitchen cabinet"},
    ],
    "segmentsFile": f"scannet.{SID}_vh_clean_2.0.010000",
}
# axisAlignment: yaw +90 degrees then translate (1, 2, 3): (x, y, z) -> (1 - y, 2 + x, 3 + z).
ALIGN = np.array([[0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]], dtype=np.float64)
K4 = np.array([[1170.0, 0, 647.75, 0], [0, 1170.0, 483.75, 0], [0, 0, 1, 0], [0, 0, 0, 1]])


def mat_text(m: np.ndarray) -> str:
    return "\n".join(" ".join(f"{v:.9g}" for v in row) for row in m) + "\n"


def make_scan(
    root: Path,
    verts: np.ndarray = VERTS,
    seg_indices: list[int] | None = None,
    agg: dict | None = None,
    info: str | None = None,
    poses: dict[str, np.ndarray | str] | None = None,
    intrinsic: np.ndarray | None = K4,
) -> Path:
    """Write a ScanNet scan directory in the real layout (binary PLY with colours and faces)."""
    d = root / SID
    d.mkdir(parents=True, exist_ok=True)
    v = np.empty(
        len(verts),
        dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
               ("red", "u1"), ("green", "u1"), ("blue", "u1"), ("alpha", "u1")],
    )  # fmt: skip
    v["x"], v["y"], v["z"] = verts.T
    v["red"] = np.arange(len(verts)) * 10
    v["green"], v["blue"], v["alpha"] = 1, 2, 255
    f = np.empty(len(FACES), dtype=[("vertex_indices", "O")])
    f["vertex_indices"] = [np.array(t, dtype=np.int32) for t in FACES]
    PlyData(
        [PlyElement.describe(v, "vertex"), PlyElement.describe(f, "face")],
        text=False,
        byte_order="<",
    ).write(str(d / f"{SID}_vh_clean_2.ply"))
    segs = {"params": {"kThresh": "0.0001"}, "sceneId": SID, "segIndices": seg_indices}
    if seg_indices is None:
        segs["segIndices"] = SEG_INDICES
    (d / f"{SID}_vh_clean_2.0.010000.segs.json").write_text(json.dumps(segs))
    (d / f"{SID}.aggregation.json").write_text(json.dumps(AGG if agg is None else agg))
    if info is None:
        info = "axisAlignment = " + " ".join(f"{x:g}" for x in ALIGN.ravel()) + "\n"
        info += "numColorFrames = 11\nsceneType = Kitchen\n"
    (d / f"{SID}.txt").write_text(info)
    if poses is not None:
        (d / "pose").mkdir(exist_ok=True)
        for name, m in poses.items():
            (d / "pose" / name).write_text(m if isinstance(m, str) else mat_text(m))
    if intrinsic is not None:
        (d / "intrinsic").mkdir(exist_ok=True)
        (d / "intrinsic" / "intrinsic_color.txt").write_text(mat_text(intrinsic))
    return d


P0 = look_at(np.array([1.0, 1.0, 1.5]), np.array([0.0, 0.0, 0.5]))
P2 = look_at(np.array([2.0, 0.0, 1.5]), np.array([0.0, 0.0, 0.5]))
INF_POSE = "-inf -inf -inf -inf\n" * 4


def test_load_scan(tmp_path: Path) -> None:
    d = make_scan(tmp_path, poses={"10.txt": P2, "2.txt": P0, "0.txt": P0, "1.txt": INF_POSE})
    assert detect_format(d) == "scannet"
    assert detect_format(d / f"{SID}_vh_clean_2.ply") == "scannet"
    s = load_scene(d)
    assert s.id == SID and s.object_ids == ("0", "5")
    assert s["0"].label == "chair" and s["5"].label == "kitchen cabinet"
    # Aligned: (x, y, z) -> (1 - y, 2 + x, 3 + z).
    np.testing.assert_array_equal(s["0"].points, [[1, 2, 3], [1, 3, 3], [0, 2, 3], [1, 2, 4]])
    np.testing.assert_array_equal(s["5"].points, [[-1, 4, 3], [-1, 5, 3], [-2, 5, 3.5]])
    np.testing.assert_array_equal(s.points[s.instance == -1], [[-8, 11, 12]])
    np.testing.assert_array_equal(s["0"].aabb.min, [0, 2, 3])
    np.testing.assert_array_equal(s["0"].aabb.max, [1, 3, 4])
    # Closest: chair (1, 3, 3) to cabinet (-1, 4, 3): sqrt(4 + 1).
    assert s.closest_distance("0", "5") == pytest.approx(np.sqrt(5.0), abs=1e-12)
    np.testing.assert_array_equal(s.colors[s.instance == 5][:, 0], [40, 50, 60])
    # Mesh kept, aligned, with face instances (a face across two objects gets -1).
    np.testing.assert_array_equal(s.mesh.vertices[7], [-8, 11, 12])
    np.testing.assert_array_equal(s.mesh_face_instance, [0, -1, 0])
    # Frames: numeric order, -inf pose skipped and recorded, world pose = align @ pose.
    assert [f.index for f in s.frames] == [0, 2, 10]
    np.testing.assert_allclose(s.frames[0].pose, ALIGN @ P0, atol=1e-8)
    np.testing.assert_allclose(s.frames[2].pose, ALIGN @ P2, atol=1e-8)
    np.testing.assert_allclose(s.frames[2].position, [1, 4, 4.5], atol=1e-8)
    f = s.frames[1]
    assert (f.width, f.height) == (1296, 968)
    np.testing.assert_array_equal(f.K, K4[:3, :3])
    assert f.timestamp == pytest.approx(2 / 30)
    notes = " | ".join(s.metadata["notes"])
    assert "skipped 1 frames with invalid (-inf) poses: pose/1.txt" in notes
    assert "1296x968" in notes
    assert s.metadata["skipped_frames"] == [1]
    assert s.metadata["source_format"] == "scannet" and s.metadata["axis_alignment"] == (
        ALIGN.tolist()
    )


def test_unaligned_and_image_size(tmp_path: Path) -> None:
    info = "colorWidth = 640\ncolorHeight = 480\n"
    d = make_scan(tmp_path, info=info, poses={"0.txt": P0})
    s = load_scannet(d)
    np.testing.assert_array_equal(s["5"].points[0], [2, 2, 0])  # identity alignment
    assert any("no axisAlignment" in n for n in s.metadata["notes"])
    assert (s.frames[0].width, s.frames[0].height) == (640, 480)
    np.testing.assert_allclose(s.frames[0].pose, P0, atol=1e-8)
    s2 = load_scannet(make_scan(tmp_path / "b", poses={"0.txt": P0}), align=False)
    np.testing.assert_array_equal(s2["5"].points[0], [2, 2, 0])


def test_intrinsics_fallback_from_info(tmp_path: Path) -> None:
    info = "fx_color = 500\nfy_color = 510\nmx_color = 320\nmy_color = 240\n"
    info += "colorWidth = 640\ncolorHeight = 480\n"
    d = make_scan(tmp_path, info=info, poses={"0.txt": P0}, intrinsic=None)
    s = load_scannet(d)
    np.testing.assert_array_equal(s.frames[0].K, [[500, 0, 320], [0, 510, 240], [0, 0, 1]])
    d2 = make_scan(tmp_path / "b", poses={"0.txt": P0}, intrinsic=None)
    s2 = load_scannet(d2)
    assert s2.frames == []
    assert any("no intrinsics" in n for n in s2.metadata["notes"])


def test_writer_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform(-2, 2, (40, 3))
    inst = np.repeat([-1, 3, 8, 12], 10)
    k = np.array([[300.0, 0, 160], [0, 300, 120], [0, 0, 1]])
    frames = [Frame(i, look_at(np.array([4.0, i, 2]), np.zeros(3)), k, 320, 240) for i in (0, 7)]
    s = Scene.from_instances("orig", pts, inst, {3: "bed", 8: "lamp", 12: "lamp"}, frames=frames)
    a = np.eye(4)
    a[:3, :3] = np.array([[0.6, -0.8, 0], [0.8, 0.6, 0], [0, 0, 1]])
    a[:3, 3] = [0.5, -1.5, 0.25]
    d = write_scannet(s, tmp_path, "scene0001_00", axis_alignment=a, segments_per_object=2)
    assert d == tmp_path / "scene0001_00"
    segs = json.loads((d / "scene0001_00_vh_clean_2.0.010000.segs.json").read_text())
    agg = json.loads((d / "scene0001_00.aggregation.json").read_text())
    assert [g["segments"] for g in agg["segGroups"]] == [[0, 1], [2, 3], [4, 5]]
    assert segs["segIndices"][:10] == [0] * 5 + [1] * 5
    t = load_scene(d)
    assert t.id == "scene0001_00" and t.object_ids == ("3", "8", "12")
    for oid in t.object_ids:
        assert t[oid].label == s[oid].label
        np.testing.assert_allclose(t[oid].points, s[oid].points, rtol=0, atol=1e-12)
    np.testing.assert_allclose(t.points[t.instance < 0], pts[:10], rtol=0, atol=1e-12)
    assert [f.index for f in t.frames] == [0, 7]
    for f, g in zip(s.frames, t.frames, strict=True):
        np.testing.assert_allclose(g.pose, f.pose, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(g.K, f.K)
    with pytest.raises(ValueError, match="'chair_a'"):
        write_scannet(Scene("x", [SceneObject("chair_a", "chair", pts[:2])]), tmp_path, "bad")


# ---------------------------------------------------------------------- malformed
def _err(exc: pytest.ExceptionInfo, *parts: str) -> None:
    for part in parts:
        assert part in str(exc.value), (part, str(exc.value))


def test_seg_indices_length(tmp_path: Path) -> None:
    d = make_scan(tmp_path, seg_indices=SEG_INDICES[:-1])
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, f"{SID}_vh_clean_2.0.010000.segs.json", "[segIndices]", "7 entries", "8 vertices")


def test_segment_outside_mesh(tmp_path: Path) -> None:
    agg = json.loads(json.dumps(AGG))
    agg["segGroups"][1]["segments"] = [30, 99]
    d = make_scan(tmp_path, agg=agg)
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, f"{SID}.aggregation.json", "segGroups[1].segments", "segment 99", "segs.json")


def test_segment_in_two_objects(tmp_path: Path) -> None:
    agg = json.loads(json.dumps(AGG))
    agg["segGroups"][1]["segments"] = [30, 20]
    d = make_scan(tmp_path, agg=agg)
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, f"{SID}.aggregation.json", "segGroups[1].segments", "segment 20", "objects 0", "and 5")


def test_aggregation_schema_errors(tmp_path: Path) -> None:
    agg = json.loads(json.dumps(AGG))
    agg["segGroups"][0]["objectId"] = "zero"
    d = make_scan(tmp_path, agg=agg)
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, f"{SID}.aggregation.json", "[segGroups[0].objectId]")
    agg["segGroups"][0]["objectId"] = 5
    make_scan(tmp_path, agg=agg)
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, "segGroups[1].objectId", "objectId 5 already used")
    agg["segGroups"][0]["objectId"] = 0
    agg["segGroups"][0]["segments"] = []
    make_scan(tmp_path, agg=agg)
    with pytest.raises(EmptyInstanceError) as e:
        load_scene(d)
    _err(e, f"{SID}.aggregation.json", "segGroups[0].segments")
    del agg["segGroups"][0]["label"]
    make_scan(tmp_path, agg=agg)
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, "segGroups[0].label")


def test_truncated_ply(tmp_path: Path) -> None:
    d = make_scan(tmp_path)
    ply = d / f"{SID}_vh_clean_2.ply"
    ply.write_bytes(ply.read_bytes()[:-30])
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, f"{SID}_vh_clean_2.ply", "truncated")


def test_nan_vertex(tmp_path: Path) -> None:
    verts = VERTS.copy()
    verts[6, 0] = np.nan
    d = make_scan(tmp_path, verts=verts)
    with pytest.raises(NonFiniteError) as e:
        load_scene(d)
    _err(e, f"{SID}_vh_clean_2.ply", "vertex[6].x")


def test_non_rigid_pose(tmp_path: Path) -> None:
    bad = P2.copy()
    bad[:3, :3] *= 1.1
    d = make_scan(tmp_path, poses={"0.txt": P0, "12.txt": bad})
    with pytest.raises(NonRigidPoseError) as e:
        load_scene(d)
    _err(e, "pose/12.txt", "orthonormal")
    make_scan(tmp_path, poses={"12.txt": "1 0 0 0\n0 nan 0 0\n0 0 1 0\n0 0 0 1\n"})
    with pytest.raises(NonFiniteError) as e:
        load_scene(d)
    _err(e, "pose/12.txt", "nan")
    make_scan(tmp_path, poses={"12.txt": "1 0 0 0\n"})
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, "pose/12.txt", "16 numbers")


def test_bad_axis_alignment_and_intrinsics(tmp_path: Path) -> None:
    d = make_scan(tmp_path, info="axisAlignment = 1 0 0 0 0 1 0 0 0 0 1 0 0 0 0\n")
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, f"{SID}.txt", "[axisAlignment]", "16 numbers")
    make_scan(tmp_path, info="axisAlignment = 2 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1\n")
    with pytest.raises(NonRigidPoseError) as e:
        load_scene(d)
    _err(e, f"{SID}.txt", "[axisAlignment]")
    make_scan(tmp_path, info="colorWidth = wide\n", poses={"0.txt": P0})
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, f"{SID}.txt", "[colorWidth]")
    k = K4.copy()
    k[0, 0] = -5
    make_scan(tmp_path, poses={"0.txt": P0}, intrinsic=k)
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, "intrinsic_color.txt", "focal")


def test_missing_files(tmp_path: Path) -> None:
    d = make_scan(tmp_path)
    (d / f"{SID}.aggregation.json").unlink()
    assert detect_format(d) == "scannet"
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, f"{SID}.aggregation.json", "missing")
    make_scan(tmp_path)
    (d / f"{SID}_vh_clean_2.0.010000.segs.json").write_text('{"segIndices": [1, ')
    with pytest.raises(SceneFormatError) as e:
        load_scene(d)
    _err(e, "segs.json", "invalid JSON")
