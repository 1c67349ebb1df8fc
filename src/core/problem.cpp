// Work counts of a resolved problem.
#include "attend/problem.hpp"

namespace attend {

double Problem::flops() const noexcept {
  // DESIGN §7: 4·B·Hq·Sq·Sk·D (two GEMMs; D and Dv may differ), halved for causal.
  double pairs = static_cast<double>(B) * static_cast<double>(Sq) * static_cast<double>(Sk);
  if (varlen && device.kind == DeviceKind::cpu && cu_seqlens_q && cu_seqlens_k) {
    pairs = 0;  // exact for packed sequences whose lengths are readable here
    for (std::int64_t b = 0; b < B; ++b) {
      pairs += static_cast<double>(cu_seqlens_q[b + 1] - cu_seqlens_q[b]) *
               static_cast<double>(cu_seqlens_k[b + 1] - cu_seqlens_k[b]);
    }
  }
  const double dense = 2.0 * pairs * static_cast<double>(Hq) * static_cast<double>(D + Dv);
  return causal ? dense / 2 : dense;
}

}  // namespace attend
