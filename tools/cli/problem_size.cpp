#include "problem_size.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "machine_info.hpp"

namespace attend::cli {

namespace {

struct Rows {
  double q = 0, k = 0;
};

Rows rows_of(const support::ProblemSpec& s) {
  Rows r;
  if (s.varlen()) {
    for (std::size_t i = 0; i < s.seqlens_q.size(); ++i) {
      r.q += static_cast<double>(s.seqlens_q[i]);
      r.k += static_cast<double>(s.seqlens_k[i]);
    }
  } else {
    r.q = static_cast<double>(s.B) * static_cast<double>(s.Sq);
    r.k = static_cast<double>(s.B) * static_cast<double>(s.Sk);
  }
  return r;
}

}  // namespace

double input_bytes(const support::ProblemSpec& s) {
  const Rows r = rows_of(s);
  const double elem = static_cast<double>(size_of(s.dtype));
  const double pad = s.strided ? 3.0 : 0.0;  // HostProblem pads every row a little when strided
  const double dv = static_cast<double>(s.dv()), d = static_cast<double>(s.D);
  return elem * (r.q * s.Hq * (d + pad) + r.k * s.Hkv * (d + dv + 2 * pad));
}

double host_bytes(const support::ProblemSpec& s) {
  const Rows r = rows_of(s);
  const double elem = static_cast<double>(size_of(s.dtype));
  // q, k, v, out and the reference's out
  double bytes = input_bytes(s) + elem * 2 * r.q * s.Hq * static_cast<double>(s.dv());
  if (s.mask != support::MaskKind::none) {
    double n = 1;
    if (s.mask_shape.empty()) {
      n = static_cast<double>(s.B) * s.Hq * static_cast<double>(s.Sq) * static_cast<double>(s.Sk);
    } else {
      for (auto v : s.mask_shape) n *= static_cast<double>(v);
    }
    bytes += n * (s.mask == support::MaskKind::boolean ? 1.0 : elem);
  }
  return bytes;
}

void require_host_memory(const support::ProblemSpec& spec) {
  const double need = host_bytes(spec);
  const double have = static_cast<double>(physical_memory_bytes());
  if (have > 0 && need > 0.75 * have) {
    throw std::runtime_error(
        fmt::format("this problem needs {:.1f} GiB of host buffers; this machine has {:.1f} GiB",
                    need / (1 << 30), have / (1 << 30)));
  }
}

}  // namespace attend::cli
