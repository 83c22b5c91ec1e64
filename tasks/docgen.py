"""Generate docs/tasks.md from the registry (a test fails when the committed file is stale).

uv run python -m geoenv.tasks.docgen > docs/tasks.md
"""

from __future__ import annotations

import json

from geoenv.tasks.base import Template, _Forms
from geoenv.tasks.metrics import MRA_THRESHOLDS
from geoenv.tasks.registry import templates

HEADER = f"""# Task templates

Generated from the registry by `python -m geoenv.tasks.docgen`; do not edit by hand.

Every answer is computed from geometry by the rule stated for its template. Conventions
(frames, units, boxes, footprint) are in [conventions.md](conventions.md).

- **Referents** are named by category; a category named in a question has exactly one instance
  in the scene, unless the template counts it. Room structure (floor, wall, ceiling) is never a
  referent.
- **Metrics.** `mra`: mean relative accuracy, the mean over theta in
  {{{", ".join(f"{t:.2f}" for t in MRA_THRESHOLDS)}}} of 1[|pred - gt| / gt < 1 - theta]; a
  numeric answer is never 0. `exact`: exact match of the canonical answer (choice text, yes/no,
  integer); counts report exact match as well as MRA.
- **Generation.** Candidates are enumerated in a stable order and visited in an order drawn
  from a generator seeded by (seed, scene id, template name) only; each is validated by the
  template's rules until n pass. The right choice's position (and yes/no) is balanced across a
  generated set; paraphrases include inverted forms.
- **Question ids** are the first 16 hex digits of the sha256 of (template, scene id, params,
  text, choices).
- Every threshold below is a parameter: `geoenv.tasks.get(name, **thresholds)`.
"""


def _forms_of(tpl: Template) -> list[str]:
    out: list[str] = []
    for cls in reversed(type(tpl).__mro__):
        for v in vars(cls).values():
            if isinstance(v, _Forms):
                out.extend(v.forms)
    return out


def _example(tpl: Template) -> str:
    from geoenv.scenes.demo import demo_scene

    qs = tpl.generate(demo_scene(0), seed=0, n=1)
    if not qs:
        return "_No well-posed question on the demo scene (seed 0): every candidate is rejected._"
    q = qs[0]
    lines = [f"- question: {q.text}"]
    if q.choices:
        lines.append(f"- choices: {' | '.join(q.choices)}")
    lines.append(f"- answer: `{q.answer}`" + (f" ({q.unit})" if q.unit else ""))
    lines.append(f"- params: `{json.dumps(q.params, sort_keys=True)}`")
    lines.append(f"- rationale: {q.rationale}")
    return "\n".join(lines)


def _alias_section(tpls: dict[str, Template]) -> list[str]:
    """The table geoenv template | SpatialEvo | VSI-Bench | MMSI-Bench, and per benchmark
    category the templates that answer it (from ``Template.aliases``)."""
    from geoenv.tasks.parity import BENCHMARK_NAMES, BENCHMARKS

    keys = list(BENCHMARK_NAMES)
    out = [
        "\n## Benchmark aliases\n",
        "The benchmark categories each template corresponds to (`Template.aliases`). SpatialEvo "
        "ids are its 16 task ids (it also accepts them prefixed `vsi_` / `mmsi_`); VSI-Bench ids "
        "are its `question_type` values; MMSI-Bench ids are derived from its published category "
        "names (Positional Relationship, Attribute, Motion, Multi-Step Reasoning) and may not "
        "match the exact strings of its `question_type` field. A correspondence means the "
        "template asks the same kind of question; phrasing, option format and thresholds are "
        "geoenv's own. `relative_direction` answers VSI-Bench's easy / medium / hard "
        "relative direction with its variants `lr` / `lrb` / `quadrant`, and SpatialEvo's "
        "`relative_direction_hard` with `quadrant`. No template answers VSI-Bench's route "
        "planning or MMSI-Bench's object-region, region-region, appearance, object-motion and "
        "multi-step categories yet.\n",
        "| geoenv template | " + " | ".join(BENCHMARK_NAMES[k] for k in keys) + " |",
        "|---" * (len(keys) + 1) + "|",
    ]
    for t in tpls.values():
        cells = [", ".join(f"`{c}`" for c in t.aliases.get(k, ())) or "-" for k in keys]
        out.append(f"| [`{t.name}`](#{t.name}) | " + " | ".join(cells) + " |")
    for k in keys:
        out.append(f"\n**{BENCHMARK_NAMES[k]} categories.**\n")
        out.append("| category | name | geoenv templates |\n|---|---|---|")
        for cid, title in BENCHMARKS[k].items():
            names = [t.name for t in tpls.values() if cid in t.aliases.get(k, ())]
            cell = ", ".join(f"`{n}`" for n in names) or "none"
            out.append(f"| `{cid}` | {title} | {cell} |")
    return out


def render() -> str:
    """The whole of docs/tasks.md."""
    tpls = templates()
    parts = [
        HEADER,
        "\n## Summary\n",
        "| template | family | answer | unit | metric |",
        "|---|---|---|---|---|",
    ]
    for t in tpls.values():
        link = f"[`{t.name}`](#{t.name})"
        parts.append(f"| {link} | {t.family} | {t.answer_type} | {t.unit or '-'} | {t.metric} |")
    parts.extend(_alias_section(tpls))
    for t in tpls.values():
        parts.append(f"\n## {t.name}\n")
        parts.append(
            f"Family `{t.family}`; answer `{t.answer_type}`; unit `{t.unit or '-'}`; metric "
            f"`{t.metric}`; needs: {', '.join(t.inputs)}.\n"
        )
        parts.append(f"**Rule.** {t.rule}\n")
        if t.param_doc:
            parts.append(
                "**Parameters.** "
                + "; ".join(f"`{k}`: {v}" for k, v in t.param_doc.items())
                + ".\n"
            )
        th = t.thresholds()
        if th:
            parts.append("| threshold | default |\n|---|---|")
            parts.extend(f"| `{k}` | {v} |" for k, v in th.items())
            parts.append("")
        parts.append("**Question forms.**\n")
        parts.extend(f"- {f}" for f in _forms_of(t))
        parts.append("\n**Example (demo scene, seed 0).**\n")
        parts.append(_example(t))
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
