"""A release on a simulated two-node Ray cluster equals the local release."""

from __future__ import annotations

import os

import pytest
from test_pipeline import TEMPLATES, release_digest

from geoenv.pipelines.job import JobConfig
from geoenv.pipelines.release import run_job


def test_two_node_cluster_release_equals_local(tmp_path):
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    os.environ["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"
    sources = ["demo:0", "demo:1", "demo:2", "demo:3"]
    local = tmp_path / "local"
    cfg = JobConfig(out=str(local), seed=1, per_template=3, templates=TEMPLATES)
    run_job(sources, cfg, progress=False)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        out = tmp_path / "cluster"
        run_job(sources, cfg.model_copy(update={"out": str(out)}), executor="ray", workers=2,
                progress=False)  # fmt: skip
        assert release_digest(out) == release_digest(local)
    finally:
        ray.shutdown()
        cluster.shutdown()
