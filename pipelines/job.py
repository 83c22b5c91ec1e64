"""One scene's unit of work in a dataset job: load, generate, write, record.

``process_scene`` is a pure function of (source, config): it writes
``OUT/data/<split>/<scene_id>.parquet`` atomically and a state record in ``OUT/_state/`` that
lets a rerun skip the scene when its input fingerprint, the job settings and the output file's
sha256 all still match. Every executor (in-process, process pool, Ray) calls this function, so
the files are identical whatever runs them.
"""

from __future__ import annotations

import hashlib
import json
import os
import traceback
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

import geoenv
from geoenv.scene import natural_key

Split = Literal["train", "val", "test"]
#: Fractions of scenes in train / val / test, by a stable hash of the scene id.
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


class JobConfig(BaseModel):
    """Settings of a dataset job (everything that changes the output bytes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    out: str
    seed: int = 0
    per_template: int = Field(10, ge=1, le=100_000)
    templates: list[str] | None = None
    variants: list[str] = []
    #: Clean questions per scene that each variant kind derives rows from.
    variants_per_scene: int = Field(4, ge=0, le=10_000)

    def key(self) -> str:
        """Hash of the settings that determine the rows (not the output folder)."""
        blob = json.dumps(
            {"seed": self.seed, "n": self.per_template, "t": self.templates,
             "v": sorted(self.variants), "vn": self.variants_per_scene,
             "version": geoenv.__version__},
            sort_keys=True,
        )  # fmt: skip
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class SceneOutcome(BaseModel):
    """What happened to one scene: ``ok`` (written), ``skipped`` (already complete) or
    ``failed`` (with the error)."""

    source: str
    status: Literal["ok", "skipped", "failed"]
    scene_id: str | None = None
    split: str | None = None
    path: str | None = None
    rows: int = 0
    sha256: str | None = None
    scene_hash: str | None = None
    counts: dict[str, int] = {}
    #: Files the scene's rows refer to (variant images, clouds): release path -> sha256.
    files: dict[str, str] = {}
    error: str | None = None
    traceback: str | None = None


def split_of(scene_id: str) -> Split:
    """train / val / test from the first 8 bytes of sha256(scene id): stable across runs."""
    u = int.from_bytes(hashlib.sha256(scene_id.encode()).digest()[:8], "big") / 2**64
    if u < SPLIT_FRACTIONS[0]:
        return "train"
    return "val" if u < SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1] else "test"


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def source_fingerprint(source: str) -> str:
    """sha256 over a source's bytes (a file, every file under a directory, with relative
    names; sibling sidecars ``<stem>.*`` of a file too), or the demo seed and version."""
    if source == "demo" or source.startswith("demo:"):
        return hashlib.sha256(f"{source}@{geoenv.__version__}".encode()).hexdigest()
    if source.startswith("scenezoo:"):
        from geoenv.scenes.scenezoo_adapter import scene_files

        h = hashlib.sha256(source.encode())
        for f in scene_files(source):
            h.update(str(f).encode() + b"\0")
            h.update(file_sha256(f).encode())
        return h.hexdigest()
    p = Path(source)
    h = hashlib.sha256()
    if p.is_dir():
        files = sorted((f for f in p.rglob("*") if f.is_file()), key=lambda f: natural_key(str(f)))
        root = p
    else:
        stem = p.name.split(".")[0]
        files = sorted(f for f in p.parent.glob(f"{stem}.*") if f.is_file())
        root = p.parent
    for f in files:
        h.update(str(f.relative_to(root)).encode() + b"\0")
        h.update(file_sha256(f).encode())
    return h.hexdigest()


def _state_path(out: Path, source: str) -> Path:
    return out / "_state" / (hashlib.sha256(source.encode()).hexdigest()[:20] + ".json")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _complete(out: Path, source: str, fingerprint: str, cfg: JobConfig) -> SceneOutcome | None:
    """The recorded outcome if the scene's output is complete and current, else None."""
    sp = _state_path(out, source)
    if not sp.exists():
        return None
    try:
        st = json.loads(sp.read_text())
        if st["fingerprint"] != fingerprint or st["job"] != cfg.key():
            return None
        expected = {st["outcome"]["path"]: st["outcome"]["sha256"], **st["outcome"]["files"]}
        for rel_path, sha in expected.items():
            path = out / rel_path
            if not path.exists() or file_sha256(path) != sha:
                return None
        return SceneOutcome.model_validate(st["outcome"] | {"status": "skipped"})
    except (KeyError, TypeError, ValueError, json.JSONDecodeError):
        return None  # a damaged state record: redo the scene


def process_scene(source: str, cfg: JobConfig) -> SceneOutcome:
    """Generate and write one scene's rows; never raises (a failure is an outcome)."""
    from geoenv.pipelines.rows import questions_table, write_questions
    from geoenv.scenes import load_scene
    from geoenv.tasks.generate import generate_scene

    out = Path(cfg.out)
    try:
        fingerprint = source_fingerprint(source)
        done = _complete(out, source, fingerprint, cfg)
        if done is not None:
            return done
        _maybe_inject_fault(source)
        scene = load_scene(source)
        res = generate_scene(scene, cfg.seed, cfg.per_template, cfg.templates)
        if res.failures:
            f = res.failures[0]
            raise RuntimeError(f"template {f['template']} failed: {f['error']}")
        questions = res.questions
        files: dict[str, str] = {}
        if cfg.variants:
            from geoenv.pipelines.variant_rows import variant_rows

            extra, blobs = variant_rows(
                scene, questions, cfg.variants, cfg.seed, cfg.variants_per_scene
            )
            questions = questions + extra
            for rel_path, data in blobs.items():
                _atomic_write(out / rel_path, data)
                files[rel_path] = hashlib.sha256(data).hexdigest()
        split = split_of(scene.id)
        rel = Path("data") / split / f"{scene.id}.parquet"
        tmp = out / rel.parent / f".{scene.id}.parquet.tmp-{os.getpid()}"
        write_questions(questions_table(questions), tmp)
        os.replace(tmp, out / rel)
        counts: dict[str, int] = {}
        for q in questions:
            counts[q.template] = counts.get(q.template, 0) + 1
        outcome = SceneOutcome(
            source=source,
            status="ok",
            scene_id=scene.id,
            split=split,
            path=rel.as_posix(),
            rows=len(questions),
            sha256=file_sha256(out / rel),
            scene_hash=scene.content_hash(),
            counts=dict(sorted(counts.items())),
            files=files,
        )
        state = {"fingerprint": fingerprint, "job": cfg.key(), "outcome": outcome.model_dump()}
        _atomic_write(_state_path(out, source), json.dumps(state, sort_keys=True).encode())
        _record_peak_rss()
        return outcome
    except Exception as exc:  # recorded in failures.jsonl; the job goes on
        return SceneOutcome(
            source=source,
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=6),
        )


def _record_peak_rss() -> None:
    """Bench hook: with ``GEOENV_PEAK_RSS_DIR`` set, each worker process writes its peak RSS
    (VmHWM, MiB) to ``<dir>/<pid>.rss``. Unset, it does nothing."""
    d = os.environ.get("GEOENV_PEAK_RSS_DIR")
    if not d:
        return
    with open("/proc/self/status") as fh:
        kib = next((int(x.split()[1]) for x in fh if x.startswith("VmHWM:")), 0)
    Path(d).mkdir(parents=True, exist_ok=True)
    (Path(d) / f"{os.getpid()}.rss").write_text(f"{kib / 1024:.1f}\n")


def _maybe_inject_fault(source: str) -> None:
    """Test hook: with ``GEOENV_FAULT_ONCE=<marker dir>``, the worker processing the source
    whose path or file name is ``GEOENV_FAULT_SOURCE`` exits abruptly the first time (a retry
    finds the marker and goes on). Unset, it does nothing."""
    marker_dir = os.environ.get("GEOENV_FAULT_ONCE")
    target = os.environ.get("GEOENV_FAULT_SOURCE")
    if not marker_dir or target not in (source, Path(source).name):
        return
    marker = Path(marker_dir) / (hashlib.sha256(source.encode()).hexdigest()[:16] + ".crashed")
    if marker.exists():
        return
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("crashed once\n")
    os._exit(17)
