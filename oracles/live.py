"""The live oracle: answer template questions on a scene with caller-supplied parameters.

``Oracle(scene).ask("object_distance", a="sofa", b="tv")`` resolves object names, validates
the parameters with the template's own rules and returns the exact answer with its evidence,
or raises a typed :class:`OracleError` whose ``rejection`` is a serialisable
:class:`Rejection` (what a validation service returns).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from geoenv.errors import GeoenvError, UnknownObjectError
from geoenv.oracles.answer_parse import norm_text
from geoenv.scene import Scene
from geoenv.tasks.base import IllPosed, Question, Template
from geoenv.tasks.registry import templates

RejectionKind = Literal[
    "unknown_template",
    "unknown_parameter",
    "missing_parameter",
    "invalid_parameter",
    "unknown_object",
    "ambiguous_referent",
    "ill_posed",
]

#: Friendly parameter names per template -> the template's own name (``param_doc`` keys).
ALIASES: dict[str, dict[str, str]] = {
    "relative_direction": {"standing": "a", "facing": "b", "target": "c"},
}

#: Seed of the generator that phrases the canonical question text (slot 0).
QUESTION_SEED = 0


def _plain(x: Any) -> Any:
    """JSON-friendly copy: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x


class Rejection(BaseModel):
    """Why the oracle refused a question: ``kind``, a sentence, the parameters as given and the
    deciding numbers (ill-posed margins) or the candidate ids (ambiguous referents)."""

    model_config = ConfigDict(frozen=True)

    kind: RejectionKind
    template: str
    reason: str
    params: dict[str, Any] = {}
    evidence: dict[str, Any] = {}


class OracleError(GeoenvError):
    """A typed rejection; ``rejection`` holds it as a :class:`Rejection`."""

    kind: ClassVar[RejectionKind]

    def __init__(
        self,
        template: str,
        reason: str,
        params: Mapping[str, Any] | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> None:
        self.rejection = Rejection(
            kind=self.kind,
            template=template,
            reason=reason,
            params=_plain(dict(params or {})),
            evidence=_plain(dict(evidence or {})),
        )
        super().__init__(f"{template}: {reason}")

    @property
    def reason(self) -> str:
        return self.rejection.reason

    @property
    def evidence(self) -> dict[str, Any]:
        return self.rejection.evidence


class UnknownTemplateError(OracleError):
    """No template of that name (``evidence["known"]`` lists them)."""

    kind = "unknown_template"


class UnknownParameterError(OracleError):
    """A parameter name the template does not take (``evidence["accepted"]``)."""

    kind = "unknown_parameter"


class MissingParameterError(OracleError):
    """A parameter the template needs was not given."""

    kind = "missing_parameter"


class InvalidParameterError(OracleError):
    """A parameter value of the wrong type (e.g. a list where one object is expected)."""

    kind = "invalid_parameter"


class UnknownReferentError(OracleError):
    """No object with that id or category name (``evidence["categories"]`` lists them)."""

    kind = "unknown_object"


class AmbiguousReferentError(OracleError):
    """A category with several instances where a unique one is needed (``evidence["ids"]``)."""

    kind = "ambiguous_referent"


class IllPosedError(OracleError):
    """The template's validity rules reject the parameters (margin too small, not in view,
    ...); ``evidence`` holds the deciding numbers."""

    kind = "ill_posed"


class OracleAnswer(BaseModel):
    """The exact answer to a question: the canonical answer string (matching ``question`` and
    ``choices``), the raw value, the evidence and rationale, and the full question row."""

    model_config = ConfigDict(frozen=True)

    template: str
    params: dict[str, Any]
    answer: str
    value: Any
    answer_type: str
    unit: str
    metric: str
    evidence: dict[str, Any]
    rationale: str
    question: str
    choices: list[str]
    row: Question


class Oracle:
    """Answers template questions on ``scene``; ``thresholds`` overrides template thresholds
    by template name (``{"depth_order": {"min_margin_rel": 0.2}}``)."""

    def __init__(
        self, scene: Scene, thresholds: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.scene = scene
        self.thresholds = {k: dict(v) for k, v in (thresholds or {}).items()}
        pos = {oid: i for i, oid in enumerate(scene.objects)}
        names: dict[str, set[str]] = {}
        for label, ids in scene.labels.items():
            for key in (norm_text(label), label.lower()):
                names.setdefault(key, set()).update(ids)
        #: Category name (normalised) -> ids in scene order.
        self._names = {k: sorted(v, key=pos.__getitem__) for k, v in names.items()}

    # ------------------------------------------------------------------ introspection
    @staticmethod
    def template_names() -> list[str]:
        """Registered template names, in registry order."""
        return list(templates())

    def params(self, template: str) -> dict[str, str]:
        """The parameters ``template`` takes (its ``param_doc``), plus its aliases."""
        tpl = self._template(template)
        doc = dict(tpl.param_doc)
        for alias, target in ALIASES.get(template, {}).items():
            doc[alias] = f"alias of {target!r}"
        return doc

    # ------------------------------------------------------------------ asking
    def ask(self, template: str, /, **params: Any) -> OracleAnswer:
        """The exact answer, or a typed :class:`OracleError`.

        Object parameters take an object id or a category name (``"sofa"``, ``"trash can"``;
        ids win when a string is both); a name resolves only when its category has exactly
        one instance. Frame parameters take an int (or a digit string).
        """
        tpl = self._template(template)
        given = dict(params)
        resolved = self._resolve(tpl, self._rename(tpl, given), given)
        try:
            ans = tpl.answer(self.scene, resolved)
        except IllPosed as e:
            raise IllPosedError(tpl.name, e.reason, given, e.evidence) from None
        except UnknownObjectError as e:
            raise UnknownReferentError(tpl.name, str(e), given) from None
        except KeyError as e:
            key = e.args[0] if e.args else None
            if key in tpl.param_doc:
                raise MissingParameterError(
                    tpl.name, f"parameter {key!r} is required", given, {"missing": key}
                ) from None
            raise
        except (TypeError, ValueError) as e:
            raise InvalidParameterError(tpl.name, f"invalid parameter value: {e}", given) from None
        q = tpl.question(
            self.scene, resolved, np.random.default_rng(QUESTION_SEED), slot=0, answer=ans
        )
        return OracleAnswer(
            template=tpl.name,
            params=_plain(resolved),
            answer=q.answer,
            value=_plain(ans.value),
            answer_type=tpl.answer_type,
            unit=tpl.unit,
            metric=tpl.metric,
            evidence=_plain(ans.evidence),
            rationale=ans.rationale,
            question=q.text,
            choices=q.choices,
            row=q,
        )

    def ask_or_reject(self, template: str, /, **params: Any) -> OracleAnswer | Rejection:
        """:meth:`ask`, returning the :class:`Rejection` instead of raising it."""
        try:
            return self.ask(template, **params)
        except OracleError as e:
            return e.rejection

    # ------------------------------------------------------------------ helpers
    def _template(self, name: str) -> Template:
        tpls = templates()
        if name not in tpls:
            raise UnknownTemplateError(
                str(name), f"unknown template {name!r}", evidence={"known": list(tpls)}
            )
        from geoenv.tasks.registry import get

        return get(name, **self.thresholds.get(name, {}))

    @staticmethod
    def _rename(tpl: Template, given: dict[str, Any]) -> dict[str, Any]:
        aliases = ALIASES.get(tpl.name, {})
        out: dict[str, Any] = {}
        for k in sorted(given):
            target = aliases.get(k, k)
            if target not in tpl.param_doc:
                accepted = sorted(tpl.param_doc) + sorted(aliases)
                raise UnknownParameterError(
                    tpl.name,
                    f"unknown parameter {k!r}; accepted: {', '.join(accepted) or '(none)'}",
                    given,
                    {"accepted": accepted},
                )
            if target in out:
                raise UnknownParameterError(
                    tpl.name, f"parameter {target!r} given twice (alias {k!r})", given
                )
            out[target] = given[k]
        return {k: out[k] for k in tpl.param_doc if k in out}  # the template's order

    def _resolve(
        self, tpl: Template, params: dict[str, Any], given: dict[str, Any]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in params.items():
            doc = tpl.param_doc[k].lower()
            if "object id" in doc:
                unique = "unique" in doc
                many = "object ids" in doc
                if isinstance(v, list | tuple) != many:
                    want = "a list of object ids or names" if many else "one object id or name"
                    raise InvalidParameterError(tpl.name, f"{k}: expected {want}, not {v!r}", given)
                if many:
                    out[k] = [self._object(tpl, k, x, unique, given) for x in v]
                else:
                    out[k] = self._object(tpl, k, v, unique, given)
            elif doc.startswith("category") and isinstance(v, str):
                out[k] = self._category(v)
            elif "frame index" in doc and isinstance(v, str) and v.strip().lstrip("-").isdigit():
                out[k] = int(v)
            elif isinstance(v, np.integer):
                out[k] = int(v)
            else:
                out[k] = v
        return out

    def _category(self, v: str) -> str:
        """The scene's label for a category name (``"Trash can"`` -> ``trash_can``), or ``v``
        unchanged when none matches (the template then rejects it)."""
        key = norm_text(v)
        for label in self.scene.labels:
            if norm_text(label) == key:
                return label
        return v

    def _object(self, tpl: Template, role: str, v: Any, unique: bool, given: dict) -> str:
        """Object id for an id or a category name (see :meth:`ask`)."""
        if isinstance(v, bool) or not isinstance(v, str | int | np.integer):
            raise InvalidParameterError(
                tpl.name, f"{role}: expected an object id or category name, not {v!r}", given
            )
        s = str(v)
        scene = self.scene
        if s in scene.objects:
            label = scene.objects[s].label
            ids = scene.labels[label]
            if unique and len(ids) > 1:
                raise AmbiguousReferentError(
                    tpl.name,
                    f"{role}: object {s!r} is a {label!r}, a category with {len(ids)} "
                    f"instances (ids {', '.join(ids)}); the question needs a unique one",
                    given,
                    {"role": role, "category": label, "ids": list(ids)},
                )
            return s
        key = norm_text(s)
        if key.startswith("the "):
            key = key[4:]
        ids = self._names.get(key)
        if not ids:
            cats = list(scene.labels)
            raise UnknownReferentError(
                tpl.name,
                f"{role}: no object with id or category {s!r} in scene {scene.id!r}",
                given,
                {"role": role, "categories": cats},
            )
        if len(ids) > 1:
            raise AmbiguousReferentError(
                tpl.name,
                f"{role}: {s!r} names {len(ids)} objects (ids {', '.join(ids)}); pass one id",
                given,
                {"role": role, "category": key, "ids": list(ids)},
            )
        return ids[0]
