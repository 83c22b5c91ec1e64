"""Benchmark: reward scores per second on one core, numeric and choice rows, and peak memory.

Question rows are generated from the demo scenes (dict rows as in a dataset); responses are
drawn, with a fixed seed, from formats real models produce (tagged, boxed, bare, with units,
a reasoning trace then a final line, ...). Prints scores/s for ``score_batch`` on raw rows
(preparation included) and on prepared rows (the RL case: one question, many samples), per
row kind and response mix, best of ``--repeat`` runs, pinned to one core; then peak memory.

    uv run python bench/bench_oracle.py --n 200000
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

from geoenv.oracles import prepare, score_batch  # noqa: E402
from geoenv.pipelines.rows import question_rows  # noqa: E402
from geoenv.scenes.demo import demo_scene  # noqa: E402
from geoenv.tasks import templates  # noqa: E402

NUMERIC = ["object_count", "object_distance", "object_size", "room_size",
           "camera_displacement", "camera_rotation_angle"]  # fmt: skip
CHOICE = ["camera_rotation", "depth_order", "egocentric_direction", "relative_elevation_view"]
UNIT_WORD = {"m": "m", "cm": "cm", "m2": "m²", "deg": "degrees", "count": ""}

# Response formats; {v}: a number near the answer (in the row's unit), {u}: its unit.
NUM_CLEAN = ["<answer>{v}</answer>", "<answer>{v} {u}</answer>", "{v}", "\\boxed{{{v}}}"]
NUM_MIXED = [
    *NUM_CLEAN,
    "<think>The first object is about 3 m wide, the other 2.</think>\n<answer>{v} {u}</answer>",
    "The answer is {v} {u}.",
    "Let me estimate from the frames.\nSo it is about {v} {u}.",
]
# {L}: the letter of a choice, {t}: its text.
CH_CLEAN = ["<answer>{L}</answer>", "<answer>{t}</answer>", "{L}", "\\boxed{{{L}}}"]
CH_MIXED = [
    *CH_CLEAN,
    "<think>Option A looks closer but B is larger.</think>\n<answer>{L}</answer>",
    "({L}) {t}",
    "The answer is {L}.",
    "Comparing both objects in the image.\nThe {t}.",
]


def rows_for(names: list[str], scenes: int) -> list[dict]:
    qs = []
    for s in range(scenes):
        scene = demo_scene(s)
        for name in names:
            qs.extend(templates()[name].generate(scene, 0, 40))
    return question_rows(qs)


def responses(rows: list[dict], formats: list[str], n: int, seed: int) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(rows), n)
    fmt = rng.integers(0, len(formats), n)
    noise = rng.normal(1.0, 0.15, n)
    wrong = rng.random(n) < 0.3
    out_rows, out = [], []
    for i in range(n):
        r = rows[int(pick[i])]
        f = formats[int(fmt[i])]
        if r["choices"]:
            k = r["choices"].index(r["answer"])
            if wrong[i]:
                k = (k + 1) % len(r["choices"])
            text = f.format(L="ABCD"[k], t=r["choices"][k])
        else:
            v = r["answer_value"] * noise[i]
            v = round(v) if r["answer_type"] == "count" else round(v, 2)
            text = f.format(v=v, u=UNIT_WORD.get(r["unit"], "")).replace(" </", "</").strip()
        out_rows.append(r)
        out.append(text)
    return out_rows, out


def rate(fn, n: int, repeat: int) -> float:
    best = min(_timed(fn) for _ in range(repeat))
    return n / best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def peak_rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="responses per measurement")
    ap.add_argument("--scenes", type=int, default=3, help="demo scenes to draw questions from")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"python {platform.python_version()}, {platform.machine()}, one core, n = {args.n:,}")

    num_rows = rows_for(NUMERIC, args.scenes)
    ch_rows = rows_for(CHOICE, args.scenes)
    print(f"question rows: {len(num_rows)} numeric, {len(ch_rows)} choice (demo scenes)")
    head = ("rows", "responses", "raw rows/s", "prepared/s", "mean reward")
    print("\n  {:8s} {:9s} {:>12s} {:>12s} {:>12s}".format(*head))
    cases = [
        ("numeric", "clean", num_rows, NUM_CLEAN),
        ("numeric", "mixed", num_rows, NUM_MIXED),
        ("choice", "clean", ch_rows, CH_CLEAN),
        ("choice", "mixed", ch_rows, CH_MIXED),
    ]
    for kind, mix, rows, formats in cases:
        qs, resp = responses(rows, formats, args.n, seed=1)
        raw = rate(lambda qs=qs, resp=resp: score_batch(qs, resp), args.n, args.repeat)
        prep = prepare(qs)
        pre = rate(lambda prep=prep, resp=resp: score_batch(prep, resp), args.n, args.repeat)
        mean = float(score_batch(prep, resp).reward.mean())
        print(f"  {kind:8s} {mix:9s} {raw:12,.0f} {pre:12,.0f} {mean:12.3f}")

    q1, r1 = responses(num_rows, NUM_MIXED, 50_000, seed=2)
    q2, r2 = responses(ch_rows, CH_MIXED, 50_000, seed=3)
    qs, resp = q1 + q2, r1 + r2
    tracemalloc.start()
    score_batch(qs, resp)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\npeak Python allocation scoring 100,000 raw rows (mixed): {peak / 2**20:.1f} MiB")
    print(f"peak RSS of the process (VmHWM): {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
