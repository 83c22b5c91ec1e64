"""The program language of the validation service: typed functional programs over a scene graph.

A program is a JSON list of nodes, CLEVR-style; node ``k`` names its operation (``op``), the
earlier nodes it reads (``inputs``, indices < k) and its literal arguments. The last node is the
answer. Example, "how far is the sofa from the tv (closest points)?"::

    [{"op": "scene"},
     {"op": "filter_category", "inputs": [0], "category": "sofa"},
     {"op": "unique", "inputs": [1]},
     {"op": "filter_category", "inputs": [0], "category": "tv"},
     {"op": "unique", "inputs": [3]},
     {"op": "distance", "inputs": [2, 4]}]

Three stages, each with its own failure kind:

1. :data:`NodeModel` (pydantic, strict, no extra fields) parses each node: unknown ops, wrong
   argument types and non-finite numbers are rejected there;
2. :func:`check` is the static type checker: every input refers to an earlier node, every node
   is used by the answer, the types fit the operation (``type error at node k``), node count
   and depth are within :class:`ProgramLimits`;
3. :func:`run` interprets the program over the scene graph with a dispatch table from op names
   to functions written here: no ``eval``, no imports chosen by the program, no attribute
   access by name. Rejections (referent missing, not unique, not in view, margin too small)
   raise :class:`ProgramError` with the node index and the deciding numbers.

Types: ``objects`` (an object set, scene order), ``object``, ``point`` (world xyz, m),
``frame`` (a camera frame), ``feature`` (a geo feature, lon/lat), ``bool``, ``string``, and
numbers with their unit: ``number[m]``, ``number[m2]``, ``number[deg]``, ``number[count]``.
Operations and their rules are listed in :data:`OPS` (served at ``GET /v1/ops``) and in
docs/service.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from geoenv.errors import GeoenvError
from geoenv.frames import Frame
from geoenv.oracles.answer_parse import norm_text
from geoenv.scene import STRUCTURAL_LABELS, Scene
from geoenv.tasks.base import IllPosed, fmt_number, name_of, plural

# ---------------------------------------------------------------------------- types
OBJECTS, OBJECT, POINT, FRAME, FEATURE, BOOL, STRING = (
    "objects",
    "object",
    "point",
    "frame",
    "feature",
    "bool",
    "string",
)
NUM_M, NUM_M2, NUM_DEG, NUM_COUNT = "number[m]", "number[m2]", "number[deg]", "number[count]"
NUMBERS = frozenset({NUM_M, NUM_M2, NUM_DEG, NUM_COUNT})
#: Where a position is needed: an object (its points or centroid), a point, or a camera.
LOCATABLE = frozenset({OBJECT, POINT, FRAME})
#: Types a program may end in (they have a canonical answer string).
ANSWER_TYPES = frozenset({OBJECT, BOOL, STRING}) | NUMBERS

#: Hard cap of the parser (the configurable limit, :class:`ProgramLimits`, is lower).
HARD_MAX_NODES = 1024

# ---------------------------------------------------------------------------- node models
_Ref = Annotated[int, Field(strict=True, ge=0, lt=HARD_MAX_NODES)]
_Inputs = Annotated[list[_Ref], Field(max_length=4)]
_Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128)]
_Predicate = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
]
_FrameIndex = Annotated[int, Field(strict=True, ge=-(2**31), le=2**31 - 1)]
_Snap = Annotated[float, Field(ge=0.0, le=10_000.0, allow_inf_nan=False)]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    inputs: _Inputs = []


class SceneOp(_Node):
    """Every object of the scene that is not room structure (floor, wall, ceiling)."""

    op: Literal["scene"]


class FilterCategoryOp(_Node):
    """The objects of a set whose category is ``category`` (case, ``_`` and ``-`` ignored)."""

    op: Literal["filter_category"]
    category: _Name


class FilterVisibleOp(_Node):
    """The objects of a set (input 0) in view in a frame (input 1)."""

    op: Literal["filter_visible"]


class UniqueOp(_Node):
    """The only object of a set; rejected when the set is empty or has several."""

    op: Literal["unique"]


class CountOp(_Node):
    """Number of objects in a set."""

    op: Literal["count"]


class CentroidOp(_Node):
    """Mean of an object's points (m)."""

    op: Literal["centroid"]


class DistanceOp(_Node):
    """Distance (m) between two locatables."""

    op: Literal["distance"]
    measure: Literal["closest", "centroid"] = "closest"


class DirectionFromOp(_Node):
    """Direction of input 2 seen from input 0 facing input 1 (floor plane)."""

    op: Literal["direction_from"]
    variant: Literal["lr", "lrb", "quadrant"] = "lr"


class CompareOp(_Node):
    """Whether number 0 is greater (or less) than number 1, with a margin."""

    op: Literal["compare"]
    relation: Literal["greater", "less"] = "greater"


class ArgminOp(_Node):
    """The object of a set with the smallest key (input 1: the reference for distances)."""

    op: Literal["argmin"]
    key: Literal["distance", "centroid_distance", "height", "size"]


class ArgmaxOp(_Node):
    """The object of a set with the largest key (input 1: the reference for distances)."""

    op: Literal["argmax"]
    key: Literal["distance", "centroid_distance", "height", "size"]


class HeightOp(_Node):
    """Vertical extent of an object (m)."""

    op: Literal["height"]


class SizeOp(_Node):
    """Longest side of an object's gravity-aligned oriented box (m)."""

    op: Literal["size"]


class CameraOp(_Node):
    """The camera frame with index ``frame``."""

    op: Literal["camera"]
    frame: _FrameIndex


class FeatureOp(_Node):
    """The geo feature with id ``id`` (in layer ``layer``, or the only layer that has it)."""

    op: Literal["feature"]
    id: _Name
    layer: _Name | None = None


class GeoDistanceOp(_Node):
    """Geodesic distance (m) between two geo features (``geoenv.geodesy.distance_m``)."""

    op: Literal["geo_distance"]


class BearingOp(_Node):
    """Bearing (degrees) from feature 0 to feature 1 (``geoenv.geodesy.bearing_deg``)."""

    op: Literal["bearing"]


class RelateOp(_Node):
    """Whether ``predicate`` holds between two features (``geoenv.geodesy.relate``)."""

    op: Literal["relate"]
    predicate: _Predicate
    snap_m: _Snap = 0.0


class AreaOp(_Node):
    """Area (m²) of a geo feature (``geoenv.geodesy.area_m2``)."""

    op: Literal["area"]


NodeModel = Annotated[
    SceneOp
    | FilterCategoryOp
    | FilterVisibleOp
    | UniqueOp
    | CountOp
    | CentroidOp
    | DistanceOp
    | DirectionFromOp
    | CompareOp
    | ArgminOp
    | ArgmaxOp
    | HeightOp
    | SizeOp
    | CameraOp
    | FeatureOp
    | GeoDistanceOp
    | BearingOp
    | RelateOp
    | AreaOp,
    Field(discriminator="op"),
]
#: Node model of each op.
NODE_MODELS: dict[str, type[_Node]] = {
    m.model_fields["op"].annotation.__args__[0]: m  # Literal["name"] -> "name"
    for m in _Node.__subclasses__()
}
ProgramNodes = Annotated[list[NodeModel], Field(min_length=1, max_length=HARD_MAX_NODES)]


# ---------------------------------------------------------------------------- signatures
@dataclass(frozen=True)
class OpSpec:
    """Signature of an operation: accepted types per input (``optional`` trailing inputs may
    be left out) and the output type; ``doc`` is its rule in words."""

    inputs: tuple[frozenset[str], ...]
    output: str
    doc: str
    optional: int = 0


def _t(*names: str) -> frozenset[str]:
    return frozenset(names)


OPS: dict[str, OpSpec] = {
    "scene": OpSpec((), OBJECTS, "every object that is not room structure (floor/wall/ceiling)"),
    "filter_category": OpSpec(
        (_t(OBJECTS),),
        OBJECTS,
        "objects of the set whose category is `category` (case, `_`, `-` and a leading 'the' "
        "ignored)",
    ),
    "filter_visible": OpSpec(
        (_t(OBJECTS), _t(FRAME)),
        OBJECTS,
        "objects of the set in view in the frame (tasks/camera.py `in_view_mask`: centroid in "
        "the image beyond `near` m and visible fraction >= the visibility threshold)",
    ),
    "unique": OpSpec(
        (_t(OBJECTS),), OBJECT, "the only object of the set; rejected when 0 or several"
    ),
    "count": OpSpec((_t(OBJECTS),), NUM_COUNT, "number of objects in the set"),
    "centroid": OpSpec((_t(OBJECT),), POINT, "mean of the object's points (world, m)"),
    "distance": OpSpec(
        (LOCATABLE, LOCATABLE),
        NUM_M,
        "`measure = closest` (default): minimum Euclidean distance between the point sets (an "
        "object's points, a point, a camera centre; exact, KD-tree); `centroid`: between "
        "centroids / points / camera centres",
    ),
    "direction_from": OpSpec(
        (LOCATABLE, LOCATABLE, LOCATABLE),
        STRING,
        "standing at input 0 and facing input 1, where is input 2: the rule of the "
        "`relative_direction` template (floor-plane angle between centroids, counter-clockwise "
        "= left, variants lr / lrb / quadrant, its boundary and distance thresholds)",
    ),
    "compare": OpSpec(
        (NUMBERS, NUMBERS),
        BOOL,
        "number 0 greater / less than number 1 (same unit); rejected when |a - b| < "
        "max(min_margin[unit], min_margin_rel x max(|a|, |b|))",
    ),
    "argmin": OpSpec(
        (_t(OBJECTS), LOCATABLE),
        OBJECT,
        "object of the set with the smallest `key` (distance / centroid_distance to input 1, "
        "height, size); the reference object itself is not a candidate; rejected with fewer "
        "than 2 candidates or when the runner-up is within max(min_margin[unit], "
        "min_margin_rel x |best|)",
        optional=1,
    ),
    "argmax": OpSpec(
        (_t(OBJECTS), LOCATABLE),
        OBJECT,
        "as argmin, the largest `key`",
        optional=1,
    ),
    "height": OpSpec((_t(OBJECT),), NUM_M, "vertical extent of the object's points (m)"),
    "size": OpSpec(
        (_t(OBJECT),), NUM_M, "longest side of the object's gravity-aligned oriented box (m)"
    ),
    "camera": OpSpec((), FRAME, "the camera frame whose index is `frame`"),
    "feature": OpSpec(
        (), FEATURE, "the geo feature `id` (of layer `layer`, or the only layer that has it)"
    ),
    "geo_distance": OpSpec(
        (_t(FEATURE), _t(FEATURE)), NUM_M, "geoenv.geodesy.distance_m (lon/lat geometries)"
    ),
    "bearing": OpSpec(
        (_t(FEATURE), _t(FEATURE)), NUM_DEG, "geoenv.geodesy.bearing_deg from 0 to 1"
    ),
    "relate": OpSpec(
        (_t(FEATURE), _t(FEATURE)),
        BOOL,
        "geoenv.geodesy.relate(a, b, snap_m)[predicate] (a bool the function reports)",
    ),
    "area": OpSpec((_t(FEATURE),), NUM_M2, "geoenv.geodesy.area_m2 (lon/lat geometry)"),
}

#: Unit of each number type, and the answer decimals per unit.
UNIT_OF = {NUM_M: "m", NUM_M2: "m2", NUM_DEG: "deg", NUM_COUNT: "count"}
DECIMALS = {"m": 2, "m2": 2, "deg": 0, "count": 0}


# ---------------------------------------------------------------------------- limits, rules
@dataclass(frozen=True)
class ProgramLimits:
    """Bounds a program must meet before it runs."""

    #: Most nodes in a program.
    max_nodes: int = 64
    #: Longest chain of inputs (a node without inputs has depth 1).
    max_depth: int = 16


@dataclass(frozen=True)
class ProgramThresholds:
    """The validity rules of programs (defaults follow the templates' thresholds)."""

    #: Smallest decisive difference of a compare / argmin / argmax per unit.
    min_margin_m: float = 0.15
    min_margin_deg: float = 15.0
    min_margin_m2: float = 1.0
    min_margin_count: float = 1.0
    #: Relative part of that margin (of max(|a|, |b|) for compare, of |best| for argmin/max).
    min_margin_rel: float = 0.10
    #: Smallest numeric answer per unit (a near-zero truth has no stable MRA).
    min_answer_m: float = 0.05
    min_answer_deg: float = 1.0
    min_answer_m2: float = 1.0
    min_answer_count: float = 1.0

    def margin(self, unit: str) -> float:
        return {
            "m": self.min_margin_m,
            "deg": self.min_margin_deg,
            "m2": self.min_margin_m2,
            "count": self.min_margin_count,
        }[unit]

    def min_answer(self, unit: str) -> float:
        return {
            "m": self.min_answer_m,
            "deg": self.min_answer_deg,
            "m2": self.min_answer_m2,
            "count": self.min_answer_count,
        }[unit]


# ---------------------------------------------------------------------------- errors
ProgramErrorKind = Literal[
    "type_error",
    "limit",
    "referent_missing",
    "not_unique",
    "not_visible",
    "unknown_frame",
    "unknown_feature",
    "ill_posed",
    "unsupported",
]


class ProgramError(Exception):
    """A program rejected by the checker or the interpreter: ``kind``, the node index (None
    for the whole program), a sentence, and the deciding numbers."""

    def __init__(
        self, kind: ProgramErrorKind, node: int | None, message: str, **evidence: Any
    ) -> None:
        self.kind = kind
        self.node = node
        self.message = message
        self.evidence = evidence
        super().__init__(message)


class BudgetExceeded(Exception):
    """The time budget ran out before node ``node``."""

    def __init__(self, node: int) -> None:
        self.node = node
        super().__init__(f"time budget exceeded before node {node}")


# ---------------------------------------------------------------------------- type checker
def check(nodes: Sequence[Any], limits: ProgramLimits | None = None) -> list[str]:
    """Static check; returns the type of every node or raises :class:`ProgramError`.

    Checks, in order: node count; each node's inputs refer to earlier nodes and their number
    fits the op; input types fit the op (``type error at node k``); the answer type; every
    node is used by the answer; depth.
    """
    lim = limits or ProgramLimits()
    n = len(nodes)
    if n == 0:
        raise ProgramError("limit", None, "the program is empty")
    if n > lim.max_nodes:
        raise ProgramError(
            "limit",
            None,
            f"program has {n} nodes > max_nodes {lim.max_nodes}",
            nodes=n,
            max_nodes=lim.max_nodes,
        )
    types: list[str] = []
    depth: list[int] = []
    for k, node in enumerate(nodes):
        op = node.op
        spec = OPS[op]
        ins = node.inputs
        lo, hi = len(spec.inputs) - spec.optional, len(spec.inputs)
        if not lo <= len(ins) <= hi:
            want = str(hi) if lo == hi else f"{lo} or {hi}"
            raise ProgramError(
                "type_error",
                k,
                f"type error at node {k} ({op}): takes {want} inputs, got {len(ins)}",
            )
        for i, j in enumerate(ins):
            if j >= k:
                raise ProgramError(
                    "type_error",
                    k,
                    f"type error at node {k} ({op}): input {i} refers to node {j}; inputs must "
                    "refer to earlier nodes",
                )
            if types[j] not in spec.inputs[i]:
                raise ProgramError(
                    "type_error",
                    k,
                    f"type error at node {k} ({op}): input {i} (node {j}) is {types[j]}, "
                    f"expected {' | '.join(sorted(spec.inputs[i]))}",
                    got=types[j],
                    expected=sorted(spec.inputs[i]),
                )
        if op == "compare" and types[ins[0]] != types[ins[1]]:
            raise ProgramError(
                "type_error",
                k,
                f"type error at node {k} (compare): compares {types[ins[0]]} with "
                f"{types[ins[1]]}; the units must be the same",
            )
        if op in ("argmin", "argmax"):
            key = node.key
            needs_ref = key in ("distance", "centroid_distance")
            if needs_ref != (len(ins) == 2):
                what = "needs a reference (input 1)" if needs_ref else "takes no reference"
                raise ProgramError(
                    "type_error", k, f"type error at node {k} ({op}): key {key!r} {what}"
                )
        types.append(spec.output)
        depth.append(1 + max((depth[j] for j in ins), default=0))
    last = n - 1
    if types[last] not in ANSWER_TYPES:
        raise ProgramError(
            "type_error",
            last,
            f"type error at node {last} ({nodes[last].op}): the program ends in "
            f"{types[last]}; it must end in an object, a number, a bool or a string",
        )
    used = [False] * n
    used[last] = True
    for k in range(last, -1, -1):
        if used[k]:
            for j in nodes[k].inputs:
                used[j] = True
    unused = [k for k in range(n) if not used[k]]
    if unused:
        raise ProgramError(
            "type_error",
            unused[0],
            f"type error at node {unused[0]}: its value is never used by the answer "
            f"(unused nodes: {unused[:10]})",
        )
    if depth[last] > lim.max_depth or max(depth) > lim.max_depth:
        raise ProgramError(
            "limit",
            None,
            f"program depth {max(depth)} > max_depth {lim.max_depth}",
            depth=max(depth),
            max_depth=lim.max_depth,
        )
    return types


# ---------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Feature:
    """A geo feature: layer name, feature id, display name, lon/lat geometry (shapely)."""

    layer: str
    id: str
    name: str
    geometry: Any


@dataclass(frozen=True)
class Margin:
    """A decision and how clear it was: ``value`` against the ``required`` minimum."""

    node: int | None
    what: str
    value: float
    required: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "what": self.what,
            "value": self.value,
            "required": self.required,
        }


@dataclass
class ProgramAnswer:
    """The exact answer of a program and what the service reports about it."""

    value: Any
    answer: str
    answer_type: str
    unit: str
    metric: str
    choices: list[str]
    text: str
    evidence: dict[str, Any]
    rationale: str
    margins: list[Margin] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    size: int = 0

    def row(self) -> dict[str, Any]:
        """The question row :func:`geoenv.oracles.score_batch` scores against."""
        return {
            "answer_type": self.answer_type,
            "answer": self.answer,
            "answer_value": float(self.value) if self.answer_type in ("number", "count") else None,
            "choices": list(self.choices),
            "unit": self.unit,
            "metric": self.metric,
        }


# ---------------------------------------------------------------------------- interpreter
_LR = {
    "lr": ("left", "right"),
    "lrb": ("left", "right", "back"),
    "quadrant": ("front-left", "front-right", "back-left", "back-right"),
}


def floor_angle(pa: np.ndarray, pb: np.ndarray, pc: np.ndarray) -> tuple[float, float, float]:
    """Signed angle (degrees, (-180, 180]) of ``pc`` seen from ``pa`` facing ``pb`` in the floor
    plane (xy), counter-clockwise (left) positive, and the plane distances a-b and a-c (m).

    The formula of ``direction_angle`` in tasks/scene_relations.py (the ``relative_direction``
    template), extended to points and camera centres."""
    f, v = pb[:2] - pa[:2], pc[:2] - pa[:2]
    ang = math.degrees(math.atan2(f[0] * v[1] - f[1] * v[0], f[0] * v[0] + f[1] * v[1]))
    return ang, float(np.hypot(*f)), float(np.hypot(*v))


def classify_direction(ang: float, variant: str) -> tuple[str | None, float]:
    """The answer of ``relative_direction`` for an angle and variant, and the distance (deg)
    to the variant's nearest boundary; None for ``lrb`` in front (|angle| < 45)."""
    m = abs(ang)
    side = "left" if ang > 0 else "right"
    if variant == "lr":
        return side, min(m, 180.0 - m)
    if variant == "lrb":
        to_edge = min(abs(m - 45.0), abs(m - 135.0))
        if m < 45.0:
            return None, to_edge
        return ("back" if m > 135.0 else side), to_edge
    to_edge = min(m % 90.0, 90.0 - m % 90.0)
    return ("front-" if m < 90.0 else "back-") + side, to_edge


def _direction_thresholds() -> dict[str, float]:
    from geoenv.tasks.registry import templates

    tpl = templates().get("relative_direction")
    if tpl is None:  # the template family is missing: its documented defaults
        return {"min_boundary_deg": 15.0, "min_ab_m": 0.5, "min_ac_m": 0.5}
    t = tpl.thresholds()
    return {k: float(t[k]) for k in ("min_boundary_deg", "min_ab_m", "min_ac_m")}


def _summary(v: Any, scene: Scene) -> Any:
    """JSON-friendly short form of a node value for the evidence."""
    if isinstance(v, tuple):
        return {"ids": list(v[:64]), "count": len(v)}
    if isinstance(v, Frame):
        return {"frame": v.index}
    if isinstance(v, Feature):
        return {"layer": v.layer, "feature": v.id}
    if isinstance(v, np.ndarray):
        return [float(x) for x in v]
    if isinstance(v, str) and v in scene.objects:
        return {"id": v, "label": scene.objects[v].label}
    if isinstance(v, np.generic):
        return v.item()
    return v


class _Run:
    """One interpretation of a checked program (state of the dispatch functions)."""

    def __init__(
        self,
        scene: Scene,
        nodes: Sequence[Any],
        types: list[str],
        th: ProgramThresholds,
        deadline: float,
    ) -> None:
        self.scene = scene
        self.nodes = nodes
        self.types = types
        self.th = th
        self.deadline = deadline
        self.values: list[Any] = []
        self.margins: list[Margin] = []
        self.touched: dict[str, None] = {}
        self.notes: list[str] = []

    # -------------------------------------------------------------- helpers
    def touch(self, ids: Sequence[str]) -> None:
        for i in ids:
            self.touched[i] = None

    def position(self, v: Any) -> np.ndarray:
        """Centroid of an object, a point, or a camera centre (m)."""
        if isinstance(v, Frame):
            return v.position
        if isinstance(v, np.ndarray):
            return v
        return self.scene[v].centroid

    def closest(self, a: Any, b: Any, k: int) -> float:
        """Closest-point distance (m) between two locatables."""
        sa, sb = isinstance(a, str), isinstance(b, str)
        if sa and sb:
            if a == b:
                raise ProgramError(
                    "ill_posed", k, f"node {k}: distance between object {a!r} and itself"
                )
            return float(self.scene.closest_distance(a, b))
        if sa or sb:
            obj, other = (a, b) if sa else (b, a)
            d, _ = self.scene[obj].tree.query(self.position(other))
            return float(d)
        return float(np.linalg.norm(self.position(a) - self.position(b)))

    def name(self, v: Any) -> str:
        return name_of(self.scene[v].label)

    # -------------------------------------------------------------- ops
    def op_scene(self, k: int, node: Any, ins: list[Any]) -> tuple[str, ...]:
        return tuple(i for i, o in self.scene.objects.items() if o.label not in STRUCTURAL_LABELS)

    def op_filter_category(self, k: int, node: Any, ins: list[Any]) -> tuple[str, ...]:
        key = norm_text(node.category)
        if key.startswith("the "):
            key = key[4:]
        objs = self.scene.objects
        return tuple(i for i in ins[0] if norm_text(objs[i].label) == key)

    def op_filter_visible(self, k: int, node: Any, ins: list[Any]) -> tuple[str, ...]:
        from geoenv.tasks.camera import in_view_mask

        ids = list(ins[0])
        if not ids:
            return ()
        mask = in_view_mask(self.scene, ins[1], ids)
        return tuple(i for i, m in zip(ids, mask, strict=True) if m)

    def op_unique(self, k: int, node: Any, ins: list[Any]) -> str:
        ids = ins[0]
        src = node.inputs[0]
        if len(ids) == 1:
            self.touch(ids)
            return ids[0]
        if len(ids) > 1:
            labels = sorted({self.scene.objects[i].label for i in ids})
            raise ProgramError(
                "not_unique",
                k,
                f"node {k} (unique): {len(ids)} objects match node {src} "
                f"({', '.join(labels)}: ids {', '.join(ids[:20])}); the referent must be unique",
                count=len(ids),
                ids=list(ids[:64]),
            )
        raise self._why_empty(k, src)

    def _why_empty(self, k: int, src: int) -> ProgramError:
        """The rejection for an empty set at node ``src``: not in view, or no such object."""
        node = self.nodes[src]
        if node.op == "filter_visible":
            before = self.values[node.inputs[0]]
            frame = self.values[node.inputs[1]]
            if before:
                return ProgramError(
                    "not_visible",
                    k,
                    f"node {k} (unique): none of the {len(before)} object(s) of node "
                    f"{node.inputs[0]} (ids {', '.join(before[:20])}) is in view in frame "
                    f"{frame.index}",
                    frame=frame.index,
                    ids=list(before[:64]),
                )
            return self._why_empty(k, node.inputs[0])
        if node.op == "filter_category":
            cat = node.category
            key = norm_text(cat)
            structural = any(norm_text(s) == key for s in STRUCTURAL_LABELS)
            cats = [c for c in self.scene.labels if c not in STRUCTURAL_LABELS]
            if structural:
                msg = f"{cat!r} is room structure, not an object"
            elif any(norm_text(c) == key.removeprefix("the ") for c in cats):
                msg = f"no {cat!r} among the objects of node {node.inputs[0]}"
            else:
                msg = f"no object of category {cat!r} in scene {self.scene.id!r}"
            return ProgramError(
                "referent_missing",
                k,
                f"node {k} (unique): {msg}",
                category=cat,
                categories=cats[:100],
            )
        return ProgramError("referent_missing", k, f"node {k} (unique): node {src} is empty")

    def op_count(self, k: int, node: Any, ins: list[Any]) -> int:
        self.touch(ins[0])
        return len(ins[0])

    def op_centroid(self, k: int, node: Any, ins: list[Any]) -> np.ndarray:
        return np.array(self.scene[ins[0]].centroid, dtype=np.float64)

    def op_distance(self, k: int, node: Any, ins: list[Any]) -> float:
        a, b = ins
        self.touch([v for v in (a, b) if isinstance(v, str)])
        if node.measure == "centroid":
            if isinstance(a, str) and a == b:
                raise ProgramError(
                    "ill_posed", k, f"node {k}: distance between object {a!r} and itself"
                )
            return float(np.linalg.norm(self.position(a) - self.position(b)))
        return self.closest(a, b, k)

    def op_direction_from(self, k: int, node: Any, ins: list[Any]) -> str:
        a, b, c = ins
        names = [v for v in (a, b, c) if isinstance(v, str)]
        if len(set(names)) != len(names):
            raise ProgramError("ill_posed", k, f"node {k}: referents must be distinct objects")
        self.touch(names)
        th = _direction_thresholds()
        ang, ab, ac = floor_angle(self.position(a), self.position(b), self.position(c))
        ev = {"angle_deg": ang, "ab_m": ab, "ac_m": ac}
        if ab < th["min_ab_m"]:
            raise ProgramError(
                "ill_posed",
                k,
                f"node {k}: standing and facing points are {ab:.3f} m apart in the plane "
                f"< min_ab_m {th['min_ab_m']}",
                **ev,
            )
        if ac < th["min_ac_m"]:
            raise ProgramError(
                "ill_posed",
                k,
                f"node {k}: the target is {ac:.3f} m from the standing point in the plane "
                f"< min_ac_m {th['min_ac_m']}",
                **ev,
            )
        value, to_edge = classify_direction(ang, node.variant)
        ev["boundary_distance_deg"] = to_edge
        if to_edge < th["min_boundary_deg"]:
            raise ProgramError(
                "ill_posed",
                k,
                f"node {k}: angle {ang:.1f} deg is {to_edge:.1f} deg from a {node.variant} "
                f"boundary < min_boundary_deg {th['min_boundary_deg']}",
                **ev,
            )
        if value is None:
            raise ProgramError(
                "ill_posed",
                k,
                f"node {k}: the target is in front (angle {ang:.1f} deg), not one of the "
                "lrb options",
                **ev,
            )
        self.margins.append(Margin(k, "boundary_distance_deg", to_edge, th["min_boundary_deg"]))
        self.notes.append(f"node {k}: angle {ang:.1f} deg (counter-clockwise = left) -> {value}")
        return value

    def op_compare(self, k: int, node: Any, ins: list[Any]) -> bool:
        a, b = float(ins[0]), float(ins[1])
        unit = UNIT_OF[self.types[node.inputs[0]]]
        need = max(self.th.margin(unit), self.th.min_margin_rel * max(abs(a), abs(b)))
        diff = abs(a - b)
        if diff < need:
            raise ProgramError(
                "ill_posed",
                k,
                f"node {k} (compare): {a:.4g} and {b:.4g} {unit} differ by {diff:.4g} < "
                f"max(min_margin_{unit}, min_margin_rel x max) = {need:.4g}",
                a=a,
                b=b,
                difference=diff,
                required=need,
            )
        self.margins.append(Margin(k, f"difference_{unit}", diff, need))
        return a > b if node.relation == "greater" else a < b

    def _arg(self, k: int, node: Any, ins: list[Any], largest: bool) -> str:
        ids = list(ins[0])
        key = node.key
        ref = ins[1] if len(ins) == 2 else None
        if isinstance(ref, str):
            ids = [i for i in ids if i != ref]
            self.touch([ref])
        if len(ids) < 2:
            raise ProgramError(
                "ill_posed",
                k,
                f"node {k} ({node.op}): needs at least 2 candidates, got {len(ids)}",
                candidates=ids,
            )
        self.touch(ids)
        if key == "distance":
            vals = [self.closest(i, ref, k) for i in ids]
        elif key == "centroid_distance":
            p = self.position(ref)
            vals = [float(np.linalg.norm(self.scene[i].centroid - p)) for i in ids]
        elif key == "height":
            vals = [self.scene[i].height for i in ids]
        else:
            vals = [self.scene[i].longest_dimension for i in ids]
        d = np.asarray(vals, dtype=np.float64)
        order = np.argsort(-d if largest else d, kind="stable")
        best, second = float(d[order[0]]), float(d[order[1]])
        gap = abs(second - best)
        need = max(self.th.min_margin_m, self.th.min_margin_rel * abs(best))
        ev = {
            "values_m": {i: float(x) for i, x in zip(ids, d, strict=True)},
            "best_m": best,
            "second_m": second,
            "margin_m": gap,
            "required_margin_m": need,
        }
        if gap < need:
            raise ProgramError(
                "ill_posed",
                k,
                f"node {k} ({node.op} {key}): best {best:.3f} m and runner-up {second:.3f} m "
                f"differ by {gap:.3f} m < max(min_margin_m, min_margin_rel x best) = {need:.3f} m",
                **ev,
            )
        self.margins.append(Margin(k, f"{key}_margin_m", gap, need))
        win = ids[int(order[0])]
        self.notes.append(
            f"node {k}: {node.op} {key} over {len(ids)} objects -> {self.name(win)} "
            f"({best:.2f} m; runner-up {second:.2f} m)"
        )
        return win

    def op_argmin(self, k: int, node: Any, ins: list[Any]) -> str:
        return self._arg(k, node, ins, largest=False)

    def op_argmax(self, k: int, node: Any, ins: list[Any]) -> str:
        return self._arg(k, node, ins, largest=True)

    def op_height(self, k: int, node: Any, ins: list[Any]) -> float:
        self.touch([ins[0]])
        return float(self.scene[ins[0]].height)

    def op_size(self, k: int, node: Any, ins: list[Any]) -> float:
        self.touch([ins[0]])
        return float(self.scene[ins[0]].longest_dimension)

    def op_camera(self, k: int, node: Any, ins: list[Any]) -> Frame:
        from geoenv.tasks.camera import get_frame

        try:
            return get_frame(self.scene, node.frame)
        except IllPosed:
            idx = [f.index for f in self.scene.frames]
            raise ProgramError(
                "unknown_frame",
                k,
                f"node {k} (camera): no frame {node.frame} in scene {self.scene.id!r} "
                f"({len(idx)} frames" + (f", indices {idx[0]}..{idx[-1]})" if idx else ")"),
                frames=len(idx),
            ) from None

    def op_feature(self, k: int, node: Any, ins: list[Any]) -> Feature:
        layers = self.scene.geo_layers
        names = [node.layer] if node.layer is not None else list(layers)
        if node.layer is not None and node.layer not in layers:
            raise ProgramError(
                "unknown_feature",
                k,
                f"node {k} (feature): no geo layer {node.layer!r} (layers: "
                f"{', '.join(layers) or 'none'})",
                layers=list(layers),
            )
        hits = [(n, layers[n].ids.index(node.id)) for n in names if node.id in layers[n].ids]
        if not hits:
            known = [i for n in names for i in layers[n].ids][:100]
            raise ProgramError(
                "unknown_feature",
                k,
                f"node {k} (feature): no geo feature {node.id!r}"
                + (f" in layer {node.layer!r}" if node.layer else "")
                + (f" (features: {', '.join(known[:20])})" if known else " (no geo layers)"),
                features=known,
            )
        if len(hits) > 1:
            raise ProgramError(
                "not_unique",
                k,
                f"node {k} (feature): {node.id!r} is in layers {', '.join(n for n, _ in hits)}; "
                "name the layer",
                layers=[n for n, _ in hits],
            )
        layer_name, i = hits[0]
        layer = layers[layer_name]
        props = layer.properties[i] if i < len(layer.properties) else {}
        label = props.get("name") if isinstance(props.get("name"), str) else None
        return Feature(layer_name, node.id, label or node.id, layer.lonlat[i])

    def _geodesy(self, k: int) -> Any:
        try:
            from geoenv import geodesy
        except ImportError:
            raise ProgramError(
                "unsupported",
                k,
                f"node {k} ({self.nodes[k].op}): geo operations need geoenv.geodesy, which "
                "this build does not have",
            ) from None
        return geodesy

    def _geo_call(self, k: int, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """A geodesy function; its refusals (invalid geometry, ...) become rejections."""
        try:
            return fn(*args, **kw)
        except (ValueError, GeoenvError) as e:
            raise ProgramError(
                "ill_posed", k, f"node {k} ({self.nodes[k].op}): geodesy: {e}"[:500]
            ) from None

    def _geo_number(self, k: int, x: Any, what: str) -> float:
        v = float(x)
        if not math.isfinite(v):
            raise ProgramError("ill_posed", k, f"node {k}: {what} is not finite ({v})")
        return v

    def op_geo_distance(self, k: int, node: Any, ins: list[Any]) -> float:
        g = self._geodesy(k)
        d = self._geo_call(k, g.distance_m, ins[0].geometry, ins[1].geometry)
        return self._geo_number(k, d, "distance")

    def op_bearing(self, k: int, node: Any, ins: list[Any]) -> float:
        g = self._geodesy(k)
        b = self._geo_call(k, g.bearing_deg, ins[0].geometry, ins[1].geometry)
        return self._geo_number(k, b, "bearing")

    def op_relate(self, k: int, node: Any, ins: list[Any]) -> bool:
        g = self._geodesy(k)
        rel = self._geo_call(k, g.relate, ins[0].geometry, ins[1].geometry, snap_m=node.snap_m)
        if (
            not isinstance(rel, dict)
            or node.predicate in _RELATE_META
            or not isinstance(rel.get(node.predicate), bool | np.bool_)
        ):
            keys = (
                sorted(k2 for k2, v in rel.items() if isinstance(v, bool | np.bool_))
                if (isinstance(rel, dict))
                else []
            )
            raise ProgramError(
                "ill_posed",
                k,
                f"node {k} (relate): geodesy.relate reports no predicate {node.predicate!r} "
                f"(it reports: {', '.join(keys) or 'none'})",
                predicates=keys,
            )
        self.notes.append(f"node {k}: relate -> {rel.get('de9im', '')}".rstrip(" ->"))
        return bool(rel[node.predicate])

    def op_area(self, k: int, node: Any, ins: list[Any]) -> float:
        g = self._geodesy(k)
        return self._geo_number(k, self._geo_call(k, g.area_m2, ins[0].geometry), "area")


#: Keys of ``geodesy.relate``'s dict that are not predicates.
_RELATE_META = frozenset({"snapped"})

#: The dispatch table: op name -> the function that computes it (the only way ops run).
_DISPATCH: dict[str, Callable[[_Run, int, Any, list[Any]], Any]] = {
    "scene": _Run.op_scene,
    "filter_category": _Run.op_filter_category,
    "filter_visible": _Run.op_filter_visible,
    "unique": _Run.op_unique,
    "count": _Run.op_count,
    "centroid": _Run.op_centroid,
    "distance": _Run.op_distance,
    "direction_from": _Run.op_direction_from,
    "compare": _Run.op_compare,
    "argmin": _Run.op_argmin,
    "argmax": _Run.op_argmax,
    "height": _Run.op_height,
    "size": _Run.op_size,
    "camera": _Run.op_camera,
    "feature": _Run.op_feature,
    "geo_distance": _Run.op_geo_distance,
    "bearing": _Run.op_bearing,
    "relate": _Run.op_relate,
    "area": _Run.op_area,
}
assert set(_DISPATCH) == set(OPS) == set(NODE_MODELS)


def run(
    scene: Scene,
    nodes: Sequence[Any],
    *,
    limits: ProgramLimits | None = None,
    thresholds: ProgramThresholds | None = None,
    deadline: float = math.inf,
) -> ProgramAnswer:
    """Type-check and interpret ``nodes`` on ``scene``; the exact answer with its evidence.

    Raises :class:`ProgramError` (type error, limit, rejection) or :class:`BudgetExceeded`
    when ``time.perf_counter()`` passes ``deadline`` (checked before each node).
    """
    types = check(nodes, limits)
    th = thresholds or ProgramThresholds()
    r = _Run(scene, nodes, types, th, deadline)
    for k, node in enumerate(nodes):
        if time.perf_counter() > deadline:
            raise BudgetExceeded(k)
        ins = [r.values[j] for j in node.inputs]
        r.values.append(_DISPATCH[node.op](r, k, node, ins))
    return _finish(r)


def _finish(r: _Run) -> ProgramAnswer:
    scene, nodes, types = r.scene, r.nodes, r.types
    last = len(nodes) - 1
    t, v = types[last], r.values[last]
    choices: list[str] = []
    node = nodes[last]
    if t in NUMBERS:
        unit = UNIT_OF[t]
        x = float(v)
        lo = r.th.min_answer(unit)
        if not math.isfinite(x) or abs(x) < lo:
            raise ProgramError(
                "ill_posed",
                last,
                f"node {last}: the answer {x:.4g} {unit} is under min_answer_{unit} {lo} "
                "(a near-zero truth has no stable MRA)",
                answer=x,
                min_answer=lo,
            )
        r.margins.append(Margin(last, f"answer_{unit}", abs(x), lo))
        answer_type = "count" if unit == "count" else "number"
        answer = fmt_number(x, DECIMALS[unit])
        metric = "mra"
        value: Any = int(v) if unit == "count" else x
    elif t == BOOL:
        unit, answer_type, metric = "", "bool", "exact"
        value = bool(v)
        answer = "yes" if value else "no"
    elif t == STRING:
        unit, answer_type, metric = "", "choice", "exact"
        value = str(v)
        answer = value
        choices = list(_LR[node.variant])
    else:  # OBJECT
        unit, answer_type, metric = "", "choice", "exact"
        value = str(v)
        answer = name_of(scene[value].label)
        if node.op in ("argmin", "argmax"):
            ref = r.values[node.inputs[1]] if len(node.inputs) == 2 else None
            cands = [i for i in r.values[node.inputs[0]] if i != ref]
            names = [name_of(scene[i].label) for i in cands]
            if names.count(answer) > 1:
                raise ProgramError(
                    "not_unique",
                    last,
                    f"node {last}: the answer, a {answer}, is not the only {answer} among the "
                    "candidates; the answer would be ambiguous by name",
                    ids=[i for i in cands if name_of(scene[i].label) == answer],
                )
            choices = list(dict.fromkeys(names))
        else:
            choices = []
    text = describe(scene, nodes, r.values, choices)
    trace = [
        {"node": k, "op": n.op, "value": _summary(r.values[k], scene)} for k, n in enumerate(nodes)
    ]
    evidence = {
        "nodes": trace,
        "margins": [m.as_dict() for m in r.margins],
        "objects": list(r.touched),
    }
    rationale = "; ".join([*r.notes, f"node {last} ({node.op}) = {answer}"])
    return ProgramAnswer(
        value=value,
        answer=answer,
        answer_type=answer_type,
        unit=unit,
        metric=metric,
        choices=choices,
        text=text,
        evidence=evidence,
        rationale=rationale,
        margins=r.margins,
        objects=list(r.touched),
        size=len(nodes),
    )


# ---------------------------------------------------------------------------- canonical text
def _or_list(items: list[str]) -> str:
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


_SUPERLATIVE = {
    ("argmin", "distance"): "closest to {ref}",
    ("argmax", "distance"): "farthest from {ref}",
    ("argmin", "centroid_distance"): "whose centre is closest to {ref}",
    ("argmax", "centroid_distance"): "whose centre is farthest from {ref}",
    ("argmin", "height"): "the shortest",
    ("argmax", "height"): "the tallest",
    ("argmin", "size"): "the smallest",
    ("argmax", "size"): "the largest",
}
_PREDICATE = {
    "intersects": "intersect",
    "contains": "contain",
    "within": "lie within",
    "touches": "touch",
    "crosses": "cross",
    "overlaps": "overlap",
    "disjoint": "lie apart from",
    "covers": "cover",
    "covered_by": "lie covered by",
    "equals": "coincide with",
}


def describe(scene: Scene, nodes: Sequence[Any], values: list[Any], choices: list[str]) -> str:
    """The canonical question text of a program (one fixed phrasing per op)."""
    sets: dict[int, tuple[str, str, list[str]]] = {}  # singular, plural, qualifiers

    def setp(k: int) -> tuple[str, str, list[str]]:
        if k in sets:
            return sets[k]
        n = nodes[k]
        if n.op == "scene":
            out = ("object", "objects", [])
        elif n.op == "filter_category":
            _, _, q = setp(n.inputs[0])
            if values[k]:  # the scene's own label of the category
                word = name_of(scene[values[k][0]].label)
            else:
                word = name_of(norm_text(n.category).removeprefix("the "))
            out = (word, plural(word), q)
        else:  # filter_visible
            s, p, q = setp(n.inputs[0])
            out = (s, p, [*q, f"visible in frame {values[n.inputs[1]].index}"])
        sets[k] = out
        return out

    def set_phrase(k: int) -> str:
        _, p, q = setp(k)
        return " ".join(["the", p, *q])

    def obj(k: int) -> str:
        n = nodes[k]
        op = n.op
        if op == "unique":
            s, _, q = setp(n.inputs[0])
            return " ".join(["the", s, *q])
        if op in ("argmin", "argmax"):
            s, _, q = setp(n.inputs[0])
            ref = loc(n.inputs[1]) if len(n.inputs) == 2 else ""
            sup = _SUPERLATIVE[op, n.key].format(ref=ref)
            return " ".join(["the", s, *q, "that is", sup])
        return "the object"

    def loc(k: int) -> str:
        t = nodes[k].op
        if t == "camera":
            return f"the camera of frame {values[k].index}"
        if t == "centroid":
            return f"the centre of {obj(nodes[k].inputs[0])}"
        return obj(k)

    def feat(k: int) -> str:
        return name_of(values[k].name)

    def num(k: int) -> str:
        n = nodes[k]
        op = n.op
        if op == "count":
            return f"the number of {set_phrase(n.inputs[0]).removeprefix('the ')}"
        if op == "height":
            return f"the height of {obj(n.inputs[0])}"
        if op == "size":
            return f"the longest side of {obj(n.inputs[0])}"
        if op == "distance":
            a, b = (loc(j) for j in n.inputs)
            return (
                f"the distance between the centres of {a} and {b}"
                if n.measure == "centroid"
                else f"the distance between {a} and {b} (closest points)"
            )
        if op == "geo_distance":
            return f"the distance between {feat(n.inputs[0])} and {feat(n.inputs[1])}"
        if op == "bearing":
            return f"the bearing from {feat(n.inputs[0])} to {feat(n.inputs[1])}"
        return f"the area of {feat(n.inputs[0])}"  # area

    last = len(nodes) - 1
    n = nodes[last]
    op = n.op
    unit_words = {"m": "in metres", "m2": "in square metres", "deg": "in degrees"}
    if op == "count":
        s, p, q = setp(n.inputs[0])
        if q:
            return f"How many {p} are {' and '.join(q)}?"
        return f"How many {p} are there in the scene?"
    if op in ("height", "size", "distance", "geo_distance", "bearing", "area"):
        unit = UNIT_OF[OPS[op].output]
        return f"What is {num(last)}, {unit_words[unit]}?"
    if op == "compare":
        word = "greater" if n.relation == "greater" else "less"
        return f"Is {num(n.inputs[0])} {word} than {num(n.inputs[1])}?"
    if op == "relate":
        verb = _PREDICATE.get(n.predicate)
        a, b = feat(n.inputs[0]), feat(n.inputs[1])
        if verb is None:
            return f"Does the relation {n.predicate} hold between {a} and {b}?"
        return f"Does {a} {verb} {b}?"
    if op == "direction_from":
        a, b, c = (loc(j) for j in n.inputs)
        opts = _or_list(list(_LR[n.variant]))
        return f"If I stand at {a} facing {b}, is {c} to my {opts}?"
    if op in ("argmin", "argmax"):
        s, _, q = setp(n.inputs[0])
        ref = loc(n.inputs[1]) if len(n.inputs) == 2 else ""
        sup = _SUPERLATIVE[op, n.key].format(ref=ref)
        lead = " ".join(["Which", s, *q])
        opts = _or_list([f"the {c}" for c in choices]) if choices else ""
        return f"{lead} is {sup}" + (f": {opts}?" if opts else "?")
    return f"Which object is {obj(last)}?"  # unique
