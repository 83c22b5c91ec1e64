"""Visibility family: what the camera actually sees along its trajectory.

Every rule reads the visibility engine (:mod:`geoenv.visibility`, 1/4 resolution by default):
the **visibility** of object A in frame t is its visible fraction (raster pixels where A is the
nearest surface / pixels A would cover if nothing occluded it) times one minus its truncation
(share of A's points outside the view frustum). A is *visible* when its visibility is at least
`min_visible_frac`; the bool, choice and count templates only ask about objects whose
visibility is at least `margin` away from that threshold, so "not visible" means at most
`min_visible_frac - margin` (0 with the defaults: nothing of A is seen) and "visible" at least
`min_visible_frac + margin`.
"""

from __future__ import annotations

import re
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
    forms,
    name_of,
    object_name,
    or_list,
    place_choice,
    plural,
)
from geoenv.tasks.camera import TIE_RTOL, get_frame
from geoenv.tasks.grammar import (
    ReadContext,
    Reading,
    Unreadable,
    norm_name,
    split_options,
    yes_no,
)
from geoenv.tasks.registry import register
from geoenv.tasks.scene_measure import unique_ids, unique_object
from geoenv.visibility import MIN_VISIBLE_FRAC, visibility

#: Default margin around the visibility threshold inside which bool / choice / count questions
#: are rejected.
MARGIN = 0.1
#: Appearance-order candidates use at most this many appearing objects (an even stride through
#: them in order of first appearance), which bounds the number of 3- and 4-sets.
MAX_ORDER_POOL = 30

VISIBLE_RULE = (
    "Visibility of an object in a frame = (raster pixels where it is the nearest surface / "
    "raster pixels it covers when cast alone) x (1 - share of its points outside the view "
    "frustum), on a raster at 1/4 of the image resolution (docs/visibility.md). An object is "
    "visible when its visibility >= `min_visible_frac`."
)


def visibility_matrix(scene: Scene) -> tuple[list[int], np.ndarray]:
    """``(frame indices, (n_frames, N) visibility)`` over the scene's frames, columns in
    ``scene.object_ids`` order (cached by the engine)."""
    eng = visibility(scene)
    return [f.index for f in scene.frames], eng.matrix("visibility")


def object_column(scene: Scene, object_id: str) -> int:
    return scene.object_ids.index(str(object_id))


def classify(v: float, threshold: float, margin: float) -> str:
    """``visible`` (v >= threshold + margin), ``hidden`` (v <= threshold - margin) or
    ``ambiguous``; values within a relative 1e-9 of a bound meet it."""
    tol = TIE_RTOL * max(1.0, abs(threshold))
    if v >= threshold + margin - tol:
        return "visible"
    if v <= threshold - margin + tol:
        return "hidden"
    return "ambiguous"


def _names_list(names: list[str]) -> str:
    """``the a, the b and the c``."""
    items = [f"the {n}" for n in names]
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def _known(ctx: ReadContext, name: str) -> bool:
    try:
        ctx.category(name)
    except Unreadable:
        return False
    return True


def split_names(ctx: ReadContext, text: str) -> list[str]:
    """The items of a list written by :func:`_names_list` (``the a, the b and the c``; an
    Oxford comma or a bare ``a and b`` also read). A category name holding `` and `` stays
    whole where the scene knows it: an ``and`` with no comma before it splits where both
    sides are names of the scene."""
    chunks = [c for c in re.split(r"\s*,\s*", text.strip()) if c]
    if len(chunks) > 1 and chunks[-1].startswith("and "):
        return [*chunks[:-1], chunks[-1][4:]]
    out = []
    for k, chunk in enumerate(chunks):
        pieces = chunk.split(" and ")
        if len(pieces) == 1 or k < len(chunks) - 1 or _known(ctx, chunk):
            out.append(chunk)
            continue
        cuts = [
            c
            for c in range(1, len(pieces))
            if _known(ctx, " and ".join(pieces[:c])) and _known(ctx, " and ".join(pieces[c:]))
        ]
        c = cuts[0] if cuts else 1
        out += [" and ".join(pieces[:c]), " and ".join(pieces[c:])]
    return out


_FRAME_OPTION = re.compile(r"frame (\d{1,9})")


@dataclass(frozen=True)
class _VisTemplate(Template):
    """Shared thresholds of the family (not registered)."""

    family = "visibility"
    inputs = ("objects", "frames")
    min_visible_frac: float = MIN_VISIBLE_FRAC
    margin: float = MARGIN

    def _state(self, v: float) -> str:
        return classify(v, self.min_visible_frac, self.margin)


# ---------------------------------------------------------------------------- 17
@register
@dataclass(frozen=True)
class AppearanceOrder(_VisTemplate):
    name = "appearance_order"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": (),
        "vsi_bench": ("obj_appearance_order",),
        "mmsi_bench": (),
    }
    answer_type = "order"
    metric = "exact"
    rule = (
        "Order in which 3 or 4 objects (unique categories) first come into view along the "
        "trajectory (frames in index order). An object appears in the first frame where its "
        "visibility >= `min_visible_frac`. " + VISIBLE_RULE + " Rejected when an object never "
        "appears, or when two first appearances are fewer than `min_gap_frames` frames apart "
        "(positions in the frame list). The objects are listed in a shuffled order; asked from "
        "first to last or from last to first (the answer then reversed). Canonical answer: the "
        "category names in order, joined by ', '. `margin` is not used here."
    )
    param_doc: ClassVar[dict[str, str]] = {"objects": "3 or 4 object ids (unique categories)"}
    slot_classes: ClassVar[dict[str, str]] = {"objs": "options"}
    min_gap_frames: int = 3
    _forms_first = forms(
        "As the camera moves along its path, in what order do these objects first come into "
        "view: {objs}? List them from the first to appear to the last.",
        "Following the camera through the frames, which of {objs} appears first, second, and "
        "so on? Give the order of first appearance, earliest first.",
        "Order {objs} by the moment each first becomes visible to the moving camera, starting "
        "with the earliest.",
    )
    _forms_last = forms(
        "As the camera moves along its path, in what order do these objects first come into "
        "view: {objs}? List them from the last to appear to the first.",
        "Following the camera through the frames, order {objs} by when each first appears, "
        "starting with the one that shows up last.",
        "Order {objs} by the moment each first becomes visible to the moving camera, latest first.",
    )

    def _first(self, scene: Scene) -> dict[str, int]:
        """Object id -> position (in the frame list) of its first appearance."""
        _, m = visibility_matrix(scene)
        seen = m >= self.min_visible_frac - TIE_RTOL * max(1.0, self.min_visible_frac)
        out = {}
        for j, oid in enumerate(scene.object_ids):
            hits = np.flatnonzero(seen[:, j])
            if len(hits):
                out[oid] = int(hits[0])
        return out

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        first = self._first(scene)
        pool = sorted((i for i in unique_ids(scene) if i in first), key=lambda i: (first[i], i))
        if len(pool) > MAX_ORDER_POOL:
            pool = [pool[k] for k in np.linspace(0, len(pool) - 1, MAX_ORDER_POOL).astype(int)]
        pool = [i for i in unique_ids(scene) if i in set(pool)]
        return [{"objects": list(c)} for n in (3, 4) for c in combinations(pool, n)]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        ids = params.get("objects")
        if not isinstance(ids, list) or not 3 <= len(ids) <= 4:
            raise IllPosed(f"objects: 3 or 4 object ids needed, got {ids!r}")
        ids = [str(i) for i in ids]
        if len(set(ids)) != len(ids):
            raise IllPosed("objects: an object is listed twice")
        labels = {i: unique_object(scene, i, f"objects[{k}]") for k, i in enumerate(ids)}
        first = self._first(scene)
        for i in ids:
            if i not in first:
                raise IllPosed(f"the {name_of(labels[i])} never comes into view")
        order = sorted(ids, key=lambda i: first[i])
        frames = [f.index for f in scene.frames]
        pos = [first[i] for i in order]
        gaps = np.diff(pos)
        if len(gaps) and int(gaps.min()) < self.min_gap_frames:
            k = int(np.argmin(gaps))
            raise IllPosed(
                f"the {name_of(labels[order[k]])} and the {name_of(labels[order[k + 1]])} first "
                f"appear {int(gaps[k])} frame(s) apart (< {self.min_gap_frames})",
                gap_frames=int(gaps[k]),
                min_gap_frames=self.min_gap_frames,
            )
        _, m = visibility_matrix(scene)
        ev = {
            "first_frame": {i: frames[first[i]] for i in order},
            "visibility_at_first": {i: float(m[first[i], object_column(scene, i)]) for i in order},
            "order_ids": order,
        }
        steps = "; ".join(
            f"the {name_of(labels[i])} in frame {frames[first[i]]} "
            f"(visibility {ev['visibility_at_first'][i]:.2f})"
            for i in order
        )
        return Answer(
            [labels[i] for i in order],
            ev,
            f"First appearances (visibility >= {self.min_visible_frac}): {steps}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        ids = [str(i) for i in params["objects"]]
        shown = [object_name(scene, ids[k]) for k in rng.permutation(len(ids))]
        last_first = bool(rng.integers(2))
        f = self._forms_last if last_first else self._forms_first
        text = f.pick(rng, objs=_names_list(shown))
        seq = [name_of(lab) for lab in answer.value]
        if last_first:
            seq = seq[::-1]
        return Rendered(text, [], ", ".join(seq))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        names = split_names(ctx, slots["objs"])
        ids = [ctx.object(n, f"objects[{k}]") for k, n in enumerate(names)]
        if len(set(ids)) != len(ids):
            raise Unreadable("bad_options", "an object is listed twice")
        last_first = form == "_forms_last"

        def canonical(value: list[str]) -> str:
            seq = [name_of(lab) for lab in value]
            return ", ".join(seq[::-1] if last_first else seq)

        return Reading({"objects": ctx.objects_in_order(ids)}, [], canonical)


# ---------------------------------------------------------------------------- 18
@register
@dataclass(frozen=True)
class ObjectVisibility(_VisTemplate):
    name = "object_visibility"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": (),
        "vsi_bench": (),
        "mmsi_bench": (),
    }
    answer_type = "bool"
    metric = "exact"
    slots = 2
    rule = (
        "Is object A (unique category) visible in frame t. "
        + VISIBLE_RULE
        + " Rejected when |visibility - `min_visible_frac`| < `margin`. Asked directly ('is A "
        "visible') or inverted ('is A hidden or out of view'), which flips the yes/no answer."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "frame": "frame index t",
        "a": "object id (unique category)",
    }
    _forms_seen = forms(
        "Is the {a} visible in frame {t}?",
        "Can the {a} be seen in frame {t}?",
        "In frame {t}, does the camera see the {a}?",
    )
    _forms_hidden = forms(
        "Is the {a} hidden or out of view in frame {t}?",
        "In frame {t}, is the {a} invisible to the camera (occluded or outside the image)?",
        "Is the {a} impossible to see in frame {t}?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        ids = unique_ids(scene)
        return [{"frame": f.index, "a": a} for f in scene.frames for a in ids]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        label = unique_object(scene, params["a"], "a")
        frame = get_frame(scene, params["frame"])
        st = visibility(scene).frame(frame.index).stats(str(params["a"]))
        v = st["visibility"]
        state = self._state(v)
        if state == "ambiguous":
            raise IllPosed(
                f"visibility {v:.3f} is within {self.margin} of {self.min_visible_frac}",
                visibility=v,
                min_visible_frac=self.min_visible_frac,
                margin=self.margin,
            )
        seen = state == "visible"
        verdict = f"{'visible' if seen else 'not visible'} (threshold {self.min_visible_frac})"
        if st["unoccluded_px"] == 0:
            why = f"In frame {frame.index} the {name_of(label)} is outside the view: visibility 0"
        else:
            why = (
                f"In frame {frame.index} the {name_of(label)} is the nearest surface in "
                f"{st['visible_px']} of the {st['unoccluded_px']} raster pixels it would cover "
                f"unoccluded, with {st['truncation']:.0%} of it outside the view: visibility "
                f"{v:.2f}"
            )
        return Answer(seen, st, f"{why}, so it is {verdict}.")

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        # slot 0: the answer is "yes"; slot 1: "no". Direct form answers "yes" when visible.
        direct = bool(answer.value) == (slot == 0)
        f = self._forms_seen if direct else self._forms_hidden
        text = f.pick(rng, a=object_name(scene, params["a"]), t=str(params["frame"]))
        yes = bool(answer.value) if direct else not bool(answer.value)
        return Rendered(text, [], "yes" if yes else "no")

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        params = {"frame": ctx.frame(slots["t"]), "a": ctx.object(slots["a"], "a")}
        return yes_no(params, flip=form == "_forms_hidden")


# ---------------------------------------------------------------------------- 19
@register
@dataclass(frozen=True)
class WhichFrame(_VisTemplate):
    name = "which_frame"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": (),
        "vsi_bench": (),
        "mmsi_bench": (),
    }
    answer_type = "choice"
    metric = "exact"
    slots = 4
    rule = (
        "In which of 4 frames is object A (unique category) visible: exactly one of them. "
        + VISIBLE_RULE
        + " Rejected unless A's visibility is >= `min_visible_frac` + `margin` in exactly one "
        "frame and <= `min_visible_frac` - `margin` in the other three. Choices: 'frame t'."
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "object id (unique category)",
        "frames": "4 distinct frame indices, ascending",
    }
    _forms = forms(
        "In which of these frames is the {a} visible: {opts}?",
        "Which frame shows the {a}: {opts}?",
        "The {a} can be seen in only one of these frames: {opts}. Which one?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        frames, m = visibility_matrix(scene)
        out: list[dict[str, ParamValue]] = []
        for a in unique_ids(scene):
            col = m[:, object_column(scene, a)]
            states = [self._state(float(v)) for v in col]
            vis = [k for k, s in enumerate(states) if s == "visible"]
            hid = [k for k, s in enumerate(states) if s == "hidden"]
            if len(hid) < 3:
                continue
            for p, k in enumerate(vis):
                # Three hidden frames spread over the trajectory, offset by the visible one.
                picks = [hid[(p + j * len(hid) // 3) % len(hid)] for j in range(3)]
                if len(set(picks)) < 3:
                    continue
                out.append({"a": a, "frames": sorted(frames[i] for i in [k, *picks])})
        return out

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        label = unique_object(scene, params["a"], "a")
        fr = params.get("frames")
        if not isinstance(fr, list) or len(fr) != 4 or len(set(fr)) != 4:
            raise IllPosed(f"frames: 4 distinct frame indices needed, got {fr!r}")
        eng = visibility(scene)
        vals = [
            eng.frame(get_frame(scene, t, f"frames[{k}]").index).stats(str(params["a"]))[
                "visibility"
            ]
            for k, t in enumerate(fr)
        ]
        states = [self._state(v) for v in vals]
        ev = {"visibility": {str(t): float(v) for t, v in zip(fr, vals, strict=True)}}
        if "ambiguous" in states:
            k = states.index("ambiguous")
            raise IllPosed(
                f"visibility {vals[k]:.3f} in frame {fr[k]} is within {self.margin} of "
                f"{self.min_visible_frac}",
                **ev,
            )
        n_vis = states.count("visible")
        if n_vis != 1:
            raise IllPosed(f"the {name_of(label)} is visible in {n_vis} of the 4 frames", **ev)
        t = fr[states.index("visible")]
        return Answer(
            f"frame {t}",
            ev,
            "Visibility of the "
            + name_of(label)
            + ": "
            + ", ".join(f"frame {f} {v:.2f}" for f, v in zip(fr, vals, strict=True))
            + f"; only frame {t} reaches {self.min_visible_frac}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        others = [f"frame {t}" for t in params["frames"] if f"frame {t}" != answer.value]
        choices = place_choice(answer.value, others, slot, rng)
        text = self._forms.pick(rng, a=object_name(scene, params["a"]), opts=or_list(choices))
        return Rendered(text, choices, answer.value)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        a = ctx.object(slots["a"], "a")
        frames = []
        for k, item in enumerate(split_options(slots["opts"])):
            m = _FRAME_OPTION.fullmatch(norm_name(item))
            if m is None:
                raise Unreadable("bad_options", f"option {k}: {item!r} is not 'frame <number>'")
            frames.append(ctx.frame(m.group(1), f"option {k}"))
        if len(set(frames)) != len(frames):
            raise Unreadable("bad_options", "a frame is offered twice")
        return Reading({"a": a, "frames": sorted(frames)}, [f"frame {t}" for t in frames])


# ---------------------------------------------------------------------------- 20
@register
@dataclass(frozen=True)
class CountInView(_VisTemplate):
    name = "count_in_view"
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": (),
        "vsi_bench": (),
        "mmsi_bench": (),
    }
    answer_type = "count"
    metric = "mra"
    unit = "count"
    decimals = 0
    rule = (
        "How many instances of a category are visible in frame t. "
        + VISIBLE_RULE
        + " Rejected when any instance's visibility is within `margin` of "
        "`min_visible_frac` (an unclear count) and when the count is 0 (no MRA). Scored by "
        "MRA; exact match is reported too."
    )
    param_doc: ClassVar[dict[str, str]] = {"frame": "frame index t", "category": "category label"}
    _forms = forms(
        "How many {c} can be seen in frame {t}?",
        "In frame {t}, how many {c} are visible?",
        "Count the {c} that the camera sees in frame {t}.",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        cats = [lab for lab in scene.labels if lab not in STRUCTURAL_LABELS]
        return [{"frame": f.index, "category": c} for f in scene.frames for c in cats]

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        cat = str(params["category"])
        ids = scene.labels.get(cat, ())
        if not ids or cat in STRUCTURAL_LABELS:
            raise IllPosed(f"category {cat!r} is not an object category of the scene")
        frame = get_frame(scene, params["frame"])
        fv = visibility(scene).frame(frame.index)
        vals = {i: float(fv.visibility[fv.index(i)]) for i in ids}
        ev = {"visibility": vals}
        for i, v in vals.items():
            if self._state(v) == "ambiguous":
                raise IllPosed(
                    f"instance {i}: visibility {v:.3f} is within {self.margin} of "
                    f"{self.min_visible_frac}",
                    **ev,
                )
        seen = [i for i, v in vals.items() if self._state(v) == "visible"]
        if not seen:
            raise IllPosed(f"no {name_of(cat)} is visible in frame {frame.index}", **ev)
        ev["visible_ids"] = seen
        return Answer(
            len(seen),
            ev,
            f"In frame {frame.index}, {len(seen)} of the {len(ids)} {plural(name_of(cat))} "
            f"reach visibility {self.min_visible_frac}: ids {', '.join(seen)}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        text = self._forms.pick(
            rng, c=plural(name_of(str(params["category"]))), t=str(params["frame"])
        )
        return Rendered(text, [], str(answer.value))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return Reading({"frame": ctx.frame(slots["t"]), "category": ctx.category(slots["c"])})
