"""Task templates: sample well-posed spatial questions from a scene and compute exact answers.

``geoenv.tasks.registry.templates()`` lists them; importing this package registers every
template family module.
"""

from geoenv.tasks import scene_measure  # noqa: F401  (registers templates)
from geoenv.tasks.base import Answer, IllPosed, Question, Template
from geoenv.tasks.registry import get, templates

__all__ = ["Answer", "IllPosed", "Question", "Template", "get", "templates"]
