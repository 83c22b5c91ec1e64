"""Camera family: questions about what one camera frame sees and how the camera moved.

Uses camera poses (camera-to-world, OpenCV: x right, y down, z forward), intrinsics and object
points only (no images). Referents are unique categories (``unique_object``); frames are named
by ``Frame.index`` ("in frame 12").

"In view" (:func:`in_view_mask`, the single place that defines it) is true visibility: the
object's centroid projects inside the image and lies in front of the camera by more than
``near`` metres (so its pixel coordinates are defined), and its visibility from the visibility
engine (:mod:`geoenv.visibility`: visible fraction x (1 - truncation), ray cast or splatted at
1/4 resolution, cached per scene and frame) is at least
:data:`geoenv.visibility.MIN_VISIBLE_FRAC`.

Threshold tests treat values within a relative 1e-9 of the threshold as meeting it
(:func:`below`), so exact ties are decided the same way in a moved copy of the scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, permutations
from typing import ClassVar

import numpy as np

from geoenv.frames import Frame
from geoenv.scene import Scene
from geoenv.tasks.base import (
    Answer,
    IllPosed,
    ParamValue,
    Rendered,
    Template,
    fmt_number,
    forms,
    name_of,
    object_name,
    place_choice,
)
from geoenv.tasks.grammar import (
    SLOT_CLASSES,
    ReadContext,
    Reading,
    Unreadable,
    identity,
    other_of,
)
from geoenv.tasks.registry import register
from geoenv.tasks.scene_measure import unique_ids, unique_object
from geoenv.visibility import MIN_VISIBLE_FRAC, frame_visibility

#: Default near limit (m): a centroid must be farther than this along camera z to be in view.
NEAR_M = 0.1

IN_VIEW_RULE = (
    "An object is in view in a frame when its centroid (the mean of its points) projects inside "
    "the image (0 <= u < width and 0 <= v < height, pixels) and lies in front of the camera at "
    "a depth (camera z) greater than `near` metres, and at least "
    f"{MIN_VISIBLE_FRAC:g} of it is seen: visibility = (raster pixels where it is the nearest "
    "surface / pixels it covers when cast alone) x (1 - share of its points outside the view "
    "frustum), on a raster at 1/4 of the image resolution (occlusion counts; "
    "docs/visibility.md)."
)


# ---------------------------------------------------------------------------- visibility
def in_view_mask(
    scene: Scene,
    frame: Frame,
    object_ids: Sequence[str],
    near: float = NEAR_M,
    min_visible_frac: float = MIN_VISIBLE_FRAC,
) -> np.ndarray:
    """Vectorised :func:`in_view`: boolean (n,) mask over ``object_ids``.

    The single place that defines "in view" for this family (candidate enumeration and
    validation alike): centroid in the frustum beyond ``near`` metres, and visibility >=
    ``min_visible_frac`` (ties within a relative 1e-9 count as meeting it). The visibility of a
    scene frame comes from the engine's per-scene cache, so each frame is cast once.
    """
    if len(object_ids) == 0:
        return np.zeros(0, dtype=bool)
    c = np.array([scene[str(i)].centroid for i in object_ids])
    mask = frame.in_frustum(c, near=near)
    if mask.any():
        fv = frame_visibility(scene, frame)
        vis = fv.visibility[[fv.index(str(i)) for i in object_ids]]
        mask &= vis >= min_visible_frac - TIE_RTOL * max(1.0, min_visible_frac)
    return mask


def in_view(scene: Scene, frame: Frame, object_id: str, near: float = NEAR_M) -> bool:
    """Whether object ``object_id`` is in view in ``frame`` (see :data:`IN_VIEW_RULE`)."""
    return bool(in_view_mask(scene, frame, [object_id], near)[0])


# ---------------------------------------------------------------------------- helpers
#: Relative tolerance of threshold tests: a value within ``TIE_RTOL`` of its threshold meets it,
#: so exact ties (the demo camera turns exactly 10 degrees between some frames) do not depend
#: on floating-point noise, e.g. after moving the scene.
TIE_RTOL = 1e-9


def below(x: float, limit: float) -> bool:
    """``x < limit`` by more than the tie tolerance (ties count as meeting the limit)."""
    return x < limit - TIE_RTOL * max(1.0, abs(limit))


def get_frame(scene: Scene, index: object, role: str = "frame") -> Frame:
    """The frame whose ``index`` is ``index``; :class:`IllPosed` when there is none."""
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise IllPosed(f"{role}: frame index must be an integer, not {index!r}")
    for f in scene.frames:
        if f.index == int(index):
            return f
    raise IllPosed(f"{role}: no frame {index!r} in scene {scene.id!r}")


def _centroid_view(scene: Scene, frame: Frame, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (n, 2) and camera depths (n,) (m) of the objects' centroids in ``frame``."""
    return frame.project(np.array([scene[i].centroid for i in ids]))


def heading(frame: Frame) -> tuple[float, float]:
    """``(yaw_deg, pitch_deg)`` of the viewing direction: yaw of its projection on the floor
    plane, counter-clockwise from world +x seen from above, in (-180, 180]; pitch the absolute
    angle between the viewing direction and the horizontal plane, in [0, 90]."""
    f = frame.forward
    h = float(np.hypot(f[0], f[1]))
    return float(np.degrees(np.arctan2(f[1], f[0]))), float(np.degrees(np.arctan2(abs(f[2]), h)))


def _choice_pair(kind_words: tuple[str, str], correct: str, slot: int, rng) -> list[str]:
    """Two choices with ``correct`` at ``slot``."""
    other = kind_words[1] if correct == kind_words[0] else kind_words[0]
    return place_choice(correct, [other], slot, rng)


# ---------------------------------------------------------------------------- reading
#: Character class of a name placeholder that must not end in an article: in "is the {a} {x}
#: or {y} the {b}" a greedy ``y`` would otherwise swallow the article ("below the").
NAME_NO_ARTICLE = SLOT_CLASSES["name"] + r"(?<! the)(?<! an)(?<! a)"


def _word_pair(ctx: ReadContext, slots: dict[str, str], words: Sequence[str]) -> list[str]:
    """The two word options ``{x}`` and ``{y}`` of a text (distinct, among ``words``)."""
    x, y = ctx.choice(slots["x"], words, "x"), ctx.choice(slots["y"], words, "y")
    if x == y:
        raise Unreadable("bad_options", f"option {x!r} offered twice")
    return [x, y]


def _object_pair(ctx: ReadContext, slots: dict[str, str], keys: str = "xy") -> tuple[str, str]:
    """The two distinct objects named by the placeholders ``keys``."""
    x, y = (ctx.object(slots[k], k) for k in keys)
    if x == y:
        raise Unreadable("bad_options", f"the {object_name(ctx.scene, x)} is named twice")
    return x, y


def _frame_pair(ctx: ReadContext, slots: dict[str, str]) -> tuple[dict[str, ParamValue], bool]:
    """``{frame_i, frame_j}`` in ascending order from the ``{i}`` and ``{j}`` of a text, and
    whether the text names them the other way round (j before i)."""
    i, j = ctx.frame(slots["i"], "frame_i"), ctx.frame(slots["j"], "frame_j")
    return {"frame_i": min(i, j), "frame_j": max(i, j)}, i > j


# ---------------------------------------------------------------------------- 11
@register
@dataclass(frozen=True)
class CameraDistance(Template):
    name = "camera_distance"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("distance_cam_obj",),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_cam_obj",),
    }
    family = "camera"
    answer_type = "number"
    metric = "mra"
    unit = "m"
    inputs = ("objects", "frames")
    rule = (
        "Distance in metres, in frame t, from the camera centre to the closest point of object A "
        "(exact nearest neighbour of the camera centre among A's points, KD-tree). A must be a "
        "unique category and in view in frame t. " + IN_VIEW_RULE + " Rejected when the "
        "distance is under `min_distance_m` (camera touching or inside the object). Scored by MRA."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "frame": "frame index t",
        "a": "object id (unique category, in view in frame t)",
    }
    min_distance_m: float = 0.1
    near: float = NEAR_M
    _forms = forms(
        "In frame {t}, how far is the camera from the {a} (to its nearest point), in metres?",
        "What is the distance in metres between the camera and the closest part of the {a} "
        "in frame {t}?",
        "In frame {t}, how many metres separate the camera from the nearest surface of the {a}?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        ids = unique_ids(scene)
        out: list[dict[str, ParamValue]] = []
        for f in scene.frames:
            mask = in_view_mask(scene, f, ids, self.near)
            out.extend({"frame": f.index, "a": a} for a, m in zip(ids, mask, strict=True) if m)
        return out

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        label = unique_object(scene, params["a"], "a")
        frame = get_frame(scene, params["frame"])
        a = str(params["a"])
        if not in_view(scene, frame, a, self.near):
            raise IllPosed(f"a: the {name_of(label)} is not in view in frame {frame.index}")
        d, _ = scene[a].tree.query(frame.position)
        d = float(d)
        if below(d, self.min_distance_m):
            raise IllPosed(
                f"camera is {d:.3f} m from the object (< {self.min_distance_m} m)",
                distance_m=d,
                min_distance_m=self.min_distance_m,
            )
        cam = [float(v) for v in frame.position]
        return Answer(
            d,
            {"distance_m": d, "camera_position_m": cam},
            f"In frame {frame.index} the camera is at ({cam[0]:.2f}, {cam[1]:.2f}, "
            f"{cam[2]:.2f}); the nearest point of the {name_of(label)} is {d:.2f} m away.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        text = self._forms.pick(rng, t=str(params["frame"]), a=object_name(scene, params["a"]))
        return Rendered(text, [], fmt_number(answer.value, self.decimals))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return Reading({"frame": ctx.frame(slots["t"]), "a": ctx.object(slots["a"], "a")})


# ---------------------------------------------------------------------------- pairs in a frame
@dataclass(frozen=True)
class _PairInFrame(Template):
    """Shared shape of the A-versus-B questions about one frame (not registered)."""

    family = "camera"
    answer_type = "choice"
    metric = "exact"
    inputs = ("objects", "frames")
    slots = 2
    param_doc: ClassVar[dict[str, str]] = {
        "frame": "frame index t",
        "a": "object id (unique category, in view in frame t)",
        "b": "object id (unique category, in view in frame t)",
    }
    #: Ordered pairs (A, B) and (B, A) both candidates (directional questions), or one order.
    ordered: ClassVar[bool] = True
    near: float = NEAR_M

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        ids = unique_ids(scene)
        pairs = permutations if self.ordered else combinations
        out: list[dict[str, ParamValue]] = []
        for f in scene.frames:
            mask = in_view_mask(scene, f, ids, self.near)
            seen = [i for i, m in zip(ids, mask, strict=True) if m]
            out.extend({"frame": f.index, "a": a, "b": b} for a, b in pairs(seen, 2))
        return out

    def _pair(
        self, scene: Scene, params: dict[str, ParamValue]
    ) -> tuple[Frame, str, str, np.ndarray, np.ndarray]:
        """Validate; return (frame, label A, label B, uv (2, 2) px, depth (2,) m)."""
        la = unique_object(scene, params["a"], "a")
        lb = unique_object(scene, params["b"], "b")
        a, b = str(params["a"]), str(params["b"])
        if a == b:
            raise IllPosed("a and b are the same object")
        frame = get_frame(scene, params["frame"])
        mask = in_view_mask(scene, frame, [a, b], self.near)
        for role, lab, m in (("a", la, mask[0]), ("b", lb, mask[1])):
            if not m:
                raise IllPosed(f"{role}: the {name_of(lab)} is not in view in frame {frame.index}")
        uv, depth = _centroid_view(scene, frame, [a, b])
        return frame, la, lb, uv, depth

    @staticmethod
    def _names(scene: Scene, params: dict[str, ParamValue]) -> tuple[str, str]:
        return object_name(scene, params["a"]), object_name(scene, params["b"])


# ---------------------------------------------------------------------------- 12
@register
@dataclass(frozen=True)
class DepthOrder(_PairInFrame):
    name = "depth_order"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("depth_order_obj_obj",),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_obj_obj",),
    }
    rule = (
        "In frame t, which of objects A and B is nearer the camera. Depth = z coordinate of the "
        "object's centroid in the camera frame (distance along the viewing direction, metres). "
        "Both must be unique categories and in view in frame t. " + IN_VIEW_RULE + " Rejected "
        "when |depth A - depth B| < `min_margin_rel` x min(depth A, depth B). Asked as nearer or "
        "as farther; the choices are the two object names."
    )
    ordered = False
    min_margin_rel: float = 0.10
    _forms_near = forms(
        "In frame {t}, which is nearer to the camera: the {x} or the {y}?",
        "Looking at frame {t}, which object is closer to the camera, the {x} or the {y}?",
        "In frame {t}, which of these is at a smaller depth from the camera: the {x} or the {y}?",
    )
    _forms_far = forms(
        "In frame {t}, which is farther from the camera: the {x} or the {y}?",
        "Looking at frame {t}, which object is more distant from the camera, the {x} or the {y}?",
        "In frame {t}, which of these is deeper in the scene as seen by the camera: the {x} or "
        "the {y}?",
    )

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        frame, la, lb, _, depth = self._pair(scene, params)
        da, db = float(depth[0]), float(depth[1])
        gap, need = abs(da - db), self.min_margin_rel * min(da, db)
        if below(gap, need):
            raise IllPosed(
                f"depths too close ({gap:.3f} m < {self.min_margin_rel} x {min(da, db):.3f} m)",
                depth_a_m=da,
                depth_b_m=db,
                margin_m=gap,
                required_m=need,
            )
        near, far = (la, lb) if da < db else (lb, la)
        return Answer(
            name_of(near),
            {"depth_a_m": da, "depth_b_m": db, "margin_m": gap, "required_m": need},
            f"In frame {frame.index} the {name_of(la)} is at depth {da:.2f} m and the "
            f"{name_of(lb)} at {db:.2f} m, so the {name_of(near)} is nearer and the "
            f"{name_of(far)} farther.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        na, nb = self._names(scene, params)
        farther = bool(rng.integers(2))
        correct = (nb if answer.value == na else na) if farther else answer.value
        choices = _choice_pair((na, nb), correct, slot, rng)
        f = self._forms_far if farther else self._forms_near
        text = f.pick(rng, t=str(params["frame"]), x=choices[0], y=choices[1])
        return Rendered(text, choices, correct)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        x, y = _object_pair(ctx, slots)
        a, b = ctx.objects_in_order([x, y])
        na, nb = object_name(ctx.scene, a), object_name(ctx.scene, b)
        params: dict[str, ParamValue] = {"frame": ctx.frame(slots["t"]), "a": a, "b": b}
        choices = [object_name(ctx.scene, x), object_name(ctx.scene, y)]
        if form == "_forms_far":  # the answer value is the nearer one's name
            return Reading(params, choices, other_of(na, nb))
        return Reading(params, choices, identity)


# ---------------------------------------------------------------------------- 13
@dataclass(frozen=True)
class _ImageOrder(_PairInFrame):
    """The rule shared by egocentric_direction (u: left / right) and relative_elevation_view
    (v: above / below): compare the projected centroids' coordinate on one image axis."""

    axis: ClassVar[int]  # 0 = u (columns), 1 = v (rows)
    coord: ClassVar[str]  # "u" or "v"
    offset: ClassVar[str]  # "horizontal" or "vertical"
    extent: ClassVar[str]  # the Frame attribute of that axis: "width" or "height"
    words: ClassVar[tuple[str, str]]  # the answer when A's coordinate is smaller / larger
    which: ClassVar[tuple[str, str]]  # the "which is further ..." words for those answers
    note: ClassVar[str] = ""  # said after B's coordinate in the rationale
    slot_classes: ClassVar[dict[str, str]] = {k: NAME_NO_ARTICLE for k in ("a", "b", "x", "y")}
    min_margin_frac: float = 0.05

    def _relation(self, value: str) -> str:
        return value

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        frame, la, lb, uv, _ = self._pair(scene, params)
        xa, xb = float(uv[0, self.axis]), float(uv[1, self.axis])
        size = getattr(frame, self.extent)
        gap, need = abs(xa - xb), self.min_margin_frac * size
        ev = {f"{self.coord}_a_px": xa, f"{self.coord}_b_px": xb, "margin_px": gap,
              "required_px": need}  # fmt: skip
        if below(gap, need):
            raise IllPosed(
                f"{self.offset} offset too small ({gap:.1f} px < {self.min_margin_frac} x "
                f"{size} px)",
                **ev,
            )
        value = self.words[0] if xa < xb else self.words[1]
        c = self.coord
        return Answer(
            value,
            ev,
            f"In frame {frame.index} the {name_of(la)} projects at {c} = {xa:.0f} px and the "
            f"{name_of(lb)} at {c} = {xb:.0f} px{self.note}, so the {name_of(la)} is "
            f"{self._relation(value)} the {name_of(lb)}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        na, nb = self._names(scene, params)
        t = str(params["frame"])
        kind = int(rng.integers(3))
        if kind == 0:
            choices = _choice_pair(self.words, answer.value, slot, rng)
            text = self._forms_pair.pick(rng, t=t, a=na, b=nb, x=choices[0], y=choices[1])
            return Rendered(text, choices, answer.value)
        correct = na if answer.value == self.words[kind - 1] else nb
        choices = _choice_pair((na, nb), correct, slot, rng)
        text = self._forms_which.pick(
            rng, t=t, d=self.which[kind - 1], a=na, b=nb, x=choices[0], y=choices[1]
        )
        return Rendered(text, choices, correct)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        a, b = _object_pair(ctx, slots, "ab")
        params: dict[str, ParamValue] = {"frame": ctx.frame(slots["t"]), "a": a, "b": b}
        if form == "_forms_pair":
            return Reading(params, _word_pair(ctx, slots, self.words), identity)
        k = self.which.index(ctx.choice(slots["d"], self.which, "d"))
        x, y = _object_pair(ctx, slots)
        if {x, y} != {a, b}:
            raise Unreadable("bad_options", "the options must be the two objects compared")
        na, nb = object_name(ctx.scene, a), object_name(ctx.scene, b)
        word = self.words[k]
        return Reading(
            params,
            [object_name(ctx.scene, x), object_name(ctx.scene, y)],
            lambda v: na if v == word else nb,
        )


@register
@dataclass(frozen=True)
class EgocentricDirection(_ImageOrder):
    name = "egocentric_direction"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("single_image_relative_direction",),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_obj_obj",),
    }
    rule = (
        "In frame t, is object A to the left or to the right of object B in the image: compare "
        "the horizontal pixel coordinates u of their projected centroids (smaller u = left). "
        "Both must be unique categories and in view in frame t. " + IN_VIEW_RULE + " Rejected "
        "when |u A - u B| < `min_margin_frac` x image width. Asked as 'left or right', 'right or "
        "left', 'which is further left' and 'which is further right' (choices then the names)."
    )
    axis = 0
    coord = "u"
    offset = "horizontal"
    extent = "width"
    words = ("left", "right")
    which = ("left", "right")
    _forms_pair = forms(
        "In frame {t}, is the {a} to the {x} or to the {y} of the {b} in the image?",
        "Looking at frame {t}, does the {a} appear {x} or {y} of the {b}?",
        "In the image of frame {t}, is the {a} on the {x} side or the {y} side of the {b}?",
    )
    _forms_which = forms(
        "In frame {t}, comparing the {a} with the {b}, which appears further {d} in the image: "
        "the {x} or the {y}?",
        "Looking at the {a} and the {b} in frame {t}, which object is more to the {d}, the {x} "
        "or the {y}?",
        "In the image of frame {t}, between the {a} and the {b}, which lies further toward the "
        "{d} edge: the {x} or the {y}?",
    )

    def _relation(self, value: str) -> str:
        return f"to the {value} of"


# ---------------------------------------------------------------------------- 14
@register
@dataclass(frozen=True)
class CameraDisplacement(Template):
    name = "camera_displacement"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": (),
        "vsi_bench": (),
        "mmsi_bench": ("motion_camera",),
    }
    family = "camera"
    answer_type = "number"
    metric = "mra"
    unit = "m"
    inputs = ("objects", "frames")
    rule = (
        "Straight-line distance in metres between the camera centres of frames i and j (i < j). "
        "Rejected when it is under `min_distance_m`. Scored by MRA."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "frame_i": "frame index i",
        "frame_j": "frame index j > i",
    }
    min_distance_m: float = 0.1
    _forms = forms(
        "How far did the camera move in a straight line between frame {i} and frame {j}, "
        "in metres?",
        "What is the straight-line distance in metres between the camera positions of frame {i} "
        "and frame {j}?",
        "From frame {i} to frame {j}, how many metres apart are the two camera positions?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        return [
            {"frame_i": fi.index, "frame_j": fj.index} for fi, fj in combinations(scene.frames, 2)
        ]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        fi = get_frame(scene, params["frame_i"], "frame_i")
        fj = get_frame(scene, params["frame_j"], "frame_j")
        if not fi.index < fj.index:
            raise IllPosed(f"frame_i ({fi.index}) must come before frame_j ({fj.index})")
        d = float(np.linalg.norm(fj.position - fi.position))
        if below(d, self.min_distance_m):
            raise IllPosed(
                f"camera moved {d:.3f} m (< {self.min_distance_m} m)",
                distance_m=d,
                min_distance_m=self.min_distance_m,
            )
        pi, pj = ([float(v) for v in f.position] for f in (fi, fj))
        return Answer(
            d,
            {"distance_m": d, "position_i_m": pi, "position_j_m": pj},
            f"The camera is at ({pi[0]:.2f}, {pi[1]:.2f}, {pi[2]:.2f}) in frame {fi.index} and at "
            f"({pj[0]:.2f}, {pj[1]:.2f}, {pj[2]:.2f}) in frame {fj.index}: {d:.2f} m apart.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        text = self._forms.pick(rng, i=str(params["frame_i"]), j=str(params["frame_j"]))
        return Rendered(text, [], fmt_number(answer.value, self.decimals))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        # The distance is symmetric: frames named in either order read as (earlier, later).
        return Reading(_frame_pair(ctx, slots)[0])


# ---------------------------------------------------------------------------- 15
_TURN_RULE = (
    "The turn from frame i to frame j (i < j) is the change of yaw of the viewing direction "
    "(camera z) projected on the floor plane, wrapped to [-180, 180) degrees; positive = "
    "counter-clockwise seen from above = a LEFT turn (world z is up). Rejected when the viewing "
    "direction is more than `max_pitch_deg` degrees above or below the horizontal in either "
    "frame (yaw undefined near vertical), when |turn| < `min_turn_deg`, and when j - i > "
    "`max_gap_frames` (None: no limit)."
)


@dataclass(frozen=True)
class _Turn(Template):
    """Shared validation of the camera-rotation pair (not registered)."""

    family = "camera"
    inputs = ("objects", "frames")
    param_doc: ClassVar[dict[str, str]] = {
        "frame_i": "frame index i",
        "frame_j": "frame index j > i",
    }
    min_turn_deg: float = 10.0
    max_pitch_deg: float = 75.0
    max_gap_frames: int | None = 30

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        gap = self.max_gap_frames
        return [
            {"frame_i": fi.index, "frame_j": fj.index}
            for fi, fj in combinations(scene.frames, 2)
            if gap is None or fj.index - fi.index <= gap
        ]

    def _turn(self, scene: Scene, params: dict[str, ParamValue]) -> tuple[float, dict, str]:
        """Validate; return (signed turn in degrees, evidence, rationale prefix)."""
        fi = get_frame(scene, params["frame_i"], "frame_i")
        fj = get_frame(scene, params["frame_j"], "frame_j")
        if not fi.index < fj.index:
            raise IllPosed(f"frame_i ({fi.index}) must come before frame_j ({fj.index})")
        gap = fj.index - fi.index
        if self.max_gap_frames is not None and gap > self.max_gap_frames:
            raise IllPosed(
                f"frames {gap} apart (> {self.max_gap_frames})",
                gap_frames=gap,
                max_gap_frames=self.max_gap_frames,
            )
        (yi, pi), (yj, pj) = heading(fi), heading(fj)
        for role, f, p in (("frame_i", fi, pi), ("frame_j", fj, pj)):
            if below(self.max_pitch_deg, p):
                raise IllPosed(
                    f"{role}: camera looks {p:.1f} deg off the horizontal in frame {f.index} "
                    f"(> {self.max_pitch_deg} deg: yaw undefined)",
                    pitch_deg=p,
                    max_pitch_deg=self.max_pitch_deg,
                )
        turn = (yj - yi + 180.0) % 360.0 - 180.0
        if below(abs(turn), self.min_turn_deg):
            raise IllPosed(
                f"turn of {abs(turn):.1f} deg (< {self.min_turn_deg} deg)",
                turn_deg=turn,
                min_turn_deg=self.min_turn_deg,
            )
        ev = {"yaw_i_deg": yi, "yaw_j_deg": yj, "pitch_i_deg": pi, "pitch_j_deg": pj}
        ev["turn_deg"] = turn
        why = (
            f"The viewing direction's yaw is {yi:.1f} deg in frame {fi.index} and {yj:.1f} deg "
            f"in frame {fj.index} (counter-clockwise from +x): a change of {turn:+.1f} deg"
        )
        return turn, ev, why


@register
@dataclass(frozen=True)
class CameraRotation(_Turn):
    name = "camera_rotation"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("motion_camera",),
        "vsi_bench": (),
        "mmsi_bench": ("motion_camera",),
    }
    answer_type = "choice"
    metric = "exact"
    slots = 2
    rule = (
        "Did the camera turn left or right from frame i to frame j. "
        + _TURN_RULE
        + " Also rejected when |turn| > 180 - `min_turn_deg` (a near half-turn has no clear "
        "side). Asked as 'left or right' and 'right or left'."
    )
    _forms = forms(
        "Between frame {i} and frame {j}, did the camera turn to the {x} or to the {y}?",
        "From frame {i} to frame {j}, has the camera rotated {x} or {y} (about the vertical)?",
        "Comparing frame {i} with frame {j}, which way did the camera turn: {x} or {y}?",
    )
    slot_classes: ClassVar[dict[str, str]] = {"x": "word", "y": "word"}

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        turn, ev, why = self._turn(scene, params)
        if below(180.0 - self.min_turn_deg, abs(turn)):
            raise IllPosed(
                f"turn of {abs(turn):.1f} deg is a near half-turn (> {180 - self.min_turn_deg})",
                turn_deg=turn,
                min_turn_deg=self.min_turn_deg,
            )
        side = "left" if turn > 0 else "right"
        return Answer(side, ev, f"{why}, so the camera turned {side}.")

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        choices = _choice_pair(("left", "right"), answer.value, slot, rng)
        text = self._forms.pick(
            rng, i=str(params["frame_i"]), j=str(params["frame_j"]), x=choices[0], y=choices[1]
        )
        return Rendered(text, choices, answer.value)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        # Named later frame first: the turn back from j to i is the opposite turn.
        params, backwards = _frame_pair(ctx, slots)
        choices = _word_pair(ctx, slots, ("left", "right"))
        if backwards:
            return Reading(params, choices, other_of("left", "right"))
        return Reading(params, choices)


@register
@dataclass(frozen=True)
class CameraRotationAngle(_Turn):
    name = "camera_rotation_angle"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("motion_camera",),
        "vsi_bench": (),
        "mmsi_bench": ("motion_camera",),
    }
    answer_type = "number"
    metric = "mra"
    unit = "deg"
    decimals = 0
    rule = (
        "By how many degrees the camera turned about the world vertical from frame i to frame "
        "j: |turn| in [0, 180]. " + _TURN_RULE + " Scored by MRA."
    )
    _forms = forms(
        "By how many degrees did the camera turn (about the vertical) between frame {i} and "
        "frame {j}?",
        "From frame {i} to frame {j}, how large is the camera's change of heading, in degrees?",
        "What angle, in degrees, did the camera rotate left or right from frame {i} to frame {j}?",
    )

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        turn, ev, why = self._turn(scene, params)
        ev["angle_deg"] = abs(turn)
        return Answer(abs(turn), ev, f"{why}, a turn of {abs(turn):.0f} deg.")

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        text = self._forms.pick(rng, i=str(params["frame_i"]), j=str(params["frame_j"]))
        return Rendered(text, [], fmt_number(answer.value, self.decimals))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        # |turn| is the same either way round.
        return Reading(_frame_pair(ctx, slots)[0])


# ---------------------------------------------------------------------------- 16
@register
@dataclass(frozen=True)
class RelativeElevationView(_ImageOrder):
    name = "relative_elevation_view"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("single_image_relative_direction",),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_obj_obj",),
    }
    rule = (
        "In frame t, is object A above or below object B in the image: compare the vertical "
        "pixel coordinates v of their projected centroids (image v grows downwards, so smaller "
        "v = above). Both must be unique categories and in view in frame t. "
        + IN_VIEW_RULE
        + " Rejected when |v A - v B| < `min_margin_frac` x image height. Asked as 'above or "
        "below', 'below or above', 'which is higher' and 'which is lower' (choices then the names)."
    )
    axis = 1
    coord = "v"
    offset = "vertical"
    extent = "height"
    words = ("above", "below")
    which = ("higher", "lower")
    note = " (v grows downwards)"
    _forms_pair = forms(
        "In frame {t}, is the {a} {x} or {y} the {b} in the image?",
        "Looking at frame {t}, does the {a} appear {x} or {y} the {b}?",
        "In the image of frame {t}, is the {a} positioned {x} or {y} the {b}?",
    )
    _forms_which = forms(
        "In frame {t}, comparing the {a} with the {b}, which appears {d} in the image: the {x} "
        "or the {y}?",
        "Looking at the {a} and the {b} in frame {t}, which object is {d} in the picture, the "
        "{x} or the {y}?",
        "In the image of frame {t}, between the {a} and the {b}, which sits {d} in the frame: "
        "the {x} or the {y}?",
    )
