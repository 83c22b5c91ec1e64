"""The validation service through the real HTTP stack: uvicorn on 127.0.0.1 (a free port) in a
background thread, httpx and geoenv.oracles.Client as clients."""

from __future__ import annotations

import json

import httpx
import pytest
from service_server import running
from typer.testing import CliRunner

import geoenv
from geoenv.oracles import Client, Oracle, ServiceError
from geoenv.oracles.service import ServiceLimits, bind_host, create_app
from geoenv.tasks.base import IllPosed
from geoenv.tasks.camera import in_view_mask
from geoenv.tasks.registry import templates


@pytest.fixture(scope="module")
def url():
    app = create_app("demo:0-1", api_key=None, limits=ServiceLimits(max_batch=8))
    with running(app) as base:
        yield base


@pytest.fixture(scope="module")
def http(url):
    with httpx.Client(base_url=url, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def demo():
    return geoenv.demo_scene(0)


def post(http, body) -> httpx.Response:
    return http.post("/v1/validate", json=body)


def tproposal(template: str, **params) -> dict:
    return {"scene_id": "demo_0", "template": template, "params": params}


def program(*nodes: dict, **extra) -> dict:
    return {"scene_id": "demo_0", "program": list(nodes), **extra}


def cat(category: str, src: int = 0) -> dict:
    return {"op": "filter_category", "inputs": [src], "category": category}


def uniq(src: int) -> dict:
    return {"op": "unique", "inputs": [src]}


def ill_posed_margin(scene) -> tuple[str, dict, dict]:
    """A (template, params, evidence) that a margin rule rejects on ``scene``."""
    for name in ("height_comparison", "relative_distance", "size_comparison", "depth_order"):
        tpl = templates()[name]
        for p in tpl.candidates(scene):
            try:
                tpl.answer(scene, p)
            except IllPosed as e:
                if any(k in e.evidence for k in ("difference_m", "margin_m", "ratio")):
                    return name, p, e.evidence
    raise AssertionError("no margin rejection on the demo scene")


# ---------------------------------------------------------------------------- GET endpoints
def test_health_scenes_templates_ops_docs(http):
    h = http.get("/healthz").json()
    assert h["status"] == "ok" and h["scenes"] == 2 and h["auth"] is False
    scenes = http.get("/v1/scenes").json()["scenes"]
    assert [s["scene_id"] for s in scenes] == ["demo_0", "demo_1"]
    tpls = {t["name"]: t for t in http.get("/v1/templates").json()["templates"]}
    assert list(tpls) == list(templates())
    od = tpls["object_distance"]
    assert set(od["params"]) == {"a", "b", "measure"} and od["thresholds"] == {"min_gap": 0.05}
    assert "standing" in tpls["relative_direction"]["params"]  # aliases listed
    ops = http.get("/v1/ops").json()
    assert len(ops["ops"]) == 19 and ops["limits"] == {"max_nodes": 64, "max_depth": 16}
    assert http.get("/docs").status_code == 200
    spec = http.get("/openapi.json").json()
    assert {"/v1/validate", "/v1/score", "/v1/scenes", "/v1/templates", "/healthz"} <= set(
        spec["paths"]
    )
    assert "TemplateProposal" in spec["components"]["schemas"]
    r = http.get("/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["kind"] == "not_found"


def test_scene_loads_lazily(url):
    app = create_app("demo:0-2", api_key=None)
    with running(app) as base, httpx.Client(base_url=base) as c:
        assert not any(s["loaded"] for s in c.get("/v1/scenes").json()["scenes"])
        assert c.post(
            "/v1/validate", json=tproposal("room_size") | {"scene_id": "demo_2"}
        ).is_success
        scenes = c.get("/v1/scenes").json()["scenes"]
        assert [s["loaded"] for s in scenes] == [False, False, True]
        assert scenes[2]["objects"] > 0 and scenes[2]["est_bytes"] > 0
        assert c.get("/healthz").json()["loads"] == 1


# ---------------------------------------------------------------------------- template form
def test_template_valid_matches_oracle(http, demo):
    r = post(http, tproposal("object_distance", a="sofa", b="tv", measure="closest"))
    assert r.status_code == 200
    res = r.json()
    want = Oracle(demo).ask("object_distance", a="sofa", b="tv", measure="closest")
    assert res["valid"] and res["reasons"] == [] and res["form"] == "template"
    assert (res["answer"], res["value"], res["text"]) == (want.answer, want.value, want.question)
    assert res["evidence"] == want.evidence and res["params"] == {"a": "11", "b": "18",
                                                                  "measure": "closest"}  # fmt: skip
    d = res["difficulty"]
    assert 0 <= d["score"] <= 1 and d["level"] in ("easy", "medium", "hard")
    assert d["n_objects"] == 2 and d["n_nodes"] == 3
    assert res["question"]["answer"] == want.answer and res["agreement"] is None


def test_template_with_proposer_answer(http):
    p = tproposal("object_distance", a="sofa", b="tv")
    good = post(http, p | {"answer": "<answer>4.2 m</answer>"}).json()["agreement"]
    assert good["agrees"] and good["reward"] > 0.9 and good["parsed"] == pytest.approx(4.2)
    bad = post(http, p | {"answer": 9.5}).json()["agreement"]
    assert not bad["agrees"] and bad["reward"] == 0.0
    choice = tproposal("relative_direction", standing="cabinet", facing="tv", target="sofa",
                       variant="quadrant")  # fmt: skip
    r = post(http, choice | {"answer": "front-left"}).json()
    assert r["answer"] == "front-left" and r["agreement"]["agrees"]
    assert not post(http, choice | {"answer": "back-left"}).json()["agreement"]["agrees"]


def test_template_rejections(http, demo):
    r = post(http, tproposal("object_distance", a="chair", b="tv"))
    assert r.status_code == 422
    (reason,) = r.json()["reasons"]
    assert reason["kind"] == "ambiguous_referent" and reason["evidence"]["ids"] == [
        "14",
        "15",
        "16",
    ]
    r = post(http, tproposal("object_distance", a="sofa", b="giraffe")).json()
    assert r["reasons"][0]["kind"] == "unknown_object" and "giraffe" in r["reasons"][0]["message"]
    r = post(http, tproposal("object_distance", a="sofa")).json()
    assert r["reasons"][0]["kind"] == "missing_parameter"
    r = post(http, tproposal("object_size", a="sofa", colour="red")).json()
    assert r["reasons"][0]["kind"] == "unknown_parameter"
    r = post(http, tproposal("no_such_template")).json()
    assert r["reasons"][0]["kind"] == "unknown_template"
    assert "object_distance" in r["reasons"][0]["evidence"]["known"]
    r = post(http, {"scene_id": "demo_7", "template": "room_size"}).json()
    assert r["reasons"][0]["kind"] == "unknown_scene" and r["reasons"][0]["field"] == "scene_id"
    # Margin too small, with the numbers: a comparison the template rejects.
    name, p, ev = ill_posed_margin(demo)
    r = post(http, tproposal(name, **p))
    assert r.status_code == 422
    (reason,) = r.json()["reasons"]
    assert reason["kind"] == "ill_posed" and reason["evidence"] == pytest.approx(ev)
    # Referent not in view in a frame.
    ids = [demo.labels[lab][0] for lab in demo.unique_labels]
    for f in demo.frames:
        hidden = [i for i, m in zip(ids, in_view_mask(demo, f, ids), strict=True) if not m]
        if hidden:
            break
    r = post(http, tproposal("camera_distance", frame=f.index, a=hidden[0])).json()
    assert r["reasons"][0]["kind"] == "ill_posed"
    assert f"not in view in frame {f.index}" in r["reasons"][0]["message"]


# ---------------------------------------------------------------------------- program form
def test_program_valid(http):
    p = program({"op": "scene"}, cat("chair"), {"op": "count", "inputs": [1]}, answer=3)
    r = post(http, p)
    assert r.status_code == 200
    res = r.json()
    assert (res["answer"], res["answer_type"], res["form"]) == ("3", "count", "program")
    assert res["text"] == "How many chairs are there in the scene?"
    assert res["agreement"]["agrees"] and res["difficulty"]["n_nodes"] == 3
    assert res["evidence"]["nodes"][1]["value"] == {"ids": ["14", "15", "16"], "count": 3}
    cmp = program({"op": "scene"}, cat("lamp"), uniq(1), {"op": "height", "inputs": [2]},
                  cat("tv"), uniq(4), {"op": "height", "inputs": [5]},
                  {"op": "compare", "inputs": [3, 6], "relation": "greater"})  # fmt: skip
    res = post(http, cmp).json()
    assert res["valid"] and res["answer"] in ("yes", "no")
    assert res["difficulty"]["closest"]["what"] == "difference_m"


def test_program_rejections(http):
    r = post(http, program({"op": "scene"}, {"op": "count", "inputs": [0]},
                           {"op": "height", "inputs": [1]}))  # fmt: skip
    assert r.status_code == 422
    (reason,) = r.json()["reasons"]
    assert reason["kind"] == "type_error" and reason["node"] == 2
    assert reason["message"].startswith("type error at node 2")
    r = post(http, program({"op": "scene"}, cat("chair"), uniq(1), {"op": "size", "inputs": [2]}))
    assert r.json()["reasons"][0]["kind"] == "not_unique"
    r = post(http, program({"op": "scene"}, cat("giraffe"), uniq(1), {"op": "size", "inputs": [2]}))
    assert r.json()["reasons"][0]["kind"] == "referent_missing"
    r = post(http, program({"op": "camera", "frame": 999}, {"op": "scene"},
                           {"op": "filter_visible", "inputs": [1, 0]},
                           {"op": "count", "inputs": [2]}))  # fmt: skip
    assert r.json()["reasons"][0]["kind"] == "unknown_frame"
    r = post(http, program({"op": "scene"}, {"op": "eval", "inputs": [0]}))
    (reason,) = r.json()["reasons"]
    assert reason["kind"] == "malformed" and reason["node"] == 1 and "eval" in reason["message"]
    big = program({"op": "scene"}, *[cat("chair", k) for k in range(70)],
                  {"op": "count", "inputs": [70]})  # fmt: skip
    r = post(http, big)
    assert r.status_code == 422 and r.json()["reasons"][0]["kind"] == "limit"
    assert "71" in r.json()["reasons"][0]["message"] or "72" in r.json()["reasons"][0]["message"]
    deep = program({"op": "scene"}, *[cat("chair", k) for k in range(20)],
                   {"op": "count", "inputs": [20]})  # fmt: skip
    r = post(http, deep).json()
    assert r["reasons"][0]["kind"] == "limit" and "max_depth 16" in r["reasons"][0]["message"]


# ---------------------------------------------------------------------------- batches, score
def test_batch(http):
    props = [
        tproposal("object_distance", a="sofa", b="tv") | {"id": "p0"},
        tproposal("object_distance", a="chair", b="tv") | {"id": "p1"},
        program({"op": "scene"}, cat("chair"), {"op": "count", "inputs": [1]}) | {"id": "p2"},
        "not an object",
    ]
    r = post(http, {"proposals": props})
    assert r.status_code == 200
    body = r.json()
    assert (body["n"], body["n_valid"]) == (4, 2)
    assert [x["valid"] for x in body["results"]] == [True, False, True, False]
    assert [x["id"] for x in body["results"]] == ["p0", "p1", "p2", None]
    assert [x["index"] for x in body["results"]] == [0, 1, 2, 3]
    r = post(http, {"proposals": props * 3})
    assert r.status_code == 413 and "max_batch 8" in r.json()["error"]["message"]
    assert post(http, {"proposals": []}).status_code == 422
    assert post(http, {"proposals": props, "extra": 1}).status_code == 422


def test_score_roundtrip(http):
    res = post(http, tproposal("object_distance", a="sofa", b="tv")).json()
    q = res["question"]
    responses = ["<answer>4.18 m</answer>", "9 m", None]
    r = http.post("/v1/score", json={"questions": [q, q, q], "responses": responses})
    assert r.status_code == 200
    s = r.json()
    assert [x["correct"] for x in s["scores"]] == [True, False, False]
    assert s["n"] == 3 and s["n_correct"] == 1 and s["scores"][2]["format_ok"] is False
    r = http.post("/v1/score", json={"questions": [q], "responses": []})
    assert r.status_code == 422 and "1 questions but 0 responses" in r.json()["error"]["message"]
    r = http.post("/v1/score", json={"questions": [{"answer": "x", "answer_type": "nope"}],
                                     "responses": ["x"]})  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("questions[0]")


def test_deterministic_results(http):
    p = program({"op": "scene"}, cat("sofa"), uniq(1),
                {"op": "argmin", "inputs": [0, 2], "key": "distance"})  # fmt: skip
    a, b = post(http, p).json(), post(http, p).json()
    a.pop("elapsed_ms"), b.pop("elapsed_ms")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# ---------------------------------------------------------------------------- limits and keys
def test_limits_auth_budget():
    app = create_app(
        "demo:0",
        api_key="s3cret",
        limits=ServiceLimits(max_body_bytes=4096, time_budget_s=0.0),
    )
    with running(app) as base:
        with httpx.Client(base_url=base) as c:
            r = c.get("/v1/scenes")
            assert r.status_code == 401 and r.json()["error"]["kind"] == "unauthorized"
            assert c.post("/v1/validate", json={}).status_code == 401
            assert c.get("/healthz").json()["auth"] is True  # liveness needs no key
            assert c.get("/v1/scenes", headers={"X-API-Key": "s3cret"}).status_code == 200
            bearer = {"Authorization": "Bearer s3cret"}
            assert c.get("/v1/templates", headers=bearer).status_code == 200
            assert c.get("/v1/scenes", headers={"X-API-Key": "wrong"}).status_code == 401
            key = {"X-API-Key": "s3cret"}
            r = c.post("/v1/validate", content=b"x" * 5000, headers=key)
            assert r.status_code == 413 and "max_body_bytes 4096" in r.json()["error"]["message"]
            r = c.post("/v1/validate", json=tproposal("room_size"), headers=key)
            assert r.status_code == 408 and r.json()["error"]["kind"] == "time_budget"
            spec = c.get("/openapi.json").json()
            assert "ApiKey" in spec["components"]["securitySchemes"]
        with Client(base, api_key="s3cret") as cl:
            with pytest.raises(ServiceError) as e:
                cl.validate(tproposal("room_size"))
            assert e.value.status == 408 and e.value.kind == "time_budget"
        with Client(base) as cl, pytest.raises(ServiceError) as e:
            cl.scenes()
        assert e.value.status == 401


def test_bind_host_rule():
    assert bind_host(None, None) == "127.0.0.1"
    assert bind_host("localhost", None) == "localhost"
    assert bind_host("::1", None) == "::1"
    with pytest.raises(ValueError, match="without an API key"):
        bind_host("0.0.0.0", None)
    assert bind_host(None, "k") == "0.0.0.0" and bind_host("10.0.0.5", "k") == "10.0.0.5"


# ---------------------------------------------------------------------------- client, CLI
def test_python_client(url):
    with Client(url) as c:
        assert c.health()["status"] == "ok"
        assert [s["scene_id"] for s in c.scenes()] == ["demo_0", "demo_1"]
        assert any(t["name"] == "room_size" for t in c.templates())
        assert {o["op"] for o in c.ops()["ops"]} >= {"scene", "direction_from", "relate"}
        ok = c.validate(tproposal("room_size"))
        assert ok["valid"] and ok["unit"] == "m2"
        bad = c.validate(tproposal("object_distance", a="chair", b="tv"))
        assert not bad["valid"] and bad["reasons"][0]["kind"] == "ambiguous_referent"
        rs = c.validate_batch([tproposal("room_size"), tproposal("no_such_template")])
        assert [r["valid"] for r in rs] == [True, False]
        s = c.score([ok["question"]], [f"<answer>{ok['answer']}</answer>"])
        assert s["n_correct"] == 1
        with pytest.raises(ServiceError) as e:
            c.validate_batch([tproposal("room_size")] * 9)
        assert e.value.status == 413 and e.value.kind == "batch_too_large"


def test_cli_serve_registered():
    import geoenv.cli_serve  # noqa: F401  (registers `serve` on the app)
    from geoenv.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "--scenes" in r.output and "--port" in r.output
    r = runner.invoke(app, ["serve", "--scenes", "demo:0", "--host", "0.0.0.0"], env={})
    assert r.exit_code == 2 and "without an API key" in r.output
