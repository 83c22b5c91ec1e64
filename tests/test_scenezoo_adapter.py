"""Real datasets through scenezoo: fixtures in the real on-disk layouts (tests/scenezoo_fixtures),
loaded through geoenv.scenes.scenezoo_adapter (no mocks of scenezoo).

Tolerances: fixture meshes are stored as float32 PLY (like the releases), so object points agree
with the float64 room to 1e-6 m; camera poses go through float32 (.sens, JSON) to 1e-6.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scenezoo")

from scenezoo import DatasetCheckReport
from scenezoo_fixtures import (
    FRAME_INDICES,
    K640,
    OBJECTS,
    arkit_boxes,
    make_room,
    write_arkitscenes_root,
    write_multiscan_root,
    write_s3dis_root,
    write_scannet_root,
    write_scannetpp_root,
    write_scenenn_root,
    yaw_alignment,
)

from geoenv.errors import NonFiniteError, NonRigidPoseError, SceneFormatError
from geoenv.pipelines.job import JobConfig, process_scene, source_fingerprint
from geoenv.pipelines.manifest import read_manifest
from geoenv.scene import Scene, natural_key
from geoenv.scenes import load_scene
from geoenv.scenes.scannet import load_scannet
from geoenv.scenes.scenezoo_adapter import (
    MissingDataError,
    ScenezooUnavailableError,
    UnknownDatasetError,
    UnsupportedDatasetError,
    list_scenes,
    load_sample,
    load_scenezoo,
    parse_source,
    scene_files,
)
from geoenv.tasks import templates
from geoenv.tasks.generate import generate_scene

TOL_POINTS = 1e-6  # m: float32 storage of the releases
TOL_POSE = 1e-6
SCENE_TEMPLATES = [n for n, t in templates().items() if t.family == "scene"]
A = yaw_alignment()  # raw -> world: yaw 30 deg, then (2, -1.25, 0.5)


@pytest.fixture(scope="module")
def room():
    return make_room()


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory, room) -> dict[str, str]:
    """Every fixture dataset written once; name -> one-scene source."""
    d = tmp_path_factory.mktemp("zoo")
    write_scannet_root(room, d / "scannet", align=A, splits={"val": ["scene0007_00"]})
    write_scannetpp_root(room, d / "scannetpp", splits={"nvs_sem_val": ["0a5c013435"]})
    write_arkitscenes_root(room, d / "arkit")
    write_arkitscenes_root(room, d / "arkit_left", sky="Left")
    write_multiscan_root(room, d / "multiscan", align=A)
    write_s3dis_root(room, d / "s3dis")
    write_scenenn_root(room, d / "scenenn")
    write_scannet_root(room, d / "scannet_aligned")  # identity alignment
    write_multiscan_root(room, d / "multiscan_aligned")
    return {
        "root": str(d),
        "scannet": f"scenezoo:scannet:{d / 'scannet'}/scene0007_00",
        "scannetpp": f"scenezoo:scannet++:{d / 'scannetpp'}/0a5c013435",
        "arkitscenes": f"scenezoo:arkitscenes:{d / 'arkit'}/41000001",
        "arkit_left": f"scenezoo:arkitscenes:{d / 'arkit_left'}/41000001",
        "multiscan": f"scenezoo:multiscan:{d / 'multiscan'}/scene_00900_00",
        "s3dis": f"scenezoo:s3dis:{d / 's3dis'}/Area_1/office_1",
        "scenenn": f"scenezoo:scenenn:{d / 'scenenn'}/005",
        "scannet_aligned": f"scenezoo:scannetv2:{d / 'scannet_aligned'}/scene0007_00",
        "multiscan_aligned": f"scenezoo:multiscan:{d / 'multiscan_aligned'}/scene_00900_00",
    }


@pytest.fixture(scope="module")
def loaded(zoo) -> dict[str, Scene]:
    return {k: load_scene(v) for k, v in zoo.items() if k != "root"}


DATASETS = ["scannet", "scannetpp", "arkitscenes", "multiscan", "s3dis", "scenenn"]
# Object ids: the dataset's instance ids (ScanNet / MultiScan / SceneNN objectId = room id;
# ScanNet++ objectId = position in segGroups; ARKitScenes and S3DIS number their annotations).
ROOM_IDS = [1, 2, *OBJECTS]


def _id_map(name: str) -> dict[int, str]:
    """room instance id -> object id in the loaded scene."""
    if name in ("scannet", "multiscan", "scenenn"):
        return {k: str(k) for k in ROOM_IDS}
    if name == "scannetpp":
        return {k: str(i) for i, k in enumerate(ROOM_IDS)}
    if name == "s3dis":  # Annotations/<class>_<n>.txt numbered in natural file-name order
        count: dict[str, int] = {}
        stems = {}
        for k in ROOM_IDS:
            label = LABELS["s3dis"].get(_room_label(k), _room_label(k))
            count[label] = count.get(label, 0) + 1
            stems[k] = f"{label}_{count[label]}"
        order = sorted(stems.values(), key=natural_key)
        return {k: str(order.index(stem)) for k, stem in stems.items()}
    return {k: str(i) for i, k in enumerate(OBJECTS)}  # arkitscenes: objects only


def _room_label(k: int) -> str:
    return {1: "floor", 2: "wall"}.get(k) or OBJECTS[k][0]


LABELS = {
    "s3dis": {"cabinet": "bookcase", "lamp": "clutter", "tv": "board"},
    "arkitscenes": {"lamp": "stool", "tv": "tv_monitor"},
}


# ---------------------------------------------------------------------- loading
@pytest.mark.parametrize("name", DATASETS)
def test_objects_points_and_labels(loaded, room, name):
    s = loaded[name]
    ids = _id_map(name)
    assert s.object_ids == tuple(sorted(ids.values(), key=int))
    for k, oid in ids.items():
        obj = s[oid]
        assert obj.label == LABELS.get(name, {}).get(room.labels[k], room.labels[k])
        want = room.vertices[room.instance == k]
        got = obj.points
        assert got.shape == want.shape
        # same point set (the orders agree too: vertices keep their file order per object)
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL_POINTS)
    md = s.metadata
    assert md["source_format"].startswith("scenezoo:") and md["geometry"] == "points"
    assert md["source"] == str(parse_source(md["source"]))
    assert Path(md["source_path"]).is_dir()  # the scene's folder (caches live beside it)
    assert np.isfinite(s.points).all() and len(s.content_hash()) == 64
    assert s.summary()["objects"] == len(ids)


@pytest.mark.parametrize("name", ["scannet", "scannetpp", "arkitscenes", "multiscan"])
def test_frames(loaded, room, name):
    s = loaded[name]
    assert len(s.frames) == 4
    for f, pose in zip(s.frames, room.poses, strict=True):
        np.testing.assert_allclose(f.pose, pose, rtol=0, atol=TOL_POSE)
    f = s.frames[1]
    size, k = {
        "scannet": ((640, 480), K640),
        "multiscan": ((640, 480), K640),
        "scannetpp": ((1920, 1440), [[1500, 0, 959.5], [0, 1500, 719.5], [0, 0, 1]]),
        "arkitscenes": ((256, 192), [[212, 0, 127.5], [0, 212, 95.5], [0, 0, 1]]),
    }[name]
    assert (f.width, f.height) == size
    np.testing.assert_allclose(f.K, k, atol=1e-4)
    if name == "scannet":
        assert [g.index for g in s.frames] == FRAME_INDICES
        assert f.timestamp == pytest.approx(10 / 30)
        assert len(s.metadata["skipped_frames"]) == 37  # every -inf pose of the .sens
    if name == "arkitscenes":
        assert f.timestamp == pytest.approx(6845.1)
    # the cameras see the room: the table's centroid projects into every view
    assert all(g.in_frustum(s[_id_map(name)[5]].centroid[None])[0] for g in s.frames)


@pytest.mark.parametrize("name", ["arkitscenes", "multiscan"])
def test_official_boxes_kept_points_win(loaded, room, name):
    s = loaded[name]
    for k, oid in _id_map(name).items():
        if k not in room.boxes:
            continue
        c, size, r = room.boxes[k]
        box = s[oid].attributes["box"]
        assert "official" in box["source"]
        np.testing.assert_allclose(box["center"], c, atol=1e-5)
        np.testing.assert_allclose(box["size"], size + 0.02, atol=1e-5)
        np.testing.assert_allclose(np.asarray(box["rotation"]), r, atol=1e-5)
        # geoenv's own box comes from the points: the official one is 1 cm larger each side
        np.testing.assert_allclose(np.sort(s[oid].obb.size), np.sort(size), atol=1e-5)


def test_arkitscenes_instances_are_vertices_inside_official_boxes(loaded, room):
    s = loaded["arkitscenes"]
    assert "floor" not in s.labels  # no floor annotation in 3DOD: floor vertices are unlabelled
    assert int((s.instance < 0).sum()) == int((room.instance < 3).sum())
    assert s.floor_height == pytest.approx(0.0, abs=1e-6)


def test_arkitscenes_sky_direction_rolls_the_camera(loaded):
    """Sky 'Left': scenezoo turns images upright (270 deg): the view is 192 x 256 and a pixel
    (u, v) of the raw image moves to (191 - v, u); the world pose rolls accordingly."""
    up, left = loaded["arkitscenes"], loaded["arkit_left"]
    pts = np.array([o.centroid for o in up.objects.values()])
    for a, b in zip(up.frames, left.frames, strict=True):
        assert (b.width, b.height) == (192, 256)
        np.testing.assert_allclose(b.position, a.position, atol=1e-6)
        uv, z = a.project(pts)
        uv2, z2 = b.project(pts)
        np.testing.assert_allclose(z2, z, atol=1e-5)
        np.testing.assert_allclose(uv2, np.column_stack([191 - uv[:, 1], uv[:, 0]]), atol=1e-3)
    assert any("sky direction Left" in n for n in left.metadata["notes"])


def test_s3dis_and_scenenn_specifics(loaded):
    s3 = loaded["s3dis"]
    assert s3.id == "Area_1__office_1" and s3.metadata["sample_id"] == "Area_1/office_1"
    assert s3.frames == [] and s3.mesh is None and s3.colors.dtype == np.uint8
    nn = loaded["scenenn"]
    assert any("y-up" in n for n in nn.metadata["notes"])
    assert int((nn.instance < 0).sum()) == 36  # the unlabelled patch (colour in no <label>)


@pytest.mark.parametrize("name", DATASETS)
def test_every_scene_template_yields_questions(loaded, name):
    s = loaded[name]
    res = generate_scene(s, seed=0, per_template=3, names=SCENE_TEMPLATES)
    assert res.failures == []
    # Every scene template can ask something on this room (the lamp and the tv are elevated,
    # the lamp stands on the table, there are 5 unique categories and a floor), except those
    # that need frames on the datasets without any (S3DIS, SceneNN).
    able = [n for n in SCENE_TEMPLATES if s.frames or "frames" not in templates()[n].inputs]
    assert len(able) >= 10
    assert sorted(res.counts()) == sorted(able), set(able) - set(res.counts())


# ---------------------------------------------------------------------- one code path: ScanNet
def test_scannet_both_loaders_agree(zoo):
    """The same ScanNet scan through geoenv's loader (exported pose/ files) and through
    scenezoo (.sens): objects, labels, point sets, boxes, poses. Tolerance: 1e-6 m for
    points and boxes (scenezoo parses axisAlignment as float32: observed 9e-8 m), 1e-6 for
    pose entries (.sens and the exports hold the same float32 poses: observed 3e-7)."""
    scan = Path(zoo["root"]) / "scannet" / "scans" / "scene0007_00"
    ours = load_scannet(scan)
    zs = load_scenezoo(zoo["scannet"], boxes="all")
    assert ours.id == zs.id and ours.object_ids == zs.object_ids and ours.labels == zs.labels
    for oid in ours.object_ids:
        a, b = ours[oid], zs[oid]
        np.testing.assert_allclose(b.points, a.points, rtol=0, atol=TOL_POINTS)
        np.testing.assert_allclose(b.aabb.min, a.aabb.min, atol=TOL_POINTS)
        np.testing.assert_allclose(b.aabb.max, a.aabb.max, atol=TOL_POINTS)
        np.testing.assert_allclose(b.obb.center, a.obb.center, atol=TOL_POINTS)
        np.testing.assert_allclose(b.obb.size, a.obb.size, atol=TOL_POINTS)
        # scenezoo's own gravity-aligned box (fitted to the same vertices) is geoenv's box
        fitted = b.attributes["box"]
        assert fitted["source"].startswith("scenezoo:mobb_gravity")
        np.testing.assert_allclose(fitted["center"], a.obb.center, atol=1e-6)
        np.testing.assert_allclose(np.sort(fitted["size"][:2]), np.sort(a.obb.size[:2]), atol=1e-6)
        assert fitted["size"][2] == pytest.approx(a.obb.size[2], abs=1e-6)
    np.testing.assert_array_equal(zs.instance, ours.instance)
    np.testing.assert_array_equal(zs.colors, ours.colors)
    np.testing.assert_array_equal(zs.mesh.faces, ours.mesh.faces)
    np.testing.assert_array_equal(zs.mesh_face_instance, ours.mesh_face_instance)
    assert [f.index for f in zs.frames] == [f.index for f in ours.frames] == FRAME_INDICES
    assert zs.metadata["skipped_frames"] == ours.metadata["skipped_frames"]
    for f, g in zip(ours.frames, zs.frames, strict=True):
        np.testing.assert_allclose(g.pose, f.pose, rtol=0, atol=TOL_POSE)
        np.testing.assert_array_equal(g.K, f.K)
        assert (g.width, g.height, g.timestamp) == (f.width, f.height, f.timestamp)
    np.testing.assert_allclose(zs.metadata["axis_alignment"], A, atol=1e-6)
    # ... and the same questions and answers
    qa = generate_scene(ours, 0, 4, SCENE_TEMPLATES).questions
    qb = generate_scene(zs, 0, 4, SCENE_TEMPLATES).questions
    assert [(q.id, q.answer) for q in qa] == [(q.id, q.answer) for q in qb] and len(qa) > 20


# ---------------------------------------------------------------------- metamorphic
@pytest.mark.parametrize("name", ["scannet", "multiscan"])
def test_rotated_raw_frame_with_alignment_gives_the_same_questions(loaded, name):
    """Written in a raw frame (yaw 30 deg + translation) with its alignment file, vs written
    already aligned (identity alignment): the same questions with the same answers."""
    raw, aligned = loaded[name], loaded[f"{name}_aligned"]
    assert not np.allclose(raw.metadata["axis_alignment"], np.eye(4))
    assert np.allclose(aligned.metadata["axis_alignment"], np.eye(4))
    qa = generate_scene(raw, 0, 5).questions
    qb = generate_scene(aligned, 0, 5).questions
    assert len(qa) > 40
    assert [(q.id, q.answer) for q in qa] == [(q.id, q.answer) for q in qb]
    va = np.array([q.answer_value or 0.0 for q in qa])
    vb = np.array([q.answer_value or 0.0 for q in qb])
    np.testing.assert_allclose(va, vb, atol=1e-4)


# ---------------------------------------------------------------------- sources and manifests
def test_source_syntax_and_manifest(zoo, room, tmp_path):
    d = Path(zoo["root"])
    root = d / "scannet"
    src = parse_source(f"scenezoo:scannet:{root}/scene0007_00")
    assert (src.dataset, src.root, src.split, src.scene_id) == (
        "scannetv2",
        root,
        None,
        "scene0007_00",
    )
    assert parse_source(f"scenezoo:scannetv2:{root}@val").split == "val"
    s3 = parse_source(f"scenezoo:stanford3d:{d / 's3dis'}/Area_1/office_1")
    assert (s3.dataset, s3.root, s3.scene_id) == ("s3dis", d / "s3dis", "Area_1/office_1")
    # relative roots resolve against the manifest's folder
    rel = parse_source("scenezoo:scannet:scannet/scene0007_00", base=d)
    assert rel.root == root
    # a second scene: the whole dataset expands to both, naturally sorted
    two = tmp_path / "scannet"
    for sid in ("scene0010_00", "scene0002_00"):
        write_scannet_root(
            room, two, sid, sens=False, exports=False, splits={"val": ["scene0010_00"]}
        )
    srcs = read_manifest(f"scenezoo:scannet:{two}")
    assert srcs == [
        f"scenezoo:scannetv2:{two}/scene0002_00",
        f"scenezoo:scannetv2:{two}/scene0010_00",
    ]
    assert read_manifest(f"scenezoo:scannet:{two}@val") == [
        f"scenezoo:scannetv2:{two}@val/scene0010_00"
    ]
    m = tmp_path / "m.txt"
    m.write_text("# datasets\nscenezoo:scannet:scannet@val\ndemo:3\n")
    assert read_manifest(str(m)) == ["demo:3", f"scenezoo:scannetv2:{two}@val/scene0010_00"]
    assert load_scene(srcs[0]).id == "scene0002_00"
    assert load_sample("scannet", two, "scene0010_00", frames=False).id == "scene0010_00"
    assert load_scene(f"scenezoo:scannet:{two}@val/scene0010_00").id == "scene0010_00"
    with pytest.raises(SceneFormatError, match=r"names 2 scenes; add /<scene_id>"):
        load_scene(f"scenezoo:scannet:{two}")
    # fingerprints follow the scene's files
    files = scene_files(srcs[0])
    assert [f.name for f in files] == [
        "scene0002_00.aggregation.json",
        "scene0002_00.txt",
        "scene0002_00_vh_clean_2.0.010000.segs.json",
        "scene0002_00_vh_clean_2.ply",
    ]
    fp = source_fingerprint(srcs[0])
    assert fp == source_fingerprint(srcs[0])


def test_pipeline_records_a_missing_scene_and_goes_on(zoo, tmp_path):
    root = _copy(zoo, "scannet", tmp_path)
    (root / "scannetv2_train.txt").write_text("scene0007_00\nscene0099_00\n")
    srcs = read_manifest(f"scenezoo:scannet:{root}@train")
    assert [s.rpartition("/")[2] for s in srcs] == ["scene0007_00", "scene0099_00"]
    cfg = JobConfig(out=str(tmp_path / "out"), per_template=2, templates=["object_count"])
    ok, bad = (process_scene(s, cfg) for s in srcs)
    assert ok.status == "ok" and ok.rows > 0
    assert bad.status == "failed" and bad.error.startswith("MissingDataError")
    assert "scene0099_00_vh_clean_2.ply [mesh]" in bad.error
    assert "missing-requested-scenes" in bad.error  # scenezoo's check report


# ---------------------------------------------------------------------- bad inputs
def _copy(zoo, name: str, tmp_path: Path) -> Path:
    src = Path(zoo["root"]) / name
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def test_missing_aggregation_file(zoo, tmp_path):
    root = _copy(zoo, "scannet", tmp_path)
    agg = root / "scans/scene0007_00/scene0007_00.aggregation.json"
    agg.unlink()
    with pytest.raises(MissingDataError) as ei:
        load_scene(f"scenezoo:scannet:{root}/scene0007_00")
    e = ei.value
    assert isinstance(e, SceneFormatError)
    assert e.path == str(agg) and e.field == "aggregation"
    assert "segGroups" in e.expected
    assert isinstance(e.report, DatasetCheckReport)
    assert f"{agg} [aggregation]: missing file" in str(e) and "scenezoo check report" in str(e)


def test_segmentation_length_disagrees_with_mesh(zoo, tmp_path):
    root = _copy(zoo, "scannet", tmp_path)
    segs = root / "scans/scene0007_00/scene0007_00_vh_clean_2.0.010000.segs.json"
    doc = json.loads(segs.read_text())
    doc["segIndices"] = doc["segIndices"][:-1]
    segs.write_text(json.dumps(doc))
    with pytest.raises(SceneFormatError, match=r"\[segIndices\]: has 4138 entries but") as ei:
        load_scene(f"scenezoo:scannet:{root}/scene0007_00")
    assert ei.value.path == str(segs)
    with pytest.raises(SceneFormatError, match=r"segIndices"):  # geoenv's loader agrees
        load_scannet(segs.parent)


def test_box_with_nan(zoo, room, tmp_path):
    boxes = arkit_boxes(room)
    label, c, s, r = boxes[2]
    boxes[2] = (label, np.array([c[0], np.nan, c[2]]), s, r)
    d = write_arkitscenes_root(room, tmp_path / "arkit", boxes=boxes)
    with pytest.raises(NonFiniteError) as ei:
        load_scene(f"scenezoo:arkitscenes:{tmp_path / 'arkit'}/41000001")
    assert ei.value.path == str(d / "41000001_3dod_annotation.json")
    assert ei.value.field == "data[2].segments.obbAligned.centroid"


def test_unknown_and_unsupported_dataset_names(zoo):
    root = Path(zoo["root"]) / "scannet"
    with pytest.raises(UnknownDatasetError) as ei:
        load_scene(f"scenezoo:scannnet:{root}/scene0007_00")
    assert ei.value.field == "dataset" and "'scannnet'" in str(ei.value)
    assert "scannetv2" in str(ei.value)  # the known names are listed
    with pytest.raises(UnsupportedDatasetError, match="geoenv reads: scannetv2"):
        read_manifest(f"scenezoo:matterport3d:{root}")


def test_offline_split_and_metadata_errors(zoo, tmp_path):
    root = Path(zoo["root"]) / "scannet"
    with pytest.raises(MissingDataError, match=r"scannetv2_test\.txt \[split\]"):
        list_scenes(f"scenezoo:scannet:{root}@test")
    ark = _copy(zoo, "arkit", tmp_path)
    (ark / "raw/metadata.csv").unlink()
    with pytest.raises(MissingDataError) as ei:
        load_scene(f"scenezoo:arkitscenes:{ark}/41000001")
    assert ei.value.field == "metadata" and ei.value.path.endswith("metadata.csv")
    with pytest.raises(MissingDataError, match=r"\[root\]: neither this path nor a parent"):
        load_scene(f"scenezoo:scannet:{tmp_path / 'nowhere'}/scene0000_00")
    with pytest.raises(SceneFormatError, match=r"\[split\]: SceneNN has no official splits"):
        list_scenes(f"scenezoo:scenenn:{Path(zoo['root']) / 'scenenn'}@train")


def test_non_rigid_alignment(zoo, tmp_path):
    root = _copy(zoo, "scannet", tmp_path)
    info = root / "scans/scene0007_00/scene0007_00.txt"
    lines = info.read_text().splitlines()
    lines[0] = "axisAlignment = 2 0 0 0 0 2 0 0 0 0 2 0 0 0 0 1"
    info.write_text("\n".join(lines) + "\n")
    with pytest.raises(NonRigidPoseError, match=r"scene0007_00\.txt \[axisAlignment\]"):
        load_scene(f"scenezoo:scannet:{root}/scene0007_00")


def test_label_space_nyu40(zoo, tmp_path):
    root = _copy(zoo, "scannet", tmp_path)
    src = f"scenezoo:scannet:{root}/scene0007_00"
    with pytest.raises(MissingDataError, match=r"\[label_map\]"):
        load_scenezoo(src, label_space="nyu40", frames=False)
    rows = [(n, n) for n in ("chair", "table", "sofa", "cabinet", "lamp", "floor", "wall")]
    rows.append(("tv", "television"))
    tsv = "id\traw_category\tcategory\tcount\tnyu40id\tnyu40class\n" + "".join(
        f"{i}\t{raw}\t{raw}\t1\t{i}\t{nyu}\n" for i, (raw, nyu) in enumerate(rows, 1)
    )
    (root / "scannetv2-labels.combined.tsv").write_text(tsv)
    s = load_scenezoo(src, label_space="nyu40", frames=False)
    assert s["9"].label == "television" and s.frames == []
    with pytest.raises(SceneFormatError, match=r"\[label_space\]: scannetv2 offers"):
        load_scenezoo(src, label_space="coco")


def test_geoenv_works_without_scenezoo(zoo):
    code = (
        "import sys; sys.modules['scenezoo'] = None\n"
        "import geoenv\n"
        "from geoenv.scenes import scenezoo_adapter\n"
        "assert geoenv.load_scene('demo:1').objects\n"
        "try:\n"
        f"    geoenv.load_scene({zoo['scannet']!r})\n"
        "except scenezoo_adapter.ScenezooUnavailableError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "geoenv[datasets]" in out.stdout
    assert issubclass(ScenezooUnavailableError, ImportError)
    code = "import sys, geoenv.scenes.scenezoo_adapter; print('scenezoo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_official_split_names(zoo):
    d = Path(zoo["root"])
    assert list_scenes(f"scenezoo:arkitscenes:{d / 'arkit'}@train_threedod") == [
        f"scenezoo:arkitscenes:{d / 'arkit'}@train_threedod/41000001"
    ]
    assert list_scenes(f"scenezoo:arkitscenes:{d / 'arkit'}@val_raw") == []
    assert list_scenes(f"scenezoo:s3dis:{d / 's3dis'}@area_1") == [
        f"scenezoo:s3dis:{d / 's3dis'}@area_1/Area_1/office_1"
    ]
    assert load_scene(f"scenezoo:s3dis:{d / 's3dis'}@area_1/Area_1/office_1").id == (
        "Area_1__office_1"
    )
    assert list_scenes(f"scenezoo:scannet++:{d / 'scannetpp'}@nvs_sem_val") == [
        f"scenezoo:scannetppv2:{d / 'scannetpp'}@nvs_sem_val/0a5c013435"
    ]
    with pytest.raises(SceneFormatError, match=r"\[split\]: Unknown split 'nvs_test'"):
        list_scenes(f"scenezoo:scannet++:{d / 'scannetpp'}@nvs_test")


def test_cli_inspect_and_generate(zoo, tmp_path):
    from typer.testing import CliRunner

    from geoenv.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["inspect", zoo["arkitscenes"], "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["id"] == "41000001" and data["objects"] == 7 and data["frames"] == 4
    root = Path(zoo["root"]) / "scannet"
    out = tmp_path / "rel"
    args = ["generate", f"scenezoo:scannet:{root}", "--out", str(out), "--quiet"]
    res = runner.invoke(app, [*args, "--templates", "object_count,room_size"])
    assert res.exit_code == 0, res.output
    assert (out / "failures.jsonl").read_text() == ""
    assert len(list((out / "data").rglob("scene0007_00.parquet"))) == 1
