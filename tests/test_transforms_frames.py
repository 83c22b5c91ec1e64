"""Transforms and frames: rigidity checks, quaternions, projection."""

import numpy as np
import pytest

from geoenv.errors import NonFiniteError, NonRigidPoseError, SceneFormatError
from geoenv.frames import Frame
from geoenv.transforms import (
    check_rigid,
    invert_rigid,
    look_at,
    matrix_to_quat_xyzw,
    quat_xyzw_to_matrix,
    rot_z,
)

K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])


def test_check_rigid_rejects_scale_reflection_nan():
    pose = np.eye(4)
    pose[:3, :3] *= 1.01
    with pytest.raises(NonRigidPoseError, match=r"pose\.txt.*not orthonormal"):
        check_rigid(pose, "pose.txt", "pose")
    refl = np.diag([1.0, 1.0, -1.0, 1.0])
    with pytest.raises(NonRigidPoseError, match="det"):
        check_rigid(refl, "p", "pose")
    bad = np.eye(4)
    bad[0, 3] = np.nan
    with pytest.raises(NonFiniteError, match=r"\[pose\]"):
        check_rigid(bad, "p", "pose")
    with pytest.raises(SceneFormatError, match="4x4"):
        check_rigid(np.eye(3), "p", "pose")


def test_quaternion_round_trip_and_known_rotation():
    # 90 degrees about z: (x, y, z, w) = (0, 0, sin 45, cos 45).
    r = quat_xyzw_to_matrix(np.array([0.0, 0.0, np.sqrt(0.5), np.sqrt(0.5)]))
    np.testing.assert_allclose(r, rot_z(np.pi / 2), atol=1e-12)
    rng = np.random.default_rng(0)
    for q in rng.normal(size=(20, 4)):
        q = q / np.linalg.norm(q)
        q = q if q[3] >= 0 else -q
        np.testing.assert_allclose(matrix_to_quat_xyzw(quat_xyzw_to_matrix(q)), q, atol=1e-9)


def test_look_at_and_projection():
    pose = look_at(np.array([0.0, 0.0, 1.0]), np.array([5.0, 0.0, 1.0]))
    f = Frame(0, pose, K, 640, 480)
    np.testing.assert_allclose(f.forward, [1, 0, 0], atol=1e-12)
    # Camera x (image right) is world -y when looking along +x with z up.
    np.testing.assert_allclose(pose[:3, 0], [0, -1, 0], atol=1e-12)
    uv, z = f.project(np.array([[5.0, 0.0, 1.0], [5.0, -1.0, 1.0], [5.0, 0.0, 2.0]]))
    np.testing.assert_allclose(z, [5, 5, 5])
    np.testing.assert_allclose(uv[0], [320, 240])
    np.testing.assert_allclose(uv[1], [420, 240])  # right of centre by f * 1 / 5
    np.testing.assert_allclose(uv[2], [320, 140])  # higher in the world is up in the image
    np.testing.assert_allclose(invert_rigid(pose) @ pose, np.eye(4), atol=1e-12)
    assert f.in_frustum(np.array([[5.0, 0, 1], [-5.0, 0, 1]])).tolist() == [True, False]


def test_frame_validates_intrinsics():
    with pytest.raises(SceneFormatError, match="focal"):
        Frame(0, np.eye(4), np.diag([-1.0, 1.0, 1.0]), 10, 10)
    with pytest.raises(SceneFormatError, match="image size"):
        Frame(0, np.eye(4), K, 0, 10)
