"""Hostile and fuzzed payloads against the running service: each is answered 4xx with a reason
(a result's ``reasons`` or an ``error`` message), and the server stays healthy and correct.

Payloads: bodies that are not JSON (truncated, binary, NaN, deep nesting), wrong types in every
field, huge numbers and strings, unknown ops, names of Python internals in every place a name
goes (template, parameters, categories, op, feature ids, scene ids), and over-limit sizes."""

from __future__ import annotations

import json

import httpx
import pytest
from service_server import running

from geoenv.oracles.service import ServiceLimits, create_app

#: Values of the wrong type or shape, huge, or naming Python internals.
JUNK: list = [
    None,
    True,
    -1,
    1.5,
    1e308,
    -(10**30),
    2**64,
    "",
    "x" * 5000,
    [],
    [1] * 50,
    {},
    {"__class__": {"__init__": 1}},
    [[[[[[[[[["deep"]]]]]]]]]],
    "__class__",
    "__import__('os').system('id')",
    "eval",
    "().__class__.__bases__[0].__subclasses__()",
    "{{7*7}}",
    "../../../../etc/passwd",
    "\u0000\ud7ff",
    "globals",
]

INTERNAL_NAMES = [
    "__class__",
    "__init__",
    "__dict__",
    "__globals__",
    "__builtins__",
    "__import__",
    "__subclasses__",
    "__getattribute__",
    "eval",
    "exec",
    "compile",
    "getattr",
    "open",
    "os.system",
    "lambda",
    "import",
    "_Run",
    "op_scene",
    "_DISPATCH",
    "__reduce__",
]


def _distance_program() -> list[dict]:
    return [
        {"op": "scene"},
        {"op": "filter_category", "inputs": [0], "category": "sofa"},
        {"op": "unique", "inputs": [1]},
        {"op": "filter_category", "inputs": [0], "category": "tv"},
        {"op": "unique", "inputs": [3]},
        {"op": "distance", "inputs": [2, 4]},
    ]


def hostile_payloads() -> list[tuple[str, object]]:
    """(name, JSON payload) pairs; each must be refused."""
    good_t = {
        "scene_id": "demo_0",
        "template": "object_distance",
        "params": {"a": "sofa", "b": "tv"},
    }
    good_p = {"scene_id": "demo_0", "program": _distance_program()}
    out: list[tuple[str, object]] = []
    for i, j in enumerate(JUNK):
        for field in ("scene_id", "template", "params"):
            out.append((f"template.{field}={i}", {**good_t, field: j}))
        out.append((f"template.params.a={i}", {**good_t, "params": {"a": j, "b": "tv"}}))
        out.append((f"program={i}", {**good_p, "program": j}))
        for field in ("op", "inputs"):
            prog = _distance_program()
            prog[5] = {**prog[5], field: j}
            out.append((f"program[5].{field}={i}", {**good_p, "program": prog}))
        prog = _distance_program()
        prog[1] = {**prog[1], "category": j}
        out.append((f"program[1].category={i}", {**good_p, "program": prog}))
        out.append((f"answer={i}", {**good_t, "params": {}, "answer": j}))
    for name in INTERNAL_NAMES:
        out.append((f"template={name}", {**good_t, "template": name}))
        out.append((f"param-name={name}", {**good_t, "params": {name: "sofa", "b": "tv"}}))
        out.append((f"op={name}", {**good_p, "program": [{"op": name}]}))
        prog = _distance_program()
        prog[5] = {**prog[5], name: 1}
        out.append((f"extra-field={name}", {**good_p, "program": prog}))
        out.append((
            f"feature={name}",
            {**good_p, "program": [{"op": "feature", "id": name}, {"op": "area", "inputs": [0]}]},
        ))  # fmt: skip
        out.append((f"scene_id={name}", {**good_t, "scene_id": name}))
    out += [
        ("both-forms", {**good_t, "program": _distance_program()}),
        ("neither-form", {"scene_id": "demo_0"}),
        ("array", [good_t]),
        ("string", "object_distance"),
        ("number", 42),
        ("null", None),
        ("self-input", {**good_p, "program": [{"op": "count", "inputs": [0]}]}),
        ("huge-input", {**good_p, "program": [{"op": "scene", "inputs": [10**9]}]}),
        ("frame-2^70", {**good_p, "program": [{"op": "camera", "frame": 2**70}]}),
        ("snap-nan-string", {**good_p, "program": [
            {"op": "feature", "id": "park"}, {"op": "feature", "id": "river"},
            {"op": "relate", "inputs": [0, 1], "predicate": "touches", "snap_m": "NaN"}]}),
        ("1000-nodes", {**good_p, "program": [{"op": "scene"}] * 1000}),
        ("1100-nodes", {**good_p, "program": [{"op": "scene"}] * 1100}),
        ("params-17-keys", {**good_t, "params": {f"k{i}": 1 for i in range(17)}}),
        ("batch-not-list", {"proposals": {"a": 1}}),
        ("batch-empty", {"proposals": []}),
        ("batch-too-big", {"proposals": [good_t] * 300}),
        ("batch-extra-field", {"proposals": [good_t], "eval": 1}),
    ]  # fmt: skip
    return out


RAW_BODIES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("spaces", b"   \n"),
    ("truncated", b'{"scene_id": "demo_0", "template": '),
    ("binary", bytes(range(256))),
    ("nan", b'{"scene_id": "demo_0", "template": "room_size", "answer": NaN}'),
    ("infinity", b"Infinity"),
    ("deep-arrays", b"[" * 5000 + b"]" * 5000),
    ("deep-objects", b'{"a":' * 3000 + b"1" + b"}" * 3000),
    (
        "huge-int",
        b'{"scene_id": "demo_0", "template": "room_size", "answer": 1' + b"0" * 5000 + b"}",
    ),
    ("1e999", b'{"scene_id": "demo_0", "template": "room_size", "answer": 1e999}'),
    ("lone-surrogate", b'{"scene_id": "\\ud800"}'),
    ("trailing-garbage", b'{"scene_id": "demo_0"} {}'),
    ("python-literal", b"{'scene_id': 'demo_0'}"),
    ("too-large", b'{"scene_id": "' + b"x" * (2 << 20) + b'"}'),
]


@pytest.fixture(scope="module")
def http():
    app = create_app("demo:0", api_key=None, limits=ServiceLimits(max_batch=256))
    with running(app) as base, httpx.Client(base_url=base, timeout=60) as c:
        yield c


def _has_reason(r: httpx.Response) -> bool:
    body = r.json()
    if "reasons" in body:
        return (
            body["valid"] is False
            and len(body["reasons"]) > 0
            and all(isinstance(x["message"], str) and x["message"] for x in body["reasons"])
        )
    return isinstance(body["error"]["message"], str) and len(body["error"]["message"]) > 0


def test_hostile_payloads_all_refused_with_a_reason(http):
    payloads = hostile_payloads()
    bodies = [(n, json.dumps(p).encode()) for n, p in payloads] + RAW_BODIES
    assert len(bodies) >= 200
    bad = []
    for name, body in bodies:
        r = http.post("/v1/validate", content=body, headers={"content-type": "application/json"})
        if not (400 <= r.status_code < 500 and _has_reason(r)):
            bad.append((name, r.status_code, r.text[:200]))
    assert bad == []
    # Still healthy, and still right.
    assert http.get("/healthz").json()["status"] == "ok"
    good = {"scene_id": "demo_0", "template": "object_distance", "params": {"a": "sofa", "b": "tv"}}
    r = http.post("/v1/validate", json=good)
    assert r.status_code == 200 and r.json()["answer"] == "4.18"


def test_hostile_items_in_a_batch(http):
    """A batch answers every item; the hostile ones are invalid with reasons."""
    payloads = [p for _, p in hostile_payloads()[:120] if isinstance(p, dict)]
    payloads = [p for p in payloads if "proposals" not in p][:100]
    good = {"scene_id": "demo_0", "template": "room_size"}
    r = http.post("/v1/validate", json={"proposals": [*payloads, good]})
    assert r.status_code == 200
    res = r.json()["results"]
    assert len(res) == len(payloads) + 1
    assert all(not x["valid"] and x["reasons"] for x in res[:-1])
    assert res[-1]["valid"]


def test_hostile_score_requests(http):
    q = {"answer": "3", "answer_type": "count", "unit": "count"}
    cases = [
        {"questions": [q], "responses": ["3"], "config": {"format_bonus": 5}},
        {"questions": [q], "responses": ["3"], "eval": 1},
        {"questions": "x", "responses": []},
        {"questions": [{"answer_type": "count"}], "responses": ["3"]},
        {"questions": [{"answer": "3", "unit": ["__class__"]}], "responses": ["3"]},
        {"questions": [{"answer": "3", "answer_type": "number", "unit": "furlong"}],
         "responses": [1]},
        {"questions": [q] * 5000, "responses": ["3"] * 5000},
        [q],
    ]  # fmt: skip
    for body in cases:
        r = http.post("/v1/score", json=body)
        assert 400 <= r.status_code < 500 and r.json()["error"]["message"], body
    chat = [{"role": "assistant", "content": "3"}]
    r = http.post("/v1/score", json={"questions": [q], "responses": [chat]})
    assert r.status_code == 200 and r.json()["n_correct"] == 1


def test_wrong_methods_and_paths(http):
    assert http.get("/v1/validate").status_code == 405
    assert http.put("/v1/score", json={}).status_code == 405
    r = http.post("/v1/__class__", json={})
    assert r.status_code == 404 and r.json()["error"]["kind"] == "not_found"
