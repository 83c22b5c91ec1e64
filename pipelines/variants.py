"""Occlusion and degradation variants of generated questions (pure functions).

Every function takes clean :class:`~geoenv.tasks.base.Question` rows, their scene and a seed
and returns :class:`Variant` s: a new Question row (``variant`` = ``occlusion`` or
``degradation``, ``base_question_id`` = the clean row's id, ``variant_params`` with the type and
its parameters, a new id) and the files it needs as bytes keyed by a deterministic relative
path (PNG images, NPZ point clouds). Nothing is written; the pipeline decides where the files
go. Every random choice comes from a generator seeded by (question id, seed, variant type), so
a variant is a pure function of (question, scene, seed).

Occlusion (``variant = "occlusion"``; rules in docs/visibility.md):

- :func:`view_drop` (scene-family questions, whose text names no frame): the question is asked
  over a set of views (``variant_params["views"]``); the frames in which one referent is
  visible at all are replaced by frames where it is not, so the answer becomes
  :data:`UNANSWERABLE` (choice questions gain that choice).
- :func:`occluder_insertion` (questions about one frame ``t``): a camera-facing box is placed
  between the camera and a referent, the frame is re-cast and re-rendered, and the answer is
  :data:`UNANSWERABLE` when a referent drops below the in-view threshold, unchanged when every
  referent stays in view (partial occlusion). Choice questions gain the ``unanswerable``
  choice in both cases, so its presence says nothing.
- :func:`which_view_resolves`: for a view-drop variant, which of 4 extra frames would make it
  answerable again (exactly one shows the missing referent).

Degradation (``variant = "degradation"``; the answer is the clean answer):
:func:`degrade_image` (motion blur, defocus blur, Gaussian noise, low light, over-exposure,
JPEG, haze from the depth map, radial lens distortion through K, low resolution) and
:func:`degrade_points` (Gaussian point noise, dropout, voxel downsampling, camera pose jitter),
severity 1-5 (:data:`IMAGE_SEVERITY`, :data:`GEOMETRY_SEVERITY`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import trimesh
from PIL import Image
from scipy import ndimage

from geoenv.frames import Frame
from geoenv.render import png_bytes, render_frame
from geoenv.scene import Scene, SceneObject
from geoenv.serialize import canonical_json, npz_bytes
from geoenv.tasks.base import Question, question_id, stable_seed
from geoenv.visibility import MIN_VISIBLE_FRAC, visibility

#: The first-class answer of a question whose evidence was removed.
UNANSWERABLE = "unanswerable"
#: Reject band around the visibility threshold (as the visibility templates).
MARGIN = 0.1
#: Views per scene-family question (the clean evidence set).
N_VIEWS = 4
#: Param keys that name frames.
FRAME_KEYS = ("frame", "frame_i", "frame_j", "frames")
#: Occluder placement: depth of the box as a share of the referent's nearest visible depth,
#: thickness as a share of that depth, and padding around the referent's 2D box (share of
#: its size) for a full occluder; a partial one covers this share range of the box's width.
OCCLUDER_DEPTH_FRAC = 0.5
OCCLUDER_THICKNESS_FRAC = 0.02
OCCLUDER_PAD = 0.15
PARTIAL_COVER = (0.25, 0.4)


@dataclass(frozen=True, eq=False)
class Variant:
    """A variant row and its files (relative path -> bytes); ``scene`` is the degraded scene
    of a geometry degradation (None otherwise)."""

    question: Question
    files: dict[str, bytes] = field(default_factory=dict)
    scene: Scene | None = None


# ---------------------------------------------------------------------------- helpers
_canon = canonical_json


def variant_question_id(
    base: Question, variant: str, variant_params: dict, text: str, choices: Sequence[str]
) -> str:
    """The id of a variant row: :func:`geoenv.tasks.base.question_id` of the clean row's
    (template, scene, params) with the variant's phrasing, kind and parameters."""
    return question_id(
        base.template, base.scene_id, base.params, text, choices, variant, variant_params
    )


def _rng(q: Question, seed: int, kind: str) -> np.random.Generator:
    return np.random.default_rng(stable_seed(q.id, int(seed), kind))


def _tag(params: dict) -> str:
    return hashlib.sha256(_canon(params).encode()).hexdigest()[:12]


def _row(
    base: Question,
    variant: str,
    vparams: dict,
    *,
    answer: str | None = None,
    choices: list[str] | None = None,
    text: str | None = None,
    **overrides: Any,
) -> Question:
    """The variant row: the base row with the variant fields, a new id, and (for an
    unanswerable answer) exact-match scoring and no numeric value."""
    text = base.text if text is None else text
    choices = list(base.choices) if choices is None else choices
    answer = base.answer if answer is None else answer
    fields_: dict[str, Any] = {
        "text": text,
        "choices": choices,
        "answer": answer,
        "variant": variant,
        "base_question_id": base.id,
        "variant_params": json.loads(_canon(vparams)),
    }
    if answer == UNANSWERABLE:
        fields_ |= {"answer_value": None, "metric": "exact", "tolerance": None}
    fields_ |= overrides
    fields_["id"] = variant_question_id(base, variant, fields_["variant_params"], text, choices)
    return base.model_copy(update=fields_)


def _with_unanswerable(choices: Sequence[str]) -> list[str]:
    return [*choices, UNANSWERABLE] if choices and UNANSWERABLE not in choices else list(choices)


def question_frames(q: Question) -> list[int]:
    """Frame indices named by the question's params (in key order)."""
    out: list[int] = []
    for k in FRAME_KEYS:
        v = q.params.get(k)
        if isinstance(v, list):
            out.extend(int(x) for x in v)
        elif v is not None and not isinstance(v, bool):
            out.append(int(v))
    return out


def referents(q: Question, scene: Scene) -> list[str]:
    """Object ids the question is about: params documented as object ids (or, for a template
    not in the registry, string params that are object ids of the scene)."""
    from geoenv.tasks.registry import templates

    tpl = templates().get(q.template)
    doc = tpl.param_doc if tpl is not None else {}
    out: list[str] = []
    for k, v in q.params.items():
        if k in FRAME_KEYS:
            continue
        if doc and "object id" not in doc.get(k, ""):
            continue
        vals = v if isinstance(v, list) else [v]
        if all(isinstance(x, str) and x in scene.objects for x in vals):
            out.extend(str(x) for x in vals)
    return list(dict.fromkeys(out))


def _vis(scene: Scene) -> tuple[list[int], np.ndarray]:
    eng = visibility(scene)
    return [f.index for f in scene.frames], eng.matrix("visibility")


def _clearly(v: np.ndarray, state: str, thr: float = MIN_VISIBLE_FRAC) -> np.ndarray:
    tol = 1e-9 * max(1.0, thr)
    if state == "visible":
        return v >= thr + MARGIN - tol
    return v <= thr - MARGIN + tol


def evidence_views(
    q: Question, scene: Scene, seed: int, n_views: int = N_VIEWS
) -> list[int] | None:
    """The clean view set of a question (frame indices, ascending): its own frames when its
    params name frames; otherwise ``n_views`` frames chosen so that every referent is clearly
    visible (visibility >= threshold + margin) in at least one (greedy: the frame covering most
    uncovered referents, ties to the earliest), padded with random frames. None when some
    referent is clearly visible in no frame."""
    own = question_frames(q)
    if own:
        return sorted(set(own))
    refs = referents(q, scene)
    frames, m = _vis(scene)
    if not frames:
        return None
    cols = [scene.object_ids.index(r) for r in refs]
    seen = _clearly(m[:, cols], "visible") if cols else np.zeros((len(frames), 0), bool)
    chosen: list[int] = []
    todo = np.ones(len(cols), dtype=bool)
    while todo.any():
        gain = (seen[:, todo]).sum(axis=1)
        gain[chosen] = -1
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            return None
        chosen.append(best)
        todo &= ~seen[best]
    rng = _rng(q, seed, "views")
    rest = [i for i in range(len(frames)) if i not in chosen]
    extra = rng.permutation(rest)[: max(0, n_views - len(chosen))].tolist()
    return sorted(frames[i] for i in chosen + extra)


# ---------------------------------------------------------------------------- (a) view drop
def view_drop(q: Question, scene: Scene, seed: int, n_views: int = N_VIEWS) -> list[Variant]:
    """Drop the evidence for one referent (chosen by the seed) from the question's view set.

    Only for questions whose params name no frame, outside the visibility family (whose
    questions are about the trajectory's views themselves). The views where the referent's
    visibility is above ``threshold - margin`` (0 with the defaults: any part of it visible) are
    replaced by random frames where it is not, while every other referent stays clearly visible
    in some kept view. Returns [] when the question has no such variant."""
    if q.family == "visibility" or question_frames(q) or not scene.frames:
        return []
    views = evidence_views(q, scene, seed, n_views)
    refs = referents(q, scene)
    if views is None or not refs:
        return []
    frames, m = _vis(scene)
    pos = {f: i for i, f in enumerate(frames)}
    rng = _rng(q, seed, "view_drop")
    for r in [refs[i] for i in rng.permutation(len(refs))]:
        col = m[:, scene.object_ids.index(r)]
        hidden = _clearly(col, "hidden")
        drop = [f for f in views if not hidden[pos[f]]]
        keep = [f for f in views if hidden[pos[f]]]
        pool = [f for f in frames if hidden[pos[f]] and f not in keep]
        if len(pool) < len(drop):
            continue
        new = sorted(keep + rng.permutation(pool)[: len(drop)].tolist())
        others = [o for o in refs if o != r]
        ok = all(
            _clearly(m[[pos[f] for f in new], scene.object_ids.index(o)], "visible").any()
            for o in others
        )
        if not ok:
            continue
        vp = {
            "type": "view_drop",
            "referent": r,
            "clean_views": views,
            "views": new,
            "dropped_views": sorted(drop),
            "threshold": MIN_VISIBLE_FRAC,
        }
        label = scene[r].label.replace("_", " ")
        row = _row(
            q,
            "occlusion",
            vp,
            answer=UNANSWERABLE,
            choices=_with_unanswerable(q.choices),
            evidence={"visibility_in_views": {str(f): float(col[pos[f]]) for f in new}},
            rationale=(
                f"The {label} is not visible in any of frames {', '.join(map(str, new))} "
                "(visibility 0), so the question cannot be answered from these views."
            ),
        )
        return [Variant(row)]
    return []


# ---------------------------------------------------------------------------- (c) which view
def which_view_resolves(v: Variant | Question, scene: Scene, seed: int) -> list[Variant]:
    """For a view-drop variant: which of 4 extra frames makes it answerable again. Exactly one
    candidate shows the dropped referent clearly (visibility >= threshold + margin); the three
    others show none of it (<= threshold - margin). Choices 'frame t'; the right one's position
    is drawn from the seed."""
    q = v.question if isinstance(v, Variant) else v
    vp = q.variant_params
    if vp.get("type") != "view_drop":
        return []
    base_text = q.text
    frames, m = _vis(scene)
    col = m[:, scene.object_ids.index(vp["referent"])]
    views = set(vp["views"])
    vis = [f for f, x in zip(frames, _clearly(col, "visible"), strict=True) if x]
    hid = [f for f, x in zip(frames, _clearly(col, "hidden"), strict=True) if x]
    hid = [f for f in hid if f not in views]
    vis = [f for f in vis if f not in views]
    if not vis or len(hid) < 3:
        return []
    rng = _rng(q, seed, "which_view_resolves")
    good = int(vis[int(rng.integers(len(vis)))])
    bad = sorted(int(x) for x in rng.permutation(hid)[:3])
    slot = int(rng.integers(4))
    others = [f"frame {f}" for f in bad]
    choices = [*others[:slot], f"frame {good}", *others[slot:]]
    shown = ", ".join(str(f) for f in sorted(views))
    text = (
        f'Given only frames {shown}, this question cannot be answered: "{base_text}" '
        "Which one additional frame would make it answerable?"
    )
    nvp = {
        "type": "which_view_resolves",
        "referent": vp["referent"],
        "views": sorted(views),
        "candidate_frames": sorted([good, *bad]),
        "resolving_frame": good,
        "from_variant_id": q.id,
    }
    row = _row(
        q,
        "occlusion",
        nvp,
        answer=f"frame {good}",
        choices=choices,
        text=text,
        template="which_view_resolves",
        answer_type="choice",
        metric="exact",
        unit="",
        answer_value=None,
        tolerance=None,
        evidence={
            "visibility": {str(f): float(col[frames.index(f)]) for f in sorted([good, *bad])}
        },
        rationale=(
            f"The object {vp['referent']} is visible in frame {good} "
            f"(visibility {col[frames.index(good)]:.2f}) and in none of frames "
            f"{', '.join(str(f) for f in bad)}."
        ),
        base_question_id=q.base_question_id or q.id,
    )
    return [Variant(row)]


# ---------------------------------------------------------------------------- (b) occluder
def _frame(scene: Scene, index: int) -> Frame:
    for f in scene.frames:
        if f.index == int(index):
            return f
    raise KeyError(f"no frame {index} in scene {scene.id!r}")


def occluder_for(
    scene: Scene, frame: Frame, object_id: str, mode: str, rng: np.random.Generator
) -> tuple[trimesh.Trimesh, dict] | None:
    """A camera-facing box in front of ``object_id`` in ``frame``: at
    ``OCCLUDER_DEPTH_FRAC`` of its nearest visible depth, covering its 2D box grown by
    ``OCCLUDER_PAD`` (``mode = "full"``) or a share in ``PARTIAL_COVER`` of its width from the
    left or right edge (``"partial"``). None when the object is not visible."""
    fv = visibility(scene).frame(frame.index)
    i = fv.index(object_id)
    if fv.visible_px[i] == 0:
        return None
    u0, v0, u1, v1 = (float(x) for x in fv.bbox[i])
    dmin = float(fv.depth[fv.instance == i].min())
    d = max(OCCLUDER_DEPTH_FRAC * dmin, 4 * visibility(scene).settings.near)
    pw, ph = OCCLUDER_PAD * (u1 - u0), OCCLUDER_PAD * (v1 - v0)
    v0, v1 = v0 - ph, v1 + ph
    side = None
    cover = 1.0
    if mode == "full":
        u0, u1 = u0 - pw, u1 + pw
    else:
        cover = float(rng.uniform(*PARTIAL_COVER))
        side = "left" if rng.integers(2) == 0 else "right"
        if side == "left":
            u0, u1 = u0 - pw, u0 + cover * (u1 - u0)
        else:
            u0, u1 = u1 - cover * (u1 - u0), u1 + pw
    k = frame.K
    x0, x1 = (u0 - k[0, 2]) / k[0, 0] * d, (u1 - k[0, 2]) / k[0, 0] * d
    y0, y1 = (v0 - k[1, 2]) / k[1, 1] * d, (v1 - k[1, 2]) / k[1, 1] * d
    size = np.array([x1 - x0, y1 - y0, OCCLUDER_THICKNESS_FRAC * d])
    centre_cam = np.array([(x0 + x1) / 2, (y0 + y1) / 2, d])
    pose = np.eye(4)
    pose[:3, :3] = frame.pose[:3, :3]
    pose[:3, 3] = frame.pose[:3, :3] @ centre_cam + frame.pose[:3, 3]
    box = trimesh.creation.box(extents=size, transform=pose)
    info = {
        "mode": mode,
        "referent": object_id,
        "center_m": [round(float(x), 6) for x in pose[:3, 3]],
        "size_m": [round(float(x), 6) for x in size],
        "depth_m": round(d, 6),
        "cover": round(cover, 6),
        "side": side,
    }
    return box, info


def occluder_insertion(
    q: Question,
    scene: Scene,
    seed: int,
    modes: Sequence[str] = ("full", "partial"),
    image_downscale: int = 1,
) -> list[Variant]:
    """Insert a box between the camera and a referent (chosen by the seed) in the question's
    frame, once per ``mode``; re-cast and re-render. Answer :data:`UNANSWERABLE` when a
    referent's visibility falls below the threshold, unchanged when all stay in view; no
    variant when a referent ends within ``MARGIN`` of the threshold (unclear). Only for
    questions that name exactly one frame (param ``frame``) and some referent, outside the
    visibility family."""
    if q.family == "visibility":  # an occluder changes these answers instead of hiding them
        return []
    fr = question_frames(q)
    refs = referents(q, scene)
    if len(fr) != 1 or "frame" not in q.params or not refs:
        return []
    frame = _frame(scene, fr[0])
    eng = visibility(scene)
    before = eng.frame(frame.index)
    rng = _rng(q, seed, "occluder")
    target = refs[int(rng.integers(len(refs)))]
    out = []
    for mode in modes:
        made = occluder_for(scene, frame, target, mode, rng)
        if made is None:
            return []
        box, info = made
        after = eng.compute(frame, occluders=[box])
        vis_b = {r: float(before.visibility[before.index(r)]) for r in refs}
        vis_a = {r: float(after.visibility[after.index(r)]) for r in refs}
        states = {r: _state(v) for r, v in vis_a.items()}
        if "ambiguous" in states.values():
            continue
        hidden = [r for r, s in states.items() if s == "hidden"]
        vp = {
            "type": "occluder",
            "frame": frame.index,
            "occluder": info,
            "visibility_before": vis_b,
            "visibility_after": vis_a,
            "hidden_referents": hidden,
            "threshold": MIN_VISIBLE_FRAC,
        }
        path = f"variants/{scene.id}/{q.id}/occluder-{_tag(vp)}/frame_{frame.index:04d}.png"
        vp["images"] = [path]
        img = render_frame(scene, frame, downscale=image_downscale, occluders=[box])
        choices = _with_unanswerable(q.choices)
        seen = ", ".join(
            f"the {scene[r].label.replace('_', ' ')} {vis_b[r]:.2f} -> {vis_a[r]:.2f}" for r in refs
        )
        if hidden:
            extra = {
                "rationale": f"In frame {frame.index} an inserted box hides a referent "
                f"(visibility {seen}; threshold {MIN_VISIBLE_FRAC}), so the question cannot "
                "be answered from this view.",
                "evidence": {"visibility_before": vis_b, "visibility_after": vis_a},
            }
        else:
            extra = {
                "rationale": f"{q.rationale} An inserted box covers part of the view "
                f"(visibility {seen}); every referent stays in view.",
            }
        row = _row(
            q,
            "occlusion",
            vp,
            answer=UNANSWERABLE if hidden else q.answer,
            choices=choices,
            **extra,
        )
        out.append(Variant(row, {path: png_bytes(img.rgb)}))
    return out


def _state(v: float, thr: float = MIN_VISIBLE_FRAC) -> str:
    if _clearly(np.array([v]), "visible", thr)[0]:
        return "visible"
    if _clearly(np.array([v]), "hidden", thr)[0]:
        return "hidden"
    return "ambiguous"


# ---------------------------------------------------------------------------- degradations
#: Image degradation parameters per severity 1..5 (full-resolution pixels scale with the
#: image width / 640).
IMAGE_SEVERITY: dict[str, tuple[float, ...]] = {
    "motion_blur": (3, 6, 10, 15, 21),  # kernel length, px
    "defocus_blur": (1.5, 2.5, 4, 6, 8),  # disc radius, px
    "gaussian_noise": (5, 10, 18, 28, 40),  # sigma, 8-bit units
    "low_light": (1.6, 2.0, 2.5, 3.0, 3.6),  # gamma; photons at white: LOW_LIGHT_PHOTONS
    "over_exposure": (1.4, 1.8, 2.3, 2.9, 3.6),  # gain
    "jpeg": (50, 30, 18, 10, 5),  # quality
    "haze": (0.08, 0.15, 0.25, 0.4, 0.6),  # beta, 1/m
    "lens_distortion": (0.05, 0.1, 0.18, 0.28, 0.4),  # k1 (barrel)
    "low_resolution": (1.5, 2, 3, 4, 6),  # downsampling factor
}
LOW_LIGHT_PHOTONS = (400, 200, 100, 50, 25)
#: Atmospheric light of the haze (8-bit, grey).
HAZE_AIRLIGHT = 220.0
IMAGE_DEGRADATIONS = tuple(IMAGE_SEVERITY)

#: Point-cloud degradations per severity 1..5.
GEOMETRY_SEVERITY: dict[str, tuple[float, ...]] = {
    "point_noise": (0.005, 0.01, 0.02, 0.035, 0.05),  # sigma, m
    "point_dropout": (0.1, 0.25, 0.45, 0.65, 0.85),  # dropped share
    "voxel_downsample": (0.02, 0.04, 0.07, 0.1, 0.15),  # voxel size, m
    "pose_jitter": (0.5, 1.0, 2.0, 3.5, 5.0),  # rotation sigma, deg (translation: x 0.01 m/deg)
}
GEOMETRY_DEGRADATIONS = tuple(GEOMETRY_SEVERITY)


def _check_severity(severity: int) -> int:
    if int(severity) != severity or not 1 <= severity <= 5:
        raise ValueError(f"severity must be an integer in 1..5, got {severity!r}")
    return int(severity)


def _line_kernel(length: float, angle: float) -> np.ndarray:
    """Normalised kernel of a segment ``length`` px long at ``angle`` (bilinear samples)."""
    half = int(np.ceil(length / 2)) + 1
    n = 2 * half + 1
    k = np.zeros((n, n))
    t = np.linspace(-(length - 1) / 2, (length - 1) / 2, 16 * n)
    x, y = half + t * np.cos(angle), half + t * np.sin(angle)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                        (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):  # fmt: skip
        np.add.at(k, (y0 + dy, x0 + dx), wgt)
    return k / k.sum()


def _disc_kernel(radius: float) -> np.ndarray:
    n = int(np.ceil(radius))
    g = np.arange(-n, n + 1)
    # Area of each pixel inside the disc, by 8 x 8 supersampling.
    s = (np.arange(8) + 0.5) / 8 - 0.5
    yy = g[:, None, None, None] + s[None, None, :, None]
    xx = g[None, :, None, None] + s[None, None, None, :]
    k = (xx * xx + yy * yy <= radius * radius).mean(axis=(2, 3))
    return k / k.sum()


def _convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return np.stack(
        [ndimage.convolve(img[..., c], kernel, mode="nearest") for c in range(img.shape[2])], -1
    )


def degrade_image(
    rgb: np.ndarray,
    kind: str,
    severity: int,
    rng: np.random.Generator,
    depth: np.ndarray | None = None,
    K: np.ndarray | None = None,
) -> np.ndarray:
    """Degraded copy of an (h, w, 3) uint8 image; deterministic for a given ``rng`` state.

    ``depth`` (h, w) metres (inf: nothing) is needed for ``haze``: I = J t + A (1 - t),
    t = exp(-beta d), A = :data:`HAZE_AIRLIGHT`. ``K`` (3, 3) for ``lens_distortion``: each
    output pixel at normalised radius r (through K) samples the clean image at
    r (1 + k1 r^2) (barrel), bilinear, black outside. Motion blur: a line kernel at a random
    angle; defocus: a disc kernel; low light: I = 255 P(N (I / 255)^gamma) / N with Poisson
    shot noise P and N photons at white; over-exposure: clip(I x gain); JPEG via Pillow; low
    resolution: box-downsample by the factor, bilinear back up.
    """
    if kind not in IMAGE_SEVERITY:
        raise ValueError(f"unknown image degradation {kind!r}; known: {IMAGE_DEGRADATIONS}")
    s = _check_severity(severity)
    amount = IMAGE_SEVERITY[kind][s - 1]
    img = np.asarray(rgb, dtype=np.float64)
    h, w = img.shape[:2]
    px = w / 640.0
    # Draws that do not depend on the severity come first, so that severities share them.
    angle = float(rng.uniform(0, np.pi))
    unit_noise = rng.standard_normal(img.shape)
    if kind == "motion_blur":
        out = _convolve(img, _line_kernel(max(2.0, amount * px), angle))
    elif kind == "defocus_blur":
        out = _convolve(img, _disc_kernel(max(0.5, amount * px)))
    elif kind == "gaussian_noise":
        out = img + amount * unit_noise
    elif kind == "low_light":
        n = LOW_LIGHT_PHOTONS[s - 1]
        lam = n * (img / 255.0) ** amount
        out = 255.0 * rng.poisson(lam) / n
    elif kind == "over_exposure":
        out = img * amount
    elif kind == "jpeg":
        buf = io.BytesIO()
        Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(
            buf, format="JPEG", quality=int(amount)
        )
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            out = np.asarray(im.convert("RGB"), dtype=np.float64)
    elif kind == "haze":
        if depth is None:
            raise ValueError("haze needs the depth map")
        d = np.where(np.isfinite(depth), depth, np.inf)
        t = np.exp(-amount * d)[..., None]
        out = img * t + HAZE_AIRLIGHT * (1.0 - t)
    elif kind == "lens_distortion":
        if K is None:
            raise ValueError("lens distortion needs K")
        jj, ii = np.meshgrid(np.arange(h) + 0.5, np.arange(w) + 0.5, indexing="ij")
        x = (ii - K[0, 2]) / K[0, 0]
        y = (jj - K[1, 2]) / K[1, 1]
        f = 1.0 + amount * (x * x + y * y)
        src_u = x * f * K[0, 0] + K[0, 2] - 0.5
        src_v = y * f * K[1, 1] + K[1, 2] - 0.5
        out = np.stack(
            [
                ndimage.map_coordinates(img[..., c], [src_v, src_u], order=1, cval=0.0)
                for c in range(3)
            ],
            -1,
        )
    else:  # low_resolution
        small = (max(1, round(w / amount)), max(1, round(h / amount)))
        im = Image.fromarray(np.asarray(rgb, dtype=np.uint8))
        im = im.resize(small, Image.Resampling.BOX).resize((w, h), Image.Resampling.BILINEAR)
        out = np.asarray(im, dtype=np.float64)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def degrade_points(scene: Scene, kind: str, severity: int, rng: np.random.Generator) -> Scene:
    """A degraded copy of a point-cloud scene (objects rebuilt from their degraded points; the
    mesh is dropped, since the input is the cloud). ``point_noise``: Gaussian noise of sigma m
    on every coordinate; ``point_dropout``: each point dropped with the given probability (an
    object keeps at least its first point); ``voxel_downsample``: per object, the first point
    (in index order) of each occupied voxel of the given size; ``pose_jitter``: each camera
    rotated about a random axis by N(0, sigma) degrees and moved by N(0, 0.01 m x sigma)."""
    if kind not in GEOMETRY_SEVERITY:
        raise ValueError(f"unknown geometry degradation {kind!r}; known: {GEOMETRY_DEGRADATIONS}")
    s = _check_severity(severity)
    amount = GEOMETRY_SEVERITY[kind][s - 1]
    objs = list(scene.objects.values())
    frames = list(scene.frames)
    new_objs: list[SceneObject] = objs
    if kind == "pose_jitter":
        frames = []
        for f in scene.frames:
            axis = rng.standard_normal(3)
            axis /= np.linalg.norm(axis)
            ang = np.radians(rng.normal(0.0, amount))
            kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
            rot = np.eye(3) + np.sin(ang) * kx + (1 - np.cos(ang)) * (kx @ kx)
            pose = f.pose.copy()
            pose[:3, :3] = rot @ pose[:3, :3]
            pose[:3, 3] = pose[:3, 3] + rng.normal(0.0, 0.01 * amount, 3)
            frames.append(replace(f, pose=pose))
    else:
        new_objs = []
        for o in objs:
            p = o.points
            if kind == "point_noise":
                p = p + rng.normal(0.0, amount, p.shape)
            elif kind == "point_dropout":
                keep = rng.random(len(p)) >= amount
                keep[0] = True
                p = p[keep]
            else:
                cells = np.floor(p / amount).astype(np.int64)
                _, first = np.unique(cells, axis=0, return_index=True)
                p = p[np.sort(first)]
            new_objs.append(SceneObject(o.id, o.label, p, dict(o.attributes)))
    meta = dict(scene.metadata)
    meta["notes"] = [
        *meta.get("notes", []),
        f"degraded: {kind} severity {s} ({amount})",
    ]
    meta["source_path"] = None
    return Scene(scene.id, new_objs, frames, geo_layers=scene.geo_layers, metadata=meta)


def _views_for(q: Question, scene: Scene, seed: int) -> list[int] | None:
    return evidence_views(q, scene, seed)


def image_degradation(
    q: Question,
    scene: Scene,
    seed: int,
    kind: str | None = None,
    severity: int | None = None,
    image_downscale: int = 1,
) -> list[Variant]:
    """The question's views (its own frames, or its evidence views) rendered (or read from the
    frame's ``rgb_path``) and degraded by ``kind`` at ``severity`` (drawn from the seed when
    None). The answer is the clean answer."""
    views = _views_for(q, scene, seed)
    if not views:
        return []
    rng = _rng(q, seed, "image_degradation")
    kind = kind or IMAGE_DEGRADATIONS[int(rng.integers(len(IMAGE_DEGRADATIONS)))]
    severity = int(severity or 1 + int(rng.integers(5)))
    vp: dict[str, Any] = {
        "type": kind,
        "severity": severity,
        "amount": IMAGE_SEVERITY[kind][severity - 1],
        "views": views,
    }
    folder = f"variants/{scene.id}/{q.id}/{kind}-{severity}-{_tag({**vp, 'seed': seed})}"
    files: dict[str, bytes] = {}
    for t in views:
        frame = _frame(scene, t)
        r = render_frame(scene, frame, downscale=image_downscale)
        rgb = r.rgb
        if frame.rgb_path is not None and image_downscale == 1:
            try:
                with Image.open(frame.rgb_path) as im:
                    real = np.asarray(im.convert("RGB"))
                if real.shape[:2] == rgb.shape[:2]:
                    rgb = real
            except OSError:
                pass
        k = frame.K.copy()
        k[0] *= rgb.shape[1] / frame.width
        k[1] *= rgb.shape[0] / frame.height
        img_rng = np.random.default_rng(stable_seed(q.id, int(seed), kind, t))
        out = degrade_image(rgb, kind, severity, img_rng, depth=r.depth, K=k)
        files[f"{folder}/frame_{t:04d}.png"] = png_bytes(out)
    vp["images"] = sorted(files)
    return [Variant(_row(q, "degradation", vp), files)]


def geometry_degradation(
    q: Question,
    scene: Scene,
    seed: int,
    kind: str | None = None,
    severity: int | None = None,
) -> list[Variant]:
    """The scene's point cloud (and camera poses) degraded by ``kind`` at ``severity`` (drawn
    from the seed when None); the degraded scene is returned and its cloud saved as an NPZ
    (``points`` float32 (n, 3), ``instance`` int32 object index, ``poses`` float64 (F, 4, 4)).
    The answer is the clean answer."""
    rng = _rng(q, seed, "geometry_degradation")
    kind = kind or GEOMETRY_DEGRADATIONS[int(rng.integers(len(GEOMETRY_DEGRADATIONS)))]
    severity = int(severity or 1 + int(rng.integers(5)))
    degraded = degrade_points(scene, kind, severity, rng)
    vp: dict[str, Any] = {
        "type": kind,
        "severity": severity,
        "amount": GEOMETRY_SEVERITY[kind][severity - 1],
    }
    path = f"variants/{scene.id}/{q.id}/{kind}-{severity}-{_tag({**vp, 'seed': seed})}/cloud.npz"
    objs = list(degraded.objects.values())
    cloud = npz_bytes(
        {
            "points": np.concatenate([o.points for o in objs]).astype(np.float32),
            "instance": np.repeat(
                np.arange(len(objs), dtype=np.int32), [len(o.points) for o in objs]
            ),
            "object_ids": np.array([o.id for o in objs]),
            "poses": np.array([f.pose for f in degraded.frames]).reshape(-1, 4, 4),
        }
    )
    vp["files"] = [path]
    return [Variant(_row(q, "degradation", vp), {path: cloud}, degraded)]


#: Variant makers by name, for the pipeline: ``fn(question, scene, seed) -> list[Variant]``.
VARIANTS: dict[str, Callable[[Question, Scene, int], list[Variant]]] = {
    "view_drop": view_drop,
    "occluder": occluder_insertion,
    "image_degradation": image_degradation,
    "geometry_degradation": geometry_degradation,
}
