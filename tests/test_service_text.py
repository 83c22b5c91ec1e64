"""Text and SpatialEvo-shaped proposals: questions in words, read by the templates' grammars,
validated and answered exactly (in-process Validator and over HTTP)."""

from __future__ import annotations

import httpx
import pytest
from service_server import running

import geoenv
from geoenv.oracles.proposals import Validator, rejection_cause, spatialevo_templates
from geoenv.oracles.scene_cache import SceneCache
from geoenv.oracles.service import create_app
from geoenv.tasks.camera import in_view_mask
from geoenv.tasks.parity import BENCHMARKS
from geoenv.tasks.registry import templates


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(SceneCache(["demo:0"]))


@pytest.fixture(scope="module")
def demo():
    return geoenv.demo_scene(0)


def text(t: str, **extra) -> dict:
    return {"scene_id": "demo_0", "text": t, **extra}


def test_text_proposal_answers_exactly(validator, demo) -> None:
    q = templates()["object_distance"].generate(demo, 0, 1)[0]
    r = validator.validate(text(q.text, answer=q.answer))
    assert r["valid"] and r["form"] == "text", r["reasons"]
    assert r["answer"] == q.answer and r["params"] == q.params
    assert r["agreement"]["agrees"] and r["agreement"]["reward"] == 1.0
    assert r["question"]["text"] == q.text


def test_text_yes_no_answer_follows_the_text(validator, demo) -> None:
    """The same comparison asked both ways round gets opposite answers."""
    base = "comparing the volumes of their bounding boxes?"
    r1 = validator.validate(text(f"Is the sofa bigger than the tv, {base}"))
    r2 = validator.validate(text(f"Is the tv bigger than the sofa, {base}"))
    assert r1["valid"] and r2["valid"]
    assert {r1["answer"], r2["answer"]} == {"yes", "no"}
    assert r1["answer"] == "yes"  # the sofa's box is the bigger one in the demo room


@pytest.mark.parametrize(
    ("t", "cause"),
    [
        ("How many unicorns are there in this room?", "referent_missing"),
        (
            "What is the length of the longest dimension of the chair, in centimetres?",
            "referent_ambiguous",
        ),
        ("What is the meaning of life?", "unparsed"),
        ("x" * 50_000, "unparsed"),
        ("How many chairs\x00 are there in this room?", "unparsed"),
    ],
)
def test_text_rejections_say_why(validator, t, cause) -> None:
    r = validator.validate(text(t))
    assert not r["valid"]
    assert r["reasons"][0]["cause"] == cause, r["reasons"]
    assert r["reasons"][0]["field"] == "text"


def test_text_margin_too_small_and_not_visible(validator, demo) -> None:
    """Ill-posed texts are classified: a margin under its threshold, an object out of view."""
    tpl = templates()["camera_distance"]
    frame = demo.frames[0]
    ids = [demo.labels[lab][0] for lab in demo.unique_labels]
    mask = in_view_mask(demo, frame, ids)
    label = demo[next(i for i, seen in zip(ids, mask, strict=True) if not seen)].label
    form = tpl.phrasings()["_forms"][0]
    r = validator.validate(text(form.format(t=frame.index, a=label)))
    assert not r["valid"] and r["reasons"][0]["cause"] == "not_visible", r["reasons"]
    assert rejection_cause("ill_posed", "margin 0.010 m < 0.150 m") == "margin_too_small"


def test_template_rejections_carry_a_cause_too(validator) -> None:
    r = validator.validate(
        {"scene_id": "demo_0", "template": "object_size", "params": {"a": "chair"}}
    )
    assert not r["valid"] and r["reasons"][0]["cause"] == "referent_ambiguous", r["reasons"]
    r = validator.validate(
        {"scene_id": "demo_0", "template": "object_size", "params": {"a": "yak"}}
    )
    assert not r["valid"] and r["reasons"][0]["cause"] == "referent_missing", r["reasons"]


def test_frames_must_include_the_named_frames(validator) -> None:
    t = "How far did the camera move in a straight line between frame 1 and frame 5, in metres?"
    assert validator.validate(text(t, frames=[1, 5]))["valid"]
    r = validator.validate(text(t, frames=[1, 2]))
    assert not r["valid"] and r["reasons"][0]["cause"] == "frame_missing"


def test_every_spatialevo_task_type_maps_to_a_template() -> None:
    for tid in BENCHMARKS["spatialevo"]:
        assert spatialevo_templates(tid), tid
        assert spatialevo_templates("vsi_" + tid) == spatialevo_templates(tid)
        assert spatialevo_templates("MMSI_" + tid) == spatialevo_templates(tid)
    assert spatialevo_templates("no_such_task") == []


def test_spatialevo_request_on_every_task_type(validator, demo) -> None:
    """Each of SpatialEvo's 16 task ids answers on the demo scene: a question its templates
    generate, sent in SpatialEvo's shape, is valid and answered as generated."""
    for tid in BENCHMARKS["spatialevo"]:
        qs = [q for n in spatialevo_templates(tid) for q in templates()[n].generate(demo, 0, 2)]
        assert qs, tid
        q = qs[0]
        frames = sorted(
            {int(v) for k, v in q.params.items() if k.startswith("frame") and isinstance(v, int)}
        )
        body = {"scene_id": "demo_0", "task_type": f"vsi_{tid}", "question": q.text}
        if frames:
            body["frame_ids"] = frames
        r = validator.validate(body)
        assert r["valid"], (tid, q.text, r["reasons"])
        assert r["form"] == "spatialevo" and r["answer"] == q.answer


def test_spatialevo_task_type_restricts_the_grammar(validator) -> None:
    body = {
        "scene_id": "demo_0",
        "task_type": "room_size",
        "question": "How many chairs are there in this room?",
    }
    r = validator.validate(body)
    assert not r["valid"] and r["reasons"][0]["cause"] == "unparsed"
    r = validator.validate({**body, "task_type": "teleportation"})
    assert r["reasons"][0]["kind"] == "unknown_task_type"


def test_mixed_forms_are_malformed(validator) -> None:
    r = validator.validate({"scene_id": "demo_0", "text": "x", "template": "room_size"})
    assert not r["valid"] and r["reasons"][0]["kind"] == "malformed"


def test_text_proposals_over_http() -> None:
    app = create_app("demo:0", api_key=None)
    with running(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        body = {"proposals": [text("How many chairs are there in this room?"), text("hello")]}
        r = http.post("/v1/validate", json=body)
        assert r.status_code == 200, r.text
        res = r.json()["results"]
        assert res[0]["valid"] and res[0]["answer"] == "3"
        assert not res[1]["valid"] and res[1]["reasons"][0]["cause"] == "unparsed"
