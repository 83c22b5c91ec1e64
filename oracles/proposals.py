"""Question proposals and their validation: the logic behind ``POST /v1/validate``.

A proposal is a JSON object in one of two forms:

- template form ``{"scene_id", "template", "params": {...}}``: resolved by the live oracle
  (:class:`~geoenv.oracles.live.Oracle`, ``ask_or_reject``);
- program form ``{"scene_id", "program": [...]}``: parsed, type-checked and interpreted
  (:mod:`geoenv.oracles.program`);
- text form ``{"scene_id", "text", "frames"}``: a question in words, read by the templates'
  grammars (:func:`geoenv.oracles.question_parse.parse`, no model) and answered exactly;
- SpatialEvo form ``{"scene_id", "task_type", "question", "frame_ids"}``: the shape of
  SpatialEvo's simulator requests; ``task_type`` is one of its 16 task ids (optionally
  prefixed ``vsi_`` / ``mmsi_``) and restricts the text to the templates aliased to it.

Every form may carry ``id`` (echoed back) and ``answer``, the proposer's own answer; the result then
says whether it agrees with the exact one, scored by :func:`geoenv.oracles.score_batch`
(``correct``: exact match for choices and yes/no, MRA = 1 for numbers).

:meth:`Validator.validate` never raises for a bad proposal: it returns a result with
``valid = False`` and the ``reasons`` (kind, sentence, node or field, numbers). It raises only
:class:`~geoenv.oracles.program.BudgetExceeded` when the deadline passes.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import to_json

from geoenv.errors import GeoenvError
from geoenv.oracles.difficulty import Difficulty, estimate, template_margins, template_referents
from geoenv.oracles.live import OracleAnswer, Rejection
from geoenv.oracles.program import (
    BudgetExceeded,
    ProgramAnswer,
    ProgramError,
    ProgramLimits,
    ProgramNodes,
    ProgramThresholds,
    run,
)
from geoenv.oracles.question_parse import Unparsed, parse, text_answer
from geoenv.oracles.scene_cache import SceneCache, UnknownSceneError
from geoenv.oracles.score import score_batch
from geoenv.tasks.base import IllPosed
from geoenv.tasks.parity import BENCHMARKS
from geoenv.tasks.registry import get as get_template
from geoenv.tasks.registry import templates as all_templates

log = logging.getLogger("geoenv.oracles.service")

# ---------------------------------------------------------------------------- models
_Id = Annotated[str, StringConstraints(strict=True, max_length=256)]
_SceneId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=512)]
_TemplateName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64)]
_Key = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64)]
_Str = Annotated[str, StringConstraints(strict=True, max_length=256)]
_Int = Annotated[int, Field(strict=True, ge=-(2**53), le=2**53)]
_Float = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-1e15, le=1e15)]
_Scalar = _Str | _Int | _Float | Annotated[bool, Field(strict=True)]
_ParamValue = _Scalar | Annotated[list[_Scalar], Field(max_length=16)]
ProposedAnswer = (
    Annotated[str, StringConstraints(strict=True, max_length=4096)]
    | _Int
    | _Float
    | Annotated[bool, Field(strict=True)]
    | Annotated[list[_Str], Field(max_length=64)]
)


class TemplateProposal(BaseModel):
    """Template form: a registered template and its parameters (``GET /v1/templates``).
    Object parameters take an object id or a unique category name; frames an index."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: _Id | None = None
    scene_id: _SceneId
    template: _TemplateName
    params: Annotated[dict[_Key, _ParamValue], Field(max_length=16)] = {}
    answer: ProposedAnswer | None = None


class ProgramProposal(BaseModel):
    """Program form: a typed program over the scene graph (``GET /v1/ops``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: _Id | None = None
    scene_id: _SceneId
    program: ProgramNodes
    answer: ProposedAnswer | None = None


_Text = Annotated[str, StringConstraints(strict=True, max_length=100_000)]
_Frames = Annotated[list[_Int], Field(max_length=64)]


class TextProposal(BaseModel):
    """Text form: a question in words (any phrasing of any template, names as the scene's
    categories), with the frame indices it comes with (a frame it names must be one of them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: _Id | None = None
    scene_id: _SceneId
    text: _Text
    frames: _Frames | None = None
    answer: ProposedAnswer | None = None


class SpatialEvoProposal(BaseModel):
    """SpatialEvo form: ``task_type`` (one of its 16 ids, optionally ``vsi_`` / ``mmsi_``
    prefixed), the ``question`` text and the frame ids of its images."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: _Id | None = None
    scene_id: _SceneId
    task_type: _Key
    question: _Text
    frame_ids: _Frames | None = None
    answer: ProposedAnswer | None = None


Cause = Literal[
    "unparsed",
    "referent_missing",
    "referent_ambiguous",
    "frame_missing",
    "not_visible",
    "margin_too_small",
    "bad_options",
    "other",
]


class Reason(BaseModel):
    """Why a proposal is not valid: ``kind``, a sentence, the program node or request field
    it is about, and the deciding numbers. ``cause`` sorts text and template rejections into
    referent missing / ambiguous, frame missing, not visible, margin too small, unparsed."""

    kind: str
    message: str
    node: int | None = None
    field: str | None = None
    evidence: dict[str, Any] = {}
    cause: Cause | None = None


class Agreement(BaseModel):
    """How the proposer's own answer scores against the exact one."""

    agrees: bool
    reward: float
    parsed: Any = None
    detail: str


class ValidationResult(BaseModel):
    """The result for one proposal (the service serialises the same fields)."""

    id: str | None = None
    index: int | None = None
    form: Literal["template", "program", "text", "spatialevo"] | None = None
    scene_id: str | None = None
    valid: bool
    reasons: list[Reason] = []
    answer: str | None = None
    value: Any = None
    answer_type: str | None = None
    unit: str | None = None
    metric: str | None = None
    text: str | None = None
    choices: list[str] = []
    evidence: dict[str, Any] = {}
    rationale: str | None = None
    difficulty: Difficulty | None = None
    agreement: Agreement | None = None
    question: dict[str, Any] | None = None
    #: Template form: the parameters as resolved (object ids for names).
    params: dict[str, Any] | None = None
    elapsed_ms: float = 0.0


# ---------------------------------------------------------------------------- helpers
class Budget:
    """A time budget: ``deadline`` on ``time.perf_counter()``; time spent loading scenes is
    :meth:`exclude`-d (added back)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.perf_counter() + seconds

    def exclude(self, seconds: float) -> None:
        self.deadline += seconds

    def check(self, node: int = 0) -> None:
        if time.perf_counter() > self.deadline:
            raise BudgetExceeded(node)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


#: Union-member tags pydantic puts in error locations (``constrained-str``, ``list[...]``).
_UNION_TAG = re.compile(r"^(constrained-)?(str|int|float|bool)$|\[.*\]$|^function-")


def schema_reasons(err: ValidationError, limit: int = 10) -> list[Reason]:
    """Pydantic errors as reasons: one per field (the alternatives of a union joined with
    'or'), with the field path; the offending input is not echoed."""
    by_loc: dict[tuple, list[str]] = {}
    for e in err.errors(include_url=False, include_input=False):
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and _UNION_TAG.search(p)))
        msgs = by_loc.setdefault(loc, [])
        if e["msg"] not in msgs:
            msgs.append(e["msg"])
    out = []
    for loc, msgs in list(by_loc.items())[:limit]:
        node = loc[1] if len(loc) > 1 and loc[0] == "program" and isinstance(loc[1], int) else None
        where = _loc(loc)
        msg = " or ".join(msgs)
        out.append(
            Reason(
                kind="malformed",
                message=f"{where}: {msg}" if where else msg,
                node=node,
                field=where or None,
            )
        )
    if len(by_loc) > limit:
        out.append(Reason(kind="malformed", message=f"... and {len(by_loc) - limit} more fields"))
    return out


def answer_text(a: Any) -> str:
    """The proposer's answer as response text: yes/no for bools, items joined by ', '."""
    if isinstance(a, bool):
        return "yes" if a else "no"
    if isinstance(a, list):
        return ", ".join(str(x) for x in a)
    if isinstance(a, float) and a.is_integer() and abs(a) < 1e15:
        return str(int(a))
    return str(a)


def _fallback(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def dumps(obj: Any) -> bytes:
    """Strict JSON bytes of a result: NaN and infinities become null, numpy becomes Python."""
    return to_json(obj, inf_nan_mode="null", fallback=_fallback)


# ---------------------------------------------------------------------------- text forms
#: The key that marks each proposal form, and its model.
_FORM_KEYS = {
    "template": "template",
    "program": "program",
    "text": "text",
    "spatialevo": "task_type",
}
_FORM_MODELS: dict[str, type[BaseModel]] = {
    "template": TemplateProposal,
    "program": ProgramProposal,
    "text": TextProposal,
    "spatialevo": SpatialEvoProposal,
}
_PARSE_CAUSE: dict[str, Cause] = {
    "unparsed": "unparsed",
    "ambiguous_phrasing": "unparsed",
    "referent_missing": "referent_missing",
    "referent_ambiguous": "referent_ambiguous",
    "frame_missing": "frame_missing",
    "bad_options": "bad_options",
    "bad_value": "unparsed",
}


def spatialevo_templates(task_type: str) -> list[str]:
    """Templates aliased to a SpatialEvo task id (``vsi_`` / ``mmsi_`` prefixes and case
    ignored), in registry order; empty for an unknown id."""
    key = task_type.strip().lower()
    for prefix in ("vsi_", "mmsi_"):
        if key.startswith(prefix) and key[len(prefix) :] in BENCHMARKS["spatialevo"]:
            key = key[len(prefix) :]
    return [n for n, t in all_templates().items() if key in t.aliases.get("spatialevo", ())]


def _rejected(out: Rejection) -> list[Reason]:
    """The reasons of an oracle rejection, with their cause."""
    cause = rejection_cause(out.kind, out.reason)
    return [Reason(kind=out.kind, message=out.reason, evidence=out.evidence, cause=cause)]


def rejection_cause(kind: str, reason: str) -> Cause:
    """Sort an oracle rejection into a cause: unknown or ambiguous referent, frame missing,
    not visible, margin too small (a threshold missed), or other."""
    r = reason.lower()
    if kind == "ambiguous_referent" or "ambiguous" in r:
        return "referent_ambiguous"
    if "no frame" in r:
        return "frame_missing"
    if kind == "unknown_object" or "no object" in r or "no geo feature" in r or "not in the" in r:
        return "referent_missing"
    if "not in view" in r or "visible" in r or "into view" in r:
        return "not_visible"
    if kind == "ill_posed" and any(k in r for k in ("<", "margin", "within", "under", "apart")):
        return "margin_too_small"
    return "other"


# ---------------------------------------------------------------------------- validator
def _fill(res: dict[str, Any], ans: Any, text: str, diff: Any, row: dict[str, Any]) -> None:
    """The answer fields of a validation result, from an oracle or a program answer."""
    res.update(
        answer=ans.answer,
        value=ans.value,
        answer_type=ans.answer_type,
        unit=ans.unit,
        metric=ans.metric,
        text=text,
        choices=ans.choices,
        evidence=ans.evidence,
        rationale=ans.rationale,
        difficulty=diff.model_dump(),
        question=row,
    )


class Validator:
    """Validates proposals on the scenes of a :class:`SceneCache`."""

    def __init__(
        self,
        cache: SceneCache,
        limits: ProgramLimits | None = None,
        thresholds: ProgramThresholds | None = None,
        template_thresholds: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.cache = cache
        self.limits = limits or ProgramLimits()
        self.thresholds = thresholds or ProgramThresholds()
        self.template_thresholds = template_thresholds or {}

    def validate(
        self, raw: Any, budget: Budget | None = None, index: int | None = None
    ) -> dict[str, Any]:
        """The result (a dict with the fields of :class:`ValidationResult`; :func:`dumps`);
        :class:`BudgetExceeded` when ``budget`` runs out (scene loading is not counted)."""
        t0 = time.perf_counter()
        budget = budget or Budget(math.inf)
        res: dict[str, Any] = {"id": None, "index": index, "form": None, "scene_id": None}
        try:
            reasons = self._validate(raw, budget, res)
        except BudgetExceeded:
            raise
        except Exception as e:  # a bug must not take the worker down: report it
            log.exception("internal error validating a proposal")
            reasons = [Reason(kind="internal_error", message=f"{type(e).__name__}: {e}"[:500])]
        res["valid"] = not reasons
        res["reasons"] = [r.model_dump() for r in reasons]
        res["elapsed_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
        return res

    def _validate(self, raw: Any, budget: Budget, res: dict[str, Any]) -> list[Reason]:
        if not isinstance(raw, dict):
            return [Reason(kind="malformed", message="a proposal is a JSON object")]
        if isinstance(raw.get("id"), str):
            res["id"] = raw["id"][:256]
        forms_given = [f for f, key in _FORM_KEYS.items() if key in raw]
        if len(forms_given) != 1:
            return [
                Reason(
                    kind="malformed",
                    message="a proposal has exactly one of 'template' (template form), "
                    "'program' (program form), 'text' (text form) or 'task_type' + 'question' "
                    "(SpatialEvo form)"
                    + (f"; it has {', '.join(map(repr, forms_given))}" if forms_given else ""),
                )
            ]
        form = forms_given[0]
        has_p = form == "program"
        res["form"] = form
        if has_p and isinstance(raw.get("program"), list):
            n = len(raw["program"])
            if n > self.limits.max_nodes:
                return [
                    Reason(
                        kind="limit",
                        message=f"program has {n} nodes > max_nodes {self.limits.max_nodes}",
                        field="program",
                        evidence={"nodes": n, "max_nodes": self.limits.max_nodes},
                    )
                ]
        try:
            prop = _FORM_MODELS[form].model_validate(raw)
        except ValidationError as e:
            return schema_reasons(e)
        res["scene_id"] = prop.scene_id
        t_load = time.perf_counter()
        try:
            entry = self.cache.get(prop.scene_id)
        except UnknownSceneError:
            known = self.cache.ids()
            return [
                Reason(
                    kind="unknown_scene",
                    message=f"no scene {prop.scene_id!r} is served (GET /v1/scenes lists "
                    f"{len(known)})",
                    field="scene_id",
                    evidence={"known": known[:50]},
                )
            ]
        except (GeoenvError, OSError) as e:
            log.warning("scene %r could not be loaded: %s", prop.scene_id, e)
            return [Reason(kind="scene_error", message=f"scene could not be loaded: {e}"[:500])]
        finally:
            budget.exclude(time.perf_counter() - t_load)
        with entry.lock:
            if isinstance(prop, TemplateProposal):
                return self._template(entry, prop, res)
            if isinstance(prop, TextProposal | SpatialEvoProposal):
                return self._text(entry, prop, res)
            return self._program(entry, prop, budget.deadline, res)

    # ------------------------------------------------------------------ template form
    def _template(self, entry: Any, prop: TemplateProposal, res: dict[str, Any]) -> list[Reason]:
        out = entry.oracle.ask_or_reject(prop.template, **prop.params)
        if isinstance(out, Rejection):
            return _rejected(out)
        self._answered(entry, out, out.question, out.row.model_dump(), prop.answer, res)
        return []

    def _answered(
        self,
        entry: Any,
        ans: OracleAnswer,
        text: str,
        row: dict[str, Any],
        proposed: Any,
        res: dict[str, Any],
    ) -> None:
        """Fill the result of an answered template question: answer fields, difficulty,
        resolved params and the proposer's agreement (scored against ``row``)."""
        tpl = get_template(ans.template, **self.template_thresholds.get(ans.template, {}))
        ids, refs = template_referents(ans.params, tpl.param_doc, entry.scene.labels)
        diff = estimate(template_margins(ans.evidence, tpl.thresholds()), len(ids), refs + 1)
        _fill(res, ans, text, diff, row)
        res["params"] = ans.params
        self._agreement(proposed, row, res)

    # ------------------------------------------------------------------ text forms
    def _text(
        self, entry: Any, prop: TextProposal | SpatialEvoProposal, res: dict[str, Any]
    ) -> list[Reason]:
        if isinstance(prop, SpatialEvoProposal):
            names = spatialevo_templates(prop.task_type)
            if not names:
                return [
                    Reason(
                        kind="unknown_task_type",
                        message=f"unknown SpatialEvo task_type {prop.task_type!r}",
                        field="task_type",
                        evidence={"known": sorted(BENCHMARKS["spatialevo"])},
                    )
                ]
            text, frames = prop.question, prop.frame_ids
        else:
            names, text, frames = None, prop.text, prop.frames
        parsed = parse(text, entry.scene, frames=frames, templates=names)
        field = "question" if isinstance(prop, SpatialEvoProposal) else "text"
        if isinstance(parsed, Unparsed):
            return [
                Reason(
                    kind=parsed.kind,
                    message=parsed.reason,
                    field=field,
                    evidence={"templates": parsed.templates} if parsed.templates else {},
                    cause=_PARSE_CAUSE[parsed.kind],
                )
            ]
        res["params"] = parsed.params
        out = entry.oracle.ask_or_reject(parsed.template, **parsed.params)
        if isinstance(out, Rejection):
            return _rejected(out)
        ans: OracleAnswer = out
        try:
            answer = text_answer(entry.scene, parsed, ans.value, lambda: ans.answer)
        except IllPosed as e:  # the offered options lack the answer
            return [Reason(kind="ill_posed", message=e.reason, field=field, cause="bad_options")]
        row = ans.row.model_dump() | {"text": text, "choices": parsed.choices, "answer": answer}
        self._answered(entry, ans, text, row, prop.answer, res)
        res.update(answer=answer, choices=parsed.choices)
        return []

    # ------------------------------------------------------------------ program form
    def _program(
        self, entry: Any, prop: ProgramProposal, deadline: float, res: dict[str, Any]
    ) -> list[Reason]:
        try:
            ans: ProgramAnswer = run(
                entry.scene,
                prop.program,
                limits=self.limits,
                thresholds=self.thresholds,
                deadline=deadline,
            )
        except ProgramError as e:
            return [Reason(kind=e.kind, message=e.message, node=e.node, evidence=e.evidence)]
        diff = estimate(ans.margins, len(ans.objects), ans.size)
        row = {
            "template": "program",
            "scene_id": entry.scene.id,
            "text": ans.text,
            **ans.row(),
        }
        _fill(res, ans, ans.text, diff, row)
        self._agreement(prop.answer, row, res)
        return []

    @staticmethod
    def _agreement(answer: Any, row: dict[str, Any], res: dict[str, Any]) -> None:
        if answer is None:
            res["agreement"] = None
            return
        s = score_batch([row], [answer_text(answer)])[0]
        res["agreement"] = {
            "agrees": s.correct,
            "reward": s.reward,
            "parsed": s.parsed,
            "detail": s.detail,
        }
