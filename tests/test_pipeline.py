"""Dataset releases: layout, card, manifest, failures, resume, readers, and byte-identity
across executors (local, process pool, Ray), worker counts, retries and a two-node cluster."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import geoenv
from geoenv.pipelines.job import JobConfig, split_of
from geoenv.pipelines.manifest import read_manifest
from geoenv.pipelines.release import run_job
from geoenv.pipelines.rows import QUESTION_SCHEMA
from geoenv.scenes.pointcloud import write_pointcloud

TEMPLATES = ["object_count", "object_distance", "room_size", "camera_displacement"]


def release_digest(out: Path) -> dict[str, str]:
    """sha256 of every release file (resume records excluded)."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "_state" not in p.parts
    }


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory) -> Path:
    """Three demo scenes written as PLY point clouds, and one broken file."""
    d = tmp_path_factory.mktemp("scenes")
    for seed in (0, 1, 2):
        write_pointcloud(geoenv.demo_scene(seed), d / f"demo_{seed}.ply")
    (d / "broken.ply").write_text("ply\nformat ascii 1.0\nelement vertex 3\n")  # truncated
    return d


def cfg(out: Path, **kw) -> JobConfig:
    return JobConfig(out=str(out), seed=3, per_template=4, templates=TEMPLATES, **kw)


@pytest.fixture(scope="module")
def local_release(scene_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rel_local")
    rep = run_job(read_manifest(str(scene_dir)), cfg(out), progress=False)
    assert rep.failed == 1 and rep.rows > 0
    return out


def test_manifest_sources(scene_dir, tmp_path):
    srcs = read_manifest(str(scene_dir))
    assert [Path(s).name for s in srcs] == ["broken.ply", "demo_0.ply", "demo_1.ply", "demo_2.ply"]
    assert read_manifest("demo:2-4") == ["demo:2", "demo:3", "demo:4"]
    lst = tmp_path / "scenes.txt"
    lst.write_text(f"# two scenes\n{scene_dir / 'demo_1.ply'}\ndemo:5\n")
    assert read_manifest(str(lst)) == [str(scene_dir / "demo_1.ply"), "demo:5"]
    jl = tmp_path / "scenes.jsonl"
    jl.write_text('{"source": "demo:1"}\n{"path": "x"}\n')
    with pytest.raises(geoenv.SceneFormatError, match="line 2"):
        read_manifest(str(jl))


def test_release_layout_card_manifest_failures(local_release):
    out = local_release
    files = release_digest(out)
    data = sorted(f for f in files if f.startswith("data/"))
    assert data == sorted(f"data/{split_of(f'demo_{i}')}/demo_{i}.parquet" for i in range(3))
    manifest = json.loads((out / "manifest.json").read_text())
    for name, sha in manifest["files"].items():
        assert files[name] == sha
    assert [s["scene_id"] for s in manifest["scenes"]] == ["demo_0", "demo_1", "demo_2"]
    assert manifest["settings"]["seed"] == 3 and manifest["settings"]["templates"] == TEMPLATES
    fails = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
    assert len(fails) == 1 and fails[0]["source"].endswith("broken.ply")
    assert "SceneFormatError" in fails[0]["error"]
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "configs:" in card and "path: data/" in card
    assert "| object_count |" in card
    for f in data:
        t = pq.read_table(out / f)
        assert t.schema.equals(QUESTION_SCHEMA)
        ids = t.column("id").to_pylist()
        assert ids == sorted(ids)
        assert pq.ParquetFile(out / f).metadata.row_group(0).column(0).compression == "ZSTD"


def test_splits_are_by_scene():
    assert {split_of(f"scene{i:04d}_00") for i in range(200)} == {"train", "val", "test"}
    assert split_of("demo_0") == split_of("demo_0")


def test_process_pool_is_byte_identical(scene_dir, local_release, tmp_path):
    run_job(read_manifest(str(scene_dir)), cfg(tmp_path), workers=2, progress=False)
    assert release_digest(tmp_path) == release_digest(local_release)


def test_resume_skips_complete_scenes_and_redoes_damaged(scene_dir, local_release, tmp_path):
    out = tmp_path / "rel"
    srcs = read_manifest(str(scene_dir))
    run_job(srcs, cfg(out), progress=False)
    first = release_digest(out)
    victim = next(p for p in sorted((out / "data").rglob("*.parquet")))
    victim.write_bytes(b"partial")  # an interrupted write
    rep = run_job(srcs, cfg(out), progress=False)
    assert rep.skipped == 2  # the two intact scenes; the damaged one is redone
    assert release_digest(out) == first == release_digest(local_release)
    # Different settings invalidate every record.
    rep = run_job(srcs, cfg(out).model_copy(update={"seed": 4}), progress=False)
    assert rep.skipped == 0


def test_readers_polars_duckdb_datasets(local_release):
    out = local_release
    n = sum(pq.read_metadata(p).num_rows for p in (out / "data").rglob("*.parquet"))
    polars = pytest.importorskip("polars")
    assert polars.read_parquet(str(out / "data" / "**" / "*.parquet")).height == n
    duckdb = pytest.importorskip("duckdb")
    q = f"select count(*) from read_parquet('{out}/data/*/*.parquet')"
    assert duckdb.connect().execute(q).fetchone()[0] == n
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    files = {}
    for p in sorted((out / "data").rglob("*.parquet")):
        files.setdefault(p.parent.name, []).append(str(p))
    ds = datasets.load_dataset("parquet", data_files=files, cache_dir=str(out.parent / "hf_cache"))
    assert sum(len(ds[s]) for s in ds) == n
    row = ds[next(iter(ds))][0]
    assert set(row) == set(QUESTION_SCHEMA.names)


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """One local Ray for the module; the first task on demo_1 kills its worker once."""
    marker = tmp_path_factory.mktemp("faults")
    os.environ["GEOENV_FAULT_ONCE"] = str(marker)
    os.environ["GEOENV_FAULT_SOURCE"] = "demo_1.ply"
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray, marker
    ray.shutdown()
    for k in ("GEOENV_FAULT_ONCE", "GEOENV_FAULT_SOURCE"):
        os.environ.pop(k, None)


def test_ray_is_byte_identical_and_survives_a_killed_worker(
    local_release, scene_dir, ray_session, tmp_path
):  # local_release first: the fault hook must not be armed while it runs in-process
    ray, marker = ray_session
    out = tmp_path / "rel_ray"
    run_job(read_manifest(str(scene_dir)), cfg(out), executor="ray", workers=2, progress=False)
    assert list(marker.iterdir()), "the fault was not injected"
    assert release_digest(out) == release_digest(local_release)
    ds = ray.data.read_parquet(str(out / "data"))
    assert ds.count() == sum(
        pq.read_metadata(p).num_rows for p in (out / "data").rglob("*.parquet")
    )


def test_variants_release_is_deterministic_and_linked(tmp_path):
    from geoenv.pipelines.rows import read_questions

    srcs = ["demo:0", "demo:1"]
    kinds = ["occlusion", "degradation"]
    c = JobConfig(
        out=str(tmp_path / "a"), seed=5, per_template=2, variants=kinds, variants_per_scene=2
    )
    run_job(srcs, c, progress=False)
    run_job(srcs, c.model_copy(update={"out": str(tmp_path / "b")}), workers=2, progress=False)
    a, b = release_digest(tmp_path / "a"), release_digest(tmp_path / "b")
    assert a == b
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert any(f.startswith("variants/") and f.endswith(".png") for f in manifest["files"])
    for f, sha in manifest["files"].items():
        assert a[f] == sha
    rows = [
        r for p in sorted((tmp_path / "a" / "data").rglob("*.parquet")) for r in read_questions(p)
    ]
    ids = {r["id"] for r in rows}
    assert {r["variant"] for r in rows} == {"clean", "occlusion", "degradation"}
    for r in rows:
        if r["variant"] != "clean":
            assert r["base_question_id"] in ids or r["template"] == "which_view_resolves"
        if r["answer"] == "unanswerable" and r["choices"]:
            assert "unanswerable" in r["choices"]
        for img in r["variant_params"].get("images", []):
            assert (tmp_path / "a" / img).exists()
    assert "| degradation |" in (tmp_path / "a" / "README.md").read_text()
