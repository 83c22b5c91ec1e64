"""AI2-THOR event metadata and ProcTHOR house JSON.

Axes. Unity is y-up and left-handed (x right, y up, z forward). A point maps to our world
(right-handed, z up, metres) by swapping y and z::

    (x, y, z)_unity -> (x, z, y)_world      i.e.  p_world = P @ p_unity,
    P = [[1, 0, 0], [0, 0, 1], [0, 1, 0]]   (det -1: the swap flips handedness)

A Unity rotation ``R_u`` (Euler angles in degrees, applied z, then x, then y:
``R_u = Ry @ Rx @ Rz`` with the usual matrices) becomes ``R_w = P @ R_u @ P``, a proper
rotation. A Unity yaw ``rotation.y = a`` (clockwise seen from above, from +z_unity towards
+x_unity) is therefore a world yaw of ``-a`` about +z (counter-clockwise positive):
``R_w = rot_z(-a)``. An agent with ``rotation.y = 0`` faces unity +z = world +y; with
``rotation.y = 90`` it faces unity +x = world +x. ``yaw_deg`` values below are world yaws in
degrees, wrapped to [-180, 180).

Cameras. ``cameraHorizon`` is the pitch in degrees, positive looking down (a Unity rotation
about the camera's x axis). The camera-to-world pose (OpenCV axes: x right, y down, z forward)
is ``P @ R_agent @ Rx(horizon) @ diag(1, -1, 1)`` at ``cameraPosition`` (converted). Without
``cameraPosition`` the camera sits :data:`CAMERA_OFFSET` m above ``agent.position`` (the
default AI2-THOR agent's camera offset when standing, 0 when ``isStanding`` is false), noted in
``metadata["notes"]``. Intrinsics from the vertical field of view ``fov`` (degrees) and the
screen size: ``fy = (H / 2) / tan(fov / 2)``, ``fx = fy``, ``cx = W / 2``, ``cy = H / 2``.

Objects (event metadata) are known by boxes only: their points are the box surface sampled
with :func:`geoenv.boxes.box_surface_points` (``spacing`` option, default 0.02 m). The
oriented box (``objectOrientedBoundingBox.cornerPoints``, 8 corners in any order) is used when
present; its centre, size and rotation are fitted from the converted corners, and corners that
are not a rectangular box raise :class:`~geoenv.errors.SceneFormatError`. Otherwise the
axis-aligned box (``center`` + ``size``, or its corner points) is used. Boxes with a zero
dimension are kept (their sample is a rectangle, segment or point) and listed in the notes.

ProcTHOR houses carry no object sizes (those live in the asset database): the scene's objects
are the room floors (label ``floor``, id = room id) and walls (label ``wall``, id = wall id),
sampled on a 0.05 m grid; placed objects go to ``metadata["object_placements"]`` with converted
positions and yaws. ``asset_sizes={assetId: (x, y, z)}`` (Unity axes, metres) turns placed
objects with a known size into box objects centred on their ``position`` (ProcTHOR places an
object by its bounding-box centre) and rotated by their ``rotation``; objects whose assetId is
missing from ``asset_sizes`` stay placements only (noted).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, ValidationError
from scipy.spatial.distance import cdist

from geoenv.boxes import box_surface_points
from geoenv.errors import InvalidGeometryError, NonFiniteError, SceneFormatError
from geoenv.frames import Frame, check_intrinsics
from geoenv.scene import Scene, SceneObject, natural_key, source_label
from geoenv.scenes.registry import register

#: Unity (x, y, z) -> world (x, z, y). Symmetric and its own inverse.
UNITY_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
#: Camera height above ``agent.position`` (m) for the default standing agent, used when the
#: metadata has no ``cameraPosition``.
CAMERA_OFFSET = 0.675
#: AI2-THOR defaults used when the metadata lacks them: vertical fov (deg), screen size (px).
DEFAULT_FOV = 90.0
DEFAULT_SCREEN = (300, 300)
#: Default spacing (m) of box-surface samples and of the ProcTHOR floor / wall grids.
BOX_SPACING = 0.02
STRUCTURE_SPACING = 0.05
#: Files at least this large are sniffed by their first bytes only.
_SNIFF_FULL_LIMIT = 50 * 1024 * 1024
_SNIFF_HEAD = 1 << 16


# ---------------------------------------------------------------------------- models
class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class Vec3(BaseModel):
    """A Unity ``{x, y, z}`` (metres or degrees)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    x: float
    y: float
    z: float

    def array(self) -> np.ndarray:
        return np.array([self.x, self.y, self.z])


class AxisAlignedBox(_Model):
    cornerPoints: list[tuple[float, float, float]] | None = None
    center: Vec3 | None = None
    size: Vec3 | None = None


class OrientedBoxModel(_Model):
    cornerPoints: list[tuple[float, float, float]]


class ThorObject(_Model):
    objectId: str
    objectType: str
    position: Vec3
    rotation: Vec3
    axisAlignedBoundingBox: AxisAlignedBox | None = None
    objectOrientedBoundingBox: OrientedBoxModel | None = None
    visible: bool | None = None
    parentReceptacles: list[str] | None = None


class ThorAgent(_Model):
    position: Vec3
    rotation: Vec3
    cameraHorizon: float
    isStanding: bool | None = None


class ThorMetadata(_Model):
    """One ``event.metadata`` dict (only the fields geoenv reads are typed)."""

    objects: list[ThorObject]
    agent: ThorAgent
    cameraPosition: Vec3 | None = None
    fov: float | None = None
    screenWidth: int | None = None
    screenHeight: int | None = None
    sceneName: str | None = None


class HouseRoom(_Model):
    id: str
    roomType: str | None = None
    floorPolygon: list[Vec3]


class HouseWall(_Model):
    id: str
    polygon: list[Vec3]


class HouseObject(_Model):
    id: str
    assetId: str
    position: Vec3
    rotation: Vec3 | None = None
    children: list[HouseObject] = []


class House(_Model):
    """A ProcTHOR house (``rooms``, ``walls``, ``objects``; doors / windows kept raw)."""

    rooms: list[HouseRoom]
    walls: list[HouseWall]
    objects: list[HouseObject] = []
    doors: list[dict[str, Any]] = []
    windows: list[dict[str, Any]] = []


def _loc(loc: Sequence[Any], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _validate(model: type[BaseModel], data: Any, where: str | Path | None, prefix: str) -> Any:
    """Validate ``data``; a ValidationError becomes a typed error naming the dotted field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _loc(err["loc"], prefix) or None
        cls = NonFiniteError if err["type"] == "finite_number" else SceneFormatError
        raise cls(where, field, err["msg"]) from None


# ---------------------------------------------------------------------------- geometry
def unity_to_world(p: np.ndarray) -> np.ndarray:
    """Unity points (..., 3) to world points (swap y and z)."""
    return np.asarray(p, dtype=np.float64)[..., [0, 2, 1]]


def unity_euler_matrix(rot: np.ndarray) -> np.ndarray:
    """Unity Euler angles (x, y, z) in degrees to a Unity-frame rotation ``Ry @ Rx @ Rz``."""
    ax, ay, az = np.radians(np.asarray(rot, dtype=np.float64))
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return ry @ rx @ rz


def unity_rotation_to_world(rot: np.ndarray) -> np.ndarray:
    """Unity Euler angles (degrees) to a proper world rotation ``P R_u P``."""
    return UNITY_TO_WORLD @ unity_euler_matrix(rot) @ UNITY_TO_WORLD


def world_yaw_deg(unity_yaw_deg: float) -> float:
    """World yaw (degrees about +z, counter-clockwise, in [-180, 180)) of a Unity y rotation."""
    return float((-unity_yaw_deg + 180.0) % 360.0 - 180.0)


def thor_camera_pose(
    camera_position_unity: np.ndarray, agent_rotation_unity: np.ndarray, horizon_deg: float
) -> np.ndarray:
    """Camera-to-world (4, 4), OpenCV axes, from a Unity camera position, the agent's Unity
    Euler rotation (degrees) and ``cameraHorizon`` (degrees, positive looks down)."""
    r_u = unity_euler_matrix(agent_rotation_unity) @ unity_euler_matrix([horizon_deg, 0.0, 0.0])
    pose = np.eye(4)
    pose[:3, :3] = UNITY_TO_WORLD @ r_u @ np.diag([1.0, -1.0, 1.0])
    pose[:3, 3] = unity_to_world(camera_position_unity)
    return pose


def thor_intrinsics(fov_deg: float, width: int, height: int) -> np.ndarray:
    """Pinhole K from a vertical field of view (degrees) and the image size (pixels)."""
    fy = (height / 2.0) / np.tan(np.radians(fov_deg) / 2.0)
    return np.array([[fy, 0.0, width / 2.0], [0.0, fy, height / 2.0], [0.0, 0.0, 1.0]])


_CUBE = np.array(list(itertools.product((0.0, 1.0), repeat=3)))  # (8, 3) 0/1 combinations


def fit_box_corners(
    corners: np.ndarray, where: str | Path | None, field: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit ``(center (3,), size (3,), rotation (3, 3))`` to the 8 corners of a box, any order.

    Searches the edges from corner 0 for three mutually perpendicular ones that generate the
    other corners, within 1 mm (or 0.1 % of the box extent if larger). Zero-size dimensions
    are allowed. Raises SceneFormatError when the points are not a rectangular box.
    """
    c = np.asarray(corners, dtype=np.float64)
    if c.shape != (8, 3):
        raise SceneFormatError(where, field, f"expected 8 corner points, got shape {c.shape}")
    extent = float(np.ptp(c, axis=0).max())
    tol = 1e-3 * max(1.0, extent)
    e = c[1:] - c[0]
    lengths = np.linalg.norm(e, axis=1)
    for trio in itertools.combinations(range(7), 3):
        axes = e[list(trio)]
        ln = lengths[list(trio)]
        dots = np.abs(axes @ axes.T)
        mins = np.minimum(ln[:, None], ln[None, :])
        if np.any(np.triu(dots - tol * mins, 1) > 0):
            continue
        gen = c[0] + _CUBE @ axes
        d = cdist(gen, c)
        if d.min(axis=1).max() <= tol and d.min(axis=0).max() <= tol:
            return c.mean(axis=0), ln.copy(), _orthonormal_axes(axes, ln, tol)
    raise SceneFormatError(where, field, "the 8 corner points are not the corners of a box")


def _orthonormal_axes(axes: np.ndarray, ln: np.ndarray, tol: float) -> np.ndarray:
    """Rotation whose columns follow the (near-orthogonal) edge vectors; zero edges filled."""
    m = np.zeros((3, 3))
    ok = ln > tol
    m[:, ok] = (axes[ok] / ln[ok, None]).T
    nz = np.flatnonzero(ok)
    if len(nz) == 0:
        return np.eye(3)
    if len(nz) == 1:
        a = m[:, nz[0]]
        helper = np.eye(3)[int(np.argmin(np.abs(a)))]
        b = np.cross(a, helper)
        b /= np.linalg.norm(b)
        zeros = np.flatnonzero(~ok)
        m[:, zeros[0]], m[:, zeros[1]] = b, np.cross(a, b)
    elif len(nz) == 2:
        m[:, np.flatnonzero(~ok)[0]] = np.cross(m[:, nz[0]], m[:, nz[1]])
    u, _, vt = np.linalg.svd(m)  # nearest orthonormal matrix
    r = u @ vt
    if np.linalg.det(r) < 0:
        r[:, 2] = -r[:, 2]  # a box is symmetric: flipping one axis is the same box
    return r


# ---------------------------------------------------------------------------- AI2-THOR
def _object_box(
    o: ThorObject, where: str | Path | None, field: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    if o.objectOrientedBoundingBox is not None:
        f = f"{field}.objectOrientedBoundingBox.cornerPoints"
        corners = unity_to_world(np.asarray(o.objectOrientedBoundingBox.cornerPoints))
        return (*fit_box_corners(corners, where, f), "objectOrientedBoundingBox")
    box = o.axisAlignedBoundingBox
    f = f"{field}.axisAlignedBoundingBox"
    if box is None:
        raise SceneFormatError(where, f, "object has neither an oriented nor an axis-aligned box")
    if box.center is not None and box.size is not None:
        size = unity_to_world(box.size.array())
        if np.any(size < 0):
            raise SceneFormatError(where, f"{f}.size", f"negative box size {box.size}")
        return unity_to_world(box.center.array()), size, np.eye(3), "axisAlignedBoundingBox"
    if box.cornerPoints:
        pts = unity_to_world(np.asarray(box.cornerPoints))
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return (lo + hi) / 2, hi - lo, np.eye(3), "axisAlignedBoundingBox"
    raise SceneFormatError(where, f, "axis-aligned box has neither center+size nor cornerPoints")


def _thor_object(
    o: ThorObject, raw: Mapping[str, Any], where: str | Path | None, field: str, spacing: float
) -> tuple[SceneObject, bool]:
    center, size, rot, source = _object_box(o, where, field)
    points = box_surface_points(center, size, rot, spacing)
    attrs = {k: raw[k] for k in sorted(raw) if k not in ("position", "rotation")}
    urot = o.rotation.array()
    attrs.update(
        position=unity_to_world(o.position.array()).tolist(),
        position_unity=o.position.model_dump(),
        rotation=world_yaw_deg(o.rotation.y),
        rotation_unity=o.rotation.model_dump(),
        rotation_matrix=unity_rotation_to_world(urot).tolist(),
        box={
            "center": center.tolist(),
            "size": size.tolist(),
            "rotation": rot.tolist(),
            "source": source,
        },
    )
    return SceneObject(o.objectId, o.objectType, points, attrs), bool(np.any(size <= 0))


def _thor_frame(
    meta: ThorMetadata,
    raw: Mapping[str, Any],
    index: int,
    where: str | Path | None,
    prefix: str,
    options: Mapping[str, Any],
    notes: list[str],
) -> Frame:
    agent = meta.agent
    if meta.cameraPosition is not None:
        cam = meta.cameraPosition.array()
    else:
        off = options.get("camera_offset")
        if off is None:
            off = 0.0 if agent.isStanding is False else CAMERA_OFFSET
        cam = agent.position.array() + np.array([0.0, float(off), 0.0])
        notes.append(
            f"{prefix or 'metadata'}: no cameraPosition; camera placed {off} m above agent.position"
        )
    fov = options.get("fov", meta.fov)
    w = options.get("width", meta.screenWidth)
    h = options.get("height", meta.screenHeight)
    if fov is None or w is None or h is None:
        fov = DEFAULT_FOV if fov is None else fov
        w = DEFAULT_SCREEN[0] if w is None else w
        h = DEFAULT_SCREEN[1] if h is None else h
        notes.append(
            f"{prefix or 'metadata'}: fov / screen size missing; using {fov} deg, {w}x{h} px"
        )
    if not 0.0 < float(fov) < 180.0:
        raise SceneFormatError(where, _loc(["fov"], prefix), f"fov must be in (0, 180), got {fov}")
    k = check_intrinsics(thor_intrinsics(float(fov), int(w), int(h)), w, h, where, "fov")
    extras = {
        "agent_position": unity_to_world(agent.position.array()).tolist(),
        "agent_yaw_deg": world_yaw_deg(agent.rotation.y),
        "camera_horizon_deg": agent.cameraHorizon,
        "fov_deg": float(fov),
    }
    for key in ("lastAction", "lastActionSuccess", "sceneName"):
        if key in raw:
            extras[key] = raw[key]
    return Frame(
        index=index,
        pose=thor_camera_pose(cam, agent.rotation.array(), agent.cameraHorizon),
        K=k,
        width=int(w),
        height=int(h),
        name=f"event_{index}",
        extras=extras,
    )


def _short(ids: Sequence[str], n: int = 10) -> str:
    ids = sorted(ids, key=natural_key)
    more = f" (+{len(ids) - n} more)" if len(ids) > n else ""
    return ", ".join(ids[:n]) + more


def scene_from_metadata(
    data: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    where: str | Path | None = None,
    *,
    events_key: str | None = None,
    scene_id: str | None = None,
    spacing: float = BOX_SPACING,
    **options: Any,
) -> Scene:
    """Scene from one AI2-THOR ``event.metadata`` dict or a list of them (a trajectory).

    Objects come from the first event; every event gives a frame. Object-set differences and
    moved objects in later events are recorded in ``metadata["notes"]``. Options: ``fov``,
    ``width``, ``height`` (override the metadata), ``camera_offset`` (m, when there is no
    ``cameraPosition``), ``spacing`` (box-surface sample spacing, m).
    """
    unknown = sorted(set(options) - {"fov", "width", "height", "camera_offset"})
    if unknown:
        raise TypeError(f"ai2thor: unknown options {unknown}")
    if spacing <= 0:
        raise ValueError(f"spacing must be positive, got {spacing}")
    single = isinstance(data, Mapping)
    raws = [data] if single else list(data)
    if not raws:
        raise SceneFormatError(where, events_key, "no events")
    notes: list[str] = []
    metas: list[ThorMetadata] = []
    prefixes: list[str] = []
    for i, raw in enumerate(raws):
        prefix = "" if single else f"{events_key or ''}[{i}]"
        if not isinstance(raw, Mapping):
            raise SceneFormatError(where, prefix, "expected an event metadata object")
        metas.append(_validate(ThorMetadata, raw, where, prefix))
        prefixes.append(prefix)

    first, raw0 = metas[0], raws[0]
    objects: list[SceneObject] = []
    degenerate: list[str] = []
    seen: set[str] = set()
    for j, o in enumerate(first.objects):
        field = _loc(["objects", j], prefixes[0])
        if o.objectId in seen:
            raise SceneFormatError(where, f"{field}.objectId", f"duplicate id {o.objectId!r}")
        seen.add(o.objectId)
        obj, flat = _thor_object(o, raw0["objects"][j], where, field, spacing)
        objects.append(obj)
        if flat:
            degenerate.append(o.objectId)
    if degenerate:
        notes.append(
            f"{len(degenerate)} object(s) with a zero-size box dimension kept (sampled as a "
            f"flat box): {_short(degenerate)}"
        )
    pos0 = {o.objectId: o.position.array() for o in first.objects}
    for i, m in enumerate(metas[1:], start=1):
        ids = {o.objectId for o in m.objects}
        added, missing = ids - seen, seen - ids
        if added or missing:
            notes.append(
                f"event {i}: object set differs from event 0 (added: {_short(list(added))}; "
                f"missing: {_short(list(missing))}); objects are taken from event 0"
            )
        moved = [
            o.objectId
            for o in m.objects
            if o.objectId in pos0 and np.abs(o.position.array() - pos0[o.objectId]).max() > 1e-3
        ]
        if moved:
            notes.append(f"event {i}: objects moved since event 0: {_short(moved)}")

    frames = [
        _thor_frame(m, r, i, where, p, options, notes)
        for i, (m, r, p) in enumerate(zip(metas, raws, prefixes, strict=True))
    ]
    sid = scene_id or first.sceneName or (source_label(where) if where else "ai2thor")
    meta = {
        "source_format": "ai2thor",
        "source_path": None if where is None else str(where),
        "notes": notes,
        "scene_name": first.sceneName,
        "n_events": len(metas),
        "axis_convention": "(x, y, z)_unity -> (x, z, y)_world",
        "box_spacing": spacing,
    }
    return Scene(sid, objects, frames, metadata=meta)


def from_event(event: Any, **options: Any) -> Scene:
    """Scene from a live ``ai2thor`` step result (anything with a ``.metadata`` dict), or a
    sequence of them. ai2thor itself is never imported. Options as :func:`scene_from_metadata`.
    """
    events = event if isinstance(event, Sequence) else [event]
    datas = []
    for i, ev in enumerate(events):
        meta = getattr(ev, "metadata", None)
        if not isinstance(meta, Mapping):
            raise SceneFormatError("<event>", f"[{i}].metadata", "event has no metadata dict")
        datas.append(meta)
    data: Any = datas[0] if not isinstance(event, Sequence) else datas
    return scene_from_metadata(data, "<event>", **options)


def _is_thor_meta(d: Any) -> bool:
    return (
        isinstance(d, Mapping)
        and isinstance(d.get("objects"), list)
        and isinstance(d.get("agent"), Mapping)
    )


def _is_house(d: Any) -> bool:
    return isinstance(d, Mapping) and isinstance(d.get("rooms"), list) and "walls" in d


# One parsed JSON kept between the "ai2thor" and "procthor" sniffers and the loader, keyed on
# the file's path and a hash of its bytes, so a file is parsed once; the loader takes it.
_SNIFF_CACHE: dict[tuple[str, bytes], Any] = {}


def _json_key(path: Path, raw: bytes) -> tuple[str, bytes]:
    return (str(path.resolve()), hashlib.blake2b(raw, digest_size=16).digest())


def _sniff_json(path: Path, check: Any, keys: tuple[bytes, ...]) -> bool:
    """Cheap JSON sniff: suffix, first byte, key names in the head, then a full parse if the
    file is smaller than 50 MB (else the head's key names decide)."""
    try:
        if not path.is_file() or path.suffix.lower() != ".json":
            return False
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_HEAD)
        s = head.lstrip()
        if s[:1] not in (b"{", b"["):
            return False
        if path.stat().st_size >= _SNIFF_FULL_LIMIT:
            return all(k in head for k in keys)
        if not any(k in head for k in keys):
            return False
        raw = path.read_bytes()
        key = _json_key(path, raw)
        if key not in _SNIFF_CACHE:
            _SNIFF_CACHE.clear()
            _SNIFF_CACHE[key] = json.loads(raw)
        return bool(check(_SNIFF_CACHE[key]))
    except (OSError, ValueError, RecursionError):
        return False


def _thor_shape(d: Any) -> bool:
    if _is_thor_meta(d):
        return True
    if isinstance(d, Mapping) and isinstance(d.get("events"), list):
        d = d["events"]
    return isinstance(d, list) and len(d) > 0 and _is_thor_meta(d[0])


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
        cached = _SNIFF_CACHE.pop(_json_key(path, raw), None)
        return json.loads(raw) if cached is None else cached
    except json.JSONDecodeError as exc:
        raise SceneFormatError(path, None, f"invalid JSON: {exc}") from None
    except OSError as exc:
        raise SceneFormatError(path, None, f"cannot read: {exc}") from None


@register(
    "ai2thor",
    "AI2-THOR event metadata JSON (one event, a list, or {'events': [...]})",
    sniff=lambda p: _sniff_json(p, _thor_shape, (b'"objects"', b'"agent"')),
)
def load_ai2thor(path: Path, **options: Any) -> Scene:
    """Options: ``spacing`` (m), ``fov`` (deg), ``width``, ``height`` (px), ``camera_offset``."""
    data = _read_json(path)
    key = None
    if isinstance(data, Mapping) and "events" in data and "agent" not in data:
        if not isinstance(data["events"], list):
            raise SceneFormatError(path, "events", "expected a list of event metadata")
        data, key = data["events"], "events"
    elif not isinstance(data, Mapping | list):
        raise SceneFormatError(path, None, "expected an event metadata object or a list")
    return scene_from_metadata(data, path, events_key=key, scene_id=source_label(path), **options)


# ---------------------------------------------------------------------------- ProcTHOR
def _grid_in_polygon(poly2: shapely.Polygon, spacing: float) -> np.ndarray:
    """(n, 2) points of the global ``spacing`` grid inside or on ``poly2``, plus its vertices."""
    x0, y0, x1, y1 = poly2.bounds
    xs = np.arange(np.ceil(x0 / spacing - 1e-9), np.floor(x1 / spacing + 1e-9) + 1) * spacing
    ys = np.arange(np.ceil(y0 / spacing - 1e-9), np.floor(y1 / spacing + 1e-9) + 1) * spacing
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.intersects_xy(shapely.buffer(poly2, 1e-9), gx, gy)
    verts = np.asarray(poly2.exterior.coords)[:-1]
    pts = np.concatenate([np.column_stack([gx[inside], gy[inside]]), verts])
    return np.unique(np.round(pts, 9), axis=0)


def _check_polygon(
    poly: shapely.Polygon, where: str | Path | None, field: str, n: int
) -> shapely.Polygon:
    if n < 3:
        raise InvalidGeometryError(where, field, f"polygon needs at least 3 vertices, got {n}")
    if not poly.is_valid or poly.area <= 0:
        reason = shapely.is_valid_reason(poly) if not poly.is_valid else "zero area"
        raise InvalidGeometryError(where, field, f"invalid polygon ({reason})")
    return poly


def floor_points(
    vertices_unity: np.ndarray, where: str | Path | None, field: str, spacing: float
) -> tuple[np.ndarray, float]:
    """World floor points of a Unity floor polygon (grid + vertices) and the floor height."""
    v = unity_to_world(vertices_unity)
    poly = _check_polygon(shapely.Polygon(v[:, :2]) if len(v) >= 3 else None, where, field, len(v))
    z = float(v[:, 2].mean())
    xy = _grid_in_polygon(poly, spacing)
    return np.column_stack([xy, np.full(len(xy), z)]), float(np.ptp(v[:, 2]))


def wall_points(
    vertices_unity: np.ndarray, where: str | Path | None, field: str, spacing: float
) -> np.ndarray:
    """World points sampled on a planar wall polygon (Unity vertices): a ``spacing`` grid in
    the wall plane anchored at the first vertex (axes: first edge, then in-plane normal), plus
    the vertices."""
    v = unity_to_world(vertices_unity)
    if len(v) < 3:
        raise InvalidGeometryError(where, field, f"polygon needs at least 3 vertices, got {len(v)}")
    nxt = np.roll(v, -1, axis=0)
    normal = np.array(
        [
            np.sum((v[:, 1] - nxt[:, 1]) * (v[:, 2] + nxt[:, 2])),
            np.sum((v[:, 2] - nxt[:, 2]) * (v[:, 0] + nxt[:, 0])),
            np.sum((v[:, 0] - nxt[:, 0]) * (v[:, 1] + nxt[:, 1])),
        ]
    )  # Newell's method
    nn = np.linalg.norm(normal)
    if nn < 1e-12:
        raise InvalidGeometryError(where, field, "degenerate (zero-area) wall polygon")
    normal /= nn
    rel = v - v[0]
    off = np.abs(rel @ normal).max()
    if off > 1e-3:
        raise InvalidGeometryError(where, field, f"wall polygon is not planar ({off:.3g} m off)")
    edges = nxt - v
    el = np.linalg.norm(edges, axis=1)
    u = edges[int(np.flatnonzero(el > 1e-9)[0])]
    u = u - (u @ normal) * normal
    u /= np.linalg.norm(u)
    w = np.cross(normal, u)
    st = np.column_stack([rel @ u, rel @ w])
    poly = _check_polygon(shapely.Polygon(st), where, field, len(v))
    st = _grid_in_polygon(poly, spacing)
    return v[0] + st[:, :1] * u + st[:, 1:] * w


def _asset_size(value: Any, asset: str) -> np.ndarray:
    if isinstance(value, Mapping):
        value = [value.get("x"), value.get("y"), value.get("z")]
    try:
        s = np.asarray(value, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise SceneFormatError(None, f"asset_sizes[{asset!r}]", "expected (x, y, z)") from None
    if not np.isfinite(s).all() or np.any(s < 0):
        raise SceneFormatError(None, f"asset_sizes[{asset!r}]", f"bad size {s.tolist()}")
    return s


def _flatten_objects(
    objs: Sequence[HouseObject], prefix: str, parent: str | None
) -> list[tuple[HouseObject, str, str | None]]:
    out = []
    for i, o in enumerate(objs):
        field = f"{prefix}[{i}]"
        out.append((o, field, parent))
        out.extend(_flatten_objects(o.children, f"{field}.children", o.id))
    return out


def _house_label(o: HouseObject) -> str:
    """Object type: the id up to its first ``|`` (ProcTHOR ids are ``Type|room|n``), else the
    assetId up to its first ``_``."""
    if "|" in o.id and o.id.split("|", 1)[0]:
        return o.id.split("|", 1)[0]
    return o.assetId.split("_", 1)[0] or o.assetId


def scene_from_house(
    data: Mapping[str, Any],
    where: str | Path | None = None,
    *,
    scene_id: str | None = None,
    asset_sizes: Mapping[str, Any] | None = None,
    spacing: float = BOX_SPACING,
    floor_spacing: float = STRUCTURE_SPACING,
    wall_spacing: float = STRUCTURE_SPACING,
) -> Scene:
    """Scene from a ProcTHOR house dict (see the module docstring for what becomes what)."""
    if min(spacing, floor_spacing, wall_spacing) <= 0:
        raise ValueError("spacings must be positive")
    house: House = _validate(House, data, where, "")
    notes: list[str] = []
    objects: list[SceneObject] = []
    for i, room in enumerate(house.rooms):
        field = f"rooms[{i}].floorPolygon"
        verts = np.array([p.array() for p in room.floorPolygon]).reshape(-1, 3)
        pts, spread = floor_points(verts, where, field, floor_spacing)
        if spread > 1e-3:
            notes.append(f"{field}: floor not level ({spread:.3g} m); sampled at mean height")
        attrs = {k: v for k, v in data["rooms"][i].items() if k != "floorPolygon"}
        attrs["floor_polygon"] = unity_to_world(verts).tolist()
        objects.append(SceneObject(room.id, "floor", pts, attrs))
    for i, wall in enumerate(house.walls):
        field = f"walls[{i}].polygon"
        verts = np.array([p.array() for p in wall.polygon]).reshape(-1, 3)
        attrs = {k: v for k, v in data["walls"][i].items() if k != "polygon"}
        attrs["polygon"] = unity_to_world(verts).tolist()
        objects.append(
            SceneObject(wall.id, "wall", wall_points(verts, where, field, wall_spacing), attrs)
        )

    sizes = {str(k): _asset_size(v, str(k)) for k, v in (asset_sizes or {}).items()}
    placements: list[dict[str, Any]] = []
    unsized: list[str] = []
    for o, field, parent in _flatten_objects(house.objects, "objects", None):
        urot = np.zeros(3) if o.rotation is None else o.rotation.array()
        pos = unity_to_world(o.position.array())
        rot_w = unity_rotation_to_world(urot)
        extra = dict(o.model_extra or {})
        rec = {
            "id": o.id,
            "assetId": o.assetId,
            "label": _house_label(o),
            "position": pos.tolist(),
            "yaw_deg": world_yaw_deg(float(urot[1])),
            "rotation_unity": {"x": urot[0], "y": urot[1], "z": urot[2]},
            "parent": parent,
            "field": field,
            **extra,
        }
        placements.append(rec)
        if asset_sizes is None:
            continue
        if o.assetId not in sizes:
            unsized.append(o.id)
            continue
        size = unity_to_world(sizes[o.assetId])
        attrs = {k: v for k, v in rec.items() if k not in ("label", "yaw_deg")}
        attrs["rotation"] = rec["yaw_deg"]
        attrs["rotation_matrix"] = rot_w.tolist()
        attrs["box"] = {
            "center": pos.tolist(),
            "size": size.tolist(),
            "rotation": rot_w.tolist(),
            "source": "asset_sizes",
        }
        pts = box_surface_points(pos, size, rot_w, spacing)
        objects.append(SceneObject(o.id, rec["label"], pts, attrs))
    if asset_sizes is None and placements:
        notes.append(
            f"{len(placements)} placed object(s) have no geometry without the asset database "
            "(pass asset_sizes=); see metadata['object_placements']"
        )
    if unsized:
        notes.append(
            f"{len(unsized)} placed object(s) with an assetId missing from asset_sizes kept "
            f"as placements only: {_short(unsized)}"
        )
    for kind in ("doors", "windows"):
        n = len(getattr(house, kind))
        if n:
            notes.append(f"{n} {kind} not modelled as geometry (kept raw in metadata['{kind}'])")

    ids = [o.id for o in objects]
    dup = sorted({i for i in ids if ids.count(i) > 1}, key=natural_key)
    if dup:
        raise SceneFormatError(where, "id", f"ids used twice (rooms / walls / objects): {dup[:5]}")
    meta = {
        "source_format": "procthor",
        "source_path": None if where is None else str(where),
        "notes": notes,
        "object_placements": placements,
        "doors": list(data.get("doors", [])),
        "windows": list(data.get("windows", [])),
        "axis_convention": "(x, y, z)_unity -> (x, z, y)_world",
    }
    sid = scene_id or (source_label(where) if where else "procthor")
    return Scene(sid, objects, metadata=meta)


@register(
    "procthor",
    "ProcTHOR house JSON (rooms, walls, object placements)",
    sniff=lambda p: _sniff_json(p, _is_house, (b'"rooms"', b'"walls"')),
)
def load_procthor(path: Path, **options: Any) -> Scene:
    """Options: ``asset_sizes`` ({assetId: (x, y, z)} Unity axes, m), ``spacing`` (object box
    samples, m), ``floor_spacing`` / ``wall_spacing`` (m)."""
    data = _read_json(path)
    if not isinstance(data, Mapping):
        raise SceneFormatError(path, None, "expected a house object with rooms and walls")
    return scene_from_house(data, path, scene_id=source_label(path), **options)
