"""A dataset release: run a job over a manifest and write the card, manifest and failures.

Layout of ``OUT``::

    data/<split>/<scene_id>.parquet   rows sorted by question id (pinned schema, zstd)
    README.md                         dataset card (YAML front matter: configs, features)
    manifest.json                     inputs (scene hashes), settings, versions, file sha256s
    failures.jsonl                    one line per scene that failed, with why (may be empty)
    _state/                           resume records (not part of the release)

Everything is sorted and free of timestamps, so a release is byte-identical for the same
inputs and seed whatever the executor or the number of workers.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import geoenv
from geoenv.pipelines.job import SPLIT_FRACTIONS, JobConfig, SceneOutcome, file_sha256
from geoenv.pipelines.rows import BENCHMARK_COLUMNS, QUESTION_SCHEMA
from geoenv.scene import natural_key
from geoenv.tasks.generate import resolve_templates

Executor = Literal["local", "ray"]


class ReleaseReport(BaseModel):
    """Summary of a job: outcomes sorted by source, totals, wall time."""

    out: str
    outcomes: list[SceneOutcome]
    rows: int
    failed: int
    skipped: int
    seconds: float


def run_job(
    sources: Sequence[str],
    cfg: JobConfig,
    executor: Executor = "local",
    workers: int = 1,
    ray_address: str | None = None,
    console: Console | None = None,
    progress: bool = True,
) -> ReleaseReport:
    """Process every source, then write the release files; returns the report."""
    from geoenv.pipelines.executors import run_local, run_ray

    cfg = cfg.model_copy(update={"templates": resolve_templates(cfg.templates)})
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    console = console or Console(stderr=True)
    t0 = time.perf_counter()
    if executor == "ray":
        stream: Iterable[SceneOutcome] = run_ray(sources, cfg, workers, ray_address)
    elif executor == "local":
        stream = run_local(sources, cfg, workers)
    else:
        raise ValueError(f"unknown executor {executor!r}")
    outcomes: list[SceneOutcome] = []
    rows = failed = 0
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows {task.fields[rows]:,}  failed {task.fields[failed]}  {task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
        transient=False,
    ) as bar:
        task = bar.add_task(f"scenes ({executor})", total=len(sources), rows=0, failed=0, rate="")
        for o in stream:
            outcomes.append(o)
            rows += o.rows
            failed += o.status == "failed"
            rate = rows / max(time.perf_counter() - t0, 1e-9)
            bar.update(task, advance=1, rows=rows, failed=failed, rate=f"{rate:,.0f} rows/s")
    outcomes.sort(key=lambda o: natural_key(o.source))
    write_release_files(out, outcomes, cfg)
    return ReleaseReport(
        out=str(out),
        outcomes=outcomes,
        rows=rows,
        failed=failed,
        skipped=sum(o.status == "skipped" for o in outcomes),
        seconds=time.perf_counter() - t0,
    )


def write_release_files(out: Path, outcomes: Sequence[SceneOutcome], cfg: JobConfig) -> None:
    """failures.jsonl, README.md (card) and manifest.json for the finished outcomes."""
    good = sorted(
        (o for o in outcomes if o.status != "failed"), key=lambda o: natural_key(o.scene_id or "")
    )
    bad = [o for o in outcomes if o.status == "failed"]
    lines = [
        json.dumps({"source": o.source, "error": o.error, "traceback": o.traceback}, sort_keys=True)
        for o in bad
    ]
    (out / "failures.jsonl").write_text("".join(line + "\n" for line in lines))
    (out / "README.md").write_text(dataset_card(out, good, cfg))
    files = {o.path: o.sha256 for o in good if o.path}
    for o in good:
        files.update(o.files)
    for name in ("README.md", "failures.jsonl"):
        files[name] = file_sha256(out / name)
    manifest = {
        "format": "geoenv-qa-release/1",
        "versions": {
            "geoenv": geoenv.__version__,
            "pyarrow": pa.__version__,
            "numpy": np.__version__,
        },
        "settings": {
            "seed": cfg.seed,
            "per_template": cfg.per_template,
            "templates": cfg.templates,
            "variants": sorted(cfg.variants),
            "variants_per_scene": cfg.variants_per_scene,
            "split_fractions": dict(zip(("train", "val", "test"), SPLIT_FRACTIONS, strict=True)),
        },
        "scenes": [
            {
                "source": o.source,
                "scene_id": o.scene_id,
                "scene_hash": o.scene_hash,
                "split": o.split,
                "rows": o.rows,
                "path": o.path,
                "sha256": o.sha256,
            }
            for o in good
        ],
        "failures": [{"source": o.source, "error": o.error} for o in bad],
        "files": dict(sorted(files.items())),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _read_columns(path: Path, cols: Sequence[str]) -> pa.Table:
    """The columns of a question file; a column the file lacks (written before it existed)
    reads as nulls."""
    names = set(pq.read_schema(path).names)
    t = pq.read_table(path, columns=[c for c in cols if c in names])
    for c in cols:
        if c not in names:
            t = t.append_column(c, pa.nulls(t.num_rows, pa.string()))
    return t.select(list(cols))


def register_files(out: Path, files: dict[str, str]) -> None:
    """Add files written after the release (benchmark-shaped exports) to ``manifest.json``'s
    ``files`` (release path -> sha256), keeping the manifest sorted and byte-stable."""
    path = Path(out) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"] = dict(sorted({**manifest["files"], **files}.items()))
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _features_yaml() -> list[str]:
    out = []
    for f in QUESTION_SCHEMA:
        if pa.types.is_list(f.type):
            out += [f"  - name: {f.name}", "    sequence: string"]
        else:
            dtype = "float64" if pa.types.is_floating(f.type) else "string"
            out += [f"  - name: {f.name}", f"    dtype: {dtype}"]
    return out


def dataset_card(out: Path, good: Sequence[SceneOutcome], cfg: JobConfig) -> str:
    """The README.md of a release: HF-style YAML front matter, then counts."""
    from geoenv.tasks.parity import BENCHMARK_NAMES

    splits = sorted({o.split for o in good if o.split}, key=("train", "val", "test").index)
    cols = ["template", "variant", "answer", "answer_type", *BENCHMARK_COLUMNS.values()]
    tables = [_read_columns(out / o.path, cols) for o in good if o.path]
    tbl = (
        pa.concat_tables(tables)
        if tables
        else pa.table({c: pa.array([], pa.string()) for c in cols})
    )
    per_split = Counter(o.split for o in good for _ in range(o.rows))
    templates = Counter(tbl.column("template").to_pylist())
    variants = Counter(tbl.column("variant").to_pylist())
    answers = Counter(
        (t, a)
        for t, a, k in zip(
            *(tbl.column(c).to_pylist() for c in ("template", "answer", "answer_type")), strict=True
        )
        if k in ("choice", "bool")
    )
    benchmarks = Counter(
        (BENCHMARK_NAMES[b], cat)
        for b, col in BENCHMARK_COLUMNS.items()
        for cat, v in zip(
            tbl.column(col).to_pylist(), tbl.column("variant").to_pylist(), strict=True
        )
        if cat is not None and v == "clean"
    )
    y = ["---", "license: apache-2.0", "task_categories:", "- question-answering",
         "tags:", "- spatial-reasoning", "- 3d", "- geoenv", "configs:", "- config_name: default",
         "  data_files:"]  # fmt: skip
    for s in splits:
        y += [f"  - split: {s}", f"    path: data/{s}/*.parquet"]
    y += ["dataset_info:", "  features:", *_features_yaml(), "---", ""]
    body = [
        "# geoenv spatial QA release",
        "",
        "Questions with exact answers computed from scene geometry by "
        f"[geoenv](https://pypi.org/project/geoenv/) {geoenv.__version__}: seed {cfg.seed}, "
        f"{cfg.per_template} questions per template per scene, "
        f"variants: {', '.join(sorted(cfg.variants)) or 'none'}. Splits are by scene "
        "(a stable hash of the scene id), never by question. Rows are sorted by question id; "
        "`params`, `evidence` and `variant_params` are JSON strings. See `manifest.json` for "
        "the input scene hashes and the sha256 of every file. `spatialevo_type`, "
        "`vsi_bench_type` and `mmsi_bench_type` give each question's category in those "
        "benchmarks (null when none).",
        "",
        f"Scenes: {len(good)}; rows: {sum(o.rows for o in good)}.",
        "",
        "| split | rows |",
        "|---|---|",
        *(f"| {s} | {per_split[s]} |" for s in splits),
        "",
        "| template | rows |",
        "|---|---|",
        *(f"| {t} | {n} |" for t, n in sorted(templates.items())),
        "",
        "| variant | rows |",
        "|---|---|",
        *(f"| {v} | {n} |" for v, n in sorted(variants.items())),
        "",
        "| template | answer | rows |",
        "|---|---|---|",
        *(f"| {t} | {a} | {n} |" for (t, a), n in sorted(answers.items())),
        "",
        "| benchmark | category | clean rows |",
        "|---|---|---|",
        *(f"| {b} | {c} | {n} |" for (b, c), n in sorted(benchmarks.items())),
        "",
    ]
    return "\n".join(y + body)
