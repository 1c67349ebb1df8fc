"""What attend needs from the caller's array library: fresh output arrays of the right kind, and
the CUDA stream the caller is working on. PyTorch, NumPy and CuPy are known by name; any other
DLPack producer works when the caller passes ``out=`` (and ``lse=``, ``stream=``)."""

import sys

_LAYOUT_LSE_SHAPE = {
    0: lambda s: (s[0], s[2], s[1]),  # BSHD (B, S, H, D) -> (B, H, S)
    1: lambda s: (s[0], s[1], s[2]),  # BHSD (B, H, S, D) -> (B, H, S)
    2: lambda s: (s[1], s[0]),        # THD (T, H, D) -> (H, T)
}
_LAYOUT_RANK = {0: 4, 1: 4, 2: 3}

_library_of_type: dict = {}


def library(x) -> str:
    """'torch', 'numpy', 'cupy' or the top-level module of another array type."""
    t = type(x)
    name = _library_of_type.get(t)
    if name is None:
        name = t.__module__.partition(".")[0]
        _library_of_type[t] = name
    return name


def out_shape(q, v) -> tuple:
    return tuple(q.shape[:-1]) + (v.shape[-1],)


def lse_shape(q_shape, layout: int):
    """The LSE's shape for q's shape and the layout, or None if q's rank does not fit the layout
    (the library then reports q's rank)."""
    if len(q_shape) != _LAYOUT_RANK[layout]:
        return None
    return _LAYOUT_LSE_SHAPE[layout](tuple(q_shape))


def empty(like, shape, float32: bool = False):
    """An uninitialised array of `shape` in `like`'s library and device: `like`'s dtype, or
    float32 (for the LSE)."""
    lib = library(like)
    if lib == "numpy":
        np = sys.modules["numpy"]
        return np.empty(shape, dtype=np.float32 if float32 else like.dtype)
    if lib == "torch":
        torch = sys.modules["torch"]
        return torch.empty(shape, dtype=torch.float32 if float32 else like.dtype, device=like.device)
    if lib == "cupy":
        cupy = sys.modules["cupy"]
        with like.device:
            return cupy.empty(shape, dtype=cupy.float32 if float32 else like.dtype)
    raise TypeError(f"attend does not know how to allocate an output for {type(like).__name__} "
                    "arrays; pass out= (and lse= with return_lse=True)")


def current_stream(like) -> int:
    """The CUDA stream the caller's library is working on for `like`'s device (0 otherwise)."""
    lib = library(like)
    if lib == "torch":
        if like.is_cuda:
            return sys.modules["torch"].cuda.current_stream(like.device).cuda_stream
        return 0
    if lib == "cupy":
        return sys.modules["cupy"].cuda.get_current_stream().ptr
    return 0


def describe_non_array(x) -> str | None:
    """Why `x` cannot be passed as an array, or None if it looks like one."""
    if x is None or hasattr(x, "__dlpack__") or hasattr(x, "__array_interface__"):
        return None
    return f"expected an array that supports DLPack (PyTorch, NumPy, CuPy, JAX), got {type(x).__name__}"


def is_read_only(x) -> bool:
    flags = getattr(x, "flags", None)
    return flags is not None and getattr(flags, "writeable", True) is False
