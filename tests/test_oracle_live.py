"""The live oracle: exact answers with evidence for caller-supplied parameters, or typed
rejections, on a tiny hand-built scene and on the demo scene."""

from __future__ import annotations

import json

import numpy as np
import pytest

import geoenv
from geoenv import Scene, SceneObject
from geoenv.frames import Frame
from geoenv.oracles import (
    AmbiguousReferentError,
    IllPosedError,
    InvalidParameterError,
    MissingParameterError,
    Oracle,
    OracleError,
    Rejection,
    UnknownParameterError,
    UnknownReferentError,
    UnknownTemplateError,
    score,
)
from geoenv.oracles import live as L
from geoenv.tasks.registry import get, templates
from geoenv.transforms import look_at

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


def box(lo, hi, n=5) -> np.ndarray:
    axes = [np.linspace(a, b, n) for a, b in zip(lo, hi, strict=True)]
    return np.array(np.meshgrid(*axes, indexing="ij")).reshape(3, -1).T


@pytest.fixture(scope="module")
def tiny() -> Scene:
    """sofa [0,1]x[0,1]x[0,1]; tv [2,3]x[0,1]x[0,1] (1 m from the sofa, centres 2 m apart);
    two chairs; a lamp 2 cm from the tv; a trash can; one camera at (1.5, -4, 0.5) looking at
    (1.5, 0, 0.5) (the sofa on the left of the image, the tv on the right, the trash can
    behind the camera)."""
    objs = [
        SceneObject("1", "sofa", box((0, 0, 0), (1, 1, 1))),
        SceneObject("2", "tv", box((2, 0, 0), (3, 1, 1))),
        SceneObject("3", "chair", box((0, 3, 0), (0.5, 3.5, 0.9))),
        SceneObject("4", "chair", box((2, 3, 0), (2.5, 3.5, 0.9))),
        SceneObject("5", "lamp", box((3.02, 0, 0), (3.3, 0.3, 1.6))),
        SceneObject("6", "trash_can", box((1.4, -6, 0), (1.7, -5.7, 0.4))),  # behind the camera
    ]
    pose = look_at(np.array([1.5, -4.0, 0.5]), np.array([1.5, 0.0, 0.5]))
    return Scene("tiny", objs, [Frame(0, pose, K, 640, 480)])


def test_answer_by_name_equals_answer_by_id(tiny):
    o = Oracle(tiny)
    by_name = o.ask("object_distance", a="sofa", b="tv")
    by_id = o.ask("object_distance", a="1", b=2)
    assert by_name == by_id
    assert o.ask("object_distance", a="1", b="2", measure="closest").value == by_name.value
    assert by_name.params == {"a": "1", "b": "2"}
    assert by_name.value == pytest.approx(1.0) and by_name.answer == "1.00"
    assert by_name.evidence["closest_gap_m"] == pytest.approx(1.0)
    assert "1.00 m apart" in by_name.rationale
    assert by_name.answer_type == "number" and by_name.unit == "m" and by_name.metric == "mra"
    centre = o.ask("object_distance", a="the sofa", b="TV", measure="centroid")
    assert centre.value == pytest.approx(2.0) and centre.answer == "2.00"
    size = o.ask("object_size", a="sofa")
    assert size.value == pytest.approx(100.0) and size.answer == "100"


def test_question_text_is_canonical_and_the_row_scores(tiny):
    a = Oracle(tiny).ask("object_distance", a="sofa", b="tv")
    tpl = get("object_distance")
    q = tpl.question(tiny, {"a": "1", "b": "2"}, np.random.default_rng(L.QUESTION_SEED), slot=0)
    assert a.question == q.text and a.row == q
    assert "sofa" in a.question and "tv" in a.question
    assert a == Oracle(tiny).ask("object_distance", b="tv", a="sofa")  # deterministic
    assert score(a.row, f"<answer>{a.answer} m</answer>").reward == 1.0
    json.loads(a.model_dump_json())  # serialisable


def test_camera_template_and_frame_coercion(tiny):
    o = Oracle(tiny)
    ego = o.ask("egocentric_direction", frame="0", a="sofa", b="tv")
    assert ego.params == {"frame": 0, "a": "1", "b": "2"}
    assert ego.value == "left"
    assert ego.evidence["u_a_px"] < ego.evidence["u_b_px"]
    assert ego.answer in ego.choices and score(ego.row, ego.answer).reward == 1.0


def test_category_parameter_is_normalised(tiny):
    o = Oracle(tiny)
    assert o.ask("object_count", category="Chair").value == 2
    assert o.ask("object_count", category="trash can").params == {"category": "trash_can"}
    assert o.ask("object_size", a="Trash Can").params == {"a": "6"}


def test_ambiguous_referent_lists_the_ids(tiny):
    o = Oracle(tiny)
    with pytest.raises(AmbiguousReferentError) as e:
        o.ask("object_distance", a="chair", b="tv")
    assert e.value.evidence["ids"] == ["3", "4"]
    assert "3, 4" in e.value.reason and e.value.rejection.kind == "ambiguous_referent"
    with pytest.raises(AmbiguousReferentError, match="a category with 2 instances"):
        o.ask("object_distance", a="3", b="tv")  # an id of an ambiguous category


def test_ill_posed_carries_reason_and_evidence(tiny):
    o = Oracle(tiny)
    with pytest.raises(IllPosedError) as e:
        o.ask("object_distance", a="tv", b="lamp")  # 2 cm apart < min_gap 0.05 m
    assert "nearly touch" in e.value.reason
    assert e.value.evidence["gap"] == pytest.approx(0.02)
    with pytest.raises(IllPosedError, match="same object"):
        o.ask("object_distance", a="sofa", b="1")
    with pytest.raises(IllPosedError, match="not in view"):
        o.ask("egocentric_direction", frame=0, a="sofa", b="trash_can")
    with pytest.raises(IllPosedError, match="no frame"):
        o.ask("egocentric_direction", frame=7, a="sofa", b="tv")
    # Thresholds can be overridden per template.
    loose = Oracle(tiny, thresholds={"object_distance": {"min_gap": 0.01}})
    assert loose.ask("object_distance", a="tv", b="lamp").value == pytest.approx(0.02)


def test_typed_errors(tiny):
    o = Oracle(tiny)
    with pytest.raises(UnknownTemplateError) as e:
        o.ask("nope", a="sofa")
    assert "object_distance" in e.value.evidence["known"]
    with pytest.raises(UnknownParameterError, match="accepted: a, b, measure"):
        o.ask("object_distance", a="sofa", c="tv")
    with pytest.raises(MissingParameterError, match="'b' is required"):
        o.ask("object_distance", a="sofa")
    with pytest.raises(UnknownReferentError) as e:
        o.ask("object_distance", a="piano", b="tv")
    assert e.value.evidence["categories"] == list(tiny.labels)
    with pytest.raises(InvalidParameterError, match="one object id"):
        o.ask("object_distance", a=["1"], b="tv")
    with pytest.raises(InvalidParameterError):
        o.ask("object_distance", a=1.5, b="tv")
    for cls in (UnknownTemplateError, IllPosedError, AmbiguousReferentError):
        assert issubclass(cls, OracleError) and issubclass(cls, geoenv.GeoenvError)


def test_ask_or_reject_returns_a_serialisable_rejection(tiny):
    r = Oracle(tiny).ask_or_reject("object_distance", a="chair", b="tv")
    assert isinstance(r, Rejection) and r.kind == "ambiguous_referent"
    d = json.loads(r.model_dump_json())
    assert d["params"] == {"a": "chair", "b": "tv"} and d["evidence"]["ids"] == ["3", "4"]
    ok = Oracle(tiny).ask_or_reject("object_size", a="sofa")
    assert not isinstance(ok, Rejection)


def test_aliases(tiny, monkeypatch):
    monkeypatch.setitem(L.ALIASES, "object_distance", {"first": "a", "second": "b"})
    o = Oracle(tiny)
    assert o.ask("object_distance", first="sofa", second="tv").params == {"a": "1", "b": "2"}
    assert o.params("object_distance")["first"] == "alias of 'a'"
    with pytest.raises(UnknownParameterError, match="given twice"):
        o.ask("object_distance", first="sofa", a="sofa", b="tv")


@pytest.mark.skipif("relative_direction" not in templates(), reason="template not registered")
def test_relative_direction_issue_example():
    o = Oracle(geoenv.demo_scene(0))
    a = o.ask("relative_direction", standing="sofa", facing="tv", target="lamp", variant="lr")
    assert a.params["a"] == "11" and a.params["b"] == "18" and a.params["c"] == "19"


def test_demo_scene_matches_the_templates():
    scene = geoenv.demo_scene(0)
    o = Oracle(scene)
    for name in ("object_distance", "object_size", "object_count", "room_size"):
        tpl = templates()[name]
        for q in tpl.generate(scene, 1, 3):
            a = o.ask(name, **q.params)
            assert a.value == pytest.approx(tpl.answer(scene, q.params).value)
            assert a.evidence == q.evidence
            assert score(a.row, a.answer).reward == 1.0
    d = o.ask("object_distance", a="sofa", b="cabinet")
    assert d.params == {"a": "11", "b": "17"}
    with pytest.raises(AmbiguousReferentError) as e:
        o.ask("object_size", a="plant")
    assert e.value.evidence["ids"] == ["20", "21", "22"]
    with pytest.raises(IllPosedError, match="room structure"):
        o.ask("object_size", a="floor")
