// Opt-in data checks. CPU tensors are scanned in place; device tensors are left to the GPU
// backends' own checks (a host scan would need a synchronising copy).
#include "core/data_checks.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "attend/error.hpp"
#include "attend/registry.hpp"
#include "common/elements.hpp"
#include "common/mask.hpp"
#include "common/visibility.hpp"
#include "core/text.hpp"

namespace attend {
namespace {

// -1: not yet read from ATTEND_CHECKS.
std::atomic<int> checks_state{-1};

bool env_checks() {
  const char* env = std::getenv("ATTEND_CHECKS");
  return env && *env && std::strcmp(env, "0") != 0;
}

// Scans a q/k/v tensor (canonical strides, `rows` tokens per batch entry) for NaN/Inf.
void scan_finite(const Problem& p, const TensorRef& t, std::int64_t batches, std::int64_t rows,
                 std::int64_t heads, std::int64_t dim, const char* name) {
  for (std::int64_t b = 0; b < batches; ++b) {
    for (std::int64_t s = 0; s < rows; ++s) {
      for (std::int64_t h = 0; h < heads; ++h) {
        for (std::int64_t d = 0; d < dim; ++d) {
          const double x =
              common::load_element(t.data, p.dtype, b * t.sb + s * t.ss + h * t.sh + d * t.sd);
          if (!std::isfinite(x)) {
            throw Error(Code::data, core::str("attend: data check: ", name, " has ", x,
                                              " at (b=", b, ", s=", s, ", h=", h, ", d=", d, ")"));
          }
        }
      }
    }
  }
}

void report_fully_masked_rows(const Problem& p) {
  std::int64_t count = 0;
  std::int64_t first[3] = {-1, -1, -1};
  const bool has_mask = p.mask.present() || p.key_padding.present();
  const std::int64_t heads = has_mask ? p.Hq : 1;  // without masks every head sees the same band
  for (std::int64_t b = 0; b < p.B; ++b) {
    const common::SeqBounds sb = common::seq_bounds(p, b);
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t i = 0; i < sb.q_len; ++i) {
        const common::KeyRange r = common::visible_keys(p, i, sb.q_len, sb.k_len);
        bool any = !has_mask && r.hi > r.lo;
        for (std::int64_t j = r.lo; has_mask && j < r.hi && !any; ++j) {
          any = std::isfinite(common::mask_terms(p, b, h, i, j));
        }
        if (any) continue;
        if (count == 0) first[0] = b, first[1] = h, first[2] = i;
        count += has_mask ? 1 : p.Hq;
      }
    }
  }
  if (count > 0) {
    std::fprintf(
        stderr,
        "attend: data check: %lld fully masked query rows (first at b=%lld h=%lld q=%lld); "
        "their output is 0 and their LSE -inf\n",
        static_cast<long long>(count), static_cast<long long>(first[0]),
        static_cast<long long>(first[1]), static_cast<long long>(first[2]));
  }
}

}  // namespace

void set_data_checks(bool enabled) {
  checks_state.store(enabled ? 1 : 0);
}

bool data_checks_enabled() {
  int s = checks_state.load(std::memory_order_relaxed);
  if (s < 0) {
    int expected = -1;
    checks_state.compare_exchange_strong(expected, env_checks() ? 1 : 0);
    s = checks_state.load(std::memory_order_relaxed);
  }
  return s == 1;
}

namespace core {

void run_data_checks(const Problem& p) {
  if (p.device.kind != DeviceKind::cpu) return;
  const std::int64_t batches = p.varlen ? 1 : p.B;
  const std::int64_t q_rows = p.varlen ? p.total_q : p.Sq;
  const std::int64_t k_rows = p.varlen ? p.total_k : p.Sk;
  scan_finite(p, p.q, batches, q_rows, p.Hq, p.D, "q");
  scan_finite(p, p.k, batches, k_rows, p.Hkv, p.D, "k");
  scan_finite(p, p.v, batches, k_rows, p.Hkv, p.Dv, "v");
  report_fully_masked_rows(p);
}

}  // namespace core
}  // namespace attend
