"""Renderer: RGB, depth and instance images of any frame, from the visibility engine's rays.

The rays are those of :meth:`geoenv.visibility.VisibilityEngine.cast` (one per pixel centre of
a raster 1/``downscale`` of the frame's image; ``downscale = 1`` renders at full resolution),
so the images agree pixel for pixel with the visibility results at the same resolution.

Colour. Meshes: vertex colours interpolated with the hit's barycentric coordinates when the
mesh has vertex colours, otherwise the face colour of the hit face (the demo scene has face
colours), otherwise the object's palette colour; shaded with a headlight,
``shade = AMBIENT + (1 - AMBIENT) |cos(angle between the ray and the face normal)|``. Point
clouds: the colour of the point whose splat wins the pixel (the scene's per-point colours, or
the object's palette colour), unshaded. Inserted occluders: mid grey, shaded. Nothing hit:
black.

PNG files (Pillow): RGB 8-bit; depth 16-bit grey in millimetres along the camera z axis
(0 = nothing hit; clipped to 65535 mm); instance 16-bit grey, value = object index in
``scene.object_ids`` + 1 (0 = nothing or a surface of no object, 65535 = inserted occluder);
colour-coded instance map with :func:`instance_color` (see there for the palette).
"""

from __future__ import annotations

import colorsys
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from geoenv.frames import Frame
from geoenv.scene import Scene
from geoenv.visibility import OCCLUDER, VisibilitySettings, visibility

#: Ambient share of the headlight shading of mesh surfaces.
AMBIENT = 0.35
#: Colour of inserted occluders and of pixels with nothing hit.
OCCLUDER_RGB = (128, 128, 128)
BACKGROUND_RGB = (0, 0, 0)
#: Instance-map colours of a surface of no object and of an inserted occluder.
UNLABELLED_RGB = (60, 60, 60)
OCCLUDER_INSTANCE_RGB = (255, 255, 255)
#: 16-bit instance value of an inserted occluder.
OCCLUDER_VALUE = 65535
_GOLDEN = 0.618033988749895


#: Kelly's 22 colours of maximum contrast without white and black (object indices 0-19).
KELLY = (
    "F3C300", "875692", "F38400", "A1CAF1", "BE0032", "C2B280", "848482", "008856", "E68FAC",
    "0067A5", "F99379", "604E97", "F6A600", "B3446C", "DCD300", "882D17", "8DB600", "654522",
    "E25822", "2B3D26",
)  # fmt: skip


def palette_color(k: int) -> tuple[int, int, int]:
    """Colour of object index ``k``: Kelly's colours of maximum contrast (:data:`KELLY`) for
    k < 20, then HSV(hue = frac(0.1 + k x 0.618034), s = 0.65, v = 0.95), a golden-ratio walk
    around the hue circle."""
    if 0 <= k < len(KELLY):
        c = KELLY[k]
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    h = (0.1 + k * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.65, 0.95)
    return round(r * 255), round(g * 255), round(b * 255)


def _palette(n: int) -> np.ndarray:
    return np.array([palette_color(k) for k in range(n)], dtype=np.uint8).reshape(-1, 3)


@dataclass(frozen=True, eq=False)
class RenderedFrame:
    """Images of one frame: ``rgb`` (h, w, 3) uint8, ``depth`` (h, w) float32 metres along
    camera z (inf: nothing), ``instance`` (h, w) int32 object index (-1 nothing or no object,
    -2 inserted occluder), ``object_ids`` the index -> object id table."""

    frame_index: int
    rgb: np.ndarray
    depth: np.ndarray
    instance: np.ndarray
    object_ids: tuple[str, ...]
    labels: tuple[str, ...]

    def instance_color(self) -> np.ndarray:
        return instance_color(self.instance, np.isfinite(self.depth))

    def png(self) -> dict[str, bytes]:
        """PNG bytes of the four images: ``rgb``, ``depth``, ``instance``, ``instance_color``."""
        return {
            "rgb": png_bytes(self.rgb),
            "depth": png_bytes(depth_to_mm(self.depth)),
            "instance": png_bytes(instance_to_u16(self.instance)),
            "instance_color": png_bytes(self.instance_color()),
        }

    def legend(self) -> list[dict]:
        """16-bit instance value -> object id, label and palette colour (objects seen only)."""
        seen = np.unique(self.instance[self.instance >= 0]).tolist()
        return [
            {
                "value": k + 1,
                "object_id": self.object_ids[k],
                "label": self.labels[k],
                "color": list(palette_color(k)),
            }
            for k in seen
        ]


def instance_color(instance: np.ndarray, hit: np.ndarray | None = None) -> np.ndarray:
    """Colour-coded instance map (h, w, 3) uint8: object index k -> :func:`palette_color`;
    a surface of no object (``hit`` and -1) -> dark grey; occluder -> white; nothing -> black."""
    inst = np.asarray(instance)
    n = int(inst.max()) + 1 if inst.size and inst.max() >= 0 else 0
    pal = _palette(n)
    out = np.zeros((*inst.shape, 3), dtype=np.uint8)
    m = inst >= 0
    out[m] = pal[inst[m]]
    if hit is not None:
        out[(inst == -1) & hit] = UNLABELLED_RGB
    out[inst == OCCLUDER] = OCCLUDER_INSTANCE_RGB
    return out


def depth_to_mm(depth: np.ndarray) -> np.ndarray:
    """uint16 millimetres (0 where nothing was hit; clipped to 65535)."""
    d = np.where(np.isfinite(depth), np.round(np.asarray(depth, np.float64) * 1000.0), 0.0)
    return np.clip(d, 0, 65535).astype(np.uint16)


def instance_to_u16(instance: np.ndarray) -> np.ndarray:
    """uint16 instance values: object index + 1, 0 none, 65535 occluder."""
    inst = np.asarray(instance, dtype=np.int64)
    out = np.where(inst >= 0, inst + 1, 0)
    out[inst == OCCLUDER] = OCCLUDER_VALUE
    return out.astype(np.uint16)


def png_bytes(image: np.ndarray) -> bytes:
    """Deterministic PNG bytes of a (h, w) uint8/uint16 or (h, w, 3) uint8 array."""
    arr = np.ascontiguousarray(image)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG needs uint8 or uint16, got {arr.dtype}")
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def read_png(data: bytes | str | Path) -> np.ndarray:
    """Array of a PNG (bytes or path); 16-bit grey comes back as uint16."""
    src = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    with Image.open(src) as im:
        arr = np.asarray(im)
    return arr.astype(np.uint16) if arr.dtype in (np.int32, np.uint16) else arr


def _get_frame(scene: Scene, frame: int | Frame) -> Frame:
    if isinstance(frame, Frame):
        return frame
    for f in scene.frames:
        if f.index == int(frame):
            return f
    raise KeyError(f"no frame {frame!r} in scene {scene.id!r}")


def render_frame(
    scene: Scene,
    frame: int | Frame,
    *,
    downscale: int = 1,
    occluders: Sequence[trimesh.Trimesh] = (),
    settings: VisibilitySettings | None = None,
) -> RenderedFrame:
    """Render ``frame`` (an index of the scene's frames, or any Frame) at 1/``downscale`` of
    its resolution, with optional inserted ``occluders`` (world-frame meshes)."""
    eng = visibility(scene, settings)
    f = _get_frame(scene, frame)
    hits = eng.cast(f, downscale=downscale, occluders=occluders, coverage=False)
    n = hits.width * hits.height
    n_obj = len(eng.object_ids)
    rgb = np.zeros((n, 3), dtype=np.float64)
    rgb[:] = BACKGROUND_RGB
    pal = _palette(n_obj).astype(np.float64)
    mesh_px = np.flatnonzero(hits.source == 1)
    if len(mesh_px):
        m = scene.mesh
        face = hits.prim[mesh_px]
        kind = getattr(m.visual, "kind", None)
        if kind == "vertex":
            vc = np.asarray(m.visual.vertex_colors, dtype=np.float64)[:, :3]
            tri = np.asarray(m.faces)[face]
            uv = hits.bary[mesh_px].astype(np.float64)
            w0 = 1.0 - uv[:, 0] - uv[:, 1]
            col = (
                vc[tri[:, 0]] * w0[:, None] + vc[tri[:, 1]] * uv[:, :1] + vc[tri[:, 2]] * uv[:, 1:]
            )
        elif kind == "face":
            col = np.asarray(m.visual.face_colors, dtype=np.float64)[face, :3]
        else:
            obj = hits.obj[mesh_px]
            col = np.where(obj[:, None] >= 0, pal[np.maximum(obj, 0)], UNLABELLED_RGB)
        rgb[mesh_px] = col
    splat_px = np.flatnonzero(hits.source == 2)
    if len(splat_px):
        pt = hits.prim[splat_px]
        if scene.points is not None and scene.instance is not None and scene.colors is not None:
            col = np.asarray(scene.colors, dtype=np.float64)[pt, :3]
        else:
            obj = hits.obj[splat_px]
            col = np.where(obj[:, None] >= 0, pal[np.maximum(obj, 0)], UNLABELLED_RGB)
        rgb[splat_px] = col
    occ_px = np.flatnonzero(hits.source == 3)
    rgb[occ_px] = OCCLUDER_RGB
    shaded = np.flatnonzero((hits.source == 1) | (hits.source == 3))
    if len(shaded):
        d = hits.dirs[shaded]
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        cos = np.abs(np.sum(d * hits.normal[shaded].astype(np.float64), axis=1))
        rgb[shaded] *= (AMBIENT + (1.0 - AMBIENT) * np.clip(cos, 0.0, 1.0))[:, None]
    shape = (hits.height, hits.width)
    return RenderedFrame(
        f.index,
        np.clip(np.round(rgb), 0, 255).astype(np.uint8).reshape(*shape, 3),
        hits.depth.reshape(shape).astype(np.float32),
        hits.obj.reshape(shape),
        eng.object_ids,
        tuple(scene[o].label for o in eng.object_ids),
    )


def write_frame(rendered: RenderedFrame, out_dir: str | Path, stem: str) -> list[Path]:
    """Write ``<stem>_rgb.png``, ``_depth.png``, ``_instance.png``, ``_instance_color.png`` and
    ``_instances.json`` (the legend) into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, data in rendered.png().items():
        p = out / f"{stem}_{kind}.png"
        p.write_bytes(data)
        paths.append(p)
    p = out / f"{stem}_instances.json"
    p.write_text(json.dumps(rendered.legend(), indent=1) + "\n")
    paths.append(p)
    return paths
