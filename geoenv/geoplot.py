"""Map images of geo layers (matplotlib Agg, headless) with referenced features highlighted and
labelled, and the affine transform between pixels and the map's CRS.

Pixel convention (GDAL / rasterio): ``(col, row)`` are continuous pixel coordinates with
``(0, 0)`` the top-left *corner* of the top-left pixel, ``col`` growing right and ``row``
growing down; pixel ``(i, j)`` covers ``[i, i + 1) x [j, j + 1)`` and its centre is
``(i + 0.5, j + 0.5)``. The map's affine ``transform = (a, b, c, d, e, f)`` maps them to CRS
coordinates::

    x = a * col + b * row + c
    y = d * col + e * row + f

with ``b = d = 0`` (north up), ``a > 0`` the CRS x units per pixel, ``e < 0`` (rows go
south) and ``(c, f)`` the CRS coordinates of the top-left corner. Projected CRSs get square
pixels (``a = -e``); geographic CRSs (degrees) get ``a = -e / cos(lat0)`` at the map's
central latitude ``lat0``, so the image is locally conformal there.

Bytes are deterministic for a given matplotlib version: fixed figure size and dpi, the axes
fill the figure, features drawn in layer / file order, fixed colours, and no ``Software`` or
time metadata in the PNG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely

from geoenv.geo import WGS84, GeoLayer
from geoenv.scene import Scene

#: Colours of highlighted features, in the order they are given.
HIGHLIGHT_COLOURS = (
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
BASE_FACE, BASE_EDGE = "#e6e2da", "#8a8478"


@dataclass(frozen=True)
class MapImage:
    """A rendered map: PNG bytes, size, CRS, the affine pixel -> CRS transform (module
    docstring), and the pixel box ``(col0, row0, col1, row1)`` of each highlighted feature."""

    png: bytes
    width: int
    height: int
    crs: pyproj.CRS
    transform: tuple[float, float, float, float, float, float]
    boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def pixel_to_crs(self, col: np.ndarray | float, row: np.ndarray | float):
        """CRS coordinates (x, y) of pixel coordinates (col, row)."""
        a, b, c, d, e, f = self.transform
        col, row = np.asarray(col, dtype=float), np.asarray(row, dtype=float)
        return a * col + b * row + c, d * col + e * row + f

    def crs_to_pixel(self, x: np.ndarray | float, y: np.ndarray | float):
        """Pixel coordinates (col, row) of CRS coordinates (x, y)."""
        a, b, c, d, e, f = self.transform
        det = a * e - b * d
        x, y = np.asarray(x, dtype=float) - c, np.asarray(y, dtype=float) - f
        return (e * x - b * y) / det, (-d * x + a * y) / det

    def pixel_box(self, geom: shapely.Geometry) -> tuple[float, float, float, float]:
        """Pixel box ``(col0, row0, col1, row1)`` (col0 < col1, row0 < row1) of a geometry
        given in the map's CRS."""
        x0, y0, x1, y1 = geom.bounds
        cols, rows = self.crs_to_pixel(np.array([x0, x1]), np.array([y0, y1]))
        return (float(cols.min()), float(rows.min()), float(cols.max()), float(rows.max()))


def _layers(source: Scene | GeoLayer | Sequence[GeoLayer]) -> list[GeoLayer]:
    if isinstance(source, Scene):
        return list(source.geo_layers.values())
    if isinstance(source, GeoLayer):
        return [source]
    return list(source)


def _in_crs(layer: GeoLayer, crs: pyproj.CRS) -> np.ndarray:
    if layer.crs.equals(crs):
        return np.asarray(layer.geometries, dtype=object)
    tr = pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)
    return shapely.transform(
        layer.lonlat, lambda c: np.column_stack(tr.transform(*c.T)), include_z=False
    )


def _polygon_path(g: shapely.Geometry):
    from matplotlib.path import Path as MplPath

    verts, codes = [], []
    for poly in shapely.get_parts(g):
        if shapely.get_type_id(poly) != 3:
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = shapely.get_coordinates(ring)
            verts.append(xy)
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            codes.append(c)
    return MplPath(np.concatenate(verts), np.concatenate(codes)) if verts else None


def _draw(ax, g: shapely.Geometry, face: str, edge: str, lw: float, z: int, ms: float) -> None:
    from matplotlib.patches import PathPatch

    dim = shapely.get_dimensions(g)
    if dim == 2:
        path = _polygon_path(g)
        if path is not None:
            ax.add_patch(PathPatch(path, facecolor=face, edgecolor=edge, lw=lw, zorder=z))
    for part in shapely.get_parts(g):
        t = shapely.get_type_id(part)
        if t in (1, 2):
            xy = shapely.get_coordinates(part)
            ax.plot(xy[:, 0], xy[:, 1], color=edge, lw=lw * 2, zorder=z + 1, solid_capstyle="round")
        elif t == 0:
            ax.plot([part.x], [part.y], "o", color=edge, ms=ms, zorder=z + 2)


def _anchor(g: shapely.Geometry) -> tuple[float, float]:
    """Where a label goes: a point on the surface of a polygon, the middle of a line."""
    if shapely.get_dimensions(g) == 1:
        part = max(shapely.get_parts(g), key=lambda p: p.length)
        p = part.interpolate(0.5, normalized=True)
    else:
        p = shapely.point_on_surface(g)
    return float(p.x), float(p.y)


def render_map(
    source: Scene | GeoLayer | Sequence[GeoLayer],
    highlight: Mapping[str, str] | Sequence[str] = (),
    *,
    crs: pyproj.CRS | str | None = None,
    width: int = 640,
    height: int = 480,
    bounds: tuple[float, float, float, float] | None = None,
    pad: float = 0.05,
    dpi: int = 100,
) -> MapImage:
    """Draw every feature of the layers in ``crs`` (default: the first layer's) and highlight
    the features named by ``highlight`` (keys ``"<layer>/<feature id>"``; a mapping gives
    each its label, a sequence labels them with their name property or id).

    ``bounds`` (xmin, ymin, xmax, ymax in ``crs``): the area to show; default the
    highlighted features' bounds (all features' when none), grown by ``pad`` of the larger
    side. The area is centred and scaled to fit ``width x height`` pixels.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    layers = _layers(source)
    if not layers:
        raise ValueError("no geo layers to draw")
    map_crs = pyproj.CRS.from_user_input(crs) if crs is not None else layers[0].crs
    geoms: dict[str, shapely.Geometry] = {}
    names: dict[str, str] = {}
    for layer in layers:
        for fid, g, props in zip(layer.ids, _in_crs(layer, map_crs), layer.properties, strict=True):
            key = f"{layer.name}/{fid}"
            geoms[key] = g
            name = props.get("name")
            names[key] = name if isinstance(name, str) and name else str(fid)
    labels = (
        {str(k): str(v) for k, v in highlight.items()}
        if isinstance(highlight, Mapping)
        else {str(k): names.get(str(k), str(k)) for k in highlight}
    )
    unknown = [k for k in labels if k not in geoms]
    if unknown:
        raise KeyError(f"no features {unknown} in the layers")
    focus = [geoms[k] for k in labels] or list(geoms.values())
    if bounds is None:
        x0, y0, x1, y1 = shapely.total_bounds(np.array(focus, dtype=object))
        grow = pad * max(x1 - x0, y1 - y0, 1e-9)
        bounds = (x0 - grow, y0 - grow, x1 + grow, y1 + grow)
    x0, y0, x1, y1 = (float(v) for v in bounds)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if map_crs.is_geographic:
        lat0 = max(-89.0, min(89.0, cy))
        ratio = 1.0 / math.cos(math.radians(lat0))  # x units per y unit, per pixel
    else:
        ratio = 1.0
    sy = max((x1 - x0) / ratio / width, (y1 - y0) / height, 1e-12)
    sx = sy * ratio
    left, top = cx - sx * width / 2, cy + sy * height / 2
    transform = (sx, 0.0, left, 0.0, -sy, top)

    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(left, left + sx * width)
    ax.set_ylim(top - sy * height, top)
    ax.set_facecolor("white")
    for key, g in geoms.items():
        if key not in labels:
            _draw(ax, g, BASE_FACE, BASE_EDGE, 0.6, 1, 3.0)
    for k, (key, text) in enumerate(labels.items()):
        colour = HIGHLIGHT_COLOURS[k % len(HIGHLIGHT_COLOURS)]
        _draw(ax, geoms[key], colour + "66", colour, 1.6, 10 + 3 * k, 7.0)
        ax.annotate(
            text,
            _anchor(geoms[key]),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=9,
            color="black",
            zorder=100,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": colour, "lw": 1.0},
        )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    img = MapImage(buf.getvalue(), width, height, map_crs, transform, labels=labels)
    boxes = {key: img.pixel_box(geoms[key]) for key in labels}
    return MapImage(img.png, width, height, map_crs, transform, boxes=boxes, labels=labels)


#: Parameters of the geo templates that name features, and how the overlay labels them.
_ROLE_LABELS = {"a": "A", "b": "B", "x": "X"}


def question_features(params: Mapping[str, object]) -> dict[str, str]:
    """Feature keys named by a geo question's parameters, with overlay labels: ``a`` -> "A",
    ``b`` -> "B", ``x`` -> "X", ``candidates`` -> "1", "2", ... (in parameter order)."""
    out: dict[str, str] = {}
    for role, label in _ROLE_LABELS.items():
        if isinstance(params.get(role), str):
            out[str(params[role])] = label
    cands = params.get("candidates")
    if isinstance(cands, list):
        for i, key in enumerate(cands, 1):
            out.setdefault(str(key), str(i))
    return out


def render_question(scene: Scene, params: Mapping[str, object], **kwargs) -> MapImage:
    """:func:`render_map` of a scene with the features of a geo question highlighted and
    labelled by role (:func:`question_features`); ``kwargs`` go to :func:`render_map`. The
    returned :attr:`MapImage.boxes` give each referenced feature's pixel box."""
    return render_map(scene, question_features(params), **kwargs)
