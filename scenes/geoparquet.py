"""GeoParquet 1.0 / 1.1 vector layers (WKB geometry columns), read and written with pyarrow.

The file becomes a :class:`~geoenv.scene.Scene` with no objects and one
:class:`~geoenv.geo.GeoLayer` (name and scene id default to the file stem).

Metadata: the ``geo`` key of the Parquet schema metadata (JSON: ``version``,
``primary_column``, ``columns.{name}.encoding`` / ``geometry_types`` / ``crs`` / ``bbox`` ...).
The layer's geometry is ``primary_column`` (``column=`` picks another geometry column); other
geometry columns and bbox covering columns are not loaded (noted). Every other column becomes
a feature property (converted per column with pyarrow).

CRS, per the GeoParquet spec: no ``crs`` key -> OGC:CRS84 (WGS84 lon/lat); ``crs`` a PROJJSON
object -> that CRS (other pyproj-parsable values are accepted too); ``crs: null`` -> the CRS is
*undefined/unknown*, which raises :class:`CRSError` unless ``crs=`` says what it is. ``crs=``
always overrides the file. Axis order is always x = lon / easting, y = lat / northing.

Ids: the ``id`` column when it has no nulls and unique values (it is then not repeated in
the properties); otherwise ``f"{layer}:{row}"`` (noted). ``id_field=`` names the id column
explicitly (must exist, no nulls, unique; it stays in the properties unless it is ``id``).

Only ``encoding: "WKB"`` is supported (not the GeoArrow native encodings of 1.1). Null or
undecodable WKB raises :class:`InvalidGeometryError` naming ``{column}[row]``; validity,
finiteness, lon/lat range and ``repair=`` work as for GeoJSON
(:func:`geoenv.scenes.geojson.validate_geometries`).

:func:`write_geoparquet` writes a layer as GeoParquet 1.1.0 with deterministic bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pydantic import BaseModel, ConfigDict

from geoenv.errors import CRSError, EmptyInstanceError, InvalidGeometryError, SceneFormatError
from geoenv.geo import GeoLayer, parse_crs
from geoenv.scene import Scene
from geoenv.scenes.geojson import (
    CRS84,
    check_crs_kind,
    check_lonlat,
    duplicates,
    feature_ids,
    first_index,
    validate_geometries,
    validate_model,
)
from geoenv.scenes.registry import register

#: GeoParquet metadata version written by :func:`write_geoparquet`.
GEOPARQUET_VERSION = "1.1.0"
#: Rows per row group written by :func:`write_geoparquet`.
ROW_GROUP_SIZE = 65536

_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LineString",  # LinearRing is written as a LineString
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


class _GeoColumn(BaseModel):
    model_config = ConfigDict(extra="allow")
    encoding: str
    geometry_types: list[str]
    crs: Any = None  # PROJJSON object per the spec; any pyproj-parsable value accepted
    edges: Literal["planar", "spherical"] = "planar"
    orientation: Literal["counterclockwise"] | None = None
    bbox: list[float] | None = None
    epoch: float | None = None
    covering: dict[str, Any] | None = None


class _GeoMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: str
    primary_column: str
    columns: dict[str, _GeoColumn]


def _geo_metadata(path: Path) -> bytes | None:
    """The raw ``geo`` schema metadata, reading only the Parquet footer."""
    md = pq.read_schema(path).metadata or {}
    return md.get(b"geo")


def _sniff_geoparquet(path: Path) -> bool:
    """``.parquet`` / ``.geoparquet`` files whose schema metadata has a ``geo`` key."""
    try:
        return (
            path.is_file()
            and path.suffix.lower() in (".parquet", ".geoparquet")
            and _geo_metadata(path) is not None
        )
    except Exception:
        return False


def _covering_columns(meta: _GeoColumn) -> set[str]:
    """Top-level column names referenced by a 1.1 ``covering`` (e.g. the bbox struct)."""
    out: set[str] = set()
    for spec in (meta.covering or {}).values():
        if isinstance(spec, dict):
            for ref in spec.values():
                if isinstance(ref, list) and ref and isinstance(ref[0], str):
                    out.add(ref[0])
    return out


def _is_binary(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)


@register(
    "geoparquet",
    "GeoParquet 1.0/1.1 (WKB geometry column) -> one geo layer",
    sniff=_sniff_geoparquet,
)
def load_geoparquet(
    path: Path,
    *,
    layer: str | None = None,
    column: str | None = None,
    crs: Any = None,
    repair: bool = False,
    id_field: str | None = None,
) -> Scene:
    """Load a GeoParquet file as a scene with one geo layer (see the module docstring).

    ``layer``: layer name (default: file stem). ``column``: geometry column (default:
    ``primary_column``). ``crs``: CRS overriding the file's. ``repair``: fix invalid
    geometries (and unclosed rings in WKB) with notes. ``id_field``: column of feature ids.
    """
    path = Path(path)
    name = layer or path.stem
    try:
        pfile = pq.ParquetFile(path)
        schema = pfile.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise SceneFormatError(path, None, f"not a readable Parquet file: {exc}") from None
    raw_geo = (schema.metadata or {}).get(b"geo")
    if raw_geo is None:
        raise SceneFormatError(
            path, "geo", "no 'geo' key in the Parquet schema metadata: not a GeoParquet file"
        )
    try:
        geo_json = json.loads(raw_geo)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SceneFormatError(path, "geo", f"not valid JSON: {exc}") from None
    geo = validate_model(_GeoMetadata, geo_json, path, "geo")
    if geo.version.split(".")[0] not in ("0", "1"):
        raise SceneFormatError(
            path, "geo.version", f"GeoParquet version {geo.version!r} is not supported (1.x)"
        )
    col = column or geo.primary_column
    if col not in geo.columns:
        field_ = "column" if column else "geo.primary_column"
        raise SceneFormatError(
            path, field_, f"{col!r} is not a geometry column (have {sorted(geo.columns)})"
        )
    meta = geo.columns[col]
    mfield = f"geo.columns.{col}"
    if meta.encoding != "WKB":
        raise SceneFormatError(
            path,
            f"{mfield}.encoding",
            f"encoding {meta.encoding!r} is not supported: only 'WKB' geometry columns can be "
            "read (GeoArrow native encodings are not)",
        )
    if col not in schema.names:
        raise SceneFormatError(path, col, "the geometry column is not in the table")
    if not _is_binary(schema.field(col).type):
        raise SceneFormatError(
            path, col, f"WKB column has Arrow type {schema.field(col).type}, expected binary"
        )

    notes: list[str] = []
    # CRS: option > file (missing key = OGC:CRS84, null = undefined).
    if crs is not None:
        layer_crs = parse_crs(crs, path, "crs")
        if "crs" in meta.model_fields_set:
            notes.append(f"crs= option {layer_crs.to_string()} overrides {mfield}.crs")
    elif "crs" not in meta.model_fields_set:
        layer_crs = CRS84
    elif meta.crs is None:
        raise CRSError(
            path,
            f"{mfield}.crs",
            "crs is null, which GeoParquet defines as an undefined/unknown CRS; "
            "pass crs= to say what it is",
        )
    else:
        layer_crs = parse_crs(meta.crs, path, f"{mfield}.crs")
    check_crs_kind(layer_crs, path, f"{mfield}.crs")
    if meta.edges == "spherical":
        notes.append(f"{mfield}.edges is 'spherical'; geoenv treats edges as planar in the CRS")
    if meta.epoch is not None:
        notes.append(f"{mfield}.epoch {meta.epoch} recorded but not applied (static CRS use)")

    try:
        table = pfile.read()
    except (pa.ArrowException, OSError) as exc:
        raise SceneFormatError(path, None, f"cannot read the Parquet data: {exc}") from None
    n = table.num_rows
    if n == 0:
        raise EmptyInstanceError(path, col, "the table has no rows")

    def gfield(i: int) -> str:
        return f"{col}[{i}]"

    # Geometry: vectorised WKB decoding; nulls and undecodable rows are named.
    wkb_col = table.column(col)
    wkb = np.asarray(wkb_col.to_numpy(zero_copy_only=False), dtype=object)
    nulls = np.asarray(wkb_col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if nulls.any():
        i = first_index(nulls)
        raise InvalidGeometryError(path, gfield(i), f"row {i}: missing geometry (null)")
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    bad = shapely.is_missing(geoms)
    for i in np.flatnonzero(bad):
        i = int(i)
        try:
            shapely.from_wkb(wkb[i])
            reason = "unreadable"
        except Exception as exc:  # GEOSException and friends: the reader's own message
            reason = str(exc)
        fixed = shapely.from_wkb(wkb[i], on_invalid="fix") if repair else None
        if fixed is None:
            raise InvalidGeometryError(path, gfield(i), f"row {i}: invalid WKB ({reason})")
        geoms[i] = fixed
        notes.append(f"{gfield(i)}: WKB fixed on reading ({reason})")

    declared = sorted(meta.geometry_types)
    if declared:
        actual = _type_names(geoms)
        undeclared = sorted(set(actual) - set(declared))
        if undeclared:
            notes.append(f"{mfield}.geometry_types declares {declared} but rows have {undeclared}")
    geoms, fix_notes = validate_geometries(geoms, layer_crs, path, gfield, repair)
    notes += fix_notes
    if meta.bbox is not None and len(meta.bbox) in (4, 6):
        notes += _check_bbox(meta.bbox, geoms, mfield)

    # Properties and ids.
    skip = {c for c in geo.columns if c != col}
    for other in geo.columns.values():
        skip |= _covering_columns(other)
    skip &= set(table.column_names)
    if skip:
        notes.append(f"columns not loaded (other geometry / covering columns): {sorted(skip)}")
    skip.add(col)
    ids, id_col = _ids(table, name, id_field, path, notes)
    if id_col == "id":
        skip.add("id")
    prop_names = [c for c in table.column_names if c not in skip]
    values = [table.column(c).to_pylist() for c in prop_names]
    properties = (
        [dict(zip(prop_names, row, strict=True)) for row in zip(*values, strict=True)]
        if prop_names
        else [{} for _ in range(n)]
    )

    geo_layer = GeoLayer(name, layer_crs, geoms, properties, ids, notes=list(notes))
    check_lonlat(geo_layer, path, gfield)
    return Scene(
        path.stem,
        geo_layers={name: geo_layer},
        metadata={
            "source_format": "geoparquet",
            "source_path": str(path),
            "geoparquet_version": geo.version,
            "geometry_column": col,
            "crs": layer_crs.to_string(),
            "notes": list(notes),
        },
    )


def _type_names(geoms: np.ndarray) -> list[str]:
    """GeoParquet geometry type name of each geometry (``"Polygon"``, ``"Point Z"``...)."""
    tid = shapely.get_type_id(geoms)
    z = shapely.has_z(geoms)
    return [_TYPE_NAMES[int(t)] + (" Z" if zz else "") for t, zz in zip(tid, z, strict=True)]


def _check_bbox(bbox: list[float], geoms: np.ndarray, mfield: str) -> list[str]:
    """A note when the data extends beyond the declared bbox (xmin > xmax wraps: skipped)."""
    k = len(bbox) // 2
    xmin, ymin, xmax, ymax = bbox[0], bbox[1], bbox[k], bbox[k + 1]
    if xmin > xmax:
        return []
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    tol = 1e-9 * max(1.0, *(abs(v) for v in (xmin, ymin, xmax, ymax)))
    if x0 < xmin - tol or y0 < ymin - tol or x1 > xmax + tol or y1 > ymax + tol:
        return [f"{mfield}.bbox {bbox} does not contain the data bounds {[x0, y0, x1, y1]}"]
    return []


def _ids(
    table: pa.Table, layer: str, id_field: str | None, path: Path, notes: list[str]
) -> tuple[list[str], str | None]:
    """Feature ids and the column they came from (None when generated)."""
    if id_field is not None:
        if id_field not in table.column_names:
            raise SceneFormatError(path, id_field, "id_field column is not in the table")
        column = table.column(id_field)
        if column.null_count:
            i = first_index(np.asarray(column.is_null().to_numpy(zero_copy_only=False)))
            raise SceneFormatError(path, f"{id_field}[{i}]", "id_field value is null")
        ids = [str(v) for v in column.to_pylist()]
        dup = duplicates(ids)
        if dup:
            raise SceneFormatError(path, id_field, f"id_field values are not unique: {dup[:5]}")
        return ids, id_field
    if "id" not in table.column_names:
        return [f"{layer}:{i}" for i in range(table.num_rows)], None
    raw = [None if v is None else str(v) for v in table.column("id").to_pylist()]
    ids, id_notes = feature_ids(raw, layer, "`id` column")
    notes += id_notes
    return ids, (None if id_notes else "id")


def write_geoparquet(
    layer: GeoLayer,
    path: str | Path,
    *,
    id_column: str | None = "id",
    row_group_size: int = ROW_GROUP_SIZE,
) -> Path:
    """Write ``layer`` as GeoParquet 1.1.0 in its own CRS; deterministic bytes.

    Columns: ``id_column`` (``layer.ids``; omitted when None), the properties (sorted keys,
    one column each, Arrow types inferred; a feature without a key gets null), ``geometry``
    (ISO WKB, little endian). ``geo`` metadata: sorted-key JSON with the CRS as PROJJSON
    (``layer.crs.to_json_dict()``), ``geometry_types`` and ``bbox``. zstd compression, fixed
    row group size, no timestamps.
    """
    path = Path(path)
    geoms = np.asarray(layer.geometries, dtype=object)
    keys = sorted({k for p in layer.properties for k in p})
    for reserved in ("geometry", id_column):
        if reserved is not None and reserved in keys:
            raise ValueError(f"property {reserved!r} collides with the {reserved!r} column")
    arrays: dict[str, pa.Array] = {}
    if id_column is not None:
        arrays[id_column] = pa.array(list(layer.ids), type=pa.string())
    for k in keys:
        try:
            arrays[k] = pa.array([p.get(k) for p in layer.properties])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ValueError(f"property {k!r} cannot be one Parquet column: {exc}") from None
    wkb = shapely.to_wkb(geoms, hex=False, byte_order=1, flavor="iso")
    arrays["geometry"] = pa.array(list(wkb), type=pa.binary())
    column_meta: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": sorted(set(_type_names(geoms))),
        "crs": layer.crs.to_json_dict(),
    }
    if len(geoms):
        column_meta["bbox"] = [float(v) for v in shapely.total_bounds(geoms)]
    geo = {
        "version": GEOPARQUET_VERSION,
        "primary_column": "geometry",
        "columns": {"geometry": column_meta},
    }
    table = pa.table(arrays).replace_schema_metadata(
        {"geo": json.dumps(geo, sort_keys=True, separators=(",", ":"))}
    )
    pq.write_table(
        table,
        path,
        row_group_size=row_group_size,
        compression="zstd",
        compression_level=3,
        version="2.6",
    )
    return path
