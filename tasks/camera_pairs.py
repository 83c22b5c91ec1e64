"""Camera-pair family: the image-pair questions of SpatialEvo and MMSI-Bench.

Where was camera j relative to camera i, was it higher or lower, in which direction is an
object or a region from a camera, and how did the camera move between two frames.

Directions are taken in a camera's **levelled axes**: *forward* is its viewing direction
(camera z) projected on the floor plane, *left* is forward turned 90 degrees counter-clockwise
seen from above, *up* is world up (+z). The camera's pitch and roll are removed, so "up" agrees
with ``camera_elevation_change`` and a camera tilted down still has a horizontal "front". The
levelled axes are undefined when the camera looks (nearly) straight up or down: every template
here rejects a camera whose viewing direction is more than ``max_pitch_deg`` off the horizontal
(see :func:`geoenv.tasks.camera.heading`).

Frames are named by ``Frame.index``; objects are unique categories (``unique_object``); "in
view" is :func:`geoenv.tasks.camera.in_view` (true visibility). Threshold tests treat values
within a relative 1e-9 of a threshold as meeting it (:func:`geoenv.tasks.camera.below`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import shapely

from geoenv.boxes import min_area_rectangle
from geoenv.frames import Frame
from geoenv.scene import Scene
from geoenv.tasks.base import (
    Answer,
    IllPosed,
    LazyCandidates,
    ParamValue,
    Rendered,
    Template,
    forms,
    memo,
    name_of,
    object_name,
    or_list,
    place_choice,
)
from geoenv.tasks.camera import (
    IN_VIEW_RULE,
    NEAR_M,
    below,
    get_frame,
    heading,
    in_view,
    in_view_mask,
)
from geoenv.tasks.grammar import (
    ReadContext,
    Reading,
    Unreadable,
    identity,
    norm_name,
    split_options,
)
from geoenv.tasks.registry import register
from geoenv.tasks.scene_measure import unique_ids, unique_object

#: Default limit (degrees off the horizontal) beyond which a camera's levelled axes are undefined.
MAX_PITCH_DEG = 75.0

OPPOSITE = {
    "front": "back",
    "back": "front",
    "left": "right",
    "right": "left",
    "up": "down",
    "down": "up",
    "higher": "lower",
    "lower": "higher",
    "turn left": "turn right",
    "turn right": "turn left",
    "move forward": "move backward",
    "move backward": "move forward",
    "move left": "move right",
    "move right": "move left",
}
#: The four horizontal sectors (90 degrees wide, centred on the levelled axes).
SECTORS = ("front", "left", "back", "right")
#: Answers of ``camera_relative_position``.
DIRECTIONS_3D = ("front", "back", "left", "right", "up", "down")
#: Answers of ``camera_motion``.
MOTIONS = ("turn left", "turn right", "move forward", "move backward", "move left", "move right")
#: Answers of ``camera_elevation_change``.
ELEVATIONS = ("higher", "lower", "same height")

LEVELLED_RULE = (
    "Directions are in the camera's levelled axes: forward = its viewing direction projected "
    "on the floor plane, left = forward turned 90 degrees counter-clockwise seen from above, "
    "up = world up (pitch and roll removed). Rejected when a camera whose axes are used looks "
    "more than `max_pitch_deg` degrees above or below the horizontal (forward undefined)."
)
SECTOR_RULE = (
    "The horizontal angle of the target from the camera's forward axis, counter-clockwise "
    "(left) positive, in (-180, 180], gives the sector: front |angle| < 45, left [45, 135], "
    "right [-135, -45], back |angle| > 135. Rejected when the angle is within "
    "`min_boundary_deg` degrees of a sector boundary (+-45, +-135)."
)


# ---------------------------------------------------------------------------- helpers
def levelled(frame: Frame, max_pitch_deg: float, role: str) -> tuple[np.ndarray, np.ndarray]:
    """``(forward, left)`` unit world vectors (3,) of the frame's levelled axes; raises
    :class:`IllPosed` when the camera looks more than ``max_pitch_deg`` off the horizontal."""
    yaw, pitch = heading(frame)
    if below(max_pitch_deg, pitch):
        raise IllPosed(
            f"{role}: camera looks {pitch:.1f} deg off the horizontal in frame {frame.index} "
            f"(> {max_pitch_deg} deg: its forward direction is undefined)",
            pitch_deg=pitch,
            max_pitch_deg=max_pitch_deg,
        )
    y = math.radians(yaw)
    return np.array([math.cos(y), math.sin(y), 0.0]), np.array([-math.sin(y), math.cos(y), 0.0])


def in_axes(
    frame: Frame, vec: np.ndarray, max_pitch_deg: float, role: str
) -> tuple[float, float, float]:
    """``(forward, left, up)`` components (m) of the world vector ``vec`` in the frame's
    levelled axes."""
    fwd, left = levelled(frame, max_pitch_deg, role)
    v = np.asarray(vec, dtype=np.float64)
    return float(v @ fwd), float(v @ left), float(v[2])


def sector(forward: float, left: float) -> tuple[str, float, float]:
    """``(sector, angle_deg, distance to the nearest sector boundary in degrees)`` of the
    horizontal direction (forward, left)."""
    ang = math.degrees(math.atan2(left, forward))
    m = abs(ang)
    if m < 45.0:
        name = "front"
    elif m > 135.0:
        name = "back"
    else:
        name = "left" if ang > 0 else "right"
    return name, ang, min(abs(m - 45.0), abs(m - 135.0))


def dominant(components: dict[str, float], rel: float) -> tuple[str, float, float]:
    """The axis of largest absolute component among ``{axis: value}``; returns ``(axis,
    largest, second)`` (absolute values, m). Raises :class:`IllPosed` when the two largest are
    within ``rel`` x the largest of each other."""
    order = sorted(components, key=lambda k: -abs(components[k]))
    big, second = abs(components[order[0]]), abs(components[order[1]])
    if below(big - second, rel * big):
        raise IllPosed(
            f"no dominant axis: the two largest components are {big:.3f} m ({order[0]}) and "
            f"{second:.3f} m ({order[1]}), within {rel:.0%} of each other",
            largest_m=big,
            second_m=second,
            required_gap_m=rel * big,
        )
    return order[0], big, second


def two_frames(
    scene: Scene, params: dict[str, ParamValue], ordered: bool = False
) -> tuple[Frame, Frame]:
    """Frames ``frame_i`` and ``frame_j``: distinct, and ``i < j`` when ``ordered``."""
    fi = get_frame(scene, params["frame_i"], "frame_i")
    fj = get_frame(scene, params["frame_j"], "frame_j")
    if fi.index == fj.index:
        raise IllPosed(f"frame_i and frame_j are the same frame ({fi.index})")
    if ordered and not fi.index < fj.index:
        raise IllPosed(f"frame_i ({fi.index}) must come before frame_j ({fj.index})")
    return fi, fj


def _with_opposite(
    correct: str, pool: Sequence[str], k: int, slot: int, rng: np.random.Generator
) -> list[str]:
    """``k`` choices from ``pool``: ``correct`` at ``slot``, its opposite and ``k - 2`` others
    drawn with ``rng`` (all of ``pool`` when ``k >= len(pool)``)."""
    opp = OPPOSITE[correct]
    rest = [x for x in pool if x not in (correct, opp)]
    picked = [rest[i] for i in sorted(rng.choice(len(rest), max(0, k - 2), replace=False))]
    return place_choice(correct, [opp, *picked], slot, rng)


def frame_pair_candidates(
    scene: Scene,
    ordered: bool,
    extras: Callable[[int], Sequence[dict[str, ParamValue]]] | None = None,
) -> LazyCandidates:
    """Candidates ``{"frame_i", "frame_j", **extra}`` over pairs of frames, built on demand:
    for each frame i in index order, each partner j (every other frame when ``ordered``, else
    the later ones) and each extra of ``extras(i)`` (default: one empty extra). Long
    trajectories have millions of pairs; generation touches only those it visits."""
    idx = sorted(f.index for f in scene.frames)
    n = len(idx)
    ext = [list(extras(i)) if extras else [{}] for i in idx]
    sizes = [((n - 1) if ordered else (n - 1 - p)) * len(ext[p]) for p in range(n)]
    starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])

    def make(k: int) -> dict[str, ParamValue]:
        p = int(np.searchsorted(starts, k, side="right")) - 1
        q, e = divmod(int(k - starts[p]), len(ext[p]))
        j = (q if q < p else q + 1) if ordered else p + 1 + q
        return {"frame_i": idx[p], "frame_j": idx[j], **ext[p][e]}

    return LazyCandidates(int(starts[-1]), make)


def _in_view_ids(scene: Scene, near: float) -> dict[int, list[str]]:
    """Frame index -> unique-category ids in view (cached per scene and ``near``)."""

    def make() -> dict[int, list[str]]:
        ids = unique_ids(scene)
        out = {}
        for f in scene.frames:
            mask = in_view_mask(scene, f, ids, near)
            out[f.index] = [i for i, m in zip(ids, mask, strict=True) if m]
        return out

    return memo(scene, ("in_view_ids", float(near)), make)


# ---------------------------------------------------------------------------- reading
def read_frames(ctx: ReadContext, slots: dict[str, str], i: str = "i", j: str = "j") -> dict:
    """``{"frame_i", "frame_j"}`` from the placeholders ``i`` and ``j`` (frame indices)."""
    return {"frame_i": ctx.frame(slots[i], "frame_i"), "frame_j": ctx.frame(slots[j], "frame_j")}


def read_choices(ctx: ReadContext, text: str, allowed: Sequence[str]) -> list[str]:
    """The options a text offers (at least two, distinct, each one of ``allowed``), spelled
    as in ``allowed``."""
    out = ctx.options(text, allowed)
    if len(out) < 2:
        raise Unreadable("bad_options", f"options: {text!r} offers fewer than two options")
    return out


def opposite(value: object) -> str:
    """Answer map of a question asked inverted: the opposite direction / motion / height."""
    return OPPOSITE.get(str(value), str(value))


_AT = re.compile(r"^at (?:(?:the|an?) )?")


# ---------------------------------------------------------------------------- cam-cam
@register
@dataclass(frozen=True)
class CameraRelativePosition(Template):
    name = "camera_relative_position"
    family = "camera"
    answer_type = "choice"
    metric = "exact"
    inputs = ("frames",)
    slots = 4
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("position_cam_cam",),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_cam_cam",),
    }
    rule = (
        "Where was the camera of frame j relative to the camera of frame i, in camera i's "
        "axes: the displacement from camera centre i to camera centre j is split into forward, "
        "left and up components (m) and the answer is the dominant axis with its sign: front / "
        "back, left / right, up / down. " + LEVELLED_RULE + " Rejected when the baseline (the "
        "3D distance between the centres) is under `min_baseline_m`, and when the two largest "
        "absolute components differ by less than `min_dominance_rel` x the largest. Asked "
        "directly (where is camera j from camera i) or inverted (where is camera i from camera "
        "j, still in camera i's axes: the opposite direction). Four choices: the answer, its "
        "opposite and two other directions."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "frame_i": "frame index i (the reference camera, whose axes are used)",
        "frame_j": "frame index j (the camera located), j != i",
    }
    min_baseline_m: float = 0.2
    min_dominance_rel: float = 0.25
    max_pitch_deg: float = MAX_PITCH_DEG
    _forms_direct = forms(
        "Using the directions of the camera in frame {i} (its own front, back, left, right, up "
        "and down), where was the camera of frame {j} relative to it: {opts}?",
        "Relative to where the camera stood and faced in frame {i}, in which direction was the "
        "camera when it took frame {j}: {opts}?",
        "Take the camera of frame {i} as the reference. Is the camera of frame {j} to its {opts}?",
    )
    _forms_inverted = forms(
        "Using the directions of the camera in frame {i} (its own front, back, left, right, up "
        "and down), in which direction is the camera of frame {i} as seen from the camera of "
        "frame {j}: {opts}?",
        "Starting at the camera position of frame {j}, which way must one go to reach the "
        "camera position of frame {i}, in the camera of frame {i}'s own directions: {opts}?",
        "With left, right, front, back, up and down taken from the camera of frame {i}, where "
        "is that camera relative to the camera of frame {j}: {opts}?",
    )

    def candidates(self, scene: Scene) -> LazyCandidates:
        return frame_pair_candidates(scene, ordered=True)

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        fi, fj = two_frames(scene, params)
        vec = fj.position - fi.position
        base = float(np.linalg.norm(vec))
        if below(base, self.min_baseline_m):
            raise IllPosed(
                f"baseline {base:.3f} m (< {self.min_baseline_m} m)",
                baseline_m=base,
                min_baseline_m=self.min_baseline_m,
            )
        fwd, left, up = in_axes(fi, vec, self.max_pitch_deg, "frame_i")
        axis, big, second = dominant(
            {"forward": fwd, "left": left, "up": up}, self.min_dominance_rel
        )
        value = {
            "forward": "front" if fwd > 0 else "back",
            "left": "left" if left > 0 else "right",
            "up": "up" if up > 0 else "down",
        }[axis]
        ev = {"forward_m": fwd, "left_m": left, "up_m": up, "baseline_m": base}
        ev |= {"largest_m": big, "second_m": second}
        return Answer(
            value,
            ev,
            f"From camera {fi.index} to camera {fj.index} ({base:.2f} m): {fwd:+.2f} m forward, "
            f"{left:+.2f} m left, {up:+.2f} m up in camera {fi.index}'s levelled axes; the "
            f"{axis} component dominates, so camera {fj.index} is {value}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        inverted = bool(rng.integers(2))
        correct = OPPOSITE[answer.value] if inverted else answer.value
        choices = _with_opposite(correct, DIRECTIONS_3D, self.slots, slot, rng)
        f = self._forms_inverted if inverted else self._forms_direct
        text = f.pick(
            rng, i=str(params["frame_i"]), j=str(params["frame_j"]), opts=or_list(choices)
        )
        return Rendered(text, choices, correct)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        choices = read_choices(ctx, slots["opts"], DIRECTIONS_3D)
        inverted = form == "_forms_inverted"
        return Reading(read_frames(ctx, slots), choices, opposite if inverted else identity)


@register
@dataclass(frozen=True)
class CameraElevationChange(Template):
    name = "camera_elevation_change"
    family = "camera"
    answer_type = "choice"
    metric = "exact"
    inputs = ("frames",)
    slots = 3
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("elevation_cam_cam",),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_cam_cam",),
    }
    rule = (
        "Was the camera of frame j higher, lower or at the same height as the camera of frame "
        "i: dz = z(camera centre j) - z(camera centre i) in metres; `same height` when |dz| <= "
        "`same_height_m`, else higher (dz > 0) or lower. Rejected when |dz| is within "
        "`min_boundary_m` of `same_height_m`. Asked about camera j relative to camera i or, "
        "inverted, about camera i relative to camera j (higher and lower swap). Choices: "
        "higher, lower, same height."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "frame_i": "frame index i (the reference camera)",
        "frame_j": "frame index j (the camera compared), j != i",
    }
    same_height_m: float = 0.15
    min_boundary_m: float = 0.05
    slot_classes: ClassVar[dict[str, str]] = {"x": "frame", "y": "frame"}
    #: Camera y relative to camera x: direct (x = frame i, y = frame j) and inverted (x = frame
    #: j, y = frame i) are worded differently so that the text tells which frame is frame i.
    _forms_direct = forms(
        "Compared with the camera of frame {x}, was the camera of frame {y} {opts}?",
        "Relative to its height in frame {x}, is the camera in frame {y} {opts}?",
        "Comparing the camera heights in frame {x} and in frame {y}, is the camera of frame {y} "
        "{opts} relative to frame {x}?",
    )
    _forms_inverted = forms(
        "Taking the camera of frame {x} as the reference, was the camera of frame {y} {opts}?",
        "Measured against the camera height of frame {x}, is the camera in frame {y} {opts}?",
        "With the camera of frame {x} as the baseline, does the camera of frame {y} sit {opts}?",
    )

    def candidates(self, scene: Scene) -> LazyCandidates:
        return frame_pair_candidates(scene, ordered=True)

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        fi, fj = two_frames(scene, params)
        zi, zj = float(fi.position[2]), float(fj.position[2])
        dz = zj - zi
        ev = {"z_i_m": zi, "z_j_m": zj, "dz_m": dz, "same_height_m": self.same_height_m}
        edge = abs(abs(dz) - self.same_height_m)
        if below(edge, self.min_boundary_m):
            raise IllPosed(
                f"|dz| = {abs(dz):.3f} m is within {self.min_boundary_m} m of the "
                f"same-height limit {self.same_height_m} m",
                **ev,
                boundary_distance_m=edge,
            )
        if abs(dz) <= self.same_height_m:
            value = "same height"
        else:
            value = "higher" if dz > 0 else "lower"
        return Answer(
            value,
            {**ev, "boundary_distance_m": edge},
            f"The camera is at z = {zi:.2f} m in frame {fi.index} and z = {zj:.2f} m in frame "
            f"{fj.index} (dz = {dz:+.2f} m; same height within {self.same_height_m} m): "
            f"{value}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        inverted = bool(rng.integers(2))
        correct = OPPOSITE.get(answer.value, answer.value) if inverted else answer.value
        others = [e for e in ELEVATIONS if e != correct]
        choices = place_choice(correct, others, slot, rng)
        x, y = str(params["frame_i"]), str(params["frame_j"])
        if inverted:
            x, y = y, x
        opts = or_list([("at the " + c) if c == "same height" else c for c in choices])
        f = self._forms_inverted if inverted else self._forms_direct
        return Rendered(f.pick(rng, x=x, y=y, opts=opts), choices, correct)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        # "at the same height" is offered as the choice "same height".
        items = [_AT.sub("", norm_name(it)) for it in split_options(slots["opts"])]
        choices = read_choices(ctx, ", ".join(items), ELEVATIONS)
        inverted = form == "_forms_inverted"
        params = read_frames(ctx, slots, *(("y", "x") if inverted else ("x", "y")))
        return Reading(params, choices, opposite if inverted else identity)


# ---------------------------------------------------------------------------- cam-obj / cam-reg
@dataclass(frozen=True)
class _FromCamera(Template):
    """Shared shape of "in which direction is X from camera j" (not registered)."""

    family = "camera"
    answer_type = "choice"
    metric = "exact"
    inputs = ("objects", "frames")
    slots = 4
    min_boundary_deg: float = 15.0
    min_distance_m: float = 0.5
    max_pitch_deg: float = MAX_PITCH_DEG
    near: float = NEAR_M

    def _anchor(self, scene: Scene, params: dict[str, ParamValue]) -> tuple[Frame, Frame, str]:
        """Validate frames and the object seen in frame i; return (fi, fj, label)."""
        label = unique_object(scene, params["a"], "a")
        fi, fj = two_frames(scene, params)
        if not in_view(scene, fi, str(params["a"]), self.near):
            raise IllPosed(f"a: the {name_of(label)} is not in view in frame {fi.index}")
        return fi, fj, label

    def _direction(self, fj: Frame, target: np.ndarray) -> tuple[str, dict]:
        fwd, left, _ = in_axes(fj, target - fj.position, self.max_pitch_deg, "frame_j")
        side, ang, edge = sector(fwd, left)
        ev = {"forward_m": fwd, "left_m": left, "angle_deg": ang, "boundary_distance_deg": edge}
        if below(edge, self.min_boundary_deg):
            raise IllPosed(
                f"angle {ang:.1f} deg is {edge:.1f} deg from a sector boundary "
                f"(< {self.min_boundary_deg} deg)",
                **ev,
                min_boundary_deg=self.min_boundary_deg,
            )
        return side, ev

    def _render(self, forms_direct, forms_inverted, params, answer, rng, slot, **names):
        inverted = bool(rng.integers(2))
        correct = OPPOSITE[answer.value] if inverted else answer.value
        choices = place_choice(correct, [s for s in SECTORS if s != correct], slot, rng)
        f = forms_inverted if inverted else forms_direct
        text = f.pick(
            rng,
            i=str(params["frame_i"]),
            j=str(params["frame_j"]),
            opts=or_list(choices),
            **names,
        )
        return Rendered(text, choices, correct)

    def _read(self, ctx: ReadContext, form: str, slots: dict[str, str], **extra) -> Reading:
        """Reading of a direct / inverted "which way is X from camera j" text: frames, the
        object ``a``, the sector options; the answer is the opposite sector when inverted."""
        choices = read_choices(ctx, slots["opts"], SECTORS)
        params = {**read_frames(ctx, slots), "a": ctx.object(slots["a"], "a"), **extra}
        return Reading(params, choices, opposite if form == "_forms_inverted" else identity)


@register
@dataclass(frozen=True)
class ObjectDirectionFromCamera(_FromCamera):
    name = "object_direction_from_camera"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("position_cam_obj",),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_cam_obj",),
    }
    rule = (
        "Object A is seen in frame i; in which direction is it from the camera of frame j, in "
        "camera j's axes (A need not be visible in frame j). The target is A's centroid. "
        + SECTOR_RULE
        + " "
        + LEVELLED_RULE
        + " A must be a unique category and in view in frame i; frames i and j differ. "
        + IN_VIEW_RULE
        + " Rejected when A's centroid is within "
        "`min_distance_m` of camera j horizontally. Asked directly or inverted (which way from "
        "A to camera j, in camera j's axes: the opposite sector). Choices: front, back, left, "
        "right."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "frame_i": "frame index i (A is in view there)",
        "frame_j": "frame index j (the camera whose axes are used), j != i",
        "a": "object id (unique category, in view in frame i)",
    }
    _forms_direct = forms(
        "The {a} is visible in frame {i}. Relative to the camera of frame {j} (its own front, "
        "back, left and right), in which direction is the {a}: {opts}?",
        "You can see the {a} in frame {i}. Standing where the camera of frame {j} stands and "
        "facing the way it faces, is the {a} to your {opts}?",
        "Frame {i} shows the {a}. From the viewpoint of the camera in frame {j}, where is the "
        "{a}: {opts}?",
    )
    _forms_inverted = forms(
        "The {a} is visible in frame {i}. Using the front, back, left and right of the camera "
        "of frame {j}, in which direction is that camera as seen from the {a}: {opts}?",
        "Frame {i} shows the {a}. Going from the {a} to the camera of frame {j}, which way do "
        "you move in that camera's own directions: {opts}?",
        "You can see the {a} in frame {i}. With directions taken from the camera of frame {j}, "
        "where is that camera relative to the {a}: {opts}?",
    )

    def candidates(self, scene: Scene) -> LazyCandidates:
        seen = _in_view_ids(scene, self.near)
        return frame_pair_candidates(scene, True, lambda i: [{"a": a} for a in seen[i]])

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        _, fj, label = self._anchor(scene, params)
        c = scene[str(params["a"])].centroid
        side, ev = self._direction(fj, c)
        dist = math.hypot(ev["forward_m"], ev["left_m"])
        ev["horizontal_distance_m"] = dist
        if below(dist, self.min_distance_m):
            raise IllPosed(
                f"the {name_of(label)} is {dist:.3f} m from camera {fj.index} horizontally "
                f"(< {self.min_distance_m} m)",
                **ev,
            )
        return Answer(
            side,
            ev,
            f"The {name_of(label)}'s centroid is {ev['forward_m']:+.2f} m forward and "
            f"{ev['left_m']:+.2f} m left of camera {fj.index} (angle {ev['angle_deg']:.1f} deg, "
            f"counter-clockwise = left): {side}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        a = object_name(scene, params["a"])
        return self._render(
            self._forms_direct, self._forms_inverted, params, answer, rng, slot, a=a
        )

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return self._read(ctx, form, slots)


_ART = r"(?:(?:the|an?) )?"
#: Region phrases (normalised) read back into the region kind and the anchor's name.
_REGION_PATTERNS: dict[str, re.Pattern[str]] = {
    "area": re.compile(rf"{_ART}area around (?P<a>.+)"),
    "quadrant": re.compile(rf"{_ART}quarter of {_ART}room where (?P<a>.+) is"),
}


def _room_frame(scene: Scene) -> tuple[shapely.Polygon, np.ndarray, np.ndarray, float] | None:
    """``(room footprint, rectangle centre (2,), size (2,), yaw)`` of the minimum-area
    rectangle around the room footprint, or None without a footprint (cached per scene)."""

    def make():
        fp = scene.room_footprint
        if fp is None:
            return None
        centre, size, yaw = min_area_rectangle(np.asarray(fp.exterior.coords)[:-1])
        return fp, centre, size, yaw

    return memo(scene, "room_rectangle", make)


@register
@dataclass(frozen=True)
class RegionDirection(_FromCamera):
    name = "region_direction"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("position_cam_reg",),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_cam_reg",),
    }
    rule = (
        "In which direction is a region of the room from the camera of frame j, in camera j's "
        "axes. Regions come from geometry, named by a unique anchor object A seen in frame i. "
        'Kind `area` ("the area around the sofa"): A\'s footprint (the convex hull of its '
        "points projected on the floor plane) grown by `region_margin_m` (its buffer, round "
        "corners drawn with 16 segments per quarter circle). Kind "
        '`quadrant` ("the quarter of the room where the sofa is"): the room footprint (see '
        "room_size) is split into four by the two centre lines of its minimum-area rectangle; "
        "the region is the quarter that holds A's centroid, and it is rejected when A's "
        "centroid is within `min_anchor_clearance_m` of either centre line (which quarter is "
        "unclear). The target is the centroid of the region polygon. "
        + SECTOR_RULE
        + " "
        + LEVELLED_RULE
        + " A must be a unique category and in view in frame i (see "
        "object_direction_from_camera, with `near`); frames i and j differ. Rejected when "
        "camera j's position, projected on the floor, is inside the region or within "
        "`min_distance_m` of it (for an area: the distance to the footprint minus "
        "`region_margin_m`, exact). Asked directly or inverted (which way from the region to "
        "camera j: the opposite sector). Choices: front, back, left, right."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "frame_i": "frame index i (the anchor A is in view there)",
        "frame_j": "frame index j (the camera whose axes are used), j != i",
        "a": "object id (unique category, in view in frame i), the anchor naming the region",
        "kind": "area | quadrant",
    }
    region_margin_m: float = 0.5
    min_anchor_clearance_m: float = 0.5
    _region_names: ClassVar[dict[str, str]] = {
        "area": "the area around the {a}",
        "quadrant": "the quarter of the room where the {a} is",
    }
    slot_classes: ClassVar[dict[str, str]] = {"r": r"[\w'&/.()-][\w' &/.()-]{0,158}"}
    _forms_direct = forms(
        "The {a} is visible in frame {i}. Relative to the camera of frame {j} (its own front, "
        "back, left and right), in which direction is {r}: {opts}?",
        "Frame {i} shows the {a}. Standing where the camera of frame {j} stands and facing the "
        "way it faces, is {r} to your {opts}?",
        "You can see the {a} in frame {i}. From the viewpoint of the camera in frame {j}, "
        "where does {r} lie: {opts}?",
    )
    _forms_inverted = forms(
        "The {a} is visible in frame {i}. Using the front, back, left and right of the camera "
        "of frame {j}, in which direction is that camera as seen from the middle of {r}: "
        "{opts}?",
        "Frame {i} shows the {a}. Going from the middle of {r} to the camera of frame {j}, "
        "which way do you move in that camera's own directions: {opts}?",
        "You can see the {a} in frame {i}. With directions taken from the camera of frame "
        "{j}, where is that camera relative to the middle of {r}: {opts}?",
    )

    def candidates(self, scene: Scene) -> LazyCandidates:
        seen = _in_view_ids(scene, self.near)
        kinds = ("area", "quadrant")
        return frame_pair_candidates(
            scene, True, lambda i: [{"a": a, "kind": k} for a in seen[i] for k in kinds]
        )

    def region(
        self, scene: Scene, a: str, kind: object, camera_xy: np.ndarray
    ) -> tuple[shapely.Geometry, dict]:
        """The region polygon (world xy, m) of anchor ``a`` and its evidence, with the distance
        (m) from ``camera_xy`` to the region (0 inside)."""
        if kind == "area":
            hull = memo(
                scene,
                ("footprint_hull", a),
                lambda: shapely.MultiPoint(scene[a].points[:, :2]).convex_hull,
            )
            poly = shapely.buffer(hull, self.region_margin_m, quad_segs=16)
            gap = float(shapely.distance(shapely.Point(camera_xy), hull)) - self.region_margin_m
            ev = {"region_area_m2": float(poly.area), "camera_region_distance_m": max(gap, 0.0)}
            return poly, ev
        if kind != "quadrant":
            raise IllPosed(f"kind must be 'area' or 'quadrant', not {kind!r}")
        room = _room_frame(scene)
        if room is None:
            raise IllPosed("the scene has no room footprint (no floor points)")
        fp, centre, size, yaw = room
        c, s = math.cos(yaw), math.sin(yaw)
        d = scene[a].centroid[:2] - centre
        u, v = d[0] * c + d[1] * s, -d[0] * s + d[1] * c
        clear = min(abs(u), abs(v))
        ev = {"anchor_u_m": float(u), "anchor_v_m": float(v), "anchor_clearance_m": float(clear)}
        if below(clear, self.min_anchor_clearance_m):
            raise IllPosed(
                f"the anchor's centroid is {clear:.3f} m from a centre line of the room "
                f"(< {self.min_anchor_clearance_m} m): its quarter is unclear",
                **ev,
            )
        # The quarter rectangle in the room rectangle's axes, grown so it covers the footprint.
        su, sv = math.copysign(1.0, u), math.copysign(1.0, v)
        hu, hv = size[0] / 2 + 1.0, size[1] / 2 + 1.0
        local = np.array([[0.0, 0.0], [su * hu, 0.0], [su * hu, sv * hv], [0.0, sv * hv]])
        world = local @ np.array([[c, s], [-s, c]]) + centre
        poly = shapely.intersection(fp, shapely.Polygon(world))
        if poly.is_empty or poly.area <= 0.0:
            raise IllPosed("the anchor's quarter of the room is empty", **ev)
        ev["region_area_m2"] = float(poly.area)
        ev["camera_region_distance_m"] = float(shapely.distance(shapely.Point(camera_xy), poly))
        return poly, ev

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        _, fj, label = self._anchor(scene, params)
        kind = params.get("kind", "area")
        poly, ev = self.region(scene, str(params["a"]), kind, fj.position[:2])
        cen = poly.centroid
        target = np.array([cen.x, cen.y, float(fj.position[2])])
        ev["region_centroid_m"] = [float(cen.x), float(cen.y)]
        gap = ev["camera_region_distance_m"]
        if below(gap, self.min_distance_m):
            where = "inside" if gap == 0.0 else f"{gap:.3f} m from"
            raise IllPosed(
                f"camera {fj.index} is {where} the region (< {self.min_distance_m} m)", **ev
            )
        side, dev = self._direction(fj, target)
        ev |= dev
        region = self._region_names[str(kind)].format(a=name_of(label))
        return Answer(
            side,
            ev,
            f"The centroid of {region} is at ({cen.x:.2f}, {cen.y:.2f}); from camera "
            f"{fj.index} it is {dev['forward_m']:+.2f} m forward and {dev['left_m']:+.2f} m "
            f"left (angle {dev['angle_deg']:.1f} deg): {side}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        a = object_name(scene, params["a"])
        r = self._region_names[str(params.get("kind", "area"))].format(a=a)
        return self._render(
            self._forms_direct, self._forms_inverted, params, answer, rng, slot, a=a, r=r
        )

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        r = slots["r"]
        found = [(k, m) for k, p in _REGION_PATTERNS.items() if (m := p.fullmatch(r))]
        if not found:
            raise Unreadable("unparsed", f"region: {r!r} names no region of the room")
        kind, m = found[0]
        reading = self._read(ctx, form, slots, kind=kind)
        anchor = ctx.object(m.group("a"), "region anchor")
        if anchor != reading.params["a"]:
            raise Unreadable(
                "bad_value",
                f"region: {r!r} is anchored on another object than the {norm_name(slots['a'])!r}",
            )
        return reading


# ---------------------------------------------------------------------------- motion
@register
@dataclass(frozen=True)
class CameraMotion(Template):
    name = "camera_motion"
    family = "camera"
    answer_type = "choice"
    metric = "exact"
    inputs = ("frames",)
    slots = 4
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("motion_camera",),
        "vsi_bench": (),
        "mmsi_bench": ("motion_camera",),
    }
    rule = (
        "Between frames i and j (i < j), did the camera mainly turn left, turn right, move "
        "forward, move backward, move left or move right. The turn is the yaw ACCUMULATED over "
        "every frame from i to j in index order: the sum of the yaw changes between "
        "consecutive frames, each wrapped to [-180, 180) degrees (yaw = heading of the viewing "
        "direction on the floor plane, counter-clockwise positive = left), so a 350 degree "
        "turn to the left in small steps is a left turn, not a 10 degree right turn. When "
        "|accumulated yaw| >= `min_turn_deg` the answer is turn left (positive) or turn right; "
        "rejected when |accumulated yaw| is within `turn_margin_deg` of `min_turn_deg`, and "
        "when a step between consecutive frames turns more than `max_step_deg` (its direction "
        "is unresolved). Otherwise the answer is the translation from camera centre i to "
        "camera centre j in camera i's levelled axes, by the dominant horizontal component: "
        "move forward / backward / left / right; rejected when that horizontal displacement is "
        "under `min_translation_m` or when the two components differ by less than "
        "`min_dominance_rel` x the larger. Rejected when any camera from i to j looks more than "
        "`max_pitch_deg` above or below the horizontal (yaw undefined). Four choices: the "
        "answer, its opposite and two other motions."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "frame_i": "frame index i",
        "frame_j": "frame index j > i",
    }
    min_turn_deg: float = 8.0
    turn_margin_deg: float = 2.0
    max_step_deg: float = 90.0
    min_translation_m: float = 0.2
    min_dominance_rel: float = 0.25
    max_pitch_deg: float = MAX_PITCH_DEG
    _forms = forms(
        "Between frame {i} and frame {j}, what did the camera mainly do: {opts}?",
        "From frame {i} to frame {j}, which best describes the camera's motion: {opts}?",
        "How did the camera move from frame {i} to frame {j}? Choose the main motion: {opts}.",
    )

    def candidates(self, scene: Scene) -> LazyCandidates:
        return frame_pair_candidates(scene, ordered=False)

    def accumulated_yaw(self, scene: Scene, fi: Frame, fj: Frame) -> tuple[float, float, int]:
        """``(accumulated yaw, largest |step|, number of steps)`` in degrees over the frames
        from ``fi`` to ``fj`` in index order; validates every frame's pitch."""
        path = sorted(
            (f for f in scene.frames if fi.index <= f.index <= fj.index), key=lambda f: f.index
        )
        yaws = []
        for f in path:
            yaw, pitch = heading(f)
            if below(self.max_pitch_deg, pitch):
                raise IllPosed(
                    f"frame {f.index}: camera looks {pitch:.1f} deg off the horizontal "
                    f"(> {self.max_pitch_deg} deg: yaw undefined)",
                    pitch_deg=pitch,
                    max_pitch_deg=self.max_pitch_deg,
                )
            yaws.append(yaw)
        steps = (np.diff(yaws) + 180.0) % 360.0 - 180.0
        big = float(np.abs(steps).max()) if len(steps) else 0.0
        return float(steps.sum()), big, len(steps)

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        fi, fj = two_frames(scene, params, ordered=True)
        total, big, n = self.accumulated_yaw(scene, fi, fj)
        net = float((heading(fj)[0] - heading(fi)[0] + 180.0) % 360.0 - 180.0)
        ev = {"accumulated_yaw_deg": total, "net_yaw_deg": net, "largest_step_deg": big}
        ev["steps"] = n
        if below(self.max_step_deg, big):
            raise IllPosed(
                f"a step between consecutive frames turns {big:.1f} deg (> {self.max_step_deg} "
                "deg): its direction is unresolved",
                **ev,
            )
        edge = abs(abs(total) - self.min_turn_deg)
        if below(edge, self.turn_margin_deg):
            raise IllPosed(
                f"accumulated turn {total:+.1f} deg is within {self.turn_margin_deg} deg of "
                f"{self.min_turn_deg} deg",
                **ev,
            )
        why = (
            f"Summing the yaw changes over the {n} step(s) from frame {fi.index} to frame "
            f"{fj.index} gives {total:+.1f} deg (counter-clockwise = left; net change "
            f"{net:+.1f} deg)"
        )
        if abs(total) >= self.min_turn_deg:
            value = "turn left" if total > 0 else "turn right"
            return Answer(value, ev, f"{why}: the camera turned, so {value}.")
        fwd, left, _ = in_axes(fi, fj.position - fi.position, self.max_pitch_deg, "frame_i")
        h = math.hypot(fwd, left)
        ev |= {"forward_m": fwd, "left_m": left, "translation_m": h}
        if below(h, self.min_translation_m):
            raise IllPosed(
                f"the camera barely turned and moved {h:.3f} m horizontally "
                f"(< {self.min_translation_m} m)",
                **ev,
            )
        axis, _, _ = dominant({"forward": fwd, "left": left}, self.min_dominance_rel)
        if axis == "forward":
            value = "move forward" if fwd > 0 else "move backward"
        else:
            value = "move left" if left > 0 else "move right"
        return Answer(
            value,
            ev,
            f"{why}, under {self.min_turn_deg} deg; the camera moved {fwd:+.2f} m forward and "
            f"{left:+.2f} m left in frame {fi.index}'s levelled axes: {value}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        choices = _with_opposite(answer.value, MOTIONS, self.slots, slot, rng)
        text = self._forms.pick(
            rng, i=str(params["frame_i"]), j=str(params["frame_j"]), opts=or_list(choices)
        )
        return Rendered(text, choices, answer.value)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        choices = read_choices(ctx, slots["opts"], MOTIONS)
        return Reading(read_frames(ctx, slots), choices, identity)
