"""The built-in deterministic demo scene: a furnished room, a camera walk and a geo layer.

Everything is a pure function of ``seed``: the room size, which furniture is placed where, the
sampled surface points, the camera trajectory and the geo layer. Same seed, same bytes.

Frames: world right-handed, z up, metres; the floor is z = 0 and the room spans
``[0, width] x [0, depth]``. Cameras: 640 x 480, fx = fy = 525 px, OpenCV convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
import trimesh

from geoenv.frames import Frame
from geoenv.geo import WGS84, GeoLayer
from geoenv.scene import Scene
from geoenv.transforms import look_at, rot_z

#: Surface sampling density of furniture and walls (points per square metre).
POINT_DENSITY = 1500.0
#: Spacing (m) of the regular floor grid (edges included, so the footprint is exact).
FLOOR_SPACING = 0.05
ROOM_HEIGHT = 2.7
IMAGE_W, IMAGE_H, FOCAL = 640, 480, 525.0
N_FRAMES = 36
CAMERA_HEIGHT = 1.5
#: Furniture keeps this clearance (m) from walls, from each other and from the camera path.
CLEARANCE = 0.15
PATH_CLEARANCE = 0.45
#: Where the geo layer lives: Zurich, around the main station (lon, lat in degrees).
GEO_ORIGIN = (8.5402, 47.3779)

# Part = (kind, (sx, sy, sz) extents or (radius, height) for cylinders, (x, y, z) centre
# offset in the object frame whose origin is the footprint centre on the floor).
_Part = tuple[str, tuple[float, ...], tuple[float, float, float]]


@dataclass(frozen=True)
class _Category:
    name: str
    size: tuple[float, float, float]  # nominal length (x), width (y), height (z), metres
    color: tuple[int, int, int]
    count: tuple[int, int]  # min, max instances
    against_wall: bool


_CATALOGUE = (
    _Category("bookshelf", (1.0, 0.35, 1.9), (160, 120, 80), (1, 1), True),
    _Category("sofa", (2.0, 0.9, 0.85), (90, 110, 160), (1, 1), True),
    _Category("table", (1.2, 0.8, 0.75), (150, 100, 60), (1, 2), False),
    _Category("chair", (0.5, 0.5, 0.95), (120, 70, 40), (3, 4), False),
    _Category("cabinet", (0.8, 0.45, 1.8), (230, 230, 225), (1, 2), True),
    _Category("tv", (1.1, 0.4, 1.15), (25, 25, 30), (1, 1), True),
    _Category("lamp", (0.4, 0.4, 1.6), (250, 220, 120), (1, 2), False),
    _Category("plant", (0.45, 0.45, 1.1), (60, 150, 60), (1, 3), False),
    _Category("trash_can", (0.3, 0.3, 0.45), (110, 110, 110), (0, 1), False),
)


def _parts(cat: str, size: np.ndarray) -> list[_Part]:
    """Mesh parts of one object in its own frame (footprint centre at the origin, floor z=0)."""
    sx, sy, sz = (float(v) for v in size)
    if cat == "table":
        top = 0.05
        leg = 0.06
        lx, ly = sx / 2 - leg, sy / 2 - leg
        legs: list[_Part] = [
            ("box", (leg, leg, sz - top), (x, y, (sz - top) / 2))
            for x in (-lx, lx)
            for y in (-ly, ly)
        ]
        return [("box", (sx, sy, top), (0.0, 0.0, sz - top / 2)), *legs]
    if cat == "chair":
        seat_h, seat_t, back_t, leg = 0.45, 0.05, 0.05, 0.04
        lx, ly = sx / 2 - leg, sy / 2 - leg
        legs = [
            ("box", (leg, leg, seat_h - seat_t), (x, y, (seat_h - seat_t) / 2))
            for x in (-lx, lx)
            for y in (-ly, ly)
        ]
        seat: _Part = ("box", (sx, sy, seat_t), (0.0, 0.0, seat_h - seat_t / 2))
        back: _Part = (
            "box",
            (sx, back_t, sz - seat_h),
            (0.0, sy / 2 - back_t / 2, (sz + seat_h) / 2),
        )
        return [seat, back, *legs]
    if cat == "sofa":
        seat_h = 0.45
        return [
            ("box", (sx, sy, seat_h), (0.0, 0.0, seat_h / 2)),
            ("box", (sx, 0.2, sz - seat_h), (0.0, sy / 2 - 0.1, (sz + seat_h) / 2)),
        ]
    if cat == "tv":  # a stand (full footprint) and a thin screen on top of it
        stand_h, gap, screen_t = 0.5, 0.05, 0.08
        return [
            ("box", (sx * 0.8, sy, stand_h), (0.0, 0.0, stand_h / 2)),
            ("box", (sx, screen_t, sz - stand_h - gap), (0.0, 0.0, (sz + stand_h + gap) / 2)),
        ]
    if cat == "lamp":
        return [
            ("cyl", (0.15, 0.04), (0.0, 0.0, 0.02)),
            ("cyl", (0.02, sz - 0.35), (0.0, 0.0, (sz - 0.35) / 2)),
            ("cyl", (sx / 2, 0.35), (0.0, 0.0, sz - 0.175)),
        ]
    if cat == "plant":
        pot_h = 0.35
        return [
            ("cyl", (sx / 2 * 0.7, pot_h), (0.0, 0.0, pot_h / 2)),
            ("cyl", (sx / 2, sz - pot_h), (0.0, 0.0, pot_h + (sz - pot_h) / 2)),
        ]
    if cat == "trash_can":
        return [("cyl", (sx / 2, sz), (0.0, 0.0, sz / 2))]
    return [("box", (sx, sy, sz), (0.0, 0.0, sz / 2))]  # bed, cabinet


def _part_mesh(part: _Part, pose: np.ndarray) -> trimesh.Trimesh:
    kind, dims, offset = part
    local = np.eye(4)
    local[:3, 3] = offset
    if kind == "box":
        return trimesh.creation.box(extents=dims, transform=pose @ local)
    radius, height = dims
    return trimesh.creation.cylinder(
        radius=radius, height=height, sections=24, transform=pose @ local
    )


def _footprint_rect(cx: float, cy: float, yaw: float, sx: float, sy: float) -> shapely.Polygon:
    r = rot_z(yaw)[:2, :2]
    corners = np.array([[-sx, -sy], [sx, -sy], [sx, sy], [-sx, sy]]) / 2 @ r.T + [cx, cy]
    return shapely.Polygon(corners)


def _camera_path(width: float, depth: float) -> np.ndarray:
    """(N_FRAMES, 2) camera xy positions on an ellipse inside the room (one lap)."""
    t = np.arange(N_FRAMES) * (2 * np.pi / N_FRAMES)
    ax, ay = max(0.6, width / 2 - 1.7), max(0.5, depth / 2 - 1.7)
    return np.column_stack([width / 2 + ax * np.cos(t), depth / 2 + ay * np.sin(t)])


def _place_furniture(
    rng: np.random.Generator, width: float, depth: float, path: shapely.LineString
) -> list[tuple[str, np.ndarray, float, np.ndarray]]:
    """Rejection-sample non-overlapping footprints. Returns (category, size, yaw, xy) tuples."""
    room = shapely.box(CLEARANCE, CLEARANCE, width - CLEARANCE, depth - CLEARANCE)
    keep_out = path.buffer(PATH_CLEARANCE)
    placed: list[tuple[str, np.ndarray, float, np.ndarray]] = []
    taken: list[shapely.Polygon] = []
    for cat in _CATALOGUE:
        n = int(rng.integers(cat.count[0], cat.count[1] + 1))
        for _ in range(n):
            size = np.round(np.array(cat.size) * rng.uniform(0.9, 1.1, 3), 3)
            for _attempt in range(200):
                if cat.against_wall:
                    wall = int(rng.integers(4))
                    # Back of the object (its +y side) against one wall, facing into the room.
                    yaw = (0.0, np.pi / 2, np.pi, -np.pi / 2)[wall]
                    off = CLEARANCE + size[1] / 2 + 1e-3
                    along = rng.uniform(0.0, 1.0)
                    if wall in (0, 2):
                        span = width - 2 * off - size[0]
                        x = off + size[0] / 2 - size[1] / 2 + max(span, 0.0) * along
                        y = depth - off if wall == 0 else off
                    else:
                        span = depth - 2 * off - size[0]
                        y = off + size[0] / 2 - size[1] / 2 + max(span, 0.0) * along
                        x = off if wall == 1 else width - off
                else:
                    yaw = float(rng.uniform(-np.pi, np.pi))
                    x = float(rng.uniform(0.0, width))
                    y = float(rng.uniform(0.0, depth))
                x, y = round(float(x), 3), round(float(y), 3)
                fp = _footprint_rect(x, y, yaw, size[0], size[1])
                if not room.contains(fp) or fp.intersects(keep_out):
                    continue
                if any(fp.distance(o) < CLEARANCE for o in taken):
                    continue
                taken.append(fp)
                placed.append((cat.name, size, float(yaw), np.array([x, y])))
                break
    return placed


def _sample(mesh: trimesh.Trimesh, seed: int) -> np.ndarray:
    count = max(64, round(mesh.area * POINT_DENSITY))
    pts, _ = trimesh.sample.sample_surface(mesh, count, seed=seed)
    return np.asarray(pts, dtype=np.float64)


def _geo_layer(rng: np.random.Generator) -> GeoLayer:
    """A small city block near ``GEO_ORIGIN``: buildings, a park, streets, a river, POIs."""
    lon0, lat0 = GEO_ORIGIN
    local = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs"
    )
    to_ll = pyproj.Transformer.from_crs(local, WGS84, always_xy=True)
    j = rng.uniform(-15.0, 15.0, size=(8, 2)).round(1)
    feats: list[tuple[str, str, shapely.Geometry]] = [
        ("building_a", "building", shapely.box(-120, 40, -40, 110).buffer(0)),
        ("building_b", "building", shapely.box(30 + j[0, 0], 50, 110 + j[0, 0], 140 + j[0, 1])),
        (
            "building_c",
            "building",
            shapely.Polygon([(60, -140), (150, -120), (130, -40), (50, -60)]),
        ),
        ("park", "park", shapely.box(-160 + j[1, 0], -170, -30, -50 + j[1, 1])),
        ("main_street", "street", shapely.LineString([(-250, 0), (0, 5), (250, -10)])),
        ("side_street", "street", shapely.LineString([(5, -250), (0, 0), (-10, 250)])),
        ("river", "river", shapely.LineString([(-260, -220), (-40, -200 + j[2, 1]), (260, -240)])),
        ("cafe", "poi", shapely.Point(20 + j[3, 0], 30 + j[3, 1])),
        ("bus_stop", "poi", shapely.Point(-60 + j[4, 0], -15)),
        ("fountain", "poi", shapely.Point(-95 + j[5, 0], -110 + j[5, 1])),
        ("library", "poi", shapely.Point(90 + j[6, 0], -90 + j[6, 1])),
    ]
    geoms = np.array([g for _, _, g in feats], dtype=object)
    lonlat = shapely.transform(geoms, lambda c: np.column_stack(to_ll.transform(*c.T)))
    props = [{"name": n, "kind": k} for n, k, _ in feats]
    return GeoLayer("demo_city", WGS84, lonlat, props, [n for n, _, _ in feats])


def demo_scene(seed: int = 0) -> Scene:
    """Build the demo room for ``seed`` (deterministic; about 150k points, 36 frames)."""
    rng = np.random.default_rng([0x6E0E, int(seed)])
    width = round(float(rng.uniform(5.5, 7.0)), 1)
    depth = round(float(rng.uniform(4.5, 6.0)), 1)
    cams = _camera_path(width, depth)
    path = shapely.LinearRing(cams)
    placed = _place_furniture(rng, width, depth, shapely.LineString(path.coords))

    meshes: list[trimesh.Trimesh] = []
    instances: list[int] = []
    labels: dict[int, str] = {}
    clouds: list[np.ndarray] = []
    cloud_inst: list[np.ndarray] = []
    colors: list[np.ndarray] = []
    palette = {c.name: c.color for c in _CATALOGUE} | {
        "floor": (170, 160, 150),
        "wall": (235, 232, 225),
    }

    def add(inst: int, label: str, parts: list[trimesh.Trimesh], pts: np.ndarray) -> None:
        labels[inst] = label
        meshes.extend(parts)
        instances.extend([inst] * len(parts))
        clouds.append(pts)
        cloud_inst.append(np.full(len(pts), inst, dtype=np.int64))
        shade = np.clip(np.array(palette[label]) + rng.integers(-12, 13, 3), 0, 255)
        colors.append(np.tile(shade.astype(np.uint8), (len(pts), 1)))

    # Floor: regular grid, edges included, so the footprint is exactly the room rectangle.
    gx = np.linspace(0.0, width, round(width / FLOOR_SPACING) + 1)
    gy = np.linspace(0.0, depth, round(depth / FLOOR_SPACING) + 1)
    fx, fy = np.meshgrid(gx, gy, indexing="ij")
    floor_pts = np.column_stack([fx.ravel(), fy.ravel(), np.zeros(fx.size)])
    floor_mesh = trimesh.Trimesh(
        vertices=[[0, 0, 0], [width, 0, 0], [width, depth, 0], [0, depth, 0]],
        faces=[[0, 1, 2], [0, 2, 3]],
    )
    add(1, "floor", [floor_mesh], floor_pts)
    # Walls: thin vertical quads on the room boundary (inward faces only).
    corners = [(0.0, 0.0), (width, 0.0), (width, depth), (0.0, depth)]
    for k in range(4):
        (x0, y0), (x1, y1) = corners[k], corners[(k + 1) % 4]
        v = [[x0, y0, 0], [x1, y1, 0], [x1, y1, ROOM_HEIGHT], [x0, y0, ROOM_HEIGHT]]
        wall = trimesh.Trimesh(vertices=v, faces=[[0, 1, 2], [0, 2, 3]])
        add(2 + k, "wall", [wall], _sample(wall, seed=int(seed) * 1000 + 2 + k))
    # Furniture: instance ids from 10 in placement order.
    for n, (cat, size, yaw, xy) in enumerate(placed):
        pose = np.eye(4)
        pose[:3, :3] = rot_z(yaw)
        pose[:2, 3] = xy
        parts = [_part_mesh(p, pose) for p in _parts(cat, size)]
        obj_mesh = trimesh.util.concatenate(parts)
        add(10 + n, cat, parts, _sample(obj_mesh, seed=int(seed) * 1000 + 10 + n))

    mesh = trimesh.util.concatenate(meshes)
    face_inst = np.concatenate(
        [np.full(len(m.faces), i, dtype=np.int64) for m, i in zip(meshes, instances, strict=True)]
    )
    mesh.visual.face_colors = np.column_stack(
        [
            np.array([palette[labels[i]] for i in face_inst], dtype=np.uint8),
            np.full(len(face_inst), 255, np.uint8),
        ]
    )

    k = np.array(
        [[FOCAL, 0.0, (IMAGE_W - 1) / 2], [0.0, FOCAL, (IMAGE_H - 1) / 2], [0.0, 0.0, 1.0]]
    )
    centre = np.array([width / 2, depth / 2])
    frames = []
    for i, (x, y) in enumerate(cams):
        eye = np.array([x, y, CAMERA_HEIGHT])
        # Look across the room: from the camera through the room centre, turned 20 degrees
        # towards the walking direction (the walk is counter-clockwise), down to 0.6 m.
        inward = centre - np.array([x, y])
        heading = np.arctan2(inward[1], inward[0]) - np.radians(20.0)
        target = np.array([x + 3.0 * np.cos(heading), y + 3.0 * np.sin(heading), 0.6])
        frames.append(
            Frame(
                i,
                look_at(eye, target),
                k,
                IMAGE_W,
                IMAGE_H,
                timestamp=round(i * 0.2, 6),
                name=f"frame_{i:04d}",
            )
        )

    return Scene.from_instances(
        f"demo_{seed}",
        np.concatenate(clouds),
        np.concatenate(cloud_inst),
        labels,
        colors=np.concatenate(colors),
        frames=frames,
        mesh=mesh,
        mesh_face_instance=face_inst,
        geo_layers={"demo_city": _geo_layer(rng)},
        metadata={
            "source_format": "demo",
            "source_path": None,
            "seed": int(seed),
            "room_size_m": [width, depth, ROOM_HEIGHT],
        },
    )
