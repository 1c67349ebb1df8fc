// Dropout randomness: Philox4x32-10, counter based, so every backend (CPU or GPU, any tiling)
// draws the same keep/drop decision for element (b, h, i, j) from (seed, offset).
#pragma once

#include <cstdint>

#include "common/host_device.hpp"

namespace attend::common {

struct Philox4 {
  std::uint32_t x[4];
};

ATTEND_HD void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}

ATTEND_HD Philox4 philox4x32_10(Philox4 c, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, c.x[0], hi0, lo0);
    mulhilo(kM1, c.x[2], hi1, lo1);
    c = Philox4{{hi1 ^ c.x[1] ^ k0, lo1, hi0 ^ c.x[3] ^ k1, lo0}};
    k0 += kW0;
    k1 += kW1;
  }
  return c;
}

// Uniform in [0, 1) for attention weight (b, h, i, j); h is the query head, i and j are indices
// within the sequence (for varlen: within that sequence, b its index).
ATTEND_HD float dropout_uniform(std::uint64_t seed, std::uint64_t offset, std::int64_t b,
                                std::int64_t h, std::int64_t i, std::int64_t j) {
  const Philox4 counter{{static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(i),
                         static_cast<std::uint32_t>(h) ^ (static_cast<std::uint32_t>(b) << 16),
                         static_cast<std::uint32_t>(offset) ^ static_cast<std::uint32_t>(b >> 16)}};
  const Philox4 r = philox4x32_10(
      counter, static_cast<std::uint32_t>(seed) ^ static_cast<std::uint32_t>(offset >> 32),
      static_cast<std::uint32_t>(seed >> 32));
  return static_cast<float>(r.x[0] >> 8) * (1.0f / 16777216.0f);
}

// True when the weight survives dropout with probability 1 - p.
ATTEND_HD bool dropout_keep(std::uint64_t seed, std::uint64_t offset, std::int64_t b,
                            std::int64_t h, std::int64_t i, std::int64_t j, float p) {
  return dropout_uniform(seed, offset, b, h, i, j) >= p;
}

}  // namespace attend::common
