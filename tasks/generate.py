"""Run templates over a scene: the in-process generator behind ``geoenv generate``."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

from geoenv.scene import Scene
from geoenv.tasks.base import Question
from geoenv.tasks.registry import get, templates


@dataclass
class SceneResult:
    """Questions generated on one scene, and the templates that failed on it (with why)."""

    scene_id: str
    questions: list[Question] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for q in self.questions:
            out[q.template] = out.get(q.template, 0) + 1
        return dict(sorted(out.items()))


def resolve_templates(names: Sequence[str] | None) -> list[str]:
    """Template names to run: all registered ones, or the given ones (validated)."""
    known = list(templates())
    if not names:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"unknown templates {unknown}; known: {', '.join(known)}")
    return list(dict.fromkeys(names))


def generate_scene(
    scene: Scene, seed: int, per_template: int, names: Sequence[str] | None = None
) -> SceneResult:
    """Up to ``per_template`` questions from each template on ``scene``.

    Each template's questions depend only on (seed, scene, template); a template that raises
    (anything but a rejected candidate) is recorded in ``failures`` and the others go on.
    """
    res = SceneResult(scene.id)
    for name in resolve_templates(names):
        try:
            res.questions.extend(get(name).generate(scene, seed, per_template))
        except Exception as exc:  # recorded, never silently dropped
            res.failures.append(
                {
                    "scene_id": scene.id,
                    "template": name,
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=5),
                }
            )
    return res
