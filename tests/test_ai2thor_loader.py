"""AI2-THOR event metadata and ProcTHOR house loaders (Unity y-up left-handed -> z-up world)."""

from __future__ import annotations

import copy
import json
import sys

import numpy as np
import pytest

from geoenv.errors import InvalidGeometryError, NonFiniteError, SceneFormatError
from geoenv.scenes import detect_format, load_scene, loaders
from geoenv.scenes.ai2thor import fit_box_corners, from_event, unity_euler_matrix
from geoenv.transforms import rot_z

C30, S30 = np.cos(np.radians(30)), np.sin(np.radians(30))


def _v(x, y, z):
    return {"x": x, "y": y, "z": z}


def _aabb_obj(oid="Mug|+01.00|+00.50|+02.00", otype="Mug", center=(1, 0.5, 2), size=(0.2, 1, 0.4)):
    c, s = np.asarray(center, float), np.asarray(size, float)
    corners = [list(c + np.array(sg) * s / 2) for sg in np.ndindex(2, 2, 2)]
    return {
        "objectId": oid,
        "objectType": otype,
        "name": "Mug_1",
        "position": _v(*center),
        "rotation": _v(0, 90, 0),
        "visible": True,
        "openable": False,
        "parentReceptacles": ["CounterTop|1"],
        "axisAlignedBoundingBox": {
            "cornerPoints": corners,
            "center": _v(*center),
            "size": _v(*size),
        },
        "objectOrientedBoundingBox": None,
    }


def _oob_corners(center=(3, 0.5, -1), size=(2, 1, 0.5), yaw=30.0, order=None):
    """Unity corner points of a box rotated by Unity yaw ``yaw`` (degrees)."""
    local = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * (
        np.asarray(size) / 2
    )
    pts = local @ unity_euler_matrix([0, yaw, 0]).T + np.asarray(center)
    if order is not None:
        pts = pts[order]
    return pts.tolist()


def _oob_obj(**kw):
    o = _aabb_obj("Box|1", "Box", center=(3, 0.5, -1), size=(2.2, 1, 1.5))
    o["rotation"] = _v(0, 30, 0)
    o["objectOrientedBoundingBox"] = {"cornerPoints": _oob_corners(order=[3, 6, 0, 7, 1, 4, 2, 5])}
    o.update(kw)
    return o


def _meta(objects=None, rot_y=0.0, horizon=0.0, camera=(1.0, 1.5, 2.0), **extra):
    m = {
        "sceneName": "FloorPlan28",
        "objects": [_aabb_obj(), _oob_obj()] if objects is None else objects,
        "agent": {
            "name": "agent",
            "position": _v(camera[0], 0.9009992, camera[2]),
            "rotation": _v(0, rot_y, 0),
            "cameraHorizon": horizon,
            "isStanding": True,
        },
        "cameraPosition": _v(*camera),
        "fov": 90,
        "screenWidth": 300,
        "screenHeight": 300,
        "lastAction": "MoveAhead",
        "lastActionSuccess": True,
    }
    m.update(extra)
    return m


def _write(tmp_path, data, name="meta.json"):
    f = tmp_path / name
    f.write_text(json.dumps(data))
    return f


class FakeEvent:
    def __init__(self, metadata):
        self.metadata = metadata


# ---------------------------------------------------------------------------- cameras
@pytest.mark.parametrize(
    ("rot_y", "horizon", "forward", "right"),
    [
        (0, 0, [0, 1, 0], [1, 0, 0]),  # unity +z = world +y; right = world +x
        (90, 0, [1, 0, 0], [0, -1, 0]),  # unity +x = world +x
        (180, 0, [0, -1, 0], [-1, 0, 0]),
        (-90, 0, [-1, 0, 0], [0, 1, 0]),
        (0, 30, [0, C30, -S30], [1, 0, 0]),  # positive horizon looks down
        (90, -30, [C30, 0, S30], [0, -1, 0]),
    ],
)
def test_agent_camera_pose(tmp_path, rot_y, horizon, forward, right):
    scene = load_scene(_write(tmp_path, _meta(rot_y=rot_y, horizon=horizon)))
    (f,) = scene.frames
    np.testing.assert_allclose(f.forward, forward, atol=1e-12)
    np.testing.assert_allclose(f.pose[:3, 0], right, atol=1e-12)  # OpenCV x: image right
    assert f.pose[2, 1] <= 1e-12  # OpenCV y (image down) never points up
    assert np.linalg.det(f.pose[:3, :3]) == pytest.approx(1.0)
    np.testing.assert_allclose(f.position, [1.0, 2.0, 1.5])  # (x, y, z)_u -> (x, z, y)_w


def test_intrinsics_and_frame_extras(tmp_path):
    scene = load_scene(_write(tmp_path, _meta(fov=60, screenWidth=400, screenHeight=300)))
    (f,) = scene.frames
    fy = 150 / np.tan(np.radians(30))
    np.testing.assert_allclose(f.K, [[fy, 0, 200], [0, fy, 150], [0, 0, 1]])
    assert (f.width, f.height) == (400, 300)
    assert f.extras["lastAction"] == "MoveAhead" and f.extras["agent_yaw_deg"] == 0.0
    scene = load_scene(_write(tmp_path, _meta()), fov=90, width=600, height=300)
    np.testing.assert_allclose(scene.frames[0].K, [[150, 0, 300], [0, 150, 150], [0, 0, 1]])
    assert scene.id == "meta" and scene.metadata["scene_name"] == "FloorPlan28"


def test_missing_camera_fields_use_documented_defaults(tmp_path):
    m = _meta()
    for k in ("cameraPosition", "fov", "screenWidth", "screenHeight"):
        del m[k]
    scene = load_scene(_write(tmp_path, m))
    (f,) = scene.frames
    np.testing.assert_allclose(f.position, [1.0, 2.0, 0.9009992 + 0.675])
    np.testing.assert_allclose(f.K, [[150, 0, 150], [0, 150, 150], [0, 0, 1]])
    notes = " | ".join(scene.metadata["notes"])
    assert "no cameraPosition" in notes and "300x300" in notes
    m["agent"]["isStanding"] = False
    (f,) = load_scene(_write(tmp_path, m)).frames
    np.testing.assert_allclose(f.position, [1.0, 2.0, 0.9009992])


# ---------------------------------------------------------------------------- objects
def test_axis_aligned_object_converted(tmp_path):
    f = _write(tmp_path, _meta())
    assert detect_format(f) == "ai2thor"
    scene = load_scene(f)
    assert scene.metadata["source_format"] == "ai2thor"
    mug = scene["Mug|+01.00|+00.50|+02.00"]
    assert mug.label == "Mug"
    # centre (1, 0.5, 2)_u -> (1, 2, 0.5)_w; size (0.2, 1, 0.4)_u -> (0.2, 0.4, 1)_w
    np.testing.assert_allclose(mug.aabb.min, [0.9, 1.8, 0.0], atol=1e-12)
    np.testing.assert_allclose(mug.aabb.max, [1.1, 2.2, 1.0], atol=1e-12)
    np.testing.assert_allclose(mug.centroid, [1, 2, 0.5], atol=1e-9)
    box = mug.attributes["box"]
    np.testing.assert_allclose(box["size"], [0.2, 0.4, 1.0])
    assert box["source"] == "axisAlignedBoundingBox"
    assert mug.attributes["rotation"] == -90.0  # unity yaw 90 -> world yaw -90
    np.testing.assert_allclose(mug.attributes["rotation_matrix"], rot_z(-np.pi / 2), atol=1e-12)
    assert mug.attributes["position"] == [1.0, 2.0, 0.5]
    assert mug.attributes["position_unity"] == _v(1.0, 0.5, 2.0)
    assert mug.attributes["parentReceptacles"] == ["CounterTop|1"]
    assert mug.attributes["openable"] is False and mug.attributes["visible"] is True
    # Points lie on the box surface, spaced by about 2 cm.
    local = np.abs(mug.points - [1, 2, 0.5]) - [0.1, 0.2, 0.5]
    assert np.all(np.isclose(local, 0, atol=1e-9).any(axis=1))


def test_oriented_box_fitted_from_shuffled_corners(tmp_path):
    scene = load_scene(_write(tmp_path, _meta()), spacing=0.05)
    box = scene["Box|1"]
    b = box.attributes["box"]
    assert b["source"] == "objectOrientedBoundingBox"
    np.testing.assert_allclose(b["center"], [3, -1, 0.5], atol=1e-9)
    r = np.asarray(b["rotation"])
    assert np.linalg.det(r) == pytest.approx(1.0)
    size = np.asarray(b["size"])
    assert sorted(size) == pytest.approx([0.5, 1.0, 2.0])
    up = int(np.argmax(np.abs(r[2])))  # the box axis along world z is the Unity height
    assert size[up] == pytest.approx(1.0)
    long_axis = r[:, int(np.argmax(size))]
    # Unity local x under yaw 30 -> (cos30, 0, -sin30)_u -> (cos30, -sin30, 0)_w
    assert abs(long_axis @ [C30, -S30, 0]) == pytest.approx(1.0)
    np.testing.assert_allclose(box.obb.size, [2.0, 0.5, 1.0], atol=1e-9)
    assert box.obb.yaw == pytest.approx(np.radians(150))  # -30 deg mod 180
    assert box.attributes["rotation"] == -30.0


def test_fit_box_degenerate_and_rejects():
    flat = np.array(_oob_corners(size=(1, 0, 2), yaw=0))
    _, s, r = fit_box_corners(flat[:, [0, 2, 1]], "x.json", "f")
    assert sorted(s) == pytest.approx([0, 1, 2]) and np.linalg.det(r) == pytest.approx(1)
    sheared = np.array(_oob_corners(yaw=0))
    sheared[:, 0] += 0.3 * sheared[:, 1]
    with pytest.raises(SceneFormatError, match=r"x\.json \[f\]: .*not the corners of a box"):
        fit_box_corners(sheared, "x.json", "f")


def test_zero_size_box_kept_and_noted(tmp_path):
    flat = _aabb_obj("Painting|1", "Painting", center=(0, 1.5, 0), size=(1.0, 0.5, 0.0))
    scene = load_scene(_write(tmp_path, _meta(objects=[flat])))
    p = scene["Painting|1"]
    np.testing.assert_allclose(np.ptp(p.points, axis=0), [1.0, 0.0, 0.5], atol=1e-12)
    assert any("zero-size" in n and "Painting|1" in n for n in scene.metadata["notes"])


@pytest.mark.parametrize(
    ("mutate", "err", "pattern"),
    [
        (lambda m: m["objects"][0]["position"].update(x=float("nan")), NonFiniteError,
         r"\[objects\[0\]\.position\.x\]"),
        (lambda m: m["objects"][1]["objectOrientedBoundingBox"]["cornerPoints"][2].__setitem__(
            0, 9.0), SceneFormatError,
         r"\[objects\[1\]\.objectOrientedBoundingBox\.cornerPoints\]: .*not the corners of a box"),
        (lambda m: m["objects"][1]["objectOrientedBoundingBox"]["cornerPoints"].pop(),
         SceneFormatError,
         r"\[objects\[1\]\.objectOrientedBoundingBox\.cornerPoints\]: expected 8 corner"),
        (lambda m: m["objects"][0].pop("objectId"), SceneFormatError,
         r"\[objects\[0\]\.objectId\]"),
        (lambda m: m["agent"].update(cameraHorizon=float("inf")), NonFiniteError,
         r"\[agent\.cameraHorizon\]"),
        (lambda m: m["objects"][0]["axisAlignedBoundingBox"]["size"].update(y=-1), SceneFormatError,
         r"\[objects\[0\]\.axisAlignedBoundingBox\.size\]: negative"),
        (lambda m: m["objects"].append(copy.deepcopy(m["objects"][0])), SceneFormatError,
         r"\[objects\[2\]\.objectId\]: duplicate"),
        (lambda m: m.update(fov=180), SceneFormatError, r"\[fov\]"),
    ],
)  # fmt: skip
def test_malformed_metadata(tmp_path, mutate, err, pattern):
    m = _meta()
    mutate(m)
    f = _write(tmp_path, m, "bad.json")
    with pytest.raises(err, match=pattern) as exc:
        load_scene(f, format="ai2thor")
    assert "bad.json" in str(exc.value)


def test_invalid_json(tmp_path):
    f = tmp_path / "broken.json"
    f.write_text('{"objects": [], "agent": ')
    with pytest.raises(SceneFormatError, match=r"broken\.json: invalid JSON"):
        load_scene(f, format="ai2thor")


# ---------------------------------------------------------------------------- trajectories
def test_trajectory_list_and_events(tmp_path):
    e0 = _meta(rot_y=0)
    e1 = _meta(rot_y=90, camera=(2.0, 1.5, 2.0))
    e1["objects"] = [copy.deepcopy(e0["objects"][1])]  # the mug is gone
    e1["objects"][0]["position"]["x"] = 3.5  # the box moved
    for data in ([e0, e1], {"events": [e0, e1]}):
        f = _write(tmp_path, data, "traj.json")
        assert detect_format(f) == "ai2thor"
        scene = load_scene(f)
        assert len(scene.objects) == 2 and scene.metadata["n_events"] == 2
        assert [fr.index for fr in scene.frames] == [0, 1]
        np.testing.assert_allclose(scene.frames[1].forward, [1, 0, 0], atol=1e-12)
        np.testing.assert_allclose(scene.frames[1].position, [2, 2, 1.5])
        notes = " | ".join(scene.metadata["notes"])
        assert "event 1: object set differs" in notes and "Mug|+01.00|+00.50|+02.00" in notes
        assert "event 1: objects moved since event 0: Box|1" in notes
    bad = {"events": [e0, {"objects": [], "agent": {"position": _v(0, 0, 0)}}]}
    with pytest.raises(SceneFormatError, match=r"\[events\[1\]\.agent\.rotation\]"):
        load_scene(_write(tmp_path, bad, "bad.json"), format="ai2thor")


def test_from_event_duck_typed():
    scene = from_event(FakeEvent(_meta(rot_y=90)))
    assert scene.id == "FloorPlan28" and set(scene.objects) == {"Box|1", "Mug|+01.00|+00.50|+02.00"}
    np.testing.assert_allclose(scene.frames[0].forward, [1, 0, 0], atol=1e-12)
    two = from_event([FakeEvent(_meta()), FakeEvent(_meta(rot_y=180))])
    assert len(two.frames) == 2
    with pytest.raises(SceneFormatError, match="metadata"):
        from_event(object())
    assert "ai2thor" not in sys.modules  # never imported


# ---------------------------------------------------------------------------- ProcTHOR
def _house(**kw):
    h = {
        "id": "house_0",
        "rooms": [
            {
                "id": "room|2",
                "roomType": "LivingRoom",
                "floorPolygon": [_v(0, 0, 0), _v(2, 0, 0), _v(2, 0, 3), _v(0, 0, 3)],
            }
        ],
        "walls": [
            {
                "id": "wall|2|0.00|0.00|2.00|0.00",
                "roomId": "room|2",
                "polygon": [_v(0, 0, 0), _v(2, 0, 0), _v(2, 2.5, 0), _v(0, 2.5, 0)],
            }
        ],
        "objects": [
            {
                "id": "Sofa|2|0",
                "assetId": "Sofa_1",
                "position": _v(1, 0.4, 2),
                "rotation": _v(0, 90, 0),
                "kinematic": True,
                "children": [
                    {
                        "id": "Book|surface|2|1",
                        "assetId": "Book_3",
                        "position": _v(1.2, 0.85, 2.1),
                        "rotation": _v(0, 0, 0),
                    }
                ],
            }
        ],
        "doors": [{"id": "door|1", "assetId": "Doorway_1", "wall0": "wall|2|0.00|0.00|2.00|0.00"}],
        "windows": [],
    }
    h.update(kw)
    return h


def test_procthor_floors_walls_and_placements(tmp_path):
    f = _write(tmp_path, _house(), "house.json")
    assert detect_format(f) == "procthor"
    assert not loaders()["ai2thor"].sniff(f)
    scene = load_scene(f)
    assert scene.metadata["source_format"] == "procthor"
    floor = scene["room|2"]
    assert floor.label == "floor" and floor.attributes["roomType"] == "LivingRoom"
    assert len(floor.points) == 41 * 61  # 2 m x 3 m on a 0.05 m grid, corners included
    np.testing.assert_allclose(floor.aabb.min, [0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(floor.aabb.max, [2, 3, 0], atol=1e-12)
    wall = scene["wall|2|0.00|0.00|2.00|0.00"]
    assert wall.label == "wall" and len(wall.points) == 41 * 51
    np.testing.assert_allclose(wall.aabb.min, [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(wall.aabb.max, [2, 0, 2.5], atol=1e-9)
    assert scene.floor_height == 0.0
    placements = {p["id"]: p for p in scene.metadata["object_placements"]}
    sofa, book = placements["Sofa|2|0"], placements["Book|surface|2|1"]
    assert sofa["position"] == [1.0, 2.0, 0.4] and sofa["yaw_deg"] == -90.0
    assert sofa["label"] == "Sofa" and sofa["kinematic"] is True and sofa["parent"] is None
    assert book["parent"] == "Sofa|2|0" and book["field"] == "objects[0].children[0]"
    assert "Sofa|2|0" not in scene.objects
    notes = " | ".join(scene.metadata["notes"])
    assert "asset database" in notes and "1 doors" in notes
    assert scene.metadata["doors"][0]["id"] == "door|1"


def test_procthor_asset_sizes_build_boxes(tmp_path):
    f = _write(tmp_path, _house(), "house.json")
    scene = load_scene(f, asset_sizes={"Sofa_1": (2.0, 0.8, 1.0)}, spacing=0.05)
    sofa = scene["Sofa|2|0"]
    assert sofa.label == "Sofa" and sofa.attributes["rotation"] == -90.0
    # size (2, 0.8, 1)_u -> (2, 1, 0.8) in the box frame; yaw -90 swaps x and y extents.
    np.testing.assert_allclose(sofa.aabb.min, [0.5, 1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(sofa.aabb.max, [1.5, 3.0, 0.8], atol=1e-9)
    np.testing.assert_allclose(sofa.attributes["box"]["size"], [2.0, 1.0, 0.8])
    assert "Book|surface|2|1" not in scene.objects
    assert any("missing from asset_sizes" in n and "Book" in n for n in scene.metadata["notes"])
    both = load_scene(f, asset_sizes={"Sofa_1": _v(2, 0.8, 1), "Book_3": [0.2, 0.05, 0.3]})
    np.testing.assert_allclose(both["Book|surface|2|1"].centroid, [1.2, 2.1, 0.85], atol=1e-9)


@pytest.mark.parametrize(
    ("mutate", "err", "pattern"),
    [
        (lambda h: h["rooms"][0]["floorPolygon"].__delitem__(slice(2, None)), InvalidGeometryError,
         r"\[rooms\[0\]\.floorPolygon\]: polygon needs at least 3"),
        (lambda h: h["rooms"][0].update(floorPolygon=[_v(0, 0, 0), _v(2, 0, 3), _v(2, 0, 0),
                                                      _v(0, 0, 3)]),
         InvalidGeometryError, r"\[rooms\[0\]\.floorPolygon\]: invalid polygon"),
        (lambda h: h["walls"][0]["polygon"][2].update(z=0.5), InvalidGeometryError,
         r"\[walls\[0\]\.polygon\]: wall polygon is not planar"),
        (lambda h: h["walls"][0]["polygon"][1].update(y=float("nan")), NonFiniteError,
         r"\[walls\[0\]\.polygon\[1\]\.y\]"),
        (lambda h: h["objects"][0]["children"][0].pop("assetId"), SceneFormatError,
         r"\[objects\[0\]\.children\[0\]\.assetId\]"),
        (lambda h: h["walls"][0].update(id="room|2"), SceneFormatError, r"ids used twice"),
    ],
)  # fmt: skip
def test_procthor_malformed(tmp_path, mutate, err, pattern):
    h = _house()
    mutate(h)
    with pytest.raises(err, match=pattern) as exc:
        load_scene(_write(tmp_path, h, "bad_house.json"), format="procthor")
    assert "bad_house.json" in str(exc.value)


def test_sniffers_ignore_other_json(tmp_path):
    gj = _write(tmp_path, {"type": "FeatureCollection", "features": []}, "layer.json")
    other = _write(tmp_path, {"objects": [1, 2], "rooms": 3}, "other.json")
    for f in (gj, other):
        assert not loaders()["ai2thor"].sniff(f)
        assert not loaders()["procthor"].sniff(f)
    txt = tmp_path / "meta.txt"
    txt.write_text(json.dumps(_meta()))
    assert not loaders()["ai2thor"].sniff(txt)
    assert not loaders()["ai2thor"].sniff(tmp_path)
