"""Camera trajectories on their own: ScanNet ``pose/`` folders, TUM RGB-D files, COLMAP text models.

Each loader returns a :class:`~geoenv.scene.Scene` with frames and no objects. Poses are
(4, 4) camera-to-world matrices in the OpenCV camera convention (x right, y down, z forward),
metres; the world frame is the trajectory's own (ScanNet: the scan's frame, z up; TUM: the
motion-capture frame; COLMAP: the reconstruction's arbitrary gauge, not re-oriented or scaled).

* ScanNet (SensReader export): ``pose/<n>.txt`` holds a 4x4 camera-to-world matrix per frame,
  frames sorted by the integer ``n`` (which is also ``Frame.index``, so it matches
  ``color/<n>.jpg`` / ``depth/<n>.png``). Poses containing non-finite values (ScanNet writes
  ``-inf`` rows where tracking was lost) are skipped and listed in ``metadata["notes"]`` and
  ``metadata["skipped_frames"]``; any other non-rigid pose raises
  :class:`~geoenv.errors.NonRigidPoseError`. Intrinsics: ``intrinsic/intrinsic_color.txt``
  (4x4) when present, else the ``intrinsics=`` option, else :data:`SCANNET_DEFAULT_K`
  (scaled to the image size, and noted). Image size option ``width``/``height``, default
  1296x968 (the ScanNet colour camera).
* TUM RGB-D: lines ``timestamp tx ty tz qx qy qz qw`` (``#`` comments). TUM poses are the
  colour camera's optical centre and orientation relative to the world, i.e. already
  camera-to-world in the OpenCV-like optical convention: used as they are. A zero quaternion
  raises, quaternions whose norm is within :data:`QUAT_NORM_TOL` of 1 are normalised (noted),
  others raise :class:`~geoenv.errors.NonRigidPoseError`. Intrinsics default to
  :data:`TUM_DEFAULT_K` (640x480, the TUM "ROS default" calibration).
* COLMAP text model: ``cameras.txt`` + ``images.txt`` (``points3D.txt`` optional and ignored),
  in the given directory, ``sparse/0/`` or ``sparse/``. COLMAP stores world-to-camera
  ``(qw, qx, qy, qz, tx, ty, tz)``; we invert to camera-to-world (camera centre ``-R^T t``).
  COLMAP's camera axes are OpenCV's. For distortion models K is built from fx, fy, cx, cy and
  the distortion coefficients are kept in ``frame.extras["distortion"]`` (images are NOT
  undistorted). Note COLMAP puts the centre of the top-left pixel at (0.5, 0.5); K is kept as
  written.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geoenv.errors import NonFiniteError, NonRigidPoseError, SceneFormatError
from geoenv.frames import Frame, check_intrinsics
from geoenv.scene import Scene, source_label
from geoenv.scenes.registry import register
from geoenv.transforms import as_matrix4, check_rigid, invert_rigid, quat_xyzw_to_matrix

#: ScanNet colour-camera intrinsics used when a scan has no ``intrinsic/intrinsic_color.txt``
#: and no ``intrinsics=`` option (scene0000_00's calibration, for a 1296x968 image).
SCANNET_DEFAULT_K = np.array([[1170.187988, 0.0, 647.75], [0.0, 1170.187988, 483.75], [0, 0, 1.0]])
SCANNET_DEFAULT_SIZE = (1296, 968)

#: TUM RGB-D "ROS default" intrinsics for its 640x480 images.
TUM_DEFAULT_K = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])
TUM_DEFAULT_SIZE = (640, 480)

#: Largest ``| |q| - 1 |`` accepted (and normalised away) for TUM / COLMAP quaternions.
QUAT_NORM_TOL = 1e-3

#: COLMAP camera models supported: name -> parameter names (in file order).
COLMAP_MODELS: dict[str, tuple[str, ...]] = {
    "SIMPLE_PINHOLE": ("f", "cx", "cy"),
    "PINHOLE": ("fx", "fy", "cx", "cy"),
    "SIMPLE_RADIAL": ("f", "cx", "cy", "k"),
    "RADIAL": ("f", "cx", "cy", "k1", "k2"),
    "OPENCV": ("fx", "fy", "cx", "cy", "k1", "k2", "p1", "p2"),
}

_SNIFF_BYTES = 65536


# ---------------------------------------------------------------------------- helpers
def parse_intrinsics(value: Any, where: str | Path | None, field: str) -> np.ndarray:
    """Intrinsics option to a (3, 3) K: a 3x3 / 4x4 matrix or ``(fx, fy, cx, cy)`` in pixels."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SceneFormatError(where, field, f"cannot read intrinsics: {exc}") from None
    if a.shape == (4,):
        fx, fy, cx, cy = a
        a = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    if a.shape == (4, 4):
        a = a[:3, :3]
    if a.shape != (3, 3):
        raise SceneFormatError(
            where, field, f"intrinsics must be 3x3, 4x4 or (fx, fy, cx, cy), got shape {a.shape}"
        )
    return a


def _normalise_quats(
    q: np.ndarray, path: Path, fields: Sequence[str], notes: list[str] | None
) -> np.ndarray:
    """Check (n, 4) quaternions: reject zero or far-from-unit ones, normalise the rest."""
    n = np.linalg.norm(q, axis=1)
    zero = np.flatnonzero(n < 1e-12)
    if len(zero):
        raise NonRigidPoseError(path, fields[zero[0]], "zero quaternion")
    dev = np.abs(n - 1.0)
    bad = np.flatnonzero(dev > QUAT_NORM_TOL)
    if len(bad):
        i = bad[0]
        raise NonRigidPoseError(
            path,
            fields[i],
            f"quaternion norm {n[i]:.6g} is not 1 (tolerance {QUAT_NORM_TOL})",
        )
    fixed = int(np.count_nonzero(dev > 1e-9))
    if fixed and notes is not None:
        notes.append(
            f"{path.name}: normalised {fixed} quaternion(s) (max | |q| - 1 | = {dev.max():.3g})"
        )
    return q / n[:, None]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SceneFormatError(path, None, f"cannot read: {exc}") from None


def _floats(tokens: Sequence[str], path: Path, field: str) -> list[float]:
    try:
        return [float(t) for t in tokens]
    except ValueError as exc:
        raise SceneFormatError(path, field, f"not a number: {exc}") from None


def _trajectory_scene(
    path: Path, frames: list[Frame], fmt: str, notes: list[str], **extra: Any
) -> Scene:
    meta = {
        "source_format": fmt,
        "source_path": str(path),
        "notes": notes,
        "camera_convention": "opencv camera-to-world",
        **extra,
    }
    return Scene(source_label(path), (), frames, metadata=meta)


# ---------------------------------------------------------------------------- ScanNet
def _scannet_dirs(path: Path) -> tuple[Path, Path]:
    """(scan dir, pose dir) for a scan directory holding ``pose/`` or a ``pose`` dir itself."""
    path = Path(path)
    if (path / "pose").is_dir():
        return path, path / "pose"
    if path.is_dir() and path.name == "pose":
        return path.parent, path
    raise SceneFormatError(path, "pose", "no pose/ directory")


def read_scannet_poses(
    path: str | Path,
    intrinsics: Any = None,
    width: int | None = None,
    height: int | None = None,
    notes: list[str] | None = None,
) -> list[Frame]:
    """Frames from a ScanNet ``pose/`` folder (``path`` is the scan directory or ``pose/``).

    ``Frame.index`` is the frame number ``n`` of ``pose/<n>.txt``; frames with non-finite
    poses are skipped and reported in ``notes`` (when a list is given). ``rgb_path`` /
    ``depth_path`` point to ``color/<n>.jpg`` / ``depth/<n>.png`` where those exist.
    """
    return _read_scannet(Path(path), intrinsics, width, height, notes)[0]


def _read_scannet(
    path: Path,
    intrinsics: Any,
    width: int | None,
    height: int | None,
    notes: list[str] | None,
) -> tuple[list[Frame], list[int]]:
    scan_dir, pose_dir = _scannet_dirs(path)
    notes = [] if notes is None else notes
    w = int(width) if width is not None else SCANNET_DEFAULT_SIZE[0]
    h = int(height) if height is not None else SCANNET_DEFAULT_SIZE[1]

    kfile = scan_dir / "intrinsic" / "intrinsic_color.txt"
    if kfile.is_file():
        k4 = as_matrix4(_floats(_read_text(kfile).split(), kfile, "K"), kfile, "K")
        k = check_intrinsics(k4, w, h, kfile, "K")
        if intrinsics is not None:
            notes.append(f"{kfile} present: the intrinsics= option was not used")
    elif intrinsics is not None:
        k = check_intrinsics(parse_intrinsics(intrinsics, None, "intrinsics"), w, h, None, "K")
    else:
        k = SCANNET_DEFAULT_K.copy()
        k[0] *= w / SCANNET_DEFAULT_SIZE[0]
        k[1] *= h / SCANNET_DEFAULT_SIZE[1]
        notes.append(
            "no intrinsic/intrinsic_color.txt and no intrinsics= option: using the default "
            f"ScanNet colour intrinsics scaled to {w}x{h}"
        )

    numbered: list[tuple[int, str]] = []
    with os.scandir(pose_dir) as it:
        for entry in it:
            if not entry.name.endswith(".txt"):
                continue
            stem = entry.name[:-4]
            if not stem.isdigit():
                raise SceneFormatError(
                    pose_dir / entry.name, None, "pose files must be named <frame number>.txt"
                )
            numbered.append((int(stem), entry.name))
    if not numbered:
        raise SceneFormatError(pose_dir, None, "no <n>.txt pose files")
    numbered.sort()
    dups = [n for (n, _), (m, _) in itertools.pairwise(numbered) if n == m]
    if dups:
        raise SceneFormatError(pose_dir, None, f"frame number {dups[0]} appears twice")

    def listing(sub: str) -> set[str]:
        d = scan_dir / sub
        return set(os.listdir(d)) if d.is_dir() else set()

    colors, depths = listing("color"), listing("depth")
    frames: list[Frame] = []
    skipped: list[int] = []
    for n, name in numbered:
        f = pose_dir / name
        vals = _floats(_read_text(f).split(), f, "pose")
        pose = as_matrix4(vals, f, "pose")
        if not np.isfinite(pose).all():
            skipped.append(n)
            continue
        check_rigid(pose, f, "pose")
        frames.append(
            Frame(
                index=n,
                pose=pose,
                K=k,
                width=w,
                height=h,
                rgb_path=scan_dir / "color" / f"{n}.jpg" if f"{n}.jpg" in colors else None,
                depth_path=scan_dir / "depth" / f"{n}.png" if f"{n}.png" in depths else None,
                name=str(n),
            )
        )
    if skipped:
        notes.append(
            f"skipped {len(skipped)} pose(s) with non-finite values (ScanNet lost tracking): "
            f"frames {', '.join(map(str, skipped))}"
        )
    if not frames:
        raise NonFiniteError(pose_dir, None, "every pose is non-finite (tracking lost throughout)")
    return frames, skipped


def _sniff_scannet_poses(path: Path) -> bool:
    try:
        pose = path / "pose"
        if not (path.is_dir() and pose.is_dir()):
            return False
        with os.scandir(path) as it:
            if any(e.name.endswith("_vh_clean_2.ply") for e in it):
                return False  # a full ScanNet scan: the scannet loader's
        with os.scandir(pose) as it:
            return any(e.name.endswith(".txt") for e in it)
    except OSError:
        return False


@register(
    "scannet_poses",
    "ScanNet pose/ folder (camera trajectory only)",
    sniff=_sniff_scannet_poses,
)
def load_scannet_poses(path: Path, **options: Any) -> Scene:
    """Options: ``intrinsics`` (3x3, 4x4 or fx, fy, cx, cy), ``width``, ``height`` (pixels)."""
    unknown = sorted(set(options) - {"intrinsics", "width", "height"})
    if unknown:
        raise TypeError(f"scannet_poses: unknown options {unknown}")
    notes: list[str] = []
    frames, skipped = _read_scannet(
        Path(path), options.get("intrinsics"), options.get("width"), options.get("height"), notes
    )
    scan_dir, _ = _scannet_dirs(Path(path))
    scene = _trajectory_scene(scan_dir, frames, "scannet_poses", notes, skipped_frames=skipped)
    scene.metadata["source_path"] = str(path)
    return scene


# ---------------------------------------------------------------------------- TUM
def read_tum(
    path: str | Path,
    K: Any = None,
    width: int | None = None,
    height: int | None = None,
    notes: list[str] | None = None,
) -> list[Frame]:
    """Frames from a TUM RGB-D trajectory file (``timestamp tx ty tz qx qy qz qw`` per line).

    ``K`` defaults to :data:`TUM_DEFAULT_K` and the size to 640x480. ``Frame.index`` is the
    pose's order in the file, ``timestamp`` its time in seconds, ``name`` the timestamp as
    written. Errors name the file and the line number.
    """
    path = Path(path)
    notes = [] if notes is None else notes
    w = int(width) if width is not None else TUM_DEFAULT_SIZE[0]
    h = int(height) if height is not None else TUM_DEFAULT_SIZE[1]
    k = TUM_DEFAULT_K if K is None else parse_intrinsics(K, None, "K")
    k = check_intrinsics(k, w, h, None, "K")

    rows: list[list[float]] = []
    names: list[str] = []
    fields: list[str] = []
    for lineno, raw in enumerate(_read_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = line.split()
        field = f"line {lineno}"
        if len(tokens) != 8:
            raise SceneFormatError(
                path,
                field,
                f"expected 8 columns (timestamp tx ty tz qx qy qz qw), got {len(tokens)}",
            )
        rows.append(_floats(tokens, path, field))
        names.append(tokens[0])
        fields.append(field)
    if not rows:
        raise SceneFormatError(path, None, "no poses in file")
    a = np.asarray(rows, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(a).all(axis=1))
    if len(bad):
        i = bad[0]
        raise NonFiniteError(path, fields[i], f"non-finite value in {names[i]!r} row: {a[i]}")
    q = _normalise_quats(a[:, 4:8], path, fields, notes)
    poses = np.tile(np.eye(4), (len(a), 1, 1))
    poses[:, :3, :3] = quat_xyzw_to_matrix(q)
    poses[:, :3, 3] = a[:, 1:4]
    if np.any(np.diff(a[:, 0]) < 0):
        notes.append(f"{path.name}: timestamps are not increasing; file order kept")
    return [
        Frame(index=i, pose=poses[i], K=k, width=w, height=h, timestamp=float(a[i, 0]), name=n)
        for i, n in enumerate(names)
    ]


def _first_data_line(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    for line in head.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            return s
    return None


def _sniff_tum(path: Path) -> bool:
    try:
        if not path.is_file() or path.suffix.lower() not in (".txt", ".tum"):
            return False
        line = _first_data_line(path)
        if line is None:
            return False
        tokens = line.split()
        if len(tokens) != 8:
            return False
        [float(t) for t in tokens]
        return True
    except (OSError, ValueError):
        return False


@register("tum", "TUM RGB-D trajectory (timestamp tx ty tz qx qy qz qw)", sniff=_sniff_tum)
def load_tum(path: Path, **options: Any) -> Scene:
    """Options: ``intrinsics`` (3x3, 4x4 or fx, fy, cx, cy), ``width``, ``height`` (pixels)."""
    unknown = sorted(set(options) - {"intrinsics", "width", "height"})
    if unknown:
        raise TypeError(f"tum: unknown options {unknown}")
    notes: list[str] = []
    if options.get("intrinsics") is None:
        notes.append("no intrinsics= option: using the TUM ROS-default intrinsics (525, 525)")
    frames = read_tum(
        path, options.get("intrinsics"), options.get("width"), options.get("height"), notes=notes
    )
    return _trajectory_scene(Path(path), frames, "tum", notes)


# ---------------------------------------------------------------------------- COLMAP
def _colmap_model_dir(path: Path) -> Path | None:
    for d in (path, path / "sparse" / "0", path / "sparse"):
        if (d / "cameras.txt").is_file() and (d / "images.txt").is_file():
            return d
    return None


def _read_colmap_cameras(f: Path) -> dict[int, tuple[str, int, int, dict[str, float]]]:
    cams: dict[int, tuple[str, int, int, dict[str, float]]] = {}
    for lineno, raw in enumerate(_read_text(f).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        field = f"line {lineno}"
        tok = line.split()
        if len(tok) < 4:
            raise SceneFormatError(
                f, field, f"expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS[], got {len(tok)} columns"
            )
        model = tok[1]
        if model not in COLMAP_MODELS:
            raise SceneFormatError(
                f,
                f"{field}.MODEL",
                f"unsupported camera model {model!r} (supported: {', '.join(COLMAP_MODELS)})",
            )
        names = COLMAP_MODELS[model]
        if len(tok) != 4 + len(names):
            raise SceneFormatError(
                f,
                f"{field}.PARAMS",
                f"{model} takes {len(names)} parameters ({' '.join(names)}), got {len(tok) - 4}",
            )
        try:
            cid, w, h = int(tok[0]), int(tok[2]), int(tok[3])
        except ValueError as exc:
            raise SceneFormatError(
                f, field, f"CAMERA_ID, WIDTH, HEIGHT must be integers: {exc}"
            ) from None
        vals = np.asarray(_floats(tok[4:], f, f"{field}.PARAMS"))
        if not np.isfinite(vals).all():
            raise NonFiniteError(f, f"{field}.PARAMS", f"non-finite camera parameter {vals}")
        if cid in cams:
            raise SceneFormatError(f, field, f"camera id {cid} defined twice")
        cams[cid] = (model, w, h, dict(zip(names, vals.tolist(), strict=True)))
    if not cams:
        raise SceneFormatError(f, None, "no cameras")
    return cams


def _colmap_k(model: str, p: dict[str, float]) -> tuple[np.ndarray, dict[str, float]]:
    fx = p.get("fx", p.get("f"))
    fy = p.get("fy", p.get("f"))
    k = np.array([[fx, 0.0, p["cx"]], [0.0, fy, p["cy"]], [0.0, 0.0, 1.0]])
    dist = {n: v for n, v in p.items() if n not in ("f", "fx", "fy", "cx", "cy")}
    return k, dist


def read_colmap(
    path: str | Path, images: str | Path | None = None, notes: list[str] | None = None
) -> list[Frame]:
    """Frames from a COLMAP text model (``path``: the model dir or a project with ``sparse/0``).

    ``Frame.index`` is the rank of IMAGE_ID in numeric order, ``name`` the image NAME,
    ``rgb_path`` = ``images / NAME`` when ``images`` is given (else None). ``extras`` holds
    ``image_id``, ``camera_id``, ``camera_model``, ``num_points2D`` and, for distortion models,
    ``distortion`` (coefficient name -> value).
    """
    path = Path(path)
    notes = [] if notes is None else notes
    model_dir = _colmap_model_dir(path)
    if model_dir is None:
        hint = ""
        if any((d / "cameras.bin").is_file() for d in (path, path / "sparse" / "0")):
            hint = " (binary model found: convert it with colmap model_converter --output_type TXT)"
        raise SceneFormatError(path, "cameras.txt", f"no COLMAP text model{hint}")
    if model_dir == path / "sparse" / "0" and (path / "sparse" / "1").is_dir():
        notes.append(f"{path / 'sparse'}: several models; only sparse/0 loaded")
    if (model_dir / "points3D.txt").is_file():
        notes.append("points3D.txt present: 3D points not loaded (trajectory only)")
    cams = _read_colmap_cameras(model_dir / "cameras.txt")

    f = model_dir / "images.txt"
    lines = _read_text(f).splitlines()
    records: list[tuple[int, list[float], int, str, int, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        lineno = i + 1
        i += 1
        if not line or line.startswith("#"):
            continue
        field = f"line {lineno}"
        tok = line.split(maxsplit=9)
        if len(tok) != 10:
            raise SceneFormatError(
                f,
                field,
                f"expected IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME, got {len(tok)} columns",
            )
        try:
            image_id, cam_id = int(tok[0]), int(tok[8])
        except ValueError as exc:
            raise SceneFormatError(
                f, field, f"IMAGE_ID and CAMERA_ID must be integers: {exc}"
            ) from None
        vals = _floats(tok[1:8], f, field)
        # The next line lists the image's 2D points (X Y POINT3D_ID ...); it may be empty.
        npts = len(lines[i].split()) // 3 if i < len(lines) else 0
        i += 1
        records.append((image_id, vals, cam_id, tok[9].strip(), npts, field))
    if not records:
        raise SceneFormatError(f, None, "no images")
    records.sort(key=lambda r: r[0])
    ids = [r[0] for r in records]
    dup = [a for a, b in itertools.pairwise(ids) if a == b]
    if dup:
        raise SceneFormatError(f, "IMAGE_ID", f"image id {dup[0]} appears twice")
    fields = [r[5] for r in records]
    a = np.asarray([r[1] for r in records], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(a).all(axis=1))
    if len(bad):
        raise NonFiniteError(f, fields[bad[0]], f"non-finite pose values {a[bad[0]]}")
    q_wxyz = _normalise_quats(a[:, :4], f, fields, notes)
    r_cw = quat_xyzw_to_matrix(q_wxyz[:, [1, 2, 3, 0]])  # world -> camera rotation
    w2c = np.tile(np.eye(4), (len(a), 1, 1))
    w2c[:, :3, :3] = r_cw
    w2c[:, :3, 3] = a[:, 4:7]
    img_dir = None if images is None else Path(images)
    frames = []
    for idx, (image_id, _, cam_id, name, npts, field) in enumerate(records):
        if cam_id not in cams:
            raise SceneFormatError(
                f, f"{field}.CAMERA_ID", f"unknown camera id {cam_id} (not in cameras.txt)"
            )
        model, w, h, params = cams[cam_id]
        k, dist = _colmap_k(model, params)
        k = check_intrinsics(k, w, h, model_dir / "cameras.txt", f"camera {cam_id}")
        extras: dict[str, Any] = {
            "image_id": image_id,
            "camera_id": cam_id,
            "camera_model": model,
            "num_points2D": npts,
        }
        if dist:
            extras["distortion"] = dist
        frames.append(
            Frame(
                index=idx,
                pose=invert_rigid(w2c[idx]),
                K=k,
                width=w,
                height=h,
                rgb_path=None if img_dir is None else img_dir / name,
                name=name,
                extras=extras,
            )
        )
    return frames


def _sniff_colmap(path: Path) -> bool:
    try:
        return path.is_dir() and _colmap_model_dir(path) is not None
    except OSError:
        return False


@register("colmap", "COLMAP text model (cameras.txt + images.txt)", sniff=_sniff_colmap)
def load_colmap(path: Path, **options: Any) -> Scene:
    """Options: ``images`` (directory the image NAMEs are relative to)."""
    unknown = sorted(set(options) - {"images"})
    if unknown:
        raise TypeError(f"colmap: unknown options {unknown}")
    notes: list[str] = []
    frames = read_colmap(path, images=options.get("images"), notes=notes)
    return _trajectory_scene(Path(path), frames, "colmap", notes)
