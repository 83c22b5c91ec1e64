"""Tiny scenes with objects at known places, shared by the task-template tests."""

from __future__ import annotations

import numpy as np

from geoenv import Scene, SceneObject
from geoenv.frames import Frame


def box_points(lo, hi, n: int = 5) -> np.ndarray:
    """Points on a regular n x n x n grid filling the axis-aligned box [lo, hi] (metres)."""
    axes = [np.linspace(a, b, n) for a, b in zip(lo, hi, strict=True)]
    return np.array(np.meshgrid(*axes, indexing="ij")).reshape(3, -1).T


def floor_grid(x1: float, y1: float, spacing: float = 0.1) -> np.ndarray:
    xs = np.linspace(0.0, x1, round(x1 / spacing) + 1)
    ys = np.linspace(0.0, y1, round(y1 / spacing) + 1)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])


def make_scene(
    boxes: dict[str, tuple[str, tuple, tuple]],
    frames=(),
    room=(6.0, 5.0),
    sid="t",
    floor_spacing=0.1,
):
    """Scene from ``{id: (label, lo, hi)}`` boxes plus a floor of ``room`` metres."""
    objs = [SceneObject(i, lab, box_points(lo, hi)) for i, (lab, lo, hi) in boxes.items()]
    objs.append(SceneObject("floor0", "floor", floor_grid(*room, spacing=floor_spacing)))
    return Scene(sid, objs, frames)


K = np.array([[500.0, 0.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]])


def frame(i: int, pose: np.ndarray) -> Frame:
    return Frame(i, pose, K, 640, 480)
