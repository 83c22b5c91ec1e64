"""Camera frames: intrinsics, camera-to-world poses, images.

Poses are (4, 4) camera-to-world matrices, OpenCV camera convention (x right, y down,
z forward); intrinsics are a (3, 3) pinhole matrix K in pixels for an image of
``width`` x ``height`` pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geoenv.errors import SceneFormatError
from geoenv.transforms import check_finite, check_rigid, invert_rigid


def check_intrinsics(
    k: np.ndarray, width: int, height: int, path: str | Path | None, field_: str
) -> np.ndarray:
    """Validate a pinhole K (finite, fx, fy > 0, zero skew row layout) and the image size."""
    k = np.asarray(k, dtype=np.float64)
    if k.shape == (4, 4):  # ScanNet writes 4x4 intrinsics
        k = k[:3, :3]
    if k.shape != (3, 3):
        raise SceneFormatError(path, field_, f"intrinsics must be 3x3, got shape {k.shape}")
    check_finite(k, path, field_)
    if k[0, 0] <= 0 or k[1, 1] <= 0:
        raise SceneFormatError(
            path, field_, f"focal lengths must be positive, got fx={k[0, 0]}, fy={k[1, 1]}"
        )
    if not np.allclose(k[2], [0.0, 0.0, 1.0]):
        raise SceneFormatError(path, field_, f"last row of K must be [0, 0, 1], got {k[2]}")
    if int(width) <= 0 or int(height) <= 0:
        raise SceneFormatError(path, field_, f"image size must be positive, got {width}x{height}")
    return k


@dataclass(eq=False)
class Frame:
    """One camera view. ``pose``: camera-to-world (4, 4); ``K``: (3, 3) pixels; ``timestamp``: s."""

    index: int
    pose: np.ndarray
    K: np.ndarray
    width: int
    height: int
    timestamp: float = 0.0
    rgb_path: Path | None = None
    depth_path: Path | None = None
    name: str = ""
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pose = check_rigid(self.pose, self.name or None, f"frames[{self.index}].pose")
        self.K = check_intrinsics(
            self.K, self.width, self.height, self.name or None, f"frames[{self.index}].K"
        )

    @property
    def position(self) -> np.ndarray:
        """Camera centre in the world frame, (3,) metres."""
        return self.pose[:3, 3]

    @property
    def forward(self) -> np.ndarray:
        """Viewing direction (camera +z) in the world frame, unit (3,)."""
        return self.pose[:3, 2]

    @property
    def world_to_camera(self) -> np.ndarray:
        return invert_rigid(self.pose)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project (n, 3) world points to pixels.

        Returns ``(uv (n, 2) pixels, depth (n,) metres along camera z)``; points behind the
        camera have depth <= 0 and meaningless uv.
        """
        w2c = self.world_to_camera
        cam = np.asarray(points, dtype=np.float64) @ w2c[:3, :3].T + w2c[:3, 3]
        z = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = (cam[:, :2] / z[:, None]) * self.K[[0, 1], [0, 1]] + self.K[[0, 1], [2, 2]]
        return uv, z

    def in_frustum(self, points: np.ndarray, near: float = 0.05) -> np.ndarray:
        """Boolean mask of the (n, 3) world points that project inside the image, in front."""
        uv, z = self.project(points)
        return (
            (z > near)
            & (uv[:, 0] >= 0)
            & (uv[:, 0] < self.width)
            & (uv[:, 1] >= 0)
            & (uv[:, 1] < self.height)
        )
