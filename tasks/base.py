"""The template contract: questions, answers, ill-posed parameters, seeded generation.

A template enumerates candidate parameters in a stable order, rejects the ill-posed ones by its
validity rules (raising :class:`IllPosed` from :meth:`Template.answer`), picks ``n`` with a
generator seeded from ``(seed, scene id, template name)`` only, and phrases each with a
paraphrase and a balanced answer position.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from geoenv.errors import GeoenvError
from geoenv.scene import Scene
from geoenv.serialize import canonical_json
from geoenv.tasks.grammar import ReadContext, Reading

Family = Literal["scene", "camera", "visibility", "geo"]
AnswerType = Literal["choice", "number", "count", "bool", "order"]
Metric = Literal["exact", "mra"]
Unit = Literal["m", "cm", "m2", "deg", "count", ""]
ParamValue = str | int | float | list[str] | list[int]


class IllPosed(GeoenvError):
    """Parameters that do not make a well-posed question; ``reason`` says which rule fired and
    ``evidence`` holds the numbers (e.g. the margin and the threshold it missed)."""

    def __init__(self, reason: str, **evidence: Any) -> None:
        self.reason = reason
        self.evidence = evidence
        super().__init__(reason)


class Question(BaseModel):
    """One generated question with its exact answer (a dataset row)."""

    model_config = ConfigDict(frozen=True)

    id: str
    template: str
    family: Family
    answer_type: AnswerType
    scene_id: str
    params: dict[str, ParamValue]
    text: str
    choices: list[str]
    answer: str
    answer_value: float | None
    unit: Unit
    metric: Metric
    tolerance: float | None
    evidence: dict[str, Any]
    rationale: str
    #: ``clean`` for a question as generated; ``occlusion`` / ``degradation`` for a variant
    #: derived from the question ``base_question_id`` with ``variant_params`` (type, severity,
    #: dropped frames, ...).
    variant: str = "clean"
    base_question_id: str | None = None
    variant_params: dict[str, Any] = {}


@dataclass(frozen=True)
class Answer:
    """The exact answer for some parameters: ``value`` (str for choices, float for numbers, int
    for counts, bool, or a list for orders), the deciding numbers and a short derivation."""

    value: Any
    evidence: dict[str, Any]
    rationale: str


@dataclass(frozen=True)
class Rendered:
    """A phrased question: text, choices (empty for free answers) and the canonical answer."""

    text: str
    choices: list[str]
    answer: str


class LazyCandidates(Sequence):
    """A candidate list computed on demand: ``n`` items, item ``i`` is ``make(i)``.

    For large candidate spaces (ordered triples of objects) a template returns this instead of
    a list; generation then touches only the candidates it visits."""

    def __init__(self, n: int, make: Callable[[int], dict[str, ParamValue]]) -> None:
        self._n, self._make = int(n), make

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(self._n))]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return self._make(i % self._n)


def ordered_tuple_at(items: Sequence[str], k: int, index: int) -> list[str]:
    """The ``index``-th ordered k-tuple of distinct items, in lexicographic order of
    positions (the order of ``itertools.permutations(items, k)``)."""
    pool = list(items)
    out = []
    for j in range(k):
        block = 1
        for t in range(1, k - j):
            block *= len(pool) - t
        q, index = divmod(index, block)
        out.append(pool.pop(q))
    return out


def n_ordered_tuples(m: int, k: int) -> int:
    out = 1
    for t in range(k):
        out *= max(m - t, 0)
    return out


def visit_order(n: int, rng: np.random.Generator) -> Iterator[int]:
    """Candidate indices in a seeded random order without repeats: a full permutation for
    small spaces, batched rejection sampling for large ones (so a huge space costs nothing
    until visited)."""
    if n <= _PERMUTE_MAX:
        yield from (int(i) for i in rng.permutation(n))
        return
    seen: set[int] = set()
    while len(seen) < n:
        for i in rng.integers(0, n, size=256):
            i = int(i)
            if i not in seen:
                seen.add(i)
                yield i
        if len(seen) > n // 2:  # mostly visited: finish with the rest, permuted
            rest = np.setdiff1d(np.arange(n), np.fromiter(seen, dtype=np.int64))
            yield from (int(i) for i in rng.permutation(rest))
            return


_PERMUTE_MAX = 65_536


def memo(scene: Scene, key: object, make: Callable[[], Any]) -> Any:
    """``make()`` computed once per scene and key (scenes are immutable once built)."""
    try:
        return scene.derived[key]
    except KeyError:
        value = scene.derived[key] = make()
        return value


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from the sha256 of the parts' reprs: independent of process and order of
    other work (never Python's salted ``hash``)."""
    h = hashlib.sha256("\x1f".join(repr(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little")


def template_rng(seed: int, scene_id: str, template: str) -> np.random.Generator:
    """The generator a template uses on a scene: a function of (seed, scene id, name) only."""
    return np.random.default_rng(stable_seed(int(seed), scene_id, template))


def question_id(
    template: str,
    scene_id: str,
    params: dict,
    text: str,
    choices: Sequence[str],
    variant: str = "clean",
    variant_params: dict | None = None,
) -> str:
    """Content hash (sha256, 16 hex digits) of template, scene id, params and phrasing (and,
    for a variant row, its kind and parameters)."""
    content: dict[str, Any] = {"t": template, "s": scene_id, "p": params, "x": text}
    content["c"] = list(choices)
    if variant != "clean":
        content |= {"v": variant, "vp": variant_params or {}}
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()[:16]


def balanced_slots(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` slot indices in ``range(k)``, each used ``n // k`` or ``n // k + 1`` times, shuffled.

    Which slots get the ``n % k`` extra uses is itself drawn at random, so pooling many small
    sets stays balanced too. Used to balance the position of the right choice and yes/no
    answers (CLEVR-style)."""
    return rng.permutation(np.resize(rng.permutation(k), n))


def name_of(label: str) -> str:
    """How a category label reads in a question: ``trash_can`` -> ``trash can``."""
    return label.replace("_", " ")


def object_name(scene: Scene, object_id: object) -> str:
    """How an object (by id) is named in questions and choices: its category name."""
    return name_of(scene[str(object_id)].label)


def plural(noun: str) -> str:
    """English plural of a category name: chair -> chairs, bookshelf -> bookshelves,
    box -> boxes, shelf unit -> shelf units (the last word is inflected)."""
    head, _, last = noun.rpartition(" ")
    if last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    elif last.endswith("f") and not last.endswith("ff"):
        last = last[:-1] + "ves"
    elif last.endswith("y") and last[-2:-1] not in tuple("aeiou"):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def fmt_number(x: float, decimals: int) -> str:
    """Canonical answer string of a number (fixed decimals, no sign of zero)."""
    s = f"{x:.{decimals}f}"
    return "0" + s[2:] if s.startswith("-0") and float(s) == 0 else s


@dataclass(frozen=True)
class Template(ABC):
    """Base class of every template; subclasses are frozen dataclasses whose fields are the
    thresholds (each documented in docs/tasks.md with its default)."""

    name: ClassVar[str]
    family: ClassVar[Family]
    answer_type: ClassVar[AnswerType]
    metric: ClassVar[Metric]
    unit: ClassVar[Unit] = ""
    #: Decimals of the canonical answer string of a number.
    decimals: ClassVar[int] = 2
    #: What the template needs from a scene, e.g. ``("objects",)`` or ``("objects", "frames")``.
    inputs: ClassVar[tuple[str, ...]] = ("objects",)
    #: One-paragraph statement of the exact rule (docs/tasks.md).
    rule: ClassVar[str] = ""
    #: Parameter names and what they hold (docs/tasks.md and the oracle).
    param_doc: ClassVar[dict[str, str]] = {}
    #: Number of balanced answer slots: choices per question, or 2 (yes/no) for bools.
    slots: ClassVar[int] = 1
    #: Benchmark categories this template corresponds to: ``{"spatialevo": ids,
    #: "vsi_bench": ids, "mmsi_bench": ids}`` (ids listed in ``geoenv.tasks.parity.BENCHMARKS``).
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Placeholder name -> key of ``geoenv.tasks.grammar.SLOT_CLASSES`` where the default
    #: character class of a placeholder does not fit (read back by :meth:`read`).
    slot_classes: ClassVar[dict[str, str]] = {}

    # ------------------------------------------------------------ to implement
    @abstractmethod
    def candidates(self, scene: Scene) -> Sequence[dict[str, ParamValue]]:
        """Candidate parameters in a stable order (not yet validated): a list, or a
        :class:`LazyCandidates` for large spaces."""

    @abstractmethod
    def answer(self, scene: Scene, params: dict[str, ParamValue]) -> Answer:
        """The exact answer; raises :class:`IllPosed` when a validity rule rejects ``params``."""

    @abstractmethod
    def render(
        self,
        scene: Scene,
        params: dict[str, ParamValue],
        answer: Answer,
        rng: np.random.Generator,
        slot: int,
    ) -> Rendered:
        """Phrase the question (paraphrase chosen with ``rng``); ``slot`` is the balanced
        position of the right choice (or 0 = yes, 1 = no for bools)."""

    def read(self, ctx: ReadContext, form: str, slots: dict[str, str]) -> Reading:
        """Read a question phrased with the paraphrase set ``form`` (the name of a
        :meth:`phrasings` entry) whose placeholders matched ``slots`` back into parameters:
        the inverse of :meth:`render`. Raises :class:`~geoenv.tasks.grammar.Unreadable` when
        a placeholder does not resolve on the scene."""
        raise NotImplementedError(f"template {self.name!r} has no reader")

    # ------------------------------------------------------------ shared
    def phrasings(self) -> dict[str, tuple[str, ...]]:
        """Every paraphrase set of the template (class attributes made with :func:`forms`),
        by attribute name: the grammar :mod:`geoenv.tasks.grammar` reads questions with."""
        out: dict[str, tuple[str, ...]] = {}
        for klass in reversed(type(self).__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, _Forms):
                    out[key] = value.forms
        return dict(sorted(out.items()))

    def thresholds(self) -> dict[str, Any]:
        """The template's parameters (thresholds) and their values."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def answer_value(self, answer: Answer) -> float | None:
        """The number of a numeric or count answer (None otherwise)."""
        if self.answer_type in ("number", "count"):
            return float(answer.value)
        return None

    def tolerance(self) -> float | None:
        """Stated tolerance of the metric: none for exact match; MRA is relative by definition."""
        return None

    def question(
        self,
        scene: Scene,
        params: dict[str, ParamValue],
        rng: np.random.Generator,
        slot: int = 0,
        answer: Answer | None = None,
    ) -> Question:
        """Build the :class:`Question` for parameters (validated unless ``answer`` is given)."""
        ans = self.answer(scene, params) if answer is None else answer
        r = self.render(scene, params, ans, rng, slot)
        return Question(
            id=question_id(self.name, scene.id, params, r.text, r.choices),
            template=self.name,
            family=self.family,
            answer_type=self.answer_type,
            scene_id=scene.id,
            params=params,
            text=r.text,
            choices=r.choices,
            answer=r.answer,
            answer_value=self.answer_value(ans),
            unit=self.unit,
            metric=self.metric,
            tolerance=self.tolerance(),
            evidence=ans.evidence,
            rationale=ans.rationale,
        )

    def valid(self, scene: Scene) -> list[tuple[dict[str, ParamValue], Answer]]:
        """Every well-posed candidate with its answer, in candidate order."""
        out = []
        for p in self.candidates(scene):
            try:
                out.append((p, self.answer(scene, p)))
            except IllPosed:
                continue
        return out

    def generate(self, scene: Scene, seed: int, n: int) -> list[Question]:
        """Up to ``n`` well-posed questions, a pure function of (scene, seed, template).

        Candidates are visited in a seeded random order and validated until ``n`` pass, so the
        cost is proportional to ``n`` plus the rejections, not to the candidate count.
        """
        rng = template_rng(seed, scene.id, self.name)
        cands = memo(scene, ("candidates", self), lambda: self.candidates(scene))
        chosen: list[tuple[dict[str, ParamValue], Answer]] = []
        for i in visit_order(len(cands), rng):
            if len(chosen) >= n:
                break
            try:
                chosen.append((cands[i], self.answer(scene, cands[i])))
            except IllPosed:
                continue
        slots = balanced_slots(len(chosen), max(1, self.slots), rng)
        return [
            self.question(scene, p, rng, int(s), answer=a)
            for (p, a), s in zip(chosen, slots, strict=True)
        ]


@dataclass(frozen=True)
class _Forms:
    """Paraphrase helper: pick one of several format strings with the generator."""

    forms: tuple[str, ...] = field(default_factory=tuple)

    def pick(self, rng: np.random.Generator, **kw: str) -> str:
        return self.forms[int(rng.integers(len(self.forms)))].format(**kw)


def forms(*texts: str) -> _Forms:
    """Paraphrases of one question, with ``{placeholders}``."""
    return _Forms(tuple(texts))


def or_list(items: Sequence[str]) -> str:
    """How a question offers its options, in their order: ``a or b`` / ``a, b, or c``
    (:func:`geoenv.tasks.grammar.split_options` reads it back)."""
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def place_choice(
    correct: str, others: Sequence[str], slot: int, rng: np.random.Generator
) -> list[str]:
    """Choices with ``correct`` at index ``slot`` and the others shuffled around it."""
    rest = [others[i] for i in rng.permutation(len(others))]
    slot = min(slot, len(rest))
    return [*rest[:slot], correct, *rest[slot:]]
