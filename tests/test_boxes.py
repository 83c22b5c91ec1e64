"""Boxes: hand-computed oriented boxes, canonical form, surface sampling."""

import numpy as np
import pytest

from geoenv.boxes import (
    AABB,
    OrientedBox,
    box_surface_points,
    min_area_rectangle,
    oriented_box_from_points,
)
from geoenv.transforms import rot_z


def _box_points(size, yaw, center, n=6):
    g = np.linspace(-0.5, 0.5, n)
    local = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T * size
    return local @ rot_z(yaw).T + center


@pytest.mark.parametrize("yaw_deg", [0.0, 17.0, 45.0, 89.0, 120.0, 179.0])
def test_oriented_box_recovers_rotated_box(yaw_deg):
    size, center = np.array([2.0, 0.8, 0.5]), np.array([1.0, -2.0, 0.25])
    box = oriented_box_from_points(_box_points(size, np.radians(yaw_deg), center))
    np.testing.assert_allclose(box.size, size, atol=1e-9)
    np.testing.assert_allclose(box.center, center, atol=1e-9)
    assert box.yaw == pytest.approx(np.mod(np.radians(yaw_deg), np.pi), abs=1e-9)


def test_canonical_swaps_to_length_first_and_wraps_yaw():
    b = OrientedBox.canonical(np.zeros(3), np.array([1.0, 3.0, 2.0]), 0.0)
    np.testing.assert_allclose(b.size, [3.0, 1.0, 2.0])
    assert b.yaw == pytest.approx(np.pi / 2)
    b2 = OrientedBox.canonical(np.zeros(3), np.array([3.0, 1.0, 2.0]), -np.pi / 4)
    assert b2.yaw == pytest.approx(3 * np.pi / 4)


def test_min_area_rectangle_beats_axis_aligned_on_diamond():
    # A unit square rotated 45 degrees: the AABB has area 2, the min-area rectangle area 1.
    diamond = np.array([[0.0, -1], [1, 0], [0, 1], [-1, 0]]) / np.sqrt(2)
    _, size, yaw = min_area_rectangle(diamond)
    assert size.prod() == pytest.approx(1.0)
    assert np.mod(yaw, np.pi / 2) == pytest.approx(np.pi / 4)


def test_degenerate_footprints():
    line = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    _, size, yaw = min_area_rectangle(line)
    assert size[0] == pytest.approx(np.sqrt(8)) and size[1] == pytest.approx(0.0)
    assert yaw == pytest.approx(np.pi / 4)
    one = oriented_box_from_points(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(one.center, [1, 2, 3])
    np.testing.assert_allclose(one.size, 0)


def test_obb_corners_contains_and_footprint():
    b = OrientedBox.canonical(np.array([0.0, 0.0, 1.0]), np.array([4.0, 2.0, 2.0]), np.pi / 2)
    c = b.corners()
    np.testing.assert_allclose(np.sort(c[:, 0]), [-1, -1, -1, -1, 1, 1, 1, 1], atol=1e-12)
    assert b.footprint().area == pytest.approx(8.0)
    assert b.contains(np.array([[0.0, 1.9, 1.0], [1.5, 0.0, 1.0]])).tolist() == [True, False]
    assert b.volume == pytest.approx(16.0)


def test_aabb_distances():
    a = AABB(np.zeros(3), np.ones(3))
    b = AABB(np.array([4.0, 5.0, 0.0]), np.array([5.0, 6.0, 1.0]))
    assert a.distance_to_box(b) == pytest.approx(5.0)  # gap (3, 4, 0)
    d = a.distance_to_points(np.array([[0.5, 0.5, 0.5], [2.0, 0.5, 0.5], [2.0, 2.0, 1.0]]))
    np.testing.assert_allclose(d, [0.0, 1.0, np.sqrt(2)])


def test_box_surface_points_are_on_surface_and_symmetric():
    r = rot_z(0.3)
    pts = box_surface_points(np.array([1.0, 2.0, 3.0]), np.array([0.4, 0.2, 0.1]), r, 0.05)
    local = (pts - [1.0, 2.0, 3.0]) @ r
    on_face = np.isclose(np.abs(local), [0.2, 0.1, 0.05]).any(axis=1)
    assert on_face.all()
    np.testing.assert_allclose(pts.mean(axis=0), [1.0, 2.0, 3.0], atol=1e-12)
    assert len(np.unique(pts.round(9), axis=0)) == len(pts)
