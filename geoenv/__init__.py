"""geoenv: a deterministic 3D geometric environment and exact-label data generator.

World frame: right-handed, z up, metres. Camera poses: 4x4 camera-to-world, OpenCV camera
convention (x right, y down, z forward). See docs/conventions.md.
"""

from geoenv.boxes import AABB, OrientedBox
from geoenv.errors import (
    CRSError,
    EmptyInstanceError,
    GeoenvError,
    InvalidGeometryError,
    NonFiniteError,
    NonRigidPoseError,
    SceneFormatError,
    UnknownLabelError,
    UnknownObjectError,
    UnsupportedFormatError,
)
from geoenv.frames import Frame
from geoenv.geo import GeoLayer
from geoenv.scene import Scene, SceneObject
from geoenv.scenes import load_scene

__version__ = "0.1.0"


def demo_scene(seed: int = 0) -> Scene:
    """The built-in deterministic demo room (see :mod:`geoenv.scenes.demo`)."""
    from geoenv.scenes.demo import demo_scene as _demo

    return _demo(seed)


__all__ = [
    "AABB",
    "CRSError",
    "EmptyInstanceError",
    "Frame",
    "GeoLayer",
    "GeoenvError",
    "InvalidGeometryError",
    "NonFiniteError",
    "NonRigidPoseError",
    "OrientedBox",
    "Scene",
    "SceneFormatError",
    "SceneObject",
    "UnknownLabelError",
    "UnknownObjectError",
    "UnsupportedFormatError",
    "__version__",
    "demo_scene",
    "load_scene",
]
