"""Oracles: score model answers against exact geometric ground truth (RL rewards), answer and
validate questions on a scene, and schedule training on the weakest templates.

- :func:`score` / :func:`score_batch`: rewards in [0, 1] from a question row and a response
  (:mod:`geoenv.oracles.answer_parse` reads the answer, :mod:`geoenv.oracles.score` scores it);
- :func:`trl_reward` / :func:`compute_score`: drop-in reward functions for TRL and verl;
- :class:`Oracle`: exact answers (or typed rejections) for caller-supplied parameters;
- :func:`parse` / :func:`answer_parsed`: a question text read back into template + parameters
  by the templates' own grammars (no model), and answered exactly;
- :class:`Curriculum`: accuracy-weighted template sampling;
- :func:`create_app` / :class:`Client`: the question-validation service over HTTP and its
  client (template and program proposals, :mod:`geoenv.oracles.program`).

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
from geoenv.oracles.program import ProgramAnswer, ProgramError
from geoenv.oracles.proposals import ProgramProposal, TemplateProposal, Validator
from geoenv.oracles.question_parse import (
    ParsedAnswer,
    ParsedQuestion,
    Unparsed,
    answer_parsed,
    parse,
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
    "Client",
    "Curriculum",
    "IllPosedError",
    "InvalidParameterError",
    "MissingParameterError",
    "Oracle",
    "OracleAnswer",
    "OracleError",
    "ParsedAnswer",
    "ParsedQuestion",
    "Prepared",
    "ProgramAnswer",
    "ProgramError",
    "ProgramProposal",
    "Rejection",
    "RewardConfig",
    "Score",
    "ScoreBatch",
    "ServiceError",
    "TemplateProposal",
    "UnknownParameterError",
    "UnknownReferentError",
    "UnknownTemplateError",
    "Unparsed",
    "Validator",
    "answer_parsed",
    "compute_score",
    "create_app",
    "make_trl_reward",
    "make_verl_compute_score",
    "parse",
    "prepare",
    "response_text",
    "score",
    "score_batch",
    "trl_reward",
]

#: Exports imported on first use (httpx and FastAPI cost ~0.5 s to import; reward functions
#: do not need them).
_LAZY = {
    "Client": "geoenv.oracles.client",
    "ServiceError": "geoenv.oracles.client",
    "create_app": "geoenv.oracles.service",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'geoenv.oracles' has no attribute {name!r}")
