"""PyTorch integration: attend's attention as the custom op ``torch.ops.attend.attention``.

``attend.attention`` on torch tensors comes here. In plain eager code (no tensor that needs a
gradient) it calls the library directly; under ``torch.compile`` and autograd it goes through the
custom op, whose fake implementation lets ``torch.compile(fullgraph=True)`` trace it without graph
breaks. The active ``attend.backend(...)`` scope and a fresh dropout seed are read when the op
runs, so a compiled graph follows them like eager code does.

No attend backend has a backward pass yet: a backward through the op raises PyTorch's "no
autograd formula" error rather than return wrong gradients.

    import attend.torch
    out = attend.torch.scaled_dot_product_attention(q, k, v, is_causal=True)   # BHSD, like SDPA
"""

import random
from typing import Optional

import torch

from . import _api, _arrays, _attend, _flex

_NO_SEED = -1  # the op's dropout_seed when the caller gave none: drawn when the op runs
_NO_FLEX = 0  # the op's flex handle without a spec (attend.FlexSpec handles start at 1)
# attend's DType values (include/attend/tensor.hpp).
_DTYPE_CODES = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2, torch.float64: 3,
                torch.bool: 4, torch.int32: 5, torch.int64: 6}


def _view(t):
    """A tensor as attend reads it: its fields directly (PyTorch's DLPack export costs ~4 us a
    tensor). Anything attend cannot take goes through DLPack, whose errors name the argument."""
    if t is None:
        return None
    code = _DTYPE_CODES.get(t.dtype)
    if code is None or not 1 <= t.dim() <= 4 or not (t.is_cuda or t.is_cpu):
        return t.detach()  # DLPack refuses tensors that require grad
    return _attend.RawTensor(t.data_ptr(), code, t.is_cuda, max(t.get_device(), 0), t.shape,
                             t.stride())


def _run(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, return_lse, backend, layout,
         out, lse, key_padding_mask, window, softcap, align, cu_seqlens_q, cu_seqlens_k,
         max_seqlen_q, max_seqlen_k, dropout_seed, dropout_offset, stream, flex):
    if out is None:
        out = q.new_empty(_arrays.out_shape(q, v))
    if return_lse and lse is None:
        shape = _arrays.lse_shape(q.shape, _api._layout_code(layout))
        if shape is not None:  # else attend reports q's rank
            lse = q.new_empty(shape, dtype=torch.float32)
    if stream is None:
        stream = torch.cuda.current_stream(q.device).cuda_stream if q.is_cuda else 0
    call, _, _ = _api._prepare(
        _view(q), _view(k), _view(v), _view(attn_mask), dropout_p, is_causal, scale, enable_gqa,
        return_lse, backend, layout, _view(out), _view(lse), _view(key_padding_mask), window,
        softcap, align, _view(cu_seqlens_q), _view(cu_seqlens_k), max_seqlen_q, max_seqlen_k,
        dropout_seed, dropout_offset, stream, flex)
    call.run()
    return out, (lse if return_lse else None)


@torch.library.custom_op("attend::attention", mutates_args=())
def attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                 attn_mask: Optional[torch.Tensor], key_padding_mask: Optional[torch.Tensor],
                 cu_seqlens_q: Optional[torch.Tensor], cu_seqlens_k: Optional[torch.Tensor],
                 dropout_p: float, is_causal: bool, scale: Optional[float], enable_gqa: bool,
                 return_lse: bool, backend: Optional[str], layout: str, window_left: int,
                 window_right: int, softcap: float, align: str, max_seqlen_q: int,
                 max_seqlen_k: int, dropout_seed: int, dropout_offset: int, flex_handle: int,
                 flex_tensors: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """attend's attention: (out, lse); lse is empty unless return_lse. flex_handle names an
    attend.FlexSpec (its tensors are flex_tensors: inputs of the op, so graphs order them)."""
    if dropout_seed == _NO_SEED:
        dropout_seed = random.getrandbits(63) if dropout_p else 0
    out, lse = _run(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, return_lse,
                    backend, layout, None, None, key_padding_mask, (window_left, window_right),
                    softcap, align, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                    dropout_seed, dropout_offset, None,
                    None if flex_handle == _NO_FLEX else _flex.spec_of(flex_handle))
    return out, (lse if lse is not None else q.new_empty((0,), dtype=torch.float32))


@attention_op.register_fake
def _attention_fake(q, k, v, attn_mask, key_padding_mask, cu_seqlens_q, cu_seqlens_k, dropout_p,
                    is_causal, scale, enable_gqa, return_lse, backend, layout, window_left,
                    window_right, softcap, align, max_seqlen_q, max_seqlen_k, dropout_seed,
                    dropout_offset, flex_handle, flex_tensors):
    out = q.new_empty(_arrays.out_shape(q, v))
    shape = _arrays.lse_shape(q.shape, _api._layout_code(layout)) if return_lse else None
    return out, q.new_empty(shape if shape is not None else (0,), dtype=torch.float32)


def _needs_op(q, k, v, attn_mask) -> bool:
    if torch.compiler.is_compiling():
        return True
    if not torch.is_grad_enabled():
        return False
    return q.requires_grad or k.requires_grad or v.requires_grad or (
        attn_mask is not None and attn_mask.requires_grad)


def attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
              enable_gqa=False, return_lse=False, backend=None, layout="BSHD", *, out=None,
              lse=None, key_padding_mask=None, window=None, softcap=0.0, align="top_left",
              cu_seqlens_q=None, cu_seqlens_k=None, max_seqlen_q=0, max_seqlen_k=0,
              dropout_seed=None, dropout_offset=0, stream=None, flex=None):
    """``attend.attention`` for torch tensors (the same arguments). Under torch.compile and
    autograd the outputs are the op's own: out=, lse= and stream= are refused there."""
    return _attention(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, return_lse,
                      backend, layout, out, lse, key_padding_mask, window, softcap, align,
                      cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, dropout_seed,
                      dropout_offset, stream, flex)


def _attention(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, return_lse, backend,
               layout, out, lse, key_padding_mask, window, softcap, align, cu_seqlens_q,
               cu_seqlens_k, max_seqlen_q, max_seqlen_k, dropout_seed, dropout_offset, stream,
               flex=None):
    if not _needs_op(q, k, v, attn_mask):
        out, lse = _run(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, return_lse,
                        backend, layout, out, lse, key_padding_mask, window, softcap, align,
                        cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, dropout_seed,
                        dropout_offset, stream, flex)
        return (out, lse) if return_lse else out
    if out is not None or lse is not None or stream is not None:
        raise ValueError("attend: out=, lse= and stream= are not taken under torch.compile or "
                         "autograd: the op allocates its outputs and runs on the current stream")
    window_left, window_right = _api._window(window)
    if flex is not None and not isinstance(flex, _flex.FlexSpec):
        raise TypeError(f"attend: flex must be an attend.FlexSpec, got {type(flex).__name__}")
    flex_tensors = [] if flex is None else list(flex._tensors.values())
    if not all(isinstance(t, torch.Tensor) for t in flex_tensors):
        raise TypeError("attend: under torch.compile or autograd a FlexSpec's tensors are torch "
                        "tensors")
    out, lse = attention_op(
        q, k, v, attn_mask, key_padding_mask, cu_seqlens_q, cu_seqlens_k, float(dropout_p),
        bool(is_causal), None if scale is None else float(scale), bool(enable_gqa),
        bool(return_lse), backend, layout, window_left, window_right, float(softcap), align,
        int(max_seqlen_q), int(max_seqlen_k),
        _NO_SEED if dropout_seed is None else int(dropout_seed), int(dropout_offset),
        _NO_FLEX if flex is None else flex.handle, flex_tensors)
    return (out, lse) if return_lse else out


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False, *, backend=None):
    """A drop-in for ``torch.nn.functional.scaled_dot_product_attention``: (B, H, S, D) tensors,
    the same arguments, attend's backends (``backend=None``: the scope, else the default)."""
    return attention(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                     backend=backend, layout="BHSD")
