"""Question rows as Arrow tables and Parquet files with a pinned schema.

``params``, ``evidence`` and ``variant_params`` are canonical JSON strings (sorted keys, no
spaces), so a row is a flat record every Parquet reader understands. ``spatialevo_type``,
``vsi_bench_type`` and ``mmsi_bench_type`` hold the question's category in each benchmark
(:func:`geoenv.tasks.benchmarks.question_categories`; null when none). Files are sorted by
question id, zstd-compressed, with a fixed row-group size: the same questions always give the
same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from geoenv.serialize import canonical_json
from geoenv.tasks.base import Question
from geoenv.tasks.benchmarks import BENCHMARK_KEYS, question_categories

#: The pinned schema of a question row (docs/dataset.md).
QUESTION_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("template", pa.string(), nullable=False),
        pa.field("family", pa.string(), nullable=False),
        pa.field("answer_type", pa.string(), nullable=False),
        pa.field("scene_id", pa.string(), nullable=False),
        pa.field("params", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("choices", pa.list_(pa.string()), nullable=False),
        pa.field("answer", pa.string(), nullable=False),
        pa.field("answer_value", pa.float64()),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("tolerance", pa.float64()),
        pa.field("evidence", pa.string(), nullable=False),
        pa.field("rationale", pa.string(), nullable=False),
        pa.field("variant", pa.string(), nullable=False),
        pa.field("base_question_id", pa.string()),
        pa.field("variant_params", pa.string(), nullable=False),
        pa.field("spatialevo_type", pa.string()),
        pa.field("vsi_bench_type", pa.string()),
        pa.field("mmsi_bench_type", pa.string()),
    ]
)
#: Row column of each benchmark's category (keys of ``Template.aliases``).
BENCHMARK_COLUMNS = {b: f"{b}_type" for b in BENCHMARK_KEYS}
ROW_GROUP_SIZE = 10_000


def question_rows(questions: Iterable[Question]) -> list[dict[str, Any]]:
    """Plain dict rows (params/evidence as canonical JSON, benchmark categories filled),
    sorted by question id."""
    rows = []
    for q in questions:
        d = q.model_dump()
        cats = question_categories(q.template, q.params)
        for bench, col in BENCHMARK_COLUMNS.items():
            d[col] = cats[bench]
        d["params"] = canonical_json(d["params"])
        d["evidence"] = canonical_json(d["evidence"])
        d["variant_params"] = canonical_json(d["variant_params"])
        rows.append(d)
    return sorted(rows, key=lambda r: r["id"])


def questions_table(questions: Iterable[Question]) -> pa.Table:
    """Arrow table of questions in :data:`QUESTION_SCHEMA`, sorted by id."""
    rows = question_rows(questions)
    return pa.Table.from_pylist(rows, schema=QUESTION_SCHEMA)


def write_questions(questions: Sequence[Question] | pa.Table, path: str | Path) -> Path:
    """Write questions to a Parquet file (deterministic bytes); returns the path."""
    table = questions if isinstance(questions, pa.Table) else questions_table(questions)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=3,
        row_group_size=ROW_GROUP_SIZE,
        write_statistics=True,
    )
    return path


def read_questions(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a question Parquet file, with params and evidence decoded from JSON."""
    rows = pq.read_table(path, schema=QUESTION_SCHEMA).to_pylist()
    for r in rows:
        r["params"] = json.loads(r["params"])
        r["evidence"] = json.loads(r["evidence"])
        r["variant_params"] = json.loads(r["variant_params"])
    return rows
