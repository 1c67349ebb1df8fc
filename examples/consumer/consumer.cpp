// The smallest complete use of attend: views over your own buffers, one call, an answer checked
// against the reference backend.
#include <attend/attend.hpp>
#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  const std::int64_t B = 1, S = 64, H = 4, D = 32;
  std::vector<float> q(B * S * H * D), k(q.size()), v(q.size()), out(q.size()), ref(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    q[i] = std::sin(0.1f * i);
    k[i] = std::cos(0.07f * i);
    v[i] = std::sin(0.013f * i + 1.0f);
  }
  attend::Params p;
  p.q = attend::view(q.data(), attend::f32, attend::cpu, {B, S, H, D});
  p.k = attend::view(k.data(), attend::f32, attend::cpu, {B, S, H, D});
  p.v = attend::view(v.data(), attend::f32, attend::cpu, {B, S, H, D});
  p.out = attend::view(out.data(), attend::f32, attend::cpu, {B, S, H, D});
  p.is_causal = true;
  try {
    const attend::Explanation ex = attend::explain(p);
    attend::attention(p);
    p.out.data = ref.data();
    attend::attention(p, "math");
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      diff += (out[i] - ref[i]) * (out[i] - ref[i]);
      norm += ref[i] * ref[i];
    }
    const double rel = std::sqrt(diff / norm);
    std::printf("attend %s: auto chose %s, rel. error vs math %.2e\n", ATTEND_VERSION_STRING,
                ex.chosen.c_str(), rel);
    if (!(rel < 1e-5)) return 1;
  } catch (const attend::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  std::printf("consumer: ok\n");
  return 0;
}
