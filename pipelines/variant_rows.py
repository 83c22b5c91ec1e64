"""Variant rows for a scene's clean questions, as the dataset job adds them.

For each requested kind, up to ``per_kind`` clean questions (in question-id order, so the
choice depends only on the scene's questions) yield variant rows:

- ``occlusion``: view dropping (answer ``unanswerable``) with its ``which_view_resolves``
  follow-up, and occluder insertion (full: ``unanswerable``; partial: unchanged);
- ``degradation``: image degradations of the question's views and, for scene-family
  questions, a geometry degradation of the point cloud (answers unchanged).

Each variant's files (PNG frames, NPZ clouds) are returned with paths relative to the release.
"""

from __future__ import annotations

from collections.abc import Sequence

from geoenv.pipelines.variants import (
    geometry_degradation,
    image_degradation,
    occluder_insertion,
    view_drop,
    which_view_resolves,
)
from geoenv.scene import Scene
from geoenv.tasks.base import Question

KINDS = ("occlusion", "degradation")


def _occlusion(q: Question, scene: Scene, seed: int) -> list:
    out = []
    for v in view_drop(q, scene, seed):
        out.append(v)
        out.extend(which_view_resolves(v, scene, seed))
    out.extend(occluder_insertion(q, scene, seed))
    return out


def _degradation(q: Question, scene: Scene, seed: int) -> list:
    out = list(image_degradation(q, scene, seed))
    if q.family == "scene":
        out.extend(geometry_degradation(q, scene, seed))
    return out


_MAKERS = {"occlusion": _occlusion, "degradation": _degradation}


def variant_rows(
    scene: Scene, questions: Sequence[Question], kinds: Sequence[str], seed: int, per_kind: int
) -> tuple[list[Question], dict[str, bytes]]:
    """Variant rows and their files for up to ``per_kind`` base questions per kind."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; known: {', '.join(KINDS)}")
    clean = sorted((q for q in questions if q.variant == "clean"), key=lambda q: q.id)
    rows: list[Question] = []
    files: dict[str, bytes] = {}
    for kind in sorted(set(kinds)):
        used = 0
        for q in clean:
            if used >= per_kind:
                break
            made = _MAKERS[kind](q, scene, seed)
            if not made:
                continue
            used += 1
            for v in made:
                rows.append(v.question)
                files.update(v.files)
    return rows, dict(sorted(files.items()))
