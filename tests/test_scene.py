"""Scene graph: hand-computed geometry, lazy caches, metamorphic transforms."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from geoenv import Scene, SceneObject
from geoenv.errors import EmptyInstanceError, NonFiniteError, SceneFormatError, UnknownObjectError
from geoenv.frames import Frame
from geoenv.scene import natural_key
from geoenv.transforms import look_at, rot_z


def cube(center, size=1.0, n=5):
    g = np.linspace(-size / 2, size / 2, n)
    return np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T + center


def grid_floor(polygon_cells, spacing=0.05):
    """Floor points on a regular grid over a union of axis-aligned rectangles."""
    pts = []
    for x0, y0, x1, y1 in polygon_cells:
        xs = np.linspace(x0, x1, round((x1 - x0) / spacing) + 1)
        ys = np.linspace(y0, y1, round((y1 - y0) / spacing) + 1)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        pts.append(np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)]))
    return np.unique(np.concatenate(pts).round(9), axis=0)


@pytest.fixture()
def two_cubes():
    return Scene(
        "t",
        [SceneObject("a", "box", cube([0, 0, 0.5])), SceneObject("b", "box", cube([3, 4, 0.5]))],
    )


def test_hand_computed_distances(two_cubes):
    s = two_cubes
    assert s.centroid_distances[0, 1] == pytest.approx(5.0)
    # Closest faces: x gap 2, y gap 3 -> corner-to-corner sqrt(4 + 9).
    d, pa, pb = s.closest_points("a", "b")
    assert d == pytest.approx(np.sqrt(13))
    np.testing.assert_allclose(pa[:2], [0.5, 0.5])
    np.testing.assert_allclose(pb[:2], [2.5, 3.5])
    # Symmetric, and the points swap with the arguments.
    d2, _, qa = s.closest_points("b", "a")
    assert d2 == d
    np.testing.assert_allclose(qa, pa)
    np.testing.assert_allclose(s.closest_distances, s.closest_distances.T)


def test_closest_distance_matches_brute_force_on_nonconvex_objects():
    rng = np.random.default_rng(3)
    # An L-shaped object wrapping around a small one: box pruning must stay exact.
    l_shape = np.concatenate([cube([0, 0, 0], 1, 6), cube([1, 0, 0], 1, 6), cube([0, 1, 0], 1, 6)])
    small = rng.normal([1.0, 1.0, 0.0], 0.1, size=(300, 3))
    far = rng.normal([10.0, -3.0, 2.0], 0.5, size=(500, 3))
    objs = [
        SceneObject("1", "l", l_shape),
        SceneObject("2", "s", small),
        SceneObject("3", "f", far),
    ]
    s = Scene("nc", objs)
    pts = [o.points for o in objs]
    for i in range(3):
        for j in range(i + 1, 3):
            assert s.closest_distances[i, j] == pytest.approx(
                cdist(pts[i], pts[j]).min(), abs=1e-12
            )


def test_ordering_is_natural_and_independent_of_input_order():
    objs = [
        SceneObject(i, "x", cube([float(k), 0, 0]))
        for k, i in enumerate(["10", "2", "chair_10", "chair_2", "1"])
    ]
    a = Scene("o", objs)
    b = Scene("o", list(reversed(objs)))
    assert a.object_ids == b.object_ids == ("1", "2", "10", "chair_2", "chair_10")
    assert sorted(["b10", "b9", "a"], key=natural_key) == ["a", "b9", "b10"]


def test_labels_unique_labels_and_errors(two_cubes):
    s = Scene(
        "l",
        [
            SceneObject("1", "chair", cube([0, 0, 0])),
            SceneObject("2", "chair", cube([2, 0, 0])),
            SceneObject("3", "sofa", cube([4, 0, 0])),
            SceneObject("4", "floor", cube([0, 0, -1])),
        ],
    )
    assert s.labels == {"chair": ("1", "2"), "floor": ("4",), "sofa": ("3",)}
    assert s.unique_labels == ("sofa",)
    with pytest.raises(UnknownObjectError, match="scene 'l' has no object 'nope'"):
        s["nope"]
    with pytest.raises(SceneFormatError, match="duplicate object ids"):
        Scene("d", [SceneObject("1", "a", cube([0, 0, 0])), SceneObject("1", "b", cube([1, 0, 0]))])
    with pytest.raises(EmptyInstanceError):
        SceneObject("e", "x", np.zeros((0, 3)))
    with pytest.raises(NonFiniteError, match=r"objects\[n\]\.points"):
        SceneObject("n", "x", np.array([[0.0, np.nan, 0.0]]))


def test_from_instances_views_and_unlabelled_points():
    pts = np.array([[0, 0, 0], [1, 1, 1], [5, 5, 5], [2, 2, 2.0]])
    inst = np.array([7, -1, 3, 7])
    s = Scene.from_instances("fi", pts, inst, {3: "lamp", 7: "desk"})
    assert s.object_ids == ("3", "7")
    np.testing.assert_allclose(s["7"].points, [[0, 0, 0], [2, 2, 2]])
    assert np.shares_memory(s["7"].points, s.points)
    assert len(s.points) == 4  # the unlabelled point stays in the scene cloud
    with pytest.raises(EmptyInstanceError, match="instance 9"):
        Scene.from_instances("fi", pts, inst, {9: "ghost"})


def test_floor_height_and_l_shaped_footprint():
    # L-shaped room: 4 x 2 plus 2 x 2 on top of the left part -> area 12 m^2.
    floor = grid_floor([(0, 0, 4, 2), (0, 2, 2, 4)])
    # A hole in the floor points under furniture must be filled.
    hole = (floor[:, 0] > 1.0) & (floor[:, 0] < 1.6) & (floor[:, 1] > 0.5) & (floor[:, 1] < 1.2)
    s = Scene("room", [SceneObject("1", "floor", floor[~hole] + [0, 0, 0.02]),
                       SceneObject("2", "table", cube([1.3, 0.8, 0.5], 0.6))])  # fmt: skip
    assert s.floor_height == pytest.approx(0.02)
    fp = s.room_footprint
    # Exact along convex walls (hull clip); along the two concave edges (2 m each) the raster
    # may overshoot by up to one cell (0.1 m): documented bound 12 + 2 * 2 * 0.1.
    assert 12.0 - 1e-9 <= fp.area <= 12.4 + 1e-9
    assert fp.contains(__import__("shapely").Point(1.3, 0.8))
    assert not fp.contains(__import__("shapely").Point(3.0, 3.0))
    # Without a floor label, the lowest 10 cm band of the cloud is used.
    s2 = Scene(
        "room2",
        [SceneObject("1", "stuff", floor), SceneObject("2", "table", cube([1.3, 0.8, 0.5], 0.6))],
    )
    assert s2.floor_height == pytest.approx(0.0)
    assert 12.0 - 1e-9 <= s2.room_area <= 12.4 + 1e-9
    # A convex (rectangular) room is exact.
    rect = Scene("rect", [SceneObject("1", "floor", grid_floor([(0, 0, 5.8, 4.3)]))])
    assert rect.room_area == pytest.approx(5.8 * 4.3, rel=1e-12)


def _frames():
    k = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    return [
        Frame(i, look_at(np.array([i, -3.0, 1.5]), np.array([0.0, 0.0, 0.5])), k, 640, 480)
        for i in range(3)
    ]


@pytest.mark.parametrize("yaw", [0.0, 0.7, np.pi / 2, 2.5])
def test_rigid_motion_preserves_distances_area_and_relative_poses(yaw):
    rng = np.random.default_rng(1)
    centres = [[0, 0, 0.5], [2, 1, 0.5], [-1, 3, 1.0], [4, -2, 0.2]]
    objs = [
        SceneObject(str(i), "o", rng.normal(c, 0.2, size=(200, 3))) for i, c in enumerate(centres)
    ]
    floor = SceneObject("9", "floor", grid_floor([(-2, -3, 5, 4)]))
    s = Scene("m", [*objs, floor], _frames())
    moved = s.transformed(rot_z(yaw), np.array([10.0, -7.0, 0.3]))
    np.testing.assert_allclose(moved.centroid_distances, s.centroid_distances, atol=1e-9)
    np.testing.assert_allclose(moved.closest_distances, s.closest_distances, atol=1e-9)
    assert moved.room_area == pytest.approx(s.room_area, rel=0.01)  # raster aligned to the axes
    assert moved.floor_height == pytest.approx(s.floor_height + 0.3)
    for f, g in zip(s.frames, moved.frames, strict=True):
        rel = np.linalg.inv(s.frames[0].pose) @ f.pose
        rel2 = np.linalg.inv(moved.frames[0].pose) @ g.pose
        np.testing.assert_allclose(rel, rel2, atol=1e-9)
    for a, b in zip(s.objects.values(), moved.objects.values(), strict=True):
        np.testing.assert_allclose(np.sort(a.obb.size), np.sort(b.obb.size), atol=1e-9)


@pytest.mark.parametrize("k", [0.5, 2.0, 3.7])
def test_scaling_scales_distances_and_area(k):
    rng = np.random.default_rng(2)
    objs = [
        SceneObject(str(i), "o", rng.normal(c, 0.3, size=(150, 3)))
        for i, c in enumerate([[0, 0, 0], [3, 0, 0], [0, 4, 1]])
    ]
    floor = SceneObject("9", "floor", grid_floor([(-1, -1, 4, 5)]))
    s = Scene("k", [*objs, floor])
    big = s.transformed(scale=k)
    np.testing.assert_allclose(big.centroid_distances, k * s.centroid_distances, rtol=1e-12)
    np.testing.assert_allclose(big.closest_distances, k * s.closest_distances, rtol=1e-12)
    assert big.room_area == pytest.approx(k * k * 30.0, rel=1e-9)
    for a, b in zip(s.objects.values(), big.objects.values(), strict=True):
        np.testing.assert_allclose(b.obb.size, k * a.obb.size, rtol=1e-9)


def test_content_hash_changes_with_content(two_cubes):
    h = two_cubes.content_hash()
    assert h == Scene("t", list(two_cubes.objects.values())).content_hash()
    assert h != two_cubes.transformed(translation=np.array([0, 0, 1e-6])).content_hash()
