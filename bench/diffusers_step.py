#!/usr/bin/env python3
"""One diffusers transformer step, on diffusers' default `native` attention and on attend, in one run.

The model is FluxTransformer2DModel with Flux.1's width (24 heads x 128, joint dim 4096, pooled
768, 64 latent channels) and fewer blocks (--double, --single; Flux.1 has 19 and 38), randomly
initialised in bf16 on the GPU; a 1024x1024 image is 4096 latent tokens, plus 512 text tokens.
Each attend backend is set with attend.diffusers.set_attention_backend on the same model, so the
rest of the step is the same code. Timing: CUDA events, warm-up, median of --repeat steps under
torch.no_grad, two ways: eager (how a plain diffusers pipeline runs; at this size Python's kernel
launches take about as long as the GPU work, so eager steps measure the host as much as the
attention) and replayed from a CUDA graph of the step (GPU time only, as under
torch.compile(mode="reduce-overhead")). Each round measures every backend both ways, in turn,
and the median over --rounds is reported, so drifting clocks do not favour one. The output of each backend is compared with native's
(rel. L2).

    python3 bench/diffusers_step.py [--backends auto,cudnn,flash] [--json out.json]

"median_ms" and "speedup_vs_native" in the JSON are the graph replays; "eager_*" the eager steps.
"""
import argparse
import datetime
import json
import statistics
import sys

import torch

import attend
import attend.diffusers
from run_info import git_commit, log


def make_model(args):
    from diffusers import FluxTransformer2DModel
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = FluxTransformer2DModel(
            patch_size=1, in_channels=64, num_layers=args.double, num_single_layers=args.single,
            attention_head_dim=128, num_attention_heads=24, joint_attention_dim=4096,
            pooled_projection_dim=768, guidance_embeds=True, axes_dims_rope=(16, 56, 56))
    return model.to(torch.bfloat16).eval()


def make_inputs(args):
    g = torch.Generator(device="cuda").manual_seed(1)
    rand = lambda *s: torch.randn(*s, generator=g, device="cuda", dtype=torch.bfloat16)
    side = int(args.image_tokens ** 0.5)
    img_ids = torch.zeros(side, side, 3, device="cuda")
    img_ids[..., 1] = torch.arange(side, device="cuda")[:, None]
    img_ids[..., 2] = torch.arange(side, device="cuda")[None, :]
    return dict(hidden_states=rand(1, args.image_tokens, 64),
                encoder_hidden_states=rand(1, args.text_tokens, 4096),
                pooled_projections=rand(1, 768),
                timestep=torch.tensor([0.5], device="cuda", dtype=torch.bfloat16),
                guidance=torch.tensor([3.5], device="cuda", dtype=torch.bfloat16),
                img_ids=img_ids.reshape(-1, 3).to(torch.bfloat16),
                txt_ids=torch.zeros(args.text_tokens, 3, device="cuda", dtype=torch.bfloat16),
                return_dict=False)


def time_steps(model, inputs, warmup, repeat):
    with torch.no_grad():
        for _ in range(warmup):
            out = model(**inputs)[0]
        times = []
        for _ in range(repeat):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            model(**inputs)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    return statistics.median(times), out


def capture_step(model, inputs, warmup):
    """One step captured as a CUDA graph, and its output tensor. Warm-up and capture share a
    stream, so attend's per-stream workspace is sized before capture (it never allocates
    during one). The graph keeps the attention it was captured with."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.stream(stream):
        for _ in range(warmup):
            model(**inputs)
        with torch.cuda.graph(graph, stream=stream):
            out = model(**inputs)[0]
    torch.cuda.current_stream().wait_stream(stream)
    return graph, out


def time_replays(graph, warmup, repeat):
    for _ in range(warmup):
        graph.replay()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def native_attention_kernels(model, inputs):
    """The attention kernels native's SDPA ran, by name (PyTorch picks among its backends)."""
    with torch.no_grad(), torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        model(**inputs)
        torch.cuda.synchronize()
    names = {e.key for e in prof.key_averages()}
    hits = [n for n in names if any(s in n.lower() for s in ("flash", "fmha", "cudnn", "attention"))]
    return sorted(hits)[:4]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="auto,cudnn,flash",
                    help="attend backends, comma-separated")
    ap.add_argument("--double", type=int, default=2, help="double-stream blocks (Flux.1: 19)")
    ap.add_argument("--single", type=int, default=4, help="single-stream blocks (Flux.1: 38)")
    ap.add_argument("--image-tokens", type=int, default=4096)
    ap.add_argument("--text-tokens", type=int, default=512)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=20, help="timed steps per measurement")
    ap.add_argument("--rounds", type=int, default=5,
                    help="measurements per backend, taken in turn (median reported)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        log("diffusers_step: no CUDA device")
        return 77

    model, inputs = make_model(args), make_inputs(args)
    log(f"model: Flux width, {args.double} double + {args.single} single blocks, "
        f"{sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters; tokens "
        f"{args.image_tokens} image + {args.text_tokens} text")
    backends = ["native"] + args.backends.split(",")

    def routed(backend):
        attend.diffusers.reset_attention_backend(model)
        if backend != "native":
            attend.diffusers.set_attention_backend(model, backend)

    eager = {b: [] for b in backends}
    graph_rounds = {b: [] for b in backends}
    outputs, graphs = {}, {}
    for backend in backends:
        routed(backend)
        graphs[backend] = capture_step(model, inputs, args.warmup)
    # Rounds take the backends in turn, so drifting clocks (1-2% over a run) favour none.
    for r in range(args.rounds):
        for backend in backends:
            routed(backend)
            ms, outputs[backend] = time_steps(model, inputs, args.warmup, args.repeat)
            eager[backend].append(ms)
            graph_rounds[backend].append(time_replays(graphs[backend][0], args.warmup,
                                                      args.repeat))
        log(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{b} {eager[b][-1]:.3f} eager / {graph_rounds[b][-1]:.3f} graph ms"
            for b in backends))
    graphed = {b: (statistics.median(graph_rounds[b]), graphs[b][1]) for b in backends}
    routed("native")
    kernels = native_attention_kernels(model, inputs)

    def rel_err(out):
        ref = outputs["native"].double()
        return ((out.double() - ref).norm() / ref.norm()).item()

    rows = []
    for backend in backends:
        eager_ms = statistics.median(eager[backend])
        graph_ms, graph_out = graphed[backend]
        row = {"backend": backend if backend == "native" else f"attend:{backend}",
               "median_ms": graph_ms,
               "speedup_vs_native": graphed["native"][0] / graph_ms,
               "eager_median_ms": eager_ms,
               "rounds_ms": graph_rounds[backend],
               "eager_rounds_ms": eager[backend],
               "eager_speedup_vs_native": statistics.median(eager["native"]) / eager_ms,
               "rel_err_vs_native": rel_err(outputs[backend]),
               "graph_rel_err_vs_native": rel_err(graph_out)}
        if backend == "native":
            row["attention_kernels"] = kernels
        rows.append(row)

    print(f"{'attention':16s} {'graph ms':>9s} {'vs native':>10s} {'eager ms':>9s} "
          f"{'vs native':>10s} {'rel_err':>9s}")
    for r in rows:
        print(f"{r['backend']:16s} {r['median_ms']:9.3f} {r['speedup_vs_native']:9.3f}x "
              f"{r['eager_median_ms']:9.3f} {r['eager_speedup_vs_native']:9.3f}x "
              f"{r['rel_err_vs_native']:9.2e}")
    print(f"native's attention kernels: {', '.join(kernels) or 'unknown'}")
    if args.json:
        import diffusers
        with open(args.json, "w") as f:
            json.dump({"benchmark": "diffusers_step", "gpu": torch.cuda.get_device_name(),
                       "date": datetime.date.today().isoformat(), "commit": git_commit(),
                       "torch": torch.__version__,
                       "diffusers": diffusers.__version__, "attend": attend.__version__,
                       "model": {"class": "FluxTransformer2DModel", "heads": 24, "head_dim": 128,
                                 "double_blocks": args.double, "single_blocks": args.single,
                                 "image_tokens": args.image_tokens,
                                 "text_tokens": args.text_tokens, "dtype": "bf16"},
                       "results": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
