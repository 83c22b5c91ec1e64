"""Exact geo rules on the WGS84 ellipsoid, as plain functions over shapely geometries.

Every function takes shapely geometries in **lon/lat degrees** (EPSG:4326 / OGC:CRS84, x = lon,
y = lat; :attr:`geoenv.geo.GeoLayer.lonlat` gives them for any layer) and returns plain
Python values in metres, square metres or degrees. The task templates (``geoenv.tasks.geo``)
and the validation-service programs both call these functions, so one rule gives one number.

Ellipsoid and geodesics: ``pyproj.Geod(ellps="WGS84")`` (GeographicLib: geodesics exact to
~15 nm).

**Local projection.** Where a rule needs planar geometry (minimum distances, centroids,
topology) the geometries go into a *local azimuthal-equidistant projection* (AEQD) on the
ellipsoid: a vertex at geodesic distance ``s`` and forward azimuth ``alpha`` from the centre
maps to ``(s sin alpha, s cos alpha)`` metres (x east, y north at the centre). This is PROJ's
``+proj=aeqd +datum=WGS84`` (equal to it to ~1e-9 m), computed with ``Geod.inv`` directly.
Distances from the centre are exact; the scale error transverse to the radius grows like
``rho^2 / 6`` (``rho`` the angular distance from the centre): 0.1 % at ~500 km, 0.4 % at
~1000 km. Edges are straight lines *in the projection* (vertex-to-vertex), which for the edge
lengths of real layers is within centimetres of the geodesic edge.

**Centre of a set of geometries** (:func:`lonlat_centre`): latitude = the middle of the
latitude range; longitude = the middle of the shortest longitude arc holding every vertex
(the complement of the largest gap between the sorted vertex longitudes). So a feature split
at the antimeridian (Natural Earth's Fiji and Russia: parts at +180 and at -180) is centred
near 180 degrees, not at 0. A geometry more than :data:`MAX_LOCAL_RADIUS_M` (about a quarter
meridian) from the centre raises :class:`GeodesyError`: the projection is one-to-one up to the
antipode, but no longer usable for these rules.

**Antimeridian.** Edges join consecutive vertices the short way round (never more than 180
degrees of longitude), as ``Geod`` does: the ring ``179 -> -179`` is 2 degrees wide, not 358.
In the AEQD vertices at lon +180 and -180 coincide, so the parts of a feature split at the
antimeridian touch along the cut; a projected polygon made invalid by that is repaired by the
union of its parts on a 1 mm grid (``shapely.union_all(parts, grid_size=0.001)``; then
``make_valid`` if still invalid). Measures (:func:`area_m2`, :func:`perimeter_m`) work ring by
ring with ``Geod`` and need no projection; :func:`perimeter_m` does not count *cut edges*
(edges lying on the antimeridian, both ends at lon = +-180) of a geometry that has vertices at
both +180 and -180.

**High latitudes and poles.** Geodesics, azimuths and areas (``Geod``) are exact at any
latitude, including rings that encircle a pole (GeographicLib counts antimeridian crossings).
The AEQD has no singularity at the poles (only at the centre's antipode). A bearing *from* a
pole (within :data:`POLE_EPS_DEG`) is undefined and raises.

Rules (see docs/geo.md for the full statement):

- :func:`distance_m`: point to point, ``Geod.inv``. Otherwise the minimum distance is found in
  the AEQD centred on the pair (:func:`lonlat_centre` of both), then again in the AEQD centred
  on the geodesic midpoint of the two closest points found (the geodesic between them then
  runs through the centre, where the projection is exact); the answer is the geodesic
  distance (``Geod.inv``) between the two closest points, which must agree with the projected
  distance within :data:`DIST_AGREE_ABS_M` + :data:`DIST_AGREE_REL` x d. Two passes nearly
  always agree (to ~1e-8 below 3000 km); otherwise the pass is repeated around the new
  closest points, up to :data:`DIST_MAX_PASSES` passes, then :class:`GeodesyError`.
  Intersecting geometries are 0 m apart; features more than :data:`MAX_DISTANCE_M`
  (10 000 km) apart raise :class:`GeodesyError`.
- :func:`bearing_deg`: forward azimuth (``Geod.inv``) at A's representative point towards B's,
  clockwise from true north, in [0, 360). Representative point (:func:`representative_lonlat`):
  a point is itself; anything else is the centroid (shapely, area-weighted for polygons,
  length-weighted for lines) of the geometry in its own AEQD (centred by
  :func:`lonlat_centre`), mapped back to lon/lat.
- :func:`compass8`: 8 sectors of 45 degrees centred on north (0), north-east (45), ...;
  boundaries at 22.5 + 45 k degrees; a bearing within :data:`COMPASS_MARGIN_DEG` (10 degrees)
  of a boundary is *near a boundary* (:func:`near_compass_boundary`), and templates reject it.
- :func:`relate`: DE-9IM predicates (shapely) of the two geometries in the AEQD centred on the
  pair, and the RCC8 relation of two polygonal geometries, with a snapping tolerance
  ``snap_m`` for data whose shared borders do not meet exactly (see :func:`relate`).
- :func:`area_m2`, :func:`perimeter_m`, :func:`length_m`: geodesic measures
  (``Geod.polygon_area_perimeter`` per ring, ``Geod.inv`` per edge; the same numbers as
  ``Geod.geometry_area_perimeter`` / ``Geod.geometry_length``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pyproj
import shapely

from geoenv.errors import GeoenvError

#: The ellipsoid of every rule.
GEOD = pyproj.Geod(ellps="WGS84")
#: A geometry farther than this from its local projection's centre is rejected (metres; a
#: quarter meridian is 10 002 km).
MAX_LOCAL_RADIUS_M = 10_000_000.0
#: :func:`distance_m` is defined up to this distance (metres, about a quarter meridian): farther
#: apart, the projection's transverse distortion (sin(rho)/rho, 0.64 at 90 degrees) can hide
#: the closest pair.
MAX_DISTANCE_M = 10_000_000.0
#: :func:`distance_m`: the projected and geodesic distances of the closest points must agree
#: within ``DIST_AGREE_ABS_M + DIST_AGREE_REL * d``.
DIST_AGREE_ABS_M = 0.01
DIST_AGREE_REL = 1e-4
#: :func:`distance_m` re-centres at most this many times in all (2 passes nearly always do).
DIST_MAX_PASSES = 4
#: Width (degrees) of the band on each side of a compass-sector boundary that templates reject.
COMPASS_MARGIN_DEG = 10.0
#: The 8 compass sectors, clockwise from north.
COMPASS8 = (
    "north",
    "north-east",
    "east",
    "south-east",
    "south",
    "south-west",
    "west",
    "north-west",
)
#: A point within this many degrees of a pole is "at the pole" (bearings from it are undefined).
POLE_EPS_DEG = 1e-9
#: Representative points closer than this (metres) give no bearing.
MIN_BEARING_SEPARATION_M = 1e-3
#: Before projecting, edges longer than this (metres) get intermediate vertices on the
#: geodesic, so that straight edges in the AEQD follow the geodesic edges: a chord of length L
#: at distance rho from the centre departs from the geodesic by about L^2 rho / (8 R^2), under
#: 0.3 m for L = 10 km and rho = 1000 km (nothing near the centre).
DENSIFY_M = 10_000.0
#: The DE-9IM predicates :func:`relate` reports, in this order.
PREDICATES = (
    "equals",
    "disjoint",
    "touches",
    "within",
    "contains",
    "overlaps",
    "crosses",
    "intersects",
    "covers",
    "covered_by",
)
#: RCC8 relation names (region connection calculus).
RCC8 = ("DC", "EC", "PO", "EQ", "TPP", "NTPP", "TPPi", "NTPPi")
_ANTIMERIDIAN_EPS = 1e-9


class GeodesyError(GeoenvError, ValueError):
    """A geo rule is undefined for its input: empty or non-finite geometry, a pair too large
    for a local projection, a bearing between coincident points or from a pole, a distance
    whose projected and geodesic values disagree."""


# ---------------------------------------------------------------------------- helpers
def _check(g: Any, role: str) -> shapely.Geometry:
    if not isinstance(g, shapely.Geometry):
        raise GeodesyError(f"{role}: expected a shapely geometry, got {type(g).__name__}")
    if g.is_empty:
        raise GeodesyError(f"{role}: empty geometry")
    xy = shapely.get_coordinates(g)
    if not np.isfinite(xy).all():
        raise GeodesyError(f"{role}: non-finite coordinate")
    if (np.abs(xy[:, 0]) > 180 + 1e-9).any() or (np.abs(xy[:, 1]) > 90 + 1e-9).any():
        raise GeodesyError(
            f"{role}: coordinates outside lon [-180, 180] / lat [-90, 90]; geometries must be "
            "lon/lat degrees (x = lon)"
        )
    return g


def _norm_deg(az: float) -> float:
    """Degrees in [0, 360)."""
    r = float(az) % 360.0
    return 0.0 if r >= 360.0 else r + 0.0


def _norm_lon(lon: float) -> float:
    """Longitude in [-180, 180)."""
    return (float(lon) + 180.0) % 360.0 - 180.0


def lonlat_centre(*geoms: shapely.Geometry) -> tuple[float, float]:
    """Centre (lon, lat degrees) of the geometries' vertices: the middle of the latitude range
    and of the shortest longitude arc that holds every vertex (antimeridian-aware)."""
    xy = np.concatenate([shapely.get_coordinates(g) for g in geoms])
    lat = float((xy[:, 1].min() + xy[:, 1].max()) / 2)
    lon = np.unique(np.mod(xy[:, 0], 360.0))
    if len(lon) == 1:
        return _norm_lon(lon[0]), lat
    gaps = np.diff(np.append(lon, lon[0] + 360.0))
    k = int(np.argmax(gaps))  # the arc starts after the largest gap
    start = lon[(k + 1) % len(lon)]
    width = 360.0 - float(gaps[k])
    return _norm_lon(start + width / 2), lat


def aeqd_crs(lon0: float, lat0: float) -> pyproj.CRS:
    """The PROJ CRS equal to :func:`to_local` centred on (lon0, lat0) (for plotting/export)."""
    return pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat0:.12f} +lon_0={lon0:.12f} +datum=WGS84 +units=m +no_defs"
    )


def _forward(lon: np.ndarray, lat: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    n = len(lon)
    az, _, s = GEOD.inv(np.full(n, centre[0]), np.full(n, centre[1]), lon, lat)
    s = np.asarray(s, dtype=np.float64)
    if n and float(s.max()) > MAX_LOCAL_RADIUS_M:
        raise GeodesyError(
            f"geometry reaches {float(s.max()) / 1000:.0f} km from the local projection's centre "
            f"({centre[0]:.4f}, {centre[1]:.4f}); over {MAX_LOCAL_RADIUS_M / 1000:.0f} km the "
            "local rules are not used"
        )
    a = np.radians(az)
    return np.column_stack([s * np.sin(a), s * np.cos(a)])


def from_local(xy: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """Inverse of :func:`to_local` for an (n, 2) array of AEQD metres: (n, 2) lon/lat."""
    xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
    n = len(xy)
    az = np.degrees(np.arctan2(xy[:, 0], xy[:, 1]))
    s = np.hypot(xy[:, 0], xy[:, 1])
    lon, lat, _ = GEOD.fwd(np.full(n, centre[0]), np.full(n, centre[1]), az, s)
    return np.column_stack([np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)])


def densify(g: shapely.Geometry, max_edge_m: float = DENSIFY_M) -> shapely.Geometry:
    """A lon/lat geometry with intermediate vertices on the geodesic of every edge longer than
    ``max_edge_m`` (``ceil(L / max_edge_m)`` equal parts, ``Geod.fwd``). The points of an
    edge are computed from its lexicographically smaller end, so an edge shared by two
    features gets bitwise identical points whichever way each ring runs. Points and geometry
    collections are returned unchanged."""
    tid = shapely.get_type_id(g)
    if tid in (0, 4, 7):
        return g
    typ, xy, offsets = shapely.to_ragged_array([g], include_z=False)
    ring_off = np.asarray(offsets[0], dtype=np.int64)
    n = len(xy)
    ring_of = np.repeat(np.arange(len(ring_off) - 1), np.diff(ring_off))
    edge = np.flatnonzero(ring_of[:-1] == ring_of[1:])  # edge i joins vertex i and i + 1
    if len(edge) == 0:
        return g
    p, q = xy[edge], xy[edge + 1]
    swap = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
    s0 = np.where(swap[:, None], q, p)
    s1 = np.where(swap[:, None], p, q)
    az, _, length = GEOD.inv(s0[:, 0], s0[:, 1], s1[:, 0], s1[:, 1])
    k = np.maximum(1, np.ceil(np.asarray(length) / max_edge_m).astype(np.int64))
    if (k == 1).all():
        return g
    # every vertex is kept; edge e adds k[e] - 1 points after its first vertex
    extra = np.zeros(n, dtype=np.int64)
    extra[edge] = k - 1
    starts = np.arange(n) + np.concatenate([[0], np.cumsum(extra)[:-1]])
    out = np.empty((n + int(extra.sum()), 2))
    out[starts] = xy
    e = np.repeat(np.arange(len(edge)), k - 1)  # one row per added point
    j = np.arange(len(e)) - np.repeat(np.cumsum(k - 1) - (k - 1), k - 1) + 1  # 1 .. k - 1
    m = np.where(swap[e], k[e] - j, j)  # the point's index counted from the canonical start
    az, length = np.asarray(az), np.asarray(length)
    lon, lat, _ = GEOD.fwd(s0[e, 0], s0[e, 1], az[e], length[e] * (m / k[e]))
    out[starts[edge[e]] + j] = np.column_stack([lon, lat])
    new_off = ring_off + np.concatenate([[0], np.cumsum(np.add.reduceat(extra, ring_off[:-1]))])
    return shapely.from_ragged_array(typ, out, (new_off, *offsets[1:]))[0]


@functools.lru_cache(maxsize=4096)
def _prepared(g: shapely.Geometry) -> shapely.Geometry:
    """2D, cut vertices unified and densified (cached: shapely geometries hash and compare by
    their exact coordinates)."""
    return densify(_unify_cut(shapely.force_2d(g)))


def _unify_cut(g: shapely.Geometry) -> shapely.Geometry:
    """Vertices at lon -180 of a geometry split at the antimeridian become +180 (the same
    meridian), so that the parts' cut edges project onto exactly the same points."""
    if not _split_at_antimeridian(g):
        return g

    def fix(c: np.ndarray) -> np.ndarray:
        c = c.copy()
        c[np.abs(c[:, 0]) >= 180 - _ANTIMERIDIAN_EPS, 0] = 180.0
        return c

    return shapely.transform(g, fix)


def _repair(g: shapely.Geometry) -> shapely.Geometry:
    """Dissolve the parts of a projected polygon that touch along an antimeridian cut."""
    if g.is_valid or shapely.get_dimensions(g) != 2:
        return g
    fixed = shapely.union_all(shapely.get_parts(g))
    return fixed if fixed.is_valid else shapely.make_valid(fixed)


def to_local(g: shapely.Geometry, centre: tuple[float, float]) -> shapely.Geometry:
    """A lon/lat geometry in the AEQD centred on ``centre`` (metres; 2D): edges densified on
    the geodesic (:func:`densify`), cut vertices unified (-180 -> 180), projected, and
    repaired if the projection made it invalid (parts touching along an antimeridian cut are
    dissolved with ``shapely.union_all``; ``make_valid`` if still invalid)."""
    out = shapely.transform(_prepared(g), lambda c: _forward(c[:, 0], c[:, 1], centre))
    return _repair(out)


def _is_point(g: shapely.Geometry) -> bool:
    return shapely.get_type_id(g) == 0


def _polygonal(g: shapely.Geometry) -> bool:
    return shapely.get_type_id(g) in (3, 6)


# ---------------------------------------------------------------------------- distance
def _closest(
    a: shapely.Geometry, b: shapely.Geometry, centre: tuple[float, float]
) -> tuple[float, np.ndarray]:
    """(projected distance, (2, 2) closest points in the AEQD) of a and b."""
    pa, pb = to_local(a, centre), to_local(b, centre)
    line = shapely.shortest_line(pa, pb)
    return float(shapely.distance(pa, pb)), shapely.get_coordinates(line)


def _geodesic_midpoint(ll: np.ndarray) -> tuple[float, float]:
    """Midpoint (lon, lat) of the geodesic between the two rows of ``ll``."""
    az, _, d = GEOD.inv(ll[0, 0], ll[0, 1], ll[1, 0], ll[1, 1])
    lon, lat, _ = GEOD.fwd(ll[0, 0], ll[0, 1], az, d / 2)
    return float(lon), float(lat)


def distance_detail(a: shapely.Geometry, b: shapely.Geometry) -> dict[str, Any]:
    """:func:`distance_m` with its working: ``distance_m`` (the answer), ``projected_m`` (the
    distance in the final AEQD), ``closest_a`` / ``closest_b`` (lon/lat of the closest
    points), ``centre`` (lon/lat of the final AEQD) and ``method``."""
    a, b = _check(a, "a"), _check(b, "b")
    if _is_point(a) and _is_point(b):
        _, _, d = GEOD.inv(a.x, a.y, b.x, b.y)
        return {
            "distance_m": float(d),
            "projected_m": float(d),
            "closest_a": [float(a.x), float(a.y)],
            "closest_b": [float(b.x), float(b.y)],
            "centre": None,
            "method": "Geod.inv",
        }
    centre = lonlat_centre(a, b)
    d0, pts = _closest(a, b, centre)
    ll = from_local(pts, centre)
    d, passes = 0.0, 1
    while d0 > 0:  # re-centre on the geodesic midpoint of the closest points
        centre = _geodesic_midpoint(ll)
        d0, pts = _closest(a, b, centre)
        ll = from_local(pts, centre)
        passes += 1
        if d0 == 0:
            d = 0.0
            break
        _, _, d = GEOD.inv(ll[0, 0], ll[0, 1], ll[1, 0], ll[1, 1])
        d = float(d)
        if d > MAX_DISTANCE_M:
            raise GeodesyError(
                f"features {d / 1000:.0f} km apart: distances are defined up to "
                f"{MAX_DISTANCE_M / 1000:.0f} km"
            )
        if abs(d - d0) <= DIST_AGREE_ABS_M + DIST_AGREE_REL * d:
            break
        if passes == DIST_MAX_PASSES:
            raise GeodesyError(
                f"projected distance {d0:.3f} m and geodesic distance {d:.3f} m of the closest "
                f"points disagree by more than {DIST_AGREE_ABS_M} m + {DIST_AGREE_REL} x d "
                f"after {passes} passes"
            )
    return {
        "distance_m": d,
        "projected_m": d0,
        "closest_a": ll[0].tolist(),
        "closest_b": ll[1].tolist(),
        "centre": [float(centre[0]), float(centre[1])],
        "method": f"aeqd-{passes}pass",
    }


def distance_m(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Minimum geodesic distance in metres between two lon/lat geometries (0 when they
    intersect). Points: ``Geod.inv``; otherwise the re-centred local-AEQD rule of the module
    docstring, checked against ``Geod.inv`` of the closest points."""
    return float(distance_detail(a, b)["distance_m"])


# ---------------------------------------------------------------------------- direction
def representative_lonlat(g: shapely.Geometry) -> tuple[float, float]:
    """The point bearings are measured between: a Point itself; otherwise the centroid of the
    geometry in its own AEQD (centred by :func:`lonlat_centre`), back in lon/lat."""
    g = _check(g, "geometry")
    if _is_point(g):
        return float(g.x), float(g.y)
    centre = lonlat_centre(g)
    c = shapely.get_coordinates(shapely.centroid(to_local(g, centre)))
    lon, lat = from_local(c, centre)[0]
    return float(lon), float(lat)


def azimuth_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Forward azimuth (degrees clockwise from true north, in [0, 360)) at (lon1, lat1) of the
    geodesic to (lon2, lat2) (``Geod.inv``). Raises when the points coincide (closer than
    :data:`MIN_BEARING_SEPARATION_M`) or the first is at a pole."""
    if abs(lat1) >= 90.0 - POLE_EPS_DEG:
        raise GeodesyError("bearing from a pole is undefined (every direction is south/north)")
    az, _, d = GEOD.inv(lon1, lat1, lon2, lat2)
    if d < MIN_BEARING_SEPARATION_M:
        raise GeodesyError(
            f"representative points {d:.2e} m apart (< {MIN_BEARING_SEPARATION_M} m): no bearing"
        )
    return _norm_deg(az)


def bearing_deg(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Forward azimuth (degrees clockwise from true north, in [0, 360)) at A's representative
    point of the geodesic towards B's (:func:`representative_lonlat`, :func:`azimuth_deg`)."""
    pa, pb = representative_lonlat(a), representative_lonlat(b)
    return azimuth_deg(pa[0], pa[1], pb[0], pb[1])


def compass8(deg: float) -> str:
    """The 8-way compass sector of a bearing: sector k (0 = north, clockwise) holds bearings in
    [45 k - 22.5, 45 k + 22.5)."""
    return COMPASS8[math.floor((_norm_deg(deg) + 22.5) / 45.0) % 8]


def compass_margin_deg(deg: float) -> float:
    """Angular distance (degrees, in [0, 22.5]) from a bearing to the nearest sector boundary
    (22.5 + 45 k)."""
    r = (_norm_deg(deg) - 22.5) % 45.0
    return float(min(r, 45.0 - r))


def near_compass_boundary(deg: float, margin: float = COMPASS_MARGIN_DEG) -> bool:
    """True when the bearing lies within ``margin`` degrees of a sector boundary (strictly
    closer than ``margin``): the 10-degree rule keeps only the central 25 degrees of each
    45-degree sector."""
    return compass_margin_deg(deg) < margin


# ---------------------------------------------------------------------------- topology
def _predicates(a: shapely.Geometry, b: shapely.Geometry) -> dict[str, bool]:
    """The exact DE-9IM predicates of :data:`PREDICATES` (shapely), A relative to B."""
    return {p: bool(getattr(shapely, p)(a, b)) for p in PREDICATES}


def _interiors_meet(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    return (not a.is_empty) and (not b.is_empty) and bool(shapely.relate_pattern(a, b, "T********"))


def _rcc8(pa: shapely.Geometry, pb: shapely.Geometry, s: float) -> str:
    """RCC8 of two projected polygonal geometries with tolerance ``s`` metres."""
    if float(shapely.distance(pa, pb)) > s:
        return "DC"
    a_plus = pa.buffer(s) if s > 0 else pa
    b_plus = pb.buffer(s) if s > 0 else pb
    a_in_b = bool(shapely.covers(b_plus, pa))
    b_in_a = bool(shapely.covers(a_plus, pb))
    if a_in_b and b_in_a:
        return "EQ"
    if a_in_b or b_in_a:
        gap = float(shapely.distance(pa.boundary, pb.boundary))
        tangential = gap <= s
        if a_in_b:
            return "TPP" if tangential else "NTPP"
        return "TPPi" if tangential else "NTPPi"
    a_minus = pa.buffer(-s / 2) if s > 0 else pa
    b_minus = pb.buffer(-s / 2) if s > 0 else pb
    return "PO" if _interiors_meet(a_minus, b_minus) else "EC"


_RCC8_PREDICATES = {
    "DC": {"disjoint"},
    "EC": {"touches", "intersects"},
    "PO": {"overlaps", "intersects"},
    "EQ": {"equals", "within", "contains", "covers", "covered_by", "intersects"},
    "TPP": {"within", "covered_by", "intersects"},
    "NTPP": {"within", "covered_by", "intersects"},
    "TPPi": {"contains", "covers", "intersects"},
    "NTPPi": {"contains", "covers", "intersects"},
}


def relate(a: shapely.Geometry, b: shapely.Geometry, snap_m: float = 0) -> dict[str, Any]:
    """Topological relation of two lon/lat geometries, in the AEQD centred on the pair.

    Returns a dict: the DE-9IM predicates of :data:`PREDICATES` as bools (``equals``,
    ``disjoint``, ``touches``, ``within``, ``contains``, ``overlaps``, ``crosses``,
    ``intersects``, ``covers``, ``covered_by``: shapely's definitions, A relative to B),
    ``de9im`` (the exact DE-9IM matrix string, before snapping), ``rcc8`` (RCC8 name when both
    geometries are polygonal, else None), ``distance_m`` (projected minimum distance),
    ``snap_m`` and ``snapped`` (whether the tolerance changed any predicate).

    Snapping tolerance ``s = snap_m`` (metres, >= 0), for layers whose shared borders do not
    meet exactly (independently simplified or digitised polygons leave slivers and gaps):

    - two polygonal geometries: boundaries within ``s`` of each other count as coincident.
      DC when the distance is > s; EQ when each lies within the other grown by s
      (``buffer(s)`` covers it); TPP / NTPP when A lies within B grown by s and their
      boundaries come within s (TPP) or not (NTPP), TPPi / NTPPi the converse; EC when A and B
      each shrunk by s/2 (``buffer(-s/2)``) have disjoint interiors (gaps up to s and overlaps
      up to s wide are absorbed); PO otherwise. The predicates follow the snapped RCC8 (DC ->
      disjoint; EC -> touches; PO -> overlaps; EQ -> equals, within, contains, covers,
      covered_by; TPP/NTPP -> within, covered_by; the inverses -> contains, covers; every
      relation but DC -> intersects; crosses is never true for two regions). With s = 0 these
      rules are exactly the DE-9IM definitions of RCC8.
    - otherwise (a point or a line is involved): the higher-dimensional geometry (B on a tie)
      is snapped to the vertices of the other with GEOS snapping (``shapely.snap(., ., s)``:
      its vertices and edges within s of a vertex of the other are moved onto that vertex),
      then the exact DE-9IM predicates are taken. So a point within s of a line lies on it,
      and a line within s of a polygon's edge runs along its boundary.
    """
    a, b = _check(a, "a"), _check(b, "b")
    s = float(snap_m)
    if not (math.isfinite(s) and s >= 0):
        raise GeodesyError(f"snap_m must be finite and >= 0, got {snap_m!r}")
    centre = lonlat_centre(a, b)
    pa, pb = to_local(a, centre), to_local(b, centre)
    exact = _predicates(pa, pb)
    matrix = shapely.relate(pa, pb)
    dist = float(shapely.distance(pa, pb))
    rcc8 = None
    if _polygonal(pa) and _polygonal(pb):
        rcc8 = _rcc8(pa, pb, s)
        true = _RCC8_PREDICATES[rcc8]
        preds = {p: p in true for p in PREDICATES}
    elif s > 0:
        if shapely.get_dimensions(pa) <= shapely.get_dimensions(pb):
            preds = _predicates(pa, shapely.snap(pb, pa, s))
        else:
            preds = _predicates(shapely.snap(pa, pb, s), pb)
    else:
        preds = dict(exact)
    return {
        **preds,
        "de9im": str(matrix),
        "rcc8": rcc8,
        "distance_m": dist,
        "snap_m": s,
        "snapped": preds != exact,
    }


# ---------------------------------------------------------------------------- measures
def _polygon_parts(g: shapely.Geometry) -> np.ndarray:
    parts = shapely.get_parts(g)
    out = []
    for p in parts:
        t = shapely.get_type_id(p)
        if t == 3:
            out.append(p)
        elif t == 7:
            out.extend(_polygon_parts(p))
    return np.array(out, dtype=object)


def area_m2(g: shapely.Geometry) -> float:
    """Geodesic area (m^2) of the polygonal parts of a lon/lat geometry (0 for points and
    lines): for each polygon, |area of the exterior ring| minus |area of each hole|, each ring
    by ``Geod.polygon_area_perimeter`` (a ring bounds the smaller of the two regions it splits
    the ellipsoid into, whatever its orientation)."""
    g = _check(g, "geometry")
    total = 0.0
    for p in _polygon_parts(g):
        ext = shapely.get_coordinates(p.exterior)
        a, _ = GEOD.polygon_area_perimeter(ext[:, 0], ext[:, 1])
        total += abs(a)
        for ring in p.interiors:
            c = shapely.get_coordinates(ring)
            h, _ = GEOD.polygon_area_perimeter(c[:, 0], c[:, 1])
            total -= abs(h)
    return float(total)


def _edge_lengths(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geodesic length of every edge of lon/lat linestrings/rings (vectorised ``Geod.inv``).

    Returns (lengths, start coordinates, end coordinates)."""
    if len(lines) == 0:
        z = np.zeros(0)
        return z, np.zeros((0, 2)), np.zeros((0, 2))
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    p, q = xy[:-1][same], xy[1:][same]
    _, _, d = GEOD.inv(p[:, 0], p[:, 1], q[:, 0], q[:, 1])
    return np.asarray(d, dtype=np.float64), p, q


def _split_at_antimeridian(g: shapely.Geometry) -> bool:
    x = shapely.get_coordinates(g)[:, 0]
    return bool((x >= 180 - _ANTIMERIDIAN_EPS).any() and (x <= -180 + _ANTIMERIDIAN_EPS).any())


def perimeter_m(g: shapely.Geometry) -> float:
    """Geodesic perimeter (m) of the polygonal parts of a lon/lat geometry (exterior and hole
    rings; 0 for points and lines). Edges lying on the antimeridian (both ends at lon +-180)
    are cuts, not boundary, when the geometry has vertices at both +180 and -180."""
    g = _check(g, "geometry")
    polys = _polygon_parts(g)
    if len(polys) == 0:
        return 0.0
    rings = shapely.get_rings(polys)
    d, p, q = _edge_lengths(rings)
    if _split_at_antimeridian(g):
        cut = (np.abs(p[:, 0]) >= 180 - _ANTIMERIDIAN_EPS) & (
            np.abs(q[:, 0]) >= 180 - _ANTIMERIDIAN_EPS
        )
        d = d[~cut]
    return float(d.sum())


def _linear_parts(g: shapely.Geometry) -> list[shapely.Geometry]:
    out: list[shapely.Geometry] = []
    for p in shapely.get_parts(g):
        t = shapely.get_type_id(p)
        if t in (1, 2):
            out.append(p)
        elif t == 7:
            out.extend(_linear_parts(p))
    return out


def length_m(g: shapely.Geometry) -> float:
    """Geodesic length (m) of a lon/lat geometry: the summed edge lengths of its linear parts
    (``Geod.inv`` per edge, the short way round) plus the :func:`perimeter_m` of its polygonal
    parts; 0 for points."""
    g = _check(g, "geometry")
    lines = np.array(_linear_parts(g), dtype=object)
    return float(_edge_lengths(lines)[0].sum()) + perimeter_m(g)
