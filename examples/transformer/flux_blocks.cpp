// A Flux-style stack of transformer blocks with random weights from a seed: joint attention over
// text + image tokens, QK RMS-norm, GELU MLP, residuals. It shows per-model backend selection:
// two models, one switched to another backend, the other untouched.
//
//   flux_blocks [tokens] [blocks] [backend]     e.g. flux_blocks 256 4 cpu_flash
#include <attend/attend.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::int64_t kHeads = 4, kHeadDim = 32, kWidth = kHeads * kHeadDim;

using Matrix = std::vector<float>;  // row-major

Matrix random_matrix(std::int64_t rows, std::int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f / std::sqrt(static_cast<float>(rows)));
  Matrix m(rows * cols);
  for (float& x : m) x = dist(rng);
  return m;
}

// y[n, cols] = x[n, rows] * w[rows, cols]
Matrix matmul(const Matrix& x, const Matrix& w, std::int64_t rows, std::int64_t cols) {
  const std::int64_t n = static_cast<std::int64_t>(x.size()) / rows;
  Matrix y(n * cols, 0.0f);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < rows; ++k) {
      const float a = x[i * rows + k];
      for (std::int64_t j = 0; j < cols; ++j) y[i * cols + j] += a * w[k * cols + j];
    }
  return y;
}

void rms_norm_heads(Matrix& t) {  // per (token, head) vector of kHeadDim
  for (std::size_t base = 0; base < t.size(); base += kHeadDim) {
    float ss = 0;
    for (std::int64_t d = 0; d < kHeadDim; ++d) ss += t[base + d] * t[base + d];
    const float inv = 1.0f / std::sqrt(ss / kHeadDim + 1e-6f);
    for (std::int64_t d = 0; d < kHeadDim; ++d) t[base + d] *= inv;
  }
}

struct Block {
  Matrix wqkv, wo, w1, w2;
  attend::Attention attn;

  explicit Block(std::mt19937& rng)
      : wqkv(random_matrix(kWidth, 3 * kWidth, rng)),
        wo(random_matrix(kWidth, kWidth, rng)),
        w1(random_matrix(kWidth, 4 * kWidth, rng)),
        w2(random_matrix(4 * kWidth, kWidth, rng)) {}

  void forward(Matrix& x, std::int64_t tokens) const {
    const Matrix qkv = matmul(x, wqkv, kWidth, 3 * kWidth);
    Matrix q(tokens * kWidth), k(q.size()), v(q.size()), o(q.size());
    for (std::int64_t t = 0; t < tokens; ++t)
      for (std::int64_t c = 0; c < kWidth; ++c) {
        q[t * kWidth + c] = qkv[t * 3 * kWidth + c];
        k[t * kWidth + c] = qkv[t * 3 * kWidth + kWidth + c];
        v[t * kWidth + c] = qkv[t * 3 * kWidth + 2 * kWidth + c];
      }
    rms_norm_heads(q);
    rms_norm_heads(k);
    attend::Params p;  // BSHD views straight over the projections: no copies, no reshapes
    p.q = attend::view(q.data(), attend::f32, attend::cpu, {1, tokens, kHeads, kHeadDim});
    p.k = attend::view(k.data(), attend::f32, attend::cpu, {1, tokens, kHeads, kHeadDim});
    p.v = attend::view(v.data(), attend::f32, attend::cpu, {1, tokens, kHeads, kHeadDim});
    p.out = attend::view(o.data(), attend::f32, attend::cpu, {1, tokens, kHeads, kHeadDim});
    attn(p);
    const Matrix proj = matmul(o, wo, kWidth, kWidth);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
    Matrix h = matmul(x, w1, kWidth, 4 * kWidth);
    for (float& a : h) a = 0.5f * a * (1.0f + std::tanh(0.79788456f * (a + 0.044715f * a * a * a)));
    const Matrix m = matmul(h, w2, 4 * kWidth, kWidth);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += m[i];
  }
};

struct FluxBlocks {
  std::vector<Block> blocks;
  FluxBlocks(int count, unsigned seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < count; ++i) blocks.emplace_back(rng);
  }
  template <class F>
  void for_each_attention_layer(F&& f) {
    for (Block& b : blocks) f(b.attn);
  }
  Matrix forward(Matrix x, std::int64_t tokens) const {
    for (const Block& b : blocks) b.forward(x, tokens);
    return x;
  }
};
static_assert(attend::AttentionModel<FluxBlocks>);

double rel_diff(const Matrix& a, const Matrix& b) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d += (a[i] - b[i]) * (a[i] - b[i]), n += b[i] * b[i];
  return std::sqrt(d / n);
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t tokens = argc > 1 ? std::atoll(argv[1]) : 256;  // text + image tokens
  const int depth = argc > 2 ? std::atoi(argv[2]) : 4;
  const std::string backend = argc > 3 ? argv[3] : "auto";
  if (tokens < 1 || depth < 1) {
    std::fprintf(stderr, "usage: flux_blocks [tokens >= 1] [blocks >= 1] [backend]\n");
    return 2;
  }
  try {
    FluxBlocks model(depth, 42), reference(depth, 42);  // same weights
    attend::set_attention_backend(model, backend);
    attend::set_attention_backend(reference, "math");

    std::mt19937 rng(7);
    const Matrix x = random_matrix(tokens, kWidth, rng);
    const auto t0 = std::chrono::steady_clock::now();
    const Matrix y = model.forward(x, tokens);
    const auto t1 = std::chrono::steady_clock::now();
    const Matrix r = reference.forward(x, tokens);
    const auto t2 = std::chrono::steady_clock::now();
    auto ms = [](auto a, auto b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    std::printf("%d blocks, %lld tokens: %s %.1f ms, math %.1f ms, rel. difference %.2e\n", depth,
                static_cast<long long>(tokens), backend.c_str(), ms(t0, t1), ms(t1, t2),
                rel_diff(y, r));
    return rel_diff(y, r) < 1e-4 ? 0 : 1;
  } catch (const attend::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
