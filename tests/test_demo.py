"""The demo scene: requirements of the brief, and byte-identical determinism."""

import subprocess
import sys

import numpy as np
import pytest

import geoenv
from geoenv.scene import STRUCTURAL_LABELS


@pytest.fixture(scope="module")
def demo():
    return geoenv.demo_scene(0)


def test_demo_contents(demo):
    furniture = [o for o in demo.objects.values() if o.label not in STRUCTURAL_LABELS]
    labels = {o.label for o in furniture}
    assert 10 <= len(furniture) <= 20
    assert len(labels) >= 6
    assert any(len(demo.labels[lab]) > 1 for lab in labels)  # repeated categories
    assert demo.unique_labels  # and unique ones
    assert len(demo.frames) >= 30
    assert demo.points is not None and demo.colors is not None and demo.instance is not None
    assert demo.colors.dtype == np.uint8 and demo.colors.shape == demo.points.shape
    assert demo.mesh is not None and len(demo.mesh_face_instance) == len(demo.mesh.faces)
    layer = demo.geo_layers["demo_city"]
    kinds = {g.geom_type for g in layer.geometries}
    assert {"Polygon", "LineString", "Point"} <= kinds
    lon, lat = layer.center_lonlat
    assert 8.4 < lon < 8.7 and 47.3 < lat < 47.5  # Zurich


def test_demo_geometry_is_sane(demo):
    w, d, h = demo.metadata["room_size_m"]
    assert demo.floor_height == 0.0
    assert demo.room_area == pytest.approx(w * d, rel=1e-12)  # the floor grid reaches the walls
    for o in demo.objects.values():
        if o.label in STRUCTURAL_LABELS:
            continue
        assert (
            (o.aabb.min[:2] >= 0.1).all() and o.aabb.max[0] <= w - 0.1 and o.aabb.max[1] <= d - 0.1
        )
        assert o.aabb.min[2] >= -1e-9 and o.aabb.max[2] < h
    # Furniture never collides: closest distances between furniture >= the clearance - sampling.
    ids = [i for i, o in demo.objects.items() if o.label not in STRUCTURAL_LABELS]
    for a in ids[:6]:
        for b in ids:
            if a != b:
                assert demo.closest_distance(a, b) > 0.1
    # Every camera is inside the room, at 1.5 m, and sees at least one object's centroid.
    cents = np.array([demo[i].centroid for i in ids])
    for f in demo.frames:
        assert 0 < f.position[0] < w and 0 < f.position[1] < d
        assert f.position[2] == pytest.approx(1.5)
        assert f.in_frustum(cents).any()


def test_demo_is_deterministic_across_processes(demo):
    code = "import geoenv; print(geoenv.demo_scene(0).content_hash())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == demo.content_hash()
    assert geoenv.demo_scene(1).content_hash() != demo.content_hash()


def test_load_scene_demo_source():
    assert geoenv.load_scene("demo:3").content_hash() == geoenv.demo_scene(3).content_hash()
    assert geoenv.load_scene("demo").id == "demo_0"
