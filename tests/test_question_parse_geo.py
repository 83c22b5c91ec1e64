"""Reading geo questions back (geoenv.tasks.geo ``read``): every paraphrase of every geo
template round-trips on a two-layer scene (EPSG:4326 and UTM 32N, so both coordinate
formats) and on Natural Earth; references by name, attribute, WKT and coordinate list read
back to the feature; hostile or inconsistent texts come back ``Unparsed`` with their kind."""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pytest
import shapely
from task_scenes import make_scene
from test_tasks_geo import NE_PATH, _ne_simplified, city_scene

from geoenv.geo import WGS84, GeoLayer
from geoenv.oracles import answer_parsed, parse
from geoenv.oracles.question_parse import ParsedQuestion, Unparsed
from geoenv.scene import Scene
from geoenv.scenes.registry import load_scene
from geoenv.tasks.geo import geo_index
from geoenv.tasks.grammar import MAX_TEXT_CHARS
from geoenv.tasks.registry import get, templates

GEO = [n for n in templates() if n.startswith("geo_")]
PARK1 = 'the feature named "park1"'


@cache
def city() -> Scene:
    return city_scene()


@cache
def ne_simple() -> Scene:
    return _ne_simplified(load_scene(NE_PATH))


def round_trip(scene: Scene, q) -> ParsedQuestion:
    p = parse(q.text, scene)
    assert isinstance(p, ParsedQuestion), (q.text, p)
    assert (p.template, p.params, p.choices) == (q.template, q.params, q.choices), q.text
    assert answer_parsed(scene, p).text == q.answer, q.text
    return p


@pytest.mark.parametrize("name", GEO)
def test_every_phrasing_round_trips_on_two_crs(name: str) -> None:
    """Each paraphrase set, each paraphrase and each answer slot (for geo_topology also the
    negated claim, which generation only writes when asked for the other answer) of
    well-posed questions on the city scene reads back as itself."""
    sc, tpl = city(), get(name)
    want = {f"{k}[{i}]" for k, fs in tpl.phrasings().items() for i in range(len(fs))}
    seen: set[str] = set()
    modes: set[str] = set()
    valid = tpl.valid(sc)
    for params, ans in valid[:: max(1, len(valid) // 30)]:
        for seed in range(16):
            for slot in range(tpl.slots):
                q = tpl.question(sc, params, np.random.default_rng(seed), slot, answer=ans)
                seen.add(round_trip(sc, q).form)
                modes.add(str(params.get("ref_mode")))
    assert seen == want
    if name != "geo_group_area":  # its one scope without a referent ("all") aside
        assert {"name", "attribute", "wkt", "coords"} <= modes


def test_projected_layer_coordinates_read_back() -> None:
    """The UTM layer's geometry is written in grid metres (2 decimals) with its CRS note."""
    sc = city()
    hall = geo_index(sc)["utm/hall"]
    for mode in ("wkt", "coords"):
        text = f"What is the area of {hall.text(mode)}, in square metres?"
        assert "EPSG:32632" in text
        p = parse(text, sc)
        assert isinstance(p, ParsedQuestion)
        assert p.params == {"a": "utm/hall", "ref_mode": mode}
        assert abs(float(answer_parsed(sc, p).text) - 1500) < 5  # grid square, 50 x 30 m


@pytest.mark.parametrize(
    "name", ["geo_distance", "geo_direction", "geo_relation", "geo_length", "geo_nearest"]
)
def test_natural_earth_round_trip(name: str) -> None:
    """Real names (dots, spaces, "and") and long geometry texts; a label with a final dot
    that ends the question ("Central African Rep.") still reads."""
    sc = ne_simple()
    n = 0
    for q in get(name).generate(sc, 0, 30):
        if len(q.text) > MAX_TEXT_CHARS:  # two 40-vertex polygons written out: not read
            p = parse(q.text, sc)
            assert isinstance(p, Unparsed) and "characters" in p.reason
            continue
        round_trip(sc, q)
        n += 1
    assert n >= 25


def test_label_with_final_dot_ends_the_question() -> None:
    sc = ne_simple()
    text = (
        'Which of these is farthest from the feature named "France": Germany, Spain, Italy, '
        "or Central African Rep.?"
    )
    p = parse(text, sc)
    assert isinstance(p, ParsedQuestion), p
    assert p.choices == ["Germany", "Spain", "Italy", "Central African Rep."]
    assert p.params["mode"] == "farthest" and len(p.params["candidates"]) == 4
    assert answer_parsed(sc, p).text == "Central African Rep."


def test_spelling_variants_read_the_same() -> None:
    """Case, spacing, curly quotes, a missing article, spaces around the punctuation of a
    coordinate list and trailing zeros do not change the reading."""
    sc = city()
    park1 = geo_index(sc)["city/park1"]
    coords = park1.text("coords")
    assert coords.startswith("the polygon with vertices (8.54")
    base = parse(f"What is the area of {coords}, in square metres?", sc)
    assert isinstance(base, ParsedQuestion) and base.params["ref_mode"] == "coords"
    loose = coords.replace(", ", " ,  ").replace("(", "( ").replace("the polygon", "The  Polygon")
    tight = coords.replace(", ", ",").removeprefix("the ")
    for variant in (loose, tight):
        p = parse(f"what is  the AREA of {variant} , in square metres", sc)
        assert isinstance(p, ParsedQuestion), (variant, p)
        assert p.params == base.params
    x0 = coords.split("(")[1].split(",")[0]  # the first x, written with extra zeros
    padded = coords.replace(x0, x0 + "000", 1)
    p = parse(f"What is the area of {padded}, in square metres?", sc)
    assert isinstance(p, ParsedQuestion) and p.params == base.params
    p = parse("What is the area of the feature named \u201cPARK1\u201d, in square metres?", sc)
    assert isinstance(p, ParsedQuestion)
    assert p.params == {"a": "city/park1", "ref_mode": "name"}
    p = parse("What is the area of feature named 'park1', in square metres?", sc)
    assert isinstance(p, Unparsed)  # single quotes are not the quotes of a name


def test_pair_order_relation_converse_and_yes_no() -> None:
    """Pairs are canonical (index order) whichever way the text names them; within read
    the other way round is contains; the answer follows the text's wording."""
    sc = city()
    dist = [
        parse(f"What is the shortest distance between {x} and {y}, in metres?", sc)
        for x, y in ((PARK1, 'the feature named "cafe"'), ('the feature named "cafe"', PARK1))
    ]
    assert (
        dist[0].params
        == dist[1].params
        == {
            "a": "city/park1",
            "b": "city/cafe",
            "ref_mode": "name",
        }
    )
    district = 'the feature named "district"'
    asked = [
        (f"Does {PARK1} lie within {district} (entirely inside it)?", "yes"),
        (f"Does {district} contain {PARK1} (entirely)?", "yes"),
        (f"Does {district} lie within {PARK1}?", "no"),
        (f"Is it false that {PARK1} lies within {district} (entirely inside it)?", "no"),
        (f"Is it false that {district} and {PARK1} are disjoint (no point in common)?", "yes"),
        (f"Topologically, are {PARK1} and {district} disjoint?", "no"),
    ]
    for text, want in asked:
        p = parse(text, sc)
        assert isinstance(p, ParsedQuestion), (text, p)
        assert p.params["a"] == "city/district" and p.params["b"] == "city/park1"
        assert answer_parsed(sc, p).text == want, text
    opts = "A lies within B; A contains B; A touches B; A and B are disjoint"
    for x, y, want in ((PARK1, district, "A lies within B"), (district, PARK1, "A contains B")):
        p = parse(
            f"Let A be {x} and B be {y}. Which statement describes their "
            f"topological relation: {opts}?",
            sc,
        )
        assert isinstance(p, ParsedQuestion)
        assert p.params == {"a": "city/district", "b": "city/park1", "ref_mode": "name"}
        assert p.choices == opts.split("; ")
        assert answer_parsed(sc, p).text == want


def test_class_queries_read_category_scope_and_radius() -> None:
    sc = city()
    p = parse(f"How many parks lie within 1.5 km of {PARK1}?", sc)
    assert isinstance(p, ParsedQuestion)
    assert p.params == {
        "category": "kind=park",
        "scope": "radius",
        "x": "city/park1",
        "radius_m": 1500.0,
        "ref_mode": "name",
    }
    assert type(p.params["radius_m"]) is float
    p = parse('How many parks lie inside the feature named "district"?', sc)
    assert isinstance(p, ParsedQuestion)
    assert p.params == {
        "category": "kind=park",
        "scope": "inside",
        "x": "city/district",
        "ref_mode": "name",
    }
    assert answer_parsed(sc, p).text == "2"
    p = parse("What is the total area of all buildings, in square metres?", sc)
    assert isinstance(p, ParsedQuestion)
    assert p.params == {"category": "kind=building", "scope": "all"}
    p = parse("What is the total area of all towers, in square metres?", sc)
    assert isinstance(p, Unparsed) and p.kind == "referent_missing" and "towers" in p.reason
    p = parse(f"How many parks lie within 1e999 km of {PARK1}?", sc)
    assert isinstance(p, Unparsed) and p.kind == "bad_value"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('What is the area of the feature named "atlantis", in square metres?', "referent_missing"),
        (
            "What is the area of the polygon with vertices (1, 2), in square metres?",
            "referent_missing",
        ),
        ("What is the area of my backyard, in square metres?", "unparsed"),
        # a point that is no feature of the scene
        (
            'What is the shortest distance between the feature named "cafe" and the point '
            "(0, 0), in metres?",
            "referent_missing",
        ),
        (
            f"What is the shortest distance between {PARK1} and the park, in metres?",
            "referent_ambiguous",
        ),  # three parks
        (
            f"Which of these is closest to {PARK1}: cafe, kiosk, atlantis, or street?",
            "referent_missing",
        ),
        (f"Which of these is closest to {PARK1}: cafe, kiosk, cafe, or street?", "bad_options"),
        (
            f'Relative to {PARK1}, is the feature named "cafe" to the north, up, or east?',
            "bad_options",
        ),
        (f'Does {PARK1} hover over the feature named "cafe"?', "unparsed"),
        (
            f'Consider A = {PARK1} and B = the feature named "cafe". How are they related '
            "spatially: A touches B; A eats B?",
            "bad_options",
        ),
    ],
)
def test_unreadable_texts_have_kinds(text: str, kind: str) -> None:
    p = parse(text, city())
    assert isinstance(p, Unparsed), p
    assert p.kind == kind, p


def test_mixed_reference_modes_are_bad_value() -> None:
    sc = city()
    cafe = geo_index(sc)["city/cafe"].text("coords")
    p = parse(f"What is the shortest distance between {PARK1} and {cafe}, in metres?", sc)
    assert isinstance(p, Unparsed) and p.kind == "bad_value" and "one way" in p.reason


def test_identical_geometries_are_ambiguous_but_names_are_not() -> None:
    """Two layers holding the same square: its WKT names two features; names still read."""
    sq = shapely.box(8.54, 47.37, 8.541, 47.371)
    layers = {
        n: GeoLayer(n, WGS84, np.array([sq], dtype=object), [{"name": f"{n}_sq"}], ["1"])
        for n in ("a", "b")
    }
    sc = Scene("twins", geo_layers=layers)
    wkt = geo_index(sc)["a/1"].text("wkt")
    assert wkt == geo_index(sc)["b/1"].text("wkt")
    p = parse(f"What is the area of {wkt}, in square metres?", sc)
    assert isinstance(p, Unparsed) and p.kind == "referent_ambiguous" and "a/1" in p.reason
    p = parse('What is the area of the feature named "b_sq", in square metres?', sc)
    assert isinstance(p, ParsedQuestion) and p.params == {"a": "b/1", "ref_mode": "name"}


def test_scenes_without_geo_layers_and_geo_free_texts() -> None:
    """Geo phrasings on a scene without layers are unparsed, never an exception; scene
    questions shaped like a geo phrasing are not taken for one."""
    sc = make_scene({"1": ("sofa", (0, 0, 0), (2, 1, 0.8)), "2": ("tv", (3, 0, 0), (4, 1, 1))})
    for text in (
        f"What is the area of {PARK1}, in square metres?",
        "Does the sofa take up more space than the tv (volume of its bounding box)?",
        "Does the sofa touch the tv?",
        "How many sofas lie within 5 m of the tv?",
    ):
        p = parse(text, sc, templates=GEO)
        assert isinstance(p, Unparsed), (text, p)
    p = parse("Does the sofa take up more space than the tv (volume of its bounding box)?", sc)
    assert isinstance(p, ParsedQuestion) and p.template == "size_comparison"


@pytest.mark.parametrize(
    "text",
    [
        "Relative to " + ", is x to " * 180 + "the north?",
        "Does " + "a touch " * 240 + "b?",
        "Is it false that " + "a and " * 320 + " are disjoint?",
        "Which of these is closest to the park: " + ", " * 900 + "cafe?",
        "Which of these is closest to the park: " + " or " * 400 + "?",
        "Let A be " + "x and B be " * 150 + "y. Which statement describes their topological "
        "relation: A touches B?",
        "How many " + "parks lie within 5 m of " * 75 + "?",
    ],
)
def test_adversarial_texts_are_quick(text: str) -> None:
    """Texts built to make the bounded slots backtrack or the option split branch stay
    unparsed and fast (well under a second)."""
    sc = city()
    parse("How many parks lie inside the park?", sc)  # build the tables first
    t0 = time.perf_counter()
    p = parse(text, sc)
    assert isinstance(p, Unparsed)
    assert time.perf_counter() - t0 < 0.5
