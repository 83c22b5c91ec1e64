"""Scoring: rewards in [0, 1] for model responses against question rows, single and batched.

A question is a :class:`~geoenv.tasks.base.Question` or a plain dict row of a generated
dataset (``pipelines.rows.question_rows`` / ``read_questions``; ``params`` and ``evidence`` may
be JSON strings, they are not needed). Scoring needs no scene: it reads ``answer_type``,
``answer``, ``answer_value``, ``choices``, ``unit`` and ``metric`` from the row.

Parsing is Python (regexes, with fast paths for short clean answers); the metrics (MRA, exact
match, Kendall credit, format bonus) are computed with numpy over the whole batch.
See docs/oracle.md for the rules and the reward table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from geoenv.oracles import answer_parse as P
from geoenv.tasks.base import Question
from geoenv.tasks.metrics import mra

# answer kinds (row answer types)
CHOICE, BOOL, COUNT, NUMBER, ORDER = 0, 1, 2, 3, 4
_KINDS = {"choice": CHOICE, "bool": BOOL, "count": COUNT, "number": NUMBER, "order": ORDER}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}
MRA, EXACT = 1, 0
_METRIC_NAMES = np.array(["exact", "mra", "kendall"])

Response = str | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None


class RewardConfig(BaseModel):
    """How a parsed answer becomes a reward (all stated in docs/oracle.md).

    ``reward = 0`` when the response is not well formed; otherwise
    ``reward = format_bonus + (1 - format_bonus) * value``, where ``value`` is the row's metric
    (MRA for numbers and counts, exact match for choices and yes/no, exact order or Kendall
    credit for orderings).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Share of the reward given for a well-formed answer, right or wrong (0 = none).
    format_bonus: float = Field(0.0, ge=0.0, le=1.0)
    #: Orderings: ``exact`` (1 for the right order, else 0) or ``kendall`` (max(0, tau)).
    order_credit: Literal["exact", "kendall"] = "exact"
    #: Counts: the row's metric (``row``: MRA for the generated counts), or force one.
    count_metric: Literal["row", "mra", "exact"] = "row"
    #: Only ``<answer>`` tags or ``\boxed{}`` count; a bare final line is not well formed.
    require_tags: bool = False
    #: Longest answer span read (characters); longer tag / boxed spans are not well formed.
    max_span: int = Field(P.MAX_SPAN, ge=1, le=100_000)
    #: Numbers mentioned in one span agree (one answer) within this relative tolerance.
    agree_rtol: float = Field(P.AGREE_RTOL, ge=0.0, le=0.5)


DEFAULT_CONFIG = RewardConfig()


class Score(BaseModel):
    """The score of one response.

    ``parsed``: the answer read (choice text, ``yes``/``no``, int count, float number in the
    row's unit, list of item names, ``unanswerable`` for an abstention; None when not well
    formed). ``value``: the metric before the format bonus. ``exact``: the parsed answer is the
    canonical one (None for non-count numbers, scored by MRA only). ``correct``: exact for
    choices, yes/no, counts and orderings; MRA = 1 (relative error under 5 %) for numbers.
    """

    model_config = ConfigDict(frozen=True)

    reward: float
    correct: bool
    parsed: str | int | float | list[str] | None
    format_ok: bool
    detail: str
    metric: str
    value: float
    exact: bool | None
    source: Literal["none", "answer_tag", "boxed", "last_line"]


# ------------------------------------------------------------------ question rows
class _Row:
    """What scoring needs from one question row."""

    __slots__ = (
        "answer",
        "choice",
        "dim",
        "factor",
        "gt_index",
        "gt_unans",
        "gt_value",
        "kind",
        "letters",
        "metric",
        "order_index",
        "order_items",
        "unit",
    )


_CHOICE_CACHE: dict[tuple[tuple[str, ...], bool], P.ChoiceInfo] = {}
_CACHE_MAX = 100_000


def _choice_info(choices: tuple[str, ...], letters: bool = True) -> P.ChoiceInfo:
    info = _CHOICE_CACHE.get((choices, letters))
    if info is None:
        if len(_CHOICE_CACHE) >= _CACHE_MAX:
            _CHOICE_CACHE.clear()
        info = _CHOICE_CACHE[choices, letters] = P.ChoiceInfo(choices, letters)
    return info


def _as_choices(c: Any) -> tuple[str, ...]:
    if c is None:
        return ()
    if isinstance(c, str):  # a JSON-encoded list, or one choice per line
        c = c.strip()
        if not c:
            return ()
        if c.startswith("["):
            import json

            return tuple(str(x) for x in json.loads(c))
        return tuple(c.split("\n"))
    return tuple(str(x) for x in c)


def infer_answer_type(answer: str, choices: Sequence[str]) -> str:
    """Answer type of a row that does not state one: ``choice`` when it has choices, ``bool``
    for yes/no, ``number`` for a number, ``order`` for a list joined by commas or arrows, else
    ``choice`` (matched against the answer text alone)."""
    if choices:
        return "choice"
    a = answer.strip().lower()
    if a in ("yes", "no"):
        return "bool"
    try:
        float(a)
        return "number"
    except ValueError:
        pass
    if len(P.split_order(a)) > 1 and any(s in a for s in (",", "->", "→", ">")):
        return "order"
    return "choice"


def _row(q: Question | Mapping[str, Any]) -> _Row:
    if isinstance(q, Question):
        at, ans, choices, unit, metric, av = (
            q.answer_type,
            q.answer,
            tuple(q.choices),
            q.unit,
            q.metric,
            q.answer_value,
        )
    elif isinstance(q, Mapping):
        if "answer" not in q:
            raise ValueError(f"question row has no 'answer': keys {sorted(q)[:12]}")
        ans = str(q["answer"])
        choices = _as_choices(q.get("choices"))
        at = q.get("answer_type") or infer_answer_type(ans, choices)
        unit = q.get("unit") or ""
        metric = q.get("metric")
        av = q.get("answer_value")
        if metric is None:
            metric = "mra" if at in ("number", "count") else "exact"
    else:
        raise TypeError(f"a question is a Question or a dict row, not {type(q).__name__}")
    r = _Row()
    kind = _KINDS.get(at)
    if kind is None:
        raise ValueError(f"unknown answer_type {at!r}")
    r.kind = kind
    r.metric = MRA if metric == "mra" else EXACT
    r.answer = ans
    r.unit = unit
    r.gt_value = math.nan
    r.gt_unans = False
    r.gt_index = -1
    r.choice = None
    r.letters = None
    r.order_items = None
    r.order_index = None
    r.dim, r.factor = None, 1.0
    if kind in (NUMBER, COUNT):
        ru = P.ROW_UNITS.get(unit)
        if ru is None:
            raise ValueError(f"unknown unit {unit!r}; known: {sorted(P.ROW_UNITS)}")
        r.dim, r.factor = ru
        if av is not None and not (isinstance(av, float) and math.isnan(av)):
            r.gt_value = float(av)
        else:
            r.gt_unans = P.is_abstention(ans)
            if not r.gt_unans:
                try:
                    r.gt_value = float(ans)
                except ValueError:
                    raise ValueError(f"numeric answer {ans!r} is not a number") from None
    elif kind == CHOICE:
        # Without choices only the answer text itself is recognised (no letters).
        info = _choice_info(choices, True) if choices else _choice_info((ans,), False)
        r.choice = info
        i = info.index_of.get(ans)
        if i is None:
            i = info.index_of.get(P.norm_text(ans))
        if i is None:
            raise ValueError(f"answer {ans!r} is not among the choices {list(choices)}")
        r.gt_index = i
    elif kind == BOOL:
        r.gt_unans = P.is_abstention(ans)
        a = ans.strip().lower()
        r.gt_index = 1 if a in ("yes", "true") else 0 if a in ("no", "false") else -1
        if r.gt_unans:
            r.gt_index = P.ABSTAIN
        if choices:
            r.letters = {
                L: (1 if c.strip().lower() in ("yes", "true") else 0)
                for L, c in zip("abcdefgh", choices, strict=False)
            }
    else:  # ORDER
        r.gt_unans = P.is_abstention(ans)
        items = P.split_order(ans)
        r.order_items = tuple(items)
        r.order_index = {it: i for i, it in enumerate(items)}
    return r


@dataclass(frozen=True)
class Prepared:
    """Question rows prepared for scoring (reuse it to score many responses per question)."""

    rows: list[_Row]
    kind: np.ndarray
    metric: np.ndarray
    gt_value: np.ndarray
    gt_index: np.ndarray
    gt_unans: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def prepare(questions: Sequence[Question | Mapping[str, Any]] | Prepared) -> Prepared:
    """Prepare question rows once; :func:`score_batch` accepts the result in their place."""
    if isinstance(questions, Prepared):
        return questions
    rows = [_row(q) for q in questions]
    return Prepared(
        rows,
        np.fromiter((r.kind for r in rows), np.int8, len(rows)),
        np.fromiter((r.metric for r in rows), np.int8, len(rows)),
        np.fromiter((r.gt_value for r in rows), np.float64, len(rows)),
        np.fromiter((r.gt_index for r in rows), np.int64, len(rows)),
        np.fromiter((r.gt_unans for r in rows), bool, len(rows)),
    )


# ------------------------------------------------------------------ responses
def response_text(x: Response) -> str:
    """The text of a completion: a string, or the last assistant message of a chat message
    list (``[{"role": "assistant", "content": ...}]``; content may be a string or a list of
    ``{"type": "text", "text": ...}`` parts). None is the empty string."""
    if isinstance(x, str):
        return x
    if x is None:
        return ""
    if isinstance(x, Mapping):
        x = [x]
    if isinstance(x, Sequence):
        msgs = [m for m in x if isinstance(m, Mapping)]
        pick = [m for m in msgs if m.get("role", "assistant") == "assistant"] or msgs
        if not pick:
            return ""
        c = pick[-1].get("content", "")
        if isinstance(c, str):
            return c
        if isinstance(c, Sequence):
            return "".join(
                p.get("text", "") if isinstance(p, Mapping) else str(p)
                for p in c
                if not isinstance(p, Mapping) or p.get("type", "text") == "text"
            )
        return "" if c is None else str(c)
    return str(x)


# ------------------------------------------------------------------ batch scoring
@dataclass(frozen=True)
class ScoreBatch:
    """Scores of a batch, as arrays (``ScoreBatch[i]`` is the :class:`Score` of row i)."""

    reward: np.ndarray
    correct: np.ndarray
    format_ok: np.ndarray
    value: np.ndarray
    exact: np.ndarray  # float: 1 / 0, NaN where not defined
    status: np.ndarray
    source: np.ndarray
    parsed: list[Any]
    metric: list[str]

    def __len__(self) -> int:
        return len(self.reward)

    @property
    def rewards(self) -> list[float]:
        return self.reward.tolist()

    def __getitem__(self, i: int) -> Score:
        st = int(self.status[i])
        value = float(self.value[i])
        p = self.parsed[i]
        if st == P.OK:
            detail = f"parsed {p!r} from {P.SOURCES[int(self.source[i])]}: {self.metric[i]} "
            detail += f"{value:.3f}"
        else:
            detail = P.REASONS[st]
        ex = float(self.exact[i])
        return Score(
            reward=float(self.reward[i]),
            correct=bool(self.correct[i]),
            parsed=p,
            format_ok=bool(self.format_ok[i]),
            detail=detail,
            metric=self.metric[i],
            value=value,
            exact=None if math.isnan(ex) else bool(ex),
            source=P.SOURCES[int(self.source[i])],  # type: ignore[arg-type]
        )

    def scores(self) -> list[Score]:
        return [self[i] for i in range(len(self))]


def score_batch(
    questions: Sequence[Question | Mapping[str, Any]] | Prepared,
    responses: Sequence[Response],
    config: RewardConfig | None = None,
) -> ScoreBatch:
    """Score ``responses[i]`` against ``questions[i]`` (rows or a :func:`prepare` result)."""
    cfg = config or DEFAULT_CONFIG
    prep = prepare(questions)
    n = len(prep)
    if len(responses) != n:
        raise ValueError(f"{n} questions but {len(responses)} responses")
    max_span, require_tags, rtol = cfg.max_span, cfg.require_tags, cfg.agree_rtol
    extract, parse_number, parse_bool, parse_order = (
        P.extract,
        P.parse_number,
        P.parse_bool,
        P.parse_order,
    )
    OK, ABSTAIN, ABSTAIN_TEXT = P.OK, P.ABSTAIN, P.ABSTAIN_TEXT
    status = np.zeros(n, np.int8)
    source = np.zeros(n, np.int8)
    pred = np.full(n, np.nan)
    pidx = np.full(n, -1, np.int64)
    abstain = np.zeros(n, bool)
    parsed: list[Any] = [None] * n
    rows = prep.rows
    for i in range(n):
        text = responses[i]
        if type(text) is not str:
            text = response_text(text)
        span, src, st = extract(text, max_span, require_tags)
        source[i] = src
        if st:
            status[i] = st
            continue
        r = rows[i]
        k = r.kind
        if k == NUMBER or k == COUNT:
            st, v = parse_number(span, r.dim, r.factor, k == COUNT, rtol)
            if st == OK:
                if type(v) is str:
                    abstain[i] = True
                else:
                    pred[i] = v
                parsed[i] = v
        elif k == CHOICE:
            ch = r.choice
            st, v = ch.parse(span)
            if st == OK:
                pidx[i] = v
                parsed[i] = ABSTAIN_TEXT if v == ABSTAIN else ch.texts[v]
        elif k == BOOL:
            st, v = parse_bool(span, r.letters)
            if st == OK:
                pidx[i] = v
                parsed[i] = ABSTAIN_TEXT if v == ABSTAIN else ("yes" if v == 1 else "no")
        else:
            st, v = parse_order(span, r.order_index)
            if st == OK:
                if type(v) is str:
                    abstain[i] = True
                    parsed[i] = v
                else:
                    pred[i] = P.kendall_tau(v)
                    parsed[i] = [r.order_items[j] for j in v]
        status[i] = st
    return _finish(prep, cfg, status, source, pred, pidx, abstain, parsed)


def _finish(
    prep: Prepared,
    cfg: RewardConfig,
    status: np.ndarray,
    source: np.ndarray,
    pred: np.ndarray,
    pidx: np.ndarray,
    abstain: np.ndarray,
    parsed: list[Any],
) -> ScoreBatch:
    """The vectorised half: metric values, exact match, correctness and rewards."""
    kind, gtv = prep.kind, prep.gt_value
    ok = status == P.OK
    numeric = (kind == NUMBER) | (kind == COUNT)
    metric = prep.metric.copy()
    if cfg.count_metric != "row":
        metric[kind == COUNT] = MRA if cfg.count_metric == "mra" else EXACT
    value = np.zeros(len(kind))
    exact = np.full(len(kind), np.nan)

    num = ok & numeric & ~abstain & ~prep.gt_unans
    with np.errstate(invalid="ignore"):
        close = (np.abs(pred - gtv) <= 1e-9 * np.maximum(1.0, np.abs(gtv))).astype(float)
    by_mra = num & (metric == MRA) & (gtv != 0) & np.isfinite(gtv)
    if by_mra.any():
        value[by_mra] = mra(pred[by_mra], gtv[by_mra])
    by_exact = num & ~by_mra
    value[by_exact] = close[by_exact]
    has_exact = by_exact | (num & (kind == COUNT))  # plain numbers by MRA: no exact match
    exact[has_exact] = close[has_exact]
    exact[ok & numeric & prep.gt_unans & ~abstain] = 0.0  # a number for "unanswerable"

    idx = ok & ((kind == CHOICE) | (kind == BOOL))
    value[idx] = pidx[idx] == prep.gt_index[idx]
    exact[idx] = value[idx]

    order = ok & (kind == ORDER) & ~abstain
    tau = pred[order]
    same = (tau >= 1.0 - 1e-12).astype(float)
    exact[order] = same
    value[order] = np.maximum(tau, 0.0) if cfg.order_credit == "kendall" else same

    ab = ok & abstain  # an abstention on a free-answer row: right iff the answer is one
    value[ab] = prep.gt_unans[ab]
    exact[ab] = value[ab]

    b = cfg.format_bonus
    reward = np.where(ok, b + (1.0 - b) * value, 0.0)
    correct = np.where(np.isnan(exact), value >= 1.0, exact == 1.0) & ok
    code = np.where(numeric & (metric == MRA), 1, 0)
    code[kind == ORDER] = 2 if cfg.order_credit == "kendall" else 0
    names = _METRIC_NAMES[code].tolist()
    return ScoreBatch(reward, correct, ok, value, exact, status, source, parsed, names)


def score(
    question: Question | Mapping[str, Any], response: Response, config: RewardConfig | None = None
) -> Score:
    """The :class:`Score` of one response (the same as row 0 of :func:`score_batch`)."""
    return score_batch([question], [response], config)[0]
