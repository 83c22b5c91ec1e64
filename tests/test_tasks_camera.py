"""Camera-family templates: hand-computed answers, every rejection rule, metamorphic properties
(moving scene and cameras together, scaling, mirroring, swapping A and B) and generation on the
demo scenes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import fields, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geoenv
import geoenv.tasks.camera
from geoenv import Scene, SceneObject
from geoenv.frames import Frame
from geoenv.tasks.base import IllPosed, fmt_number
from geoenv.tasks.camera import NEAR_M, heading, in_view, in_view_mask
from geoenv.tasks.registry import get, templates
from geoenv.transforms import look_at, rot_z

W, H, F = 640, 480, 500.0
K = np.array([[F, 0.0, W / 2], [0.0, F, H / 2], [0.0, 0.0, 1.0]])

NAMES = (
    "camera_distance",
    "depth_order",
    "egocentric_direction",
    "camera_displacement",
    "camera_rotation",
    "camera_rotation_angle",
    "relative_elevation_view",
)
SIDE_SWAP = {"left": "right", "right": "left"}


# ---------------------------------------------------------------------------- builders
def cube(center, half=0.1, n=5) -> np.ndarray:
    """Grid points of a cube (symmetric, so the centroid is exactly ``center``)."""
    g = np.linspace(-half, half, n)
    return np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T + np.asarray(center)


def frame(index: int, eye, target, up=None) -> Frame:
    return Frame(index, look_at(np.asarray(eye, float), np.asarray(target, float), up), K, W, H)


def yaw_frame(index: int, eye, yaw_deg: float) -> Frame:
    e = np.asarray(eye, float)
    y = np.radians(yaw_deg)
    return frame(index, e, e + np.array([np.cos(y), np.sin(y), 0.0]))


def build(objs: list[tuple[str, np.ndarray]], frames: list[Frame], sid: str = "t") -> Scene:
    return Scene(sid, [SceneObject(str(i + 1), lab, p) for i, (lab, p) in enumerate(objs)], frames)


def ids_by_label(scene: Scene) -> dict[str, str]:
    return {lab: ids[0] for lab, ids in scene.labels.items()}


def mirrored(scene: Scene) -> Scene:
    """The scene reflected by x -> -x, cameras included: each camera is rebuilt with look_at from
    its reflected centre, viewing direction and up vector (a reflected camera frame would be
    left-handed), and cx -> width - cx, so the image is exactly flipped: u -> width - u."""
    m = np.array([-1.0, 1.0, 1.0])
    objs = [SceneObject(o.id, o.label, o.points * m) for o in scene.objects.values()]
    frames = []
    for f in scene.frames:
        eye = f.position * m
        k = f.K.copy()
        k[0, 2] = f.width - k[0, 2]
        pose = look_at(eye, eye + f.forward * m, -f.pose[:3, 1] * m)
        frames.append(Frame(f.index, pose, k, f.width, f.height))
    # In view is true visibility, computed from the mesh where there is one: mirror it too.
    mesh = None
    if scene.mesh is not None:
        mesh = scene.mesh.copy()
        mesh.vertices = np.asarray(scene.mesh.vertices) * m
    return Scene(scene.id, objs, frames, mesh=mesh, mesh_face_instance=scene.mesh_face_instance)


def answers(scene: Scene, tpl) -> dict[str, object]:
    return {json.dumps(p, sort_keys=True): a.value for p, a in tpl.valid(scene)}


# ---------------------------------------------------------------------------- hand scene
@pytest.fixture(scope="module")
def hand() -> Scene:
    """Frame 0: camera at the origin looking along +x (camera x = world -y, y = world -z), so
    u = 320 - 500 y / x and v = 240 - 500 z / x (pixels), depth = x."""
    floor = np.array([[x, y, -1.0] for x in np.linspace(1, 6, 11) for y in np.linspace(-2, 2, 9)])
    objs = [
        ("sofa", cube([3, 1, 0])),  # u 153.3, v 240, depth 3
        ("tv", cube([4, -1, 0.15])),  # u 445, v 221.25, depth 4
        ("lamp", cube([5, 0, 1.5])),  # u 320, v 90, depth 5
        ("vase", cube([3.2, -0.1, 0])),  # u 335.6, v 240, depth 3.2
        ("chair", cube([3, -0.5, -0.5])),
        ("chair", cube([6, 0.5, 0])),
        ("floor", floor),
        ("box", cube([-3, 0, 0])),  # behind the camera in frame 0
        ("plant", cube([1, 5, 0])),  # outside the image in frame 0 (u = -2180)
        # Depth 0.08 < near. Off the optical axis (u 445, v 115, covering u 376-534, v 26-184):
        # in view is true visibility, and a cup on the axis 8 cm from the lens would hide the
        # vase (u 320-351, v 224-256).
        ("cup", cube([0.08, -0.02, 0.02], half=0.01, n=3)),
    ]
    frames = [
        yaw_frame(0, [0, 0, 0], 0.0),
        yaw_frame(1, [0, 0, 0], 90.0),  # a left turn of 90 deg
        yaw_frame(2, [0.05, 0, 0], -5.0),  # 5 deg right, 5 cm away
        frame(3, [1, 0, 0], [1, 0.1, -1]),  # yaw 90, pitch 84.3 deg
        yaw_frame(5, [2, 0, 0], -175.0),  # near half-turn from frame 0
        yaw_frame(40, [0, 0, 0], -30.0),  # 40 frames after frame 0
    ]
    return build(objs, frames)


def p(scene: Scene, frame_: int, *labels: str) -> dict:
    ids = ids_by_label(scene)
    return {"frame": frame_, **{k: ids[lab] for k, lab in zip("ab", labels, strict=False)}}


def ij(i: int, j: int) -> dict:
    return {"frame_i": i, "frame_j": j}


def rejects(tpl, scene, params, match: str) -> IllPosed:
    with pytest.raises(IllPosed, match=match) as e:
        tpl.answer(scene, params)
    return e.value


def test_registered_with_documented_thresholds():
    reg = templates()
    for name in NAMES:
        tpl = reg[name]
        assert tpl.family == "camera" and tpl.inputs == ("objects", "frames")
        for f in fields(tpl):
            assert f"`{f.name}`" in tpl.rule, (name, f.name)
        assert tpl.param_doc
        if tpl.answer_type == "choice":
            assert tpl.slots == 2
    assert get("camera_distance").min_distance_m == 0.1
    assert get("depth_order").min_margin_rel == 0.10
    assert get("egocentric_direction").min_margin_frac == 0.05
    assert get("relative_elevation_view").min_margin_frac == 0.05
    assert get("camera_displacement").min_distance_m == 0.1
    for name in ("camera_rotation", "camera_rotation_angle"):
        t = get(name)
        assert (t.min_turn_deg, t.max_pitch_deg, t.max_gap_frames) == (10.0, 75.0, 30)
    assert NEAR_M == 0.1 and get("depth_order").near == 0.1


def test_in_view_and_heading(hand):
    ids = ids_by_label(hand)
    f0 = hand.frames[0]
    assert in_view(hand, f0, ids["sofa"]) and in_view(hand, f0, ids["lamp"])
    assert not in_view(hand, f0, ids["box"])  # behind
    assert not in_view(hand, f0, ids["plant"])  # outside the image
    assert not in_view(hand, f0, ids["cup"])  # depth 0.08 <= near 0.1
    assert in_view(hand, f0, ids["cup"], near=0.05)
    mask = in_view_mask(hand, f0, [ids[k] for k in ("sofa", "box", "plant", "tv")])
    assert mask.tolist() == [True, False, False, True]
    assert in_view(hand, hand.frames[1], ids["plant"])  # frame 1 looks along +y
    uv, z = f0.project(hand[ids["sofa"]].centroid[None])
    np.testing.assert_allclose(uv[0], [320 - 500 / 3, 240])
    assert z[0] == pytest.approx(3.0)
    assert heading(hand.frames[0]) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert heading(hand.frames[1]) == pytest.approx((90.0, 0.0), abs=1e-9)
    assert heading(hand.frames[3]) == pytest.approx((90.0, np.degrees(np.arctan(10.0))))


# ---------------------------------------------------------------------------- 11
def test_camera_distance(hand):
    t = get("camera_distance")
    a = t.answer(hand, p(hand, 0, "sofa"))
    # Nearest grid point of the sofa cube to the origin: (2.9, 0.9, 0).
    assert a.value == pytest.approx(np.sqrt(2.9**2 + 0.9**2))
    assert a.evidence["distance_m"] == a.value
    tv = t.answer(hand, p(hand, 0, "tv")).value
    assert tv == pytest.approx(np.sqrt(3.9**2 + 0.9**2 + 0.05**2))
    plant = t.answer(hand, p(hand, 1, "plant")).value
    assert plant == pytest.approx(np.sqrt(0.9**2 + 4.9**2))
    ids = ids_by_label(hand)
    cands = t.candidates(hand)
    assert {c["a"] for c in cands if c["frame"] == 0} == {
        ids[k] for k in ("sofa", "tv", "lamp", "vase")
    }
    rejects(t, hand, p(hand, 0, "chair"), "ambiguous")
    rejects(t, hand, p(hand, 0, "floor"), "room structure")
    rejects(t, hand, {"frame": 0, "a": "99"}, "no object")
    rejects(t, hand, p(hand, 7, "sofa"), "no frame 7")
    rejects(t, hand, p(hand, 0, "box"), "not in view in frame 0")
    rejects(t, hand, p(hand, 0, "plant"), "not in view")
    rejects(t, hand, p(hand, 0, "cup"), "not in view")  # near fires
    # near does not fire; the cup's nearest point (0.07, -0.01, 0.01) is 0.0714 m away.
    near = replace(t, near=0.05)
    e = rejects(near, hand, p(hand, 0, "cup"), "< 0.1 m")
    assert e.evidence["distance_m"] == pytest.approx(np.sqrt(0.0051))
    assert replace(near, min_distance_m=0.05).answer(hand, p(hand, 0, "cup")).value == (
        pytest.approx(np.sqrt(0.0051))
    )


# ---------------------------------------------------------------------------- 12
def test_depth_order(hand):
    t = get("depth_order")
    a = t.answer(hand, p(hand, 0, "sofa", "tv"))
    assert a.value == "sofa"
    assert (a.evidence["depth_a_m"], a.evidence["depth_b_m"]) == pytest.approx((3.0, 4.0))
    assert t.answer(hand, p(hand, 0, "lamp", "vase")).value == "vase"
    # |3.2 - 3.0| = 0.2 < 0.10 x 3.0: rejected; with 5 % it is 0.2 >= 0.15.
    e = rejects(t, hand, p(hand, 0, "sofa", "vase"), "depths too close")
    assert e.evidence["required_m"] == pytest.approx(0.3)
    assert replace(t, min_margin_rel=0.05).answer(hand, p(hand, 0, "vase", "sofa")).value == "sofa"
    rejects(t, hand, p(hand, 0, "sofa", "sofa"), "same object")
    rejects(t, hand, p(hand, 0, "sofa", "box"), "b: the box is not in view")
    rejects(t, hand, p(hand, 0, "plant", "sofa"), "a: the plant is not in view")
    rejects(t, hand, p(hand, 0, "sofa", "chair"), "ambiguous")
    # Unordered pairs only, both in view.
    cands = [c for c in t.candidates(hand) if c["frame"] == 0]
    assert len(cands) == 6


# ---------------------------------------------------------------------------- 13
def test_egocentric_direction(hand):
    t = get("egocentric_direction")
    # Looking along +x with z up, world +y is on the left: the sofa (y = 1) is left of the tv.
    a = t.answer(hand, p(hand, 0, "sofa", "tv"))
    assert a.value == "left"
    assert (a.evidence["u_a_px"], a.evidence["u_b_px"]) == pytest.approx((320 - 500 / 3, 445))
    assert t.answer(hand, p(hand, 0, "tv", "sofa")).value == "right"
    # lamp u = 320, vase u = 335.6: 15.6 px < 0.05 x 640 = 32 px; passes at 0.02 (12.8 px).
    e = rejects(t, hand, p(hand, 0, "vase", "lamp"), "horizontal offset too small")
    assert e.evidence["margin_px"] == pytest.approx(15.625)
    assert replace(t, min_margin_frac=0.02).answer(hand, p(hand, 0, "vase", "lamp")).value == (
        "right"
    )
    rejects(t, hand, p(hand, 0, "sofa", "plant"), "not in view")
    rejects(t, hand, p(hand, 0, "sofa", "chair"), "ambiguous")
    cands = [c for c in t.candidates(hand) if c["frame"] == 0]
    assert len(cands) == 12  # ordered pairs of the 4 objects in view


# ---------------------------------------------------------------------------- 16
def test_relative_elevation_view(hand):
    t = get("relative_elevation_view")
    a = t.answer(hand, p(hand, 0, "lamp", "vase"))
    assert a.value == "above"
    assert (a.evidence["v_a_px"], a.evidence["v_b_px"]) == pytest.approx((90, 240))
    assert t.answer(hand, p(hand, 0, "vase", "lamp")).value == "below"
    # tv v = 221.25, sofa v = 240: 18.75 px < 0.05 x 480 = 24 px; passes at 0.03 (14.4 px).
    rejects(t, hand, p(hand, 0, "tv", "sofa"), "vertical offset too small")
    assert replace(t, min_margin_frac=0.03).answer(hand, p(hand, 0, "tv", "sofa")).value == "above"
    rejects(t, hand, p(hand, 0, "box", "sofa"), "not in view")


# ---------------------------------------------------------------------------- 14
def test_camera_displacement(hand):
    t = get("camera_displacement")
    assert t.answer(hand, ij(0, 5)).value == pytest.approx(2.0)
    assert t.answer(hand, ij(3, 5)).value == pytest.approx(1.0)
    e = rejects(t, hand, ij(0, 2), "camera moved 0.050 m")
    assert e.evidence["distance_m"] == pytest.approx(0.05)
    assert replace(t, min_distance_m=0.01).answer(hand, ij(0, 2)).value == pytest.approx(0.05)
    rejects(t, hand, ij(5, 3), "must come before")
    rejects(t, hand, ij(3, 3), "must come before")
    rejects(t, hand, ij(0, 4), "frame_j: no frame 4")
    rejects(t, hand, {"frame_i": True, "frame_j": 1}, "must be an integer")
    assert len(t.candidates(hand)) == 15


# ---------------------------------------------------------------------------- 15
def test_camera_rotation(hand):
    t, ang = get("camera_rotation"), get("camera_rotation_angle")
    a = t.answer(hand, ij(0, 1))
    assert a.value == "left" and a.evidence["turn_deg"] == pytest.approx(90.0)
    assert ang.answer(hand, ij(0, 1)).value == pytest.approx(90.0)
    # Wrap-around: yaw 90 -> -175 is +95 (counter-clockwise), a left turn.
    assert t.answer(hand, ij(1, 5)).value == "left"
    assert ang.answer(hand, ij(1, 5)).value == pytest.approx(95.0)
    # min_turn_deg: 5 deg right fires at 10, not at 4.
    for tpl in (t, ang):
        rejects(tpl, hand, ij(0, 2), "turn of 5.0 deg")
    assert replace(t, min_turn_deg=4.0).answer(hand, ij(0, 2)).value == "right"
    assert replace(ang, min_turn_deg=4.0).answer(hand, ij(0, 2)).value == pytest.approx(5.0)
    # max_pitch_deg: frame 3 looks 84.3 deg below the horizontal.
    for tpl in (t, ang):
        e = rejects(tpl, hand, ij(0, 3), "frame_j: camera looks 84.3 deg")
        assert e.evidence["pitch_deg"] == pytest.approx(np.degrees(np.arctan(10.0)))
        rejects(tpl, hand, ij(3, 5), "frame_i: camera looks")
    assert replace(t, max_pitch_deg=85.0).answer(hand, ij(0, 3)).value == "left"
    # Near half-turn (-175 deg): no side, but a valid angle.
    rejects(t, hand, ij(0, 5), "near half-turn")
    assert ang.answer(hand, ij(0, 5)).value == pytest.approx(175.0)
    assert replace(t, min_turn_deg=4.0).answer(hand, ij(0, 5)).value == "right"
    # max_gap_frames: 0 -> 40 is 40 frames apart.
    for tpl in (t, ang):
        rejects(tpl, hand, ij(0, 40), "40 apart")
        assert ij(0, 40) not in tpl.candidates(hand)
        assert ij(0, 40) in replace(tpl, max_gap_frames=None).candidates(hand)
        rejects(tpl, hand, ij(1, 0), "must come before")
    assert replace(t, max_gap_frames=None).answer(hand, ij(0, 40)).value == "right"
    assert replace(ang, max_gap_frames=None).answer(hand, ij(0, 40)).value == pytest.approx(30)


def test_render_canonical_answers(hand):
    """Every phrasing keeps the canonical answer (a choice text) at the balanced slot, and the
    inverted phrasings (farther, further right, lower, right-or-left) invert it correctly."""
    rng = np.random.default_rng(0)
    # (params, {phrase in the text: expected canonical answer}, fallback answer)
    cases = {
        "depth_order": (
            p(hand, 0, "sofa", "tv"),
            {"nearer": "sofa", "closer": "sofa", "smaller depth": "sofa"},
            "tv",
        ),
        "egocentric_direction": (
            p(hand, 0, "sofa", "tv"),
            {
                "further left": "sofa",
                "more to the left": "sofa",
                "toward the left": "sofa",
                "further right": "tv",
                "more to the right": "tv",
                "toward the right": "tv",
            },
            "left",
        ),
        "relative_elevation_view": (
            p(hand, 0, "lamp", "vase"),
            {"higher": "lamp", "lower": "vase"},
            "above",
        ),
        "camera_rotation": (ij(0, 1), {}, "left"),
    }
    for name, (params, phrase_answer, default) in cases.items():
        t = get(name)
        texts = set()
        for k in range(80):
            q = t.question(hand, params, rng, slot=k % 2)
            assert len(q.choices) == 2 and q.choices[k % 2] == q.answer
            hits = {v for ph, v in phrase_answer.items() if ph in q.text}
            assert q.answer == (hits.pop() if hits else default), q.text
            texts.add(q.text)
        assert len(texts) >= 6, name  # several paraphrases and both choice orders
    ego = {
        get("egocentric_direction")
        .question(hand, cases["egocentric_direction"][0], rng, k % 2)
        .text
        for k in range(80)
    }
    lr = [x for x in ego if "left" in x and "right" in x]
    assert any(x.index("left") < x.index("right") for x in lr)  # "left or right"
    assert any(x.index("right") < x.index("left") for x in lr)  # "right or left"
    q = get("camera_distance").question(hand, p(hand, 0, "sofa"), rng)
    assert q.answer == fmt_number(np.sqrt(9.22), 2) == "3.04" and q.choices == []
    assert "frame 0" in q.text and "sofa" in q.text
    q = get("camera_rotation_angle").question(hand, ij(0, 1), rng)
    assert q.answer == "90" and q.unit == "deg" and q.metric == "mra"


# ---------------------------------------------------------------------------- metamorphic
def random_scene(seed: int) -> Scene:
    """Five unique objects in a sector ahead of +x, one ambiguous pair, five cameras behind
    them looking at one of the objects (one sometimes steeply down)."""
    rng = np.random.default_rng(seed)
    objs = []
    for k, lab in enumerate(("sofa", "tv", "lamp", "vase", "table", "chair", "chair")):
        ang = rng.uniform(-0.6, 0.6) if k < 5 else rng.uniform(-np.pi, np.pi)
        r = rng.uniform(2.5, 5.0)
        c = [r * np.cos(ang), r * np.sin(ang), rng.uniform(0.0, 2.0)]
        objs.append((lab, cube(c, half=rng.uniform(0.1, 0.4), n=4)))
    frames = []
    for idx in (0, 3, 7, 12, 20):
        eye = np.array([rng.uniform(-1.5, 0.0), rng.uniform(-1.0, 1.0), rng.uniform(1.0, 2.0)])
        if rng.random() < 0.15:
            target = eye + np.array([*rng.uniform(-0.2, 0.2, 2), -1.0])
        else:
            target = objs[int(rng.integers(5))][1].mean(0) + rng.normal(0, 0.5, 3)
        frames.append(frame(idx, eye, target))
    return build(objs, frames, sid=f"rand_{seed}")


def check_same(ans0: dict, ans1: dict, scale: float = 1.0, numeric: bool = False) -> None:
    assert ans0.keys() == ans1.keys()
    for key, v in ans0.items():
        if numeric:
            assert ans1[key] == pytest.approx(scale * v, rel=1e-9, abs=1e-9), key
        else:
            assert ans1[key] == v, key


LENGTH_FIELDS = ("near", "min_distance_m")


def scaled(tpl, k: float):
    """The template with its length thresholds (m) scaled by k."""
    names = {f.name for f in fields(tpl)}
    return replace(tpl, **{n: getattr(tpl, n) * k for n in LENGTH_FIELDS if n in names})


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    theta=st.floats(-np.pi, np.pi),
    t=st.tuples(*[st.floats(-50, 50)] * 3),
    k=st.floats(0.3, 3.0),
)
def test_metamorphic_rigid_scale_mirror(seed, theta, t, k):
    s = random_scene(seed)
    moved = s.transformed(rot_z(theta), np.array(t))
    big = s.transformed(scale=k)
    mir = mirrored(s)
    for name in NAMES:
        tpl = get(name)
        numeric = tpl.answer_type == "number"
        base = answers(s, tpl)
        # Moving objects and cameras together changes nothing.
        check_same(base, answers(moved, tpl), numeric=numeric)
        # Scaling scales lengths (with the length thresholds); angles and orders stay.
        lengths = tpl.unit == "m"
        check_same(base, answers(big, scaled(tpl, k)), k if lengths else 1.0, numeric)
        # Mirroring swaps left and right, keeps above/below, depth order and numbers.
        mirror = answers(mir, tpl)
        if name in ("egocentric_direction", "camera_rotation"):
            mirror = {key: SIDE_SWAP[v] for key, v in mirror.items()}
        check_same(base, mirror, numeric=numeric)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_swapping_a_and_b(seed):
    s = random_scene(seed)
    flip = {"left": "right", "right": "left", "above": "below", "below": "above"}
    for name in ("egocentric_direction", "relative_elevation_view"):
        ans = answers(s, get(name))
        for key, v in ans.items():
            q = json.loads(key)
            swapped = json.dumps({**q, "a": q["b"], "b": q["a"]}, sort_keys=True)
            assert ans[swapped] == flip[v]
    t = get("depth_order")
    for params, a in t.valid(s):
        assert t.answer(s, {**params, "a": params["b"], "b": params["a"]}).value == a.value


@pytest.fixture(scope="module")
def demos() -> list[Scene]:
    return [geoenv.demo_scene(i) for i in range(6)]


def test_metamorphic_on_demo_scene(demos):
    s = demos[0]
    moved = s.transformed(rot_z(0.7), np.array([3.0, -2.0, 0.5]))
    mir = mirrored(s)
    for name in NAMES:
        tpl = get(name)
        numeric = tpl.answer_type == "number"
        base = answers(s, tpl)
        assert base, name
        check_same(base, answers(moved, tpl), numeric=numeric)
        mirror = answers(mir, tpl)
        if name in ("egocentric_direction", "camera_rotation"):
            mirror = {key: SIDE_SWAP[v] for key, v in mirror.items()}
        check_same(base, mirror, numeric=numeric)


# ---------------------------------------------------------------------------- generation
def test_generation_on_demo_scenes(demos):
    for name in NAMES:
        tpl = get(name)
        qs = []
        for i, s in enumerate(demos):
            got = tpl.generate(s, seed=i, n=40)
            again = tpl.generate(s, seed=i, n=40)
            assert [q.model_dump() for q in got] == [q.model_dump() for q in again]
            if i == 0:
                assert len(got) >= 3, name
            qs.extend(got)
        assert len(qs) >= 30, (name, len(qs))
        for q in qs:
            json.loads(q.model_dump_json())
            assert q.family == "camera" and q.template == name
            if tpl.answer_type == "choice":
                assert q.answer in q.choices and len(q.choices) == 2
            else:
                assert q.choices == [] and q.answer == fmt_number(q.answer_value, tpl.decimals)
                assert q.answer_value > 0 and float(q.answer) > 0
        if tpl.answer_type == "choice":
            slots = Counter(q.choices.index(q.answer) for q in qs)
            assert abs(slots[0] / len(qs) - 0.5) <= 0.05, (name, slots)
        # A different seed gives a different sample.
        assert [q.id for q in tpl.generate(demos[0], 1, 40)] != [
            q.id for q in tpl.generate(demos[0], 0, 40)
        ]
