"""The template registry: name -> template instance (default thresholds), in a fixed order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from geoenv.tasks.base import Template

_REGISTRY: dict[str, Template] = {}


def register(cls: type[Template]) -> type[Template]:
    """Class decorator: register a template with its default thresholds."""
    if cls.name in _REGISTRY:
        raise ValueError(f"template {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def templates() -> dict[str, Template]:
    """All registered templates, by name, in registration order."""
    from geoenv import tasks  # noqa: F401  (importing the package registers every family)

    return dict(_REGISTRY)


def get(name: str, **thresholds: Any) -> Template:
    """The template ``name``, with any thresholds overridden."""
    tpl = templates().get(name)
    if tpl is None:
        raise KeyError(f"unknown template {name!r}; known: {', '.join(templates())}")
    return replace(tpl, **thresholds) if thresholds else tpl
