"""Loader registry: each format registers a name, a sniffer and a load function.

``geoenv.load_scene(path)`` asks each sniffer in registration order (most specific first)
and calls the first loader that recognises the path; ``format=`` picks one by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geoenv.errors import SceneFormatError, UnsupportedFormatError
from geoenv.scene import Scene


@dataclass(frozen=True)
class LoaderSpec:
    """A registered scene format: ``sniff(path) -> bool`` must be cheap and never raise."""

    name: str
    description: str
    sniff: Callable[[Path], bool]
    load: Callable[..., Scene]


_LOADERS: dict[str, LoaderSpec] = {}
_DEMO_SOURCE = re.compile(r"demo(?::(\d+))?")
_SCENEZOO_PREFIX = "scenezoo:"


def register(
    name: str, description: str, sniff: Callable[[Path], bool]
) -> Callable[[Callable[..., Scene]], Callable[..., Scene]]:
    """Decorator registering ``load(path, **kwargs) -> Scene`` under ``name``."""

    def deco(fn: Callable[..., Scene]) -> Callable[..., Scene]:
        if name in _LOADERS:
            raise ValueError(f"loader {name!r} registered twice")
        _LOADERS[name] = LoaderSpec(name, description, sniff, fn)
        return fn

    return deco


def loaders() -> dict[str, LoaderSpec]:
    """Registered loaders, in sniffing order."""
    return dict(_LOADERS)


def detect_format(path: str | Path) -> str:
    """Name of the first loader whose sniffer accepts ``path``; raises if none does."""
    p = Path(path)
    if not p.exists():
        raise SceneFormatError(p, None, "no such file or directory")
    for spec in _LOADERS.values():
        try:
            if spec.sniff(p):
                return spec.name
        except OSError:
            continue
    raise UnsupportedFormatError(
        p, None, f"no loader recognises this path (known formats: {', '.join(_LOADERS)})"
    )


def load_scene(path: str | Path, format: str | None = None, **kwargs: Any) -> Scene:
    """Load a scene from ``path``, detecting the format unless ``format`` names a loader.

    The source ``"demo"`` or ``"demo:SEED"`` (when no such file exists) gives the built-in
    demo scene; ``"scenezoo:<dataset>:<root>[@<split>]/<scene_id>"`` one scene of a real
    dataset read through scenezoo (see :mod:`geoenv.scenes.scenezoo_adapter`).

    Raises :class:`~geoenv.errors.SceneFormatError` (or a subclass) naming the file and
    field for anything malformed.
    """
    m = _DEMO_SOURCE.fullmatch(str(path))
    if m and format is None and not Path(path).exists():
        from geoenv.scenes.demo import demo_scene

        return demo_scene(int(m.group(1) or 0))
    if format is None and str(path).startswith(_SCENEZOO_PREFIX):
        from geoenv.scenes.scenezoo_adapter import load_scenezoo

        return load_scenezoo(str(path), **kwargs)
    p = Path(path)
    name = format or detect_format(p)
    if name not in _LOADERS:
        raise UnsupportedFormatError(p, None, f"unknown format {name!r} (known: {list(_LOADERS)})")
    if not p.exists():
        raise SceneFormatError(p, None, "no such file or directory")
    return _LOADERS[name].load(p, **kwargs)
