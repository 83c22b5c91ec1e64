"""A ring of boxes around a turning camera: hand-checkable visibility (shared by the
visibility-template and variant tests)."""

from __future__ import annotations

import numpy as np
import trimesh

from geoenv import Scene, SceneObject
from geoenv.frames import Frame
from geoenv.transforms import look_at

W, H, F = 640, 480, 500.0
K = np.array([[F, 0.0, W / 2], [0.0, F, H / 2], [0.0, 0.0, 1.0]])

#: id -> (label, azimuth deg, distance m, cube side m); cubes centred at camera height z = 1.
#: The camera stands at (0, 0, 1) and turns: frame k looks at yaw 30 k deg (k = 0..11), frame
#: 12 at yaw 140. Half the horizontal field of view is atan(320 / 500) = 32.6 deg, a cube of
#: 0.6 m at 4 m spans about +-4.3 deg (more across its diagonal), so a cube is wholly in view
#: within about 25 deg of the viewing direction, partly at 30 deg, not at all beyond 40 deg.
LAYOUT = {
    "10": ("sofa", 0.0, 4.0, 0.6),
    "11": ("tv", 90.0, 4.0, 0.6),
    "12": ("lamp", 180.0, 4.0, 0.6),
    "13": ("vase", 270.0, 4.0, 0.6),
    "14": ("box", 0.0, 8.0, 0.4),  # exactly behind the sofa: never visible
    "15": ("plant", 322.5, 4.0, 0.6),  # at the right edge of frame 0: about 7 % in view
    "20": ("chair", 100.0, 4.0, 0.6),
    "21": ("chair", 115.0, 4.0, 0.6),
    "22": ("chair", 90.0, 8.0, 0.4),  # exactly behind the tv
}
YAWS = [30.0 * k for k in range(12)] + [140.0]


def cube_at(az_deg: float, dist: float, size: float) -> trimesh.Trimesh:
    a = np.radians(az_deg)
    m = np.eye(4)
    m[:3, 3] = [dist * np.cos(a), dist * np.sin(a), 1.0]
    return trimesh.creation.box(extents=[size] * 3, transform=m)


def ring_scene(sid: str = "ring") -> Scene:
    objs, meshes, inst = [], [], []
    for oid, (lab, az, d, s) in LAYOUT.items():
        m = cube_at(az, d, s)
        pts, _ = trimesh.sample.sample_surface_even(m, 3000, seed=1)
        objs.append(SceneObject(oid, lab, np.asarray(pts, dtype=np.float64)))
        meshes.append(m)
        inst.append(np.full(len(m.faces), int(oid)))
    frames = []
    for k, yaw in enumerate(YAWS):
        a = np.radians(yaw)
        target = np.array([np.cos(a), np.sin(a), 1.0])
        frames.append(Frame(k, look_at(np.array([0.0, 0.0, 1.0]), target), K, W, H))
    return Scene(
        sid,
        objs,
        frames,
        mesh=trimesh.util.concatenate(meshes),
        mesh_face_instance=np.concatenate(inst),
    )
