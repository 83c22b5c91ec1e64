"""Geo templates, the Shapefile / GeoPackage / FlatGeobuf loader and map overlays.

Hand-made layers are drawn in metres in an azimuthal-equidistant projection (PROJ) around an
origin and converted to EPSG:4326 or UTM 32N: within a kilometre of its centre that projection
is an isometry to ~1e-8, so planar distances, areas and directions of the drawing are the
independent expected values. Real data: Natural Earth's low-resolution countries shipped in
the pyogrio wheel (public domain), checked against published facts.
"""

from __future__ import annotations

import importlib.resources
import math
import re
import struct
from collections import Counter

import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import geoenv
import geoenv.tasks.geo as T  # registers the geo templates
from geoenv import geodesy as G
from geoenv.errors import CRSError, EmptyInstanceError, InvalidGeometryError, SceneFormatError
from geoenv.geo import WGS84, GeoLayer
from geoenv.geoplot import render_map, render_question
from geoenv.scene import Scene
from geoenv.scenes.registry import detect_format, load_scene
from geoenv.scenes.vector import _sniff_vector, load_vector
from geoenv.tasks.base import IllPosed
from geoenv.tasks.registry import get

NAMES = (
    "geo_distance",
    "geo_direction",
    "geo_topology",
    "geo_relation",
    "geo_area",
    "geo_length",
    "geo_nearest",
    "geo_count_within",
    "geo_group_area",
)
FAST = settings(max_examples=25, deadline=None)
ORIGIN = (8.5402, 47.3779)
UTM32 = pyproj.CRS.from_epsg(32632)
NE_PATH = (
    importlib.resources.files("pyogrio")
    / "tests/fixtures/naturalearth_lowres/naturalearth_lowres.shp"
)

# The drawing (metres, x east, y north of the origin).
LAYOUT: list[tuple[str, str, shapely.Geometry]] = [
    ("district", "district", shapely.box(0, 0, 600, 400)),
    ("park1", "park", shapely.box(50, 50, 150, 150)),
    ("park2", "park", shapely.box(300, 100, 450, 250)),
    ("park3", "park", shapely.box(700, 0, 800, 100)),
    ("plaza", "plaza", shapely.box(600, 150, 660, 250)),  # T-junction on the district's edge
    ("street", "street", shapely.LineString([(-100, 300), (700, 300)])),
    ("river", "river", shapely.LineString([(-50, -50), (850, -50)])),
    ("cafe", "poi", shapely.Point(200, 350)),
    ("kiosk", "poi", shapely.Point(650, 60)),
    ("fountain", "poi", shapely.Point(100, 100)),
]
TOWER = shapely.box(280, 500, 320, 540)  # 100 m north of the district, drawn like the rest


def aeqd(lon: float, lat: float) -> pyproj.CRS:
    return pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs"
    )


def drawn(geoms, lon: float, lat: float, crs: pyproj.CRS = WGS84, mirror: bool = False):
    tr = pyproj.Transformer.from_crs(aeqd(lon, lat), crs, always_xy=True)
    sign = -1.0 if mirror else 1.0
    return [
        shapely.transform(g, lambda c: np.column_stack(tr.transform(sign * c[:, 0], c[:, 1])))
        for g in geoms
    ]


def city_scene(
    lon: float = ORIGIN[0],
    lat: float = ORIGIN[1],
    crs: pyproj.CRS = WGS84,
    mirror: bool = False,
    snap_m: float | None = None,
) -> Scene:
    """The drawing as layer ``city`` (in ``crs``) plus layer ``utm`` (UTM 32N) with the tower
    and a hall drawn directly in UTM grid metres."""
    geoms = drawn([g for _, _, g in LAYOUT], lon, lat, crs, mirror)
    props = [{"name": n, "kind": k} for n, k, _ in LAYOUT]
    city = GeoLayer("city", crs, np.array(geoms, dtype=object), props, [n for n, _, _ in LAYOUT])
    layers = {"city": city}
    if crs is WGS84 and not mirror and (lon, lat) == ORIGIN:
        tower = drawn([TOWER], lon, lat, UTM32)[0]
        e, n = pyproj.Transformer.from_crs(WGS84, UTM32, always_xy=True).transform(lon, lat)
        hall = shapely.box(e - 300, n - 400, e - 250, n - 370)  # 50 x 30 m grid square
        layers["utm"] = GeoLayer(
            "utm",
            UTM32,
            np.array([tower, hall], dtype=object),
            [{"name": "tower", "kind": "building"}, {"name": "hall", "kind": "building"}],
            ["tower", "hall"],
        )
    meta = {} if snap_m is None else {"geo_snap_m": snap_m}
    return Scene("city", geo_layers=layers, metadata=meta)


def ans(name: str, scene: Scene, **params):
    params.setdefault("ref_mode", "name")
    return get(name).answer(scene, params)


def ill(name: str, scene: Scene, match: str, tpl=None, **params) -> IllPosed:
    params.setdefault("ref_mode", "name")
    with pytest.raises(IllPosed, match=match) as e:
        (tpl or get(name)).answer(scene, params)
    return e.value


@pytest.fixture(scope="module")
def city() -> Scene:
    return city_scene()


@pytest.fixture(scope="module")
def ne() -> Scene:
    return load_scene(NE_PATH)


def ne_feature(scene: Scene, name: str) -> str:
    layer = scene.geo_layers["naturalearth_lowres"]
    return f"naturalearth_lowres/{layer.ids[[p['name'] for p in layer.properties].index(name)]}"


# ============================================================================ hand-made values
def test_distance_area_length_match_the_drawing(city):
    for a, b, want in (
        ("park1", "park2", 150.0),
        ("park2", "park3", 250.0),
        ("cafe", "street", 50.0),
        ("kiosk", "park3", 50.0),
        ("district", "park3", 100.0),
        ("district", "river", 50.0),
        ("park2", "cafe", math.hypot(100, 100)),
    ):
        got = ans("geo_distance", city, a=f"city/{a}", b=f"city/{b}")
        assert got.value == pytest.approx(want, abs=2e-3), (a, b)
    # Across layers: the UTM tower is 100 m north of the EPSG:4326 district.
    got = ans("geo_distance", city, a="city/district", b="utm/tower")
    assert got.value == pytest.approx(100.0, abs=2e-3)
    for f, want in (("park1", 1e4), ("park2", 22_500), ("district", 240_000)):
        assert ans("geo_area", city, a=f"city/{f}").value == pytest.approx(want, rel=1e-6)
    assert ans("geo_area", city, a="utm/tower").value == pytest.approx(1600, rel=1e-6)
    # The hall is a 50 x 30 m UTM grid square: ground area = grid area / areal scale factor.
    hall = city.geo_layers["utm"].lonlat[1]
    c = shapely.centroid(hall)
    k2 = pyproj.Proj(UTM32).get_factors(c.x, c.y).areal_scale
    assert ans("geo_area", city, a="utm/hall").value == pytest.approx(1500 / k2, rel=1e-7)
    got = ans("geo_length", city, a="city/street", measure="length")
    assert got.value == pytest.approx(800, rel=1e-6)
    assert ans("geo_length", city, a="city/river", measure="length").value == pytest.approx(900)
    got = ans("geo_length", city, a="city/district", measure="perimeter")
    assert got.value == pytest.approx(2000, rel=1e-6)


def test_direction_compass_and_degrees(city):
    # kiosk (650, 60) -> cafe (200, 350): atan2(-450, 290) = 302.8 deg, north-west.
    a = ans("geo_direction", city, a="city/kiosk", b="city/cafe")
    want = math.degrees(math.atan2(-450, 290)) % 360
    assert a.value == "north-west"
    assert a.evidence["bearing_deg"] == pytest.approx(want, abs=0.02)
    assert get("geo_direction").answer_value(a) == pytest.approx(want, abs=0.02)
    layer = city.geo_layers["city"]
    assert a.evidence["bearing_deg"] == G.bearing_deg(layer.lonlat[8], layer.lonlat[7])
    # kiosk -> park1 centroid (100, 100): 274.2 deg, west; park1 -> kiosk: 94.2, east.
    assert ans("geo_direction", city, a="city/kiosk", b="city/park1").value == "west"
    assert ans("geo_direction", city, a="city/park1", b="city/kiosk").value == "east"
    q = get("geo_direction").question(
        city, {"a": "city/kiosk", "b": "city/cafe", "ref_mode": "name"}, np.random.default_rng(0), 2
    )
    assert q.choices[2] == "north-west" and q.answer == "north-west" and q.unit == "deg"
    assert set(q.choices) == {"north-west", "north", "west", "south-east"}
    assert q.answer_value == pytest.approx(want, abs=0.02)


def test_topology_and_relation_answers(city):
    def holds(a, b, rel, scene=city):
        return ans("geo_topology", scene, a=f"city/{a}", b=f"city/{b}", relation=rel).value

    assert holds("park1", "district", "within") and holds("district", "park1", "contains")
    assert holds("street", "district", "crosses") and holds("fountain", "park1", "within")
    assert holds("park3", "district", "disjoint") and not holds("park3", "district", "touches")
    assert holds("cafe", "district", "within") and not holds("cafe", "park2", "intersects")
    e = ans("geo_topology", city, a="city/park1", b="city/district", relation="within").evidence
    assert e["rcc8"] == "NTPP" and e["holds"]
    # Asked with the other answer slot, a true relation is phrased as a negated claim.
    tpl, p = get("geo_topology"), {"a": "city/park1", "b": "city/district", "relation": "within"}
    q = tpl.question(city, p | {"ref_mode": "name"}, np.random.default_rng(1), slot=1)
    assert q.answer == "no" and q.text.startswith("Is it false that")
    assert re.search(r"(lies within|contains) the feature named", q.text)
    q = tpl.question(city, p | {"ref_mode": "name"}, np.random.default_rng(1), slot=0)
    assert q.answer == "yes" and not q.text.startswith("Is it false")
    rel = lambda a, b, s=city: ans("geo_relation", s, a=f"city/{a}", b=f"city/{b}").value  # noqa: E731
    assert rel("park1", "district") == "within" and rel("district", "park2") == "contains"
    assert rel("street", "district") == "crosses" and rel("river", "district") == "disjoint"
    assert rel("fountain", "park1") == "within"
    # The plaza meets the district in a T-junction: only a snapping tolerance makes it touch.
    ill("geo_topology", city, "min_clearance_m", a="city/plaza", b="city/district",
        relation="touches")  # fmt: skip
    snapped = city_scene(snap_m=0.01)
    assert holds("plaza", "district", "touches", snapped)
    assert rel("plaza", "district", snapped) == "touches"
    assert ans("geo_topology", snapped, a="city/plaza", b="city/district",
               relation="touches").evidence["rcc8"] == "EC"  # fmt: skip


def test_nearest_count_group_answers(city):
    cands = ["city/park1", "city/park2", "city/park3", "city/kiosk"]
    a = ans("geo_nearest", city, x="city/cafe", candidates=cands, mode="closest")
    assert a.value == "park2"
    d = a.evidence["distances_m"]
    assert d["city/park1"] == pytest.approx(math.hypot(50, 200), abs=2e-3)
    assert d["city/kiosk"] == pytest.approx(math.hypot(450, 290), abs=2e-3)
    count = lambda **p: ans("geo_count_within", city, **p)  # noqa: E731
    # From the cafe: fountain 269.3 m, kiosk 535.4 m.
    assert count(category="kind=poi", scope="radius", x="city/cafe", radius_m=300).value == 1
    assert count(category="kind=poi", scope="radius", x="city/cafe", radius_m=600).value == 2
    assert count(category="kind=park", scope="inside", x="city/district").value == 2
    assert count(category="kind=poi", scope="inside", x="city/district").value == 2
    group = lambda **p: ans("geo_group_area", city, **p)  # noqa: E731
    assert group(category="kind=park", scope="all").value == pytest.approx(42_500, rel=1e-6)
    got = group(category="kind=park", scope="inside", x="city/district")
    assert got.value == pytest.approx(32_500, rel=1e-6)
    assert got.evidence["members"] == ["city/park1", "city/park2"]
    # Parks within 300 m of the kiosk: park3 (50 m) and park2 (204 m); park1 is 500 m away.
    got = group(category="kind=park", scope="radius", x="city/kiosk", radius_m=300)
    assert got.value == pytest.approx(32_500, rel=1e-6)


# ============================================================================ rejection rules
def test_every_rejection_rule_fires_and_not(city):
    ill("geo_distance", city, "no geo feature", a="city/nope", b="city/park1")
    ill("geo_distance", city, "distinct", a="city/park1", b="city/park1")
    ill("geo_distance", city, "ref_mode", a="city/park1", b="city/park2", ref_mode="pixels")
    ill("geo_distance", city, "touch", a="city/fountain", b="city/park1")
    ill("geo_distance", city, "touch", tpl=get("geo_distance", min_distance_m=200),
        a="city/park1", b="city/park2")  # fmt: skip
    assert get("geo_distance", min_distance_m=149).answer(
        city, {"a": "city/park1", "b": "city/park2", "ref_mode": "name"}
    )
    # Direction: fountain (100, 100) -> park2 centroid (375, 175) is 74.7 deg, 7.2 from 67.5.
    e = ill("geo_direction", city, "boundary_margin_deg", a="city/fountain", b="city/park2")
    assert e.evidence["boundary_margin_deg"] == pytest.approx(7.25, abs=0.02)
    assert (
        get("geo_direction", boundary_margin_deg=7.0)
        .answer(city, {"a": "city/fountain", "b": "city/park2", "ref_mode": "name"})
        .value
        == "east"
    )
    ill("geo_direction", city, "apart", a="city/fountain", b="city/park1")  # same centroid
    ill("geo_direction", city, "a covers the representative point of b",
        a="city/district", b="city/street")  # fmt: skip
    ill("geo_direction", city, "b covers", a="city/fountain", b="city/district")
    # Neighbours that only touch are asked: the plaza (630, 200) is due east of the district.
    snapped = city_scene(snap_m=0.01)
    assert ans("geo_direction", snapped, a="city/plaza", b="city/district").value == "west"
    ill("geo_direction", city, "apart", tpl=get("geo_direction", min_separation_m=1000),
        a="city/kiosk", b="city/cafe")  # fmt: skip
    # Topology: relation not asked for the dimensions; clearance.
    ill("geo_topology", city, "not asked", a="city/park1", b="city/park2", relation="crosses")
    assert not ans("geo_topology", city, a="city/park1", b="city/park2", relation="touches").value
    ill("geo_topology", city, "min_clearance_m", tpl=get("geo_topology", min_clearance_m=200),
        a="city/park1", b="city/park2", relation="touches")  # fmt: skip
    ill("geo_relation", city, "min_clearance_m", tpl=get("geo_relation", min_clearance_m=200),
        a="city/park1", b="city/park2")  # fmt: skip
    # Measures.
    ill("geo_area", city, "not polygonal", a="city/street")
    ill("geo_area", city, "min_area_m2", tpl=get("geo_area", min_area_m2=2e4), a="city/park1")
    ill("geo_length", city, "linear", a="city/park1", measure="length")
    ill("geo_length", city, "measure must", a="city/street", measure="width")
    ill("geo_length", city, "min_length_m", tpl=get("geo_length", min_length_m=1e3),
        a="city/street", measure="length")  # fmt: skip
    # Nearest: the farthest of these is park3 (559.0 m) by 18.2 m only (< 10 % of 559 m).
    cands = ["city/park1", "city/park2", "city/park3", "city/kiosk"]
    ill("geo_nearest", city, "margin", x="city/cafe", candidates=cands, mode="farthest")
    assert (
        get("geo_nearest", min_margin_rel=0.01)
        .answer(
            city, {"x": "city/cafe", "candidates": cands, "mode": "farthest", "ref_mode": "name"}
        )
        .value
        == "park3"
    )
    ill("geo_nearest", city, "list of 4", x="city/cafe", candidates=cands[:3], mode="closest")
    # Counts: zero, margin around R, partly inside.
    ill("geo_count_within", city, "count is 0", category="kind=poi", scope="radius",
        x="city/cafe", radius_m=100)  # fmt: skip
    ill("geo_count_within", city, "of R", category="kind=poi", scope="radius",
        x="city/cafe", radius_m=540)  # fmt: skip
    ill("geo_count_within", city, "partly inside", category="kind=street", scope="inside",
        x="city/district")  # fmt: skip
    ill("geo_count_within", city, "no such class", category="kind=castle", scope="inside",
        x="city/district")  # fmt: skip
    ill("geo_group_area", city, "min_members", category="kind=park", scope="radius",
        x="city/kiosk", radius_m=100)  # fmt: skip
    ill("geo_group_area", city, "of R", category="kind=park", scope="radius",
        x="city/kiosk", radius_m=200)  # fmt: skip
    # A pair too large for a local projection.
    far = Scene("far", geo_layers={"w": GeoLayer(
        "w", WGS84,
        np.array([shapely.LineString([(0, 0), (1, 0)]), shapely.LineString([(178, 1), (179, 0)])]),
        [{"name": "l1"}, {"name": "l2"}], ["l1", "l2"])})  # fmt: skip
    ill("geo_distance", far, "distance", a="w/l1", b="w/l2")


# ============================================================================ reference modes
def _utm_to_lonlat(c: np.ndarray) -> np.ndarray:
    tr = pyproj.Transformer.from_crs(UTM32, WGS84, always_xy=True)
    return np.column_stack(tr.transform(*c.T))


WKT_RE = re.compile(r"((?:MULTI)?(?:POINT|LINESTRING|POLYGON) \(.*?\)+) \(")


def test_reference_modes_use_the_geometry_as_written(city):
    idx = T.geo_index(city)
    assert idx["city/park1"].text("name") == 'the feature named "park1"'
    assert idx["city/district"].text("attribute") == "the district"
    assert idx["city/park2"].text("attribute") == 'the park named "park2"'
    assert idx["city/cafe"].text("coords").startswith("the point (8.54")
    assert "EPSG:32632, x = easting, y = northing in metres" in idx["utm/tower"].text("wkt")
    assert set(idx["city/street"].modes) == {"name", "attribute", "wkt", "coords"}
    tpl = get("geo_distance")
    rng = np.random.default_rng(3)
    for mode in T.REF_MODES:
        p = {"a": "city/district", "b": "utm/tower", "ref_mode": mode}
        q = tpl.question(city, p, rng)
        assert q.params["ref_mode"] == mode
        assert q.answer_value == pytest.approx(100.0, abs=0.01)
        if mode == "wkt":  # parse the text back: the answer is computed on what it says
            found = WKT_RE.findall(q.text)
            assert len(found) == 2
            geoms = [shapely.from_wkt(w) for w in found]
            if "32632" in q.text.split(found[0])[1][:40]:
                geoms = geoms[::-1]
            tower = shapely.transform(geoms[1], _utm_to_lonlat)
            assert G.distance_m(geoms[0], tower) == pytest.approx(q.answer_value, abs=1e-9)
    # wkt / coords are refused for features with too many vertices.
    big = shapely.Point(0, 0).buffer(0.01, 32)
    sc = Scene("b", geo_layers={"l": GeoLayer("l", WGS84, np.array([big]), [{}], ["b"])})
    assert T.geo_index(sc)["l/b"].modes == ()
    ill("geo_area", sc, "ref_mode", a="l/b", ref_mode="wkt")


# ============================================================================ metamorphic
EXPECTED = {
    ("geo_distance", "park1", "park2"): 150.0,
    ("geo_distance", "district", "river"): 50.0,
    ("geo_distance", "kiosk", "park3"): 50.0,
}


def _answers(scene: Scene) -> dict:
    out = {}
    for (name, a, b), _ in EXPECTED.items():
        out[(name, a, b)] = ans(name, scene, a=f"city/{a}", b=f"city/{b}").value
    out["area"] = ans("geo_area", scene, a="city/park2").value
    out["length"] = ans("geo_length", scene, a="city/street", measure="length").value
    out["dir1"] = ans("geo_direction", scene, a="city/kiosk", b="city/cafe").value
    out["dir2"] = ans("geo_direction", scene, a="city/park1", b="city/kiosk").value
    out["within"] = ans("geo_relation", scene, a="city/park1", b="city/district").value
    out["crosses"] = ans("geo_relation", scene, a="city/street", b="city/district").value
    out["count"] = ans(
        "geo_count_within", scene, category="kind=park", scope="inside", x="city/district"
    ).value
    return out


MIRROR = {"north-west": "north-east", "east": "west"}


@FAST
@given(lon=st.floats(-180, 180, exclude_max=True), lat=st.floats(-88, 88), mirror=st.booleans())
def test_answers_do_not_depend_on_where_the_drawing_is(lon, lat, mirror):
    """Anywhere on the ellipsoid (across the antimeridian, near the poles) and mirrored, the
    drawing gives the same metric answers; mirroring swaps east and west."""
    got = _answers(city_scene(lon, lat, mirror=mirror))
    for key, want in EXPECTED.items():
        assert got[key] == pytest.approx(want, abs=2e-3), key
    assert got["area"] == pytest.approx(22_500, rel=1e-6)
    assert got["length"] == pytest.approx(800, rel=1e-6)
    dirs = ("north-west", "east") if not mirror else (MIRROR["north-west"], MIRROR["east"])
    assert (got["dir1"], got["dir2"]) == dirs
    assert (got["within"], got["crosses"], got["count"]) == ("within", "crosses", 2)


def test_antimeridian_drawing_crosses_it():
    sc = city_scene(179.9995, -16.5)
    x = shapely.get_coordinates(sc.geo_layers["city"].geometries)[:, 0]
    assert (x > 179.99).any() and (x < -179.99).any()
    got, want = _answers(sc), _answers(city_scene())
    for k, v in want.items():
        assert got[k] == (pytest.approx(v, rel=1e-6) if isinstance(v, float) else v), k
    assert ans("geo_area", sc, a="city/district").value == pytest.approx(240_000, rel=1e-6)


def test_answers_do_not_depend_on_the_layer_crs(city):
    utm = city_scene(crs=UTM32)
    a, b = _answers(city), _answers(utm)
    for k in a:
        if isinstance(a[k], float):
            assert b[k] == pytest.approx(a[k], rel=1e-7, abs=1e-5), k
        else:
            assert b[k] == a[k], k


def test_swapping_a_and_b(city):
    for a, b in (("park1", "park2"), ("street", "river"), ("cafe", "kiosk")):
        d1 = ans("geo_distance", city, a=f"city/{a}", b=f"city/{b}").value
        d2 = ans("geo_distance", city, a=f"city/{b}", b=f"city/{a}").value
        assert d1 == pytest.approx(d2, abs=1e-9)
    for rel, conv in (("within", "contains"), ("touches", "touches"), ("disjoint", "disjoint")):
        for a, b in (("park1", "district"), ("park3", "district"), ("fountain", "park1")):
            x = ans("geo_topology", city, a=f"city/{a}", b=f"city/{b}", relation=rel).value
            y = ans("geo_topology", city, a=f"city/{b}", b=f"city/{a}", relation=conv).value
            assert x == y
    d1 = ans("geo_direction", city, a="city/kiosk", b="city/park1").evidence["bearing_deg"]
    d2 = ans("geo_direction", city, a="city/park1", b="city/kiosk").evidence["bearing_deg"]
    assert (d1 - d2) % 360 == pytest.approx(180, abs=0.05)


# ============================================================================ generation
def test_generation_on_demo_scenes_is_deterministic_and_covers_every_template():
    sc = geoenv.demo_scene(0)
    for name in NAMES:
        tpl = get(name)
        qs = tpl.generate(sc, 0, 4)
        assert qs, name
        assert [q.model_dump() for q in qs] == [q.model_dump() for q in tpl.generate(sc, 0, 4)]
        for q in qs:
            assert q.family == "geo" and q.unit == tpl.unit
            if q.answer_type in ("number", "count"):
                assert q.answer_value and q.answer_value > 0
            if name == "geo_direction":
                assert 0 <= q.answer_value < 360


def test_answer_slots_and_yes_no_are_balanced():
    for name in ("geo_direction", "geo_relation", "geo_nearest", "geo_topology"):
        tpl = get(name)
        counts: Counter = Counter()
        total = 0
        for demo in range(3):
            sc = geoenv.demo_scene(demo)
            for seed in range(4):
                for q in tpl.generate(sc, seed, 17):
                    key = q.answer if q.answer_type == "bool" else q.choices.index(q.answer)
                    counts[key] += 1
                    total += 1
        assert total >= 150, name
        k = 2 if name == "geo_topology" else 4
        assert len(counts) == k, (name, counts)
        for c in counts.values():
            assert abs(c / total - 1 / k) <= 0.05, (name, counts)


# ============================================================================ vector loader
def _write(path, geoms, crs="EPSG:4326", driver=None, layer=None, fields=None, append=False):
    wkb = np.array([None if g is None else shapely.to_wkb(g) for g in geoms], dtype=object)
    fields = fields or {"name": [f"f{i}" for i in range(len(geoms))]}
    gtype = next(g.geom_type for g in geoms if g is not None)
    pyogrio.raw.write(
        str(path), wkb, [np.array(v, dtype=object if isinstance(v[0], str) else None)
                         for v in fields.values()],
        list(fields), layer=layer, driver=driver, geometry_type=gtype, crs=crs, append=append,
    )  # fmt: skip
    return path


def test_vector_loader_reads_shapefile_geopackage_flatgeobuf(tmp_path):
    polys = [shapely.box(8.0, 47.0, 8.1, 47.1), shapely.box(8.2, 47.0, 8.3, 47.1)]
    for suffix, driver in ((".shp", "ESRI Shapefile"), (".gpkg", "GPKG"), (".fgb", "FlatGeobuf")):
        path = _write(tmp_path / f"parks{suffix}", polys, driver=driver, fields={
            "name": ["a", "b"], "area_ha": [1.5, float("nan")]})  # fmt: skip
        assert detect_format(path) == "vector"
        sc = load_scene(path, snap_m=25)
        layer = sc.geo_layers["parks"]
        assert layer.crs.to_epsg() == 4326 and len(layer) == 2
        # FlatGeobuf stores features in its spatial index's order: compare by name.
        props = {p["name"]: p for p in layer.properties}
        assert sorted(props) == ["a", "b"]
        assert props["a"]["area_ha"] == 1.5 and props["b"]["area_ha"] is None
        assert any("NaN" in n for n in sc.metadata["notes"])
        assert sc.metadata["geo_snap_m"] == 25 and sc.metadata["source_format"] == "vector"
        want_ids = ["1", "2"] if suffix == ".gpkg" else ["0", "1"]
        assert layer.ids == want_ids
        i = [p["name"] for p in layer.properties].index("b")
        assert shapely.equals(layer.geometries[i], polys[1])
    # A two-layer GeoPackage in two CRSs.
    gpkg = _write(tmp_path / "two.gpkg", polys, layer="parks")
    pts = [shapely.Point(465_000, 5_247_000), shapely.Point(465_100, 5_247_000)]
    _write(gpkg, pts, crs="EPSG:32632", layer="pois", append=True)
    with pytest.raises(SceneFormatError, match=r"two\.gpkg \[layer\].*pass layer="):
        load_vector(gpkg)
    with pytest.raises(SceneFormatError, match=r"\[layer\]: no layer 'roads'"):
        load_vector(gpkg, layer="roads")
    sc = load_vector(gpkg, layer="pois", id_field="name")
    layer = sc.geo_layers["pois"]
    assert layer.crs.to_epsg() == 32632 and layer.ids == ["f0", "f1"]
    d = G.distance_m(*layer.lonlat)
    k = pyproj.Proj(UTM32).get_factors(*layer.lonlat[0].coords[0]).meridional_scale
    assert d == pytest.approx(100 / k, rel=1e-6)


def test_vector_loader_rejects_malformed_files(tmp_path):
    box = shapely.box(8.0, 47.0, 8.1, 47.1)
    bowtie = shapely.Polygon([(8, 47), (8.1, 47.1), (8.1, 47), (8, 47.1)])
    path = _write(tmp_path / "bad.gpkg", [box, bowtie], driver="GPKG")
    with pytest.raises(InvalidGeometryError, match=r"bad\.gpkg \[features\[1\]\.geometry\].*"
                       "Self-intersection"):  # fmt: skip
        load_vector(path)
    sc = load_vector(path, repair=True)
    assert sc.geo_layers["bad"].geometries[1].is_valid
    assert any("features[1].geometry: repaired" in n for n in sc.metadata["notes"])
    path = _write(tmp_path / "null.gpkg", [box, None], driver="GPKG")
    with pytest.raises(InvalidGeometryError, match=r"\[features\[1\]\.geometry\]: missing"):
        load_vector(path)
    with pytest.warns(UserWarning, match="crs"):
        path = _write(tmp_path / "noprj.shp", [box], crs=None, driver="ESRI Shapefile")
    with pytest.raises(CRSError, match=r"noprj\.shp \[crs\].*no CRS"):
        load_vector(path)
    assert load_vector(path, crs="EPSG:4326").geo_layers["noprj"].crs.to_epsg() == 4326
    swapped = _write(tmp_path / "swap.fgb", [shapely.Point(47.0, 95.0)], driver="FlatGeobuf")
    with pytest.raises(InvalidGeometryError, match=r"features\[0\]\.geometry.*latitude 95"):
        load_vector(swapped)
    empty = tmp_path / "empty.gpkg"
    pyogrio.raw.write(
        str(empty),
        np.array([], dtype=object),
        [np.array([], dtype=object)],
        ["name"],
        layer="e",
        driver="GPKG",
        geometry_type="Point",
        crs="EPSG:4326",
    )
    with pytest.raises(EmptyInstanceError, match=r"empty\.gpkg \[e\]: the layer has no features"):
        load_vector(empty)
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a geopackage at all")
    assert not _sniff_vector(junk) and not _sniff_vector(tmp_path / "missing.shp")
    with pytest.raises(SceneFormatError, match=r"junk\.gpkg: GDAL/OGR cannot open"):
        load_vector(junk)
    dup = _write(tmp_path / "dup.gpkg", [box, box], driver="GPKG", fields={"name": ["x", "x"]})
    with pytest.raises(SceneFormatError, match=r"\[name\]: id_field values are not unique"):
        load_vector(dup, id_field="name")
    with pytest.raises(ValueError, match="snap_m"):
        load_vector(dup, snap_m=-1)


# ============================================================================ Natural Earth
# Published total areas (km^2): Rosstat (Russia 17 098 246), Statistics Canada (9 984 670),
# IBGE (Brazil 8 515 767), Geoscience Australia (7 692 024), INDEC (Argentina, continental
# 2 780 400), CIA World Factbook (Kazakhstan 2 724 900), INEGI (Mexico 1 964 375), SCB (Sweden
# 450 295), Destatis (Germany 357 588), Fiji Bureau of Statistics (18 274).
PUBLISHED_KM2 = {
    "Russia": 17_098_246,
    "Canada": 9_984_670,
    "Brazil": 8_515_767,
    "Australia": 7_692_024,
    "Argentina": 2_780_400,
    "Kazakhstan": 2_724_900,
    "Mexico": 1_964_375,
    "Sweden": 450_295,
    "Germany": 357_588,
}
#: Tolerance of a 1:110m generalised outline against the published area.
AREA_TOL = 0.01
#: Snapping tolerance rule for borders simplified independently (Douglas-Peucker, tolerance t):
#: each simplified border stays within t of the shared original, so slivers between neighbours
#: are at most 2 t wide and in practice narrower; snap_m = t (t = 0.1 deg of latitude =
#: 11.12 km) closes them here while staying below the narrowest real gap between
#: non-neighbours in this layer (Spain - Morocco, 21 km; 2 t would close it).
SIMPLIFY_DEG = 0.1
SNAP_SIMPLIFIED_M = 11_120.0


def _ne_simplified(ne: Scene) -> Scene:
    layer = ne.geo_layers["naturalearth_lowres"]
    geoms = shapely.simplify(layer.geometries, SIMPLIFY_DEG, preserve_topology=True)
    simple = GeoLayer(layer.name, layer.crs, geoms, layer.properties, layer.ids)
    return Scene("ne_simplified", geo_layers={layer.name: simple},
                 metadata={"geo_snap_m": SNAP_SIMPLIFIED_M})  # fmt: skip


def test_natural_earth_loads_through_the_vector_loader(ne):
    layer = ne.geo_layers["naturalearth_lowres"]
    assert len(layer) == 177 and layer.crs.to_epsg() == 4326
    assert ne.metadata["driver"] == "ESRI Shapefile"
    assert ne_feature(ne, "France") == "naturalearth_lowres/43"


def test_natural_earth_neighbours_share_a_border(ne):
    simple = _ne_simplified(ne)
    pairs = (("France", "Spain"), ("Germany", "Poland"), ("Argentina", "Chile"))
    exact_simplified = []
    for a, b in pairs:
        ka, kb = ne_feature(ne, a), ne_feature(ne, b)
        # The layer's own borders share their vertices: they touch exactly (snap 0).
        q = {"a": ka, "b": kb, "relation": "touches", "ref_mode": "name"}
        assert get("geo_topology").answer(ne, q).value, (a, b)
        assert get("geo_relation").answer(ne, q).value == "touches"
        # Simplified independently they no longer meet exactly, but do within the tolerance.
        ga, gb = (simple.geo_layers["naturalearth_lowres"].lonlat[int(k.split("/")[1])]
                  for k in (ka, kb))  # fmt: skip
        exact_simplified.append(G.relate(ga, gb)["rcc8"])
        assert G.relate(ga, gb, snap_m=SNAP_SIMPLIFIED_M)["rcc8"] == "EC", (a, b)
        assert get("geo_topology").answer(simple, q).value, (a, b)
    assert set(exact_simplified) - {"EC"}, exact_simplified  # at least one pair broke apart
    # Not every nearby pair touches: the Strait of Gibraltar is 21 km in this layer.
    q = {"a": ne_feature(ne, "Spain"), "b": ne_feature(ne, "Morocco"), "ref_mode": "name"}
    assert get("geo_relation").answer(ne, q).value == "disjoint"
    assert get("geo_relation").answer(simple, q).value == "disjoint"


def test_natural_earth_islands_touch_no_one(ne):
    simple = _ne_simplified(ne)
    for scene, snap in ((ne, 0.0), (simple, SNAP_SIMPLIFIED_M)):
        layer = scene.geo_layers["naturalearth_lowres"]
        bounds = shapely.bounds(layer.lonlat)
        for island in ("Iceland", "New Zealand"):
            i = [p["name"] for p in layer.properties].index(island)
            # Features whose lon/lat boxes stay 1 degree (> 100 km) away cannot be within 12 km
            # (geodesic edges of this layer bulge a few km at most); the others are related.
            near = np.flatnonzero(
                (bounds[:, 0] <= bounds[i, 2] + 1) & (bounds[:, 2] >= bounds[i, 0] - 1)
                & (bounds[:, 1] <= bounds[i, 3] + 1) & (bounds[:, 3] >= bounds[i, 1] - 1)
            )  # fmt: skip
            others = [j for j in near.tolist() if j != i]
            assert len(others) <= 2, island
            for j in others:
                r = G.relate(layer.lonlat[i], layer.lonlat[j], snap_m=snap)
                assert r["rcc8"] == "DC" and not r["intersects"], (island, j)
                q = {"a": f"naturalearth_lowres/{i}", "b": f"naturalearth_lowres/{j}",
                     "relation": "touches", "ref_mode": "name"}  # fmt: skip
                assert not get("geo_topology").answer(scene, q).value
        ice, grl = ne_feature(ne, "Iceland"), ne_feature(ne, "Greenland")
        d = get("geo_distance").answer(scene, {"a": ice, "b": grl, "ref_mode": "name"}).value
        assert 250_000 < d < 350_000  # Denmark Strait: about 290 km


def test_natural_earth_antimeridian_countries(ne):
    layer = ne.geo_layers["naturalearth_lowres"]
    for name, published, tol in (("Fiji", 18_274, 0.10), ("Russia", 17_098_246, AREA_TOL)):
        key = ne_feature(ne, name)
        g = layer.lonlat[int(key.split("/")[1])]
        x = shapely.get_coordinates(g)[:, 0]
        assert x.max() >= 180 - 1e-9 and x.min() <= -180 + 1e-9, name  # split at 180
        area = get("geo_area").answer(ne, {"a": key, "ref_mode": "name"}).value
        assert area / 1e6 == pytest.approx(published, rel=tol), name
        # Projected, the parts on either side of the cut join up.
        centre = G.lonlat_centre(g)
        local = G.to_local(g, centre)
        assert local.is_valid
        assert shapely.get_num_geometries(local) < shapely.get_num_geometries(g)
        lon, lat = G.representative_lonlat(g)
        assert G.distance_m(g, shapely.Point(lon, lat)) < 50_000, name  # not at longitude 0
        if name == "Russia":
            assert shapely.covers(local, G.to_local(shapely.Point(lon, lat), centre))
    assert abs(G.lonlat_centre(layer.lonlat[0])[0]) > 170  # Fiji, not longitude 0
    # Perimeters do not count the cut along 180 degrees.
    fiji = layer.lonlat[0]
    _, with_cut = pyproj.Geod(ellps="WGS84").geometry_area_perimeter(fiji)
    assert G.perimeter_m(fiji) < with_cut - 50_000


def test_natural_earth_areas_match_published_figures(ne):
    for name, km2 in PUBLISHED_KM2.items():
        got = get("geo_area").answer(ne, {"a": ne_feature(ne, name), "ref_mode": "name"}).value
        assert got / 1e6 == pytest.approx(km2, rel=AREA_TOL), name


def test_natural_earth_directions_and_nearest(ne):
    def direction(a, b):
        p = {"a": ne_feature(ne, a), "b": ne_feature(ne, b), "ref_mode": "name"}
        return get("geo_direction").answer(ne, p).value

    assert direction("Finland", "Estonia") == "south"
    assert direction("Egypt", "Sudan") == "south"
    assert direction("Germany", "Denmark") == "north"
    assert direction("Poland", "Lithuania") == "north-east"
    assert direction("India", "China") == "north-east"
    with pytest.raises(IllPosed, match="sector boundary"):  # 75.9 deg: too close to 67.5
        direction("Germany", "Poland")
    # France's centroid (with French Guiana) lies outside France: rejected, not misleading.
    with pytest.raises(IllPosed, match="outside"):
        get("geo_direction").answer(
            ne, {"a": ne_feature(ne, "France"), "b": ne_feature(ne, "Spain"), "ref_mode": "name"}
        )
    cands = [ne_feature(ne, n) for n in ("Norway", "United Kingdom", "Greenland", "Ireland")]
    p = {"x": ne_feature(ne, "Iceland"), "candidates": cands, "mode": "closest",
         "ref_mode": "name"}  # fmt: skip
    assert get("geo_nearest").answer(ne, p).value == "Greenland"
    qs = get("geo_distance").generate(ne, 0, 5)
    assert len(qs) == 5 and all(q.answer_value > 1 for q in qs)


# ============================================================================ overlays
def _png_chunks(png: bytes) -> list[bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out, i = [], 8
    while i < len(png):
        (n,) = struct.unpack(">I", png[i : i + 4])
        out.append(png[i + 4 : i + 8])
        i += 12 + n
    return out


def test_overlay_is_deterministic_and_keeps_the_pixel_transform(city):
    hl = {"city/park2": "park 2", "city/cafe": "cafe", "city/street": "street"}
    m1, m2 = render_map(city, hl), render_map(city, hl)
    assert m1.png == m2.png and (m1.width, m1.height) == (640, 480)
    assert not {b"tEXt", b"tIME", b"iTXt", b"zTXt"} & set(_png_chunks(m1.png))
    a, b, _, d, e, _ = m1.transform
    assert b == d == 0 and a > 0 > e
    lat0 = (m1.pixel_to_crs(0, 0)[1] + m1.pixel_to_crs(0, 480)[1]) / 2
    assert a == pytest.approx(-e / math.cos(math.radians(lat0)), rel=1e-9)
    cafe = city.geo_layers["city"].geometries[7]
    col, row = m1.crs_to_pixel(cafe.x, cafe.y)
    assert 0 < col < 640 and 0 < row < 480
    assert m1.pixel_to_crs(col, row) == pytest.approx((cafe.x, cafe.y), abs=1e-12)
    assert m1.boxes["city/cafe"] == pytest.approx((col, row, col, row))
    x0, y0, x1, y1 = m1.boxes["city/park2"]
    assert x0 < x1 and y0 < y1  # rows grow southwards
    # A projected CRS gets square pixels.
    m3 = render_map(city_scene(crs=UTM32), ["city/park1"], crs=UTM32, width=200, height=100)
    assert m3.transform[0] == pytest.approx(-m3.transform[4])
    with pytest.raises(KeyError, match="no features"):
        render_map(city, ["city/nope"])
    params = {"x": "city/cafe", "candidates": ["city/park1", "city/kiosk"], "mode": "closest"}
    m4 = render_question(city, params)
    assert m4.labels == {"city/cafe": "X", "city/park1": "1", "city/kiosk": "2"}
    assert set(m4.boxes) == set(m4.labels)


def test_natural_earth_distances_agree_with_brute_force(ne):
    """Country-to-country distances from 300 km to 9000 km against brute force: every vertex of
    one country to points every 2 km along the other's geodesic edges (an upper bound of the
    true minimum, above it by at most step^2 / (8 d)); vertices farther than the coarse
    minimum + 200 km (50 km sampling) are skipped."""
    from test_geodesy import geodesic_samples

    geod = pyproj.Geod(ellps="WGS84")

    def brute(a, b, step=2000.0):
        best = math.inf
        for p, q in ((a, b), (b, a)):
            coarse, fine = geodesic_samples(q, 50_000.0), geodesic_samples(q, step)
            v = shapely.get_coordinates(p)
            n, m = len(v), len(coarse)
            _, _, d = geod.inv(np.repeat(v[:, 0], m), np.repeat(v[:, 1], m),
                               np.tile(coarse[:, 0], n), np.tile(coarse[:, 1], n))  # fmt: skip
            near = d.reshape(n, m).min(axis=1)
            for x in v[near <= near.min() + 200_000]:
                k = len(fine)
                _, _, d = geod.inv(np.full(k, x[0]), np.full(k, x[1]), fine[:, 0], fine[:, 1])
                best = min(best, float(d.min()))
        return best

    layer = ne.geo_layers["naturalearth_lowres"]
    names = [p["name"] for p in layer.properties]
    step = 2000.0
    for a, b in (
        ("Iceland", "Greenland"),
        ("New Zealand", "Australia"),
        ("Madagascar", "Mozambique"),
        ("Japan", "Philippines"),
        ("United Kingdom", "Canada"),
        ("Brazil", "Nigeria"),
    ):
        ga, gb = (layer.lonlat[names.index(n)] for n in (a, b))
        d = G.distance_m(ga, gb)
        want = brute(ga, gb, step)
        assert want - step**2 / (8 * want) - 1.0 <= d <= want * (1 + 1e-9) + 1e-3, (a, b, d, want)
