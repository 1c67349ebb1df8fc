"""attend.FlexSpec from Python on the CPU: cpu_flash runs Python score_fn/mask_fn against a
float64 reference with the equivalent dense mask/bias; source-only specs are refused with the
reason; errors in names, types and callables surface as Python exceptions; specs are collected.
The GPU side (device source, block masks, torch.compile) is in test_torch.py."""
import gc
import weakref

import numpy as np
import pytest

import attend
import reference

rng = np.random.default_rng(11)


def qkv(B=2, Sq=37, Sk=53, Hq=4, Hkv=4, D=16):
    return (rng.standard_normal((B, Sq, Hq, D)).astype(np.float32),
            rng.standard_normal((B, Sk, Hkv, D)).astype(np.float32),
            rng.standard_normal((B, Sk, Hkv, D)).astype(np.float32))


def dense(fn, B, H, Sq, Sk):
    """fn(b, h, q_idx, kv_idx) on every pair, as a (B, H, Sq, Sk) array."""
    return np.array([[[[fn(b, h, i, j) for j in range(Sk)] for i in range(Sq)]
                      for h in range(H)] for b in range(B)])


def test_document_mask_and_alibi_match_the_reference():
    q, k, v = qkv(Sq=53)
    doc = np.repeat(np.arange(4), [10, 20, 3, 20])
    slopes = 2.0 ** -np.arange(1, 5)

    def mask_fn(b, h, q_idx, kv_idx):
        return doc[q_idx] == doc[kv_idx]

    def score_fn(score, b, h, q_idx, kv_idx):
        return score - slopes[h] * abs(q_idx - kv_idx)

    spec = attend.FlexSpec(score_fn=score_fn, mask_fn=mask_fn)
    out, lse = attend.attention(q, k, v, flex=spec, is_causal=True, return_lse=True,
                                backend="cpu_flash")
    bias = dense(lambda b, h, i, j: -slopes[h] * abs(i - j) if mask_fn(b, h, i, j) else -np.inf,
                 2, 4, 53, 53)
    want, want_lse = reference.attention(q, k, v, attn_mask=bias, is_causal=True)
    assert reference.rel_err(out, want) < 1e-5
    np.testing.assert_allclose(lse, want_lse, rtol=1e-5, atol=1e-5)


def test_mask_by_batch_and_head_with_fully_masked_rows():
    q, k, v = qkv(Sq=9, Sk=11)

    def mask_fn(b, h, q_idx, kv_idx):  # row 0 of batch 1 sees nothing
        return not (b == 1 and q_idx == 0) and (kv_idx + h) % 3 != 0

    out = attend.attention(q, k, v, flex=attend.FlexSpec(mask_fn=mask_fn), backend="cpu_flash")
    want, _ = reference.attention(q, k, v, attn_mask=dense(mask_fn, 2, 4, 9, 11).astype(bool))
    assert reference.rel_err(out, want) < 1e-5
    assert np.all(out[1, 0] == 0)


def test_spec_is_reused_and_numpy_results_are_accepted():
    q, k, v = qkv(Sq=5, Sk=7, B=1, Hq=1, Hkv=1)
    spec = attend.FlexSpec(score_fn=lambda s, b, h, i, j: np.float32(s * 0.5))
    first = attend.attention(q, k, v, flex=spec, backend="cpu_flash")
    again = attend.attention(q, k, v, flex=spec, backend="cpu_flash")
    want, _ = reference.attention(q, k, v, scale=0.5 / 4.0)
    assert reference.rel_err(first, want) < 1e-5
    np.testing.assert_array_equal(first, again)


def test_source_only_spec_is_refused_on_the_cpu_with_the_reason():
    q, k, v = qkv()
    spec = attend.FlexSpec(mask_mod="q_idx >= kv_idx")
    with pytest.raises(attend.NoBackendError) as e:
        attend.attention(q, k, v, flex=spec, backend="cpu_flash")
    (verdict,) = e.value.verdicts
    assert not verdict.ok and [r.what for r in verdict.reasons] == ["flex spec"]
    assert verdict.reasons[0].expected == "score_fn/mask_fn callables"
    assert "flex spec" in str(e.value)


def test_explain_names_who_takes_a_spec():
    q, k, v = qkv()
    spec = attend.FlexSpec(mask_mod="q_idx >= kv_idx", mask_fn=lambda b, h, i, j: i >= j)
    ex = attend.explain(q, k, v, flex=spec)
    verdicts = {v.backend: v for v in ex.verdicts}
    assert ex.chosen == "cpu_flash"
    assert any(r.code == "flex" for r in verdicts["math"].reasons)
    assert not any(r.code == "flex" for r in verdicts["flex"].reasons)


def test_exception_in_a_callable_reaches_the_caller():
    q, k, v = qkv()

    def mask_fn(b, h, q_idx, kv_idx):
        if q_idx == 30:
            raise KeyError("row 30")
        return True

    with pytest.raises(KeyError, match="row 30"):
        attend.attention(q, k, v, flex=attend.FlexSpec(mask_fn=mask_fn), backend="cpu_flash")
    with pytest.raises(TypeError):  # a score that is not a number
        attend.attention(q, k, v, flex=attend.FlexSpec(score_fn=lambda *a: "x"),
                         backend="cpu_flash")


@pytest.mark.parametrize("make, error, match", [
    (lambda: attend.FlexSpec(mask_mod=lambda b, h, i, j: True), TypeError, "mask_fn="),
    (lambda: attend.FlexSpec(score_mod=3), TypeError, "device source"),
    (lambda: attend.FlexSpec(mask_fn="q_idx > 0"), TypeError, "callable"),
    (lambda: attend.FlexSpec(mask_mod="t[0]", tensors={"t": [1, 2]}), TypeError, "DLPack"),
    (lambda: attend.FlexSpec(mask_mod="t[0]", tensors={1: np.zeros(3)}), TypeError, "strings"),
])
def test_bad_specs_raise_when_built(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("tensors, match", [
    ({"q_idx": np.zeros(3, np.int32)}, r"C\+\+ identifier"),
    ({"2x": np.zeros(3, np.int32)}, r"C\+\+ identifier"),
    ({f"t{i}": np.zeros(3, np.int32) for i in range(9)}, "at most 8"),
    ({"t": np.zeros(3, np.float64)}, "f64"),
])
def test_bad_tensors_are_refused_by_the_call(tensors, match):
    q, k, v = qkv()
    spec = attend.FlexSpec(mask_fn=lambda b, h, i, j: True, tensors=tensors)
    with pytest.raises(attend.Error, match=match) as e:
        attend.attention(q, k, v, flex=spec, backend="cpu_flash")
    assert e.value.code == "flex"


def test_flex_argument_and_block_mask_types():
    q, k, v = qkv()
    with pytest.raises(TypeError, match="FlexSpec"):
        attend.attention(q, k, v, flex="q_idx >= kv_idx")
    spec = attend.FlexSpec(mask_mod="q_idx >= kv_idx")
    with pytest.raises(TypeError, match="flex_block_mask"):
        spec.block_mask = object()
    with pytest.raises(attend.Error, match="CUDA tensors"):  # block masks live on the GPU
        attend.flex_block_mask(spec, q, k, v)
    assert spec.block_mask is None


def test_spec_in_a_cycle_with_its_callable_is_collected():
    spec = attend.FlexSpec(mask_fn=lambda b, h, i, j: spec is not None)
    handle, alive = spec.handle, weakref.ref(spec)
    del spec
    gc.collect()
    assert alive() is None
    with pytest.raises(attend.Error, match="no longer exists"):
        attend._flex.spec_of(handle)
