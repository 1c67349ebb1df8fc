#!/usr/bin/env python3
"""Merges results files (attend bench JSON, bench/torch_peers.py JSON) into one, and prints them
side by side: per workload each backend's TFLOP/s, and attend `flash` over torch.flash and
torch.cudnn.

    python3 bench/merge_results.py attend.json torch.json [--out FILE | --out-dir DIR]

The merged file is named <date>-<device>.json (the device tag from the "gpu" field: "NVIDIA
H200" -> h200, "cpu:..." -> cpu) in DIR, by default bench/results/, unless --out names it.
Only the Python standard library.
"""

import argparse
import json
import math
import re
import sys
from pathlib import Path

# DESIGN §7's order; workloads not named here follow in the order they were first seen.
WORKLOAD_ORDER = ["flux", "sd3", "wan-480p", "llm-causal", "llm-gqa", "hd256", "hd64"]
SHAPE_KEYS = ("dtype", "B", "Hq", "Hkv", "Sq", "Sk", "D", "causal")
ROW_KEYS = ("workload", "backend") + SHAPE_KEYS + ("median_ms", "tflops", "rel_err")
ATTEND = "flash"
PEERS = ("torch.flash", "torch.cudnn")


class MergeError(Exception):
    pass


def load(path):
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise MergeError(f"{path}: {e}") from e
    for key in ("gpu", "date", "commit", "results"):
        if key not in doc:
            raise MergeError(f"{path}: not a results file (no \"{key}\")")
    for i, row in enumerate(doc["results"]):
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise MergeError(f"{path}: result {i} lacks {', '.join(missing)}")
    return doc


def device_tag(gpu):
    """ "NVIDIA H200" -> "h200", "NVIDIA H100 80GB HBM3" -> "h100-80gb-hbm3", "cpu:..." -> "cpu"."""
    if gpu.startswith("cpu:"):
        return "cpu"
    words = [w for w in re.split(r"[^A-Za-z0-9]+", gpu) if w]
    words = [w for w in words if w.lower() not in ("nvidia", "geforce", "tesla")] or ["gpu"]
    return "-".join(words).lower()


def row_key(row):
    return (row["workload"], row["backend"]) + tuple(row[k] for k in SHAPE_KEYS)


def merge(docs, warn=lambda message: print(message, file=sys.stderr)):
    """One results file from several: the first file's device and date, every commit named,
    rows in file order (a later file's row replaces an earlier one of the same backend and
    shape), the first ceiling, every skipped entry."""
    first = docs[0]
    for d in docs[1:]:
        if d["gpu"] != first["gpu"]:
            warn(f"merge_results: warning: results from different devices: "
                 f"{first['gpu']!r} and {d['gpu']!r}")
    commits = list(dict.fromkeys(d["commit"] for d in docs))
    rows = {}
    for d in docs:
        for row in d["results"]:
            key = row_key(row)
            if key in rows:
                warn(f"merge_results: warning: {row['workload']} {row['backend']} appears twice; "
                     "keeping the later one")
            rows[key] = {k: row[k] for k in ROW_KEYS}
    out = {"gpu": first["gpu"], "date": first["date"], "commit": "+".join(commits),
           "results": list(rows.values())}
    ceiling = next((d["ceiling"] for d in docs if d.get("ceiling")), None)
    if ceiling:
        out["ceiling"] = ceiling
    skipped = [s for d in docs for s in d.get("skipped", [])]
    if skipped:
        out["skipped"] = skipped
    return out


def _fmt(value, spec):
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else \
        format(value, spec)


def _ratio(a, b):
    return None if a is None or not b else a / b


def _label(problem, several_shapes):
    workload, dtype, B, Hq, Hkv, Sq, Sk, D, causal = problem
    label = workload if dtype == "bf16" else f"{workload} {dtype}"
    if several_shapes:
        label += f" B{B} H{Hq}/{Hkv} S{Sq} D{D}"
    return label


def table(doc):
    """The side-by-side text: TFLOP/s per workload and backend, the flash ratios, then rel_err."""
    rows = doc["results"]
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    # attend's backends first, then the peers, each in the order seen.
    backends = [b for b in backends if not b.startswith("torch.")] + \
        [b for b in backends if b.startswith("torch.")]
    problems = list(dict.fromkeys((r["workload"],) + tuple(r[k] for k in SHAPE_KEYS) for r in rows))
    order = {w: i for i, w in enumerate(WORKLOAD_ORDER)}
    problems.sort(key=lambda p: order.get(p[0], len(order)))
    shapes_per_workload = {}
    for p in problems:
        shapes_per_workload[p[0]] = shapes_per_workload.get(p[0], 0) + 1
    cell = {(r["workload"],) + tuple(r[k] for k in SHAPE_KEYS) + (r["backend"],): r for r in rows}

    def get(problem, backend, field):
        r = cell.get(problem + (backend,))
        return None if r is None else r[field]

    labels = [_label(p, shapes_per_workload[p[0]] > 1) for p in problems]
    width = max([len("workload")] + [len(x) for x in labels])
    col = max([9] + [len(b) for b in backends])
    ratio_heads = [f"{ATTEND}/{p}" for p in PEERS]
    lines = [f"{doc['gpu']}  {doc['date']}  commit {doc['commit']}"]
    if doc.get("ceiling"):
        c = doc["ceiling"]
        lines.append(f"ceiling: {c.get('what', '?')} = {c.get('gflops', 0) / 1e3:.1f} TFLOP/s")
    lines.append("")
    lines.append("TFLOP/s")
    lines.append(" ".join([f"{'workload':<{width}}"] + [f"{b:>{col}}" for b in backends] +
                          [f"{h:>{len(h)}}" for h in ratio_heads]))
    for p, label in zip(problems, labels):
        values = [_fmt(get(p, b, "tflops"), ".1f") for b in backends]
        ratios = [_fmt(_ratio(get(p, ATTEND, "tflops"), get(p, peer, "tflops")), ".2f")
                  for peer in PEERS]
        lines.append(" ".join([f"{label:<{width}}"] + [f"{v:>{col}}" for v in values] +
                              [f"{r:>{len(h)}}" for r, h in zip(ratios, ratio_heads)]))
    lines.append("")
    lines.append("rel_err (attend on a GPU: vs cuda_math, cuda_math itself vs math; torch: vs fp32 "
                 "SDPA math)")
    lines.append(" ".join([f"{'workload':<{width}}"] + [f"{b:>{col}}" for b in backends]))
    for p, label in zip(problems, labels):
        values = [_fmt(get(p, b, "rel_err"), ".1e") for b in backends]
        lines.append(" ".join([f"{label:<{width}}"] + [f"{v:>{col}}" for v in values]))
    skipped = doc.get("skipped", [])
    if skipped:
        lines.append("")
        lines.append("skipped: " + ", ".join(f"{s['workload']} {s['backend']}" for s in skipped))
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="results files to merge (attend and torch JSON)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", help="the merged file")
    where.add_argument("--out-dir", help="folder of the merged <date>-<device>.json "
                       "(default: bench/results)")
    args = p.parse_args(argv)
    try:
        merged = merge([load(f) for f in args.files])
    except MergeError as e:
        print(f"merge_results: {e}", file=sys.stderr)
        return 1
    folder = Path(args.out_dir) if args.out_dir else Path(__file__).resolve().parent / "results"
    out = Path(args.out) if args.out else \
        folder / f"{merged['date']}-{device_tag(merged['gpu'])}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    sys.stdout.write(table(merged))
    return 0


if __name__ == "__main__":
    sys.exit(main())
