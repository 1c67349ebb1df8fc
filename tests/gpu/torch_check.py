"""GPU backends against PyTorch, through the C API: random problems (odd sizes, every head dim,
causal in both alignments, windows, GQA, softcap, LSE, split keys, packed sequences, key padding
with gaps and a fully padded sequence) run on attend's CUDA backends and compared with an fp32
reference built from torch operations. Skips (exit 77) where torch or a CUDA device is missing.
    python3 torch_check.py path/to/libattend.so [backend ...]
"""
import ctypes
import math
import os
import sys

import subprocess

# A libattend that carries its own copy of the C++ runtime cannot share a process with PyTorch's:
# iostreams crash. A toolchain whose library directory holds only libstdc++.a links it that way
# (scripts/gpu-check.sh picks a compiler that does not). Say so and skip.
linked = subprocess.run(["ldd", sys.argv[1]], capture_output=True, text=True).stdout
if "libstdc++" not in linked:
    print("torch_check: skipped: this libattend has libstdc++ linked in statically; build it with "
          "a toolchain that links the shared C++ runtime to run it beside PyTorch")
    sys.exit(77)

try:
    import torch
except ImportError:
    print("torch_check: skipped (no torch)")
    sys.exit(77)
if not torch.cuda.is_available():
    print("torch_check: skipped (no CUDA device)")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "capi"))
from attend_ctypes import Params, Tensor, load  # noqa: E402

lib = load(sys.argv[1])
backends = sys.argv[2:] or ["flash", "flash_varlen", "cuda_math"]
DTYPES = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2, torch.bool: 4, torch.int32: 5}


def view(t):
    v = Tensor()
    v.data = t.data_ptr()
    v.dtype = DTYPES[t.dtype]
    v.device_kind = 1
    v.device_index = t.device.index or 0
    v.rank = t.dim()
    for i in range(t.dim()):
        v.shape[i] = t.shape[i]
        v.strides[i] = t.stride(i)
    return v


def reference(q, k, v, scale, causal, bottom_right, window, softcap, kpm):
    """q (B,Sq,Hq,D), k/v (B,Sk,Hkv,D) -> out (B,Sq,Hq,D) fp32, lse (B,Hq,Sq)."""
    B, Sq, Hq, D = q.shape
    Sk, Hkv = k.shape[1], k.shape[2]
    qf = q.float().transpose(1, 2)
    kf = k.float().transpose(1, 2).repeat_interleave(Hq // Hkv, dim=1)
    vf = v.float().transpose(1, 2).repeat_interleave(Hq // Hkv, dim=1)
    s = qf @ kf.transpose(-1, -2) * scale
    if softcap > 0:
        s = softcap * torch.tanh(s / softcap)
    i = torch.arange(Sq, device=q.device)[:, None] + (Sk - Sq if bottom_right else 0)
    j = torch.arange(Sk, device=q.device)[None, :]
    left, right = window
    if causal:
        right = 0 if right < 0 else min(right, 0)
    visible = torch.ones(Sq, Sk, dtype=torch.bool, device=q.device)
    if left >= 0:
        visible &= j >= i - left
    if right >= 0:
        visible &= j <= i + right
    s = s.masked_fill(~visible, float("-inf"))
    if kpm is not None:
        s = s.masked_fill(~kpm[:, None, None, :], float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    p = torch.softmax(s, dim=-1).nan_to_num(0.0)
    return (p @ vf).transpose(1, 2), lse


passed = failed = skipped = 0


def report(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what)


def run_case(backend, dtype, B, Sq, Sk, Hq, Hkv, D, causal=False, bottom_right=False, window=(-1, -1),
             softcap=0.0, lse=True, key_padding=None, varlen=None):
    global skipped
    torch.manual_seed(B * 1000003 + Sq * 1009 + Sk * 31 + D)
    dev = "cuda"
    name = f"{backend} {dtype} B{B} Sq{Sq} Sk{Sk} H{Hq}/{Hkv} D{D} causal={causal} br={bottom_right} " \
           f"win={window} softcap={softcap} kpm={key_padding is not None} varlen={varlen}"
    p = Params()
    lib.attend_params_init(ctypes.byref(p))
    if varlen is not None:
        lens_q, lens_k = varlen
        Tq, Tk = sum(lens_q), sum(lens_k)
        q = torch.randn(Tq, Hq, D, device=dev, dtype=dtype)
        k = torch.randn(Tk, Hkv, D, device=dev, dtype=dtype)
        v = torch.randn(Tk, Hkv, D, device=dev, dtype=dtype)
        out = torch.full_like(q, float("nan"))
        lse_t = torch.full((Hq, Tq), float("nan"), device=dev)
        cu_q = torch.tensor([0] + list(torch.tensor(lens_q).cumsum(0)), dtype=torch.int32, device=dev)
        cu_k = torch.tensor([0] + list(torch.tensor(lens_k).cumsum(0)), dtype=torch.int32, device=dev)
        p.layout = 2
        p.cu_seqlens_q, p.cu_seqlens_k = view(cu_q), view(cu_k)
        p.max_seqlen_q, p.max_seqlen_k = max(lens_q), max(lens_k)
    else:
        q = torch.randn(B, Sq, Hq, D, device=dev, dtype=dtype)
        k = torch.randn(B, Sk, Hkv, D, device=dev, dtype=dtype)
        v = torch.randn(B, Sk, Hkv, D, device=dev, dtype=dtype)
        out = torch.full_like(q, float("nan"))
        lse_t = torch.full((B, Hq, Sq), float("nan"), device=dev)
    p.q, p.k, p.v, p.out = view(q), view(k), view(v), view(out)
    if lse:
        p.lse = view(lse_t)
    p.is_causal = int(causal)
    p.align = int(bottom_right)
    p.window_left, p.window_right = window
    p.softcap = softcap
    p.enable_gqa = int(Hq != Hkv)
    if key_padding is not None:
        p.key_padding_mask = view(key_padding)
    code = lib.attend_attention(ctypes.byref(p), backend.encode())
    torch.cuda.synchronize()
    if code != 0:  # a refusal is fine (the backend says why); a failure while running is not
        if lib.attend_code_name(code) == b"runtime":
            report(False, f"{name}: {lib.attend_last_error().decode()}")
        else:
            skipped += 1
        return
    scale = 1.0 / math.sqrt(D)
    if varlen is not None:
        outs, lses = [], []
        for b in range(len(lens_q)):
            qs, ks = slice(int(cu_q[b]), int(cu_q[b + 1])), slice(int(cu_k[b]), int(cu_k[b + 1]))
            o_b, l_b = reference(q[None, qs], k[None, ks], v[None, ks], scale, causal, bottom_right, window,
                                 softcap, None)
            outs.append(o_b[0])
            lses.append(l_b[0])
        ref_out, ref_lse = torch.cat(outs, 0), torch.cat(lses, 1)
    else:
        ref_out, ref_lse = reference(q, k, v, scale, causal, bottom_right, window, softcap, key_padding)
    got = out.float()
    if torch.isnan(got).any():
        report(False, f"{name}: {int(torch.isnan(got).sum())} NaN/unwritten outputs")
        return
    rel = float((got - ref_out).norm() / ref_out.norm().clamp_min(1e-30))
    ok = rel <= 1e-2 or (ref_out.norm() == 0 and got.norm() == 0)
    if lse:
        finite = torch.isfinite(ref_lse)
        lse_ok = bool((torch.isfinite(lse_t) == finite).all()) and \
            float((lse_t[finite] - ref_lse[finite]).abs().max().item() if finite.any() else 0) < 2e-2
        ok = ok and lse_ok
        if not lse_ok:
            print(f"  lse mismatch in {name}")
    report(ok, f"{name}: rel_l2 {rel:.2e}")


for backend in backends:
    for dtype in (torch.bfloat16, torch.float16):
        for D in (32, 64, 80, 96, 128, 192, 256):
            run_case(backend, dtype, 2, 130, 257, 4, 4, D)
            run_case(backend, dtype, 1, 257, 130, 4, 2, D, causal=True)
            run_case(backend, dtype, 1, 100, 333, 4, 1, D, causal=True, bottom_right=True)
        run_case(backend, dtype, 1, 1, 1, 2, 2, 64)
        run_case(backend, dtype, 2, 17, 0, 2, 2, 64)
        run_case(backend, dtype, 1, 300, 300, 3, 3, 128, window=(37, 5))
        run_case(backend, dtype, 1, 300, 200, 3, 3, 128, window=(20, -1), bottom_right=True)
        run_case(backend, dtype, 1, 200, 200, 2, 2, 64, softcap=30.0)
        run_case(backend, dtype, 1, 3, 9000, 8, 8, 128)  # few blocks, long keys: split KV
        run_case(backend, dtype, 1, 1, 20000, 2, 1, 64, causal=True, bottom_right=True)  # decode
        run_case(backend, dtype, 3, 0, 0, 2, 2, 64, varlen=([5, 0, 300], [7, 0, 129]))
        run_case(backend, dtype, 3, 0, 0, 4, 2, 128, causal=True, bottom_right=True,
                 varlen=([64, 1, 200], [64, 9, 260]))
        kpm = torch.ones(3, 150, dtype=torch.bool, device="cuda")
        kpm[0, :40] = False       # left padding
        kpm[1, 100:] = False      # right padding
        kpm[1, 10:20] = False     # and a gap
        kpm[2, :] = False         # fully padded
        run_case(backend, dtype, 3, 77, 150, 4, 4, 64, key_padding=kpm)

print(f"torch_check: {passed} passed, {failed} failed, {skipped} refused (not applicable)")
sys.exit(1 if failed else 0)
