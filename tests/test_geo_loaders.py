"""GeoJSON and GeoParquet geo-layer loaders: CRS handling, local metric projection, ids,
validation and repair, writers, sniffers, and real Natural Earth data."""

from __future__ import annotations

import importlib.resources
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import pytest
import shapely
from shapely.geometry import mapping

from geoenv.errors import (
    CRSError,
    EmptyInstanceError,
    InvalidGeometryError,
    NonFiniteError,
    SceneFormatError,
)
from geoenv.geo import GeoLayer
from geoenv.scenes import detect_format, load_scene
from geoenv.scenes.geojson import _sniff_geojson, load_geojson, write_geojson
from geoenv.scenes.geoparquet import _sniff_geoparquet, load_geoparquet, write_geoparquet

UTM33N = pyproj.CRS.from_epsg(32633)
WGS84 = pyproj.CRS.from_epsg(4326)
TO_UTM = pyproj.Transformer.from_crs(WGS84, UTM33N, always_xy=True)
GEOD = pyproj.Geod(ellps="WGS84")

# Features near 15 E, 45 N (the central meridian of UTM zone 33N), lon/lat degrees.
IDS = ["p1", "p2", "road", "park", "lakes"]
GEOMS_LONLAT = [
    shapely.Point(15.0, 45.0),
    shapely.Point(15.0, 45.01),
    shapely.LineString([(14.99, 44.995), (15.005, 45.0), (15.02, 45.008)]),
    shapely.Polygon(
        [(15.01, 45.0), (15.02, 45.0), (15.02, 45.01), (15.01, 45.01)],
        [[(15.013, 45.003), (15.013, 45.006), (15.016, 45.006), (15.016, 45.003)]],
    ),
    shapely.MultiPolygon(
        [
            shapely.box(14.985, 45.012, 14.99, 45.015),
            shapely.box(14.995, 45.012, 15.0, 45.015),
        ]
    ),
]
PROPS = [
    {"kind": "poi", "height": 3.5, "count": 1},
    {"kind": "poi", "height": None, "count": 2},
    {"kind": "road", "height": 0.0, "count": 3},
    {"kind": "park", "height": 1.25, "count": 4},
    {"kind": "water", "height": -2.0, "count": 5},
]


def to_utm(geoms):
    return shapely.transform(
        np.asarray(geoms, dtype=object), lambda c: np.column_stack(TO_UTM.transform(*c.T))
    )


def feature_collection(geoms, ids=IDS, props=PROPS, crs_name: str | None = None) -> dict:
    fc: dict = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": i, "geometry": mapping(g), "properties": p}
            for i, g, p in zip(ids, geoms, props, strict=True)
        ],
    }
    if crs_name is not None:
        fc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    return fc


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def coords(geoms) -> np.ndarray:
    return shapely.get_coordinates(np.asarray(geoms, dtype=object))


def the_layer(scene) -> GeoLayer:
    assert len(scene.geo_layers) == 1
    return next(iter(scene.geo_layers.values()))


def fc_with(geometry: dict, tmp_path: Path, name: str = "bad.geojson", n_good: int = 1) -> Path:
    """A FeatureCollection with ``n_good`` valid points, then the given geometry."""
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [15.0, 45.0 + k * 1e-3]},
            "properties": {},
        }
        for k in range(n_good)
    ]
    feats.append({"type": "Feature", "geometry": geometry, "properties": {}})
    return write_json(tmp_path / name, {"type": "FeatureCollection", "features": feats})


# ------------------------------------------------------------------------------ GeoJSON
def test_geojson_wgs84_and_utm_hold_the_same_features(tmp_path):
    ll = load_geojson(write_json(tmp_path / "town.geojson", feature_collection(GEOMS_LONLAT)))
    utm_fc = feature_collection(to_utm(GEOMS_LONLAT), crs_name="urn:ogc:def:crs:EPSG::32633")
    utm = load_geojson(write_json(tmp_path / "town_utm.geojson", utm_fc))

    assert ll.id == "town" and utm.id == "town_utm"
    assert ll.objects == {} and ll.metadata["source_format"] == "geojson"
    a, b = the_layer(ll), the_layer(utm)
    assert a.name == "town" and b.name == "town_utm"
    assert a.crs.to_string() == "OGC:CRS84" and b.crs.equals(UTM33N)
    assert a.ids == IDS and b.ids == IDS
    assert a.properties == PROPS
    assert [g.geom_type for g in b.geometries] == [g.geom_type for g in GEOMS_LONLAT]
    # UTM coordinates really are metres (easting near the 500 km false easting).
    assert abs(b.geometries[0].x - 500000.0) < 1e-6
    assert abs(b.geometries[0].y - 4982950.4) < 1.0

    # Same places in lon/lat ...
    assert np.abs(coords(a.lonlat) - coords(GEOMS_LONLAT)).max() == 0.0
    assert np.abs(coords(a.lonlat) - coords(b.lonlat)).max() < 1e-7
    # ... and the same metric distances in each layer's local projection.
    da = shapely.distance(a.local[:, None], a.local[None, :])
    db = shapely.distance(b.local[:, None], b.local[None, :])
    assert np.abs(da - db).max() < 1e-3
    assert abs(a.local[3].area - b.local[3].area) / a.local[3].area < 1e-6


def test_local_distance_matches_hand_computed_meridian_arc(tmp_path):
    fc = feature_collection(GEOMS_LONLAT[:2], IDS[:2], PROPS[:2])
    layer = the_layer(load_geojson(write_json(tmp_path / "two.geojson", fc)))
    # Meridian arc 45.00 -> 45.01 deg N: radius of curvature M(phi) = a(1-e^2)/(1-e^2 sin^2)^1.5
    # at the mid latitude times the angle (the O(dphi^3) error is far below a millimetre).
    a_axis, e2 = 6378137.0, 0.00669437999014
    phi = math.radians(45.005)
    m = a_axis * (1 - e2) / (1 - e2 * math.sin(phi) ** 2) ** 1.5
    hand = m * math.radians(0.01)
    _, _, geod = GEOD.inv(15.0, 45.0, 15.0, 45.01)
    assert 1111.2 < hand < 1111.4
    assert abs(hand - geod) < 1e-3
    local = shapely.distance(layer.local[0], layer.local[1])
    assert abs(local - geod) < 1e-3
    assert abs(local - geod) / geod < 1e-6


def test_local_projection_is_aeqd_at_the_lonlat_bbox_centre(tmp_path):
    layer = the_layer(
        load_geojson(write_json(tmp_path / "t.geojson", feature_collection(GEOMS_LONLAT)))
    )
    xy = coords(GEOMS_LONLAT)
    centre = ((xy[:, 0].min() + xy[:, 0].max()) / 2, (xy[:, 1].min() + xy[:, 1].max()) / 2)
    assert centre == pytest.approx((15.0025, 45.005), abs=1e-12)
    assert layer.center_lonlat == pytest.approx(centre, abs=1e-12)
    op = layer.local_crs.coordinate_operation
    params = {p.name: p.value for p in op.params}
    assert op.method_name == "Azimuthal Equidistant"
    assert layer.local_crs.ellipsoid.name == "WGS 84"
    assert params["Longitude of natural origin"] == pytest.approx(centre[0], abs=1e-9)
    assert params["Latitude of natural origin"] == pytest.approx(centre[1], abs=1e-9)
    assert params["False easting"] == 0.0 and params["False northing"] == 0.0
    # Azimuthal equidistant: distance and azimuth from the centre are exact.
    for g_ll, g_loc in zip(GEOMS_LONLAT[:2], layer.local[:2], strict=True):
        az, _, dist = GEOD.inv(*centre, g_ll.x, g_ll.y)
        assert math.hypot(g_loc.x, g_loc.y) == pytest.approx(dist, abs=1e-6)
        assert math.degrees(math.atan2(g_loc.x, g_loc.y)) == pytest.approx(az, abs=1e-7)


def test_geojson_id_rule(tmp_path):
    # Duplicate ids are never merged: every feature gets '{layer}:{index}', with a note.
    fc = feature_collection(GEOMS_LONLAT[:3], ["a", "a", "b"], PROPS[:3])
    scene = load_geojson(write_json(tmp_path / "dups.geojson", fc))
    layer = the_layer(scene)
    assert layer.ids == ["dups:0", "dups:1", "dups:2"] and len(layer) == 3
    assert any("not unique" in n and "'a'" in n for n in scene.metadata["notes"])
    # Numeric ids become strings; a missing id anywhere -> generated ids (noted).
    fc = feature_collection(GEOMS_LONLAT[:2], [7, 8], PROPS[:2])
    assert the_layer(load_geojson(write_json(tmp_path / "n.geojson", fc))).ids == ["7", "8"]
    fc["features"][1].pop("id")
    scene = load_geojson(write_json(tmp_path / "m.geojson", fc), layer="pois")
    assert the_layer(scene).ids == ["pois:0", "pois:1"] and scene.id == "m"
    assert any("1 of 2 features have no" in n for n in scene.metadata["notes"])


def test_geojson_id_field_must_be_unique(tmp_path):
    fc = feature_collection(GEOMS_LONLAT[:3], ["a", "b", "c"], PROPS[:3])
    path = write_json(tmp_path / "f.geojson", fc)
    with pytest.raises(SceneFormatError, match=r"f\.geojson \[properties\.kind\].*not unique"):
        load_geojson(path, id_field="kind")
    assert the_layer(load_geojson(path, id_field="count")).ids == ["1", "2", "3"]
    with pytest.raises(SceneFormatError, match=r"\[features\[0\]\.properties\.nope\]"):
        load_geojson(path, id_field="nope")


def test_geojson_single_feature_and_bare_geometry(tmp_path):
    feat = {
        "type": "Feature",
        "id": "x",
        "geometry": mapping(GEOMS_LONLAT[3]),
        "properties": {"a": 1},
    }
    layer = the_layer(load_geojson(write_json(tmp_path / "one.json", feat)))
    assert layer.ids == ["x"] and layer.properties == [{"a": 1}]
    assert layer.geometries[0].equals(GEOMS_LONLAT[3])
    scene = load_geojson(write_json(tmp_path / "bare.geojson", mapping(GEOMS_LONLAT[2])))
    layer = the_layer(scene)
    assert scene.metadata["geojson_type"] == "LineString"
    assert layer.ids == ["bare:0"] and layer.properties == [{}]
    bad = {"type": "LineString", "coordinates": [[15.0, 45.0]]}
    with pytest.raises(InvalidGeometryError, match=r"bare2\.geojson \[geometry\].*too few"):
        load_geojson(write_json(tmp_path / "bare2.geojson", bad))


def test_geojson_unknown_crs(tmp_path):
    fc = feature_collection(GEOMS_LONLAT, crs_name="EPSG:999999")
    path = write_json(tmp_path / "unk.geojson", fc)
    with pytest.raises(CRSError, match=r"unk\.geojson \[crs\].*EPSG:999999") as err:
        load_geojson(path)
    assert err.value.field == "crs" and err.value.path == str(path)
    with pytest.raises(CRSError, match=r"\[crs\]"):
        load_geojson(tmp_path / "unk.geojson", crs="EPSG:999999")
    # The crs= option overrides (and skips) an unusable crs member; the override is noted.
    scene = load_geojson(path, crs="EPSG:4326")
    assert the_layer(scene).crs.equals(WGS84)
    assert any("overrides the file's crs" in n for n in scene.metadata["notes"])
    fc["crs"] = {"type": "link", "properties": {"href": "http://example.com/crs"}}
    with pytest.raises(CRSError, match=r"\[crs\].*'link' is not supported"):
        load_geojson(write_json(tmp_path / "link.geojson", fc))


def test_geojson_crs_option_overrides(tmp_path):
    # Projected coordinates without a crs member read as lon/lat are out of range ...
    path = write_json(tmp_path / "noc.geojson", feature_collection(to_utm(GEOMS_LONLAT)))
    with pytest.raises(InvalidGeometryError, match=r"\[features\[0\]\.geometry\].*latitude 4982"):
        load_geojson(path)
    # ... and fine when the crs= option says what they are.
    layer = the_layer(load_geojson(path, crs="EPSG:32633"))
    assert layer.crs.equals(UTM33N)
    assert np.abs(coords(layer.lonlat) - coords(GEOMS_LONLAT)).max() < 1e-7
    # The legacy EPSG-type member is accepted too; the option overrides it (noted).
    fc = feature_collection(to_utm(GEOMS_LONLAT))
    fc["crs"] = {"type": "EPSG", "properties": {"code": 32633}}
    scene = load_geojson(write_json(tmp_path / "e.geojson", fc))
    assert the_layer(scene).crs.equals(UTM33N)


def test_geojson_bowtie_polygon_and_repair(tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[15.0, 45.0], [15.01, 45.01], [15.01, 45.0], [15.0, 45.01], [15.0, 45.0]]],
    }
    path = fc_with(bowtie, tmp_path)
    with pytest.raises(InvalidGeometryError, match=r"\[features\[1\]\.geometry\]") as err:
        load_geojson(path)
    assert "Self-intersection" in str(err.value) and "repair=True" in str(err.value)

    scene = load_geojson(path, repair=True)
    layer = the_layer(scene)
    fixed = layer.geometries[1]
    assert fixed.geom_type == "MultiPolygon" and fixed.is_valid
    # Two triangles, each a quarter of the 0.01 x 0.01 degree square.
    assert fixed.area == pytest.approx(2 * 0.01**2 / 4, rel=1e-9)
    note = [n for n in scene.metadata["notes"] if "make_valid" in n]
    assert len(note) == 1 and note[0].startswith("features[1].geometry")
    assert "Polygon -> MultiPolygon" in note[0]
    assert layer.notes == scene.metadata["notes"]


def test_geojson_unclosed_ring_and_repair(tmp_path):
    ring = [[15.0, 45.0], [15.01, 45.0], [15.01, 45.01], [15.0, 45.01]]
    path = fc_with({"type": "Polygon", "coordinates": [ring]}, tmp_path, n_good=2)
    with pytest.raises(InvalidGeometryError, match=r"\[features\[2\]\.geometry\].*not closed"):
        load_geojson(path)
    scene = load_geojson(path, repair=True)
    poly = the_layer(scene).geometries[2]
    assert poly.area == pytest.approx(1e-4, rel=1e-9)
    assert any(
        n.startswith("features[2].geometry") and "closed" in n for n in scene.metadata["notes"]
    )


def test_geojson_geometry_collection_and_z(tmp_path):
    gc = {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Point", "coordinates": [15.0, 45.0, 120.5]},
            {"type": "Polygon", "coordinates": [[[15, 45], [15.01, 45], [15.01, 45.01]]]},
        ],
    }
    path = fc_with(gc, tmp_path)
    with pytest.raises(InvalidGeometryError, match=r"geometries\[1\]\.coordinates\[0\]: ring"):
        load_geojson(path)
    layer = the_layer(load_geojson(path, repair=True))
    g = layer.geometries[1]
    assert g.geom_type == "GeometryCollection" and g.geoms[0].z == 120.5
    assert g.geoms[1].area == pytest.approx(0.5e-4, rel=1e-9)
    assert any("geometries[1].coordinates[0]: closed" in n for n in layer.notes)


@pytest.mark.parametrize(
    ("geometry", "error", "pattern"),
    [
        ({"type": "LineString", "coordinates": [[15.0, 45.0]]}, InvalidGeometryError, "too few"),
        (
            {"type": "Polygon", "coordinates": [[[15, 45], [15.1, 45], [15, 45]]]},
            InvalidGeometryError,
            "at least 4",
        ),
        ({"type": "Polygon", "coordinates": []}, InvalidGeometryError, "empty"),
        ({"type": "MultiPoint", "coordinates": []}, InvalidGeometryError, "empty"),
        ({"type": "Point", "coordinates": [15.0, "45"]}, InvalidGeometryError, "Point"),
        ({"type": "Point", "coordinates": [15.0, 45.0, 1.0, 2.0]}, InvalidGeometryError, "Point"),
        ({"type": "Circle", "coordinates": [15.0, 45.0]}, InvalidGeometryError, "unknown"),
        (None, InvalidGeometryError, "missing geometry"),
        ({"type": "Point", "coordinates": [15.0, float("nan")]}, NonFiniteError, "non-finite"),
        (
            {"type": "LineString", "coordinates": [[15.0, 45.0], [15.0, float("inf")]]},
            NonFiniteError,
            "non-finite",
        ),
        # [lat, lon] instead of [lon, lat]: latitude 120 is out of range.
        ({"type": "Point", "coordinates": [45.0, 120.0]}, InvalidGeometryError, "latitude 120"),
        ({"type": "Point", "coordinates": [200.0, 45.0]}, InvalidGeometryError, "longitude 200"),
    ],
)
def test_geojson_malformed_geometries(tmp_path, geometry, error, pattern):
    path = fc_with(geometry, tmp_path, n_good=3)
    with pytest.raises(error, match=pattern) as err:
        load_geojson(path, repair=True)  # none of these is repairable
    assert err.value.field == "features[3].geometry"
    assert str(path) in str(err.value)


def test_geojson_nan_literal_in_file(tmp_path):
    path = tmp_path / "nan.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
        ' "geometry": {"type": "Point", "coordinates": [NaN, 45.0]}}]}'
    )
    with pytest.raises(NonFiniteError, match=r"nan\.geojson \[features\[0\]\.geometry\]"):
        load_geojson(path)


def test_geojson_malformed_envelope(tmp_path):
    fc = feature_collection(GEOMS_LONLAT[:2], IDS[:2], PROPS[:2])
    fc["features"][1]["type"] = "Feture"
    with pytest.raises(SceneFormatError, match=r"\[features\[1\]\.type\]"):
        load_geojson(write_json(tmp_path / "a.geojson", fc))
    fc["features"][1]["type"] = "Feature"
    fc["features"][1]["id"] = [1]
    with pytest.raises(SceneFormatError, match=r"\[features\[1\]\.id\]"):
        load_geojson(write_json(tmp_path / "b.geojson", fc))
    with pytest.raises(SceneFormatError, match=r"\[features\]"):
        load_geojson(write_json(tmp_path / "c.geojson", {"type": "FeatureCollection"}))
    with pytest.raises(EmptyInstanceError, match=r"\[features\]"):
        load_geojson(
            write_json(tmp_path / "d.geojson", {"type": "FeatureCollection", "features": []})
        )
    with pytest.raises(SceneFormatError, match=r"\[type\]"):
        load_geojson(write_json(tmp_path / "e.geojson", {"type": "Topology"}))
    (tmp_path / "f.geojson").write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(SceneFormatError, match="not valid JSON"):
        load_geojson(tmp_path / "f.geojson")


def test_geojson_writer_is_deterministic_rfc7946(tmp_path):
    utm = GeoLayer("town", UTM33N, to_utm(GEOMS_LONLAT), [dict(p) for p in PROPS], list(IDS))
    p1 = write_geojson(utm, tmp_path / "w1.geojson")
    p2 = write_geojson(utm, tmp_path / "w2.geojson")
    assert p1.read_bytes() == p2.read_bytes()
    doc = json.loads(p1.read_text())
    assert list(doc) == ["features", "type"] and "crs" not in doc
    assert list(doc["features"][0]) == ["geometry", "id", "properties", "type"]
    # Exterior rings counter-clockwise, holes clockwise (RFC 7946 section 3.1.6).
    park = shapely.geometry.shape(doc["features"][3]["geometry"])
    assert park.exterior.is_ccw and not park.interiors[0].is_ccw
    back = the_layer(load_geojson(p1))
    assert back.ids == IDS and back.properties == PROPS
    assert np.abs(coords(back.geometries) - coords(GEOMS_LONLAT)).max() < 1e-7
    assert all(g.equals(h) for g, h in zip(back.geometries, utm.lonlat, strict=True))
    rounded = write_geojson(utm, tmp_path / "r.geojson", precision=6)
    pts = json.loads(rounded.read_text())["features"][0]["geometry"]["coordinates"]
    assert pts == [15.0, 45.0]


# ------------------------------------------------------------------------------ GeoParquet
def test_geoparquet_wgs84_and_utm_round_trip(tmp_path):
    ll = GeoLayer("town", WGS84, np.asarray(GEOMS_LONLAT), [dict(p) for p in PROPS], list(IDS))
    utm = GeoLayer("town", UTM33N, to_utm(GEOMS_LONLAT), [dict(p) for p in PROPS], list(IDS))
    write_geoparquet(ll, tmp_path / "ll.parquet")
    write_geoparquet(utm, tmp_path / "utm.geoparquet")
    a = the_layer(load_geoparquet(tmp_path / "ll.parquet"))
    scene = load_geoparquet(tmp_path / "utm.geoparquet", layer="t")
    b = scene.geo_layers["t"]
    assert scene.id == "utm" and scene.metadata["source_format"] == "geoparquet"
    assert a.crs.equals(WGS84) and b.crs.equals(UTM33N)
    assert a.ids == IDS and b.ids == IDS
    assert a.properties == PROPS and b.properties == PROPS
    assert all(g.equals_exact(h, 0) for g, h in zip(b.geometries, utm.geometries, strict=True))
    assert np.abs(coords(a.lonlat) - coords(b.lonlat)).max() < 1e-7
    da = shapely.distance(a.local[:, None], a.local[None, :])
    db = shapely.distance(b.local[:, None], b.local[None, :])
    assert np.abs(da - db).max() < 1e-3

    geo = json.loads(pq.read_schema(tmp_path / "utm.geoparquet").metadata[b"geo"])
    col = geo["columns"]["geometry"]
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert col["encoding"] == "WKB" and col["crs"]["id"] == {"authority": "EPSG", "code": 32633}
    assert col["geometry_types"] == ["LineString", "MultiPolygon", "Point", "Polygon"]
    assert col["bbox"] == pytest.approx(list(shapely.total_bounds(utm.geometries)))


def test_geoparquet_writer_is_deterministic(tmp_path):
    utm = GeoLayer("town", UTM33N, to_utm(GEOMS_LONLAT), [dict(p) for p in PROPS], list(IDS))
    a = write_geoparquet(utm, tmp_path / "a.parquet").read_bytes()
    b = write_geoparquet(utm, tmp_path / "b.parquet").read_bytes()
    assert a == b
    md = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert md.row_group(0).column(0).compression == "ZSTD"
    with pytest.raises(ValueError, match="collides"):
        write_geoparquet(
            GeoLayer("x", WGS84, np.asarray(GEOMS_LONLAT[:1]), [{"id": 1}], ["a"]),
            tmp_path / "c.parquet",
        )


def raw_geoparquet(path: Path, wkb: list, geo: dict | None, extra: dict | None = None) -> Path:
    """A Parquet file with a binary ``geometry`` column and the given ``geo`` metadata."""
    cols = {"name": pa.array([f"f{i}" for i in range(len(wkb))])}
    cols.update(extra or {})
    cols["geometry"] = pa.array(wkb, type=pa.binary())
    table = pa.table(cols)
    if geo is not None:
        table = table.replace_schema_metadata({"geo": json.dumps(geo)})
    pq.write_table(table, path)
    return path


def geo_meta(**column) -> dict:
    meta = {"encoding": "WKB", "geometry_types": []}
    meta.update(column)
    return {"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": meta}}


def test_geoparquet_crs_key_missing_means_crs84_and_null_means_unknown(tmp_path):
    wkb = list(shapely.to_wkb(np.asarray(GEOMS_LONLAT[:2])))
    scene = load_geoparquet(raw_geoparquet(tmp_path / "nokey.parquet", wkb, geo_meta()))
    layer = the_layer(scene)
    assert layer.crs.to_string() == "OGC:CRS84"
    assert layer.ids == ["nokey:0", "nokey:1"]
    assert layer.properties == [{"name": "f0"}, {"name": "f1"}]
    path = raw_geoparquet(tmp_path / "null.parquet", wkb, geo_meta(crs=None))
    with pytest.raises(CRSError, match=r"null\.parquet \[geo\.columns\.geometry\.crs\].*null"):
        load_geoparquet(path)
    assert the_layer(load_geoparquet(path, crs="EPSG:4326")).crs.equals(WGS84)
    path = raw_geoparquet(tmp_path / "unk.parquet", wkb, geo_meta(crs="EPSG:999999"))
    with pytest.raises(CRSError, match=r"\[geo\.columns\.geometry\.crs\].*999999"):
        load_geoparquet(path)


def test_geoparquet_malformed(tmp_path):
    good = list(shapely.to_wkb(np.asarray(GEOMS_LONLAT[:3])))
    path = raw_geoparquet(tmp_path / "plain.parquet", good, None)
    with pytest.raises(SceneFormatError, match=r"plain\.parquet \[geo\].*not a GeoParquet") as err:
        load_geoparquet(path)
    assert err.value.field == "geo"
    assert not _sniff_geoparquet(path)

    bad = [good[0], good[1][:10], good[2]]
    with pytest.raises(InvalidGeometryError, match=r"badwkb\.parquet \[geometry\[1\]\]: row 1"):
        load_geoparquet(raw_geoparquet(tmp_path / "badwkb.parquet", bad, geo_meta()))
    with pytest.raises(InvalidGeometryError, match=r"\[geometry\[2\]\].*null"):
        load_geoparquet(raw_geoparquet(tmp_path / "null.parquet", [*good[:2], None], geo_meta()))

    path = raw_geoparquet(tmp_path / "arrow.parquet", good, geo_meta(encoding="point"))
    with pytest.raises(SceneFormatError, match=r"\[geo\.columns\.geometry\.encoding\].*'WKB'"):
        load_geoparquet(path)
    geo = geo_meta()
    del geo["primary_column"]
    with pytest.raises(SceneFormatError, match=r"\[geo\.primary_column\]"):
        load_geoparquet(raw_geoparquet(tmp_path / "nopc.parquet", good, geo))
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(SceneFormatError, match="not a readable Parquet file"):
        load_geoparquet(tmp_path / "junk.parquet")


def test_geoparquet_invalid_polygon_and_repair(tmp_path):
    bowtie = shapely.Polygon([(15.0, 45.0), (15.01, 45.01), (15.01, 45.0), (15.0, 45.01)])
    wkb = list(shapely.to_wkb(np.asarray([GEOMS_LONLAT[0], bowtie])))
    path = raw_geoparquet(tmp_path / "bow.parquet", wkb, geo_meta(geometry_types=["Point"]))
    with pytest.raises(InvalidGeometryError, match=r"\[geometry\[1\]\].*Self-intersection"):
        load_geoparquet(path)
    scene = load_geoparquet(path, repair=True)
    layer = the_layer(scene)
    assert layer.geometries[1].geom_type == "MultiPolygon" and layer.geometries[1].is_valid
    notes = scene.metadata["notes"]
    assert any(n.startswith("geometry[1]: repaired") for n in notes)
    assert any("geometry_types declares ['Point']" in n for n in notes)


def test_geoparquet_unclosed_ring_wkb_fixed_only_with_repair(tmp_path):
    square = shapely.to_wkb(shapely.box(15.0, 45.0, 15.01, 45.01), byte_order=1)
    # Overwrite the closing vertex (the last 16 bytes) so that the ring no longer closes.
    unclosed = square[:-16] + np.array([15.005, 44.99], dtype="<f8").tobytes()
    path = raw_geoparquet(tmp_path / "open.parquet", [square, unclosed], geo_meta())
    with pytest.raises(InvalidGeometryError, match=r"\[geometry\[1\]\]: row 1: invalid WKB"):
        load_geoparquet(path)
    scene = load_geoparquet(path, repair=True)
    poly = the_layer(scene).geometries[1]
    assert poly.is_valid and poly.exterior.coords[0] == poly.exterior.coords[-1]
    assert len(poly.exterior.coords) == 6  # the pentagon, closed on reading
    assert poly.area == pytest.approx(1e-4 + 0.5 * 0.01 * 0.01, rel=1e-9)
    assert any(n.startswith("geometry[1]: WKB fixed") for n in scene.metadata["notes"])


def test_geoparquet_multiple_geometry_columns(tmp_path):
    pts = list(shapely.to_wkb(np.asarray(GEOMS_LONLAT[:2])))
    cents = list(shapely.to_wkb(to_utm(GEOMS_LONLAT[:2])))
    geo = geo_meta()
    geo["columns"]["centroid"] = {
        "encoding": "WKB",
        "geometry_types": ["Point"],
        "crs": UTM33N.to_json_dict(),
    }
    path = raw_geoparquet(
        tmp_path / "two.parquet", pts, geo, {"centroid": pa.array(cents, type=pa.binary())}
    )
    scene = load_geoparquet(path)
    layer = the_layer(scene)
    assert layer.properties == [{"name": "f0"}, {"name": "f1"}]
    assert any("['centroid']" in n for n in scene.metadata["notes"])
    other = the_layer(load_geoparquet(path, column="centroid"))
    assert other.crs.equals(UTM33N)
    assert np.abs(coords(other.lonlat) - coords(layer.lonlat)).max() < 1e-7
    with pytest.raises(SceneFormatError, match=r"\[column\]"):
        load_geoparquet(path, column="name")


def test_geoparquet_id_column_rule(tmp_path):
    wkb = list(shapely.to_wkb(np.asarray(GEOMS_LONLAT[:3])))
    ids = {"id": pa.array([10, 11, 10])}
    scene = load_geoparquet(raw_geoparquet(tmp_path / "dup.parquet", wkb, geo_meta(), ids))
    layer = the_layer(scene)
    assert layer.ids == ["dup:0", "dup:1", "dup:2"]
    assert layer.properties[0] == {"name": "f0", "id": 10}  # kept as a property
    assert any("not unique" in n for n in scene.metadata["notes"])
    layer = the_layer(load_geoparquet(tmp_path / "dup.parquet", id_field="name"))
    assert layer.ids == ["f0", "f1", "f2"] and layer.properties[2] == {"name": "f2", "id": 10}
    with pytest.raises(SceneFormatError, match=r"\[id\].*not unique"):
        load_geoparquet(tmp_path / "dup.parquet", id_field="id")


# ------------------------------------------------------------------------------ sniffing
def test_sniffers_and_registry(tmp_path):
    fc = feature_collection(GEOMS_LONLAT)
    gj = write_json(tmp_path / "a.geojson", fc)
    js = write_json(tmp_path / "b.json", fc)
    other = write_json(tmp_path / "c.json", {"type": "Scene", "objects": []})
    assert detect_format(gj) == "geojson" and detect_format(js) == "geojson"
    assert not _sniff_geojson(other) and not _sniff_geojson(tmp_path)
    (tmp_path / "d.json").write_text("{not json")
    assert not _sniff_geojson(tmp_path / "d.json")
    layer = GeoLayer("x", WGS84, np.asarray(GEOMS_LONLAT), [dict(p) for p in PROPS], list(IDS))
    gp = write_geoparquet(layer, tmp_path / "e.geoparquet")
    assert detect_format(gp) == "geoparquet"
    assert not _sniff_geoparquet(gj) and not _sniff_geoparquet(tmp_path / "missing.parquet")
    assert the_layer(load_scene(gp)).ids == IDS
    assert the_layer(load_scene(js)).name == "b"


# ------------------------------------------------------------------------------ real data
def test_natural_earth_countries_through_geoparquet(tmp_path):
    raw = pytest.importorskip("pyogrio.raw")
    from geoenv.geo import parse_crs

    shp = (
        importlib.resources.files("pyogrio")
        / "tests/fixtures/naturalearth_lowres"
        / "naturalearth_lowres.shp"
    )
    meta, _, wkb, fields = raw.read(str(shp))
    names = [str(n) for n in meta["fields"]]
    props = [
        dict(zip(names, row, strict=True))
        for row in zip(*[f.tolist() for f in fields], strict=True)
    ]
    src = GeoLayer(
        "countries",
        parse_crs(meta["crs"], shp, "crs"),
        shapely.from_wkb(wkb),
        props,
        [str(p["iso_a3"]) + ":" + str(p["name"]) for p in props],
    )
    path = write_geoparquet(src, tmp_path / "naturalearth_lowres.parquet")
    scene = load_geoparquet(path, repair=True)
    layer = scene.geo_layers["naturalearth_lowres"]
    assert len(layer) == 177
    assert layer.crs.equals(WGS84)
    assert set(layer.properties[0]) == {"pop_est", "continent", "name", "iso_a3", "gdp_md_est"}
    by_name = {p["name"]: i for i, p in enumerate(layer.properties)}
    geod = pyproj.Geod(ellps="WGS84")
    for country, km2 in (("Italy", 301_340), ("France", 643_801)):
        i = by_name[country]
        g = layer.geometries[i]
        assert g.is_valid and g.geom_type in ("Polygon", "MultiPolygon")
        area = abs(geod.geometry_area_perimeter(g)[0]) / 1e6
        assert area == pytest.approx(km2, rel=0.10), country
        assert layer.ids[i] == f"{layer.properties[i]['iso_a3']}:{country}"
    # Every repair (if any) is recorded, one note per repaired feature.
    repaired = [n for n in scene.metadata["notes"] if "make_valid" in n]
    assert len(repaired) == int((~shapely.is_valid(src.geometries)).sum())
