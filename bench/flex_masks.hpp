// The masks of the flex benchmark, as bench/flex_peers.py defines them too: causal, a causal
// sliding window of 1024 keys, and 8 documents of fixed lengths packed into one sequence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attend::bench_flex {

constexpr std::int64_t kWindow = 1024;
constexpr int kDocuments = 8;

// Document lengths proportional to 3 1 4 1 5 9 2 6; the last takes the remainder.
inline std::vector<int> document_ids(std::int64_t S) {
  const int weight[kDocuments] = {3, 1, 4, 1, 5, 9, 2, 6};
  std::vector<int> ids(static_cast<std::size_t>(S));
  std::int64_t start = 0;
  for (int d = 0; d < kDocuments; ++d) {
    const std::int64_t len = d + 1 == kDocuments ? S - start : S * weight[d] / 31;
    for (std::int64_t t = start; t < start + len; ++t) ids[static_cast<std::size_t>(t)] = d;
    start += len;
  }
  return ids;
}

inline bool visible(const std::string& mask, const std::vector<int>& doc, std::int64_t q,
                    std::int64_t kv) {
  if (mask == "causal") return q >= kv;
  if (mask == "window") return q >= kv && q - kv < kWindow;
  if (mask == "document")
    return doc[static_cast<std::size_t>(q)] == doc[static_cast<std::size_t>(kv)];
  return true;
}

inline std::string mask_mod(const std::string& mask) {
  if (mask == "causal") return "q_idx >= kv_idx";
  if (mask == "window") return "q_idx >= kv_idx && q_idx - kv_idx < 1024";
  if (mask == "document") return "doc[q_idx] == doc[kv_idx]";
  return "";
}

}  // namespace attend::bench_flex
