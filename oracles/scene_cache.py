"""Lazy scene loading for the validation service, in an LRU cache bounded by memory.

Scenes are named by id without loading them: ``demo:N`` is ``demo_N`` (``demo`` is
``demo_0``), a path is its file stem or directory name (``scene0000_00.ply`` ->
``scene0000_00``, the id the loaders give). A scene is also reachable by its source string, and
by the id its loader gave it once loaded (AI2-THOR metadata may name the scene itself). When
two sources share a stem, the id names the first in manifest order; the other is reachable by
its source.

The memory bound is on an estimate, :func:`estimate_bytes`: the bytes of the scene's point,
colour and instance arrays, object point arrays that are not views into the scene cloud, mesh
vertices and faces, times :data:`OVERHEAD` for what the answers build lazily (KD-trees,
oriented boxes, visibility rasters). The least recently used scenes are evicted until the
total fits; the scene just used always stays, even alone over the bound.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geoenv.oracles.live import Oracle
from geoenv.scene import Scene, source_label

#: Multiplier over the array bytes for lazily built structures (KD-trees copy each object's
#: points and add an index; boxes, footprints and visibility rasters are small beside them).
OVERHEAD = 2.5
#: Default memory bound of the cache (bytes, estimated).
DEFAULT_MAX_BYTES = 2 * 1024**3


def scene_id_of(source: str) -> str:
    """The id a source's scene gets, without loading it (see the module docstring)."""
    if source == "demo":
        return "demo_0"
    if source.startswith("demo:") and source[5:].isdigit():
        return f"demo_{int(source[5:])}"
    return source_label(Path(source))


def estimate_bytes(scene: Scene) -> int:
    """Estimated memory of a loaded scene (bytes): array bytes x :data:`OVERHEAD`."""
    total = 0
    cloud = scene.points
    for arr in (scene.points, scene.colors, scene.instance):
        if isinstance(arr, np.ndarray):
            total += arr.nbytes
    for o in scene.objects.values():
        if cloud is None or not np.shares_memory(o.points, cloud):
            total += o.points.nbytes
    if scene.mesh is not None:
        total += np.asarray(scene.mesh.vertices).nbytes + np.asarray(scene.mesh.faces).nbytes
    total += 256 * len(scene.frames)
    total += sum(1024 * len(layer) for layer in scene.geo_layers.values())
    return int(total * OVERHEAD)


@dataclass
class Entry:
    """A loaded scene: its oracle, a lock held while answering on it, estimated bytes."""

    source: str
    scene: Scene
    oracle: Oracle
    nbytes: int
    load_s: float
    lock: threading.RLock = field(default_factory=threading.RLock)


class UnknownSceneError(KeyError):
    """No scene of that id or source is served."""


class SceneCache:
    """Scenes of ``sources`` (manifest order), loaded on first use, evicted LRU by memory.

    Thread-safe: one lock guards the bookkeeping; a per-source lock makes concurrent first
    requests for a scene load it once.
    """

    def __init__(
        self,
        sources: Sequence[str],
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        loader: Callable[[str], Scene] | None = None,
        thresholds: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        from geoenv.scenes import load_scene

        self.sources: list[str] = list(dict.fromkeys(sources))
        self.max_bytes = int(max_bytes)
        self._load = loader or load_scene
        self._thresholds = thresholds
        self._names: dict[str, str] = {}
        for src in self.sources:
            self._names.setdefault(scene_id_of(src), src)
        for src in self.sources:
            self._names.setdefault(src, src)
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self.hits = self.loads = self.evictions = 0

    # ------------------------------------------------------------------ lookup
    def resolve(self, scene_id: str) -> str | None:
        """The source of a scene id, source string or loaded id (None when unknown)."""
        return self._names.get(scene_id)

    def is_cached(self, scene_id: str) -> bool:
        """Whether answering on ``scene_id`` needs no load (cached, or not served at all)."""
        src = self._names.get(scene_id)
        return src is None or src in self._entries

    def ids(self) -> list[str]:
        """Scene ids in manifest order."""
        return [scene_id_of(s) for s in self.sources]

    def get(self, scene_id: str) -> Entry:
        """The loaded entry of ``scene_id`` (loading it if needed); :class:`UnknownSceneError`
        for an unknown id; loader errors propagate."""
        src = self.resolve(scene_id)
        if src is None:
            raise UnknownSceneError(scene_id)
        with self._lock:
            e = self._entries.get(src)
            if e is not None:
                self._entries.move_to_end(src)
                self.hits += 1
                return e
            load_lock = self._loading.setdefault(src, threading.Lock())
        with load_lock:
            with self._lock:
                e = self._entries.get(src)
                if e is not None:
                    self._entries.move_to_end(src)
                    self.hits += 1
                    return e
            t0 = time.perf_counter()
            scene = self._load(src)
            e = Entry(
                source=src,
                scene=scene,
                oracle=Oracle(scene, self._thresholds),
                nbytes=estimate_bytes(scene),
                load_s=time.perf_counter() - t0,
            )
            with self._lock:
                self._entries[src] = e
                self._names.setdefault(scene.id, src)
                self.loads += 1
                self._evict()
            return e

    def _evict(self) -> None:
        while len(self._entries) > 1 and self.nbytes > self.max_bytes:
            self._entries.popitem(last=False)
            self.evictions += 1

    # ------------------------------------------------------------------ introspection
    @property
    def nbytes(self) -> int:
        """Estimated bytes of the cached scenes."""
        return sum(e.nbytes for e in self._entries.values())

    def loaded(self) -> dict[str, Entry]:
        """Loaded entries by source, least recently used first."""
        with self._lock:
            return dict(self._entries)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "scenes": len(self.sources),
                "cached": len(self._entries),
                "cache_bytes": self.nbytes,
                "max_bytes": self.max_bytes,
                "hits": self.hits,
                "loads": self.loads,
                "evictions": self.evictions,
            }
