#!/usr/bin/env python3
"""PyTorch peers on attend's named workloads, timed the way `attend bench` times a GPU.

Each workload (DESIGN §7, bf16 forward) runs through torch.nn.functional.scaled_dot_product_attention
under each SDPA backend (torch.flash, torch.cudnn, torch.efficient, and torch.math where its score
matrix fits) and through FlexAttention compiled with torch.compile (torch.flex). Timing: CUDA
events on a stream of its own, warm-up, median of --repeat runs, rotating among input copies that
together exceed twice the L2 size; random normal inputs. rel_err: against an fp32 SDPA math
reference of the whole problem, computed in query chunks. A backend that refuses a problem is
skipped with its reason on stderr. Writes the results-file schema (bench/README.md).

    python3 bench/torch_peers.py --json torch.json [--workload flux,llm-gqa] [--backends flash,flex]
"""

import argparse
import datetime
import importlib
import json
import math
import statistics
import sys
import warnings
from pathlib import Path

from run_info import git_commit, log

# The named workloads of src/support/workloads.cpp: name, B, Hq, Hkv, S, D, causal, bias (an
# additive (B, 1, S, S) bf16 attn_mask).
WORKLOADS = [
    ("flux", 1, 24, 24, 4608, 128, False, False),
    ("sd3", 2, 24, 24, 4250, 64, False, False),
    ("wan-480p", 1, 40, 40, 32760, 128, False, False),
    ("llm-causal", 4, 32, 32, 4096, 128, True, False),
    ("llm-gqa", 2, 32, 8, 8192, 128, True, False),
    ("hd256", 4, 16, 16, 2048, 256, False, False),
    ("hd64", 1, 16, 16, 16384, 64, False, False),
    ("flux-bias", 1, 24, 24, 4608, 128, False, True),
    ("sd3-bias", 2, 24, 24, 4250, 64, False, True),
]
BACKENDS = ["flash", "cudnn", "efficient", "math", "flex"]
MATH_MAX_SCORE_BYTES = 4 << 30  # torch.math materialises B*H*Sq*Sk scores; beyond this, skip
MAX_ROTATIONS = 64
REFERENCE_CHUNK_BYTES = 1 << 30  # fp32 scores per reference chunk
BF16_TOLERANCE = 1e-2  # DESIGN §7


def flops(w):
    _, b, hq, _, s, d, causal, _ = w
    f = 4.0 * b * hq * s * s * d
    return f / 2 if causal else f


class Problem:
    """Inputs of one workload as PyTorch expects them, (B, H, S, D) views of BSHD memory (the
    layout attend is timed on), in enough copies to rotate through."""

    def __init__(self, torch, w, device):
        self.torch = torch
        self.name, self.B, self.Hq, self.Hkv, self.S, self.D, self.causal, bias = w
        self.gqa = self.Hq != self.Hkv
        self.flops = flops(w)
        gen = torch.Generator(device=device).manual_seed(1)

        def make(heads):
            x = torch.randn(self.B, self.S, heads, self.D, device=device, dtype=torch.bfloat16,
                            generator=gen)
            return x.transpose(1, 2)

        self.copies = [(make(self.Hq), make(self.Hkv), make(self.Hkv))]
        copy_bytes = sum(t.numel() * t.element_size() for t in self.copies[0])
        props = torch.cuda.get_device_properties(device)
        l2 = getattr(props, "L2_cache_size", 50 << 20)
        free, _ = torch.cuda.mem_get_info(device)
        want = max(2, math.ceil(2 * l2 / copy_bytes))
        fit = 1 + int(0.5 * free / copy_bytes)
        for _ in range(1, max(1, min(want, fit, MAX_ROTATIONS))):
            self.copies.append(tuple(t.clone() for t in self.copies[0]))
        self.copy_bytes = copy_bytes
        self.l2 = l2
        # One bias shared by every copy, as a model's would be.
        self.bias = None
        if bias:
            self.bias = torch.randn(self.B, 1, self.S, self.S, device=device,
                                    dtype=torch.bfloat16, generator=gen)

    def reference(self):
        """fp32 SDPA math on the first copy, in query chunks so that the scores fit."""
        torch = self.torch
        F = torch.nn.functional
        from torch.nn.attention import SDPBackend, sdpa_kernel

        q, k, v = (t.float() for t in self.copies[0])
        if self.gqa:
            group = self.Hq // self.Hkv
            k = k.repeat_interleave(group, dim=1)
            v = v.repeat_interleave(group, dim=1)
        out = torch.empty_like(q)
        rows = max(1, REFERENCE_CHUNK_BYTES // (self.Hq * self.S * 4))
        keys = torch.arange(self.S, device=q.device)
        previous_tf32 = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            with sdpa_kernel(SDPBackend.MATH):
                for b in range(self.B):
                    for start in range(0, self.S, rows):
                        stop = min(self.S, start + rows)
                        mask = None
                        if self.causal:  # top-left: query i sees keys <= i
                            queries = torch.arange(start, stop, device=q.device)
                            mask = keys[None, :] <= queries[:, None]
                        if self.bias is not None:
                            mask = self.bias[b:b + 1, :, start:stop].float()
                        out[b:b + 1, :, start:stop] = F.scaled_dot_product_attention(
                            q[b:b + 1, :, start:stop], k[b:b + 1], v[b:b + 1], attn_mask=mask)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous_tf32
        return out


def rel_err(torch, got, ref):
    diff = torch.linalg.vector_norm(got.float() - ref, dtype=torch.float64)
    norm = torch.linalg.vector_norm(ref, dtype=torch.float64)
    return float(diff / norm) if float(norm) > 0 else float(diff)


def sdpa_runner(torch, backend, problem):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    kind = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}[backend]
    F = torch.nn.functional
    kwargs = {"is_causal": problem.causal}
    if problem.gqa:
        kwargs["enable_gqa"] = True
    if problem.bias is not None:
        kwargs["attn_mask"] = problem.bias

    def run(q, k, v):
        with sdpa_kernel(kind):
            return F.scaled_dot_product_attention(q, k, v, **kwargs)

    return run


def flex_runner(torch, problem, device):
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    dynamo = importlib.import_module("torch._dynamo")
    for limit in ("recompile_limit", "cache_size_limit"):  # one compile per workload shape
        if hasattr(dynamo.config, limit):
            setattr(dynamo.config, limit, 64)
    if problem.bias is not None:
        raise ValueError("flex: an additive bias tensor is not one of this harness's score_mods")
    compiled = torch.compile(flex_attention, dynamic=False)
    block_mask = None
    if problem.causal:
        def causal(b, h, q_idx, kv_idx):
            return q_idx >= kv_idx

        block_mask = create_block_mask(causal, B=None, H=None, Q_LEN=problem.S, KV_LEN=problem.S,
                                       device=device)

    def run(q, k, v):
        return compiled(q, k, v, block_mask=block_mask, enable_gqa=problem.gqa)

    return run


def time_on_stream(torch, run, problem, stream, warmup, repeat):
    """Warm-up, then `repeat` runs between CUDA events, each on the next input copy; the host
    waits once, after the last run."""
    n = len(problem.copies)
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(repeat)]
    stops = [torch.cuda.Event(enable_timing=True) for _ in range(repeat)]
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for i in range(warmup):
            run(*problem.copies[i % n])
        for i in range(repeat):
            starts[i].record(stream)
            run(*problem.copies[(warmup + i) % n])
            stops[i].record(stream)
    stops[-1].synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, stops))


def first_line(text):
    text = str(text).strip()
    return text.splitlines()[0][:300] if text else "no reason given"


def refusal(exc, caught):
    """The reason a backend gave: SDPA explains itself in warnings before it raises."""
    reasons = [first_line(w.message) for w in caught]
    text = "; ".join(dict.fromkeys(reasons + [f"{type(exc).__name__}: {first_line(exc)}"]))
    return text[:600]


def measure(torch, name, make_run, problem, stream, args, ref):
    """One backend on one problem: (result row, None), or (None, the reason it was skipped)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run = make_run()
            out = run(*problem.copies[0])  # also the compile or plan build, before timing
            torch.cuda.synchronize()
            err = None if ref is None else rel_err(torch, out, ref)
            del out
            ms = time_on_stream(torch, run, problem, stream, args.warmup, args.repeat)
        except Exception as exc:  # a refusal of any kind is a skip, never a crash
            return None, refusal(exc, caught)
    row = {"workload": problem.name, "backend": f"torch.{name}", "dtype": "bf16", "B": problem.B,
           "Hq": problem.Hq, "Hkv": problem.Hkv, "Sq": problem.S, "Sk": problem.S,
           "D": problem.D, "causal": problem.causal, "median_ms": ms,
           "tflops": problem.flops / (ms * 1e-3) / 1e12, "rel_err": err}
    return row, None


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write the results file here")
    p.add_argument("--workload", default=",".join(w[0] for w in WORKLOADS),
                   help="comma-separated workloads (default: all)")
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help=f"comma-separated, of {','.join(BACKENDS)} (default: all)")
    p.add_argument("--repeat", type=int, default=20, help="timed runs, median reported (>= 1)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    p.add_argument("--no-check", action="store_true", help="skip the fp32 reference (rel_err null)")
    args = p.parse_args()
    known = {w[0]: w for w in WORKLOADS}
    args.workloads = []
    for name in filter(None, args.workload.split(",")):
        if name not in known:
            p.error(f"--workload: unknown workload '{name}'; known: {', '.join(known)}")
        args.workloads.append(known[name])
    args.backend_list = [b for b in args.backends.split(",") if b]
    for b in args.backend_list:
        if b not in BACKENDS:
            p.error(f"--backends: unknown backend '{b}'; known: {', '.join(BACKENDS)}")
    if args.repeat < 1 or args.warmup < 0:
        p.error("--repeat must be at least 1 and --warmup at least 0")
    return args


def main():
    args = parse_args()
    try:
        import torch
    except ImportError:
        log("torch_peers: PyTorch is not installed")
        return 1
    if not torch.cuda.is_available():
        log("torch_peers: PyTorch sees no CUDA device")
        return 1
    device = torch.device("cuda", 0)
    stream = torch.cuda.Stream(device)
    gpu = torch.cuda.get_device_name(device)
    log(f"torch {torch.__version__} on {gpu}")
    doc = {"gpu": gpu, "date": datetime.date.today().isoformat(), "commit": git_commit(),
           "results": [], "skipped": []}
    results, skipped = doc["results"], doc["skipped"]
    total = len(args.workloads) * len(args.backend_list)
    step = 0
    for w in args.workloads:
        name, b, hq, hkv, s, d, causal, _ = w
        log(f"{name} bf16: B{b} Hq{hq} Hkv{hkv} S{s} D{d}{' causal' if causal else ''} "
            f"({flops(w):.2e} FLOPs)")
        problem = Problem(torch, w, device)
        log(f"  {len(problem.copies)} input copies of {problem.copy_bytes / 2**20:.1f} MiB rotated "
            f"(L2 {problem.l2 / 2**20:.1f} MiB)")
        ref = None if args.no_check else problem.reference()
        for backend in args.backend_list:
            step += 1
            print(f"[{step}/{total}] {name} torch.{backend} ... ", end="", file=sys.stderr,
                  flush=True)
            if backend == "math" and b * hq * s * s * 4 > MATH_MAX_SCORE_BYTES:
                reason = (f"its {b * hq * s * s * 4 / 2**30:.0f} GiB fp32 score matrix is above "
                          f"the {MATH_MAX_SCORE_BYTES >> 30} GiB limit")
                row = None
            elif backend == "flex":
                row, reason = measure(torch, backend, lambda: flex_runner(torch, problem, device),
                                      problem, stream, args, ref)
            else:
                row, reason = measure(torch, backend,
                                      lambda: sdpa_runner(torch, backend, problem), problem,
                                      stream, args, ref)
            if row is None:
                log(f"skipped: {reason}")
                skipped.append({"workload": name, "backend": f"torch.{backend}", "reason": reason})
                continue
            err = row["rel_err"]
            flag = " FAIL" if err is not None and not err <= BF16_TOLERANCE else ""
            log(f"{row['median_ms']:.3f} ms, {row['tflops']:.1f} TFLOP/s, rel_err "
                f"{'-' if err is None else f'{err:.2e}'}{flag}")
            results.append(row)
        del problem, ref
        torch.cuda.empty_cache()
        if args.json:  # after every workload, so that an interrupted run keeps what it measured
            Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")

    if args.json:
        log(f"wrote {args.json}")
    else:
        print(json.dumps(doc, indent=2))
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
