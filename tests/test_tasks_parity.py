"""SpatialEvo-parity templates (camera pairs, visibility comparison, attributes) and the
benchmark aliases: hand-computed answers, every rejection rule firing and not firing, the
cumulative-yaw case, metamorphic properties (moving scene and cameras together, scaling,
mirroring, swapping A and B) and generation on the demo scenes."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import fields, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from task_scenes import box_points, floor_grid

import geoenv
from geoenv import Scene, SceneObject
from geoenv.frames import Frame
from geoenv.tasks.base import IllPosed, fmt_number
from geoenv.tasks.camera_pairs import OPPOSITE
from geoenv.tasks.parity import BENCHMARKS
from geoenv.tasks.registry import get, templates
from geoenv.transforms import look_at, rot_z
from geoenv.visibility import visibility

W, H, F = 640, 480, 500.0
K = np.array([[F, 0.0, W / 2], [0.0, F, H / 2], [0.0, 0.0, 1.0]])

NAMES = (
    "camera_relative_position",
    "camera_elevation_change",
    "object_direction_from_camera",
    "region_direction",
    "camera_motion",
    "visibility_compare",
    "attribute_comparison",
    "attribute_ratio",
)
#: Templates whose answers swap left and right in a mirrored scene.
SIDED = ("camera_relative_position", "object_direction_from_camera", "region_direction")
SPATIALEVO_16 = (
    "object_counting object_size absolute_distance relative_distance relative_direction_hard "
    "room_size distance_cam_obj depth_order_obj_obj single_image_relative_direction "
    "position_cam_cam elevation_cam_cam position_cam_obj position_cam_reg visibility_compare "
    "motion_camera attribute_measurement"
).split()


# ---------------------------------------------------------------------------- builders
#: A quarter-size camera for the random scenes (visibility is 16 times cheaper to cast).
K_SMALL = np.array([[F / 4, 0.0, W / 8], [0.0, F / 4, H / 8], [0.0, 0.0, 1.0]])


def yaw_frame(index: int, eye, yaw_deg: float, pitch_deg: float = 0.0, small=False) -> Frame:
    """A camera at ``eye`` looking along yaw (counter-clockwise from +x), tilted down."""
    e = np.asarray(eye, float)
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    d = np.array([math.cos(y) * math.cos(p), math.sin(y) * math.cos(p), -math.sin(p)])
    if small:
        return Frame(index, look_at(e, e + d), K_SMALL, W // 4, H // 4)
    return Frame(index, look_at(e, e + d), K, W, H)


def target_frame(index: int, eye, target) -> Frame:
    return Frame(index, look_at(np.asarray(eye, float), np.asarray(target, float)), K, W, H)


def mirrored(scene: Scene) -> Scene:
    """The scene reflected by x -> -x, cameras rebuilt with look_at from the reflected centre,
    viewing direction and up (a reflected camera frame would be left-handed); cx -> width - cx
    so the image is exactly flipped."""
    m = np.array([-1.0, 1.0, 1.0])
    objs = [SceneObject(o.id, o.label, o.points * m) for o in scene.objects.values()]
    frames = []
    for f in scene.frames:
        eye = f.position * m
        k = f.K.copy()
        k[0, 2] = f.width - k[0, 2]
        pose = look_at(eye, eye + f.forward * m, -f.pose[:3, 1] * m)
        frames.append(Frame(f.index, pose, k, f.width, f.height))
    mesh = None
    if scene.mesh is not None:
        mesh = scene.mesh.copy()
        mesh.vertices = np.asarray(scene.mesh.vertices) * m
    return Scene(scene.id, objs, frames, mesh=mesh, mesh_face_instance=scene.mesh_face_instance)


#: Hand scene: a 6 x 4 m room (floor z = 0), boxes at known places (id, label, lo, hi).
HAND_BOXES = (
    ("1", "sofa", (3.5, 0.6, 0.0), (4.5, 1.4, 0.8)),  # 1.0 x 0.8 x 0.8, centroid (4, 1, 0.4)
    ("2", "tv", (0.2, 2.4, 0.0), (0.5, 3.6, 0.6)),  # length 1.2, width 0.3, height 0.6
    ("3", "table", (4.6, 2.6, 0.0), (5.65, 3.4, 0.7)),  # length 1.05, width 0.8, height 0.7
    ("4", "lamp", (3.05, 3.0, 0.0), (3.35, 3.3, 1.5)),  # centroid (3.2, 3.15)
    ("5", "chair", (2.0, 0.2, 0.0), (2.4, 0.6, 0.9)),
    ("6", "chair", (5.3, 0.3, 0.0), (5.7, 0.7, 0.9)),
)


@pytest.fixture(scope="module")
def hand() -> Scene:
    objs = [SceneObject(i, lab, box_points(lo, hi)) for i, lab, lo, hi in HAND_BOXES]
    objs.append(SceneObject("f", "floor", floor_grid(6.0, 4.0)))
    frames = [
        yaw_frame(0, (0.5, 1.0, 1.5), 0),  # sees the sofa and the table
        yaw_frame(1, (2.5, 1.5, 1.5), 0),  # 2 m forward, 0.5 m left of camera 0
        yaw_frame(2, (0.6, 1.0, 1.5), 0),  # 0.1 m from camera 0
        yaw_frame(3, (1.5, 1.8, 1.5), 0),  # (1, 0.8, 0) from camera 0: no dominant axis
        yaw_frame(4, (0.5, 1.0, 2.5), 0),  # 1 m above camera 0
        yaw_frame(5, (0.5, 2.0, 1.55), 0),  # 1 m left, 5 cm up
        yaw_frame(6, (0.5, 0.3, 1.62), 0),  # 0.7 m right, 12 cm up
        target_frame(7, (2.0, 2.0, 1.5), (2.1, 2.0, -1.0)),  # pitch 87.7 deg
        yaw_frame(8, (5.0, 3.5, 1.5), 180),
        yaw_frame(9, (0.5, 3.5, 1.5), 0),
        yaw_frame(10, (3.5, 1.2, 1.5), 90),  # inside the sofa area
        yaw_frame(11, (4.3, 1.1, 1.5), 0),  # 0.32 m from the sofa's centroid
        yaw_frame(13, (3.0, 3.0, 1.5), 180),  # sees the tv
        yaw_frame(14, (0.5, 1.0, 1.5), 30),  # the sofa partly out of the image
        yaw_frame(15, (0.5, 1.0, 1.5), 0),  # the same view as frame 0
        yaw_frame(16, (2.7, 1.0, 1.5), 0),  # 0.8 m from the sofa's footprint
    ]
    return Scene("hand", objs, frames)


@pytest.fixture(scope="module")
def motion() -> Scene:
    """Frames 0..35 turn left 10 deg per frame on the spot (350 deg in all); frames 40.. move."""
    cube = SceneObject("1", "sofa", box_points((3, -0.5, 0), (4, 0.5, 0.8)))
    frames = [yaw_frame(k, (0.0, 0.0, 1.5), 10.0 * k) for k in range(36)]
    frames += [
        yaw_frame(40, (0.0, 0.0, 1.5), 0),
        yaw_frame(41, (0.5, 0.1, 1.5), 3),  # 0.5 m forward, 3 deg left
        yaw_frame(42, (1.0, 0.1, 1.5), 0),
        yaw_frame(43, (0.2, 0.1, 1.5), 0),  # 0.8 m back from frame 42
        yaw_frame(50, (0.0, 0.0, 1.5), 90),
        yaw_frame(51, (1.0, 0.0, 1.5), 90),  # facing +y, moved +x: to the right
        yaw_frame(60, (0.0, 0.0, 1.5), 0),
        yaw_frame(61, (0.0, 0.0, 1.5), 9),  # 9 deg: within 2 deg of the 8 deg threshold
        yaw_frame(70, (0.0, 0.0, 1.5), 0),
        yaw_frame(71, (0.1, 0.0, 1.5), 0),  # 0.1 m
        yaw_frame(80, (0.0, 0.0, 1.5), 0),
        yaw_frame(81, (0.0, 0.0, 1.5), 120),  # one step of 120 deg
        yaw_frame(90, (0.0, 0.0, 1.5), 0),
        yaw_frame(91, (1.0, 0.9, 1.5), 0),  # forward 1, left 0.9: no dominant axis
        target_frame(95, (0.0, 0.0, 1.5), (0.1, 0.0, -1.0)),
        target_frame(96, (0.0, 0.0, 1.5), (1.0, 0.0, 1.5)),
    ]
    return Scene("motion", [cube], frames)


def ij(i: int, j: int, **kw) -> dict:
    return {"frame_i": i, "frame_j": j, **kw}


def rejects(tpl, scene, params, match: str) -> IllPosed:
    with pytest.raises(IllPosed, match=match) as e:
        tpl.answer(scene, params)
    return e.value


def answers(scene: Scene, tpl, stride: int = 1) -> dict[str, object]:
    cands = tpl.candidates(scene)
    out = {}
    for k in range(0, len(cands), stride):
        try:
            out[json.dumps(cands[k], sort_keys=True)] = tpl.answer(scene, cands[k]).value
        except IllPosed:
            continue
    return out


# ---------------------------------------------------------------------------- contract
def test_registered_with_documented_thresholds_and_aliases():
    reg = templates()
    for name in NAMES:
        tpl = reg[name]
        for f in fields(tpl):
            assert f"`{f.name}`" in tpl.rule, (name, f.name)
        assert tpl.param_doc and set(tpl.aliases) == {"spatialevo", "vsi_bench", "mmsi_bench"}
        if tpl.answer_type == "choice":
            assert tpl.slots >= 2
    assert get("camera_relative_position").min_dominance_rel == 0.25
    assert get("camera_relative_position").min_baseline_m == 0.2
    t = get("camera_elevation_change")
    assert (t.same_height_m, t.min_boundary_m) == (0.15, 0.05)
    assert get("region_direction").region_margin_m == 0.5
    assert get("visibility_compare").min_difference == 0.1
    assert get("camera_motion").min_turn_deg == 8.0
    assert get("attribute_comparison").min_margin_rel == 0.10
    assert get("attribute_ratio").metric == "mra"


def test_every_template_declares_known_aliases():
    for name, tpl in templates().items():
        assert set(tpl.aliases) == {"spatialevo", "vsi_bench", "mmsi_bench"}, name
        for bench, ids in tpl.aliases.items():
            assert isinstance(ids, tuple)
            for cid in ids:
                assert cid in BENCHMARKS[bench], (name, bench, cid)
    assert list(BENCHMARKS["spatialevo"]) == SPATIALEVO_16
    assert len(BENCHMARKS["vsi_bench"]) == 10


def test_all_spatialevo_ids_answer_on_the_demo_scene():
    scene = geoenv.demo_scene(0)
    answered: dict[str, list[str]] = {}
    for name, tpl in templates().items():
        ids = tpl.aliases.get("spatialevo", ())
        if ids and tpl.generate(scene, 0, 2):
            for cid in ids:
                answered.setdefault(cid, []).append(name)
    assert sorted(answered) == sorted(SPATIALEVO_16), set(SPATIALEVO_16) - set(answered)


def test_frame_pair_candidates_match_itertools(hand):
    from itertools import combinations, permutations

    from geoenv.tasks.camera_pairs import frame_pair_candidates

    idx = sorted(f.index for f in hand.frames)
    extras = {i: [{"a": str(k)} for k in range(i % 3)] for i in idx}  # some rows are empty
    for ordered, pairs in ((True, permutations(idx, 2)), (False, combinations(idx, 2))):
        ref = [{"frame_i": i, "frame_j": j, **e} for i, j in pairs for e in extras[i]]
        lazy = frame_pair_candidates(hand, ordered, lambda i: extras[i])
        assert len(lazy) == len(ref) and list(lazy) == ref and lazy[-1] == ref[-1]
    plain = frame_pair_candidates(hand, False)
    assert list(plain) == [{"frame_i": i, "frame_j": j} for i, j in combinations(idx, 2)]


# ---------------------------------------------------------------------------- cam-cam
def test_camera_relative_position(hand):
    t = get("camera_relative_position")
    a = t.answer(hand, ij(0, 1))
    assert a.value == "front"
    assert (a.evidence["forward_m"], a.evidence["left_m"], a.evidence["up_m"]) == pytest.approx(
        (2.0, 0.5, 0.0)
    )
    assert t.answer(hand, ij(1, 0)).value == "back"  # camera 1 also faces +x
    assert t.answer(hand, ij(0, 4)).value == "up"
    assert t.answer(hand, ij(4, 0)).value == "down"
    assert t.answer(hand, ij(0, 5)).value == "left"
    assert t.answer(hand, ij(0, 6)).value == "right"
    # Camera 8 faces -x (its left is -y): camera 0 is 4.5 m ahead and 2.5 m to its left.
    a = t.answer(hand, ij(8, 0))
    assert a.value == "front" and a.evidence["left_m"] == pytest.approx(2.5)
    # Baseline 0.1 m: fires at 0.2, not at 0.05.
    e = rejects(t, hand, ij(0, 2), "baseline 0.100 m")
    assert e.evidence["baseline_m"] == pytest.approx(0.1)
    assert replace(t, min_baseline_m=0.05).answer(hand, ij(0, 2)).value == "front"
    # (1, 0.8, 0): 1 - 0.8 = 0.2 < 0.25 x 1; passes at 0.1.
    e = rejects(t, hand, ij(0, 3), "no dominant axis")
    assert e.evidence["required_gap_m"] == pytest.approx(0.25)
    assert replace(t, min_dominance_rel=0.1).answer(hand, ij(0, 3)).value == "front"
    # Frame 7 looks 87.7 deg down: its axes are undefined, but it can be located.
    rejects(t, hand, ij(7, 0), "frame_i: camera looks 87.7 deg")
    assert replace(t, max_pitch_deg=89.0).answer(hand, ij(7, 0)).value == "back"
    assert t.answer(hand, ij(0, 7)).value == "front"
    rejects(t, hand, ij(0, 0), "same frame")
    rejects(t, hand, ij(0, 12), "frame_j: no frame 12")
    assert len(t.candidates(hand)) == 16 * 15


def test_camera_elevation_change(hand):
    t = get("camera_elevation_change")
    a = t.answer(hand, ij(0, 4))
    assert a.value == "higher" and a.evidence["dz_m"] == pytest.approx(1.0)
    assert t.answer(hand, ij(4, 0)).value == "lower"
    assert t.answer(hand, ij(0, 5)).value == "same height"  # 5 cm
    assert t.answer(hand, ij(0, 1)).value == "same height"  # 0 cm
    # 12 cm is 3 cm from the 15 cm limit: fires at 5 cm, not at 2 cm.
    e = rejects(t, hand, ij(0, 6), "within 0.05 m of the same-height limit")
    assert e.evidence["boundary_distance_m"] == pytest.approx(0.03)
    assert replace(t, min_boundary_m=0.02).answer(hand, ij(0, 6)).value == "same height"
    assert replace(t, same_height_m=0.05).answer(hand, ij(0, 6)).value == "higher"
    rejects(t, hand, ij(3, 3), "same frame")


# ---------------------------------------------------------------------------- cam-obj
def test_object_direction_from_camera(hand):
    t = get("object_direction_from_camera")
    # The sofa (centroid (4, 1)) is seen in frame 0. Camera 8 at (5, 3.5) faces -x: the sofa is
    # 1 m ahead and 2.5 m to its left, angle atan2(2.5, 1) = 68.2 deg.
    a = t.answer(hand, ij(0, 8, a="1"))
    assert a.value == "left"
    assert a.evidence["angle_deg"] == pytest.approx(math.degrees(math.atan2(2.5, 1.0)))
    assert a.evidence["horizontal_distance_m"] == pytest.approx(math.hypot(1.0, 2.5))
    assert t.answer(hand, ij(0, 1, a="1")).value == "front"  # (1.5, -0.5): -18.4 deg
    # From camera 9 at (0.5, 3.5): (3.5, -2.5), -35.5 deg, 9.5 deg from the 45 deg boundary.
    e = rejects(t, hand, ij(0, 9, a="1"), "from a sector boundary")
    assert e.evidence["boundary_distance_deg"] == pytest.approx(45 - 35.5376, abs=1e-3)
    assert replace(t, min_boundary_deg=5.0).answer(hand, ij(0, 9, a="1")).value == "front"
    # Camera 11 is 0.316 m from the sofa's centroid: fires at 0.5 m, not at 0.3 m (back).
    e = rejects(t, hand, ij(0, 11, a="1"), "horizontally")
    assert e.evidence["horizontal_distance_m"] == pytest.approx(math.hypot(0.3, 0.1))
    assert replace(t, min_distance_m=0.3).answer(hand, ij(0, 11, a="1")).value == "back"
    rejects(t, hand, ij(0, 8, a="2"), "a: the tv is not in view in frame 0")
    rejects(t, hand, ij(0, 8, a="5"), "ambiguous")
    rejects(t, hand, ij(0, 8, a="f"), "room structure")
    rejects(t, hand, ij(0, 7, a="1"), "frame_j: camera looks")
    rejects(t, hand, ij(0, 0, a="1"), "same frame")
    assert {c["a"] for c in t.candidates(hand) if c["frame_i"] == 0} == {"1", "3"}


def test_region_direction(hand):
    t = get("region_direction")
    # Area around the sofa: its footprint x 3.5..4.5, y 0.6..1.4 grown by 0.5 m (round
    # corners), centroid (4, 1); from camera 8 (facing -x): 1 m ahead, 2.5 m left.
    a = t.answer(hand, ij(0, 8, a="1", kind="area"))
    assert a.value == "left" and a.evidence["region_centroid_m"] == pytest.approx([4.0, 1.0])
    # 1 x 0.8 + 0.5 x 2 x (1 + 0.8) + a 64-gon of radius 0.5 (32 sin(2 pi / 64) / 4).
    area = 0.8 + 1.8 + 8 * math.sin(2 * math.pi / 64)
    assert a.evidence["region_area_m2"] == pytest.approx(area, rel=1e-9)
    # Nearest footprint point to camera 8 (5, 3.5) is the corner (4.5, 1.4).
    gap = math.hypot(0.5, 2.1) - 0.5
    assert a.evidence["camera_region_distance_m"] == pytest.approx(gap)
    # Quarter of the 6 x 4 room with the sofa: x 3..6, y 0..2, centroid (4.5, 1); 0.5 m ahead
    # of camera 8 and 2.5 m to its left.
    q = t.answer(hand, ij(0, 8, a="1", kind="quadrant"))
    assert q.value == "left" and q.evidence["region_centroid_m"] == pytest.approx([4.5, 1.0])
    assert q.evidence["region_area_m2"] == pytest.approx(6.0)
    assert q.evidence["anchor_clearance_m"] == pytest.approx(1.0)
    assert q.evidence["camera_region_distance_m"] == pytest.approx(1.5)
    assert q.evidence["angle_deg"] == pytest.approx(math.degrees(math.atan2(2.5, 0.5)))
    # Camera 10 stands inside the sofa area; camera 16 is 0.8 - 0.5 = 0.3 m from it.
    e = rejects(t, hand, ij(0, 10, a="1", kind="area"), "camera 10 is inside the region")
    assert e.evidence["camera_region_distance_m"] == 0.0
    e = rejects(t, hand, ij(0, 16, a="1", kind="area"), "0.300 m from the region")
    assert e.evidence["camera_region_distance_m"] == pytest.approx(0.3)
    near = replace(t, min_distance_m=0.25)
    assert near.answer(hand, ij(0, 16, a="1", kind="area")).value == "front"
    # region_margin_m: grown by 0.2 m only, camera 16 is 0.6 m away; by 0.8 m, it is inside.
    small = replace(t, region_margin_m=0.2)
    assert small.answer(hand, ij(0, 16, a="1", kind="area")).value == "front"
    rejects(replace(t, region_margin_m=0.8), hand, ij(0, 16, a="1", kind="area"), "inside")
    # The lamp (centroid (3.2, 3.15)) is 0.2 m from the room's centre line x = 3.
    e = rejects(t, hand, ij(5, 0, a="4", kind="quadrant"), "its quarter is unclear")
    assert e.evidence["anchor_clearance_m"] == pytest.approx(0.2)
    clear = replace(t, min_anchor_clearance_m=0.1)
    lamp = clear.answer(hand, ij(5, 0, a="4", kind="quadrant"))  # x 3..6, y 2..4
    assert lamp.value == "front" and lamp.evidence["region_centroid_m"] == pytest.approx([4.5, 3])
    rejects(clear, hand, ij(5, 8, a="4", kind="quadrant"), "camera 8 is inside")
    # The boundary rule: the sofa area from camera 9 is at -35.5 deg.
    rejects(t, hand, ij(0, 9, a="1", kind="area"), "from a sector boundary")
    rejects(t, hand, ij(0, 8, a="1", kind="circle"), "kind must be")
    rejects(t, hand, ij(8, 0, a="1", kind="area"), "not in view in frame 8")


# ---------------------------------------------------------------------------- motion
def test_camera_motion_cumulative_yaw(motion):
    t = get("camera_motion")
    # 35 steps of +10 deg: 350 deg to the LEFT. The net yaw change is -10 deg (a right turn),
    # which is what the net-yaw camera_rotation template answers.
    a = t.answer(motion, ij(0, 35))
    assert a.value == "turn left"
    assert a.evidence["accumulated_yaw_deg"] == pytest.approx(350.0)
    assert a.evidence["net_yaw_deg"] == pytest.approx(-10.0)
    assert a.evidence["steps"] == 35
    rot = replace(get("camera_rotation"), max_gap_frames=None)
    assert rot.answer(motion, ij(0, 35)).value == "right"
    assert t.answer(motion, ij(0, 18)).value == "turn left"  # 180 deg, net +-180
    assert t.answer(motion, ij(3, 4)).value == "turn left"  # one step of 10 deg
    # Mirrored: the same walk turns right.
    mir = mirrored(motion)
    assert t.answer(mir, ij(0, 35)).value == "turn right"
    assert t.answer(mir, ij(0, 35)).evidence["accumulated_yaw_deg"] == pytest.approx(-350.0)


def test_camera_motion_translation_and_rejections(motion):
    t = get("camera_motion")
    a = t.answer(motion, ij(40, 42))  # 3 deg left then 3 deg right: 0 accumulated
    assert a.value == "move forward" and a.evidence["forward_m"] == pytest.approx(1.0)
    assert a.evidence["accumulated_yaw_deg"] == pytest.approx(0.0, abs=1e-9)
    assert t.answer(motion, ij(40, 41)).value == "move forward"  # 3 deg < 8 - 2
    assert t.answer(motion, ij(42, 43)).value == "move backward"
    assert t.answer(motion, ij(50, 51)).value == "move right"
    assert t.answer(mirrored(motion), ij(50, 51)).value == "move left"
    # 9 deg: within 2 deg of 8 fires; at 0.5 deg it is a left turn; with 10 deg a translation.
    e = rejects(t, motion, ij(60, 61), "within 2.0 deg of 8.0 deg")
    assert e.evidence["accumulated_yaw_deg"] == pytest.approx(9.0)
    assert replace(t, turn_margin_deg=0.5).answer(motion, ij(60, 61)).value == "turn left"
    assert replace(t, min_turn_deg=12.0).answer(motion, ij(40, 42)).value == "move forward"
    # min_translation_m: 0.1 m.
    e = rejects(t, motion, ij(70, 71), "moved 0.100 m")
    assert e.evidence["translation_m"] == pytest.approx(0.1)
    assert replace(t, min_translation_m=0.05).answer(motion, ij(70, 71)).value == "move forward"
    # max_step_deg: one step of 120 deg.
    e = rejects(t, motion, ij(80, 81), "turns 120.0 deg")
    assert e.evidence["largest_step_deg"] == pytest.approx(120.0)
    assert replace(t, max_step_deg=150.0).answer(motion, ij(80, 81)).value == "turn left"
    # Dominance: forward 1, left 0.9.
    rejects(t, motion, ij(90, 91), "no dominant axis")
    assert replace(t, min_dominance_rel=0.05).answer(motion, ij(90, 91)).value == "move forward"
    # Pitch: frame 95 looks straight down; frame 96 is level.
    rejects(t, motion, ij(90, 95), "frame 95: camera looks")
    rejects(t, motion, ij(42, 40), "must come before")
    rejects(t, motion, ij(42, 42), "same frame")
    assert ij(0, 35) in t.candidates(motion) and ij(35, 0) not in t.candidates(motion)


# ---------------------------------------------------------------------------- visibility
def test_visibility_compare(hand):
    t = get("visibility_compare")
    eng = visibility(hand)
    v0, v13, v14 = (eng.frame(k).stats("1")["visibility"] for k in (0, 13, 14))
    assert v13 == 0.0 and 0.5 < v0 < 1.0 and 0.0 < v14 < v0
    a = t.answer(hand, ij(0, 13, a="1"))
    assert a.value == "frame 0"
    assert (a.evidence["visibility_i"], a.evidence["visibility_j"]) == (v0, v13)
    # The sofa is partly outside the image in frame 14 (truncation), so less of it is seen.
    assert eng.frame(14).stats("1")["truncation"] > 0.2
    assert t.answer(hand, ij(0, 14, a="1")).value == "frame 0"
    assert t.answer(hand, ij(13, 14, a="1")).value == "frame 14"
    gap = v0 - v14
    e = rejects(replace(t, min_difference=gap + 0.01), hand, ij(0, 14, a="1"), "differ by less")
    assert e.evidence["difference"] == pytest.approx(gap)
    assert replace(t, min_difference=gap - 0.01).answer(hand, ij(0, 14, a="1")).value == "frame 0"
    rejects(t, hand, ij(0, 15, a="1"), "differ by less than 0.1")  # the same view twice
    rejects(t, hand, ij(13, 0, a="1"), "must come before")
    rejects(t, hand, ij(0, 13, a="5"), "ambiguous")


# ---------------------------------------------------------------------------- attributes
def test_attribute_comparison(hand):
    t = get("attribute_comparison")

    def p(attr, a="1", b="2", fi=0, fj=13):
        return {"a": a, "b": b, "attribute": attr, "frame_i": fi, "frame_j": fj}

    a = t.answer(hand, p("length"))  # sofa 1.0 m, tv 1.2 m
    assert a.value == "tv" and a.evidence["ratio"] == pytest.approx(1.2)
    assert t.answer(hand, p("width")).value == "sofa"  # 0.8 vs 0.3
    h = t.answer(hand, p("height"))  # 0.8 vs 0.6
    assert h.value == "sofa" and h.evidence["ratio"] == pytest.approx(4 / 3)
    # Sofa 1.0 m vs table 1.05 m: ratio 1.05 < 1.10; passes with a 4 % margin.
    e = rejects(t, hand, p("length", b="3", fj=1), "differ by a factor 1.050")
    assert e.evidence["ratio"] == pytest.approx(1.05)
    assert replace(t, min_margin_rel=0.04).answer(hand, p("length", b="3", fj=1)).value == "table"
    # min_dimension_m: the tv is 0.6 m tall.
    e = rejects(replace(t, min_dimension_m=0.7), hand, p("height"), "b: height 0.6000 m")
    assert replace(t, min_dimension_m=0.5).answer(hand, p("height")).value == "sofa"
    rejects(t, hand, p("length", fj=0), "same frame")
    rejects(t, hand, p("length", fi=13, fj=0), "a: the sofa is not in view in frame 13")
    rejects(t, hand, p("length", fj=1), "b: the tv is not in view in frame 1")
    rejects(t, hand, p("depth"), "attribute must be")
    rejects(t, hand, p("length", b="1"), "same object")
    rejects(t, hand, p("length", b="5"), "ambiguous")
    # Generated frames: the first frame each object is in view in (tv: frame 8).
    cands = t.candidates(hand)
    assert p("length", fj=8) in cands and p("height", b="3", fj=1) in cands


def test_attribute_ratio(hand):
    t = get("attribute_ratio")

    def p(attr, a="1", b="2", fi=0, fj=13):
        return {"a": a, "b": b, "attribute": attr, "frame_i": fi, "frame_j": fj}

    assert t.answer(hand, p("width")).value == pytest.approx(0.8 / 0.3)
    assert t.answer(hand, p("length", a="2", b="1", fi=13, fj=0)).value == pytest.approx(1.2)
    e = rejects(t, hand, p("length"), "ratio 0.833 is under min_ratio = 1.1")
    assert e.evidence["ratio"] == pytest.approx(1 / 1.2)
    assert replace(t, min_ratio=0.8).answer(hand, p("length")).value == pytest.approx(1 / 1.2)
    q = t.question(hand, p("width"), np.random.default_rng(0))
    assert q.answer == "2.67" and q.choices == [] and q.metric == "mra" and q.unit == ""
    assert "sofa" in q.text and "tv" in q.text and "frame 0" in q.text and "frame 13" in q.text


# ---------------------------------------------------------------------------- rendering
INVERTED_MARKERS = {
    "camera_relative_position": ("as seen from the camera", "which way must one go", "where is"),
    "object_direction_from_camera": ("as seen from the", "Going from the", "relative to the"),
    "region_direction": ("as seen from the", "Going from the", "relative to the middle"),
    "camera_elevation_change": (),
    "visibility_compare": ("less of the", "smaller part", "worse"),
    "attribute_comparison": ("narrower",),  # the case below compares widths
}


def test_render_canonical_answers_and_inverted_forms(hand):
    rng = np.random.default_rng(0)
    cases = {
        "camera_relative_position": ij(0, 1),
        "object_direction_from_camera": ij(0, 8, a="1"),
        "region_direction": ij(0, 8, a="1", kind="quadrant"),
        "visibility_compare": ij(0, 13, a="1"),
        "attribute_comparison": {
            "a": "1",
            "b": "2",
            "attribute": "width",
            "frame_i": 0,
            "frame_j": 13,
        },
    }
    for name, params in cases.items():
        t = get(name)
        value = t.answer(hand, params).value
        flip = {"frame 0": "frame 13", "frame 13": "frame 0", "sofa": "tv", "tv": "sofa"}
        texts, inverted_seen = set(), 0
        for k in range(120):
            slot = k % t.slots
            q = t.question(hand, params, rng, slot=slot)
            assert len(q.choices) == t.slots and q.choices[slot] == q.answer
            assert len(set(q.choices)) == len(q.choices)
            inverted = any(m in q.text for m in INVERTED_MARKERS[name])
            inverted_seen += inverted
            expected = (OPPOSITE | flip)[value] if inverted else value
            assert q.answer == expected, (name, q.text)
            if name == "camera_relative_position":
                assert OPPOSITE[q.answer] in q.choices  # the opposite is always offered
            texts.add(q.text)
        assert 20 < inverted_seen < 100, name
        assert len(texts) >= 6, name
    t = get("camera_elevation_change")
    for k in range(60):
        q = t.question(hand, ij(0, 4), rng, slot=k % 3)
        assert q.choices[k % 3] == q.answer and sorted(q.choices) == [
            "higher",
            "lower",
            "same height",
        ]
        # Asked about camera 4 from camera 0 ("frame 4 ... higher") or the other way round.
        first = q.text.index("frame 0") < q.text.index("frame 4")
        assert q.answer == ("higher" if first else "lower"), q.text


def test_render_camera_motion(motion):
    t = get("camera_motion")
    rng = np.random.default_rng(1)
    for k in range(40):
        q = t.question(motion, ij(0, 35), rng, slot=k % 4)
        assert q.answer == "turn left" and q.choices[k % 4] == "turn left"
        assert "turn right" in q.choices and len(set(q.choices)) == 4


# ---------------------------------------------------------------------------- metamorphic
def random_scene(seed: int) -> Scene:
    """A 6 x 5 m room (floor grid), a 10-frame walk that alternates turns on the spot and
    short moves at varying heights, looking down 15 deg, and six unique boxes plus an ambiguous
    pair, each at least 0.6 m (horizontally) from every camera: the visibility engine's near
    plane is fixed in metres, so objects next to a camera would break the scaling property."""
    rng = np.random.default_rng(seed)
    pos = np.array([rng.uniform(1.5, 4.5), rng.uniform(1.5, 3.5)])
    yaw = rng.uniform(-180, 180)
    frames, eyes = [], []
    for idx in range(10):
        z = rng.choice([1.3, 1.5, 1.5, 1.8])
        frames.append(yaw_frame(idx, (pos[0], pos[1], z), yaw, pitch_deg=15.0, small=True))
        eyes.append(pos.copy())
        if rng.random() < 0.5:
            yaw += rng.uniform(-45, 45)
        else:
            yaw += rng.uniform(-4, 4)
            heading = rng.uniform(0, 2 * math.pi)
            step = rng.uniform(0.2, 0.8) * np.array([math.cos(heading), math.sin(heading)])
            pos = np.clip(pos + step, 0.7, [5.3, 4.3])
    eyes_xy = np.array(eyes)
    objs = [SceneObject("f", "floor", floor_grid(6.0, 5.0, spacing=0.05))]
    labels = ("sofa", "tv", "lamp", "table", "cabinet", "bookshelf", "chair", "chair")
    for k, lab in enumerate(labels):
        for _ in range(100):
            c = rng.uniform([0.8, 0.8], [5.2, 4.2])
            size = rng.uniform([0.2, 0.2, 0.3], [1.4, 0.9, 1.9])
            gap = np.maximum(np.abs(eyes_xy - c) - size[:2] / 2, 0.0)
            if np.hypot(gap[:, 0], gap[:, 1]).min() >= 0.6:
                break
        lo = (c[0] - size[0] / 2, c[1] - size[1] / 2, 0.0)
        hi = (c[0] + size[0] / 2, c[1] + size[1] / 2, size[2])
        objs.append(SceneObject(str(k + 1), lab, box_points(lo, hi, n=4)))
    return Scene(f"rand_{seed}", objs, frames)


def scaled(tpl, k: float):
    """The template with its length thresholds (metres) scaled by k."""
    names = [f.name for f in fields(tpl) if f.name.endswith("_m") or f.name == "near"]
    return replace(tpl, **{n: getattr(tpl, n) * k for n in names})


MIRROR_SWAP = {
    "left": "right",
    "right": "left",
    "turn left": "turn right",
    "turn right": "turn left",
    "move left": "move right",
    "move right": "move left",
}


def check_same(base: dict, other: dict, numeric: bool, swap: dict | None = None) -> None:
    assert base.keys() == other.keys()
    for key, v in base.items():
        w = other[key]
        if swap:
            w = swap.get(w, w)
        if numeric:
            assert w == pytest.approx(v, rel=1e-9), key
        else:
            assert w == v, key


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    theta=st.floats(-np.pi, np.pi),
    t=st.tuples(*[st.floats(-50, 50)] * 3),
    k=st.floats(0.5, 1.8),
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
        check_same(base, answers(moved, tpl), numeric)
        # Scaling with the length thresholds: directions, motions, visibility and ratios stay.
        check_same(base, answers(big, scaled(tpl, k)), numeric)
        # Mirroring swaps left and right (turns and sideways moves too), nothing else.
        swap = MIRROR_SWAP if name in (*SIDED, "camera_motion") else None
        check_same(base, answers(mir, tpl), numeric, swap)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_swapping_a_and_b(seed):
    s = random_scene(seed)
    comp, ratio = get("attribute_comparison"), get("attribute_ratio")
    for params, a in comp.valid(s):
        sw = {**params, "a": params["b"], "b": params["a"]}
        sw |= {"frame_i": params["frame_j"], "frame_j": params["frame_i"]}
        assert comp.answer(s, sw).value == a.value
    for params, a in replace(ratio, min_ratio=0.0).valid(s):
        sw = {**params, "a": params["b"], "b": params["a"]}
        sw |= {"frame_i": params["frame_j"], "frame_j": params["frame_i"]}
        assert replace(ratio, min_ratio=0.0).answer(s, sw).value == pytest.approx(1 / a.value)


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
        base = answers(s, tpl, stride=3)
        assert base, name
        check_same(base, answers(moved, tpl, stride=3), numeric)
        swap = MIRROR_SWAP if name in (*SIDED, "camera_motion") else None
        check_same(base, answers(mir, tpl, stride=3), numeric, swap)


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
        assert len(qs) >= 60, (name, len(qs))
        for q in qs:
            json.loads(q.model_dump_json())
            assert q.template == name and q.family == tpl.family
            if tpl.answer_type == "choice":
                assert q.answer in q.choices and len(q.choices) == tpl.slots
            else:
                assert q.choices == [] and q.answer == fmt_number(q.answer_value, tpl.decimals)
                assert q.answer_value > 0
        if tpl.answer_type == "choice":
            slots = Counter(q.choices.index(q.answer) for q in qs)
            for s_ in range(tpl.slots):
                assert abs(slots[s_] / len(qs) - 1 / tpl.slots) <= 0.05, (name, slots)
        assert [q.id for q in tpl.generate(demos[0], 1, 40)] != [
            q.id for q in tpl.generate(demos[0], 0, 40)
        ]
