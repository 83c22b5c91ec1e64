"""Geo family: distances, directions, topology, measures, nearest, counts and group queries over
the georeferenced vector layers of a scene (``scene.geo_layers``).

Every number comes from :mod:`geoenv.geodesy` (the WGS84 rules; see docs/geo.md): metres for
distances and lengths, square metres for areas, degrees clockwise from true north in [0, 360)
for bearings. Parameters name features as ``"<layer>/<feature id>"``; features of every layer
of the scene can be combined (all rules work on :attr:`GeoLayer.lonlat`).

Feature vocabulary (per layer): the *name* is the first of :data:`NAME_FIELDS` that the
feature has as a non-empty string; the *class* is the value of the layer's class field, the
first of :data:`CLASS_FIELDS` present with a string value (``kind`` in the demo layer,
``continent`` in Natural Earth). A class is the (field, value) pair, over all layers.

Reference modes (the ``ref_mode`` parameter; it applies to the features a question is about,
while choices always show feature labels): ``name`` (the feature's name, unique in the scene),
``attribute`` (its class, plus the first string attribute in sorted key order, other than the
class field, whose value is unique within the class; the name when none is; nothing more when
the class has one member), ``wkt`` / ``coords`` (the geometry written out in the layer's CRS:
WKT, or a coordinate list for points, lines and polygons without holes; coordinates rounded
to :data:`REF_DECIMALS_DEG` decimals of a degree or :data:`REF_DECIMALS_M` of a metre; at most
:data:`REF_MAX_VERTICES` vertices; the answer is computed on the geometry *as written*). A
candidate's mode is drawn from the modes valid for all its referents with a hash of
(scene id, template, referents), so it is fixed per candidate.

Snapping: the topology tolerance of a question is ``max(snap_m, scene.metadata["geo_snap_m"])``
(the template threshold, or what the loader recorded for data with inexact shared borders).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import combinations
from typing import Any, ClassVar, NoReturn

import numpy as np
import pyproj
import shapely

from geoenv import geodesy as G
from geoenv.geo import WGS84
from geoenv.scene import Scene
from geoenv.tasks.base import (
    Answer,
    IllPosed,
    ParamValue,
    Question,
    Rendered,
    Template,
    balanced_slots,
    fmt_number,
    forms,
    memo,
    or_list,
    place_choice,
    plural,
    stable_seed,
    template_rng,
    visit_order,
)
from geoenv.tasks.grammar import (
    MAX_TEXT_CHARS,
    UNREADABLE_RANK,
    ReadContext,
    Reading,
    Unreadable,
    UnreadableKind,
    drop_article,
    fold,
    yes_no,
)
from geoenv.tasks.registry import register

#: Property keys holding a feature's name, by preference.
NAME_FIELDS = ("name", "NAME", "name_en", "NAME_EN", "title")
#: Property keys holding a feature's class, by preference.
CLASS_FIELDS = ("kind", "class", "fclass", "type", "category", "featurecla", "continent")
#: Class fields whose values are nouns ("building"); others read "features with continent X".
NOUN_CLASS_FIELDS = frozenset(CLASS_FIELDS) - {"continent"}
REF_MODES = ("name", "attribute", "wkt", "coords")
#: Pseudo reference mode: the feature's exact geometry (choices, counted members).
EXACT = "exact"
#: Explicit geometry references: at most this many vertices, rounded to these decimals.
REF_MAX_VERTICES = 40
REF_DECIMALS_DEG = 7
REF_DECIMALS_M = 2
#: Relations (DE-9IM predicates) asked by ``geo_topology``, by dimension of (A, B).
ALLOWED_RELATIONS: dict[tuple[int, int], tuple[str, ...]] = {
    (2, 2): ("disjoint", "touches", "overlaps", "within", "contains", "intersects"),
    (1, 2): ("disjoint", "touches", "crosses", "within", "intersects"),
    (2, 1): ("disjoint", "touches", "crosses", "contains", "intersects"),
    (1, 1): ("disjoint", "touches", "crosses", "overlaps", "intersects"),
    (0, 2): ("disjoint", "touches", "within", "intersects"),
    (2, 0): ("disjoint", "touches", "contains", "intersects"),
    (0, 1): ("disjoint", "touches", "within", "intersects"),
    (1, 0): ("disjoint", "touches", "contains", "intersects"),
}
#: ``geo_relation``: the named relations, mutually exclusive, in the order they are tested.
NAMED_RELATIONS = ("equals", "within", "contains", "touches", "crosses", "overlaps", "disjoint")
CONVERSE = {"within": "contains", "contains": "within"}

REF_RULE = (
    " Features are named by `ref_mode` (a parameter): `name`, `attribute` (class + an attribute "
    "unique in the class), `wkt` or `coords` (the geometry written in the layer's CRS, rounded "
    "to 7 decimals of a degree or 2 of a metre, at most 40 vertices; answers use the geometry "
    "as written); see docs/geo.md."
)


# ============================================================================ feature index
@dataclass(frozen=True)
class GeoFeature:
    """One feature of a scene's geo layers, as the templates see it."""

    key: str
    layer: str
    index: int
    name: str | None
    cls_field: str | None
    cls: str | None
    attr: tuple[str, str] | None
    attr_ok: bool
    geom: shapely.Geometry
    dim: int
    nverts: int
    crs_label: str
    ref_text: tuple[tuple[str, str], ...]
    ref_geom: shapely.Geometry | None

    @property
    def label(self) -> str:
        """How choices show the feature: its name, else its key."""
        return self.name if self.name is not None else self.key

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.ref_text)

    def text(self, mode: str) -> str:
        return dict(self.ref_text)[mode]

    def geometry(self, mode: str) -> shapely.Geometry:
        """Lon/lat geometry a question in ``mode`` refers to (rounded for wkt / coords)."""
        if mode in ("wkt", "coords"):
            assert self.ref_geom is not None
            return self.ref_geom
        return self.geom


def _crs_label(crs: pyproj.CRS) -> str:
    auth = crs.to_authority()
    name = f"{auth[0]}:{auth[1]}" if auth else crs.name
    if crs.is_geographic:
        return f"{name}, x = longitude, y = latitude in degrees"
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    return f"{name}, x = easting, y = northing in {unit}s"


def _fmt(v: float, d: int) -> str:
    s = f"{v:.{d}f}"
    return "0" + s[2:] if s.startswith("-0") and float(s) == 0 else s


def _coords_text(g: shapely.Geometry, d: int) -> str | None:
    """Coordinate-list phrase of a Point, LineString or hole-free Polygon, else None."""
    t = shapely.get_type_id(g)
    if t == 3 and shapely.get_num_interior_rings(g) == 0:
        xy = shapely.get_coordinates(g.exterior)[:-1]
        what = "the polygon with vertices"
    elif t == 1:
        xy = shapely.get_coordinates(g)
        what = "the line through"
    elif t == 0:
        xy = shapely.get_coordinates(g)
        what = "the point"
    else:
        return None
    pts = ", ".join(f"({_fmt(x, d)}, {_fmt(y, d)})" for x, y in xy)
    return f"{what} {pts}"


def _class_phrase(field: str, value: str, many: bool = False) -> str:
    if field in NOUN_CLASS_FIELDS:
        noun = value.replace("_", " ")
        return plural(noun) if many else noun
    return f'features with {field} "{value}"' if many else f'feature with {field} "{value}"'


def _attr_text(field: str, cls: str, attr: tuple[str, str] | None, name_field: str | None) -> str:
    if attr is None:
        if field in NOUN_CLASS_FIELDS:
            return f"the {_class_phrase(field, cls)}"
        return f'the only feature with {field} "{cls}"'
    key, val = attr
    head = f"the {_class_phrase(field, cls)}"
    if key == name_field:
        return f'{head} named "{val}"'
    return f'{head} whose {key} is "{val}"'


def _str_props(props: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in props.items() if isinstance(v, str) and v.strip()}


def _build_index(scene: Scene) -> dict[str, GeoFeature]:
    rows: list[dict[str, Any]] = []
    for lname, layer in scene.geo_layers.items():
        props = [_str_props(p) for p in layer.properties]
        cls_field = next((f for f in CLASS_FIELDS if any(f in p for p in props)), None)
        decimals = REF_DECIMALS_DEG if layer.crs.is_geographic else REF_DECIMALS_M
        label = _crs_label(layer.crs)
        to_ll = (
            None
            if layer.crs.equals(WGS84, ignore_axis_order=True)
            else pyproj.Transformer.from_crs(layer.crs, WGS84, always_xy=True)
        )
        nverts = shapely.get_num_coordinates(layer.geometries)
        dims = shapely.get_dimensions(layer.lonlat)
        for i, p in enumerate(props):
            name_field = next((f for f in NAME_FIELDS if f in p), None)
            rows.append(
                {
                    "key": f"{lname}/{layer.ids[i]}",
                    "layer": lname,
                    "index": i,
                    "props": p,
                    "name_field": name_field,
                    "name": p.get(name_field) if name_field else None,
                    "cls_field": cls_field if cls_field in p else None,
                    "cls": p.get(cls_field) if cls_field else None,
                    "geom": layer.lonlat[i],
                    "src": layer.geometries[i],
                    "dim": int(dims[i]),
                    "nverts": int(nverts[i]),
                    "decimals": decimals,
                    "crs_label": label,
                    "to_ll": to_ll,
                }
            )
    names = Counter(r["name"] for r in rows if r["name"] is not None)
    members: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["cls"] is not None:
            members.setdefault((r["cls_field"], r["cls"]), []).append(r)
    out: dict[str, GeoFeature] = {}
    for r in rows:
        name = r["name"] if r["name"] is not None and names[r["name"]] == 1 else None
        attr, attr_ok = None, False
        if r["cls"] is not None:
            group = members[(r["cls_field"], r["cls"])]
            if len(group) == 1:
                attr_ok = True
            else:
                keys = sorted(k for k in r["props"] if k != r["cls_field"] and k != r["name_field"])
                if r["name_field"] is not None:
                    keys.append(r["name_field"])
                for k in keys:
                    v = r["props"][k]
                    if sum(1 for o in group if o["props"].get(k) == v) == 1:
                        attr, attr_ok = (k, v), True
                        break
        texts: list[tuple[str, str]] = []
        if name is not None:
            texts.append(("name", f'the feature named "{name}"'))
        if attr_ok:
            texts.append(("attribute", _attr_text(r["cls_field"], r["cls"], attr, r["name_field"])))
        ref_geom = None
        if r["nverts"] <= REF_MAX_VERTICES:
            d = r["decimals"]
            rounded = shapely.transform(r["src"], lambda c, d=d: np.round(c, d), include_z=False)
            if rounded.is_valid and not rounded.is_empty:
                tr = r["to_ll"]
                ref_geom = (
                    rounded
                    if tr is None
                    else shapely.transform(
                        rounded, lambda c, tr=tr: np.column_stack(tr.transform(*c.T))
                    )
                )
                crs = f" ({r['crs_label']})"
                wkt = shapely.to_wkt(rounded, rounding_precision=d, trim=False)
                texts.append(("wkt", f"the geometry {wkt}{crs}"))
                coords = _coords_text(rounded, d)
                if coords is not None:
                    texts.append(("coords", coords + crs))
        out[r["key"]] = GeoFeature(
            key=r["key"],
            layer=r["layer"],
            index=r["index"],
            name=name,
            cls_field=r["cls_field"],
            cls=r["cls"],
            attr=attr,
            attr_ok=attr_ok,
            geom=r["geom"],
            dim=r["dim"],
            nverts=r["nverts"],
            crs_label=r["crs_label"],
            ref_text=tuple(texts),
            ref_geom=ref_geom,
        )
    return out


def geo_index(scene: Scene) -> dict[str, GeoFeature]:
    """The scene's geo features by key ``"<layer>/<id>"``, in layer then file order (memoised)."""
    return memo(scene, ("geo", "index"), lambda: _build_index(scene))


def feature(scene: Scene, key: object, role: str) -> GeoFeature:
    """The feature named by a parameter, or IllPosed."""
    f = geo_index(scene).get(str(key))
    if f is None:
        raise IllPosed(f"{role}: no geo feature {key!r} in scene {scene.id!r}")
    return f


def check_mode(mode: object, feats: Sequence[GeoFeature]) -> str:
    """Validate ``ref_mode`` for the referenced features."""
    if mode not in REF_MODES:
        raise IllPosed(f"ref_mode must be one of {list(REF_MODES)}, not {mode!r}")
    for f in feats:
        if mode not in f.modes:
            raise IllPosed(
                f"ref_mode {mode!r} cannot refer to {f.key} (its modes: {list(f.modes)})",
            )
    return str(mode)


def pick_mode(scene: Scene, template: str, feats: Sequence[GeoFeature]) -> str | None:
    """The candidate's reference mode: one of the modes valid for every referent, chosen by a
    hash of (scene id, template, referent keys); None when there is none."""
    common = [m for m in REF_MODES if all(m in f.modes for f in feats)]
    if not common:
        return None
    return common[stable_seed(scene.id, template, *(f.key for f in feats)) % len(common)]


def snap_of(scene: Scene, snap_m: float) -> float:
    """The topology tolerance of a question: the template's ``snap_m`` or the scene's."""
    return max(float(snap_m), float(scene.metadata.get("geo_snap_m", 0.0) or 0.0))


def _dist(scene: Scene, a: GeoFeature, ma: str, b: GeoFeature, mb: str) -> dict[str, Any]:
    """:func:`geoenv.geodesy.distance_detail` of two features (memoised per unordered pair and
    always computed in key order, so the value does not depend on the visiting order)."""
    ea, eb = (a.key, ma in ("wkt", "coords")), (b.key, mb in ("wkt", "coords"))
    swap = eb < ea
    (f1, m1), (f2, m2) = ((b, mb), (a, ma)) if swap else ((a, ma), (b, mb))

    def make() -> dict[str, Any]:
        try:
            return G.distance_detail(f1.geometry(m1), f2.geometry(m2))
        except G.GeodesyError as exc:
            return {"error": str(exc)}

    out = memo(scene, ("geo", "dist", *sorted([ea, eb])), make)
    if "error" in out:
        raise IllPosed(f"distance {a.key} - {b.key}: {out['error']}")
    if swap:
        out = out | {"closest_a": out["closest_b"], "closest_b": out["closest_a"]}
    return out


def _relate(
    scene: Scene, a: GeoFeature, ma: str, b: GeoFeature, mb: str, snap: float
) -> dict[str, Any]:
    key = ("geo", "relate", a.key, ma in ("wkt", "coords"), b.key, mb in ("wkt", "coords"), snap)

    def make() -> dict[str, Any]:
        try:
            return G.relate(a.geometry(ma), b.geometry(mb), snap_m=snap)
        except G.GeodesyError as exc:
            return {"error": str(exc)}

    out = memo(scene, key, make)
    if "error" in out:
        raise IllPosed(f"relation {a.key} - {b.key}: {out['error']}")
    return out


def _rep(scene: Scene, f: GeoFeature) -> tuple[float, float]:
    return memo(scene, ("geo", "rep", f.key), lambda: G.representative_lonlat(f.geom))


def _reach(scene: Scene, f: GeoFeature) -> float:
    """Upper bound (m) on the geodesic distance from the feature's representative point to any
    of its points: the farthest vertex plus the longest edge."""

    def make() -> float:
        lon, lat = _rep(scene, f)
        xy = shapely.get_coordinates(f.geom)
        _, _, d = G.GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
        edge = 0.0
        if f.dim > 0:
            bound = f.geom.boundary if f.dim == 2 else f.geom
            lines = shapely.get_parts(bound)
            e, _, _ = G._edge_lengths(np.asarray(lines, dtype=object))
            edge = float(e.max()) if len(e) else 0.0
        return float(np.max(d)) + edge

    return memo(scene, ("geo", "reach", f.key), make)


def _area(scene: Scene, f: GeoFeature) -> float:
    """Geodesic area (m²) of a feature's exact geometry (memoised)."""
    return memo(scene, ("geo", "area", f.key), lambda: G.area_m2(f.geom))


def _lower_bound(scene: Scene, a: GeoFeature, b: GeoFeature) -> float:
    """A lower bound (m) on the distance between two features (triangle inequality on their
    representative points and reaches)."""
    pa, pb = _rep(scene, a), _rep(scene, b)
    _, _, d = G.GEOD.inv(pa[0], pa[1], pb[0], pb[1])
    return float(d) - _reach(scene, a) - _reach(scene, b)


def _distinct(*feats: GeoFeature) -> None:
    keys = [f.key for f in feats]
    if len(set(keys)) != len(keys):
        raise IllPosed(f"referents must be distinct features, got {keys}")


def _feature_pair(
    scene: Scene, params: dict[str, ParamValue]
) -> tuple[GeoFeature, GeoFeature, str]:
    """Features ``a`` and ``b`` of the params (distinct) and their reference mode."""
    a, b = feature(scene, params.get("a"), "a"), feature(scene, params.get("b"), "b")
    _distinct(a, b)
    return a, b, check_mode(params.get("ref_mode"), (a, b))


def _all_pairs(scene: Scene, template: str, ordered: bool) -> list[dict[str, ParamValue]]:
    """Candidates over every pair of features that some reference mode can name: ``{a, b,
    ref_mode}`` for each unordered pair (index order), and (b, a) too when ``ordered``."""
    out: list[dict[str, ParamValue]] = []
    for a, b in combinations(list(geo_index(scene).values()), 2):
        mode = pick_mode(scene, template, (a, b))
        if mode is not None:
            out.append({"a": a.key, "b": b.key, "ref_mode": mode})
            if ordered:
                out.append({"a": b.key, "b": a.key, "ref_mode": mode})
    return out


def _near_pairs(scene: Scene) -> list[tuple[str, str]]:
    """Feature pairs (index order) whose lon/lat bounding boxes, each grown by half its larger
    side, intersect: the candidate pairs of the topology templates."""

    def make() -> list[tuple[str, str]]:
        feats = list(geo_index(scene).values())
        if len(feats) < 2:
            return []
        b = shapely.bounds(np.array([f.geom for f in feats], dtype=object))
        grow = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / 2
        boxes = shapely.box(b[:, 0] - grow, b[:, 1] - grow, b[:, 2] + grow, b[:, 3] + grow)
        i, j = shapely.STRtree(boxes).query(boxes, predicate="intersects")
        keep = i < j
        pairs = sorted(zip(i[keep].tolist(), j[keep].tolist(), strict=True))
        return [(feats[p].key, feats[q].key) for p, q in pairs]

    return memo(scene, ("geo", "near_pairs"), make)


def _classes(scene: Scene) -> dict[tuple[str, str], list[GeoFeature]]:
    """Members of each class (field, value), in index order."""

    def make() -> dict[tuple[str, str], list[GeoFeature]]:
        out: dict[tuple[str, str], list[GeoFeature]] = {}
        for f in geo_index(scene).values():
            if f.cls is not None and f.cls_field is not None:
                out.setdefault((f.cls_field, f.cls), []).append(f)
        return dict(sorted(out.items()))

    return memo(scene, ("geo", "classes"), make)


def _class_members(scene: Scene, category: object) -> tuple[str, str, list[GeoFeature]]:
    """(field, value, members) of the class named by a ``category`` parameter ``field=value``."""
    field, sep, value = str(category).partition("=")
    members = _classes(scene).get((field, value)) if sep else None
    if not members:
        raise IllPosed(f"category {category!r}: no such class (field=value) in the scene")
    return field, value, members


def _third_person(body: str, x: str) -> str:
    """``{x} touch {y}`` -> ``{x} touches {y}`` (the verb right after the subject)."""
    rest = body[len(x) + 1 :]
    verb, _, tail = rest.partition(" ")
    verb = verb + ("es" if verb.endswith(("ch", "sh", "ss", "x")) else "s")
    return f"{x} {verb} {tail}"


def _bool_text(value: bool) -> str:
    return "yes" if value else "no"


# ============================================================================ reading questions
# The inverse of rendering (geoenv.tasks.grammar): a reference text back to its feature by
# looking it up among the texts the feature index renders for every feature and mode (built
# once per scene; formatting only, no geometry), class phrases back to ``field=value``.

#: Character class of a placeholder holding a feature reference (a name, an attribute phrase,
#: or a geometry written out: WKT or a coordinate list with its CRS note), a class phrase, a
#: radius, or the options of a template. Bounded by the longest text read at all.
_REF_SLOT = rf".{{1,{MAX_TEXT_CHARS}}}"
_CLASS_SLOT = r".{1,200}"
_NUMBER_RE = r"\d{1,12}(?:\.\d{1,12})?(?:e[-+]?\d{1,3})?"
_UNIT_RE = r"km|m|kilometres|kilometers|metres|meters"
_RADIUS_SLOT = rf"{_NUMBER_RE} ?(?:{_UNIT_RE})"
_RADIUS = re.compile(rf"({_NUMBER_RE}) ?({_UNIT_RE})")
_SPACES = re.compile(r"\s+")
_PUNCT_SPACES = tuple((s, s.strip()) for p in "()," for s in (f" {p}", f"{p} "))
_TRAILING_ZEROS = re.compile(r"(\d)\.(\d*?)0+(?!\d)")


def _ref_key(text: str) -> str:
    """How reference texts, labels and class phrases are compared: NFKC, straight quotes,
    lower case, single spaces, no spaces around parentheses and commas, no trailing zeros
    after a decimal point, no leading article, no final ``?``, ``.``, ``!`` (which
    :func:`~geoenv.tasks.grammar.normalize` drops from a label ending a question)."""
    t = fold(text)
    for spaced, tight in _PUNCT_SPACES:
        t = t.replace(spaced, tight)
    t = _TRAILING_ZEROS.sub(lambda m: m[1] + ("." + m[2] if m[2] else ""), t)
    return drop_article(t)


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


@dataclass(frozen=True)
class _Lookup:
    """Per-scene tables of the readers (see :func:`_lookup`)."""

    refs: dict[str, tuple[tuple[str, str], ...]]  # reference text -> ((key, mode), ...)
    order: dict[str, int]  # key -> position in the index (the canonical order of pairs)
    labels: dict[str, tuple[str, ...]]  # choice label -> keys
    classes: dict[str, tuple[str, ...]]  # class phrase (singular or plural) -> field=value
    heads: tuple[str, ...]  # how reference texts begin (a miss that begins so is "missing")

    def looks_like_ref(self, key: str) -> bool:
        return any(key == h.rstrip(" (") or key.startswith(h) for h in self.heads)


def _lookup(scene: Scene) -> _Lookup:
    """The reading tables of a scene: every feature's reference text in every mode it has
    (exactly as :func:`_build_index` renders them), its choice label, and every class phrase
    (memoised)."""

    def make() -> _Lookup:
        idx = geo_index(scene)
        refs: dict[str, list[tuple[str, str]]] = {}
        labels: dict[str, list[str]] = {}
        for f in idx.values():
            for mode, text in f.ref_text:
                refs.setdefault(_ref_key(text), []).append((f.key, mode))
            labels.setdefault(_ref_key(f.label), []).append(f.key)
        classes: dict[str, list[str]] = {}
        heads = [
            _ref_key(h)
            for h in (
                'the feature named "',
                "the geometry ",
                "the point (",
                "the line through (",
                "the polygon with vertices (",
                "the only feature with ",
                "the feature with ",
            )
        ]
        for field, value in _classes(scene):
            cat = f"{field}={value}"
            for many in (False, True):
                k = _ref_key(_class_phrase(field, value, many))
                if cat not in classes.setdefault(k, []):
                    classes[k].append(cat)
            heads.append(_ref_key(_class_phrase(field, value)) + " ")
        return _Lookup(
            refs={k: tuple(v) for k, v in refs.items()},
            order={k: i for i, k in enumerate(idx)},
            labels={k: tuple(v) for k, v in labels.items()},
            classes={k: tuple(v) for k, v in classes.items()},
            heads=tuple(dict.fromkeys(heads)),
        )

    return memo(scene, ("geo", "read_lookup"), make)


_Ref = tuple[str, frozenset[str]]  # (feature key, the reference modes the text is written in)


def _read_ref(ctx: ReadContext, text: str, role: str) -> _Ref:
    """The feature a reference text names, and the modes in which it is written so."""
    lk = _lookup(ctx.scene)
    key = _ref_key(text)
    hits = lk.refs.get(key)
    if not hits:
        cats = lk.classes.get(key)
        if cats:  # "the park" where the scene has several: the attribute text adds more
            raise Unreadable(
                "referent_ambiguous",
                f"{role}: {_short(text)!r} names a class of several features ({cats[0]})",
            )
        kind: UnreadableKind = "referent_missing" if lk.looks_like_ref(key) else "unparsed"
        raise Unreadable(
            kind, f"{role}: {_short(text)!r} is no geo feature of scene {ctx.scene.id!r}"
        )
    keys = sorted({k for k, _ in hits}, key=lk.order.__getitem__)
    if len(keys) > 1:
        raise Unreadable(
            "referent_ambiguous",
            f"{role}: {_short(text)!r} refers to {len(keys)} features ({', '.join(keys[:8])})",
        )
    return keys[0], frozenset(m for _, m in hits)


def _in_order(ctx: ReadContext, *refs: _Ref) -> list[_Ref]:
    """References in index order (the order in which candidates pair features)."""
    order = _lookup(ctx.scene).order
    return sorted(refs, key=lambda r: order[r[0]])


def _read_mode(ctx: ReadContext, template: str, *refs: _Ref) -> str:
    """The ``ref_mode`` of a question: the mode all its references are written in. When the
    texts read the same in several modes, the mode generation would pick among them."""
    common = frozenset.intersection(*(m for _, m in refs))
    if not common:
        raise Unreadable(
            "bad_value",
            "the features are referred to in different ways (name, attribute, WKT, "
            "coordinates); a question refers to all of them in one way",
        )
    if len(common) == 1:
        return next(iter(common))
    idx = geo_index(ctx.scene)
    picked = pick_mode(ctx.scene, template, [idx[k] for k, _ in _in_order(ctx, *refs)])
    return picked if picked in common else next(m for m in REF_MODES if m in common)


def _read_class(ctx: ReadContext, text: str) -> str:
    """``field=value`` of a class phrase (singular or plural)."""
    cats = _lookup(ctx.scene).classes.get(_ref_key(text))
    if not cats:
        raise Unreadable(
            "referent_missing",
            f"category: no class {_short(text)!r} among the geo features of {ctx.scene.id!r}",
        )
    if len(cats) > 1:
        raise Unreadable("referent_ambiguous", f"category: {_short(text)!r} names {list(cats)}")
    return cats[0]


def _read_radius(text: str) -> float:
    """Metres of a radius written ``20 m`` / ``1.5 km`` (as :func:`_radius_text` writes it)."""
    m = _RADIUS.fullmatch(text.strip())
    if m is None:
        raise Unreadable("bad_value", f"radius: {_short(text)!r} is not a distance in m or km")
    v = float(Decimal(m[1]) * (1000 if m[2].startswith("k") else 1))
    if not (math.isfinite(v) and v > 0):
        raise Unreadable("bad_value", f"radius: {_short(text)!r} is not a positive distance")
    return v


def _read_labels(ctx: ReadContext, text: str) -> list[str]:
    """Feature keys of an option list of choice labels (``a, b, c, or d``; labels may hold
    commas or "or": every split into known labels is tried, and must be unique)."""
    lk = _lookup(ctx.scene)
    # A piece longer than this cannot be a label (normalising only drops spaces and zeros).
    bound = 3 * max(map(len, lk.labels), default=0) + 20
    seps = []  # (start, end) of each separator, by start
    for i in range(len(text)):
        for sep in (", or ", ", ", " or "):
            if text.startswith(sep, i):
                seps.append((i, i + len(sep)))

    @cache
    def label(piece: str) -> str | None:
        keys = lk.labels.get(_ref_key(piece)) if len(piece) <= bound else None
        return keys[0] if keys is not None and len(keys) == 1 else None

    starts = [s for s, _ in seps]
    # splits[p]: up to two ways to read text[p:] as a list of labels
    splits: dict[int, list[list[str]]] = {}
    for p in sorted({0, *(e for _, e in seps)}, reverse=True):
        whole = label(text[p:])
        out: list[list[str]] = [] if whole is None else [[whole]]
        for s, e in seps[bisect_right(starts, p) : bisect_right(starts, p + bound)]:
            if len(out) > 1:
                break
            head = label(text[p:s])
            if head is not None:
                out += [[head, *rest] for rest in splits.get(e, [])][: 2 - len(out)]
        splits[p] = out
    found = splits.get(0, [])
    if not found:
        raise Unreadable(
            "referent_missing", f"options: {_short(text)!r} are not geo feature labels"
        )
    if len(found) > 1:
        raise Unreadable("bad_options", f"options: {_short(text)!r} split into labels 2 ways")
    keys = found[0]
    if len(set(keys)) != len(keys):
        raise Unreadable("bad_options", f"options: repeated option in {_short(text)!r}")
    return keys


def _raise_best(errors: list[Unreadable], fallback: str) -> NoReturn:
    """Raise the most informative of the failures of the readings tried (or ``fallback``)."""
    if errors:
        raise min(errors, key=lambda e: UNREADABLE_RANK[e.kind])
    raise Unreadable("unparsed", fallback)


@cache
def _relation_shapes(aux: str | None) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """How ``geo_topology`` bodies read: (relation, text between the two references, the
    endings after the second, longest first: with and without the explanation in
    parentheses). ``aux`` "does" / "are": the asked bodies of those relations; None: the
    claims of ``_forms_negated`` (third person, "are disjoint")."""
    out = []
    for rel, (phrase, verb) in _REL_WORDS.items():
        if aux is None:
            if verb == "are":
                phrase = phrase.replace("{x} and {y} ", "{x} and {y} are ", 1)
            else:
                phrase = _third_person(phrase, "{x}")
        elif verb != aux:
            continue
        phrase = phrase.lower()
        cut = phrase.index("{y}")
        mid, tail = phrase[len("{x}") : cut], phrase[cut + len("{y}") :]
        bare = re.sub(r" \([^)]*\)$", "", tail)
        out.append((rel, mid, (tail, bare) if bare != tail else (tail,)))
    return tuple(out)


def _body_slot(*auxes: str | None) -> str:
    """Slot class of a topology body or claim: bounded text holding one of the relation
    words (so the forms stay off other templates' questions)."""
    mids = {mid for aux in auxes for _, mid, _ in _relation_shapes(aux)}
    words = sorted(mids, key=lambda w: (-len(w), w))
    alt = "|".join(re.escape(w) for w in words)
    return rf"(?=.{{0,{MAX_TEXT_CHARS}}}?(?:{alt})).{{1,{MAX_TEXT_CHARS}}}"


def _read_body(ctx: ReadContext, text: str, aux: str | None) -> tuple[str, _Ref, _Ref]:
    """(relation, X, Y) of a topology body / claim ``X <relation words> Y``: every split at
    the relation words is tried; exactly one must name two features."""
    found: dict[tuple[str, str, str], tuple[str, _Ref, _Ref]] = {}
    errors: list[Unreadable] = []
    for rel, mid, tails in _relation_shapes(aux):
        for tail in tails:
            if not text.endswith(tail):
                continue
            rest = text[: len(text) - len(tail)]
            at = rest.find(mid, 1)
            while at != -1:
                try:
                    x = _read_ref(ctx, rest[:at], "x")
                    y = _read_ref(ctx, rest[at + len(mid) :], "y")
                except Unreadable as exc:
                    errors.append(exc)
                else:
                    found[(rel, x[0], y[0])] = (rel, x, y)
                at = rest.find(mid, at + 1)
    if len(found) > 1:
        raise Unreadable(
            "referent_ambiguous", f"{_short(text)!r} reads {len(found)} ways: {sorted(found)}"
        )
    if not found:
        _raise_best(errors, f"{_short(text)!r} states no relation between two features")
    return next(iter(found.values()))


class _GeoTemplate(Template):
    """Shared metadata of the geo templates."""

    family: ClassVar[str] = "geo"  # type: ignore[assignment]
    inputs: ClassVar[tuple[str, ...]] = ("geo_layers",)
    #: No SpatialEvo / VSI-Bench / MMSI-Bench category covers georeferenced vector layers.
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "spatialevo": (),
        "vsi_bench": (),
        "mmsi_bench": (),
    }


# ============================================================================ distance
@register
@dataclass(frozen=True)
class GeoDistance(_GeoTemplate):
    name = "geo_distance"
    answer_type = "number"
    metric = "mra"
    unit = "m"
    decimals = 1
    rule = (
        "Minimum geodesic distance in metres on the WGS84 ellipsoid between features A and B "
        "(geoenv.geodesy.distance_m: Geod.inv between points; otherwise the closest points "
        "found in a local azimuthal-equidistant projection centred on the pair, re-centred on "
        "their geodesic midpoint (2 passes, at most 4), and measured with Geod.inv; projected "
        "and geodesic values agree within 1 cm + 1e-4 d). Rejected when the distance is at "
        "most max(`min_distance_m`, the snap tolerance `snap_m`) (touching features: no "
        "stable MRA), or when the distance is undefined (non-point features over 10 000 km "
        "apart, or reaching over 10 000 km from the projection's centre)." + REF_RULE
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "feature key <layer>/<id>",
        "b": "feature key <layer>/<id>",
        "ref_mode": "name | attribute | wkt | coords",
    }
    slot_classes: ClassVar[dict[str, str]] = {"x": _REF_SLOT, "y": _REF_SLOT}
    min_distance_m: float = 1.0
    snap_m: float = 0.0
    _forms = forms(
        "What is the shortest distance between {x} and {y}, in metres?",
        "How many metres separate {x} from {y} at their closest points, measured on the "
        "WGS84 ellipsoid?",
        "Along the Earth's surface, how far is {x} from {y} at the nearest points? Answer in "
        "metres.",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        return _all_pairs(scene, self.name, ordered=False)

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        a, b, mode = _feature_pair(scene, params)
        det = _dist(scene, a, mode, b, mode)
        d = float(det["distance_m"])
        limit = max(self.min_distance_m, snap_of(scene, self.snap_m))
        ev = {
            "distance_m": d,
            "projected_m": float(det["projected_m"]),
            "closest_a": det["closest_a"],
            "closest_b": det["closest_b"],
        }
        if d <= limit:
            raise IllPosed(f"features {d:.3f} m apart <= {limit} m (they touch)", **ev)
        (xa, ya), (xb, yb) = det["closest_a"], det["closest_b"]
        return Answer(
            d,
            ev,
            f"The closest points of {a.label} ({xa:.6f}, {ya:.6f}) and {b.label} "
            f"({xb:.6f}, {yb:.6f}) are {d:.1f} m apart on the WGS84 ellipsoid.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        mode = str(params["ref_mode"])
        x = feature(scene, params["a"], "a").text(mode)
        y = feature(scene, params["b"], "b").text(mode)
        if rng.integers(2):
            x, y = y, x
        return Rendered(self._forms.pick(rng, x=x, y=y), [], fmt_number(answer.value, 1))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        a, b = _in_order(ctx, _read_ref(ctx, slots["x"], "x"), _read_ref(ctx, slots["y"], "y"))
        return Reading({"a": a[0], "b": b[0], "ref_mode": _read_mode(ctx, self.name, a, b)})


# ============================================================================ direction
def _rep_of(scene: Scene, f: GeoFeature, mode: str) -> tuple[float, float]:
    """Representative point of the geometry a question in ``mode`` refers to (memoised)."""
    exact = mode not in ("wkt", "coords")
    if exact:
        return _rep(scene, f)
    return memo(scene, ("geo", "rep_ref", f.key), lambda: G.representative_lonlat(f.geometry(mode)))


def _covers_point(scene: Scene, f: GeoFeature, mode: str, point: tuple[float, float]) -> bool:
    """Whether the feature covers a lon/lat point (in the AEQD centred on the feature)."""

    def make() -> bool:
        if f.dim < 2:
            return bool(shapely.intersects(f.geometry(mode), shapely.Point(point)))
        g = f.geometry(mode)
        centre = G.lonlat_centre(g)
        return bool(G.to_local(g, centre).covers(G.to_local(shapely.Point(point), centre)))

    return memo(scene, ("geo", "covers", f.key, mode in ("wkt", "coords"), point), make)


@register
@dataclass(frozen=True)
class GeoDirection(_GeoTemplate):
    name = "geo_direction"
    answer_type = "choice"
    metric = "exact"
    unit = "deg"
    slots = 4
    rule = (
        "8-way compass direction of B as seen from A: the forward azimuth (Geod.inv, degrees "
        "clockwise from true north) at A's representative point towards B's (a point is "
        "itself; a line or polygon its centroid computed in its own local azimuthal-"
        "equidistant projection), in sectors of 45 degrees centred on north, north-east, ... "
        "The answer value is the bearing in degrees [0, 360); the choices are the right sector, "
        "its two neighbours and its opposite. Rejected when the bearing is within "
        "`boundary_margin_deg` of a sector boundary (22.5 + 45 k), when the representative "
        "points are less than `min_separation_m` apart, when one feature covers the other's "
        "representative point (a feature inside or across the other: its direction is not "
        "defined by the pair), or when a polygon's centroid lies outside it (scattered "
        "multi-part features). Neighbours that only touch are asked." + REF_RULE
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "feature key <layer>/<id> (from)",
        "b": "feature key <layer>/<id> (to)",
        "ref_mode": "name | attribute | wkt | coords",
    }
    slot_classes: ClassVar[dict[str, str]] = {
        "a": _REF_SLOT,
        "b": _REF_SLOT,
        "opts": r"[\w ,-]{1,120}",
    }
    boundary_margin_deg: float = 10.0
    min_separation_m: float = 1.0
    _forms = forms(
        "In which compass direction does {b} lie as seen from {a}: {opts}?",
        "Setting off from {a} along the shortest path towards {b}, which compass direction "
        "do you head: {opts}?",
        "Relative to {a}, is {b} to the {opts}?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        return _all_pairs(scene, self.name, ordered=True)

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        a, b, mode = _feature_pair(scene, params)
        pa, pb = _rep_of(scene, a, mode), _rep_of(scene, b, mode)
        for role, f, p in (("a", a, pa), ("b", b, pb)):
            if f.dim == 2 and not _covers_point(scene, f, mode, p):
                raise IllPosed(f"{role}: the centroid of {f.key} lies outside it")
        _, _, sep = G.GEOD.inv(pa[0], pa[1], pb[0], pb[1])
        if sep < self.min_separation_m:
            raise IllPosed(f"representative points {sep:.3f} m apart", separation_m=float(sep))
        if _lower_bound(scene, a, b) <= 1.0:  # else they are provably apart
            for role, f, p in (("a", a, pb), ("b", b, pa)):
                if _covers_point(scene, f, mode, p):
                    other = "b" if role == "a" else "a"
                    raise IllPosed(f"{role} covers the representative point of {other}")
        try:  # = geodesy.bearing_deg(A, B), on the memoised representative points
            brg = G.azimuth_deg(pa[0], pa[1], pb[0], pb[1])
        except G.GeodesyError as exc:
            raise IllPosed(str(exc)) from None
        margin = G.compass_margin_deg(brg)
        ev = {
            "bearing_deg": brg,
            "boundary_margin_deg": margin,
            "from_lonlat": list(pa),
            "to_lonlat": list(pb),
            "separation_m": float(sep),
        }
        if margin < self.boundary_margin_deg:
            raise IllPosed(
                f"bearing {brg:.2f} deg is {margin:.2f} deg from a sector boundary "
                f"(< boundary_margin_deg = {self.boundary_margin_deg})",
                **ev,
            )
        sector = G.compass8(brg)
        return Answer(
            sector,
            ev,
            f"From {a.label} ({pa[0]:.6f}, {pa[1]:.6f}) the geodesic to {b.label} "
            f"({pb[0]:.6f}, {pb[1]:.6f}) sets off at {brg:.1f} deg from north: {sector}.",
        )

    def answer_value(self, answer: Answer) -> float | None:
        """The bearing in degrees clockwise from north behind the compass answer."""
        return float(answer.evidence["bearing_deg"])

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        mode = str(params["ref_mode"])
        k = G.COMPASS8.index(answer.value)
        others = [G.COMPASS8[(k + d) % 8] for d in (1, 7, 4)]
        choices = place_choice(answer.value, others, slot, rng)
        text = self._forms.pick(
            rng,
            a=feature(scene, params["a"], "a").text(mode),
            b=feature(scene, params["b"], "b").text(mode),
            opts=or_list(choices),
        )
        return Rendered(text, choices, answer.value)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        a, b = _read_ref(ctx, slots["a"], "a"), _read_ref(ctx, slots["b"], "b")
        choices = ctx.options(slots["opts"], G.COMPASS8)
        params = {"a": a[0], "b": b[0], "ref_mode": _read_mode(ctx, self.name, a, b)}
        return Reading(params, choices)


# ============================================================================ topology
#: How ``geo_topology`` words each relation ({x} relation {y}) and its auxiliary verb.
_REL_WORDS = {
    "disjoint": ("{x} and {y} disjoint (no point in common)", "are"),
    "touches": ("{x} touch {y} (boundaries meet, interiors do not)", "does"),
    "overlaps": ("{x} overlap {y} (each partly inside the other)", "does"),
    "within": ("{x} lie within {y} (entirely inside it)", "does"),
    "contains": ("{x} contain {y} (entirely)", "does"),
    "crosses": ("{x} cross {y}", "does"),
    "intersects": ("{x} intersect {y} (at least one point in common)", "does"),
}


class _BalancedBool(_GeoTemplate):
    """Bool templates whose parameters fix the asked relation: generation fills the balanced
    yes/no slots with candidates whose answer is yes / no (visited in the seeded order)."""

    def generate(self, scene: Scene, seed: int, n: int) -> list[Question]:
        rng = template_rng(seed, scene.id, self.name)
        cands = memo(scene, ("candidates", self), lambda: self.candidates(scene))
        slots = balanced_slots(n, 2, rng)
        need = [int((slots == 0).sum()), int((slots == 1).sum())]
        picked: list[tuple[dict[str, ParamValue], Answer, int]] = []
        for i in visit_order(len(cands), rng):
            if need == [0, 0]:
                break
            try:
                ans = self.answer(scene, cands[i])
            except IllPosed:
                continue
            s = 0 if ans.value else 1
            if need[s]:
                need[s] -= 1
                picked.append((cands[i], ans, s))
        return [self.question(scene, p, rng, s, answer=a) for p, a, s in picked]


@register
@dataclass(frozen=True)
class GeoTopology(_BalancedBool):
    name = "geo_topology"
    answer_type = "bool"
    metric = "exact"
    slots = 2
    rule = (
        "Does the DE-9IM relation R hold between A and B (R one of disjoint, touches, "
        "overlaps, within, contains, crosses, intersects, as shapely defines them, among those "
        "possible for the dimensions of A and B)? Computed by geoenv.geodesy.relate in the "
        "local azimuthal-equidistant projection centred on the pair, with the snap tolerance "
        "`snap_m` (boundaries within it count as coincident; docs/geo.md). Also asked "
        "inverted (B and A with the converse relation: within <-> contains). Rejected when "
        "the answer changes if the tolerance grows by `min_clearance_m` (a gap or overlap "
        "too thin to judge). Candidate pairs: lon/lat bounding boxes, each grown by half its "
        "larger side, intersect. Generation balances yes and no (the asked relation holds in "
        "half the questions)." + REF_RULE
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "feature key <layer>/<id>",
        "b": "feature key <layer>/<id>",
        "relation": "disjoint | touches | overlaps | within | contains | crosses | intersects",
        "ref_mode": "name | attribute | wkt | coords",
    }
    slot_classes: ClassVar[dict[str, str]] = {
        "body": _body_slot("does", "are"),
        "claim": _body_slot(None),
    }
    snap_m: float = 0.0
    min_clearance_m: float = 0.5
    _forms_does = forms(
        "Does {body}?",
        "Judging by their geometry, does {body}?",
        "Topologically, does {body}?",
    )
    _forms_are = forms(
        "Are {body}?",
        "Judging by their geometry, are {body}?",
        "Topologically, are {body}?",
    )
    _forms_negated = forms("Is it false that {claim}?")

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        idx = geo_index(scene)
        out: list[dict[str, ParamValue]] = []
        for ka, kb in _near_pairs(scene):
            a, b = idx[ka], idx[kb]
            mode = pick_mode(scene, self.name, (a, b))
            if mode is None:
                continue
            for rel in ALLOWED_RELATIONS.get((a.dim, b.dim), ()):
                out.append({"a": ka, "b": kb, "relation": rel, "ref_mode": mode})
        return out

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        a, b, mode = _feature_pair(scene, params)
        rel = params.get("relation")
        allowed = ALLOWED_RELATIONS.get((a.dim, b.dim), ())
        if rel not in allowed:
            raise IllPosed(
                f"relation {rel!r} is not asked for dimensions {(a.dim, b.dim)} "
                f"(allowed: {list(allowed)})"
            )
        snap = snap_of(scene, self.snap_m)
        r = _relate(scene, a, mode, b, mode, snap)
        r2 = _relate(scene, a, mode, b, mode, snap + self.min_clearance_m)
        ev = {
            "relation": rel,
            "holds": bool(r[rel]),
            "de9im": r["de9im"],
            "rcc8": r["rcc8"],
            "distance_m": r["distance_m"],
            "snap_m": snap,
        }
        if r[rel] != r2[rel]:
            raise IllPosed(
                f"{rel} changes when the tolerance grows by min_clearance_m = "
                f"{self.min_clearance_m} m",
                **ev,
            )
        holds = bool(r[rel])
        extra = f", RCC8 {r['rcc8']}" if r["rcc8"] else ""
        return Answer(
            holds,
            ev,
            f"DE-9IM of {a.label} and {b.label} is {r['de9im']}{extra} (snap {snap:g} m): "
            f"{rel} is {'true' if holds else 'false'}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        mode = str(params["ref_mode"])
        x = feature(scene, params["a"], "a").text(mode)
        y = feature(scene, params["b"], "b").text(mode)
        rel = str(params["relation"])
        if rng.integers(2):  # inverted: the converse relation with B first
            x, y, rel = y, x, CONVERSE.get(rel, rel)
        phrase, aux = _REL_WORDS[rel]
        body = phrase.format(x=x, y=y)
        if bool(answer.value) == (slot == 0):
            f = self._forms_are if aux == "are" else self._forms_does
            text = f.pick(rng, body=body)
        else:  # a caller asked for the other answer: the negated claim
            if aux == "are":
                claim = body.replace(f"{x} and {y} ", f"{x} and {y} are ", 1)
            else:
                claim = _third_person(body, x)
            text = self._forms_negated.pick(rng, claim=claim)
        return Rendered(text, [], _bool_text(slot == 0))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        negated = form == "_forms_negated"
        aux = None if negated else ("are" if form == "_forms_are" else "does")
        rel, x, y = _read_body(ctx, slots["claim" if negated else "body"], aux)
        a, b = _in_order(ctx, x, y)
        if a[0] != x[0]:  # the text names B first: the converse relation
            rel = CONVERSE.get(rel, rel)
        params = {"a": a[0], "b": b[0], "relation": rel}
        return yes_no(params | {"ref_mode": _read_mode(ctx, self.name, a, b)}, flip=negated)


_RELATION_CHOICE = {
    "equals": "A and B are equal",
    "within": "A lies within B",
    "contains": "A contains B",
    "touches": "A touches B",
    "crosses": "A crosses B",
    "overlaps": "A and B overlap",
    "disjoint": "A and B are disjoint",
}


@register
@dataclass(frozen=True)
class GeoRelation(_GeoTemplate):
    name = "geo_relation"
    answer_type = "choice"
    metric = "exact"
    slots = 4
    rule = (
        "Which topological relation holds between A and B: the first true DE-9IM predicate "
        "(geoenv.geodesy.relate, snap tolerance `snap_m`) in the order equals, within, "
        "contains, touches, crosses, overlaps, disjoint (mutually exclusive for valid "
        "geometries; the RCC8 name of two regions is in the evidence). Choices: the right "
        "relation and 3 others, preferring relations possible for the dimensions of A and B; "
        "A and B may be presented in either order (within <-> contains). Rejected when the "
        "named relation changes if the tolerance grows by `min_clearance_m`. Candidate pairs "
        "as for geo_topology." + REF_RULE
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "feature key <layer>/<id>",
        "b": "feature key <layer>/<id>",
        "ref_mode": "name | attribute | wkt | coords",
    }
    slot_classes: ClassVar[dict[str, str]] = {
        "x": _REF_SLOT,
        "y": _REF_SLOT,
        "opts": r"[\w ;]{1,300}",
    }
    snap_m: float = 0.0
    min_clearance_m: float = 0.5
    _forms = forms(
        "Let A be {x} and B be {y}. Which statement describes their topological relation: {opts}?",
        "Consider A = {x} and B = {y}. How are they related spatially: {opts}?",
        "With A = {x} and B = {y}, which of these is true: {opts}?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        idx = geo_index(scene)
        out: list[dict[str, ParamValue]] = []
        for ka, kb in _near_pairs(scene):
            mode = pick_mode(scene, self.name, (idx[ka], idx[kb]))
            if mode is not None:
                out.append({"a": ka, "b": kb, "ref_mode": mode})
        return out

    @staticmethod
    def _named(r: dict[str, Any]) -> str | None:
        return next((n for n in NAMED_RELATIONS if r[n]), None)

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        a, b, mode = _feature_pair(scene, params)
        snap = snap_of(scene, self.snap_m)
        r = _relate(scene, a, mode, b, mode, snap)
        r2 = _relate(scene, a, mode, b, mode, snap + self.min_clearance_m)
        named, named2 = self._named(r), self._named(r2)
        ev = {
            "relation": named,
            "de9im": r["de9im"],
            "rcc8": r["rcc8"],
            "distance_m": r["distance_m"],
            "snap_m": snap,
        }
        if named is None:
            raise IllPosed("no named relation holds (mixed-dimension collection?)", **ev)
        if named != named2:
            raise IllPosed(
                f"relation {named} becomes {named2} when the tolerance grows by "
                f"min_clearance_m = {self.min_clearance_m} m",
                **ev,
            )
        extra = f", RCC8 {r['rcc8']}" if r["rcc8"] else ""
        return Answer(
            named,
            ev,
            f"DE-9IM of {a.label} (A) and {b.label} (B) is {r['de9im']}{extra} "
            f"(snap {snap:g} m): {_RELATION_CHOICE[named]}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        mode = str(params["ref_mode"])
        a, b = feature(scene, params["a"], "a"), feature(scene, params["b"], "b")
        rel, dims = str(answer.value), (a.dim, b.dim)
        if rng.integers(2):  # present B as A
            a, b, rel, dims = b, a, CONVERSE.get(rel, rel), (b.dim, a.dim)
        possible = set(ALLOWED_RELATIONS.get(dims, ())) | (
            {"equals"} if dims[0] == dims[1] else set()
        )
        pool = [n for n in NAMED_RELATIONS if n != rel and n in possible]
        rest = [n for n in NAMED_RELATIONS if n != rel and n not in possible]
        pool = [pool[i] for i in rng.permutation(len(pool))] + rest
        choices = place_choice(
            _RELATION_CHOICE[rel], [_RELATION_CHOICE[n] for n in pool[:3]], slot, rng
        )
        text = self._forms.pick(rng, x=a.text(mode), y=b.text(mode), opts="; ".join(choices))
        return Rendered(text, choices, _RELATION_CHOICE[rel])

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        x, y = _read_ref(ctx, slots["x"], "x"), _read_ref(ctx, slots["y"], "y")
        a, b = _in_order(ctx, x, y)
        swapped = a[0] != x[0]  # the text presents B as A
        by_text = {v.lower(): v for v in _RELATION_CHOICE.values()}
        choices = []
        for opt in slots["opts"].split(";"):
            choice = by_text.get(_SPACES.sub(" ", opt).strip())
            if choice is None:
                raise Unreadable("bad_options", f"options: {_short(opt)!r} is no relation")
            choices.append(choice)
        if len(set(choices)) != len(choices):
            raise Unreadable("bad_options", "options: a relation is offered twice")

        def text_answer(value: Any) -> str:
            rel = str(value)
            return _RELATION_CHOICE[CONVERSE.get(rel, rel) if swapped else rel]

        params = {"a": a[0], "b": b[0], "ref_mode": _read_mode(ctx, self.name, a, b)}
        return Reading(params, choices, text_answer)


# ============================================================================ measures
@register
@dataclass(frozen=True)
class GeoArea(_GeoTemplate):
    name = "geo_area"
    answer_type = "number"
    metric = "mra"
    unit = "m2"
    decimals = 0
    rule = (
        "Geodesic area in square metres of polygonal feature A on the WGS84 ellipsoid "
        "(geoenv.geodesy.area_m2: Geod.polygon_area_perimeter per ring, exterior minus holes, "
        "parts summed; parts split at the antimeridian add up). Rejected below "
        "`min_area_m2`." + REF_RULE
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "feature key <layer>/<id> (polygonal)",
        "ref_mode": "name | attribute | wkt | coords",
    }
    slot_classes: ClassVar[dict[str, str]] = {"a": _REF_SLOT}
    min_area_m2: float = 1.0
    _forms = forms(
        "What is the area of {a}, in square metres?",
        "How many square metres does {a} cover on the ground (WGS84 ellipsoid)?",
        "Measured on the WGS84 ellipsoid, how large is {a}? Answer in m².",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        out: list[dict[str, ParamValue]] = []
        for f in geo_index(scene).values():
            mode = pick_mode(scene, self.name, (f,))
            if f.dim == 2 and mode is not None:
                out.append({"a": f.key, "ref_mode": mode})
        return out

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        a = feature(scene, params.get("a"), "a")
        mode = check_mode(params.get("ref_mode"), (a,))
        if a.dim != 2:
            raise IllPosed(f"a: {a.key} is not polygonal")
        area = G.area_m2(a.geometry(mode))
        ev = {"area_m2": area, "parts": int(shapely.get_num_geometries(a.geom))}
        if area < self.min_area_m2:
            raise IllPosed(f"area {area:.3f} m2 < min_area_m2 = {self.min_area_m2}", **ev)
        return Answer(
            area,
            ev,
            f"{a.label} covers {area:,.0f} m² ({area / 1e6:.3f} km²) on the WGS84 ellipsoid.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        a = feature(scene, params["a"], "a").text(str(params["ref_mode"]))
        return Rendered(self._forms.pick(rng, a=a), [], fmt_number(answer.value, 0))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        a = _read_ref(ctx, slots["a"], "a")
        return Reading({"a": a[0], "ref_mode": _read_mode(ctx, self.name, a)})


@register
@dataclass(frozen=True)
class GeoLength(_GeoTemplate):
    name = "geo_length"
    answer_type = "number"
    metric = "mra"
    unit = "m"
    decimals = 1
    rule = (
        "Geodesic length in metres on the WGS84 ellipsoid: `measure = length` for a linear "
        "feature (sum of Geod.inv edge lengths, geoenv.geodesy.length_m), `measure = "
        "perimeter` for a polygonal one (all rings, geoenv.geodesy.perimeter_m; edges on the "
        "antimeridian that only cut a split feature are not counted). Rejected below "
        "`min_length_m`." + REF_RULE
    )
    param_doc: ClassVar[dict[str, str]] = {
        "a": "feature key <layer>/<id> (linear or polygonal)",
        "measure": "length (lines) | perimeter (polygons)",
        "ref_mode": "name | attribute | wkt | coords",
    }
    slot_classes: ClassVar[dict[str, str]] = {"a": _REF_SLOT}
    min_length_m: float = 1.0
    _forms_length = forms(
        "How long is {a}, in metres?",
        "What is the length of {a} measured along the WGS84 ellipsoid, in metres?",
        "Following {a} from end to end, how many metres is it?",
    )
    _forms_perimeter = forms(
        "What is the perimeter of {a}, in metres?",
        "How many metres long is the boundary of {a} (WGS84 ellipsoid)?",
        "Walking once around the edge of {a}, how many metres would you cover?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        out: list[dict[str, ParamValue]] = []
        for f in geo_index(scene).values():
            mode = pick_mode(scene, self.name, (f,))
            if mode is not None and f.dim in (1, 2):
                m = "length" if f.dim == 1 else "perimeter"
                out.append({"a": f.key, "measure": m, "ref_mode": mode})
        return out

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        a = feature(scene, params.get("a"), "a")
        mode = check_mode(params.get("ref_mode"), (a,))
        measure = params.get("measure")
        want = {"length": 1, "perimeter": 2}.get(str(measure))
        if want is None:
            raise IllPosed(f"measure must be 'length' or 'perimeter', not {measure!r}")
        if a.dim != want:
            raise IllPosed(f"{measure} needs a {'linear' if want == 1 else 'polygonal'} feature")
        g = a.geometry(mode)
        v = G.length_m(g) if want == 1 else G.perimeter_m(g)
        ev = {f"{measure}_m": v}
        if v < self.min_length_m:
            raise IllPosed(f"{measure} {v:.3f} m < min_length_m = {self.min_length_m}", **ev)
        return Answer(v, ev, f"The geodesic {measure} of {a.label} is {v:.1f} m.")

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        a = feature(scene, params["a"], "a").text(str(params["ref_mode"]))
        f = self._forms_length if params["measure"] == "length" else self._forms_perimeter
        return Rendered(f.pick(rng, a=a), [], fmt_number(answer.value, 1))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        a = _read_ref(ctx, slots["a"], "a")
        measure = form.removeprefix("_forms_")
        return Reading({"a": a[0], "measure": measure, "ref_mode": _read_mode(ctx, self.name, a)})


# ============================================================================ nearest
@register
@dataclass(frozen=True)
class GeoNearest(_GeoTemplate):
    name = "geo_nearest"
    answer_type = "choice"
    metric = "exact"
    slots = 4
    rule = (
        "Which of 4 candidate features is nearest to (mode `closest`) or farthest from (mode "
        "`farthest`) feature X, by minimum geodesic distance (geoenv.geodesy.distance_m). "
        "Candidate sets of X: 4-subsets of X's pool, the `pool_size` other features whose "
        "representative points are nearest to X's (all subsets, or `max_sets` drawn with a "
        "generator seeded by (scene id, X)). Rejected when the best and second-best distances "
        "differ by less than max(`min_margin_m`, `min_margin_rel` x the best), or when a "
        "distance is undefined (pair too large for a local projection). Choices are feature "
        "labels (names, else keys)." + REF_RULE
    )
    param_doc: ClassVar[dict[str, str]] = {
        "x": "feature key <layer>/<id> (the anchor)",
        "candidates": "4 feature keys (distinct, not x)",
        "mode": "closest | farthest",
        "ref_mode": "name | attribute | wkt | coords (for x)",
    }
    min_margin_m: float = 1.0
    min_margin_rel: float = 0.10
    pool_size: int = 8
    max_sets: int = 16
    slot_classes: ClassVar[dict[str, str]] = {"x": _REF_SLOT, "opts": _REF_SLOT}
    _forms_closest = forms(
        "Which of these is closest to {x}: {opts}?",
        "Measured between nearest points on the ellipsoid, which feature is nearest to {x}: "
        "{opts}?",
        "Of {opts}, which one lies the shortest distance from {x}?",
    )
    _forms_farthest = forms(
        "Which of these is farthest from {x}: {opts}?",
        "Measured between nearest points on the ellipsoid, which feature is farthest from "
        "{x}: {opts}?",
        "Of {opts}, which one lies the greatest distance from {x}?",
    )

    def _pool(self, scene: Scene, x: GeoFeature) -> list[GeoFeature]:
        others = [f for f in geo_index(scene).values() if f.key != x.key]
        if not others:
            return []
        px = _rep(scene, x)
        reps = np.array([_rep(scene, f) for f in others])
        n = len(reps)
        _, _, d = G.GEOD.inv(np.full(n, px[0]), np.full(n, px[1]), reps[:, 0], reps[:, 1])
        order = np.argsort(np.asarray(d), kind="stable")[: self.pool_size]
        return [others[i] for i in sorted(order.tolist())]

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        out: list[dict[str, ParamValue]] = []
        for x in geo_index(scene).values():
            mode = pick_mode(scene, self.name, (x,))
            pool = self._pool(scene, x)
            if mode is None or len(pool) < self.slots:
                continue
            if math.comb(len(pool), self.slots) <= self.max_sets:
                sets = [list(c) for c in combinations(range(len(pool)), self.slots)]
            else:
                rng = np.random.default_rng(stable_seed(scene.id, self.name, x.key))
                picked: set[tuple[int, ...]] = set()
                while len(picked) < self.max_sets:
                    picked.add(tuple(sorted(rng.choice(len(pool), self.slots, replace=False))))
                sets = [list(c) for c in sorted(picked)]
            for s in sets:
                keys: list[str] = [pool[i].key for i in s]
                for m in ("closest", "farthest"):
                    out.append({"x": x.key, "candidates": keys, "mode": m, "ref_mode": mode})
        return out

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        x = feature(scene, params.get("x"), "x")
        cands = params.get("candidates")
        if not isinstance(cands, list) or len(cands) != self.slots:
            raise IllPosed(f"candidates must be a list of {self.slots} feature keys")
        feats = [feature(scene, c, f"candidates[{i}]") for i, c in enumerate(cands)]
        _distinct(x, *feats)
        mode = check_mode(params.get("ref_mode"), (x,))
        kind = params.get("mode")
        if kind not in ("closest", "farthest"):
            raise IllPosed(f"mode must be 'closest' or 'farthest', not {kind!r}")
        d = np.array([_dist(scene, x, mode, f, EXACT)["distance_m"] for f in feats])
        order = np.argsort(d if kind == "closest" else -d, kind="stable")
        best, second = float(d[order[0]]), float(d[order[1]])
        need = max(self.min_margin_m, self.min_margin_rel * best)
        ev = {
            "distances_m": {f.key: float(v) for f, v in zip(feats, d, strict=True)},
            "margin_m": abs(second - best),
        }
        if abs(second - best) < need:
            raise IllPosed(f"margin {abs(second - best):.3f} m < {need:.3f} m", **ev)
        win = feats[int(order[0])]
        listing = ", ".join(f"{f.label} {v:.1f} m" for f, v in zip(feats, d, strict=True))
        return Answer(
            win.label,
            ev,
            f"Minimum geodesic distances from {x.label}: {listing}; the {kind} is {win.label}.",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        labels = [feature(scene, c, "c").label for c in params["candidates"]]  # type: ignore[union-attr]
        others = [lab for lab in labels if lab != answer.value]
        choices = place_choice(answer.value, others, slot, rng)
        f = self._forms_closest if params["mode"] == "closest" else self._forms_farthest
        x = feature(scene, params["x"], "x").text(str(params["ref_mode"]))
        return Rendered(f.pick(rng, x=x, opts=or_list(choices)), choices, answer.value)

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        x = _read_ref(ctx, slots["x"], "x")
        keys = _read_labels(ctx, slots["opts"])
        lk, idx = _lookup(ctx.scene), geo_index(ctx.scene)
        params = {
            "x": x[0],
            "candidates": sorted(keys, key=lk.order.__getitem__),
            "mode": form.removeprefix("_forms_"),
            "ref_mode": _read_mode(ctx, self.name, x),
        }
        return Reading(params, [idx[k].label for k in keys])


# ============================================================================ counts and groups
def _nice_radii(scene: Scene) -> list[float]:
    """Radii (m) of ``geo_count_within``: the 1-2-5 series values between 1/20 and 1/2 of the
    scene's extent (twice the largest distance from the centre of the representative points
    to one of them), capped at 5000 km."""

    def make() -> list[float]:
        feats = list(geo_index(scene).values())
        if len(feats) < 2:
            return []
        reps = np.array([_rep(scene, f) for f in feats])
        c = G.lonlat_centre(shapely.multipoints(reps))
        n = len(reps)
        _, _, d = G.GEOD.inv(np.full(n, c[0]), np.full(n, c[1]), reps[:, 0], reps[:, 1])
        extent = 2 * float(np.max(d))
        lo, hi = extent / 20, min(extent / 2, 5e6)
        out = []
        for e in range(0, 8):
            for m in (1, 2, 5):
                r = float(m * 10**e)
                if lo <= r <= hi:
                    out.append(r)
        return out

    return memo(scene, ("geo", "radii"), make)


def _inside(
    scene: Scene, members: list[GeoFeature], p: GeoFeature, mode: str, snap: float
) -> tuple[list[GeoFeature], list[str]]:
    """(members inside polygon P, members partly inside it) by relate with tolerance snap."""
    inside, partial = [], []
    for f in members:
        if f.key == p.key or _lower_bound(scene, f, p) > snap + 1.0:
            continue
        r = _relate(scene, f, EXACT, p, mode, snap)
        if r["covered_by"]:
            inside.append(f)
        elif r["intersects"] and not r["touches"]:
            partial.append(f.key)
    return inside, partial


def _within_radius(
    scene: Scene, members: list[GeoFeature], x: GeoFeature, mode: str, r: float, margin: float
) -> tuple[list[str], dict[str, float], list[str]]:
    """(members within r of X, the measured distances, members within ``margin`` of r).

    Members provably farther than r + margin (triangle inequality on representative points
    and reaches) are not measured; X itself is excluded."""
    dists: dict[str, float] = {}
    for f in members:
        if f.key == x.key or _lower_bound(scene, f, x) > r + margin:
            continue
        dists[f.key] = float(_dist(scene, x, mode, f, EXACT)["distance_m"])
    close = sorted(k for k, v in dists.items() if abs(v - r) < margin)
    inside = [k for k, v in dists.items() if v <= r]
    return inside, dists, close


def _check_radius(r: object) -> float:
    if isinstance(r, bool) or not isinstance(r, int | float) or not r > 0 or not math.isfinite(r):
        raise IllPosed(f"radius_m must be a positive number, got {r!r}")
    return float(r)


@register
@dataclass(frozen=True)
class GeoCountWithin(_GeoTemplate):
    name = "geo_count_within"
    answer_type = "count"
    metric = "mra"
    unit = "count"
    decimals = 0
    rule = (
        "How many features of a class (field=value, over all layers) lie within R metres of "
        "feature X (`scope = radius`: minimum geodesic distance <= R, X itself excluded) or "
        "inside polygonal feature P (`scope = inside`: covered by P under the snap tolerance "
        "`snap_m`, P excluded). Radii: the 1-2-5 series values between 1/20 and 1/2 of the "
        "scene's extent (at most 5000 km). Rejected when the count is 0, when a member's "
        "distance is within max(`min_margin_m`, `min_margin_rel` x R) of R, when a member is "
        "partly inside P (crosses or overlaps it), or when a needed distance is undefined. "
        "Members provably far away (triangle inequality on representative points) are not "
        "measured." + REF_RULE
    )
    param_doc: ClassVar[dict[str, str]] = {
        "category": "class as field=value (e.g. kind=building)",
        "scope": "radius | inside",
        "x": "feature key <layer>/<id> (scope radius: the centre feature; inside: polygon P)",
        "radius_m": "R in metres (scope radius)",
        "ref_mode": "name | attribute | wkt | coords (for x)",
    }
    slot_classes: ClassVar[dict[str, str]] = {"c": _CLASS_SLOT, "r": _RADIUS_SLOT, "x": _REF_SLOT}
    min_margin_m: float = 1.0
    min_margin_rel: float = 0.05
    snap_m: float = 0.0
    _forms_radius = forms(
        "How many {c} lie within {r} of {x}?",
        "Counting by nearest points on the ellipsoid, how many {c} are at most {r} from {x}?",
        "Within a distance of {r} from {x}, how many {c} are there?",
    )
    _forms_inside = forms(
        "How many {c} lie inside {x}?",
        "Count the {c} that are entirely within {x}. How many are there?",
        "What is the number of {c} contained in {x}?",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        out: list[dict[str, ParamValue]] = []
        radii = _nice_radii(scene)
        classes = list(_classes(scene))
        for x in geo_index(scene).values():
            mode = pick_mode(scene, self.name, (x,))
            if mode is None:
                continue
            for field, value in classes:
                cat = f"{field}={value}"
                for r in radii:
                    out.append(
                        {
                            "category": cat,
                            "scope": "radius",
                            "x": x.key,
                            "radius_m": r,
                            "ref_mode": mode,
                        }
                    )
                if x.dim == 2:
                    out.append({"category": cat, "scope": "inside", "x": x.key, "ref_mode": mode})
        return out

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        field, value, members = _class_members(scene, params.get("category"))
        x = feature(scene, params.get("x"), "x")
        mode = check_mode(params.get("ref_mode"), (x,))
        scope = params.get("scope")
        if scope == "radius":
            r = _check_radius(params.get("radius_m"))
            margin = max(self.min_margin_m, self.min_margin_rel * r)
            inside, dists, close = _within_radius(scene, members, x, mode, r, margin)
            ev = {"members": inside, "distances_m": dists, "margin_m": margin}
            if close:
                raise IllPosed(f"{close} within {margin:.2f} m of R = {r:g} m", **ev)
            how = f"within {_radius_text(r)} of {x.label}"
        elif scope == "inside":
            if x.dim != 2:
                raise IllPosed(f"x: {x.key} is not polygonal")
            snap = snap_of(scene, self.snap_m)
            feats, partial = _inside(scene, members, x, mode, snap)
            inside = [f.key for f in feats]
            ev = {"members": inside, "partly_inside": partial, "snap_m": snap}
            if partial:
                raise IllPosed(f"{partial} are partly inside {x.key}", **ev)
            how = f"inside {x.label}"
        else:
            raise IllPosed(f"scope must be 'radius' or 'inside', not {scope!r}")
        if not inside:
            raise IllPosed("count is 0 (no MRA)", **ev)
        labels = ", ".join(geo_index(scene)[k].label for k in inside)
        n = len(inside)
        what = _class_phrase(field, value, many=n > 1)
        return Answer(n, ev, f"{n} {what} {'lie' if n > 1 else 'lies'} {how}: {labels}.")

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        field, _, value = str(params["category"]).partition("=")
        c = _class_phrase(field, value, many=True)
        x = feature(scene, params["x"], "x").text(str(params["ref_mode"]))
        if params["scope"] == "radius":
            r = _radius_text(float(params["radius_m"]))  # type: ignore[arg-type]
            text = self._forms_radius.pick(rng, c=c, r=r, x=x)
        else:
            text = self._forms_inside.pick(rng, c=c, x=x)
        return Rendered(text, [], str(answer.value))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return Reading(_read_group(ctx, self.name, form, slots))


def _radius_text(r: float) -> str:
    return f"{r / 1000:g} km" if r >= 1000 else f"{r:g} m"


def _read_group(
    ctx: ReadContext, template: str, form: str, slots: dict[str, str]
) -> dict[str, ParamValue]:
    """Parameters of a class query (``geo_count_within``, ``geo_group_area``): the scope is
    the paraphrase set's (``_forms_all`` / ``_forms_inside`` / ``_forms_radius``)."""
    scope = form.removeprefix("_forms_")
    params: dict[str, ParamValue] = {"category": _read_class(ctx, slots["c"]), "scope": scope}
    if scope == "all":
        return params
    x = _read_ref(ctx, slots["x"], "x")
    params |= {"x": x[0], "ref_mode": _read_mode(ctx, template, x)}
    if scope == "radius":
        params["radius_m"] = _read_radius(slots["r"])
    return params


@register
@dataclass(frozen=True)
class GeoGroupArea(_GeoTemplate):
    name = "geo_group_area"
    answer_type = "number"
    metric = "mra"
    unit = "m2"
    decimals = 0
    rule = (
        "Group query: the total geodesic area (m², geoenv.geodesy.area_m2 summed) of the "
        "polygonal features of a class (field=value, over all layers): all of them (`scope = "
        "all`), those inside polygonal feature P (`scope = inside`: covered by P under the "
        "snap tolerance `snap_m`, P excluded), or those within R metres of feature X (`scope = "
        "radius`: minimum geodesic distance <= R, X excluded; radii as in geo_count_within). "
        "Rejected when fewer than `min_members` features are in the group, when a member is "
        "partly inside P, when a member's distance is within max(`min_margin_m`, "
        "`min_margin_rel` x R) of R, or when the total is under `min_area_m2`." + REF_RULE
    )
    param_doc: ClassVar[dict[str, str]] = {
        "category": "class as field=value (e.g. kind=park)",
        "scope": "all | inside | radius",
        "x": "feature key <layer>/<id> (scope inside: polygon P; radius: the centre feature)",
        "radius_m": "R in metres (scope radius)",
        "ref_mode": "name | attribute | wkt | coords (for x)",
    }
    min_members: int = 2
    min_area_m2: float = 1.0
    min_margin_m: float = 1.0
    min_margin_rel: float = 0.05
    snap_m: float = 0.0
    slot_classes: ClassVar[dict[str, str]] = {"c": _CLASS_SLOT, "r": _RADIUS_SLOT, "x": _REF_SLOT}
    _forms_all = forms(
        "What is the total area of all {c}, in square metres?",
        "Adding up their areas on the WGS84 ellipsoid, how many square metres do the {c} "
        "cover together?",
        "Taken together, how large are all the {c}? Answer in m².",
    )
    _forms_inside = forms(
        "What is the total area of all {c} inside {x}, in square metres?",
        "Adding up their areas, how many square metres do the {c} lying within {x} cover?",
        "Taken together, how large are the {c} contained in {x}? Answer in m².",
    )
    _forms_radius = forms(
        "What is the total area of all {c} within {r} of {x}, in square metres?",
        "Adding up their areas, how many square metres do the {c} at most {r} from {x} cover?",
        "Taken together, how large are the {c} lying within {r} of {x}? Answer in m².",
    )

    def candidates(self, scene: Scene) -> list[dict[str, ParamValue]]:
        out: list[dict[str, ParamValue]] = []
        classes = [k for k, members in _classes(scene).items() if any(f.dim == 2 for f in members)]
        for field, value in classes:
            out.append({"category": f"{field}={value}", "scope": "all"})
        radii = _nice_radii(scene)
        for x in geo_index(scene).values():
            mode = pick_mode(scene, self.name, (x,))
            if mode is None:
                continue
            for field, value in classes:
                cat = f"{field}={value}"
                if x.dim == 2:
                    out.append({"category": cat, "scope": "inside", "x": x.key, "ref_mode": mode})
                for r in radii:
                    out.append(
                        {
                            "category": cat,
                            "scope": "radius",
                            "x": x.key,
                            "radius_m": r,
                            "ref_mode": mode,
                        }
                    )
        return out

    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        field, value, members = _class_members(scene, params.get("category"))
        polys = [f for f in members if f.dim == 2]
        scope = params.get("scope")
        if scope == "all":
            group, where = polys, ""
            ev: dict[str, Any] = {}
        elif scope == "inside":
            x = feature(scene, params.get("x"), "x")
            mode = check_mode(params.get("ref_mode"), (x,))
            if x.dim != 2:
                raise IllPosed(f"x: {x.key} is not polygonal")
            snap = snap_of(scene, self.snap_m)
            group, partial = _inside(scene, polys, x, mode, snap)
            ev = {"partly_inside": partial, "snap_m": snap}
            if partial:
                raise IllPosed(f"{partial} are partly inside {x.key}", **ev)
            where = f" inside {x.label}"
        elif scope == "radius":
            x = feature(scene, params.get("x"), "x")
            mode = check_mode(params.get("ref_mode"), (x,))
            r = _check_radius(params.get("radius_m"))
            margin = max(self.min_margin_m, self.min_margin_rel * r)
            keys, dists, close = _within_radius(scene, polys, x, mode, r, margin)
            ev = {"distances_m": dists, "margin_m": margin}
            if close:
                raise IllPosed(f"{close} within {margin:.2f} m of R = {r:g} m", **ev)
            idx = geo_index(scene)
            group, where = [idx[k] for k in keys], f" within {_radius_text(r)} of {x.label}"
        else:
            raise IllPosed(f"scope must be 'all', 'inside' or 'radius', not {scope!r}")
        areas = {f.key: _area(scene, f) for f in group}
        total = float(sum(areas.values()))
        ev |= {"members": list(areas), "areas_m2": areas, "total_m2": total}
        if len(group) < self.min_members:
            raise IllPosed(f"{len(group)} members < min_members = {self.min_members}", **ev)
        if total < self.min_area_m2:
            raise IllPosed(f"total {total:.3f} m2 < min_area_m2 = {self.min_area_m2}", **ev)
        listing = " + ".join(f"{geo_index(scene)[k].label} {v:,.0f}" for k, v in areas.items())
        return Answer(
            total,
            ev,
            f"The {len(group)} {_class_phrase(field, value, many=True)}{where}: {listing} = "
            f"{total:,.0f} m².",
        )

    def render(self, scene, params, answer, rng, slot) -> Rendered:
        field, _, value = str(params["category"]).partition("=")
        c = _class_phrase(field, value, many=True)
        if params["scope"] == "all":
            text = self._forms_all.pick(rng, c=c)
        else:
            x = feature(scene, params["x"], "x").text(str(params["ref_mode"]))
            if params["scope"] == "inside":
                text = self._forms_inside.pick(rng, c=c, x=x)
            else:
                r = _radius_text(float(params["radius_m"]))  # type: ignore[arg-type]
                text = self._forms_radius.pick(rng, c=c, x=x, r=r)
        return Rendered(text, [], fmt_number(answer.value, 0))

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        return Reading(_read_group(ctx, self.name, form, slots))
