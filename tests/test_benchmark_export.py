"""Benchmark categories per question, the category columns of rows and the dataset card, and
the VSI-Bench-shaped export (`geoenv generate --like vsi-bench`) scored by a re-implementation
of VSI-Bench's published metric."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import geoenv
from geoenv.cli import app
from geoenv.pipelines.rows import BENCHMARK_COLUMNS, QUESTION_SCHEMA, questions_table
from geoenv.pipelines.vsi_export import (
    VSI_BENCH_SCHEMA,
    VSI_MC_TYPES,
    VSI_NUMERIC_UNITS,
    VsiExportError,
    appearance_options,
    read_release_questions,
    to_vsi_bench,
    vsi_prompt,
    vsi_record,
)
from geoenv.tasks.benchmarks import BENCHMARK_KEYS, PARAM_RULES, question_categories
from geoenv.tasks.generate import generate_scene
from geoenv.tasks.parity import BENCHMARKS
from geoenv.tasks.registry import templates

runner = CliRunner()
VSI_TEMPLATES = ["object_count", "object_distance", "object_size", "room_size",
                 "relative_distance", "relative_direction", "appearance_order"]  # fmt: skip


def aliased() -> list[str]:
    return [n for n, t in templates().items() if any(t.aliases.get(b) for b in BENCHMARK_KEYS)]


@pytest.fixture(scope="module")
def demo_questions():
    res = generate_scene(geoenv.demo_scene(0), 0, 6, aliased())
    assert not res.failures
    return res.questions


def _excluded(template: str, bench: str, params: dict) -> bool:
    """Whether a rule maps these params to no category on purpose."""
    return any(
        r.template == template
        and r.benchmark == bench
        and r.mapping.get(params[r.param], 1) is None
        for r in PARAM_RULES
    )


# ------------------------------------------------------------------ categories
def test_every_aliased_template_gets_a_category_on_the_demo(demo_questions):
    by_template: dict[str, set[tuple[str, str]]] = {}
    for q in demo_questions:
        tpl = templates()[q.template]
        cats = question_categories(q.template, q.params)
        assert set(cats) == set(BENCHMARK_KEYS)
        for b in BENCHMARK_KEYS:
            ids = tpl.aliases.get(b, ())
            if not ids:
                assert cats[b] is None, (q.template, b)
            elif cats[b] is None:
                assert _excluded(q.template, b, q.params), (q.template, b, q.params)
            else:
                assert cats[b] in BENCHMARKS[b] and cats[b] in ids, (q.template, b, cats[b])
                by_template.setdefault(q.template, set()).add((b, cats[b]))
    generated = {q.template for q in demo_questions}
    assert len(generated) >= 20  # the demo answers (almost) every aliased template
    for name in generated:
        tpl = templates()[name]
        for b in BENCHMARK_KEYS:
            if tpl.aliases.get(b):  # each declared benchmark is reached by some question
                assert any(bb == b for bb, _ in by_template.get(name, ())), (name, b)


def test_param_rules_are_consistent_with_aliases():
    tpls = templates()
    ruled = {(r.template, r.benchmark) for r in PARAM_RULES}
    for r in PARAM_RULES:
        tpl = tpls[r.template]
        assert r.param in tpl.param_doc
        ids = tpl.aliases[r.benchmark]
        assert {c for c in r.mapping.values() if c is not None} <= set(ids)
        assert r.why
    for name, tpl in tpls.items():  # several ids for a benchmark: a rule must decide
        for b, ids in tpl.aliases.items():
            if len(ids) > 1:
                assert (name, b) in ruled, (name, b, ids)


def test_param_dependent_categories_by_hand():
    qc = question_categories
    assert qc("relative_direction", {"variant": "lr"}) == {
        "spatialevo": None,
        "vsi_bench": "object_rel_direction_easy",
        "mmsi_bench": "positional_relationship_obj_obj",
    }
    assert qc("relative_direction", {"variant": "lrb"})["vsi_bench"] == (
        "object_rel_direction_medium"
    )
    hard = qc("relative_direction", {"variant": "quadrant"})
    assert hard["vsi_bench"] == "object_rel_direction_hard"
    assert hard["spatialevo"] == "relative_direction_hard"
    assert qc("relative_direction", {"variant": "diagonal"})["vsi_bench"] is None
    assert qc("relative_distance", {"mode": "closest"})["vsi_bench"] == "object_rel_distance"
    far = qc("relative_distance", {"mode": "farthest"})
    assert far["vsi_bench"] is None and far["spatialevo"] is None
    assert far["mmsi_bench"] == "positional_relationship_obj_obj"
    cen = qc("object_distance", {"measure": "centroid"})
    assert cen == {"spatialevo": "absolute_distance", "vsi_bench": None,
                   "mmsi_bench": "attribute_measurement"}  # fmt: skip
    assert qc("object_distance", {"measure": "closest"})["vsi_bench"] == "object_abs_distance"
    assert qc("room_size", {})["vsi_bench"] == "room_size_estimation"
    assert qc("which_view_resolves", {}) == dict.fromkeys(BENCHMARK_KEYS)  # not registered


def test_rows_and_card_carry_categories(demo_questions, tmp_path):
    t = questions_table(demo_questions)
    assert t.schema.equals(QUESTION_SCHEMA)
    for b, col in BENCHMARK_COLUMNS.items():
        assert QUESTION_SCHEMA.field(col).nullable and col == f"{b}_type"
    by_id = {q.id: q for q in demo_questions}
    for r in t.to_pylist():
        cats = question_categories(r["template"], by_id[r["id"]].params)
        assert [r[c] for c in BENCHMARK_COLUMNS.values()] == [cats[b] for b in BENCHMARK_KEYS]
    out = tmp_path / "rel"
    args = ["generate", "demo:0", "--out", str(out), "--per-template", "2",
            "--templates", "relative_direction,room_size", "--quiet"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    card = (out / "README.md").read_text()
    for col in BENCHMARK_COLUMNS.values():
        assert f"  - name: {col}\n    dtype: string" in card
    assert "| VSI-Bench | room_size_estimation | 1 |" in card
    assert not (out / "vsi_bench").exists()  # only with --like


# ------------------------------------------------------------------ VSI-Bench scoring
THRESHOLDS = np.arange(0.5, 0.95 + 1e-9, 0.05)  # 0.50, 0.55, ..., 0.95


def vsi_score(record: dict, prediction: str) -> float:
    """VSI-Bench's metric as its paper and evaluation describe it: multiple choice = exact
    match of the prediction's first whitespace token, '.' stripped, with the ground-truth
    letter (case-insensitive); numerical = mean over confidence thresholds t in 0.50:0.95:0.05
    of [|pred - gt| / gt <= 1 - t]; an unparsable number scores 0."""
    if record["question_type"] in VSI_MC_TYPES:
        token = prediction.split(" ")[0].rstrip(".").strip()
        return float(token.lower() == record["ground_truth"].lower())
    try:
        pred = float(prediction)
    except ValueError:
        return 0.0
    gt = float(record["ground_truth"])
    rel = abs(pred - gt) / gt
    return float(np.mean([rel <= 1 - t for t in THRESHOLDS]))


@pytest.fixture(scope="module")
def vsi_release(tmp_path_factory):
    outs = []
    for name in ("a", "b"):
        out = tmp_path_factory.mktemp(f"vsi_{name}")
        args = ["generate", "demo:0", "demo:1", "--out", str(out), "--seed", "2",
                "--per-template", "6", "--templates", ",".join(VSI_TEMPLATES),
                "--like", "vsi-bench", "--quiet"]  # fmt: skip
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        outs.append(out)
    return outs


def test_vsi_export_is_deterministic_and_registered(vsi_release):
    a, b = vsi_release
    for f in ("test.parquet", "test.jsonl"):
        assert (a / "vsi_bench" / f).read_bytes() == (b / "vsi_bench" / f).read_bytes()
    manifest = json.loads((a / "manifest.json").read_text())
    assert {"vsi_bench/test.parquet", "vsi_bench/test.jsonl"} <= set(manifest["files"])
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()


def test_vsi_export_columns_types_and_formats(vsi_release):
    out = vsi_release[0]
    t = pq.read_table(out / "vsi_bench" / "test.parquet")
    assert t.schema.equals(VSI_BENCH_SCHEMA)
    assert t.column_names == ["id", "dataset", "scene_name", "question_type", "question",
                              "options", "ground_truth"]  # fmt: skip
    recs = t.to_pylist()
    jl = [json.loads(x) for x in (out / "vsi_bench" / "test.jsonl").read_text().splitlines()]
    assert jl == recs
    assert [r["id"] for r in recs] == list(range(len(recs)))
    # The order is that of our question ids, and every clean row with a VSI type is there.
    rows = [
        r
        for p in sorted((out / "data").rglob("*.parquet"))
        for r in pq.read_table(p).to_pylist()
        if r["vsi_bench_type"] and r["variant"] == "clean"
    ]
    src = to_vsi_bench(read_release_questions(out), with_source_id=True)
    assert src.column("geoenv_id").to_pylist() == sorted(r["id"] for r in rows)
    assert src.drop_columns(["geoenv_id"]).equals(t)
    assert len(recs) == len(rows)
    assert [r["question"] for r in recs] == [r["text"] for r in sorted(rows, key=lambda r: r["id"])]
    types = {r["question_type"] for r in recs}
    assert types == {
        "object_counting", "object_abs_distance", "object_size_estimation",
        "room_size_estimation", "object_rel_distance", "object_rel_direction_easy",
        "object_rel_direction_medium", "object_rel_direction_hard", "obj_appearance_order",
    }  # fmt: skip
    for r in recs:
        assert r["dataset"] == "geoenv" and r["scene_name"] in ("demo_0", "demo_1")
        if r["question_type"] in VSI_MC_TYPES:
            letters = [o.split(". ", 1)[0] for o in r["options"]]
            assert letters == [chr(65 + i) for i in range(len(r["options"]))]
            assert all(re.fullmatch(r"[A-Z]\. \S.*", o) for o in r["options"])
            assert r["ground_truth"] in letters
        else:
            assert r["options"] is None
            assert float(r["ground_truth"]) > 0
            if r["question_type"] == "object_counting":
                assert r["ground_truth"] == str(int(r["ground_truth"]))
    n_opts = {r["question_type"]: len(r["options"]) for r in recs if r["options"]}
    assert n_opts["object_rel_direction_easy"] == 2
    assert n_opts["object_rel_direction_medium"] == 3
    assert n_opts["object_rel_direction_hard"] == 4
    assert n_opts["obj_appearance_order"] == 4 and n_opts["object_rel_distance"] == 4


def test_vsi_units_match_the_templates():
    tpls = templates()
    pairs = {
        "object_count": "object_counting",
        "object_distance": "object_abs_distance",
        "object_size": "object_size_estimation",
        "room_size": "room_size_estimation",
    }
    for name, vsi_type in pairs.items():
        assert tpls[name].unit == VSI_NUMERIC_UNITS[vsi_type]
        assert tpls[name].aliases["vsi_bench"] == (vsi_type,)
    assert VSI_NUMERIC_UNITS["object_size_estimation"] == "cm"  # VSI-Bench: centimetres
    assert VSI_NUMERIC_UNITS["object_abs_distance"] == "m"


def test_vsi_metric_scores_the_export(vsi_release):
    recs = pq.read_table(vsi_release[0] / "vsi_bench" / "test.parquet").to_pylist()
    for r in recs:
        assert vsi_score(r, r["ground_truth"]) == 1.0, r
        if r["options"]:
            assert vsi_score(r, f"{r['ground_truth']}. {r['options'][0][3:]}") == 1.0
            wrong = next(o[0] for o in r["options"] if o[0] != r["ground_truth"])
            assert vsi_score(r, wrong) == 0.0
            assert vsi_score(r, f"{wrong}.") == 0.0
            prompt = vsi_prompt(r)
            assert prompt == r["question"] + "\nOptions:\n" + "\n".join(r["options"])
        else:
            gt = float(r["ground_truth"])
            # 28% off: within 1 - t for t = 0.50 .. 0.70 (5 of 10 thresholds).
            assert vsi_score(r, repr(gt * 1.28)) == pytest.approx(0.5)
            assert vsi_score(r, repr(gt * 0.97)) == 1.0  # 3% off passes every threshold
            assert vsi_score(r, "about two") == 0.0
            assert vsi_prompt(r) == r["question"]
    # A hand-computed case: ground truth 2.0, prediction 2.33 -> 16.5% off -> passes
    # t = 0.50 .. 0.80 (1 - t >= 0.165), fails 0.85 .. 0.95: 7 of 10.
    room = {"question_type": "room_size_estimation", "ground_truth": "2.0"}
    assert vsi_score(room, "2.33") == pytest.approx(0.7)
    assert vsi_score(room, "4.5") == 0.0  # 125% off


# ------------------------------------------------------------------ conversion rules
def test_appearance_options_are_seeded_orders_of_the_same_objects():
    opts, k = appearance_options("abc123", "sofa, tv, lamp")
    assert opts[k] == "sofa, tv, lamp" and len(opts) == 4 == len(set(opts))
    assert all(sorted(o.split(", ")) == ["lamp", "sofa", "tv"] for o in opts)
    assert appearance_options("abc123", "sofa, tv, lamp") == (opts, k)
    slots = {appearance_options(f"q{i}", "a, b, c, d")[1] for i in range(40)}
    assert slots == {0, 1, 2, 3}


def _row(**kw):
    base = {"id": "q1", "template": "t", "scene_id": "s", "text": "?", "choices": [],
            "answer": "1.50", "answer_value": 1.5, "answer_type": "number", "unit": "m",
            "variant": "clean", "vsi_bench_type": "object_abs_distance"}  # fmt: skip
    return base | kw


def test_vsi_record_checks_answer_kinds():
    assert vsi_record(_row())["ground_truth"] == "1.50"
    with pytest.raises(VsiExportError, match="needs a number"):
        vsi_record(_row(answer_type="choice", choices=["a", "b"], answer="a", answer_value=None))
    with pytest.raises(VsiExportError, match="'cm'"):
        vsi_record(_row(unit="m", vsi_bench_type="object_size_estimation"))
    mc = _row(vsi_bench_type="object_rel_distance", answer_type="choice", answer="tv",
              choices=["sofa", "tv", "lamp", "bed"], answer_value=None, unit="")  # fmt: skip
    rec = vsi_record(mc)
    assert rec["options"] == ["A. sofa", "B. tv", "C. lamp", "D. bed"]
    assert rec["ground_truth"] == "B"
    with pytest.raises(VsiExportError, match="needs choices"):
        vsi_record(mc | {"choices": []})
    # Variant rows and rows without a VSI type are left out.
    t = to_vsi_bench([mc, mc | {"id": "q0", "variant": "occlusion"}, _row(id="q2") | {
        "vsi_bench_type": None}])  # fmt: skip
    assert t.num_rows == 1 and t.column("id").to_pylist() == [0]


def test_generate_like_validates_its_value(tmp_path):
    res = runner.invoke(app, ["generate", "demo:0", "--out", str(tmp_path), "--like", "mmsi"])
    assert res.exit_code == 2
    flat = " ".join(res.output.split())
    assert "--like" in flat and "vsi-bench" in flat and "mmsi" in flat
    assert not (tmp_path / "data").exists()
