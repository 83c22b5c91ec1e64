"""Real indoor datasets through scenezoo: one scenezoo sample -> one geoenv :class:`Scene`.

Needs the optional dependency ``scenezoo`` (``pip install 'geoenv[datasets]'``); it is imported
only when a ``scenezoo:`` source is used, so geoenv works without it.

Source syntax (``geoenv.load_scene``, ``geoenv inspect``, ``geoenv generate``, manifests)::

    scenezoo:<dataset>:<root>[@<split>][/<scene_id>]

``<dataset>`` is a scenezoo name or alias (``scannetv2`` / ``scannet``, ``scannetppv2`` /
``scannet++``, ``arkitscenes``, ``multiscan``, ``s3dis``, ``scenenn``), ``<root>`` the
downloaded dataset folder, ``@<split>`` an official split read from a local file, and
``/<scene_id>`` one scene. With ``@`` the root ends at the last ``@``; without it, the root is
the longest prefix that looks like the dataset's root (its ``scans/``, ``data/``, ``raw/``,
``Area_N/`` ... folder). A source without a scene id names every scene of the dataset (or of
the split): manifests expand it to one source per scene, sorted.

What one scene becomes (world frame: right-handed, z up, metres):

* points: the mesh vertices (the point cloud for S3DIS), with the dataset's alignment applied
  where it has one (ScanNet ``axisAlignment``, MultiScan ``coordinate_transform``, S3DIS
  alignment angles); colours as uint8;
* objects: one per instance of scenezoo's instance segmentation, object id
  ``str(instance id)``, label the instance's name in the dataset's own label map
  (``label_space="nyu40"`` maps ScanNet names through ``scannetv2-labels.combined.tsv``).
  Per-vertex (per-point) labels give each vertex to one object; MultiScan labels faces, and as
  for geoenv's face-labelled PLY meshes an object's points are the distinct vertices of its
  faces (a vertex on the border of two objects belongs to both, counted in a note);
* boxes: official boxes (ARKitScenes, MultiScan ``obb_gt``) kept in
  ``SceneObject.attributes["box"]`` (center, size, rotation in the world frame, source); the
  points always win: every geoenv box, distance and answer is computed from the points;
* frames: camera-to-world poses (``invert_rigid`` of scenezoo's ``world_to_camera``, then the
  alignment) and pinhole intrinsics, with scenezoo's upright-image fixes (ARKitScenes,
  MultiScan sky directions) applied.

Offline first: scenezoo runs with ``offline=True``; split lists come from local files or from
the scenes on disk. Missing files raise :class:`MissingDataError` (a ``SceneFormatError``)
that names the file and what was expected and carries scenezoo's check report.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import trimesh

from geoenv.errors import (
    GeoenvError,
    SceneFormatError,
    UnknownLabelError,
)
from geoenv.frames import Frame, check_intrinsics
from geoenv.scene import Scene, SceneObject, natural_key
from geoenv.transforms import check_finite, check_rigid, invert_rigid

if TYPE_CHECKING:
    from types import ModuleType

#: Every source this module reads starts with this.
SOURCE_PREFIX = "scenezoo:"
#: How to install the optional dependency.
EXTRA_HINT = "pip install 'geoenv[datasets]' (or: uv sync --extra datasets)"
#: Nominal frame rates (Hz) used for timestamps when a stream records none.
SCANNET_FPS = 30.0
SCANNETPP_IPHONE_FPS = 60.0

_SOURCE = re.compile(r"scenezoo:([^:]+):(.+)", re.S)


# ---------------------------------------------------------------------- errors
class ScenezooUnavailableError(GeoenvError, ImportError):
    """The optional dependency scenezoo is not installed."""


class UnknownDatasetError(SceneFormatError):
    """The dataset name is not one scenezoo knows (``field`` is ``"dataset"``)."""


class UnsupportedDatasetError(SceneFormatError):
    """scenezoo reads the dataset but geoenv has no verified mapping of it to scenes yet."""


class MissingDataError(SceneFormatError):
    """A file the scene needs is missing (or unreadable offline).

    ``path`` is the missing file, ``field`` its role (``aggregation``, ``mesh``, ...),
    ``expected`` what should be there, and ``report`` scenezoo's ``DatasetCheckReport`` for the
    scene (``None`` when the check itself could not run); its text ends the message.
    """

    def __init__(
        self,
        path: str | Path | None,
        field: str | None,
        reason: str,
        expected: str = "",
        report: Any = None,
    ) -> None:
        self.expected = expected
        self.report = report
        text = reason
        if expected:
            text += f"; expected {expected}"
        if report is not None:
            text += "\nscenezoo check report:\n" + report.format()
        super().__init__(path, field, text)


def _scenezoo() -> ModuleType:
    try:
        import scenezoo
    except ImportError as exc:
        raise ScenezooUnavailableError(
            f"reading {SOURCE_PREFIX} sources needs the optional dependency scenezoo: {EXTRA_HINT}"
        ) from exc
    return scenezoo


# ---------------------------------------------------------------------- sources
@dataclass(frozen=True)
class ScenezooSource:
    """A parsed ``scenezoo:`` source: dataset (canonical name), root, split, scene id."""

    dataset: str
    root: Path
    split: str | None = None
    scene_id: str | None = None

    def __str__(self) -> str:
        s = f"{SOURCE_PREFIX}{self.dataset}:{self.root}"
        if self.split is not None:
            s += f"@{self.split}"
        if self.scene_id is not None:
            s += f"/{self.scene_id}"
        return s

    def with_scene(self, scene_id: str) -> ScenezooSource:
        return ScenezooSource(self.dataset, self.root, self.split, scene_id)


def is_scenezoo_source(text: str | Path) -> bool:
    """Whether ``text`` uses the ``scenezoo:`` source syntax."""
    return str(text).startswith(SOURCE_PREFIX)


def parse_source(text: str | Path, base: Path | None = None) -> ScenezooSource:
    """Parse ``scenezoo:<dataset>:<root>[@<split>][/<scene_id>]``; a relative root resolves
    against ``base`` (default: the working directory)."""
    s = str(text)
    m = _SOURCE.fullmatch(s)
    if not m:
        raise SceneFormatError(
            None, "source", f"{s!r} is not scenezoo:<dataset>:<root>[@<split>][/<scene_id>]"
        )
    prof = _profile(m.group(1), m.group(2))
    rest = m.group(2)
    split: str | None = None
    scene_id: str | None = None
    if "@" in rest:
        root_text, _, tail = rest.rpartition("@")
        split, _, sid = tail.partition("/")
        split = split or None
        scene_id = sid.strip("/") or None
        root = _abs(root_text, base)
    else:
        root, scene_id = _resolve_root(prof, _abs(rest, base))
    return ScenezooSource(prof.name, root, split, scene_id)


def _abs(text: str, base: Path | None) -> Path:
    p = Path(text).expanduser()
    if not p.is_absolute():
        p = (base or Path.cwd()) / p
    return Path(str(p).rstrip("/") or "/")


def _resolve_root(prof: _Profile, p: Path) -> tuple[Path, str | None]:
    """(root, scene id) for a path without ``@``: the path itself when it is a dataset root,
    else the nearest parent that is one (the rest of the path is the scene id)."""
    if prof.is_root(p):
        return p, None
    parts = p.parts
    for k in range(1, prof.id_depth + 1):
        if len(parts) <= k:
            break
        root = Path(*parts[:-k])
        if prof.is_root(root):
            return root, "/".join(parts[-k:])
    raise MissingDataError(
        p,
        "root",
        f"neither this path nor a parent looks like a {prof.name} root",
        expected=f"{prof.root_hint} (or make the root explicit: <root>@<split>/<scene_id>)",
        report=_check(prof.dataset(p), None),
    )


def list_scenes(source: str | ScenezooSource, base: Path | None = None) -> list[str]:
    """One source string per scene that ``source`` names (itself, for one scene), sorted.

    Scenes of a split come from the split's local file (listed scenes that are not on disk
    stay in: loading them raises :class:`MissingDataError`); without a split, the scenes
    present on disk.
    """
    src = source if isinstance(source, ScenezooSource) else parse_source(source, base)
    if src.scene_id is not None:
        return [str(src)]
    prof = _profile(src.dataset, str(src.root))
    if src.split is None:
        ids = prof.disk_ids(src.root)
        if not ids:
            ds = prof.dataset(src.root)
            raise MissingDataError(
                src.root,
                "root",
                f"no {prof.name} scenes found on disk",
                expected=prof.root_hint,
                report=_check(ds, None),
            )
    else:
        ids = prof.split_ids(src.root, src.split)
    return [str(src.with_scene(i)) for i in sorted(dict.fromkeys(ids), key=natural_key)]


def scene_files(source: str | ScenezooSource, base: Path | None = None) -> list[Path]:
    """The files one scene reads (those present), sorted: for pipeline fingerprints."""
    src = source if isinstance(source, ScenezooSource) else parse_source(source, base)
    if src.scene_id is None:
        raise SceneFormatError(None, "source", f"{src} names a dataset, not one scene")
    prof = _profile(src.dataset, str(src.root))
    ds = prof.dataset(src.root)
    files = prof.files(ds, src.scene_id)
    out: set[Path] = set()
    for f in files.values():
        if f.path.is_file():
            out.add(f.path)
        elif f.path.is_dir():
            out.update(p for p in f.path.rglob("*") if p.is_file())
    return sorted(out, key=lambda p: natural_key(str(p)))


# ---------------------------------------------------------------------- loading
def load_scenezoo(
    source: str | ScenezooSource,
    *,
    frames: bool = True,
    frame_step: int = 1,
    frame_source: str | None = None,
    boxes: str = "official",
    label_space: str = "raw",
    align: bool = True,
) -> Scene:
    """Load one scene from a ``scenezoo:`` source (see the module docstring).

    ``frames``: read camera frames (poses + intrinsics only, no images); ``frame_step``: keep
    every n-th valid frame; ``frame_source``: the capture stream where a dataset has several
    (ScanNet++: ``iphone`` (default when present), ``iphone_colmap``, ``dslr_undistorted``;
    ARKitScenes: ``mov``). ``boxes``: ``official`` (datasets that publish boxes), ``all``
    (also scenezoo's boxes fitted to the points), ``none``. ``label_space``: ``raw`` (the
    dataset's own names) or ``nyu40`` (ScanNet). ``align``: apply the dataset's alignment.
    """
    src = source if isinstance(source, ScenezooSource) else parse_source(source)
    if src.scene_id is None:
        scenes = list_scenes(src)
        if len(scenes) != 1:
            raise SceneFormatError(
                src.root,
                "source",
                f"{src} names {len(scenes)} scenes; add /<scene_id> to load one "
                f"(first: {', '.join(s.rpartition('/')[2] for s in scenes[:3])}) or use it "
                "as a manifest (geoenv generate)",
            )
        src = parse_source(scenes[0])
    if boxes not in ("official", "all", "none"):
        raise SceneFormatError(None, "boxes", f"must be official, all or none, not {boxes!r}")
    if int(frame_step) < 1:
        raise SceneFormatError(None, "frame_step", f"must be >= 1, got {frame_step}")
    prof = _profile(src.dataset, str(src.root))
    if label_space not in prof.label_spaces:
        raise SceneFormatError(
            None,
            "label_space",
            f"{prof.name} offers {list(prof.label_spaces)}, not {label_space!r}",
        )
    opts = _Options(bool(frames), int(frame_step), frame_source, boxes, label_space, bool(align))
    ds = prof.dataset(src.root)
    sid = src.scene_id
    assert sid is not None
    files = prof.files(ds, sid)
    ctx = _Ctx(ds, sid, files)
    for role, f in files.items():
        if f.required and not f.path.exists():
            raise ctx.missing(role, "missing file")
    raw = prof.read(ctx, opts)
    return _build(src, prof, ctx, raw, opts)


def load_sample(dataset: str, root: str | Path, scene_id: str, **options: Any) -> Scene:
    """``load_scenezoo`` for one scene given as (dataset, root, scene id)."""
    src = parse_source(f"{SOURCE_PREFIX}{dataset}:{Path(root).expanduser().absolute()}@")
    return load_scenezoo(src.with_scene(scene_id), **options)


@dataclass(frozen=True)
class _Options:
    frames: bool
    frame_step: int
    frame_source: str | None
    boxes: str
    label_space: str
    align: bool


@dataclass(frozen=True)
class _File:
    path: Path
    required: bool
    expected: str


@dataclass
class _Raw:
    """One sample as read through scenezoo, in the dataset's stored frame."""

    points: np.ndarray  # (n, 3) float64
    colors: np.ndarray | None  # (n, 3) uint8
    faces: np.ndarray | None  # (m, 3) int64
    instance: np.ndarray | None  # (n,) int64, -1 = in no object; None: labels on faces
    names: dict[int, str]  # instance id -> label
    label_file: Path  # where the labels come from (errors name it)
    face_instance: np.ndarray | None = None  # (m,) int64, -1 = none: face-domain datasets
    align: np.ndarray = field(default_factory=lambda: np.eye(4))
    boxes: dict[int, dict[str, Any]] = field(default_factory=dict)  # stored frame
    frames: list[tuple[int, np.ndarray, np.ndarray, int, int, float, str]] = field(
        default_factory=list
    )
    frames_file: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Ctx:
    """One scene's scenezoo dataset, id and files; turns scenezoo failures into typed errors."""

    def __init__(self, ds: Any, sid: str, files: dict[str, _File]) -> None:
        self.ds, self.sid, self.files = ds, sid, files

    def path(self, role: str) -> Path:
        return self.files[role].path

    def has(self, role: str) -> bool:
        return role in self.files and self.files[role].path.exists()

    def missing(self, role: str, reason: str) -> MissingDataError:
        f = self.files[role]
        return MissingDataError(
            f.path,
            role,
            f"{reason} ({self.ds.name} scene {self.sid})",
            f.expected,
            _check(self.ds, self.sid),
        )

    @contextmanager
    def stage(self, role: str, path: Path | None = None) -> Iterator[None]:
        """Run scenezoo calls that read ``role``; errors name its file and carry the report
        when something is missing."""
        sz = _scenezoo()
        where = path if path is not None else self.files[role].path
        try:
            yield
        except GeoenvError:
            raise
        except (FileNotFoundError, sz.UnsupportedOperationError) as exc:
            raise MissingDataError(
                getattr(exc, "filename", None) or where,
                role,
                f"scenezoo could not read the {role} of {self.ds.name} scene {self.sid}: {exc}",
                self.files[role].expected if role in self.files else "",
                _check(self.ds, self.sid),
            ) from exc
        except (
            sz.SceneZooError,
            OSError,
            ValueError,
            KeyError,
            IndexError,
            TypeError,
            RuntimeError,
            ET.ParseError,
        ) as exc:
            raise SceneFormatError(
                where, role, f"scenezoo could not read it: {type(exc).__name__}: {exc}"
            ) from exc


def _check(ds: Any, sid: str | None) -> Any:
    """scenezoo's check report for the scene (or the whole root), None if the check fails."""
    try:
        return ds.check(sample_ids=None if sid is None else [sid])
    except Exception:  # the report is a courtesy; never hide the real error behind it
        return None


# ---------------------------------------------------------------------- building
def _build(src: ScenezooSource, prof: _Profile, ctx: _Ctx, raw: _Raw, opts: _Options) -> Scene:
    notes = raw.notes
    a = raw.align if opts.align else np.eye(4)
    if not opts.align and not np.array_equal(raw.align, np.eye(4)):
        notes.append("align=False: the dataset's alignment was not applied")
    pts = raw.points if np.array_equal(a, np.eye(4)) else raw.points @ a[:3, :3].T + a[:3, 3]
    n = len(pts)
    face_domain = raw.face_instance is not None
    ids = raw.face_instance if face_domain else raw.instance
    where = "face" if face_domain else "vertex"

    # --- instances and their labels
    known = np.array(sorted(raw.names), dtype=np.int64)
    unknown = (ids >= 0) & ~np.isin(ids, known)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise UnknownLabelError(
            raw.label_file,
            "instance",
            f"instance id {int(ids[i])} (first at {where} {i}) has no name in the label map",
        )
    present = set(np.unique(ids[ids >= 0]).tolist())
    labels: dict[int, str] = {}
    for k in sorted(raw.names):
        if k in present:
            labels[k] = prof.map_label(ctx, raw.names[k], opts.label_space)
        else:
            notes.append(
                f"object {k} ({raw.names[k]!r}) has no {where}s of its own in "
                f"{raw.label_file.name}: left out"
            )
    keep = np.array(sorted(labels), dtype=np.int64)
    ids = np.where(np.isin(ids, keep), ids, -1)

    # --- frames
    frames: list[Frame] = []
    for index, w2c, k, w, h, t, name in raw.frames:
        fpath = raw.frames_file
        m = check_rigid(np.asarray(w2c, np.float64), fpath, f"frames[{index}].world_to_camera")
        kk = check_intrinsics(np.asarray(k, np.float64), w, h, fpath, f"frames[{index}].K")
        frames.append(Frame(index, a @ invert_rigid(m), kk, int(w), int(h), float(t), name=name))

    mesh = None
    face_instance = None
    if raw.faces is not None and len(raw.faces):
        vc = (
            None if raw.colors is None else np.column_stack([raw.colors, np.full(n, 255, np.uint8)])
        )
        mesh = trimesh.Trimesh(
            vertices=pts, faces=raw.faces, vertex_colors=vc, process=False, validate=False
        )
        if face_domain:
            face_instance = ids
        else:
            fi = ids[raw.faces]
            face_instance = np.where((fi == fi[:, :1]).all(axis=1), fi[:, 0], -1)

    sz = _scenezoo()
    metadata: dict[str, Any] = {
        "source_format": f"scenezoo:{prof.name}",
        # the scene's folder on disk (beside it live caches such as geoenv's visibility cache)
        "source_path": str(prof.scene_dir(ctx)),
        "source": str(src),
        "dataset": prof.name,
        "dataset_root": str(src.root),
        "sample_id": ctx.sid,
        "scenezoo_version": sz.__version__,
        "axis_alignment": a.tolist(),
        "label_space": opts.label_space,
        "geometry": "points",
        "box_source": prof.box_note,
        "files": {role: str(f.path) for role, f in sorted(ctx.files.items()) if f.path.exists()},
        **raw.meta,
        "notes": notes,
    }
    sid = prof.scene_id(ctx.sid)
    if face_domain:
        # As geoenv's face-labelled PLY meshes: an object's points are the distinct vertices of
        # its faces, in vertex order; a vertex shared by two objects' faces belongs to both.
        assert raw.faces is not None
        order = np.argsort(ids, kind="stable")
        bounds = np.searchsorted(ids[order], np.concatenate([keep, keep + 1]))
        objects = []
        owners = np.zeros(n, dtype=np.int64)
        mark = np.zeros(n, dtype=bool)
        for j, k in enumerate(keep.tolist()):
            mark[raw.faces[order[bounds[j] : bounds[len(keep) + j]]].ravel()] = True
            v = np.flatnonzero(mark)
            mark[v] = False
            owners[v] += 1
            objects.append(SceneObject(str(k), labels[k], pts[v]))
        shared = int((owners > 1).sum())
        if shared:
            notes.append(f"{shared} vertices are shared by faces of two objects: in both")
        scene = Scene(
            sid,
            objects,
            frames,
            points=pts,
            colors=raw.colors,
            mesh=mesh,
            mesh_face_instance=face_instance,
            metadata=metadata,
        )
    else:
        scene = Scene.from_instances(
            sid,
            pts,
            ids,
            labels,
            colors=raw.colors,
            frames=frames,
            mesh=mesh,
            mesh_face_instance=face_instance,
            metadata=metadata,
        )
    for k, box in raw.boxes.items():
        if k in labels:
            scene.objects[str(k)].attributes["box"] = _world_box(box, a)
    return scene


def _world_box(box: dict[str, Any], a: np.ndarray) -> dict[str, Any]:
    r = a[:3, :3] @ np.asarray(box["rotation"])
    c = a[:3, :3] @ np.asarray(box["center"]) + a[:3, 3]
    return {
        "center": c.tolist(),
        "size": np.asarray(box["size"]).tolist(),
        "rotation": r.tolist(),
        "source": box["source"],
    }


def _o3d_box(obb: Any, path: Path, field_: str, source: str, official: bool) -> dict[str, Any]:
    """An open3d box as plain arrays; official boxes are validated (finite, rotation, size)."""
    if hasattr(obb, "R"):
        c = np.asarray(obb.center, np.float64)
        r = np.asarray(obb.R, np.float64)
        s = np.asarray(obb.extent, np.float64)
    else:  # axis-aligned
        lo, hi = np.asarray(obb.min_bound, np.float64), np.asarray(obb.max_bound, np.float64)
        c, r, s = (lo + hi) / 2, np.eye(3), hi - lo
    if official:
        check_finite(c, path, f"{field_}.centroid")
        check_finite(r, path, f"{field_}.normalizedAxes")
        check_finite(s, path, f"{field_}.axesLengths")
        if np.linalg.det(r) < 0:  # a left-handed axis frame: the same box, third axis flipped
            r = r * np.array([1.0, 1.0, -1.0])
            source += " (third axis flipped to a right-handed frame)"
        m = np.eye(4)
        m[:3, :3] = r
        check_rigid(m, path, f"{field_}.normalizedAxes")
        if (s < 0).any():
            raise SceneFormatError(path, f"{field_}.axesLengths", f"negative box size {s.tolist()}")
    return {"center": c, "rotation": r, "size": s, "source": source}


def _mesh_arrays(mesh: Any, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.triangles, dtype=np.int64)
    check_finite(v, path, "vertex")
    c = None
    if mesh.has_vertex_colors():
        c = np.rint(np.clip(np.asarray(mesh.vertex_colors), 0.0, 1.0) * 255).astype(np.uint8)
    return v, f, c


def _instances(seg: Any, n: int, path: Path, field_: str, what: str) -> np.ndarray:
    """(n,) int64 instance ids from a scenezoo Segmentation3D (invalid id -> -1)."""
    lab = np.asarray(seg.labels)
    if lab.ndim != 1 or len(lab) != n:
        raise SceneFormatError(
            path, field_, f"has {len(lab)} entries but {what} has {n} (they must match one to one)"
        )
    out = lab.astype(np.int64)
    out[out == int(seg.invalid_id)] = -1
    return out


def _segmented_mesh(ctx: _Ctx) -> _Raw:
    """Mesh vertices, colours and faces with per-vertex instances from the segments and
    aggregation files (the ScanNet and ScanNet++ layouts)."""
    with ctx.stage("mesh"):
        v, fcs, col = _mesh_arrays(ctx.ds.get_mesh(ctx.sid), ctx.path("mesh"))
    with ctx.stage("aggregation"):
        seg = ctx.ds.get_segmentation(ctx.sid)
    inst = _instances(
        seg, len(v), ctx.path("segmentation"), "segIndices", ctx.path("mesh").name + " (vertices)"
    )
    names = {int(k): str(x) for k, x in seg.id_to_name.items()}
    return _Raw(v, col, fcs, inst, names, ctx.path("aggregation"))


def _read_text_ids(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]


# ---------------------------------------------------------------------- dataset profiles
class _Profile:
    """How one scenezoo dataset maps to geoenv scenes."""

    name: ClassVar[str]
    root_hint: ClassVar[str]
    id_depth: ClassVar[int] = 1
    label_spaces: ClassVar[tuple[str, ...]] = ("raw",)
    box_note: ClassVar[str] = "none"
    dataset_options: ClassVar[dict[str, Any]] = {}

    def dataset(self, root: Path) -> Any:
        sz = _scenezoo()
        return sz.get_dataset(self.name, root, offline=True, **self.local_options(root))

    def local_options(self, root: Path) -> dict[str, Any]:
        return dict(self.dataset_options)

    def is_root(self, p: Path) -> bool:
        raise NotImplementedError

    def disk_ids(self, root: Path) -> list[str]:
        raise NotImplementedError

    def split_ids(self, root: Path, split: str) -> list[str]:
        ds = self.dataset(root)
        try:
            return list(ds.get_ids(split))
        except KeyError as exc:
            raise SceneFormatError(root, "split", str(exc.args[0])) from None
        except FileNotFoundError as exc:
            raise MissingDataError(
                root, "split", f"the {self.name} split lists are not available offline: {exc}"
            ) from None
        except (_scenezoo().SceneZooError, OSError, ValueError) as exc:
            raise SceneFormatError(root, "split", f"{type(exc).__name__}: {exc}") from exc

    def files(self, ds: Any, sid: str) -> dict[str, _File]:
        raise NotImplementedError

    def read(self, ctx: _Ctx, opts: _Options) -> _Raw:
        raise NotImplementedError

    def scene_id(self, sid: str) -> str:
        return sid

    def scene_dir(self, ctx: _Ctx) -> Path:
        """The scene's folder: where its mesh lives."""
        return ctx.path("mesh").parent

    def map_label(self, ctx: _Ctx, name: str, space: str) -> str:
        return name


def _sorted_dirs(d: Path) -> list[Path]:
    if not d.is_dir():
        return []
    return sorted((p for p in d.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))


class _ScanNet(_Profile):
    name = "scannetv2"
    root_hint = "<root>/scans/<scene_id>/<scene_id>_vh_clean_2.ply, ..."
    label_spaces = ("raw", "nyu40")
    box_note = "no official boxes (boxes='all': scenezoo's mobb_gravity fitted to the vertices)"
    _SPLIT_FILES = (
        "scannetv2_{split}.txt",
        "Tasks/Benchmark/scannetv2_{split}.txt",
        "splits/scannetv2_{split}.txt",
    )

    def is_root(self, p: Path) -> bool:
        return (p / "scans").is_dir()

    def disk_ids(self, root: Path) -> list[str]:
        return [p.name for p in _sorted_dirs(root / "scans") if p.name.startswith("scene")]

    def split_ids(self, root: Path, split: str) -> list[str]:
        cands = [root / t.format(split=split) for t in self._SPLIT_FILES]
        for c in cands:
            if c.is_file():
                return _read_text_ids(c)
        raise MissingDataError(
            cands[0],
            "split",
            f"no local list of the ScanNet split {split!r} (offline: it is never downloaded)",
            expected="one of " + ", ".join(str(c) for c in cands),
        )

    def files(self, ds: Any, sid: str) -> dict[str, _File]:
        def f(t: str) -> Path:
            return ds.root_dir / t.format(scene_id=sid)

        return {
            "mesh": _File(
                f(ds.mesh_files["decimated"]), True, f"{sid}_vh_clean_2.ply (decimated mesh)"
            ),
            "segmentation": _File(
                f(ds.segmentation_files["decimated"]),
                True,
                f"{sid}_vh_clean_2.0.010000.segs.json (segIndices per vertex)",
            ),
            "aggregation": _File(
                f(ds.aggregation_files["decimated"]),
                True,
                f"{sid}.aggregation.json (segGroups: objectId, label, segments)",
            ),
            "alignment": _File(
                f(ds.alignment_file), False, f"{sid}.txt (axisAlignment, colorWidth, colorHeight)"
            ),
            "sens": _File(f(ds.sens_file), False, f"{sid}.sens (camera poses and intrinsics)"),
            "label_map": _File(
                ds.root_dir / "scannetv2-labels.combined.tsv",
                False,
                "<root>/scannetv2-labels.combined.tsv (raw_category -> nyu40class), needed for "
                "label_space='nyu40'",
            ),
        }

    def read(self, ctx: _Ctx, opts: _Options) -> _Raw:
        ds, sid = ctx.ds, ctx.sid
        raw = _segmented_mesh(ctx)
        info: dict[str, Any] = {}
        if ctx.has("alignment"):
            with ctx.stage("alignment"):
                info = ds.get_scene_info(sid)
        if "axisAlignment" in info:
            raw.align = check_rigid(
                np.asarray(info["axisAlignment"], np.float64),
                ctx.path("alignment"),
                "axisAlignment",
            )
        else:
            raw.notes.append(f"{ctx.path('alignment').name}: no axisAlignment; identity used")
        if opts.boxes == "all":
            with ctx.stage("aggregation"):
                bx, _ = ds.get_boxes(sid)
            for k, b in bx.items():
                raw.boxes[int(k)] = _o3d_box(
                    b,
                    ctx.path("aggregation"),
                    f"segGroups[objectId={k}]",
                    "scenezoo:mobb_gravity (fitted)",
                    False,
                )
        if not opts.frames:
            return raw
        if not ctx.has("sens"):
            raw.notes.append(f"{ctx.path('sens').name} missing: no frames")
            return raw
        if not ctx.has("alignment"):
            raw.notes.append(f"{ctx.path('alignment').name} missing: no image size, no frames")
            return raw
        with ctx.stage("sens"):
            fb = ds.get_frames(
                sid, step=opts.frame_step, items=("rgb_intrinsics", "world_to_camera")
            )
            w, h = ds.get_calibration(sid)["rgb_size"]
        name = ctx.path("sens").name
        raw.frames_file = ctx.path("sens")
        for j, i in enumerate(fb.indices.tolist()):
            raw.frames.append(
                (
                    i,
                    fb.world_to_camera[j],
                    fb.rgb_intrinsics[j],
                    w,
                    h,
                    i / SCANNET_FPS,
                    f"{name}[{i}]",
                )
            )
        if opts.frame_step == 1:
            skipped = sorted(set(range(fb.source_frame_count)) - set(fb.indices.tolist()))
            raw.meta["skipped_frames"] = skipped
            if skipped:
                raw.notes.append(
                    f"{name}: skipped {len(skipped)} frames with invalid (non-finite) poses"
                )
        raw.meta["frame_source"] = "sens"
        return raw

    def map_label(self, ctx: _Ctx, name: str, space: str) -> str:
        if space == "raw":
            return name
        with ctx.stage("label_map"):
            table = ctx.ds.metadata["label_mapping"]
        row = table.get(name)
        if row is None or not row.get("nyu40class"):
            raise UnknownLabelError(
                ctx.ds.metadata.get("label_mapping_source"),
                f"raw_category={name!r}",
                "ScanNet label has no nyu40class in the label map",
            )
        return str(row["nyu40class"])


class _ScanNetPP(_Profile):
    name = "scannetppv2"
    root_hint = "<root>/data/<scene_id>/scans/mesh_aligned_0.05.ply, ..."
    box_note = "no official boxes (boxes='all': scenezoo's mobb_gravity fitted to the vertices)"
    _SOURCES = ("iphone", "iphone_colmap", "dslr_undistorted")

    def is_root(self, p: Path) -> bool:
        return (p / "data").is_dir()

    def disk_ids(self, root: Path) -> list[str]:
        groups = ("scans", "iphone", "dslr", "panocam")
        return [
            p.name for p in _sorted_dirs(root / "data") if any((p / g).exists() for g in groups)
        ]

    def scene_dir(self, ctx: _Ctx) -> Path:
        return ctx.path("mesh").parent.parent

    def files(self, ds: Any, sid: str) -> dict[str, _File]:
        d = ds.root_dir / ds.data_dir.format(scene_id=sid)
        return {
            "mesh": _File(
                d / "scans/mesh_aligned_0.05.ply",
                True,
                "scans/mesh_aligned_0.05.ply (aligned mesh)",
            ),
            "segmentation": _File(
                d / "scans/segments.json", True, "scans/segments.json (segIndices per vertex)"
            ),
            "aggregation": _File(
                d / "scans/segments_anno.json", True, "scans/segments_anno.json (segGroups)"
            ),
            "mask": _File(
                d / "scans/mesh_aligned_0.05_mask.txt", False, "anonymised vertex indices"
            ),
            "iphone": _File(
                d / "iphone/pose_intrinsic_imu.json",
                False,
                "iphone/pose_intrinsic_imu.json and iphone/rgb.mkv",
            ),
            "iphone_colmap": _File(
                d / "iphone/colmap/images.txt", False, "iphone/colmap/{cameras,images}.txt"
            ),
            "dslr_undistorted": _File(
                d / "dslr/nerfstudio/transforms_undistorted.json",
                False,
                "dslr/nerfstudio/transforms_undistorted.json",
            ),
        }

    def read(self, ctx: _Ctx, opts: _Options) -> _Raw:
        ds, sid = ctx.ds, ctx.sid
        raw = _segmented_mesh(ctx)
        if ctx.has("mask"):
            raw.notes.append(f"{ctx.path('mask').name}: anonymised vertices belong to no object")
        if opts.boxes == "all":
            with ctx.stage("aggregation"):
                bx, _ = ds.get_boxes(sid)
            for k, b in bx.items():
                raw.boxes[int(k)] = _o3d_box(
                    b,
                    ctx.path("aggregation"),
                    f"segGroups[objectId={k}]",
                    "scenezoo:mobb_gravity (fitted)",
                    False,
                )
        if not opts.frames:
            return raw
        if opts.frame_source is not None:
            if opts.frame_source not in self._SOURCES:
                raise SceneFormatError(
                    None,
                    "frame_source",
                    f"ScanNet++ pinhole sources are {list(self._SOURCES)}, "
                    f"not {opts.frame_source!r}",
                )
            src = opts.frame_source
        else:
            with ctx.stage("iphone"):
                present = ds.get_frame_sources(sid)
            src = next((s for s in self._SOURCES if s in present), None)
            if src is None:
                raw.notes.append(
                    f"no pinhole frame source ({', '.join(self._SOURCES)}) on disk: no frames"
                )
                return raw
        items = ["rgb_intrinsics", "world_to_camera"]
        if src != "dslr_undistorted":
            items.append("timestamps")
        with ctx.stage(src):
            fb = ds.get_frames(sid, source=src, step=opts.frame_step, items=tuple(items))
        raw.frames_file = ctx.path(src)
        keys = fb.frame_keys or tuple(str(i) for i in fb.indices)
        for j, i in enumerate(fb.indices.tolist()):
            t = float(fb.timestamps[j]) if fb.timestamps is not None else i / SCANNETPP_IPHONE_FPS
            w, h = (int(x) for x in fb.image_sizes[j])
            raw.frames.append((i, fb.world_to_camera[j], fb.rgb_intrinsics[j], w, h, t, keys[j]))
        raw.meta["frame_source"] = src
        return raw


class _ARKitScenes(_Profile):
    name = "arkitscenes"
    root_hint = "<root>/raw/metadata.csv and <root>/raw/{Training,Validation}/<video_id>/"
    box_note = "official 3DOD obbAligned boxes (instances = mesh vertices inside them)"

    def is_root(self, p: Path) -> bool:
        return any((p / n).exists() for n in ("raw", "metadata.csv", "Training", "Validation"))

    def disk_ids(self, root: Path) -> list[str]:
        data = self._data_root(root)
        return [p.name for fold in ("Training", "Validation") for p in _sorted_dirs(data / fold)]

    @staticmethod
    def _data_root(root: Path) -> Path:
        return root / "raw" if (root / "raw" / "metadata.csv").is_file() else root

    def split_ids(self, root: Path, split: str) -> list[str]:
        meta = self._data_root(root) / "metadata.csv"
        if not meta.is_file():
            raise MissingDataError(
                meta,
                "split",
                "ARKitScenes splits need the local metadata.csv offline",
                expected="raw/metadata.csv from the official download",
            )
        return super().split_ids(root, split)

    def files(self, ds: Any, sid: str) -> dict[str, _File]:
        meta = ds.data_root / ds.metadata_file
        out = {
            "metadata": _File(
                meta,
                True,
                "raw/metadata.csv (video_id, fold, sky_direction); offline it is the only "
                "split source",
            )
        }
        fold = "Training"
        if meta.is_file():
            try:
                table = ds.metadata
            except Exception as exc:  # scenezoo raises DataFormatError, KeyError, ValueError
                raise SceneFormatError(meta, None, f"{type(exc).__name__}: {exc}") from exc
            row = table.get(str(sid))
            if row is None:
                raise MissingDataError(
                    meta,
                    "video_id",
                    f"video {sid} is not listed",
                    expected=f"a row video_id={sid}",
                    report=_check(ds, sid),
                )
            fold = row["fold"]
        d = ds.data_root / fold / sid

        def f(t: str) -> Path:
            return d / t.format(scene_id=sid).removeprefix(f"{sid}/")

        out["mesh"] = _File(f(ds.mesh_file), True, f"{sid}_3dod_mesh.ply (3DOD mesh)")
        out["annotation"] = _File(
            f(ds.annotation_file), True, f"{sid}_3dod_annotation.json (data[].segments.obbAligned)"
        )
        out["trajectory"] = _File(
            f(ds.trajectory_file),
            False,
            "lowres_wide.traj and lowres_wide_intrinsics/*.pincam (frames)",
        )
        out["video"] = _File(
            f(ds.rgb_video_file), False, f"{sid}.mov (image size of the mov frames)"
        )
        return out

    def read(self, ctx: _Ctx, opts: _Options) -> _Raw:
        ds, sid = ctx.ds, ctx.sid
        ann = ctx.path("annotation")
        with ctx.stage("annotation"):
            bx, names = ds.get_boxes(sid)
        boxes = {
            int(k): _o3d_box(
                b, ann, f"data[{k}].segments.obbAligned", "arkitscenes:obbAligned (official)", True
            )
            for k, b in bx.items()
        }
        with ctx.stage("mesh"):
            v, fcs, col = _mesh_arrays(ds.get_mesh(sid), ctx.path("mesh"))
        with ctx.stage("annotation"):
            seg = ds.get_segmentation(sid)
        inst = _instances(seg, len(v), ann, "data", ctx.path("mesh").name + " (vertices)")
        raw = _Raw(v, col, fcs, inst, {int(k): str(x) for k, x in names.items()}, ann)
        raw.boxes = boxes if opts.boxes != "none" else {}
        sky = ds.metadata[sid]["sky_direction"]
        raw.meta["sky_direction"] = sky
        if not opts.frames:
            return raw
        if opts.frame_source not in (None, "mov"):
            raise SceneFormatError(
                None,
                "frame_source",
                f"ARKitScenes frames are read from 'mov', not {opts.frame_source!r}",
            )
        if not ctx.has("trajectory"):
            raw.notes.append(f"{ctx.path('trajectory').name} missing: no frames")
            return raw
        from scenezoo.dataset.scene.arkitscenes import ROTATION_BY_SKY_DIRECTION
        from scenezoo.ops.frame import build_pixel_transform

        pincams = sorted(
            (ctx.path("trajectory").parent / "lowres_wide_intrinsics").glob("*.pincam")
        )
        if not pincams:
            raw.notes.append("lowres_wide_intrinsics/ has no .pincam files: no frames")
            return raw
        with ctx.stage("trajectory"):
            fb = ds.get_frames(
                sid,
                source="mov",
                step=opts.frame_step,
                items=("rgb_intrinsics", "world_to_camera", "timestamps"),
            )
            if ctx.has("video"):
                from scenezoo.io.video import read_video_frame_size

                native = read_video_frame_size(ctx.path("video"))
            else:
                vals = pincams[0].read_text().split()
                native = (int(vals[0]), int(vals[1]))
            w, h = build_pixel_transform(
                native, rotation=ROTATION_BY_SKY_DIRECTION[sky]
            ).output_size
        raw.frames_file = ctx.path("trajectory")
        keys = fb.frame_keys or tuple(str(i) for i in fb.indices)
        for j, i in enumerate(fb.indices.tolist()):
            raw.frames.append(
                (
                    i,
                    fb.world_to_camera[j],
                    fb.rgb_intrinsics[j],
                    w,
                    h,
                    float(fb.timestamps[j]),
                    keys[j],
                )
            )
        raw.meta["frame_source"] = "mov"
        if ROTATION_BY_SKY_DIRECTION[sky]:
            raw.notes.append(
                f"frames turned upright (sky direction {sky}): camera rolled, image {w}x{h}"
            )
        return raw


class _MultiScan(_Profile):
    name = "multiscan"
    root_hint = "<root>/<scan_id>/<scan_id>.ply, .annotations.json, .align.json"
    box_note = "official annotation obb boxes (obb_gt)"

    def local_options(self, root: Path) -> dict[str, Any]:
        for c in (root / "scans_split.csv", root / "benchmark" / "scans_split.csv"):
            if c.is_file():
                return {"split_file": str(c)}
        return {}

    def is_root(self, p: Path) -> bool:
        if not p.is_dir() or (p / f"{p.name}.ply").is_file():
            return False
        return any((c / f"{c.name}.ply").is_file() for c in _sorted_dirs(p))

    def disk_ids(self, root: Path) -> list[str]:
        return [c.name for c in _sorted_dirs(root) if (c / f"{c.name}.ply").is_file()]

    def files(self, ds: Any, sid: str) -> dict[str, _File]:
        def f(t: str) -> Path:
            return ds.root_dir / t.format(scene_id=sid)

        return {
            "mesh": _File(
                f(ds.mesh_files["ply"]), True, f"{sid}.ply (faces with objectId, partId)"
            ),
            "annotation": _File(
                f(ds.annotation_file), True, f"{sid}.annotations.json (objects, parts)"
            ),
            "alignment": _File(
                f(ds.alignment_file), False, f"{sid}.align.json (coordinate_transform)"
            ),
            "camera": _File(
                f(ds.camera_file),
                False,
                f"{sid}.json (streams) and {sid}.jsonl (per-frame cameras)",
            ),
            "camera_records": _File(f(ds.camera_metadata_file), False, f"{sid}.jsonl"),
        }

    def read(self, ctx: _Ctx, opts: _Options) -> _Raw:
        ds, sid = ctx.ds, ctx.sid
        with ctx.stage("mesh"):
            v, fcs, col = _mesh_arrays(ds.get_mesh(sid, mesh_type="ply"), ctx.path("mesh"))
        with ctx.stage("annotation"):
            seg = ds.get_segmentation(sid)
        face = _instances(
            seg, len(fcs), ctx.path("mesh"), "face.objectId", ctx.path("mesh").name + " (faces)"
        )
        raw = _Raw(
            v,
            col,
            fcs,
            None,
            {int(k): str(x) for k, x in seg.id_to_name.items()},
            ctx.path("annotation"),
        )
        raw.face_instance = face
        if ctx.has("alignment"):
            with ctx.stage("alignment"):
                a = ds.get_alignment(sid)
            raw.align = check_rigid(
                np.asarray(a, np.float64), ctx.path("alignment"), "coordinate_transform"
            )
        else:
            raw.notes.append(f"{ctx.path('alignment').name} missing: identity alignment")
        if opts.boxes != "none":
            with ctx.stage("annotation"):
                objs = ds.get_annotations(sid)["objects"]
                bx, _ = ds.get_boxes(sid, box_type="obb_gt")
            pos = {int(o["objectId"]): i for i, o in enumerate(objs)}
            for k, b in bx.items():
                raw.boxes[int(k)] = _o3d_box(
                    b,
                    ctx.path("annotation"),
                    f"objects[{pos[int(k)]}].obb",
                    "multiscan:obb (official)",
                    True,
                )
        if opts.boxes == "all":
            with ctx.stage("annotation"):
                fitted, _ = ds.get_boxes(sid)
            for k, b in fitted.items():
                raw.boxes.setdefault(
                    int(k),
                    _o3d_box(
                        b,
                        ctx.path("annotation"),
                        f"objects[objectId={k}]",
                        "scenezoo:mobb_gravity (fitted)",
                        False,
                    ),
                )
        if not opts.frames:
            return raw
        if not (ctx.has("camera") and ctx.has("camera_records")):
            raw.notes.append(
                f"{ctx.path('camera').name} / {ctx.path('camera_records').name} missing: no frames"
            )
            return raw
        from scenezoo.dataset.scene.multiscan import ROTATION_BY_SKY_DIRECTION
        from scenezoo.ops.frame import build_pixel_transform

        with ctx.stage("camera"):
            fb = ds.get_frames(
                sid, step=opts.frame_step, items=("rgb_intrinsics", "world_to_camera")
            )
            stream = next(
                s for s in ds.get_scene_info(sid)["streams"] if s.get("type") == "color_camera"
            )
            height, width = (int(x) for x in stream["resolution"])
            fps = float(stream.get("frequency") or 30.0)
            load_sky = getattr(type(ds), "_load_sky_directions", None)
            sky = load_sky().get(sid, "Up") if load_sky is not None else "Up"
            w, h = build_pixel_transform(
                (width, height), rotation=ROTATION_BY_SKY_DIRECTION[sky]
            ).output_size
        raw.frames_file = ctx.path("camera_records")
        for j, i in enumerate(fb.indices.tolist()):
            raw.frames.append(
                (i, fb.world_to_camera[j], fb.rgb_intrinsics[j], w, h, i / fps, f"{sid}.jsonl[{i}]")
            )
        raw.meta["frame_source"] = "capture"
        raw.meta["sky_direction"] = sky
        return raw


class _S3DIS(_Profile):
    name = "s3dis"
    root_hint = "<root>/Area_N/<room>/Annotations/<class>_<n>.txt"
    id_depth = 2
    box_note = "no official boxes (boxes='all': scenezoo's aabb fitted to the points)"
    _NAMES = ("Stanford3dDataset_v1.2_Aligned_Version", "Stanford3dDataset_v1.2")

    def _data(self, root: Path) -> Path:
        if any((root / f"Area_{i}").is_dir() for i in range(1, 7)):
            return root
        return next((root / n for n in self._NAMES if (root / n).is_dir()), root)

    def is_root(self, p: Path) -> bool:
        d = self._data(p)
        return any((d / f"Area_{i}").is_dir() for i in range(1, 7))

    def disk_ids(self, root: Path) -> list[str]:
        d = self._data(root)
        return [
            f"{a.name}/{r.name}"
            for a in _sorted_dirs(d)
            if re.fullmatch(r"Area_[1-6]", a.name)
            for r in _sorted_dirs(a)
            if (r / "Annotations").is_dir()
        ]

    def files(self, ds: Any, sid: str) -> dict[str, _File]:
        room = ds.dataset_root / sid
        area = sid.split("/", 1)[0]
        return {
            "annotations": _File(
                room / "Annotations", True, "Annotations/<class>_<n>.txt (x y z r g b)"
            ),
            "alignment": _File(
                ds.dataset_root / area / f"{area}_alignmentAngle.txt",
                False,
                "<room> <angle_deg> lines",
            ),
        }

    def scene_id(self, sid: str) -> str:
        return sid.replace("/", "__")

    def scene_dir(self, ctx: _Ctx) -> Path:
        return ctx.path("annotations").parent

    def read(self, ctx: _Ctx, opts: _Options) -> _Raw:
        ds, sid = ctx.ds, ctx.sid
        if not ctx.path("annotations").is_dir():
            raise ctx.missing("annotations", "missing room annotation directory")
        angle = None
        if ctx.has("alignment") and opts.align:
            sz = _scenezoo()
            with ctx.stage("alignment"):
                try:
                    angle = float(ds.get_alignment_angle(sid))
                except sz.DataFormatError:  # the room is not listed: no angle
                    angle = None
        with ctx.stage("annotations", ctx.path("annotations")):
            pb = ds.get_points(sid, align_to_axes=angle is not None)
        xyz = np.asarray(pb.xyz, np.float64)
        check_finite(xyz, ctx.path("annotations"), "xyz")
        inst = np.asarray(pb.instance_labels, np.int64).copy()
        inst[inst == int(pb.invalid_id)] = -1
        raw = _Raw(
            xyz,
            pb.rgb,
            None,
            inst,
            {int(k): str(x) for k, x in pb.instance_id_to_name.items()},
            ctx.path("annotations"),
        )
        raw.notes.append(
            "object ids number the Annotations/*.txt files in natural order; unknown classes "
            "read as 'clutter'"
        )
        if angle is not None:
            raw.meta["alignment_angle_deg"] = float(angle)
            raw.notes.append(
                f"rotated by -{angle} deg about the room centre (S3DIS alignment angle)"
            )
        if opts.boxes == "all":
            with ctx.stage("annotations", ctx.path("annotations")):
                bx, _ = ds.get_boxes(sid, align_to_axes=angle is not None)
            for k, b in bx.items():
                raw.boxes[int(k)] = _o3d_box(
                    b, ctx.path("annotations"), f"instance {k}", "scenezoo:aabb (fitted)", False
                )
        return raw


class _SceneNN(_Profile):
    name = "scenenn"
    root_hint = "<root>/<scene_id>/<scene_id>.ply, <scene_id>.xml"

    def is_root(self, p: Path) -> bool:
        return any(any(c.glob("*.ply")) for c in _sorted_dirs(p))

    def disk_ids(self, root: Path) -> list[str]:
        return [c.name for c in _sorted_dirs(root) if any(c.glob("*.ply"))]

    def split_ids(self, root: Path, split: str) -> list[str]:
        raise SceneFormatError(root, "split", "SceneNN has no official splits: leave out @<split>")

    def files(self, ds: Any, sid: str) -> dict[str, _File]:
        def f(t: str) -> Path:
            return ds.root_dir / t.format(scene_id=sid)

        return {
            "mesh": _File(f(ds.instance_mesh_file), True, f"{sid}.ply (instance-coloured mesh)"),
            "annotation": _File(f(ds.annotation_file), True, f"{sid}.xml (<label id color text>)"),
            "color_mesh": _File(
                f(ds.raw_mesh_file), False, f"{sid}_color.ply (colour mesh, same vertices)"
            ),
        }

    def read(self, ctx: _Ctx, opts: _Options) -> _Raw:
        ds, sid = ctx.ds, ctx.sid
        kind = "raw" if ctx.has("color_mesh") else "instance"
        with ctx.stage("mesh"):
            v, fcs, col = _mesh_arrays(ds.get_mesh(sid, mesh_type=kind), ctx.path("mesh"))
        with ctx.stage("annotation"):
            seg = ds.get_segmentation(sid)
        inst = _instances(
            seg,
            len(v),
            ctx.path("mesh"),
            "vertex.red/green/blue",
            ctx.path("mesh").name + " (vertices)",
        )
        raw = _Raw(
            v,
            col,
            fcs,
            inst,
            {int(k): str(x) for k, x in seg.id_to_name.items()},
            ctx.path("annotation"),
        )
        raw.notes.append("SceneNN is y-up: scenezoo turns it z-up, (x, y, z) -> (x, -z, y)")
        if kind == "instance":
            raw.notes.append(
                f"{ctx.path('color_mesh').name} missing: colours are the instance colours"
            )
        return raw


_PROFILES: dict[str, _Profile] = {
    p.name: p
    for p in (_ScanNet(), _ScanNetPP(), _ARKitScenes(), _MultiScan(), _S3DIS(), _SceneNN())
}
#: Canonical scenezoo names of the datasets geoenv reads.
SUPPORTED_DATASETS: tuple[str, ...] = tuple(_PROFILES)


def _profile(name: str, root: str | Path | None = None) -> _Profile:
    sz = _scenezoo()
    try:
        canonical = sz.get_dataset_info(name).name
    except (KeyError, ValueError):
        raise UnknownDatasetError(
            root,
            "dataset",
            f"unknown scenezoo dataset {name!r}; known: {', '.join(sz.list_datasets())}",
        ) from None
    prof = _PROFILES.get(canonical)
    if prof is None:
        raise UnsupportedDatasetError(
            root,
            "dataset",
            f"scenezoo reads {canonical!r} but geoenv has no verified mapping of it to scenes "
            f"yet; geoenv reads: {', '.join(SUPPORTED_DATASETS)}",
        )
    return prof
