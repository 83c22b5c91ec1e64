"""geoenv.geodesy: the WGS84 rules checked against independent computations (closed-form
ellipsoid formulas, numerical integration, UTM scale factors, brute force), in EPSG:4326 and a
UTM zone, across the antimeridian and near the poles."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from geoenv import geodesy as G
from geoenv.geo import WGS84, GeoLayer

A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
E = math.sqrt(E2)
FAST = settings(max_examples=25, deadline=None)


# ---------------------------------------------------------------------- independent formulas
def q_authalic(lat_deg: float) -> float:
    """Snyder's q(phi): the ellipsoid area between the equator and latitude phi per radian of
    longitude is a^2 q(phi) / 2."""
    s = math.sin(math.radians(lat_deg))
    return (1 - E2) * (s / (1 - E2 * s * s) - math.log((1 - E * s) / (1 + E * s)) / (2 * E))


def zone_area(lon0: float, lon1: float, lat0: float, lat1: float) -> float:
    """Area (m^2) of the lon/lat quadrangle bounded by two meridians and two parallels."""
    return A * A * math.radians(lon1 - lon0) * (q_authalic(lat1) - q_authalic(lat0)) / 2


def meridian_arc(lat0: float, lat1: float) -> float:
    """Length (m) of the meridian between two latitudes: the integral of the meridional radius
    of curvature M(phi) = a (1 - e^2) / (1 - e^2 sin^2 phi)^(3/2)."""
    m = lambda p: A * (1 - E2) / (1 - E2 * math.sin(p) ** 2) ** 1.5  # noqa: E731
    return quad(m, math.radians(lat0), math.radians(lat1), epsabs=1e-9, epsrel=1e-13)[0]


def densified_box(lon0: float, lon1: float, lat0: float, lat1: float, n: int = 400):
    """The quadrangle as a ring whose parallels are densified (n points per degree), so that
    geodesic edges follow the parallels to well under a millimetre."""
    k = max(2, int(abs(lon1 - lon0) * n) + 1)
    lons = np.linspace(lon0, lon1, k)
    south = np.column_stack([lons, np.full(k, lat0)])
    north = np.column_stack([lons[::-1], np.full(k, lat1)])
    return np.vstack([south, north, south[:1]])


def geodesic_samples(g: shapely.Geometry, step_m: float) -> np.ndarray:
    """Points every ``step_m`` metres along the geodesic edges of a geometry's boundary (of the
    geometry itself for lines, its vertices for points)."""
    geod = pyproj.Geod(ellps="WGS84")
    if shapely.get_dimensions(g) == 0:
        return shapely.get_coordinates(g)
    out = []
    for part in shapely.get_parts(g.boundary if shapely.get_dimensions(g) == 2 else g):
        xy = shapely.get_coordinates(part)
        for p, q in itertools.pairwise(xy):
            _, _, length = geod.inv(*p, *q)
            r = geod.inv_intermediate(
                p[0], p[1], q[0], q[1], npts=max(2, int(length / step_m) + 1),
                initial_idx=0, terminus_idx=0, return_back_azimuth=True,
            )  # fmt: skip
            out.append(np.column_stack([r.lons, r.lats]))
    return np.vstack(out)


def brute_distance(a: shapely.Geometry, b: shapely.Geometry, step_m: float = 0.05) -> float:
    """Minimum Geod.inv distance between the vertices of one geometry and points sampled every
    ``step_m`` along the other's geodesic edges (and vice versa): the minimum between two
    disjoint edge-bounded geometries is attained at a vertex of one of them."""
    geod = pyproj.Geod(ellps="WGS84")
    best = math.inf
    for p, q in ((a, b), (b, a)):
        samples = geodesic_samples(q, step_m)
        n = len(samples)
        for v in shapely.get_coordinates(p):
            _, _, d = geod.inv(np.full(n, v[0]), np.full(n, v[1]), samples[:, 0], samples[:, 1])
            best = min(best, float(np.min(d)))
    return best


def local_square(lon: float, lat: float, dx: float, dy: float, half: float) -> shapely.Polygon:
    """A square of side 2 * half metres centred (dx, dy) metres from (lon, lat), built in the
    AEQD centred on (lon, lat) with PROJ (independent of geodesy.to_local)."""
    tr = pyproj.Transformer.from_crs(G.aeqd_crs(lon, lat), WGS84, always_xy=True)
    sq = shapely.box(dx - half, dy - half, dx + half, dy + half)
    return shapely.transform(sq, lambda c: np.column_stack(tr.transform(*c.T)))


# ---------------------------------------------------------------------- compass
def test_compass_sectors_and_the_10_degree_rule():
    assert G.compass8(0) == "north" and G.compass8(359.99) == "north"
    assert G.compass8(22.49) == "north" and G.compass8(22.5) == "north-east"
    assert G.compass8(90) == "east" and G.compass8(180) == "south" and G.compass8(270) == "west"
    assert G.compass8(337.5) == "north" and G.compass8(337.49) == "north-west"
    assert G.compass8(-45) == "north-west" and G.compass8(405) == "north-east"
    assert G.compass_margin_deg(0) == 22.5 and G.compass_margin_deg(45) == 22.5
    assert G.compass_margin_deg(22.5) == 0 and G.compass_margin_deg(30) == pytest.approx(7.5)
    assert not G.near_compass_boundary(12.5)  # exactly 10 degrees: kept
    assert G.near_compass_boundary(12.6) and G.near_compass_boundary(32.4)
    assert not G.near_compass_boundary(32.5)
    for k in range(8):  # the central 25 degrees of each sector are kept
        assert not G.near_compass_boundary(45 * k + 12.49)
        assert G.near_compass_boundary(45 * k + 12.51 + 10)


# ---------------------------------------------------------------------- local projection
@FAST
@given(
    st.floats(-179.9, 179.9),
    st.floats(-85, 85),
    st.floats(-3000, 3000),
    st.floats(-3000, 3000),
)
def test_to_local_is_proj_aeqd_and_from_local_inverts_it(lon, lat, dx, dy):
    tr = pyproj.Transformer.from_crs(G.aeqd_crs(lon, lat), WGS84, always_xy=True)
    plon, plat = tr.transform(dx * 100, dy * 100)
    xy = shapely.get_coordinates(G.to_local(shapely.Point(plon, plat), (lon, lat)))[0]
    # PROJ's aeqd inverse returns the centre itself for points within 1e-10 (in units of the
    # semi-major axis, ~0.64 mm) of it, so the reference is exact only to ~1 mm there.
    assert np.allclose(xy, [dx * 100, dy * 100], atol=1e-3)
    back = G.from_local(xy, (lon, lat))[0]
    assert abs(back[1] - plat) < 1e-9 and abs(((back[0] - plon + 180) % 360) - 180) < 1e-9


def test_lonlat_centre_is_antimeridian_aware():
    split = shapely.MultiPolygon(
        [shapely.box(178.5, -17, 180, -16), shapely.box(-180, -17, -179.5, -16)]
    )
    lon, lat = G.lonlat_centre(split)
    assert lon == pytest.approx(179.5) and lat == pytest.approx(-16.5)
    assert G.lonlat_centre(shapely.Point(10, 20)) == (10.0, 20.0)
    assert G.lonlat_centre(shapely.LineString([(-10, 0), (30, 10)])) == (10.0, 5.0)


# ---------------------------------------------------------------------- distances, EPSG:4326
def test_point_distances_match_closed_forms():
    # Along the equator (shorter than (1 - f) * pi): an arc of the equator, a * dlambda.
    d = G.distance_m(shapely.Point(10, 0), shapely.Point(11.5, 0))
    assert d == pytest.approx(A * math.radians(1.5), abs=1e-6)
    # Along a meridian: the integral of M(phi).
    for lat0, lat1 in ((0, 1), (45, 47.5), (-60, -10), (80, 89.99)):
        d = G.distance_m(shapely.Point(7, lat0), shapely.Point(7, lat1))
        assert d == pytest.approx(meridian_arc(lat0, lat1), abs=1e-6)


def test_polygon_and_line_distances_agree_with_brute_force():
    lon, lat = 8.54, 47.38
    a = local_square(lon, lat, 0, 0, 40)
    b = shapely.affinity.rotate(local_square(lon, lat, 160, 35, 30), 30)
    line = shapely.LineString([(lon - 0.004, lat + 0.003), (lon + 0.004, lat + 0.0025)])
    pt = shapely.Point(lon + 0.001, lat - 0.002)
    for g, h in ((a, b), (a, line), (b, line), (a, pt), (line, pt)):
        d = G.distance_m(g, h)
        assert d == pytest.approx(brute_distance(g, h), abs=0.01), (g.geom_type, h.geom_type)
        assert G.distance_m(h, g) == pytest.approx(d, abs=1e-6)
    det = G.distance_detail(a, b)
    assert abs(det["projected_m"] - det["distance_m"]) < G.DIST_AGREE_ABS_M
    overlapping = local_square(lon, lat, 50, 0, 30)
    assert G.distance_m(a, overlapping) == 0.0


def test_long_distances_between_lines_agree_with_brute_force():
    """750 km apart, with 60-170 km edges: edges are straight in the AEQD re-centred between
    the closest points, where a chord of length L at distance rho from the centre departs
    from the geodesic by about L^2 rho / (8 R^2) (here < 5 m): agreement within 1e-5."""
    a = shapely.LineString([(2.0, 48.0), (2.5, 49.0), (3.0, 48.5)])
    b = shapely.LineString([(12.0, 52.0), (13.5, 52.2), (14.0, 53.0)])
    assert G.distance_m(a, b) == pytest.approx(brute_distance(a, b, 20.0), rel=1e-5)


# ---------------------------------------------------------------------- UTM zone
UTM32 = pyproj.CRS.from_epsg(32632)


def utm_layer(geoms) -> GeoLayer:
    arr = np.array(geoms, dtype=object)
    return GeoLayer("utm", UTM32, arr, [{} for _ in geoms], [str(i) for i in range(len(geoms))])


def grid_to_ground(proj: pyproj.Proj, s: np.ndarray, t: np.ndarray) -> float:
    """Geodesic length of a UTM grid segment: its grid length times the mean of 1 / k along
    it (Simpson's rule over the conformal scale factor k, exact for its quadratic variation;
    the grid line and the geodesic differ by far less than 1e-9 over a few km)."""
    inv_k = [
        1 / proj.get_factors(*proj(*(s + (t - s) * u), inverse=True)).meridional_scale
        for u in (0.0, 0.5, 1.0)
    ]
    return float(np.hypot(*(t - s))) * (inv_k[0] + 4 * inv_k[1] + inv_k[2]) / 6


def test_utm_area_length_distance_agree_with_scale_factors():
    e0, n0 = 465_000.0, 5_247_000.0  # Zurich, UTM 32N
    sq = shapely.box(e0, n0, e0 + 250, n0 + 180)
    line = shapely.LineString([(e0, n0 - 1000), (e0 + 3000, n0 - 1000), (e0 + 3000, n0 + 2000)])
    p, q = shapely.Point(e0 - 4000, n0 + 1000), shapely.Point(e0 + 1000, n0 + 4000)
    layer = utm_layer([sq, line, p, q])
    ll = layer.lonlat
    proj = pyproj.Proj(UTM32)
    c = shapely.centroid(ll[0])
    fac = proj.get_factors(c.x, c.y)
    assert G.area_m2(ll[0]) == pytest.approx(sq.area / fac.areal_scale, rel=1e-7)
    xy = shapely.get_coordinates(line)
    want = sum(grid_to_ground(proj, s, t) for s, t in itertools.pairwise(xy))
    assert G.length_m(ll[1]) == pytest.approx(want, rel=1e-9)
    want = grid_to_ground(proj, np.array(p.coords[0]), np.array(q.coords[0]))
    assert G.distance_m(ll[2], ll[3]) == pytest.approx(want, rel=1e-9)
    # A UTM polygon to a UTM point, 1 km off its corner diagonally.
    corner = np.array([e0 + 250, n0 + 180])
    pt = layer_point = utm_layer([shapely.Point(*(corner + 1000))]).lonlat[0]
    want = grid_to_ground(proj, corner, corner + 1000)
    assert G.distance_m(ll[0], layer_point) == pytest.approx(want, rel=1e-8)
    assert G.distance_m(pt, ll[0]) == pytest.approx(want, rel=1e-8)


# ---------------------------------------------------------------------- measures
def test_areas_match_the_ellipsoid_zone_formula():
    for lon0, lon1, lat0, lat1 in ((8.0, 8.3, 47.0, 47.2), (10, 20, 60, 61), (-70, -69, -55, -54)):
        ring = densified_box(lon0, lon1, lat0, lat1)
        want = zone_area(lon0, lon1, lat0, lat1)
        poly = shapely.Polygon(ring)
        assert G.area_m2(poly) == pytest.approx(want, rel=1e-7)
        assert G.area_m2(shapely.Polygon(ring[::-1])) == pytest.approx(want, rel=1e-7)
    # A hole is subtracted; points and lines have no area.
    outer = densified_box(8.0, 8.3, 47.0, 47.2)
    hole = densified_box(8.1, 8.2, 47.05, 47.1)
    with_hole = shapely.Polygon(outer, [hole])
    want = zone_area(8.0, 8.3, 47.0, 47.2) - zone_area(8.1, 8.2, 47.05, 47.1)
    assert G.area_m2(with_hole) == pytest.approx(want, rel=1e-7)
    assert G.area_m2(shapely.LineString([(0, 0), (1, 1)])) == 0.0
    assert G.area_m2(shapely.Point(0, 0)) == 0.0


def test_lengths_and_perimeters_are_the_geod_numbers():
    geod = pyproj.Geod(ellps="WGS84")
    line = shapely.LineString([(7, 10), (7, 10.5), (7.5, 10.5)])
    assert G.length_m(line) == pytest.approx(geod.geometry_length(line), rel=1e-12)
    # The meridian segment alone is the meridian arc.
    assert G.length_m(shapely.LineString([(7, 10), (7, 10.5)])) == pytest.approx(
        meridian_arc(10, 10.5), abs=1e-6
    )
    poly = shapely.Polygon(densified_box(8.0, 8.3, 47.0, 47.2, n=20))
    _, per = geod.geometry_area_perimeter(poly)
    assert G.perimeter_m(poly) == pytest.approx(per, rel=1e-12)
    assert G.length_m(poly) == pytest.approx(per, rel=1e-12)
    assert G.perimeter_m(line) == 0.0 and G.length_m(shapely.Point(1, 1)) == 0.0


# ---------------------------------------------------------------------- antimeridian
def test_antimeridian_split_and_unsplit_features_agree():
    """A quadrangle 178.5E .. 179.5W, written split at 180 (as Natural Earth does) or as one
    ring crossing it (edges go the short way), has one area, one perimeter, one topology."""
    east = densified_box(178.5, 180.0, -17.0, -16.0)
    west = densified_box(-180.0, -179.5, -17.0, -16.0)
    split = shapely.MultiPolygon([shapely.Polygon(east), shapely.Polygon(west)])
    ring = densified_box(178.5, 180.5, -17.0, -16.0)
    ring[:, 0] = np.where(ring[:, 0] > 180, ring[:, 0] - 360, ring[:, 0])
    unsplit = shapely.Polygon(ring)
    want = zone_area(178.5, 180.5, -17.0, -16.0)
    assert G.area_m2(split) == pytest.approx(want, rel=1e-7)
    assert G.area_m2(unsplit) == pytest.approx(want, rel=1e-7)
    assert G.perimeter_m(split) == pytest.approx(G.perimeter_m(unsplit), rel=1e-9)
    r = G.relate(split, unsplit)
    assert r["rcc8"] == "EQ" and r["equals"]
    # Distances across the line: a point 0.5 degree east of the east edge (179.5W).
    pt = shapely.Point(-179.0, -16.5)
    want_d = brute_distance(unsplit, pt, 1.0)
    assert G.distance_m(split, pt) == pytest.approx(want_d, abs=0.05)
    assert G.distance_m(unsplit, pt) == pytest.approx(want_d, abs=0.05)
    assert G.distance_m(shapely.Point(179.9, 0), shapely.Point(-179.9, 0)) == pytest.approx(
        A * math.radians(0.2), abs=1e-6
    )
    # Bearings and representative points do not jump to longitude 0.
    lon, lat = G.representative_lonlat(split)
    assert abs(lon) > 179 and -17 < lat < -16
    assert G.bearing_deg(shapely.Point(179.5, 0), shapely.Point(-179.5, 0)) == pytest.approx(90)
    assert G.bearing_deg(shapely.Point(-179.5, 0), shapely.Point(179.5, 0)) == pytest.approx(270)
    assert G.bearing_deg(shapely.Point(177.5, -16.5), split) == pytest.approx(90, abs=0.5)


# ---------------------------------------------------------------------- high latitudes
def test_polar_cap_and_high_latitude_measures():
    # A ring around the north pole at 88N, densified: the area of the polar cap.
    lons = np.linspace(-180, 180, 3601)
    cap = shapely.Polygon(np.column_stack([lons, np.full(len(lons), 88.0)]))
    want = 2 * math.pi * A * A * (q_authalic(90) - q_authalic(88)) / 2
    assert G.area_m2(cap) == pytest.approx(want, rel=1e-6)
    box = shapely.Polygon(densified_box(10, 20, 80, 81))
    assert G.area_m2(box) == pytest.approx(zone_area(10, 20, 80, 81), rel=1e-7)
    # Across the pole: twice the meridian arc from 89.9 to 90, heading north.
    a, b = shapely.Point(0, 89.9), shapely.Point(180, 89.9)
    assert G.distance_m(a, b) == pytest.approx(2 * meridian_arc(89.9, 90), abs=1e-6)
    assert G.bearing_deg(a, b) == pytest.approx(0, abs=1e-9)
    assert G.compass8(G.bearing_deg(a, b)) == "north"
    assert G.bearing_deg(shapely.Point(10, 80), shapely.Point(10, 70)) == pytest.approx(180)
    # Lines near the pole: distance agrees with brute force.
    l1 = shapely.LineString([(0, 88.0), (90, 88.0)])
    l2 = shapely.LineString([(180, 88.5), (-90, 88.5)])
    assert G.distance_m(l1, l2) == pytest.approx(brute_distance(l1, l2, 5.0), rel=1e-5)
    with pytest.raises(G.GeodesyError, match="pole"):
        G.bearing_deg(shapely.Point(0, 90), shapely.Point(0, 80))


# ---------------------------------------------------------------------- topology
def test_relate_rcc8_and_predicates_exact():
    lon, lat = 8.54, 47.38
    a = local_square(lon, lat, 0, 0, 50)
    small, big = local_square(lon, lat, 0, 0, 10), local_square(lon, lat, 0, 0, 80)
    cases = (
        (a, local_square(lon, lat, 200, 0, 50), "DC"),
        (a, local_square(lon, lat, 60, 0, 50), "PO"),
        (small, a, "NTPP"),
        (big, a, "NTPPi"),
    )
    for g, h, want in cases:
        assert G.relate(g, h)["rcc8"] == want
    # Built from shared vertices: exactly touching and tangential containment.
    big = shapely.Polygon([(8.0, 47.0), (8.2, 47.0), (8.2, 47.1), (8.0, 47.1)])
    right = shapely.Polygon([(8.2, 47.0), (8.3, 47.0), (8.3, 47.1), (8.2, 47.1)])
    corner = shapely.Polygon([(8.0, 47.0), (8.2, 47.0), (8.1, 47.05)])  # shares an edge
    r = G.relate(big, right)
    assert r["rcc8"] == "EC" and r["touches"] and r["intersects"] and not r["overlaps"]
    assert r["de9im"] == "FF2F11212" and not r["snapped"]
    r = G.relate(corner, big)
    assert r["rcc8"] == "TPP" and r["within"] and r["covered_by"] and not r["contains"]
    assert G.relate(big, corner)["rcc8"] == "TPPi"
    assert G.relate(big, big)["rcc8"] == "EQ"
    # A T-junction: the quarter's corner (8.05, 47.0) lies on big's lon/lat edge, but edges are
    # geodesics, and big's 15 km southern edge bulges north of the parallel by up to
    # L^2 tan(lat) / (8 R) = 4.9 m (3.7 m at the quarter point): tangential only with snapping.
    quarter = shapely.Polygon([(8.0, 47.0), (8.05, 47.0), (8.05, 47.05), (8.0, 47.05)])
    assert G.relate(quarter, big)["rcc8"] == "PO"
    assert G.relate(quarter, big, snap_m=5)["rcc8"] == "TPP"
    # Lines and points: DE-9IM only.
    street = shapely.LineString([(7.9, 47.05), (8.4, 47.05)])
    r = G.relate(street, big)
    assert r["crosses"] and r["rcc8"] is None and not r["within"]
    r = G.relate(shapely.Point(8.1, 47.05), big)
    assert r["within"] and not r["touches"]
    assert G.relate(shapely.Point(8.0, 47.0), big)["touches"]  # a vertex
    # A point in the middle of an edge is on it only up to rounding once projected: snap.
    assert G.relate(shapely.Point(8.0, 47.05), big, snap_m=0.01)["touches"]


def test_relate_snapping_tolerance():
    lon, lat = 8.54, 47.38
    a = local_square(lon, lat, 0, 0, 50)
    gap = local_square(lon, lat, 105, 0, 50)  # 5 m gap
    sliver = local_square(lon, lat, 97, 0, 50)  # 3 m wide overlap
    inside_ish = local_square(lon, lat, 2, 0, 49.5)  # pokes 1.5 m out of a
    for b, exact in ((gap, "DC"), (sliver, "PO")):
        assert G.relate(a, b)["rcc8"] == exact
        r = G.relate(a, b, snap_m=10)
        assert r["rcc8"] == "EC" and r["touches"] and r["snapped"]
        assert G.relate(a, b, snap_m=2)["rcc8"] == exact
    assert G.relate(inside_ish, a)["rcc8"] == "PO"
    assert G.relate(inside_ish, a, snap_m=2)["rcc8"] == "TPP"
    # A point 3 m off a line is snapped onto it.
    line = shapely.LineString([(lon - 0.01, lat), (lon + 0.01, lat)])
    pt = shapely.Point(lon, lat + 3 / 111_200)
    assert G.relate(pt, line)["disjoint"]
    r = G.relate(pt, line, snap_m=5)
    assert r["within"] and r["intersects"] and r["snapped"]
    with pytest.raises(G.GeodesyError, match="snap_m"):
        G.relate(a, gap, snap_m=-1)


# ---------------------------------------------------------------------- errors
def test_undefined_inputs_raise_geodesy_errors():
    with pytest.raises(G.GeodesyError, match="empty"):
        G.area_m2(shapely.Polygon())
    with pytest.raises(G.GeodesyError, match="lon/lat"):
        G.distance_m(shapely.Point(465000, 5247000), shapely.Point(0, 0))
    with pytest.raises(G.GeodesyError, match="shapely"):
        G.length_m("LINESTRING (0 0, 1 1)")
    with pytest.raises(G.GeodesyError, match="local projection"):
        G.distance_m(shapely.Point(0, 0), shapely.LineString([(90, 0), (180, 0), (-90, 0)]))
    with pytest.raises(G.GeodesyError, match="defined up to 10000 km"):
        G.distance_m(shapely.LineString([(0, 0), (1, 0)]), shapely.LineString([(178, 1), (179, 0)]))
    # Points have no such limit: Geod.inv is exact up to the antipode.
    assert G.distance_m(shapely.Point(0, 0), shapely.Point(179, 0)) > 19_000_000
    with pytest.raises(G.GeodesyError, match="apart"):
        G.bearing_deg(shapely.Point(1, 1), shapely.Point(1, 1))
    assert issubclass(G.GeodesyError, ValueError)
