"""The Python API over attend._attend: one attention call on any DLPack array, explain, the
backend scope, and the registry."""

import contextlib
import contextvars
import random

from . import _arrays
from . import _attend
from ._flex import FlexSpec
from ._types import BackendInfo, Explanation, Verdict

_LAYOUTS = {"BSHD": 0, "BHSD": 1, "THD": 2}
_ALIGNS = {"top_left": 0, "top-left": 0, "bottom_right": 1, "bottom-right": 1}

# The `with attend.backend(...)` scope: a context variable, so it follows threads and asyncio
# tasks, and is read when a call runs (also inside compiled graphs), never baked into one.
_scope: contextvars.ContextVar = contextvars.ContextVar("attend_backend_scope", default=None)


def _layout_code(layout) -> int:
    code = _LAYOUTS.get(layout.upper() if isinstance(layout, str) else layout)
    if code is None:
        raise ValueError(f"attend: layout must be one of {', '.join(_LAYOUTS)}, got {layout!r}")
    return code


def _align_code(align) -> int:
    code = _ALIGNS.get(align)
    if code is None:
        raise ValueError(f"attend: align must be 'top_left' or 'bottom_right', got {align!r}")
    return code


def _window(window) -> tuple:
    if window is None:
        return -1, -1
    try:
        left, right = window
    except (TypeError, ValueError):
        raise ValueError("attend: window is (left, right), each an int >= 0 or None for "
                         f"unbounded; got {window!r}") from None
    return (-1 if left is None else int(left)), (-1 if right is None else int(right))


def _prepare(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, return_lse, backend,
             layout, out, lse, key_padding_mask, window, softcap, align, cu_seqlens_q,
             cu_seqlens_k, max_seqlen_q, max_seqlen_k, dropout_seed, dropout_offset, stream,
             flex=None):
    """The bound call, its output and its LSE (None unless asked for)."""
    layout_code = _layout_code(layout)
    if flex is not None and not isinstance(flex, FlexSpec):
        raise TypeError(f"attend: flex must be an attend.FlexSpec, got {type(flex).__name__}")
    if out is None:
        out = _arrays.empty(q, _arrays.out_shape(q, v))
    if return_lse and lse is None:
        shape = _arrays.lse_shape(q.shape, layout_code)
        if shape is not None:
            lse = _arrays.empty(q, shape, float32=True)
    if dropout_p and dropout_seed is None:
        dropout_seed = random.getrandbits(63)
    if stream is None:
        stream = _arrays.current_stream(q)
    window_left, window_right = _window(window)
    try:
        call = _attend.Call(
            backend, None if backend is not None else _scope.get(), q, k, v, out, attn_mask,
            key_padding_mask, lse if return_lse else None, cu_seqlens_q, cu_seqlens_k,
            layout_code, bool(is_causal), _align_code(align), window_left, window_right,
            None if scale is None else float(scale), float(softcap), bool(enable_gqa),
            float(dropout_p), dropout_seed or 0, dropout_offset, max_seqlen_q, max_seqlen_k,
            int(stream), None if flex is None else flex._native)
    except TypeError:  # nanobind's message lists the whole signature: say which argument
        _explain_type_error(dict(q=q, k=k, v=v, out=out, attn_mask=attn_mask,
                                 key_padding_mask=key_padding_mask, lse=lse,
                                 cu_seqlens_q=cu_seqlens_q, cu_seqlens_k=cu_seqlens_k),
                            outputs=("out", "lse"))
        raise
    return call, out, (lse if return_lse else None)


def _explain_type_error(arrays: dict, outputs: tuple):
    for name, value in arrays.items():
        why = _arrays.describe_non_array(value)
        if why:
            raise TypeError(f"attend: {name}: {why}") from None
        if name in outputs and _arrays.is_read_only(value):
            raise TypeError(f"attend: {name} is read-only; outputs must be writable") from None


_torch_module = None


def _torch():
    """attend.torch, imported (with torch) on first use."""
    global _torch_module
    if _torch_module is None:
        from . import torch as attend_torch
        _torch_module = attend_torch
    return _torch_module


def _torch_attention():
    return _torch()._attention


def attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
              enable_gqa=False, return_lse=False, backend=None, layout="BSHD", *, out=None,
              lse=None, key_padding_mask=None, window=None, softcap=0.0, align="top_left",
              cu_seqlens_q=None, cu_seqlens_k=None, max_seqlen_q=0, max_seqlen_k=0,
              dropout_seed=None, dropout_offset=0, stream=None, flex=None):
    """Scaled dot-product attention on any DLPack array (PyTorch, NumPy, CuPy), without copies.

    q, k, v: ``layout`` "BSHD" (B, S, H, D), the default; "BHSD" (B, H, S, D), PyTorch SDPA's;
    or "THD" (T, H, D) packed sequences with int32 ``cu_seqlens_q``/``cu_seqlens_k``.
    attn_mask: bool (True = may attend) or additive, broadcastable as (Sq, Sk), (B, Sq, Sk) or
    (B, H, Sq, Sk). key_padding_mask: bool (B, Sk). window: (left, right), None = unbounded.
    align: where queries sit against keys when Sq != Sk ("top_left", PyTorch's; "bottom_right",
    for KV caches). dropout_seed/offset make dropout reproducible (a fresh seed otherwise).
    flex: an ``attend.FlexSpec`` (score_mod / mask_mod), run by the backends that take one.

    backend: an attend id or diffusers name; None = the active ``attend.backend(...)`` scope,
    else the process default (ATTEND_BACKEND, else "auto"). CUDA work runs on ``stream``, by
    default the producer's current stream (PyTorch, CuPy).

    Returns ``out`` (a new array in q's library unless given), or ``(out, lse)`` with
    ``return_lse`` (fp32, (B, H, Sq), or (H, T) for THD). Raises ``attend.Error`` for bad input
    and ``attend.NoBackendError`` (with every backend's reasons) when nothing can run it.
    """
    if _arrays.library(q) == "torch":
        return _torch_attention()(
            q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, return_lse, backend,
            layout, out, lse, key_padding_mask, window, softcap, align, cu_seqlens_q,
            cu_seqlens_k, max_seqlen_q, max_seqlen_k, dropout_seed, dropout_offset, stream, flex)
    call, out, lse = _prepare(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                              return_lse, backend, layout, out, lse, key_padding_mask, window,
                              softcap, align, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                              max_seqlen_k, dropout_seed, dropout_offset, stream, flex)
    call.run()
    return (out, lse) if return_lse else out


def explain(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
            enable_gqa=False, return_lse=False, backend=None, layout="BSHD", *, out=None,
            lse=None, key_padding_mask=None, window=None, softcap=0.0, align="top_left",
            cu_seqlens_q=None, cu_seqlens_k=None, max_seqlen_q=0, max_seqlen_k=0,
            dropout_seed=None, dropout_offset=0, stream=None, flex=None) -> Explanation:
    """What every backend says about the call ``attention`` would make with these arguments, and
    which backend it would take. Input no backend could ever run raises ``attend.Error``."""
    call, _, _ = _prepare(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                          return_lse, backend, layout, out, lse, key_padding_mask, window,
                          softcap, align, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                          max_seqlen_k, dropout_seed, dropout_offset, stream, flex)
    d = call.explain()
    return Explanation(d["requested"], d["source"], d["chosen"] or None,
                       tuple(Verdict.from_dict(v) for v in d["verdicts"]), d["table"])


def flex_block_mask(spec: FlexSpec, q, k, v, *, layout="BSHD", enable_gqa=False, stream=None):
    """The block mask of ``spec.mask_mod`` for attention over q, k, v (their sizes and GPU): which
    tiles every, some or no pair of is visible in, built on the GPU. Reuse it while the mask and
    its tensors stay the same: ``spec.block_mask = attend.flex_block_mask(spec, q, k, v)``.
    Without one, ``flex`` builds one per call."""
    out = _arrays.empty(q, _arrays.out_shape(q, v))
    if stream is None:
        stream = _arrays.current_stream(q)
    if _arrays.library(q) == "torch":  # tensors that require grad, without DLPack's refusal
        view = _torch()._view
        q, k, v, out = view(q), view(k), view(v), view(out)
    call, _, _ = _prepare(q, k, v, None, 0.0, False, None, enable_gqa, False, None, layout, out,
                          None, None, None, 0.0, "top_left", None, None, 0, 0, None, 0, stream,
                          spec)
    return call.block_mask()


class backend(contextlib.ContextDecorator):
    """``with attend.backend("flash"):`` runs the calls inside on that backend (unless a call
    names its own). Nestable, restores exactly what was active, and private to the thread or
    asyncio task that entered it. The id is checked here: an unknown one raises attend.Error."""

    def __init__(self, id: str):
        self.id = _attend.resolve_backend_id(id)
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_scope.set(self.id))
        return self

    def __exit__(self, *exc):
        _scope.reset(self._tokens.pop())
        return False


def active_backend() -> str:
    """The backend a call without ``backend=`` would ask for here: the innermost scope's, else the
    process default."""
    return _scope.get() or _attend.default_backend()


def set_default_backend(id: str) -> None:
    """Sets the process default (initially ATTEND_BACKEND, else "auto"); the id is checked."""
    _attend.set_default_backend(id)


def default_backend() -> str:
    return _attend.default_backend()


def list_backends() -> list:
    """Every registered backend, best availability first (the order ``auto`` tries them in)."""
    return [BackendInfo(d["id"], d["family"], d["description"], d["origin"],
                        tuple(d["aliases"]), d["capabilities"], d["score"], d["reason"])
            for d in _attend.list_backends()]
