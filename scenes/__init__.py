"""Scene loaders (one module per format) and the built-in demo scene.

Importing this package registers every loader with :mod:`geoenv.scenes.registry`, in
sniffing order (most specific first): directory layouts and JSON schemas before generic
point-cloud files, trajectories last.
"""

from geoenv.scenes import scannet  # noqa: I001  (import order is the sniffing order)
from geoenv.scenes import ai2thor, geojson, geoparquet, pointcloud, trajectory, vector
from geoenv.scenes.registry import detect_format, load_scene, loaders, register

__all__ = [
    "ai2thor",
    "detect_format",
    "geojson",
    "geoparquet",
    "load_scene",
    "loaders",
    "pointcloud",
    "register",
    "scannet",
    "trajectory",
    "vector",
]
