"""GeoJSON (RFC 7946) vector layers: a FeatureCollection, a single Feature or a bare geometry.

The file becomes a :class:`~geoenv.scene.Scene` with no objects and one
:class:`~geoenv.geo.GeoLayer` (``scene.geo_layers[layer]``; layer name and scene id default to
the file stem). Coordinates stay in the file's CRS, always in x = lon / easting, y = lat /
northing order (``always_xy``); :attr:`GeoLayer.lonlat` and :attr:`GeoLayer.local` give WGS84
degrees and the layer's local metric projection.

CRS: RFC 7946 data are OGC:CRS84 (WGS84 lon/lat). The pre-RFC ``crs`` member
(``{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}}`` or
``{"type": "EPSG", "properties": {"code": 32633}}``) is honoured, and the ``crs=`` option
overrides both. Feature ids: the features' ``id`` members when every feature has one and they
are unique (compared as strings), otherwise ``f"{layer}:{index}"`` for every feature, with a
note saying why; ``id_field=`` names a property to use instead (it must be present and unique).

Validation (errors name the file and ``features[i].geometry``): missing/empty geometries,
coordinates that are not numbers, non-finite coordinates (:class:`NonFiniteError`),
LineStrings with fewer than 2 positions, rings with fewer than 4 positions or not closed,
longitude/latitude outside +-180/+-90 in a geographic CRS (typically swapped axes), and
invalid geometries (self-intersections...). With ``repair=True`` unclosed rings are closed and
invalid geometries are fixed with ``shapely.make_valid``; every repair is recorded in
``scene.metadata["notes"]`` and the layer's notes.

:func:`write_geojson` writes a layer as RFC 7946 GeoJSON (WGS84, deterministic bytes).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyproj
import shapely
from pydantic import BaseModel, ConfigDict, ValidationError
from shapely.errors import GEOSException
from shapely.geometry import mapping, shape

from geoenv.errors import (
    CRSError,
    EmptyInstanceError,
    InvalidGeometryError,
    NonFiniteError,
    SceneFormatError,
)
from geoenv.geo import GeoLayer, parse_crs
from geoenv.scene import Scene
from geoenv.scenes.registry import register

#: The RFC 7946 CRS: WGS84 longitude, latitude (degrees), lon first.
CRS84 = pyproj.CRS.from_user_input("OGC:CRS84")

#: GeoJSON geometry types with ``coordinates`` (all but GeometryCollection).
_COORD_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
GEOMETRY_TYPES = _COORD_TYPES | {"GeometryCollection"}
#: Relative slack on the +-180 / +-90 lon/lat limits, for rounding noise in real data
#: (Natural Earth has a longitude of 180.00000000000006); 1e-12 * 180 deg is ~2e-5 m.
RANGE_SLACK = 1e-12

#: Files bigger than this are sniffed from their first :data:`_SNIFF_HEAD` bytes only.
_SNIFF_FULL_PARSE = 1 << 20
_SNIFF_HEAD = 1 << 16
_SNIFF_RE = re.compile(rb'"type"\s*:\s*"(FeatureCollection|Feature)"')


# ---------------------------------------------------------------------------- envelope models
class _CRSMember(BaseModel):
    """The pre-RFC 7946 (GJ2008) ``crs`` member."""

    model_config = ConfigDict(extra="allow")
    type: str
    properties: dict[str, Any]


class _Feature(BaseModel):
    model_config = ConfigDict(extra="allow")  # RFC 7946 section 6.1: foreign members
    type: Literal["Feature"]
    id: Any = None
    geometry: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    bbox: list[float] | None = None


class _FeatureCollection(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["FeatureCollection"]
    features: list[_Feature]
    crs: Any = None
    bbox: list[float] | None = None


def loc_to_field(loc: Sequence[str | int], prefix: str = "") -> str:
    """Pydantic error location -> dotted field path (``("features", 3, "id")`` ->
    ``features[3].id``), after ``prefix``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def validate_model(model: type[BaseModel], data: Any, path: Path, prefix: str = "") -> Any:
    """``model.model_validate(data)``, turning ValidationError into SceneFormatError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
        raise SceneFormatError(path, loc_to_field(err["loc"], prefix), err["msg"] + more) from None


# ---------------------------------------------------------------------------- shared checks
def first_index(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _geographic_limits(crs: pyproj.CRS) -> tuple[float, float]:
    """(lon, lat) magnitude limits in the unit of a geographic CRS's axes (180/90 for degrees)."""
    factor = crs.axis_info[0].unit_conversion_factor  # radians per unit
    scale = 1.0 if abs(factor - np.pi / 180) < 1e-12 else (np.pi / 180) / factor
    return 180.0 * scale, 90.0 * scale


def _first_nonfinite_z(geoms: np.ndarray) -> tuple[int, list[float]] | None:
    """(index, xyz) of the first geometry with a NaN/inf z, or None.

    Only 3D parts are checked: a GeometryCollection may mix 2D and 3D members, and asking a
    2D member for z would report NaN."""
    owner = np.flatnonzero(shapely.has_z(geoms))
    sub = geoms[owner]
    while len(sub):
        is_gc = shapely.get_type_id(sub) == 7
        xyz, k = shapely.get_coordinates(sub[~is_gc], include_z=True, return_index=True)
        bad = ~np.isfinite(xyz[:, 2])
        if bad.any():
            j = first_index(bad)
            return int(owner[~is_gc][k[j]]), xyz[j].tolist()
        parts, pidx = shapely.get_parts(sub[is_gc], return_index=True)
        keep = shapely.has_z(parts)
        sub, owner = parts[keep], owner[is_gc][pidx][keep]
    return None


def validate_geometries(
    geoms: np.ndarray,
    crs: pyproj.CRS,
    path: Path,
    field_of: Callable[[int], str],
    repair: bool,
) -> tuple[np.ndarray, list[str]]:
    """Check a layer's shapely geometries; return them (repaired where allowed) and notes.

    Raises, naming ``field_of(i)`` for the first offending feature ``i``:
    :class:`InvalidGeometryError` for missing or empty geometries, :class:`NonFiniteError` for
    NaN/inf coordinates, :class:`InvalidGeometryError` for |lon| > 180 or |lat| > 90 (in the
    CRS's angular unit) when ``crs`` is geographic, and for invalid geometries unless
    ``repair``; then ``shapely.make_valid`` fixes them and each repair becomes a note.
    """
    geoms = np.array(geoms, dtype=object)  # a copy: repairs must not touch the caller's array
    missing = shapely.is_missing(geoms)
    if missing.any():
        raise InvalidGeometryError(path, field_of(first_index(missing)), "missing geometry")
    empty = shapely.is_empty(geoms)
    if empty.any():
        raise InvalidGeometryError(path, field_of(first_index(empty)), "empty geometry")
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        k = first_index(bad)
        raise NonFiniteError(path, field_of(int(idx[k])), f"non-finite coordinate {xy[k].tolist()}")
    bad_z = _first_nonfinite_z(geoms)
    if bad_z is not None:
        i, xyz = bad_z
        raise NonFiniteError(path, field_of(i), f"non-finite coordinate {xyz}")
    if crs.is_geographic and len(xy):
        lim_lon, lim_lat = _geographic_limits(crs)
        for axis, name, lim in ((1, "latitude", lim_lat), (0, "longitude", lim_lon)):
            out = np.abs(xy[:, axis]) > lim * (1 + RANGE_SLACK)
            if out.any():
                k = first_index(out)
                raise InvalidGeometryError(
                    path,
                    field_of(int(idx[k])),
                    f"{name} {float(xy[k, axis])!r} outside [-{lim:g}, {lim:g}] in geographic CRS "
                    f"{crs.name!r}; positions must be [lon, lat] (swapped axis order?)",
                )
    notes: list[str] = []
    valid = shapely.is_valid(geoms)
    for i in np.flatnonzero(~valid):
        i = int(i)
        reason = shapely.is_valid_reason(geoms[i])
        if not repair:
            raise InvalidGeometryError(
                path, field_of(i), f"invalid geometry ({reason}); pass repair=True to fix it"
            )
        fixed = shapely.make_valid(geoms[i])
        if fixed.is_empty:
            raise InvalidGeometryError(
                path, field_of(i), f"invalid geometry ({reason}) and make_valid left nothing"
            )
        notes.append(
            f"{field_of(i)}: repaired with shapely.make_valid ({reason}); "
            f"{geoms[i].geom_type} -> {fixed.geom_type}"
        )
        geoms[i] = fixed
    return geoms, notes


def check_lonlat(layer: GeoLayer, path: Path, field_of: Callable[[int], str]) -> None:
    """Raise InvalidGeometryError if a feature cannot be transformed to finite lon/lat."""
    xy, idx = shapely.get_coordinates(layer.lonlat, return_index=True)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        i = int(idx[first_index(bad)])
        raise InvalidGeometryError(
            path,
            field_of(i),
            f"coordinates cannot be transformed from {layer.crs.name!r} to lon/lat "
            "(outside the CRS's domain, or the wrong CRS?)",
        )


def check_crs_kind(crs: pyproj.CRS, path: Path, field_: str) -> pyproj.CRS:
    """Require a geographic or projected (horizontal) CRS."""
    if not (crs.is_geographic or crs.is_projected):
        raise CRSError(
            path, field_, f"CRS {crs.name!r} is neither geographic nor projected (2D positions)"
        )
    return crs


def duplicates(values: Sequence[str]) -> list[str]:
    """Values occurring more than once, sorted."""
    return sorted(k for k, c in Counter(values).items() if c > 1)


def feature_ids(raw: Sequence[str | None], layer: str, what: str) -> tuple[list[str], list[str]]:
    """The id rule: ``raw`` ids if every feature has one and they are unique, else
    ``f"{layer}:{index}"`` for all features. Returns (ids, notes); a note says why ids were
    generated unless no feature had an id at all."""
    n = len(raw)
    generated = [f"{layer}:{i}" for i in range(n)]
    present = [r for r in raw if r is not None]
    if not present:
        return generated, []
    if len(present) < n:
        return generated, [
            f"{n - len(present)} of {n} features have no {what}; "
            f"all ids generated as '{layer}:<index>'"
        ]
    dup = duplicates(present)
    if dup:
        return generated, [
            f"{what} values are not unique (duplicates: {dup[:5]}); "
            f"all ids generated as '{layer}:<index>'"
        ]
    return list(present), []


def _id_string(value: Any, path: Path, field_: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SceneFormatError(path, field_, f"id must be a string or a number, got {value!r}")
    return str(value)


# ---------------------------------------------------------------------------- geometry JSON
def _positions(
    value: Any, path: Path, field_: str, loc: str, min_n: int, repair: bool, notes: list[str]
) -> list | None:
    """Check a JSON list of positions (a LineString or a ring when ``min_n`` is 4).

    Returns a repaired (closed) ring as lists, or None when unchanged."""
    try:
        a = np.asarray(value)
    except ValueError:
        raise InvalidGeometryError(
            path, field_, f"{loc}: positions must all have the same length (2 or 3 numbers)"
        ) from None
    if a.size == 0:
        raise InvalidGeometryError(path, field_, f"{loc}: empty geometry (no positions)")
    if a.dtype.kind not in "iuf" or a.ndim != 2:
        raise InvalidGeometryError(path, field_, f"{loc}: expected a list of [x, y(, z)] numbers")
    if a.shape[1] not in (2, 3):
        raise InvalidGeometryError(
            path, field_, f"{loc}: positions must have 2 or 3 numbers, got {a.shape[1]}"
        )
    if not np.isfinite(a).all():
        k = first_index(~np.isfinite(a).all(axis=1))
        raise NonFiniteError(path, field_, f"{loc}[{k}]: non-finite coordinate {a[k].tolist()}")
    if min_n == 4:  # linear ring
        closed = bool(np.array_equal(a[0], a[-1]))
        n = len(a) + (0 if closed else 1)
        if n < 4:
            raise InvalidGeometryError(
                path, field_, f"{loc}: a ring needs at least 4 positions (closed), got {len(a)}"
            )
        if not closed:
            if not repair:
                raise InvalidGeometryError(
                    path,
                    field_,
                    f"{loc}: ring is not closed (first and last positions differ); "
                    "pass repair=True to close it",
                )
            notes.append(f"{field_}: {loc}: closed an unclosed ring")
            return [*a.tolist(), a[0].tolist()]
    elif len(a) < min_n:
        raise InvalidGeometryError(
            path, field_, f"{loc}: needs at least {min_n} positions, got {len(a)} (too few points)"
        )
    return None


def _members(value: Any, path: Path, field_: str, loc: str) -> list:
    if not isinstance(value, list):
        raise InvalidGeometryError(path, field_, f"{loc}: expected a list")
    if not value:
        raise InvalidGeometryError(path, field_, f"{loc}: empty geometry")
    return value


def _polygon(
    rings: Any, path: Path, field_: str, loc: str, repair: bool, notes: list[str]
) -> list | None:
    rings = _members(rings, path, field_, loc)
    fixed = [
        _positions(r, path, field_, f"{loc}[{k}]", 4, repair, notes) for k, r in enumerate(rings)
    ]
    if all(f is None for f in fixed):
        return None
    return [r if f is None else f for r, f in zip(rings, fixed, strict=True)]


def check_geometry_json(
    g: Any, path: Path, field_: str, repair: bool, loc: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """Validate the structure of a GeoJSON geometry object before ``shapely.geometry.shape``.

    Returns the geometry (a copy with closed rings if ``repair`` closed any) and notes.
    Errors name ``field_`` and say where inside the geometry (``coordinates[0][2]``...).
    """
    notes: list[str] = []
    here = f"{loc}." if loc else ""
    if not isinstance(g, dict):
        raise InvalidGeometryError(path, field_, f"{loc or 'geometry'}: not a JSON object")
    kind = g.get("type")
    if kind == "GeometryCollection":
        parts = _members(g.get("geometries"), path, field_, f"{here}geometries")
        out = []
        for j, part in enumerate(parts):
            sub, sub_notes = check_geometry_json(
                part, path, field_, repair, f"{here}geometries[{j}]"
            )
            out.append(sub)
            notes += sub_notes
        return ({**g, "geometries": out} if notes else g), notes
    if kind not in _COORD_TYPES:
        raise InvalidGeometryError(
            path,
            field_,
            f"{here}type: unknown geometry type {kind!r} "
            f"(expected one of {sorted(GEOMETRY_TYPES)})",
        )
    if "coordinates" not in g:
        raise InvalidGeometryError(path, field_, f"{here}coordinates: missing")
    coords = g["coordinates"]
    cl = f"{here}coordinates"
    fixed: Any = None
    if kind == "Point":
        try:
            a = np.asarray(coords) if isinstance(coords, list) else None
        except ValueError:  # ragged nesting
            a = None
        if a is not None and a.size == 0:
            raise InvalidGeometryError(path, field_, f"{cl}: empty geometry")
        if a is None or a.dtype.kind not in "iuf" or a.shape not in ((2,), (3,)):
            raise InvalidGeometryError(path, field_, f"{cl}: a Point is one [x, y(, z)] position")
        if not np.isfinite(a).all():
            raise NonFiniteError(path, field_, f"{cl}: non-finite coordinate {a.tolist()}")
    elif kind in ("MultiPoint", "LineString"):
        _members(coords, path, field_, cl)
        _positions(coords, path, field_, cl, 1 if kind == "MultiPoint" else 2, repair, notes)
    elif kind == "MultiLineString":
        for j, line in enumerate(_members(coords, path, field_, cl)):
            _positions(line, path, field_, f"{cl}[{j}]", 2, repair, notes)
    elif kind == "Polygon":
        fixed = _polygon(coords, path, field_, cl, repair, notes)
    else:  # MultiPolygon
        polys = _members(coords, path, field_, cl)
        parts = [
            _polygon(p, path, field_, f"{cl}[{j}]", repair, notes) for j, p in enumerate(polys)
        ]
        if any(p is not None for p in parts):
            fixed = [p if f is None else f for p, f in zip(polys, parts, strict=True)]
    return ({**g, "coordinates": fixed} if fixed is not None else g), notes


def _build(g: dict[str, Any], path: Path, field_: str) -> shapely.Geometry:
    try:
        return shape(g)
    except (GEOSException, ValueError, TypeError, KeyError, IndexError) as exc:
        raise InvalidGeometryError(path, field_, f"cannot build the geometry: {exc}") from None


# ---------------------------------------------------------------------------- CRS
def _file_crs(raw: Any, path: Path) -> pyproj.CRS:
    """Parse the legacy ``crs`` member (``name`` or ``EPSG`` type)."""
    member = validate_model(_CRSMember, raw, path, "crs")
    if member.type == "name":
        value = member.properties.get("name")
        if not isinstance(value, str):
            raise CRSError(path, "crs", "crs.properties.name must be a string")
        return parse_crs(value, path, "crs")
    if member.type == "EPSG":
        code = member.properties.get("code")
        if isinstance(code, bool) or not isinstance(code, int | str):
            raise CRSError(path, "crs", "crs.properties.code must be an EPSG code")
        return parse_crs(f"EPSG:{code}", path, "crs")
    raise CRSError(
        path,
        "crs",
        f"crs of type {member.type!r} is not supported (only 'name' and 'EPSG'); "
        "pass crs= to say what the CRS is",
    )


# ---------------------------------------------------------------------------- sniff / load
def _sniff_geojson(path: Path) -> bool:
    """``.geojson`` files; ``.json`` files whose top-level type is FeatureCollection/Feature."""
    try:
        if not path.is_file():
            return False
        suffix = path.suffix.lower()
        if suffix == ".geojson":
            return True
        if suffix != ".json":
            return False
        if path.stat().st_size <= _SNIFF_FULL_PARSE:
            doc = json.loads(path.read_bytes())
            return isinstance(doc, dict) and doc.get("type") in ("FeatureCollection", "Feature")
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_HEAD)
        return head.lstrip().startswith(b"{") and _SNIFF_RE.search(head) is not None
    except Exception:
        return False


@register(
    "geojson",
    "GeoJSON (RFC 7946) FeatureCollection, Feature or geometry -> one geo layer",
    sniff=_sniff_geojson,
)
def load_geojson(
    path: Path,
    *,
    layer: str | None = None,
    crs: Any = None,
    repair: bool = False,
    id_field: str | None = None,
) -> Scene:
    """Load a GeoJSON file as a scene with one geo layer (see the module docstring).

    ``layer``: layer name (default: file stem). ``crs``: CRS overriding the file's (anything
    pyproj accepts). ``repair``: close unclosed rings and ``make_valid`` invalid geometries,
    with notes. ``id_field``: property whose (unique) values become the feature ids.
    """
    path = Path(path)
    name = layer or path.stem
    try:
        raw = json.loads(path.read_bytes())
    except OSError as exc:
        raise SceneFormatError(path, None, f"cannot read: {exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SceneFormatError(path, None, f"not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise SceneFormatError(path, "type", "top level is not a JSON object")
    kind = raw.get("type")
    notes: list[str] = []
    extras: set[str] = set()
    if kind == "FeatureCollection":
        doc = validate_model(_FeatureCollection, raw, path)
        features: list[_Feature] = doc.features
        extras |= set(doc.model_extra or {})

        def prefix(i: int) -> str:
            return f"features[{i}]."
    elif kind == "Feature":
        features = [validate_model(_Feature, raw, path)]

        def prefix(i: int) -> str:
            return ""
    elif kind in GEOMETRY_TYPES:
        features = [_Feature(type="Feature", geometry=raw, properties={})]

        def prefix(i: int) -> str:
            return ""
    else:
        raise SceneFormatError(
            path, "type", f"expected FeatureCollection, Feature or a geometry type, got {kind!r}"
        )
    if not features:
        raise EmptyInstanceError(path, "features", "the FeatureCollection has no features")

    def gfield(i: int) -> str:
        return "geometry" if kind in GEOMETRY_TYPES else f"{prefix(i)}geometry"

    # CRS: option (the file's member is then not even parsed) > legacy member > RFC 7946.
    if crs is not None:
        layer_crs = parse_crs(crs, path, "crs")
        if raw.get("crs") is not None:
            member = json.dumps(raw["crs"], sort_keys=True)[:120]
            notes.append(f"crs= option {layer_crs.to_string()} overrides the file's crs {member}")
    elif raw.get("crs") is not None:
        layer_crs = _file_crs(raw["crs"], path)
    else:
        layer_crs = CRS84
    check_crs_kind(layer_crs, path, "crs")

    # Geometries: structure first (positions, rings), then shapely.
    geoms = np.empty(len(features), dtype=object)
    for i, f in enumerate(features):
        extras |= set(f.model_extra or {}) - ({"crs"} if kind == "Feature" else set())
        if f.geometry is None:
            raise InvalidGeometryError(
                path,
                gfield(i),
                "missing geometry (null or absent); unlocated features are not supported",
            )
        g, g_notes = check_geometry_json(f.geometry, path, gfield(i), repair)
        notes += g_notes
        geoms[i] = _build(g, path, gfield(i))
    geoms, fix_notes = validate_geometries(geoms, layer_crs, path, gfield, repair)
    notes += fix_notes

    properties = [dict(f.properties or {}) for f in features]
    if id_field is None:
        raw_ids = [_id_string(f.id, path, f"{prefix(i)}id") for i, f in enumerate(features)]
        ids, id_notes = feature_ids(raw_ids, name, "feature `id`")
        notes += id_notes
    else:
        ids = []
        for i, p in enumerate(properties):
            v = _id_string(p.get(id_field), path, f"{prefix(i)}properties.{id_field}")
            if v is None:
                raise SceneFormatError(
                    path, f"{prefix(i)}properties.{id_field}", "id_field value is missing"
                )
            ids.append(v)
        dup = duplicates(ids)
        if dup:
            raise SceneFormatError(
                path, f"properties.{id_field}", f"id_field values are not unique: {dup[:5]}"
            )
    if extras:
        notes.append(f"foreign members ignored: {sorted(extras)}")

    geo_layer = GeoLayer(name, layer_crs, geoms, properties, ids, notes=list(notes))
    check_lonlat(geo_layer, path, gfield)
    return Scene(
        path.stem,
        geo_layers={name: geo_layer},
        metadata={
            "source_format": "geojson",
            "source_path": str(path),
            "geojson_type": kind,
            "crs": layer_crs.to_string(),
            "notes": list(notes),
        },
    )


# ---------------------------------------------------------------------------- writer
def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, _dt.date | _dt.datetime | _dt.time):
        return value.isoformat()
    raise TypeError(f"property value {value!r} of type {type(value).__name__} is not JSON")


def write_geojson(layer: GeoLayer, path: str | Path, *, precision: int | None = None) -> Path:
    """Write ``layer`` as an RFC 7946 FeatureCollection in WGS84 lon/lat (``layer.lonlat``).

    Deterministic bytes: one feature per line, keys sorted, floats as Python's shortest
    round-trip ``repr`` (or rounded to ``precision`` decimals), UTF-8, polygons oriented
    counter-clockwise (exterior) as RFC 7946 recommends. Feature ``id`` = ``layer.ids``.
    """
    path = Path(path)
    geoms = shapely.orient_polygons(np.asarray(layer.lonlat, dtype=object), exterior_cw=False)
    if precision is not None:
        geoms = shapely.transform(geoms, lambda c: np.round(c, precision), include_z=None)
    lines = []
    for fid, g, props in zip(layer.ids, geoms, layer.properties, strict=True):
        feature = {"type": "Feature", "id": fid, "geometry": mapping(g), "properties": props}
        lines.append(
            json.dumps(
                feature,
                sort_keys=True,
                separators=(",", ":"),
                allow_nan=False,
                ensure_ascii=False,
                default=_json_default,
            )
        )
    text = '{"features":[\n' + ",\n".join(lines) + '\n],"type":"FeatureCollection"}\n'
    path.write_bytes(text.encode("utf-8"))
    return path
