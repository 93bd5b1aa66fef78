"""GPU benchmark of the JAX realpolitik engine: phases per second at large batches.

One prepared script for an accelerator machine (not run in CI): prints the device, then for each
batch size the compile time and the phases per second of random legal play on the classic board
(actions sampled on the device from the masks, auto-reset, one jitted `lax.scan`), and ends with
one JSON line. Batches that do not fit in memory are reported as such and skipped. Designed to
finish in under 5 minutes.

Run: python bench/gpu_realpolitik_jax.py [--batches 1024,4096,16384,65536] [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_realpolitik_jax import bench_jax, state_bytes  # noqa: E402

from detente.games.realpolitik_jax import RealpolitikJax  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1024,4096,16384,65536")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--budget-s", type=float, default=270.0, help="stop starting new sizes")
    args = parser.parse_args()
    device = jax.devices()[0]
    print(f"device: {device.platform} {device.device_kind}", flush=True)
    env = RealpolitikJax("classic", max_years=10)
    start = time.perf_counter()
    out = {}
    for batch in (int(b) for b in args.batches.split(",")):
        if time.perf_counter() - start > args.budget_s:
            print(f"batch {batch}: skipped (time budget)", flush=True)
            continue
        try:
            r = bench_jax(env, batch, args.steps, 0)
        except Exception as e:  # out of memory on the device: report and go on
            print(f"batch {batch}: failed ({type(e).__name__}: {str(e)[:200]})", flush=True)
            continue
        out[batch] = r
        print(json.dumps(r), flush=True)
    best = max(out.values(), key=lambda r: r["phases_per_s"], default=None)
    print(
        json.dumps(
            {
                "bench": "realpolitik_jax_gpu",
                "device": device.device_kind,
                "ours": None if best is None else round(best["phases_per_s"], 1),
                "unit": "phases/s",
                "batch": None if best is None else best["batch"],
                "by_batch": {b: round(r["phases_per_s"], 1) for b, r in out.items()},
                "compile_s": {b: round(r["compile_s"], 1) for b, r in out.items()},
                "state_bytes_per_game": state_bytes(env),
            }
        )
    )


if __name__ == "__main__":
    main()
