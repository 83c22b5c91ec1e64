"""Hand-computed and metamorphic tests of object_count, object_distance, object_size, room_size."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from task_scenes import make_scene

import geoenv
from geoenv.tasks import IllPosed, get
from geoenv.tasks.metrics import mra
from geoenv.transforms import rot_z

BOXES = {
    "1": ("sofa", (0.5, 0.5, 0.0), (2.5, 1.5, 0.8)),
    "2": ("table", (3.5, 0.5, 0.0), (4.5, 1.3, 0.75)),
    "3": ("chair", (3.0, 3.0, 0.0), (3.5, 3.5, 0.9)),
    "4": ("chair", (4.0, 3.0, 0.0), (4.5, 3.5, 0.9)),
    "5": ("lamp", (2.52, 0.5, 0.0), (2.8, 0.8, 1.6)),  # 2 cm from the sofa: touching
}


@pytest.fixture()
def scene():
    return make_scene(BOXES)


def test_object_count(scene):
    t = get("object_count")
    assert t.answer(scene, {"category": "chair"}).value == 2
    assert t.answer(scene, {"category": "sofa"}).value == 1
    with pytest.raises(IllPosed, match="not in the scene"):
        t.answer(scene, {"category": "bed"})
    cats = [c["category"] for c in t.candidates(scene)]
    assert cats == ["chair", "lamp", "sofa", "table"]  # structure (floor) excluded


def test_object_distance_hand_computed(scene):
    t = get("object_distance")
    a = t.answer(scene, {"a": "1", "b": "2", "measure": "closest"})
    assert a.value == pytest.approx(1.0)  # x gap 2.5 -> 3.5
    c = t.answer(scene, {"a": "1", "b": "2", "measure": "centroid"})
    assert c.value == pytest.approx(
        np.linalg.norm([2.5, 0.1, 0.025])
    )  # (1.5, 1, .4) -> (4, .9, .375)
    with pytest.raises(IllPosed, match="nearly touch"):
        t.answer(scene, {"a": "1", "b": "5", "measure": "closest"})
    with pytest.raises(IllPosed, match="ambiguous"):
        t.answer(scene, {"a": "1", "b": "3", "measure": "closest"})
    with pytest.raises(IllPosed, match="no object"):
        t.answer(scene, {"a": "1", "b": "99", "measure": "closest"})
    # The gap threshold is a parameter: at 1 cm the lamp pair becomes valid.
    assert get("object_distance", min_gap=0.01).answer(
        scene, {"a": "1", "b": "5"}
    ).value == pytest.approx(0.02)


def test_object_size_and_room_size(scene):
    s = get("object_size").answer(scene, {"a": "1"})
    assert s.value == pytest.approx(200.0)
    assert s.evidence["box_lwh_cm"] == pytest.approx([200.0, 100.0, 80.0])
    r = get("room_size").answer(scene, {})
    assert r.value == pytest.approx(30.0)
    empty = geoenv.Scene("e", [])
    with pytest.raises(IllPosed, match="no usable floor"):
        get("room_size").answer(empty, {})


def _answers(scene, names=("object_distance", "object_size", "room_size", "object_count")):
    out = {}
    for n in names:
        t = get(n)
        for p in t.candidates(scene):
            try:
                out[(n, repr(sorted(p.items())))] = t.answer(scene, p).value
            except IllPosed as e:
                out[(n, repr(sorted(p.items())))] = f"illposed: {e.reason[:12]}"
    return out


@settings(max_examples=25, deadline=None)
@given(
    theta=st.floats(-np.pi, np.pi),
    tx=st.floats(-50, 50),
    ty=st.floats(-50, 50),
    tz=st.floats(-3, 3),
)
def test_rigid_motion_leaves_answers_unchanged(theta, tx, ty, tz):
    scene = make_scene(BOXES)
    moved = scene.transformed(rot_z(theta), np.array([tx, ty, tz]))
    a, b = _answers(scene), _answers(moved)
    assert a.keys() == b.keys()
    for k in a:
        if k[0] == "room_size":  # the footprint raster is axis-aligned: 1% tolerance
            assert b[k] == pytest.approx(a[k], rel=0.01)
        elif isinstance(a[k], str):
            assert a[k] == b[k]
        else:
            assert b[k] == pytest.approx(a[k], abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(k=st.floats(0.2, 20.0))
def test_scaling_scales_lengths_and_areas(k):
    scene = make_scene(BOXES)
    big = scene.transformed(scale=k)
    t = get("object_distance", min_gap=0.0)
    for p in (
        {"a": "1", "b": "2", "measure": "closest"},
        {"a": "1", "b": "2", "measure": "centroid"},
    ):
        assert t.answer(big, p).value == pytest.approx(k * t.answer(scene, p).value, rel=1e-9)
    assert get("object_size").answer(big, {"a": "1"}).value == pytest.approx(200.0 * k, rel=1e-9)


@settings(max_examples=15, deadline=None)
@given(k=st.floats(0.5, 2.0))
def test_scaling_scales_room_area(k):
    # The footprint raster has a fixed 0.10 m cell: the floor must stay sampled at <= 1 cell.
    scene = make_scene(BOXES, floor_spacing=0.05)
    big = scene.transformed(scale=k)
    assert get("room_size").answer(big, {}).value == pytest.approx(30.0 * k * k, rel=1e-9)


def test_swapping_a_and_b_keeps_distance(scene):
    t = get("object_distance")
    for m in ("closest", "centroid"):
        ab = t.answer(scene, {"a": "1", "b": "2", "measure": m}).value
        assert t.answer(scene, {"a": "2", "b": "1", "measure": m}).value == ab


def test_generation_on_demo_is_deterministic_and_scene_local():
    demo0, demo1 = geoenv.demo_scene(0), geoenv.demo_scene(1)
    for name in ("object_count", "object_distance", "object_size", "room_size"):
        t = get(name)
        q1 = t.generate(demo0, seed=7, n=10)
        assert q1, name
        assert [q.model_dump() for q in q1] == [
            q.model_dump() for q in t.generate(demo0, seed=7, n=10)
        ]
        # Generating another scene first changes nothing for this one.
        t.generate(demo1, seed=7, n=10)
        assert [q.id for q in t.generate(demo0, seed=7, n=10)] == [q.id for q in q1]
        for q in q1:
            assert q.answer_value is None or q.answer_value > 0
            if q.metric == "mra":
                assert mra(q.answer_value, q.answer_value) == 1.0
        assert len({q.id for q in q1}) == len(q1)


def test_mra_definition():
    assert mra(1.0, 1.0) == 1.0
    assert mra(1.04, 1.0) == pytest.approx(1.0)  # 4% error passes every threshold
    assert mra(1.12, 1.0) == pytest.approx(
        0.8
    )  # rel 0.12 < 1 - theta for theta 0.50..0.85: 8 of 10
    assert mra(3.0, 1.0) == 0.0
    assert mra(float("nan"), 1.0) == 0.0
    with pytest.raises(ValueError):
        mra(1.0, 0.0)
