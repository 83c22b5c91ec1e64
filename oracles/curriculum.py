"""Task-adaptive curriculum: sample templates where the model is weakest.

Per-template accuracy is an exponential moving average of reported rewards (in [0, 1]):
``acc <- (1 - alpha) * acc + alpha * reward``, starting at ``prior``. The next template is
drawn with probability

    p_t = floor / K + (1 - floor) * w_t / sum(w),   w_t = (1 - acc_t) ** power

over the K templates (uniform when every w is 0), so probability rises as accuracy falls
(the task-adaptive scheduler of SpatialEvo), and every template keeps at least ``floor / K``:
nothing starves. Draws come from a generator seeded by ``seed`` whose state is saved with the
rest, so a saved and reloaded curriculum continues the same sequence.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

STATE_VERSION = 1


class Curriculum:
    """Per-template rolling accuracy and accuracy-weighted template sampling.

    ``templates``: names (default: every registered template, in registry order).
    ``alpha``: EMA weight of a new reward (0 < alpha <= 1; 0.1 ~ the last 10-20 rewards).
    ``floor``: share of the probability spread uniformly (0..1). ``prior``: starting accuracy.
    ``power``: sharpness of the weighting (1 = proportional to the error rate).
    """

    def __init__(
        self,
        templates: Sequence[str] | None = None,
        *,
        seed: int = 0,
        alpha: float = 0.1,
        floor: float = 0.2,
        prior: float = 0.5,
        power: float = 1.0,
    ) -> None:
        if templates is None:
            from geoenv.tasks.registry import templates as registered

            templates = list(registered())
        names = [str(t) for t in templates]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"templates must be distinct and non-empty, got {names}")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        if not 0.0 <= floor <= 1.0:
            raise ValueError(f"floor must be in [0, 1], got {floor}")
        if not 0.0 <= prior <= 1.0:
            raise ValueError(f"prior must be in [0, 1], got {prior}")
        if not power > 0.0:
            raise ValueError(f"power must be > 0, got {power}")
        self.names = names
        self._index = {t: i for i, t in enumerate(names)}
        self.seed, self.alpha, self.floor, self.prior, self.power = (
            int(seed),
            float(alpha),
            float(floor),
            float(prior),
            float(power),
        )
        self.accuracy = np.full(len(names), self.prior)
        self.count = np.zeros(len(names), np.int64)
        self._rng = np.random.default_rng(self.seed)

    # ------------------------------------------------------------------ updates
    def update(self, template: str | Sequence[str], reward: float | Sequence[float]) -> None:
        """Report rewards (in [0, 1]) for templates, in the order they were obtained: one
        ``(name, reward)`` or two equal-length sequences (vectorised exact EMA)."""
        names = [template] if isinstance(template, str) else list(template)
        r = np.atleast_1d(np.asarray(reward, dtype=np.float64))
        if len(names) != len(r):
            raise ValueError(f"{len(names)} templates but {len(r)} rewards")
        if not np.all(np.isfinite(r)) or np.any((r < 0) | (r > 1)):
            raise ValueError("rewards must be finite and in [0, 1]")
        try:
            idx = np.fromiter((self._index[t] for t in names), np.int64, len(names))
        except KeyError as e:
            raise ValueError(f"unknown template {e.args[0]!r}; known: {self.names}") from None
        k, a = len(self.names), self.alpha
        m = np.bincount(idx, minlength=k)
        order = np.argsort(idx, kind="stable")
        rank = np.empty(len(idx), np.int64)
        rank[order] = np.arange(len(idx)) - (np.cumsum(m) - m)[idx[order]]
        # The m-th last reward of a template carries weight alpha * (1 - alpha)^(m - 1 - rank).
        w = a * (1.0 - a) ** (m[idx] - 1 - rank)
        self.accuracy = (1.0 - a) ** m * self.accuracy + np.bincount(
            idx, weights=w * r, minlength=k
        )
        self.count += m

    # ------------------------------------------------------------------ sampling
    def _probs(self) -> np.ndarray:
        w = np.clip(1.0 - self.accuracy, 0.0, 1.0) ** self.power
        k = len(self.names)
        share = w / w.sum() if w.sum() > 0 else np.full(k, 1.0 / k)
        p = self.floor / k + (1.0 - self.floor) * share
        return p / p.sum()

    def probabilities(self) -> dict[str, float]:
        """Current sampling probability of each template."""
        return dict(zip(self.names, self._probs().tolist(), strict=True))

    def sample(self, n: int) -> list[str]:
        """``n`` template names drawn (with replacement) from :meth:`probabilities`."""
        idx = self._rng.choice(len(self.names), size=int(n), p=self._probs())
        return [self.names[i] for i in idx.tolist()]

    def next(self) -> str:
        """One template name."""
        return self.sample(1)[0]

    def stats(self) -> dict[str, dict[str, float]]:
        """Accuracy, reports seen and sampling probability per template."""
        p = self._probs()
        return {
            t: {"accuracy": float(self.accuracy[i]), "count": int(self.count[i]), "p": float(p[i])}
            for i, t in enumerate(self.names)
        }

    # ------------------------------------------------------------------ state
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to resume: settings, accuracies, counts, generator state."""
        return {
            "version": STATE_VERSION,
            "templates": list(self.names),
            "seed": self.seed,
            "alpha": self.alpha,
            "floor": self.floor,
            "prior": self.prior,
            "power": self.power,
            "accuracy": self.accuracy.tolist(),
            "count": self.count.tolist(),
            "rng": self._rng.bit_generator.state,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Curriculum:
        if d.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported curriculum state version {d.get('version')!r}")
        c = cls(
            d["templates"],
            seed=d["seed"],
            alpha=d["alpha"],
            floor=d["floor"],
            prior=d["prior"],
            power=d["power"],
        )
        acc = np.asarray(d["accuracy"], dtype=np.float64)
        cnt = np.asarray(d["count"], dtype=np.int64)
        if acc.shape != (len(c.names),) or cnt.shape != (len(c.names),):
            raise ValueError("accuracy / count do not match the templates")
        if not np.all(np.isfinite(acc)) or np.any((acc < 0) | (acc > 1)) or np.any(cnt < 0):
            raise ValueError("accuracy must be in [0, 1] and counts >= 0")
        c.accuracy, c.count = acc, cnt
        c._rng.bit_generator.state = d["rng"]
        return c

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Curriculum:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> Curriculum:
        return cls.from_json(Path(path).read_text())
