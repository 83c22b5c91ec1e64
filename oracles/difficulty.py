"""Difficulty estimate of a validated question, one documented rule for templates and programs.

``difficulty = 0.5 * margin + 0.3 * objects + 0.2 * size``, in [0, 1]:

- ``margin``: how close the question sits to the thresholds that would reject it. Each decision
  a threshold guards gives ``closeness = required / value`` clipped to [0, 1] (1: exactly at
  the threshold, the hardest; 1/2: twice the threshold; 0.1: ten times). The term is the
  largest closeness over the decisions (0 when no threshold guards the answer). Decisions:
  the evidence margins against their required margins (relative distance, depth order, image
  left/right and up/down, argmin/argmax), the angle to the nearest direction boundary against
  ``min_boundary_deg``, comparison differences against their minimum (height: metres; size:
  log of the volume ratio against log ``min_ratio``), visibility against the band
  ``|visibility - min_visible_frac|`` vs ``margin``, frame gaps against ``min_gap_frames``,
  and numeric answers against their minimum (``min_gap``, ``min_distance_m``, ``min_turn_deg``,
  ``min_size_cm``, ``min_area_m2``, ``min_elevation_m``; a program's ``min_answer_<unit>``).
- ``objects``: ``(n - 1) / 9`` clipped to [0, 1], ``n`` the distinct objects involved (1 object
  gives 0, 10 or more give 1). Templates: the objects named by the parameters plus every
  instance of a named category; programs: the objects the answering operations read (the
  members of counted / ranked sets and every referent; not the sets only filtered).
- ``size``: ``(nodes - 1) / 15`` clipped to [0, 1]. A program counts its nodes; a template
  counts one node per referent (object, frame or category; list items each) plus one for its
  measurement, the size of the equivalent program.

``level``: ``easy`` below 1/3, ``medium`` below 2/3, else ``hard``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict

from geoenv.oracles.program import Margin

#: Weights of the three terms (they sum to 1).
W_MARGIN, W_OBJECTS, W_SIZE = 0.5, 0.3, 0.2
#: Objects and nodes at which their terms reach 1.
OBJECTS_FULL, SIZE_FULL = 10, 16


class Difficulty(BaseModel):
    """A difficulty estimate: ``score`` in [0, 1], its ``level`` and the three terms."""

    model_config = ConfigDict(frozen=True)

    score: float
    level: str
    margin: float
    objects: float
    size: float
    n_objects: int
    n_nodes: int
    #: The decision closest to its threshold (None without guarded decisions).
    closest: dict[str, Any] | None = None


def closeness(m: Margin) -> float:
    """``required / value`` clipped to [0, 1] (a value at or under zero counts as 1)."""
    if not (math.isfinite(m.value) and math.isfinite(m.required)) or m.required <= 0:
        return 0.0
    if m.value <= 0:
        return 1.0
    return min(1.0, max(0.0, m.required / m.value))


def estimate(margins: Iterable[Margin], n_objects: int, n_nodes: int) -> Difficulty:
    """The difficulty of a question from its guarded decisions, objects and size."""
    ms = list(margins)
    closest = max(ms, key=closeness, default=None)
    margin = closeness(closest) if closest is not None else 0.0
    objects = min(1.0, max(0.0, (n_objects - 1) / (OBJECTS_FULL - 1)))
    size = min(1.0, max(0.0, (n_nodes - 1) / (SIZE_FULL - 1)))
    score = W_MARGIN * margin + W_OBJECTS * objects + W_SIZE * size
    level = "easy" if score < 1 / 3 else "medium" if score < 2 / 3 else "hard"
    return Difficulty(
        score=round(score, 4),
        level=level,
        margin=round(margin, 4),
        objects=round(objects, 4),
        size=round(size, 4),
        n_objects=n_objects,
        n_nodes=n_nodes,
        closest=None if closest is None else closest.as_dict(),
    )


# ---------------------------------------------------------------------------- templates
#: Numeric answers guarded by a minimum: evidence key -> threshold name.
_ANSWER_MINIMA = {
    "closest_gap_m": "min_gap",
    "distance_m": "min_distance_m",
    "size_cm": "min_size_cm",
    "area_m2": "min_area_m2",
    "elevation_m": "min_elevation_m",
    "turn_deg": "min_turn_deg",
}


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def template_margins(evidence: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Margin]:
    """The guarded decisions of a template answer, read from its evidence and thresholds."""
    out: list[Margin] = []
    for key, v in evidence.items():
        x = _num(v)
        if key.startswith("margin_") and x is not None:  # margin_m, margin_px, ...
            suffix = key.removeprefix("margin_")
            for req in (f"required_{suffix}", f"required_margin_{suffix}"):
                r = _num(evidence.get(req))
                if r is not None:
                    out.append(Margin(None, key, abs(x), r))
                    break
        elif key in _ANSWER_MINIMA and x is not None:
            r = _num(thresholds.get(_ANSWER_MINIMA[key]))
            if r is not None:
                out.append(Margin(None, key, abs(x), r))
    ang, lim = _num(evidence.get("boundary_distance_deg")), _num(thresholds.get("min_boundary_deg"))
    if ang is not None and lim is not None:
        out.append(Margin(None, "boundary_distance_deg", ang, lim))
    diff = _num(evidence.get("difference_m"))
    if diff is not None and _num(thresholds.get("min_margin_m")) is not None:
        out.append(Margin(None, "difference_m", abs(diff), float(thresholds["min_margin_m"])))
    ratio, min_ratio = _num(evidence.get("ratio")), _num(thresholds.get("min_ratio"))
    if ratio is not None and min_ratio is not None and ratio > 0 and min_ratio > 1:
        out.append(Margin(None, "log_ratio", abs(math.log(ratio)), math.log(min_ratio)))
    band, frac = _num(thresholds.get("margin")), _num(thresholds.get("min_visible_frac"))
    if band is not None and frac is not None:
        for key in ("visibility", "visibility_at_first"):
            vis = evidence.get(key)
            vals = vis.values() if isinstance(vis, Mapping) else [vis]
            for v in vals:
                x = _num(v)
                if x is not None:
                    out.append(Margin(None, key, abs(x - frac), band))
    gap = _num(thresholds.get("min_gap_frames"))
    first = evidence.get("first_frame")
    if gap is not None and isinstance(first, Mapping):
        fr = sorted(x for x in (_num(v) for v in first.values()) if x is not None)
        for a, b in pairwise(fr):
            out.append(Margin(None, "frame_gap", b - a, gap))
    return out


def template_referents(
    params: Mapping[str, Any], param_doc: Mapping[str, str], labels: Mapping[str, Iterable[str]]
) -> tuple[list[str], int]:
    """``(object ids involved, referent count)`` of resolved template parameters: object ids
    (and list items), every instance of a named category; frames count as referents."""
    ids: dict[str, None] = {}
    refs = 0
    for key, v in params.items():
        doc = param_doc.get(key, "").lower()
        items = v if isinstance(v, list | tuple) else [v]
        if "object id" in doc:
            refs += len(items)
            ids.update((str(x), None) for x in items)
        elif doc.startswith("category"):
            refs += 1
            ids.update((str(x), None) for x in labels.get(str(v), ()))
        elif "frame" in doc:
            refs += len(items)
    return list(ids), refs
