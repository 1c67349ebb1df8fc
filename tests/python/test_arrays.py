"""The DLPack boundary: zero copies, strides as given (broadcast, negative, sliced), read-only
inputs, writable outputs, element types and devices attend cannot take, other producers."""
import numpy as np
import pytest

import attend
import reference

rng = np.random.default_rng(3)


def qkv(B=1, S=19, H=2, D=16, dtype=np.float32):
    return tuple(rng.standard_normal((B, S, H, D)).astype(dtype) for _ in range(3))


class DLPackOnly:
    """An array from an unknown library: only the DLPack protocol."""

    def __init__(self, array):
        self._array = array
        self.shape = array.shape

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_output_shares_memory_with_what_was_passed():
    q, k, v = qkv()
    backing = np.zeros((1, 19, 2, 32), dtype=np.float32)
    out = backing[..., ::2]  # strided output view
    attend.attention(q, k, v, out=out)
    assert np.shares_memory(out, backing)
    assert np.all(backing[..., 1::2] == 0)  # the gaps are untouched
    assert reference.rel_err(out, reference.attention(q, k, v)[0]) < 1e-5


def test_read_only_and_broadcast_inputs():
    q, k, v = qkv()
    for x in (q, k, v):
        x.setflags(write=False)
    mask = np.broadcast_to(rng.random((1, 1, 1, 19)) > 0.4, (1, 2, 19, 19))  # zero strides
    assert mask.strides[1] == 0 and not mask.flags.writeable
    out = attend.attention(q, k, v, attn_mask=mask)
    assert reference.rel_err(out, reference.attention(q, k, v, attn_mask=mask)[0]) < 1e-5


def test_negative_and_sliced_strides():
    q, k, v = qkv(S=40)
    with pytest.raises(attend.Error) as e:  # refused with its reason, never read wrongly
        attend.attention(q, k[:, ::-1], v[:, ::-1])
    assert e.value.code == "stride" and "negative stride" in str(e.value)
    q2 = q[:, 1::3]
    got = attend.attention(q2, k, v)
    assert reference.rel_err(got, reference.attention(q2, k, v)[0]) < 1e-5


def test_read_only_output_is_refused():
    q, k, v = qkv()
    out = np.empty_like(q)
    out.setflags(write=False)
    with pytest.raises(TypeError, match="out is read-only"):
        attend.attention(q, k, v, out=out)


def test_unknown_producer_needs_out():
    q, k, v = qkv()
    wrapped = [DLPackOnly(x) for x in (q, k, v)]
    with pytest.raises(TypeError, match="pass out="):
        attend.attention(*wrapped)
    out = np.empty_like(q)
    attend.attention(*wrapped, out=out)
    assert reference.rel_err(out, reference.attention(q, k, v)[0]) < 1e-5


@pytest.mark.parametrize("bad, code", [
    (lambda m: m.astype(np.uint8), "dtype"),
    (lambda m: m.astype(np.complex64), "dtype"),
    (lambda m: m.reshape(1, 1, 1, 1, 19, 19), "rank"),
    (lambda m: np.asarray(True), "rank"),
])
def test_masks_attend_cannot_read(bad, code):
    q, k, v = qkv()
    mask = bad(np.ones((19, 19), dtype=bool))
    with pytest.raises(attend.Error) as e:
        attend.attention(q, k, v, attn_mask=mask)
    assert e.value.code == code, str(e.value)
    assert "attn_mask" in str(e.value)


def test_lse_of_another_dtype_is_refused():
    q, k, v = qkv()
    with pytest.raises(attend.Error) as e:
        attend.attention(q, k, v, lse=np.empty((1, 2, 19), dtype=np.float64), return_lse=True)
    assert e.value.code == "lse"
