"""Scene family, relations: relative distance, relative direction, height and size comparison,
support, elevation.

Referents are named by category and must be unique in the scene (``Scene.unique_labels``).
World frame: right-handed, z up, metres; "left" is counter-clockwise seen from above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import ClassVar

import numpy as np
import shapely

from geoenv.scene import STRUCTURAL_LABELS, Scene
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
    n_ordered_tuples,
    name_of,
    object_name,
    or_list,
    ordered_tuple_at,
    place_choice,
    stable_seed,
)
from geoenv.tasks.grammar import ReadContext, Reading, Unreadable, split_options, yes_no
from geoenv.tasks.registry import register
from geoenv.tasks.scene_measure import unique_ids, unique_object

#: Choice text of the floor as a supporter (``support``).
FLOOR = "floor"
#: Boxes with a volume under this (m^3) are degenerate (flat point sets) in ``size_comparison``.
MIN_BOX_VOLUME = 1e-9


def _fit_slot(slot: int, k: int, rng: np.random.Generator) -> int:
    """Map a slot balanced over ``range(4)`` onto ``range(k)`` (k <= 4) keeping it uniform:
    ``slot % k`` when k divides 4, else ``slot`` when below k and a uniform draw otherwise."""
    if 4 % k == 0:
        return slot % k
    return slot if slot < k else int(rng.integers(k))


def _distinct(ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise IllPosed(f"referents must be distinct objects, got {ids}")


# ---------------------------------------------------------------------- relative distance
@register
@dataclass(frozen=True)
class RelativeDistance(Template):
    name = "relative_distance"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("relative_distance",),
        "vsi_bench": ("object_rel_distance",),
        "mmsi_bench": ("positional_relationship_obj_obj",),
    }
    family = "scene"
    answer_type = "choice"
    metric = "exact"
    rule = (
        "Which of the candidate objects is closest to (mode `closest`) or farthest from (mode "
        "`farthest`) object A, by closest-point distance between point sets (exact, KD-tree). "
        "Generated questions always offer exactly 4 candidates (one per answer slot), so scenes "
        "with fewer than 5 unique-category objects give none; the candidate sets of an anchor "
        "are all 4-subsets of the other unique objects, or at most `max_sets` of them drawn with "
        "a generator seeded by (scene id, A). Given parameters may name 3 or 4 candidates. "
        "Rejected when the best and the second-best distance differ by less than "
        "max(`min_margin_m`, `min_margin_rel` x the best distance). A and the candidates are "
        "distinct objects of unique categories; the choices are the candidates' category names."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "object id (unique category), the anchor",
        "candidates": "3 or 4 object ids (unique categories, distinct from a and each other)",
        "mode": "closest | farthest",
    }
    slots = 4
    min_margin_m: float = 0.15
    min_margin_rel: float = 0.10
    max_sets: int = 64
    _forms_closest = forms(
        "Measuring from the closest point of each object, which of these is closest to the "
        "{a}: the {opts}?",
        "Which object is nearest to the {a}, measured between closest points: the {opts}?",
        "Of the {opts}, which one is the shortest distance from the {a} (closest points)?",
    )
    _forms_farthest = forms(
        "Measuring from the closest point of each object, which of these is farthest from the "
        "{a}: the {opts}?",
        "Which object is farthest from the {a}, measured between closest points: the {opts}?",
        "Of the {opts}, which one is the greatest distance from the {a} (closest points)?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        ids = unique_ids(scene)
        out: list[dict[str, ParamValue]] = []
        for a in ids:
            others = [i for i in ids if i != a]
            if len(others) < self.slots:
                continue
            if math.comb(len(others), self.slots) <= self.max_sets:
                sets = [list(c) for c in combinations(others, self.slots)]
            else:
                rng = np.random.default_rng(stable_seed(scene.id, self.name, a))
                picked: set[tuple[int, ...]] = set()
                while len(picked) < self.max_sets:
                    picked.add(tuple(sorted(rng.choice(len(others), self.slots, replace=False))))
                sets = [[others[i] for i in c] for c in sorted(picked)]
            out.extend(
                {"a": a, "candidates": s, "mode": m} for s in sets for m in ("closest", "farthest")
            )
        return out

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        la = unique_object(scene, params["a"], "a")
        a = str(params["a"])
        cands = params.get("candidates")
        if not isinstance(cands, list) or not 3 <= len(cands) <= self.slots:
            raise IllPosed(f"candidates must be a list of 3 to {self.slots} object ids")
        cands = [str(c) for c in cands]
        labels = [unique_object(scene, c, f"candidates[{i}]") for i, c in enumerate(cands)]
        _distinct([a, *cands])
        mode = params.get("mode", "closest")
        if mode not in ("closest", "farthest"):
            raise IllPosed(f"mode must be 'closest' or 'farthest', not {mode!r}")
        d = np.array([scene.closest_distance(a, c) for c in cands])
        order = np.argsort(d if mode == "closest" else -d, kind="stable")
        best, second = float(d[order[0]]), float(d[order[1]])
        margin = abs(second - best)
        need = max(self.min_margin_m, self.min_margin_rel * best)
        evidence = {
            "distances_m": {c: float(x) for c, x in zip(cands, d, strict=True)},
            "best_m": best,
            "second_m": second,
            "margin_m": margin,
            "required_margin_m": need,
        }
        if margin < need:
            raise IllPosed(
                f"best and second-best distances differ by {margin:.3f} m < "
                f"max(min_margin_m, min_margin_rel x best) = {need:.3f} m",
                **evidence,
            )
        win = labels[int(order[0])]
        listing = ", ".join(f"{name_of(lab)} {x:.2f} m" for lab, x in zip(labels, d, strict=True))
        word = "closest" if mode == "closest" else "farthest"
        return Answer(
            name_of(win),
            {**evidence, "winner": cands[int(order[0])]},
            f"Closest-point distances from the {name_of(la)}: {listing}. The {word} is the "
            f"{name_of(win)} ({best:.2f} m; runner-up {second:.2f} m).",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        names = [object_name(scene, c) for c in params["candidates"]]
        others = [n for n in names if n != answer.value]
        choices = place_choice(answer.value, others, slot, rng)
        f = (
            self._forms_closest
            if params.get("mode", "closest") == "closest"
            else self._forms_farthest
        )
        text = f.pick(rng, a=object_name(scene, params["a"]), opts=or_list(choices))
        return Rendered(text, choices, answer.value)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        a = ctx.object(slots["a"], "a")
        names = split_options(slots["opts"])
        ids = [ctx.object(n, f"option {k}") for k, n in enumerate(names)]
        choices = [object_name(ctx.scene, i) for i in ids]
        mode = form.removeprefix("_forms_")
        return Reading({"a": a, "candidates": ctx.objects_in_order(ids), "mode": mode}, choices)


# ---------------------------------------------------------------------- relative direction
_VARIANT_CHOICES: dict[str, tuple[str, ...]] = {
    "lr": ("left", "right"),
    "lrb": ("left", "right", "back"),
    "quadrant": ("front-left", "front-right", "back-left", "back-right"),
}


def direction_angle(scene: Scene, a: str, b: str, c: str) -> tuple[float, float, float]:
    """Signed angle (degrees, (-180, 180]) of C seen from A with B straight ahead, measured in
    the floor plane between centroids; counter-clockwise (left) positive. Also returns the
    A-B and A-C centroid distances in the plane (m)."""
    pa, pb, pc = (scene[i].centroid[:2] for i in (a, b, c))
    f, v = pb - pa, pc - pa
    ang = math.degrees(math.atan2(f[0] * v[1] - f[1] * v[0], f[0] * v[0] + f[1] * v[1]))
    return ang, float(np.hypot(*f)), float(np.hypot(*v))


@register
@dataclass(frozen=True)
class RelativeDirection(Template):
    name = "relative_direction"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("relative_direction_hard",),
        "vsi_bench": (
            "object_rel_direction_easy",
            "object_rel_direction_medium",
            "object_rel_direction_hard",
        ),
        "mmsi_bench": ("positional_relationship_obj_obj",),
    }
    family = "scene"
    answer_type = "choice"
    metric = "exact"
    rule = (
        "Standing at A's centroid and facing B's centroid, where is C's centroid? Everything is "
        "projected on the floor plane (xy); the angle of C is measured from the facing "
        "direction, counter-clockwise (to the left) positive, in (-180, 180] degrees. Variant "
        "`lr`: left (0, 180), right (-180, 0); boundaries 0 and 180. Variant `lrb` (3-way): "
        "left (45, 135], right [-135, -45), back |angle| > 135; boundaries +-45 and +-135; C "
        "in front (|angle| < 45) is rejected (not an option). Variant `quadrant`: front-left "
        "(0, 90), back-left (90, 180), front-right (-90, 0), back-right (-180, -90); boundaries "
        "0, +-90, 180. Rejected when the angle is within `min_boundary_deg` of a boundary of "
        "its variant, when A and B are closer than `min_ab_m` in the plane, or when C is "
        "within `min_ac_m` of A in the plane (direction undefined). A, B, C are distinct "
        "objects of unique categories. Answer positions: the 4 balanced slots are used as they "
        "are by `quadrant`, modulo 2 by `lr`, and by `lrb` as slots 0-2 with slot 3 drawn "
        "uniformly (uniform in expectation per variant)."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "object id (unique category), where the observer stands",
        "b": "object id (unique category), what the observer faces",
        "c": "object id (unique category), the object to locate",
        "variant": "lr | lrb | quadrant",
    }
    slots = 4
    min_boundary_deg: float = 15.0
    min_ab_m: float = 0.5
    min_ac_m: float = 0.5
    _forms_lr = forms(
        "If I am standing by the {a} and facing the {b}, is the {c} to my {o0} or to my {o1}?",
        "Imagine standing at the {a}, looking towards the {b}. Is the {c} on your {o0} or on "
        "your {o1}?",
        "Standing at the {a} and facing the {b}, would the {c} be to the {o0} or to the {o1}?",
    )
    _forms_lrb = forms(
        "If I am standing by the {a} and facing the {b}, is the {c} to my {opts}? An object is "
        "to my back if I would have to turn more than 135 degrees to face it.",
        "Imagine standing at the {a}, looking towards the {b}. Is the {c} to your {opts}? "
        "(Back means turning more than 135 degrees to face it.)",
        "Standing at the {a} and facing the {b}, where is the {c}: {opts}? Count it as back "
        "if you would have to turn by more than 135 degrees to face it.",
    )
    _forms_quadrant = forms(
        "If I am standing by the {a} and facing the {b}, is the {c} to my {opts}?",
        "Imagine standing at the {a}, looking towards the {b}. In which quadrant is the {c}: "
        "{opts}?",
        "Standing at the {a} and facing the {b}, is the {c} {opts} of you?",
    )

    def candidates(self, scene: Scene) -> LazyCandidates:
        """Ordered (A, B, C) triples of unique objects x variants, built on demand (the order
        of ``itertools.permutations`` with the variant varying fastest)."""
        ids = unique_ids(scene)
        variants = list(_VARIANT_CHOICES)

        def make(i: int) -> dict[str, ParamValue]:
            t, v = divmod(i, len(variants))
            a, b, c = ordered_tuple_at(ids, 3, t)
            return {"a": a, "b": b, "c": c, "variant": variants[v]}

        return LazyCandidates(n_ordered_tuples(len(ids), 3) * len(variants), make)

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        la = unique_object(scene, params["a"], "a")
        lb = unique_object(scene, params["b"], "b")
        lc = unique_object(scene, params["c"], "c")
        a, b, c = (str(params[k]) for k in "abc")
        _distinct([a, b, c])
        variant = params.get("variant", "lr")
        if variant not in _VARIANT_CHOICES:
            raise IllPosed(f"variant must be one of {list(_VARIANT_CHOICES)}, not {variant!r}")
        ang, ab, ac = direction_angle(scene, a, b, c)
        ev = {"angle_deg": ang, "ab_m": ab, "ac_m": ac}
        if ab < self.min_ab_m:
            raise IllPosed(f"A and B are {ab:.3f} m apart in the plane < min_ab_m", **ev)
        if ac < self.min_ac_m:
            raise IllPosed(f"C is {ac:.3f} m from A in the plane < min_ac_m", **ev)
        m = abs(ang)
        if variant == "lr":
            to_edge = min(m, 180.0 - m)
            value = "left" if ang > 0 else "right"
        elif variant == "lrb":
            to_edge = min(abs(m - 45.0), abs(m - 135.0))
            value = "back" if m > 135.0 else ("left" if ang > 0 else "right")
        else:
            to_edge = min(m % 90.0, 90.0 - m % 90.0)
            value = ("front-" if m < 90.0 else "back-") + ("left" if ang > 0 else "right")
        ev["boundary_distance_deg"] = to_edge
        if to_edge < self.min_boundary_deg:
            raise IllPosed(
                f"angle {ang:.1f} deg is {to_edge:.1f} deg from a {variant} boundary "
                f"< min_boundary_deg",
                **ev,
            )
        if variant == "lrb" and m < 45.0:
            raise IllPosed(f"C is in front (angle {ang:.1f} deg), not one of the options", **ev)
        return Answer(
            value,
            ev,
            f"From the {name_of(la)} facing the {name_of(lb)} ({ab:.2f} m ahead), the "
            f"{name_of(lc)} is at {ang:.1f} deg (counter-clockwise = left), {ac:.2f} m away: "
            f"{value}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        variant = params.get("variant", "lr")
        opts = _VARIANT_CHOICES[variant]
        others = [o for o in opts if o != answer.value]
        choices = place_choice(answer.value, others, _fit_slot(slot, len(opts), rng), rng)
        names = {"a": object_name(scene, params["a"]), "b": object_name(scene, params["b"])}
        names["c"] = object_name(scene, params["c"])
        if variant == "lr":
            text = self._forms_lr.pick(rng, o0=choices[0], o1=choices[1], **names)
        elif variant == "lrb":
            text = self._forms_lrb.pick(rng, opts=or_list(choices), **names)
        else:
            text = self._forms_quadrant.pick(rng, opts=or_list(choices), **names)
        return Rendered(text, choices, answer.value)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        variant = form.removeprefix("_forms_")
        opts = _VARIANT_CHOICES[variant]
        if variant == "lr":
            choices = [ctx.choice(slots["o0"], opts), ctx.choice(slots["o1"], opts)]
            if choices[0] == choices[1]:
                raise Unreadable("bad_options", f"repeated option {choices[0]!r}")
        else:
            choices = ctx.options(slots["opts"], opts)
        params = {k: ctx.object(slots[k], k) for k in "abc"}
        return Reading({**params, "variant": variant}, choices)


# ---------------------------------------------------------------------- comparisons (bool)
def _yes_no(truth: bool) -> str:
    return "yes" if truth else "no"


def _bool_phrasing(value: bool, slot: int, rng: np.random.Generator) -> tuple[bool, bool]:
    """For a comparison whose answer with A first and the direct comparator is ``value``, pick
    (swap A/B in the text, use the inverted comparator) so the answer is yes iff slot == 0.
    The A/B order is drawn with ``rng``; the comparator then follows."""
    swap = bool(rng.integers(2))
    truth = value != swap  # the direct comparator's answer with the text's order
    inverted = truth != (slot == 0)
    return swap, inverted


def _read_comparison(ctx: ReadContext, slots: dict[str, str], inverted: bool) -> Reading:
    """Reading of "is X <comparator> than Y?": A and B in canonical order, the answer flipped
    when the text names B first or uses the inverted comparator."""
    x, y = ctx.object(slots["x"], "x"), ctx.object(slots["y"], "y")
    a, b = ctx.objects_in_order([x, y])
    return yes_no({"a": a, "b": b}, flip=(x != a) != inverted)


@dataclass(frozen=True)
class _PairComparison(Template):
    """A yes/no comparison of two unique objects A and B (unordered pairs), asked with the
    direct comparator or the inverted one (``inverted_form``: the attribute name of its
    paraphrases) and with A and B in either order, balanced so the answer is yes iff slot 0."""

    answer_type = "bool"
    metric = "exact"
    slots = 2
    param_doc: ClassVar[dict[str, str]] = {
        "a": "object id (unique category)",
        "b": "object id (unique category)",
    }
    direct_form: ClassVar[str]
    inverted_form: ClassVar[str]

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        return [{"a": a, "b": b} for a, b in combinations(unique_ids(scene), 2)]

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        swap, inverted = _bool_phrasing(bool(answer.value), slot, rng)
        x, y = object_name(scene, params["a"]), object_name(scene, params["b"])
        if swap:
            x, y = y, x
        f = getattr(self, self.inverted_form if inverted else self.direct_form)
        return Rendered(f.pick(rng, x=x, y=y), [], _yes_no(slot == 0))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return _read_comparison(ctx, slots, inverted=form == self.inverted_form)


@register
@dataclass(frozen=True)
class HeightComparison(_PairComparison):
    name = "height_comparison"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": (),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_obj_obj",),
    }
    family = "scene"
    rule = (
        "Is the top of A higher than the top of B (also asked inverted: lower, and with A and "
        "B in either order)? The top of an object is the maximum z of its points. Rejected "
        "when the tops differ by less than `min_margin_m`. A and B are distinct objects of "
        "unique categories. The answer value is whether A's top is higher."
    )
    direct_form = "_forms_higher"
    inverted_form = "_forms_lower"
    min_margin_m: float = 0.10
    _forms_higher = forms(
        "Is the top of the {x} higher than the top of the {y}?",
        "Comparing their highest points, does the {x} reach higher than the {y}?",
        "Is the highest point of the {x} above the highest point of the {y}?",
    )
    _forms_lower = forms(
        "Is the top of the {x} lower than the top of the {y}?",
        "Comparing their highest points, does the {x} reach less high than the {y}?",
        "Is the highest point of the {x} below the highest point of the {y}?",
    )

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        la = unique_object(scene, params["a"], "a")
        lb = unique_object(scene, params["b"], "b")
        a, b = str(params["a"]), str(params["b"])
        _distinct([a, b])
        ta, tb = float(scene[a].aabb.max[2]), float(scene[b].aabb.max[2])  # max z of the points
        ev = {"top_a_m": ta, "top_b_m": tb, "difference_m": ta - tb}
        if abs(ta - tb) < self.min_margin_m:
            raise IllPosed(
                f"tops differ by {abs(ta - tb):.3f} m < min_margin_m = {self.min_margin_m} m", **ev
            )
        hi = ta > tb
        return Answer(
            hi,
            ev,
            f"The top of the {name_of(la)} is at z = {ta:.2f} m and the top of the "
            f"{name_of(lb)} at z = {tb:.2f} m: the {name_of(la if hi else lb)} reaches "
            f"{abs(ta - tb):.2f} m higher.",
        )


@register
@dataclass(frozen=True)
class SizeComparison(_PairComparison):
    name = "size_comparison"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("attribute_measurement",),
        "vsi_bench": (),
        "mmsi_bench": ("attribute_measurement",),
    }
    family = "scene"
    rule = (
        "Is A bigger than B (also asked inverted: smaller, and with A and B in either order)? "
        "Size is the volume of the gravity-aligned oriented box (min-area footprint rectangle "
        "extruded over the z range). Rejected when either box is degenerate (volume under "
        "1e-9 m3: a flat point set) or when the larger volume is less than `min_ratio` times "
        "the smaller. A and B are distinct objects of unique categories. The answer value is "
        "whether A's box is the larger."
    )
    direct_form = "_forms_bigger"
    inverted_form = "_forms_smaller"
    min_ratio: float = 1.2
    _forms_bigger = forms(
        "Is the {x} bigger than the {y}, comparing the volumes of their bounding boxes?",
        "Does the {x} take up more space than the {y} (volume of its bounding box)?",
        "Comparing bounding-box volumes, is the {x} larger than the {y}?",
    )
    _forms_smaller = forms(
        "Is the {x} smaller than the {y}, comparing the volumes of their bounding boxes?",
        "Does the {x} take up less space than the {y} (volume of its bounding box)?",
        "Comparing bounding-box volumes, is the {x} less voluminous than the {y}?",
    )

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        la = unique_object(scene, params["a"], "a")
        lb = unique_object(scene, params["b"], "b")
        a, b = str(params["a"]), str(params["b"])
        _distinct([a, b])
        va, vb = scene[a].obb.volume, scene[b].obb.volume
        ev = {"volume_a_m3": va, "volume_b_m3": vb}
        for role, v in (("a", va), ("b", vb)):
            if v < MIN_BOX_VOLUME:
                raise IllPosed(f"{role}: degenerate box (volume {v:.3g} m3)", **ev)
        ratio = max(va, vb) / min(va, vb)
        ev["ratio"] = ratio
        if ratio < self.min_ratio:
            raise IllPosed(f"volume ratio {ratio:.3f} < min_ratio = {self.min_ratio}", **ev)
        big = va > vb
        return Answer(
            big,
            ev,
            f"The {name_of(la)}'s box holds {va:.3f} m³ and the {name_of(lb)}'s {vb:.3f} m³: the "
            f"{name_of(la if big else lb)} is {ratio:.2f} times larger.",
        )


# ---------------------------------------------------------------------- support
def _in_footprint(points: np.ndarray, box) -> np.ndarray:
    """Mask of points whose xy lie inside the footprint rectangle of an oriented box."""
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    d = points[:, :2] - box.center[:2]
    u = d[:, 0] * c + d[:, 1] * s
    v = -d[:, 0] * s + d[:, 1] * c
    tol = 1e-9
    return (np.abs(u) <= box.size[0] / 2 + tol) & (np.abs(v) <= box.size[1] / 2 + tol)


@register
@dataclass(frozen=True)
class Support(Template):
    name = "support"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": (),
        "vsi_bench": (),
        "mmsi_bench": ("positional_relationship_obj_obj",),
    }
    family = "scene"
    answer_type = "choice"
    metric = "exact"
    rule = (
        "What does A rest on: the floor or another object? Let A's bottom be the minimum z of "
        "its points and A's footprint the footprint rectangle of its gravity-aligned oriented "
        "box. Another (non-structural) object S supports A when (1) the intersection of the two "
        "footprint rectangles covers at least `min_overlap` of A's footprint area and (2) the "
        "top of S under A, the maximum z of S's points whose xy lie inside A's footprint, is "
        "within `max_gap_m` of A's bottom (above or below). The floor supports A when A's "
        "bottom is within `max_gap_m` of the scene's floor height (overlap 100%). Rejected when "
        "no supporter or two or more qualify, when the supporter's category is not unique, when "
        "A's footprint is degenerate, or when fewer than 3 distractors exist. Objects held "
        "inside a taller object (a shelf of a bookshelf) are rejected, since the top of S under "
        "A is then S's top. Choices: the supporter (`floor` or its category name) and 3 "
        "distractors drawn from the other unique categories and `floor`."
    )
    param_doc: ClassVar[dict[str, str]] = {"a": "object id (unique category), the supported one"}
    slots = 4
    max_gap_m: float = 0.05
    min_overlap: float = 0.5
    _forms = forms(
        "What is the {a} resting on: the {opts}?",
        "Which of these is the {a} standing on: the {opts}?",
        "What supports the {a} from below: the {opts}?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        return [{"a": a} for a in unique_ids(scene)]

    def _distractor_pool(self, scene: Scene, a: str, supporter: str) -> list[str]:
        names = memo(
            scene,
            "support_names",
            lambda: sorted({FLOOR, *(name_of(lab) for lab in scene.unique_labels)}),
        )
        skip = (supporter, object_name(scene, a))
        return [n for n in names if n not in skip]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        la = unique_object(scene, params["a"], "a")
        a = str(params["a"])
        obj = scene[a]
        box = obj.obb
        fp_a = box.footprint()
        area_a = float(fp_a.area)
        if area_a <= 0.0:
            raise IllPosed("a: degenerate footprint (zero area)")
        bottom = float(obj.aabb.min[2])  # min z of the points
        qualified: list[dict] = []
        floor_gap = bottom - scene.floor_height
        if abs(floor_gap) <= self.max_gap_m:
            qualified.append({"id": FLOOR, "gap_m": floor_gap, "overlap": 1.0})
        # Vectorised prefilter over every object's box: the footprints' boxes must overlap,
        # and the supporter's z range must reach within max_gap of A's bottom.
        lo, hi = scene.aabb_array[:, 0], scene.aabb_array[:, 1]
        amin, amax = obj.aabb.min, obj.aabb.max
        near = (
            np.all(lo[:, :2] <= amax[:2], axis=1)
            & np.all(hi[:, :2] >= amin[:2], axis=1)
            & (hi[:, 2] >= bottom - self.max_gap_m)
            & (lo[:, 2] <= bottom + self.max_gap_m)
        )
        ids = scene.object_ids
        for k in np.flatnonzero(near):
            s = scene.objects[ids[k]]
            if s.id == a or s.label in STRUCTURAL_LABELS:
                continue
            overlap = float(shapely.intersection(fp_a, s.obb.footprint()).area) / area_a
            if overlap < self.min_overlap:
                continue
            under = s.points[_in_footprint(s.points, box), 2]
            if len(under) == 0:
                continue
            gap = bottom - float(under.max())
            if abs(gap) <= self.max_gap_m:
                qualified.append({"id": s.id, "gap_m": gap, "overlap": overlap})
        ev = {"bottom_m": bottom, "floor_height_m": scene.floor_height, "supporters": qualified}
        if len(qualified) != 1:
            which = ", ".join(q["id"] for q in qualified) or "none"
            raise IllPosed(f"{len(qualified)} supporters qualify ({which}); need exactly 1", **ev)
        sup = qualified[0]["id"]
        if sup == FLOOR:
            value = FLOOR
        else:
            unique_object(scene, sup, "supporter")
            value = object_name(scene, sup)
        pool = self._distractor_pool(scene, a, value)
        if len(pool) < self.slots - 1:
            raise IllPosed(f"only {len(pool)} distractors (need {self.slots - 1})", **ev)
        q = qualified[0]
        return Answer(
            value,
            {**ev, "supporter": sup},
            f"The {name_of(la)}'s bottom is at z = {bottom:.2f} m; the {value} "
            f"{'is at' if sup == FLOOR else 'reaches under it to'} z = {bottom - q['gap_m']:.2f} m "
            f"(gap {q['gap_m']:.3f} m, footprint overlap {q['overlap']:.0%}); nothing else "
            "qualifies.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        pool = self._distractor_pool(scene, str(params["a"]), answer.value)
        picked = [pool[i] for i in sorted(rng.choice(len(pool), self.slots - 1, replace=False))]
        choices = place_choice(answer.value, picked, slot, rng)
        text = self._forms.pick(rng, a=object_name(scene, params["a"]), opts=or_list(choices))
        return Rendered(text, choices, answer.value)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        a = ctx.object(slots["a"], "a")
        names = sorted({FLOOR, *(name_of(lab) for lab in ctx.scene.unique_labels)})
        return Reading({"a": a}, ctx.options(slots["opts"], names))


# ---------------------------------------------------------------------- elevation
@register
@dataclass(frozen=True)
class ObjectElevation(Template):
    name = "object_elevation"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": (),
        "vsi_bench": (),
        "mmsi_bench": ("attribute_measurement",),
    }
    family = "scene"
    answer_type = "number"
    metric = "mra"
    unit = "m"
    rule = (
        "Height in metres of A's bottom above the floor: the minimum z of A's points minus the "
        "scene's floor height. Rejected when under `min_elevation_m` (objects standing on the "
        "floor would give about 0, which MRA cannot score), so scenes where everything stands "
        "on the floor (the demo room) give no questions."
    )
    param_doc: ClassVar[dict[str, str]] = {"a": "object id (unique category)"}
    min_elevation_m: float = 0.05
    _forms = forms(
        "How high above the floor is the bottom of the {a}, in metres?",
        "At what height above the floor is the lowest point of the {a}? Answer in metres.",
        "How many metres is the {a} raised above the floor, measured to its lowest point?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        return [{"a": a} for a in unique_ids(scene)]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        label = unique_object(scene, params["a"], "a")
        bottom = float(scene[str(params["a"])].aabb.min[2])  # min z of the points
        floor = scene.floor_height
        h = bottom - floor
        ev = {"elevation_m": h, "bottom_m": bottom, "floor_height_m": floor}
        if h < self.min_elevation_m:
            raise IllPosed(
                f"elevation {h:.3f} m < min_elevation_m = {self.min_elevation_m} m", **ev
            )
        return Answer(
            h,
            ev,
            f"The lowest point of the {name_of(label)} is at z = {bottom:.2f} m and the floor at "
            f"z = {floor:.2f} m: {h:.2f} m above the floor.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        text = self._forms.pick(rng, a=object_name(scene, params["a"]))
        return Rendered(text, [], fmt_number(answer.value, self.decimals))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return Reading({"a": ctx.object(slots["a"], "a")})
