"""OGR vector files through pyogrio: ESRI Shapefile (``.shp``), GeoPackage (``.gpkg``),
FlatGeobuf (``.fgb``).

The file becomes a :class:`~geoenv.scene.Scene` with no objects and one
:class:`~geoenv.geo.GeoLayer` (``scene.geo_layers[name]``). ``layer=`` picks the layer of a
multi-layer file (GeoPackage): a file with one spatial layer needs none, a file with several
raises :class:`SceneFormatError` naming them. The layer name (and key in ``geo_layers``) is the
file's layer name, unless ``name=`` says otherwise; the scene id is the file stem.

CRS: the file's (a Shapefile's ``.prj``, the GeoPackage / FlatGeobuf CRS), read by GDAL and
parsed by pyproj; ``crs=`` overrides it (noted). No CRS at all (a Shapefile without ``.prj``)
raises :class:`CRSError` unless ``crs=`` says what it is. Coordinates stay in the file's CRS
in x = lon / easting, y = lat / northing order (``always_xy``); :attr:`GeoLayer.lonlat` gives
WGS84 degrees.

Ids: the OGR feature ids (FIDs) as strings: a Shapefile's and a FlatGeobuf's are the 0-based
record numbers, a GeoPackage's its integer primary key. ``id_field=`` names an attribute to use
instead (present in every feature, unique). Attributes become the feature properties (Python
values; OGR nulls -> None, including the NaN pyogrio gives for null numbers, noted; dates and
times -> ``datetime`` objects).

Validation, shared with the GeoJSON and GeoParquet loaders
(:func:`geoenv.scenes.geojson.validate_geometries`): null geometries and empty geometries
(:class:`InvalidGeometryError`), NaN/inf coordinates (:class:`NonFiniteError`), lon/lat out of
range in a geographic CRS, and invalid geometries (self-intersections...), each naming the file
and ``features[i].geometry``; ``repair=True`` fixes invalid ones with ``shapely.make_valid``
and records each repair in ``scene.metadata["notes"]``. A layer with no features raises
:class:`EmptyInstanceError`; a file GDAL cannot open raises :class:`SceneFormatError`.

``snap_m=`` records the snapping tolerance (metres) the geo templates use for this data's
topology (``scene.metadata["geo_snap_m"]``; see :func:`geoenv.geodesy.relate`), for layers
whose shared borders do not meet exactly.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

from geoenv.errors import CRSError, EmptyInstanceError, InvalidGeometryError, SceneFormatError
from geoenv.geo import GeoLayer, parse_crs
from geoenv.scene import Scene
from geoenv.scenes.geojson import (
    check_crs_kind,
    check_lonlat,
    duplicates,
    feature_ids,
    first_index,
    validate_geometries,
)
from geoenv.scenes.registry import register

#: File suffix -> (OGR driver, magic bytes at offset 0).
_FORMATS: dict[str, tuple[str, bytes]] = {
    ".shp": ("ESRI Shapefile", b"\x00\x00\x27\x0a"),  # file code 9994, big endian
    ".gpkg": ("GPKG", b"SQLite format 3\x00"),
    ".fgb": ("FlatGeobuf", b"fgb\x03"),
}
_OGR_ERRORS = (DataSourceError, DataLayerError, FieldError, GeometryError, OSError)


def _sniff_vector(path: Path) -> bool:
    """``.shp`` / ``.gpkg`` / ``.fgb`` files that start with their format's magic bytes."""
    try:
        fmt = _FORMATS.get(path.suffix.lower())
        if fmt is None or not path.is_file():
            return False
        with path.open("rb") as fh:
            return fh.read(len(fmt[1])) == fmt[1]
    except Exception:
        return False


def _pick_layer(path: Path, layer: str | None) -> str:
    try:
        listed = pyogrio.list_layers(path)
    except _OGR_ERRORS as exc:
        raise SceneFormatError(path, None, f"GDAL/OGR cannot open the file: {exc}") from None
    names = [str(n) for n, _ in listed]
    spatial = [str(n) for n, gt in listed if gt is not None]
    if layer is not None:
        if layer not in names:
            raise SceneFormatError(path, "layer", f"no layer {layer!r}; the file has {names}")
        if layer not in spatial:
            raise SceneFormatError(path, "layer", f"layer {layer!r} has no geometry column")
        return layer
    if not spatial:
        raise SceneFormatError(path, "layer", f"no layer with geometries (layers: {names})")
    if len(spatial) > 1:
        raise SceneFormatError(
            path,
            "layer",
            f"the file has {len(spatial)} layers with geometries {sorted(spatial)}; "
            "pass layer= to pick one",
        )
    return spatial[0]


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _properties(
    fields: list[str], data: list[np.ndarray], n: int, notes: list[str]
) -> list[dict[str, Any]]:
    """Per-feature attribute dicts (Python values; NaN -> None, noted per field)."""
    columns: list[list[Any]] = []
    for name, arr in zip(fields, data, strict=True):
        arr = np.asarray(arr)
        values = arr.tolist()
        if arr.dtype.kind == "f":
            nan = np.isnan(arr)
            if nan.any():
                for i in np.flatnonzero(nan):
                    values[int(i)] = None
                notes.append(f"field {name!r}: {int(nan.sum())} null (NaN) values stored as None")
        elif arr.dtype == object:
            values = [_python(v) for v in values]
        columns.append(values)
    return [{f: col[i] for f, col in zip(fields, columns, strict=True)} for i in range(n)]


@register(
    "vector",
    "Shapefile / GeoPackage / FlatGeobuf via pyogrio (GDAL) -> one geo layer",
    sniff=_sniff_vector,
)
def load_vector(
    path: Path,
    *,
    layer: str | None = None,
    name: str | None = None,
    crs: Any = None,
    repair: bool = False,
    id_field: str | None = None,
    snap_m: float | None = None,
) -> Scene:
    """Load one layer of an OGR vector file as a scene with one geo layer (module docstring).

    ``layer``: the file's layer to read (needed when it has several). ``name``: layer name in
    the scene (default: the file's layer name). ``crs``: CRS overriding the file's.
    ``repair``: fix invalid geometries with notes. ``id_field``: attribute holding unique
    feature ids. ``snap_m``: snapping tolerance (m) recorded for the geo templates.
    """
    path = Path(path)
    if snap_m is not None and not (math.isfinite(float(snap_m)) and float(snap_m) >= 0):
        raise ValueError(f"snap_m must be a finite number >= 0, got {snap_m!r}")
    src_layer = _pick_layer(path, layer)
    lname = name or src_layer
    try:
        info = pyogrio.read_info(path, layer=src_layer)
        meta, fids, wkb, data = pyogrio.raw.read(path, layer=src_layer, return_fids=True)
    except _OGR_ERRORS as exc:
        raise SceneFormatError(path, src_layer, f"GDAL/OGR cannot read the layer: {exc}") from None
    n = 0 if wkb is None else len(wkb)
    if n == 0:
        raise EmptyInstanceError(path, src_layer, "the layer has no features")

    def gfield(i: int) -> str:
        return f"features[{i}].geometry"

    notes: list[str] = []
    file_crs = meta.get("crs")
    if crs is not None:
        layer_crs = parse_crs(crs, path, "crs")
        if file_crs:
            notes.append(f"crs= option {layer_crs.to_string()} overrides the file's CRS")
    elif not file_crs:
        raise CRSError(
            path,
            "crs",
            "the file has no CRS (a Shapefile without .prj?); pass crs= to say what it is",
        )
    else:
        layer_crs = parse_crs(file_crs, path, "crs")
    check_crs_kind(layer_crs, path, "crs")

    wkb = np.asarray(wkb, dtype=object)
    fids = np.arange(n) if fids is None else np.asarray(fids)
    null = np.array([w is None for w in wkb], dtype=bool)
    if null.any():
        i = first_index(null)
        raise InvalidGeometryError(path, gfield(i), f"missing geometry (null), fid {fids[i]}")
    try:
        geoms = shapely.from_wkb(wkb)
    except shapely.errors.GEOSException as exc:
        raise InvalidGeometryError(path, "geometry", f"undecodable geometry: {exc}") from None
    geoms, fix_notes = validate_geometries(geoms, layer_crs, path, gfield, repair)
    notes += fix_notes

    fields = [str(f) for f in meta["fields"]]
    properties = _properties(fields, list(data), n, notes)
    if id_field is None:
        ids, id_notes = feature_ids([str(int(f)) for f in fids], lname, "FID")
        notes += id_notes
    else:
        if id_field not in fields:
            raise SceneFormatError(path, id_field, f"id_field is not an attribute (have {fields})")
        raw = [p[id_field] for p in properties]
        missing = [i for i, v in enumerate(raw) if v is None]
        if missing:
            raise SceneFormatError(path, f"features[{missing[0]}].{id_field}", "id is null")
        ids = [str(v) for v in raw]
        dup = duplicates(ids)
        if dup:
            raise SceneFormatError(path, id_field, f"id_field values are not unique: {dup[:5]}")

    geo_layer = GeoLayer(lname, layer_crs, geoms, properties, ids, notes=list(notes))
    check_lonlat(geo_layer, path, gfield)
    metadata: dict[str, Any] = {
        "source_format": "vector",
        "source_path": str(path),
        "driver": info.get("driver"),
        "layer": src_layer,
        "crs": layer_crs.to_string(),
        "notes": list(notes),
    }
    if snap_m is not None:
        metadata["geo_snap_m"] = float(snap_m)
    return Scene(path.stem, geo_layers={lname: geo_layer}, metadata=metadata)
