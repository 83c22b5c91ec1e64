"""The template framework: registry, docs freshness, generation CLI, Parquet rows."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import geoenv
from geoenv.cli import app
from geoenv.pipelines.rows import QUESTION_SCHEMA, read_questions, write_questions
from geoenv.tasks import get, templates
from geoenv.tasks.base import balanced_slots, place_choice, question_id, template_rng
from geoenv.tasks.docgen import render
from geoenv.tasks.generate import generate_scene

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_docs_tasks_md_is_generated_from_the_registry():
    committed = (ROOT / "docs" / "tasks.md").read_text()
    assert committed == render(), (
        "docs/tasks.md is stale: run python -m geoenv.tasks.docgen > docs/tasks.md"
    )
    for name, t in templates().items():
        assert f"## {name}\n" in committed
        assert t.rule, name
        for k in t.thresholds():
            assert f"`{k}`" in t.rule, f"{name}: threshold {k} not stated in its rule"


def test_registry_contract():
    for name, t in templates().items():
        assert t.name == name
        assert t.family in ("scene", "camera", "visibility", "geo")
        assert t.answer_type in ("choice", "number", "count", "bool", "order")
        assert t.metric in ("exact", "mra")
        if t.answer_type in ("number", "count"):
            # Every number has a unit, except the dimensionless ratio of attribute_ratio.
            assert t.metric == "mra" and (t.unit or t.name == "attribute_ratio")
        if t.answer_type in ("choice", "bool"):
            assert t.slots >= 2, name
    with pytest.raises(KeyError, match="unknown template"):
        get("nope")


def test_seeding_and_balancing_helpers():
    a = template_rng(1, "s", "t").integers(1 << 30, size=4)
    assert (a == template_rng(1, "s", "t").integers(1 << 30, size=4)).all()
    assert (a != template_rng(1, "s2", "t").integers(1 << 30, size=4)).any()
    slots = balanced_slots(103, 4, template_rng(0, "s", "t"))
    counts = [int((slots == k).sum()) for k in range(4)]
    assert max(counts) - min(counts) <= 1
    rng = template_rng(0, "s", "t")
    for s in range(4):
        assert place_choice("right", ["a", "b", "c"], s, rng)[s] == "right"
    assert question_id("t", "s", {"a": "1"}, "x", []) != question_id("t", "s", {"a": "2"}, "x", [])


def test_generation_is_scene_local_and_deterministic():
    d0, d1 = geoenv.demo_scene(0), geoenv.demo_scene(1)
    alone = generate_scene(d0, 3, 5)
    generate_scene(d1, 3, 5)
    again = generate_scene(d0, 3, 5)
    assert [q.model_dump() for q in alone.questions] == [q.model_dump() for q in again.questions]
    assert not alone.failures


def test_parquet_rows_round_trip_and_bytes(tmp_path):
    qs = generate_scene(geoenv.demo_scene(0), 0, 4).questions
    p1 = write_questions(qs, tmp_path / "a.parquet")
    p2 = write_questions(list(reversed(qs)), tmp_path / "b.parquet")
    assert p1.read_bytes() == p2.read_bytes()  # sorted by id, deterministic
    assert pq.read_schema(p1).equals(QUESTION_SCHEMA)
    rows = read_questions(p1)
    assert [r["id"] for r in rows] == sorted(q.id for q in qs)
    by_id = {q.id: q for q in qs}
    for r in rows:
        q = by_id[r["id"]]
        assert r["params"] == q.params and r["answer"] == q.answer and r["text"] == q.text


def test_generate_cli_writes_a_release_and_records_failures(tmp_path):
    bad = tmp_path / "broken.ply"
    bad.write_text("ply\nformat ascii 1.0\nelement vertex 2\n")  # truncated header
    out = tmp_path / "out"
    args = ["generate", "demo:0", str(bad), "--out", str(out), "--per-template", "3",
            "--templates", "object_count,room_size", "--quiet"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    (path,) = (out / "data").rglob("demo_0.parquet")
    rows = read_questions(path)
    assert {r["template"] for r in rows} == {"object_count", "room_size"}
    fails = (out / "failures.jsonl").read_text().splitlines()
    assert len(fails) == 1 and "broken.ply" in fails[0]
    assert runner.invoke(app, [*args, "--fail-on-error"]).exit_code == 1
    res = runner.invoke(app, ["generate", "demo", "--out", str(out), "--templates", "nope"])
    assert res.exit_code != 0
    res = runner.invoke(app, ["generate", "demo", "--out", str(out), "--variants", "blur"])
    assert res.exit_code != 0


def test_tasks_cli_lists_templates():
    res = runner.invoke(app, ["tasks"])
    assert res.exit_code == 0 and "object_distance" in res.output


def test_demo_cli_end_to_end(tmp_path):
    res = runner.invoke(app, ["demo", "--out", str(tmp_path), "--seed", "0"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "demo_0.ply").exists() and (tmp_path / "demo_0.labels.json").exists()
    assert (tmp_path / "demo_0_topdown.png").stat().st_size > 20_000
    rows = read_questions(tmp_path / "questions" / "demo_0.parquet")
    assert {r["template"] for r in rows} >= {"object_count", "object_distance", "room_size"}
    back, demo = geoenv.load_scene(tmp_path / "demo_0.ply"), geoenv.demo_scene(0)
    assert back.object_ids == demo.object_ids
    for i in demo.object_ids:
        assert back[i].label == demo[i].label and (back[i].points == demo[i].points).all()
    assert [f.pose.tolist() for f in back.frames] == [f.pose.tolist() for f in demo.frames]
    layer = geoenv.load_scene(tmp_path / "demo_city.geojson").geo_layers["demo_city"]
    assert layer.ids == demo.geo_layers["demo_city"].ids


def test_lazy_candidates_and_visit_order():
    from itertools import permutations

    import numpy as np

    from geoenv.tasks.base import LazyCandidates, n_ordered_tuples, ordered_tuple_at, visit_order

    ids = ["1", "2", "5", "7", "9"]
    ref = [list(p) for p in permutations(ids, 3)]
    lazy = LazyCandidates(n_ordered_tuples(5, 3), lambda i: {"t": ordered_tuple_at(ids, 3, i)})
    assert len(lazy) == 60 and [c["t"] for c in lazy] == ref and lazy[-1]["t"] == ref[-1]
    for n in (10, 70_000):
        order = list(visit_order(n, np.random.default_rng(1)))
        assert sorted(order) == list(range(n))
        assert order == list(visit_order(n, np.random.default_rng(1)))
