"""Task templates: sample well-posed spatial questions from a scene and compute exact answers.

``geoenv.tasks.registry.templates()`` lists them; importing this package registers every
template family module.
"""

# Importing a family module registers its templates; the order here is the registry order.
from geoenv.tasks import scene_measure  # noqa: I001, F401
from geoenv.tasks import scene_relations  # noqa: F401
from geoenv.tasks import camera  # noqa: F401
from geoenv.tasks import visibility  # noqa: F401
from geoenv.tasks import camera_pairs  # noqa: F401
from geoenv.tasks import parity  # noqa: F401
from geoenv.tasks import geo  # noqa: F401
from geoenv.tasks.base import Answer, IllPosed, Question, Template
from geoenv.tasks.registry import get, templates

__all__ = ["Answer", "IllPosed", "Question", "Template", "get", "templates"]
