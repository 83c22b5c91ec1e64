"""Per-question benchmark categories: which SpatialEvo, VSI-Bench and MMSI-Bench category one
generated question belongs to.

A template declares the categories it corresponds to in ``Template.aliases`` (ids listed in
:data:`geoenv.tasks.parity.BENCHMARKS`). Most templates name at most one id per benchmark, and
every question of the template gets it. Where the category depends on the question's
parameters, :data:`PARAM_RULES` decides, one rule per (template, benchmark):

- ``relative_direction`` / VSI-Bench by ``variant``: ``lr`` -> ``object_rel_direction_easy``
  (left / right), ``lrb`` -> ``object_rel_direction_medium`` (left / right / back),
  ``quadrant`` -> ``object_rel_direction_hard`` (four quadrants): VSI-Bench's three
  difficulty levels are exactly these three option sets.
- ``relative_direction`` / SpatialEvo by ``variant``: only ``quadrant`` ->
  ``relative_direction_hard``; SpatialEvo's 16 tasks include no easy or medium variant.
- ``relative_distance`` / VSI-Bench and SpatialEvo by ``mode``: only ``closest`` (both
  benchmarks ask which object is closest; a "farthest" question has another answer).
- ``object_distance`` / VSI-Bench by ``measure``: only ``closest``. VSI-Bench's absolute
  distance is stated in its question as measured between the closest points of the two
  objects; a centre-to-centre distance is another number. SpatialEvo's ``absolute_distance``
  takes both measures: its questions do not fix the measure (its own tool measures between
  object centres).

A template naming several ids for a benchmark without a rule here gets ``None`` for that
benchmark (which one applies cannot be decided); the tests assert that no such template
exists. Templates that are not registered (e.g. rows derived by variant generators) get
``None`` everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The benchmarks a question can be categorised for (keys of ``Template.aliases``).
BENCHMARK_KEYS: tuple[str, ...] = ("spatialevo", "vsi_bench", "mmsi_bench")


@dataclass(frozen=True)
class ParamRule:
    """The category of a template's questions in one benchmark, chosen by one parameter:
    ``mapping[params[param]]`` (``None`` = the question is not of any category there)."""

    template: str
    benchmark: str
    param: str
    mapping: Mapping[str, str | None]
    why: str


#: The parameter-dependent cases (see the module docstring).
PARAM_RULES: tuple[ParamRule, ...] = (
    ParamRule(
        "relative_direction",
        "vsi_bench",
        "variant",
        {
            "lr": "object_rel_direction_easy",
            "lrb": "object_rel_direction_medium",
            "quadrant": "object_rel_direction_hard",
        },
        "VSI-Bench's easy / medium / hard relative direction offer left-right, "
        "left-right-back and the four quadrants: our variants lr, lrb, quadrant",
    ),
    ParamRule(
        "relative_direction",
        "spatialevo",
        "variant",
        {"lr": None, "lrb": None, "quadrant": "relative_direction_hard"},
        "SpatialEvo's only relative-direction task is the hard (four quadrants) one",
    ),
    ParamRule(
        "relative_distance",
        "vsi_bench",
        "mode",
        {"closest": "object_rel_distance", "farthest": None},
        "VSI-Bench's relative distance asks only for the closest object",
    ),
    ParamRule(
        "relative_distance",
        "spatialevo",
        "mode",
        {"closest": "relative_distance", "farthest": None},
        "SpatialEvo's relative distance asks only for the closest candidate",
    ),
    ParamRule(
        "object_distance",
        "vsi_bench",
        "measure",
        {"closest": "object_abs_distance", "centroid": None},
        "VSI-Bench's absolute distance is between the closest points of the two objects",
    ),
)

_RULES: dict[tuple[str, str], ParamRule] = {(r.template, r.benchmark): r for r in PARAM_RULES}


def _aliases(template_name: str) -> dict[str, tuple[str, ...]] | None:
    from geoenv.tasks.registry import templates

    tpl = templates().get(template_name)
    return None if tpl is None else dict(tpl.aliases)


def question_categories(template_name: str, params: Mapping[str, Any]) -> dict[str, str | None]:
    """``{"spatialevo": id | None, "vsi_bench": id | None, "mmsi_bench": id | None}``: the one
    category of each benchmark a question of ``template_name`` with ``params`` belongs to.

    From the template's ``aliases``: no id -> ``None``; one id -> that id, unless a
    :data:`PARAM_RULES` entry for (template, benchmark) decides from ``params`` (an unknown or
    missing parameter value -> ``None``); several ids -> the rule's choice, ``None`` without
    a rule. A rule's choice that the template's aliases do not list is dropped (``None``).
    Unregistered templates get ``None`` everywhere.
    """
    aliases = _aliases(template_name)
    out: dict[str, str | None] = dict.fromkeys(BENCHMARK_KEYS)
    if aliases is None:
        return out
    for bench in BENCHMARK_KEYS:
        ids = tuple(aliases.get(bench, ()))
        rule = _RULES.get((template_name, bench))
        if rule is not None:
            value = params.get(rule.param)
            cat = rule.mapping.get(value) if isinstance(value, str) else None
            out[bench] = cat if cat in ids else None
        elif len(ids) == 1:
            out[bench] = ids[0]
    return out


def category_rules() -> list[dict[str, Any]]:
    """The rule table as plain records (docs, tests)."""
    return [
        {
            "template": r.template,
            "benchmark": r.benchmark,
            "param": r.param,
            "mapping": dict(r.mapping),
            "why": r.why,
        }
        for r in PARAM_RULES
    ]
