#!/usr/bin/env python3
"""One diffusers transformer step, on diffusers' default `native` attention and on attend, in one run.

The model is FluxTransformer2DModel with Flux.1's width (24 heads x 128, joint dim 4096, pooled
768, 64 latent channels) and fewer blocks (--double, --single; Flux.1 has 19 and 38), randomly
initialised in bf16 on the GPU; a 1024x1024 image is 4096 latent tokens, plus 512 text tokens.
Each attend backend is set with attend.diffusers.set_attention_backend on the same model, so the
rest of the step is the same code. Timing: CUDA events, warm-up, median of --repeat steps under
torch.no_grad. The output of each backend is compared with native's (rel. L2).

    python3 bench/diffusers_step.py [--backends auto,flash,cuda_math] [--json out.json]
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
    ap.add_argument("--backends", default="auto,flash", help="attend backends, comma-separated")
    ap.add_argument("--double", type=int, default=2, help="double-stream blocks (Flux.1: 19)")
    ap.add_argument("--single", type=int, default=4, help="single-stream blocks (Flux.1: 38)")
    ap.add_argument("--image-tokens", type=int, default=4096)
    ap.add_argument("--text-tokens", type=int, default=512)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        log("diffusers_step: no CUDA device")
        return 77

    model, inputs = make_model(args), make_inputs(args)
    log(f"model: Flux width, {args.double} double + {args.single} single blocks, "
        f"{sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters; tokens "
        f"{args.image_tokens} image + {args.text_tokens} text")
    native_ms, native_out = time_steps(model, inputs, args.warmup, args.repeat)
    kernels = native_attention_kernels(model, inputs)
    rows = [{"backend": "native", "median_ms": native_ms, "speedup_vs_native": 1.0,
             "rel_err_vs_native": 0.0, "attention_kernels": kernels}]
    for backend in args.backends.split(","):
        attend.diffusers.set_attention_backend(model, backend)
        ms, out = time_steps(model, inputs, args.warmup, args.repeat)
        err = ((out.double() - native_out.double()).norm() / native_out.double().norm()).item()
        rows.append({"backend": f"attend:{backend}", "median_ms": ms,
                     "speedup_vs_native": native_ms / ms, "rel_err_vs_native": err})
        attend.diffusers.reset_attention_backend(model)

    print(f"{'attention':16s} {'step ms':>9s} {'vs native':>10s} {'rel_err':>9s}")
    for r in rows:
        print(f"{r['backend']:16s} {r['median_ms']:9.3f} {r['speedup_vs_native']:9.3f}x "
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
