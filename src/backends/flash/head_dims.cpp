// The head-dim instantiations of this build, from ATTEND_FLASH_HEAD_DIMS (all six by default).
#include <algorithm>
#include <array>

#include "backends/flash/launch.hpp"
#include "flash_head_dims.hpp"

namespace attend::flash {
namespace {
constexpr std::array kHeadDims{ATTEND_FLASH_HEAD_DIM_LIST};
static_assert(std::is_sorted(kHeadDims.begin(), kHeadDims.end()),
              "ATTEND_FLASH_HEAD_DIMS must be ascending");
}  // namespace

std::span<const int> compiled_head_dims() {
  return kHeadDims;
}

int kernel_head_dim(std::int64_t D) {
  for (int d : kHeadDims) {
    if (d >= D) return d;
  }
  return 0;
}

}  // namespace attend::flash
