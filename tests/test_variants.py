"""Occlusion and degradation variants: an occluded referent makes the answer `unanswerable`, a
partly occluded one keeps it; view dropping and which-view-resolves; image degradations are
deterministic and change pixels more at higher severity; point-cloud degradations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from vis_scenes import ring_scene

import geoenv
from geoenv import Scene
from geoenv.pipelines.rows import read_questions, write_questions
from geoenv.pipelines.variants import (
    GEOMETRY_DEGRADATIONS,
    GEOMETRY_SEVERITY,
    IMAGE_DEGRADATIONS,
    UNANSWERABLE,
    degrade_image,
    degrade_points,
    geometry_degradation,
    image_degradation,
    occluder_insertion,
    referents,
    view_drop,
    which_view_resolves,
)
from geoenv.render import read_png, render_frame
from geoenv.tasks.registry import get
from geoenv.visibility import visibility


@pytest.fixture(scope="module")
def ring() -> Scene:
    return ring_scene("ring_variants")


def q_of(scene: Scene, template: str, params: dict, slot: int = 0):
    return get(template).question(scene, params, np.random.default_rng(0), slot)


# ---------------------------------------------------------------------------- occluder
def test_occluder_hides_or_keeps_the_answer(ring):
    q = q_of(ring, "camera_distance", {"frame": 0, "a": "10"})
    assert referents(q, ring) == ["10"]
    full, partial = occluder_insertion(q, ring, seed=0, image_downscale=4)
    for v in (full, partial):
        r = v.question
        assert r.variant == "occlusion" and r.base_question_id == q.id and r.id != q.id
        assert r.template == q.template and r.params == q.params and r.text == q.text
        assert r.variant_params["type"] == "occluder" and r.variant_params["frame"] == 0
        assert r.variant_params["visibility_before"] == {"10": 1.0}
        (path,) = r.variant_params["images"]
        assert set(v.files) == {path} and path.startswith("variants/ring_variants/")
        img = read_png(v.files[path])
        assert img.shape == (120, 160, 3)
    # Fully covered: the sofa is gone, the question has no answer.
    fr = full.question
    assert fr.variant_params["occluder"]["mode"] == "full"
    assert fr.variant_params["visibility_after"] == {"10": 0.0}
    assert fr.answer == UNANSWERABLE and fr.answer_value is None and fr.metric == "exact"
    assert fr.variant_params["hidden_referents"] == ["10"]
    assert "cannot be answered" in fr.rationale and "1.00 -> 0.00" in fr.rationale
    # Partly covered: still in view, the answer is unchanged.
    pr = partial.question
    assert pr.variant_params["occluder"]["mode"] == "partial"
    assert 0.2 <= pr.variant_params["visibility_after"]["10"] < 0.95
    assert pr.answer == q.answer and pr.answer_value == q.answer_value and pr.metric == "mra"
    assert pr.variant_params["hidden_referents"] == []
    # The occluder sits between the camera (origin, z = 1) and the sofa (x = 3.7 .. 4.3).
    c = fr.variant_params["occluder"]["center_m"]
    assert 1.0 < c[0] < 3.7 and abs(c[1]) < 0.1 and abs(c[2] - 1.0) < 0.1
    # The rendered image shows the occluder where the sofa was (mid grey, shaded).
    r = render_frame(ring, 0, downscale=4)
    img = read_png(full.files[fr.variant_params["images"][0]])
    sofa = r.instance == ring.object_ids.index("10")
    assert not np.array_equal(img[sofa], r.rgb[sofa])
    # Deterministic: the same rows and bytes again.
    again = occluder_insertion(q, ring, seed=0, image_downscale=4)
    assert [a.question for a in again] == [full.question, partial.question]
    assert [a.files for a in again] == [full.files, partial.files]


def test_occluder_on_choice_questions_adds_the_option(tmp_path):
    s = geoenv.demo_scene(0)
    qs = get("depth_order").generate(s, 0, 6)
    rows = [v.question for q in qs for v in occluder_insertion(q, s, 1, image_downscale=4)]
    assert rows
    # Variant rows go through the pinned Parquet schema unchanged.
    back = read_questions(write_questions(rows, tmp_path / "v.parquet"))
    assert {r["id"]: r["variant_params"] for r in back} == {r.id: r.variant_params for r in rows}
    for r in rows:
        assert r.choices[-1] == UNANSWERABLE and len(r.choices) == 3
        assert r.answer in r.choices
    answers = {r.answer == UNANSWERABLE for r in rows}
    assert answers == {True, False}


def test_occlusion_applies_to_the_right_questions(ring):
    scene_q = q_of(ring, "object_distance", {"a": "10", "b": "11", "measure": "closest"})
    assert occluder_insertion(scene_q, ring, 0) == []  # names no frame
    cam_q = q_of(ring, "camera_distance", {"frame": 0, "a": "10"})
    assert view_drop(cam_q, ring, 0) == []  # its frame is named in the text
    import geoenv.tasks.visibility  # noqa: F401  (registers the family)

    vis_q = q_of(ring, "object_visibility", {"frame": 0, "a": "10"})
    order_q = q_of(ring, "appearance_order", {"objects": ["11", "12", "13"]})
    for q in (vis_q, order_q):  # about the views themselves: no occlusion variant
        assert occluder_insertion(q, ring, 0) == [] and view_drop(q, ring, 0) == []


# ---------------------------------------------------------------------------- view drop
def test_view_drop_and_which_view_resolves(ring):
    q = q_of(ring, "object_distance", {"a": "10", "b": "12", "measure": "closest"})
    m = visibility(ring).matrix()
    col = {o: m[:, ring.object_ids.index(o)] for o in ("10", "12")}
    found = {}
    for seed in range(6):
        (v,) = view_drop(q, ring, seed)
        r = v.question
        vp = r.variant_params
        assert r.answer == UNANSWERABLE and r.variant == "occlusion" and r.base_question_id == q.id
        assert r.answer_value is None and r.metric == "exact" and r.choices == []
        assert "cannot be answered from these views" in r.rationale
        ref, other = vp["referent"], ({"10", "12"} - {vp["referent"]}).pop()
        assert len(vp["views"]) == len(vp["clean_views"]) == 4
        # Clean views show both; the kept views show nothing of the dropped referent and still
        # show the other one.
        assert max(col[ref][vp["clean_views"]]) >= 0.2 and max(col[other][vp["clean_views"]]) >= 0.2
        assert max(col[ref][vp["views"]]) == 0.0
        assert max(col[other][vp["views"]]) >= 0.2
        assert set(vp["dropped_views"]) <= set(vp["clean_views"]) - set(vp["views"])
        found[ref] = v
        (w,) = which_view_resolves(v, ring, seed)
        wr = w.question
        assert wr.template == "which_view_resolves" and wr.answer_type == "choice"
        assert wr.base_question_id == q.id and wr.variant_params["from_variant_id"] == r.id
        assert len(wr.choices) == 4 and wr.answer in wr.choices
        shown = [int(c.split()[1]) for c in wr.choices]
        good = [f for f in shown if col[ref][f] >= 0.2]
        assert good == [int(wr.answer.split()[1])]
        assert all(col[ref][f] == 0.0 for f in shown if f != good[0])
        assert not set(shown) & set(vp["views"])
        assert q.text in wr.text
        # Deterministic.
        assert view_drop(q, ring, seed)[0].question == r
        assert which_view_resolves(v, ring, seed)[0].question == wr
    assert set(found) == {"10", "12"}  # the seed picks either referent


def test_view_drop_on_the_demo_and_choice_rows():
    s = geoenv.demo_scene(0)
    for q in get("depth_order").generate(s, 0, 3):
        assert view_drop(q, s, 0) == []  # frame-indexed: no view drop
    qs = get("object_distance").generate(s, 0, 20)
    rows = [v.question for q in qs for v in view_drop(q, s, 0)]
    assert len(rows) >= 10 and all(r.answer == UNANSWERABLE for r in rows)
    # A choice row gains the option (same rule for every choice template).
    c = qs[0].model_copy(update={"choices": ["1.00", "2.00"], "answer": "1.00"})
    (v,) = view_drop(c, s, 0)
    assert v.question.choices == ["1.00", "2.00", UNANSWERABLE]
    assert v.question.answer == UNANSWERABLE


# ---------------------------------------------------------------------------- degradations
@pytest.fixture(scope="module")
def frame_img():
    s = geoenv.demo_scene(0)
    r = render_frame(s, 9, downscale=2)
    k = s.frames[9].K.copy()
    k[:2] /= 2
    return r.rgb, r.depth, k


@pytest.mark.parametrize("kind", IMAGE_DEGRADATIONS)
def test_image_degradation_grows_with_severity(frame_img, kind):
    rgb, depth, k = frame_img
    changes = []
    for sev in range(1, 6):
        a = degrade_image(rgb, kind, sev, np.random.default_rng(5), depth=depth, K=k)
        b = degrade_image(rgb, kind, sev, np.random.default_rng(5), depth=depth, K=k)
        assert a.dtype == np.uint8 and a.shape == rgb.shape
        np.testing.assert_array_equal(a, b)  # deterministic for a seed
        changes.append(float(np.abs(a.astype(float) - rgb).mean()))
    assert changes[0] > 0.2, (kind, changes)
    assert all(y > x for x, y in itertools.pairwise(changes)), (kind, changes)


def test_degradation_errors(frame_img):
    rgb, depth, _ = frame_img
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="severity"):
        degrade_image(rgb, "haze", 6, rng, depth=depth)
    with pytest.raises(ValueError, match="depth"):
        degrade_image(rgb, "haze", 2, rng)
    with pytest.raises(ValueError, match="unknown image degradation"):
        degrade_image(rgb, "rain", 2, rng)


def test_haze_follows_the_depth(frame_img):
    """I = J t + A (1 - t), t = exp(-beta d): far pixels move further towards A."""
    rgb, depth, k = frame_img
    out = degrade_image(rgb, "haze", 3, np.random.default_rng(0), depth=depth, K=k).astype(float)
    t = np.exp(-0.25 * depth)[..., None]
    np.testing.assert_allclose(out, np.round(rgb * t + 220.0 * (1 - t)), atol=0.5)


def test_image_degradation_variant(ring):
    q = q_of(ring, "camera_distance", {"frame": 0, "a": "10"})
    (v,) = image_degradation(q, ring, seed=3, image_downscale=4)
    r = v.question
    assert r.variant == "degradation" and r.answer == q.answer and r.base_question_id == q.id
    vp = r.variant_params
    assert vp["type"] in IMAGE_DEGRADATIONS and 1 <= vp["severity"] <= 5 and vp["views"] == [0]
    assert list(v.files) == vp["images"]
    (again,) = image_degradation(q, ring, seed=3, image_downscale=4)
    assert again.question == r and again.files == v.files
    kinds = {image_degradation(q, ring, s, image_downscale=8)[0].question.id for s in range(6)}
    assert len(kinds) >= 4
    (h,) = image_degradation(q, ring, 3, kind="haze", severity=5, image_downscale=4)
    assert (
        h.question.variant_params["type"] == "haze" and h.question.variant_params["amount"] == 0.6
    )


def test_geometry_degradations(ring):
    q = q_of(ring, "camera_distance", {"frame": 0, "a": "10"})
    n0 = {o.id: len(o.points) for o in ring.objects.values()}
    for kind in GEOMETRY_DEGRADATIONS:
        for sev in (1, 5):
            a = degrade_points(ring, kind, sev, np.random.default_rng(1))
            b = degrade_points(ring, kind, sev, np.random.default_rng(1))
            assert a.content_hash() == b.content_hash()
            assert a.mesh is None and a.object_ids == ring.object_ids
    amount = GEOMETRY_SEVERITY["point_noise"][2]
    s = degrade_points(ring, "point_noise", 3, np.random.default_rng(1))
    d = s["10"].points - ring["10"].points
    assert d.std() == pytest.approx(amount, rel=0.05)
    s = degrade_points(ring, "point_dropout", 4, np.random.default_rng(1))
    kept = sum(len(o.points) for o in s.objects.values()) / sum(n0.values())
    assert kept == pytest.approx(1 - GEOMETRY_SEVERITY["point_dropout"][3], abs=0.02)
    s = degrade_points(ring, "voxel_downsample", 5, np.random.default_rng(1))
    for o in s.objects.values():
        cells = np.floor(o.points / GEOMETRY_SEVERITY["voxel_downsample"][4]).astype(int)
        assert len(np.unique(cells, axis=0)) == len(cells) < n0[o.id]
    angles = []
    for sev in (1, 5):
        s = degrade_points(ring, "pose_jitter", sev, np.random.default_rng(1))
        rel = [
            f.pose[:3, :3].T @ g.pose[:3, :3] for f, g in zip(ring.frames, s.frames, strict=True)
        ]
        angles.append(np.mean([np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1)) for r in rel]))
    assert 0 < angles[0] < angles[1]
    (v,) = geometry_degradation(q, ring, seed=2, kind="point_dropout", severity=2)
    assert v.question.answer == q.answer and v.question.variant == "degradation"
    (path,) = v.files
    assert path.endswith("cloud.npz") and v.question.variant_params["files"] == [path]
    with np.load(__import__("io").BytesIO(v.files[path])) as z:
        assert len(z["points"]) == sum(len(o.points) for o in v.scene.objects.values())
    assert geometry_degradation(q, ring, 2, "point_dropout", 2)[0].files == v.files
