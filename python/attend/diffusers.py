"""diffusers integration: run one model's attention on an attend backend, touching no other model.

    import attend.diffusers
    attend.diffusers.set_attention_backend(pipe.transformer, "auto")   # or "flash", "cpu_flash"...
    image = pipe(prompt).images[0]
    attend.diffusers.reset_attention_backend(pipe.transformer)

diffusers' attention processors call ``dispatch_attention_fn(..., backend=self._attention_backend)``.
Each of this model's processors is replaced by a copy whose backend is an ``AttendBackend``; the
processor module's ``dispatch_attention_fn`` is wrapped once so that an AttendBackend goes to
attend and every other value goes to diffusers' own function, unchanged. Other models, diffusers'
global active backend and its ``attention_backend`` context manager are left alone (diffusers' own
``set_attention_backend`` also changes the global one).
"""

import copy
import sys
import weakref
from dataclasses import dataclass

from . import _api
from . import torch as attend_torch


@dataclass(frozen=True)
class AttendBackend:
    """The backend value an attend-routed processor carries: an attend id ("auto" included)."""

    id: str

    @property
    def value(self) -> str:  # diffusers logs backend.value
        return f"attend:{self.id}"


# attention module -> the processor it had before set_attention_backend (kept outside the module:
# a processor that is an nn.Module would otherwise become a submodule).
_original_processors: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
               enable_gqa=False, attention_kwargs=None, *, backend, parallel_config=None):
    if parallel_config is not None:
        raise NotImplementedError("attend: context parallelism (parallel_config) is not supported "
                                  "by attend backends; reset the model's attention backend")
    if attention_kwargs:
        raise TypeError(f"attend: unsupported attention_kwargs {sorted(attention_kwargs)}")
    # diffusers passes (B, S, H, D), attend's default layout, and SDPA-convention masks.
    return attend_torch.attention(query, key, value, attn_mask, dropout_p, is_causal, scale,
                                  enable_gqa, backend=None if backend.id == "auto" else backend.id)


def _route(module) -> None:
    """Wraps `module`'s dispatch_attention_fn (once) so AttendBackend values come to attend."""
    original = getattr(module, "dispatch_attention_fn", None)
    if original is None or getattr(original, "_attend_original", None) is not None:
        return

    def dispatch_attention_fn(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                              scale=None, enable_gqa=False, attention_kwargs=None, *,
                              backend=None, parallel_config=None):
        if isinstance(backend, AttendBackend):
            return _attention(query, key, value, attn_mask, dropout_p, is_causal, scale,
                              enable_gqa, attention_kwargs, backend=backend,
                              parallel_config=parallel_config)
        return original(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                        attention_kwargs, backend=backend, parallel_config=parallel_config)

    dispatch_attention_fn._attend_original = original
    dispatch_attention_fn.__doc__ = original.__doc__
    module.dispatch_attention_fn = dispatch_attention_fn


def _attention_modules(model):
    """(module, processor) for each attention module whose processor goes through diffusers'
    dispatcher: it has an `_attention_backend`, and its module calls `dispatch_attention_fn`."""
    for module in model.modules():
        processor = getattr(module, "processor", None)
        if processor is None or not hasattr(processor, "_attention_backend"):
            continue
        if hasattr(sys.modules.get(type(processor).__module__), "dispatch_attention_fn"):
            yield module, processor


def set_attention_backend(model, backend: str = "auto") -> int:
    """Runs `model`'s attention on an attend backend ("auto": attend picks per call). Only this
    model changes. Returns the number of attention processors routed to attend."""
    resolved = AttendBackend(_api._attend.resolve_backend_id(backend))
    targets = list(_attention_modules(model))
    if not targets:
        raise ValueError(f"attend: {type(model).__name__} has no attention processor that goes "
                         "through diffusers' dispatch_attention_fn, so attend cannot route it")
    for module, processor in targets:
        original = _original_processors.setdefault(module, processor)
        # A copy, so that a processor shared with another model keeps that model's backend.
        routed = copy.copy(original)
        routed._attention_backend = resolved
        module.processor = routed
        _route(sys.modules[type(original).__module__])
    return len(targets)


def reset_attention_backend(model) -> int:
    """Puts back the processors `set_attention_backend` replaced; returns how many."""
    count = 0
    for module in model.modules():
        original = _original_processors.pop(module, None)
        if original is not None:
            module.processor = original
            count += 1
    return count


def attention_backend(model):
    """The attend backend id `model` runs on, or None if it is not routed to attend."""
    for _, processor in _attention_modules(model):
        if isinstance(processor._attention_backend, AttendBackend):
            return processor._attention_backend.id
    return None
