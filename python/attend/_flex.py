"""Programmable attention (attend/flex.hpp) from Python: a FlexSpec of device source for the GPU
(``flex``) and/or Python callables for the CPU (``cpu_flash``), and its reusable block mask."""

import itertools
import weakref

from . import _arrays, _attend
from ._errors import Error

# Every live spec by its handle: attend.torch's custom op names a spec by handle (an op takes no
# Python objects), and finds it here when the op runs.
_specs: "weakref.WeakValueDictionary[int, FlexSpec]" = weakref.WeakValueDictionary()
_handles = itertools.count(1)


def _source(value, role: str, callable_role: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if callable(value):
        raise TypeError(f"attend: {role} is device source (a string); a Python function is "
                        f"{callable_role}= (run by cpu_flash on the CPU)")
    raise TypeError(f"attend: {role} must be a string of C++ device source, got "
                    f"{type(value).__name__}")


def _tensor_view(t):
    if _arrays.library(t) == "torch":
        from . import torch as attend_torch
        return attend_torch._view(t)
    return t


class FlexSpec:
    """A score modification and/or a mask, as PyTorch's FlexAttention has them.

    score_mod / mask_mod: C++ device source for the ``flex`` backend (sm_90): an expression, or
    statements ending in ``return``, over ``float score`` and ``int b, h, q_idx, kv_idx``;
    score_mod gives the new score, mask_mod true where the query may attend the key.
    tensors: ``{name: array}`` the sources read as ``name[i]`` or ``name(i, j, ...)``, on the
    problem's device (half types read as float). The spec keeps them alive.
    score_fn(score, b, h, q_idx, kv_idx) / mask_fn(b, h, q_idx, kv_idx): Python functions with
    the same meaning, which ``cpu_flash`` calls pair by pair (for tests and small problems).

        docs = attend.FlexSpec(mask_mod="doc[q_idx] == doc[kv_idx]", tensors={"doc": doc_ids})
        out = attend.attention(q, k, v, flex=docs, backend="flex")
    """

    def __init__(self, score_mod=None, mask_mod=None, tensors=None, *, score_fn=None,
                 mask_fn=None):
        for name, fn in (("score_fn", score_fn), ("mask_fn", mask_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"attend: {name} must be callable, got {type(fn).__name__}")
        tensors = dict(tensors or {})
        for name, array in tensors.items():
            if not isinstance(name, str):
                raise TypeError(f"attend: flex tensor names are strings, got {name!r}")
            why = _arrays.describe_non_array(array)
            if why or array is None:
                raise TypeError(f"attend: flex tensor '{name}': {why or 'got None'}")
        self._score_mod = _source(score_mod, "score_mod", "score_fn")
        self._mask_mod = _source(mask_mod, "mask_mod", "mask_fn")
        self._tensors = tensors
        self._score_fn, self._mask_fn = score_fn, mask_fn
        self._native = _attend.FlexSpec(self._score_mod, self._mask_mod, list(tensors),
                                        [_tensor_view(t) for t in tensors.values()], score_fn,
                                        mask_fn)
        self._block_mask = None
        self.handle = next(_handles)
        _specs[self.handle] = self

    score_mod = property(lambda self: self._score_mod)
    mask_mod = property(lambda self: self._mask_mod)
    score_fn = property(lambda self: self._score_fn)
    mask_fn = property(lambda self: self._mask_fn)

    @property
    def tensors(self) -> dict:
        return dict(self._tensors)

    @property
    def block_mask(self):
        """The block mask calls with this spec use (from ``attend.flex_block_mask``), or None:
        ``flex`` then builds one per call."""
        return self._block_mask

    @block_mask.setter
    def block_mask(self, mask):
        if mask is not None and not isinstance(mask, _attend.BlockMask):
            raise TypeError("attend: block_mask is what attend.flex_block_mask returns, or None")
        self._native.set_block_mask(mask)
        self._block_mask = mask

    def __repr__(self):
        parts = [f"{k}={v!r}" for k, v in (("score_mod", self._score_mod),
                                           ("mask_mod", self._mask_mod)) if v]
        parts += [f"{k}={getattr(v, '__name__', None) or repr(v)}"
                  for k, v in (("score_fn", self._score_fn), ("mask_fn", self._mask_fn)) if v]
        if self._tensors:
            parts.append("tensors=[" + ", ".join(self._tensors) + "]")
        return "FlexSpec(" + ", ".join(parts) + ")"


def spec_of(handle: int) -> FlexSpec:
    spec = _specs.get(handle)
    if spec is None:
        raise Error(f"attend: flex spec {handle} no longer exists; keep the FlexSpec alive "
                    "while code that uses it runs", "flex")
    return spec
