"""Spatial index: KD-trees over object points and exact closest-point distances.

All distances are Euclidean, metres, world frame.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from geoenv.boxes import AABB


def build_tree(points: np.ndarray) -> cKDTree:
    """KD-tree over (n, 3) points (balanced, so the build is deterministic)."""
    return cKDTree(np.asarray(points, dtype=np.float64), balanced_tree=True, compact_nodes=True)


def closest_distance(
    a: np.ndarray,
    tree_b: cKDTree,
    box_b: AABB,
) -> tuple[float, int, int]:
    """Exact minimum distance between point set ``a`` (n, 3) and the points under ``tree_b``.

    Returns ``(distance, index into a, index into b)``. Prunes with the box of ``b``: a point of
    ``a`` farther from ``box_b`` than a known upper bound cannot be the closest, so only the
    remaining points are queried (each query is one vectorised KD-tree call).
    """
    to_box = box_b.distance_to_points(a)
    seed = int(np.argmin(to_box))
    upper, _ = tree_b.query(a[seed])
    candidates = np.flatnonzero(to_box <= upper)
    d, j = tree_b.query(a[candidates], k=1)
    k = int(np.argmin(d))
    return float(d[k]), int(candidates[k]), int(j[k])


def points_within(tree: cKDTree, center: np.ndarray, radius: float) -> np.ndarray:
    """Sorted indices of the tree's points within ``radius`` metres of ``center``."""
    return np.sort(np.asarray(tree.query_ball_point(center, radius), dtype=np.int64))
