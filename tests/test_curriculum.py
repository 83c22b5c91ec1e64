"""The task-adaptive curriculum: EMA accuracy, sampling toward failing templates with a floor,
determinism for a seed, JSON state round trip."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from geoenv.oracles import Curriculum
from geoenv.tasks import templates

NAMES = ["a", "b", "c", "d"]


def test_defaults_to_every_registered_template():
    c = Curriculum()
    assert c.names == list(templates())
    assert sum(c.probabilities().values()) == pytest.approx(1.0)


def test_ema_by_hand():
    c = Curriculum(NAMES, alpha=0.5, prior=0.5)
    c.update("a", 1.0)  # 0.5 * 0.5 + 0.5 * 1
    assert c.accuracy[0] == pytest.approx(0.75)
    c.update(["a", "b", "a"], [0.0, 1.0, 1.0])  # a: 0.75 -> 0.375 -> 0.6875; b: 0.75
    assert c.accuracy.tolist() == pytest.approx([0.6875, 0.75, 0.5, 0.5])
    assert c.count.tolist() == [3, 1, 0, 0]


def test_vectorised_update_equals_sequential_updates():
    rng = np.random.default_rng(3)
    names = [NAMES[i] for i in rng.integers(0, 4, 200)]
    rewards = rng.random(200)
    batch = Curriculum(NAMES, alpha=0.13)
    batch.update(names, rewards)
    seq = Curriculum(NAMES, alpha=0.13)
    for t, r in zip(names, rewards, strict=True):
        seq.update(t, float(r))
    assert batch.accuracy == pytest.approx(seq.accuracy, abs=1e-12)
    assert batch.count.tolist() == seq.count.tolist()


def test_probabilities_by_hand():
    c = Curriculum(NAMES, floor=0.2, prior=0.5)
    assert c.probabilities() == pytest.approx(dict.fromkeys(NAMES, 0.25))
    c.accuracy = np.array([1.0, 0.5, 0.5, 0.0])  # weights (1 - acc): 0, 0.5, 0.5, 1 (sum 2)
    p = c.probabilities()
    assert p["a"] == pytest.approx(0.2 / 4)  # the floor: never starves
    assert p["b"] == pytest.approx(0.05 + 0.8 * 0.25)
    assert p["d"] == pytest.approx(0.05 + 0.8 * 0.5)
    c.accuracy = np.ones(4)  # every template solved: uniform
    assert c.probabilities() == pytest.approx(dict.fromkeys(NAMES, 0.25))


def test_sampling_shifts_toward_a_failing_template():
    c = Curriculum(NAMES, seed=7, alpha=0.2)
    before = Counter(c.sample(4000))
    assert all(900 < before[t] < 1100 for t in NAMES)  # uniform at the start
    for _ in range(50):  # "c" keeps failing, the others succeed
        drawn = c.sample(16)
        c.update([*drawn, "c"], [*(0.0 if t == "c" else 1.0 for t in drawn), 0.0])
    after = Counter(c.sample(4000))
    assert after["c"] > 0.8 * 4000
    assert all(after[t] > 0 for t in NAMES)  # the floor keeps the others alive
    assert c.probabilities()["c"] == pytest.approx(0.05 + 0.8 * 1.0, abs=0.02)
    # ...and moves back once it is learned.
    c.update(["c"] * 60, [1.0] * 60)
    assert c.probabilities()["c"] < 0.5


def test_deterministic_for_a_seed_and_json_round_trip(tmp_path):
    def run(c):
        out = []
        for _ in range(20):
            t = c.sample(3)
            c.update(t, [0.3 if x == "b" else 0.9 for x in t])
            out += t
        return out

    a, b = Curriculum(NAMES, seed=5), Curriculum(NAMES, seed=5)
    assert run(a) == run(b)
    assert run(Curriculum(NAMES, seed=6)) != run(Curriculum(NAMES, seed=5))
    # Saved mid-run, a reloaded curriculum continues the same sequence.
    saved = Curriculum.from_json(a.to_json())
    assert saved.to_dict() == a.to_dict()
    assert saved.sample(50) == a.sample(50)
    path = a.save(tmp_path / "cur.json")
    assert Curriculum.load(path).stats() == a.stats()


def test_rejects_bad_input():
    c = Curriculum(NAMES)
    with pytest.raises(ValueError, match="unknown template"):
        c.update("z", 1.0)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        c.update("a", 1.5)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        c.update("a", float("nan"))
    with pytest.raises(ValueError, match="2 templates but 1 rewards"):
        c.update(["a", "b"], [1.0])
    with pytest.raises(ValueError):
        Curriculum(["a", "a"])
    with pytest.raises(ValueError):
        Curriculum(NAMES, alpha=0.0)
    d = c.to_dict()
    d["version"] = 99
    with pytest.raises(ValueError, match="version"):
        Curriculum.from_dict(d)
