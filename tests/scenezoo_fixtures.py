"""One furnished room written in the real on-disk layouts scenezoo reads.

The room (world frame: right-handed, z up, metres) is a 5 x 4 m floor mesh, a wall, an
unlabelled patch and seven box-shaped objects (two chairs, a table with a lamp on it, a sofa, a
cabinet and a wall-mounted tv), each a subdivided box mesh standing 3 cm above its support, and
four camera views. Writers put it on disk as ScanNet (with its ``.sens`` and the exported
``pose/`` files), ScanNet++, ARKitScenes, MultiScan, S3DIS and SceneNN, optionally in a rotated
raw frame with the dataset's alignment. Shared by tests/test_scenezoo_adapter.py and
bench/bench_datasets.py.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from plyfile import PlyData, PlyElement
from scipy.spatial.transform import Rotation

from geoenv.transforms import invert_rigid, look_at, rot_z

#: id -> (label, footprint centre (x, y), size (sx, sy, sz), yaw, base z)
OBJECTS: dict[int, tuple[str, tuple[float, float], tuple[float, float, float], float, float]] = {
    3: ("chair", (1.0, 1.0), (0.5, 0.5, 0.9), 0.3, 0.03),
    4: ("chair", (3.4, 1.1), (0.5, 0.5, 0.9), -0.5, 0.03),
    5: ("table", (2.2, 2.4), (1.2, 0.8, 0.75), 0.2, 0.03),
    6: ("sofa", (4.3, 2.6), (1.8, 0.9, 0.8), np.pi / 2 - 0.1, 0.03),
    7: ("cabinet", (0.5, 3.4), (0.8, 0.45, 1.8), 0.0, 0.03),
    8: ("lamp", (2.2, 2.4), (0.3, 0.3, 0.45), 0.0, 0.81),
    9: ("tv", (4.5, 0.6), (1.0, 0.3, 0.6), 0.0, 0.5),
}
FLOOR, WALL = 1, 2
ROOM_X, ROOM_Y, WALL_H = 5.0, 4.0, 2.5
#: Margin (m) of the official ARKitScenes / MultiScan boxes around each object mesh.
BOX_MARGIN = 0.01
K640 = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])
# Camera heights avoid round differences (template thresholds sit at round numbers).
EYES = [(0.4, 0.4, 1.58), (4.6, 0.5, 1.49), (4.5, 3.6, 1.77), (0.6, 3.0, 1.33)]
FRAME_INDICES = [0, 10, 20, 30]


@dataclass
class Room:
    """World-frame mesh with per-vertex instance ids (-1: no object) and camera views."""

    vertices: np.ndarray  # (n, 3) float64
    faces: np.ndarray  # (m, 3) int64
    colors: np.ndarray  # (n, 3) uint8
    instance: np.ndarray  # (n,) int64
    labels: dict[int, str]
    boxes: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]  # id -> centre, size, R
    poses: list[np.ndarray]  # camera-to-world (OpenCV)


def _grid(nu: int, nv: int) -> np.ndarray:
    """Two triangles per cell of an nu x nv vertex grid (row-major, u fastest)."""
    i, j = np.meshgrid(np.arange(nu - 1), np.arange(nv - 1), indexing="xy")
    a = (j * nu + i).ravel()
    return np.concatenate(
        [np.column_stack([a, a + 1, a + nu]), np.column_stack([a + 1, a + nu + 1, a + nu])]
    )


def _plane(origin, du, dv, nu: int, nv: int) -> tuple[np.ndarray, np.ndarray]:
    u, v = np.meshgrid(np.linspace(0, 1, nu), np.linspace(0, 1, nv), indexing="xy")
    pts = np.asarray(origin) + u.ravel()[:, None] * du + v.ravel()[:, None] * dv
    return pts.astype(np.float64), _grid(nu, nv)


def box_mesh(size, subdiv: int) -> tuple[np.ndarray, np.ndarray]:
    m = trimesh.creation.box(extents=size)
    v, f = np.asarray(m.vertices), np.asarray(m.faces)
    for _ in range(subdiv):
        v, f = trimesh.remesh.subdivide(v, f)
    return np.asarray(v, np.float64), np.asarray(f, np.int64)


def make_room(spacing: float = 0.1, subdiv: int = 2) -> Room:
    """The room; ``spacing`` (m) of the floor and wall grids, ``subdiv`` box subdivisions."""
    parts: list[tuple[np.ndarray, np.ndarray, int]] = []
    nx, ny, nz = (round(d / spacing) + 1 for d in (ROOM_X, ROOM_Y, WALL_H))
    parts.append((*_plane((0, 0, 0), (ROOM_X, 0, 0), (0, ROOM_Y, 0), nx, ny), FLOOR))
    parts.append((*_plane((0, ROOM_Y, 0), (ROOM_X, 0, 0), (0, 0, WALL_H), nx, nz), WALL))
    parts.append((*_plane((0.0, 1.5, 0.5), (0, 1.0, 0), (0, 0, 1.0), 6, 6), -1))
    boxes = {}
    for k, (_, (cx, cy), size, yaw, z0) in OBJECTS.items():
        v, f = box_mesh(size, subdiv)
        r = rot_z(yaw)
        c = np.array([cx, cy, z0 + size[2] / 2])
        parts.append((v @ r.T + c, f, k))
        boxes[k] = (c, np.asarray(size, np.float64), r)
    verts, faces, inst = [], [], []
    off = 0
    for v, f, k in parts:
        verts.append(v)
        faces.append(f + off)
        inst.append(np.full(len(v), k, np.int64))
        off += len(v)
    instance = np.concatenate(inst)
    colors = ((np.abs(instance)[:, None] * np.array([37, 91, 53]) + 20) % 256).astype(np.uint8)
    labels = {FLOOR: "floor", WALL: "wall"} | {k: o[0] for k, o in OBJECTS.items()}
    target = np.array([2.5, 2.0, 0.5])
    poses = [look_at(np.array(e), target) for e in EYES]
    return Room(
        np.concatenate(verts), np.concatenate(faces), colors, instance, labels, boxes, poses
    )


def yaw_alignment(yaw_deg: float = 30.0, t=(2.0, -1.25, 0.5)) -> np.ndarray:
    """A rigid raw -> world alignment: yaw about z, then a translation."""
    a = np.eye(4)
    a[:3, :3] = rot_z(np.deg2rad(yaw_deg))
    a[:3, 3] = t
    return a


def _to_raw(points: np.ndarray, align: np.ndarray) -> np.ndarray:
    inv = invert_rigid(align)
    return points @ inv[:3, :3].T + inv[:3, 3]


# ---------------------------------------------------------------------- PLY
def write_ply(
    path: Path,
    vertices: np.ndarray,
    faces: np.ndarray | None,
    colors: np.ndarray | None = None,
    dtype: str = "f4",
    face_props: dict[str, np.ndarray] | None = None,
    text: bool = False,
) -> None:
    fields = [(c, dtype) for c in "xyz"]
    if colors is not None:
        fields += [(c, "u1") for c in ("red", "green", "blue", "alpha")]
    v = np.empty(len(vertices), dtype=fields)
    for j, c in enumerate("xyz"):
        v[c] = vertices[:, j]
    if colors is not None:
        for j, c in enumerate(("red", "green", "blue")):
            v[c] = colors[:, j]
        v["alpha"] = 255
    els = [PlyElement.describe(v, "vertex")]
    if faces is not None:
        ff = [("vertex_indices", "i4", (3,))]
        for name in face_props or {}:
            ff.append((name, "i4"))
        f = np.empty(len(faces), dtype=ff)
        f["vertex_indices"] = faces
        for name, arr in (face_props or {}).items():
            f[name] = arr
        els.append(
            PlyElement.describe(
                f, "face", len_types={"vertex_indices": "u1"}, val_types={"vertex_indices": "i4"}
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    PlyData(els, text=text, byte_order="<").write(str(path))


def _segments(instance: np.ndarray, per_object: int = 2) -> tuple[np.ndarray, dict[int, list[int]]]:
    """Segment id per vertex (each object split into ``per_object`` runs) and object ->
    segments; unlabelled vertices get segments of their own."""
    seg = np.empty(len(instance), np.int64)
    groups: dict[int, list[int]] = {}
    nxt = 0
    for u in np.unique(instance):
        idx = np.flatnonzero(instance == u)
        s = per_object if u >= 0 else 1
        seg[idx] = nxt + (np.arange(len(idx)) * s) // len(idx)
        if u >= 0:
            groups[int(u)] = list(range(nxt, nxt + s))
        nxt += s
    return seg, groups


def _mat(m: np.ndarray) -> str:
    return "".join(" ".join(repr(float(x)) for x in row) + "\n" for row in m)


# ---------------------------------------------------------------------- ScanNet
def write_scannet_root(
    room: Room,
    root: Path,
    sid: str = "scene0007_00",
    align: np.ndarray | None = None,
    dtype: str = "f4",
    sens: bool = True,
    exports: bool = True,
    invalid_frame: bool = True,
    splits: dict[str, list[str]] | None = None,
) -> Path:
    """``<root>/scans/<sid>/``: mesh, segs, aggregation, ``<sid>.txt`` (axisAlignment), the
    ``.sens`` stream (poses stored as float32) and, with ``exports``, the SensReader export
    (``pose/<n>.txt`` with the same float32 poses, ``intrinsic/intrinsic_color.txt``)."""
    a = np.eye(4) if align is None else align
    d = root / "scans" / sid
    d.mkdir(parents=True, exist_ok=True)
    write_ply(
        d / f"{sid}_vh_clean_2.ply", _to_raw(room.vertices, a), room.faces, room.colors, dtype
    )
    seg, groups = _segments(room.instance)
    (d / f"{sid}_vh_clean_2.0.010000.segs.json").write_text(
        json.dumps({"params": {"segMinVerts": 20}, "sceneId": sid, "segIndices": seg.tolist()})
    )
    agg = {
        "sceneId": f"scannet.{sid}",
        "appId": "Aggregator.v2",
        "segGroups": [
            {"id": i, "objectId": k, "segments": groups[k], "label": room.labels[k]}
            for i, k in enumerate(sorted(groups))
        ],
        "segmentsFile": f"scannet.{sid}_vh_clean_2.0.010000.segs.json",
    }
    (d / f"{sid}.aggregation.json").write_text(json.dumps(agg, indent=1))
    info = [
        "axisAlignment = " + " ".join(repr(float(x)) for x in a.ravel()),
        "colorHeight = 480",
        "colorWidth = 640",
        "depthHeight = 480",
        "depthWidth = 640",
        "fx_color = 525.0",
        "fx_depth = 525.0",
        "fy_color = 525.0",
        "fy_depth = 525.0",
        "mx_color = 319.5",
        "mx_depth = 319.5",
        "my_color = 239.5",
        "my_depth = 239.5",
        f"numColorFrames = {FRAME_INDICES[-1] + 1 + 10 * invalid_frame}",
        "sceneType = Living room / Lounge",
    ]
    (d / f"{sid}.txt").write_text("\n".join(info) + "\n")
    poses = {
        i: (invert_rigid(a) @ p).astype(np.float32)
        for i, p in zip(FRAME_INDICES, room.poses, strict=True)
    }
    if invalid_frame:
        poses[FRAME_INDICES[-1] + 10] = np.full((4, 4), -np.inf, np.float32)
    if sens:
        write_sens(d / f"{sid}.sens", K640, 640, 480, poses)
    if exports:  # SensReader writes every frame of the stream, invalid (-inf) ones included
        (d / "pose").mkdir(exist_ok=True)
        bad = np.full((4, 4), -np.inf, np.float32)
        for i in range(max(poses) + 1):
            (d / "pose" / f"{i}.txt").write_text(_mat(poses.get(i, bad).astype(np.float64)))
        k4 = np.eye(4)
        k4[:3, :3] = K640
        (d / "intrinsic").mkdir(exist_ok=True)
        (d / "intrinsic" / "intrinsic_color.txt").write_text(_mat(k4))
    for split, ids in (splits or {}).items():
        (root / f"scannetv2_{split}.txt").write_text("".join(i + "\n" for i in ids))
    return d


def write_sens(path: Path, k: np.ndarray, w: int, h: int, poses: dict[int, np.ndarray]) -> None:
    """A ScanNet ``.sens`` (version 4) with camera poses and empty image payloads; frame
    numbers missing from ``poses`` get an invalid (-inf) pose."""
    k4 = np.eye(4, dtype="<f4")
    k4[:3, :3] = k
    n = max(poses) + 1
    out = [struct.pack("<I", 4), struct.pack("<Q", 6), b"geoenv"]
    out += [
        k4.tobytes(),
        np.eye(4, dtype="<f4").tobytes(),
        k4.tobytes(),
        np.eye(4, dtype="<f4").tobytes(),
    ]
    out += [struct.pack("<ii", 2, 1), struct.pack("<IIII", w, h, w, h), struct.pack("<f", 1000.0)]
    out.append(struct.pack("<Q", n))
    for i in range(n):
        m = poses.get(i, np.full((4, 4), -np.inf, np.float32))
        out += [
            np.asarray(m, "<f4").tobytes(),
            struct.pack("<QQ", 1000 * i, 1000 * i),
            struct.pack("<QQ", 0, 0),
        ]
    out.append(struct.pack("<Q", 0))
    path.write_bytes(b"".join(out))


# ---------------------------------------------------------------------- ScanNet++
def write_scannetpp_root(
    room: Room, root: Path, sid: str = "0a5c013435", video: bool = True, splits=None
) -> Path:
    """``<root>/data/<sid>/scans/`` (aligned mesh, segments, segments_anno) and ``iphone/``
    (pose_intrinsic_imu.json, rgb.mkv); ``<root>/splits/<split>.txt``."""
    d = root / "data" / sid
    write_ply(d / "scans" / "mesh_aligned_0.05.ply", room.vertices, room.faces, room.colors)
    seg, groups = _segments(room.instance)
    (d / "scans" / "segments.json").write_text(json.dumps({"segIndices": seg.tolist()}))
    anno = {
        "sceneId": sid,
        "segGroups": [
            {"id": i, "objectId": i, "label": room.labels[k], "segments": groups[k]}
            for i, k in enumerate(sorted(groups))
        ],
    }
    (d / "scans" / "segments_anno.json").write_text(json.dumps(anno))
    k = np.array([[1500.0, 0, 959.5], [0, 1500.0, 719.5], [0, 0, 1]])
    rec = {
        f"frame_{i:06d}": {
            "timestamp": 100.0 + i / 60.0,
            "aligned_pose": p.tolist(),
            "pose": p.tolist(),
            "intrinsic": k.tolist(),
            "imu": {"gravity": [0.0, 0.0, -9.81]},
        }
        for i, p in enumerate(room.poses)
    }
    (d / "iphone").mkdir(parents=True, exist_ok=True)
    (d / "iphone" / "pose_intrinsic_imu.json").write_text(json.dumps(rec))
    if video:
        write_video(d / "iphone" / "rgb.mkv", len(room.poses))
    for split, ids in (splits or {}).items():
        (root / "splits").mkdir(exist_ok=True)
        (root / "splits" / f"{split}.txt").write_text("".join(i + "\n" for i in ids))
    return d


def write_video(path: Path, n: int, w: int = 32, h: int = 24) -> None:
    import av

    with av.open(str(path), "w") as out:
        st = out.add_stream("ffv1", rate=60)
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            img = np.full((h, w, 3), 20 * i, np.uint8)
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)


# ---------------------------------------------------------------------- ARKitScenes
ARKIT_LABELS = {"lamp": "stool", "tv": "tv_monitor"}
PINCAM = (256, 192, 212.0, 212.0, 127.5, 95.5)


def arkit_boxes(room: Room) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """The official boxes: every object's box grown by :data:`BOX_MARGIN` on each side."""
    return [
        (ARKIT_LABELS.get(room.labels[k], room.labels[k]), c, s + 2 * BOX_MARGIN, r)
        for k, (c, s, r) in sorted(room.boxes.items())
    ]


def write_arkitscenes_root(
    room: Room,
    root: Path,
    vid: str = "41000001",
    sky: str = "Up",
    fold: str = "Training",
    boxes=None,
) -> Path:
    """``<root>/raw/metadata.csv`` and ``<root>/raw/<fold>/<vid>/``: 3DOD mesh and annotation,
    ``lowres_wide.traj`` (world-to-camera, axis-angle) and ``lowres_wide_intrinsics``."""
    raw = root / "raw"
    d = raw / fold / vid
    d.mkdir(parents=True, exist_ok=True)
    meta = raw / "metadata.csv"
    rows = meta.read_text().splitlines()[1:] if meta.is_file() else []
    rows.append(f"{vid},4000{vid[-2:]},{fold},{sky},False,True,False")
    meta.write_text(
        "video_id,visit_id,fold,sky_direction,is_in_upsampling,is_in_threedod,"
        "has_laser_scanner_point_clouds\n" + "".join(r + "\n" for r in sorted(set(rows)))
    )
    write_ply(d / f"{vid}_3dod_mesh.ply", room.vertices, room.faces, room.colors)
    data = [
        {
            "uid": f"uid-{i}",
            "label": label,
            "segments": {
                "obbAligned": {
                    "centroid": c.tolist(),
                    "axesLengths": s.tolist(),
                    "normalizedAxes": r.T.ravel().tolist(),
                }
            },
        }
        for i, (label, c, s, r) in enumerate(arkit_boxes(room) if boxes is None else boxes)
    ]
    (d / f"{vid}_3dod_annotation.json").write_text(json.dumps({"data": data, "stats": {}}))
    lines = []
    (d / "lowres_wide_intrinsics").mkdir(exist_ok=True)
    for i, p in enumerate(room.poses):
        t = 6845.0 + 0.1 * i
        w2c = invert_rigid(p)
        rv = Rotation.from_matrix(w2c[:3, :3]).as_rotvec()
        lines.append(" ".join(repr(float(x)) for x in (t, *rv, *w2c[:3, 3])))
        (d / "lowres_wide_intrinsics" / f"{vid}_{t:.3f}.pincam").write_text(
            " ".join(str(x) for x in PINCAM) + "\n"
        )
    (d / "lowres_wide.traj").write_text("\n".join(lines) + "\n")
    return d


# ---------------------------------------------------------------------- MultiScan
def write_multiscan_root(
    room: Room, root: Path, sid: str = "scene_00900_00", align: np.ndarray | None = None
) -> Path:
    """``<root>/<sid>/``: face-labelled PLY (objectId, partId) in the raw frame, annotations
    with official boxes (raw frame), ``.align.json``, and the camera stream metadata."""
    a = np.eye(4) if align is None else align
    d = root / sid
    f_inst = room.instance[room.faces[:, 0]]
    obj = np.where(f_inst >= 0, f_inst, 0)
    write_ply(
        d / f"{sid}.ply",
        _to_raw(room.vertices, a),
        room.faces,
        room.colors,
        face_props={"objectId": obj, "partId": obj},
    )
    inv = invert_rigid(a)
    objects, parts = [], []
    for k in sorted(room.labels):
        o = {"objectId": k, "label": f"{room.labels[k]}.{k}", "partIds": [k]}
        if k in room.boxes:
            c, s, r = room.boxes[k]
            o["obb"] = {
                "centroid": (inv[:3, :3] @ c + inv[:3, 3]).tolist(),
                "axesLengths": (s + 2 * BOX_MARGIN).tolist(),
                "normalizedAxes": (inv[:3, :3] @ r).T.ravel().tolist(),
            }
        objects.append(o)
        parts.append({"partId": k, "label": f"{room.labels[k]}.{k}", "parentId": -1})
    (d / f"{sid}.annotations.json").write_text(
        json.dumps({"objects": objects, "parts": parts, "version": "multiscan@0.0.1"})
    )
    (d / f"{sid}.align.json").write_text(
        json.dumps({"coordinate_transform": a.ravel(order="F").tolist()})
    )
    stream = {"type": "color_camera", "resolution": [480, 640], "number_of_frames": len(room.poses),
              "frequency": 60, "encoding": "h264"}  # fmt: skip
    (d / f"{sid}.json").write_text(json.dumps({"streams": [stream], "depth_unit": "m"}))
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    recs = []
    for i, p in enumerate(room.poses):
        arkit = p @ flip
        recs.append(json.dumps({
            "intrinsics": K640.ravel(order="F").tolist(),
            "transform": arkit.ravel(order="F").tolist(),
            "timestamp": 1000 * i, "exposure_duration": 10,
            "quaternion": [0.0, 0.0, 0.0, 1.0], "euler_angles": [0.0, 0.0, 0.0],
        }))  # fmt: skip
    (d / f"{sid}.jsonl").write_text("\n".join(recs) + "\n")
    return d


# ---------------------------------------------------------------------- S3DIS
S3DIS_LABELS = {"cabinet": "bookcase", "lamp": "clutter", "tv": "board"}


def write_s3dis_root(room: Room, root: Path, room_name: str = "office_1", area: int = 1) -> Path:
    """``<root>/Area_<n>/<room>/Annotations/<class>_<i>.txt`` (x y z r g b per line); the
    unlabelled patch is left out (every S3DIS point belongs to an annotation file)."""
    d = root / f"Area_{area}" / room_name / "Annotations"
    d.mkdir(parents=True, exist_ok=True)
    count: dict[str, int] = {}
    for k in sorted(room.labels):
        label = S3DIS_LABELS.get(room.labels[k], room.labels[k])
        count[label] = count.get(label, 0) + 1
        sel = room.instance == k
        rows = np.column_stack([room.vertices[sel], room.colors[sel]])
        np.savetxt(d / f"{label}_{count[label]}.txt", rows, fmt="%.6f %.6f %.6f %d %d %d")
    return d.parent


# ---------------------------------------------------------------------- SceneNN
def write_scenenn_root(room: Room, root: Path, sid: str = "005") -> Path:
    """``<root>/<sid>/``: instance-coloured mesh ``<sid>.ply`` and colour mesh
    ``<sid>_color.ply`` (both y-up, same vertices) and the ``<sid>.xml`` label list."""
    d = root / sid
    stored = room.vertices @ np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]).T  # z-up -> y-up
    ids = sorted(room.labels)
    palette = {k: np.array([(40 * k) % 256, (90 * k + 7) % 256, (150 + 11 * k) % 256]) for k in ids}
    inst_col = np.zeros((len(stored), 3), np.uint8)
    for k in ids:
        inst_col[room.instance == k] = palette[k]
    write_ply(d / f"{sid}.ply", stored, room.faces, inst_col)
    write_ply(d / f"{sid}_color.ply", stored, room.faces, room.colors)
    labels = "".join(
        f'  <label id="{k}" color="{" ".join(str(int(c)) for c in palette[k])}" '
        f'text="{room.labels[k]}" nyu_class="{room.labels[k]}" />\n'
        for k in ids
    )
    (d / f"{sid}.xml").write_text(f"<annotation>\n{labels}</annotation>\n")
    return d
