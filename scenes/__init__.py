"""Scene loaders (one module per format) and the built-in demo scene.

Importing this package registers every loader with :mod:`geoenv.scenes.registry`, in
sniffing order (most specific first).
"""

import importlib
import importlib.util

from geoenv.scenes.registry import detect_format, load_scene, loaders, register

# Sniffing order: directory layouts and JSON schemas before generic point-cloud files.
_LOADER_MODULES = ("scannet", "ai2thor", "geojson", "geoparquet", "pointcloud", "trajectory")

for _m in _LOADER_MODULES:
    if importlib.util.find_spec(f"geoenv.scenes.{_m}") is not None:
        importlib.import_module(f"geoenv.scenes.{_m}")

__all__ = ["detect_format", "load_scene", "loaders", "register"]
