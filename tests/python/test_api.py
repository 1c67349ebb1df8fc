"""attend's Python API on NumPy arrays and the CPU backends: results against a float64
reference, scopes, the default backend, explain, the registry and errors."""
import asyncio
import os
import threading

import numpy as np
import pytest

import attend
import reference

CPU_BACKENDS = ["math", "cpu_flash"]
rng = np.random.default_rng(7)


def qkv(B=2, Sq=37, Sk=53, Hq=4, Hkv=4, D=24, Dv=None, dtype=np.float32):
    Dv = D if Dv is None else Dv
    return (rng.standard_normal((B, Sq, Hq, D)).astype(dtype),
            rng.standard_normal((B, Sk, Hkv, D)).astype(dtype),
            rng.standard_normal((B, Sk, Hkv, Dv)).astype(dtype))


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("case", [
    dict(),
    dict(is_causal=True),
    dict(is_causal=True, align="bottom_right"),
    dict(window=(5, 3)),
    dict(softcap=2.5, scale=0.3),
    dict(gqa=True),
    dict(bool_mask=True),
    dict(additive_mask=True),
    dict(key_padding=True),
])
def test_matches_reference(backend, case):
    case = dict(case)
    q, k, v = qkv(Hkv=2 if case.pop("gqa", False) else 4)
    kwargs = {}
    if case.pop("bool_mask", False):
        kwargs["attn_mask"] = rng.random((2, 1, 37, 53)) > 0.3
    if case.pop("additive_mask", False):
        kwargs["attn_mask"] = rng.standard_normal((37, 53)).astype(np.float32)
    if case.pop("key_padding", False):
        kwargs["key_padding_mask"] = rng.random((2, 53)) > 0.5
    kwargs.update(case)
    out, lse = attend.attention(q, k, v, enable_gqa=q.shape[2] != k.shape[2], return_lse=True,
                                backend=backend, **kwargs)
    want, want_lse = reference.attention(q, k, v, **kwargs)
    assert out.dtype == np.float32 and out.shape == want.shape
    assert reference.rel_err(out, want) < 1e-5
    assert lse.shape == (2, 4, 37)
    np.testing.assert_allclose(lse, want_lse, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_half_precision_inputs(backend):
    q, k, v = qkv(dtype=np.float16)
    out = attend.attention(q, k, v, is_causal=True, backend=backend)
    assert out.dtype == np.float16
    assert reference.rel_err(out, reference.attention(q, k, v, is_causal=True)[0]) < 1e-2


def test_bhsd_layout_and_strided_views():
    q, k, v = qkv()
    # BHSD views of BSHD memory: transposes, no copies; attend reads the strides.
    qt, kt, vt = (x.transpose(0, 2, 1, 3) for x in (q, k, v))
    out = attend.attention(qt, kt, vt, layout="BHSD", backend="cpu_flash")
    assert out.shape == (2, 4, 37, 24)
    want = reference.attention(q, k, v)[0].transpose(0, 2, 1, 3)
    assert reference.rel_err(out, want) < 1e-5


def test_varlen_thd():
    lengths = [5, 0, 17, 9]
    cu = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    T = int(cu[-1])
    q = rng.standard_normal((T, 3, 16)).astype(np.float32)
    k = rng.standard_normal((T, 3, 16)).astype(np.float32)
    v = rng.standard_normal((T, 3, 16)).astype(np.float32)
    out, lse = attend.attention(q, k, v, is_causal=True, layout="THD", return_lse=True,
                                cu_seqlens_q=cu, cu_seqlens_k=cu, max_seqlen_q=17,
                                max_seqlen_k=17)
    assert lse.shape == (3, T)
    for b, n in enumerate(lengths):
        s = slice(cu[b], cu[b + 1])
        want, want_lse = reference.attention(q[None, s], k[None, s], v[None, s], is_causal=True)
        if n:
            assert reference.rel_err(out[s], want[0]) < 1e-5
            np.testing.assert_allclose(lse[:, s], want_lse[0], rtol=1e-5, atol=1e-5)


def test_empty_and_fully_masked_rows():
    q, k, v = qkv(Sq=0)
    assert attend.attention(q, k, v).shape == (2, 0, 4, 24)
    q, k, v = qkv(Sq=6, Sk=6)
    mask = np.ones((6, 6), dtype=bool)
    mask[2] = False  # row 2 sees nothing
    for backend in CPU_BACKENDS:
        out, lse = attend.attention(q, k, v, attn_mask=mask, return_lse=True, backend=backend)
        assert np.all(out[:, 2] == 0) and np.all(np.isneginf(lse[:, :, 2]))
        assert np.all(np.isfinite(out))


def test_out_is_written_in_place():
    q, k, v = qkv()
    out = np.full(q.shape, np.nan, dtype=np.float32)
    lse = np.full((2, 4, 37), np.nan, dtype=np.float32)
    got, got_lse = attend.attention(q, k, v, out=out, lse=lse, return_lse=True)
    assert got is out and got_lse is lse
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(lse))


def test_dropout_is_reproducible_from_its_seed():
    q, k, v = qkv()
    a = attend.attention(q, k, v, dropout_p=0.3, dropout_seed=11, backend="math")
    b = attend.attention(q, k, v, dropout_p=0.3, dropout_seed=11, backend="cpu_flash")
    c = attend.attention(q, k, v, dropout_p=0.3, dropout_seed=12, backend="math")
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert not np.allclose(a, c)
    plain = attend.attention(q, k, v)
    assert not np.allclose(attend.attention(q, k, v, dropout_p=0.3), plain)


# --- selection -----------------------------------------------------------------------------------

def test_scope_selects_nests_and_restores():
    q, k, v = qkv()
    assert attend.explain(q, k, v).source == "default"
    with attend.backend("math"):
        ex = attend.explain(q, k, v)
        assert (ex.source, ex.chosen) == ("scope", "math")
        with attend.backend("_native_math") as inner:  # a diffusers name
            assert inner.id == "math"
            with attend.backend("cpu_flash"):
                assert attend.explain(q, k, v).chosen == "cpu_flash"
                assert attend.active_backend() == "cpu_flash"
            assert attend.explain(q, k, v).chosen == "math"
        # An explicit backend wins over the scope.
        ex = attend.explain(q, k, v, backend="cpu_flash")
        assert (ex.source, ex.chosen) == ("argument", "cpu_flash")
    assert attend.explain(q, k, v).source == "default"
    assert attend.active_backend() == attend.default_backend()


def test_scope_as_decorator_and_refusal():
    q, k, v = qkv()

    @attend.backend("math")
    def chosen():
        return attend.explain(q, k, v).chosen

    assert chosen() == "math"
    with pytest.raises(attend.Error) as e:
        attend.backend("no_such_backend")
    assert e.value.code == "unknown_backend" and "known: auto" in str(e.value)


def test_scope_is_private_to_its_thread_and_task():
    q, k, v = qkv()
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def other_thread():
        entered.wait()
        seen["thread"] = attend.explain(q, k, v).source
        release.set()

    t = threading.Thread(target=other_thread)
    t.start()
    with attend.backend("math"):
        entered.set()
        release.wait()
    t.join()
    assert seen["thread"] == "default"

    async def task(id, delay):
        with attend.backend(id):
            await asyncio.sleep(delay)
            return attend.explain(q, k, v).chosen

    async def both():
        return await asyncio.gather(task("math", 0.02), task("cpu_flash", 0.01))

    assert asyncio.run(both()) == ["math", "cpu_flash"]


def test_default_backend():
    q, k, v = qkv()
    before = attend.default_backend()
    try:
        attend.set_default_backend("math")
        assert attend.explain(q, k, v).chosen == "math"
        with pytest.raises(attend.Error):
            attend.set_default_backend("nope")
        assert attend.default_backend() == "math"
    finally:
        attend.set_default_backend(before)


# --- explain and the registry --------------------------------------------------------------------

def test_explain_is_data():
    q, k, v = qkv(D=20)
    ex = attend.explain(q, k, v, backend="flash")
    assert ex.requested == "flash" and ex.chosen is None
    assert {v.backend for v in ex.verdicts} >= {"math", "cpu_flash", "flash", "cuda_math"}
    flash = ex.verdict("flash")
    assert not flash.ok
    codes = {r.code for r in flash.reasons}
    assert {"device", "dtype"} <= codes  # a CPU fp32 problem, whatever this machine has
    assert all(r.what and r.expected for r in flash.reasons)
    assert ex.verdict("math").ok and ex.verdict("math").reasons == ()
    assert "backend" in str(ex) and "what" in str(ex) and "flash" in ex.table


def test_list_backends():
    infos = {b.id: b for b in attend.list_backends()}
    assert {"math", "cpu_flash", "flash", "flash_varlen", "cuda_math"} <= set(infos)
    math = infos["math"]
    assert math.available and math.family and "_native_math" in math.aliases
    assert math.capabilities["device"] == "cpu" and "fp64" in math.capabilities["dtypes"]
    assert infos["flash"].capabilities["device"] == "cuda"
    assert infos["flash"].capabilities["min_sm"] == 80
    if not infos["flash"].available:
        assert infos["flash"].reason  # says why
    assert attend.has_backend("math") and not attend.has_backend("nope")
    assert attend.resolve_backend_id("native") == "auto"


@pytest.mark.skipif(not os.environ.get("ATTEND_TEST_PLUGIN"), reason="needs the example plugin")
def test_plugin_loads_and_runs():
    backend = attend.load_plugin(os.environ["ATTEND_TEST_PLUGIN"])
    try:
        assert attend.has_backend(backend)
        info = {b.id: b for b in attend.list_backends()}[backend]
        assert info.origin.endswith(".so")
        q, k, v = qkv()
        out = attend.attention(q, k, v, backend=backend)
        assert reference.rel_err(out, reference.attention(q, k, v)[0]) < 1e-5
        with pytest.raises(attend.Error) as e:
            attend.load_plugin(os.environ["ATTEND_TEST_PLUGIN"])
        assert e.value.code == "plugin"
    finally:
        assert attend.unregister_backend(backend)
    with pytest.raises(attend.Error) as e:
        attend.load_plugin("/nonexistent/plugin.so")
    assert e.value.code == "plugin"


# --- errors --------------------------------------------------------------------------------------

def test_no_backend_error_carries_every_verdict():
    q, k, v = qkv(dtype=np.float64)
    with pytest.raises(attend.NoBackendError) as e:
        attend.attention(q, k, v, backend="cpu_flash")
    err = e.value
    assert isinstance(err, attend.Error) and err.code == "dtype"
    assert err.requested == "cpu_flash"
    verdict = next(v for v in err.verdicts if v.backend == "cpu_flash")
    assert verdict.reasons[0].code == "dtype" and verdict.reasons[0].got == "fp64"
    assert "backend" in str(err) and "cpu_flash" in str(err)


@pytest.mark.parametrize("change, code", [
    (lambda q, k, v: (q, k.astype(np.float16), v), "dtype_mismatch"),
    (lambda q, k, v: (q, k[:, :, :3], v[:, :, :3]), "gqa"),
    (lambda q, k, v: (q, k[..., :16], v), "shape"),
    (lambda q, k, v: (q[0], k[0], v[0]), "rank"),
])
def test_input_errors_have_codes(change, code):
    q, k, v = change(*qkv())
    with pytest.raises(attend.Error) as e:
        attend.attention(q, k, v)
    assert e.value.code == code, str(e.value)


def test_argument_errors():
    q, k, v = qkv()
    with pytest.raises(TypeError, match="q: expected an array"):
        attend.attention(q.tolist(), k, v, out=np.empty_like(q))
    with pytest.raises(ValueError, match="layout"):
        attend.attention(q, k, v, layout="SBHD")
    with pytest.raises(ValueError, match="align"):
        attend.attention(q, k, v, is_causal=True, align="middle")
    with pytest.raises(ValueError, match="window"):
        attend.attention(q, k, v, window=3)
    with pytest.raises(attend.Error) as e:
        attend.attention(q, k, v, scale=float("nan"))
    assert e.value.code == "scale"
    with pytest.raises(attend.Error) as e:
        attend.attention(q, k, v, backend="nope")
    assert e.value.code == "unknown_backend"
    assert "unknown_backend" in attend.code_names()


def test_long_calls_release_the_gil():
    q, k, v = qkv(B=1, Sq=1500, Sk=1500, Hq=4, D=64, dtype=np.float64)
    t = threading.Thread(target=attend.attention, args=(q, k, v), kwargs={"backend": "math"})
    ticks = 0
    t.start()
    while t.is_alive():
        ticks += 1
    t.join()
    assert ticks > 1000  # this thread kept running while the call worked in C++
