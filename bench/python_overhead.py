#!/usr/bin/env python3
"""What the Python layer adds to an attention call: attend.attention on a tiny CPU problem against
the same call made in a C++ loop (the module's Call.time_native), same arrays, same backend, one
process. Prints microseconds per call; --json writes them.

    PYTHONPATH=build/python python3 bench/python_overhead.py [--backend math] [--json out.json]
"""
import argparse
import datetime
import json
import statistics
import sys
import time

import numpy as np

import attend
from attend import _api


def per_call(fn, iterations):
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - start) / iterations


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="math", help="a CPU backend (default: math)")
    ap.add_argument("--iterations", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=7, help="medians over this many rounds")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, 4, 1, 8)).astype(np.float32) for _ in range(3))
    out = np.empty_like(q)
    call, _, _ = _api._prepare(q, k, v, None, 0.0, False, None, False, False, args.backend,
                               "BSHD", out, None, None, None, 0.0, "top_left", None, None, 0, 0,
                               None, 0, None)
    variants = {
        "c++ loop (Call.time_native)": lambda n: call.time_native(n),
        "attend.attention(out=...)": lambda n: per_call(
            lambda: attend.attention(q, k, v, backend=args.backend, out=out), n),
        "attend.attention (allocates out)": lambda n: per_call(
            lambda: attend.attention(q, k, v, backend=args.backend), n),
    }
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        tq, tk, tv = (torch.from_numpy(x) for x in (q, k, v))
        variants["attend.attention on torch tensors"] = lambda n: per_call(
            lambda: attend.attention(tq, tk, tv, backend=args.backend), n)
    with attend.backend(args.backend):
        variants["attend.attention in a scope"] = lambda n: per_call(
            lambda: attend.attention(q, k, v), n)
        results = {}
        for name, fn in variants.items():
            fn(args.iterations // 10)  # warm-up
            results[name] = statistics.median(fn(args.iterations) for _ in range(args.repeats))

    base = results["c++ loop (Call.time_native)"]
    print(f"attend {attend.__version__}, backend {args.backend}, problem B1 S4 H1 D8 fp32, "
          f"median of {args.repeats} x {args.iterations} calls")
    print(f"{'variant':36s} {'us/call':>9s} {'over C++':>9s}")
    rows = []
    for name, seconds in results.items():
        print(f"{name:36s} {seconds * 1e6:9.2f} {(seconds - base) * 1e6:9.2f}")
        rows.append({"variant": name, "us_per_call": seconds * 1e6,
                     "overhead_us": (seconds - base) * 1e6})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"benchmark": "python_overhead", "date": datetime.date.today().isoformat(),
                       "backend": args.backend, "python": sys.version.split()[0],
                       "torch": torch.__version__ if torch is not None else None,
                       "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
