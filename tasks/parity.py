"""SpatialEvo / MMSI-Bench parity: visibility comparison across two frames, attribute
comparison and ratio of two objects seen in two frames, and the benchmark category lists that
``Template.aliases`` refer to.

The camera-pair templates (``camera_relative_position``, ``camera_elevation_change``,
``object_direction_from_camera``, ``region_direction``, ``camera_motion``) are in
:mod:`geoenv.tasks.camera_pairs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations, permutations
from typing import ClassVar

from geoenv.scene import Scene
from geoenv.tasks.base import (
    Answer,
    IllPosed,
    LazyCandidates,
    ParamValue,
    Rendered,
    Template,
    fmt_number,
    forms,
    memo,
    name_of,
    object_name,
    place_choice,
)
from geoenv.tasks.camera import IN_VIEW_RULE, NEAR_M, below, get_frame, in_view, in_view_mask
from geoenv.tasks.camera_pairs import frame_pair_candidates, read_frames, two_frames
from geoenv.tasks.grammar import ReadContext, Reading, Unreadable, identity, norm_name, other_of
from geoenv.tasks.registry import register
from geoenv.tasks.scene_measure import unique_ids, unique_object
from geoenv.tasks.visibility import VISIBLE_RULE
from geoenv.visibility import visibility

# ---------------------------------------------------------------------------- benchmarks
#: Category ids of the benchmarks that ``Template.aliases`` name, with their display names.
#: SpatialEvo: the 16 task ids of its Deterministic Geometric Environment (its code accepts
#: them with ``vsi_`` / ``mmsi_`` prefixes too). VSI-Bench: its ``question_type`` values (the
#: relative-direction type comes in three difficulty variants). MMSI-Bench: ids derived from
#: its published category names (10 fundamental types and multi-step reasoning); the exact
#: strings of its ``question_type`` field may differ from these ids (see docs/tasks.md).
BENCHMARKS: dict[str, dict[str, str]] = {
    "spatialevo": {
        "object_counting": "Object Counting",
        "object_size": "Object Size",
        "absolute_distance": "Absolute Distance",
        "relative_distance": "Relative Distance",
        "relative_direction_hard": "Relative Direction (Hard)",
        "room_size": "Room Size",
        "distance_cam_obj": "Distance (Cam.-Obj.)",
        "depth_order_obj_obj": "Depth Order (Obj.-Obj.)",
        "single_image_relative_direction": "Single Image Relative Direction",
        "position_cam_cam": "Position (Cam.-Cam.)",
        "elevation_cam_cam": "Elevation (Cam.-Cam.)",
        "position_cam_obj": "Position (Cam.-Obj.)",
        "position_cam_reg": "Position (Cam.-Reg.)",
        "visibility_compare": "Visibility Compare",
        "motion_camera": "Motion (Camera)",
        "attribute_measurement": "Attribute (Measurement)",
    },
    "vsi_bench": {
        "object_counting": "Object Count",
        "object_abs_distance": "Absolute Distance",
        "object_size_estimation": "Object Size",
        "room_size_estimation": "Room Size",
        "object_rel_distance": "Relative Distance",
        "object_rel_direction_easy": "Relative Direction (easy: left / right)",
        "object_rel_direction_medium": "Relative Direction (medium: left / right / back)",
        "object_rel_direction_hard": "Relative Direction (hard: four quadrants)",
        "route_planning": "Route Plan",
        "obj_appearance_order": "Appearance Order",
    },
    "mmsi_bench": {
        "positional_relationship_cam_cam": "Positional Relationship (Camera-Camera)",
        "positional_relationship_cam_obj": "Positional Relationship (Camera-Object)",
        "positional_relationship_cam_reg": "Positional Relationship (Camera-Region)",
        "positional_relationship_obj_obj": "Positional Relationship (Object-Object)",
        "positional_relationship_obj_reg": "Positional Relationship (Object-Region)",
        "positional_relationship_reg_reg": "Positional Relationship (Region-Region)",
        "attribute_measurement": "Attribute (Measurement)",
        "attribute_appearance": "Attribute (Appearance)",
        "motion_camera": "Motion (Camera)",
        "motion_object": "Motion (Object)",
        "msr": "Multi-Step Reasoning (MSR)",
    },
}
#: Display names of the benchmarks (keys of ``Template.aliases``).
BENCHMARK_NAMES = {"spatialevo": "SpatialEvo", "vsi_bench": "VSI-Bench", "mmsi_bench": "MMSI-Bench"}


# ---------------------------------------------------------------------------- visibility
@register
@dataclass(frozen=True)
class VisibilityCompare(Template):
    name = "visibility_compare"
    family = "visibility"
    answer_type = "choice"
    metric = "exact"
    inputs = ("objects", "frames")
    slots = 2
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("visibility_compare",),
        "vsi_bench": (),
        "mmsi_bench": (),
    }
    rule = (
        "In which of frames i and j (i < j) is more of object A (unique category) visible. "
        + VISIBLE_RULE
        + " The comparison uses that visibility (visible pixel fraction x (1 - truncation)) "
        "from the engine's cached per-frame statistics. Rejected when the two visibilities "
        "differ by less than `min_difference` (so the more visible frame always shows at least "
        "`min_difference` of A). Asked as 'more visible' or inverted as 'less visible'; the "
        "choices are 'frame i' and 'frame j'."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "frame_i": "frame index i",
        "frame_j": "frame index j > i",
        "a": "object id (unique category)",
    }
    min_difference: float = 0.1
    slot_classes: ClassVar[dict[str, str]] = {"x": r"frame \d{1,9}", "y": r"frame \d{1,9}"}
    _forms_more = forms(
        "In which frame is more of the {a} visible: {x} or {y}?",
        "Comparing {x} and {y}, where can a larger part of the {a} be seen?",
        "Which view shows the {a} better (less occluded and less cut off): {x} or {y}?",
    )
    _forms_less = forms(
        "In which frame is less of the {a} visible: {x} or {y}?",
        "Comparing {x} and {y}, where is a smaller part of the {a} seen?",
        "Which view shows the {a} worse (more occluded or more cut off): {x} or {y}?",
    )

    def candidates(self, scene: Scene) -> LazyCandidates:
        extras = [{"a": a} for a in unique_ids(scene)]
        return frame_pair_candidates(scene, False, lambda i: extras)

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        label = unique_object(scene, params["a"], "a")
        fi, fj = two_frames(scene, params, ordered=True)
        eng = visibility(scene)
        si, sj = (eng.frame(f.index).stats(str(params["a"])) for f in (fi, fj))
        vi, vj = si["visibility"], sj["visibility"]
        ev = {"visibility_i": vi, "visibility_j": vj, "difference": abs(vi - vj)}
        ev |= {"truncation_i": si["truncation"], "truncation_j": sj["truncation"]}
        ev |= {"visible_fraction_i": si["visible_fraction"]}
        ev |= {"visible_fraction_j": sj["visible_fraction"]}
        if below(abs(vi - vj), self.min_difference):
            raise IllPosed(
                f"visibilities {vi:.3f} (frame {fi.index}) and {vj:.3f} (frame {fj.index}) "
                f"differ by less than {self.min_difference}",
                **ev,
                min_difference=self.min_difference,
            )
        best = fi if vi > vj else fj
        return Answer(
            f"frame {best.index}",
            ev,
            f"The {name_of(label)}'s visibility is {vi:.2f} in frame {fi.index} and {vj:.2f} in "
            f"frame {fj.index}: more of it is seen in frame {best.index}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        fr = [f"frame {params['frame_i']}", f"frame {params['frame_j']}"]
        less = bool(rng.integers(2))
        correct = (fr[1] if answer.value == fr[0] else fr[0]) if less else answer.value
        choices = place_choice(correct, [x for x in fr if x != correct], slot, rng)
        f = self._forms_less if less else self._forms_more
        text = f.pick(rng, a=object_name(scene, params["a"]), x=choices[0], y=choices[1])
        return Rendered(text, choices, correct)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        x, y = (ctx.frame(slots[k].rpartition(" ")[2], f"option {k}") for k in ("x", "y"))
        if x == y:
            raise Unreadable("bad_options", f"options: frame {x} offered twice")
        choices = [f"frame {x}", f"frame {y}"]
        params = {"frame_i": min(x, y), "frame_j": max(x, y), "a": ctx.object(slots["a"], "a")}
        if form == "_forms_less":
            return Reading(params, choices, other_of(*choices))
        return Reading(params, choices, identity)


# ---------------------------------------------------------------------------- attributes
#: Attribute -> (index in the oriented box size, comparative, inverse comparative, noun, what is
#: compared for two objects, what is measured on one).
_ATTRIBUTES: dict[str, tuple[int, str, str, str, str, str]] = {
    "length": (
        0,
        "longer",
        "shorter",
        "length",
        "the longer sides of their footprints",
        "the longer side of its footprint",
    ),
    "width": (
        1,
        "wider",
        "narrower",
        "width",
        "the shorter sides of their footprints",
        "the shorter side of its footprint",
    ),
    "height": (2, "taller", "less tall", "height", "their heights", "its vertical extent"),
}


def _alternatives(items) -> str:
    """Regex alternation of literal phrases, each with an optional leading "the"."""
    return "|".join(
        (r"(?:the )?" + re.escape(t[4:])) if t.startswith("the ") else re.escape(t) for t in items
    )


def _attribute_of(slot: str, text: str, column: int) -> str:
    """The attribute whose ``_ATTRIBUTES`` entry has ``text`` (normalised, no leading article)
    in ``column``."""
    key = norm_name(text)
    for attr, entry in _ATTRIBUTES.items():
        if norm_name(entry[column]) == key:
            return attr
    raise Unreadable("bad_value", f"{slot}: {text!r} is not a dimension of the template")


ATTRIBUTE_RULE = (
    "Dimensions come from each object's gravity-aligned oriented box (min-area footprint "
    "rectangle extruded over the z range of its points): `length` = the longer side of the "
    "footprint, `width` = the shorter side, `height` = the z extent, in metres. A and B are "
    "distinct objects of unique categories, A in view in frame i and B in view in frame j "
    "(frames i and j differ). " + IN_VIEW_RULE + " Rejected when a compared dimension is under "
    "`min_dimension_m` (a flat point set). Generated parameters take frame i = the first frame "
    "in which A is in view and frame j = the first other frame in which B is in view."
)


@dataclass(frozen=True)
class _Attribute(Template):
    """Shared validation of the two-object, two-frame attribute questions (not registered)."""

    family = "scene"
    inputs = ("objects", "frames")
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("attribute_measurement",),
        "vsi_bench": (),
        "mmsi_bench": ("attribute_measurement",),
    }
    param_doc: ClassVar[dict[str, str]] = {
        "a": "object id (unique category, in view in frame i)",
        "b": "object id (unique category, in view in frame j)",
        "attribute": "length | width | height",
        "frame_i": "frame index i (A is in view there)",
        "frame_j": "frame index j (B is in view there), j != i",
    }
    #: Ordered pairs (A, B) and (B, A) both candidates, or one order.
    ordered: ClassVar[bool] = False
    min_dimension_m: float = 0.01
    near: float = NEAR_M

    def _first_views(self, scene: Scene) -> dict[str, list[int]]:
        """Unique-category id -> frame indices (ascending) where it is in view."""

        def make() -> dict[str, list[int]]:
            ids = unique_ids(scene)
            out: dict[str, list[int]] = {i: [] for i in ids}
            for f in sorted(scene.frames, key=lambda f: f.index):
                for i, m in zip(ids, in_view_mask(scene, f, ids, self.near), strict=True):
                    if m:
                        out[i].append(f.index)
            return out

        return memo(scene, ("attribute_views", float(self.near)), make)

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        views = self._first_views(scene)
        seen = [i for i in unique_ids(scene) if views[i]]
        pairs = permutations(seen, 2) if self.ordered else combinations(seen, 2)
        out: list[dict[str, ParamValue]] = []
        for a, b in pairs:
            fi = views[a][0]
            fj = next((t for t in views[b] if t != fi), None)
            if fj is None:
                continue
            out.extend(
                {"a": a, "b": b, "attribute": attr, "frame_i": fi, "frame_j": fj}
                for attr in _ATTRIBUTES
            )
        return out

    def _read_pair(self, ctx: ReadContext, slots: dict[str, str]) -> dict[str, ParamValue]:
        """Objects ``a`` (seen in frame ``i``) and ``b`` (seen in frame ``j``), without the
        attribute."""
        a, b = ctx.object(slots["a"], "a"), ctx.object(slots["b"], "b")
        return {"a": a, "b": b, **read_frames(ctx, slots)}

    def _dims(self, scene: Scene, params: dict[str, ParamValue]) -> tuple[str, str, str, dict]:
        """Validate; return (label A, label B, attribute, evidence with both dimensions)."""
        la = unique_object(scene, params["a"], "a")
        lb = unique_object(scene, params["b"], "b")
        a, b = str(params["a"]), str(params["b"])
        if a == b:
            raise IllPosed("a and b are the same object")
        attr = params.get("attribute")
        if attr not in _ATTRIBUTES:
            raise IllPosed(f"attribute must be one of {list(_ATTRIBUTES)}, not {attr!r}")
        fi = get_frame(scene, params["frame_i"], "frame_i")
        fj = get_frame(scene, params["frame_j"], "frame_j")
        if fi.index == fj.index:
            raise IllPosed(f"frame_i and frame_j are the same frame ({fi.index})")
        for role, oid, lab, f in (("a", a, la, fi), ("b", b, lb, fj)):
            if not in_view(scene, f, oid, self.near):
                raise IllPosed(f"{role}: the {name_of(lab)} is not in view in frame {f.index}")
        k = _ATTRIBUTES[str(attr)][0]
        da, db = float(scene[a].obb.size[k]), float(scene[b].obb.size[k])
        ev = {f"{attr}_a_m": da, f"{attr}_b_m": db}
        for role, d in (("a", da), ("b", db)):
            if below(d, self.min_dimension_m):
                raise IllPosed(
                    f"{role}: {attr} {d:.4f} m is under {self.min_dimension_m} m (degenerate)",
                    **ev,
                )
        return la, lb, str(attr), ev


@register
@dataclass(frozen=True)
class AttributeComparison(_Attribute):
    name = "attribute_comparison"
    answer_type = "choice"
    metric = "exact"
    slots = 2
    rule = (
        "Which of A and B is longer, wider or taller (`attribute` length, width or height). "
        + ATTRIBUTE_RULE
        + " Rejected when the larger dimension is less than (1 + `min_margin_rel`) x the "
        "smaller. Asked with the comparative (longer / wider / taller) or inverted (shorter / "
        "narrower / less tall); the choices are the two object names."
    )
    min_margin_rel: float = 0.10
    slot_classes: ClassVar[dict[str, str]] = {
        "cmp": _alternatives(e[k] for e in _ATTRIBUTES.values() for k in (1, 2)),
        "what": _alternatives(e[4] for e in _ATTRIBUTES.values()),
    }
    _forms = forms(
        "The {a} is seen in frame {i} and the {b} in frame {j}. Which of the two is {cmp} "
        "(comparing {what}): the {x} or the {y}?",
        "Frame {i} shows the {a} and frame {j} shows the {b}. Comparing {what}, which is {cmp}, "
        "the {x} or the {y}?",
        "Look at the {a} in frame {i} and the {b} in frame {j}. Measured by {what}, is the {x} "
        "or the {y} {cmp}?",
    )

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        la, lb, attr, ev = self._dims(scene, params)
        da, db = ev[f"{attr}_a_m"], ev[f"{attr}_b_m"]
        ratio = max(da, db) / min(da, db)
        ev["ratio"] = ratio
        if below(ratio, 1.0 + self.min_margin_rel):
            raise IllPosed(
                f"{attr}s {da:.3f} m and {db:.3f} m differ by a factor {ratio:.3f} "
                f"(< 1 + {self.min_margin_rel})",
                **ev,
            )
        big = la if da > db else lb
        word = _ATTRIBUTES[attr][1]
        return Answer(
            name_of(big),
            ev,
            f"The {name_of(la)}'s {attr} is {da:.2f} m and the {name_of(lb)}'s {db:.2f} m: the "
            f"{name_of(big)} is {word}, by a factor {ratio:.2f}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        na, nb = (object_name(scene, params[k]) for k in ("a", "b"))
        _, more, less, _, what, _ = _ATTRIBUTES[str(params["attribute"])]
        inverted = bool(rng.integers(2))
        correct = (nb if answer.value == na else na) if inverted else answer.value
        choices = place_choice(correct, [n for n in (na, nb) if n != correct], slot, rng)
        text = self._forms.pick(
            rng,
            a=na,
            b=nb,
            i=str(params["frame_i"]),
            j=str(params["frame_j"]),
            cmp=less if inverted else more,
            what=what,
            x=choices[0],
            y=choices[1],
        )
        return Rendered(text, choices, correct)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        p = self._read_pair(ctx, slots)
        attr = _attribute_of("what", slots["what"], 4)
        _, more, less, *_ = _ATTRIBUTES[attr]
        if slots["cmp"] not in (more, less):
            raise Unreadable("bad_value", f"cmp: {slots['cmp']!r} does not compare the {attr}")
        names = {k: object_name(ctx.scene, p[k]) for k in ("a", "b")}
        x, y = (object_name(ctx.scene, ctx.object(slots[k], f"option {k}")) for k in "xy")
        if sorted((x, y)) != sorted(names.values()):
            raise Unreadable(
                "bad_options",
                f"options: {x!r} and {y!r} are not the {names['a']} and the {names['b']}",
            )
        # The canonical pair order is the label order (``unique_ids``), frames following.
        if ctx.objects_in_order([p["a"], p["b"]])[0] != p["a"]:
            p = {"a": p["b"], "b": p["a"], "frame_i": p["frame_j"], "frame_j": p["frame_i"]}
        params = {"a": p["a"], "b": p["b"], "attribute": attr}
        params |= {"frame_i": p["frame_i"], "frame_j": p["frame_j"]}
        if slots["cmp"] == less:
            return Reading(params, [x, y], other_of(x, y))
        return Reading(params, [x, y], identity)


@register
@dataclass(frozen=True)
class AttributeRatio(_Attribute):
    name = "attribute_ratio"
    answer_type = "number"
    metric = "mra"
    unit = ""
    decimals = 2
    ordered = True
    rule = (
        "By how much is A longer, wider or taller than B: the ratio of A's dimension to B's "
        "(`attribute` length, width or height), a plain number scored by MRA. "
        + ATTRIBUTE_RULE
        + " Rejected when the ratio is under `min_ratio` (the question presumes A is clearly "
        "the larger; the reverse order is its own candidate)."
    )
    min_ratio: float = 1.1
    slot_classes: ClassVar[dict[str, str]] = {
        "cmp": _alternatives(e[k] for e in _ATTRIBUTES.values() for k in (1, 2)),
        "noun": _alternatives(e[3] for e in _ATTRIBUTES.values()),
        "what": _alternatives(e[5] for e in _ATTRIBUTES.values()),
    }
    _forms = forms(
        "The {a} is seen in frame {i} and the {b} in frame {j}. How many times {cmp} is the "
        "{a} than the {b}? Compare each object's {noun} ({what}).",
        "Frame {j} shows the {b} and frame {i} shows the {a}. The {a}'s {noun} ({what}) is how "
        "many times the {b}'s?",
        "Looking at the {a} in frame {i} and the {b} in frame {j}, what is the ratio of the "
        "{a}'s {noun} to the {b}'s {noun} ({what})?",
    )

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        la, lb, attr, ev = self._dims(scene, params)
        da, db = ev[f"{attr}_a_m"], ev[f"{attr}_b_m"]
        ratio = da / db
        ev["ratio"] = ratio
        if below(ratio, self.min_ratio):
            raise IllPosed(f"ratio {ratio:.3f} is under min_ratio = {self.min_ratio}", **ev)
        return Answer(
            ratio,
            ev,
            f"The {name_of(la)}'s {attr} is {da:.2f} m and the {name_of(lb)}'s {db:.2f} m: a "
            f"ratio of {ratio:.2f}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        _, more, _, noun, _, what = _ATTRIBUTES[str(params["attribute"])]
        text = self._forms.pick(
            rng,
            a=object_name(scene, params["a"]),
            b=object_name(scene, params["b"]),
            i=str(params["frame_i"]),
            j=str(params["frame_j"]),
            cmp=more,
            noun=noun,
            what=what,
        )
        return Rendered(text, [], fmt_number(answer.value, self.decimals))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        p = self._read_pair(ctx, slots)
        attrs = {_attribute_of("what", slots["what"], 5)}
        if "noun" in slots:
            attrs.add(_attribute_of("noun", slots["noun"], 3))
        if "cmp" in slots:
            attrs.add(_attribute_of("cmp", slots["cmp"], 1))
        if len(attrs) != 1:
            raise Unreadable("bad_value", f"the text names several dimensions {sorted(attrs)}")
        params = {"a": p["a"], "b": p["b"], "attribute": attrs.pop()}
        return Reading(params | {"frame_i": p["frame_i"], "frame_j": p["frame_j"]})
