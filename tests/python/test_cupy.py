"""attend on CuPy arrays: another DLPack producer on the GPU, its current stream, zero copies.
Skipped where CuPy or a CUDA device is absent."""
import numpy as np
import pytest

cupy = pytest.importorskip("cupy")
try:
    has_device = cupy.cuda.runtime.getDeviceCount() > 0
except cupy.cuda.runtime.CUDARuntimeError:
    has_device = False
if not has_device:
    pytest.skip("no CUDA device", allow_module_level=True)

import attend  # noqa: E402
import reference  # noqa: E402


def test_cupy_fp16_on_its_current_stream():
    rng = np.random.default_rng(5)
    host = [rng.standard_normal((2, 333, 4, 64)).astype(np.float16) for _ in range(3)]
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        q, k, v = (cupy.asarray(x) for x in host)
        out = cupy.full(q.shape, cupy.nan, dtype=cupy.float16)
        got = attend.attention(q, k, v, is_causal=True, out=out, backend="flash")
        assert got is out
    stream.synchronize()
    want = reference.attention(*host, is_causal=True)[0]
    assert reference.rel_err(cupy.asnumpy(out), want) < 1e-2


def test_cupy_output_is_allocated_on_the_inputs_device():
    q = cupy.random.standard_normal((1, 64, 2, 32), dtype=cupy.float32).astype(cupy.float16)
    out = attend.attention(q, q, q)
    assert isinstance(out, cupy.ndarray) and out.device == q.device and out.dtype == q.dtype
