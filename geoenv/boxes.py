"""Axis-aligned and gravity-aligned oriented boxes (world frame, metres).

A gravity-aligned oriented box is the minimum-area rectangle of an object's footprint (its
points projected on the xy plane) extruded over the object's z range: it may only rotate about
world z (yaw). Canonical form: ``size[0] >= size[1]`` (length, width), yaw in [0, pi) radians,
counter-clockwise from world +x to the length axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import ConvexHull, QhullError

from geoenv.transforms import rot_z

# Areas within this relative amount count as equal when choosing the minimum-area rectangle,
# so the choice does not depend on floating-point noise (ties go to the smallest yaw).
_AREA_RTOL = 1e-9


@dataclass(frozen=True)
class AABB:
    """Axis-aligned box: ``min`` and ``max`` corners, (3,) float, metres, world frame."""

    min: np.ndarray
    max: np.ndarray

    @classmethod
    def from_points(cls, points: np.ndarray) -> AABB:
        """Tight box of (n, 3) points (n >= 1)."""
        return cls(points.min(axis=0), points.max(axis=0))

    @property
    def center(self) -> np.ndarray:
        return (self.min + self.max) / 2

    @property
    def size(self) -> np.ndarray:
        return self.max - self.min

    @property
    def volume(self) -> float:
        return float(np.prod(self.size))

    def distance_to_points(self, points: np.ndarray) -> np.ndarray:
        """Euclidean distance (m) from each of (n, 3) points to the box (0 inside)."""
        d = np.maximum(np.maximum(self.min - points, points - self.max), 0.0)
        return np.sqrt((d * d).sum(axis=1))

    def distance_to_box(self, other: AABB) -> float:
        """Euclidean gap (m) between two boxes, 0 when they overlap or touch."""
        d = np.maximum(np.maximum(self.min - other.max, other.min - self.max), 0.0)
        return float(np.sqrt((d * d).sum()))


@dataclass(frozen=True)
class OrientedBox:
    """Gravity-aligned box: ``center`` (3,), ``size`` (3,) = (length, width, height), ``yaw``.

    Metres, world frame; yaw in radians about +z, in [0, pi).
    """

    center: np.ndarray
    size: np.ndarray
    yaw: float

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) box-to-world rotation."""
        return rot_z(self.yaw)

    @property
    def volume(self) -> float:
        return float(np.prod(self.size))

    @property
    def footprint_area(self) -> float:
        return float(self.size[0] * self.size[1])

    def corners(self) -> np.ndarray:
        """(8, 3) corners; the first four are the bottom face, counter-clockwise from above."""
        sx, sy, sz = self.size / 2
        local = np.array(
            [[-sx, -sy, -sz], [sx, -sy, -sz], [sx, sy, -sz], [-sx, sy, -sz],
             [-sx, -sy, sz], [sx, -sy, sz], [sx, sy, sz], [-sx, sy, sz]]
        )  # fmt: skip
        return local @ self.rotation.T + self.center

    def footprint(self) -> shapely.Polygon:
        """Footprint rectangle as a shapely polygon in world xy (m)."""
        return shapely.Polygon(self.corners()[:4, :2])

    def contains(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Boolean mask of the (n, 3) points inside the box grown by ``margin`` metres."""
        local = (np.asarray(points) - self.center) @ self.rotation
        return np.all(np.abs(local) <= self.size / 2 + margin, axis=1)

    @classmethod
    def canonical(cls, center: np.ndarray, size: np.ndarray, yaw: float) -> OrientedBox:
        """Build a box in canonical form (length >= width, yaw in [0, pi))."""
        size = np.asarray(size, dtype=np.float64).copy()
        if size[1] > size[0]:
            size[[0, 1]] = size[[1, 0]]
            yaw += np.pi / 2
        yaw = float(np.mod(yaw, np.pi))
        if np.isclose(yaw, np.pi, rtol=0.0, atol=1e-12):
            yaw = 0.0
        return cls(np.asarray(center, dtype=np.float64), size, yaw)


def min_area_rectangle(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Minimum-area enclosing rectangle of (n, 2) points.

    Returns ``(center (2,), size (2,), yaw)`` with the size along the rectangle's axes at
    angle ``yaw`` (radians). Rotating calipers over the convex hull edges, vectorised.
    Degenerate inputs (fewer than 3 distinct points, collinear points) fall back to the
    principal axis of the points, giving a zero-width rectangle.
    """
    xy = np.asarray(xy, dtype=np.float64)
    try:
        hull = xy[ConvexHull(xy).vertices]
    except (QhullError, ValueError):
        return _degenerate_rectangle(xy)
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2)
    angles = np.unique(np.round(angles, 12))
    c, s = np.cos(angles), np.sin(angles)
    # Coordinates of hull points along each candidate frame: (m, k).
    u = hull[:, 0][None, :] * c[:, None] + hull[:, 1][None, :] * s[:, None]
    v = -hull[:, 0][None, :] * s[:, None] + hull[:, 1][None, :] * c[:, None]
    umin, umax, vmin, vmax = u.min(1), u.max(1), v.min(1), v.max(1)
    area = (umax - umin) * (vmax - vmin)
    best = int(np.flatnonzero(area <= area.min() * (1 + _AREA_RTOL) + 1e-15)[0])
    a = angles[best]
    cu, cv = (umin[best] + umax[best]) / 2, (vmin[best] + vmax[best]) / 2
    center = np.array([cu * np.cos(a) - cv * np.sin(a), cu * np.sin(a) + cv * np.cos(a)])
    size = np.array([umax[best] - umin[best], vmax[best] - vmin[best]])
    return center, size, float(a)


def _degenerate_rectangle(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    center = xy.mean(axis=0)
    d = xy - center
    if len(xy) < 2 or np.allclose(d, 0):
        return center, np.zeros(2), 0.0
    _, _, vt = np.linalg.svd(d, full_matrices=False)
    a = float(np.arctan2(vt[0, 1], vt[0, 0]))
    c, s = np.cos(a), np.sin(a)
    u = d[:, 0] * c + d[:, 1] * s
    v = -d[:, 0] * s + d[:, 1] * c
    cu, cv = (u.min() + u.max()) / 2, (v.min() + v.max()) / 2
    center = center + np.array([cu * c - cv * s, cu * s + cv * c])
    return center, np.array([np.ptp(u), np.ptp(v)]), a


def oriented_box_from_points(points: np.ndarray) -> OrientedBox:
    """Gravity-aligned oriented box of (n, 3) points (n >= 1), canonical form."""
    center2, size2, yaw = min_area_rectangle(points[:, :2])
    zmin, zmax = float(points[:, 2].min()), float(points[:, 2].max())
    return OrientedBox.canonical(
        np.array([center2[0], center2[1], (zmin + zmax) / 2]),
        np.array([size2[0], size2[1], zmax - zmin]),
        yaw,
    )


def box_surface_points(
    center: np.ndarray, size: np.ndarray, rotation: np.ndarray, spacing: float = 0.02
) -> np.ndarray:
    """Deterministic points on the surface of a box, on a regular grid of ``spacing`` metres.

    Used for objects known only by a box (AI2-THOR metadata): their points are the box
    surface, so closest-point distances are exact to within ``spacing / sqrt(2)``. The grid
    includes every edge and corner and is symmetric, so the point mean is the box centre.
    Returns (n, 3) float64 in the world frame.
    """
    half = np.asarray(size, dtype=np.float64) / 2
    axes = [np.linspace(-h, h, max(2, int(np.ceil(2 * h / spacing)) + 1)) for h in half]
    if np.any(half == 0):  # flat box: its points are one rectangle (or a segment / a point)
        grids = np.meshgrid(*axes, indexing="ij")
        local = np.unique(np.column_stack([g.ravel() for g in grids]), axis=0)
    else:
        # Each point once: the x faces take their full grid, the y faces skip the x ends,
        # the z faces skip the x and y ends (those points already lie on other faces).
        inner = [a[1:-1] for a in axes]
        faces = []
        for k, (gi, gj) in enumerate(
            ((axes[1], axes[2]), (inner[0], axes[2]), (inner[0], inner[1]))
        ):
            i, j = [a for a in range(3) if a != k]
            mi, mj = np.meshgrid(gi, gj, indexing="ij")
            for sign in (-1.0, 1.0):
                f = np.empty((mi.size, 3))
                f[:, i], f[:, j], f[:, k] = mi.ravel(), mj.ravel(), sign * half[k]
                faces.append(f)
        local = np.concatenate(faces)
    return local @ np.asarray(rotation, dtype=np.float64).T + np.asarray(center, dtype=np.float64)
