"""Drop-in reward functions for RL trainers: TRL ``GRPOTrainer`` and verl.

Neither library is imported: the adapters only follow their call shapes.

TRL calls each reward function as ``f(prompts=..., completions=..., completion_ids=...,
trainer_state=..., **columns)`` where every other dataset column arrives as a list with one
entry per completion (``answer=[...]``, ``choices=[...]``, ...). Completions are strings, or
chat message lists (``[{"role": "assistant", "content": "..."}]``) for conversational data.

verl's reward manager calls ``compute_score(data_source=..., solution_str=...,
ground_truth=..., extra_info=...)`` once per sample; ``ground_truth`` is the canonical answer
string (``reward_model.ground_truth`` of the row) and ``extra_info`` the row's extra dict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from geoenv.oracles.score import RewardConfig, prepare, score, score_batch

#: Row fields the scorer reads (everything else passed by a trainer is ignored).
ROW_FIELDS = ("answer", "answer_type", "choices", "unit", "metric", "answer_value", "tolerance")


def _rows_from_columns(n: int, columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "answer" not in columns:
        raise ValueError(
            "geoenv reward: the dataset needs an 'answer' column (and 'answer_type', 'choices', "
            f"'unit', 'metric', 'answer_value' for full parsing); got {sorted(columns)}"
        )
    cols = {}
    for k in ROW_FIELDS:
        v = columns.get(k)
        if v is None:
            continue
        if isinstance(v, str | bytes | Mapping) or not hasattr(v, "__getitem__"):
            raise ValueError(f"geoenv reward: column {k!r} must be a list (one per completion)")
        if len(v) != n:
            raise ValueError(
                f"geoenv reward: column {k!r} has {len(v)} entries for {n} completions"
            )
        cols[k] = v
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def make_trl_reward(
    config: RewardConfig | None = None, name: str = "geoenv_reward"
) -> Callable[..., list[float]]:
    """A TRL ``GRPOTrainer`` reward function ``(prompts, completions, **columns) ->
    list[float]`` scoring with ``config``; TRL logs it under ``name``.

    Needs the dataset column ``answer``; ``answer_type``, ``choices``, ``unit``, ``metric`` and
    ``answer_value`` (all in geoenv question rows) make parsing exact, and are inferred from
    the answer when absent (see :func:`geoenv.oracles.score.infer_answer_type`).
    """

    def reward(prompts: Any = None, completions: Any = None, **kwargs: Any) -> list[float]:
        if completions is None:
            raise ValueError("geoenv reward: no completions given")
        rows = _rows_from_columns(len(completions), kwargs)
        return score_batch(prepare(rows), list(completions), config).rewards

    reward.__name__ = reward.__qualname__ = name
    return reward


#: The TRL reward function with the default :class:`RewardConfig`.
trl_reward = make_trl_reward()


def _verl_row(ground_truth: Any, extra_info: Mapping[str, Any] | None) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if isinstance(extra_info, Mapping):
        row.update({k: extra_info[k] for k in ROW_FIELDS if extra_info.get(k) is not None})
    if isinstance(ground_truth, Mapping):
        row.update({k: ground_truth[k] for k in ROW_FIELDS if ground_truth.get(k) is not None})
    else:
        row["answer"] = str(ground_truth)
    return row


def make_verl_compute_score(config: RewardConfig | None = None) -> Callable[..., float]:
    """A verl ``compute_score(data_source, solution_str, ground_truth, extra_info=None)``.

    ``ground_truth``: the canonical answer string (or a whole question row as a dict).
    ``extra_info``: the row's fields ``answer_type``, ``choices``, ``unit``, ``metric``,
    ``answer_value`` (recommended: without them the type is inferred from the answer, choice
    letters cannot be mapped and a bare number is taken in the answer's unit). The score is
    the reward in [0, 1] (a float, as verl's reward managers expect).
    """

    def compute_score(
        data_source: Any = None,
        solution_str: Any = None,
        ground_truth: Any = None,
        extra_info: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> float:
        if ground_truth is None:
            raise ValueError("geoenv compute_score: ground_truth is required")
        return score(_verl_row(ground_truth, extra_info), solution_str, config).reward

    return compute_score


#: verl ``compute_score`` with the default :class:`RewardConfig`.
compute_score = make_verl_compute_score()
