"""Scoring: MRA against the published definition, batch == single, rows vs Questions, reward
configuration, and the TRL / verl adapters called with the libraries' call shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import geoenv
from geoenv.oracles import (
    RewardConfig,
    Score,
    compute_score,
    make_trl_reward,
    prepare,
    response_text,
    score,
    score_batch,
    trl_reward,
)
from geoenv.pipelines.rows import question_rows, read_questions, write_questions
from geoenv.tasks import templates
from geoenv.tasks.metrics import mra

NUM = {"answer": "10.00", "answer_type": "number", "answer_value": 10.0, "unit": "m",
       "metric": "mra", "choices": []}  # fmt: skip
CHOICE = {"answer": "cabinet", "answer_type": "choice", "choices": ["sofa", "cabinet", "tv",
          "lamp"], "unit": "", "metric": "exact"}  # fmt: skip
BOOL = {"answer": "no", "answer_type": "bool", "choices": [], "unit": "", "metric": "exact"}
COUNT = {"answer": "3", "answer_type": "count", "answer_value": 3.0, "unit": "count",
         "metric": "mra", "choices": []}  # fmt: skip
ORDER = {"answer": "sofa, table, lamp", "answer_type": "order", "choices": [], "unit": "",
         "metric": "exact"}  # fmt: skip

# VSI-Bench: MRA = 1/10 * sum over theta in {0.50, 0.55, ..., 0.95} of
#   1[|pred - gt| / gt < 1 - theta]
# gt = 10; each row: prediction, relative error, number of bounds (1 - theta) above it.
MRA_CASES = [
    (10.0, 1.0),  # rel 0: all 10
    (9.6, 1.0),  # rel 0.04 < 0.05
    (9.3, 0.9),  # rel 0.07: bounds 0.50 .. 0.10 (9)
    (8.8, 0.8),  # rel 0.12: 0.50 .. 0.15 (8)
    (7.7, 0.6),  # rel 0.23: 0.50 .. 0.25 (6)
    (6.3, 0.3),  # rel 0.37: 0.50, 0.45, 0.40
    (5.2, 0.1),  # rel 0.48: 0.50
    (4.9, 0.0),  # rel 0.51
    (14.4, 0.2),  # rel 0.44: 0.50, 0.45
    (11.1, 0.8),  # rel 0.11: 0.50 .. 0.15 (8)
]


@pytest.mark.parametrize(("pred", "expected"), MRA_CASES)
def test_mra_matches_the_published_definition(pred, expected):
    assert float(mra(pred, 10.0)) == pytest.approx(expected)
    s = score(NUM, f"{pred} m")
    assert s.reward == pytest.approx(expected) and s.value == pytest.approx(expected)
    assert s.correct is (expected == 1.0)  # correct = within 5 % (MRA 1)
    assert s.exact is None and s.metric == "mra"


def test_mra_uses_the_exact_answer_value_not_the_rounded_string():
    row = {**NUM, "answer": "0.41", "answer_value": 0.4125}
    assert score(row, "0.4125").correct
    # Without answer_value the canonical string is the ground truth.
    assert score({k: v for k, v in row.items() if k != "answer_value"}, "0.41").value == 1.0


def test_reward_config():
    bonus = RewardConfig(format_bonus=0.2)
    assert score(CHOICE, "A", bonus).reward == pytest.approx(0.2)  # well formed, wrong
    assert score(CHOICE, "B", bonus).reward == pytest.approx(1.0)
    assert score(CHOICE, "A or B", bonus).reward == 0.0  # not well formed: no bonus
    assert score(NUM, "12.6", bonus).reward == pytest.approx(0.2 + 0.8 * 0.5)  # rel 0.26
    tags = RewardConfig(require_tags=True)
    assert score(CHOICE, "B", tags).format_ok is False
    assert score(CHOICE, "<answer>B</answer>", tags).reward == 1.0
    assert score(CHOICE, "\\boxed{B}", tags).reward == 1.0
    short = RewardConfig(max_span=4)
    assert score(CHOICE, "<answer>the cabinet</answer>", short).format_ok is False
    with pytest.raises(ValueError):
        RewardConfig(format_bonus=1.5)
    with pytest.raises(ValueError):
        RewardConfig(order_credit="spearman")


def _mixed():
    rows = [NUM, CHOICE, BOOL, COUNT, ORDER] * 8
    resp = [
        "10 m", "B", "no", "3", "sofa, table, lamp",
        "<answer>930 cm</answer>", "cabinet or sofa", "yes", "four", "table, sofa, lamp",
        "\\boxed{33 ft}", "(A) sofa", "No wait, yes", "3.5", "sofa -> lamp",
        "", "x\n(B)", "I don't know", "2 or 3", "lamp, table, sofa",
        "nan", "D", "False", "three chairs", "unanswerable",
        "7.7", "the cabinet", "n", "-3", "sofa > table > lamp",
        "1e400 m", "E", "true", "1e1", "sofa, table, lamp, tv",
        None, [{"role": "assistant", "content": "B"}], "No.", "3 (three)", "SOFA,TABLE,LAMP",
    ]  # fmt: skip
    return rows, resp


@pytest.mark.parametrize("config", [None, RewardConfig(format_bonus=0.1, order_credit="kendall")])
def test_batch_equals_single(config):
    rows, resp = _mixed()
    batch = score_batch(rows, resp, config)
    assert len(batch) == len(rows)
    singles = [score(q, r, config) for q, r in zip(rows, resp, strict=True)]
    assert batch.scores() == singles
    assert batch.rewards == [s.reward for s in singles]
    assert all(isinstance(s, Score) for s in singles)
    # A prepared batch scores the same, and can be reused.
    prep = prepare(rows)
    assert score_batch(prep, resp, config).scores() == singles
    assert score_batch(prep, resp, config).scores() == singles
    assert np.all((batch.reward >= 0) & (batch.reward <= 1))


def test_batch_length_mismatch_and_bad_rows():
    with pytest.raises(ValueError, match="2 questions but 1 responses"):
        score_batch([NUM, NUM], ["1"])
    with pytest.raises(ValueError, match="not among the choices"):
        score({**CHOICE, "answer": "chair"}, "B")
    with pytest.raises(ValueError, match="unknown answer_type"):
        score({**NUM, "answer_type": "vector"}, "1")
    with pytest.raises(ValueError, match="no 'answer'"):
        score({"answer_type": "number"}, "1")
    with pytest.raises(TypeError):
        score("10", "10")


@pytest.fixture(scope="module")
def demo_questions():
    scene = geoenv.demo_scene(0)
    # Templates that need no in-view tests (those build slowly on a fresh scene); between
    # them every row shape: count, number in m / cm / m2 / deg, choice.
    names = ["object_count", "object_distance", "object_size", "room_size",
             "camera_displacement", "camera_rotation", "camera_rotation_angle"]  # fmt: skip
    qs = []
    for name in names:
        qs.extend(templates()[name].generate(scene, 0, 3))
    return qs


def _responses(q):
    """A right answer, a near miss and a malformed one, per question."""
    if q.answer_type == "choice":
        letter = "ABCD"[q.choices.index(q.answer)]
        return [f"<answer>{letter}</answer>", f"The {q.answer}.", "A or B"]
    if q.answer_type == "bool":
        return ["Yes", "no", "maybe"]
    return [q.answer, f"{q.answer_value * 1.08:.3f}", "3 or 4"]


def test_question_and_dict_row_score_the_same(demo_questions, tmp_path):
    qs = demo_questions
    kinds = {q.answer_type for q in qs}
    assert {"choice", "number", "count"} <= kinds
    rows = {r["id"]: r for r in question_rows(qs)}  # params / evidence as JSON strings
    assert isinstance(next(iter(rows.values()))["params"], str)
    read = {r["id"]: r for r in read_questions(write_questions(qs, tmp_path / "q.parquet"))}
    for q in qs:
        for resp in _responses(q):
            a = score(q, resp)
            assert a == score(rows[q.id], resp) == score(read[q.id], resp), (q.template, resp)
        right = score(q, _responses(q)[0])
        if q.answer_type != "bool":
            assert right.reward == 1.0 and right.correct, (q.template, right)
        assert score(q, _responses(q)[2]).format_ok is False


def test_response_text():
    assert response_text("x") == "x"
    assert response_text(None) == ""
    assert response_text([{"role": "assistant", "content": "B"}]) == "B"
    msgs = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "text", "text": "<answer>"},
                                          {"type": "text", "text": "B</answer>"}]},
    ]  # fmt: skip
    assert response_text(msgs) == "<answer>B</answer>"
    assert response_text({"role": "assistant", "content": "C"}) == "C"


# ------------------------------------------------------------------ TRL
def test_trl_reward_with_standard_completions(demo_questions):
    qs = demo_questions[:12]
    rows = question_rows(qs)
    cols = {k: [r[k] for r in rows] for k in rows[0]}  # every dataset column, as lists
    prompts = cols.pop("text")
    completions = [f"<think>...</think><answer>{r['answer']}</answer>" for r in rows]
    # GRPOTrainer: reward_func(prompts=..., completions=..., completion_ids=..., **columns)
    out = trl_reward(
        prompts=prompts,
        completions=completions,
        completion_ids=[[1, 2, 3]] * len(rows),
        trainer_state=object(),
        **cols,
    )
    assert isinstance(out, list) and all(type(x) is float for x in out)
    assert out == [1.0] * len(rows)
    assert trl_reward.__name__ == "geoenv_reward"


def test_trl_reward_with_conversational_completions():
    n = 3
    prompts = [[{"role": "user", "content": "Which is nearer?"}]] * n
    completions = [
        [{"role": "assistant", "content": "<answer>B</answer>"}],
        [{"role": "assistant", "content": "The sofa."}],
        [{"role": "assistant", "content": "A. No wait, B"}],
    ]
    out = trl_reward(
        prompts,
        completions,
        answer=["cabinet"] * n,
        answer_type=["choice"] * n,
        choices=[["sofa", "cabinet"]] * n,
        unit=[""] * n,
        metric=["exact"] * n,
        answer_value=[None] * n,
    )
    assert out == [1.0, 0.0, 0.0]
    bonus = make_trl_reward(RewardConfig(format_bonus=0.5), name="geo_fmt")
    assert bonus.__name__ == "geo_fmt"
    assert bonus(prompts, completions, answer=["cabinet"] * n, choices=[["sofa", "cabinet"]] * n) \
        == [1.0, 0.5, 0.0]  # fmt: skip


def test_trl_reward_minimal_and_bad_columns():
    # Only an answer column: the type is inferred from it.
    assert trl_reward(["p"] * 2, ["2 m", "yes"], answer=["2.00", "yes"]) == [1.0, 1.0]
    with pytest.raises(ValueError, match="'answer' column"):
        trl_reward(["p"], ["B"], solution=["B"])
    with pytest.raises(ValueError, match="entries for 2 completions"):
        trl_reward(["p"] * 2, ["B", "C"], answer=["B"])


# ------------------------------------------------------------------ verl
def test_verl_compute_score_call_shapes():
    extra = {
        "answer_type": "choice",
        "choices": np.array(["sofa", "cabinet", "tv"], dtype=object),  # as read from Parquet
        "unit": "",
        "metric": "exact",
        "index": 7,
        "split": "train",
    }
    # verl's reward manager: compute_score(data_source=, solution_str=, ground_truth=, extra_info=)
    r = compute_score(
        data_source="geoenv", solution_str="<answer>B</answer>", ground_truth="cabinet",
        extra_info=extra,
    )  # fmt: skip
    assert r == 1.0 and type(r) is float
    assert compute_score("geoenv", "(c) tv", "cabinet", extra) == 0.0
    num = {"answer_type": "number", "unit": "m", "metric": "mra", "answer_value": 2.0}
    assert compute_score("geoenv", "\\boxed{200 cm}", "2.00", num) == 1.0
    assert compute_score("geoenv", "2.32 m", "2.00", num) == pytest.approx(0.7)
    # No extra_info: the type is inferred from the ground truth.
    assert compute_score("geoenv", "The answer is 2.", "2.00") == 1.0
    assert compute_score("geoenv", "No.", "no") == 1.0
    assert compute_score("geoenv", "the cabinet", "cabinet", None) == 1.0
    assert compute_score(data_source="geoenv", solution_str="sofa", ground_truth="cabinet") == 0.0
    assert compute_score("geoenv", "A", "cabinet") == 0.0  # no choices: letters mean nothing
    # A whole row as ground truth (JSON-decoded from the Parquet column).
    row = json.loads(json.dumps(CHOICE))
    assert compute_score("geoenv", "B", row) == 1.0
    with pytest.raises(ValueError):
        compute_score("geoenv", "B", None)


def test_abstentions_on_unanswerable_rows():
    # An occlusion variant whose answer became "unanswerable" (no answer_value).
    num = {"answer": "unanswerable", "answer_type": "number", "unit": "m", "metric": "mra"}
    s = score(num, "<answer>It cannot be determined.</answer>")
    assert s.reward == 1.0 and s.correct and s.parsed == "unanswerable"
    s = score(num, "2 m")
    assert s.reward == 0.0 and s.format_ok and s.exact is False
    yn = {"answer": "cannot be determined", "answer_type": "bool", "choices": []}
    assert score(yn, "unanswerable").reward == 1.0
    assert score(yn, "yes").reward == 0.0
    # On an answerable row an abstention is well formed but wrong.
    s = score(NUM, "unknown")
    assert s.format_ok and s.reward == 0.0 and not s.correct


def test_zero_ground_truth_falls_back_to_exact_match():
    row = {**NUM, "answer": "0", "answer_value": 0.0}
    assert score(row, "0 m").reward == 1.0
    assert score(row, "0.1 m").reward == 0.0
