"""Scene family, measurements: object count, distance, size, room size.

Referents are named by category and must be unique in the scene (``Scene.unique_labels``),
except in ``object_count``, which counts a category.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import ClassVar

import numpy as np

from geoenv.scene import STRUCTURAL_LABELS, Scene
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
    plural,
)
from geoenv.tasks.grammar import ReadContext, Reading
from geoenv.tasks.registry import register


def unique_object(scene: Scene, object_id: object, role: str) -> str:
    """Check that ``object_id`` exists and its category is unique; return its label."""
    obj = scene.objects.get(str(object_id))
    if obj is None:
        raise IllPosed(f"{role}: no object {object_id!r} in scene {scene.id!r}")
    if obj.label in STRUCTURAL_LABELS:
        raise IllPosed(f"{role}: {obj.label!r} is room structure, not an object")
    n = len(scene.labels[obj.label])
    if n != 1:
        raise IllPosed(f"{role}: category {obj.label!r} is ambiguous ({n} instances)", count=n)
    return obj.label


def unique_ids(scene: Scene) -> list[str]:
    """Ids of the objects whose category is unique, in scene order."""
    return [scene.labels[lab][0] for lab in scene.unique_labels]


@register
@dataclass(frozen=True)
class ObjectCount(Template):
    name = "object_count"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("object_counting",),
        "vsi_bench": ("object_counting",),
        "mmsi_bench": (),
    }
    family = "scene"
    answer_type = "count"
    metric = "mra"
    unit = "count"
    decimals = 0
    rule = (
        "Number of object instances whose category label is the asked category (every "
        "non-structural category present in the scene; absent categories are not asked, since "
        "a count of 0 has no MRA). Scored by MRA; exact match is reported too."
    )
    param_doc: ClassVar[dict[str, str]] = {"category": "category label"}
    _forms = forms(
        "How many {c} are there in this room?",
        "Count the {c} in the scene. How many are there?",
        "What is the number of {c} in this room?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        return [{"category": lab} for lab in scene.labels if lab not in STRUCTURAL_LABELS]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        cat = str(params["category"])
        ids = scene.labels.get(cat, ())
        if not ids:
            raise IllPosed(f"category {cat!r} is not in the scene (a count of 0 has no MRA)")
        return Answer(
            len(ids),
            {"instances": list(ids)},
            f"The scene has {len(ids)} instance(s) labelled {name_of(cat)}: ids {', '.join(ids)}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        return Rendered(
            self._forms.pick(rng, c=plural(name_of(str(params["category"])))), [], str(answer.value)
        )

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return Reading({"category": ctx.category(slots["c"], "category")})


@register
@dataclass(frozen=True)
class ObjectDistance(Template):
    name = "object_distance"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("absolute_distance",),
        "vsi_bench": ("object_abs_distance",),
        "mmsi_bench": ("attribute_measurement",),
    }
    family = "scene"
    answer_type = "number"
    metric = "mra"
    unit = "m"
    rule = (
        "Distance in metres between objects A and B. `measure = closest`: the minimum Euclidean "
        "distance between their point sets (exact, KD-tree). `measure = centroid`: distance "
        "between the means of their points. Rejected when the closest-point distance is under "
        "`min_gap` (touching objects: a near-zero answer has no stable MRA)."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "object id (unique category)",
        "b": "object id (unique category)",
        "measure": "closest | centroid",
    }
    min_gap: float = 0.05
    _forms_closest = forms(
        "What is the distance between the {a} and the {b} (closest points), in metres?",
        "How far apart are the {a} and the {b} at their nearest points? Answer in metres.",
        "Measuring between their closest surfaces, how many metres separate the {a} from the {b}?",
    )
    _forms_centroid = forms(
        "What is the distance between the centres of the {a} and the {b}, in metres?",
        "How far is the centre of the {a} from the centre of the {b}? Answer in metres.",
        "Centre to centre, how many metres are there between the {a} and the {b}?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        ids = unique_ids(scene)
        return [
            {"a": a, "b": b, "measure": m}
            for a, b in combinations(ids, 2)
            for m in ("closest", "centroid")
        ]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        la = unique_object(scene, params["a"], "a")
        lb = unique_object(scene, params["b"], "b")
        a, b, measure = str(params["a"]), str(params["b"]), params.get("measure", "closest")
        if a == b:
            raise IllPosed("a and b are the same object")
        if measure not in ("closest", "centroid"):
            raise IllPosed(f"measure must be 'closest' or 'centroid', not {measure!r}")
        gap = scene.closest_distance(a, b)
        if gap < self.min_gap:
            raise IllPosed(f"objects nearly touch ({gap:.3f} m < {self.min_gap} m)", gap=gap)
        d = (
            gap
            if measure == "closest"
            else float(np.linalg.norm(scene[a].centroid - scene[b].centroid))
        )
        how = "closest points" if measure == "closest" else "centroids"
        return Answer(
            d,
            {"distance_m": d, "closest_gap_m": gap},
            f"The {how} of the {name_of(la)} and the {name_of(lb)} are {d:.2f} m apart.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        f = (
            self._forms_closest
            if params.get("measure", "closest") == "closest"
            else self._forms_centroid
        )
        text = f.pick(rng, a=object_name(scene, params["a"]), b=object_name(scene, params["b"]))
        return Rendered(text, [], fmt_number(answer.value, self.decimals))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        a, b = ctx.objects_in_order([ctx.object(slots["a"], "a"), ctx.object(slots["b"], "b")])
        return Reading({"a": a, "b": b, "measure": form.removeprefix("_forms_")})


@register
@dataclass(frozen=True)
class ObjectSize(Template):
    name = "object_size"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("object_size",),
        "vsi_bench": ("object_size_estimation",),
        "mmsi_bench": ("attribute_measurement",),
    }
    family = "scene"
    answer_type = "number"
    metric = "mra"
    unit = "cm"
    decimals = 0
    rule = (
        "Longest side of A's gravity-aligned oriented box (min-area footprint rectangle "
        "extruded over the z range), in centimetres. Rejected below `min_size_cm`."
    )
    param_doc: ClassVar[dict[str, str]] = {"a": "object id (unique category)"}
    min_size_cm: float = 1.0
    _forms = forms(
        "What is the length of the longest dimension of the {a}, in centimetres?",
        "How long is the {a} along its largest side? Answer in cm.",
        "Measured along its longest edge, how many centimetres is the {a}?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        return [{"a": a} for a in unique_ids(scene)]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        label = unique_object(scene, params["a"], "a")
        box = scene[str(params["a"])].obb
        cm = float(box.size.max()) * 100.0
        if cm < self.min_size_cm:
            raise IllPosed(f"object is smaller than {self.min_size_cm} cm", size_cm=cm)
        ln, wd, ht = (float(v) * 100 for v in box.size)
        return Answer(
            cm,
            {"size_cm": cm, "box_lwh_cm": [ln, wd, ht]},
            f"The {name_of(label)}'s oriented box is {ln:.0f} x {wd:.0f} x {ht:.0f} cm; "
            f"its longest side is {cm:.0f} cm.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        text = self._forms.pick(rng, a=object_name(scene, params["a"]))
        return Rendered(text, [], fmt_number(answer.value, self.decimals))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return Reading({"a": ctx.object(slots["a"], "a")})


@register
@dataclass(frozen=True)
class RoomSize(Template):
    name = "room_size"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": ("room_size",),
        "vsi_bench": ("room_size_estimation",),
        "mmsi_bench": (),
    }
    family = "scene"
    answer_type = "number"
    metric = "mra"
    unit = "m2"
    rule = (
        "Area in square metres of the room footprint: floor points rasterised on a 0.10 m grid, "
        "closed, hole-filled, largest component, clipped to the floor points' convex hull "
        "(exact for convex rooms; re-entrant walls may add up to 0.10 m x their length). "
        "Rejected when the scene has no floor points or the area is under `min_area_m2`."
    )
    param_doc: ClassVar[dict[str, str]] = {}
    min_area_m2: float = 1.0
    _forms = forms(
        "What is the size of this room (floor area) in square metres?",
        "How many square metres of floor does this room have?",
        "Estimate the floor area of the room, in m².",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        return [{}]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        area = scene.room_area
        if area is None or area < self.min_area_m2:
            raise IllPosed("no usable floor footprint", area_m2=area)
        x0, y0, x1, y1 = scene.room_footprint.bounds
        return Answer(
            area,
            {"area_m2": area, "footprint_bounds_m": [x0, y0, x1, y1]},
            f"The floor footprint covers {area:.2f} m² "
            f"(bounding box {x1 - x0:.2f} x {y1 - y0:.2f} m).",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        return Rendered(self._forms.pick(rng), [], fmt_number(answer.value, self.decimals))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return Reading({})
