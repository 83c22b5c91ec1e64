"""Visibility engine: what each camera frame actually sees.

For every frame of a scene it computes, on a raster ``downscale`` times coarser than the frame's
image (1/4 resolution by default):

- an **instance map** (raster pixel -> object index in ``scene.object_ids``; ``-1`` nothing or
  a surface of no object, ``-2`` an inserted occluder),
- a **depth map** (metres along the camera z axis; ``inf`` where the ray hits nothing),
- per object: **visible pixels** (raster pixels where it is the nearest surface),
  **unoccluded pixels** (raster pixels it would cover if nothing else were in the scene: the
  same rays cast against that object alone), the **visible fraction** (visible / unoccluded,
  0 when the object covers no pixel), the **truncation** (fraction of the object's points
  outside the view frustum: behind the near plane or projecting outside the image; at most
  ``MAX_TRUNCATION_POINTS`` points per object, an even stride), the
  **visibility** ``visible_fraction x (1 - truncation)`` (the estimate of how much of the
  whole object is seen, used by every "is A visible" rule) and the **2D box** of its visible
  pixels in full-resolution pixel coordinates.

Geometry. A scene with a mesh and a triangle-to-instance table (``scene.mesh_face_instance``)
is ray cast with open3d's ``RaycastingScene`` (Embree): one ray per raster pixel centre,
``cast_rays`` for the nearest surface and ``list_intersections`` for every surface on the ray
(the unoccluded coverage of each object). Other scenes are drawn from their points with a numpy
z-buffer splat: each point is a disc facing the camera whose radius (metres) is the median,
over the points of its object, of the distance to the 6th nearest neighbour (``SPLAT_KNN``);
a disc of that radius holds about 6 samples, so a surface sampled uniformly at random is
covered to about 1 - exp(-6) = 99.75 % and a regular grid fully. The projected radius is clamped to
[``MIN_SPLAT_PX``, ``MAX_SPLAT_PX``] raster pixels, and an object's discs are clipped to its
projected box (so the splats fill holes without fattening its outline). Nearest fragment wins;
ties go to the lower point index.

Pixels. Raster pixel (i, j) covers [i, i + 1) x [j, j + 1) of the raster, and its ray passes
through its centre; the raster covers the frame's image exactly (K scaled by raster / full size
per axis). K's pixel coordinates put the centre of full-resolution pixel (i, j) at
(i + PIXEL_CENTER, j + PIXEL_CENTER), PIXEL_CENTER = 0.5, so the image is [0, width) x
[0, height), as in :meth:`geoenv.frames.Frame.in_frustum`.

Cache. Results are cached in memory per scene (keyed by frame index and settings) and, when the
scene came from a file (``metadata["source_path"]``) or a ``cache_dir`` is given, saved once
every frame is computed as ``.geoenv-cache/<name>.visibility-<key>.npz`` beside the source
(or in ``cache_dir``); ``key`` hashes the scene's content, its mesh and cloud, the settings and
:data:`VISIBILITY_VERSION`, so a second run reads the file instead of casting.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from scipy import ndimage
from scipy.spatial import cKDTree

from geoenv.frames import Frame
from geoenv.scene import Scene

#: Bump when the rules change: it is part of the disk-cache key.
VISIBILITY_VERSION = 1
#: Pixel-centre convention of K: the full-resolution pixel (i, j) has its centre at
#: (i + PIXEL_CENTER, j + PIXEL_CENTER), so the image covers [PIXEL_CENTER - 0.5, width +
#: PIXEL_CENTER - 0.5). 0.5 matches :meth:`geoenv.frames.Frame.in_frustum` (0 <= u < width);
#: OpenCV's convention (docs/conventions.md: top-left pixel centre at (0, 0)) is 0.0, a shift
#: of half a full-resolution pixel, to be switched together with ``in_frustum``.
PIXEL_CENTER = 0.5
#: Default raster downscale factor: visibility is computed at 1/4 of the image resolution.
DEFAULT_DOWNSCALE = 4
#: Default threshold of "A is visible": its visibility (visible fraction x (1 - truncation)).
MIN_VISIBLE_FRAC = 0.1
#: Near plane (m): rays start there and points closer than it are not drawn.
NEAR_M = 0.05
#: Splat radius rule: median distance to the K-th nearest neighbour within the object.
SPLAT_KNN = 6
#: Smallest projected splat radius (raster px): a point always covers the pixel it falls in.
MIN_SPLAT_PX = float(np.sqrt(0.5))
#: Largest projected splat radius (raster px); bounds the work of points very near the camera.
MAX_SPLAT_PX = 64.0
#: Instance value of pixels that show an inserted occluder (:func:`occluder_box`).
OCCLUDER = -2
#: Instance value of pixels with no surface or a surface of no object.
NOTHING = -1
#: Truncation is measured on at most this many points per object (an even stride through them).
MAX_TRUNCATION_POINTS = 4096
#: Fragment candidates per splat chunk (bounds memory).
_CHUNK = 4_000_000


@dataclass(frozen=True)
class VisibilitySettings:
    """How visibility is computed. ``downscale``: raster = image / downscale (integer >= 1);
    ``point_radius``: splat radius in metres for point clouds (None: per-object k-NN rule);
    ``near``: near plane in metres."""

    downscale: int = DEFAULT_DOWNSCALE
    point_radius: float | None = None
    near: float = NEAR_M

    def __post_init__(self) -> None:
        if int(self.downscale) != self.downscale or self.downscale < 1:
            raise ValueError(f"downscale must be an integer >= 1, got {self.downscale!r}")
        if self.point_radius is not None and not self.point_radius > 0:
            raise ValueError(f"point_radius must be positive, got {self.point_radius!r}")
        if not self.near > 0:
            raise ValueError(f"near must be positive, got {self.near!r}")

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


# ---------------------------------------------------------------------------- rays
def raster_camera(frame: Frame, downscale: int) -> tuple[int, int, np.ndarray]:
    """``(width, height, K)`` of the raster of ``frame`` at 1/``downscale`` resolution; K is
    scaled per axis so that the raster covers the image exactly, and expressed in the raster's
    extent coordinates (raster pixel (i, j) spans [i, i + 1) x [j, j + 1))."""
    w = max(1, round(frame.width / downscale))
    h = max(1, round(frame.height / downscale))
    k = frame.K.copy()
    k[:2, 2] += 0.5 - PIXEL_CENTER  # image extent starts at u = v = PIXEL_CENTER - 0.5
    k[0] *= w / frame.width
    k[1] *= h / frame.height
    k[2] = (0.0, 0.0, 1.0)
    return w, h, k


def pixel_rays(frame: Frame, width: int, height: int, k: np.ndarray) -> np.ndarray:
    """World directions (h * w, 3) of the rays through the raster pixel centres, row-major,
    scaled so that their camera-z component is 1 (a ray parameter t is then a depth)."""
    jj, ii = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    x = (ii.ravel() - k[0, 2] - k[0, 1] * ((jj.ravel() - k[1, 2]) / k[1, 1])) / k[0, 0]
    y = (jj.ravel() - k[1, 2]) / k[1, 1]
    d = np.column_stack([x, y, np.ones_like(x)])
    return d @ frame.pose[:3, :3].T


@dataclass
class RayHits:
    """Raw per-pixel result of one frame (flattened row-major, ``n = width * height``).

    ``depth`` (n,) metres along camera z (inf: nothing); ``obj`` (n,) object index, -1 nothing
    or no object, -2 inserted occluder; ``prim`` (n,) mesh face index or point index (-1
    nothing; for occluder pixels the face of the occluder mesh); ``bary`` (n, 2) barycentric
    (u, v) of the hit in its face (meshes only); ``normal`` (n, 3) unit world normal of the hit
    face (meshes and occluders; zeros for splats); ``coverage`` (N,) unoccluded raster pixels
    per object; ``source`` (n,) 0 nothing, 1 scene mesh, 2 splat, 3 occluder; ``dirs`` (n, 3)
    the world ray directions (camera-z component 1)."""

    width: int
    height: int
    depth: np.ndarray
    obj: np.ndarray
    prim: np.ndarray
    bary: np.ndarray
    normal: np.ndarray
    coverage: np.ndarray
    source: np.ndarray
    dirs: np.ndarray


# ---------------------------------------------------------------------------- geometry
def raycast_threads() -> int:
    """Threads per ray cast: ``GEOENV_RAYCAST_THREADS`` (0 = all cores, Embree's default).
    Dataset jobs with several workers set it to 1 so workers do not oversubscribe the cores;
    the hits are the same whatever the thread count."""
    try:
        return max(0, int(os.environ.get("GEOENV_RAYCAST_THREADS", "0")))
    except ValueError:
        return 0


class _MeshCaster:
    """A triangle mesh in an open3d RaycastingScene, vertices relative to ``origin`` (float32
    precision is then relative to the scene, not to the world's origin)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, origin: np.ndarray) -> None:
        import open3d as o3d

        self.origin = origin
        v = (np.asarray(vertices, dtype=np.float64) - origin).astype(np.float32)
        f = np.asarray(faces, dtype=np.uint32)
        self.scene = o3d.t.geometry.RaycastingScene(nthreads=raycast_threads())
        self.scene.add_triangles(o3d.core.Tensor(v), o3d.core.Tensor(f))
        self._o3d = o3d

    def rays(self, eye: np.ndarray, dirs: np.ndarray, near: float) -> np.ndarray:
        start = (eye - self.origin)[None, :] + near * dirs
        return np.concatenate([start, dirs], axis=1).astype(np.float32)

    def cast(self, rays: np.ndarray) -> dict[str, np.ndarray]:
        r = self.scene.cast_rays(self._o3d.core.Tensor(rays), nthreads=raycast_threads())
        return {k: r[k].numpy() for k in ("t_hit", "primitive_ids", "primitive_uvs",
                                          "primitive_normals")}  # fmt: skip

    def list_hits(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ray ids, face ids) of every intersection along every ray."""
        r = self.scene.list_intersections(self._o3d.core.Tensor(rays), nthreads=raycast_threads())
        return r["ray_ids"].numpy().astype(np.int64), r["primitive_ids"].numpy().astype(np.int64)


def splat_radius(points: np.ndarray, owner: np.ndarray, knn: int = SPLAT_KNN) -> np.ndarray:
    """Per-point splat radius (m): for each owner group (object index, -1 unlabelled), the
    median distance of its points to their ``knn``-th nearest neighbour in the group (fewer
    neighbours in groups of fewer than knn + 1 points; a single point takes the median radius
    of the other groups, or 0)."""
    out = np.zeros(len(points))
    order = np.argsort(owner, kind="stable")
    groups, starts = np.unique(owner[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    radii = {}
    for g, s, e in zip(groups.tolist(), starts.tolist(), ends.tolist(), strict=True):
        idx = order[s:e]
        k = min(knn, len(idx) - 1)
        if k < 1:
            continue
        d, _ = cKDTree(points[idx]).query(points[idx], k=k + 1)
        radii[g] = float(np.median(d[:, k]))
    fallback = float(np.median(list(radii.values()))) if radii else 0.0
    for g, s, e in zip(groups.tolist(), starts.tolist(), ends.tolist(), strict=True):
        out[order[s:e]] = radii.get(g, fallback)
    return out


def splat(
    points: np.ndarray,
    radius: np.ndarray,
    owner: np.ndarray,
    frame: Frame,
    width: int,
    height: int,
    k: np.ndarray,
    near: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Fragments of the points drawn as camera-facing discs: ``(pixel (m,), point (m,))``,
    pixel = j * width + i. Disc of point p: raster pixels whose centre lies within
    (fx r / z, fy r / z) of p's projection (an ellipse when fx != fy), clamped to
    [MIN_SPLAT_PX, MAX_SPLAT_PX]; points with camera z <= ``near`` are skipped. The discs of an
    object's points (``owner >= 0``) are clipped to the object's projected box (the box of its
    projected points in front of the near plane, grown by half a pixel), so splats fill holes
    without growing the object beyond its outline."""
    r_, t_ = frame.pose[:3, :3], frame.pose[:3, 3]
    cam = (points - t_) @ r_
    z = cam[:, 2]
    front = np.flatnonzero(z > near)
    z = z[front]
    xn, yn = cam[front, 0] / z, cam[front, 1] / z
    u = k[0, 0] * xn + k[0, 1] * yn + k[0, 2]
    v = k[1, 1] * yn + k[1, 2]
    # Projected box of each owner (slot 0: unlabelled points, not clipped).
    own = owner[front].astype(np.int64) + 1
    n_own = int(owner.max()) + 2 if len(owner) else 1
    lo_u, hi_u = np.full(n_own, np.inf), np.full(n_own, -np.inf)
    lo_v, hi_v = np.full(n_own, np.inf), np.full(n_own, -np.inf)
    np.minimum.at(lo_u, own, u)
    np.maximum.at(hi_u, own, u)
    np.minimum.at(lo_v, own, v)
    np.maximum.at(hi_v, own, v)
    lo_u, lo_v, hi_u, hi_v = lo_u - 0.5, lo_v - 0.5, hi_u + 0.5, hi_v + 0.5
    lo_u[0] = lo_v[0] = -np.inf
    hi_u[0] = hi_v[0] = np.inf
    rn = radius[front] / z
    ax = np.clip(k[0, 0] * rn, MIN_SPLAT_PX, MAX_SPLAT_PX)
    ay = np.clip(k[1, 1] * rn, MIN_SPLAT_PX, MAX_SPLAT_PX)
    keep = (u + ax >= 0) & (u - ax <= width) & (v + ay >= 0) & (v - ay <= height)
    front, u, v, ax, ay, own = front[keep], u[keep], v[keep], ax[keep], ay[keep], own[keep]
    half = np.ceil(np.maximum(ax, ay)).astype(np.int64)
    iu, jv = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    pix_parts: list[np.ndarray] = []
    pt_parts: list[np.ndarray] = []
    for b in np.unique(half).tolist():
        sel = np.flatnonzero(half == b)
        g = np.arange(-b, b + 1)
        dj, di = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
        step = max(1, _CHUNK // len(di))
        for s in range(0, len(sel), step):
            q = sel[s : s + step]
            o = own[q, None]
            ci = iu[q, None] + di[None, :]
            cj = jv[q, None] + dj[None, :]
            pu, pv = ci + 0.5, cj + 0.5
            ex = (pu - u[q, None]) / ax[q, None]
            ey = (pv - v[q, None]) / ay[q, None]
            ok = (ex * ex + ey * ey <= 1.0) & (ci >= 0) & (ci < width) & (cj >= 0) & (cj < height)
            ok &= (pu >= lo_u[o]) & (pu <= hi_u[o]) & (pv >= lo_v[o]) & (pv <= hi_v[o])
            rows, cols = np.nonzero(ok)
            pix_parts.append(cj[rows, cols] * width + ci[rows, cols])
            pt_parts.append(front[q[rows]])
    if not pix_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(pix_parts), np.concatenate(pt_parts)


def _coverage(obj: np.ndarray, pix: np.ndarray, n_obj: int, n_pix: int) -> np.ndarray:
    """Distinct pixels per object among (object, pixel) pairs (object >= 0)."""
    keep = obj >= 0
    obj, pix = obj[keep], pix[keep]
    if n_obj * n_pix <= 200_000_000:
        cov = np.zeros((n_obj, n_pix), dtype=bool)
        cov[obj, pix] = True
        return cov.sum(axis=1).astype(np.int64)
    pairs = np.unique(obj.astype(np.int64) * n_pix + pix)
    return np.bincount(pairs // n_pix, minlength=n_obj).astype(np.int64)


def occluder_box(
    center: Sequence[float], size: Sequence[float], yaw: float = 0.0
) -> trimesh.Trimesh:
    """A box mesh (metres, world frame) to insert as an occluder: centre, (sx, sy, sz) extents,
    rotation ``yaw`` (radians) about world z."""
    from geoenv.transforms import rot_z

    pose = np.eye(4)
    pose[:3, :3] = rot_z(float(yaw))
    pose[:3, 3] = np.asarray(center, dtype=np.float64)
    return trimesh.creation.box(extents=np.asarray(size, dtype=np.float64), transform=pose)


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class FrameVisibility:
    """Visibility of every object in one frame (see the module docstring for the rules).

    Raster arrays are (height, width) of the raster; per-object arrays are (N,) in
    ``object_ids`` order; ``bbox`` is (N, 4) ``[u0, v0, u1, v1]`` in full-resolution pixel
    coordinates (edges of the visible raster pixels), ``-1`` rows for objects not visible.
    """

    frame_index: int
    object_ids: tuple[str, ...]
    instance: np.ndarray
    depth: np.ndarray
    visible_px: np.ndarray
    unoccluded_px: np.ndarray
    truncation: np.ndarray
    bbox: np.ndarray
    #: Full-resolution pixels per raster pixel along u and v.
    pixel_size: tuple[float, float] = (1.0, 1.0)
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index.update({o: i for i, o in enumerate(self.object_ids)})

    @property
    def visible_fraction(self) -> np.ndarray:
        """(N,) visible / unoccluded raster pixels (0 where the object covers no pixel)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            f = self.visible_px / self.unoccluded_px
        return np.where(self.unoccluded_px > 0, f, 0.0)

    @property
    def visibility(self) -> np.ndarray:
        """(N,) visible fraction x (1 - truncation): the share of the whole object seen."""
        return self.visible_fraction * (1.0 - self.truncation)

    def index(self, object_id: str) -> int:
        return self._index[str(object_id)]

    def stats(self, object_id: str) -> dict[str, Any]:
        """Plain-number summary of one object (json-serialisable)."""
        i = self.index(object_id)
        box = [float(x) for x in self.bbox[i]]
        return {
            "visible_px": int(self.visible_px[i]),
            "unoccluded_px": int(self.unoccluded_px[i]),
            "visible_fraction": float(self.visible_fraction[i]),
            "truncation": float(self.truncation[i]),
            "visibility": float(self.visibility[i]),
            "bbox_px": box if box[0] >= 0 else None,
        }


def _boxes(inst: np.ndarray, n_obj: int, pixel_size: tuple[float, float]) -> np.ndarray:
    out = np.full((n_obj, 4), -1.0)
    if n_obj == 0:
        return out
    lab = np.where(inst >= 0, inst + 1, 0)
    for i, sl in enumerate(ndimage.find_objects(lab, max_label=n_obj)):
        if sl is not None:
            sv, su = sl
            out[i] = (
                su.start * pixel_size[0],
                sv.start * pixel_size[1],
                su.stop * pixel_size[0],
                sv.stop * pixel_size[1],
            )
    out[out >= 0] -= 0.5 - PIXEL_CENTER  # back to K's pixel coordinates
    return out


# ---------------------------------------------------------------------------- engine
class VisibilityEngine:
    """Casts and caches visibility for one scene and one :class:`VisibilitySettings`.

    Obtain it with :func:`visibility` (one engine per scene and settings). Holds the scene
    weakly (the scene owns the cache, not the other way round).
    """

    def __init__(
        self, scene: Scene, settings: VisibilitySettings, cache_dir: str | Path | None = None
    ) -> None:
        self._scene = weakref.ref(scene)
        self.settings = settings
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.object_ids: tuple[str, ...] = scene.object_ids
        self._obj_index = {o: i for i, o in enumerate(self.object_ids)}
        self._frames: dict[int, FrameVisibility] = {}
        self._by_index: dict[int, Frame] | None = None
        self._disk_checked = False
        self.saved_path: Path | None = None
        self.loaded_from_disk = False
        self.uses_mesh = scene.mesh is not None and scene.mesh_face_instance is not None
        self._mesh: _MeshCaster | None = None
        self._cloud: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._truncation_points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # ---------------------------------------------------------------- scene data
    @property
    def scene(self) -> Scene:
        s = self._scene()
        if s is None:
            raise RuntimeError("the scene of this visibility engine no longer exists")
        return s

    def _instance_to_object(self, inst: np.ndarray) -> np.ndarray:
        """Map instance ids (ints) to object indices (-1 when no object has that id)."""
        inst = np.asarray(inst, dtype=np.int64)
        vals, inv = np.unique(inst, return_inverse=True)
        table = np.array([self._obj_index.get(str(v), NOTHING) for v in vals.tolist()], np.int32)
        return table[inv.reshape(-1)] if len(vals) else np.zeros(0, np.int32)

    @property
    def mesh_caster(self) -> _MeshCaster:
        if self._mesh is None:
            m = self.scene.mesh
            v = np.asarray(m.vertices, dtype=np.float64)
            origin = (v.min(axis=0) + v.max(axis=0)) / 2 if len(v) else np.zeros(3)
            self._mesh = _MeshCaster(v, np.asarray(m.faces), origin)
        return self._mesh

    @property
    def face_object(self) -> np.ndarray:
        """(F,) object index of each mesh face (-1: no object)."""
        return self._instance_to_object(self.scene.mesh_face_instance)

    @property
    def cloud(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(points (n, 3), object index (n,), splat radius (n,) m)`` drawn for point scenes:
        the scene cloud with its instance ids, or else the objects' points."""
        if self._cloud is None:
            s = self.scene
            if s.points is not None and s.instance is not None and len(s.points):
                pts = np.asarray(s.points, dtype=np.float64)
                owner = self._instance_to_object(s.instance)
            else:
                objs = list(s.objects.values())
                pts = np.concatenate([o.points for o in objs]) if objs else np.zeros((0, 3))
                owner = np.repeat(
                    np.arange(len(objs), dtype=np.int32), [len(o.points) for o in objs]
                )
            if self.settings.point_radius is not None:
                rad = np.full(len(pts), float(self.settings.point_radius))
            else:
                rad = splat_radius(pts, owner)
            self._cloud = (pts, owner, rad)
        return self._cloud

    def _trunc_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._truncation_points is None:
            objs = list(self.scene.objects.values())
            parts = [o.points[:: -(-len(o.points) // MAX_TRUNCATION_POINTS)] for o in objs]
            pts = np.concatenate(parts) if parts else np.zeros((0, 3))
            counts = np.array([len(p) for p in parts], dtype=np.int64)
            owner = np.repeat(np.arange(len(objs)), counts)
            self._truncation_points = (pts, owner, counts)
        return self._truncation_points

    def truncation(self, frame: Frame) -> np.ndarray:
        """(N,) fraction of each object's points outside the frustum of ``frame`` (behind the
        near plane, or projecting outside [0, width) x [0, height)); objects with more than
        :data:`MAX_TRUNCATION_POINTS` points are measured on every ceil(n / that)-th point."""
        pts, owner, counts = self._trunc_points()
        inside = frame.in_frustum(pts, near=self.settings.near)
        seen = np.bincount(owner[inside], minlength=len(counts))
        return 1.0 - seen / np.maximum(counts, 1)

    # ---------------------------------------------------------------- casting
    def cast(
        self,
        frame: Frame,
        *,
        downscale: int | None = None,
        occluders: Sequence[trimesh.Trimesh] = (),
        coverage: bool = True,
    ) -> RayHits:
        """Cast the rays of ``frame`` (raster at 1/``downscale``; default: the settings') into
        the scene plus any ``occluders`` (world-frame meshes, instance value -2)."""
        ds = self.settings.downscale if downscale is None else int(downscale)
        near = self.settings.near
        w, h, k = raster_camera(frame, ds)
        n = w * h
        n_obj = len(self.object_ids)
        dirs = pixel_rays(frame, w, h, k)
        eye = frame.position
        depth = np.full(n, np.inf)
        obj = np.full(n, NOTHING, dtype=np.int32)
        prim = np.full(n, -1, dtype=np.int64)
        bary = np.zeros((n, 2), dtype=np.float32)
        normal = np.zeros((n, 3), dtype=np.float32)
        source = np.zeros(n, dtype=np.uint8)
        cov = np.zeros(n_obj, dtype=np.int64)
        if self.uses_mesh:
            mc = self.mesh_caster
            rays = mc.rays(eye, dirs, near)
            r = mc.cast(rays)
            hit = np.isfinite(r["t_hit"])
            face = r["primitive_ids"].astype(np.int64)
            fobj = self.face_object
            depth[hit] = near + r["t_hit"][hit].astype(np.float64)
            prim[hit] = face[hit]
            obj[hit] = fobj[face[hit]]
            bary[hit] = r["primitive_uvs"][hit]
            normal[hit] = r["primitive_normals"][hit]
            source[hit] = 1
            if coverage and n_obj:
                ray_ids, faces = mc.list_hits(rays)
                cov = _coverage(fobj[faces], ray_ids, n_obj, n)
        else:
            pts, owner, rad = self.cloud
            pix, pt = splat(pts, rad, owner, frame, w, h, k, near)
            if len(pix):
                zf = (pts[pt] - eye) @ frame.pose[:3, 2]
                np.minimum.at(depth, pix, zf)
                win = zf == depth[pix]
                best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
                np.minimum.at(best, pix[win], pt[win])
                hit = np.isfinite(depth)
                prim[hit] = best[hit]
                obj[hit] = owner[best[hit]]
                source[hit] = 2
                if coverage and n_obj:
                    cov = _coverage(owner[pt], pix, n_obj, n)
        if len(occluders):
            verts = [np.asarray(m.vertices, dtype=np.float64) for m in occluders]
            offs = np.cumsum([0] + [len(v) for v in verts[:-1]])
            faces = np.concatenate(
                [np.asarray(m.faces) + o for m, o in zip(occluders, offs, strict=True)]
            )
            allv = np.concatenate(verts)
            oc = _MeshCaster(allv, faces, (allv.min(axis=0) + allv.max(axis=0)) / 2)
            r = oc.cast(oc.rays(eye, dirs, near))
            t = near + r["t_hit"].astype(np.float64)
            front = np.isfinite(r["t_hit"]) & (t < depth)
            depth[front] = t[front]
            obj[front] = OCCLUDER
            prim[front] = r["primitive_ids"][front].astype(np.int64)
            bary[front] = r["primitive_uvs"][front]
            normal[front] = r["primitive_normals"][front]
            source[front] = 3
        return RayHits(w, h, depth, obj, prim, bary, normal, cov, source, dirs)

    def _summarise(self, frame: Frame, hits: RayHits, coverage: np.ndarray) -> FrameVisibility:
        n_obj = len(self.object_ids)
        inst = hits.obj.reshape(hits.height, hits.width)
        vis = np.bincount(hits.obj[hits.obj >= 0], minlength=n_obj).astype(np.int64)
        ps = (frame.width / hits.width, frame.height / hits.height)
        return FrameVisibility(
            frame.index,
            self.object_ids,
            inst,
            hits.depth.reshape(hits.height, hits.width).astype(np.float32),
            vis,
            np.asarray(coverage, dtype=np.int64),
            self.truncation(frame),
            _boxes(inst, n_obj, ps),
            ps,
        )

    def compute(self, frame: Frame, occluders: Sequence[trimesh.Trimesh] = ()) -> FrameVisibility:
        """Visibility of ``frame`` (not cached). With ``occluders``, the unoccluded coverage is
        that of the scene alone (occluders belong to no object), reused from the cache when
        the frame is the scene's own."""
        if len(occluders):
            base = self.frame_of(frame)
            hits = self.cast(frame, occluders=occluders, coverage=False)
            return self._summarise(frame, hits, base.unoccluded_px)
        hits = self.cast(frame)
        return self._summarise(frame, hits, hits.coverage)

    # ---------------------------------------------------------------- cached access
    def _scene_frame(self, index: int) -> Frame | None:
        if self._by_index is None:
            self._by_index = {f.index: f for f in self.scene.frames}
        return self._by_index.get(int(index))

    def frame(self, index: int) -> FrameVisibility:
        """Cached visibility of the scene's frame with ``Frame.index == index``."""
        index = int(index)
        hit = self._frames.get(index)
        if hit is not None:
            return hit
        if not self._disk_checked:
            self._disk_checked = True
            self._load()
            hit = self._frames.get(index)
            if hit is not None:
                return hit
        f = self._scene_frame(index)
        if f is None:
            raise KeyError(f"no frame {index!r} in scene {self.scene.id!r}")
        fv = self.compute(f)
        self._frames[index] = fv
        if len(self._frames) == len(self.scene.frames) and self.saved_path is None:
            self.save()
        return fv

    def frame_of(self, frame: Frame) -> FrameVisibility:
        """Visibility of a Frame object: cached when it is one of the scene's frames, computed
        afresh otherwise (a moved or foreign camera)."""
        if self._scene_frame(frame.index) is frame:
            return self.frame(frame.index)
        return self.compute(frame)

    def all_frames(self) -> list[FrameVisibility]:
        """Every frame, in the scene's frame order (computes what is missing, then saves)."""
        return [self.frame(f.index) for f in self.scene.frames]

    def matrix(self, attr: str = "visibility") -> np.ndarray:
        """(n_frames, N) array of a per-object attribute over the scene's frames."""
        fvs = self.all_frames()
        if not fvs:
            return np.zeros((0, len(self.object_ids)))
        return np.stack([np.asarray(getattr(fv, attr), dtype=np.float64) for fv in fvs])

    # ---------------------------------------------------------------- disk cache
    def cache_key(self) -> str:
        """sha256 (16 hex) of the scene content, mesh, cloud, settings and version."""
        s = self.scene
        h = hashlib.sha256()
        h.update(f"v{VISIBILITY_VERSION}\0{self.settings.key()}\0".encode())
        h.update(s.content_hash().encode())
        if self.uses_mesh:
            h.update(np.ascontiguousarray(s.mesh.vertices, dtype=np.float64).tobytes())
            h.update(np.ascontiguousarray(s.mesh.faces, dtype=np.int64).tobytes())
            h.update(np.ascontiguousarray(s.mesh_face_instance, dtype=np.int64).tobytes())
        elif s.points is not None and s.instance is not None:
            h.update(np.ascontiguousarray(s.points, dtype=np.float64).tobytes())
            h.update(np.ascontiguousarray(s.instance, dtype=np.int64).tobytes())
        return h.hexdigest()[:16]

    def cache_path(self) -> Path | None:
        """Where the disk cache lives (None: in-memory scene and no ``cache_dir``)."""
        s = self.scene
        src = s.metadata.get("source_path")
        if self.cache_dir is not None:
            folder, name = self.cache_dir, s.id
        elif src:
            p = Path(str(src))
            folder, name = p.parent / ".geoenv-cache", p.name
        else:
            return None
        return folder / f"{name}.visibility-{self.cache_key()}.npz"

    def save(self) -> Path | None:
        """Write every computed frame to the disk cache (atomic rename); returns the path, or
        None when the scene has no cache location or it is not writable."""
        path = self.cache_path()
        if path is None or not self._frames:
            return None
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(
                json.dumps(
                    {"version": VISIBILITY_VERSION, "key": self.cache_key(),
                     "object_ids": list(self.object_ids), "frames": sorted(self._frames)}
                )
            )
        }  # fmt: skip
        for i, fv in sorted(self._frames.items()):
            inst_dtype = np.int16 if len(self.object_ids) < 32000 else np.int32
            arrays[f"inst_{i}"] = fv.instance.astype(inst_dtype)
            arrays[f"depth_{i}"] = fv.depth
            arrays[f"vis_{i}"] = fv.visible_px
            arrays[f"cov_{i}"] = fv.unoccluded_px
            arrays[f"trunc_{i}"] = fv.truncation
            arrays[f"bbox_{i}"] = fv.bbox
            arrays[f"px_{i}"] = np.array(fv.pixel_size)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, path)
        except OSError:
            return None
        self.saved_path = path
        return path

    def _load(self) -> None:
        path = self.cache_path()
        if path is None or not path.is_file():
            return
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.get("object_ids") != list(self.object_ids):
                    return
                for i in meta["frames"]:
                    self._frames[int(i)] = FrameVisibility(
                        int(i),
                        self.object_ids,
                        z[f"inst_{i}"].astype(np.int32),
                        z[f"depth_{i}"],
                        z[f"vis_{i}"],
                        z[f"cov_{i}"],
                        z[f"trunc_{i}"],
                        z[f"bbox_{i}"],
                        tuple(float(x) for x in z[f"px_{i}"]),
                    )
        except (OSError, ValueError, KeyError):
            self._frames.clear()
            return
        self.loaded_from_disk = True
        self.saved_path = path


_ENGINES: weakref.WeakKeyDictionary[Scene, dict[tuple, VisibilityEngine]] = (
    weakref.WeakKeyDictionary()
)


def visibility(
    scene: Scene,
    settings: VisibilitySettings | None = None,
    *,
    cache_dir: str | Path | None = None,
) -> VisibilityEngine:
    """The (memoised) visibility engine of ``scene`` for ``settings`` (default: 1/4 resolution,
    automatic splat radius). ``cache_dir``: where to save the disk cache of a scene that has no
    source file (e.g. the demo scene)."""
    settings = settings or VisibilitySettings()
    per_scene = _ENGINES.setdefault(scene, {})
    key = (settings, None if cache_dir is None else str(Path(cache_dir)))
    eng = per_scene.get(key)
    if eng is None:
        eng = per_scene[key] = VisibilityEngine(scene, settings, cache_dir)
    return eng


def clear_memory_cache() -> None:
    """Forget every in-memory engine (the disk caches stay)."""
    _ENGINES.clear()


def frame_visibility(scene: Scene, frame: Frame) -> FrameVisibility:
    """Visibility of ``frame`` in ``scene`` with the default settings (cached for the scene's
    own frames)."""
    return visibility(scene).frame_of(frame)
