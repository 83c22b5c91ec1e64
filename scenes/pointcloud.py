"""Format 2: labelled point clouds (PLY or NPZ) and labelled meshes (PLY), with a labels JSON.

Point variant (PLY ``vertex`` element or NPZ arrays): per-point ``x, y, z`` (float, metres, world
frame), optional ``red, green, blue`` (uchar), ``instance`` (int; -1 = unlabelled) and ``label``
(int, a key of the labels JSON). Mesh variant (PLY only): the ``face`` element carries a per-face
``instance`` / ``label``; an object's points are the vertices of its faces, so a vertex shared
by faces of two instances belongs to both objects.

Sidecar files beside ``<stem>.ply`` / ``<stem>.npz``:

* ``<stem>.labels.json``: ``{"labels": {"3": "chair", ...}, "scene_id": ..., "object_ids": ...}``
  (``object_ids`` maps instance ids to object ids when those are not integers).
* ``<stem>.frames.json`` (optional): camera frames, ``{"frames": [{"index", "timestamp", "K",
  "width", "height", "pose", ...}]}`` with ``pose`` a 4x4 camera-to-world (OpenCV camera) and
  ``K`` a 3x3 pinhole matrix in pixels.

:func:`write_pointcloud` writes the point variant with float64 coordinates, so that a written
scene loads back bit-for-bit (points, distances, boxes and poses are exact).
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from plyfile import PlyData, PlyElement, PlyElementParseError, PlyHeaderParseError, PlyParseError
from pydantic import BaseModel, ConfigDict, ValidationError

from geoenv.errors import NonFiniteError, SceneFormatError, UnknownLabelError
from geoenv.frames import Frame, check_intrinsics
from geoenv.scene import Scene, SceneObject, source_label
from geoenv.scenes.registry import register
from geoenv.serialize import npz_bytes
from geoenv.transforms import check_finite, check_rigid

FORMAT_NAME = "pointcloud"
_AXES = ("x", "y", "z")
_RGB = ("red", "green", "blue")
_INT32_MAX = 2**31 - 1
# Fixed date for the zip entries of written NPZ files, so that writes are byte-deterministic.


# ---------------------------------------------------------------------- JSON sidecars
class LabelsFile(BaseModel):
    """``<stem>.labels.json``: label id (integer, as a JSON key) -> category name."""

    model_config = ConfigDict(extra="forbid")

    labels: dict[str, str]
    scene_id: str | None = None
    #: instance id (integer, as a JSON key) -> object id, when object ids are not integers.
    object_ids: dict[str, str] | None = None


class FrameRecord(BaseModel):
    """One camera frame in ``<stem>.frames.json`` (pose: 4x4 camera-to-world, K: 3x3 px)."""

    model_config = ConfigDict(extra="forbid")

    index: int
    timestamp: float = 0.0
    K: list[list[float]]
    width: int
    height: int
    pose: list[list[float]]
    name: str = ""
    rgb_path: str | None = None
    depth_path: str | None = None


class FramesFile(BaseModel):
    """``<stem>.frames.json``."""

    model_config = ConfigDict(extra="forbid")

    frames: list[FrameRecord]


def _loc_to_field(loc: tuple[Any, ...]) -> str:
    """Pydantic error location -> dotted field path (``segGroups[3].segments``)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_json_model(path: Path, model: type[BaseModel], text: str | None = None) -> Any:
    """Parse and validate a JSON file (or ``text`` read from ``path``) into ``model``."""
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise SceneFormatError(path, None, f"cannot read: {exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SceneFormatError(path, None, f"invalid JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _loc_to_field(tuple(err["loc"])) or None
        raise SceneFormatError(
            path, field, f"{err['msg']} (got {err.get('input')!r:.80})"
        ) from None


def _parse_label_map(labels: LabelsFile, path: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    for key, name in labels.labels.items():
        try:
            out[int(key)] = name
        except ValueError:
            raise SceneFormatError(path, f"labels.{key}", "label id must be an integer") from None
    return out


def _parse_object_ids(labels: LabelsFile, path: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    for key, oid in (labels.object_ids or {}).items():
        try:
            out[int(key)] = oid
        except ValueError:
            raise SceneFormatError(
                path, f"object_ids.{key}", "instance id must be an integer"
            ) from None
    if len(set(out.values())) != len(out):
        raise SceneFormatError(path, "object_ids", "object ids are not unique")
    return out


def read_frames_json(path: Path) -> list[Frame]:
    """Frames from a ``<stem>.frames.json`` file; poses validated rigid, K validated."""
    model: FramesFile = read_json_model(path, FramesFile)
    frames = []
    seen: set[int] = set()
    for i, rec in enumerate(model.frames):
        field = f"frames[{i}]"
        if rec.index in seen:
            raise SceneFormatError(path, f"{field}.index", f"duplicate frame index {rec.index}")
        seen.add(rec.index)
        pose = check_rigid(_matrix(rec.pose, (4, 4), path, f"{field}.pose"), path, f"{field}.pose")
        k = check_intrinsics(
            _matrix(rec.K, (3, 3), path, f"{field}.K"), rec.width, rec.height, path, f"{field}.K"
        )
        check_finite(np.array([rec.timestamp]), path, f"{field}.timestamp")
        frames.append(
            Frame(
                index=rec.index,
                pose=pose,
                K=k,
                width=rec.width,
                height=rec.height,
                timestamp=rec.timestamp,
                rgb_path=None if rec.rgb_path is None else Path(rec.rgb_path),
                depth_path=None if rec.depth_path is None else Path(rec.depth_path),
                name=rec.name,
            )
        )
    return frames


def _matrix(rows: list[list[float]], shape: tuple[int, int], path: Path, field: str) -> np.ndarray:
    if len(rows) != shape[0] or any(len(r) != shape[1] for r in rows):
        raise SceneFormatError(path, field, f"expected a {shape[0]}x{shape[1]} nested list")
    return np.array(rows, dtype=np.float64)


def frames_to_json(frames: list[Frame]) -> str:
    """Serialise frames as the ``<stem>.frames.json`` text (floats written exactly)."""
    recs = []
    for f in frames:
        rec: dict[str, Any] = {
            "index": int(f.index),
            "timestamp": float(f.timestamp),
            "width": int(f.width),
            "height": int(f.height),
            "K": np.asarray(f.K, dtype=np.float64).tolist(),
            "pose": np.asarray(f.pose, dtype=np.float64).tolist(),
        }
        if f.name:
            rec["name"] = f.name
        if f.rgb_path is not None:
            rec["rgb_path"] = str(f.rgb_path)
        if f.depth_path is not None:
            rec["depth_path"] = str(f.depth_path)
        recs.append(rec)
    return json.dumps({"frames": recs}, indent=1, allow_nan=False) + "\n"


# ---------------------------------------------------------------------- PLY reading
def read_ply(path: Path) -> PlyData:
    """Read a PLY file (ascii or binary) with plyfile; parse errors become SceneFormatError.

    Binary triangle faces are memory-mapped (fast path); other faces fall back to plyfile's
    row-by-row reader.
    """
    fast = {"face": {"vertex_indices": 3, "vertex_index": 3}}
    try:
        try:
            return PlyData.read(str(path), known_list_len=fast)
        except PlyElementParseError as exc:
            if exc.message != "unexpected list length":
                raise
            return PlyData.read(str(path))
    except PlyElementParseError as exc:
        field = None
        if exc.element is not None:
            field = exc.element.name + (f".{exc.prop.name}" if exc.prop is not None else "")
        where = "" if exc.row is None else f" at row {exc.row}"
        what = "truncated file" if "end-of-file" in exc.message else "malformed data"
        raise SceneFormatError(path, field, f"{what}: {exc.message}{where}") from None
    except PlyHeaderParseError as exc:
        raise SceneFormatError(path, "header", f"malformed PLY header: {exc}") from None
    except (PlyParseError, ValueError, EOFError, OSError) as exc:
        raise SceneFormatError(path, None, f"cannot read PLY: {exc}") from None


def ply_element(ply: PlyData, name: str, path: Path) -> PlyElement:
    if name not in ply:
        have = [e.name for e in ply.elements]
        raise SceneFormatError(path, name, f"missing element {name!r} (file has {have})")
    return ply[name]


def _prop_names(el: PlyElement) -> set[str]:
    return {p.name for p in el.properties}


def ply_vertices(el: PlyElement, path: Path) -> np.ndarray:
    """(n, 3) float64 vertex coordinates; NonFiniteError names the first bad vertex."""
    names = _prop_names(el)
    for a in _AXES:
        if a not in names:
            raise SceneFormatError(path, f"{el.name}.{a}", f"missing property {a!r}")
        if el.data.dtype[a].kind != "f":
            raise SceneFormatError(
                path, f"{el.name}.{a}", f"must be a float property, got {el.data.dtype[a]}"
            )
    xyz = np.stack([np.asarray(el.data[a], dtype=np.float64) for a in _AXES], axis=1)
    check_coords(xyz, path, el.name)
    return xyz


def check_coords(xyz: np.ndarray, path: Path, what: str) -> None:
    """Raise NonFiniteError naming the first vertex (and axis) with a NaN / inf coordinate."""
    bad = ~np.isfinite(xyz)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise NonFiniteError(
            path, f"{what}[{i}].{_AXES[j]}", f"non-finite coordinate {xyz[i, j]!r} at vertex {i}"
        )


def ply_colors(el: PlyElement, path: Path) -> np.ndarray | None:
    """(n, 3) uint8 colours from ``red, green, blue``, or None when the element has none."""
    names = _prop_names(el)
    have = [c for c in _RGB if c in names]
    if not have:
        return None
    if len(have) != 3:
        missing = [c for c in _RGB if c not in names]
        raise SceneFormatError(path, f"{el.name}.{missing[0]}", "colours need red, green, blue")
    cols = np.stack([np.asarray(el.data[c]) for c in _RGB], axis=1)
    return _as_uint8_colors(cols, path, el.name)


def _as_uint8_colors(cols: np.ndarray, path: Path, field: str) -> np.ndarray:
    if cols.dtype == np.uint8:
        return np.ascontiguousarray(cols)
    if cols.dtype.kind in "iu" and cols.size and (cols.min() < 0 or cols.max() > 255):
        raise SceneFormatError(path, field, "colour values must be in 0..255")
    if cols.dtype.kind not in "iu" and cols.size:
        raise SceneFormatError(path, field, f"colours must be integers 0..255, got {cols.dtype}")
    return cols.astype(np.uint8)


def _int_prop(el: PlyElement, name: str, path: Path) -> np.ndarray:
    if name not in _prop_names(el):
        raise SceneFormatError(path, f"{el.name}.{name}", f"missing property {name!r}")
    values = el.data[name]
    if values.dtype.kind not in "iu":
        raise SceneFormatError(
            path, f"{el.name}.{name}", f"must be an integer property, got {values.dtype}"
        )
    return np.asarray(values, dtype=np.int64)


def ply_triangles(el: PlyElement, n_vertices: int, path: Path) -> np.ndarray:
    """(m, 3) int64 triangle vertex indices from ``vertex_indices`` (or ``vertex_index``)."""
    names = _prop_names(el)
    key = "vertex_indices" if "vertex_indices" in names else "vertex_index"
    if key not in names:
        raise SceneFormatError(path, f"{el.name}.vertex_indices", "missing property")
    raw = el.data[key]
    field = f"{el.name}.{key}"
    if len(raw) == 0:
        faces = np.zeros((0, 3), dtype=np.int64)
    elif raw.dtype == object:
        lengths = np.fromiter((len(r) for r in raw), dtype=np.int64, count=len(raw))
        if (lengths != 3).any():
            i = int(np.flatnonzero(lengths != 3)[0])
            raise SceneFormatError(
                path, field, f"face {i} has {lengths[i]} vertices: only triangles are supported"
            )
        faces = np.stack(list(raw)).astype(np.int64)
    else:
        faces = np.asarray(raw, dtype=np.int64).reshape(len(raw), 3)
    bad = (faces < 0) | (faces >= n_vertices)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise SceneFormatError(
            path, field, f"face {i} refers to vertex {faces[i].tolist()}, mesh has {n_vertices}"
        )
    return faces


# ---------------------------------------------------------------------- label checks
def _check_instances(
    instance: np.ndarray,
    label: np.ndarray,
    label_map: Mapping[int, str],
    path: Path,
    labels_path: str,
    element: str,
) -> dict[int, int]:
    """Validate per-element instance/label arrays; return instance id -> label id.

    One label per instance (else SceneFormatError naming the instance); every used label id in
    ``label_map`` (else UnknownLabelError); only -1 may be negative.
    """
    neg = instance < -1
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise SceneFormatError(
            path,
            f"{element}.instance",
            f"instance {instance[i]} at {element} {i}: only -1 (unlabelled) may be negative",
        )
    m = instance >= 0
    pairs = np.unique(np.stack([instance[m], label[m]], axis=1), axis=0).reshape(-1, 2)
    inst_ids, first, counts = np.unique(pairs[:, 0], return_index=True, return_counts=True)
    multi = counts > 1
    if multi.any():
        k = int(np.flatnonzero(multi)[0])
        labs = pairs[first[k] : first[k] + counts[k], 1].tolist()
        raise SceneFormatError(
            path,
            f"{element}.label",
            f"instance {inst_ids[k]} has several label ids {labs}: one label per instance",
        )
    inst_label = {int(i): int(lab) for i, lab in pairs}
    for inst, lab in inst_label.items():
        if lab not in label_map:
            raise UnknownLabelError(
                path,
                f"{element}.label",
                f"label id {lab} (instance {inst}) is not in the labels JSON {labels_path}",
            )
    return inst_label


def _object_id(inst: int, object_ids: Mapping[int, str]) -> str:
    return object_ids.get(inst, str(inst))


# ---------------------------------------------------------------------- labels resolution
def _sidecar(path: Path, kind: str) -> Path:
    return path.with_name(f"{path.stem}.{kind}.json")


def _resolve_labels(
    path: Path, labels: str | Path | Mapping[int, str] | None, embedded: str | None
) -> tuple[dict[int, str], dict[int, str], str | None, str]:
    """(label map, object ids, scene_id, where the labels came from).

    Priority: the ``labels=`` option (a path or a mapping), then a ``labels_json`` array
    embedded in an NPZ, then ``<stem>.labels.json`` beside the file.
    """
    if isinstance(labels, Mapping):
        return {int(k): str(v) for k, v in labels.items()}, {}, None, "labels= option"
    if labels is not None:
        lp = Path(labels)
        model = read_json_model(lp, LabelsFile)
        where = str(lp)
    elif embedded is not None:
        lp = path
        model = read_json_model(path, LabelsFile, text=embedded)
        where = f"{path} (labels_json)"
    else:
        lp = _sidecar(path, "labels")
        if not lp.exists():
            raise SceneFormatError(
                lp, None, f"labels JSON not found (needed by {path.name}; or pass labels=)"
            )
        model = read_json_model(lp, LabelsFile)
        where = str(lp)
    return _parse_label_map(model, lp), _parse_object_ids(model, lp), model.scene_id, where


# ---------------------------------------------------------------------- loader
def _sniff(path: Path) -> bool:
    try:
        if not path.is_file():
            return False
        suffix = path.suffix.lower()
        if suffix == ".ply":
            with path.open("rb") as f:
                return f.read(4) in (b"ply\n", b"ply\r")
        if suffix == ".npz" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return "points.npy" in z.namelist()
    except Exception:
        return False
    return False


@register(
    FORMAT_NAME,
    "labelled point cloud or mesh (PLY/NPZ with instance + label, <stem>.labels.json)",
    sniff=_sniff,
)
def load_pointcloud(path: Path, labels: str | Path | Mapping[int, str] | None = None) -> Scene:
    """Load a format-2 PLY/NPZ file (see the module docstring).

    ``labels``: path of the labels JSON (default ``<stem>.labels.json`` beside the file) or a
    mapping label id -> name. Frames come from ``<stem>.frames.json`` when present.
    Points: float64, metres, world frame.
    """
    path = Path(path)
    notes: list[str] = []
    if path.suffix.lower() == ".npz":
        pts, colors, instance, label, embedded = _read_npz(path)
        label_map, object_ids, scene_id, where = _resolve_labels(path, labels, embedded)
        inst_label = _check_instances(instance, label, label_map, path, where, "points")
        variant = "points"
    else:
        ply = read_ply(path)
        vert = ply_element(ply, "vertex", path)
        pts = ply_vertices(vert, path)
        colors = ply_colors(vert, path)
        face = ply["face"] if "face" in ply else None
        if face is not None and "instance" in _prop_names(face):
            variant = "mesh"
            if "instance" in _prop_names(vert):
                notes.append(
                    "vertex.instance ignored: the face element carries instances (mesh variant)"
                )
        else:
            variant = "points"
        label_map, object_ids, scene_id, where = _resolve_labels(path, labels, None)
        element = "face" if variant == "mesh" else "vertex"
        el = face if variant == "mesh" else vert
        instance = _int_prop(el, "instance", path)
        label = _int_prop(el, "label", path)
        inst_label = _check_instances(instance, label, label_map, path, where, element)

    frames_path = _sidecar(path, "frames")
    frames = read_frames_json(frames_path) if frames_path.exists() else []
    metadata: dict[str, Any] = {
        "source_format": FORMAT_NAME,
        "source_path": str(path),
        "variant": variant,
        "labels_source": where,
        "frames_path": str(frames_path) if frames else None,
        "notes": notes,
    }
    sid = scene_id or source_label(path)

    if variant == "mesh":
        faces = ply_triangles(face, len(pts), path)
        return _mesh_scene(
            sid, pts, colors, faces, instance, inst_label, label_map, object_ids, frames, metadata
        )

    order = np.argsort(instance, kind="stable")
    pts, instance = pts[order], instance[order]
    colors = None if colors is None else colors[order]
    ids, starts, counts = np.unique(instance, return_index=True, return_counts=True)
    objects = [
        SceneObject(_object_id(int(i), object_ids), label_map[inst_label[int(i)]], pts[s : s + c])
        for i, s, c in zip(ids, starts, counts, strict=True)
        if i >= 0
    ]
    return Scene(
        sid, objects, frames, points=pts, colors=colors, instance=instance, metadata=metadata
    )


def _mesh_scene(
    sid: str,
    vertices: np.ndarray,
    colors: np.ndarray | None,
    faces: np.ndarray,
    face_instance: np.ndarray,
    inst_label: dict[int, int],
    label_map: Mapping[int, str],
    object_ids: Mapping[int, str],
    frames: list[Frame],
    metadata: dict[str, Any],
) -> Scene:
    """Mesh variant: object points = the distinct vertices of its faces (sorted by index)."""
    m = face_instance >= 0
    pairs = np.stack([np.repeat(face_instance[m], 3), faces[m].ravel()], axis=1)
    pairs = np.unique(pairs, axis=0).reshape(-1, 2)  # sorted by (instance, vertex)
    ids, starts, counts = np.unique(pairs[:, 0], return_index=True, return_counts=True)
    objects = [
        SceneObject(
            _object_id(int(i), object_ids),
            label_map[inst_label[int(i)]],
            vertices[pairs[s : s + c, 1]],
        )
        for i, s, c in zip(ids, starts, counts, strict=True)
    ]
    mesh = trimesh.Trimesh(
        vertices=vertices,
        faces=faces,
        vertex_colors=None
        if colors is None
        else np.column_stack([colors, np.full(len(colors), 255, np.uint8)]),
        process=False,
        validate=False,
    )
    shared = int(np.count_nonzero(np.bincount(pairs[:, 1], minlength=len(vertices)) > 1))
    if shared:
        metadata["notes"].append(
            f"{shared} vertices are shared by faces of several instances and belong to each"
        )
    return Scene(
        sid,
        objects,
        frames,
        points=vertices,
        colors=colors,
        mesh=mesh,
        mesh_face_instance=face_instance,
        metadata=metadata,
    )


def _read_npz(
    path: Path,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, str | None]:
    """(points (n,3) float64, colors (n,3) uint8 | None, instance, label, labels_json text)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise SceneFormatError(path, None, f"truncated or invalid NPZ: {exc}") from None
    for key in ("points", "instance", "label"):
        if key not in arrays:
            raise SceneFormatError(path, key, f"missing array {key!r} (has {sorted(arrays)})")
    pts = arrays["points"]
    if pts.ndim != 2 or pts.shape[1] != 3 or pts.dtype.kind not in "fiu":
        raise SceneFormatError(
            path, "points", f"expected (n, 3) floats, got {pts.shape} {pts.dtype}"
        )
    pts = pts.astype(np.float64)
    check_coords(pts, path, "points")
    n = len(pts)
    out = []
    for key in ("instance", "label"):
        a = arrays[key]
        if a.shape != (n,) or a.dtype.kind not in "iu":
            raise SceneFormatError(
                path, key, f"expected ({n},) integers, got shape {a.shape} dtype {a.dtype}"
            )
        out.append(a.astype(np.int64))
    colors = None
    if "colors" in arrays:
        c = arrays["colors"]
        if c.shape != (n, 3):
            raise SceneFormatError(path, "colors", f"expected ({n}, 3), got {c.shape}")
        colors = _as_uint8_colors(c, path, "colors")
    embedded = None
    if "labels_json" in arrays:
        lj = arrays["labels_json"]
        if lj.dtype.kind not in "US" or lj.size != 1:
            raise SceneFormatError(path, "labels_json", "expected one JSON string")
        item = lj.reshape(-1)[0]
        embedded = item.decode("utf-8") if isinstance(item, bytes) else str(item)
    return pts, colors, out[0], out[1], embedded


# ---------------------------------------------------------------------- writer
def scene_cloud(
    scene: Scene,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, list[SceneObject]]:
    """Flatten a scene for writing: ``(points (n,3) float64, colors (n,3) uint8 | None,
    object index (n,) int64 (-1 = unlabelled), objects in scene order)``.

    Objects' points come first, in scene order, then the unlabelled points. Colours and
    unlabelled points are taken from the scene cloud when it is a per-point-instance cloud
    whose instance ids are the object ids (what :meth:`Scene.from_instances` builds);
    otherwise only object points are written, without colours.
    """
    objs = list(scene.objects.values())
    parts = [o.points for o in objs]
    index = [np.full(len(o.points), k, dtype=np.int64) for k, o in enumerate(objs)]
    colors = None
    cloud_pts, cloud_inst = scene.points, scene.instance
    masks = None
    if (
        cloud_pts is not None
        and cloud_inst is not None
        and len(cloud_pts) == len(cloud_inst)
        and all(_int_id(o.id) is not None for o in objs)
    ):
        cloud_inst = np.asarray(cloud_inst)
        masks = [cloud_inst == int(o.id) for o in objs]
        if not all(
            np.array_equal(cloud_pts[mk], o.points) for mk, o in zip(masks, objs, strict=True)
        ):
            masks = None
    if masks is not None:
        known = np.zeros(len(cloud_pts), dtype=bool)
        for mk in masks:
            known |= mk
        rest = ~known
        parts.append(np.asarray(cloud_pts, dtype=np.float64)[rest])
        index.append(np.full(int(rest.sum()), -1, dtype=np.int64))
        if scene.colors is not None and len(scene.colors) == len(cloud_pts):
            sc = np.asarray(scene.colors)
            if sc.dtype.kind == "f":
                sc = np.round(np.clip(sc, 0.0, 1.0) * 255.0)
            sc = sc.astype(np.uint8)
            colors = np.concatenate([sc[mk] for mk in masks] + [sc[rest]])
    points = np.concatenate(parts) if parts else np.zeros((0, 3))
    idx = np.concatenate(index) if index else np.zeros(0, dtype=np.int64)
    return np.asarray(points, dtype=np.float64), colors, idx, objs


def _int_id(s: str) -> int | None:
    if re.fullmatch(r"0|[1-9][0-9]*", s) and int(s) <= _INT32_MAX:
        return int(s)
    return None


def write_pointcloud(scene: Scene, path: Path, binary: bool = True) -> Path:
    """Write ``scene`` in format 2: returns ``path``.

    ``.ply`` (binary little-endian, or ascii with ``binary=False``): float64 ``x, y, z``,
    ``red, green, blue`` when the scene has colours, int32 ``instance`` and ``label``, plus
    ``<stem>.labels.json``. ``.npz``: the same arrays with the labels JSON embedded as
    ``labels_json``. Instance = int(object id) when every id is a non-negative integer, else
    the object's position in scene order (recorded under ``object_ids``). Label ids enumerate
    the sorted label names. Frames go to ``<stem>.frames.json`` (a stale one is removed when
    the scene has no frames). Same scene -> same bytes.
    """
    path = Path(path)
    points, colors, idx, objs = scene_cloud(scene)
    int_ids = [_int_id(o.id) for o in objs]
    object_ids: dict[str, str] | None = None
    if all(i is not None for i in int_ids):
        inst_of_obj = np.array(int_ids, dtype=np.int64)
    else:
        inst_of_obj = np.arange(len(objs), dtype=np.int64)
        object_ids = {str(k): o.id for k, o in enumerate(objs)}
    names = sorted({o.label for o in objs})
    label_of_obj = np.array([names.index(o.label) for o in objs], dtype=np.int64)
    lookup_inst = np.append(inst_of_obj, -1)  # index -1 -> last entry -> unlabelled
    lookup_label = np.append(label_of_obj, -1)
    instance, label = lookup_inst[idx], lookup_label[idx]
    labels_doc: dict[str, Any] = {"labels": {str(i): n for i, n in enumerate(names)}}
    if object_ids is not None:
        labels_doc["object_ids"] = object_ids
    labels_doc["scene_id"] = scene.id
    labels_text = json.dumps(labels_doc, indent=1, ensure_ascii=False) + "\n"

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".npz":
        arrays = {"points": points, "instance": instance, "label": label}
        if colors is not None:
            arrays["colors"] = colors
        arrays["labels_json"] = np.array(labels_text)
        _write_npz(path, arrays)
    else:
        fields = [(a, "<f8") for a in _AXES]
        if colors is not None:
            fields += [(c, "u1") for c in _RGB]
        fields += [("instance", "<i4"), ("label", "<i4")]
        data = np.empty(len(points), dtype=fields)
        for j, a in enumerate(_AXES):
            data[a] = points[:, j]
        if colors is not None:
            for j, c in enumerate(_RGB):
                data[c] = colors[:, j]
        data["instance"], data["label"] = instance, label
        ply = PlyData(
            [PlyElement.describe(data, "vertex")],
            text=not binary,
            byte_order="<",
            comments=["geoenv format 2 point cloud (instance -1 = unlabelled)"],
        )
        with path.open("wb") as f:
            ply.write(f)
        _sidecar(path, "labels").write_text(labels_text, encoding="utf-8")
    frames_path = _sidecar(path, "frames")
    if scene.frames:
        frames_path.write_text(frames_to_json(scene.frames), encoding="utf-8")
    elif frames_path.exists():
        frames_path.unlink()
    return path


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` equivalent with fixed zip timestamps (byte-deterministic)."""
    path.write_bytes(npz_bytes(arrays))
