"""Response parsing: tables of 100+ response strings per answer type with expected rewards.

MRA values are hand-computed: MRA = (number of theta in {0.50, ..., 0.95} with
rel < 1 - theta) / 10, i.e. the number of bounds 0.50, 0.45, ..., 0.05 above the relative
error ``rel = |pred - gt| / gt``. Values are chosen away from the bounds.
"""

from __future__ import annotations

import time

import pytest

from geoenv.oracles import RewardConfig, score, score_batch
from geoenv.oracles import answer_parse as P

# ------------------------------------------------------------------ rows
NUM_M = {"answer": "2.00", "answer_type": "number", "answer_value": 2.0, "unit": "m",
         "metric": "mra", "choices": []}  # fmt: skip
NUM_CM = {"answer": "158", "answer_type": "number", "answer_value": 158.0, "unit": "cm",
          "metric": "mra", "choices": []}  # fmt: skip
NUM_M2 = {"answer": "33.64", "answer_type": "number", "answer_value": 33.64, "unit": "m2",
          "metric": "mra", "choices": []}  # fmt: skip
NUM_DEG = {"answer": "20", "answer_type": "number", "answer_value": 20.0, "unit": "deg",
           "metric": "mra", "choices": []}  # fmt: skip
COUNT3 = {"answer": "3", "answer_type": "count", "answer_value": 3.0, "unit": "count",
          "metric": "mra", "choices": []}  # fmt: skip
COUNT12 = {**COUNT3, "answer": "12", "answer_value": 12.0}
CHOICE4 = {"answer": "cabinet", "answer_type": "choice", "choices": ["sofa", "cabinet", "tv",
           "lamp"], "unit": "", "metric": "exact"}  # fmt: skip
CHOICE_LR = {"answer": "left", "answer_type": "choice", "choices": ["right", "left"], "unit": "",
             "metric": "exact"}  # fmt: skip
CHOICE_Q = {"answer": "front-left", "answer_type": "choice", "unit": "", "metric": "exact",
            "choices": ["back-right", "front-right", "front-left", "back-left"]}  # fmt: skip
CHOICE_UNANS = {"answer": "cannot be determined", "answer_type": "choice", "unit": "",
                "metric": "exact",
                "choices": ["sofa", "cabinet", "cannot be determined"]}  # fmt: skip
BOOL_YES = {"answer": "yes", "answer_type": "bool", "choices": [], "unit": "", "metric": "exact"}
BOOL_NO = {**BOOL_YES, "answer": "no"}
ORDER = {"answer": "sofa, table, lamp", "answer_type": "order", "choices": [], "unit": "",
         "metric": "exact"}  # fmt: skip

#: Ways a model wraps its answer; the expected reward does not depend on the wrapper.
WRAPPERS = [
    "{}",
    "<answer>{}</answer>",
    "<think>Maybe 7 or 9 m? Or A, C, no, yes.</think>\n<answer>{}</answer>",
    "\\boxed{{{}}}",
    "Let me reason step by step.\nThe objects are far apart.\n{}",
]
WRAPPERS3 = [WRAPPERS[0], WRAPPERS[2], WRAPPERS[4]]


def _table(cases, wrappers):
    return [
        pytest.param(w.format(resp), reward, ok, id=f"w{k}:{resp[:40]!r}")
        for resp, reward, ok in cases
        for k, w in enumerate(wrappers)
    ]


def _check(row, response, reward, ok, config=None):
    s = score(row, response, config)
    assert s.format_ok is ok, (response, s)
    assert s.reward == pytest.approx(reward, abs=1e-12), (response, s)
    assert 0.0 <= s.reward <= 1.0
    if not ok:
        assert s.parsed is None and s.reward == 0.0


# ------------------------------------------------------------------ numbers (gt 2.0 m)
NUMBER_CASES = [
    ("2", 1.0, True),
    ("2.0 m", 1.0, True),
    ("2.00 metres", 1.0, True),
    ("2 meters", 1.0, True),
    ("2m", 1.0, True),
    ("200 cm", 1.0, True),
    ("2000 mm", 1.0, True),
    ("2,000 mm", 1.0, True),
    ("0.002 km", 1.0, True),
    ("78.74 inches", 1.0, True),  # 1.999996 m
    ("6.56 ft", 1.0, True),  # 1.999488 m
    ("6 ft 7 in", 1.0, True),  # 79 in = 2.0066 m
    ("6'7\"", 1.0, True),
    ("2 yards", 0.9, True),  # 1.8288 m: rel 0.0856
    ("2.04", 1.0, True),  # rel 0.02
    ("2.15", 0.9, True),  # rel 0.075: bounds 0.50 .. 0.10
    ("2.32 m", 0.7, True),  # rel 0.16: bounds 0.50 .. 0.20
    ("2.5", 0.5, True),  # rel 0.25 (exact): bounds 0.50 .. 0.30
    ("1.65 m", 0.7, True),  # rel 0.175
    ("1.25", 0.3, True),  # rel 0.375: bounds 0.50, 0.45, 0.40
    ("3 m", 0.0, True),  # rel 0.5
    ("0.5", 0.0, True),
    ("-2", 0.0, True),  # rel 2
    ("1e300", 0.0, True),
    ("99999999999999999999 m", 0.0, True),
    (".2e1 m", 1.0, True),
    ("2.0e0 metres", 1.0, True),
    ("two metres", 1.0, True),
    ("two", 1.0, True),
    ("The distance is about 2.16 m.", 0.9, True),  # rel 0.08
    ("In frame 12, the sofa is 2 m from the tv.", 1.0, True),  # a unit beats a bare number
    ("2 m (200 cm)", 1.0, True),  # agreeing mentions are one answer
    ("roughly 2.0m", 1.0, True),
    ("Answer: 2 m", 1.0, True),
    ("**2 m**", 1.0, True),
    ("$2\\,\\text{m}$", 1.0, True),
    ("2 m, I think", 1.0, True),
    ("2 m or 3 m", 0.0, False),  # several answers
    ("2-3 m", 0.0, False),
    ("2 m. No wait, 3 m", 0.0, False),  # a retraction
    ("2 m²", 0.0, False),  # wrong dimension
    ("45°", 0.0, False),
    ("nan", 0.0, False),
    ("NaN m", 0.0, False),
    ("inf", 0.0, False),
    ("-inf", 0.0, False),
    ("1e400", 0.0, False),  # overflows to inf
    ("9" * 400, 0.0, False),
    ("far away", 0.0, False),
    ("unknown", 0.0, True),  # an abstention: well formed, wrong here
    ("cannot be determined", 0.0, True),
    ("about 2 m, but it cannot be determined", 0.0, False),
]

OTHER_UNIT_CASES = [
    (NUM_CM, "158", 1.0, True),
    (NUM_CM, "1.58 m", 1.0, True),
    (NUM_CM, "1580 mm", 1.0, True),
    (NUM_CM, "5 ft 2 in", 1.0, True),  # 157.48 cm
    (NUM_CM, "160 cm", 1.0, True),  # rel 0.0127
    (NUM_CM, "62.2 inches", 1.0, True),
    (NUM_CM, "1.58 m²", 0.0, False),
    (NUM_M2, "33.64", 1.0, True),
    (NUM_M2, "33.64 m^2", 1.0, True),
    (NUM_M2, "33.64 m2", 1.0, True),
    (NUM_M2, "33.64 sq m", 1.0, True),
    (NUM_M2, "33.64 square metres", 1.0, True),
    (NUM_M2, "362 sq ft", 1.0, True),  # 33.631 m²
    (NUM_M2, "362 ft²", 1.0, True),
    (NUM_M2, "5.8 m x 5.8 m = 33.64 m²", 1.0, True),  # the area mention wins
    (NUM_M2, "5.8 m", 0.0, False),
    (NUM_M2, "40 m²", 0.7, True),  # rel 0.189
    (NUM_DEG, "20°", 1.0, True),
    (NUM_DEG, "20 degrees", 1.0, True),
    (NUM_DEG, "20 deg", 1.0, True),
    (NUM_DEG, "20^\\circ", 1.0, True),
    (NUM_DEG, "0.349 rad", 1.0, True),  # 19.996 deg
    (NUM_DEG, "about 23.2 degrees to the left", 0.7, True),  # rel 0.16: bounds .50 .. .20
    (NUM_DEG, "20 m", 0.0, False),
]


@pytest.mark.parametrize(("response", "reward", "ok"), _table(NUMBER_CASES, WRAPPERS))
def test_number_table(response, reward, ok):
    _check(NUM_M, response, reward, ok)


@pytest.mark.parametrize(("row", "response", "reward", "ok"), OTHER_UNIT_CASES)
def test_number_units(row, response, reward, ok):
    _check(row, response, reward, ok)


def test_number_parsed_value_is_in_row_unit():
    assert score(NUM_CM, "1.58 m").parsed == pytest.approx(158.0)
    assert score(NUM_M, "200 cm").parsed == pytest.approx(2.0)
    assert score(NUM_M2, "362 sq ft").parsed == pytest.approx(362 * 0.09290304)
    assert score(NUM_M, "unknown").parsed == "unanswerable"


# ------------------------------------------------------------------ counts
COUNT_CASES = [
    ("3", 1.0, True),
    ("three", 1.0, True),
    ("Three", 1.0, True),
    ("3 chairs", 1.0, True),
    ("There are 3 chairs.", 1.0, True),
    ("three chairs", 1.0, True),
    ("3.0", 1.0, True),
    ("I count 3", 1.0, True),
    ("3 (three)", 1.0, True),  # digits take precedence over words
    ("4", 0.4, True),  # rel 1/3: bounds .50 .45 .40 .35
    ("2", 0.4, True),
    ("four", 0.4, True),
    ("5", 0.0, True),
    ("30", 0.0, True),
    ("zero", 0.0, True),
    ("0", 0.0, True),
    ("1e1", 0.0, True),
    ("twenty", 0.0, True),
    ("99999999999999999999999", 0.0, True),
    ("3.5", 0.0, False),  # not an integer
    ("-3", 0.0, False),
    ("3 or 4", 0.0, False),
    ("three or four", 0.0, False),
    ("3, no, 4", 0.0, False),
    ("There are 3 chairs in 2 rooms", 0.0, False),
    ("none", 0.0, False),
    ("nan", 0.0, False),
    ("inf", 0.0, False),
    ("1e400", 0.0, False),
    ("many", 0.0, False),
    ("cannot be determined", 0.0, True),
]
COUNT12_CASES = [
    ("12", 1.0, True),
    ("twelve", 1.0, True),
    ("13", 0.9, True),  # rel 1/12
    ("11", 0.9, True),
    ("10", 0.7, True),  # rel 1/6
    ("twenty-one", 0.0, True),
    ("a dozen or so, 12", 1.0, True),
]


@pytest.mark.parametrize(("response", "reward", "ok"), _table(COUNT_CASES, WRAPPERS3))
def test_count_table(response, reward, ok):
    _check(COUNT3, response, reward, ok)


@pytest.mark.parametrize(("response", "reward", "ok"), _table(COUNT12_CASES, WRAPPERS3))
def test_count12_table(response, reward, ok):
    _check(COUNT12, response, reward, ok)


def test_count_reports_exact_as_well_as_mra():
    s = score(COUNT3, "4")
    assert s.metric == "mra" and s.exact is False and s.correct is False and s.parsed == 4
    s = score(COUNT3, "three")
    assert s.exact is True and s.correct is True and s.parsed == 3
    s = score(COUNT3, "4", RewardConfig(count_metric="exact"))
    assert s.reward == 0.0 and s.metric == "exact"


# ------------------------------------------------------------------ choices
CHOICE_CASES = [
    ("B", 1.0, True),
    ("b", 1.0, True),
    ("(B)", 1.0, True),
    ("B.", 1.0, True),
    ("B)", 1.0, True),
    ("[B]", 1.0, True),
    ("Option B", 1.0, True),
    ("option (b)", 1.0, True),
    ("choice B", 1.0, True),
    ("B. cabinet", 1.0, True),
    ("(B) cabinet", 1.0, True),
    ("B) cabinet", 1.0, True),
    ("B: cabinet", 1.0, True),
    ("cabinet", 1.0, True),
    ("Cabinet", 1.0, True),
    ("CABINET", 1.0, True),
    ("the cabinet", 1.0, True),
    ("The cabinet.", 1.0, True),
    ("**B**", 1.0, True),
    ("It is the cabinet.", 1.0, True),
    ("The answer is B", 1.0, True),
    ("The answer is (B) cabinet", 1.0, True),
    ("I choose B", 1.0, True),
    ("B is correct", 1.0, True),
    ("A sofa is near, but the answer is B", 1.0, True),  # the text after the lead-in
    ("A", 0.0, True),
    ("C", 0.0, True),
    ("D", 0.0, True),
    ("sofa", 0.0, True),
    ("tv", 0.0, True),
    ("TV", 0.0, True),
    ("the lamp", 0.0, True),
    ("(A) sofa", 0.0, True),
    ("A is correct", 0.0, True),  # "A" followed by a verb is a letter
    ("A sofa", 0.0, True),  # "A" followed by a noun is the article
    ("B or C", 0.0, False),
    ("A. No wait, B", 0.0, False),  # a retraction
    ("sofa or cabinet", 0.0, False),
    ("The cabinet is nearer than the sofa", 0.0, False),
    ("B. sofa", 0.0, False),  # letter and text disagree
    ("E", 0.0, False),
    ("(E)", 0.0, False),
    ("none of them", 0.0, False),
    ("I am not sure", 0.0, False),
    ("cannot be determined", 0.0, True),  # an abstention, not among the choices
]
CHOICE_OTHER = [
    (CHOICE_LR, "left", 1.0, True),
    (CHOICE_LR, "B", 1.0, True),
    (CHOICE_LR, "Left.", 1.0, True),
    (CHOICE_LR, "to the left", 1.0, True),
    (CHOICE_LR, "It is on the left side", 1.0, True),
    (CHOICE_LR, "A", 0.0, True),
    (CHOICE_LR, "right", 0.0, True),
    (CHOICE_LR, "left or right", 0.0, False),
    (CHOICE_LR, "Right, it's on the left", 0.0, False),
    (CHOICE_Q, "front-left", 1.0, True),
    (CHOICE_Q, "front left", 1.0, True),
    (CHOICE_Q, "Front-Left", 1.0, True),
    (CHOICE_Q, "front_left", 1.0, True),
    (CHOICE_Q, "C", 1.0, True),
    (CHOICE_Q, "C. front-left", 1.0, True),
    (CHOICE_Q, "front-right", 0.0, True),
    (CHOICE_Q, "left", 0.0, False),
    (CHOICE_Q, "front-left or back-left", 0.0, False),
    (CHOICE_UNANS, "C", 1.0, True),
    (CHOICE_UNANS, "cannot be determined", 1.0, True),
    (CHOICE_UNANS, "It can't be determined.", 1.0, True),
    (CHOICE_UNANS, "unanswerable", 1.0, True),
    (CHOICE_UNANS, "Not enough information", 1.0, True),
    (CHOICE_UNANS, "sofa", 0.0, True),
    (CHOICE_UNANS, "A", 0.0, True),
    (CHOICE_UNANS, "sofa, or it cannot be determined", 0.0, False),
]


@pytest.mark.parametrize(("response", "reward", "ok"), _table(CHOICE_CASES, WRAPPERS3))
def test_choice_table(response, reward, ok):
    _check(CHOICE4, response, reward, ok)


@pytest.mark.parametrize(("row", "response", "reward", "ok"), CHOICE_OTHER)
def test_choice_other_rows(row, response, reward, ok):
    _check(row, response, reward, ok)


def test_choice_parsed_is_the_choice_text():
    assert score(CHOICE4, "(b)").parsed == "cabinet"
    assert score(CHOICE_Q, "front left").parsed == "front-left"
    assert score(CHOICE_UNANS, "unanswerable").parsed == "cannot be determined"
    assert score(CHOICE4, "cannot be determined").parsed == "unanswerable"


# ------------------------------------------------------------------ yes / no
BOOL_CASES = [  # (response, reward when the answer is yes, format ok)
    ("yes", 1.0, True),
    ("Yes", 1.0, True),
    ("YES", 1.0, True),
    ("yes.", 1.0, True),
    ("Yes, it is.", 1.0, True),
    ("y", 1.0, True),
    ("true", 1.0, True),
    ("True", 1.0, True),
    ("**Yes**", 1.0, True),
    ("Answer: yes", 1.0, True),
    ("Yes! The sofa is higher.", 1.0, True),
    ("Definitely yes", 1.0, True),
    ("no", 0.0, True),
    ("No.", 0.0, True),
    ("No, it is not.", 0.0, True),
    ("false", 0.0, True),
    ("n", 0.0, True),
    ("The answer is no", 0.0, True),
    ("no wait, yes", 0.0, False),
    ("yes or no", 0.0, False),
    ("Yes and no", 0.0, False),
    ("maybe", 0.0, False),
    ("yep", 0.0, False),
    ("I don't know", 0.0, True),
    ("cannot be determined", 0.0, True),
]


def _flip(cases):
    out = []
    for resp, reward, ok in cases:
        abstain = "know" in resp or "determined" in resp
        out.append((resp, 1.0 - reward if ok and not abstain else 0.0, ok))
    return out


@pytest.mark.parametrize(("response", "reward", "ok"), _table(BOOL_CASES, WRAPPERS3))
def test_bool_yes_table(response, reward, ok):
    _check(BOOL_YES, response, reward, ok)


@pytest.mark.parametrize(("response", "reward", "ok"), _table(_flip(BOOL_CASES), WRAPPERS3))
def test_bool_no_table(response, reward, ok):
    _check(BOOL_NO, response, reward, ok)


def test_bool_with_lettered_choices():
    row = {**BOOL_YES, "choices": ["yes", "no"]}
    assert score(row, "A").reward == 1.0
    assert score(row, "(b)").reward == 0.0 and score(row, "(b)").format_ok


# ------------------------------------------------------------------ orderings
ORDER_CASES = [  # (response, exact reward, kendall reward, format ok)
    ("sofa, table, lamp", 1.0, 1.0, True),
    ("Sofa, Table, Lamp", 1.0, 1.0, True),
    ("sofa,table,lamp", 1.0, 1.0, True),
    ("sofa -> table -> lamp", 1.0, 1.0, True),
    ("sofa → table → lamp", 1.0, 1.0, True),
    ("sofa > table > lamp", 1.0, 1.0, True),
    ("sofa => table => lamp", 1.0, 1.0, True),
    ("the sofa, then the table, then the lamp", 1.0, 1.0, True),
    ("sofa, table and lamp", 1.0, 1.0, True),
    ("sofa; table; lamp", 1.0, 1.0, True),
    ("First the sofa, then the table, and finally the lamp", 1.0, 1.0, True),
    ("1. sofa, 2. table, 3. lamp", 1.0, 1.0, True),
    ("table, sofa, lamp", 0.0, 1 / 3, True),  # one swap: tau = 1 - 4 * 1 / 6
    ("sofa, lamp, table", 0.0, 1 / 3, True),
    ("table, lamp, sofa", 0.0, 0.0, True),  # tau = -1/3
    ("lamp, sofa, table", 0.0, 0.0, True),
    ("lamp, table, sofa", 0.0, 0.0, True),  # reversed: tau = -1
    ("lamp -> table -> sofa", 0.0, 0.0, True),
    ("sofa, table", 0.0, 0.0, False),
    ("sofa, table, lamp, tv", 0.0, 0.0, False),
    ("sofa, sofa, lamp", 0.0, 0.0, False),
    ("sofa, chair, lamp", 0.0, 0.0, False),
    ("sofa", 0.0, 0.0, False),
    ("first the sofa", 0.0, 0.0, False),
    ("cannot be determined", 0.0, 0.0, True),
    ("sofa -> table -> lamp. No wait: lamp -> table -> sofa", 0.0, 0.0, False),
    ("table > sofa > lamp", 0.0, 1 / 3, True),
]
KENDALL = RewardConfig(order_credit="kendall")


@pytest.mark.parametrize(
    ("response", "exact", "kendall", "ok"),
    [
        pytest.param(w.format(r), e, k, ok, id=f"w{j}:{r[:40]!r}")
        for r, e, k, ok in ORDER_CASES
        for j, w in enumerate([WRAPPERS[0], WRAPPERS[1], WRAPPERS[3], WRAPPERS[4]])
    ],
)
def test_order_table(response, exact, kendall, ok):
    _check(ORDER, response, exact, ok)
    _check(ORDER, response, kendall, ok, KENDALL)


def test_kendall_tau():
    assert P.kendall_tau([0, 1, 2, 3]) == 1.0
    assert P.kendall_tau([3, 2, 1, 0]) == -1.0
    assert P.kendall_tau([1, 0, 2, 3]) == pytest.approx(1 - 4 * 1 / 12)
    assert P.kendall_tau([0]) == 1.0


# ------------------------------------------------------------------ extraction and adversarial
def test_extraction_precedence():
    assert P.extract("x\n<answer> B </answer>\nC")[:2] == ("B", P.SRC_TAG)
    assert P.extract("<answer>A</answer> then <answer>B</answer>")[0] == "B"  # the last pair
    assert P.extract("<ANSWER>B</Answer>")[0] == "B"
    assert P.extract("<answer>A</answer> <Answer>B</ANSWER>")[0] == "B"
    assert P.extract("<answer >A</ answer>")[0] == "A"
    assert P.extract("\\boxed{A} and \\boxed{\\text{B}}")[:2] == ("B", P.SRC_BOXED)
    assert P.extract("\\boxed{\\frac{1}{2}}")[0] == "\\frac{1}{2}"
    assert P.extract("<answer>C</answer> \\boxed{B}")[0] == "C"  # tags before boxed
    assert P.extract("reasoning\nmore\n\nfinal: B\n\n")[:2] == ("final: B", P.SRC_LINE)
    assert P.extract("B", require_tags=True)[2] == P.NO_TAGS
    assert P.extract("<answer></answer>")[2] == P.EMPTY


ADVERSARIAL = [  # (row, response, reward, format ok)
    (NUM_M, "", 0.0, False),
    (NUM_M, "   \n\n  ", 0.0, False),
    (CHOICE4, "", 0.0, False),
    (NUM_M, "a" * 1_000_000, 0.0, False),
    (NUM_M, "x" * 1_000_000 + "<answer>2 m</answer>", 1.0, True),
    (NUM_M, "<answer>2 m</answer>" + "y" * 1_000_000, 1.0, True),
    (NUM_M, "2 m " * 250_000, 1.0, True),  # one answer repeated: its last 1000 characters agree
    (NUM_M, "2 m 3 m " * 125_000, 0.0, False),
    (NUM_M, "<answer>" * 100_000, 0.0, False),
    (NUM_M, "</answer>" * 100_000, 0.0, False),
    (NUM_M, "<answer>" + "2 " * 600 + "</answer>", 0.0, False),  # span too long
    (NUM_M, "\\boxed{" + "1" * 2000, 0.0, False),
    (NUM_M, "\\boxed{" * 100_000, 0.0, False),
    (NUM_M, "{" * 1_000_000, 0.0, False),
    (NUM_M, "1" * 100_000, 0.0, False),  # overflows
    (NUM_M, "\n" * 1_000_000 + "2", 1.0, True),
    (NUM_M, "<answer>3 m</answer> ... <answer>2 m</answer>", 1.0, True),
    (NUM_M, "<answer>2 m</answer> Actually no, 3 m.", 1.0, True),  # the tag is authoritative
    (NUM_M, "</answer>2 m<answer>", 1.0, True),
    (NUM_M, "\\boxed{\\boxed{2}}", 1.0, True),
    (CHOICE4, "A B C D " * 100_000, 0.0, False),
    (CHOICE4, "<answer>B</answer>" * 50_000, 1.0, True),
    (CHOICE4, "(" * 1_000_000, 0.0, False),
    (BOOL_YES, "yes no " * 100_000, 0.0, False),
    (ORDER, "sofa, " * 200_000, 0.0, False),
    (COUNT3, "\x00\x01\x02 3 \ufffd", 1.0, True),
    (NUM_M, None, 0.0, False),
]


@pytest.mark.parametrize(("row", "response", "reward", "ok"), ADVERSARIAL)
def test_adversarial(row, response, reward, ok):
    t0 = time.perf_counter()
    _check(row, response, reward, ok)
    assert time.perf_counter() - t0 < 0.5, "bounded time"


def test_adversarial_batch_is_bounded():
    rows = [r for r, *_ in ADVERSARIAL]
    resp = [x for _, x, *_ in ADVERSARIAL]
    t0 = time.perf_counter()
    b = score_batch(rows, resp)
    assert time.perf_counter() - t0 < 2.0
    assert b.reward.tolist() == [r for _, _, r, _ in ADVERSARIAL]
