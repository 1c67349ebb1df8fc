"""attend's function (docs/semantics.md) in NumPy float64, BSHD, for the Python tests."""
import numpy as np


def attention(q, k, v, attn_mask=None, key_padding_mask=None, is_causal=False, align="top_left",
              window=(-1, -1), scale=None, softcap=0.0):
    """(out, lse) for BSHD q (B,Sq,Hq,D), k (B,Sk,Hkv,D), v (B,Sk,Hkv,Dv); float64."""
    q, k, v = (np.asarray(x, dtype=np.float64) for x in (q, k, v))
    B, Sq, Hq, D = q.shape
    Sk, Hkv = k.shape[1], k.shape[2]
    group = Hq // Hkv
    k = np.repeat(k, group, axis=2)
    v = np.repeat(v, group, axis=2)
    scale = 1.0 / np.sqrt(D) if scale is None else scale
    s = np.einsum("bqhd,bkhd->bhqk", q, k) * scale
    if softcap > 0:
        s = softcap * np.tanh(s / softcap)
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        if m.ndim == 3:
            m = m[:, None]
        if m.dtype == np.bool_:
            s = np.where(m, s, -np.inf)
        else:
            s = s + m.astype(np.float64)
    if key_padding_mask is not None:
        s = np.where(np.asarray(key_padding_mask)[:, None, None, :], s, -np.inf)
    left, right = window
    if is_causal:
        right = 0 if right < 0 else min(right, 0)
    i = np.arange(Sq)[:, None] + (Sk - Sq if align == "bottom_right" else 0)
    j = np.arange(Sk)[None, :]
    visible = np.ones((Sq, Sk), dtype=bool)
    if left >= 0:
        visible &= j >= i - left
    if right >= 0:
        visible &= j <= i + right
    s = np.where(visible, s, -np.inf)
    m = s.max(axis=-1, keepdims=True) if Sk else np.full(s.shape[:-1] + (1,), -np.inf)
    finite = np.isfinite(m)
    p = np.exp(s - np.where(finite, m, 0.0))
    l = p.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(finite & (l > 0), p / l, 0.0)
        lse = np.where(finite[..., 0], m[..., 0] + np.log(l[..., 0]), -np.inf)
    out = np.einsum("bhqk,bkhd->bqhd", p, v)
    return out, lse


def rel_err(got, want) -> float:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    denom = np.linalg.norm(want)
    return float(np.linalg.norm(got - want) / (denom if denom > 0 else 1.0))
