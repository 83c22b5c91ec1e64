"""The program language (parse, type check, interpret), the difficulty rule and the scene cache,
in process. The HTTP stack is tested in test_service.py / test_service_fuzz.py."""

from __future__ import annotations

import importlib.util
import math
from itertools import permutations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from task_scenes import make_scene

import geoenv
from geoenv.oracles.difficulty import estimate, template_margins, template_referents
from geoenv.oracles.program import (
    BudgetExceeded,
    Margin,
    ProgramError,
    ProgramLimits,
    ProgramNodes,
    check,
    classify_direction,
    floor_angle,
    run,
)
from geoenv.oracles.scene_cache import SceneCache, UnknownSceneError, estimate_bytes, scene_id_of
from geoenv.tasks.base import IllPosed
from geoenv.tasks.registry import get

NODES = TypeAdapter(ProgramNodes)
HAS_GEODESY = importlib.util.find_spec("geoenv.geodesy") is not None


def parse(program: list[dict]):
    return NODES.validate_python(program)


def go(scene, program: list[dict], **kw):
    return run(scene, parse(program), **kw)


def rejected(scene, program: list[dict], **kw) -> ProgramError:
    with pytest.raises(ProgramError) as e:
        go(scene, program, **kw)
    return e.value


def cat(category: str, src: int = 0) -> dict:
    return {"op": "filter_category", "inputs": [src], "category": category}


def uniq(src: int) -> dict:
    return {"op": "unique", "inputs": [src]}


@pytest.fixture(scope="module")
def tiny():
    # table 1x1x1 at the origin; lamp 0.2x0.2x2 at x=3; two chairs.
    return make_scene(
        {
            "1": ("table", (0, 0, 0), (1, 1, 1)),
            "2": ("lamp", (3, 0, 0), (3.2, 0.2, 2)),
            "3": ("chair", (0, 3.5, 0), (0.5, 4, 0.5)),
            "4": ("chair", (4, 4, 0), (4.5, 4.5, 0.5)),
        }
    )


@pytest.fixture(scope="module")
def demo():
    return geoenv.demo_scene(0)


# ---------------------------------------------------------------------------- interpreter
def test_distance_count_height_hand_computed(tiny):
    a = go(tiny, [{"op": "scene"}, cat("table"), uniq(1), cat("lamp"), uniq(3),
                  {"op": "distance", "inputs": [2, 4]}])  # fmt: skip
    assert a.value == pytest.approx(2.0)
    assert (a.answer, a.answer_type, a.unit, a.metric) == ("2.00", "number", "m", "mra")
    assert (
        a.text == "What is the distance between the table and the lamp (closest points), in metres?"
    )
    assert a.objects == ["1", "2"]
    c = go(tiny, [{"op": "scene"}, cat("table"), uniq(1), cat("lamp"), uniq(3),
                  {"op": "distance", "inputs": [2, 4], "measure": "centroid"}])  # fmt: skip
    assert c.value == pytest.approx(math.sqrt(2.6**2 + 0.4**2 + 0.5**2))
    n = go(tiny, [{"op": "scene"}, cat("Chair"), {"op": "count", "inputs": [1]}])
    assert (n.value, n.answer, n.answer_type, n.unit) == (2, "2", "count", "count")
    assert n.text == "How many chairs are there in the scene?"
    h = go(tiny, [{"op": "scene"}, cat("lamp"), uniq(1), {"op": "height", "inputs": [2]}])
    assert h.value == pytest.approx(2.0)
    s = go(tiny, [{"op": "scene"}, cat("the lamp"), uniq(1), {"op": "size", "inputs": [2]}])
    assert s.value == pytest.approx(2.0)


def test_compare_margin_rule(tiny):
    prog = [{"op": "scene"}, cat("lamp"), uniq(1), {"op": "height", "inputs": [2]},
            cat("table"), uniq(4), {"op": "height", "inputs": [5]},
            {"op": "compare", "inputs": [3, 6], "relation": "greater"}]  # fmt: skip
    a = go(tiny, prog)
    assert (a.value, a.answer, a.answer_type) == (True, "yes", "bool")
    # |2 - 1| = 1 against max(min_margin_m 0.15, 0.10 x 2) = 0.2
    assert a.margins[0].as_dict() == {"node": 7, "what": "difference_m", "value": 1.0,
                                      "required": pytest.approx(0.2)}  # fmt: skip
    prog[7] = {"op": "compare", "inputs": [3, 6], "relation": "less"}
    assert go(tiny, prog).answer == "no"
    # An object against itself: difference 0 < 0.2.
    same = [{"op": "scene"}, cat("lamp"), uniq(1), {"op": "height", "inputs": [2]},
            {"op": "height", "inputs": [2]}, {"op": "compare", "inputs": [3, 4]}]  # fmt: skip
    e = rejected(tiny, same)
    assert e.kind == "ill_posed" and e.node == 5
    assert e.evidence["difference"] == 0.0 and e.evidence["required"] == pytest.approx(0.2)
    assert "differ by 0 < max(min_margin_m, min_margin_rel x max) = 0.2" in e.message


def test_argmin_argmax(tiny):
    a = go(tiny, [{"op": "scene"}, cat("table"), uniq(1),
                  {"op": "argmin", "inputs": [0, 2], "key": "distance"}])  # fmt: skip
    # lamp 2.0 m, chair 3 2.5 m, chair 4 sqrt(18) m; the table itself is not a candidate.
    assert (a.value, a.answer, a.choices) == ("2", "lamp", ["lamp", "chair"])
    assert a.margins[0].value == pytest.approx(0.5)
    assert a.margins[0].required == pytest.approx(max(0.15, 0.1 * 2.0))
    assert a.text.startswith("Which object is closest to the table: the lamp or the chair?")
    e = rejected(tiny, [{"op": "scene"}, cat("table"), uniq(1),
                        {"op": "argmax", "inputs": [0, 2], "key": "distance"}])  # fmt: skip
    assert e.kind == "not_unique" and e.evidence["ids"] == ["3", "4"]  # the chair, by name
    t = go(tiny, [{"op": "scene"}, {"op": "argmax", "inputs": [0], "key": "height"},
                  {"op": "height", "inputs": [1]}])  # fmt: skip
    assert t.value == pytest.approx(2.0)
    assert t.text == "What is the height of the object that is the tallest, in metres?"
    one = rejected(tiny, [{"op": "scene"}, cat("lamp"),
                          {"op": "argmin", "inputs": [1], "key": "size"}])  # fmt: skip
    assert one.kind == "ill_posed" and "at least 2 candidates" in one.message


def test_direction_hand_computed(tiny):
    base = [{"op": "scene"}, cat("table"), uniq(1), cat("lamp"), uniq(3), cat("chair"),
            {"op": "unique", "inputs": [5]}]  # fmt: skip
    # Chairs are not unique: target the chair nearest the table instead.
    base[6] = {"op": "argmin", "inputs": [5, 2], "key": "distance"}
    ang, _, _ = floor_angle(np.array([0.5, 0.5]), np.array([3.1, 0.1]), np.array([0.25, 3.75]))
    assert ang == pytest.approx(math.degrees(math.atan2(8.35, -1.95)))  # ~103.1 deg
    lr = go(tiny, [*base, {"op": "direction_from", "inputs": [2, 4, 6], "variant": "lr"}])
    assert (lr.answer, lr.choices) == ("left", ["left", "right"])
    lrb = go(tiny, [*base, {"op": "direction_from", "inputs": [2, 4, 6], "variant": "lrb"}])
    assert lrb.answer == "left"
    e = rejected(
        tiny, [*base, {"op": "direction_from", "inputs": [2, 4, 6], "variant": "quadrant"}]
    )
    assert e.kind == "ill_posed" and e.evidence["boundary_distance_deg"] == pytest.approx(ang - 90)


def test_direction_follows_relative_direction_template(demo):
    """direction_from gives the template's answer, or rejects exactly when it does."""
    tpl = get("relative_direction")
    ids = list(demo.unique_labels)
    agree = 0
    for a, b, c in permutations(ids, 3):
        oa, ob, oc = (demo.labels[x][0] for x in (a, b, c))
        prog = [{"op": "scene"}, cat(a), uniq(1), cat(b), uniq(3), cat(c), uniq(5)]
        for variant in ("lr", "lrb", "quadrant"):
            try:
                want = tpl.answer(demo, {"a": oa, "b": ob, "c": oc, "variant": variant}).value
            except IllPosed:
                want = None
            p = [*prog, {"op": "direction_from", "inputs": [2, 4, 6], "variant": variant}]
            try:
                got = go(demo, p).answer
            except ProgramError as e:
                assert e.kind == "ill_posed"
                got = None
            assert got == want, (a, b, c, variant)
            agree += want is not None
    assert agree > 100


def test_classify_direction_boundaries():
    assert classify_direction(30.0, "lr") == ("left", 30.0)
    assert classify_direction(-170.0, "lr") == ("right", 10.0)
    assert classify_direction(140.0, "lrb") == ("back", 5.0)
    assert classify_direction(20.0, "lrb") == (None, 25.0)
    assert classify_direction(-100.0, "quadrant") == ("back-right", 10.0)


def test_referent_rejections(tiny, demo):
    e = rejected(tiny, [{"op": "scene"}, cat("chair"), uniq(1), {"op": "height", "inputs": [2]}])
    assert (e.kind, e.node, e.evidence["ids"]) == ("not_unique", 2, ["3", "4"])
    assert "2 objects match node 1" in e.message
    e = rejected(tiny, [{"op": "scene"}, cat("giraffe"), uniq(1), {"op": "height", "inputs": [2]}])
    assert e.kind == "referent_missing" and "no object of category 'giraffe'" in e.message
    e = rejected(tiny, [{"op": "scene"}, cat("floor"), uniq(1), {"op": "height", "inputs": [2]}])
    assert e.kind == "referent_missing" and "room structure" in e.message
    e = rejected(tiny, [{"op": "scene"}, cat("giraffe"), {"op": "count", "inputs": [1]}])
    assert e.kind == "ill_posed" and e.evidence == {"answer": 0.0, "min_answer": 1.0}
    e = rejected(tiny, [{"op": "camera", "frame": 3}, {"op": "scene"},
                        {"op": "filter_visible", "inputs": [1, 0]},
                        {"op": "count", "inputs": [2]}])  # fmt: skip
    assert e.kind == "unknown_frame" and e.node == 0
    # Not in view: an object of the demo scene outside frame f.
    from geoenv.tasks.camera import in_view_mask

    ids = [demo.labels[lab][0] for lab in demo.unique_labels]
    for f in demo.frames:
        hidden = [i for i, m in zip(ids, in_view_mask(demo, f, ids), strict=True) if not m]
        if hidden:
            break
    label = demo[hidden[0]].label
    prog = [{"op": "scene"}, {"op": "camera", "frame": f.index},
            {"op": "filter_visible", "inputs": [0, 1]}, cat(label, 2), uniq(3),
            {"op": "height", "inputs": [4]}]  # fmt: skip
    e = rejected(demo, prog)
    assert e.kind == "referent_missing" and e.node == 4  # filtered out before the category
    prog[2:4] = [cat(label), {"op": "filter_visible", "inputs": [2, 1]}]
    e = rejected(demo, prog)
    assert e.kind == "not_visible" and e.evidence["frame"] == f.index
    assert f"is in view in frame {f.index}" in e.message


def test_filter_visible_uses_in_view_mask(demo):
    from geoenv.tasks.camera import in_view_mask

    chairs = list(demo.labels["chair"])
    for f in demo.frames[:6]:
        want = int(in_view_mask(demo, f, chairs).sum())
        prog = [{"op": "scene"}, {"op": "camera", "frame": f.index},
                {"op": "filter_visible", "inputs": [0, 1]}, cat("chair", 2),
                {"op": "count", "inputs": [3]}]  # fmt: skip
        if want == 0:
            assert rejected(demo, prog).kind == "ill_posed"
        else:
            a = go(demo, prog)
            assert a.value == want
            assert a.text == f"How many chairs are visible in frame {f.index}?"


# ---------------------------------------------------------------------------- checker, parser
@pytest.mark.parametrize(
    ("program", "node", "needle"),
    [
        ([{"op": "scene"}, {"op": "count", "inputs": [0]}, {"op": "height", "inputs": [1]}], 2,
         "input 0 (node 1) is number[count], expected object"),
        ([{"op": "count", "inputs": [1]}, {"op": "scene"}], 0, "must refer to earlier nodes"),
        ([{"op": "scene"}, {"op": "distance", "inputs": [0]}], 1, "takes 2 inputs, got 1"),
        ([{"op": "scene"}, {"op": "scene"}, {"op": "count", "inputs": [1]}], 0, "never used"),
        ([{"op": "scene"}], 0, "ends in objects"),
        ([{"op": "scene"}, cat("lamp"), uniq(1), {"op": "height", "inputs": [2]},
          {"op": "count", "inputs": [0]}, {"op": "compare", "inputs": [3, 4]}], 5,
         "compares number[m] with number[count]"),
        ([{"op": "scene"}, {"op": "argmin", "inputs": [0], "key": "distance"}], 1,
         "needs a reference"),
        ([{"op": "scene"}, cat("lamp"), uniq(1),
          {"op": "argmin", "inputs": [0, 2], "key": "height"}], 3, "takes no reference"),
        ([{"op": "camera", "frame": 0}, {"op": "centroid", "inputs": [0]},
          {"op": "distance", "inputs": [1, 0]}], 1, "input 0 (node 0) is frame"),
    ],
)  # fmt: skip
def test_type_errors(tiny, program, node, needle):
    e = rejected(tiny, program)
    assert e.kind == "type_error" and e.node == node
    assert f"type error at node {node}" in e.message and needle in e.message


def test_limits(tiny):
    chain = (
        [{"op": "scene"}] + [cat("chair", k) for k in range(20)] + [{"op": "count", "inputs": [20]}]
    )
    e = rejected(tiny, chain)
    assert e.kind == "limit" and "depth 22 > max_depth 16" in e.message
    assert go(tiny, chain, limits=ProgramLimits(max_nodes=64, max_depth=32)).value == 2
    e = rejected(tiny, chain, limits=ProgramLimits(max_nodes=10))
    assert e.kind == "limit" and "22 nodes > max_nodes 10" in e.message
    with pytest.raises(BudgetExceeded):
        go(tiny, [{"op": "scene"}, {"op": "count", "inputs": [0]}], deadline=0.0)


@pytest.mark.parametrize(
    "program",
    [
        [{"op": "eval"}],
        [{"op": "__import__", "inputs": []}],
        [{"op": "scene", "__class__": "x"}],
        [{"op": "filter_category", "inputs": [0], "category": 3}],
        [{"op": "camera", "frame": "3"}],
        [{"op": "camera", "frame": 2**40}],
        [{"op": "scene", "inputs": [-1]}],
        [{"op": "scene", "inputs": [True]}],
        [{"op": "relate", "inputs": [0, 1], "predicate": "__class__"}],
        [{"op": "relate", "inputs": [0, 1], "predicate": "touches", "snap_m": float("inf")}],
        [],
        ["scene"],
    ],
)
def test_parser_rejects(program):
    with pytest.raises(ValidationError):
        parse(program)


def test_deterministic(demo):
    prog = [{"op": "scene"}, cat("sofa"), uniq(1),
            {"op": "argmin", "inputs": [0, 2], "key": "distance"}]  # fmt: skip
    a, b = go(demo, prog), go(demo, prog)
    assert (a.answer, a.text, a.evidence, a.choices) == (b.answer, b.text, b.evidence, b.choices)


@pytest.mark.skipif(not HAS_GEODESY, reason="geoenv.geodesy is not in this build yet")
def test_geo_ops_call_geodesy(demo):
    from geoenv import geodesy

    layer = demo.geo_layers["demo_city"]
    g = {i: layer.lonlat[layer.ids.index(i)] for i in ("cafe", "library", "park", "river")}
    f = [{"op": "feature", "id": "cafe"}, {"op": "feature", "id": "library", "layer": "demo_city"}]
    d = go(demo, [*f, {"op": "geo_distance", "inputs": [0, 1]}])
    assert d.value == pytest.approx(geodesy.distance_m(g["cafe"], g["library"]))
    assert d.text == "What is the distance between cafe and library, in metres?"
    b = go(demo, [*f, {"op": "bearing", "inputs": [0, 1]}])
    assert b.value == pytest.approx(geodesy.bearing_deg(g["cafe"], g["library"]))
    assert b.unit == "deg"
    a = go(demo, [{"op": "feature", "id": "park"}, {"op": "area", "inputs": [0]}])
    assert a.value == pytest.approx(geodesy.area_m2(g["park"])) and a.unit == "m2"
    r = go(demo, [{"op": "feature", "id": "park"}, {"op": "feature", "id": "river"},
                  {"op": "relate", "inputs": [0, 1], "predicate": "intersects"}])  # fmt: skip
    assert r.value == geodesy.relate(g["park"], g["river"])["intersects"]
    e = rejected(demo, [{"op": "feature", "id": "park"}, {"op": "feature", "id": "river"},
                        {"op": "relate", "inputs": [0, 1], "predicate": "snapped"}])  # fmt: skip
    assert e.kind == "ill_posed" and "intersects" in e.evidence["predicates"]
    e = rejected(demo, [{"op": "feature", "id": "cafe"}, {"op": "area", "inputs": [0]}])
    assert e.kind == "ill_posed"  # a point has no area
    e = rejected(demo, [{"op": "feature", "id": "nope"}, {"op": "area", "inputs": [0]}])
    assert e.kind == "unknown_feature" and "cafe" in e.evidence["features"]


@pytest.mark.skipif(HAS_GEODESY, reason="geoenv.geodesy is present")
def test_geo_ops_without_geodesy(demo):
    e = rejected(demo, [{"op": "feature", "id": "park"}, {"op": "area", "inputs": [0]}])
    assert e.kind == "unsupported"


def test_check_returns_types(tiny):
    types = check(parse([{"op": "scene"}, cat("lamp"), uniq(1),
                         {"op": "centroid", "inputs": [2]}, {"op": "camera", "frame": 0},
                         {"op": "distance", "inputs": [3, 4]}]))  # fmt: skip
    assert types == ["objects", "objects", "object", "point", "frame", "number[m]"]


# ---------------------------------------------------------------------------- difficulty
def test_difficulty_rule():
    d = estimate([Margin(None, "x", 2.0, 1.0), Margin(None, "y", 10.0, 1.0)], 4, 6)
    # margin 1/2, objects 3/9, size 5/15: 0.5 * 0.5 + 0.3 / 3 + 0.2 / 3
    assert d.score == pytest.approx(round(0.25 + 0.1 + 0.2 / 3, 4))
    assert (d.level, d.margin, d.n_objects, d.n_nodes) == ("medium", 0.5, 4, 6)
    assert d.closest == {"node": None, "what": "x", "value": 2.0, "required": 1.0}
    assert estimate([], 1, 1).score == 0.0 and estimate([], 1, 1).level == "easy"
    hard = estimate([Margin(0, "x", 1.0, 1.0)], 12, 30)
    assert hard.score == 1.0 and hard.level == "hard"


def test_template_margins_and_referents(demo):
    ev = {"margin_m": 0.3, "required_margin_m": 0.15, "ratio": 1.44, "boundary_distance_deg": 30}
    th = {"min_ratio": 1.2, "min_boundary_deg": 15.0}
    ms = {m.what: (m.value, m.required) for m in template_margins(ev, th)}
    assert ms["margin_m"] == (0.3, 0.15) and ms["boundary_distance_deg"] == (30, 15.0)
    assert ms["log_ratio"] == pytest.approx((math.log(1.44), math.log(1.2)))
    ids, refs = template_referents(
        {"a": "11", "candidates": ["10", "12", "17"], "mode": "closest"},
        get("relative_distance").param_doc,
        demo.labels,
    )
    assert (ids, refs) == (["11", "10", "12", "17"], 4)
    ids, refs = template_referents(
        {"category": "chair"}, {"category": "category label"}, demo.labels
    )
    assert (ids, refs) == (list(demo.labels["chair"]), 1)


# ---------------------------------------------------------------------------- scene cache
def test_scene_cache_lazy_lru():
    scenes = {f"demo:{i}": geoenv.demo_scene(i) for i in range(3)}
    loads: list[str] = []

    def loader(src: str):
        loads.append(src)
        return scenes[src]

    one = estimate_bytes(scenes["demo:0"])
    assert one > scenes["demo:0"].points.nbytes  # arrays x overhead
    cache = SceneCache(list(scenes), max_bytes=int(one * 1.5), loader=loader)
    assert cache.ids() == ["demo_0", "demo_1", "demo_2"] and loads == []
    assert cache.get("demo_0").scene is scenes["demo:0"]
    assert cache.get("demo:0").scene is scenes["demo:0"]  # by source too
    assert cache.is_cached("demo_0") and not cache.is_cached("demo_1")
    cache.get("demo_1")  # over the bound: demo_0 (least recently used) goes
    assert list(cache.loaded()) == ["demo:1"]
    cache.get("demo_0")
    assert loads == ["demo:0", "demo:1", "demo:0"]
    st = cache.stats()
    assert (st["hits"], st["loads"], st["evictions"], st["cached"]) == (1, 3, 2, 1)
    with pytest.raises(UnknownSceneError):
        cache.get("demo_9")
    assert scene_id_of("demo") == "demo_0" and scene_id_of("/x/scene0001_00.ply") == "scene0001_00"
