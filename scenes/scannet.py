"""ScanNet (v2) scan directories: labelled mesh vertices, axis alignment, camera poses.

A scan directory ``<id>/`` holds:

* ``<id>_vh_clean_2.ply``: the mesh (vertex ``x, y, z``, optional ``red, green, blue``;
  triangle faces ``vertex_indices``);
* ``<id>_vh_clean_2.0.010000.segs.json``: ``segIndices``, one segment id per vertex;
* ``<id>.aggregation.json``: ``segGroups`` (``objectId``, ``label``, ``segments``);
* ``<id>.txt`` (optional): ``key = value`` lines; ``axisAlignment`` (16 numbers, row-major 4x4)
  maps the stored mesh and camera poses into the world frame; ``colorWidth`` / ``colorHeight``
  (default 1296 x 968, ScanNet's colour resolution); ``fx_color`` ... as an intrinsics fallback;
* ``pose/<n>.txt`` (optional): 4x4 camera-to-world per frame (OpenCV camera), ``-inf`` rows mark
  invalid poses (skipped, recorded in ``metadata["notes"]``);
* ``intrinsic/intrinsic_color.txt``: 4x4 whose top-left 3x3 is K (pixels).

Object id = ``str(objectId)``, label = the aggregation label, object points = the (aligned)
vertices of its segments; vertices in no segment group are unlabelled (instance -1).
Frame timestamps are nominal: ``index / fps`` (ScanNet's colour stream runs at 30 Hz).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh
from plyfile import PlyData, PlyElement
from pydantic import BaseModel, ConfigDict

from geoenv.errors import EmptyInstanceError, NonFiniteError, SceneFormatError
from geoenv.frames import Frame, check_intrinsics
from geoenv.scene import Scene
from geoenv.scenes.registry import register
from geoenv.transforms import as_matrix4, check_rigid, invert_rigid

if TYPE_CHECKING:
    from types import ModuleType

FORMAT_NAME = "scannet"
#: Colour image size of ScanNet's structure-sensor captures, used when ``<id>.txt`` has none.
DEFAULT_COLOR_SIZE = (1296, 968)
#: Nominal frame rate (Hz) of ScanNet's colour stream: frame timestamps are ``index / fps``.
SCANNET_FPS = 30.0

_MESH_SUFFIX = "_vh_clean_2.ply"
_SEGS_SUFFIX = "_vh_clean_2.0.010000.segs.json"


def _pc() -> ModuleType:
    """The pointcloud module, imported lazily: a top-level import would register the
    ``pointcloud`` loader before this one and change the sniffing order."""
    from geoenv.scenes import pointcloud

    return pointcloud


class SegGroup(BaseModel):
    """One object of ``<id>.aggregation.json``."""

    model_config = ConfigDict(extra="ignore")

    objectId: int
    label: str
    segments: list[int]


class Aggregation(BaseModel):
    """``<id>.aggregation.json``."""

    model_config = ConfigDict(extra="ignore")

    segGroups: list[SegGroup]
    sceneId: str | None = None


class Segments(BaseModel):
    """``<id>_vh_clean_2.0.010000.segs.json``."""

    model_config = ConfigDict(extra="ignore")

    segIndices: list[int]


# ---------------------------------------------------------------------- paths
def _scan_dir_and_id(path: Path) -> tuple[Path, str]:
    """(scan directory, scan id) for a scan directory or its ``*_vh_clean_2.ply``."""
    if path.is_file():
        return path.parent, path.name[: -len(_MESH_SUFFIX)]
    if (path / f"{path.name}{_MESH_SUFFIX}").is_file():
        return path, path.name
    meshes = sorted(p.name for p in path.glob(f"*{_MESH_SUFFIX}"))
    if len(meshes) != 1:
        raise SceneFormatError(
            path, None, f"expected one *{_MESH_SUFFIX} in the scan directory, found {meshes}"
        )
    return path, meshes[0][: -len(_MESH_SUFFIX)]


def _sniff(path: Path) -> bool:
    try:
        if path.is_dir():
            return any(path.glob(f"*{_MESH_SUFFIX}"))
        return (
            path.is_file()
            and path.name.endswith(_MESH_SUFFIX)
            and (path.parent / f"{path.name[: -len(_MESH_SUFFIX)]}.aggregation.json").is_file()
        )
    except Exception:
        return False


# ---------------------------------------------------------------------- small parsers
def _read_info(path: Path) -> dict[str, str]:
    """``<id>.txt``: ``key = value`` lines (later keys win; blank and other lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SceneFormatError(path, None, f"cannot read: {exc}") from None
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _numbers(text: str, path: Path, field: str) -> np.ndarray:
    try:
        return np.array([float(t) for t in text.split()], dtype=np.float64)
    except ValueError as exc:
        raise SceneFormatError(path, field, f"not a number: {exc}") from None


def _info_int(info: dict[str, str], key: str, default: int, path: Path) -> int:
    if key not in info:
        return default
    try:
        value = int(info[key])
    except ValueError:
        raise SceneFormatError(path, key, f"expected an integer, got {info[key]!r}") from None
    if value <= 0:
        raise SceneFormatError(path, key, f"must be positive, got {value}")
    return value


def _read_matrix_file(path: Path, field: str) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SceneFormatError(path, field, f"cannot read: {exc}") from None
    return as_matrix4(_numbers(text, path, field), path, field)


# ---------------------------------------------------------------------- loader
@register(
    FORMAT_NAME,
    "ScanNet scan directory (<id>_vh_clean_2.ply + segs + aggregation, poses)",
    sniff=_sniff,
)
def load_scannet(path: Path, align: bool = True, fps: float = SCANNET_FPS) -> Scene:
    """Load a ScanNet scan (directory, or its ``*_vh_clean_2.ply``).

    ``align``: apply ``axisAlignment`` from ``<id>.txt`` to vertices and poses (default; the
    world frame is then ScanNet's axis-aligned frame, z up, metres). ``fps``: frame timestamps
    are ``index / fps`` seconds.
    """
    pc = _pc()
    scan_dir, scan_id = _scan_dir_and_id(Path(path))
    notes: list[str] = []
    mesh_path = scan_dir / f"{scan_id}{_MESH_SUFFIX}"
    segs_path = scan_dir / f"{scan_id}{_SEGS_SUFFIX}"
    agg_path = scan_dir / f"{scan_id}.aggregation.json"
    info_path = scan_dir / f"{scan_id}.txt"
    for p in (mesh_path, segs_path, agg_path):
        if not p.is_file():
            raise SceneFormatError(p, None, "missing file of the ScanNet scan")

    # --- mesh
    ply = pc.read_ply(mesh_path)
    vert = pc.ply_element(ply, "vertex", mesh_path)
    stored = pc.ply_vertices(vert, mesh_path)
    colors = pc.ply_colors(vert, mesh_path)
    n = len(stored)
    faces = (
        pc.ply_triangles(ply["face"], n, mesh_path)
        if "face" in ply
        else np.zeros((0, 3), dtype=np.int64)
    )

    # --- alignment and image size
    info = _read_info(info_path) if info_path.is_file() else {}
    align_m = np.eye(4)
    if "axisAlignment" in info:
        a = as_matrix4(
            _numbers(info["axisAlignment"], info_path, "axisAlignment"), info_path, "axisAlignment"
        )
        align_m = check_rigid(a, info_path, "axisAlignment")
    else:
        notes.append(f"{info_path.name}: no axisAlignment; identity used")
    if not align:
        align_m = np.eye(4)
        notes.append("align=False: axisAlignment not applied")
    points = stored @ align_m[:3, :3].T + align_m[:3, 3]

    # --- segments and objects
    segs: Segments = pc.read_json_model(segs_path, Segments)
    seg_of_vertex = np.asarray(segs.segIndices, dtype=np.int64)
    if len(seg_of_vertex) != n:
        raise SceneFormatError(
            segs_path,
            "segIndices",
            f"has {len(seg_of_vertex)} entries but {mesh_path.name} has {n} vertices",
        )
    agg: Aggregation = pc.read_json_model(agg_path, Aggregation)
    instance = _vertex_instances(agg, seg_of_vertex, agg_path, segs_path)
    labels = {g.objectId: g.label for g in agg.segGroups}

    # --- frames
    frames, skipped = _read_frames(scan_dir, info, info_path, align_m, fps, notes)

    mesh = None
    face_instance = None
    if len(faces):
        mesh = trimesh.Trimesh(
            vertices=points,
            faces=faces,
            vertex_colors=None
            if colors is None
            else np.column_stack([colors, np.full(n, 255, np.uint8)]),
            process=False,
            validate=False,
        )
        fi = instance[faces]
        face_instance = np.where((fi == fi[:, :1]).all(axis=1), fi[:, 0], -1)
    metadata: dict[str, Any] = {
        "source_format": FORMAT_NAME,
        "source_path": str(scan_dir),
        "scan_id": scan_id,
        "axis_alignment": align_m.tolist(),
        "skipped_frames": skipped,
        "notes": notes,
    }
    return Scene.from_instances(
        scan_id,
        points,
        instance,
        labels,
        colors=colors,
        frames=frames,
        mesh=mesh,
        mesh_face_instance=face_instance,
        metadata=metadata,
    )


def _vertex_instances(
    agg: Aggregation, seg_of_vertex: np.ndarray, agg_path: Path, segs_path: Path
) -> np.ndarray:
    """(n,) objectId per vertex (-1 = in no segment group); validates the aggregation."""
    groups = agg.segGroups
    seen: dict[int, int] = {}
    for i, g in enumerate(groups):
        if g.objectId < 0:
            raise SceneFormatError(agg_path, f"segGroups[{i}].objectId", "must be >= 0")
        if g.objectId in seen:
            raise SceneFormatError(
                agg_path,
                f"segGroups[{i}].objectId",
                f"objectId {g.objectId} already used by segGroups[{seen[g.objectId]}]",
            )
        seen[g.objectId] = i
        if not g.segments:
            raise EmptyInstanceError(
                agg_path, f"segGroups[{i}].segments", f"object {g.objectId} has no segments"
            )
    seg = np.concatenate([np.asarray(g.segments, dtype=np.int64) for g in groups] or [[]])
    seg = seg.astype(np.int64)
    grp = np.repeat(np.arange(len(groups)), [len(g.segments) for g in groups])
    # A segment listed by two objects (or twice by one).
    order = np.lexsort((grp, seg))
    s_sorted, g_sorted = seg[order], grp[order]
    dup = np.flatnonzero(s_sorted[1:] == s_sorted[:-1])
    if dup.size:
        k = int(dup[0])
        ga, gb = groups[g_sorted[k]], groups[g_sorted[k + 1]]
        who = (
            f"objects {ga.objectId} ({ga.label!r}) and {gb.objectId} ({gb.label!r})"
            if g_sorted[k] != g_sorted[k + 1]
            else f"object {ga.objectId} ({ga.label!r}) twice"
        )
        raise SceneFormatError(
            agg_path,
            f"segGroups[{g_sorted[k + 1]}].segments",
            f"segment {s_sorted[k]} is listed by {who}",
        )
    # Segments that no vertex carries (they point outside the mesh).
    present = np.unique(seg_of_vertex)
    missing = ~np.isin(seg, present)
    if missing.any():
        k = int(np.flatnonzero(missing)[0])
        g = int(grp[k])
        raise SceneFormatError(
            agg_path,
            f"segGroups[{g}].segments",
            f"segment {seg[k]} of object {groups[g].objectId} ({groups[g].label!r}) has no "
            f"vertex in {segs_path.name} [segIndices]",
        )
    object_ids = np.array([g.objectId for g in groups], dtype=np.int64)
    instance = np.full(len(seg_of_vertex), -1, dtype=np.int64)
    if len(s_sorted):
        pos = np.clip(np.searchsorted(s_sorted, seg_of_vertex), 0, len(s_sorted) - 1)
        hit = s_sorted[pos] == seg_of_vertex
        instance[hit] = object_ids[g_sorted[pos[hit]]]
    return instance


def _read_frames(
    scan_dir: Path,
    info: dict[str, str],
    info_path: Path,
    align_m: np.ndarray,
    fps: float,
    notes: list[str],
) -> tuple[list[Frame], list[int]]:
    """(frames, indices of skipped -inf frames) from ``pose/<n>.txt`` and the intrinsics.

    World pose = axisAlignment @ stored pose."""
    pose_dir = scan_dir / "pose"
    if not pose_dir.is_dir():
        return [], []
    numbered: list[tuple[int, Path]] = []
    ignored: list[str] = []
    for p in pose_dir.iterdir():
        if p.suffix == ".txt" and re.fullmatch(r"\d+", p.stem):
            numbered.append((int(p.stem), p))
        else:
            ignored.append(p.name)
    numbered.sort()
    for (i, pa), (j, pb) in itertools.pairwise(numbered):
        if i == j:
            raise SceneFormatError(pose_dir, f"pose/{pb.name}", f"frame {i} also in {pa.name}")
    if ignored:
        notes.append(f"pose/: ignored files not named <n>.txt: {sorted(ignored)}")
    if not numbered:
        return [], []
    width = _info_int(info, "colorWidth", DEFAULT_COLOR_SIZE[0], info_path)
    height = _info_int(info, "colorHeight", DEFAULT_COLOR_SIZE[1], info_path)
    if "colorWidth" not in info or "colorHeight" not in info:
        notes.append(
            f"{info_path.name}: no colorWidth/colorHeight; ScanNet default "
            f"{DEFAULT_COLOR_SIZE[0]}x{DEFAULT_COLOR_SIZE[1]} used"
        )
    k_path = scan_dir / "intrinsic" / "intrinsic_color.txt"
    if k_path.is_file():
        k = check_intrinsics(
            _read_matrix_file(k_path, "intrinsic_color"), width, height, k_path, "intrinsic_color"
        )
    elif all(f"{c}_color" in info for c in ("fx", "fy", "mx", "my")):
        vals = {
            c: _numbers(info[f"{c}_color"], info_path, f"{c}_color") for c in "fx fy mx my".split()
        }
        if any(v.size != 1 for v in vals.values()):
            raise SceneFormatError(info_path, "fx_color", "expected one number per key")
        k = np.array(
            [[vals["fx"][0], 0, vals["mx"][0]], [0, vals["fy"][0], vals["my"][0]], [0, 0, 1]]
        )
        k = check_intrinsics(k, width, height, info_path, "fx_color")
        notes.append(f"intrinsics from {info_path.name} (fx_color, fy_color, mx_color, my_color)")
    else:
        notes.append(
            f"pose/ has {len(numbered)} poses but there are no intrinsics "
            "(intrinsic/intrinsic_color.txt or fx_color.. in <id>.txt): frames not loaded"
        )
        return [], []
    color_names = _names(scan_dir / "color")
    depth_names = _names(scan_dir / "depth")
    frames = []
    invalid = []
    for idx, p in numbered:
        field = f"pose/{p.name}"
        m = _read_matrix_file(p, field)
        if np.isneginf(m).any():
            invalid.append((idx, p.name))
            continue
        if not np.isfinite(m).all():
            i, j = (int(v) for v in np.argwhere(~np.isfinite(m))[0])
            raise NonFiniteError(p, field, f"non-finite value {m[i, j]!r} at ({i}, {j})")
        check_rigid(m, p, field)
        frames.append(
            Frame(
                index=idx,
                pose=align_m @ m,
                K=k,
                width=width,
                height=height,
                timestamp=idx / fps,
                rgb_path=scan_dir / "color" / f"{idx}.jpg" if f"{idx}.jpg" in color_names else None,
                depth_path=scan_dir / "depth" / f"{idx}.png"
                if f"{idx}.png" in depth_names
                else None,
                name=field,
            )
        )
    if invalid:
        notes.append(
            f"skipped {len(invalid)} frames with invalid (-inf) poses: "
            + ", ".join(f"pose/{name}" for _, name in invalid)
        )
    return frames, [i for i, _ in invalid]


def _names(d: Path) -> frozenset[str]:
    return frozenset(p.name for p in d.iterdir()) if d.is_dir() else frozenset()


# ---------------------------------------------------------------------- writer
def _fmt(values: np.ndarray) -> str:
    """Numbers separated by spaces, each the shortest repr that round-trips float64."""
    return " ".join(repr(float(v)) for v in np.asarray(values, dtype=np.float64).ravel())


def write_scannet(
    scene: Scene,
    dirpath: Path,
    scan_id: str,
    axis_alignment: np.ndarray | None = None,
    segments_per_object: int = 1,
) -> Path:
    """Write ``scene`` as a ScanNet scan directory ``dirpath / scan_id``; returns that directory.

    Object ids must be non-negative integers (they become ``objectId``). Vertices are the
    objects' points (then unlabelled cloud points, see
    :func:`geoenv.scenes.pointcloud.scene_cloud`), stored as float64 after applying the INVERSE
    of ``axis_alignment`` (a rigid 4x4, default identity), so loading gives back the world
    coordinates; poses are stored the same way. Each object is split into up to
    ``segments_per_object`` segments of consecutive points. The face element is written empty
    (no surface is invented). Existing ``pose/*.txt`` files in the directory are removed.
    All frames must share one K and image size (ScanNet has one colour intrinsic).
    """
    points, colors, idx, objs = _pc().scene_cloud(scene)
    ids = []
    for o in objs:
        if not re.fullmatch(r"0|[1-9][0-9]*", o.id):
            raise ValueError(f"ScanNet objectIds are integers: object id {o.id!r} is not")
        ids.append(int(o.id))
    a = np.eye(4) if axis_alignment is None else check_rigid(axis_alignment, None, "axis_alignment")
    inv = invert_rigid(a)
    stored = points @ inv[:3, :3].T + inv[:3, 3]

    # Segments: object k gets ids base_k .. base_k + s_k - 1; unlabelled points one more id.
    seg = np.empty(len(points), dtype=np.int64)
    groups = []
    next_seg = 0
    for k, o in enumerate(objs):
        sel = np.flatnonzero(idx == k)
        s = max(1, min(int(segments_per_object), len(sel)))
        seg[sel] = next_seg + (np.arange(len(sel)) * s) // len(sel)
        groups.append(
            {
                "id": k,
                "objectId": ids[k],
                "segments": list(range(next_seg, next_seg + s)),
                "label": o.label,
            }
        )
        next_seg += s
    seg[idx < 0] = next_seg

    out = Path(dirpath) / scan_id
    out.mkdir(parents=True, exist_ok=True)
    fields = [(c, "<f8") for c in "xyz"]
    if colors is not None:
        fields += [(c, "u1") for c in ("red", "green", "blue", "alpha")]
    data = np.empty(len(points), dtype=fields)
    for j, c in enumerate("xyz"):
        data[c] = stored[:, j]
    if colors is not None:
        for j, c in enumerate(("red", "green", "blue")):
            data[c] = colors[:, j]
        data["alpha"] = 255
    faces = np.empty(0, dtype=[("vertex_indices", "O")])
    ply = PlyData(
        [
            PlyElement.describe(data, "vertex"),
            PlyElement.describe(
                faces,
                "face",
                len_types={"vertex_indices": "u1"},
                val_types={"vertex_indices": "i4"},
            ),
        ],
        text=False,
        byte_order="<",
        comments=["geoenv write_scannet: vertices only, no faces"],
    )
    with (out / f"{scan_id}{_MESH_SUFFIX}").open("wb") as f:
        ply.write(f)
    segs_doc = {"sceneId": scan_id, "segIndices": seg.tolist()}
    (out / f"{scan_id}{_SEGS_SUFFIX}").write_text(json.dumps(segs_doc) + "\n", encoding="utf-8")
    agg_doc = {
        "sceneId": f"scannet.{scan_id}",
        "appId": "geoenv.write_scannet",
        "segGroups": groups,
        "segmentsFile": f"scannet.{scan_id}{_SEGS_SUFFIX[:-5]}",
    }
    (out / f"{scan_id}.aggregation.json").write_text(
        json.dumps(agg_doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    info_lines = [f"axisAlignment = {_fmt(a)}"]
    frames = scene.frames
    if frames:
        k0, w0, h0 = frames[0].K, frames[0].width, frames[0].height
        for f in frames:
            if not (np.array_equal(f.K, k0) and f.width == w0 and f.height == h0):
                raise ValueError(f"frame {f.index}: ScanNet scans have one K and image size")
        info_lines += [f"colorHeight = {h0}", f"colorWidth = {w0}"]
        k4 = np.eye(4)
        k4[:3, :3] = k0
        (out / "intrinsic").mkdir(exist_ok=True)
        (out / "intrinsic" / "intrinsic_color.txt").write_text(_matrix_text(k4), encoding="utf-8")
    (out / f"{scan_id}.txt").write_text("\n".join(info_lines) + "\n", encoding="utf-8")
    pose_dir = out / "pose"
    if pose_dir.is_dir():
        for p in sorted(pose_dir.glob("*.txt")):
            p.unlink()
    if frames:
        pose_dir.mkdir(exist_ok=True)
        for f in frames:
            (pose_dir / f"{f.index}.txt").write_text(_matrix_text(inv @ f.pose), encoding="utf-8")
    return out


def _matrix_text(m: np.ndarray) -> str:
    return "".join(_fmt(row) + "\n" for row in np.asarray(m, dtype=np.float64))
