#!/usr/bin/env python3
"""PyTorch's FlexAttention on the flex workloads of bench_flex (bench/flex_bench.cpp).

B1 H24 S8192 D128 bf16: causal, a causal sliding window of 1024 keys, 8 packed documents (the
lengths of bench/flex_masks.hpp), each with create_block_mask once, outside the timing; and the
dense problem (no block mask). flex_attention compiled with torch.compile; CUDA events, median
of --repeat runs over rotated inputs (torch_peers.py's harness); rel_err against fp32 math with
the equivalent dense mask. FLOPs count the visible pairs: 4·H·D·pairs.

    python3 bench/flex_peers.py --json flex-torch.json
"""
import argparse
import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_info import git_commit, log  # noqa: E402
from torch_peers import Problem, measure  # noqa: E402

S, H, D = 8192, 24, 128
WINDOW = 1024
WEIGHTS = [3, 1, 4, 1, 5, 9, 2, 6]
MASKS = ["causal", "window", "document", "dense"]


def document_ids(torch, device):
    ids, start = [], 0
    for d, w in enumerate(WEIGHTS):
        n = S - start if d + 1 == len(WEIGHTS) else S * w // 31
        ids += [d] * n
        start += n
    return torch.tensor(ids, device=device, dtype=torch.int32)


def mask_function(kind, doc):
    if kind == "causal":
        return lambda b, h, q, kv: q >= kv
    if kind == "window":
        return lambda b, h, q, kv: (q >= kv) & (q - kv < WINDOW)
    if kind == "document":
        return lambda b, h, q, kv: doc[q] == doc[kv]
    return None


def dense_mask(torch, kind, doc, device):
    q = torch.arange(S, device=device)[:, None]
    kv = torch.arange(S, device=device)[None, :]
    fn = mask_function(kind, doc)
    return None if fn is None else fn(0, 0, q, kv)


def reference(torch, problem, mask):
    """fp32 math on the first input copy, in query chunks."""
    F = torch.nn.functional
    q, k, v = (t.float() for t in problem.copies[0])
    out = torch.empty_like(q)
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        for start in range(0, S, 1024):
            stop = min(S, start + 1024)
            m = None if mask is None else mask[start:stop]
            out[:, :, start:stop] = F.scaled_dot_product_attention(q[:, :, start:stop], k, v,
                                                                   attn_mask=m)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write the results file here")
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()
    import torch
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    device = torch.device("cuda", 0)
    stream = torch.cuda.Stream(device)
    gpu = torch.cuda.get_device_name(device)
    log(f"torch {torch.__version__} on {gpu}")
    doc = document_ids(torch, device)
    compiled = torch.compile(flex_attention, dynamic=False)
    results = []
    for kind in MASKS:
        name = f"flex-{kind}"
        problem = Problem(torch, (name, 1, H, H, S, D, kind in ("causal", "window"), False), device)
        mask = dense_mask(torch, kind, doc, device)
        pairs = S * S if mask is None else int(mask.sum())
        problem.flops = 4.0 * H * D * pairs
        ref = reference(torch, problem, mask)
        fn = mask_function(kind, doc)
        block_mask = None
        if fn is not None:
            block_mask = create_block_mask(fn, B=None, H=None, Q_LEN=S, KV_LEN=S, device=device)

        def make_run(bm=block_mask):
            return lambda q, k, v: compiled(q, k, v, block_mask=bm)

        row, reason = measure(torch, "flex", make_run, problem, stream, args, ref)
        if row is None:
            log(f"{name}: skipped: {reason}")
            continue
        log(f"{name} torch.flex: {row['median_ms']:.3f} ms, {row['tflops']:.1f} TFLOP/s, "
            f"rel_err {row['rel_err']:.2e}")
        results.append(row)
        del problem, ref, mask
        torch.cuda.empty_cache()
    doc_out = {"gpu": gpu, "date": datetime.date.today().isoformat(), "commit": git_commit(),
               "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(doc_out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
