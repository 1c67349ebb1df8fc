"""attend.diffusers on real diffusers transformers (small random configurations): the same output
as diffusers' native backend, and only the model that was set changes. Skipped where diffusers
(or PyTorch) is not installed."""
import copy

import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

import attend  # noqa: E402
import attend.diffusers  # noqa: E402
import attend.torch as attend_torch  # noqa: E402
from diffusers.models.attention_dispatch import _AttentionBackendRegistry  # noqa: E402

CUDA = torch.cuda.is_available()


def rel_err(got, want):
    got, want = got.double(), want.double()
    return ((got - want).norm() / want.norm()).item()


def tiny_flux(head_dim=16, heads=2, device="cpu", dtype=torch.float32):
    torch.manual_seed(0)
    rope = (head_dim // 4, head_dim * 3 // 8, head_dim * 3 // 8)
    model = diffusers.FluxTransformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=2,
        attention_head_dim=head_dim, num_attention_heads=heads, joint_attention_dim=32,
        pooled_projection_dim=32, axes_dims_rope=rope)
    return model.to(device=device, dtype=dtype).eval()


def flux_inputs(model, image_tokens=64, text_tokens=12, device="cpu", dtype=torch.float32):
    g = torch.Generator(device="cpu").manual_seed(1)
    rand = lambda *s: torch.randn(*s, generator=g).to(device=device, dtype=dtype)
    return dict(hidden_states=rand(2, image_tokens, 16), encoder_hidden_states=rand(2, text_tokens, 32),
                pooled_projections=rand(2, 32), timestep=torch.tensor([0.3, 0.7], device=device, dtype=dtype),
                img_ids=torch.randint(0, 8, (image_tokens, 3), generator=g).to(device=device, dtype=dtype),
                txt_ids=torch.zeros(text_tokens, 3, device=device, dtype=dtype), return_dict=False)


def tiny_wan():
    torch.manual_seed(0)
    return diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4,
        out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, rope_max_seq_len=64).eval()


def wan_inputs():
    g = torch.Generator().manual_seed(2)
    return dict(hidden_states=torch.randn(1, 4, 3, 8, 8, generator=g), timestep=torch.tensor([500]),
                encoder_hidden_states=torch.randn(1, 10, 32, generator=g), return_dict=False)


@pytest.fixture
def count_attend_calls(monkeypatch):
    calls = []
    real = attend_torch.attention

    def counted(*args, **kwargs):
        calls.append(kwargs.get("backend"))
        return real(*args, **kwargs)

    monkeypatch.setattr(attend_torch, "attention", counted)
    return calls


@pytest.mark.parametrize("backend", ["auto", "cpu_flash", "math"])
def test_flux_matches_native(backend, count_attend_calls):
    model = tiny_flux()
    inputs = flux_inputs(model)
    with torch.no_grad():
        native = model(**inputs)[0]
        assert attend.diffusers.set_attention_backend(model, backend) == 3  # 1 double + 2 single
        assert attend.diffusers.attention_backend(model) == backend
        routed = model(**inputs)[0]
    assert len(count_attend_calls) == 3
    assert rel_err(routed, native) < 1e-5


def test_wan_matches_native(count_attend_calls):
    model = tiny_wan()
    with torch.no_grad():
        native = model(**wan_inputs())[0]
        attend.diffusers.set_attention_backend(model, "cpu_flash")
        routed = model(**wan_inputs())[0]
    assert len(count_attend_calls) == 4  # self- and cross-attention in 2 blocks
    assert rel_err(routed, native) < 1e-5


def test_only_the_model_that_was_set_changes(count_attend_calls):
    a = tiny_flux()
    b = copy.deepcopy(a)
    b_processors = [m.processor for m in b.modules() if hasattr(m, "processor")]
    active_before = _AttentionBackendRegistry.get_active_backend()[0]
    attend.diffusers.set_attention_backend(a, "cpu_flash")
    inputs = flux_inputs(a)
    with torch.no_grad():
        b(**inputs)
        assert count_attend_calls == []  # b still runs on diffusers' own backend
        a(**inputs)
        assert len(count_attend_calls) == 3
    assert [m.processor for m in b.modules() if hasattr(m, "processor")] == b_processors
    assert all(p._attention_backend is None for p in b_processors)
    assert _AttentionBackendRegistry.get_active_backend()[0] == active_before
    assert attend.diffusers.attention_backend(b) is None


def test_reset_restores_the_processors(count_attend_calls):
    model = tiny_flux()
    before = [m.processor for m in model.modules() if hasattr(m, "processor")]
    attend.diffusers.set_attention_backend(model, "math")
    attend.diffusers.set_attention_backend(model, "cpu_flash")  # switching keeps the originals
    assert attend.diffusers.reset_attention_backend(model) == 3
    assert [m.processor for m in model.modules() if hasattr(m, "processor")] == before
    with torch.no_grad():
        model(**flux_inputs(model))
    assert count_attend_calls == []


def test_bad_backends_and_models_are_refused():
    with pytest.raises(attend.Error) as e:
        attend.diffusers.set_attention_backend(tiny_flux(), "no_such_backend")
    assert e.value.code == "unknown_backend"
    with pytest.raises(ValueError, match="no attention processor"):
        attend.diffusers.set_attention_backend(torch.nn.Linear(2, 2), "auto")


@pytest.mark.skipif(not CUDA, reason="no CUDA device")
def test_flux_on_the_gpu_matches_native_in_bf16(count_attend_calls):
    model = tiny_flux(head_dim=128, heads=4, device="cuda", dtype=torch.bfloat16)
    inputs = flux_inputs(model, image_tokens=1024, text_tokens=77, device="cuda",
                         dtype=torch.bfloat16)
    with torch.no_grad():
        native = model(**inputs)[0]
        attend.diffusers.set_attention_backend(model, "auto")
        routed = model(**inputs)[0]
        attend.diffusers.set_attention_backend(model, "cuda_math")  # fp32 GEMMs: the oracle
        reference = model(**inputs)[0]
    assert len(count_attend_calls) == 6
    assert not routed.isnan().any()
    assert rel_err(routed, native) < 2e-2
    assert rel_err(routed, reference) < 2e-2
    q = torch.randn(2, 1101, 4, 128, device="cuda", dtype=torch.bfloat16)
    assert attend.explain(q, q, q).chosen in ("flash3", "flash")  # what "auto" ran above
