"""The ``geoenv`` command line: inspect scenes, write and run the demo."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from geoenv.errors import GeoenvError
from geoenv.scene import STRUCTURAL_LABELS, Scene

app = typer.Typer(
    help="geoenv: deterministic 3D geometric environment for spatial-reasoning data.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


def _load(source: str) -> Scene:
    from geoenv.scenes import load_scene

    try:
        return load_scene(source)
    except GeoenvError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _summary_tables(scene: Scene) -> list[Table]:
    s = scene.summary()
    head = Table(title=f"scene {scene.id}", show_header=False)
    head.add_column("field", style="bold")
    head.add_column("value")
    head.add_row("source", str(s["source"] or scene.metadata.get("source_format", "")))
    head.add_row("objects", str(s["objects"]))
    head.add_row("extent (m)", " x ".join(f"{v:.2f}" for v in s["extent_m"]))
    head.add_row("points", "-" if s["points"] is None else f"{s['points']:,}")
    head.add_row("mesh faces", "-" if s["mesh_faces"] is None else f"{s['mesh_faces']:,}")
    head.add_row("frames", str(s["frames"]))
    head.add_row("floor height (m)", f"{s['floor_height_m']:.3f}")
    head.add_row("room area (m²)", "-" if s["room_area_m2"] is None else f"{s['room_area_m2']:.2f}")
    for name, n in s["geo_layers"].items():
        layer = scene.geo_layers[name]
        head.add_row(f"geo layer {name}", f"{n} features, {layer.crs.to_string()}")
    for note in scene.metadata.get("notes", []):
        head.add_row("note", str(note))

    cats = Table(title="objects per category")
    for col, just in (("category", "left"), ("count", "right"), ("ids", "left"),
                      ("mean size l x w x h (m)", "right")):  # fmt: skip
        cats.add_column(col, justify=just)  # type: ignore[arg-type]
    for label, ids in scene.labels.items():
        sizes = [scene.objects[i].obb.size for i in ids]
        mean = sum(sizes) / len(sizes)
        style = "dim" if label in STRUCTURAL_LABELS else None
        shown = ", ".join(ids[:8]) + (" ..." if len(ids) > 8 else "")
        cats.add_row(label, str(len(ids)), shown, " x ".join(f"{v:.2f}" for v in mean), style=style)
    return [head, cats]


@app.command()
def inspect(
    scene: Annotated[str, typer.Argument(help="Scene path (any known format) or 'demo[:SEED]'.")],
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a top-down map (PNG) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a scene: objects per category, extents, frames, geo layers."""
    sc = _load(scene)
    if as_json:
        typer.echo(json.dumps(sc.summary(), indent=2, sort_keys=True))
    else:
        for t in _summary_tables(sc):
            console.print(t)
    if plot is not None:
        from geoenv.plot import plot_topdown

        out = plot_topdown(sc, plot)
        console.print(f"wrote {out}")


@app.command()
def formats() -> None:
    """List the scene formats geoenv can load, in detection order."""
    from geoenv.scenes import loaders

    t = Table(title="scene formats")
    t.add_column("name", style="bold")
    t.add_column("description")
    for spec in loaders().values():
        t.add_row(spec.name, spec.description)
    console.print(t)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("demo_out"),
    seed: Annotated[int, typer.Option(help="Demo scene seed.")] = 0,
) -> None:
    """Build the demo scene, write it to OUT in the PLY point-cloud format (plus its frames and
    geo layer), reload it to check the round trip, draw its map, and run generation."""
    from geoenv.plot import plot_topdown
    from geoenv.scenes import load_scene
    from geoenv.scenes.demo import demo_scene
    from geoenv.scenes.geojson import write_geojson
    from geoenv.scenes.pointcloud import write_pointcloud

    tracemalloc.start()
    t0 = time.perf_counter()
    sc = demo_scene(seed)
    out.mkdir(parents=True, exist_ok=True)
    ply = write_pointcloud(sc, out / f"{sc.id}.ply")
    geo_paths = [
        write_geojson(layer, out / f"{name}.geojson") for name, layer in sc.geo_layers.items()
    ]
    back = load_scene(ply)
    same = [o.id for o in back.objects.values()] == list(sc.objects) and all(
        (back.objects[i].points == o.points).all() for i, o in sc.objects.items()
    )
    if not same:
        console.print("[red]error:[/red] the written scene does not load back identically")
        raise typer.Exit(1)
    png = plot_topdown(sc, out / f"{sc.id}_topdown.png")
    summary = sc.summary() | {"content_hash": sc.content_hash()}
    (out / f"{sc.id}.summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    for t in _summary_tables(sc):
        console.print(t)
    console.print(f"wrote {ply} (+ labels/frames JSON), {', '.join(map(str, geo_paths))}, {png}")
    console.print(
        f"round trip: identical objects and points; content hash {summary['content_hash'][:16]}"
    )
    _run_generation(sc, out, seed)
    _, peak = tracemalloc.get_traced_memory()
    console.print(
        f"done in {time.perf_counter() - t0:.2f} s, peak traced memory {peak / 2**20:.0f} MiB"
    )


def _run_generation(scene: Scene, out: Path, seed: int, per_template: int = 5) -> None:
    """Run every registered template on the scene; write and show the questions."""
    from geoenv.pipelines.rows import write_questions
    from geoenv.tasks.generate import generate_scene

    res = generate_scene(scene, seed, per_template)
    path = write_questions(res.questions, out / "questions" / f"{scene.id}.parquet")
    _print_counts({scene.id: res})
    sample = Table(title="sample questions (one per template)", show_lines=True)
    for col in ("template", "question", "answer"):
        sample.add_column(col)
    seen: set[str] = set()
    for q in res.questions:
        if q.template in seen:
            continue
        seen.add(q.template)
        choices = f"\n[dim]choices: {' | '.join(q.choices)}[/dim]" if q.choices else ""
        unit = q.unit if q.answer_type in ("number", "count") else ""
        sample.add_row(q.template, q.text + choices, f"{q.answer} {unit}".strip())
    console.print(sample)
    console.print(f"wrote {len(res.questions)} questions to {path}")
    _report_failures(out, res.failures)


def _print_counts(results: dict) -> None:
    t = Table(title="questions per template")
    t.add_column("template")
    for sid in results:
        t.add_column(sid, justify="right")
    names = sorted({n for r in results.values() for n in r.counts()})
    for n in names:
        t.add_row(n, *(str(r.counts().get(n, 0)) for r in results.values()))
    console.print(t)


def _report_failures(out: Path, failures: list[dict]) -> None:
    if not failures:
        return
    path = out / "failures.jsonl"
    with path.open("w") as fh:
        for f in failures:
            fh.write(json.dumps(f, sort_keys=True) + "\n")
    console.print(f"[yellow]{len(failures)} failure(s) recorded in {path}[/yellow]")
    for f in failures:
        console.print(
            f"  [yellow]{f.get('scene_id')} / {f.get('template', '-')}: {f['error']}[/yellow]"
        )


@app.command("tasks")
def list_tasks() -> None:
    """List the task templates with their family, answer type, unit and metric."""
    from geoenv.tasks import templates

    t = Table(title="task templates")
    for col in ("name", "family", "answer", "unit", "metric", "thresholds"):
        t.add_column(col)
    for tpl in templates().values():
        th = ", ".join(f"{k}={v}" for k, v in tpl.thresholds().items())
        t.add_row(tpl.name, tpl.family, tpl.answer_type, tpl.unit or "-", tpl.metric, th)
    console.print(t)


@app.command()
def generate(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Scene paths, directories, manifests or 'demo:A-B'.")
    ] = None,
    scenes: Annotated[
        list[str] | None, typer.Option("--scenes", help="Manifest file or directory (repeatable).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Release directory.")] = Path("release"),
    seed: Annotated[int, typer.Option(help="Generation seed.")] = 0,
    per_template: Annotated[int, typer.Option(help="Questions per template per scene.")] = 10,
    templates_: Annotated[
        str | None, typer.Option("--templates", help="Comma-separated template names.")
    ] = None,
    variants: Annotated[
        str | None, typer.Option(help="Comma-separated variants: occlusion, degradation.")
    ] = None,
    executor: Annotated[
        str, typer.Option(help="local (in-process / process pool) or ray.")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster address ('auto' or ADDR); default: local Ray.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Parallel workers (processes or Ray tasks).")] = 1,
    fail_on_error: Annotated[
        bool, typer.Option(help="Exit non-zero when any scene failed.")
    ] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    like: Annotated[
        str | None,
        typer.Option(
            "--like",
            help="Also write a benchmark-shaped split: 'vsi-bench' -> OUT/vsi_bench/test.parquet "
            "and test.jsonl (VSI-Bench's columns, question types, options and ground truth).",
        ),
    ] = None,
) -> None:
    """Generate a Parquet QA release: OUT/data/<split>/<scene_id>.parquet, README.md (dataset
    card), manifest.json and failures.jsonl. Byte-identical for the same inputs and seed,
    whatever the executor or worker count; reruns skip complete scenes. With --like vsi-bench,
    also OUT/vsi_bench/ (docs/dataset.md, "Benchmark-shaped exports")."""
    from geoenv.pipelines.job import JobConfig
    from geoenv.pipelines.manifest import read_manifest
    from geoenv.pipelines.release import run_job
    from geoenv.tasks.generate import resolve_templates

    if executor not in ("local", "ray"):
        raise typer.BadParameter("--executor must be 'local' or 'ray'")
    if workers < 1:
        raise typer.BadParameter("--workers must be >= 1")
    if like is not None and like not in LIKE_CHOICES:
        raise typer.BadParameter(
            f"unknown benchmark {like!r}; known: {', '.join(LIKE_CHOICES)}", param_hint="--like"
        )
    names = [n.strip() for n in templates_.split(",") if n.strip()] if templates_ else None
    try:
        names = resolve_templates(names)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None
    var = sorted({v.strip() for v in variants.split(",") if v.strip()}) if variants else []
    bad_var = [v for v in var if v not in ("occlusion", "degradation")]
    if bad_var:
        raise typer.BadParameter(f"unknown variants {bad_var}; known: occlusion, degradation")
    specs = [*(sources or []), *(scenes or [])]
    if not specs:
        raise typer.BadParameter("give scene sources or --scenes MANIFEST_OR_DIR")
    try:
        srcs = read_manifest(specs)
    except GeoenvError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        cfg = JobConfig(
            out=str(out), seed=seed, per_template=per_template, templates=names, variants=var
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    rep = run_job(srcs, cfg, executor, workers, ray_address, console=console, progress=not quiet)
    by_scene = {}
    for o in rep.outcomes:
        if o.status != "failed":
            by_scene[o.scene_id] = o.counts
    _print_release(by_scene)
    console.print(
        f"{rep.rows:,} rows from {len(rep.outcomes) - rep.failed} scene(s) "
        f"({rep.skipped} already complete) in {rep.seconds:.1f} s -> {out}"
    )
    for o in rep.outcomes:
        if o.status == "failed":
            console.print(f"[yellow]failed: {o.source}: {o.error}[/yellow]")
    if rep.failed:
        console.print(
            f"[yellow]{rep.failed} failure(s) recorded in {out / 'failures.jsonl'}[/yellow]"
        )
        if fail_on_error:
            raise typer.Exit(1)
    if like == "vsi-bench":
        _export_vsi_bench(out)


#: Values of ``geoenv generate --like``.
LIKE_CHOICES = ("vsi-bench",)


def _export_vsi_bench(out: Path) -> None:
    from geoenv.pipelines.vsi_export import VsiExportError, write_vsi_bench

    try:
        paths = write_vsi_bench(out)
    except VsiExportError as exc:
        console.print(f"[red]error:[/red] VSI-Bench export: {exc}")
        raise typer.Exit(1) from None
    import pyarrow.parquet as pq

    types = pq.read_table(paths[0], columns=["question_type"]).column("question_type")
    counts: dict[str, int] = {}
    for name in types.to_pylist():
        counts[name] = counts.get(name, 0) + 1
    t = Table(title="VSI-Bench-shaped split")
    t.add_column("question_type")
    t.add_column("rows", justify="right")
    for name, n in sorted(counts.items()):
        t.add_row(name, str(n))
    console.print(t)
    console.print(f"{len(types):,} VSI-Bench rows -> {paths[0]}, {paths[1]}")


def _print_release(by_scene: dict[str, dict[str, int]]) -> None:
    if not by_scene:
        return
    t = Table(title="rows per template")
    t.add_column("template")
    t.add_column("scenes", justify="right")
    t.add_column("rows", justify="right")
    names = sorted({n for c in by_scene.values() for n in c})
    for n in names:
        vals = [c.get(n, 0) for c in by_scene.values()]
        t.add_row(n, str(sum(v > 0 for v in vals)), str(sum(vals)))
    console.print(t)


# Commands defined in their own modules register on `app` when imported (after `app` exists).
from geoenv import cli_render, cli_serve  # noqa: E402, F401


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
