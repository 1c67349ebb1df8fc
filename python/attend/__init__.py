"""attend: one attention call, many implementations, and a dispatcher that explains itself.

    import attend
    out = attend.attention(q, k, v, is_causal=True)      # any DLPack array, BSHD by default
    with attend.backend("cpu_flash"):                     # scoped selection
        out = attend.attention(q, k, v)
    print(attend.explain(q, k, v, backend="flash"))       # every backend's verdict
    docs = attend.FlexSpec(mask_mod="doc[q_idx] == doc[kv_idx]", tensors={"doc": doc_ids})
    out = attend.attention(q, k, v, flex=docs)            # programmable masks and scores

PyTorch: ``attend.torch`` (a custom op that torch.compile traces); diffusers:
``attend.diffusers.set_attention_backend(model, id)``.
"""

from ._attend import __version__, code_names, data_checks_enabled, has_backend, load_plugin
from ._attend import plugin_refusals, resolve_backend_id, set_data_checks, unregister_backend
from ._api import active_backend, attention, backend, default_backend, explain, list_backends
from ._api import flex_block_mask, set_default_backend
from ._attend import BlockMask
from ._flex import FlexSpec
from ._errors import Error, NoBackendError
from ._types import BackendInfo, Explanation, Reason, Verdict

__all__ = [
    "__version__", "attention", "explain", "backend", "active_backend", "default_backend",
    "set_default_backend", "list_backends", "has_backend", "resolve_backend_id", "load_plugin",
    "unregister_backend", "plugin_refusals", "set_data_checks", "data_checks_enabled",
    "code_names", "FlexSpec", "BlockMask", "flex_block_mask", "Error", "NoBackendError", "BackendInfo", "Explanation", "Reason", "Verdict",
]
