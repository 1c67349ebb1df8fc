"""attend on PyTorch tensors: eager results against PyTorch's SDPA, the custom op under opcheck
and torch.compile(fullgraph=True), autograd's refusal, and on a GPU: the flash kernels, the
caller's stream and CUDA graph capture. Skipped where PyTorch is not installed."""
import pytest

torch = pytest.importorskip("torch")

import attend  # noqa: E402
import attend.torch as attend_torch  # noqa: E402
from torch.library import opcheck  # noqa: E402

F = torch.nn.functional
CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device")
BF16_TOLERANCE = 1e-2


def rel_err(got, want):
    got, want = got.double(), want.double()
    return ((got - want).norm() / want.norm().clamp_min(1e-30)).item()


def sdpa_bshd(q, k, v, **kwargs):
    """PyTorch's SDPA in fp32 on BSHD tensors: the reference."""
    t = [x.float().transpose(1, 2) for x in (q, k, v)]
    return F.scaled_dot_product_attention(*t, **kwargs).transpose(1, 2)


def flex_reference(q, k, v, doc, slopes):
    """The document mask with ALiBi as SDPA's dense additive mask (BSHD, fp32)."""
    S = q.shape[1]
    pos = torch.arange(S, device=q.device)
    bias = -slopes[:, None, None] * (pos[:, None] - pos[None, :]).abs()
    bias = bias.masked_fill(doc[:, None] != doc[None, :], float("-inf"))
    return sdpa_bshd(q, k, v, attn_mask=bias[None].float())


def qkv(B=2, Sq=45, Sk=61, Hq=4, Hkv=4, D=32, dtype=torch.float32, device="cpu", **kw):
    g = torch.Generator(device=device).manual_seed(0)
    make = lambda *shape: torch.randn(*shape, generator=g, device=device, dtype=dtype, **kw)
    return make(B, Sq, Hq, D), make(B, Sk, Hkv, D), make(B, Sk, Hkv, D)


def op_args(q, k, v, attn_mask=None, is_causal=False, return_lse=False, enable_gqa=False,
            backend=None, layout="BSHD", flex=None):
    return (q, k, v, attn_mask, None, None, None, 0.0, is_causal, None, enable_gqa, return_lse,
            backend, layout, -1, -1, 0.0, "top_left", 0, 0, -1, 0,
            0 if flex is None else flex.handle, [] if flex is None else list(flex.tensors.values()))


# --- CPU -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-5), (torch.bfloat16, 1e-2)])
@pytest.mark.parametrize("causal", [False, True])
def test_eager_matches_sdpa(dtype, tolerance, causal):
    q, k, v = qkv(dtype=dtype, Sq=61)
    out = attend.attention(q, k, v, is_causal=causal)
    assert isinstance(out, torch.Tensor) and out.dtype == dtype and out.shape == q.shape
    assert rel_err(out, sdpa_bshd(q, k, v, is_causal=causal)) < tolerance


def test_sdpa_drop_in_with_gqa_and_mask():
    q, k, v = qkv(Hkv=2)
    qt, kt, vt = (x.transpose(1, 2) for x in (q, k, v))  # BHSD views
    mask = torch.rand(2, 1, 45, 61) > 0.3
    out = attend_torch.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask, enable_gqa=True)
    want = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask, enable_gqa=True)
    assert out.shape == want.shape and rel_err(out, want) < 1e-5


def test_lse_matches_logsumexp():
    q, k, v = qkv()
    _, lse = attend.attention(q, k, v, return_lse=True)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / 32 ** 0.5
    torch.testing.assert_close(lse, scores.logsumexp(-1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(is_causal=True, return_lse=True),
    dict(attn_mask="bool"),
    dict(attn_mask="float"),
    dict(enable_gqa=True),
])
def test_opcheck(kwargs):
    kwargs = dict(kwargs)
    q, k, v = qkv(Hkv=2 if kwargs.get("enable_gqa") else 4)
    if kwargs.get("attn_mask") == "bool":
        kwargs["attn_mask"] = torch.rand(45, 61) > 0.2
    elif kwargs.get("attn_mask") == "float":
        kwargs["attn_mask"] = torch.randn(2, 1, 45, 61)
    opcheck(attend_torch.attention_op, op_args(q, k, v, **kwargs))


def test_compile_fullgraph_traces_the_op():
    q, k, v = qkv()
    mask = torch.rand(45, 61) > 0.2

    def block(q, k, v):
        return attend.attention(q * 2, k, v, attn_mask=mask).relu()

    compiled = torch.compile(block, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(q, k, v), block(q, k, v))
    explanation = torch._dynamo.explain(block)(q, k, v)
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1


def test_compiled_graph_reads_the_scope_when_it_runs():
    q, k, v = qkv()
    compiled = torch.compile(lambda q, k, v: attend.attention(q, k, v), fullgraph=True,
                             backend="aot_eager")
    compiled(q, k, v)  # traced outside any scope
    with attend.backend("cuda_math"):  # cannot run CPU tensors: proves the scope is read now
        with pytest.raises(attend.NoBackendError) as e:
            compiled(q, k, v)
    assert e.value.requested == "cuda_math"


def test_dropout_draws_a_fresh_seed_each_call_unless_given():
    q, k, v = qkv()
    f = torch.compile(lambda q, k, v, seed=None: attend.attention(
        q, k, v, dropout_p=0.5, dropout_seed=seed), backend="aot_eager")
    assert not torch.equal(f(q, k, v), f(q, k, v))
    torch.testing.assert_close(f(q, k, v, 5), f(q, k, v, 5))


def test_flex_callables_eager_and_compiled():
    q, k, v = qkv(Sq=61)
    doc = torch.arange(61) // 20
    slopes = torch.full((4,), 0.1)
    spec = attend.FlexSpec(mask_fn=lambda b, h, i, j: bool(doc[i] == doc[j]),
                           score_fn=lambda s, b, h, i, j: s - float(slopes[h]) * abs(i - j))
    want = flex_reference(q, k, v, doc, slopes)
    torch.testing.assert_close(attend.attention(q, k, v, flex=spec), want)
    compiled = torch.compile(lambda q, k, v: attend.attention(q, k, v, flex=spec), fullgraph=True,
                             backend="aot_eager")
    torch.testing.assert_close(compiled(q, k, v), want)


def test_backward_is_refused_clearly():
    q, k, v = qkv(requires_grad=True)
    out = attend.attention(q, k, v)
    assert out.requires_grad
    torch.testing.assert_close(out, sdpa_bshd(q, k, v))
    with pytest.raises(RuntimeError, match="autograd"):
        out.sum().backward()
    with torch.no_grad():  # no graph: the direct path, which detaches for DLPack
        assert not attend.attention(q, k, v).requires_grad


def test_errors_cross_as_attend_errors():
    q, k, v = qkv()
    with pytest.raises(attend.Error) as e:
        attend.attention(q, k.double(), v)
    assert e.value.code == "dtype_mismatch"
    with pytest.raises(ValueError, match="out="):
        attend.attention(q.requires_grad_(), k, v, out=torch.empty_like(q))


# --- CUDA ----------------------------------------------------------------------------------------

@needs_cuda
@pytest.mark.parametrize("backend", ["auto", "flash", "cuda_math"])
@pytest.mark.parametrize("causal", [False, True])
def test_cuda_backends_match_sdpa(backend, causal):
    q, k, v = qkv(B=2, Sq=300, Sk=517, Hq=8, Hkv=2, D=128, dtype=torch.bfloat16, device="cuda")
    out, lse = attend.attention(q, k, v, is_causal=causal, enable_gqa=True, return_lse=True,
                                backend=backend, align="bottom_right")
    mask = torch.ones(300, 517, dtype=torch.bool, device="cuda").tril(517 - 300) if causal else None
    want = sdpa_bshd(q, k, v, attn_mask=mask, enable_gqa=True)
    assert not out.isnan().any() and rel_err(out, want) < BF16_TOLERANCE
    assert lse.shape == (2, 8, 300) and lse.dtype == torch.float32


@needs_cuda
def test_cuda_opcheck_and_inductor():
    q, k, v = qkv(Sq=128, Sk=128, D=64, dtype=torch.bfloat16, device="cuda")
    opcheck(attend_torch.attention_op, op_args(q, k, v, is_causal=True, return_lse=True))
    block = lambda q, k, v: attend.attention(q, k, v, is_causal=True) * 0.5
    compiled = torch.compile(block, fullgraph=True)
    torch.testing.assert_close(compiled(q, k, v), block(q, k, v))


@needs_cuda
def test_runs_on_the_current_stream():
    q, k, v = qkv(B=1, Sq=2048, Sk=2048, Hq=16, Hkv=16, D=128, dtype=torch.bfloat16,
                  device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        q2 = q * 1  # produced on the side stream: attend must run after it, on that stream
        out = attend.attention(q2, k, v)
        done = torch.cuda.Event()
        done.record(side)
    done.synchronize()
    assert rel_err(out, sdpa_bshd(q, k, v)) < BF16_TOLERANCE


@needs_cuda
def test_cuda_graph_capture_and_replay():
    q, k, v = qkv(B=1, Sq=256, Sk=1024, Hq=8, Hkv=8, D=128, dtype=torch.bfloat16, device="cuda")
    static_q = q.clone()
    # attend sizes a stream's workspace outside capture: warm up on the stream that captures.
    capture = torch.cuda.Stream()
    capture.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(capture):
        attend.attention(static_q, k, v)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=capture):
        out = attend.attention(static_q, k, v)
    for scale in (1.0, -0.5):
        static_q.copy_(q * scale)
        graph.replay()
        torch.cuda.synchronize()
        assert rel_err(out, sdpa_bshd(q * scale, k, v)) < BF16_TOLERANCE


@needs_cuda
def test_cuda_varlen_and_key_padding():
    lengths = [300, 0, 129, 517]
    cu = torch.tensor([0] + lengths, device="cuda").cumsum(0).to(torch.int32)
    T = int(cu[-1])
    q, k, v = (torch.randn(T, 4, 64, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    out = attend.attention(q, k, v, layout="THD", cu_seqlens_q=cu, cu_seqlens_k=cu,
                           max_seqlen_q=517, max_seqlen_k=517, is_causal=True)
    for b, n in enumerate(lengths):
        if n:
            s = slice(int(cu[b]), int(cu[b + 1]))
            want = sdpa_bshd(q[None, s], k[None, s], v[None, s], is_causal=True)[0]
            assert rel_err(out[s], want) < BF16_TOLERANCE
    q, k, v = qkv(B=2, Sq=200, Sk=300, Hq=4, D=64, dtype=torch.bfloat16, device="cuda")
    keep = torch.rand(2, 300, device="cuda") > 0.3
    keep[1, :50] = False  # left padding, then gaps
    out = attend.attention(q, k, v, key_padding_mask=keep)
    assert rel_err(out, sdpa_bshd(q, k, v, attn_mask=keep[:, None, None, :])) < BF16_TOLERANCE


@needs_cuda
def test_cuda_flex_source_with_tensors_and_block_mask():
    q, k, v = qkv(B=2, Sq=700, Sk=700, Hq=8, Hkv=8, D=128, dtype=torch.bfloat16, device="cuda")
    doc = (torch.arange(700, device="cuda") // 230).to(torch.int32)
    slopes = 2.0 ** -torch.arange(1, 9, device="cuda", dtype=torch.float32)
    spec = attend.FlexSpec(score_mod="score - slopes[h] * fabsf(float(q_idx - kv_idx))",
                           mask_mod="doc[q_idx] == doc[kv_idx]",
                           tensors={"doc": doc, "slopes": slopes})
    want = flex_reference(q, k, v, doc, slopes)
    per_call = attend.attention(q, k, v, flex=spec, backend="flex")
    assert rel_err(per_call, want) < BF16_TOLERANCE
    spec.block_mask = attend.flex_block_mask(spec, q, k, v)
    mask = spec.block_mask
    assert (mask.batches, mask.heads, mask.query_tiles) == (1, 1, 6)  # mask names neither b nor h
    assert 0 < mask.visited_tiles() < mask.query_tiles * mask.key_tiles
    torch.testing.assert_close(attend.attention(q, k, v, flex=spec, backend="flex"), per_call,
                               rtol=0, atol=0)
    with pytest.raises(attend.Error, match="does not fit"):
        attend.attention(q[:, :600], k[:, :600], v[:, :600], flex=spec, backend="flex")


@needs_cuda
def test_cuda_flex_compiles_and_passes_opcheck():
    q, k, v = qkv(B=1, Sq=256, Sk=256, Hq=4, Hkv=4, D=64, dtype=torch.bfloat16, device="cuda")
    doc = (torch.arange(256, device="cuda") // 100).to(torch.int32)
    slopes = torch.zeros(4, device="cuda")
    spec = attend.FlexSpec(mask_mod="doc[q_idx] == doc[kv_idx]", tensors={"doc": doc})
    opcheck(attend_torch.attention_op, op_args(q, k, v, backend="flex", flex=spec))
    block = lambda q, k, v: attend.attention(q, k, v, flex=spec, backend="flex") * 0.5
    compiled = torch.compile(block, fullgraph=True)
    want = flex_reference(q, k, v, doc, slopes) * 0.5
    assert rel_err(compiled(q, k, v), want) < BF16_TOLERANCE
    with pytest.raises(attend.Error, match="mask_mod"):  # the snippet's compile error
        attend.attention(q, k, v, flex=attend.FlexSpec(mask_mod="ids[q_idx] > 0"), backend="flex")
