"""The scene graph: objects with points and boxes, camera frames, geo layers, lazy geometry.

World frame: right-handed, z up, metres. Everything here is plain numpy; loaders build scenes
and validate files before anything reaches this module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import trimesh
from scipy import ndimage
from scipy.spatial.distance import cdist

from geoenv.boxes import AABB, OrientedBox, oriented_box_from_points
from geoenv.errors import EmptyInstanceError, SceneFormatError, UnknownObjectError
from geoenv.frames import Frame
from geoenv.geo import GeoLayer
from geoenv.spatial import build_tree, closest_distance
from geoenv.transforms import check_finite

#: Labels of room structure rather than objects; tasks skip them as referents.
STRUCTURAL_LABELS = frozenset({"floor", "wall", "ceiling"})

#: Cell size (m) of the floor occupancy grid behind :attr:`Scene.room_footprint`.
FOOTPRINT_CELL = 0.10
#: Points up to this height (m) above the floor count as floor points when no object is
#: labelled ``floor``.
FLOOR_BAND = 0.10


def natural_key(s: str) -> tuple:
    """Sort key that orders ``"2" < "10"`` and ``"chair_2" < "chair_10"``; total and stable."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s) if t)


@dataclass(eq=False)
class SceneObject:
    """One object instance.

    ``points``: (n, 3) float64, metres, world frame (may be a view into the scene cloud).
    ``attributes``: what the loader knows beyond points (e.g. AI2-THOR rotation, official box).
    Boxes and centroid are computed lazily from the points and cached.
    """

    id: str
    label: str
    points: np.ndarray
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise SceneFormatError(None, f"objects[{self.id}].points", f"shape {pts.shape}")
        if len(pts) == 0:
            raise EmptyInstanceError(None, f"objects[{self.id}].points", "object has no points")
        check_finite(pts, None, f"objects[{self.id}].points")
        self.points = pts

    @cached_property
    def aabb(self) -> AABB:
        return AABB.from_points(self.points)

    @cached_property
    def obb(self) -> OrientedBox:
        """Gravity-aligned oriented box (min-area footprint rectangle, z extent)."""
        return oriented_box_from_points(self.points)

    @cached_property
    def centroid(self) -> np.ndarray:
        """Mean of the object's points, (3,) metres."""
        return self.points.mean(axis=0)

    @cached_property
    def tree(self):  # scipy.spatial.cKDTree
        return build_tree(self.points)

    @property
    def height(self) -> float:
        """Vertical extent (m)."""
        return float(self.aabb.size[2])

    @property
    def longest_dimension(self) -> float:
        """Longest side (m) of the gravity-aligned oriented box."""
        return float(self.obb.size.max())


class Scene:
    """A scene: ``objects`` (id -> SceneObject, ordered by natural id order), ``frames``,
    optional full point cloud / mesh, optional geo layers, and metadata.

    Derived geometry (distances, floor, footprint) is computed on first use and cached; a
    scene is treated as immutable once built (use :meth:`transformed` for a moved copy).
    """

    def __init__(
        self,
        id: str,
        objects: Iterable[SceneObject] = (),
        frames: Iterable[Frame] = (),
        *,
        points: np.ndarray | None = None,
        colors: np.ndarray | None = None,
        instance: np.ndarray | None = None,
        mesh: trimesh.Trimesh | None = None,
        mesh_face_instance: np.ndarray | None = None,
        geo_layers: Mapping[str, GeoLayer] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.id = str(id)
        objs = sorted(objects, key=lambda o: natural_key(o.id))
        ids = [o.id for o in objs]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise SceneFormatError(None, "objects", f"duplicate object ids {dup[:5]}")
        self.objects: dict[str, SceneObject] = {o.id: o for o in objs}
        self.frames: list[Frame] = sorted(frames, key=lambda f: f.index)
        self.points = points
        self.colors = colors
        self.instance = instance
        self.mesh = mesh
        self.mesh_face_instance = mesh_face_instance
        self.geo_layers: dict[str, GeoLayer] = dict(sorted((geo_layers or {}).items()))
        self.metadata: dict[str, Any] = dict(metadata or {})
        #: Memo for values derived from this (immutable) scene by other modules, e.g. a
        #: template's candidate list; keys are owned by their writers.
        self.derived: dict[Any, Any] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_instances(
        cls,
        id: str,
        points: np.ndarray,
        instance: np.ndarray,
        labels: Mapping[int, str],
        *,
        colors: np.ndarray | None = None,
        **kwargs: Any,
    ) -> Scene:
        """Build a scene from a labelled cloud: (n, 3) points, (n,) instance ids, and a map
        instance id -> category label. Points with instance < 0 stay in the scene cloud but
        belong to no object. Object points are views into the (instance-sorted) cloud; object
        ids are the instance ids as strings. Every instance in ``labels`` must have points.
        """
        points = np.asarray(points, dtype=np.float64)
        instance = np.asarray(instance, dtype=np.int64)
        order = np.argsort(instance, kind="stable")
        points, instance = points[order], instance[order]
        colors = None if colors is None else np.asarray(colors)[order]
        ids, starts, counts = np.unique(instance, return_index=True, return_counts=True)
        spans = {int(i): (int(s), int(s + c)) for i, s, c in zip(ids, starts, counts, strict=True)}
        objects = []
        for inst in sorted(labels):
            if inst < 0:
                continue
            if inst not in spans:
                raise EmptyInstanceError(None, f"instance {inst}", "instance has no points")
            s, e = spans[inst]
            objects.append(SceneObject(str(inst), labels[inst], points[s:e]))
        return cls(id, objects, points=points, colors=colors, instance=instance, **kwargs)

    # ------------------------------------------------------------------ access
    def __repr__(self) -> str:
        return (
            f"Scene({self.id!r}, {len(self.objects)} objects, {len(self.frames)} frames, "
            f"{len(self.geo_layers)} geo layers)"
        )

    def __getitem__(self, object_id: str) -> SceneObject:
        try:
            return self.objects[object_id]
        except KeyError:
            raise UnknownObjectError(self.id, object_id) from None

    @property
    def object_ids(self) -> tuple[str, ...]:
        return tuple(self.objects)

    @cached_property
    def labels(self) -> dict[str, tuple[str, ...]]:
        """Category label -> ids of its objects (labels sorted, ids in natural order)."""
        out: dict[str, list[str]] = {}
        for o in self.objects.values():
            out.setdefault(o.label, []).append(o.id)
        return {k: tuple(out[k]) for k in sorted(out)}

    @property
    def unique_labels(self) -> tuple[str, ...]:
        """Non-structural labels that occur exactly once (unambiguous referents)."""
        return tuple(
            k for k, v in self.labels.items() if len(v) == 1 and k not in STRUCTURAL_LABELS
        )

    @cached_property
    def bounds(self) -> AABB:
        """Box of every object point (and the scene cloud, where there is one)."""
        parts = [o.points for o in self.objects.values()]
        if self.points is not None and len(self.points):
            parts.append(self.points)
        if not parts:
            return AABB(np.zeros(3), np.zeros(3))
        return AABB(
            np.min([p.min(0) for p in parts], axis=0), np.max([p.max(0) for p in parts], axis=0)
        )

    @cached_property
    def aabb_array(self) -> np.ndarray:
        """(N, 2, 3) min / max corners of every object's box, rows in ``object_ids`` order
        (metres): for vectorised prefilters."""
        boxes = [(o.aabb.min, o.aabb.max) for o in self.objects.values()]
        return np.array(boxes, dtype=np.float64).reshape(-1, 2, 3)

    # ------------------------------------------------------------------ distances
    @cached_property
    def centroid_distances(self) -> np.ndarray:
        """(N, N) distances (m) between object centroids, rows/cols in ``object_ids`` order."""
        c = np.array([o.centroid for o in self.objects.values()]).reshape(-1, 3)
        return cdist(c, c)

    @cached_property
    def _closest_cache(self) -> dict[tuple[str, str], tuple[float, np.ndarray, np.ndarray]]:
        return {}

    def closest_points(self, a: str, b: str) -> tuple[float, np.ndarray, np.ndarray]:
        """Exact closest-point distance (m) between objects ``a`` and ``b`` and the two points.

        KD-tree query of the smaller object's points against the larger one's tree, pruned by
        bounding boxes; cached per unordered pair.
        """
        oa = self[a]
        self[b]  # raises UnknownObjectError for an unknown id
        key = (a, b) if natural_key(a) <= natural_key(b) else (b, a)
        hit = self._closest_cache.get(key)
        if hit is None:
            p, q = self[key[0]], self[key[1]]
            swap = len(p.points) > len(q.points)
            small, big = (q, p) if swap else (p, q)
            d, i, j = closest_distance(small.points, big.tree, big.aabb)
            ps, pb = small.points[i], big.points[j]
            hit = (d, pb, ps) if swap else (d, ps, pb)
            self._closest_cache[key] = hit
        d, pk0, pk1 = hit
        return (d, pk0, pk1) if key[0] == oa.id else (d, pk1, pk0)

    def closest_distance(self, a: str, b: str) -> float:
        """Closest-point distance (m) between objects ``a`` and ``b``."""
        return self.closest_points(a, b)[0]

    @cached_property
    def closest_distances(self) -> np.ndarray:
        """(N, N) closest-point distances (m), rows/cols in ``object_ids`` order."""
        ids = self.object_ids
        out = np.zeros((len(ids), len(ids)))
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                out[i, j] = out[j, i] = self.closest_distance(ids[i], ids[j])
        return out

    # ------------------------------------------------------------------ room
    @cached_property
    def floor_height(self) -> float:
        """Floor z (m): median z of ``floor``-labelled points if any; otherwise the 1st
        percentile of z over the scene cloud (or all object points)."""
        floors = [o.points for o in self.objects.values() if o.label == "floor"]
        if floors:
            return float(np.median(np.concatenate(floors)[:, 2]))
        pts = self._all_points()
        return float(np.percentile(pts[:, 2], 1.0)) if len(pts) else 0.0

    def _all_points(self) -> np.ndarray:
        if self.points is not None and len(self.points):
            return self.points
        parts = [o.points for o in self.objects.values()]
        return np.concatenate(parts) if parts else np.zeros((0, 3))

    @cached_property
    def floor_points(self) -> np.ndarray:
        """(n, 3) floor points: ``floor``-labelled objects, or points within
        :data:`FLOOR_BAND` of :attr:`floor_height`."""
        floors = [o.points for o in self.objects.values() if o.label == "floor"]
        if floors:
            return np.concatenate(floors)
        pts = self._all_points()
        return pts[pts[:, 2] <= self.floor_height + FLOOR_BAND]

    @cached_property
    def room_footprint(self) -> shapely.Polygon | None:
        """Room floor polygon in world xy (m), or None without floor points.

        Rule: rasterise the floor points on a :data:`FOOTPRINT_CELL` grid; close gaps (one
        3x3 closing) and fill holes (furniture hides floor); keep the largest 8-connected
        component; take the union of its cells and clip it to the convex hull of the floor
        points (which removes the raster's overshoot at the outer walls). Exact for convex
        rooms sampled up to their walls; along concave (re-entrant) walls the polygon may
        overshoot by up to one cell.
        """
        # Snap to a 1 nm grid: GEOS's hull is not robust to subnormal coordinates.
        xy = np.round(self.floor_points[:, :2], 9) + 0.0
        if len(xy) < 3:
            return None
        origin = xy.min(axis=0) - FOOTPRINT_CELL
        ij = np.floor((xy - origin) / FOOTPRINT_CELL).astype(np.int64)
        # Two empty cells of padding on each side keep the closing clear of the array border.
        grid = np.zeros(tuple(ij.max(axis=0) + 5), dtype=bool)
        grid[ij[:, 0] + 2, ij[:, 1] + 2] = True
        grid = ndimage.binary_closing(grid, structure=np.ones((3, 3)))
        grid = ndimage.binary_fill_holes(grid)
        lab, n = ndimage.label(grid, structure=np.ones((3, 3)))
        if n == 0:
            return None
        sizes = np.bincount(lab.ravel())[1:]
        cells = np.argwhere(lab == int(np.argmax(sizes)) + 1) - 2
        # Union in integer cell coordinates (exact), then scale to metres.
        cell_union = shapely.union_all(shapely.box(cells[:, 0], cells[:, 1], *(cells + 1).T))
        raster = shapely.transform(cell_union, lambda c: origin + c * FOOTPRINT_CELL)
        hull = shapely.MultiPoint(xy).convex_hull
        poly = shapely.intersection(raster, hull)
        if isinstance(poly, shapely.MultiPolygon | shapely.GeometryCollection):
            polys = [g for g in poly.geoms if isinstance(g, shapely.Polygon)]
            if not polys:
                return None
            poly = max(polys, key=lambda g: g.area)
        if not isinstance(poly, shapely.Polygon) or poly.is_empty:
            return None
        return shapely.normalize(poly)

    @property
    def room_area(self) -> float | None:
        """Area (m^2) of :attr:`room_footprint`."""
        fp = self.room_footprint
        return None if fp is None else float(fp.area)

    # ------------------------------------------------------------------ transforms
    def transformed(
        self,
        rotation: np.ndarray | None = None,
        translation: np.ndarray | None = None,
        scale: float = 1.0,
        id: str | None = None,
    ) -> Scene:
        """A copy with every point, pose and mesh moved by ``x -> scale * R x + t``.

        ``rotation`` must be a proper rotation (frames stay rigid); ``scale`` > 0 scales
        distances and camera positions. Geo layers are carried over unchanged.
        """
        r = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
        t = np.zeros(3) if translation is None else np.asarray(translation, dtype=np.float64)

        def move(p: np.ndarray) -> np.ndarray:
            return scale * (p @ r.T) + t

        pts = None if self.points is None else move(self.points)
        objects = []
        if pts is not None and self.instance is not None:
            ids, starts, counts = np.unique(self.instance, return_index=True, return_counts=True)
            spans = {str(i): (s, s + c) for i, s, c in zip(ids, starts, counts, strict=True)}
        else:
            spans = {}
        for o in self.objects.values():
            s = spans.get(o.id)
            new_pts = pts[s[0] : s[1]] if s is not None else move(o.points)
            objects.append(replace(o, points=new_pts, attributes=dict(o.attributes)))
        frames = []
        for f in self.frames:
            pose = f.pose.copy()
            pose[:3, :3] = r @ pose[:3, :3]
            pose[:3, 3] = move(pose[:3, 3][None])[0]
            frames.append(replace(f, pose=pose))
        mesh = None
        if self.mesh is not None:
            mesh = self.mesh.copy()
            mesh.vertices = move(np.asarray(self.mesh.vertices))
        return Scene(
            id or self.id,
            objects,
            frames,
            points=pts,
            colors=self.colors,
            instance=self.instance,
            mesh=mesh,
            mesh_face_instance=self.mesh_face_instance,
            geo_layers=self.geo_layers,
            metadata=self.metadata,
        )

    # ------------------------------------------------------------------ identity
    def content_hash(self) -> str:
        """sha256 over ids, labels, points (float64 bytes), frames and geo layers (WKB)."""
        h = hashlib.sha256()
        h.update(self.id.encode())
        for o in self.objects.values():
            h.update(f"\0{o.id}\0{o.label}\0".encode())
            h.update(np.ascontiguousarray(o.points).tobytes())
        for f in self.frames:
            h.update(f"\0f{f.index}\0{f.width}x{f.height}\0{f.timestamp!r}".encode())
            h.update(f.pose.tobytes())
            h.update(f.K.tobytes())
        for name, layer in self.geo_layers.items():
            h.update(f"\0g{name}\0{layer.crs.to_string()}".encode())
            for g in shapely.to_wkb(layer.geometries, hex=False, output_dimension=2):
                h.update(g)
        return h.hexdigest()

    def summary(self) -> dict[str, Any]:
        """Plain-data summary (counts, extents) for ``geoenv inspect``."""
        b = self.bounds
        return {
            "id": self.id,
            "objects": len(self.objects),
            "categories": {k: len(v) for k, v in self.labels.items()},
            "extent_m": [round(float(x), 3) for x in b.size],
            "frames": len(self.frames),
            "points": None if self.points is None else len(self.points),
            "mesh_faces": None if self.mesh is None else len(self.mesh.faces),
            "geo_layers": {k: len(v) for k, v in self.geo_layers.items()},
            "floor_height_m": round(self.floor_height, 4),
            "room_area_m2": None if self.room_area is None else round(self.room_area, 3),
            "source": self.metadata.get("source_path"),
        }


def source_label(path: str | Path) -> str:
    """Scene id from a path: file stem without the usual suffixes, or directory name."""
    p = Path(path)
    name = p.name
    for suf in (".ply", ".npz", ".json", ".geojson", ".parquet", ".txt"):
        if name.lower().endswith(suf):
            name = name[: -len(suf)]
            break
    return name
