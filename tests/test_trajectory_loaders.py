"""Camera-trajectory loaders: ScanNet pose/, TUM RGB-D, COLMAP text models."""

from __future__ import annotations

import numpy as np
import pytest

from geoenv.errors import NonFiniteError, NonRigidPoseError, SceneFormatError
from geoenv.scenes import detect_format, load_scene, loaders
from geoenv.scenes.trajectory import (
    SCANNET_DEFAULT_K,
    TUM_DEFAULT_K,
    read_colmap,
    read_scannet_poses,
    read_tum,
)
from geoenv.transforms import rot_z

S2 = np.sqrt(0.5)


def _mat(m: np.ndarray) -> str:
    return "\n".join(" ".join(f"{v:.6f}" for v in row) for row in m) + "\n"


def _pose(yaw_deg: float, t: tuple[float, float, float]) -> np.ndarray:
    p = np.eye(4)
    p[:3, :3] = rot_z(np.radians(yaw_deg))
    p[:3, 3] = t
    return p


# ---------------------------------------------------------------------------- ScanNet
def _scannet(tmp_path, with_k=True):
    scan = tmp_path / "scene0000_00"
    (scan / "pose").mkdir(parents=True)
    poses = {0: _pose(0, (1, 2, 3)), 2: _pose(90, (0, 0, 1.5)), 10: _pose(0, (4, 0, 0))}
    for n, p in poses.items():
        (scan / "pose" / f"{n}.txt").write_text(_mat(p))
    (scan / "pose" / "1.txt").write_text("-inf -inf -inf -inf\n" * 4)  # lost tracking
    if with_k:
        (scan / "intrinsic").mkdir()
        k = np.array([[1000, 0, 640, 0], [0, 1001, 480, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
        (scan / "intrinsic" / "intrinsic_color.txt").write_text(_mat(k))
    (scan / "color").mkdir()
    (scan / "color" / "2.jpg").write_bytes(b"")
    return scan


def test_scannet_poses_sorted_numerically_and_lost_frames_skipped(tmp_path):
    scan = _scannet(tmp_path)
    assert loaders()["scannet_poses"].sniff(scan)
    assert detect_format(scan) == "scannet_poses"
    scene = load_scene(scan)
    assert scene.metadata["source_format"] == "scannet_poses"
    assert len(scene.objects) == 0
    assert [f.index for f in scene.frames] == [0, 2, 10]
    assert scene.metadata["skipped_frames"] == [1]
    assert any("frames 1" in n and "non-finite" in n for n in scene.metadata["notes"])
    f0, f2, f10 = scene.frames
    np.testing.assert_allclose(f0.position, [1, 2, 3])
    np.testing.assert_allclose(f2.forward, [0, 0, 1])
    np.testing.assert_allclose(f2.pose[:3, 0], [0, 1, 0], atol=1e-6)  # camera x = world +y
    np.testing.assert_allclose(f10.position, [4, 0, 0])
    np.testing.assert_allclose(f0.K, [[1000, 0, 640], [0, 1001, 480], [0, 0, 1]])
    assert (f0.width, f0.height) == (1296, 968)
    assert f2.rgb_path == scan / "color" / "2.jpg" and f0.rgb_path is None
    assert scene.id == "scene0000_00"


def test_scannet_poses_default_and_option_intrinsics(tmp_path):
    scan = _scannet(tmp_path, with_k=False)
    notes: list[str] = []
    frames = read_scannet_poses(scan, notes=notes)
    np.testing.assert_allclose(frames[0].K, SCANNET_DEFAULT_K)
    assert any("default" in n for n in notes)
    frames = read_scannet_poses(
        scan / "pose", intrinsics=(500, 500, 320, 240), width=640, height=480
    )
    np.testing.assert_allclose(frames[0].K, [[500, 0, 320], [0, 500, 240], [0, 0, 1]])
    assert frames[0].width == 640
    half = read_scannet_poses(scan, width=648, height=484)
    np.testing.assert_allclose(half[0].K[0, 0], SCANNET_DEFAULT_K[0, 0] / 2)


def test_scannet_full_scan_is_not_a_pose_folder(tmp_path):
    scan = _scannet(tmp_path)
    (scan / "scene0000_00_vh_clean_2.ply").write_bytes(b"ply\n")
    assert not loaders()["scannet_poses"].sniff(scan)
    assert not loaders()["scannet_poses"].sniff(tmp_path / "missing")


def test_scannet_non_rigid_pose(tmp_path):
    scan = _scannet(tmp_path)
    bad = _pose(0, (0, 0, 0))
    bad[:3, :3] *= 1.1
    (scan / "pose" / "3.txt").write_text(_mat(bad))
    with pytest.raises(NonRigidPoseError) as exc:
        load_scene(scan, format="scannet_poses")
    assert "3.txt" in str(exc.value) and "[pose]" in str(exc.value)
    assert "orthonormal" in str(exc.value)


def test_scannet_bad_files(tmp_path):
    scan = _scannet(tmp_path)
    (scan / "pose" / "4.txt").write_text("1 0 0 0\n0 1 0 0\n0 0 1 0\n")
    with pytest.raises(SceneFormatError, match=r"4\.txt \[pose\]: expected 16 numbers, got 12"):
        read_scannet_poses(scan)
    (scan / "pose" / "4.txt").write_text("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 x\n")
    with pytest.raises(SceneFormatError, match=r"4\.txt \[pose\]: not a number"):
        read_scannet_poses(scan)
    (scan / "pose" / "4.txt").unlink()
    for n in (0, 2, 10):
        (scan / "pose" / f"{n}.txt").write_text("nan " * 16)
    with pytest.raises(NonFiniteError, match="every pose"):
        read_scannet_poses(scan)


# ---------------------------------------------------------------------------- TUM
TUM_TEXT = f"""# ground truth trajectory
# timestamp tx ty tz qx qy qz qw
1305031102.175304 1.0 2.0 3.0 0 0 0 1
1305031102.2 0.5 0.0 1.0 0 0 {S2:.9f} {S2:.9f}

1305031102.3 0 0 0 0 0 0 1.0005
"""


def test_tum_values(tmp_path):
    f = tmp_path / "groundtruth.txt"
    f.write_text(TUM_TEXT)
    assert loaders()["tum"].sniff(f)
    scene = load_scene(f, format="tum")
    assert scene.metadata["source_format"] == "tum"
    a, b, c = scene.frames
    assert [x.index for x in scene.frames] == [0, 1, 2]
    assert a.timestamp == pytest.approx(1305031102.175304) and a.name == "1305031102.175304"
    np.testing.assert_allclose(a.position, [1, 2, 3])
    np.testing.assert_allclose(a.pose[:3, :3], np.eye(3))
    # 90 degrees about z: camera x -> world +y, camera y -> world -x.
    np.testing.assert_allclose(b.pose[:3, :3], rot_z(np.pi / 2), atol=1e-8)
    np.testing.assert_allclose(b.pose[:3, 0], [0, 1, 0], atol=1e-8)
    np.testing.assert_allclose(c.pose[:3, :3], np.eye(3))  # normalised
    assert any("normalised 1 quaternion" in n for n in scene.metadata["notes"])
    np.testing.assert_allclose(a.K, TUM_DEFAULT_K)
    assert (a.width, a.height) == (640, 480)
    assert np.linalg.det(b.pose[:3, :3]) == pytest.approx(1.0)


def test_tum_intrinsics_and_public_reader(tmp_path):
    f = tmp_path / "traj.txt"
    f.write_text(TUM_TEXT)
    frames = read_tum(f, (600, 610, 300, 200), 600, 400)
    np.testing.assert_allclose(frames[0].K, [[600, 0, 300], [0, 610, 200], [0, 0, 1]])
    assert frames[0].height == 400


@pytest.mark.parametrize(
    ("line", "err", "pattern"),
    [
        ("1.0 1 2 3 0 0 0", SceneFormatError, r"\[line 4\]: expected 8 columns .* got 7"),
        ("1.0 1 2 3 0 0 0 1 9", SceneFormatError, r"\[line 4\]: expected 8 columns .* got 9"),
        ("1.0 1 2 3 0 0 0 0", NonRigidPoseError, r"\[line 4\]: zero quaternion"),
        ("1.0 1 2 3 0 0 0 1.01", NonRigidPoseError, r"\[line 4\]: quaternion norm 1.01"),
        ("1.0 nan 2 3 0 0 0 1", NonFiniteError, r"\[line 4\]: non-finite"),
        ("1.0 1 2 3 0 0 zero 1", SceneFormatError, r"\[line 4\]: not a number"),
    ],
)
def test_tum_malformed(tmp_path, line, err, pattern):
    f = tmp_path / "bad.txt"
    f.write_text(f"# header\n0.0 0 0 0 0 0 0 1\n\n{line}\n")
    with pytest.raises(err, match=pattern) as exc:
        read_tum(f)
    assert "bad.txt" in str(exc.value)


def test_tum_sniffer_rejects_other_txt(tmp_path):
    f = tmp_path / "points.txt"
    f.write_text("# x y z\n1 2 3\n")
    assert not loaders()["tum"].sniff(f)
    g = tmp_path / "empty.txt"
    g.write_text("# only a comment\n")
    assert not loaders()["tum"].sniff(g)
    with pytest.raises(SceneFormatError, match="no poses"):
        read_tum(g)


# ---------------------------------------------------------------------------- COLMAP
CAMERAS = """# Camera list with one line of data per camera:
#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]
# Number of cameras: 3
1 PINHOLE 640 480 500 510 320 240
2 OPENCV 800 600 700 701 400 300 0.1 -0.01 0.001 0.002
3 SIMPLE_RADIAL 320 240 250 160 120 0.05
"""

IMAGES = f"""# Image list with two lines of data per image:
#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME
#   POINTS2D[] as (X, Y, POINT3D_ID)
# Number of images: 3, mean observations per image: 1
10 {S2:.12f} 0 0 {S2:.12f} 1 0 0 2 b/img 10.jpg

2 1 0 0 0 1 2 3 1 a.jpg
100.5 200.5 7 300 400 -1
5 1 0 0 0 0 0 0 3 c.jpg
1.0 2.0 -1
"""


def _colmap(root, cameras=CAMERAS, images=IMAGES):
    root.mkdir(parents=True, exist_ok=True)
    (root / "cameras.txt").write_text(cameras)
    (root / "images.txt").write_text(images)
    (root / "points3D.txt").write_text("# 3D point list\n1 0 0 0 255 0 0 0.5 2 0\n")
    return root


def test_colmap_values(tmp_path):
    model = _colmap(tmp_path / "model")
    assert loaders()["colmap"].sniff(model)
    assert detect_format(model) == "colmap"
    scene = load_scene(model, images=tmp_path / "imgs")
    assert scene.metadata["source_format"] == "colmap"
    assert any("points3D.txt" in n for n in scene.metadata["notes"])
    a, c, b = scene.frames  # IMAGE_IDs 2, 5, 10 in numeric order
    assert [f.index for f in scene.frames] == [0, 1, 2]
    assert [f.extras["image_id"] for f in scene.frames] == [2, 5, 10]
    # Identity rotation, T = (1, 2, 3): camera centre -R^T t = (-1, -2, -3).
    np.testing.assert_allclose(a.position, [-1, -2, -3])
    np.testing.assert_allclose(a.pose[:3, :3], np.eye(3))
    assert a.name == "a.jpg" and a.rgb_path == tmp_path / "imgs" / "a.jpg"
    assert a.extras["num_points2D"] == 2 and b.extras["num_points2D"] == 0
    np.testing.assert_allclose(a.K, [[500, 0, 320], [0, 510, 240], [0, 0, 1]])
    # R_cw = rot_z(90), t = (1, 0, 0): pose rotation rot_z(-90), centre -R^T t = (0, 1, 0).
    np.testing.assert_allclose(b.pose[:3, :3], rot_z(-np.pi / 2), atol=1e-9)
    np.testing.assert_allclose(b.position, [0, 1, 0], atol=1e-9)
    assert b.name == "b/img 10.jpg"
    np.testing.assert_allclose(b.K, [[700, 0, 400], [0, 701, 300], [0, 0, 1]])
    assert b.extras["distortion"] == {"k1": 0.1, "k2": -0.01, "p1": 0.001, "p2": 0.002}
    assert (b.width, b.height) == (800, 600)
    np.testing.assert_allclose(c.K, [[250, 0, 160], [0, 250, 120], [0, 0, 1]])
    assert c.extras["distortion"] == {"k": 0.05} and c.extras["camera_model"] == "SIMPLE_RADIAL"
    assert "distortion" not in a.extras


def test_colmap_sparse_layout(tmp_path):
    _colmap(tmp_path / "proj" / "sparse" / "0")
    (tmp_path / "proj" / "sparse" / "1").mkdir()
    assert loaders()["colmap"].sniff(tmp_path / "proj")
    notes: list[str] = []
    frames = read_colmap(tmp_path / "proj", notes=notes)
    assert len(frames) == 3 and frames[0].rgb_path is None
    assert any("only sparse/0" in n for n in notes)


def test_colmap_unknown_camera(tmp_path):
    images = IMAGES.replace("5 1 0 0 0 0 0 0 3 c.jpg", "5 1 0 0 0 0 0 0 9 c.jpg")
    model = _colmap(tmp_path / "m", images=images)
    with pytest.raises(
        SceneFormatError, match=r"images\.txt \[line 9\.CAMERA_ID\]: unknown camera"
    ):
        read_colmap(model)


@pytest.mark.parametrize(
    ("cameras", "images", "err", "pattern"),
    [
        (CAMERAS + "4 OPENCV_FISHEYE 10 10 1 1 5 5 0 0 0 0\n", IMAGES, SceneFormatError,
         r"cameras\.txt \[line 7\.MODEL\]: unsupported camera model 'OPENCV_FISHEYE'"),
        (CAMERAS + "4 PINHOLE 10 10 1 1 5\n", IMAGES, SceneFormatError,
         r"cameras\.txt \[line 7\.PARAMS\]: PINHOLE takes 4 parameters"),
        (CAMERAS, IMAGES.replace("2 1 0 0 0 1 2 3 1 a.jpg", "2 0 0 0 0 1 2 3 1 a.jpg"),
         NonRigidPoseError, r"images\.txt \[line 7\]: zero quaternion"),
        (CAMERAS, IMAGES.replace("2 1 0 0 0 1 2 3 1 a.jpg", "2 1 0 0 0 1 2 3 1"),
         SceneFormatError, r"images\.txt \[line 7\]: expected IMAGE_ID"),
        (CAMERAS, IMAGES.replace("2 1 0 0 0 1 2 3 1 a.jpg", "2 1 0 0 0 nan 2 3 1 a.jpg"),
         NonFiniteError, r"images\.txt \[line 7\]: non-finite"),
        (CAMERAS, IMAGES.replace("5 1 0 0 0 0 0 0 3", "2 1 0 0 0 0 0 0 3"),
         SceneFormatError, r"images\.txt \[IMAGE_ID\]: image id 2 appears twice"),
    ],
)  # fmt: skip
def test_colmap_malformed(tmp_path, cameras, images, err, pattern):
    model = _colmap(tmp_path / "m", cameras=cameras, images=images)
    with pytest.raises(err, match=pattern):
        load_scene(model, format="colmap")


def test_colmap_binary_only(tmp_path):
    (tmp_path / "cameras.bin").write_bytes(b"\0")
    assert not loaders()["colmap"].sniff(tmp_path)
    with pytest.raises(SceneFormatError, match="model_converter"):
        read_colmap(tmp_path)
