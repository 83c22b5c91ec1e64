"""Oracles: score model answers against exact geometric ground truth (RL rewards), answer and
validate questions on a scene, and schedule training on the weakest templates.

- :func:`score` / :func:`score_batch`: rewards in [0, 1] from a question row and a response
  (:mod:`geoenv.oracles.parse` reads the answer, :mod:`geoenv.oracles.score` scores it);
- :func:`trl_reward` / :func:`compute_score`: drop-in reward functions for TRL and verl;
- :class:`Oracle`: exact answers (or typed rejections) for caller-supplied parameters;
- :class:`Curriculum`: accuracy-weighted template sampling.

See docs/oracle.md.
"""

from geoenv.oracles.adapters import (
    compute_score,
    make_trl_reward,
    make_verl_compute_score,
    trl_reward,
)
from geoenv.oracles.curriculum import Curriculum
from geoenv.oracles.live import (
    ALIASES,
    AmbiguousReferentError,
    IllPosedError,
    InvalidParameterError,
    MissingParameterError,
    Oracle,
    OracleAnswer,
    OracleError,
    Rejection,
    UnknownParameterError,
    UnknownReferentError,
    UnknownTemplateError,
)
from geoenv.oracles.score import (
    Prepared,
    RewardConfig,
    Score,
    ScoreBatch,
    prepare,
    response_text,
    score,
    score_batch,
)

__all__ = [
    "ALIASES",
    "AmbiguousReferentError",
    "Curriculum",
    "IllPosedError",
    "InvalidParameterError",
    "MissingParameterError",
    "Oracle",
    "OracleAnswer",
    "OracleError",
    "Prepared",
    "Rejection",
    "RewardConfig",
    "Score",
    "ScoreBatch",
    "UnknownParameterError",
    "UnknownReferentError",
    "UnknownTemplateError",
    "compute_score",
    "make_trl_reward",
    "make_verl_compute_score",
    "prepare",
    "response_text",
    "score",
    "score_batch",
    "trl_reward",
]
