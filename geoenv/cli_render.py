"""``geoenv render``: RGB, depth and instance PNGs of a scene's frames (registered on the CLI app
when :mod:`geoenv.cli` imports this module)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoenv.cli import _load, app, console


def parse_frames(spec: str | None, available: list[int]) -> list[int]:
    """Frame indices from ``"0,5,10"`` or ranges ``"0-3,8"``; all frames when empty."""
    if not spec:
        return list(available)
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                a, b = part[0] + part[1:].split("-", 1)[0], part[1:].split("-", 1)[1]
                out.extend(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise typer.BadParameter(f"bad frame list {spec!r}") from None
    missing = sorted(set(out) - set(available))
    if missing:
        raise typer.BadParameter(f"no frames {missing}; the scene has {len(available)} frames")
    return list(dict.fromkeys(out))


@app.command()
def render(
    scene: Annotated[str, typer.Argument(help="Scene path (any known format) or 'demo[:SEED]'.")],
    frames: Annotated[
        str | None, typer.Option("--frames", help="Frame indices, e.g. 0,5 or 0-3 (default all).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("render"),
    downscale: Annotated[
        int, typer.Option(help="Render at 1/DOWNSCALE of the frame resolution.", min=1)
    ] = 1,
) -> None:
    """Render frames: <scene>_<frame>_rgb.png, _depth.png (16-bit mm), _instance.png (16-bit,
    object index + 1), _instance_color.png and _instances.json (legend)."""
    from geoenv.render import render_frame, write_frame

    sc = _load(scene)
    if not sc.frames:
        console.print(f"[red]error:[/red] scene {sc.id} has no camera frames")
        raise typer.Exit(2)
    idx = parse_frames(frames, [f.index for f in sc.frames])
    for i in idx:
        r = render_frame(sc, i, downscale=downscale)
        paths = write_frame(r, out, f"{sc.id}_{i:04d}")
        seen = len(r.legend())
        console.print(f"frame {i}: {r.rgb.shape[1]}x{r.rgb.shape[0]}, {seen} objects -> {paths[0]}")
