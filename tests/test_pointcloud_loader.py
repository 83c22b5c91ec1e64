"""Format 2 (PLY / NPZ labelled point clouds and meshes): loading, writing, malformed files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from plyfile import PlyData, PlyElement

from geoenv.errors import (
    NonFiniteError,
    NonRigidPoseError,
    SceneFormatError,
    UnknownLabelError,
)
from geoenv.frames import Frame
from geoenv.scene import Scene, SceneObject
from geoenv.scenes import detect_format, load_scene
from geoenv.scenes.pointcloud import load_pointcloud, write_pointcloud
from geoenv.transforms import look_at

# Two unit-ish objects and two unlabelled points.
PTS = np.array(
    [
        [0.0, 0.0, 0.0],  # instance 4 (chair)
        [1.0, 0.0, 0.0],  # instance 4
        [1.0, 2.0, 1.0],  # instance 4
        [5.0, 5.0, 0.0],  # instance 7 (table)
        [6.0, 5.0, 0.5],  # instance 7
        [9.0, 9.0, 9.0],  # unlabelled
        [-1.0, -1.0, 0.0],  # unlabelled
    ]
)
INST = np.array([4, 4, 4, 7, 7, -1, -1])
LABEL = np.array([3, 3, 3, 11, 11, 0, 0])
RGB = np.array([[255, 0, 0]] * 3 + [[0, 255, 0]] * 2 + [[9, 9, 9]] * 2, dtype=np.uint8)
LABELS = {"labels": {"3": "chair", "11": "table"}}


def write_ply(
    path: Path,
    pts: np.ndarray = PTS,
    inst: np.ndarray | None = INST,
    label: np.ndarray | None = LABEL,
    rgb: np.ndarray | None = RGB,
    text: bool = False,
    faces: np.ndarray | None = None,
    face_inst: np.ndarray | None = None,
    face_label: np.ndarray | None = None,
    xyz_type: str = "<f4",
    inst_type: str = "<i4",
) -> Path:
    """Write a PLY with plyfile directly (independent of the module's writer)."""
    fields = [("x", xyz_type), ("y", xyz_type), ("z", xyz_type)]
    if rgb is not None:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    if inst is not None:
        fields.append(("instance", inst_type))
    if label is not None:
        fields.append(("label", "<i4"))
    v = np.empty(len(pts), dtype=fields)
    v["x"], v["y"], v["z"] = pts.T
    if rgb is not None:
        v["red"], v["green"], v["blue"] = rgb.T
    if inst is not None:
        v["instance"] = inst
    if label is not None:
        v["label"] = label
    elements = [PlyElement.describe(v, "vertex")]
    if faces is not None:
        ffields = [("vertex_indices", "O")]
        if face_inst is not None:
            ffields += [("instance", "<i4"), ("label", "<i4")]
        f = np.empty(len(faces), dtype=ffields)
        f["vertex_indices"] = [np.asarray(t, dtype=np.int32) for t in faces]
        if face_inst is not None:
            f["instance"], f["label"] = face_inst, face_label
        elements.append(PlyElement.describe(f, "face"))
    PlyData(elements, text=text, byte_order="<").write(str(path))
    return path


def write_labels(path: Path, doc: dict = LABELS) -> Path:
    out = path.with_name(f"{path.stem}.labels.json")
    out.write_text(json.dumps(doc))
    return out


# ---------------------------------------------------------------------- loading
@pytest.mark.parametrize("text", [False, True], ids=["binary", "ascii"])
def test_ply_points(tmp_path: Path, text: bool) -> None:
    p = write_ply(tmp_path / "room.ply", text=text)
    write_labels(p)
    assert detect_format(p) == "pointcloud"
    s = load_scene(p)
    assert s.id == "room"  # no scene_id in the labels JSON: file stem
    assert s.object_ids == ("4", "7")
    assert s["4"].label == "chair" and s["7"].label == "table"
    np.testing.assert_array_equal(s["4"].points, PTS[:3])
    np.testing.assert_array_equal(s["4"].aabb.min, [0, 0, 0])
    np.testing.assert_array_equal(s["4"].aabb.max, [1, 2, 1])
    np.testing.assert_allclose(s["7"].centroid, [5.5, 5.0, 0.25])
    # Unlabelled points stay in the scene cloud.
    assert len(s.points) == 7 and (s.instance == -1).sum() == 2
    assert s.colors.dtype == np.uint8
    np.testing.assert_array_equal(s.colors[s.instance == 7], [[0, 255, 0]] * 2)
    # Closest points: (1, 2, 1) of the chair and (5, 5, 0) of the table.
    assert s.closest_distance("4", "7") == pytest.approx(np.sqrt(16 + 9 + 1), abs=1e-12)
    assert s.metadata["source_format"] == "pointcloud"
    assert s.metadata["source_path"] == str(p)
    assert s.frames == []


def test_ply_scene_id_labels_option_and_no_colors(tmp_path: Path) -> None:
    p = write_ply(tmp_path / "room.ply", rgb=None)
    other = tmp_path / "names.json"
    other.write_text(json.dumps({"labels": {"3": "stool", "11": "desk"}, "scene_id": "s42"}))
    s = load_pointcloud(p, labels=other)
    assert s.id == "s42" and s["4"].label == "stool" and s.colors is None
    s2 = load_pointcloud(p, labels={3: "a", 11: "b"})
    assert (s2["4"].label, s2["7"].label) == ("a", "b")


def test_npz_sidecar_and_embedded(tmp_path: Path) -> None:
    p = tmp_path / "cloud.npz"
    np.savez(p, points=PTS, instance=INST, label=LABEL, colors=RGB)
    write_labels(p)
    assert detect_format(p) == "pointcloud"
    s = load_scene(p)
    assert s.id == "cloud" and s.object_ids == ("4", "7")
    np.testing.assert_array_equal(s["7"].points, PTS[3:5])
    np.testing.assert_array_equal(s.colors[s.instance == 4], RGB[:3])

    q = tmp_path / "emb.npz"
    doc = json.dumps({"labels": {"3": "chair", "11": "table"}, "scene_id": "E"})
    np.savez(q, points=PTS, instance=INST, label=LABEL, labels_json=np.array([doc]))
    s = load_scene(q)
    assert s.id == "E" and s["7"].label == "table" and s.colors is None


def test_mesh_variant_shared_vertices(tmp_path: Path) -> None:
    # Two triangles sharing the edge (1, 2); a third unlabelled triangle; vertex 5 unused.
    pts = np.array(
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [2, 2, 0], [7, 7, 7]], dtype=np.float64
    )
    faces = np.array([[0, 1, 2], [1, 3, 2], [3, 4, 1]])
    p = write_ply(
        tmp_path / "mesh.ply",
        pts=pts,
        inst=None,
        label=None,
        rgb=None,
        faces=faces,
        face_inst=np.array([0, 1, -1]),
        face_label=np.array([3, 11, 0]),
    )
    write_labels(p)
    s = load_scene(p)
    assert s.metadata["variant"] == "mesh"
    assert s.object_ids == ("0", "1")
    np.testing.assert_array_equal(s["0"].points, pts[[0, 1, 2]])
    np.testing.assert_array_equal(s["1"].points, pts[[1, 2, 3]])  # 1 and 2 in both objects
    assert s.closest_distance("0", "1") == 0.0
    assert len(s.mesh.faces) == 3 and len(s.mesh.vertices) == 6
    np.testing.assert_array_equal(s.mesh_face_instance, [0, 1, -1])
    assert len(s.points) == 6 and s.instance is None
    assert any("2 vertices are shared" in n for n in s.metadata["notes"])


def test_frames_sidecar_loaded(tmp_path: Path) -> None:
    p = write_ply(tmp_path / "room.ply")
    write_labels(p)
    pose = look_at(np.array([3.0, 0, 1.5]), np.zeros(3))
    doc = {
        "frames": [
            {
                "index": 2,
                "timestamp": 0.5,
                "K": [[100.0, 0, 50], [0, 100, 40], [0, 0, 1]],
                "width": 100,
                "height": 80,
                "pose": pose.tolist(),
            }
        ]
    }
    (tmp_path / "room.frames.json").write_text(json.dumps(doc))
    s = load_scene(p)
    assert len(s.frames) == 1
    f = s.frames[0]
    assert (f.index, f.timestamp, f.width, f.height) == (2, 0.5, 100, 80)
    np.testing.assert_array_equal(f.pose, pose)
    np.testing.assert_array_equal(f.position, [3.0, 0, 1.5])


# ---------------------------------------------------------------------- writer
def _scene_with_frames() -> Scene:
    k = np.array([[200.0, 0, 64], [0, 200, 48], [0, 0, 1]])
    frames = [
        Frame(i, look_at(np.array([4.0, i, 1.5]), np.array([1.0, 1, 0.5])), k, 128, 96, i * 0.25)
        for i in range(2)
    ]
    return Scene.from_instances("w", PTS, INST, {4: "chair", 7: "table"}, colors=RGB, frames=frames)


@pytest.mark.parametrize(("name", "binary"), [("a.ply", True), ("b.ply", False), ("c.npz", True)])
def test_write_round_trip_exact_and_deterministic(tmp_path: Path, name: str, binary: bool) -> None:
    s = _scene_with_frames()
    p = write_pointcloud(s, tmp_path / name, binary=binary)
    t = load_scene(p)
    assert t.id == "w" and t.object_ids == s.object_ids
    for oid in s.object_ids:
        assert t[oid].label == s[oid].label
        np.testing.assert_array_equal(t[oid].points, s[oid].points)  # float64: exact
    np.testing.assert_array_equal(t.points[t.instance < 0], PTS[5:])
    np.testing.assert_array_equal(t.colors, s.colors)
    assert t.content_hash() == s.content_hash()
    for f, g in zip(s.frames, t.frames, strict=True):
        np.testing.assert_array_equal(f.pose, g.pose)
        np.testing.assert_array_equal(f.K, g.K)
    # Same scene -> same bytes (data file and sidecars).
    files = sorted(tmp_path.iterdir())
    before = {f.name: f.read_bytes() for f in files}
    write_pointcloud(s, p, binary=binary)
    assert {f.name: f.read_bytes() for f in sorted(tmp_path.iterdir())} == before
    assert (tmp_path / f"{p.stem}.frames.json").exists()


def test_write_ply_header_and_labels_json(tmp_path: Path) -> None:
    p = write_pointcloud(_scene_with_frames(), tmp_path / "r.ply", binary=False)
    head = p.read_bytes().split(b"end_header")[0].decode()
    assert "format ascii 1.0" in head
    for prop in ("double x", "double y", "double z", "uchar red", "int instance", "int label"):
        assert f"property {prop}" in head
    doc = json.loads((tmp_path / "r.labels.json").read_text())
    assert doc == {"labels": {"0": "chair", "1": "table"}, "scene_id": "w"}


def test_write_non_integer_ids_and_stale_frames(tmp_path: Path) -> None:
    objs = [
        SceneObject("table_b", "table", np.array([[0.0, 0, 0], [1, 1, 1]])),
        SceneObject("chair_a", "chair", np.array([[3.0, 0, 0]])),
    ]
    s = Scene("x", objs)
    (tmp_path / "o.frames.json").write_text("{}")  # stale: the scene has no frames
    p = write_pointcloud(s, tmp_path / "o.ply")
    assert not (tmp_path / "o.frames.json").exists()
    doc = json.loads((tmp_path / "o.labels.json").read_text())
    assert doc["object_ids"] == {"0": "chair_a", "1": "table_b"}  # scene (natural) order
    t = load_scene(p)
    assert t.object_ids == ("chair_a", "table_b")
    np.testing.assert_array_equal(t["table_b"].points, objs[0].points)


# ---------------------------------------------------------------------- malformed
def _err(exc: pytest.ExceptionInfo, *parts: str) -> None:
    for part in parts:
        assert part in str(exc.value), (part, str(exc.value))


def test_inconsistent_label_per_instance(tmp_path: Path) -> None:
    label = LABEL.copy()
    label[1] = 11
    p = write_ply(tmp_path / "bad.ply", label=label)
    write_labels(p)
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "bad.ply", "vertex.label", "instance 4", "[3, 11]")


def test_unknown_label(tmp_path: Path) -> None:
    label = LABEL.copy()
    label[3:5] = 99
    p = write_ply(tmp_path / "bad.ply", label=label)
    write_labels(p)
    with pytest.raises(UnknownLabelError) as e:
        load_scene(p)
    _err(e, "bad.ply", "vertex.label", "label id 99", "instance 7", "bad.labels.json")


@pytest.mark.parametrize("text", [False, True], ids=["binary", "ascii"])
def test_nan_vertex(tmp_path: Path, text: bool) -> None:
    pts = PTS.copy()
    pts[3, 1] = np.nan
    p = write_ply(tmp_path / "nan.ply", pts=pts, text=text)
    write_labels(p)
    with pytest.raises(NonFiniteError) as e:
        load_scene(p)
    _err(e, "nan.ply", "vertex[3].y", "vertex 3")


def test_nan_npz(tmp_path: Path) -> None:
    pts = PTS.copy()
    pts[6, 2] = np.inf
    p = tmp_path / "nan.npz"
    np.savez(p, points=pts, instance=INST, label=LABEL)
    write_labels(p)
    with pytest.raises(NonFiniteError) as e:
        load_scene(p)
    _err(e, "nan.npz", "points[6].z")


@pytest.mark.parametrize("text", [False, True], ids=["binary", "ascii"])
def test_truncated_ply(tmp_path: Path, text: bool) -> None:
    p = write_ply(tmp_path / "cut.ply", text=text)
    write_labels(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 20])
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "cut.ply", "[vertex", "truncated")


def test_truncated_header(tmp_path: Path) -> None:
    p = write_ply(tmp_path / "cut.ply")
    write_labels(p)
    p.write_bytes(p.read_bytes()[:40])
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "cut.ply", "header")


def test_truncated_npz(tmp_path: Path) -> None:
    p = tmp_path / "cut.npz"
    np.savez(p, points=PTS, instance=INST, label=LABEL)
    write_labels(p)
    p.write_bytes(p.read_bytes()[:300])
    with pytest.raises(SceneFormatError) as e:
        load_pointcloud(p)
    _err(e, "cut.npz", "truncated")


def test_missing_fields(tmp_path: Path) -> None:
    p = write_ply(tmp_path / "noinst.ply", inst=None)
    write_labels(p)
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "noinst.ply", "vertex.instance", "missing")
    q = write_ply(tmp_path / "nolabel.ply", label=None)
    write_labels(q)
    with pytest.raises(SceneFormatError) as e:
        load_scene(q)
    _err(e, "nolabel.ply", "vertex.label")
    r = tmp_path / "nopts.npz"
    np.savez(r, points=PTS, instance=INST)
    write_labels(r)
    with pytest.raises(SceneFormatError) as e:
        load_scene(r)
    _err(e, "nopts.npz", "[label]", "missing array")


def test_float_instance_and_negative_instance(tmp_path: Path) -> None:
    p = write_ply(tmp_path / "f.ply", inst_type="<f4")
    write_labels(p)
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "f.ply", "vertex.instance", "integer")
    inst = INST.copy()
    inst[5] = -2
    q = write_ply(tmp_path / "n.ply", inst=inst)
    write_labels(q)
    with pytest.raises(SceneFormatError) as e:
        load_scene(q)
    _err(e, "n.ply", "vertex.instance", "-2", "vertex 5")


def test_labels_json_errors(tmp_path: Path) -> None:
    p = write_ply(tmp_path / "room.ply")
    with pytest.raises(SceneFormatError) as e:  # no labels JSON at all
        load_scene(p)
    _err(e, "room.labels.json", "not found")
    write_labels(p, {"labels": {"3": 5, "11": "table"}})
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "room.labels.json", "[labels.3]")
    write_labels(p, {"labels": {"three": "chair"}})
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "room.labels.json", "labels.three", "integer")
    write_labels(p, {"labels": {"3": "chair"}, "colour": 1})
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "room.labels.json", "[colour]")
    p.with_name("room.labels.json").write_text("{not json")
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "room.labels.json", "invalid JSON")


def test_frames_json_errors(tmp_path: Path) -> None:
    p = write_ply(tmp_path / "room.ply")
    write_labels(p)
    k = [[100.0, 0, 50], [0, 100, 40], [0, 0, 1]]
    good = look_at(np.array([3.0, 0, 1.5]), np.zeros(3)).tolist()
    scaled = (np.diag([2.0, 1, 1, 1]) @ np.array(good)).tolist()
    frames = [
        {"index": 0, "K": k, "width": 100, "height": 80, "pose": good},
        {"index": 1, "K": k, "width": 100, "height": 80, "pose": scaled},
    ]
    fp = tmp_path / "room.frames.json"
    fp.write_text(json.dumps({"frames": frames}))
    with pytest.raises(NonRigidPoseError) as e:
        load_scene(p)
    _err(e, "room.frames.json", "frames[1].pose")
    frames[1]["pose"] = good
    del frames[1]["width"]
    fp.write_text(json.dumps({"frames": frames}))
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "room.frames.json", "frames[1].width")


def test_mesh_face_errors(tmp_path: Path) -> None:
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=np.float64)
    p = write_ply(
        tmp_path / "m.ply",
        pts=pts,
        inst=None,
        label=None,
        rgb=None,
        faces=np.array([[0, 1, 2], [1, 3, 9]]),
        face_inst=np.array([0, 0]),
        face_label=np.array([3, 3]),
    )
    write_labels(p)
    with pytest.raises(SceneFormatError) as e:
        load_scene(p)
    _err(e, "m.ply", "face.vertex_indices", "face 1")
    q = write_ply(
        tmp_path / "q.ply",
        pts=pts,
        inst=None,
        label=None,
        rgb=None,
        faces=[[0, 1, 3, 2]],
        face_inst=np.array([0]),
        face_label=np.array([3]),
    )
    write_labels(q)
    with pytest.raises(SceneFormatError) as e:
        load_scene(q)
    _err(e, "q.ply", "face.vertex_indices", "only triangles")
    r = write_ply(
        tmp_path / "r.ply",
        pts=pts,
        inst=None,
        label=None,
        rgb=None,
        faces=np.array([[0, 1, 2], [1, 3, 2]]),
        face_inst=np.array([5, 5]),
        face_label=np.array([3, 11]),
    )
    write_labels(r)
    with pytest.raises(SceneFormatError) as e:
        load_scene(r)
    _err(e, "r.ply", "face.label", "instance 5")


def test_sniffer(tmp_path: Path) -> None:
    from geoenv.scenes.pointcloud import _sniff

    (tmp_path / "x.ply").write_bytes(b"not a ply")
    (tmp_path / "y.npz").write_bytes(b"PK garbage")
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as z:
        z.writestr("other.npy", b"")
    assert not _sniff(tmp_path / "x.ply")
    assert not _sniff(tmp_path / "y.npz")
    assert not _sniff(tmp_path / "z.npz")
    assert not _sniff(tmp_path / "missing.ply")
    assert not _sniff(tmp_path)
