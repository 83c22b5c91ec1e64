"""Rigid transforms, rotations and their validation.

Frames: world is right-handed, z up, metres. Poses are 4x4 camera-to-world matrices in the
OpenCV camera convention (x right, y down, z forward).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geoenv.errors import NonFiniteError, NonRigidPoseError, SceneFormatError

#: Tolerance on ``R^T R - I`` (max abs entry) and ``det(R) - 1`` for a pose to count as rigid.
RIGID_TOL = 1e-4


def as_matrix4(values: object, path: str | Path | None, field: str) -> np.ndarray:
    """Parse 16 numbers (any nesting) into a (4, 4) float64 matrix, or raise naming the field."""
    try:
        m = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SceneFormatError(path, field, f"expected 16 numbers: {exc}") from None
    if m.size != 16:
        raise SceneFormatError(path, field, f"expected 16 numbers, got {m.size}")
    return m.reshape(4, 4)


def check_finite(a: np.ndarray, path: str | Path | None, field: str) -> None:
    """Raise :class:`NonFiniteError` naming the first non-finite entry of ``a``."""
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFiniteError(path, field, f"non-finite value {a[idx]!r} at index {idx}")


def check_rigid(
    pose: np.ndarray, path: str | Path | None, field: str, tol: float = RIGID_TOL
) -> np.ndarray:
    """Validate a (4, 4) rigid transform; return it as float64.

    Rigid means: finite, last row ``[0, 0, 0, 1]``, rotation block orthonormal within ``tol``
    and with determinant +1 (no reflection, no scale).
    """
    pose = np.asarray(pose, dtype=np.float64)
    if pose.shape != (4, 4):
        raise SceneFormatError(path, field, f"expected a 4x4 matrix, got shape {pose.shape}")
    check_finite(pose, path, field)
    if np.abs(pose[3] - np.array([0.0, 0.0, 0.0, 1.0])).max() > tol:
        raise NonRigidPoseError(path, field, f"last row is {pose[3].tolist()}, not [0, 0, 0, 1]")
    r = pose[:3, :3]
    ortho = np.abs(r.T @ r - np.eye(3)).max()
    if ortho > tol:
        raise NonRigidPoseError(
            path, field, f"rotation is not orthonormal (max |R^T R - I| = {ortho:.3g} > {tol})"
        )
    det = float(np.linalg.det(r))
    if abs(det - 1.0) > tol:
        raise NonRigidPoseError(path, field, f"rotation has det {det:.6g}, expected +1")
    return pose


def invert_rigid(pose: np.ndarray) -> np.ndarray:
    """Inverse of a (4, 4) rigid transform (exact: transpose the rotation)."""
    r = pose[:3, :3]
    out = np.eye(4)
    out[:3, :3] = r.T
    out[:3, 3] = -r.T @ pose[:3, 3]
    return out


def apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (4, 4) transform to (n, 3) points; returns (n, 3) float64."""
    points = np.asarray(points, dtype=np.float64)
    return points @ transform[:3, :3].T + transform[:3, 3]


def quat_xyzw_to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternion(s) ``(..., 4)`` in (x, y, z, w) order to rotation matrices ``(..., 3, 3)``.

    The quaternion is normalised first; a zero quaternion raises ``ValueError``.
    """
    q = np.asarray(q, dtype=np.float64)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(n < 1e-12):
        raise ValueError("zero-length quaternion")
    x, y, z, w = np.moveaxis(q / n, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def matrix_to_quat_xyzw(r: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) to a unit quaternion (x, y, z, w) with w >= 0."""
    r = np.asarray(r, dtype=np.float64)
    t = np.trace(r)
    if t > 0:
        s = np.sqrt(t + 1.0) * 2
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, s / 4]
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = np.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k]) * 2
        q = [0.0, 0.0, 0.0, (r[k, j] - r[j, k]) / s]
        q[i] = s / 4
        q[j] = (r[j, i] + r[i, j]) / s
        q[k] = (r[k, i] + r[i, k]) / s
    q = np.asarray(q)
    return q if q[3] >= 0 else -q


def rot_z(yaw: float) -> np.ndarray:
    """(3, 3) rotation about world +z by ``yaw`` radians (counter-clockwise seen from above)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray | None = None) -> np.ndarray:
    """Camera-to-world (4, 4) pose in the OpenCV convention looking from ``eye`` at ``target``.

    Camera z points at the target, x to the right, y down (so image "up" is world ``up``).
    """
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64)
    eye = np.asarray(eye, dtype=np.float64)
    z = np.asarray(target, dtype=np.float64) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    nx = np.linalg.norm(x)
    if nx < 1e-9:
        raise ValueError("look_at: viewing direction is parallel to up")
    x /= nx
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, eye
    return pose
