"""Benchmark: the validation service under a bounded load on loopback.

Starts ``geoenv.oracles.service.serve`` on the demo scene in a subprocess pinned to one core,
warms its scene cache, then sends ``--n`` requests from ``--concurrency`` concurrent
connections (this process, pinned to another core: 2 cores in all) and reports throughput
(requests/s and validations/s), p50 / p90 / p99 latency, and the server's CPU time per request,
for two clients (httpx async, one client per connection; a minimal asyncio HTTP/1.1 client
that measures the server alone) and four workloads:

- ``template``: one template proposal per request (a fixed pool of well-posed and ill-posed
  proposals over every registered template, drawn from the demo scene's generated questions);
- ``program``: one program proposal per request (a pool of counting, distance, comparison,
  argmin, direction and visibility programs);
- ``template-batch`` / ``program-batch``: ``--batch`` proposals per request.

    uv run python bench/bench_service.py --n 20000 --n-batch 2000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time

import httpx
import numpy as np

SERVER = """
import os, sys
os.sched_setaffinity(0, {{{cpu}}})
from geoenv.oracles.service import serve
serve({scenes!r}, port={port}, api_key=None, log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def template_pool(scene_id: str) -> list[dict]:
    """Template proposals: up to 8 generated questions per template, plus ill-posed ones."""
    from geoenv.scenes import load_scene
    from geoenv.tasks import templates

    scene = load_scene(scene_id.replace("demo_", "demo:"))
    out = []
    for name, tpl in templates().items():
        for q in tpl.generate(scene, 0, 8):
            out.append({"scene_id": scene_id, "template": name, "params": dict(q.params)})
    bad = [
        {"template": "object_distance", "params": {"a": "chair", "b": "tv"}},  # ambiguous
        {"template": "object_distance", "params": {"a": "sofa", "b": "giraffe"}},  # missing
        {"template": "object_size", "params": {"a": "sofa", "colour": "red"}},  # unknown param
        {"template": "no_such_template", "params": {}},
    ]
    out.extend({"scene_id": scene_id, **b} for b in bad)
    return out


def program_pool(scene_id: str) -> list[dict]:
    def obj(cat: str, base: int) -> list[dict]:
        return [
            {"op": "filter_category", "inputs": [0], "category": cat},
            {"op": "unique", "inputs": [base]},
        ]

    progs = [
        [{"op": "scene"}, *obj("sofa", 1), *obj("tv", 3), {"op": "distance", "inputs": [2, 4]}],
        [
            {"op": "scene"},
            {"op": "filter_category", "inputs": [0], "category": "chair"},
            {"op": "count", "inputs": [1]},
        ],
        [
            {"op": "scene"},
            *obj("lamp", 1),
            {"op": "height", "inputs": [2]},
            *obj("tv", 4),
            {"op": "height", "inputs": [5]},
            {"op": "compare", "inputs": [3, 6], "relation": "greater"},
        ],
        [{"op": "scene"}, *obj("sofa", 1), {"op": "argmin", "inputs": [0, 2], "key": "distance"}],
        [
            {"op": "scene"},
            *obj("cabinet", 1),
            *obj("tv", 3),
            *obj("sofa", 5),
            {"op": "direction_from", "inputs": [2, 4, 6], "variant": "quadrant"},
        ],
        [
            {"op": "scene"},
            {"op": "camera", "frame": 5},
            {"op": "filter_visible", "inputs": [0, 1]},
            {"op": "filter_category", "inputs": [2], "category": "chair"},
            {"op": "count", "inputs": [3]},
        ],
        [{"op": "scene"}, *obj("chair", 1), {"op": "size", "inputs": [2]}],  # not unique
        [{"op": "scene"}, {"op": "count", "inputs": [0]}, {"op": "height", "inputs": [1]}],
    ]
    return [{"scene_id": scene_id, "program": p} for p in progs]


async def load(
    url: str, bodies: list[bytes], n: int, conc: int, per_request: int, client: str
) -> dict[str, float]:
    """``n`` POSTs of ``bodies`` (cycled) from ``conc`` concurrent keep-alive connections.

    ``client = httpx``: one ``httpx.AsyncClient`` per connection (a shared client's pool costs
    ~2.5 ms of client CPU per request at 32 connections, more than the server);
    ``client = raw``: a minimal asyncio HTTP/1.1 client (~0.05 ms per request), which
    measures the server alone."""
    lat = np.zeros(n)
    status: dict[int, int] = {}
    counter = iter(range(n))
    host, port = url.removeprefix("http://").split(":")

    async def httpx_worker() -> None:
        headers = {"content-type": "application/json"}
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0) as c:
            for i in counter:
                body = bodies[i % len(bodies)]
                t = time.perf_counter()
                r = await c.post("/v1/validate", content=body, headers=headers)
                lat[i] = time.perf_counter() - t
                status[r.status_code] = status.get(r.status_code, 0) + 1

    async def raw_worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        head = f"POST /v1/validate HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        for i in counter:
            body = bodies[i % len(bodies)]
            t = time.perf_counter()
            writer.write(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
            resp = await reader.readuntil(b"\r\n\r\n")
            lines = resp.split(b"\r\n")
            size = next(
                int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-length")
            )
            await reader.readexactly(size)
            lat[i] = time.perf_counter() - t
            code = int(lines[0].split()[1])
            status[code] = status.get(code, 0) + 1
        writer.close()

    worker = httpx_worker if client == "httpx" else raw_worker
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    wall = time.perf_counter() - t0
    ms = lat * 1e3
    return {
        "requests": n,
        "validations": n * per_request,
        "wall_s": wall,
        "req_per_s": n / wall,
        "val_per_s": n * per_request / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "status": dict(sorted(status.items())),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="requests per single scenario")
    ap.add_argument("--n-batch", type=int, default=2_000, help="requests per batch scenario")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16, help="proposals per batch request")
    ap.add_argument("--scene", default="demo:0")
    ap.add_argument(
        "--scenarios", default="template,program,template-batch,program-batch", help="comma list"
    )
    ap.add_argument("--clients", default="httpx,raw", help="comma list of httpx, raw")
    args = ap.parse_args()

    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = cpus[0], cpus[-1]
    port = free_port()
    code = SERVER.format(cpu=server_cpu, scenes=args.scene, port=port)
    proc = subprocess.Popen([sys.executable, "-c", code])
    os.sched_setaffinity(0, {client_cpu})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        scene_id = args.scene.replace("demo:", "demo_")
        tpls, progs = template_pool(scene_id), program_pool(scene_id)
        # Warm the cache: load the scene, build its lazy geometry and visibility rasters.
        with httpx.Client(base_url=url, timeout=600.0) as c:
            t = time.perf_counter()
            for p in [*tpls, *progs]:
                c.post("/v1/validate", json=p)
            warm_s = time.perf_counter() - t
            valid = [c.post("/v1/validate", json=p).json()["valid"] for p in tpls]
        k = args.batch
        sets = {
            "template": ([json.dumps(p).encode() for p in tpls], 1),
            "program": ([json.dumps(p).encode() for p in progs], 1),
            "template-batch": (
                [
                    json.dumps(
                        {"proposals": [tpls[(i + j) % len(tpls)] for j in range(k)]}
                    ).encode()
                    for i in range(0, len(tpls), 3)
                ],
                k,
            ),
            "program-batch": (
                [
                    json.dumps(
                        {"proposals": [progs[(i + j) % len(progs)] for j in range(k)]}
                    ).encode()
                    for i in range(len(progs))
                ],
                k,
            ),
        }
        print(
            f"# {platform.processor() or platform.machine()}, python {platform.python_version()}; "
            f"server on cpu {server_cpu}, client on cpu {client_cpu}; scene {args.scene}; "
            f"template pool {len(tpls)} ({sum(valid)} valid), program pool {len(progs)}; "
            f"warm-up {warm_s:.1f} s"
        )
        print(
            f"{'client':6} {'scenario':15} {'requests':>8} {'valid/req':>9} {'req/s':>7} "
            f"{'valid./s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} "
            f"{'srv ms/req':>10}  status"
        )
        for client in args.clients.split(","):
            for name in args.scenarios.split(","):
                bodies, per = sets[name]
                cpu0 = cpu_seconds(proc.pid)
                n = args.n if per == 1 else args.n_batch
                r = asyncio.run(load(url, bodies, n, args.concurrency, per, client))
                srv = (cpu_seconds(proc.pid) - cpu0) / r["requests"] * 1e3
                print(
                    f"{client:6} {name:15} {r['requests']:8d} {per:9d} {r['req_per_s']:7.0f} "
                    f"{r['val_per_s']:8.0f} {r['p50_ms']:7.2f} {r['p90_ms']:7.2f} "
                    f"{r['p99_ms']:7.2f} {r['max_ms']:7.1f} {srv:10.3f}  {r['status']}"
                )
        print(f"# load average after: {os.getloadavg()}")
        with httpx.Client(base_url=url) as c:
            print("# server healthy after:", c.get("/healthz").json()["status"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
