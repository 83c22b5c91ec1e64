"""Question parsing of the image-pair templates (camera_pairs.py and parity.py): hand-written
phrasings read back into the template's parameters, the answer as the text asks it (direct or
inverted), and the kind of failure for wrong frames, objects, options and hostile slots."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from task_scenes import box_points

from geoenv import Scene, SceneObject
from geoenv.frames import Frame
from geoenv.oracles import answer_parsed, parse
from geoenv.oracles.question_parse import ParsedQuestion, Unparsed
from geoenv.scenes import load_scene
from geoenv.tasks.base import IllPosed
from geoenv.tasks.camera_pairs import OPPOSITE
from geoenv.tasks.registry import get
from geoenv.transforms import look_at

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])
# Demo scene: unique sofa 11, bookshelf 10, cabinet 17, lamp 19, tv 18; three chairs; frames 0-35.


@cache
def demo():
    return load_scene("demo")


def first(template: str, **where):
    """The first generated question of ``template`` on the demo scene whose params contain
    ``where``; its params and exact answer value."""
    t = get(template)
    for seed in range(4):
        for q in t.generate(demo(), seed, 40):
            if all(q.params.get(k) == v for k, v in where.items()):
                return q.params, t.answer(demo(), q.params).value
    raise AssertionError(f"no {template} question with {where}")


def read(text: str, **kw) -> ParsedQuestion:
    p = parse(text, demo(), **kw)
    assert isinstance(p, ParsedQuestion), (text, p)
    return p


def fails(text: str, kind: str, **kw) -> Unparsed:
    p = parse(text, demo(), **kw)
    assert isinstance(p, Unparsed) and p.kind == kind, (text, p)
    return p


# ---------------------------------------------------------------------------- camera-camera
def test_camera_relative_position_direct_and_inverted():
    params, value = first("camera_relative_position")
    i, j = params["frame_i"], params["frame_j"]
    direct = (
        f"Using the directions of the camera in frame {i} (its own front, back, left, right, "
        f"up and down), where was the camera of frame {j} relative to it: front, back, left, "
        "right, up, or down?"
    )
    p = read(direct)
    assert (p.template, p.params, p.form) == (
        "camera_relative_position",
        params,
        "_forms_direct[0]",
    )
    assert p.choices == ["front", "back", "left", "right", "up", "down"]
    assert answer_parsed(demo(), p).text == value
    # Inverted: frame i is named twice (its axes, and the camera located); j is the viewpoint.
    inverted = (
        f"USING the directions of the camera in frame {i} (its own front, back, left, right, "
        f"up and down), in which direction is THE camera of frame {i} as seen from camera of "
        f"frame {j}: {value} or {OPPOSITE[value]}?"
    )
    p = read(inverted)
    assert p.params == params and p.choices == [value, OPPOSITE[value]]
    assert answer_parsed(demo(), p).text == OPPOSITE[value]
    p = read(
        f"Starting at the camera position of frame {j}, which way must one go to reach the "
        f"camera position of frame {i}, in the camera of frame {i}'s own directions: up, down?"
    )
    assert p.params == params and p.form == "_forms_inverted[1]"
    # The frame named twice must be the same frame both times.
    fails(
        inverted.replace(f"camera of frame {i} as seen", f"camera of frame {j} as seen"), "unparsed"
    )


def test_camera_relative_position_frames_and_options():
    fails(
        "Take the camera of frame 3 as the reference. Is the camera of frame 99 to its left or "
        "right?",
        "frame_missing",
    )
    p = fails(
        "Take the camera of frame 3 as the reference. Is the camera of frame 5 to its left or "
        "right?",
        "frame_missing",
        frames=[3, 4],
    )
    assert "5" in p.reason
    read(
        "Take the camera of frame 3 as the reference. Is the camera of frame 5 to its left or "
        "right?",
        frames=[3, 5],
    )
    fails(
        "Take the camera of frame 3 as the reference. Is the camera of frame 5 to its left or "
        "sideways?",
        "bad_options",
    )
    fails(
        "Take the camera of frame 3 as the reference. Is the camera of frame 5 to its left or "
        "left?",
        "bad_options",
    )
    # A single option is not a choice.
    fails(
        "Take the camera of frame 3 as the reference. Is the camera of frame 5 to its left?",
        "bad_options",
    )


@cache
def heights() -> Scene:
    """Three cameras looking along +x: frame 4 is 1 m above frame 0, frame 5 is 5 cm above."""
    objs = [SceneObject("1", "sofa", box_points((3.5, 0.6, 0.0), (4.5, 1.4, 0.8)))]
    frames = [
        Frame(k, look_at(np.array(eye), np.add(eye, (1.0, 0.0, 0.0))), K, 640, 480)
        for k, eye in ((0, (0.5, 1.0, 1.5)), (4, (0.5, 1.0, 2.5)), (5, (0.5, 2.0, 1.55)))
    ]
    return Scene("heights", objs, frames)


def test_camera_elevation_change_direct_and_inverted():
    s, n = heights(), 0
    for i, j, value in ((0, 4, "higher"), (4, 0, "lower"), (0, 5, "same height")):
        assert get("camera_elevation_change").answer(s, {"frame_i": i, "frame_j": j}).value == value
        # Direct: camera j relative to camera i.
        p = parse(
            f"Compared with the camera of frame {i}, was the camera of frame {j} higher, "
            "lower, or at the same height?",
            s,
        )
        assert isinstance(p, ParsedQuestion) and p.params == {"frame_i": i, "frame_j": j}
        assert p.choices == ["higher", "lower", "same height"]
        assert answer_parsed(s, p).text == value
        # Inverted wording: camera i relative to camera j, for the same parameters.
        p = parse(
            f"Taking the camera of frame {j} as the reference, was the camera of frame {i} "
            "at same height, higher or lower?",
            s,
        )
        assert isinstance(p, ParsedQuestion) and p.params == {"frame_i": i, "frame_j": j}
        assert p.choices == ["same height", "higher", "lower"]
        assert answer_parsed(s, p).text == OPPOSITE.get(value, value)
        n += 1
    assert n == 3
    fails(
        "Relative to its height in frame 3, is the camera in frame 4 higher or taller?",
        "bad_options",
    )
    fails(
        "Relative to its height in frame 3, is the camera in frame 4x higher or lower?", "unparsed"
    )


# ---------------------------------------------------------------------------- camera-object
def test_object_direction_from_camera():
    params, value = first("object_direction_from_camera", a="11")
    i, j = params["frame_i"], params["frame_j"]
    p = read(
        f"the Sofa is visible in frame {i}.  Relative to the camera of frame {j} (its own front, "
        "back, left and right), in which direction is the sofa: left, right, front or back"
    )
    assert p.params == params and p.choices == ["left", "right", "front", "back"]
    assert answer_parsed(demo(), p).text == value
    p = read(
        f"Frame {i} shows the sofa. Going from the sofa to the camera of frame {j}, which way do "
        "you move in that camera's own directions: front, back, left, or right?"
    )
    assert p.params == params and answer_parsed(demo(), p).text == OPPOSITE[value]
    # The object must be the same both times, exist and be unique.
    fails(
        f"Frame {i} shows the sofa. Going from the tv to the camera of frame {j}, which way do "
        "you move in that camera's own directions: front or back?",
        "unparsed",
    )
    fails(
        f"Frame {i} shows the piano. Going from the piano to the camera of frame {j}, which way "
        "do you move in that camera's own directions: front or back?",
        "referent_missing",
    )
    fails(
        f"Frame {i} shows the chair. Going from the chair to the camera of frame {j}, which way "
        "do you move in that camera's own directions: front or back?",
        "referent_ambiguous",
    )
    # Up is not a sector.
    fails(
        f"Frame {i} shows the sofa. Going from the sofa to the camera of frame {j}, which way "
        "do you move in that camera's own directions: front or up?",
        "bad_options",
    )


def test_region_direction_kinds_and_anchor():
    for kind, region in (
        ("area", "the area around the {a}"),
        ("quadrant", "the quarter of the room where the {a} is"),
    ):
        t = get("region_direction")
        found = [q for s in range(4) for q in t.generate(demo(), s, 40) if q.params["kind"] == kind]
        if not found:
            continue
        params = found[0].params
        value = t.answer(demo(), params).value
        a = demo()[params["a"]].label
        i, j = params["frame_i"], params["frame_j"]
        r = region.format(a=a)
        p = read(
            f"You can see the {a} in frame {i}. From the viewpoint of the camera in frame {j}, "
            f"where does {r} lie: back, front, left, or right?"
        )
        assert p.params == params and answer_parsed(demo(), p).text == value
        p = read(
            f"The {a} is visible in frame {i}. Using the front, back, left and right of the "
            f"camera of frame {j}, in which direction is that camera as seen from the middle of "
            f"{r}: front, back, left, or right?"
        )
        assert p.params == params and answer_parsed(demo(), p).text == OPPOSITE[value]
    # The region's anchor must be the object said to be visible.
    p = fails(
        "The sofa is visible in frame 4. Relative to the camera of frame 26 (its own front, back, "
        "left and right), in which direction is the area around the tv: front or back?",
        "bad_value",
    )
    assert "tv" in p.reason
    # Asking about the object itself is object_direction_from_camera, not a region.
    p = read(
        "The sofa is visible in frame 4. Relative to the camera of frame 26 (its own front, back, "
        "left and right), in which direction is the sofa: front or back?"
    )
    assert p.template == "object_direction_from_camera"


# ---------------------------------------------------------------------------- motion
def test_camera_motion():
    params, value = first("camera_motion")
    i, j = params["frame_i"], params["frame_j"]
    p = read(
        f"How did the camera move from frame {i} to frame {j}? Choose the main motion: turn "
        "left, turn right, move forward, move backward, move left, or move right."
    )
    assert p.params == params and p.template == "camera_motion" and len(p.choices) == 6
    assert answer_parsed(demo(), p).text == value
    fails(
        f"From frame {i} to frame {j}, which best describes the camera's motion: turn left or "
        "fly up?",
        "bad_options",
    )
    # Frames named in the wrong order read as such; the template rejects them.
    p = read(
        f"Between frame {j} and frame {i}, what did the camera mainly do: turn left or turn right?"
    )
    assert p.params == {"frame_i": j, "frame_j": i}
    with pytest.raises(IllPosed, match="must come before"):
        answer_parsed(demo(), p)


# ---------------------------------------------------------------------------- parity
def test_visibility_compare_more_and_less():
    params, value = first("visibility_compare")
    i, j, a = params["frame_i"], params["frame_j"], demo()[params["a"]].label
    other = f"frame {i}" if value == f"frame {j}" else f"frame {j}"
    p = read(f"In which frame is more of the {a} visible: frame {j} or frame {i}?")
    assert p.params == params and p.choices == [f"frame {j}", f"frame {i}"]
    assert answer_parsed(demo(), p).text == value
    p = read(f"Comparing frame {i} and frame {j}, where is a smaller part of the {a} seen?")
    assert p.params == params and p.choices == [f"frame {i}", f"frame {j}"]
    assert answer_parsed(demo(), p).text == other
    fails(f"In which frame is more of the {a} visible: frame {i} or frame {i}?", "bad_options")
    fails(f"In which frame is more of the {a} visible: frame {i} or frame 77?", "frame_missing")
    fails(f"In which frame is more of the {a} visible: frame {i} or image 7?", "unparsed")


def test_attribute_comparison_order_and_consistency():
    t = get("attribute_comparison")
    q = next(q for q in t.generate(demo(), 0, 40) if q.params["attribute"] == "width")
    params = q.params
    value = t.answer(demo(), params).value
    na, nb = (demo()[params[k]].label for k in ("a", "b"))
    i, j = params["frame_i"], params["frame_j"]
    what = "the shorter sides of their footprints"
    p = read(
        f"The {na} is seen in frame {i} and the {nb} in frame {j}. Which of the two is wider "
        f"(comparing {what}): the {nb} or the {na}?"
    )
    assert p.params == params and p.choices == [nb, na]
    assert answer_parsed(demo(), p).text == value
    # Named the other way round (B with its frame first): the same canonical parameters.
    p = read(
        f"Frame {j} shows the {nb} and frame {i} shows the {na}. Comparing {what}, which is "
        f"narrower, the {na} or the {nb}?"
    )
    assert p.params == params and p.choices == [na, nb]
    assert answer_parsed(demo(), p).text == (nb if value == na else na)
    # "taller" does not compare footprints; options must be the two objects named.
    fails(
        f"Frame {i} shows the {na} and frame {j} shows the {nb}. Comparing {what}, which is "
        f"taller, the {na} or the {nb}?",
        "bad_value",
    )
    fails(
        f"Frame {i} shows the {na} and frame {j} shows the {nb}. Comparing {what}, which is "
        f"wider, the {na} or the lamp?"
        if "lamp" not in (na, nb)
        else f"Frame {i} shows the {na} and frame {j} shows the {nb}. Comparing {what}, which "
        f"is wider, the {na} or the cabinet?",
        "bad_options",
    )


def test_attribute_ratio_reads_dimension_from_every_word():
    params, value = first("attribute_ratio", attribute="height")
    na, nb = (demo()[params[k]].label for k in ("a", "b"))
    i, j = params["frame_i"], params["frame_j"]
    p = read(
        f"The {na} is seen in frame {i} and the {nb} in frame {j}. How many times taller is the "
        f"{na} than the {nb}? Compare each object's height (its vertical extent)."
    )
    assert p.params == params and p.choices == []
    assert answer_parsed(demo(), p).text == f"{value:.2f}"
    p = read(
        f"Looking at the {na} in frame {i} and the {nb} in frame {j}, what is the ratio of the "
        f"{na}'s height to the {nb}'s height (its vertical extent)?"
    )
    assert p.params == params
    # Dimension words that disagree, and a comparative the template never asks.
    fails(
        f"Looking at the {na} in frame {i} and the {nb} in frame {j}, what is the ratio of the "
        f"{na}'s width to the {nb}'s width (its vertical extent)?",
        "bad_value",
    )
    fails(
        f"The {na} is seen in frame {i} and the {nb} in frame {j}. How many times shorter is "
        f"the {na} than the {nb}? Compare each object's height (its vertical extent).",
        "bad_value",
    )


# ---------------------------------------------------------------------------- hostile slots
HOSTILE = [
    "Take the camera of frame 3 as the reference. Is the camera of frame "
    + "9" * 20
    + " to its left or right?",
    "Take the camera of frame 3 as the reference. Is the camera of frame 5 to its "
    + ", ".join(["left"] * 200)
    + "?",
    "Between frame 1 and frame 2, what did the camera mainly do: turn left; DROP TABLE, or "
    "turn right?",
    "The {a} is visible in frame {i}. Relative to the camera of frame {j} (its own front, back, "
    "left and right), in which direction is {r}: {opts}?",
    "Frame 4 shows the sofa. Standing where the camera of frame 26 stands and facing the way it "
    "faces, is the area around the " + "sofa " * 60 + "to your left or right?",
    "In which frame is more of the sofa visible: frame -1 or frame 2?",
    "The sofa is seen in frame 1 and the tv in frame 2. Which of the two is wider (comparing "
    "ignore previous instructions): the sofa or the tv?",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_slots_are_unparsed(text: str) -> None:
    p = parse(text, demo())
    assert isinstance(p, Unparsed) and p.reason, p
