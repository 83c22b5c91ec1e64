"""A VSI-Bench-shaped split of a release: the columns, question types, option format and ground
truth format that VSI-Bench's published evaluation reads, so it scores our questions unchanged.

Columns (exactly VSI-Bench's): ``id`` (int64, 0..n-1 in the order of our question ids),
``dataset`` (``"geoenv"``), ``scene_name`` (our scene id), ``question_type`` (the VSI-Bench
category, ``vsi_bench_type`` of the row), ``question`` (our question text), ``options``
(``["A. left", "B. right"]`` for multiple-choice types, null for numerical ones) and
``ground_truth`` (the option letter for multiple-choice types; the number as a string for
numerical ones, in VSI-Bench's unit: metres for distances, centimetres for object sizes,
square metres for room sizes, an integer for counts).

Only clean rows (``variant == "clean"``) with a VSI-Bench category are exported.
``appearance_order`` answers are free orders in our rows; here they become four options: the
true order and three other orders of the same objects, chosen and placed by a generator seeded
from the question id (so an option set never depends on the other rows).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from geoenv.pipelines.rows import QUESTION_SCHEMA, question_rows, write_questions

#: VSI-Bench's multiple-choice question types (scored by exact match of the option letter).
VSI_MC_TYPES: tuple[str, ...] = (
    "object_rel_direction_easy",
    "object_rel_direction_medium",
    "object_rel_direction_hard",
    "object_rel_distance",
    "route_planning",
    "obj_appearance_order",
)
#: VSI-Bench's numerical question types (scored by mean relative accuracy) and the unit of
#: their ground truth (geoenv's unit names).
VSI_NUMERIC_UNITS: dict[str, str] = {
    "object_abs_distance": "m",
    "object_counting": "count",
    "object_size_estimation": "cm",
    "room_size_estimation": "m2",
}
#: Options of an exported ``obj_appearance_order`` question (VSI-Bench's count).
APPEARANCE_OPTIONS = 4
#: The ``dataset`` value of every exported row.
DATASET_NAME = "geoenv"
#: The pinned schema of the export (VSI-Bench's columns, in its order).
VSI_BENCH_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("scene_name", pa.string(), nullable=False),
        pa.field("question_type", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("options", pa.list_(pa.string())),
        pa.field("ground_truth", pa.string(), nullable=False),
    ]
)
#: Folder of the export inside a release, and its split name (VSI-Bench has only ``test``).
EXPORT_DIR = "vsi_bench"
SPLIT = "test"


class VsiExportError(ValueError):
    """A row whose answer kind does not fit its VSI-Bench question type."""


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


def _row_seed(question_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"vsi_bench\x1f{question_id}".encode()).digest()[:8])


def appearance_options(question_id: str, answer: str) -> tuple[list[str], int]:
    """Four orders of the objects of an appearance-order answer (``"sofa, tv, lamp"``): the
    true one at a seeded position and three other permutations drawn with the same generator
    (seeded by the question id). Returns the option texts and the index of the true one."""
    items = [x.strip() for x in answer.split(",")]
    others = sorted(", ".join(p) for p in permutations(items) if list(p) != items)
    k = min(APPEARANCE_OPTIONS - 1, len(others))
    if k == 0:
        raise VsiExportError(f"question {question_id}: an order of one object has no options")
    rng = np.random.default_rng(_row_seed(question_id))
    picked = [others[i] for i in sorted(rng.choice(len(others), size=k, replace=False))]
    picked = [picked[i] for i in rng.permutation(k)]
    slot = int(rng.integers(k + 1))
    return [*picked[:slot], ", ".join(items), *picked[slot:]], slot


def _as_rows(data: pa.Table | Iterable[Any]) -> list[dict[str, Any]]:
    """Question rows from a table in QUESTION_SCHEMA, Questions, or row dicts."""
    if isinstance(data, pa.Table):
        return data.to_pylist()
    items = list(data)
    if items and not isinstance(items[0], dict):
        return question_rows(items)
    return items


def vsi_record(row: dict[str, Any]) -> dict[str, Any]:
    """One VSI-Bench record (without ``id``) for a question row with a VSI-Bench category."""
    qtype = row["vsi_bench_type"]
    qid = row["id"]
    where = f"question {qid} (template {row['template']}, VSI-Bench {qtype})"
    if qtype in VSI_NUMERIC_UNITS:
        if row["answer_type"] not in ("number", "count") or row.get("answer_value") is None:
            raise VsiExportError(f"{where}: a numerical type needs a number answer")
        want = VSI_NUMERIC_UNITS[qtype]
        if row["unit"] != want:
            # The question text states its unit, so converting the answer alone would
            # contradict it; no template needs a conversion today.
            raise VsiExportError(f"{where}: answer in {row['unit']!r}, VSI-Bench uses {want!r}")
        options, truth = None, str(row["answer"])
        try:
            float(truth)
        except ValueError:
            raise VsiExportError(f"{where}: answer {truth!r} is not a number") from None
    elif qtype in VSI_MC_TYPES:
        choices = list(row["choices"] or [])
        if not choices and row["answer_type"] == "order":
            choices, index = appearance_options(qid, row["answer"])
        elif choices and row["answer"] in choices:
            index = choices.index(row["answer"])
        else:
            raise VsiExportError(f"{where}: a multiple-choice type needs choices with the answer")
        letters = _letters(len(choices))
        options = [f"{a}. {c}" for a, c in zip(letters, choices, strict=True)]
        truth = letters[index]
    else:
        raise VsiExportError(f"{where}: not a VSI-Bench question type")
    return {
        "dataset": DATASET_NAME,
        "scene_name": row["scene_id"],
        "question_type": qtype,
        "question": row["text"],
        "options": options,
        "ground_truth": truth,
    }


def to_vsi_bench(data: pa.Table | Iterable[Any], with_source_id: bool = False) -> pa.Table:
    """The VSI-Bench-shaped table of questions (a table in QUESTION_SCHEMA, Questions or row
    dicts): clean rows with a VSI-Bench category, sorted by our question id, ``id`` their
    position. ``with_source_id`` appends our question id as ``geoenv_id`` (not a VSI-Bench
    column). Raises :class:`VsiExportError` for a row whose answer does not fit its type."""
    rows = [r for r in _as_rows(data) if r.get("variant", "clean") == "clean"]
    rows = sorted((r for r in rows if r.get("vsi_bench_type")), key=lambda r: r["id"])
    records = []
    for i, r in enumerate(rows):
        rec = {"id": i, **vsi_record(r)}
        if with_source_id:
            rec["geoenv_id"] = r["id"]
        records.append(rec)
    schema = VSI_BENCH_SCHEMA
    if with_source_id:
        schema = schema.append(pa.field("geoenv_id", pa.string(), nullable=False))
    return pa.Table.from_pylist(records, schema=schema)


def read_release_questions(
    release_dir: str | Path, splits: Sequence[str] | None = None
) -> pa.Table:
    """Every question row of a release (``data/<split>/*.parquet``; only ``splits`` when given),
    in QUESTION_SCHEMA."""
    root = Path(release_dir) / "data"
    files = sorted(p for p in root.glob("*/*.parquet") if splits is None or p.parent.name in splits)
    tables = [pq.read_table(p, schema=QUESTION_SCHEMA) for p in files]
    return pa.concat_tables(tables) if tables else QUESTION_SCHEMA.empty_table()


def write_vsi_bench(
    release_dir: str | Path,
    splits: Sequence[str] | None = None,
    register: bool = True,
) -> list[Path]:
    """Write ``<release>/vsi_bench/test.parquet`` and ``test.jsonl`` from the release's question
    files (all splits of the release unless ``splits`` names some): byte-identical for the same
    release. With ``register`` their sha256 are added to the release's ``manifest.json`` when it
    has one. Returns the two paths."""
    from geoenv.pipelines.job import file_sha256

    release_dir = Path(release_dir)
    table = to_vsi_bench(read_release_questions(release_dir, splits))
    out = release_dir / EXPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    pq_path, jl_path = out / f"{SPLIT}.parquet", out / f"{SPLIT}.jsonl"
    write_questions(table, pq_path)  # the release's Parquet settings: same bytes every time
    lines = [json.dumps(r, ensure_ascii=False) for r in table.to_pylist()]
    jl_path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if register and (release_dir / "manifest.json").exists():
        from geoenv.pipelines.release import register_files

        register_files(
            release_dir,
            {p.relative_to(release_dir).as_posix(): file_sha256(p) for p in (pq_path, jl_path)},
        )
    return [pq_path, jl_path]


def vsi_prompt(record: dict[str, Any]) -> str:
    """The question as VSI-Bench's evaluation shows it, without its fixed pre- and post-prompt:
    the question, then for a multiple-choice type ``Options:`` and one option per line."""
    if record["options"]:
        return "\n".join([record["question"], "Options:", *record["options"]])
    return record["question"]
